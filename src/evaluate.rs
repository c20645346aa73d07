//! `evaluate`: snapshots + targets.json → reports per target: JSON and HTML by default,
//! SARIF and JUnit XML when asked ([`Formats`]), after triage (suppressions, baseline).
//!
//! Each snapshot is loaded, evaluated and written on its own rayon task, and dropped
//! before the next one, so memory stays bounded by the number of threads, not the
//! number of snapshots.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::model::Account;
use crate::report::{html, junit, sarif, TargetReport};
use crate::rules::{self, Check, Finding, Kind, Status};
use crate::snapshot;
use crate::targets::{Target, Targets};
use crate::triage::{FailOn, Triage};
use crate::Exit;

/// Which reports `evaluate` writes (`--format`; HTML and JSON by default). A report of
/// a format not asked for is removed if an earlier run left one for the same target, so
/// that a report directory never pairs a new report with a stale one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formats {
    pub json: bool,
    pub html: bool,
    /// `<target>.sarif` (SARIF 2.1.0).
    pub sarif: bool,
    /// `<target>.junit.xml`.
    pub junit: bool,
}

impl Formats {
    pub const BOTH: Formats = Formats {
        json: true,
        html: true,
        sarif: false,
        junit: false,
    };
}

impl Default for Formats {
    fn default() -> Self {
        Formats::BOTH
    }
}

/// One snapshot to evaluate for one target.
#[derive(Debug, Clone)]
pub struct Job {
    pub target: String,
    /// `None`: no snapshot was found for the target.
    pub snapshot: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Outcome {
    pub target: String,
    pub account_id: Option<String>,
    pub account_name: Option<String>,
    pub summary: crate::report::Summary,
    /// What the account's setup lacks, for the headline.
    pub account_setup: crate::report::headline::AccountHeadline,
    /// The worst results (errors, then failures), for the terminal summary.
    pub worst: Vec<Finding>,
    /// Collection problems recorded in the snapshot.
    pub problems: Vec<crate::model::Problem>,
    /// Files written (JSON, HTML, as asked for by [`Formats`]).
    pub written: Vec<PathBuf>,
    /// A problem that is not a finding (a report that could not be written).
    pub problem: Option<String>,
    /// What each suppression that applies to the target did (index in the file, use).
    pub suppression_uses: Vec<(usize, crate::triage::suppressions::Use)>,
    /// With a baseline: which, and how many of its failures are fixed.
    pub baseline: Option<crate::triage::BaselineSummary>,
    pub fixed: usize,
    pub exit: Exit,
}

/// The newest snapshot of `target` under `<dir>/<target>/`: the greatest file name
/// ending in `.sqlite` (names are UTC timestamps). Hidden files (temporary snapshots
/// being written) are skipped.
pub fn newest_snapshot(dir: &Path, target: &str) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir.join(target)).ok()?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension().is_some_and(|x| x == "sqlite")
                && p.file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        })
        .max()
}

/// The jobs for `evaluate` without snapshot paths: the newest snapshot of every target.
pub fn jobs_from_dir(targets: &Targets, dir: &Path) -> Vec<Job> {
    targets
        .targets
        .iter()
        .map(|t| Job {
            target: t.name.clone(),
            snapshot: newest_snapshot(dir, &t.name),
        })
        .collect()
}

/// Why the command line cannot be evaluated (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{path}: this snapshot is of target {target:?}, which {file} does not define (targets there: {known})")]
    UnknownTarget {
        path: PathBuf,
        target: String,
        file: PathBuf,
        known: String,
    },
    #[error("{first} and {second} are both snapshots of target {target:?}: give one snapshot per target")]
    Duplicate {
        target: String,
        first: PathBuf,
        second: PathBuf,
    },
}

/// The jobs for explicit snapshot paths. A snapshot that cannot even be opened becomes
/// an [`Unreadable`] entry (exit 3), not a usage error.
pub fn jobs_from_paths(
    targets: &Targets,
    paths: &[PathBuf],
) -> Result<(Vec<Job>, Vec<Unreadable>), PlanError> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut unreadable = Vec::new();
    for path in paths {
        match snapshot::peek_target(path) {
            Err(e) => unreadable.push(Unreadable {
                path: path.clone(),
                error: e.to_string(),
            }),
            Ok(target) => {
                // A name the file should not hold may be damage, which is exit 3 and
                // says so, not a usage error: the file is checked before it is blamed.
                let unknown = targets.get(&target).is_none();
                let first = jobs.iter().position(|j| j.target == target);
                if unknown || first.is_some() {
                    if let Err(e) = snapshot::read(path) {
                        unreadable.push(Unreadable {
                            path: path.clone(),
                            error: e.to_string(),
                        });
                        continue;
                    }
                }
                if unknown {
                    return Err(PlanError::UnknownTarget {
                        path: path.clone(),
                        target,
                        file: targets.file.clone(),
                        known: targets
                            .targets
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                if let Some(i) = first {
                    return Err(PlanError::Duplicate {
                        target,
                        first: jobs[i].snapshot.clone().unwrap_or_default(),
                        second: path.clone(),
                    });
                }
                jobs.push(Job {
                    target,
                    snapshot: Some(path.clone()),
                });
            }
        }
    }
    Ok((jobs, unreadable))
}

/// A snapshot given on the command line that could not be opened to learn its target.
#[derive(Debug)]
pub struct Unreadable {
    pub path: PathBuf,
    pub error: String,
}

/// One `error` result per configured rule: used when there is no usable snapshot.
fn whole_target_errors(target: &Target, resource: &str, message: &str) -> Vec<Finding> {
    target
        .rules
        .iter()
        .map(|spec| {
            let meta = spec.rule.meta();
            Finding::new(
                meta.name,
                match meta.kind {
                    Kind::Policy => Check::PolicyDocument,
                    Kind::Config => Check::Deployed,
                    Kind::Setup => Check::Setup,
                },
                resource,
                resource,
                Status::Error,
                spec.severity(),
                message,
            )
        })
        .collect()
}

/// Evaluates a loaded account against a target's rules.
pub fn evaluate_account(target: &Target, account: &Account, snapshot: &str) -> TargetReport {
    let results = rules::evaluate(account, &target.rules);
    let mut report = TargetReport::new(
        target.name.clone(),
        Some(account.metadata.account_id.clone()),
        Some(account.metadata.collected_at),
        snapshot.to_string(),
        results,
        account.problems.clone(),
        &rule_order(target),
    );
    report.account_name = account.metadata.account_name.clone();
    report
}

fn rule_order(target: &Target) -> Vec<&'static str> {
    target.rules.iter().map(|r| r.rule.meta().name).collect()
}

fn build_report(target: &Target, job: &Job) -> TargetReport {
    let Some(path) = &job.snapshot else {
        let msg = format!(
            "no snapshot of target {} was found: run `cloudkestrel collect` first",
            target.name
        );
        return TargetReport::new(
            target.name.clone(),
            None,
            None,
            String::new(),
            whole_target_errors(target, "snapshot", &msg),
            Vec::new(),
            &rule_order(target),
        );
    };
    let shown = path.display().to_string();
    match snapshot::read(path) {
        Ok(account) if account.metadata.target != target.name => {
            let msg = format!(
                "{shown} is a snapshot of target {:?}, not {:?}: refusing to report one account as another",
                account.metadata.target, target.name
            );
            TargetReport::new(
                target.name.clone(),
                Some(account.metadata.account_id.clone()),
                Some(account.metadata.collected_at),
                shown.clone(),
                whole_target_errors(target, &shown, &msg),
                Vec::new(),
                &rule_order(target),
            )
        }
        Ok(account) => evaluate_account(target, &account, &shown),
        Err(e) => TargetReport::new(
            target.name.clone(),
            None,
            None,
            shown.clone(),
            whole_target_errors(target, &shown, &format!("unreadable snapshot: {e}")),
            Vec::new(),
            &rule_order(target),
        ),
    }
}

/// A target's exit code: 3 when not fully audited (whatever triage says), 1 when a
/// failure no suppression accepts counts (every one, or with `--fail-on new` the new
/// ones), 0 otherwise.
fn exit_of(report: &TargetReport, fail_on: FailOn) -> Exit {
    // With --fail-on new, a failure whose suppression expired counts too: its
    // acceptance ran out, which is what the expiry is for.
    let counts = |f: &Finding| {
        f.unsuppressed_failure()
            && (fail_on == FailOn::Any || f.new != Some(false) || f.expired_suppression.is_some())
    };
    if !report.fully_audited() {
        Exit::Incomplete
    } else if report.results.iter().any(counts) {
        Exit::Fail
    } else {
        Exit::Pass
    }
}

/// Writes the reports `formats` asks for, `<report_dir>/<target>.json`, `.html`,
/// `.sarif` and `.junit.xml`, then removes this target's report of a format not asked
/// for. If anything fails, the target's reports are removed (as far as possible)
/// before the error is returned: a report directory holds this run's reports or none,
/// never one beside an earlier one.
fn write_reports(
    report: &TargetReport,
    report_dir: &Path,
    formats: Formats,
    rule_order: &[&'static str],
) -> Result<Vec<PathBuf>, String> {
    // Each report is made in memory, then written in one call: writing the JSON through
    // a BufWriter cost a capacity check and a copy call per piece, twice what a Vec's
    // appends cost (issue 5). The buffers are kept per thread: a new pair of megabytes
    // for every account left the allocator holding more and more memory.
    thread_local! {
        static BUFFERS: std::cell::RefCell<(Vec<u8>, String)> = Default::default();
    }
    let path = |ext: &str| report_dir.join(format!("{}.{ext}", report.target));
    let (json, html_path, sarif_path, junit_path) =
        (path("json"), path("html"), path("sarif"), path("junit.xml"));
    let shown = |p: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", p.display());
    let mut written = Vec::with_capacity(4);
    let result = BUFFERS.with(|buffers| {
        let (json_buf, html_buf) = &mut *buffers.borrow_mut();
        if formats.json {
            report.json_into(json_buf);
            std::fs::write(&json, &json_buf[..]).map_err(|e| shown(&json, &e))?;
            written.push(json.clone());
        }
        if formats.html {
            html::render_into(report, html_buf).map_err(|e| shown(&html_path, &e))?;
            std::fs::write(&html_path, html_buf.as_bytes()).map_err(|e| shown(&html_path, &e))?;
            written.push(html_path.clone());
        }
        if formats.sarif {
            let text = sarif::to_json(report, rule_order).map_err(|e| shown(&sarif_path, &e))?;
            std::fs::write(&sarif_path, text).map_err(|e| shown(&sarif_path, &e))?;
            written.push(sarif_path.clone());
        }
        if formats.junit {
            let text = junit::to_xml(report, rule_order).map_err(|e| shown(&junit_path, &e))?;
            std::fs::write(&junit_path, text).map_err(|e| shown(&junit_path, &e))?;
            written.push(junit_path.clone());
        }
        for (wanted, path) in [
            (formats.json, &json),
            (formats.html, &html_path),
            (formats.sarif, &sarif_path),
            (formats.junit, &junit_path),
        ] {
            if !wanted {
                remove_stale(path).map_err(|e| shown(path, &e))?;
            }
        }
        Ok::<(), String>(())
    });
    match result {
        Ok(()) => Ok(written),
        Err(e) => {
            // Best effort: what cannot be removed here is named in the error already
            // or was never written.
            for p in [&json, &html_path, &sarif_path, &junit_path] {
                let _ = remove_stale(p);
            }
            Err(e)
        }
    }
}

/// Removes a report an earlier run left in a format not written this time.
fn remove_stale(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// How many of the worst results the terminal summary shows per target.
pub const WORST_SHOWN: usize = 5;

/// Evaluates every job in parallel, applies `triage` and writes the reports. Outcomes
/// are sorted by target, so output is the same run to run.
pub fn run(
    targets: &Targets,
    jobs: &[Job],
    report_dir: &Path,
    formats: Formats,
    triage: &Triage,
) -> Vec<Outcome> {
    // Made once; a directory that cannot be made shows as every target's write error.
    let dir_error = std::fs::create_dir_all(report_dir)
        .err()
        .map(|e| format!("{}: {e}", report_dir.display()));
    let mut outcomes: Vec<Outcome> = jobs
        .par_iter()
        .filter_map(|job| {
            let target = targets.get(&job.target)?;
            let mut report = build_report(target, job);
            let suppression_uses = triage.apply(&mut report);
            let mut exit = exit_of(&report, triage.fail_on);
            let result = match &dir_error {
                Some(e) => Err(e.clone()),
                None => write_reports(&report, report_dir, formats, &rule_order(target)),
            };
            let (written, problem) = match result {
                Ok(w) => (w, None),
                Err(e) => {
                    exit = exit.worst(Exit::Incomplete);
                    (Vec::new(), Some(format!("cannot write the report: {e}")))
                }
            };
            Some(Outcome {
                target: job.target.clone(),
                account_id: report.account_id.clone(),
                account_name: report.account_name.clone(),
                summary: report.summary,
                account_setup: crate::report::headline::AccountHeadline::of(&report),
                worst: report.worst(WORST_SHOWN).into_iter().cloned().collect(),
                problems: report.problems.clone(),
                written,
                problem,
                exit,
                suppression_uses,
                baseline: report.baseline.clone(),
                fixed: report.fixed.as_ref().map_or(0, Vec::len),
            })
        })
        .collect();
    outcomes.sort_by(|a, b| a.target.cmp(&b.target));
    outcomes
}
