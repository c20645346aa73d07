//! `collect` and `audit`: read the targets into snapshots (and evaluate them).

use cloudkestrel::collect::{self, Collected, Connection};
use cloudkestrel::untrusted::Escaped;
use cloudkestrel::{evaluate as eval, interrupt, snapshot, targets, Exit};

use super::{fail, init_logging, runtime, select, CollectArgs, ReportArgs};

pub fn run(args: &CollectArgs, reports: Option<&ReportArgs>) -> Exit {
    init_logging(args.quiet, args.verbose);
    let targets = match targets::load(&args.targets) {
        Ok(t) => t,
        Err(e) => return fail(Exit::Usage, e),
    };
    let selected = match select(&targets, &args.only) {
        Ok(s) => s,
        Err(e) => return fail(Exit::Usage, e),
    };
    // audit: the suppressions and baselines are checked before anything is collected.
    let triage = match reports {
        Some(r) => {
            let names: Vec<&str> = selected.iter().map(|t| t.name.as_str()).collect();
            match super::evaluate::load_triage(&targets, r, &names) {
                Ok(t) => Some(t),
                Err(e) => return e,
            }
        }
        None => None,
    };
    let conn = Connection {
        endpoint_url: args.endpoint_url.clone().filter(|u| !u.is_empty()),
        regions: args.regions.clone(),
        max_attempts: args.max_attempts,
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return e,
    };
    remove_leftovers(&selected, &args.snapshot_dir, args.quiet);
    let bars = progress_bars(&selected, args.quiet);
    // Ctrl-C or SIGTERM from here on: writes abandoned, exit 130 or 143 (interrupt.rs).
    let multi = bars.as_ref().map(|(m, _)| m.clone());
    interrupt::watch(&runtime, move || {
        if let Some(m) = multi {
            let _ = m.clear();
        }
    });
    let progress = |target: &str, step: &str| match bars.as_ref().and_then(|(_, b)| b.get(target)) {
        Some(bar) => bar.set_message(step.to_string()),
        None => tracing::info!("{target}: {step}"),
    };
    let collected = runtime.block_on(collect::collect_all(
        &selected,
        &conn,
        &args.snapshot_dir,
        args.jobs,
        &progress,
    ));
    if let Some((multi, bars)) = bars {
        bars.values().for_each(|b| b.finish_and_clear());
        let _ = multi.clear();
    }
    let mut exit = Exit::Pass;
    for c in &collected {
        exit = exit.worst(print_collected(c, args.quiet));
    }
    let (Some(reports), Some(triage)) = (reports, triage) else {
        return exit;
    };
    interrupt::evaluating();
    // audit: evaluate exactly the snapshots just written; a target whose snapshot
    // could not be written gets an error report, never an older snapshot.
    let jobs: Vec<eval::Job> = collected
        .iter()
        .map(|c| eval::Job {
            target: c.target.clone(),
            snapshot: c.snapshot.clone(),
        })
        .collect();
    exit.worst(super::evaluate::report_outcomes(
        &eval::run(
            &targets,
            &jobs,
            &reports.report_dir,
            reports.formats(),
            &triage,
        ),
        &triage,
    ))
}

/// Removes what collects killed while writing left in the targets' snapshot
/// directories (temporary files of processes that are gone), and says so.
fn remove_leftovers(targets: &[&targets::Target], dir: &std::path::Path, quiet: bool) {
    for t in targets {
        for left in snapshot::remove_stale_temporaries(&dir.join(&t.name)) {
            let (path, pid) = (left.path.display(), left.pid);
            match left.removed {
                Ok(()) if !quiet => say!(
                    "removed {path}: the temporary file of a collect that did not finish (process {pid} is gone)"
                ),
                Ok(()) => {}
                Err(e) => tell!(
                    "warning: {path}: cannot remove this temporary file of a collect that did not finish (process {pid}): {e}"
                ),
            }
        }
    }
}

type Bars = (
    indicatif::MultiProgress,
    std::collections::HashMap<String, indicatif::ProgressBar>,
);

/// A spinner per target on a terminal; `None` (plain log lines) otherwise.
fn progress_bars(targets: &[&targets::Target], quiet: bool) -> Option<Bars> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let multi = indicatif::MultiProgress::new();
    let style =
        indicatif::ProgressStyle::with_template("{spinner} {prefix:.bold} {msg} ({elapsed})")
            .ok()?;
    let bars = targets
        .iter()
        .map(|t| {
            let bar = multi.add(indicatif::ProgressBar::new_spinner());
            bar.set_style(style.clone());
            bar.set_prefix(t.name.clone());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            (t.name.clone(), bar)
        })
        .collect();
    Some((multi, bars))
}

/// One line per target: requests, time, problems (escaped for the terminal: the
/// account id and the problems are AWS's answers). Returns the target's exit code.
fn print_collected(c: &Collected, quiet: bool) -> Exit {
    let mut exit = if c.problems.is_empty() {
        Exit::Pass
    } else {
        Exit::Incomplete
    };
    if !quiet {
        say!(
            "{}",
            Escaped(format_args!(
                "collected {}: account {}, {} requests in {:.2} s, {} problem(s){}",
                c.target,
                c.account_id,
                c.requests,
                c.elapsed.as_secs_f64(),
                c.problems.len(),
                c.snapshot
                    .as_ref()
                    .map(|p| format!(" → {}", p.display()))
                    .unwrap_or_default()
            ))
        );
    }
    for p in &c.problems {
        tell!("warning: {}: {}", Escaped(&c.target), Escaped(p));
    }
    if let Some(e) = &c.write_error {
        tell!("error: {}: {}", Escaped(&c.target), Escaped(e));
        exit = Exit::Incomplete;
    }
    exit
}
