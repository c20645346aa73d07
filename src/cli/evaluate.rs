//! `evaluate`: the reports of snapshots, triage (suppressions, baseline) and the
//! terminal summary. `audit` ends here too.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use cloudkestrel::triage::baseline::Baseline;
use cloudkestrel::triage::suppressions::{self, Suppressions};
use cloudkestrel::triage::{FailOn, Triage};
use cloudkestrel::untrusted::Escaped;
use cloudkestrel::{evaluate as eval, targets, Exit};

use cloudkestrel::targets::shard::Shard;

use super::selection::{offline_members, Discovery};
use super::{fail, FailOnArg, ReportArgs};

pub fn run(
    paths: &[PathBuf],
    targets_file: &Path,
    snapshot_dir: &Path,
    shard: Option<Shard>,
    reports: &ReportArgs,
) -> Exit {
    let mut targets = match targets::load(targets_file) {
        Ok(t) => t,
        Err(e) => return fail(Exit::Usage, e),
    };
    // Organization entries, offline: the accounts their records list (or that have
    // snapshot directories); for snapshot files, the accounts they are of.
    let (members_exit, discoveries) = if paths.is_empty() {
        offline_members(&mut targets, snapshot_dir)
    } else {
        let names: Vec<String> = paths
            .iter()
            .filter_map(|p| cloudkestrel::snapshot::peek_target(p).ok())
            .collect();
        targets.add_members(names.iter().map(String::as_str));
        (Exit::Pass, Vec::new())
    };
    let (mut jobs, unreadable) = if paths.is_empty() {
        (eval::jobs_from_dir(&targets, snapshot_dir), Vec::new())
    } else {
        match eval::jobs_from_paths(&targets, paths) {
            Ok(x) => x,
            Err(e) => return fail(Exit::Usage, e),
        }
    };
    if let Some(s) = shard {
        jobs.retain(|j| targets.get(&j.target).is_some_and(|t| s.keeps(t)));
    }
    let names: Vec<&str> = jobs.iter().map(|j| j.target.as_str()).collect();
    let triage = match load_triage(&targets, reports, &names) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let mut exit = report_outcomes(
        &eval::run(
            &targets,
            &jobs,
            &reports.report_dir,
            reports.formats(),
            &triage,
        ),
        &triage,
        &reports.report_dir,
        &discoveries,
    )
    .worst(members_exit);
    for u in &unreadable {
        exit = exit.worst(Exit::Incomplete);
        tell!(
            "error: {}",
            Escaped(format_args!(
                "{}: cannot evaluate: {}",
                u.path.display(),
                u.error
            ))
        );
    }
    exit
}

/// The triage of a run, from the command line: every file read and checked before
/// anything is evaluated (a bad one is exit 2 and nothing is evaluated). `evaluated`:
/// the targets whose baselines are needed.
pub fn load_triage(
    targets: &targets::Targets,
    args: &ReportArgs,
    evaluated: &[&str],
) -> Result<Triage, Exit> {
    let file = match &args.suppressions {
        Some(f) => Some(f.clone()),
        None => Some(Suppressions::default_path(&targets.file)).filter(|f| f.is_file()),
    };
    let suppressions = match file {
        None => None,
        Some(f) => Some(suppressions::load(&f, targets).map_err(|e| fail(Exit::Usage, e))?),
    };
    let fail_on = match args.fail_on {
        FailOnArg::Any => FailOn::Any,
        FailOnArg::New if args.baseline.is_none() => {
            return Err(fail(
                Exit::Usage,
                "--fail-on new needs --baseline (an earlier JSON report, or a directory of them): without one every failure is new",
            ))
        }
        FailOnArg::New => FailOn::New,
    };
    let baseline = match &args.baseline {
        None => None,
        Some(path) => {
            if !path.exists() {
                return Err(fail(
                    Exit::Usage,
                    format!("--baseline {}: no such file or directory", path.display()),
                ));
            }
            let b = Baseline::new(path);
            let mut per_target = HashMap::new();
            for t in evaluated {
                let found = b.for_target(t).map_err(|e| fail(Exit::Usage, e))?;
                per_target.insert(t.to_string(), found);
            }
            Some((path.clone(), per_target))
        }
    };
    Ok(Triage {
        suppressions,
        baseline,
        today: chrono::Utc::now().date_naive(),
        fail_on,
    })
}

/// Prints the terminal summary of an evaluation, then what triage has to say across
/// targets (expired and unused suppressions), and for more than one target writes the
/// summary files (`index.html`, `summary.json`) and, for many, the table of the worst;
/// returns the combined exit code.
pub fn report_outcomes(
    outcomes: &[eval::Outcome],
    triage: &Triage,
    report_dir: &Path,
    discoveries: &[Discovery],
) -> Exit {
    let mut exit = if outcomes.len() > super::collect::MANY {
        print_compact(outcomes)
    } else {
        print_outcomes(outcomes)
    };
    if outcomes.len() > 1 || !discoveries.is_empty() {
        exit = exit.worst(write_summary(outcomes, report_dir, discoveries));
    }
    let Some(s) = &triage.suppressions else {
        return exit;
    };
    // Per suppression: whether it applied to any evaluated target, and the failures it
    // matched in each.
    let mut matched: BTreeMap<usize, (bool, usize)> = BTreeMap::new();
    for o in outcomes {
        for (i, u) in &o.suppression_uses {
            let e = matched.entry(*i).or_default();
            e.0 = true;
            e.1 += u.matched;
        }
    }
    let file = s.file.display();
    for x in &s.list {
        let (applied, count) = matched.get(&x.index).copied().unwrap_or_default();
        let what = format!(
            "the suppression of {} on {}{}",
            x.rule.unwrap_or("every rule"),
            x.resource,
            x.check
                .map(|c| format!(" ({})", c.as_str()))
                .unwrap_or_default()
        );
        if x.expired(triage.today) {
            tell!(
                "warning: {}",
                Escaped(format_args!(
                    "{file}:{}: {what} expired on {} ({}): {count} failure(s) it matches fail again",
                    x.line,
                    x.applied.expires.format("%Y-%m-%d"),
                    x.applied.reason
                ))
            );
        } else if applied && count == 0 {
            tell!(
                "note: {}",
                Escaped(format_args!(
                    "{file}:{}: {what} matched no failure of the targets evaluated: remove it, or check its Rule, Resource and Targets",
                    x.line
                ))
            );
        }
    }
    exit
}

/// Prints the terminal summary of an evaluation; returns the combined exit code. Names,
/// messages and problems come from the account: escaped for the terminal.
pub fn print_outcomes(outcomes: &[eval::Outcome]) -> Exit {
    let mut exit = Exit::Pass;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for o in outcomes {
        exit = exit.worst(o.exit);
        let _ = writeln!(
            out,
            "{:<8} {}: {}{}",
            match o.exit {
                Exit::Pass => "PASS",
                Exit::Fail => "FAIL",
                _ => "ERROR",
            },
            Escaped(&o.target),
            Escaped(headline(o)),
            o.written
                .iter()
                .find(|p| p.extension().is_some_and(|x| x == "html"))
                .or_else(|| o.written.first())
                .map(|p| format!("  → {}", Escaped(p.display())))
                .unwrap_or_default()
        );
        for f in &o.worst {
            let status = match (f.status.as_str(), f.new) {
                ("fail", Some(true)) => "fail (new)",
                (s, _) => s,
            };
            let _ = writeln!(
                out,
                "    {:<5} {} [{}] {}: {}",
                status,
                f.rule,
                f.check.as_str(),
                Escaped(&f.resource_name),
                Escaped(&f.message)
            );
        }
        let s = o.summary.total;
        let shown = o.worst.len();
        let bad = s.to_fix() + s.error - o.account_setup.following;
        if bad > shown {
            let _ = writeln!(out, "    … and {} more, see the report", bad - shown);
        }
        if let Some(b) = &o.baseline {
            let _ = if b.found {
                writeln!(
                    out,
                    "    baseline {}: {} new failure(s), {} fixed{}",
                    Escaped(&b.file),
                    s.new.unwrap_or_default(),
                    o.fixed,
                    if b.complete {
                        ""
                    } else {
                        " (the baseline was not fully audited: failures it could not decide count as new)"
                    }
                )
            } else {
                writeln!(
                    out,
                    "    baseline: no report of {} in {}: every failure counts as new",
                    Escaped(&o.target),
                    Escaped(&b.file)
                )
            };
        }
        for p in &o.problems {
            let _ = writeln!(out, "    collection problem: {}", Escaped(p));
        }
        if let Some(p) = &o.problem {
            tell!("error: {}: {}", Escaped(&o.target), Escaped(p));
        }
    }
    exit
}

/// A target's headline: the failures about resources (suppressed and new ones among
/// them), passes and errors, then what the account's setup lacks, in words: "17
/// resource findings (1 suppressed), 33 pass; account: Force_MFA missing (500 users not
/// covered), 6 rules not deployed". Errors show in the half they are in.
fn headline(o: &eval::Outcome) -> String {
    let r = o.summary.resource;
    let mut triaged = Vec::new();
    if r.suppressed > 0 {
        triaged.push(format!("{} suppressed", r.suppressed));
    }
    if let Some(n) = r.new {
        triaged.push(format!("{n} new"));
    }
    let triaged = if triaged.is_empty() {
        String::new()
    } else {
        format!(" ({})", triaged.join(", "))
    };
    let errors = match r.error {
        0 => String::new(),
        1 => ", 1 error".into(),
        n => format!(", {n} errors"),
    };
    format!(
        "{} resource finding{}{triaged}, {} pass{errors}; account: {}",
        r.fail,
        if r.fail == 1 { "" } else { "s" },
        r.pass,
        o.account_setup.words()
    )
}

/// Many targets: one line per target that failed or is in error, then the ten with the
/// most failures no suppression accepts, and every target in error.
fn print_compact(outcomes: &[eval::Outcome]) -> Exit {
    let mut exit = Exit::Pass;
    let (mut pass, mut fail, mut error) = (0, 0, 0);
    for o in outcomes {
        exit = exit.worst(o.exit);
        match o.exit {
            Exit::Pass => pass += 1,
            Exit::Fail => fail += 1,
            _ => error += 1,
        }
        if let Some(p) = &o.problem {
            tell!("error: {}: {}", Escaped(&o.target), Escaped(p));
        }
    }
    let about_resources = outcomes
        .iter()
        .filter(|o| matches!(o.exit, Exit::Fail) && o.summary.resource.to_fix() > 0)
        .count();
    say!(
        "{} targets: {pass} passed, {fail} with findings ({about_resources} about resources, the others only about the account's setup), {error} not fully audited",
        outcomes.len()
    );
    // The most findings about resources first; then the most to do in the setup.
    let mut worst: Vec<&eval::Outcome> = outcomes
        .iter()
        .filter(|o| o.summary.total.to_fix() > 0)
        .collect();
    worst.sort_by_key(|o| {
        (
            std::cmp::Reverse(o.summary.resource.to_fix()),
            std::cmp::Reverse(o.account_setup.items().len()),
        )
    });
    if !worst.is_empty() {
        say!("most findings:");
        for o in worst.iter().take(10) {
            say!(
                "  {:<40} {:>5} resource findings{}; account: {}  {}",
                Escaped(&o.target).to_string(),
                o.summary.resource.to_fix(),
                o.summary
                    .resource
                    .new
                    .map(|n| format!(" ({n} new)"))
                    .unwrap_or_default(),
                Escaped(o.account_setup.words()),
                Escaped(o.account_name.as_deref().unwrap_or(""))
            );
        }
    }
    let in_error: Vec<&eval::Outcome> = outcomes
        .iter()
        .filter(|o| !matches!(o.exit, Exit::Pass | Exit::Fail))
        .collect();
    if !in_error.is_empty() {
        say!("not fully audited (see each report):");
        for o in in_error {
            let why = o
                .problems
                .first()
                .map(|p| p.to_string())
                .or_else(|| o.problem.clone())
                .unwrap_or_else(|| format!("{} error result(s)", o.summary.total.error));
            say!("  {:<40} {}", Escaped(&o.target).to_string(), Escaped(why));
        }
    }
    exit
}

/// Writes `index.html` and `summary.json` for the run; a write error is exit 3.
fn write_summary(outcomes: &[eval::Outcome], dir: &Path, discoveries: &[Discovery]) -> Exit {
    match cloudkestrel::report::index::write(dir, &summary_rows(outcomes), &entries(discoveries)) {
        Ok(_) => Exit::Pass,
        Err(e) => {
            tell!(
                "error: {}",
                Escaped(format_args!("cannot write the summary: {e}"))
            );
            Exit::Incomplete
        }
    }
}

fn summary_rows(outcomes: &[eval::Outcome]) -> Vec<cloudkestrel::report::index::Row> {
    outcomes
        .iter()
        .map(|o| cloudkestrel::report::index::Row {
            target: o.target.clone(),
            account_id: o.account_id.clone(),
            account_name: o.account_name.clone(),
            status: match o.exit {
                Exit::Pass => "pass",
                Exit::Fail => "fail",
                _ => "error",
            },
            summary: o.summary,
            account_setup: o.account_setup.words(),
            problems: o.problems.len() + usize::from(o.problem.is_some()),
            reports: o
                .written
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect(),
        })
        .collect()
}

fn entries(discoveries: &[Discovery]) -> Vec<cloudkestrel::report::index::Entry> {
    discoveries
        .iter()
        .map(|d| cloudkestrel::report::index::Entry {
            entry: d.entry.clone(),
            error: d.result.as_ref().err().map(|p| p.to_string()),
            skipped: d
                .result
                .as_ref()
                .map(|r| {
                    r.skipped
                        .iter()
                        .map(|a| cloudkestrel::report::index::Skipped {
                            account_id: a.id.clone(),
                            account_name: a.name.clone(),
                            state: a.state.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            missing: d
                .result
                .as_ref()
                .map(|r| r.missing.clone())
                .unwrap_or_default(),
        })
        .collect()
}
