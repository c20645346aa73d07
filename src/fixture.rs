//! Fixtures: account states as readable JSON (the serde form of [`Account`]), turned
//! into snapshots by the same writer collect uses.

use std::path::{Path, PathBuf};

use crate::model::Account;

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("{file}: cannot read: {reason}")]
    Read { file: PathBuf, reason: String },
    #[error("{file}:{line}:{column}: {path}: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        column: usize,
        path: String,
        message: String,
    },
}

pub fn parse(file: &Path, text: &str) -> Result<Account, FixtureError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        let message = msg
            .rfind(" at line ")
            .map_or(msg.as_str(), |i| &msg[..i])
            .to_string();
        FixtureError::Invalid {
            file: file.to_path_buf(),
            line: inner.line(),
            column: inner.column(),
            path,
            message,
        }
    })
}

pub fn load(file: &Path) -> Result<Account, FixtureError> {
    let text = std::fs::read_to_string(file).map_err(|e| FixtureError::Read {
        file: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    parse(file, &text)
}

/// The fixture JSON of an account (what `snapshot export` prints).
pub fn to_json(account: &Account) -> String {
    let mut s = serde_json::to_string_pretty(account).expect("accounts always serialise");
    s.push('\n');
    s
}
