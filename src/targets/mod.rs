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

mod file;
pub mod membership;
pub mod organization;
mod rule_specs;
pub mod shard;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::json_input::{self, InputError};
use crate::rules::{self, Rule, Setting, Severity, ValueType};

pub use file::{parse, TARGET_NAME_MAX};
pub use organization::Organization;

/// Where the Policy rule template expects the target's source IPs.
pub const SOURCE_IP_PARAM: &str = "PARAM_1_SOURCE_IP";

#[derive(Debug)]
pub struct Targets {
    pub file: PathBuf,
    /// The targets to audit: those targets.json names, and the accounts of its
    /// organization entries once resolved ([`Targets::add_members`]).
    pub targets: Vec<Target>,
    /// The `Organization` entries, each of which stands for its member accounts.
    pub organizations: Vec<Organization>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub credentials: Option<Credentials>,
    pub profile: Option<String>,
    /// Roles assumed in turn from the credentials above: targets.json's `RoleArn`, then,
    /// for a member of an organization entry, its role in that account.
    pub roles: Vec<AssumeRole>,
    pub regions: Vec<String>,
    pub rules: Vec<RuleSpec>,
    /// For an account of an organization entry: which, and the account.
    pub member: Option<Member>,
}

/// A role to assume (`RoleArn` and `ExternalId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    pub arn: String,
    pub external_id: Option<String>,
}

/// What makes a target an account of an organization entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The entry's name; the target is `<entry>-<account id>`.
    pub entry: String,
    pub account_id: String,
    /// The account's name in the organization, when discovered.
    pub account_name: Option<String>,
}

impl Target {
    /// The account this target must reach, when known before collecting (an
    /// organization member's id, or the account of its last role's ARN): collect
    /// refuses credentials that reach another. Also the key that shards targets.
    pub fn expected_account(&self) -> Option<&str> {
        if let Some(m) = &self.member {
            return Some(&m.account_id);
        }
        self.roles
            .last()
            .and_then(|r| r.arn.split(':').nth(4))
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    }
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

/// Reads and parses a targets file.
pub fn load(file: &Path) -> Result<Targets, TargetsError> {
    parse(file, &json_input::read(file)?)
}

impl Targets {
    pub fn get(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// The organization entry a member's target name (`<entry>-<12 digits>`) belongs
    /// to, and the account id.
    pub fn entry_of<'a>(&self, name: &'a str) -> Option<(&Organization, &'a str)> {
        let (entry, id) = name.rsplit_once('-')?;
        let org = self.organizations.iter().find(|o| o.name == entry)?;
        (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then_some((org, id))
    }

    /// Whether `name` is, or can be, a target of this file: a target, or an account of
    /// an organization entry (what a suppression's `Targets` may name).
    pub fn may_name(&self, name: &str) -> bool {
        self.get(name).is_some() || self.entry_of(name).is_some()
    }

    /// Adds the targets of organization members by name (`<entry>-<account id>`), for
    /// what needs no AWS call: evaluating their snapshots. Names that are already
    /// targets, or that no entry explains, are left alone; returns how many were added.
    pub fn add_members<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> usize {
        let mut added = Vec::new();
        for name in names {
            if self.get(name).is_some() || added.iter().any(|t: &Target| t.name == name) {
                continue;
            }
            if let Some((org, id)) = self.entry_of(name) {
                added.push(org.member(id, None, None, "aws"));
            }
        }
        let n = added.len();
        self.targets.extend(added);
        self.targets.sort_by(|a, b| a.name.cmp(&b.name));
        n
    }
}
