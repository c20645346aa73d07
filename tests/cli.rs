//! The binary, end to end: every exit code and the bad-input messages.

mod support;

use support::{ck, code, demo_dir, demo_fixture, import, root, stderr, stdout, write};

/// Rules that pass on the demo account.
const PASSING_TARGETS: &str = r#"{ "Targets": [ { "demo": { "Rules": [
  { "Policy": { "Name": "Force_MFA", "IgnoreUsers": ["carol", "cloudkestrel-auditor"] } },
  { "Config": { "Name": "S3_BUCKET_PUBLIC_READ_PROHIBITED", "Options": {} } }
] } } ] }"#;

#[test]
fn exit_1_when_a_result_fails_and_reports_are_written() {
    let dir = demo_dir();
    let o = ck(dir.path(), &["evaluate"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("demo:"), "{}", stdout(&o));
    assert!(dir.path().join("reports/demo.json").is_file());
    assert!(dir.path().join("reports/demo.html").is_file());
}

#[test]
fn format_chooses_the_reports_and_removes_a_stale_one() {
    let dir = demo_dir();
    let json = dir.path().join("reports/demo.json");
    let html = dir.path().join("reports/demo.html");
    let o = ck(dir.path(), &["evaluate", "--format", "json"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(json.is_file() && !html.exists());
    assert!(stdout(&o).contains("demo.json"), "{}", stdout(&o));
    let first = std::fs::read_to_string(&json).unwrap();
    // Only HTML now: the JSON of the earlier run must not stay next to it.
    let o = ck(dir.path(), &["evaluate", "--format", "html"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(html.is_file() && !json.exists());
    // Both by default, and the JSON is the same whatever else was written.
    let o = ck(dir.path(), &["evaluate"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(html.is_file());
    assert_eq!(std::fs::read_to_string(&json).unwrap(), first);
    // Repeated and comma-separated formats add up; a format named twice counts once.
    for args in [
        &["--format", "json", "--format", "html"][..],
        &["--format", "json,html,json"][..],
    ] {
        std::fs::remove_file(&html).unwrap();
        let o = ck(dir.path(), &[&["evaluate"][..], args].concat());
        assert_eq!(code(&o), 1, "{args:?}: {}", stderr(&o));
        assert!(html.is_file() && json.is_file(), "{args:?}");
    }
    // A wrong or empty format is a usage error that writes and removes nothing.
    let before = (
        std::fs::read(&html).unwrap(),
        std::fs::metadata(&json).unwrap().modified().unwrap(),
    );
    for bad in ["htm", "xml", "", "html,"] {
        let o = ck(dir.path(), &["evaluate", "--format", bad]);
        assert_eq!(code(&o), 2, "--format {bad:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("possible values: html, json"),
            "{}",
            stderr(&o)
        );
        assert_eq!(std::fs::read(&html).unwrap(), before.0);
        assert_eq!(
            std::fs::metadata(&json).unwrap().modified().unwrap(),
            before.1
        );
    }
    let o = ck(dir.path(), &["evaluate", "--format", "htm"]);
    assert!(
        stderr(&o).contains("a similar value exists: 'html'"),
        "{}",
        stderr(&o)
    );
    // A stale report that cannot be removed is a write error (exit 3), not a silent
    // leftover, and the new HTML does not stay beside it either.
    std::fs::remove_file(&json).unwrap();
    std::fs::create_dir(&json).unwrap();
    let o = ck(dir.path(), &["evaluate", "--format", "html"]);
    assert_eq!(code(&o), 3, "{}{}", stdout(&o), stderr(&o));
    assert!(
        format!("{}{}", stdout(&o), stderr(&o)).contains("cannot write the report"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(!html.exists());
}

#[test]
fn exit_0_when_everything_passes() {
    let dir = demo_dir();
    // demo-website is public: drop it from a copy of the fixture to get an all-pass account.
    let mut account = demo_fixture();
    account["s3"]["buckets"]
        .as_array_mut()
        .unwrap()
        .retain(|b| b["name"] != "demo-website");
    account["config"]["regions"][0]["compliance"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["resource_id"] != "demo-website");
    let fixture = write(dir.path(), "pass.json", &account.to_string());
    let o = import(
        dir.path(),
        &fixture,
        "snapshots/demo/2026-11-28T00-00-00Z.sqlite",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    write(dir.path(), "targets.json", PASSING_TARGETS);
    let o = ck(dir.path(), &["evaluate"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    // The newest snapshot was taken, not the demo one.
    let report = std::fs::read_to_string(dir.path().join("reports/demo.json")).unwrap();
    assert!(report.contains("2026-11-28T00-00-00Z.sqlite"), "{report}");
}

#[test]
fn exit_3_when_a_snapshot_is_missing_corrupt_or_has_problems() {
    let dir = demo_dir();
    // No snapshot for a second target.
    let t = std::fs::read_to_string(dir.path().join("targets.json")).unwrap();
    let two = t.replacen(r#""Targets": ["#, r#""Targets": [ { "other": { "Rules": [ { "Config": { "Name": "IAM_USER_MFA_ENABLED" } } ] } },"#, 1);
    write(dir.path(), "targets.json", &two);
    let o = ck(dir.path(), &["evaluate"]);
    assert_eq!(
        code(&o),
        3,
        "a failing target plus a target without snapshot: 3 beats 1\n{}",
        stdout(&o)
    );
    let report = std::fs::read_to_string(dir.path().join("reports/other.json")).unwrap();
    assert!(report.contains("no snapshot of target other"), "{report}");

    // A corrupt file given explicitly.
    let bad = write(
        dir.path(),
        "garbage.sqlite",
        "this is not a database at all, just text that is long enough",
    );
    let o = ck(dir.path(), &["evaluate", bad.to_str().unwrap()]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("garbage.sqlite"), "{}", stderr(&o));

    // A truncated snapshot.
    let full = std::fs::read(
        dir.path()
            .join("snapshots/demo/2026-11-27T08-00-00Z.sqlite"),
    )
    .unwrap();
    let cut = dir.path().join("cut.sqlite");
    std::fs::write(&cut, &full[..full.len() / 3]).unwrap();
    let o = ck(dir.path(), &["evaluate", cut.to_str().unwrap()]);
    assert_eq!(code(&o), 3, "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn a_collection_problem_is_an_error_and_exit_3() {
    let dir = demo_dir();
    let mut account = demo_fixture();
    account["problems"] = serde_json::json!([{
        "section": "iam_credential_report", "operation": "iam:GetCredentialReport",
        "error_code": "AccessDenied", "message": "not authorized to perform iam:GetCredentialReport"
    }]);
    let fixture = write(dir.path(), "problem.json", &account.to_string());
    let o = import(
        dir.path(),
        &fixture,
        "snapshots/demo/2026-11-29T00-00-00Z.sqlite",
    );
    assert_eq!(code(&o), 0);
    let o = ck(dir.path(), &["evaluate"]);
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/demo.json")).unwrap(),
    )
    .unwrap();
    let mfa_local: Vec<&serde_json::Value> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "IAM_USER_MFA_ENABLED" && r["check"] == "local")
        .collect();
    assert_eq!(mfa_local.len(), 1);
    assert_eq!(mfa_local[0]["status"], "error");
    assert_eq!(report["problems"][0]["error_code"], "AccessDenied");
}

#[test]
fn exit_2_for_bad_targets_files_with_position_and_hints() {
    let dir = demo_dir();
    let cases: &[(&str, &[&str])] = &[
        // JSON syntax error: file, line and column.
        ("{ \"Targets\": [ { \"demo\": { \"Rules\": [ }\n] }", &["targets.json:1:", "expected"]),
        // Unknown rule: did you mean, and what is valid.
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [\n  { \"Config\": { \"Name\": \"IAM_USER_MFA_ENABLD\" } }\n] } } ] }",
            &["targets.json:2:", "Targets[0].demo.Rules[0]", "did you mean IAM_USER_MFA_ENABLED?", "Valid Config rules"],
        ),
        // A Policy rule written as a Config rule.
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [ { \"Config\": { \"Name\": \"Force_MFA\" } } ] } } ] }",
            &["Force_MFA is a Policy rule"],
        ),
        // Unknown keys are errors.
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [ { \"Config\": { \"Name\": \"IAM_USER_MFA_ENABLED\", \"AddIfMisssing\": true } } ] } } ] }",
            &["unknown field `AddIfMisssing`", "AddIfMissing"],
        ),
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [], \"Credential\": {} } } ] }",
            &["unknown field `Credential`"],
        ),
        // Bad IP.
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [ { \"Policy\": { \"Name\": \"User_Source_IP_Restrictions\", \"Source_IPs\": [\"195.89.85\"] } } ] } } ] }",
            &["\"195.89.85\" is not an IP address or CIDR range"],
        ),
        // Missing IPs.
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [ { \"Policy\": { \"Name\": \"User_Source_IP_Restrictions\" } } ] } } ] }",
            &["needs at least one allowed source IP"],
        ),
        // Parameters: unknown and wrongly typed.
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [ { \"Config\": { \"Name\": \"IAM_USER_UNUSED_CREDENTIALS_CHECK\", \"Parameters\": { \"maxCredentialUsage\": 90 } } } ] } } ] }",
            &["unknown Parameters key \"maxCredentialUsage\"", "did you mean maxCredentialUsageAge?"],
        ),
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [ { \"Config\": { \"Name\": \"IAM_USER_UNUSED_CREDENTIALS_CHECK\", \"Parameters\": { \"maxCredentialUsageAge\": \"ninety\" } } } ] } } ] }",
            &["maxCredentialUsageAge", "a positive whole number"],
        ),
        // IgnoreUsers where it does not apply.
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [ { \"Config\": { \"Name\": \"IAM_ROOT_ACCESS_KEY_CHECK\", \"IgnoreUsers\": [\"x\"] } } ] } } ] }",
            &["IgnoreUsers does not apply"],
        ),
        // A secret where an environment variable name belongs.
        (
            "{ \"Targets\": [ { \"demo\": { \"Credentials\": { \"AwsAccessKeyId\": \"DEMO_KEY\", \"AwsSecretAccessKey\": \"wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY01\" }, \"Rules\": [ { \"Policy\": { \"Name\": \"Force_MFA\" } } ] } } ] }",
            &["Credentials.AwsSecretAccessKey", "must be the NAME of an environment variable", "not shown"],
        ),
        // A target that checks nothing.
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [] } } ] }",
            &["targets.json:1:", "Targets[0].demo.Rules", "lists no rule"],
        ),
        // Duplicate keys, which JSON parsers would silently collapse.
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [ { \"Policy\": { \"Name\": \"Force_MFA\" } } ] },\n  \"demo\": { \"Rules\": [ { \"Policy\": { \"Name\": \"Force_MFA\" } } ] } } ] }",
            &["targets.json:2:", "\"demo\" appears twice"],
        ),
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [ { \"Config\": { \"Name\": \"IAM_USER_UNUSED_CREDENTIALS_CHECK\", \"Parameters\": { \"maxCredentialUsageAge\": 45, \"maxCredentialUsageAge\": 400 } } } ] } } ] }",
            &["\"maxCredentialUsageAge\" appears twice"],
        ),
        // A rule configured twice.
        (
            "{ \"Targets\": [ { \"demo\": { \"Rules\": [ { \"Policy\": { \"Name\": \"Force_MFA\" } }, { \"Policy\": { \"Name\": \"Force_MFA\" } } ] } } ] }",
            &["targets.json:1:", "Targets[0].demo.Rules[1]", "configured twice"],
        ),
    ];
    for (text, needles) in cases {
        write(dir.path(), "targets.json", text);
        let o = ck(dir.path(), &["evaluate"]);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{text}\n{err}");
        for n in *needles {
            assert!(err.contains(n), "message for\n{text}\nlacks {n:?}:\n{err}");
        }
        assert!(
            !dir.path().join("reports").exists(),
            "nothing may be evaluated on bad input"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(!err.contains("wJalrXUtnFEMI"), "a secret was echoed: {err}");
    }
}

#[test]
fn exit_2_for_usage_errors() {
    let dir = demo_dir();
    let o = ck(dir.path(), &["evaluate", "--targets", "nope.json"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("nope.json: cannot read"),
        "{}",
        stderr(&o)
    );

    let o = ck(dir.path(), &["evaluate", "--no-such-flag"]);
    assert_eq!(code(&o), 2);

    let o = ck(dir.path(), &["frobnicate"]);
    assert_eq!(code(&o), 2);

    let o = ck(dir.path(), &["rules", "--explain", "IAM_USER_MFA"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("Did you mean IAM_USER_MFA_ENABLED?"),
        "{}",
        stderr(&o)
    );

    // A snapshot of a target that targets.json does not define.
    write(
        dir.path(),
        "targets.json",
        r#"{ "Targets": [ { "prod": { "Rules": [ { "Policy": { "Name": "Force_MFA" } } ] } } ] }"#,
    );
    let o = ck(
        dir.path(),
        &["evaluate", "snapshots/demo/2026-11-27T08-00-00Z.sqlite"],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("\"demo\""), "{}", stderr(&o));

    // A bad fixture: file, line, column and path.
    let f = write(dir.path(), "bad-fixture.json", "{\n  \"metadata\": { \"target\": \"x\", \"account_id\": \"1\",\n    \"collected_at\": \"yesterday\" } }");
    let o = import(dir.path(), &f, "x.sqlite");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("bad-fixture.json:3:"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("metadata.collected_at"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn help_lists_exit_codes() {
    let o = ck(&root(), &["evaluate", "--help"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    for needle in [
        "0  every result passed",
        "1  at least one result failed",
        "2  invalid input",
        "3  a target could not be fully audited",
    ] {
        assert!(out.contains(needle), "{out}");
    }
}

#[test]
fn rules_lists_and_explains_every_rule() {
    let o = ck(&root(), &["rules"]);
    assert_eq!(code(&o), 0);
    for r in cloudkestrel::rules::RULES {
        assert!(stdout(&o).contains(r.meta().name));
        let e = ck(&root(), &["rules", "--explain", r.meta().name]);
        assert_eq!(code(&e), 0);
        assert!(stdout(&e).contains("## What it checks"), "{}", stdout(&e));
    }
}

#[test]
fn export_prints_the_fixture_back() {
    let dir = demo_dir();
    let o = ck(
        dir.path(),
        &[
            "snapshot",
            "export",
            "snapshots/demo/2026-11-27T08-00-00Z.sqlite",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let exported: cloudkestrel::model::Account = serde_json::from_slice(&o.stdout).unwrap();
    let original = cloudkestrel::fixture::load(&root().join("fixtures/demo-account.json")).unwrap();
    assert_eq!(exported, original);
}

#[test]
fn half_written_snapshots_are_never_picked() {
    let dir = demo_dir();
    // What an interrupted collect leaves: a hidden temporary file, newer by name.
    write(
        dir.path(),
        "snapshots/demo/.2026-12-31T00-00-00Z.sqlite.tmp-4242",
        "partial",
    );
    write(
        dir.path(),
        "snapshots/demo/.2026-12-31T00-00-00Z.sqlite",
        "partial",
    );
    let o = ck(dir.path(), &["evaluate"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let report = std::fs::read_to_string(dir.path().join("reports/demo.json")).unwrap();
    assert!(report.contains("2026-11-27T08-00-00Z.sqlite"), "{report}");
}

#[test]
fn apply_plans_from_a_snapshot_and_checks_its_flags() {
    let dir = demo_dir();
    let o = ck(
        dir.path(),
        &[
            "apply",
            "--from-snapshot",
            "snapshots/demo/2026-11-27T08-00-00Z.sqlite",
        ],
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    // The demo account records in us-east-1 and has 3 of the 8 rules.
    assert!(
        out.contains("+ add iam-user-no-policies-check in us-east-1"),
        "{out}"
    );
    assert!(
        out.contains("+ add s3-bucket-public-write-prohibited in us-east-1"),
        "{out}"
    );
    assert!(
        out.contains("= iam-user-mfa-enabled in us-east-1 already present"),
        "{out}"
    );
    assert!(out.contains("dry run: nothing changed"), "{out}");
    let o = ck(dir.path(), &["apply", "--dry-run", "--yes"]);
    assert_eq!(code(&o), 2);
    let o = ck(dir.path(), &["apply", "--from-snapshot", "missing.sqlite"]);
    assert_eq!(code(&o), 3);
}

#[test]
fn inconsistent_fixtures_are_bad_input() {
    let dir = demo_dir();
    let mut account = demo_fixture();
    let alice = account["iam"]["users"][0].clone();
    account["iam"]["users"].as_array_mut().unwrap().push(alice);
    let f = write(dir.path(), "dup.json", &account.to_string());
    let o = import(dir.path(), &f, "dup.sqlite");
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("user \"alice\" appears twice"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("dup.sqlite").exists());
}

#[test]
fn apply_never_overwrites_a_rule_that_has_the_name_it_needs() {
    let dir = demo_dir();
    let mut account = demo_fixture();
    account["config"]["regions"][0]["rules"].as_array_mut().unwrap().push(serde_json::json!({
        "name": "iam-user-no-policies-check", "source_owner": "CUSTOM_LAMBDA", "source_identifier": "arn:aws:lambda:us-east-1:123456789012:function:mine"
    }));
    let f = write(dir.path(), "clash.json", &account.to_string());
    let o = import(dir.path(), &f, "clash.sqlite");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = ck(dir.path(), &["apply", "--from-snapshot", "clash.sqlite"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 3, "{out}");
    assert!(
        out.contains(
            "conflict in us-east-1: a rule named iam-user-no-policies-check already exists"
        ),
        "{out}"
    );
    assert!(!out.contains("+ add iam-user-no-policies-check"), "{out}");
}

/// A reader that has gone (`cloudkestrel rules --explain … | head -1`, `evaluate |
/// less` quit early): output stops quietly, no panic, and the exit code is still the
/// command's own. The pipe's read end is closed before the command starts writing.
#[test]
fn a_closed_stdout_ends_output_quietly() {
    use std::process::{Command, Stdio};
    let dir = demo_dir();
    for (args, expected) in [
        (vec!["rules", "--explain", "IAM_USER_MFA_ENABLED"], 0),
        (vec!["rules"], 0),
        (vec!["evaluate"], 1),
        (
            vec![
                "snapshot",
                "export",
                "snapshots/demo/2026-11-27T08-00-00Z.sqlite",
            ],
            0,
        ),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cloudkestrel"))
            .args(&args)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(expected), "{args:?}: {err}");
    }
}
