//! Failed and malformed answers of every operation that discovers an organization's
//! accounts (DescribeOrganization, ListAccounts, and for `OrganizationalUnits`
//! ListAccountsForParent and ListChildren), through the fault-injecting proxy in front
//! of moto, as tests/faults.rs does for the operations of one account: each must make
//! the entry an error (exit 3, "its accounts could not be discovered", the operation
//! named), for `targets` and for `collect`, which then audits nothing in the entry's
//! name and records no accounts for it. Never a shorter list of accounts.

mod support;

use std::path::Path;

use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::moto::*;

/// The operations, with the members whose absence each answer is tried with.
const OPERATIONS: &[(&str, &[&str])] = &[
    ("organizations:DescribeOrganization", &["Organization"]),
    ("organizations:ListAccounts", &["Accounts", "Id"]),
    ("organizations:ListAccountsForParent", &["Accounts", "Id"]),
    ("organizations:ListChildren", &["Children", "Id"]),
];

struct Seeded {
    keys: Keys,
    /// The organization's root: a unit filter that makes discovery walk every unit.
    root: String,
}

fn seeded() -> &'static Seeded {
    static SEEDED: std::sync::OnceLock<Seeded> = std::sync::OnceLock::new();
    SEEDED.get_or_init(|| {
        let v = seed_json(&account_id(), "organization", &["--users", "1"]);
        Seeded {
            keys: Keys {
                id: v["access_key_id"].as_str().unwrap().into(),
                secret: v["secret_access_key"].as_str().unwrap().into(),
            },
            root: v["units"]["root"].as_str().unwrap().into(),
        }
    })
}

fn work_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("targets.json"),
        format!(
            r#"{{"Targets": [{{"org": {{
  "Credentials": {{"AwsAccessKeyId": "ORG_KEY_ID", "AwsSecretAccessKey": "ORG_SECRET"}},
  "Organization": {{"RoleName": "OrganizationAccountAccessRole", "OrganizationalUnits": ["{}"]}},
  "Rules": [{{"Config": {{"Name": "IAM_USER_MFA_ENABLED"}}}}]}}}}]}}"#,
            seeded().root
        ),
    )
    .unwrap();
    dir
}

fn run(dir: &Path, args: &[&str], url: &str) -> std::process::Output {
    let s = seeded();
    let mut all = args.to_vec();
    all.extend([
        "--endpoint-url",
        url,
        "--region",
        "us-east-1",
        "--max-attempts",
        "1",
    ]);
    if args[0] != "targets" {
        all.push("-q");
    }
    ck(
        dir,
        &all,
        &[("ORG_KEY_ID", &s.keys.id), ("ORG_SECRET", &s.keys.secret)],
    )
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Without faults, discovery through the proxy makes every operation of the table
/// (so each case below changes a real answer) and nothing else of Organizations.
#[test]
fn discovery_through_the_proxy_makes_every_operation() {
    let proxy = FaultProxy::start(&endpoint(), vec![]);
    let dir = work_dir();
    let out = run(dir.path(), &["targets"], &proxy.url);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("4 target(s)"), "{}", text(&out));
    let seen = proxy.seen();
    for (op, _) in OPERATIONS {
        assert!(seen.iter().any(|s| s == op), "{op} not made: {seen:?}");
    }
    for s in seen.iter().filter(|s| s.starts_with("organizations:")) {
        assert!(
            OPERATIONS.iter().any(|(op, _)| op == s),
            "{s} is made by discovery but not tried by these tests"
        );
    }
}

/// Each fault on each operation: an error of the entry, for `targets` and `collect`.
#[test]
fn every_failed_or_malformed_discovery_answer_is_an_error() {
    let mut cases: Vec<(&str, Fault)> = Vec::new();
    for (op, members) in OPERATIONS {
        cases.push((op, Fault::Truncate));
        cases.push((op, Fault::Empty));
        for m in *members {
            cases.push((op, Fault::Remove(m.to_string())));
        }
        for (status, code) in [
            (400, "AccessDeniedException"),
            (400, "TooManyRequestsException"),
            (500, "ServiceException"),
        ] {
            cases.push((op, Fault::Error { status, code }));
        }
        cases.push((op, Fault::Reset));
    }
    let wrong = std::sync::Mutex::new(Vec::new());
    let next = std::sync::Mutex::new(cases.iter());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| loop {
                let Some((op, fault)) = next.lock().unwrap().next().cloned() else {
                    break;
                };
                let found = try_case(op, fault);
                wrong.lock().unwrap().extend(found);
            });
        }
    });
    let wrong = wrong.into_inner().unwrap();
    assert_eq!(cases.len(), 31);
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n\n")
    );
}

/// One case: what went wrong with a fault on one operation's answers, if anything.
fn try_case(op: &str, fault: Fault) -> Vec<String> {
    let mut wrong = Vec::new();
    let proxy = FaultProxy::start(&endpoint(), vec![Rule::new(op, fault.clone())]);
    let dir = work_dir();
    for command in ["targets", "collect"] {
        let out = run(dir.path(), &[command], &proxy.url);
        let t = text(&out);
        let named =
            t.contains("organization org: its accounts could not be discovered") && t.contains(op);
        if out.status.code() != Some(3) || !named || t.contains("panicked") {
            wrong.push(format!(
                "{op} {fault:?}, {command}: exit {:?}\n{t}",
                out.status.code()
            ));
        }
    }
    if proxy.applied(0) == 0 {
        wrong.push(format!("{op} {fault:?}: the fault was never applied"));
    }
    // Nothing audited in the entry's name, no record of its accounts.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("snapshots"))
        .map(|rd| rd.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    if !left.is_empty() {
        wrong.push(format!("{op} {fault:?}: collect wrote {left:?}"));
    }
    wrong
}
