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
    #[serde(rename = "Credentials")]
    credentials: Option<Credentials>,
    #[serde(rename = "Profile")]
    profile: Option<String>,
    #[serde(rename = "RoleArn")]
    role_arn: Option<String>,
    #[serde(rename = "ExternalId")]
    external_id: Option<String>,
    #[serde(rename = "Regions", default)]
    regions: Vec<String>,
    #[serde(rename = "Rules")]
    rules: Vec<RuleSpec>,
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
            targets.push(Target {
                name,
                credentials: t.credentials,
                profile: t.profile,
                role_arn: t.role_arn,
                external_id: t.external_id,
                regions: t.regions,
                rules,
            });
        }
    }
    Ok(Targets {
        file: file.to_path_buf(),
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
}
