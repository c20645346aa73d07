//! The command line: arguments (clap), and one module per command. `main.rs` only
//! installs the allocator and calls [`run`].

/// `println!` that ignores a closed stdout (`cloudkestrel rules | head`): std's macro
/// panics when the reader has gone. The rest of the output is not wanted then.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// `print!` likewise (no newline, flushed: a prompt).
macro_rules! say_part {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout();
        let _ = write!(out, $($t)*);
        let _ = out.flush();
    }};
}

/// `eprintln!` likewise, for stderr.
macro_rules! tell {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod apply;
mod collect;
mod diff;
mod evaluate;
mod rules;
mod selection;
mod snapshot;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use cloudkestrel::collect::aws::RetryMode;
use cloudkestrel::collect::Connection;
use cloudkestrel::targets::shard::Shard;
use cloudkestrel::untrusted::{self, Escaped};
use cloudkestrel::{evaluate as eval, Exit, EXIT_CODES};

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
    /// Collect only this target (repeatable; default: every target): a target, an
    /// account of an organization entry (<entry>-<account id>), or an entry (all its
    /// accounts)
    #[arg(long = "target", value_name = "NAME")]
    only: Vec<String>,
    /// Take only this slice of the targets: shard K of N (1-based), or N alone with K
    /// from JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX (0-based) plus one
    #[arg(long, value_name = "K/N", value_parser = selection::parse_shard)]
    shard: Option<Shard>,
    /// Where snapshots are written: <DIR>/<target>/<UTC timestamp>.sqlite
    #[arg(long, default_value = "snapshots")]
    snapshot_dir: PathBuf,
    /// Send every request to this endpoint (moto, LocalStack); S3 then uses path-style URLs
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    endpoint_url: Option<String>,
    /// Regions to read AWS Config from (repeatable); a target's "Regions" win
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// How many targets are collected at once (each with its own bounded requests)
    // Why 8: each account has up to about 25 requests in flight (IAM's five reads, AWS
    // Config four regions at a time, sixteen buckets), so 8 accounts keep some 200
    // requests open: what a laptop or a CI runner serves without connection errors, and
    // peak memory stays well under 100 MB whatever the number of accounts (bench/run
    // measures it). Against moto, one Python process, 4, 8 and 16 took the same time
    // for 20 accounts (2.1 to 2.4 s); against AWS, where each request waits on the
    // network, more help until the machine's connections or TLS handshakes are the
    // limit: raise it there.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: u64,
    /// Attempts per request, retries included
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    max_attempts: u32,
    /// The SDK's retry mode: adaptive also slows a client down after throttling
    #[arg(long, value_enum, default_value = "adaptive")]
    retry_mode: RetryModeArg,
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
    /// Where the reports are written: <DIR>/<target>.html, .json, .sarif, .junit.xml
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
    /// The suppressions file (default: suppressions.json beside the targets file, when
    /// it exists)
    #[arg(long, value_name = "FILE")]
    suppressions: Option<PathBuf>,
    /// An earlier JSON report of the target, or a directory of <target>.json reports:
    /// every failure is marked new or not, and what is fixed is listed
    #[arg(long, value_name = "FILE|DIR")]
    baseline: Option<PathBuf>,
    /// What makes the exit code 1: any failure no suppression accepts, or only new
    /// ones (needs --baseline). Errors exit 3 either way
    #[arg(long, value_enum, default_value = "any", value_name = "WHAT")]
    fail_on: FailOnArg,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    /// <target>.html: the report for people
    Html,
    /// <target>.json: the report for programs (schema_version 1)
    Json,
    /// <target>.sarif: SARIF 2.1.0, for GitHub code scanning
    Sarif,
    /// <target>.junit.xml: JUnit XML, for GitLab, Jenkins, Azure DevOps
    Junit,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RetryModeArg {
    /// Retries with exponential backoff and jitter
    Standard,
    /// Standard, plus client-side rate limiting after throttling
    Adaptive,
}

impl RetryModeArg {
    fn mode(self) -> RetryMode {
        match self {
            RetryModeArg::Standard => RetryMode::Standard,
            RetryModeArg::Adaptive => RetryMode::Adaptive,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOnArg {
    /// Any failure no suppression accepts
    Any,
    /// A failure no suppression accepts that the baseline does not have
    New,
}

impl ReportArgs {
    fn formats(&self) -> eval::Formats {
        eval::Formats {
            json: self.formats.contains(&ReportFormat::Json),
            html: self.formats.contains(&ReportFormat::Html),
            sarif: self.formats.contains(&ReportFormat::Sarif),
            junit: self.formats.contains(&ReportFormat::Junit),
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
        /// Evaluate only this slice of the targets (as for collect)
        #[arg(long, value_name = "K/N", value_parser = selection::parse_shard)]
        shard: Option<Shard>,
        #[command(flatten)]
        reports: ReportArgs,
    },
    /// Print the targets a run would take: targets.json's, and the accounts of its
    /// organization entries (discovered, unless --offline)
    #[command(
        after_help = "Exit codes:\n  0  listed\n  2  invalid input or usage\n  3  an organization could not be discovered, or names an account it does not hold"
    )]
    Targets {
        /// The targets file
        #[arg(long, default_value = "targets.json")]
        targets: PathBuf,
        /// List only what needs no AWS call (organization entries are not discovered)
        #[arg(long)]
        offline: bool,
        /// Only this slice of the targets (as for collect)
        #[arg(long, value_name = "K/N", value_parser = selection::parse_shard)]
        shard: Option<Shard>,
        /// Send every request to this endpoint (moto, LocalStack)
        #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
        endpoint_url: Option<String>,
        /// Regions (the first is where STS and Organizations are called); a target's
        /// "Regions" win
        #[arg(long = "region", value_name = "REGION")]
        regions: Vec<String>,
        /// Attempts per request, retries included
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
        max_attempts: u32,
        /// The SDK's retry mode: adaptive also slows a client down after throttling
        #[arg(long, value_enum, default_value = "adaptive")]
        retry_mode: RetryModeArg,
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
    /// What changed between two JSON reports of a target, or two snapshots of it:
    /// new failures, fixed ones, still failing, messages changed (and, for snapshots,
    /// what changed in the account)
    #[command(
        after_help = "Exit codes:\n  0  nothing new fails\n  1  something new fails (a failure of NEW that OLD did not have, no suppression accepting it)\n  2  invalid input or usage\n  3  NEW was not fully audited (an error result or a collection problem): what it could not decide may hide a new failure"
    )]
    Diff {
        /// The earlier report (.json) or snapshot (.sqlite)
        old: PathBuf,
        /// The later one, of the same kind and target
        new: PathBuf,
        /// The targets file (to evaluate snapshots)
        #[arg(long, default_value = "targets.json")]
        targets: PathBuf,
        /// text for people, json for programs
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiffFormat {
    Text,
    Json,
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

/// Parses the command line and runs the command; the process's exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Collect(args) => collect::run(&args, None),
        Command::Audit { collect, reports } => collect::run(&collect, Some(&reports)),
        Command::Evaluate {
            snapshots,
            targets,
            snapshot_dir,
            shard,
            reports,
        } => evaluate::run(&snapshots, &targets, &snapshot_dir, shard, &reports),
        Command::Targets {
            targets: file,
            offline,
            shard,
            endpoint_url,
            regions,
            max_attempts,
            retry_mode,
        } => selection::run(
            &file,
            offline,
            shard,
            &Connection {
                endpoint_url: endpoint_url.filter(|u| !u.is_empty()),
                regions,
                max_attempts,
                retry_mode: retry_mode.mode(),
            },
        ),
        Command::Rules { explain } => rules::run(explain.as_deref()),
        Command::Diff {
            old,
            new,
            targets,
            format,
        } => diff::run(&old, &new, &targets, format == DiffFormat::Json),
        Command::Apply {
            targets,
            only,
            endpoint_url,
            regions,
            max_attempts,
            dry_run,
            yes,
            from_snapshot,
        } => apply::run(
            &targets,
            &only,
            Connection {
                endpoint_url: endpoint_url.filter(|u| !u.is_empty()),
                regions,
                max_attempts,
                retry_mode: RetryMode::Adaptive,
            },
            dry_run,
            yes,
            from_snapshot.as_deref(),
        ),
        Command::Snapshot { command } => snapshot::run(command),
    };
    ExitCode::from(exit.code())
}

/// Prints an error line, escaped for the terminal: errors quote snapshots, fixtures and
/// AWS's answers.
pub fn fail(code: Exit, msg: impl std::fmt::Display) -> Exit {
    tell!("error: {}", Escaped(msg));
    code
}

pub fn init_logging(quiet: bool, verbose: u8) {
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

/// The async runtime for the commands that call AWS.
pub fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
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
