//! Normalisation of a parsed document into a [`Policy`] (spec §3.2).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::{err, Policy, PolicyError, Statement, Values, Written};

fn scalar(v: &Value, what: &str) -> Result<String, PolicyError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => err(format!("{what}: expected a string, found {v}")),
    }
}

/// A string or a list of strings → a set.
fn values(v: &Value, what: &str, fold: bool) -> Result<Values, PolicyError> {
    let list: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    list.into_iter()
        .map(|x| {
            let s = scalar(x, what)?;
            Ok(if fold { s.to_ascii_lowercase() } else { s })
        })
        .collect()
}

fn principal(v: &Value, what: &str) -> Result<BTreeMap<String, Values>, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(BTreeMap::from([(
            "AWS".to_string(),
            BTreeSet::from(["*".to_string()]),
        )])),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| Ok((k.clone(), values(v, what, false)?)))
            .collect(),
        other => err(format!(
            "{what}: expected \"*\" or an object, found {other}"
        )),
    }
}

const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn statement(s: &Map<String, Value>, idx: usize) -> Result<Option<Statement>, PolicyError> {
    let at = |k: &str| format!("Statement[{idx}].{k}");
    if let Some(k) = s.keys().find(|k| !STATEMENT_KEYS.contains(&k.as_str())) {
        return err(format!("Statement[{idx}]: unknown element {k:?}"));
    }
    let effect = match s.get("Effect") {
        Some(Value::String(e)) if e == "Allow" || e == "Deny" => e.clone(),
        Some(other) => {
            return err(format!(
                "{}: must be \"Allow\" or \"Deny\" (case-sensitive), found {other}",
                at("Effect")
            ))
        }
        None => return err(format!("{}: missing", at("Effect"))),
    };
    let list = |key: &str, fold: bool| -> Result<Option<Values>, PolicyError> {
        s.get(key).map(|v| values(v, &at(key), fold)).transpose()
    };
    let action = list("Action", true)?;
    let not_action = list("NotAction", true)?;
    let resource = list("Resource", false)?;
    let not_resource = list("NotResource", false)?;
    if action.is_some() == not_action.is_some() {
        return err(format!(
            "Statement[{idx}]: needs exactly one of Action and NotAction"
        ));
    }
    if not_action.as_ref().is_some_and(|v| v.is_empty())
        || not_resource.as_ref().is_some_and(|v| v.is_empty())
    {
        return err(format!(
            "Statement[{idx}]: an empty NotAction or NotResource would mean \"everything\"; refusing to guess"
        ));
    }
    // An empty Action or Resource list "does not affect the policy".
    if [&action, &not_action, &resource]
        .iter()
        .any(|x| x.as_ref().is_some_and(|v| v.is_empty()))
    {
        return Ok(None);
    }
    let principal_of = |key: &str| s.get(key).map(|v| principal(v, &at(key))).transpose();
    let mut condition: BTreeMap<String, BTreeMap<String, Values>> = BTreeMap::new();
    if let Some(c) = s.get("Condition") {
        let Value::Object(ops) = c else {
            return err(format!("{}: expected an object", at("Condition")));
        };
        for (op, keys) in ops {
            let Value::Object(keys) = keys else {
                return err(format!("{}.{op}: expected an object", at("Condition")));
            };
            let entry = condition.entry(op.clone()).or_default();
            for (key, vals) in keys {
                let folded = key.to_ascii_lowercase();
                if entry.contains_key(&folded) {
                    return err(format!(
                        "{}.{op}: condition key {key:?} appears twice (keys are case-insensitive)",
                        at("Condition")
                    ));
                }
                entry.insert(folded, values(vals, &at("Condition"), false)?);
            }
        }
    }
    Ok(Some(Statement {
        effect,
        principal: principal_of("Principal")?,
        not_principal: principal_of("NotPrincipal")?,
        action,
        not_action,
        resource,
        not_resource,
        condition,
        written: Written {
            index: idx,
            text: s.clone(),
        },
    }))
}

/// Normalises a parsed policy document (spec §3.2).
pub fn normalize(doc: &Value) -> Result<Policy, PolicyError> {
    let Value::Object(top) = doc else {
        return err("the document is not a JSON object");
    };
    if let Some(k) = top
        .keys()
        .find(|k| !["Version", "Id", "Statement"].contains(&k.as_str()))
    {
        return err(format!("unknown top-level element {k:?}"));
    }
    let version = match top.get("Version") {
        None => "2008-10-17".to_string(),
        Some(Value::String(v)) => v.clone(),
        Some(other) => return err(format!("Version: expected a string, found {other}")),
    };
    let raw: Vec<&Map<String, Value>> = match top.get("Statement") {
        Some(Value::Object(s)) => vec![s],
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| match s {
                Value::Object(m) => Ok(m),
                other => err(format!("Statement: expected objects, found {other}")),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return err(format!(
                "Statement: expected an object or a list, found {other}"
            ))
        }
        None => return err("no Statement"),
    };
    let mut statements = BTreeSet::new();
    for (i, s) in raw.into_iter().enumerate() {
        if let Some(st) = statement(s, i)? {
            statements.insert(st);
        }
    }
    Ok(Policy {
        version,
        statements,
    })
}
