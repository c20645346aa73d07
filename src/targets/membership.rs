//! The accounts an organization entry stood for when `collect` discovered them,
//! recorded beside their snapshots (`<snapshot-dir>/<entry>.accounts.json`), so that
//! `evaluate`, offline, knows which accounts must have a snapshot there: an account
//! without one is an error of that account, never an account quietly left out of the
//! reports and the summary (fail closed: a baseline or a green run must not stand on a
//! directory that lacks some shards' files).
//!
//! Every shard's collect writes the whole entry's record (shards are a slice of the
//! same discovery), so merging shards by copying their files into one directory keeps
//! one record, whichever copy lands last. The record is read as strictly as
//! targets.json ([`crate::json_input`]): it decides what evaluate must find.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::organization::Discovered;
use crate::json_input::{self, Step};

/// The version of the record's format; another is refused.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    pub schema_version: u32,
    /// The entry of targets.json the record is of.
    pub entry: String,
    /// When discovery ran (RFC 3339, UTC).
    pub discovered_at: String,
    /// The accounts the entry audits, by id: each must have a snapshot.
    pub accounts: Vec<Account>,
    /// The accounts the entry's filters chose but that were not audited (not ACTIVE).
    pub not_audited: Vec<NotAudited>,
    /// Accounts the entry's `Accounts` names that the organization did not hold: an
    /// error of every run that reads the record, as of the collect that wrote it.
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotAudited {
    pub id: String,
    pub name: Option<String>,
    pub state: String,
}

/// Where the record of `entry` is under `dir`.
pub fn path(dir: &Path, entry: &str) -> PathBuf {
    dir.join(format!("{entry}.accounts.json"))
}

impl Membership {
    /// The record of what discovery found for `entry`, at `at`.
    pub fn of(entry: &str, found: &Discovered, at: chrono::DateTime<chrono::Utc>) -> Self {
        let mut accounts: Vec<Account> = found
            .members
            .iter()
            .filter_map(|t| t.member.as_ref())
            .map(|m| Account {
                id: m.account_id.clone(),
                name: m.account_name.clone(),
            })
            .collect();
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        Membership {
            schema_version: SCHEMA_VERSION,
            entry: entry.to_string(),
            discovered_at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            accounts,
            not_audited: found
                .skipped
                .iter()
                .map(|a| NotAudited {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    state: a.state.clone(),
                })
                .collect(),
            missing: found.missing.clone(),
        }
    }

    /// Writes the record into `dir` (created if needed) whole or not at all: a
    /// temporary file beside it, renamed over the old record.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let target = path(dir, &self.entry);
        let temp = dir.join(format!(
            ".{}.accounts.json.tmp-{}",
            self.entry,
            std::process::id()
        ));
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let result = (|| {
            let mut f = std::fs::File::create(&temp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&temp, &target)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result.map(|()| target)
    }

    /// The record of `entry` under `dir`: `None` when there is none; an error (with
    /// the file, and line and column where it has them) when it cannot be trusted.
    pub fn read(dir: &Path, entry: &str) -> Result<Option<Self>, String> {
        let file = path(dir, entry);
        if !file.exists() {
            return Ok(None);
        }
        let text = json_input::read(&file).map_err(|e| e.to_string())?;
        let record: Membership = json_input::parse(&file, &text).map_err(|e| e.to_string())?;
        record.check(entry).map_err(|(at, message)| {
            json_input::located(&file, &text, &at, &message).to_string()
        })?;
        Ok(Some(record))
    }

    /// The checks serde cannot make: the version, the entry, account ids, no account
    /// twice, a date.
    fn check(&self, entry: &str) -> Result<(), (Vec<Step<'static>>, String)> {
        if self.schema_version != SCHEMA_VERSION {
            return Err((
                vec![Step::Key("schema_version")],
                format!(
                    "schema_version {} is not {SCHEMA_VERSION}, the one this CloudKestrel reads: collect again with it",
                    self.schema_version
                ),
            ));
        }
        if self.entry != entry {
            return Err((
                vec![Step::Key("entry")],
                format!(
                    "this is the record of entry {}, not of {}",
                    json_input::quoted(&self.entry),
                    json_input::quoted(entry)
                ),
            ));
        }
        if chrono::DateTime::parse_from_rfc3339(&self.discovered_at).is_err() {
            return Err((
                vec![Step::Key("discovered_at")],
                format!(
                    "{} is not an RFC 3339 date and time",
                    json_input::quoted(&self.discovered_at)
                ),
            ));
        }
        let mut seen = BTreeSet::new();
        let ids = self
            .accounts
            .iter()
            .map(|a| ("accounts", &a.id))
            .chain(self.not_audited.iter().map(|a| ("not_audited", &a.id)));
        let mut index = [0usize, 0usize];
        for (list, id) in ids {
            let slot = usize::from(list == "not_audited");
            let at = vec![Step::Key(list), Step::Index(index[slot]), Step::Key("id")];
            index[slot] += 1;
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err((
                    at,
                    format!(
                        "{} is not an account id (12 digits)",
                        json_input::quoted(id)
                    ),
                ));
            }
            if !seen.insert(id.as_str()) {
                return Err((at, format!("account {id} is in the record twice")));
            }
        }
        for (i, id) in self.missing.iter().enumerate() {
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err((
                    vec![Step::Key("missing"), Step::Index(i)],
                    format!(
                        "{} is not an account id (12 digits)",
                        json_input::quoted(id)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The ids of the accounts that must have a snapshot.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.accounts.iter().map(|a| a.id.as_str())
    }
}

#[cfg(test)]
mod tests;
