//! Nothing from an account reaches the terminal raw (issue 12, part 4): an account whose
//! user, policy and Config rule names, annotations and problem messages carry terminal
//! escapes, CR, BS, C1 controls and bidi overrides, through evaluate, apply, export.

mod support;

use cloudkestrel::untrusted::is_unsafe;
use cloudkestrel::{fixture, model::Account};
use support::{ck, code, demo_dir, demo_fixture, import, stderr, stdout, write};

const USER: &str = "mallory\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{8}\u{9b}31m\u{202e}exe.txt";
const POLICY: &str = "inline\u{1b}[2J\u{202e}\u{2066}";
const RULE: &str = "rule\u{1b}]0;pwned\u{7}\u{202e}";
const ANNOTATION: &str = "annotation\u{1b}[2J\r\u{9b}\u{202e}\u{200f}";
const MESSAGE: &str = "denied\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n\u{8}\u{9b}\u{202e}\u{2028}\u{7f}";

/// The demo account with a hostile user (no MFA, an inline policy), its deployed MFA rule
/// renamed, an annotation, and two problems, imported as `snapshots/demo/…`.
fn hostile_dir() -> (tempfile::TempDir, Account) {
    let dir = demo_dir();
    let mut a = demo_fixture();
    a["iam"]["users"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "name": USER, "arn": format!("arn:aws:iam::123456789012:user/{USER}"),
            "user_id": "AIDAMALLORY", "created": "2026-01-01T00:00:00Z",
            "inline_policies": [{"name": POLICY, "document": {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]
        }));
    a["iam"]["credential_report"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "user": USER, "arn": format!("arn:aws:iam::123456789012:user/{USER}"),
            "user_creation_time": "2026-01-01T00:00:00Z", "password_enabled": true,
            "mfa_active": false, "password_last_changed": "2026-01-01T00:00:00Z"
        }));
    let region = &mut a["config"]["regions"][0];
    for r in region["rules"].as_array_mut().unwrap() {
        if r["name"] == "iam-user-mfa-enabled" {
            r["name"] = RULE.into();
        }
    }
    for c in region["compliance"].as_array_mut().unwrap() {
        if c["config_rule_name"] == "iam-user-mfa-enabled" {
            c["config_rule_name"] = RULE.into();
        }
    }
    region["compliance"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "config_rule_name": RULE, "resource_type": "AWS::IAM::User",
            "resource_id": "AIDAMALLORY", "compliance": "NON_COMPLIANT",
            "annotation": ANNOTATION
        }));
    a["problems"] = serde_json::json!([
        {"section": "s3_bucket_details", "operation": "s3:GetBucketAcl",
         "error_code": "AccessDenied\u{1b}[2J", "message": MESSAGE, "resource": "demo-website"},
        {"section": "config_rules", "operation": "config:DescribeConfigRules",
         "error_code": "Throttling", "message": MESSAGE, "region": "us-east-1", "resource": RULE}
    ]);
    let f = write(dir.path(), "hostile.json", &a.to_string());
    let o = import(dir.path(), &f, "snapshots/demo/2026-11-28T00-00-00Z.sqlite");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let account = fixture::load(&f).unwrap();
    (dir, account)
}

/// No character that could drive a terminal, other than the line ends between lines.
fn assert_terminal_safe(what: &str, text: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|c| is_unsafe(*c) && *c != '\n')
        .collect();
    assert!(
        raw.is_empty(),
        "{what}: raw {raw:?} in\n{}",
        text.escape_debug()
    );
}

#[test]
fn evaluate_prints_account_text_escaped() {
    let (dir, _) = hostile_dir();
    let o = ck(dir.path(), &["evaluate"]);
    assert_eq!(code(&o), 3, "{}{}", stdout(&o), stderr(&o));
    let (out, err) = (stdout(&o), stderr(&o));
    assert_terminal_safe("stdout", &out);
    assert_terminal_safe("stderr", &err);
    // The hostile text was printed, escaped: the problems always are.
    assert!(
        out.contains("collection problem: s3_bucket_details s3:GetBucketAcl failed (AccessDenied\\u{1b}[2J, demo-website): denied\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{d}\\u{a}\\u{8}\\u{9b}\\u{202e}\\u{2028}\\u{7f}"),
        "{out}"
    );
    // The JSON report: the same strings to a parser, nothing raw for a terminal.
    let json = std::fs::read_to_string(dir.path().join("reports/demo.json")).unwrap();
    assert!(!json.chars().any(|c| is_unsafe(c) && c != '\n'), "{json}");
    assert!(json.contains("\\u001b]0;pwned\\u0007") && json.contains("\\u202e"));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["problems"][0]["message"], MESSAGE);
    let results = report["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["resource_name"] == USER));
    assert!(results
        .iter()
        .any(|r| r["message"].as_str().unwrap().contains(ANNOTATION)));
    assert!(results
        .iter()
        .any(|r| r["message"].as_str().unwrap().contains(POLICY)));
    // The HTML report shows the characters as markers, never applies them.
    let html = std::fs::read_to_string(dir.path().join("reports/demo.html")).unwrap();
    for c in [
        '\u{1b}', '\u{7}', '\u{8}', '\u{9b}', '\u{202e}', '\u{2066}', '\u{200f}',
    ] {
        assert!(!html.contains(c), "raw {c:?} in the HTML report");
    }
    for marker in ["[U+202E]", "[U+001B]", "[U+009B]", "[U+2066]", "[U+200F]"] {
        assert!(html.contains(marker), "no {marker} in the HTML report");
    }
}

#[test]
fn apply_prints_its_plan_escaped() {
    let (dir, _) = hostile_dir();
    let o = ck(
        dir.path(),
        &[
            "apply",
            "--from-snapshot",
            "snapshots/demo/2026-11-28T00-00-00Z.sqlite",
        ],
    );
    let (out, err) = (stdout(&o), stderr(&o));
    // The problem of the AWS Config rules blocks the plan.
    assert_eq!(code(&o), 3, "{out}{err}");
    assert_terminal_safe("stdout", &out);
    assert_terminal_safe("stderr", &err);
    assert!(
        out.contains("= rule\\u{1b}]0;pwned\\u{7}\\u{202e} in us-east-1 already present"),
        "{out}"
    );
    assert!(
        out.contains("cannot read the account: config:DescribeConfigRules failed (Throttling): denied\\u{1b}]0;pwned"),
        "{out}"
    );
    // One plan line per line: the CR and LF of the message did not break it.
    assert!(out.lines().all(|l| !l.starts_with("\\u")), "{out}");
}

#[test]
fn export_is_valid_json_with_the_same_strings() {
    let (dir, account) = hostile_dir();
    let o = ck(
        dir.path(),
        &[
            "snapshot",
            "export",
            "snapshots/demo/2026-11-28T00-00-00Z.sqlite",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert_terminal_safe("export", &out);
    assert!(
        out.contains("\\u001b]0;pwned\\u0007")
            && out.contains("\\u009b")
            && out.contains("\\u202e")
    );
    let exported: Account = serde_json::from_str(&out).unwrap();
    assert_eq!(exported, account);
    assert_eq!(exported.iam.users.last().unwrap().name, USER);
    // And it is a fixture again.
    let f = write(dir.path(), "again.json", &out);
    assert_eq!(fixture::load(&f).unwrap(), account);
}

/// Off a terminal, log lines are plain: no colour codes.
#[test]
fn log_lines_carry_no_colour_codes_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "targets.json",
        r#"{"Targets": [{"demo": {"Credentials": {"AwsAccessKeyId": "CK_TEST_KEY_ID", "AwsSecretAccessKey": "CK_TEST_SECRET"},
            "Regions": ["us-east-1"], "Rules": [{"Config": {"Name": "IAM_USER_MFA_ENABLED"}}]}}]}"#,
    );
    // Nothing listens on port 1: the first request fails at once.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cloudkestrel"))
        .current_dir(dir.path())
        .args([
            "collect",
            "-v",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--max-attempts",
            "1",
        ])
        .env("CK_TEST_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("CK_TEST_SECRET", "not-a-secret")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(code(&o), 3, "{err}");
    assert!(err.contains(" INFO demo: identity"), "{err}");
    assert!(!err.contains('\u{1b}'), "{}", err.escape_debug());
}
