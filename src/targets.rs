//! targets.json: which accounts to audit, how to reach them, and which rules apply.
//!
//! The format is the original tool's, accepted exactly, with strict checking: the file
//! is read as a strict JSON input ([`crate::json_input`]: one document, unique keys,
//! objects only), and unknown keys, unknown rule names, wrong types, numbers out of
//! range, invalid IPs and target names that could not name a file are errors that name
//! the file, line and column, the JSON path (so the target and the rule), and what
//! would be valid. Parsing goes through raw serde structs; each rule is validated as it
//! is read (`try_from`), so its errors still carry a position. Errors that can only be
//! seen once everything is read (a target defined twice, a rule configured twice…) are
//! located afterwards by their JSON path ([`json_input::located`]).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use crate::json_input::{self, quoted, InputError, Step};
use crate::rules::{self, Kind, Rule, Setting, Severity, ValueType};

/// Where the Policy rule template expects the target's source IPs.
pub const SOURCE_IP_PARAM: &str = "PARAM_1_SOURCE_IP";

#[derive(Debug)]
pub struct Targets {
    pub file: PathBuf,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub credentials: Option<Credentials>,
    pub profile: Option<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub regions: Vec<String>,
    pub rules: Vec<RuleSpec>,
}

/// Names of the environment variables holding the target's keys (never the keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[serde(rename = "AwsAccessKeyId")]
    pub access_key_id_var: String,
    #[serde(rename = "AwsSecretAccessKey")]
    pub secret_access_key_var: String,
}

/// One rule as configured for one target, validated.
#[derive(Clone)]
pub struct RuleSpec {
    pub rule: &'static dyn Rule,
    pub add_if_missing: bool,
    pub ignore_users: Vec<String>,
    /// Policy rules: the allowed source IPs / CIDR ranges.
    pub source_ips: Vec<String>,
    /// AWS managed-rule parameters, in AWS's string form, as given (no defaults).
    pub parameters: BTreeMap<String, String>,
    /// CloudKestrel options for the local check, as given (no defaults).
    pub options: BTreeMap<String, String>,
    /// The severity targets.json gives this rule for this target (`"Severity"`).
    pub severity: Option<Severity>,
}

impl fmt::Debug for RuleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSpec")
            .field("rule", &self.rule.meta().name)
            .field("add_if_missing", &self.add_if_missing)
            .field("ignore_users", &self.ignore_users)
            .field("source_ips", &self.source_ips)
            .field("parameters", &self.parameters)
            .field("options", &self.options)
            .field("severity", &self.severity)
            .finish()
    }
}

fn setting_value<'a>(
    given: &'a BTreeMap<String, String>,
    settings: &'static [Setting],
    name: &str,
) -> Option<&'a str> {
    given.get(name).map(String::as_str).or_else(|| {
        settings
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.default)
    })
}

impl RuleSpec {
    /// A rule configured with nothing but its name.
    pub fn with_defaults(rule: &'static dyn Rule) -> RuleSpec {
        RuleSpec {
            rule,
            add_if_missing: false,
            ignore_users: Vec::new(),
            source_ips: Vec::new(),
            parameters: BTreeMap::new(),
            options: BTreeMap::new(),
            severity: None,
        }
    }

    /// The rule's severity for this target: targets.json's, else the rule's own.
    pub fn severity(&self) -> Severity {
        self.severity.unwrap_or(self.rule.meta().severity)
    }

    /// A managed-rule parameter, or its default.
    pub fn param(&self, name: &str) -> Option<&str> {
        setting_value(&self.parameters, self.rule.meta().parameters, name)
    }

    /// A local-check option, or its default.
    pub fn option(&self, name: &str) -> Option<&str> {
        setting_value(&self.options, self.rule.meta().options, name)
    }

    pub fn option_bool(&self, name: &str) -> bool {
        self.option(name) == Some("true")
    }

    /// A [`ValueType::PositiveInt`] parameter, or its default; an error (never a
    /// default) when it is missing or not a number in range, which targets.json
    /// refuses, so only a spec built otherwise can have one.
    pub fn param_positive_int(&self, name: &str) -> Result<u32, String> {
        let value = self
            .param(name)
            .ok_or_else(|| format!("parameter {name} is not set and has no default"))?;
        rules::positive_int(value).ok_or_else(|| {
            format!(
                "parameter {name} is {}, not {}",
                json_input::quoted(value),
                ValueType::PositiveInt.describe()
            )
        })
    }

    /// Whether a deployed rule's InputParameters mean the same as targets.json: AWS's
    /// defaults fill what either side leaves out, and comma-separated lists are compared
    /// without the spaces around names.
    pub fn same_parameters(&self, deployed: &BTreeMap<String, String>) -> bool {
        let meta = self.rule.meta();
        let normal = |m: BTreeMap<String, String>| -> BTreeMap<String, String> {
            let mut m = m;
            for s in meta.parameters {
                if let Some(d) = s.default {
                    m.entry(s.name.to_string()).or_insert_with(|| d.to_string());
                }
            }
            m.into_iter()
                .map(|(k, v)| {
                    let csv = meta
                        .parameters
                        .iter()
                        .any(|s| s.name == k && s.ty == ValueType::Csv);
                    let v = if csv {
                        v.split(',').map(str::trim).collect::<Vec<_>>().join(",")
                    } else {
                        v
                    };
                    (k, v)
                })
                .collect()
        };
        normal(deployed.clone()) == normal(self.parameters.clone())
    }

    /// The InputParameters AWS Config should have: every parameter given in targets.json
    /// and the defaults of the others.
    pub fn effective_parameters(&self) -> BTreeMap<String, String> {
        self.rule
            .meta()
            .parameters
            .iter()
            .filter_map(|s| {
                self.param(s.name)
                    .map(|v| (s.name.to_string(), v.to_string()))
            })
            .collect()
    }
}

/// A rule's InputParameters (a JSON string of string values) as a map; numbers and
/// booleans are taken in their string form.
pub fn parse_input_parameters(s: Option<&str>) -> BTreeMap<String, String> {
    let Some(Ok(Value::Object(m))) = s.map(serde_json::from_str::<Value>) else {
        return BTreeMap::new();
    };
    m.into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect()
}

/// Why a targets file cannot be used.
pub type TargetsError = InputError;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
enum RawRule {
    Policy(RawPolicyRule),
    Config(RawConfigRule),
    Setup(RawSetupRule),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSetupRule {
    #[serde(rename = "Name")]
    name: RuleName<SETUP>,
    #[serde(rename = "Severity", default)]
    severity: Option<SeverityName>,
    #[serde(rename = "Options", default = "no_settings")]
    options: IndexMap<String, Value>,
}

/// A rule's severity for a target (`"Severity": "low"`), checked as it is read.
struct SeverityName(Severity);

impl<'de> Deserialize<'de> for SeverityName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Severity::parse(&name).map(SeverityName).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{} is not a severity; valid: {}",
                quoted(&name),
                Severity::ALL.map(Severity::as_str).join(", ")
            ))
        })
    }
}

const POLICY: u8 = 0;
const CONFIG: u8 = 1;
const SETUP: u8 = 2;

/// A rule name, checked as it is read so that an error points at the name itself.
struct RuleName<const KIND: u8>(&'static dyn Rule);

impl<'de, const KIND: u8> Deserialize<'de> for RuleName<KIND> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let kind = match KIND {
            POLICY => Kind::Policy,
            CONFIG => Kind::Config,
            _ => Kind::Setup,
        };
        lookup(&name, kind)
            .map(RuleName)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicyRule {
    #[serde(rename = "Name")]
    name: RuleName<POLICY>,
    #[serde(rename = "Params")]
    params: Option<Vec<IndexMap<String, Vec<String>>>>,
    #[serde(rename = "Source_IPs")]
    source_ips: Option<Vec<String>>,
    #[serde(rename = "IgnoreUsers", default)]
    ignore_users: Vec<String>,
    #[serde(rename = "Severity", default)]
    severity: Option<SeverityName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfigRule {
    #[serde(rename = "Name")]
    name: RuleName<CONFIG>,
    #[serde(rename = "Severity", default)]
    severity: Option<SeverityName>,
    #[serde(rename = "AddIfMissing", default)]
    add_if_missing: bool,
    #[serde(rename = "IgnoreUsers", default)]
    ignore_users: Vec<String>,
    #[serde(rename = "Parameters", default = "no_settings")]
    parameters: IndexMap<String, Value>,
    #[serde(rename = "Options", default = "no_settings")]
    options: IndexMap<String, Value>,
}

fn no_settings() -> IndexMap<String, Value> {
    IndexMap::new()
}

impl<'de> Deserialize<'de> for RuleSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawRule::deserialize(d)?;
        RuleSpec::try_from(raw).map_err(serde::de::Error::custom)
    }
}

fn lookup(name: &str, kind: Kind) -> Result<&'static dyn Rule, String> {
    let names: Vec<&str> = rules::RULES
        .iter()
        .filter(|r| r.meta().kind == kind)
        .map(|r| r.meta().name)
        .collect();
    match rules::find(name) {
        Some(r) if r.meta().kind == kind => Ok(r),
        Some(r) => Err(format!(
            "{name} is a {} rule, not a {} rule: write it as {{\"{}\": {{\"Name\": \"{name}\"}}}}",
            r.meta().kind.as_str(),
            kind.as_str(),
            r.meta().kind.as_str()
        )),
        None => {
            let hint = match rules::suggest(name) {
                Some(s) => format!("; did you mean {s}?"),
                None => ".".to_string(),
            };
            Err(format!(
                "unknown {kind} rule {name:?}{hint} Valid {kind} rules: {}",
                names.join(", "),
                kind = kind.as_str(),
            ))
        }
    }
}

fn check_ip(ip: &str) -> Result<(), String> {
    if ip.parse::<ipnet::IpNet>().is_ok() || ip.parse::<std::net::IpAddr>().is_ok() {
        Ok(())
    } else {
        Err(format!(
            "{} is not an IP address or CIDR range (valid: \"195.89.85.67\", \"203.0.113.0/24\", \"2001:db8::/32\")",
            quoted(ip)
        ))
    }
}

/// Converts a JSON value to AWS's string form for `ty`.
fn setting_string(rule: &str, section: &str, s: &Setting, v: &Value) -> Result<String, String> {
    let bad = || {
        format!(
            "{rule}: {section}.{}: {} is not valid; expected {}",
            s.name,
            match v {
                Value::String(t) => quoted(t),
                other => json_input::cut(&other.to_string()).into_owned(),
            },
            s.ty.describe()
        )
    };
    match s.ty {
        ValueType::PositiveInt => {
            let n = match v {
                Value::Number(n) => n.as_u64().and_then(|n| rules::positive_int(&n.to_string())),
                Value::String(t) => rules::positive_int(t.trim()),
                _ => None,
            };
            n.map(|n| n.to_string()).ok_or_else(bad)
        }
        ValueType::Bool => match v {
            Value::Bool(b) => Ok(b.to_string()),
            Value::String(t) if t == "true" || t == "false" => Ok(t.clone()),
            _ => Err(bad()),
        },
        ValueType::Csv => {
            let names: Vec<String> = match v {
                Value::String(t) => t.split(',').map(|x| x.trim().to_string()).collect(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| match x {
                        Value::String(t) if !t.contains(',') => Ok(t.trim().to_string()),
                        _ => Err(bad()),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(bad()),
            };
            if names.is_empty() || names.iter().any(|n| n.is_empty()) {
                return Err(bad());
            }
            Ok(names.join(","))
        }
        ValueType::Name => match v {
            Value::String(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
            _ => Err(bad()),
        },
        ValueType::Choice(choices) => match v {
            Value::String(t) if choices.contains(&t.as_str()) => Ok(t.clone()),
            _ => Err(bad()),
        },
    }
}

fn settings(
    rule: &str,
    section: &str,
    allowed: &'static [Setting],
    given: &IndexMap<String, Value>,
) -> Result<BTreeMap<String, String>, String> {
    given
        .iter()
        .map(|(k, v)| {
            let Some(s) = allowed.iter().find(|s| s.name == k) else {
                let valid = if allowed.is_empty() {
                    format!("{rule} takes no {section}")
                } else {
                    format!(
                        "valid: {}",
                        allowed
                            .iter()
                            .map(|s| s.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let hint = allowed
                    .iter()
                    .find(|s| {
                        strsim::normalized_levenshtein(&s.name.to_lowercase(), &k.to_lowercase())
                            > 0.6
                    })
                    .map(|s| format!("did you mean {}? ", s.name))
                    .unwrap_or_default();
                return Err(format!(
                    "{rule}: unknown {section} key {}; {hint}{valid}",
                    quoted(k)
                ));
            };
            Ok((k.clone(), setting_string(rule, section, s, v)?))
        })
        .collect()
}

impl TryFrom<RawRule> for RuleSpec {
    type Error = String;

    fn try_from(raw: RawRule) -> Result<Self, String> {
        match raw {
            RawRule::Policy(p) => {
                let rule = p.name.0;
                let name = rule.meta().name;
                let mut ips = Vec::new();
                if let Some(list) = &p.params {
                    for entry in list {
                        for (k, v) in entry {
                            if k != SOURCE_IP_PARAM {
                                return Err(format!(
                                    "{name}: unknown parameter {k:?} in Params; the only parameter is {SOURCE_IP_PARAM}"
                                ));
                            }
                            ips.extend(v.iter().cloned());
                        }
                    }
                }
                if let Some(list) = &p.source_ips {
                    if p.params.is_some() {
                        return Err(format!(
                            "{name}: give the source IPs once, either as Source_IPs or as Params/{SOURCE_IP_PARAM}"
                        ));
                    }
                    ips.extend(list.iter().cloned());
                }
                let takes_ips = rule
                    .meta()
                    .parameters
                    .iter()
                    .any(|s| s.name == SOURCE_IP_PARAM);
                if takes_ips {
                    if ips.is_empty() {
                        return Err(format!(
                            "{name}: needs at least one allowed source IP: \"Source_IPs\": [\"195.89.85.67\"]"
                        ));
                    }
                    for ip in &ips {
                        check_ip(ip).map_err(|e| format!("{name}: Source_IPs: {e}"))?;
                    }
                } else if !ips.is_empty() {
                    return Err(format!("{name}: takes no source IPs (Source_IPs/Params)"));
                }
                Ok(RuleSpec {
                    rule,
                    add_if_missing: false,
                    ignore_users: p.ignore_users,
                    source_ips: ips,
                    parameters: BTreeMap::new(),
                    options: BTreeMap::new(),
                    severity: p.severity.map(|s| s.0),
                })
            }
            RawRule::Setup(r) => {
                let rule = r.name.0;
                let meta = rule.meta();
                Ok(RuleSpec {
                    rule,
                    add_if_missing: false,
                    ignore_users: Vec::new(),
                    source_ips: Vec::new(),
                    parameters: BTreeMap::new(),
                    options: settings(meta.name, "Options", meta.options, &r.options)?,
                    severity: r.severity.map(|s| s.0),
                })
            }
            RawRule::Config(c) => {
                let rule = c.name.0;
                let meta = rule.meta();
                if !c.ignore_users.is_empty() && !meta.user_scoped {
                    return Err(format!(
                        "{}: IgnoreUsers does not apply: this rule does not report on IAM users",
                        meta.name
                    ));
                }
                Ok(RuleSpec {
                    rule,
                    add_if_missing: c.add_if_missing,
                    ignore_users: c.ignore_users,
                    source_ips: Vec::new(),
                    parameters: settings(meta.name, "Parameters", meta.parameters, &c.parameters)?,
                    options: settings(meta.name, "Options", meta.options, &c.options)?,
                    severity: c.severity.map(|s| s.0),
                })
            }
        }
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

/// Reads and parses a targets file.
pub fn load(file: &Path) -> Result<Targets, TargetsError> {
    parse(file, &json_input::read(file)?)
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

impl Targets {
    pub fn get(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// Whether `name` is, or can be, a target of this file (what a suppression's
    /// `Targets` may name).
    pub fn may_name(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
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
