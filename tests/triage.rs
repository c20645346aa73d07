//! The CI gate end to end: suppressions (glob, expiry, unused, bad files), baselines
//! and `--fail-on new`, `diff`, through the real binary on the demo account.

mod support;

use std::path::Path;

use serde_json::Value;
use support::*;

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("reports/demo.json")).unwrap()).unwrap()
}

fn results<'a>(r: &'a Value, pred: impl Fn(&Value) -> bool + 'a) -> Vec<&'a Value> {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| pred(x))
        .collect()
}

fn evaluate(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["evaluate"];
    args.extend(extra);
    ck(dir, &args)
}

/// A suppression whose glob matches two buckets accepts their failures (and only
/// theirs): they stay `fail`, carry the reason, and no longer make the run exit 1 once
/// every failure is accepted.
#[test]
fn a_glob_suppresses_the_failures_of_two_buckets() {
    let dir = demo_dir();
    write(
        dir.path(),
        "suppressions.json",
        r#"{"Suppressions": [
  {"Rule": "*", "Resource": "arn:aws:s3:::demo-{website,legacy-uploads}", "Targets": ["demo"],
   "Reason": "public by design, reviewed in SEC-142", "Expires": "2999-12-31", "Owner": "web-team"}
]}"#,
    );
    let o = evaluate(dir.path(), &[]);
    assert_eq!(code(&o), 1, "other failures remain: {}", stderr(&o));
    let r = report(dir.path());
    let suppressed = results(&r, |x| x.get("suppressed").is_some());
    let names: std::collections::BTreeSet<&str> = suppressed
        .iter()
        .map(|x| x["resource_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["demo-legacy-uploads", "demo-website"]
    );
    for x in &suppressed {
        assert_eq!(
            x["status"], "fail",
            "a suppressed failure is still a failure: {x}"
        );
        assert_eq!(
            x["suppressed"]["reason"],
            "public by design, reviewed in SEC-142"
        );
        assert_eq!(x["suppressed"]["expires"], "2999-12-31");
        assert_eq!(x["suppressed"]["owner"], "web-team");
    }
    // Every failure of those buckets, and nothing else.
    let bucket_fails = results(&r, |x| {
        x["status"] == "fail"
            && ["demo-website", "demo-legacy-uploads"]
                .contains(&x["resource_name"].as_str().unwrap())
    });
    assert_eq!(bucket_fails.len(), suppressed.len());
    assert_eq!(r["summary"]["suppressed"], suppressed.len());
    assert!(
        stdout(&o).contains(&format!("({} suppressed)", suppressed.len())),
        "{}",
        stdout(&o)
    );

    // Accepting every failure makes the run pass; the statuses do not change.
    write(
        dir.path(),
        "suppressions.json",
        r#"{"Suppressions": [{"Rule": "*", "Resource": "*", "Reason": "demo account", "Expires": "2999-12-31"}]}"#,
    );
    let o = evaluate(dir.path(), &[]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let r = report(dir.path());
    assert_eq!(r["summary"]["fail"], r["summary"]["suppressed"]);
    assert!(r["summary"]["fail"].as_u64().unwrap() > 20);
}

/// Past its date a suppression no longer applies: the finding fails again and the run
/// says which suppression expired (terminal and JSON).
#[test]
fn an_expired_suppression_no_longer_applies_and_says_so() {
    let dir = demo_dir();
    write(
        dir.path(),
        "triage/accepted.json",
        r#"{"Suppressions": [
  {"Rule": "S3_BUCKET_PUBLIC_READ_PROHIBITED", "Resource": "arn:aws:s3:::demo-website",
   "Reason": "until the CDN moves", "Expires": "2020-01-31"}
]}"#,
    );
    let o = evaluate(dir.path(), &["--suppressions", "triage/accepted.json"]);
    assert_eq!(code(&o), 1);
    let r = report(dir.path());
    assert!(results(&r, |x| x.get("suppressed").is_some()).is_empty());
    let expired = r["suppressions"]["expired"].as_array().unwrap();
    assert_eq!(expired.len(), 1, "{}", r["suppressions"]);
    assert_eq!(expired[0]["expires"], "2020-01-31");
    assert_eq!(
        expired[0]["matched"], 2,
        "the aws-config and local failures"
    );
    let err = stderr(&o);
    assert!(
        err.contains("triage/accepted.json:2:")
            && err.contains("expired on 2020-01-31")
            && err.contains("fail again"),
        "{err}"
    );
}

/// A suppression that matches no failure is reported as unused; one for an error is
/// never applied (an error is never accepted).
#[test]
fn unused_suppressions_are_reported_and_errors_are_never_suppressed() {
    let dir = demo_dir();
    write(
        dir.path(),
        "suppressions.json",
        r#"{"Suppressions": [
  {"Rule": "IAM_USER_MFA_ENABLED", "Resource": "arn:aws:iam::123456789012:user/nobody",
   "Reason": "a user that left", "Expires": "2999-01-01"}
]}"#,
    );
    let o = evaluate(dir.path(), &[]);
    let r = report(dir.path());
    assert_eq!(
        r["suppressions"]["unused"][0]["resource"],
        "arn:aws:iam::123456789012:user/nobody"
    );
    assert!(stderr(&o).contains("matched no failure"), "{}", stderr(&o));

    // A snapshot with a collection problem: every IAM check is an error.
    let mut fixture = demo_fixture();
    fixture["problems"] = serde_json::json!([{
        "section": "iam_authorization", "operation": "iam:GetAccountAuthorizationDetails",
        "error_code": "AccessDenied", "message": "denied"}]);
    let f = write(dir.path(), "broken.json", &fixture.to_string());
    let out = dir
        .path()
        .join("snapshots/demo/2026-11-28T08-00-00Z.sqlite");
    assert_eq!(code(&import(dir.path(), &f, out.to_str().unwrap())), 0);
    write(
        dir.path(),
        "suppressions.json",
        r#"{"Suppressions": [{"Rule": "*", "Resource": "*", "Reason": "all", "Expires": "2999-01-01"}]}"#,
    );
    let o = evaluate(dir.path(), &[]);
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    let r = report(dir.path());
    let errors = results(&r, |x| x["status"] == "error");
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|x| x.get("suppressed").is_none()),
        "{errors:?}"
    );
}

/// A bad suppressions file is exit 2 with file, line and column, and nothing is
/// evaluated (no report written).
#[test]
fn bad_suppressions_files_are_usage_errors_and_evaluate_nothing() {
    let cases = [
        (
            r#"{"Suppressions": [{"Rule": "*", "Resource": "*", "Expires": "2027-01-01"}]}"#,
            "1:",
            "Reason",
        ),
        (
            r#"{"Suppressions": [{"Rule": "*", "Resource": "*", "Reason": " ", "Expires": "2027-01-01"}]}"#,
            "1:",
            "is empty",
        ),
        (
            r#"{"Suppressions": [{"Rule": "*", "Resource": "*", "Reason": "r", "Expires": "next year"}]}"#,
            "1:",
            "is not a date",
        ),
        (
            r#"{"Suppressions": [{"Rule": "*", "Resource": "*", "Reason": "r", "Expires": "2027-02-30"}]}"#,
            "1:",
            "is not a date",
        ),
        (
            r#"{"Suppressions": [{"Rule": "IAM_USER_MFA_ENABLD", "Resource": "*", "Reason": "r", "Expires": "2027-01-01"}]}"#,
            "1:",
            "did you mean IAM_USER_MFA_ENABLED?",
        ),
        (
            r#"{"Suppressions": [{"Rule": "*", "Resource": "*", "Reason": "r", "Expires": "2027-01-01", "Owners": "x"}]}"#,
            "1:",
            "Owners",
        ),
        (
            r#"{"Suppressions": [{"Rule": "*", "Resource": "demo-website", "Reason": "r", "Expires": "2027-01-01"}]}"#,
            "1:",
            "arn:aws:s3:::demo-website",
        ),
        (
            r#"{"Suppressions": [{"Rule": "*", "Resource": "arn:aws:s3:::[", "Reason": "r", "Expires": "2027-01-01"}]}"#,
            "1:",
            "not a valid glob",
        ),
        (
            r#"{"Suppressions": [{"Rule": "*", "Resource": "*", "Targets": ["dmeo"], "Reason": "r", "Expires": "2027-01-01"}]}"#,
            "1:",
            "did you mean demo?",
        ),
        (
            r#"{"Suppressions": [{"Rule": "*", "Resource": "*", "Check": "locl", "Reason": "r", "Expires": "2027-01-01"}]}"#,
            "1:",
            "unknown check",
        ),
        (
            r#"{"Suppressions": []} trailing"#,
            "1:",
            "text after the end",
        ),
        (
            r#"{"Suppressions": [["*", "*", "r", "2027-01-01"]]}"#,
            "1:",
            "expected",
        ),
    ];
    for (text, at, says) in cases {
        let dir = demo_dir();
        write(dir.path(), "suppressions.json", text);
        let o = evaluate(dir.path(), &[]);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{text}: {err}");
        assert!(
            err.contains(&format!("suppressions.json:{at}")),
            "{text}: {err}"
        );
        assert!(err.contains(says), "{text}: {err}");
        assert!(
            !dir.path().join("reports").exists(),
            "{text}: something was evaluated"
        );
    }
}

/// The demo account changed: a new user (with the failures of a new user), and bob
/// given MFA (one failure fixed).
fn changed_fixture() -> Value {
    let mut f = demo_fixture();
    let users = f["iam"]["users"].as_array_mut().unwrap();
    let mut zoe = users[0].clone();
    zoe["name"] = "zoe".into();
    zoe["arn"] = "arn:aws:iam::123456789012:user/zoe".into();
    zoe["user_id"] = "AIDAZOE".into();
    zoe["groups"] = serde_json::json!([]);
    users.push(zoe);
    let rows = f["iam"]["credential_report"].as_array_mut().unwrap();
    let mut row = rows.iter().find(|r| r["user"] == "alice").unwrap().clone();
    row["user"] = "zoe".into();
    row["arn"] = "arn:aws:iam::123456789012:user/zoe".into();
    row["mfa_active"] = false.into();
    rows.push(row);
    for r in rows.iter_mut().filter(|r| r["user"] == "bob") {
        r["mfa_active"] = true.into();
    }
    f
}

/// `--baseline` marks every failure new or not and lists what is fixed; `--fail-on new`
/// exits 1 only for new unsuppressed failures; errors still exit 3.
#[test]
fn baselines_mark_new_failures_and_fail_on_new_gates_only_them() {
    let dir = demo_dir();
    assert_eq!(code(&evaluate(dir.path(), &[])), 1);
    std::fs::rename(dir.path().join("reports"), dir.path().join("baseline")).unwrap();

    // The same snapshot against its own report: nothing new, nothing fixed.
    let o = evaluate(
        dir.path(),
        &["--baseline", "baseline/demo.json", "--fail-on", "new"],
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let r = report(dir.path());
    assert_eq!(r["summary"]["new"], 0);
    assert!(results(&r, |x| x["status"] == "fail")
        .iter()
        .all(|x| x["new"] == false));
    assert_eq!(r["fixed"], serde_json::json!([]));
    assert_eq!(r["baseline"]["found"], true);

    // A later snapshot of the changed account.
    let f = write(dir.path(), "changed.json", &changed_fixture().to_string());
    let out = dir
        .path()
        .join("snapshots/demo/2026-12-01T08-00-00Z.sqlite");
    assert_eq!(code(&import(dir.path(), &f, out.to_str().unwrap())), 0);
    let o = evaluate(dir.path(), &["--baseline", "baseline", "--fail-on", "new"]);
    assert_eq!(code(&o), 1, "zoe's failures are new: {}", stdout(&o));
    let r = report(dir.path());
    let new: Vec<&str> = results(&r, |x| x["new"] == true)
        .iter()
        .map(|x| x["resource_name"].as_str().unwrap())
        .collect();
    assert!(
        !new.is_empty() && new.iter().all(|n| *n == "zoe"),
        "{new:?}"
    );
    let fixed = r["fixed"].as_array().unwrap();
    assert!(
        fixed.iter().any(|x| x["resource_name"] == "bob"
            && x["rule"] == "IAM_USER_MFA_ENABLED"
            && x["now"] == "pass"),
        "{fixed:?}"
    );
    assert!(stdout(&o).contains("fail (new)"), "{}", stdout(&o));
    // Accept zoe's failures: nothing new unsuppressed, exit 0; without --fail-on new
    // the old failures still exit 1.
    write(
        dir.path(),
        "suppressions.json",
        r#"{"Suppressions": [{"Rule": "*", "Resource": "arn:aws:iam::123456789012:user/zoe", "Reason": "onboarding", "Expires": "2999-01-01"}]}"#,
    );
    assert_eq!(
        code(&evaluate(
            dir.path(),
            &["--baseline", "baseline", "--fail-on", "new"]
        )),
        0
    );
    assert_eq!(code(&evaluate(dir.path(), &["--baseline", "baseline"])), 1);

    // A directory without the target's report: every failure is new, and it says so.
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let o = evaluate(dir.path(), &["--baseline", "empty", "--fail-on", "new"]);
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("every failure counts as new"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn baseline_mistakes_are_usage_errors() {
    let dir = demo_dir();
    for (args, says) in [
        (vec!["--fail-on", "new"], "--fail-on new needs --baseline"),
        (vec!["--baseline", "nowhere.json"], "no such file"),
    ] {
        let o = evaluate(dir.path(), &args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
    }
    write(
        dir.path(),
        "other.json",
        r#"{"schema_version": 1, "target": "prod", "account_id": null, "summary": {"error": 0}, "results": [], "problems": []}"#,
    );
    let o = evaluate(dir.path(), &["--baseline", "other.json"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not \"demo\""), "{}", stderr(&o));
    write(dir.path(), "garbage.json", "{\"schema_version\": 1,");
    let o = evaluate(dir.path(), &["--baseline", "garbage.json"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("garbage.json:1:"), "{}", stderr(&o));
}

/// `diff` of a report with itself: nothing new, exit 0. Of two snapshots: the new
/// failures, the fixed ones, and what changed in the account.
#[test]
fn diff_reports_and_snapshots() {
    let dir = demo_dir();
    assert_eq!(code(&evaluate(dir.path(), &[])), 1);
    let o = ck(
        dir.path(),
        &["diff", "reports/demo.json", "reports/demo.json"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("new failures: 0") && stdout(&o).contains("fixed: 0"),
        "{}",
        stdout(&o)
    );

    let f = write(dir.path(), "changed.json", &changed_fixture().to_string());
    let later = dir.path().join("later.sqlite");
    assert_eq!(code(&import(dir.path(), &f, later.to_str().unwrap())), 0);
    let earlier = "snapshots/demo/2026-11-27T08-00-00Z.sqlite";
    let o = ck(dir.path(), &["diff", earlier, "later.sqlite"]);
    let text = stdout(&o);
    assert_eq!(code(&o), 1, "{text}{}", stderr(&o));
    assert!(
        text.contains("users added: zoe") && text.contains("users changed: bob"),
        "{text}"
    );
    assert!(
        text.contains("+ IAM_USER_MFA_ENABLED [local] zoe"),
        "{text}"
    );
    assert!(
        text.contains("- IAM_USER_MFA_ENABLED [local] bob"),
        "{text}"
    );

    let o = ck(
        dir.path(),
        &["diff", earlier, "later.sqlite", "--format", "json"],
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["account_changes"]["users"]["added"],
        serde_json::json!(["zoe"])
    );
    assert!(v["new_failures"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["resource_name"] == "zoe"));
    // The other way round: bob's failure comes back, zoe's go.
    assert_eq!(code(&ck(dir.path(), &["diff", "later.sqlite", earlier])), 1);
    // Mixed kinds or unreadable inputs are usage errors.
    assert_eq!(
        code(&ck(
            dir.path(),
            &["diff", "reports/demo.json", "later.sqlite"]
        )),
        2
    );
    assert_eq!(
        code(&ck(dir.path(), &["diff", "reports/demo.json", "nope.json"])),
        2
    );
}

/// A target may give a rule another severity; a word that is not one is exit 2 at its
/// place in targets.json.
#[test]
fn severities_can_be_overridden_per_target() {
    let dir = demo_dir();
    let targets = std::fs::read_to_string(dir.path().join("targets.json")).unwrap();
    let with = |s: &str| {
        targets.replacen(
            "\"Name\": \"IAM_USER_MFA_ENABLED\"",
            &format!("\"Name\": \"IAM_USER_MFA_ENABLED\", \"Severity\": \"{s}\""),
            1,
        )
    };
    write(dir.path(), "targets.json", &with("low"));
    assert_eq!(code(&evaluate(dir.path(), &[])), 1);
    let r = report(dir.path());
    let mfa = results(&r, |x| x["rule"] == "IAM_USER_MFA_ENABLED");
    assert!(!mfa.is_empty() && mfa.iter().all(|x| x["severity"] == "low"));
    assert!(
        results(&r, |x| x["rule"] == "S3_BUCKET_PUBLIC_READ_PROHIBITED")
            .iter()
            .all(|x| x["severity"] == "critical")
    );
    write(dir.path(), "targets.json", &with("urgent"));
    let o = evaluate(dir.path(), &[]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o)
            .contains("Severity: \"urgent\" is not a severity; valid: critical, high, medium, low"),
        "{}",
        stderr(&o)
    );
}

/// With `--fail-on new`, a failure the baseline already had still fails the run once
/// the suppression that accepted it expires: its acceptance ran out.
#[test]
fn an_expired_suppression_fails_even_an_unchanged_finding() {
    let dir = demo_dir();
    let accept_all = |expires: &str| {
        format!(
            r#"{{"Suppressions": [{{"Rule": "*", "Resource": "*", "Reason": "r", "Expires": "{expires}"}}]}}"#
        )
    };
    write(dir.path(), "suppressions.json", &accept_all("2999-01-01"));
    assert_eq!(code(&evaluate(dir.path(), &[])), 0);
    std::fs::rename(dir.path().join("reports"), dir.path().join("baseline")).unwrap();
    let args = ["--baseline", "baseline", "--fail-on", "new"];
    assert_eq!(code(&evaluate(dir.path(), &args)), 0);
    write(dir.path(), "suppressions.json", &accept_all("2001-01-01"));
    let o = evaluate(dir.path(), &args);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let r = report(dir.path());
    let lapsed = results(&r, |x| x.get("expired_suppression").is_some());
    assert!(!lapsed.is_empty());
    assert!(lapsed
        .iter()
        .all(|x| x["new"] == false && x["expired_suppression"]["expires"] == "2001-01-01"));
}
