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
    #[error("{file}: {message}")]
    Inconsistent { file: PathBuf, message: String },
}

/// Names that a snapshot keeps unique (the tables' primary keys), checked up front so
/// that a bad fixture is bad input, not a failed write.
fn check_unique(a: &Account) -> Result<(), String> {
    fn dupes<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for n in names {
            if !seen.insert(n) {
                return Err(format!("{what} {n:?} appears twice"));
            }
        }
        Ok(())
    }
    dupes(
        "metadata.regions:",
        a.metadata.regions.iter().map(String::as_str),
    )?;
    dupes(
        "iam.users: user",
        a.iam.users.iter().map(|u| u.name.as_str()),
    )?;
    dupes(
        "iam.groups: group",
        a.iam.groups.iter().map(|g| g.name.as_str()),
    )?;
    dupes(
        "iam.roles: role",
        a.iam.roles.iter().map(|r| r.name.as_str()),
    )?;
    dupes(
        "iam.policies: policy",
        a.iam.policies.iter().map(|p| p.arn.as_str()),
    )?;
    dupes(
        "iam.credential_report: user",
        a.iam.credential_report.iter().map(|r| r.user.as_str()),
    )?;
    dupes(
        "iam.virtual_mfa_devices: device",
        a.iam
            .virtual_mfa_devices
            .iter()
            .map(|d| d.serial_number.as_str()),
    )?;
    dupes(
        "config.regions: region",
        a.config.regions.iter().map(|r| r.region.as_str()),
    )?;
    dupes(
        "s3.buckets: bucket",
        a.s3.buckets.iter().map(|b| b.name.as_str()),
    )?;
    Ok(())
}

pub fn parse(file: &Path, text: &str) -> Result<Account, FixtureError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let account: Account = serde_path_to_error::deserialize(de).map_err(|e| {
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
    })?;
    check_unique(&account).map_err(|message| FixtureError::Inconsistent {
        file: file.to_path_buf(),
        message,
    })?;
    Ok(account)
}

pub fn load(file: &Path) -> Result<Account, FixtureError> {
    let text = std::fs::read_to_string(file).map_err(|e| FixtureError::Read {
        file: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    parse(file, &text)
}

/// The fixture JSON of an account (what `snapshot export` prints), with the characters
/// that could drive a terminal escaped as `\uXXXX` ([`crate::untrusted::JsonEscaping`]).
pub fn to_json(account: &Account) -> String {
    let mut s = crate::untrusted::to_json_pretty(account).expect("accounts always serialise");
    s.push('\n');
    s
}
