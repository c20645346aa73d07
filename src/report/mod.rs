//! Reports: the JSON contract (`schema_version` 1) and the self-contained HTML page.

pub mod html;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use crate::model::Problem;
use crate::rules::{Finding, Status};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
}

impl Summary {
    pub fn of(results: &[Finding]) -> Self {
        let mut s = Summary::default();
        for r in results {
            match r.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Error => s.error += 1,
            }
        }
        s
    }
}

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
        let pos = |r: &str| {
            rule_order
                .iter()
                .position(|x| *x == r)
                .unwrap_or(usize::MAX)
        };
        results.sort_by(|a, b| {
            (
                pos(&a.rule),
                &a.rule,
                a.check,
                &a.resource_name,
                &a.resource,
            )
                .cmp(&(
                    pos(&b.rule),
                    &b.rule,
                    b.check,
                    &b.resource_name,
                    &b.resource,
                ))
        });
        TargetReport {
            schema_version: SCHEMA_VERSION,
            target,
            account_id,
            collected_at,
            snapshot,
            summary: Summary::of(&results),
            results,
            problems,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("reports always serialise");
        s.push('\n');
        s
    }

    /// Whether every configured check could be decided from complete data.
    pub fn fully_audited(&self) -> bool {
        self.summary.error == 0 && self.problems.is_empty()
    }

    /// The worst results: errors, then failures, at most `n`.
    pub fn worst(&self, n: usize) -> Vec<&Finding> {
        let mut bad: Vec<&Finding> = self
            .results
            .iter()
            .filter(|r| r.status != Status::Pass)
            .collect();
        bad.sort_by_key(|r| r.status);
        bad.truncate(n);
        bad
    }
}
