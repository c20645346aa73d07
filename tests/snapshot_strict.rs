//! Snapshots are read as strictly as they are written (issue 12): a value outside what
//! the writer stores is refused with the table, column, row and value, and `evaluate`
//! then reports errors (exit 3), never a verdict drawn from a lenient reading.
//!
//! Each case edits the demo snapshot with SQLite and seals it again, so that the
//! reader's check of the content, not the seal, is what refuses it.

mod common;

use std::path::Path;
use std::process::Command;

use cloudkestrel::snapshot::{self, SnapshotError};
use common::*;

const FORCE_MFA: &str = "arn:aws:iam::123456789012:policy/Force_MFA";

/// A document with a key written twice, as SQL text.
const TWICE: &str = r#"'{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}]}'"#;

/// (what is edited, the SQL, what the message must say).
fn cases() -> Vec<(String, String, Vec<String>)> {
    let mut cases: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut case = |sql: String, says: &[&str]| {
        cases.push((
            says[0].to_string(),
            sql,
            says.iter().map(|s| s.to_string()).collect(),
        ))
    };
    // Every boolean column, with a value that is neither 0 nor 1.
    let booleans: [(&str, &str, &str, &str); 15] = [
        (
            "iam_credential_report",
            "mfa_active",
            "user = 'bob'",
            "row of user \"bob\"",
        ),
        (
            "iam_credential_report",
            "password_enabled",
            "user = 'carol'",
            "row of user \"carol\"",
        ),
        (
            "iam_credential_report",
            "access_key_1_active",
            "user = 'carol'",
            "row of user \"carol\"",
        ),
        (
            "iam_credential_report",
            "access_key_1_active",
            "user = '<root_account>'",
            "row of user \"<root_account>\"",
        ),
        (
            "iam_policy_versions",
            "is_default",
            "version_id = 'v2' AND policy_arn LIKE '%Force_MFA'",
            &format!("row of policy_arn \"{FORCE_MFA}\", version_id \"v2\""),
        ),
        (
            "config_recorders",
            "all_supported",
            "1",
            "row of region \"us-east-1\", name \"default\"",
        ),
        (
            "config_recorders",
            "include_global_resource_types",
            "1",
            "row of region \"us-east-1\", name \"default\"",
        ),
        (
            "config_recorders",
            "recording",
            "1",
            "row of region \"us-east-1\", name \"default\"",
        ),
        (
            "s3_account_public_access_block",
            "block_public_acls",
            "1",
            "",
        ),
        (
            "s3_account_public_access_block",
            "ignore_public_acls",
            "1",
            "",
        ),
        (
            "s3_account_public_access_block",
            "block_public_policy",
            "1",
            "",
        ),
        (
            "s3_account_public_access_block",
            "restrict_public_buckets",
            "1",
            "",
        ),
        (
            "s3_bucket_public_access_blocks",
            "block_public_acls",
            "bucket = 'demo-config-logs'",
            "row of bucket \"demo-config-logs\"",
        ),
        (
            "s3_bucket_public_access_blocks",
            "ignore_public_acls",
            "bucket = 'demo-config-logs'",
            "row of bucket \"demo-config-logs\"",
        ),
        (
            "s3_bucket_public_access_blocks",
            "restrict_public_buckets",
            "bucket = 'demo-config-logs'",
            "row of bucket \"demo-config-logs\"",
        ),
    ];
    for (n, (table, column, row, shown)) in booleans.into_iter().enumerate() {
        // 2, -1, 5 and the text 'true' in turn: none is a boolean the writer stores.
        let (value, as_shown) =
            [("2", "2"), ("-1", "-1"), ("5", "5"), ("'true'", "\"true\"")][n % 4];
        let at = if shown.is_empty() {
            format!("table {table}, column {column}")
        } else {
            format!("table {table}, column {column}, {shown}")
        };
        case(
            format!("UPDATE {table} SET {column} = {value} WHERE {row}"),
            &[&at, &format!(": {as_shown} is not a boolean (0 or 1)")],
        );
    }
    case(
        "UPDATE s3_bucket_public_access_blocks SET block_public_policy = 2 WHERE bucket = 'demo-config-logs'".into(),
        &["table s3_bucket_public_access_blocks, column block_public_policy, row of bucket \"demo-config-logs\": 2 is not a boolean (0 or 1)"],
    );
    case(
        "UPDATE iam_credential_report SET access_key_2_active = 1 WHERE user = 'bob'".into(),
        &["table iam_credential_report, column access_key_2_last_rotated, row of user \"bob\": NULL is not a timestamp, while the key's active column is set"],
    );
    case(
        "UPDATE iam_credential_report SET access_key_1_active = NULL WHERE user = 'alice'".into(),
        &["table iam_credential_report, column access_key_1_active, row of user \"alice\": NULL is not a boolean (0 or 1), while the key's other columns are set"],
    );
    case(
        "UPDATE iam_policy_versions SET is_default = 1 WHERE version_id = 'v1' AND policy_arn LIKE '%Force_MFA'".into(),
        &[&format!("table iam_policy_versions, column is_default, row of policy_arn \"{FORCE_MFA}\", version_id \"v1\": 1 disagrees with the policy's default version \"v2\"")],
    );
    // Closed sets of text values.
    case(
        "UPDATE s3_bucket_acl_grants SET grantee_type = 'Robot' WHERE rowid = 1".into(),
        &["table s3_bucket_acl_grants, column grantee_type, row of bucket \"demo-legacy-uploads\", grantee ", ": \"Robot\" is not an ACL grantee type (AmazonCustomerByEmail, CanonicalUser, Group)"],
    );
    case(
        "UPDATE s3_bucket_acl_grants SET permission = 'read' WHERE rowid = 2".into(),
        &["table s3_bucket_acl_grants, column permission, row of bucket \"demo-legacy-uploads\", grantee ", ": \"read\" is not an ACL permission (FULL_CONTROL, READ, READ_ACP, WRITE, WRITE_ACP)"],
    );
    case(
        "UPDATE s3_buckets SET ownership_controls = 'Nobody' WHERE name = 'demo-website'".into(),
        &["table s3_buckets, column ownership_controls, row of name \"demo-website\": \"Nobody\" is not an Object Ownership setting (BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter)"],
    );
    case(
        "UPDATE config_rules SET source_owner = 'ME' WHERE name = 'iam-user-mfa-enabled'".into(),
        &["table config_rules, column source_owner, row of region \"us-east-1\", name \"iam-user-mfa-enabled\": \"ME\" is not a Config rule source owner (AWS, CUSTOM_LAMBDA, CUSTOM_POLICY)"],
    );
    case(
        "UPDATE config_rules SET state = 'BROKEN' WHERE name = 'iam-user-mfa-enabled'".into(),
        &["table config_rules, column state, row of region \"us-east-1\", name \"iam-user-mfa-enabled\": \"BROKEN\" is not a Config rule state (ACTIVE, DELETING, DELETING_RESULTS, EVALUATING)"],
    );
    case(
        "UPDATE config_rules SET maximum_execution_frequency = 'Hourly' WHERE name = 'iam-root-access-key-check'".into(),
        &["table config_rules, column maximum_execution_frequency, row of region \"us-east-1\", name \"iam-root-access-key-check\": \"Hourly\" is not a Config rule execution frequency (One_Hour, Three_Hours, Six_Hours, Twelve_Hours, TwentyFour_Hours)"],
    );
    case(
        "UPDATE config_compliance SET compliance = 'INSUFFICIENT_DATA' WHERE rowid = 1".into(),
        &["table config_compliance, column compliance, row of region \"us-east-1\", config_rule_name ", ": \"INSUFFICIENT_DATA\" is not an evaluation result compliance (COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE)"],
    );
    case(
        "INSERT INTO problems VALUES ('weather', 'sts:GetCallerIdentity', 'Rain', 'wet', NULL, NULL)".into(),
        &["table problems, column section, row of operation \"sts:GetCallerIdentity\": \"weather\" is not a section"],
    );
    case(
        format!("INSERT INTO iam_policy_attachments VALUES ('{FORCE_MFA}', 'robot', 'alice')"),
        &[&format!("table iam_policy_attachments, column principal_type, row of policy_arn \"{FORCE_MFA}\", principal_name \"alice\": \"robot\" is not a principal type (user, group, role)")],
    );
    // Counts.
    case(
        "UPDATE api_calls SET count = -1 WHERE operation = 'sts:GetCallerIdentity'".into(),
        &["table api_calls, column count, row of operation \"sts:GetCallerIdentity\": -1 is not a count (an integer, 0 or more)"],
    );
    case(
        "UPDATE iam_account_summary SET value = -5 WHERE key = 'Users'".into(),
        &["table iam_account_summary, column value, row of key \"Users\": -5 is not a count"],
    );
    case(
        "UPDATE iam_policies SET attachment_count = 1.5 WHERE name = 'Force_MFA'".into(),
        &[&format!("table iam_policies, column attachment_count, row of arn \"{FORCE_MFA}\": 1.5 is not a count")],
    );
    // Tables of exactly one row, or at most one.
    case(
        "INSERT INTO snapshot_info SELECT * FROM snapshot_info".into(),
        &["table snapshot_info has 2 rows, and a snapshot has exactly one"],
    );
    case(
        "DELETE FROM snapshot_info".into(),
        &["table snapshot_info has 0 rows, and a snapshot has exactly one"],
    );
    case(
        "INSERT INTO s3_account_public_access_block VALUES (0, 0, 0, 0)".into(),
        &["table s3_account_public_access_block has 2 rows, and a snapshot has at most one"],
    );
    case(
        "INSERT INTO iam_password_policy VALUES ('{}')".into(),
        &["table iam_password_policy has 2 rows, and a snapshot has at most one"],
    );
    // Stored documents go through the parser collected ones do.
    case(
        format!("UPDATE iam_policy_versions SET document = {TWICE} WHERE version_id = 'v2' AND policy_arn LIKE '%Force_MFA'"),
        &[&format!("table iam_policy_versions, column document, row of policy_arn \"{FORCE_MFA}\", version_id \"v2\": the document is refused: the key \"Effect\" appears twice in one object")],
    );
    case(
        format!("UPDATE iam_inline_policies SET document = {TWICE} WHERE principal_name = 'carol'"),
        &["table iam_inline_policies, column document, row of principal_name \"carol\", policy_name \"carol-s3\": the document is refused: the key \"Effect\" appears twice"],
    );
    case(
        format!("INSERT INTO iam_roles VALUES ('ops', 'arn:aws:iam::123456789012:role/ops', '/', {TWICE}, NULL)"),
        &["table iam_roles, column trust_policy, row of name \"ops\": the document is refused: the key \"Effect\" appears twice"],
    );
    case(
        format!("UPDATE s3_buckets SET policy = {TWICE} WHERE name = 'demo-website'"),
        &["table s3_buckets, column policy, row of name \"demo-website\": the document is refused: the key \"Effect\" appears twice"],
    );
    case(
        r#"UPDATE iam_password_policy SET document = '{"MinimumPasswordLength": 8, "MinimumPasswordLength": 64}'"#.into(),
        &["table iam_password_policy, column document: the document is refused: the key \"MinimumPasswordLength\" appears twice"],
    );
    case(
        "UPDATE s3_buckets SET policy = '{\"Version\": ' WHERE name = 'demo-website'".into(),
        &["table s3_buckets, column policy, row of name \"demo-website\": the document is refused: not valid JSON"],
    );
    // Rows of things the snapshot does not hold.
    case(
        "INSERT INTO s3_bucket_acl_grants VALUES ('ghost', 'Group', 'http://acs.amazonaws.com/groups/global/AllUsers', 'READ')".into(),
        &["ACL grants or public access blocks of buckets the snapshot does not hold: bucket \"ghost\""],
    );
    case(
        "INSERT INTO iam_policy_versions VALUES ('arn:aws:iam::123456789012:policy/Gone', 'v1', NULL, 1, '{}')".into(),
        &["versions of policies the snapshot does not hold: policy \"arn:aws:iam::123456789012:policy/Gone\""],
    );
    case(
        "UPDATE iam_users SET created = 'yesterday' WHERE name = 'alice'".into(),
        &["table iam_users, column created, row of name \"alice\": \"yesterday\" is not an RFC 3339 timestamp"],
    );
    case(
        "UPDATE config_recorders SET region = 'mars-1'".into(),
        &["table config_recorders, column region, row of region \"mars-1\", name \"default\": \"mars-1\" is not a region of config_regions"],
    );
    cases
}

/// `cloudkestrel evaluate` of `snapshot` as the newest snapshot of the demo target (what
/// `evaluate` without paths picks), in `dir`.
fn evaluate(dir: &Path, snapshot: &Path) -> std::process::Output {
    let newest = dir.join("snapshots/demo/2026-11-27T08-00-00Z.sqlite");
    std::fs::create_dir_all(newest.parent().unwrap()).unwrap();
    std::fs::copy(snapshot, &newest).unwrap();
    Command::new(env!("CARGO_BIN_EXE_cloudkestrel"))
        .current_dir(dir)
        .arg("evaluate")
        .arg("--targets")
        .arg(root().join("targets.example.json"))
        .output()
        .expect("the binary runs")
}

#[test]
fn every_value_outside_its_domain_is_refused_and_evaluates_to_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    assert!(cases.len() > 40, "{} cases", cases.len());
    for (n, (what, sql, says)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{n}.sqlite"));
        demo_edited(&path, sql);
        let e = expect_refused(&path, what);
        let msg = e.to_string();
        assert!(
            matches!(e, SnapshotError::Invalid { .. }),
            "{sql}: not refused as invalid: {msg}"
        );
        for s in says {
            assert!(
                msg.contains(s.as_str()),
                "{sql}:\n  {msg}\nshould say\n  {s}"
            );
        }
        assert!(
            msg.contains("re-collect or restore it from the archive"),
            "{msg}"
        );

        // evaluate: exit 3, every result an error, the refusal in the report.
        let out = evaluate(dir.path(), &path);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{sql}: {text}");
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("reports/demo.json")).unwrap(),
        )
        .unwrap();
        let results = report["results"].as_array().unwrap();
        assert!(!results.is_empty());
        for r in results {
            assert_eq!(r["status"], "error", "{sql}: {r}");
            assert!(
                r["message"].as_str().unwrap().contains(says[0].as_str()),
                "{sql}: {r}"
            );
        }
        assert_eq!(report["summary"]["pass"], 0, "{sql}");
        assert_eq!(report["summary"]["fail"], 0, "{sql}");
        std::fs::remove_dir_all(dir.path().join("reports")).unwrap();
    }
}

/// The lenient reading this replaces: rusqlite reads any non-zero integer as `true`,
/// so bob (no MFA: a failure) passed with `mfa_active = 2`.
#[test]
fn a_user_without_mfa_cannot_pass_by_a_flag_of_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    snapshot::write(&path, &demo()).unwrap();
    evaluate(dir.path(), &path);
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/demo.json")).unwrap(),
    )
    .unwrap();
    let bob_mfa = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["rule"] == "IAM_USER_MFA_ENABLED"
                && r["check"] == "local"
                && r["resource_name"] == "bob"
        })
        .expect("the local MFA check of bob");
    assert_eq!(bob_mfa["status"], "fail", "{bob_mfa}");
    demo_edited(
        &path,
        "UPDATE iam_credential_report SET mfa_active = 2 WHERE user = 'bob'",
    );
    let out = evaluate(dir.path(), &path);
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Nothing was decided: one error per rule, none a pass or a failure.
    assert!(
        stdout.contains("ERROR    demo: 0 resource findings, 0 pass; account: 11 errors"),
        "{stdout}"
    );
}

/// What collect can write is what the reader accepts: the writer refuses an account
/// holding a value outside its domain instead of writing a snapshot evaluate refuses.
#[test]
fn the_writer_refuses_what_the_reader_would() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let mut account = demo();
    account.s3.buckets[3].acl_grants[0].permission = "EVERYTHING".into();
    let e = snapshot::write(&path, &account).unwrap_err().to_string();
    assert!(
        e.contains(
            "bucket \"demo-legacy-uploads\": permission: \"EVERYTHING\" is not an ACL permission"
        ),
        "{e}"
    );
    let mut account = demo();
    account.config.regions[0].rules[0].source_owner = String::new();
    let e = snapshot::write(&path, &account).unwrap_err().to_string();
    assert!(
        e.contains("source_owner: \"\" is not a Config rule source owner"),
        "{e}"
    );
    let mut account = demo();
    account.api_calls.insert("s3:ListBuckets".into(), u64::MAX);
    assert!(snapshot::write(&path, &account).is_err());
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // A fixture holding one is bad input for `snapshot import` (exit 2), not a snapshot.
    let mut fixture: serde_json::Value =
        serde_json::from_str(&cloudkestrel::fixture::to_json(&demo())).unwrap();
    fixture["config"]["regions"][0]["compliance"][0]["compliance"] = "MAYBE".into();
    let file = dir.path().join("f.json");
    std::fs::write(&file, fixture.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cloudkestrel"))
        .args(["snapshot", "import"])
        .arg(&file)
        .arg("--out")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("compliance: \"MAYBE\" is not an evaluation result compliance"),
        "{stderr}"
    );
    assert!(!path.exists());
}

/// `peek_target` reads the name without the seal; it still refuses a snapshot with two
/// names, and a name changed in the file never gives a verdict under that name.
#[test]
fn a_changed_target_name_never_gives_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.sqlite");
    demo_edited(
        &path,
        "INSERT INTO snapshot_info SELECT 'other', account_id, caller_arn, collected_at, tool_version, account_name FROM snapshot_info",
    );
    let e = snapshot::peek_target(&path).unwrap_err().to_string();
    assert!(e.contains("table snapshot_info has 2 rows"), "{e}");

    // The name changed in place, seal not renewed: peek reads "other", evaluate refuses.
    let path = dir.path().join("renamed.sqlite");
    snapshot::write(&path, &demo()).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(6)
        .position(|w| w == b"demo12")
        .expect("the target name precedes the account id");
    bytes[at..at + 4].copy_from_slice(b"dem0");
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(snapshot::peek_target(&path).unwrap(), "dem0");
    let targets = dir.path().join("targets.json");
    let example = std::fs::read_to_string(root().join("targets.example.json")).unwrap();
    std::fs::write(&targets, example.replacen("\"demo\"", "\"dem0\"", 1)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cloudkestrel"))
        .current_dir(dir.path())
        .arg("evaluate")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let report = std::fs::read_to_string(dir.path().join("reports/dem0.json")).unwrap();
    assert!(
        report.contains("the file is truncated or damaged"),
        "{report}"
    );
    assert!(!report.contains("\"status\": \"pass\""), "{report}");
    assert!(!report.contains("\"status\": \"fail\""), "{report}");
}

/// A snapshot's tables are exactly CloudKestrel's: a table, view, index or trigger
/// added, a column added, dropped or retyped is refused naming it (the reader reads only
/// what it knows, so an added table or column was accepted).
#[test]
fn a_schema_not_exactly_ours_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (sql, says) in [
        ("CREATE TABLE notes (x TEXT)", "table \"notes\" is not in a CloudKestrel snapshot"),
        ("CREATE VIEW v AS SELECT 1", "view \"v\" is not in"),
        ("CREATE INDEX i ON iam_users (arn)", "index \"i\" is not in"),
        (
            "CREATE TRIGGER t AFTER INSERT ON regions BEGIN SELECT 1; END",
            "trigger \"t\" is not in",
        ),
        ("ALTER TABLE iam_users ADD COLUMN mfa TEXT", "table \"iam_users\" has the columns ("),
        ("ALTER TABLE problems DROP COLUMN resource", "table \"problems\" has the columns ("),
        (
            "CREATE TABLE r2 (region INTEGER PRIMARY KEY); DROP TABLE regions; ALTER TABLE r2 RENAME TO regions",
            "\"region\" \"INTEGER\" PRIMARY KEY), not (\"region\" \"TEXT\" PRIMARY KEY)",
        ),
        ("DROP TABLE api_calls", "table \"api_calls\" is missing"),
    ] {
        let path = dir.path().join("s.sqlite");
        demo_edited(&path, sql);
        let e = expect_refused(&path, sql);
        let msg = e.to_string();
        assert!(matches!(e, SnapshotError::Invalid { .. }), "{sql}: {msg}");
        assert!(msg.contains("its schema is not CloudKestrel's"), "{sql}: {msg}");
        assert!(msg.contains(says), "{sql}:\n  {msg}\nshould say\n  {says}");
        let out = evaluate(dir.path(), &path);
        assert_eq!(out.status.code(), Some(3), "{sql}");
        let report = std::fs::read_to_string(dir.path().join("reports/demo.json")).unwrap();
        assert!(!report.contains("\"status\": \"pass\""), "{sql}");
        std::fs::remove_dir_all(dir.path().join("reports")).unwrap();
    }
}
