//! Organizations end to end against moto, which keeps state per account and lets
//! `sts:AssumeRole` into `arn:aws:iam::<member>:role/…` act in that member: an
//! organization with members in nested units, one closed, each seeded with a user of
//! its own (tests/moto/seed.py `organization`).

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::moto::*;

struct Org {
    management: String,
    keys: Keys,
    /// m1 (in prod), m2 (in prod/eu), m3 (in the root), m4 (in prod, closed).
    members: serde_json::Map<String, Value>,
    units: serde_json::Map<String, Value>,
}

impl Org {
    fn member(&self, label: &str) -> String {
        self.members[label].as_str().unwrap().to_string()
    }
    fn unit(&self, label: &str) -> String {
        self.units[label].as_str().unwrap().to_string()
    }
}

/// The organization, seeded once for the test binary (tests only read it).
fn org() -> &'static Org {
    static ORG: std::sync::OnceLock<Org> = std::sync::OnceLock::new();
    ORG.get_or_init(|| {
        let management = account_id();
        let v = seed_json(&management, "organization", &["--users", "1"]);
        Org {
            management,
            keys: Keys {
                id: v["access_key_id"].as_str().unwrap().into(),
                secret: v["secret_access_key"].as_str().unwrap().into(),
            },
            members: v["members"].as_object().unwrap().clone(),
            units: v["units"].as_object().unwrap().clone(),
        }
    })
}

/// A work dir whose targets.json has one Organization entry `org` with `filters`
/// (the inside of "Organization" after RoleName).
fn work_dir(filters: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("targets.json"),
        format!(
            r#"{{"Targets": [{{"org": {{
  "Credentials": {{"AwsAccessKeyId": "ORG_KEY_ID", "AwsSecretAccessKey": "ORG_SECRET"}},
  "Organization": {{"RoleName": "OrganizationAccountAccessRole"{filters}}},
  "Rules": [{{"Config": {{"Name": "IAM_USER_MFA_ENABLED"}}}}]}}}}]}}"#
        ),
    )
    .unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    run_at(dir, args, &endpoint())
}

fn run_at(dir: &Path, args: &[&str], url: &str) -> std::process::Output {
    let o = org();
    let mut all = args.to_vec();
    all.extend(["--endpoint-url", url, "--region", "us-east-1"]);
    if args[0] != "targets" {
        all.extend(["--max-attempts", "1"]);
    }
    ck(
        dir,
        &all,
        &[("ORG_KEY_ID", &o.keys.id), ("ORG_SECRET", &o.keys.secret)],
    )
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The targets with reports in `dir/reports`, without the `org-` prefix.
fn reported(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.strip_suffix(".json")
                .and_then(|t| t.strip_prefix("org-"))
                .map(str::to_string)
        })
        .collect()
}

fn users_in(report: &Value) -> BTreeSet<String> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["check"] == "local")
        .map(|r| r["resource_name"].as_str().unwrap().to_string())
        .collect()
}

/// Every ACTIVE account is a target of its own, with its own data; the closed one is
/// skipped and named; the summary files list them all.
#[test]
fn audit_every_active_account_with_its_own_data() {
    let o = org();
    let dir = work_dir("");
    let out = run(dir.path(), &["audit"]);
    let t = text(&out);
    // Findings (users without MFA), no errors.
    assert_eq!(out.status.code(), Some(1), "{t}");
    let (m1, m2, m3, m4) = (
        o.member("m1"),
        o.member("m2"),
        o.member("m3"),
        o.member("m4"),
    );
    assert!(
        t.contains(&format!("not audited: {m4}")) && t.contains("SUSPENDED"),
        "{t}"
    );
    let expected: BTreeSet<String> =
        [o.management.clone(), m1.clone(), m2.clone(), m3.clone()].into();
    assert_eq!(reported(dir.path()), expected);
    for (label, id) in [("m1", &m1), ("m2", &m2), ("m3", &m3)] {
        let r: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("reports/org-{id}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(r["account_id"], id.as_str());
        assert_eq!(r["account_name"], format!("member {label}"));
        assert_eq!(
            users_in(&r),
            [format!("user-{label}")].into(),
            "{label}: another account's data in this snapshot"
        );
    }
    // The management account is audited with the entry's own credentials (its auditor
    // user is there); members through the role.
    let mgmt: Value = serde_json::from_str(
        &std::fs::read_to_string(
            dir.path()
                .join(format!("reports/org-{}.json", o.management)),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(users_in(&mgmt).contains("cloudkestrel-auditor"));
    // AssumeRole calls are counted in each member's snapshot.
    let snap = std::fs::read_dir(dir.path().join(format!("snapshots/org-{m1}")))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let conn = rusqlite::Connection::open(snap).unwrap();
    let assumed: i64 = conn
        .query_row(
            "SELECT count FROM api_calls WHERE operation = 'sts:AssumeRole'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(assumed, 1);
    // The summary across targets.
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["totals"]["targets"], 4);
    let skipped = &summary["organizations"][0]["skipped"];
    assert_eq!(skipped[0]["account_id"], m4.as_str());
    let index = std::fs::read_to_string(dir.path().join("reports/index.html")).unwrap();
    for id in &expected {
        assert!(index.contains(&format!("href=\"org-{id}.html\"")), "{id}");
    }
}

/// The units filter takes nested units; ExcludeAccounts and Accounts narrow and add.
#[test]
fn units_accounts_and_exclusions_choose_the_members() {
    let o = org();
    let (m1, m2, m3) = (o.member("m1"), o.member("m2"), o.member("m3"));
    for (filters, want) in [
        (
            format!(r#", "OrganizationalUnits": ["{}"]"#, o.unit("prod")),
            vec![&m1, &m2],
        ),
        (
            format!(
                r#", "OrganizationalUnits": ["{}"], "ExcludeAccounts": ["{m2}"]"#,
                o.unit("prod")
            ),
            vec![&m1],
        ),
        (
            format!(
                r#", "OrganizationalUnits": ["{}"], "Accounts": ["{m3}"]"#,
                o.unit("prod_eu")
            ),
            vec![&m2, &m3],
        ),
    ] {
        let dir = work_dir(&filters);
        let out = run(dir.path(), &["targets"]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(0), "{filters}: {t}");
        let listed: BTreeSet<String> = t
            .lines()
            .filter_map(|l| l.strip_prefix("org-"))
            .map(|l| l[..12].to_string())
            .collect();
        let want: BTreeSet<String> = want.into_iter().cloned().collect();
        assert_eq!(listed, want, "{filters}: {t}");
    }
    // An account named that the organization does not hold: exit 3, said so.
    let dir = work_dir(r#", "Accounts": ["999999999999"]"#);
    let out = run(dir.path(), &["targets"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out).contains("999999999999 of Accounts is not in the organization"),
        "{}",
        text(&out)
    );
    // Offline: no AWS call, the entry is described.
    let out = ck(dir.path(), &["targets", "--offline"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).contains("organization entry"), "{}", text(&out));
}

/// Shards: disjoint and complete; evaluate offline over their merged snapshots.
#[test]
fn shards_split_the_accounts_and_evaluate_merges_them_offline() {
    let dir = work_dir("");
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for k in 1..=3 {
        let d = work_dir("");
        let out = run(d.path(), &["collect", "--shard", &format!("{k}/3")]);
        assert!(matches!(out.status.code(), Some(0)), "{}", text(&out));
        let snaps = merge(&d.path().join("snapshots"), &dir.path().join("snapshots"));
        total += snaps.len();
        seen.extend(snaps);
        // Every shard records the whole entry's accounts.
        let record: Value = serde_json::from_str(
            &std::fs::read_to_string(d.path().join("snapshots/org.accounts.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(record["accounts"].as_array().unwrap().len(), 4);
    }
    assert_eq!(total, 4, "each account in exactly one shard");
    assert_eq!(seen.len(), 4);
    // The index from the environment, 0-based.
    let d = work_dir("");
    let o = org();
    let out = ck(
        d.path(),
        &[
            "targets",
            "--shard",
            "3",
            "--endpoint-url",
            &endpoint(),
            "--region",
            "us-east-1",
        ],
        &[
            ("ORG_KEY_ID", &o.keys.id),
            ("ORG_SECRET", &o.keys.secret),
            ("JOB_COMPLETION_INDEX", "2"),
        ],
    );
    assert!(text(&out).contains("in shard 3/3"), "{}", text(&out));
    // evaluate, offline (no credentials, no endpoint), over the merged directory.
    let out = ck(dir.path(), &["evaluate"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert_eq!(reported(dir.path()).len(), 4, "{t}");
    assert!(dir.path().join("reports/summary.json").exists());
}

/// Copies the files under `from` into `to`, as `aws s3 sync` merges shards; returns the
/// snapshot directories copied.
fn merge(from: &Path, to: &Path) -> Vec<String> {
    let mut dirs = Vec::new();
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if e.path().is_dir() {
            std::fs::create_dir_all(to.join(&name)).unwrap();
            for f in std::fs::read_dir(e.path()).unwrap() {
                let f = f.unwrap();
                std::fs::copy(f.path(), to.join(&name).join(f.file_name())).unwrap();
            }
            dirs.push(name);
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
    dirs
}

/// evaluate, offline, knows the accounts from collect's record: one whose snapshot is
/// missing is an error (exit 3), never an account left out; a directory of an account
/// the record lacks is not evaluated; an entry with neither record nor snapshots, or
/// with a damaged record, is an error.
#[test]
fn evaluate_offline_notices_an_account_without_a_snapshot() {
    let o = org();
    let dir = work_dir("");
    let out = run(dir.path(), &["collect"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let snaps = dir.path().join("snapshots");
    let m2 = o.member("m2");
    std::fs::remove_dir_all(snaps.join(format!("org-{m2}"))).unwrap();
    let stranger = "org-000011112222";
    std::fs::create_dir_all(snaps.join(stranger)).unwrap();
    let out = ck(dir.path(), &["evaluate"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(
        t.contains(&format!("no snapshot of target org-{m2} was found")),
        "{t}"
    );
    assert!(t.contains(stranger) && t.contains("not evaluated"), "{t}");
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["totals"]["targets"], 4, "{summary}");
    assert_eq!(summary["totals"]["error"], 1, "{summary}");
    assert_eq!(summary["targets"][0]["target"], format!("org-{m2}"));
    // The closed account, from the record, offline.
    assert_eq!(
        summary["organizations"][0]["skipped"][0]["account_id"],
        o.member("m4").as_str()
    );
    // A damaged record: exit 3, the file named.
    let record = snaps.join("org.accounts.json");
    let text_of = std::fs::read_to_string(&record).unwrap();
    std::fs::write(&record, &text_of[..text_of.len() / 2]).unwrap();
    let out = ck(dir.path(), &["evaluate"], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("org.accounts.json:"), "{}", text(&out));
    // Neither record nor snapshots: nothing of the entry can be evaluated.
    let empty = work_dir("");
    let out = ck(empty.path(), &["evaluate"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("no snapshot of any of its accounts"), "{t}");
}

/// A member whose role cannot be assumed is an error for that target; the others go on.
#[test]
fn a_role_that_cannot_be_assumed_is_that_accounts_error() {
    let o = org();
    let m2 = o.member("m2");
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![Rule::new(
            "sts:AssumeRole",
            Fault::Error {
                status: 403,
                code: "AccessDenied",
            },
        )
        .when_body_contains(&m2)],
    );
    let dir = work_dir("");
    let out = run_at(dir.path(), &["audit"], &proxy.url);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(proxy.applied(0) >= 1);
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(format!("reports/org-{m2}.json"))).unwrap(),
    )
    .unwrap();
    let p = &r["problems"][0];
    assert_eq!(p["operation"], "sts:AssumeRole");
    assert_eq!(p["error_code"], "AccessDenied");
    assert!(r["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["status"] == "error"));
    // The others were audited.
    let m1: Value = serde_json::from_str(
        &std::fs::read_to_string(
            dir.path()
                .join(format!("reports/org-{}.json", o.member("m1"))),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(m1["problems"], serde_json::json!([]));
    // The summary puts the target in error first.
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["targets"][0]["target"], format!("org-{m2}"));
    assert_eq!(summary["targets"][0]["status"], "error");
}

/// Discovery refused: the entry is an error, nothing is audited in its name.
#[test]
fn an_organization_that_cannot_be_read_is_an_error() {
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![Rule::new(
            "organizations:ListAccounts",
            Fault::Error {
                status: 400,
                code: "AccessDeniedException",
            },
        )],
    );
    let dir = work_dir("");
    let out = run_at(dir.path(), &["audit"], &proxy.url);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(
        t.contains("organization org: its accounts could not be discovered")
            && t.contains("AccessDeniedException"),
        "{t}"
    );
}
