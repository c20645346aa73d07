//! `collect` and `audit`: read the targets into snapshots (and evaluate them).

use std::sync::atomic::{AtomicUsize, Ordering};

use cloudkestrel::collect::{self, Collected, Connection};
use cloudkestrel::targets::membership::{self, Membership};
use cloudkestrel::untrusted::Escaped;
use cloudkestrel::{evaluate as eval, interrupt, snapshot, targets, Exit};

use super::selection::{discover, narrow};
use super::{fail, init_logging, runtime, CollectArgs, ReportArgs};

/// Above this many targets a run shows one progress bar for all, and prints a line
/// per target only for those with something to say.
pub const MANY: usize = 8;

pub fn run(args: &CollectArgs, reports: Option<&ReportArgs>) -> Exit {
    init_logging(args.quiet, args.verbose);
    let mut targets = match targets::load(&args.targets) {
        Ok(t) => t,
        Err(e) => return fail(Exit::Usage, e),
    };
    let conn = Connection {
        endpoint_url: args.endpoint_url.clone().filter(|u| !u.is_empty()),
        regions: args.regions.clone(),
        max_attempts: args.max_attempts,
        retry_mode: args.retry_mode.mode(),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return e,
    };
    // Organization entries: their accounts, before anything is chosen by name or shard.
    let (mut exit, discoveries) = discover(&mut targets, &args.only, &conn, &runtime, args.quiet);
    // Each entry's accounts, recorded beside their snapshots: evaluate, offline, then
    // knows which must have one (every shard writes the whole entry's record).
    for d in &discoveries {
        let Ok(found) = &d.result else { continue };
        let record = Membership::of(&d.entry, found, chrono::Utc::now());
        if let Err(e) = record.write(&args.snapshot_dir) {
            exit = exit.worst(Exit::Incomplete);
            tell!(
                "error: {}",
                Escaped(format_args!(
                    "organization {}: cannot record its accounts in {}: {e}",
                    d.entry,
                    membership::path(&args.snapshot_dir, &d.entry).display()
                ))
            );
        }
    }
    let selected = match narrow(&targets, &args.only, args.shard) {
        Ok(s) => s,
        Err(e) => return fail(Exit::Usage, e),
    };
    if let Some(s) = args.shard {
        if !args.quiet {
            say!(
                "shard {}/{}: {} of {} target(s)",
                s.k,
                s.n,
                selected.len(),
                targets.targets.len()
            );
        }
    }
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
    remove_leftovers(&selected, &args.snapshot_dir, args.quiet);
    let progress_ui = Progress::new(&selected, args.quiet);
    // Ctrl-C or SIGTERM from here on: writes abandoned, exit 130 or 143 (interrupt.rs).
    let multi = progress_ui.multi();
    interrupt::watch(&runtime, move || {
        if let Some(m) = multi {
            let _ = m.clear();
        }
    });
    let step = |target: &str, step: &str| progress_ui.step(target, step);
    let done = |c: &Collected| progress_ui.done(c);
    let collected = runtime.block_on(collect::collect_all(
        &selected,
        &conn,
        &args.snapshot_dir,
        args.jobs as usize,
        &step,
        &done,
    ));
    progress_ui.finish();
    let many = collected.len() > MANY;
    for c in &collected {
        exit = exit.worst(print_collected(c, args.quiet || (many && c.clean())));
    }
    if many && !args.quiet {
        let bad: Vec<&str> = collected
            .iter()
            .filter(|c| !c.clean())
            .map(|c| c.target.as_str())
            .collect();
        say!(
            "{}",
            Escaped(format_args!(
                "collected {} target(s), {} request(s); {} not read completely{}",
                collected.len(),
                collected.iter().map(|c| c.requests).sum::<u64>(),
                bad.len(),
                if bad.is_empty() {
                    String::new()
                } else {
                    format!(": {}", bad.join(", "))
                }
            ))
        );
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
        &reports.report_dir,
        &discoveries,
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

/// What a terminal shows while collecting: a spinner per target for a few, one bar
/// (targets done of all, errors so far) for many; nothing off a terminal (plain log
/// lines instead).
enum Progress {
    Quiet,
    Spinners(
        indicatif::MultiProgress,
        std::collections::HashMap<String, indicatif::ProgressBar>,
    ),
    One(
        indicatif::MultiProgress,
        indicatif::ProgressBar,
        AtomicUsize,
    ),
}

impl Progress {
    fn new(targets: &[&targets::Target], quiet: bool) -> Progress {
        use std::io::IsTerminal;
        if quiet || !std::io::stderr().is_terminal() {
            return Progress::Quiet;
        }
        let multi = indicatif::MultiProgress::new();
        if targets.len() > MANY {
            let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} targets collected, {msg} ({elapsed})",
            ) else {
                return Progress::Quiet;
            };
            let bar = multi.add(indicatif::ProgressBar::new(targets.len() as u64));
            bar.set_style(style);
            bar.set_message("0 with errors");
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            return Progress::One(multi, bar, AtomicUsize::new(0));
        }
        let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {prefix:.bold} {msg} ({elapsed})")
        else {
            return Progress::Quiet;
        };
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
        Progress::Spinners(multi, bars)
    }

    fn multi(&self) -> Option<indicatif::MultiProgress> {
        match self {
            Progress::Quiet => None,
            Progress::Spinners(m, _) | Progress::One(m, _, _) => Some(m.clone()),
        }
    }

    fn step(&self, target: &str, step: &str) {
        match self {
            Progress::Spinners(_, bars) => {
                if let Some(bar) = bars.get(target) {
                    bar.set_message(step.to_string());
                }
            }
            Progress::One(..) => {}
            Progress::Quiet => tracing::info!("{target}: {step}"),
        }
    }

    fn done(&self, c: &Collected) {
        if let Progress::One(_, bar, errors) = self {
            if !c.clean() {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            bar.set_message(format!("{} with errors", errors.load(Ordering::Relaxed)));
            bar.inc(1);
        }
    }

    fn finish(&self) {
        match self {
            Progress::Spinners(multi, bars) => {
                bars.values().for_each(|b| b.finish_and_clear());
                let _ = multi.clear();
            }
            Progress::One(multi, bar, _) => {
                bar.finish_and_clear();
                let _ = multi.clear();
            }
            Progress::Quiet => {}
        }
    }
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
