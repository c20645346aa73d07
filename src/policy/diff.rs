//! Semantic identity of two policies and a readable difference between them.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::{Policy, Statement, Values, Written};

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
        // In the order the documents write them (ours for changed and missing ones).
        changed.sort_by_key(|c| c.expected.written.index);
        missing.sort_by_key(|s| s.written.index);
        extra.sort_by_key(|s| s.written.index);
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
    /// The differences of `actual` from `expected`, quoted as each document writes them
    /// (the comparison is on the normalised forms).
    fn new(expected: &Statement, actual: &Statement) -> Self {
        let (ew, aw) = (&expected.written, &actual.written);
        let mut lines = Vec::new();
        let mut set_diff = |name: &str, e: &Option<Values>, a: &Option<Values>| {
            if e == a {
                return;
            }
            match (e, a) {
                (Some(e), Some(a)) => {
                    let lost: Vec<_> = e.difference(a).map(|v| ew.spelling(name, v)).collect();
                    let added: Vec<_> = a.difference(e).map(|v| aw.spelling(name, v)).collect();
                    lines.push(format!("{name}: {}", missing_extra(&lost, &added)));
                }
                (Some(_), None) => lines.push(only_in(Side::Ours, ew.element_or_none(name))),
                (None, Some(_)) => lines.push(only_in(Side::Theirs, aw.element_or_none(name))),
                (None, None) => {}
            }
        };
        set_diff("Action", &expected.action, &actual.action);
        set_diff("NotAction", &expected.not_action, &actual.not_action);
        set_diff("Resource", &expected.resource, &actual.resource);
        set_diff("NotResource", &expected.not_resource, &actual.not_resource);
        for (name, e, a) in [
            ("Principal", &expected.principal, &actual.principal),
            (
                "NotPrincipal",
                &expected.not_principal,
                &actual.not_principal,
            ),
        ] {
            if e != a {
                lines.push(format!(
                    "{name}: expected {}, found {}",
                    ew.element_or_none(name),
                    aw.element_or_none(name)
                ));
            }
        }
        if expected.condition != actual.condition {
            lines.extend(condition_diff(expected, actual));
        }
        StatementChange {
            expected: expected.clone(),
            actual: actual.clone(),
            lines,
        }
    }

    /// `Statement[0] (Sid "X")` when both documents have it there, else ours and the
    /// account's.
    fn label(&self) -> String {
        let (e, a) = (self.expected.written.label(), self.actual.written.label());
        if e == a {
            e
        } else {
            format!("{e} of ours, {a} of the account's")
        }
    }
}

/// One line per differing condition operator or key, e.g.
/// `Condition NotIpAddress aws:SourceIp: extra 203.0.113.10`.
fn condition_diff(expected: &Statement, actual: &Statement) -> Vec<String> {
    let (ew, aw) = (&expected.written, &actual.written);
    let (expected, actual) = (&expected.condition, &actual.condition);
    let mut out = Vec::new();
    let ops: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    for op in ops {
        match (expected.get(op), actual.get(op)) {
            (Some(e), Some(a)) => {
                let keys: BTreeSet<&String> = e.keys().chain(a.keys()).collect();
                for key in keys {
                    let quoted = |w: &Written| {
                        w.condition_key(op, key).map_or_else(
                            || format!("{key}: none"),
                            |(k, v)| format!("{}: {v}", Value::from(k)),
                        )
                    };
                    match (e.get(key), a.get(key)) {
                        (Some(ev), Some(av)) if ev != av => {
                            let lost: Vec<_> = ev.difference(av).cloned().collect();
                            let added: Vec<_> = av.difference(ev).cloned().collect();
                            out.push(format!(
                                "Condition {op} {}: {}",
                                aw.condition_key_name(op, key),
                                missing_extra(&lost, &added)
                            ));
                        }
                        (Some(_), None) => out.push(only_in(
                            Side::Ours,
                            format!("Condition {op} {}", quoted(ew)),
                        )),
                        (None, Some(_)) => out.push(only_in(
                            Side::Theirs,
                            format!("Condition {op} {}", quoted(aw)),
                        )),
                        _ => {}
                    }
                }
            }
            (Some(_), None) => out.push(only_in(
                Side::Ours,
                format!("Condition {}", ew.condition_operator(op)),
            )),
            (None, Some(_)) => out.push(only_in(
                Side::Theirs,
                format!("Condition {}", aw.condition_operator(op)),
            )),
            (None, None) => {}
        }
    }
    out
}

/// `missing a, b; extra c`: what a set of values lost and gained.
fn missing_extra(lost: &[String], added: &[String]) -> String {
    let mut parts = Vec::new();
    if !lost.is_empty() {
        parts.push(format!("missing {}", lost.join(", ")));
    }
    if !added.is_empty() {
        parts.push(format!("extra {}", added.join(", ")));
    }
    parts.join("; ")
}

/// Which document has an element the other lacks.
enum Side {
    Ours,
    Theirs,
}

/// `quote` (an element as its document writes it) and which document alone has it.
fn only_in(side: Side, quote: String) -> String {
    match side {
        Side::Ours => format!("{quote} is missing from the account's copy"),
        Side::Theirs => format!("{quote} is only in the account's copy"),
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
                out.push(format!("changed statement {}: {l}", c.label()));
            }
        }
        for m in &self.missing {
            out.push(format!(
                "missing statement {}: {}",
                m.written.label(),
                m.written.quote()
            ));
        }
        for e in &self.extra {
            out.push(format!(
                "extra statement {}: {}",
                e.written.label(),
                e.written.quote()
            ));
        }
        out
    }
}

impl fmt::Display for PolicyDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}
