//! Reading targets.json: the file's raw form, then the checks that need all of it
//! (a target defined twice, a rule configured twice…), located afterwards by their JSON
//! path ([`json_input::located`]).

use std::collections::HashSet;
use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use super::{Credentials, RuleSpec, Target, Targets, TargetsError};
use crate::json_input::{self, quoted, Step};
use crate::rules::Kind;

// ---- raw, as written --------------------------------------------------------------
// Keys are unique and structs are objects: json_input checks both for the whole file.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(rename = "Targets")]
    targets: Vec<IndexMap<String, RawTarget>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    #[serde(
        rename = "Credentials",
        default,
        deserialize_with = "json_input::not_null"
    )]
    credentials: Option<Credentials>,
    #[serde(rename = "Profile", default, deserialize_with = "json_input::not_null")]
    profile: Option<String>,
    #[serde(rename = "RoleArn", default, deserialize_with = "json_input::not_null")]
    role_arn: Option<String>,
    #[serde(
        rename = "ExternalId",
        default,
        deserialize_with = "json_input::not_null"
    )]
    external_id: Option<String>,
    #[serde(rename = "Regions", default)]
    regions: Vec<String>,
    #[serde(rename = "Rules")]
    rules: Vec<RuleSpec>,
    #[serde(
        rename = "Organization",
        default,
        deserialize_with = "json_input::not_null"
    )]
    organization: Option<RawOrganization>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrganization {
    #[serde(rename = "RoleName")]
    role_name: String,
    #[serde(
        rename = "ExternalId",
        default,
        deserialize_with = "json_input::not_null"
    )]
    external_id: Option<String>,
    #[serde(rename = "OrganizationalUnits", default)]
    units: Vec<String>,
    #[serde(rename = "Accounts", default)]
    accounts: Vec<String>,
    #[serde(rename = "ExcludeAccounts", default)]
    exclude: Vec<String>,
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `arn:<partition>:iam::<12 digits>:role/<path/>name`: what STS can assume.
fn check_role_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, role]
            if !partition.is_empty()
                && is_account_id(account)
                && role.strip_prefix("role/").is_some_and(|n| !n.is_empty()) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "{} is not a role ARN (arn:aws:iam::111122223333:role/NAME)",
            quoted(arn)
        )),
    }
}

/// An IAM role name (with an optional path), as the member role is named in every
/// account: IAM's characters, 1 to 64 for the name.
fn check_role_name(name: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
    let last = name.rsplit('/').next().unwrap_or_default();
    if !name.starts_with('/') && name.chars().all(ok) && (1..=64).contains(&last.len()) {
        Ok(())
    } else {
        Err(format!(
            "{} is not an IAM role name (1 to 64 of letters, digits and +=,.@_-, after an optional path/)",
            quoted(name)
        ))
    }
}

/// An organizational unit (`ou-…`) or a root (`r-…`) id.
fn check_unit(id: &str) -> Result<(), String> {
    let lower = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let ok = match id.split('-').collect::<Vec<_>>().as_slice() {
        ["ou", a, b] => lower(a) && lower(b),
        ["r", a] => lower(a),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not an organizational unit (ou-ab12-cd34ef56) or root (r-ab12) id",
            quoted(id)
        ))
    }
}

/// Checks that a Credentials value is the name of an environment variable. The value
/// is never echoed: a user may have pasted a key here.
fn check_variable_name(v: &str) -> Result<(), String> {
    let identifier = v
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let key_id = (v.starts_with("AKIA") || v.starts_with("ASIA"))
        && v.len() == 20
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let secret_like = v.len() == 40;
    if identifier && !key_id && !secret_like {
        Ok(())
    } else {
        Err("must be the NAME of an environment variable (letters, digits, _), and this value looks like \
             something else, perhaps a key: put the key in an environment variable and name that \
             variable here (the value is not shown)"
            .into())
    }
}

/// Parses targets.json text. `file` is only used in messages.
pub fn parse(file: &Path, text: &str) -> Result<Targets, TargetsError> {
    let raw: RawFile = json_input::parse(file, text)?;
    let semantic =
        |path: &[Step<'_>], message: String| json_input::located(file, text, path, &message);
    if raw.targets.is_empty() {
        return Err(semantic(&[Step::Key("Targets")], "lists no target".into()));
    }
    let mut seen = HashSet::new();
    let mut targets = Vec::new();
    let mut organizations = Vec::new();
    for (i, group) in raw.targets.into_iter().enumerate() {
        for (name, t) in group {
            let target = [Step::Key("Targets"), Step::Index(i), Step::Key(&name)];
            let at = |more: &[Step<'static>]| [&target[..], more].concat();
            if let Err(why) = check_target_name(&name) {
                return Err(semantic(&target, why));
            }
            if !seen.insert(name.clone()) {
                return Err(semantic(
                    &target,
                    format!("target {} is defined twice", quoted(&name)),
                ));
            }
            if t.rules.is_empty() {
                return Err(semantic(
                    &at(&[Step::Key("Rules")]),
                    "lists no rule: a target with nothing to check would always pass".into(),
                ));
            }
            let mut seen_regions = HashSet::new();
            for (k, r) in t.regions.iter().enumerate() {
                if r.trim().is_empty() || !seen_regions.insert(r.as_str()) {
                    return Err(semantic(
                        &at(&[Step::Key("Regions"), Step::Index(k)]),
                        format!("{} is empty or listed twice", quoted(r)),
                    ));
                }
            }
            let mut rule_names = HashSet::new();
            for (j, r) in t.rules.iter().enumerate() {
                if !rule_names.insert(r.rule.meta().name) {
                    return Err(semantic(
                        &at(&[Step::Key("Rules"), Step::Index(j)]),
                        format!(
                            "{} is configured twice for target {name}",
                            r.rule.meta().name
                        ),
                    ));
                }
            }
            if let Some(c) = &t.credentials {
                for (k, v) in [
                    ("AwsAccessKeyId", &c.access_key_id_var),
                    ("AwsSecretAccessKey", &c.secret_access_key_var),
                ] {
                    if let Err(why) = check_variable_name(v) {
                        return Err(semantic(
                            &at(&[Step::Key("Credentials"), Step::Key(k)]),
                            why,
                        ));
                    }
                }
            }
            let mut rules = t.rules;
            // The expected account setup is checked for every target unless configured.
            if !rules.iter().any(|r| r.rule.meta().kind == Kind::Setup) {
                rules.push(RuleSpec::with_defaults(
                    &crate::rules::setup::account_setup::AccountSetup,
                ));
            }
            if let Some(arn) = &t.role_arn {
                check_role_arn(arn).map_err(|why| semantic(&at(&[Step::Key("RoleArn")]), why))?;
            } else if t.external_id.is_some() {
                return Err(semantic(
                    &at(&[Step::Key("ExternalId")]),
                    "an ExternalId goes with a RoleArn (or, for the member roles, inside Organization)".into(),
                ));
            }
            let target = Target {
                name: name.clone(),
                credentials: t.credentials,
                profile: t.profile,
                roles: t
                    .role_arn
                    .map(|arn| super::AssumeRole {
                        arn,
                        external_id: t.external_id,
                    })
                    .into_iter()
                    .collect(),
                regions: t.regions,
                rules,
                member: None,
            };
            let Some(o) = t.organization else {
                targets.push(target);
                continue;
            };
            let org_at = |key: &'static str, i: Option<usize>| {
                let mut p = at(&[Step::Key("Organization"), Step::Key(key)]);
                p.extend(i.map(Step::Index));
                p
            };
            check_role_name(&o.role_name)
                .map_err(|why| semantic(&org_at("RoleName", None), why))?;
            if let Some(e) = &o.external_id {
                let ok = (2..=1224).contains(&e.len())
                    && e.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c));
                if !ok {
                    return Err(semantic(
                        &org_at("ExternalId", None),
                        "an ExternalId is 2 to 1224 of letters, digits and +=,.@:/-_".into(),
                    ));
                }
            }
            for (k, u) in o.units.iter().enumerate() {
                check_unit(u)
                    .map_err(|why| semantic(&org_at("OrganizationalUnits", Some(k)), why))?;
            }
            for (key, list) in [("Accounts", &o.accounts), ("ExcludeAccounts", &o.exclude)] {
                let mut seen = HashSet::new();
                for (k, a) in list.iter().enumerate() {
                    if !is_account_id(a) || !seen.insert(a.as_str()) {
                        return Err(semantic(
                            &org_at(key, Some(k)),
                            format!(
                                "{} is not a 12-digit account id, or is listed twice",
                                quoted(a)
                            ),
                        ));
                    }
                }
            }
            if let Some(a) = o.accounts.iter().find(|a| o.exclude.contains(a)) {
                return Err(semantic(
                    &org_at("ExcludeAccounts", None),
                    format!("account {a} is both in Accounts and in ExcludeAccounts"),
                ));
            }
            organizations.push(super::Organization {
                name,
                access: target,
                role_name: o.role_name,
                external_id: o.external_id,
                units: o.units,
                accounts: o.accounts,
                exclude: o.exclude,
            });
        }
    }
    // A target named like an entry's account would be audited twice, or stand for it.
    for t in &targets {
        if let Some((entry, id)) = t.name.rsplit_once('-') {
            if is_account_id(id)
                && organizations
                    .iter()
                    .any(|o: &super::Organization| o.name == entry)
            {
                return Err(semantic(
                    &[Step::Key("Targets")],
                    format!(
                        "target {} has the name of account {id} of the organization entry {entry}",
                        quoted(&t.name)
                    ),
                ));
            }
        }
    }
    Ok(Targets {
        file: file.to_path_buf(),
        organizations,
        targets,
    })
}

/// The longest target name: names leave room for a suffix (`<name>-<12-digit account
/// id>` for organization accounts) within common file-name limits.
pub const TARGET_NAME_MAX: usize = 64;

/// Target names name snapshot directories and report files, and appear in reports and
/// on the terminal: 1 to [`TARGET_NAME_MAX`] ASCII letters, digits, `.`, `_` and `-`,
/// not starting with `.` (a hidden file) or `-` (an option).
fn check_target_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if !name.is_empty()
        && name.len() <= TARGET_NAME_MAX
        && name.chars().all(allowed)
        && !name.starts_with(['.', '-'])
    {
        return Ok(());
    }
    Err(format!(
        "target name {} is not valid: a target name is 1 to {TARGET_NAME_MAX} characters, \
         ASCII letters, digits, '.', '_' and '-', and does not start with '.' or '-' \
         (it names snapshot directories and report files)",
        quoted(name)
    ))
}
#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(Path::new("t.json"), text).unwrap_err().to_string()
    }

    #[test]
    fn errors_found_after_parsing_point_into_the_file() {
        // A rule configured twice: the second one's line and column.
        let text = "{ \"Targets\": [ { \"demo\": { \"Rules\": [\n    { \"Policy\": { \"Name\": \"Force_MFA\" } },\n    { \"Policy\": { \"Name\": \"Force_MFA\" } }\n] } } ] }";
        assert_eq!(
            error(text),
            "t.json:3:5: Targets[0].demo.Rules[1]: Force_MFA is configured twice for target demo"
        );
        // A target defined twice, in a second object of the list.
        let text = "{ \"Targets\": [\n  { \"a\": { \"Rules\": [ { \"Policy\": { \"Name\": \"Force_MFA\" } } ] } },\n  { \"a\": { \"Rules\": [ { \"Policy\": { \"Name\": \"Force_MFA\" } } ] } }\n] }";
        assert_eq!(
            error(text),
            "t.json:3:10: Targets[1].a: target \"a\" is defined twice"
        );
        // A region listed twice: the string itself (serde_json places a string's
        // position at its end).
        let text = "{ \"Targets\": [ { \"demo\": {\n  \"Regions\": [\"eu-west-1\",\n    \"eu-west-1\"],\n  \"Rules\": [ { \"Policy\": { \"Name\": \"Force_MFA\" } } ] } } ] }";
        assert_eq!(
            error(text),
            "t.json:3:15: Targets[0].demo.Regions[1]: \"eu-west-1\" is empty or listed twice"
        );
        // Keys are compared after unescaping, and other keys are skipped whole.
        let text = "{ \"Targets\": [ { \"d\\u0065mo\": { \"Profile\": \"p\", \"Rules\": [] } } ] }";
        assert_eq!(
            error(text),
            "t.json:1:58: Targets[0].demo.Rules: lists no rule: a target with nothing to check would always pass"
        );
        assert_eq!(
            error("{\"Targets\": []}"),
            "t.json:1:13: Targets: lists no target"
        );
    }

    /// A key given as `null` is an error, never the key left out: `"Organization":
    /// null` made an organization entry an ordinary target (found by the campaign).
    #[test]
    fn null_is_never_an_absent_key() {
        for (key, value) in [
            ("Organization", "null"),
            ("Credentials", "null"),
            ("Profile", "null"),
            ("RoleArn", "null"),
        ] {
            let text = format!(
                "{{\"Targets\": [{{\"org\": {{\"{key}\": {value}, \"Rules\": [{{\"Policy\": {{\"Name\": \"Force_MFA\"}}}}]}}}}]}}"
            );
            let e = error(&text);
            assert!(
                e.contains(&format!("Targets[0].org.{key}: invalid type: null")),
                "{e}"
            );
        }
        for rule in [
            r#"{"Policy": {"Name": "Force_MFA", "Severity": null}}"#,
            r#"{"Policy": {"Name": "User_Source_IP_Restrictions", "Source_IPs": ["1.2.3.4"], "Params": null}}"#,
        ] {
            let text = format!("{{\"Targets\": [{{\"a\": {{\"Rules\": [{rule}]}}}}]}}");
            assert!(error(&text).contains("invalid type: null"), "{rule}");
        }
    }
}
