//! Micro-benchmarks of loading one snapshot (issue 5): `cargo bench --bench snapshot`.
//! Timings are reported, never asserted.
//!
//! Snapshots: the shipped demo, and the demo fixture scaled to 1,000 users and 100
//! buckets (written with the real writer into a temporary directory), or instead of the
//! latter the file named by `CK_BENCH_SNAPSHOT` (e.g. one written by examples/synth.rs).
//! The last benchmarks split `evaluate`'s work on that snapshot into its phases: rules,
//! JSON report, HTML report.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cloudkestrel::model::Account;
use cloudkestrel::report::{html, TargetReport};
use cloudkestrel::{fixture, snapshot};

fn main() {
    divan::main();
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn demo_account() -> Account {
    fixture::load(&root().join("fixtures/demo-account.json")).unwrap()
}

/// The demo account with its users (and their credential report rows) copied until
/// there are `users`, and its buckets until there are `buckets`.
fn scaled(users: usize, buckets: usize) -> Account {
    let mut a = demo_account();
    let base_users = a.iam.users.clone();
    let base_rows: Vec<_> = a
        .iam
        .credential_report
        .iter()
        .filter(|r| !r.is_root())
        .cloned()
        .collect();
    let base_buckets = a.s3.buckets.clone();
    a.iam.users.clear();
    a.iam.credential_report.retain(|r| r.is_root());
    for n in 0..users {
        let mut u = base_users[n % base_users.len()].clone();
        let name = format!("{}-{n:04}", u.name);
        if let Some(mut row) = base_rows.iter().find(|r| r.user == u.name).cloned() {
            row.user = name.clone();
            row.arn = format!("{}-{n:04}", row.arn);
            a.iam.credential_report.push(row);
        }
        u.arn = format!("{}-{n:04}", u.arn);
        u.user_id = format!("{}{n:04}", u.user_id);
        u.name = name;
        a.iam.users.push(u);
    }
    a.s3.buckets = (0..buckets)
        .map(|n| {
            let mut b = base_buckets[n % base_buckets.len()].clone();
            b.name = format!("{}-{n:03}", b.name);
            b
        })
        .collect();
    a
}

/// (demo snapshot, scaled snapshot); the temporary directory lives as long as the run.
fn files() -> &'static (PathBuf, PathBuf) {
    static FILES: OnceLock<(tempfile::TempDir, (PathBuf, PathBuf))> = OnceLock::new();
    let (_, paths) = FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let big = match std::env::var_os("CK_BENCH_SNAPSHOT") {
            Some(file) => PathBuf::from(file),
            None => {
                let big = dir.path().join("big/2026-11-27T08-00-00Z.sqlite");
                snapshot::write(&big, &scaled(1000, 100)).unwrap();
                big
            }
        };
        let demo = root().join("snapshots/demo/2026-11-27T08-00-00Z.sqlite");
        (dir, (demo, big))
    });
    paths
}

#[divan::bench]
fn read_demo(bencher: divan::Bencher) {
    let path = &files().0;
    bencher.bench(|| snapshot::read(divan::black_box(path)).unwrap());
}

#[divan::bench]
fn read_1000_users_100_buckets(bencher: divan::Bencher) {
    let path = &files().1;
    bencher.bench(|| snapshot::read(divan::black_box(path)).unwrap());
}

#[divan::bench]
fn peek_target_1000_users(bencher: divan::Bencher) {
    let path = &files().1;
    bencher.bench(|| snapshot::peek_target(divan::black_box(path)).unwrap());
}

#[divan::bench(sample_count = 20)]
fn write_1000_users_100_buckets(bencher: divan::Bencher) {
    let account = scaled(1000, 100);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w/2026-11-27T08-00-00Z.sqlite");
    bencher.bench(|| snapshot::write(&path, divan::black_box(&account)).unwrap());
}

/// The demo target of targets.example.json (every rule) and the big account.
fn big_case() -> (cloudkestrel::targets::Target, Account) {
    let targets = cloudkestrel::targets::load(&root().join("targets.example.json")).unwrap();
    let target = targets.targets.into_iter().next().unwrap();
    (target, snapshot::read(&files().1).unwrap())
}

fn report_of(target: &cloudkestrel::targets::Target, account: &Account) -> TargetReport {
    cloudkestrel::evaluate::evaluate_account(target, account, "big.sqlite")
}

/// evaluate's phases on the big snapshot, after reading it: the rules alone …
#[divan::bench(sample_count = 20)]
fn phase_rules_1000_users(bencher: divan::Bencher) {
    let (target, account) = big_case();
    bencher.bench(|| cloudkestrel::rules::evaluate(divan::black_box(&account), &target.rules));
}

/// … the rules and the sorted report …
#[divan::bench(sample_count = 20)]
fn phase_rules_and_report_1000_users(bencher: divan::Bencher) {
    let (target, account) = big_case();
    bencher.bench(|| report_of(&target, divan::black_box(&account)));
}

/// … the JSON report …
#[divan::bench(sample_count = 20)]
fn phase_json_1000_users(bencher: divan::Bencher) {
    let (target, account) = big_case();
    let report = report_of(&target, &account);
    bencher.bench(|| divan::black_box(&report).to_json());
}

/// … and the HTML report.
#[divan::bench(sample_count = 20)]
fn phase_html_1000_users(bencher: divan::Bencher) {
    let (target, account) = big_case();
    let report = report_of(&target, &account);
    bencher.bench(|| html::render(divan::black_box(&report)));
}

/// … and the HTML report of the same account triaged: a tenth of its failures
/// suppressed, every failure marked new or not, a baseline and a suppressions file named.
#[divan::bench(sample_count = 20)]
fn phase_html_triaged_1000_users(bencher: divan::Bencher) {
    use cloudkestrel::rules::Status;
    use cloudkestrel::triage::{suppressions::Applied, BaselineSummary, SuppressionsSummary};
    let (target, account) = big_case();
    let mut report = report_of(&target, &account);
    let accepted = std::sync::Arc::new(Applied {
        reason: "accepted, reviewed in SEC-1".into(),
        expires: chrono::NaiveDate::from_ymd_opt(2999, 12, 31).unwrap(),
        owner: Some("platform".into()),
    });
    let failures = report
        .results
        .iter_mut()
        .filter(|f| f.status == Status::Fail);
    for (i, f) in failures.enumerate() {
        if i % 10 == 0 {
            f.suppressed = Some(accepted.clone());
        }
        f.new = Some(i % 3 == 0);
    }
    report.summary = cloudkestrel::report::Summary::of(&report.results);
    report.suppressions = Some(SuppressionsSummary {
        file: "suppressions.json".into(),
        expired: Vec::new(),
        unused: Vec::new(),
    });
    report.baseline = Some(BaselineSummary {
        file: "baseline/big.json".into(),
        found: true,
        complete: true,
    });
    report.fixed = Some(Vec::new());
    bencher.bench(|| html::render(divan::black_box(&report)));
}
