//! A rule as targets.json configures it, read and checked into a [`RuleSpec`]: each
//! rule is validated as it is read (`try_from`), so its errors still carry a position.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use super::{RuleSpec, SOURCE_IP_PARAM};
use crate::json_input::{self, quoted};
use crate::rules::{self, Kind, Rule, Setting, Severity, ValueType};

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
    #[serde(
        rename = "Severity",
        default,
        deserialize_with = "json_input::not_null"
    )]
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
    #[serde(rename = "Params", default, deserialize_with = "json_input::not_null")]
    params: Option<Vec<IndexMap<String, Vec<String>>>>,
    #[serde(
        rename = "Source_IPs",
        default,
        deserialize_with = "json_input::not_null"
    )]
    source_ips: Option<Vec<String>>,
    #[serde(rename = "IgnoreUsers", default)]
    ignore_users: Vec<String>,
    #[serde(
        rename = "Severity",
        default,
        deserialize_with = "json_input::not_null"
    )]
    severity: Option<SeverityName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfigRule {
    #[serde(rename = "Name")]
    name: RuleName<CONFIG>,
    #[serde(
        rename = "Severity",
        default,
        deserialize_with = "json_input::not_null"
    )]
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
                let hint = crate::suggest::closest(k, allowed.iter().map(|s| s.name))
                    .map(|s| format!("did you mean {s}? "))
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
