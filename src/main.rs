//! The `cloudkestrel` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use cloudkestrel::apply;
use cloudkestrel::collect::{self, Collected, Connection};
use cloudkestrel::evaluate;
use cloudkestrel::rules;
use cloudkestrel::untrusted::{self, Escaped};
use cloudkestrel::{fixture, interrupt, snapshot, targets, Exit, EXIT_CODES};

// evaluate allocates and frees several strings per result, tens of thousands per
// snapshot: with glibc's allocator that was a quarter of its instructions. mimalloc
// cuts them by a fifth in all (callgrind) at the cost of a higher, still bounded, peak
// RSS with two threads (issue 5; the README's benchmark table has both).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cloudkestrel",
    version,
    about = "Audits the security of AWS accounts: IAM, AWS Config and S3, from SQLite snapshots",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options shared by `collect` and `audit`.
#[derive(Args)]
struct CollectArgs {
    /// The targets file
    #[arg(long, default_value = "targets.json")]
    targets: PathBuf,
    /// Collect only this target (repeatable; default: every target)
    #[arg(long = "target", value_name = "NAME")]
    only: Vec<String>,
    /// Where snapshots are written: <DIR>/<target>/<UTC timestamp>.sqlite
    #[arg(long, default_value = "snapshots")]
    snapshot_dir: PathBuf,
    /// Send every request to this endpoint (moto, LocalStack); S3 then uses path-style URLs
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    endpoint_url: Option<String>,
    /// Regions to read AWS Config from (repeatable); a target's "Regions" win
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// How many targets are collected at once
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Attempts per request, retries included (the SDK's standard retry strategy)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    max_attempts: u32,
    /// Print only errors
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// More detail (-v, -vv); secrets are never logged
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// Options shared by `evaluate` and `audit`: which reports, where.
#[derive(Args)]
struct ReportArgs {
    /// Where <target>.html and <target>.json are written
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
    /// Which reports to write (comma-separated); a report of a format left out is
    /// removed if an earlier run left one for the target
    #[arg(
        long = "format",
        value_enum,
        value_delimiter = ',',
        default_value = "html,json",
        value_name = "FORMATS"
    )]
    formats: Vec<ReportFormat>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    /// <target>.html: the report for people
    Html,
    /// <target>.json: the report for programs (schema_version 1)
    Json,
}

impl ReportArgs {
    fn formats(&self) -> evaluate::Formats {
        evaluate::Formats {
            json: self.formats.contains(&ReportFormat::Json),
            html: self.formats.contains(&ReportFormat::Html),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Read each target's IAM, AWS Config and S3 state into a new snapshot
    #[command(after_help = EXIT_CODES)]
    Collect(CollectArgs),
    /// Collect, then evaluate the new snapshots (what `python3 cloudkestrel.py` did)
    #[command(after_help = EXIT_CODES)]
    Audit {
        #[command(flatten)]
        collect: CollectArgs,
        #[command(flatten)]
        reports: ReportArgs,
    },
    /// Evaluate snapshots against the rules in targets.json and write reports
    #[command(after_help = EXIT_CODES)]
    Evaluate {
        /// Snapshot files to evaluate (default: the newest snapshot of each target
        /// under --snapshot-dir)
        snapshots: Vec<PathBuf>,
        /// The targets file
        #[arg(long, default_value = "targets.json")]
        targets: PathBuf,
        /// Where snapshots are looked up: <DIR>/<target>/<timestamp>.sqlite
        #[arg(long, default_value = "snapshots")]
        snapshot_dir: PathBuf,
        #[command(flatten)]
        reports: ReportArgs,
    },
    /// Add the AWS Config managed rules marked AddIfMissing that a target lacks
    #[command(
        after_help = "Exit codes:\n  0  done, or nothing to do\n  2  invalid input or usage, or no confirmation\n  3  a target could not be handled (unreadable, missing AWS Config prerequisites, a rule refused)"
    )]
    Apply {
        /// The targets file
        #[arg(long, default_value = "targets.json")]
        targets: PathBuf,
        /// Only this target (repeatable; default: every target)
        #[arg(long = "target", value_name = "NAME")]
        only: Vec<String>,
        /// Send every request to this endpoint (moto, LocalStack)
        #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
        endpoint_url: Option<String>,
        /// Regions to manage (repeatable); a target's "Regions" win
        #[arg(long = "region", value_name = "REGION")]
        regions: Vec<String>,
        /// Attempts per request, retries included
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
        max_attempts: u32,
        /// Print the plan and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Carry out the plan without asking
        #[arg(long, conflicts_with = "dry_run")]
        yes: bool,
        /// Plan from this snapshot instead of reading the account (implies --dry-run)
        #[arg(long, value_name = "FILE", conflicts_with = "yes")]
        from_snapshot: Option<PathBuf>,
    },
    /// List the rules, or explain one
    Rules {
        /// Show the full documentation of one rule
        #[arg(long, value_name = "NAME")]
        explain: Option<String>,
    },
    /// Turn fixtures into snapshots and back
    Snapshot {
        #[command(subcommand)]
        command: SnapshotCommand,
    },
}

#[derive(Subcommand)]
enum SnapshotCommand {
    /// Build a snapshot from a fixture (an account state as JSON)
    Import {
        fixture: PathBuf,
        /// The snapshot file to write
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a snapshot as fixture JSON
    Export { snapshot: PathBuf },
}

fn main() -> ExitCode {
    // SAFETY: first thing in the process: no thread exists yet and SQLite is unused.
    unsafe {
        cloudkestrel::sqlite_memory::install();
    }
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Collect(args) => run_collect(&args, None),
        Command::Audit { collect, reports } => run_collect(&collect, Some(&reports)),
        Command::Evaluate {
            snapshots,
            targets,
            snapshot_dir,
            reports,
        } => run_evaluate(&snapshots, &targets, &snapshot_dir, &reports),
        Command::Rules { explain } => run_rules(explain.as_deref()),
        Command::Apply {
            targets,
            only,
            endpoint_url,
            regions,
            max_attempts,
            dry_run,
            yes,
            from_snapshot,
        } => run_apply(
            &targets,
            &only,
            Connection {
                endpoint_url: endpoint_url.filter(|u| !u.is_empty()),
                regions,
                max_attempts,
            },
            dry_run,
            yes,
            from_snapshot.as_deref(),
        ),
        Command::Snapshot { command } => run_snapshot(command),
    };
    ExitCode::from(exit.code())
}

/// Prints an error line, escaped for the terminal: errors quote snapshots, fixtures and
/// AWS's answers.
fn fail(code: Exit, msg: impl std::fmt::Display) -> Exit {
    eprintln!("error: {}", Escaped(msg));
    code
}

fn run_evaluate(
    paths: &[PathBuf],
    targets_file: &std::path::Path,
    snapshot_dir: &std::path::Path,
    reports: &ReportArgs,
) -> Exit {
    let targets = match targets::load(targets_file) {
        Ok(t) => t,
        Err(e) => return fail(Exit::Usage, e),
    };
    let (jobs, unreadable) = if paths.is_empty() {
        (evaluate::jobs_from_dir(&targets, snapshot_dir), Vec::new())
    } else {
        match evaluate::jobs_from_paths(&targets, paths) {
            Ok(x) => x,
            Err(e) => return fail(Exit::Usage, e),
        }
    };
    let mut exit = print_outcomes(&evaluate::run(
        &targets,
        &jobs,
        &reports.report_dir,
        reports.formats(),
    ));
    for u in &unreadable {
        exit = exit.worst(Exit::Incomplete);
        eprintln!(
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

/// Prints the terminal summary of an evaluation; returns the combined exit code. Names,
/// messages and problems come from the account: escaped for the terminal.
fn print_outcomes(outcomes: &[evaluate::Outcome]) -> Exit {
    let mut exit = Exit::Pass;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for o in outcomes {
        exit = exit.worst(o.exit);
        let s = o.summary;
        let _ = writeln!(
            out,
            "{:<8} {}: {} pass, {} fail, {} error{}",
            match o.exit {
                Exit::Pass => "PASS",
                Exit::Fail => "FAIL",
                _ => "ERROR",
            },
            Escaped(&o.target),
            s.pass,
            s.fail,
            s.error,
            o.written
                .iter()
                .find(|p| p.extension().is_some_and(|x| x == "html"))
                .or_else(|| o.written.first())
                .map(|p| format!("  → {}", Escaped(p.display())))
                .unwrap_or_default()
        );
        for f in &o.worst {
            let _ = writeln!(
                out,
                "    {:<5} {} [{}] {}: {}",
                f.status.as_str(),
                f.rule,
                f.check.as_str(),
                Escaped(&f.resource_name),
                Escaped(&f.message)
            );
        }
        let shown = o.worst.len();
        let bad = s.fail + s.error;
        if bad > shown {
            let _ = writeln!(out, "    … and {} more, see the report", bad - shown);
        }
        for p in &o.problems {
            let _ = writeln!(out, "    collection problem: {}", Escaped(p));
        }
        if let Some(p) = &o.problem {
            eprintln!("error: {}: {}", Escaped(&o.target), Escaped(p));
        }
    }
    exit
}

fn init_logging(quiet: bool, verbose: u8) {
    // The AWS SDK's own logs stay at warn: its debug output can carry request headers.
    let ours = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    use std::io::IsTerminal;
    use tracing_subscriber::field::MakeExt;
    let filter = tracing_subscriber::EnvFilter::new(format!("warn,cloudkestrel={ours}"));
    // Log lines carry account text (problem messages, names): every field is escaped
    // for the terminal, here in one place for every event. Colours only on a terminal:
    // a log file or CI log gets plain lines.
    let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = format!("{value:?}");
        let text = untrusted::escape(&text);
        if field.name() == "message" {
            write!(w, "{text}")
        } else {
            write!(w, "{field}={text}")
        }
    })
    .delimited(" ");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .fmt_fields(fields)
        .with_target(false)
        .without_time()
        .try_init();
}

fn run_collect(args: &CollectArgs, reports: Option<&ReportArgs>) -> Exit {
    init_logging(args.quiet, args.verbose);
    let targets = match targets::load(&args.targets) {
        Ok(t) => t,
        Err(e) => return fail(Exit::Usage, e),
    };
    let selected = match select(&targets, &args.only) {
        Ok(s) => s,
        Err(e) => return fail(Exit::Usage, e),
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
    let Some(reports) = reports else {
        return exit;
    };
    interrupt::evaluating();
    // audit: evaluate exactly the snapshots just written; a target whose snapshot
    // could not be written gets an error report, never an older snapshot.
    let jobs: Vec<evaluate::Job> = collected
        .iter()
        .map(|c| evaluate::Job {
            target: c.target.clone(),
            snapshot: c.snapshot.clone(),
        })
        .collect();
    exit.worst(print_outcomes(&evaluate::run(
        &targets,
        &jobs,
        &reports.report_dir,
        reports.formats(),
    )))
}

/// Removes what collects killed while writing left in the targets' snapshot
/// directories (temporary files of processes that are gone), and says so.
fn remove_leftovers(targets: &[&targets::Target], dir: &std::path::Path, quiet: bool) {
    for t in targets {
        for left in snapshot::remove_stale_temporaries(&dir.join(&t.name)) {
            let (path, pid) = (left.path.display(), left.pid);
            match left.removed {
                Ok(()) if !quiet => println!(
                    "removed {path}: the temporary file of a collect that did not finish (process {pid} is gone)"
                ),
                Ok(()) => {}
                Err(e) => eprintln!(
                    "warning: {path}: cannot remove this temporary file of a collect that did not finish (process {pid}): {e}"
                ),
            }
        }
    }
}

/// The async runtime for the commands that call AWS.
fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            fail(
                Exit::Incomplete,
                format!("cannot start the async runtime: {e}"),
            )
        })
}

/// The targets named by `--target` (all when none), or why a name is wrong.
fn select<'a>(
    targets: &'a targets::Targets,
    only: &[String],
) -> Result<Vec<&'a targets::Target>, String> {
    let names: Vec<&str> = targets.targets.iter().map(|t| t.name.as_str()).collect();
    for name in only {
        if targets.get(name).is_none() {
            let hint = names
                .iter()
                .max_by(|a, b| {
                    strsim::jaro_winkler(name, a).total_cmp(&strsim::jaro_winkler(name, b))
                })
                .filter(|n| strsim::jaro_winkler(name, n) > 0.8)
                .map(|n| format!(" Did you mean {n}?"))
                .unwrap_or_default();
            return Err(format!(
                "--target {name}: {} defines no such target.{hint} Targets: {}",
                targets.file.display(),
                names.join(", ")
            ));
        }
    }
    Ok(targets
        .targets
        .iter()
        .filter(|t| only.is_empty() || only.contains(&t.name))
        .collect())
}

fn run_apply(
    targets_file: &std::path::Path,
    only: &[String],
    conn: Connection,
    dry_run: bool,
    yes: bool,
    from_snapshot: Option<&std::path::Path>,
) -> Exit {
    init_logging(false, 0);
    let targets = match targets::load(targets_file) {
        Ok(t) => t,
        Err(e) => return fail(Exit::Usage, e),
    };
    let selected = match select(&targets, only) {
        Ok(s) => s,
        Err(e) => return fail(Exit::Usage, e),
    };
    if let Some(path) = from_snapshot {
        let account = match snapshot::read(path) {
            Ok(a) => a,
            Err(e) => return fail(Exit::Incomplete, e),
        };
        let Some(target) = targets.get(&account.metadata.target) else {
            return fail(
                Exit::Usage,
                format!(
                    "{}: a snapshot of target {:?}, which {} does not define",
                    path.display(),
                    account.metadata.target,
                    targets_file.display()
                ),
            );
        };
        let plan = apply::plan(target, &account);
        print!("{}", apply::describe(&plan));
        println!(
            "(planned from {}, collected {}; dry run: nothing changed)",
            Escaped(path.display()),
            account.metadata.collected_at
        );
        return if plan.blocked() {
            Exit::Incomplete
        } else {
            Exit::Pass
        };
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return e,
    };
    let states = runtime.block_on(futures::future::join_all(
        selected.iter().map(|t| apply::read_state(t, &conn)),
    ));
    let plans: Vec<(apply::Plan, Option<collect::aws::Clients>)> = selected
        .iter()
        .zip(states)
        .map(|(t, (account, clients))| (apply::plan(t, &account), clients))
        .collect();
    let mut exit = Exit::Pass;
    for (plan, _) in &plans {
        print!("{}", apply::describe(plan));
        if plan.blocked() {
            exit = Exit::Incomplete;
            println!(
                "  → nothing will be added for {} until the above is fixed",
                Escaped(&plan.target)
            );
        }
    }
    let todo: usize = plans
        .iter()
        .filter(|(p, _)| !p.blocked())
        .map(|(p, _)| p.additions.len())
        .sum();
    if dry_run {
        println!("dry run: nothing changed ({todo} rule(s) would be added)");
        return exit;
    }
    if todo == 0 {
        println!("nothing to do");
        return exit;
    }
    if !yes {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            return fail(
                Exit::Usage,
                "refusing to change AWS Config without confirmation: pass --yes, or run on a terminal (nothing changed)",
            );
        }
        print!("Add {todo} rule(s)? [y/N] ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return fail(Exit::Usage, "not confirmed: nothing changed");
        }
    }
    for (plan, clients) in &plans {
        let Some(clients) = clients.as_ref().filter(|_| !plan.blocked()) else {
            continue;
        };
        for a in &plan.additions {
            match runtime.block_on(apply::put_rule(&clients.config(&a.region), a)) {
                Ok(()) => println!(
                    "{}",
                    Escaped(format_args!(
                        "added {} in {} for {}",
                        a.rule_name, a.region, plan.target
                    ))
                ),
                Err(e) => {
                    eprintln!("error: {}: {}", Escaped(&plan.target), Escaped(e));
                    exit = exit.worst(Exit::Incomplete);
                }
            }
        }
    }
    exit
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
        println!(
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
        eprintln!("warning: {}: {}", Escaped(&c.target), Escaped(p));
    }
    if let Some(e) = &c.write_error {
        eprintln!("error: {}: {}", Escaped(&c.target), Escaped(e));
        exit = Exit::Incomplete;
    }
    exit
}

fn run_rules(explain: Option<&str>) -> Exit {
    let Some(name) = explain else {
        println!("{:<44} {:<7} SUMMARY", "RULE", "KIND");
        for r in rules::RULES {
            let m = r.meta();
            println!("{:<44} {:<7} {}", m.name, m.kind.as_str(), m.summary);
        }
        println!("\n`cloudkestrel rules --explain NAME` shows what a rule checks, why, how to fix it, and its settings.");
        return Exit::Pass;
    };
    let Some(rule) = rules::find(name) else {
        let hint = rules::suggest(name)
            .map(|s| format!(" Did you mean {s}?"))
            .unwrap_or_default();
        return fail(
            Exit::Usage,
            format!("unknown rule {name:?}.{hint} `cloudkestrel rules` lists them all."),
        );
    };
    let m = rule.meta();
    println!("# {} ({} rule)\n\n{}\n", m.name, m.kind.as_str(), m.summary);
    if let (Some(id), Some(aws)) = (m.source_identifier, m.aws_rule_name) {
        println!("AWS Config managed rule: SourceIdentifier {id}, default name {aws}\n");
    }
    for (title, settings) in [
        ("Parameters (sent to AWS Config)", m.parameters),
        ("Options (CloudKestrel's local check)", m.options),
    ] {
        if !settings.is_empty() {
            println!("{title}:");
            for s in settings {
                println!(
                    "  {:<32} {} ({}{})",
                    s.name,
                    s.doc,
                    s.ty.describe(),
                    s.default
                        .map(|d| format!("; default {d}"))
                        .unwrap_or_default()
                );
            }
            println!();
        }
    }
    for line in m.doc.lines() {
        println!("{}", line.strip_prefix(' ').unwrap_or(line));
    }
    Exit::Pass
}

fn run_snapshot(command: SnapshotCommand) -> Exit {
    match command {
        SnapshotCommand::Import { fixture: file, out } => {
            let account = match fixture::load(&file) {
                Ok(a) => a,
                Err(e) => return fail(Exit::Usage, e),
            };
            match snapshot::write(&out, &account) {
                Ok(()) => {
                    println!(
                        "wrote {} (target {})",
                        Escaped(out.display()),
                        Escaped(&account.metadata.target)
                    );
                    Exit::Pass
                }
                Err(e) => fail(Exit::Incomplete, e),
            }
        }
        SnapshotCommand::Export { snapshot: path } => match snapshot::read(&path) {
            Ok(account) => {
                print!("{}", fixture::to_json(&account));
                Exit::Pass
            }
            Err(e) => fail(Exit::Incomplete, e),
        },
    }
}
