//! Reports: the JSON contract (`schema_version` 1) and the self-contained HTML page.

pub mod headline;
pub mod html;
pub mod index;
mod json;
pub mod junit;
pub mod sarif;
mod summary;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use crate::model::Problem;
use crate::rules::id::{FindingId, IdPrefix};
use crate::rules::{Check, Finding, Status};
pub use summary::{Summary, Tally};

pub const SCHEMA_VERSION: u32 = 1;

fn rfc3339<S: Serializer>(d: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&d.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        None => s.serialize_none(),
    }
}

/// The report of one target: what the JSON file holds, field for field.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub schema_version: u32,
    pub target: String,
    /// `null` when the snapshot could not be read.
    pub account_id: Option<String>,
    /// The account's name in its organization (members of an Organization entry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub collected_at: Option<DateTime<Utc>>,
    /// The snapshot file evaluated, as given or found.
    pub snapshot: String,
    pub summary: Summary,
    pub results: Vec<Finding>,
    /// Everything collect could not read, as recorded in the snapshot. Any entry here
    /// means the target was not fully audited (exit 3), even when no configured rule
    /// needed that data.
    pub problems: Vec<Problem>,
    /// With a suppressions file: the suppressions that expired or went unused here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressions: Option<crate::triage::SuppressionsSummary>,
    /// With `--baseline`: which baseline, and the failures of it fixed now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::triage::BaselineSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<Vec<crate::triage::baseline::Fixed>>,
}

impl TargetReport {
    /// Sorts results so that output is identical run to run: by rule (in targets.json
    /// order), then check, then resource name and resource.
    pub fn new(
        target: String,
        account_id: Option<String>,
        collected_at: Option<DateTime<Utc>>,
        snapshot: String,
        mut results: Vec<Finding>,
        problems: Vec<Problem>,
        rule_order: &[&str],
    ) -> Self {
        sort_results(&mut results, rule_order);
        let account = account_id.as_deref().unwrap_or_default();
        let mut prefix: Option<(&str, Check, IdPrefix)> = None;
        for r in &mut results {
            let same = prefix
                .as_ref()
                .is_some_and(|(rule, check, _)| *rule == r.rule && *check == r.check);
            if !same {
                prefix = Some((
                    r.rule,
                    r.check,
                    IdPrefix::new(account, r.rule, r.check.as_str()),
                ));
            }
            let (_, _, p) = prefix.as_ref().expect("set just above");
            r.id = p.id(&r.resource, r.aspect.unwrap_or_default());
            // Made once for all the results that follow from it.
            if let Some(c) = &r.cause {
                c.id_or(|| FindingId::of(account, r.rule, c.check.as_str(), &c.resource, ""));
            }
        }
        TargetReport {
            schema_version: SCHEMA_VERSION,
            target,
            account_id,
            account_name: None,
            collected_at,
            snapshot,
            summary: Summary::of(&results),
            results,
            problems,
            suppressions: None,
            baseline: None,
            fixed: None,
        }
    }

    /// Whether every configured check could be decided from complete data.
    pub fn fully_audited(&self) -> bool {
        self.summary.total.error == 0 && self.problems.is_empty()
    }

    /// The worst results, at most `n`: errors, then failures no suppression accepts,
    /// new ones first, about resources before the account's setup, the most severe
    /// first. Failures that follow from another are left out: that one is listed.
    pub fn worst(&self, n: usize) -> Vec<&Finding> {
        let mut bad: Vec<&Finding> = self
            .results
            .iter()
            .filter(|r| {
                r.status == Status::Error || (r.unsuppressed_failure() && r.cause.is_none())
            })
            .collect();
        bad.sort_by_key(|r| (r.status, r.new != Some(true), r.scope, r.severity));
        bad.truncate(n);
        bad
    }
}

#[cfg(test)]
impl TargetReport {
    /// A report of target `t` in account 123456789012 with these results, its rules in
    /// the order of their first results: for tests of what is made of reports.
    pub(crate) fn of_results(results: Vec<Finding>) -> Self {
        let mut rules: Vec<&'static str> = results.iter().map(|r| r.rule).collect();
        rules.dedup();
        TargetReport::of_results_in(results, &rules)
    }

    /// The same, its rules in `rule_order`.
    pub(crate) fn of_results_in(results: Vec<Finding>, rule_order: &[&str]) -> Self {
        TargetReport::new(
            "t".into(),
            Some("123456789012".into()),
            None,
            "s.sqlite".into(),
            results,
            Vec::new(),
            rule_order,
        )
    }
}

/// Sorts results by rule (in `rule_order`; unknown rules last, by name), then check,
/// resource name and resource. `rules::evaluate` emits each rule's results together,
/// in targets.json order: then only each rule's own results need sorting, which
/// spares looking up every result's rule position in every comparison (that lookup
/// was most of the sort, a twentieth of `evaluate` at scale). Anything else gets the
/// full sort; both give the same order.
fn sort_results(results: &mut [Finding], rule_order: &[&str]) {
    let pos = |r: &str| {
        rule_order
            .iter()
            .position(|x| *x == r)
            .unwrap_or(usize::MAX)
    };
    let within = |a: &Finding, b: &Finding| {
        (a.check, &a.resource_name, &a.resource).cmp(&(b.check, &b.resource_name, &b.resource))
    };
    let mut last: Option<(&str, usize)> = None;
    let grouped = results.iter().all(|f| {
        let p = match last {
            Some((rule, _)) if rule == f.rule => return true,
            _ => pos(f.rule),
        };
        // A new rule must come strictly later in rule order (unknown rules never
        // count as grouped: they sort among themselves by name).
        let ok = p != usize::MAX && last.is_none_or(|(_, q)| p > q);
        last = Some((f.rule, p));
        ok
    });
    if grouped {
        for chunk in results.chunk_by_mut(|a, b| a.rule == b.rule) {
            chunk.sort_by(within);
        }
    } else {
        results.sort_by(|a, b| {
            (pos(a.rule), a.rule)
                .cmp(&(pos(b.rule), b.rule))
                .then_with(|| within(a, b))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Check;

    fn finding(rule: &'static str, check: Check, name: &str, n: usize) -> Finding {
        Finding::new(
            rule,
            check,
            format!("arn:{name}:{n}"),
            name,
            Status::Pass,
            crate::rules::Severity::Low,
            format!("#{n}"),
        )
    }

    /// The grouped fast path and the full sort give the same order, on grouped input
    /// and on every kind of input that is not (rules out of order, split, unknown).
    #[test]
    fn sort_results_equals_the_full_sort() {
        let order = ["B", "A", "C"];
        let full = |v: &mut Vec<Finding>| {
            let pos = |r: &str| order.iter().position(|x| *x == r).unwrap_or(usize::MAX);
            v.sort_by(|a, b| {
                (pos(a.rule), a.rule, a.check, &a.resource_name, &a.resource).cmp(&(
                    pos(b.rule),
                    b.rule,
                    b.check,
                    &b.resource_name,
                    &b.resource,
                ))
            });
        };
        let names = ["zed", "amy", "bob", "amy", "Bob", ""];
        let checks = [Check::Local, Check::Deployed, Check::AwsConfig];
        let layouts: [&[&'static str]; 7] = [
            &["B", "A", "C"],
            &["B", "C"],
            &["A", "B"],
            &["B", "A", "B"],
            &["B", "Z", "A"],
            &["Y", "X"],
            &["C", "A", "B"],
        ];
        for layout in layouts {
            let mut v = Vec::new();
            let mut n = 0;
            for rule in layout {
                for (i, name) in names.iter().enumerate() {
                    n += 1;
                    v.push(finding(rule, checks[(i + n) % 3], name, n % 4));
                }
            }
            let mut expected = v.clone();
            full(&mut expected);
            sort_results(&mut v, &order);
            assert_eq!(v, expected, "{layout:?}");
        }
    }
}
