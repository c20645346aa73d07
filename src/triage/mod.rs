//! Triage: what a team decided about findings, applied after the rules and before the
//! reports. Rules stay pure verdicts; triage never changes a status: a suppressed
//! failure is still a `fail`, marked with the suppression that accepts it, and an
//! `error` is never suppressed nor "not new".

pub mod baseline;
pub mod diff;
pub mod suppressions;

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;

use crate::report::{Summary, TargetReport};
use baseline::{Fixed, TargetBaseline};
use suppressions::{Suppressions, Use};

/// When a run exits 1 (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// A failure no suppression accepts (the default).
    #[default]
    Any,
    /// A failure no suppression accepts and the baseline does not have.
    New,
}

/// Everything triage applies to a run's reports.
#[derive(Debug, Default)]
pub struct Triage {
    pub suppressions: Option<Suppressions>,
    /// `--baseline`, and each evaluated target's baseline report, read before anything
    /// is evaluated (a bad one is bad input). `None` for a target: none in the directory.
    pub baseline: Option<(PathBuf, HashMap<String, Option<TargetBaseline>>)>,
    /// The date suppressions expire against (UTC).
    pub today: NaiveDate,
    pub fail_on: FailOn,
}

/// One suppression as a report lists it when it expired or went unused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuppressionEntry {
    /// Its position in the file (0-based) and its line there.
    pub index: usize,
    pub line: usize,
    pub rule: String,
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<&'static str>,
    pub reason: String,
    pub expires: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Failures of this target it matches.
    pub matched: usize,
}

/// What the suppressions file did in one report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuppressionsSummary {
    pub file: String,
    /// Suppressions past their date that apply to this target: the failures they match
    /// fail again.
    pub expired: Vec<SuppressionEntry>,
    /// Suppressions in force that apply to this target and matched no failure of it.
    pub unused: Vec<SuppressionEntry>,
}

/// The baseline a report was compared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaselineSummary {
    /// The baseline report file (or the directory it was looked for in).
    pub file: String,
    /// Whether the baseline had a report of this target (else every failure is new).
    pub found: bool,
    /// Whether that report was fully audited (else more failures may count as new).
    pub complete: bool,
}

impl Triage {
    /// Applies suppressions and the baseline to one report; returns what each
    /// suppression did, for the run's summary across targets.
    pub fn apply(&self, report: &mut TargetReport) -> Vec<(usize, Use)> {
        let mut uses = Vec::new();
        if let Some(s) = &self.suppressions {
            uses = s.apply(&report.target, &mut report.results, self.today);
            let entry = |i: usize, u: &Use| {
                let x = &s.list[i];
                SuppressionEntry {
                    index: x.index,
                    line: x.line,
                    rule: x.rule.unwrap_or("*").to_string(),
                    resource: x.resource.clone(),
                    check: x.check.map(|c| c.as_str()),
                    reason: x.applied.reason.clone(),
                    expires: x.applied.expires.format("%Y-%m-%d").to_string(),
                    owner: x.applied.owner.clone(),
                    matched: u.matched,
                }
            };
            report.suppressions = Some(SuppressionsSummary {
                file: s.file.display().to_string(),
                expired: uses
                    .iter()
                    .filter(|(i, _)| s.list[*i].expired(self.today))
                    .map(|(i, u)| entry(*i, u))
                    .collect(),
                unused: uses
                    .iter()
                    .filter(|(i, u)| u.matched == 0 && !s.list[*i].expired(self.today))
                    .map(|(i, u)| entry(*i, u))
                    .collect(),
            });
        }
        if let Some((path, per_target)) = &self.baseline {
            let base = per_target.get(&report.target).and_then(Option::as_ref);
            let fixed: Vec<Fixed> = baseline::mark(&mut report.results, base);
            report.baseline = Some(BaselineSummary {
                file: base
                    .map(|b| b.path.display().to_string())
                    .unwrap_or_else(|| path.display().to_string()),
                found: base.is_some(),
                complete: base.is_some_and(|b| b.complete),
            });
            report.fixed = Some(fixed);
        }
        report.summary = Summary::of(&report.results);
        uses
    }
}
