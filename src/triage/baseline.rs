//! Baselines: an earlier JSON report of a target (or a directory of them), against
//! which every failure is marked new or not, and the earlier failures that are now
//! fixed are listed, so that CI can fail only on what is new (`--fail-on new`).
//!
//! Findings are matched by id (see [`crate::rules::id`]); a report written before ids
//! existed has them recomputed from its own account, rule, check and resource. A
//! failure is new when the baseline has no failure with its id: a finding the baseline
//! could not decide (`error`) or did not have counts as new, so a baseline built on an
//! incomplete audit can only make more failures new, never fewer. Errors are never
//! "not new": they exit 3 whatever the baseline says.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::diff::Side;
use crate::rules::id::FindingId;
use crate::rules::{Finding, Status};

/// A failure of the baseline, as the report lists it once fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fixed {
    pub id: FindingId,
    pub rule: String,
    pub check: String,
    pub resource: String,
    pub resource_name: String,
    /// `pass` (it passes now) or `gone` (no such finding any more: the resource or the
    /// rule went away).
    pub now: &'static str,
}

/// One target's baseline report, reduced to what marking needs.
#[derive(Debug)]
pub struct TargetBaseline {
    pub path: PathBuf,
    pub account_id: Option<String>,
    /// Its failures, by id.
    failing: HashMap<FindingId, Fixed>,
    /// Whether it was fully audited (no error, no problem): otherwise some of its
    /// findings may be missing, which only makes more failures new.
    pub complete: bool,
}

/// `--baseline`: a report file, or a directory of `<target>.json` reports.
#[derive(Debug)]
pub enum Baseline {
    File(PathBuf),
    Dir(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: cannot read the baseline: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}:{line}:{column}: not a CloudKestrel JSON report: {reason}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error(
        "{path}: a report of schema_version {found}; this cloudkestrel reads schema_version 1"
    )]
    Schema { path: PathBuf, found: u64 },
    #[error("{path}: a report of target {found:?}, not {wanted:?}: give the baseline of the target evaluated (or a directory of reports)")]
    OtherTarget {
        path: PathBuf,
        found: String,
        wanted: String,
    },
}

impl Baseline {
    pub fn new(path: &Path) -> Baseline {
        if path.is_dir() {
            Baseline::Dir(path.to_path_buf())
        } else {
            Baseline::File(path.to_path_buf())
        }
    }

    /// The baseline of `target`: `None` when a directory has no report for it (every
    /// failure is then new). A file must be a report of that target.
    pub fn for_target(&self, target: &str) -> Result<Option<TargetBaseline>, BaselineError> {
        let path = match self {
            Baseline::File(p) => p.clone(),
            Baseline::Dir(d) => {
                let p = d.join(format!("{target}.json"));
                if !p.exists() {
                    return Ok(None);
                }
                p
            }
        };
        read(&path, target).map(Some)
    }
}

fn read(path: &Path, target: &str) -> Result<TargetBaseline, BaselineError> {
    let report = read_report(path)?;
    if report.target != target {
        return Err(BaselineError::OtherTarget {
            path: path.to_path_buf(),
            found: report.target,
            wanted: target.to_string(),
        });
    }
    let failing = report
        .results
        .into_iter()
        .filter(|r| r.status == "fail")
        .map(|r| {
            (
                r.id,
                Fixed {
                    id: r.id,
                    rule: r.rule,
                    check: r.check,
                    resource: r.resource,
                    resource_name: r.resource_name,
                    now: "gone",
                },
            )
        })
        .collect();
    Ok(TargetBaseline {
        path: path.to_path_buf(),
        account_id: report.account_id,
        complete: report.complete,
        failing,
    })
}

/// A JSON report as read back: its target, account, whether it was fully audited, and
/// its results.
#[derive(Debug)]
pub struct ReadReport {
    pub target: String,
    pub account_id: Option<String>,
    pub complete: bool,
    pub results: Vec<Side>,
}

#[derive(Deserialize)]
struct RawReport {
    schema_version: u64,
    target: String,
    account_id: Option<String>,
    summary: RawSummary,
    results: Vec<RawResult>,
    problems: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RawSummary {
    error: u64,
}

#[derive(Deserialize)]
struct RawResult {
    #[serde(default)]
    id: Option<String>,
    rule: String,
    check: String,
    resource: String,
    resource_name: String,
    status: String,
    message: String,
    #[serde(default)]
    aspect: Option<String>,
    #[serde(default)]
    suppressed: Option<serde::de::IgnoredAny>,
}

/// Reads a JSON report of any CloudKestrel version of schema 1: fields added since are
/// read where present (ids, written since they exist, are recomputed where absent).
pub fn read_report(path: &Path) -> Result<ReadReport, BaselineError> {
    let text = std::fs::read_to_string(path).map_err(|e| BaselineError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let raw: RawReport = serde_json::from_str(&text).map_err(|e| BaselineError::Invalid {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })?;
    if raw.schema_version != 1 {
        return Err(BaselineError::Schema {
            path: path.to_path_buf(),
            found: raw.schema_version,
        });
    }
    let account = raw.account_id.clone().unwrap_or_default();
    let mut results = Vec::with_capacity(raw.results.len());
    for r in raw.results {
        if !matches!(r.status.as_str(), "pass" | "fail" | "error") {
            return Err(BaselineError::Invalid {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                reason: format!("a result has the status {:?}", r.status),
            });
        }
        let id = match r.id.as_deref() {
            Some(id) => FindingId::parse(id).ok_or_else(|| BaselineError::Invalid {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                reason: format!("the result id {id:?} is not 32 hex digits"),
            })?,
            // A report from before ids: the same function of the same fields.
            None => FindingId::of(
                &account,
                &r.rule,
                &r.check,
                &r.resource,
                r.aspect.as_deref().unwrap_or_default(),
            ),
        };
        results.push(Side {
            id,
            rule: r.rule,
            check: r.check,
            resource: r.resource,
            resource_name: r.resource_name,
            status: r.status,
            message: r.message,
            suppressed: r.suppressed.is_some(),
        });
    }
    Ok(ReadReport {
        target: raw.target,
        account_id: raw.account_id,
        complete: raw.summary.error == 0 && raw.problems.is_empty(),
        results,
    })
}

/// Marks every failure of `results` new or not against `baseline` (all new without
/// one), and returns the baseline's failures that are fixed: passing now, or gone.
pub fn mark(results: &mut [Finding], baseline: Option<&TargetBaseline>) -> Vec<Fixed> {
    let Some(base) = baseline else {
        for f in results.iter_mut().filter(|f| f.status == Status::Fail) {
            f.new = Some(true);
        }
        return Vec::new();
    };
    let mut now: HashMap<FindingId, Status> = HashMap::with_capacity(results.len());
    for f in results.iter_mut() {
        now.insert(f.id, f.status);
        if f.status == Status::Fail {
            f.new = Some(!base.failing.contains_key(&f.id));
        }
    }
    let mut fixed: Vec<Fixed> = base
        .failing
        .values()
        .filter_map(|b| match now.get(&b.id) {
            None => Some(b.clone()),
            Some(Status::Pass) => Some(Fixed {
                now: "pass",
                ..b.clone()
            }),
            Some(_) => None,
        })
        .collect();
    fixed.sort_by(|a, b| {
        (&a.rule, &a.check, &a.resource_name, &a.resource).cmp(&(
            &b.rule,
            &b.check,
            &b.resource_name,
            &b.resource,
        ))
    });
    fixed
}
