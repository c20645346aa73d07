//! Fixtures: account states as readable JSON (the serde form of [`Account`]), turned
//! into snapshots by the same writer collect uses.

use std::path::Path;

use crate::json_input::{self, InputError};
use crate::model::Account;

/// Why a fixture cannot be used.
pub type FixtureError = InputError;

/// Names that a snapshot keeps unique (the tables' primary keys), checked up front so
/// that a bad fixture is bad input, not a failed write.
fn check_unique(a: &Account) -> Result<(), String> {
    fn dupes<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for n in names {
            if !seen.insert(n) {
                return Err(format!("{what} {} appears twice", json_input::quoted(n)));
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

/// Parses a fixture, as strictly as targets.json ([`crate::json_input`]: one JSON
/// document, no key twice in any object, policy documents included, objects where the
/// model has structs), then checks the names a snapshot keeps unique.
pub fn parse(file: &Path, text: &str) -> Result<Account, FixtureError> {
    let account: Account = json_input::parse(file, text)?;
    check_unique(&account)
        .and_then(|()| account.check_domains())
        .map_err(|message| InputError::Unlocated {
            file: file.to_path_buf(),
            path: String::new(),
            message,
        })?;
    Ok(account)
}

pub fn load(file: &Path) -> Result<Account, FixtureError> {
    parse(file, &json_input::read(file)?)
}

/// The fixture JSON of an account (what `snapshot export` prints), with the characters
/// that could drive a terminal escaped as `\uXXXX` ([`crate::untrusted::JsonEscaping`]).
pub fn to_json(account: &Account) -> String {
    let mut s = crate::untrusted::to_json_pretty(account).expect("accounts always serialise");
    s.push('\n');
    s
}
