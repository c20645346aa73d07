//! The `cloudkestrel` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cloudkestrel::evaluate;
use cloudkestrel::rules;
use cloudkestrel::{fixture, snapshot, targets, Exit, EXIT_CODES};

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

#[derive(Subcommand)]
enum Command {
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
        /// Where <target>.html and <target>.json are written
        #[arg(long, default_value = "reports")]
        report_dir: PathBuf,
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
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Evaluate {
            snapshots,
            targets,
            snapshot_dir,
            report_dir,
        } => run_evaluate(&snapshots, &targets, &snapshot_dir, &report_dir),
        Command::Rules { explain } => run_rules(explain.as_deref()),
        Command::Snapshot { command } => run_snapshot(command),
    };
    ExitCode::from(exit.code())
}

fn fail(code: Exit, msg: impl std::fmt::Display) -> Exit {
    eprintln!("error: {msg}");
    code
}

fn run_evaluate(
    paths: &[PathBuf],
    targets_file: &std::path::Path,
    snapshot_dir: &std::path::Path,
    report_dir: &std::path::Path,
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
    let outcomes = evaluate::run(&targets, &jobs, report_dir);
    let mut exit = Exit::Pass;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for o in &outcomes {
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
            o.target,
            s.pass,
            s.fail,
            s.error,
            o.written
                .iter()
                .find(|p| p.extension().is_some_and(|x| x == "html"))
                .map(|p| format!("  → {}", p.display()))
                .unwrap_or_default()
        );
        for f in &o.worst {
            let _ = writeln!(
                out,
                "    {:<5} {} [{}] {}: {}",
                f.status.as_str(),
                f.rule,
                f.check.as_str(),
                f.resource_name,
                f.message
            );
        }
        let shown = o.worst.len();
        let bad = s.fail + s.error;
        if bad > shown {
            let _ = writeln!(out, "    … and {} more, see the report", bad - shown);
        }
        for p in &o.problems {
            let _ = writeln!(
                out,
                "    collection problem: {} {} ({}{}): {}",
                p.section.as_str(),
                p.operation,
                p.error_code,
                p.resource
                    .as_deref()
                    .map(|r| format!(", {r}"))
                    .unwrap_or_default(),
                p.message
            );
        }
        if let Some(p) = &o.problem {
            eprintln!("error: {}: {p}", o.target);
        }
    }
    for u in &unreadable {
        exit = exit.worst(Exit::Incomplete);
        eprintln!("error: {}: cannot evaluate: {}", u.path.display(), u.error);
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
                        out.display(),
                        account.metadata.target
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
