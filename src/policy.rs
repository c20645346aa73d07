//! IAM policy documents: normalisation, semantic comparison and a readable difference.
//!
//! Two documents are *identical* for CloudKestrel when they grant and deny the same
//! things by the rules IAM documents (spec §3.2): statement order, `Sid`, a string vs a
//! one-element list, the case of action names and condition keys, duplicates,
//! whitespace and JSON scalars vs their string forms do not matter. Everything else
//! does: `Bool` is not `BoolIfExists`, another IP is another policy. Operator names are
//! kept as written (IAM does not document them as case-insensitive), so a case-only
//! difference there is reported rather than guessed away.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

pub type Values = BTreeSet<String>;

/// A statement after normalisation. Field order is the display order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Statement {
    #[serde(rename = "Effect")]
    pub effect: String,
    #[serde(rename = "Principal", skip_serializing_if = "Option::is_none")]
    pub principal: Option<BTreeMap<String, Values>>,
    #[serde(rename = "NotPrincipal", skip_serializing_if = "Option::is_none")]
    pub not_principal: Option<BTreeMap<String, Values>>,
    #[serde(rename = "Action", skip_serializing_if = "Option::is_none")]
    pub action: Option<Values>,
    #[serde(rename = "NotAction", skip_serializing_if = "Option::is_none")]
    pub not_action: Option<Values>,
    #[serde(rename = "Resource", skip_serializing_if = "Option::is_none")]
    pub resource: Option<Values>,
    #[serde(rename = "NotResource", skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<Values>,
    /// operator → (lower-cased key → values).
    #[serde(rename = "Condition", skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<String, BTreeMap<String, Values>>,
}

impl Statement {
    pub fn is_allow(&self) -> bool {
        self.effect == "Allow"
    }

    /// Compact one-line JSON of the normalised statement.
    pub fn to_compact(&self) -> String {
        serde_json::to_string(self).expect("statements always serialise")
    }

    /// A short human label: `Deny NotAction[7] on *`.
    pub fn label(&self) -> String {
        let (kw, set) = match (&self.action, &self.not_action) {
            (Some(a), _) => ("Action", a),
            (None, Some(a)) => ("NotAction", a),
            _ => ("Action", &EMPTY),
        };
        let actions = summarise(set);
        let res = match (&self.resource, &self.not_resource) {
            (Some(r), _) => summarise(r),
            (None, Some(r)) => format!("everything but {}", summarise(r)),
            _ => "-".into(),
        };
        format!("{} {kw} {actions} on {res}", self.effect)
    }
}

static EMPTY: Values = BTreeSet::new();

fn summarise(set: &Values) -> String {
    match set.len() {
        0 => "[]".into(),
        1 => set.iter().next().cloned().unwrap_or_default(),
        n if n <= 3 => set.iter().cloned().collect::<Vec<_>>().join(", "),
        n => format!(
            "{}, … ({n} in all)",
            set.iter().take(2).cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `2012-10-17`, or `2008-10-17` when the document has no Version.
    pub version: String,
    pub statements: BTreeSet<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy document: {0}")]
pub struct PolicyError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(msg.into()))
}

/// Parses a policy document as stored by IAM: either JSON or a URL-encoded JSON string.
///
/// A key written twice in one JSON object (two `Effect`s in a statement, two `Resource`s)
/// is refused: the policy grammar forbids it, and a JSON parser keeps one of the two
/// (serde_json the last) where AWS may have read the other, so any verdict drawn from
/// it would be a guess. Collect records such a document as a problem of what it belongs
/// to, and every check that needs it reports `error`.
pub fn parse_document(text: &str) -> Result<Value, PolicyError> {
    let decoded = if text.trim_start().starts_with('{') {
        std::borrow::Cow::Borrowed(text)
    } else {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_err(|e| PolicyError(format!("not valid URL-encoded UTF-8: {e}")))?
    };
    parse_json_document(&decoded)
}

/// Parses a document that is JSON text, never URL-encoded (as a snapshot stores them),
/// with the same rule as [`parse_document`]: a key written twice is refused.
pub fn parse_json_document(text: &str) -> Result<Value, PolicyError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde::de::DeserializeSeed::deserialize(UniqueKeys, &mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| match e.classify() {
            // Only UniqueKeys raises data errors here: valid JSON, invalid policy.
            serde_json::error::Category::Data => PolicyError(e.to_string()),
            _ => PolicyError(format!("not valid JSON: {e}")),
        })?;
    Ok(value)
}

/// Deserialises JSON into a [`Value`] like serde_json does, but fails on an object that
/// holds the same key twice.
#[derive(Clone, Copy)]
struct UniqueKeys;

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        // Like serde_json: a number JSON can hold (never NaN or infinite when parsed).
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // One lookup per key (`entry`), not two: snapshot reading parses every
            // stored document with this (issue 12).
            match out.entry(key) {
                serde_json::map::Entry::Occupied(o) => {
                    return Err(serde::de::Error::custom(format!(
                        "the key {:?} appears twice in one object (the policy grammar forbids it, and which one AWS reads is not known)",
                        o.key()
                    )));
                }
                serde_json::map::Entry::Vacant(v) => {
                    v.insert(map.next_value_seed(self)?);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

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

impl Policy {
    fn uses_variables(&self) -> bool {
        self.statements
            .iter()
            .any(|s| s.to_compact().contains("${"))
    }

    /// Semantic identity as defined in the module doc. The language version matters only
    /// where a document uses policy variables (they are literal text under 2008-10-17).
    pub fn identical(&self, other: &Policy) -> bool {
        self.statements == other.statements
            && (self.version == other.version || !(self.uses_variables() || other.uses_variables()))
    }

    /// What `actual` lacks and adds compared with `self` (the expected policy).
    pub fn diff(&self, actual: &Policy) -> PolicyDiff {
        let mut missing: Vec<&Statement> = self.statements.difference(&actual.statements).collect();
        let mut extra: Vec<&Statement> = actual.statements.difference(&self.statements).collect();
        let mut changed = Vec::new();
        // Pair each missing statement with the most similar extra one of the same effect,
        // so "a condition operator changed" reads as one change, not a removal and an
        // addition.
        missing.retain(|m| {
            let best = extra
                .iter()
                .enumerate()
                .filter(|(_, e)| e.effect == m.effect)
                .map(|(i, e)| (similarity(m, e), i))
                .filter(|(score, _)| *score >= 2)
                .max();
            match best {
                Some((_, i)) => {
                    let e = extra.remove(i);
                    changed.push(StatementChange::new(m, e));
                    false
                }
                None => true,
            }
        });
        let version = (self.version != actual.version
            && (self.uses_variables() || actual.uses_variables()))
        .then(|| (self.version.clone(), actual.version.clone()));
        PolicyDiff {
            version,
            missing: missing.into_iter().cloned().collect(),
            extra: extra.into_iter().cloned().collect(),
            changed,
        }
    }
}

fn similarity(a: &Statement, b: &Statement) -> usize {
    [
        a.principal == b.principal && a.not_principal == b.not_principal,
        a.action == b.action && a.not_action == b.not_action,
        a.resource == b.resource && a.not_resource == b.not_resource,
        a.condition == b.condition,
    ]
    .iter()
    .filter(|x| **x)
    .count()
        + usize::from(a.action.is_some() == b.action.is_some())
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyDiff {
    /// (expected, actual) language versions, when that difference matters.
    pub version: Option<(String, String)>,
    /// Statements of the expected policy that the account's copy lacks.
    pub missing: Vec<Statement>,
    /// Statements in the account's copy that the expected policy does not have.
    pub extra: Vec<Statement>,
    /// Statements present in both, but with different elements.
    pub changed: Vec<StatementChange>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatementChange {
    pub expected: Statement,
    pub actual: Statement,
    /// One line per differing element, e.g. `Condition: expected … found …`.
    pub lines: Vec<String>,
}

impl StatementChange {
    fn new(expected: &Statement, actual: &Statement) -> Self {
        let mut lines = Vec::new();
        let mut set_diff = |name: &str, e: &Option<Values>, a: &Option<Values>| {
            if e == a {
                return;
            }
            match (e, a) {
                (Some(e), Some(a)) => {
                    let lost: Vec<_> = e.difference(a).cloned().collect();
                    let added: Vec<_> = a.difference(e).cloned().collect();
                    let mut parts = Vec::new();
                    if !lost.is_empty() {
                        parts.push(format!("missing {}", lost.join(", ")));
                    }
                    if !added.is_empty() {
                        parts.push(format!("extra {}", added.join(", ")));
                    }
                    lines.push(format!("{name}: {}", parts.join("; ")));
                }
                (Some(_), None) => lines.push(format!("{name}: missing from the account's copy")),
                (None, Some(a)) => lines.push(format!(
                    "{name}: only in the account's copy ({})",
                    summarise(a)
                )),
                (None, None) => {}
            }
        };
        set_diff("Action", &expected.action, &actual.action);
        set_diff("NotAction", &expected.not_action, &actual.not_action);
        set_diff("Resource", &expected.resource, &actual.resource);
        set_diff("NotResource", &expected.not_resource, &actual.not_resource);
        if expected.principal != actual.principal {
            lines.push(format!(
                "Principal: expected {} found {}",
                show(&expected.principal),
                show(&actual.principal)
            ));
        }
        if expected.not_principal != actual.not_principal {
            lines.push(format!(
                "NotPrincipal: expected {} found {}",
                show(&expected.not_principal),
                show(&actual.not_principal)
            ));
        }
        if expected.condition != actual.condition {
            lines.extend(condition_diff(&expected.condition, &actual.condition));
        }
        StatementChange {
            expected: expected.clone(),
            actual: actual.clone(),
            lines,
        }
    }
}

type Conditions = BTreeMap<String, BTreeMap<String, Values>>;

/// One line per differing condition operator or key, e.g.
/// `Condition NotIpAddress aws:sourceip: extra 203.0.113.10`.
fn condition_diff(expected: &Conditions, actual: &Conditions) -> Vec<String> {
    let list = |v: &Values| v.iter().cloned().collect::<Vec<_>>().join(", ");
    let mut out = Vec::new();
    let ops: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    for op in ops {
        match (expected.get(op), actual.get(op)) {
            (Some(e), Some(a)) => {
                let keys: BTreeSet<&String> = e.keys().chain(a.keys()).collect();
                for key in keys {
                    match (e.get(key), a.get(key)) {
                        (Some(ev), Some(av)) if ev != av => {
                            let lost: Values = ev.difference(av).cloned().collect();
                            let added: Values = av.difference(ev).cloned().collect();
                            let mut parts = Vec::new();
                            if !lost.is_empty() {
                                parts.push(format!("missing {}", list(&lost)));
                            }
                            if !added.is_empty() {
                                parts.push(format!("extra {}", list(&added)));
                            }
                            out.push(format!("Condition {op} {key}: {}", parts.join("; ")));
                        }
                        (Some(ev), None) => out.push(format!(
                            "Condition {op} {key} = [{}] is missing from the account's copy",
                            list(ev)
                        )),
                        (None, Some(av)) => out.push(format!(
                            "Condition {op} {key} = [{}] is only in the account's copy",
                            list(av)
                        )),
                        _ => {}
                    }
                }
            }
            (Some(e), None) => out.push(format!(
                "Condition {op} {} is missing from the account's copy",
                show(e)
            )),
            (None, Some(a)) => out.push(format!(
                "Condition {op} {} is only in the account's copy",
                show(a)
            )),
            (None, None) => {}
        }
    }
    out
}

/// Compact JSON of a statement element; "none" when absent or empty.
fn show<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) if m.is_empty() => "none".into(),
        Ok(Value::Null) => "none".into(),
        Ok(v) => v.to_string(),
        Err(e) => e.to_string(),
    }
}

impl PolicyDiff {
    pub fn is_empty(&self) -> bool {
        self.version.is_none()
            && self.missing.is_empty()
            && self.extra.is_empty()
            && self.changed.is_empty()
    }

    /// One line per difference, for reports.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((e, a)) = &self.version {
            out.push(format!("Version: expected {e}, found {a} (policy variables such as ${{aws:username}} are literal text before 2012-10-17)"));
        }
        for c in &self.changed {
            for l in &c.lines {
                out.push(format!("changed statement «{}»: {l}", c.expected.label()));
            }
        }
        for m in &self.missing {
            out.push(format!("missing statement: {}", m.to_compact()));
        }
        for e in &self.extra {
            out.push(format!("extra statement: {}", e.to_compact()));
        }
        out
    }
}

impl fmt::Display for PolicyDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

/// Matches an IAM action pattern (`*` and `?` wildcards, case-insensitive) against an
/// action name.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    glob(
        pattern.to_ascii_lowercase().as_bytes(),
        action.to_ascii_lowercase().as_bytes(),
    )
}

/// `*`/`?` glob match, case-sensitive.
pub fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn n(v: Value) -> Policy {
        normalize(&v).unwrap()
    }

    #[test]
    fn order_sid_case_and_scalars_do_not_matter() {
        let a = n(json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": ["iam:GetUser", "iam:ListMFADevices"], "Resource": "arn:aws:iam::*:user/${aws:username}"},
            {"Sid": "B", "Effect": "Deny", "NotAction": "sts:GetSessionToken", "Resource": "*",
             "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
        ]}));
        let b = n(json!({"Statement": [
            {"Effect": "Deny", "NotAction": ["STS:getsessiontoken", "sts:GetSessionToken"], "Resource": ["*"],
             "Condition": {"BoolIfExists": {"AWS:MultiFactorAuthPresent": false}}},
            {"Effect": "Allow", "Action": ["iam:listmfadevices", "IAM:GetUser"], "Resource": ["arn:aws:iam::*:user/${aws:username}"]}
        ], "Version": "2012-10-17"}));
        assert!(a.identical(&b), "{}", a.diff(&b));
        assert!(a.diff(&b).is_empty());
    }

    #[test]
    fn bool_vs_boolifexists_differs_and_is_explained() {
        let a = n(
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotAction": "sts:GetSessionToken", "Resource": "*",
             "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}}),
        );
        let b = n(
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotAction": "sts:GetSessionToken", "Resource": "*",
             "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}}),
        );
        assert!(!a.identical(&b));
        let d = a.diff(&b);
        assert_eq!(d.changed.len(), 1);
        let text = d.to_string();
        assert!(
            text.contains(
                "Condition BoolIfExists {\"aws:multifactorauthpresent\":[\"false\"]} is missing"
            ) && text
                .contains("Condition Bool {\"aws:multifactorauthpresent\":[\"false\"]} is only in"),
            "{text}"
        );
    }

    #[test]
    fn version_matters_only_with_variables() {
        let with_var = |v: Option<&str>| {
            let mut d = json!({"Statement": {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/${aws:username}"}});
            if let Some(v) = v {
                d["Version"] = json!(v);
            }
            n(d)
        };
        assert!(!with_var(Some("2012-10-17")).identical(&with_var(None)));
        let plain = |v: &str| {
            n(
                json!({"Version": v, "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}),
            )
        };
        assert!(plain("2012-10-17").identical(&plain("2008-10-17")));
    }

    #[test]
    fn invalid_documents_are_rejected() {
        assert!(normalize(
            &json!({"Statement": {"Effect": "allow", "Action": "*", "Resource": "*"}})
        )
        .is_err());
        assert!(normalize(
            &json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceVpc": "a", "AWS:SOURCEVPC": "b"}}}})
        )
        .is_err());
        assert!(normalize(&json!({"Statement": [], "Extra": 1})).is_err());
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let same = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", 1, 2.5, true, null, -3], "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": false}}}]}"#;
        // Without duplicates: exactly what serde_json makes of it, numbers included.
        assert_eq!(
            parse_document(same).unwrap(),
            serde_json::from_str::<Value>(same).unwrap()
        );
        for twice in [
            r#"{"Version": "2012-10-17", "Version": "2008-10-17", "Statement": []}"#,
            r#"{"Statement": {"Effect": "Deny", "Effect": "Allow", "Action": "*", "Resource": "*"}}"#,
            r#"{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Principal": {"AWS": "1", "AWS": "*"}}]}"#,
            "%7B%22Statement%22%3A%5B%5D%2C%22Statement%22%3A%5B%5D%7D",
        ] {
            let e = parse_document(twice).unwrap_err().to_string();
            assert!(e.contains("appears twice"), "{twice}: {e}");
        }
        // Trailing garbage is still an error, as with serde_json::from_str.
        assert!(parse_document(r#"{"Statement": []} x"#).is_err());
        // Keys are compared as JSON reads them (escapes undone), in condition blocks too.
        for twice in [
            r#"{"Statement": {"\u0045ffect": "Allow", "Effect": "Deny"}}"#,
            r#"{"Statement": {"Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24", "aws:SourceIp": "0.0.0.0/0"}}}}"#,
        ] {
            let e = parse_document(twice).unwrap_err().to_string();
            assert!(
                e.contains("appears twice") && !e.contains("not valid JSON"),
                "{e}"
            );
        }
        // Numbers and nesting as serde_json: the same values, the same errors.
        for text in [
            "[18446744073709551615, 18446744073709551616, -9223372036854775808, -0, 1e-7, 0.1]",
            "[1e400]",
            &format!("{}{}", "[".repeat(200), "]".repeat(200)),
            &format!("{}{}", "[".repeat(100), "]".repeat(100)),
        ] {
            let ours = parse_document(text).map_err(|_| ());
            let theirs = serde_json::from_str::<Value>(text).map_err(|_| ());
            assert_eq!(ours, theirs, "{}", &text[..text.len().min(60)]);
        }
    }

    #[test]
    fn url_encoded_documents_are_decoded() {
        let v = parse_document("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D")
            .unwrap();
        assert_eq!(v["Version"], "2012-10-17");
    }

    #[test]
    fn globs() {
        assert!(action_matches("s3:Get*", "s3:GetObject"));
        assert!(action_matches("*", "s3:PutObject"));
        assert!(action_matches("S3:?etObject", "s3:getobject"));
        assert!(!action_matches("s3:Put*", "s3:GetObject"));
    }
}
