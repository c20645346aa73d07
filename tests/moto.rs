//! collect and audit end to end, over HTTP against a real moto server on 127.0.0.1.
//!
//! `scripts/test` starts the server and sets CLOUDKESTREL_MOTO_ENDPOINT. Each test seeds
//! its own accounts (distinct account ids) through the AWS API with tests/moto/seed.py
//! and runs the real binary.

mod support;

use std::path::Path;

use serde_json::Value;
use support::moto::*;

#[test]
fn audit_two_accounts_and_a_target_without_credentials() {
    let (a1, a2) = (account_id(), account_id());
    let mixed = seed(&a1, "mixed", &[]);
    let weaker = seed(&a2, "weaker", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("targets.json"),
        r#"{ "Targets": [
  { "mixed": { "Credentials": { "AwsAccessKeyId": "MIXED_KEY_ID", "AwsSecretAccessKey": "MIXED_SECRET" },
    "Rules": [
      { "Policy": { "Name": "Force_MFA", "IgnoreUsers": ["cloudkestrel-auditor"] } },
      { "Policy": { "Name": "User_Source_IP_Restrictions", "Source_IPs": ["195.89.85.67"] } },
      { "Config": { "Name": "IAM_USER_MFA_ENABLED", "IgnoreUsers": ["cloudkestrel-auditor"] } },
      { "Config": { "Name": "IAM_USER_NO_POLICIES_CHECK", "AddIfMissing": true } },
      { "Config": { "Name": "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS" } },
      { "Config": { "Name": "S3_BUCKET_PUBLIC_READ_PROHIBITED" } },
      { "Config": { "Name": "S3_BUCKET_PUBLIC_WRITE_PROHIBITED" } } ] } },
  { "weaker": { "Credentials": { "AwsAccessKeyId": "WEAKER_KEY_ID", "AwsSecretAccessKey": "WEAKER_SECRET" },
    "Rules": [ { "Policy": { "Name": "Force_MFA" } }, { "Config": { "Name": "IAM_USER_MFA_ENABLED", "IgnoreUsers": ["cloudkestrel-auditor"] } } ] } },
  { "nocreds": { "Credentials": { "AwsAccessKeyId": "NOCREDS_KEY_ID", "AwsSecretAccessKey": "NOCREDS_SECRET" },
    "Rules": [ { "Config": { "Name": "IAM_USER_MFA_ENABLED" } } ] } } ] }"#,
    )
    .unwrap();
    let out = ck_moto(
        dir.path(),
        &["audit", "-vv"],
        &[
            ("MIXED_KEY_ID", &mixed.id),
            ("MIXED_SECRET", &mixed.secret),
            ("WEAKER_KEY_ID", &weaker.id),
            ("WEAKER_SECRET", &weaker.secret),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // The missing variable (and moto's unimplemented compliance API) make it 3.
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("NOCREDS_KEY_ID") && stderr.contains("nocreds"),
        "{stderr}"
    );

    // Each key pair reached its own account.
    let m = report(dir.path(), "mixed");
    let w = report(dir.path(), "weaker");
    assert_eq!(m["account_id"], a1.as_str());
    assert_eq!(w["account_id"], a2.as_str());

    // Users with and without MFA.
    assert_eq!(
        status_of(&m, "IAM_USER_MFA_ENABLED", "local", "alice"),
        "pass"
    );
    assert_eq!(
        status_of(&m, "IAM_USER_MFA_ENABLED", "local", "bob"),
        "fail"
    );
    assert_eq!(
        status_of(&m, "IAM_USER_MFA_ENABLED", "local", "cloudkestrel-auditor"),
        "pass"
    );
    // Attached through a group, directly, not at all.
    assert_eq!(status_of(&m, "Force_MFA", "attached", "alice"), "pass");
    assert_eq!(status_of(&m, "Force_MFA", "attached", "bob"), "pass");
    assert_eq!(status_of(&m, "Force_MFA", "attached", "carol"), "fail");
    assert_eq!(
        status_of(&m, "IAM_USER_NO_POLICIES_CHECK", "local", "bob"),
        "fail"
    );
    assert_eq!(
        status_of(&m, "IAM_USER_NO_POLICIES_CHECK", "local", "carol"),
        "fail"
    );
    assert_eq!(
        status_of(&m, "IAM_USER_NO_POLICIES_CHECK", "local", "alice"),
        "pass"
    );
    assert_eq!(
        status_of(
            &m,
            "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
            "local",
            "BreakGlass"
        ),
        "fail"
    );
    // Force_MFA reordered is identical; Bool instead of BoolIfExists is weaker.
    assert_eq!(
        status_of(&m, "Force_MFA", "policy-document", "Force_MFA"),
        "pass"
    );
    assert_eq!(
        status_of(
            &m,
            "User_Source_IP_Restrictions",
            "policy-document",
            "User_Source_IP_Restrictions"
        ),
        "pass"
    );
    assert_eq!(
        status_of(&w, "Force_MFA", "policy-document", "Force_MFA"),
        "fail"
    );
    assert!(message_of(&w, "Force_MFA", "policy-document", "Force_MFA").contains("BoolIfExists"));
    // Buckets: public ACL, public policy, fixed SourceVpc, private, public write in another region.
    let p = format!("ck-{a1}");
    assert_eq!(
        status_of(
            &m,
            "S3_BUCKET_PUBLIC_READ_PROHIBITED",
            "local",
            &format!("{p}-public-acl")
        ),
        "fail"
    );
    assert_eq!(
        status_of(
            &m,
            "S3_BUCKET_PUBLIC_READ_PROHIBITED",
            "local",
            &format!("{p}-public-policy")
        ),
        "fail"
    );
    assert_eq!(
        status_of(
            &m,
            "S3_BUCKET_PUBLIC_READ_PROHIBITED",
            "local",
            &format!("{p}-vpc-only")
        ),
        "pass"
    );
    assert_eq!(
        status_of(
            &m,
            "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
            "local",
            &format!("{p}-vpc-only")
        ),
        "pass"
    );
    assert_eq!(
        status_of(
            &m,
            "S3_BUCKET_PUBLIC_READ_PROHIBITED",
            "local",
            &format!("{p}-private")
        ),
        "pass"
    );
    assert_eq!(
        status_of(
            &m,
            "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
            "local",
            &format!("{p}-eu-dropbox")
        ),
        "fail"
    );
    // A bucket policy with "Effect" written twice: an error for that bucket, never a verdict.
    for rule in [
        "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
    ] {
        assert_eq!(status_of(&m, rule, "local", &format!("{p}-twice")), "error");
        assert!(
            message_of(&m, rule, "local", &format!("{p}-twice")).contains("appears twice"),
            "{}",
            message_of(&m, rule, "local", &format!("{p}-twice"))
        );
    }
    // IAM documents with a key written twice: the managed policy's admin check is an
    // error, the inline one is a scoped problem; every other IAM check still decides.
    assert_eq!(
        status_of(
            &m,
            "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
            "local",
            "Twice"
        ),
        "error"
    );
    assert!(message_of(
        &m,
        "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
        "local",
        "Twice"
    )
    .contains("appears twice"));
    let scoped: Vec<&Value> = m["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["error_code"] == "InvalidPolicyDocument")
        .collect();
    assert_eq!(
        scoped
            .iter()
            .map(|p| p["resource"].as_str().unwrap().to_string())
            .collect::<Vec<_>>(),
        [
            format!("arn:aws:iam::{a1}:user/carol"),
            format!("arn:aws:iam::{a1}:policy/Twice")
        ],
        "{scoped:?}"
    );
    assert_eq!(
        status_of(&m, "IAM_USER_NO_POLICIES_CHECK", "local", "carol"),
        "fail",
        "an inline policy that cannot be read is still an inline policy"
    );
    // AWS Config: some rules deployed, others missing (with the apply hint).
    assert_eq!(
        status_of(&m, "IAM_USER_MFA_ENABLED", "deployed", &a1),
        "pass"
    );
    assert_eq!(
        status_of(&m, "S3_BUCKET_PUBLIC_READ_PROHIBITED", "deployed", &a1),
        "pass"
    );
    assert_eq!(
        status_of(&m, "IAM_USER_NO_POLICIES_CHECK", "deployed", &a1),
        "fail"
    );
    assert!(
        message_of(&m, "IAM_USER_NO_POLICIES_CHECK", "deployed", &a1)
            .contains("cloudkestrel apply")
    );
    assert_eq!(
        status_of(&m, "S3_BUCKET_PUBLIC_WRITE_PROHIBITED", "deployed", &a1),
        "fail"
    );
    assert_eq!(
        status_of(&w, "IAM_USER_MFA_ENABLED", "deployed", &a2),
        "fail"
    );
    // moto does not implement GetComplianceDetailsByConfigRule: an error, never a pass.
    assert_eq!(
        status_of(
            &m,
            "IAM_USER_MFA_ENABLED",
            "aws-config",
            "iam-user-mfa-enabled"
        ),
        "error"
    );
    // The target without credentials: a report of errors naming the variable.
    let n = report(dir.path(), "nocreds");
    assert_eq!(n["summary"]["pass"], 0);
    assert!(n["summary"]["error"].as_u64().unwrap() > 0);
    assert!(n.to_string().contains("NOCREDS_KEY_ID"));

    // The snapshot records the bucket's own region and every request.
    let snap = cloudkestrel::snapshot::read(&only_snapshot(dir.path(), "mixed")).unwrap();
    let eu = snap
        .s3
        .buckets
        .iter()
        .find(|b| b.name.ends_with("-eu-dropbox"))
        .unwrap();
    assert_eq!(eu.region, "eu-west-1");
    assert_eq!(snap.api_calls["iam:GetAccountAuthorizationDetails"], 1);
    assert!(stdout.contains("requests in"), "{stdout}");

    // No secret anywhere: snapshots, reports, output (at -vv).
    for secret in [&mixed.secret, &weaker.secret] {
        assert!(
            !stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()),
            "a secret reached the output"
        );
        for sub in ["snapshots/mixed", "snapshots/weaker", "reports"] {
            for f in std::fs::read_dir(dir.path().join(sub)).unwrap() {
                let bytes = std::fs::read(f.unwrap().path()).unwrap();
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "a secret reached {sub}"
                );
            }
        }
    }
    // Nothing half-written is left behind.
    for t in ["mixed", "weaker", "nocreds"] {
        for f in std::fs::read_dir(dir.path().join("snapshots").join(t)).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with('.'), "temporary file left: {name}");
        }
    }
}

#[test]
fn iam_requests_do_not_depend_on_the_number_of_users() {
    let (small_acct, big_acct) = (account_id(), account_id());
    let small = seed(&small_acct, "scale", &["--users", "20", "--buckets", "3"]);
    let big = seed(&big_acct, "scale", &["--users", "500", "--buckets", "3"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("targets.json"),
        r#"{ "Targets": [
  { "small": { "Credentials": { "AwsAccessKeyId": "S_ID", "AwsSecretAccessKey": "S_SECRET" }, "Rules": [ { "Config": { "Name": "IAM_USER_MFA_ENABLED" } } ] },
    "big": { "Credentials": { "AwsAccessKeyId": "B_ID", "AwsSecretAccessKey": "B_SECRET" }, "Rules": [ { "Config": { "Name": "IAM_USER_MFA_ENABLED" } } ] } } ] }"#,
    )
    .unwrap();
    let out = ck_moto(
        dir.path(),
        &["collect"],
        &[
            ("S_ID", &small.id),
            ("S_SECRET", &small.secret),
            ("B_ID", &big.id),
            ("B_SECRET", &big.secret),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let iam_calls = |target: &str| {
        let snap = cloudkestrel::snapshot::read(&only_snapshot(dir.path(), target)).unwrap();
        let n_users = snap.iam.users.len();
        let calls: Vec<(String, u64)> = snap
            .api_calls
            .into_iter()
            .filter(|(op, _)| op.starts_with("iam:") && op != "iam:GenerateCredentialReport")
            .collect();
        (n_users, calls)
    };
    let (n_small, small_calls) = iam_calls("small");
    let (n_big, big_calls) = iam_calls("big");
    assert_eq!(
        (n_small, n_big),
        (21, 501),
        "the auditor user is counted too"
    );
    assert_eq!(
        small_calls, big_calls,
        "IAM requests must not grow with users"
    );
    assert!(
        big_calls.iter().map(|(_, n)| n).sum::<u64>() <= 6,
        "{big_calls:?}"
    );
}

#[test]
fn an_unreachable_endpoint_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("targets.json"),
        r#"{ "Targets": [ { "t": { "Credentials": { "AwsAccessKeyId": "K", "AwsSecretAccessKey": "S" }, "Rules": [ { "Config": { "Name": "IAM_USER_MFA_ENABLED" } } ] } } ] }"#,
    )
    .unwrap();
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = ck(
        dir.path(),
        // --format reaches audit's evaluation too: only the JSON report.
        &[
            "audit",
            "--endpoint-url",
            &url,
            "--max-attempts",
            "1",
            "--format",
            "json",
        ],
        &[("K", "AKIAEXAMPLEEXAMPLE"), ("S", "secret")],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(dir.path(), "t");
    assert!(!dir.path().join("reports/t.html").exists());
    assert_eq!(r["summary"]["pass"], 0);
    assert_eq!(r["problems"][0]["section"], "identity");
    assert_eq!(r["problems"][0]["error_code"], "ConnectionFailure");
}

#[test]
fn unknown_target_names_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("targets.example.json"),
        dir.path().join("targets.json"),
    )
    .unwrap();
    let out = ck(dir.path(), &["collect", "--target", "dmeo"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Did you mean demo?"));
    assert!(!dir.path().join("snapshots").exists());
}

#[test]
fn profiles_and_assumed_roles_reach_their_accounts() {
    let (home, other, via_profile) = (account_id(), account_id(), account_id());
    let keys = seed(&home, "weaker", &[]);
    let profile_keys = seed(&via_profile, "weaker", &[]);
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        format!(
            "[audit-profile]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            profile_keys.id, profile_keys.secret
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("targets.json"),
        format!(
            r#"{{ "Targets": [ {{
  "assumed": {{ "Credentials": {{ "AwsAccessKeyId": "K", "AwsSecretAccessKey": "S" }},
    "RoleArn": "arn:aws:iam::{other}:role/CloudKestrelAudit", "ExternalId": "ck-test",
    "Rules": [ {{ "Config": {{ "Name": "IAM_USER_GROUP_MEMBERSHIP_CHECK" }} }} ] }},
  "profiled": {{ "Profile": "audit-profile", "Regions": ["us-east-1"],
    "Rules": [ {{ "Config": {{ "Name": "IAM_USER_GROUP_MEMBERSHIP_CHECK" }} }} ] }} }} ] }}"#
        ),
    )
    .unwrap();
    let out = ck_moto(
        dir.path(),
        &["collect"],
        &[
            ("K", &keys.id),
            ("S", &keys.secret),
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let assumed = cloudkestrel::snapshot::read(&only_snapshot(dir.path(), "assumed")).unwrap();
    assert_eq!(
        assumed.metadata.account_id, other,
        "the role's account, not the caller's"
    );
    assert!(
        assumed
            .metadata
            .caller_arn
            .contains("assumed-role/CloudKestrelAudit"),
        "{}",
        assumed.metadata.caller_arn
    );
    let profiled = cloudkestrel::snapshot::read(&only_snapshot(dir.path(), "profiled")).unwrap();
    assert_eq!(profiled.metadata.account_id, via_profile);
    assert!(profiled.iam.users.iter().any(|u| u.name == "dave"));
}

/// The AWS Config rules of an account, as `collect` reads them: (name, InputParameters).
fn config_rules(dir: &Path, env: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
    let snaps = dir.join("state");
    let _ = std::fs::remove_dir_all(&snaps);
    let ep = endpoint();
    let out = ck(
        dir,
        &[
            "collect",
            "--snapshot-dir",
            snaps.to_str().unwrap(),
            "--endpoint-url",
            &ep,
            "--max-attempts",
            "1",
            "-q",
        ],
        env,
    );
    assert!(out.status.code().is_some(), "collect ran");
    let target_dir = std::fs::read_dir(&snaps)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let file = std::fs::read_dir(target_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let account = cloudkestrel::snapshot::read(&file).unwrap();
    let mut rules: Vec<(String, Option<String>)> = account
        .config
        .regions
        .iter()
        .flat_map(|r| {
            r.rules
                .iter()
                .map(|x| (x.name.clone(), x.input_parameters.clone()))
        })
        .collect();
    rules.sort();
    rules
}

#[test]
fn apply_adds_what_is_missing_once_and_only_when_confirmed() {
    let account = account_id();
    let keys = seed(&account, "mixed", &[]);
    let dir = tempfile::tempdir().unwrap();
    let targets = |age: u32| {
        format!(
            r#"{{ "Targets": [ {{ "acct": {{ "Credentials": {{ "AwsAccessKeyId": "K", "AwsSecretAccessKey": "S" }}, "Regions": ["us-east-1"],
  "Rules": [
    {{ "Config": {{ "Name": "IAM_USER_MFA_ENABLED", "AddIfMissing": true }} }},
    {{ "Config": {{ "Name": "IAM_USER_NO_POLICIES_CHECK", "AddIfMissing": true }} }},
    {{ "Config": {{ "Name": "IAM_USER_UNUSED_CREDENTIALS_CHECK", "AddIfMissing": true, "Parameters": {{ "maxCredentialUsageAge": {age} }} }} }},
    {{ "Config": {{ "Name": "IAM_USER_GROUP_MEMBERSHIP_CHECK", "AddIfMissing": true, "Parameters": {{ "groupNames": "DevOps, SecurityAudit" }} }} }},
    {{ "Config": {{ "Name": "S3_BUCKET_PUBLIC_WRITE_PROHIBITED", "AddIfMissing": true }} }},
    {{ "Config": {{ "Name": "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS" }} }} ] }} }} ] }}"#
        )
    };
    std::fs::write(dir.path().join("targets.json"), targets(45)).unwrap();
    let env = [("K", keys.id.as_str()), ("S", keys.secret.as_str())];
    let ep = endpoint();
    let before = config_rules(dir.path(), &env);
    assert_eq!(
        before.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["iam-user-mfa-enabled", "s3-bucket-public-read-prohibited"]
    );

    // --dry-run: the plan, and nothing changed.
    let out = ck(
        dir.path(),
        &["apply", "--dry-run", "--endpoint-url", &ep],
        &env,
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("+ add iam-user-unused-credentials-check in us-east-1"),
        "{text}"
    );
    assert!(
        text.contains(r#"InputParameters {"maxCredentialUsageAge":"45"}"#),
        "{text}"
    );
    assert!(
        text.contains("MaximumExecutionFrequency TwentyFour_Hours"),
        "{text}"
    );
    assert!(text.contains("Scope AWS::S3::Bucket"), "{text}");
    assert!(
        text.contains("= iam-user-mfa-enabled in us-east-1 already present"),
        "{text}"
    );
    assert!(
        !text.contains("iam-policy-no-statements-with-admin-access"),
        "not AddIfMissing: {text}"
    );
    assert_eq!(config_rules(dir.path(), &env), before);

    // No --yes and no terminal: refused, nothing changed.
    let out = ck(dir.path(), &["apply", "--endpoint-url", &ep], &env);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(config_rules(dir.path(), &env), before);

    // --yes: added, with the parameters as AWS expects them.
    let out = ck(dir.path(), &["apply", "--yes", "--endpoint-url", &ep], &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let after = config_rules(dir.path(), &env);
    let find = |name: &str| after.iter().find(|r| r.0 == name).map(|r| r.1.clone());
    assert_eq!(
        find("iam-user-unused-credentials-check"),
        Some(Some(r#"{"maxCredentialUsageAge":"45"}"#.into()))
    );
    assert_eq!(
        find("iam-user-group-membership-check"),
        Some(Some(r#"{"groupNames":"DevOps,SecurityAudit"}"#.into()))
    );
    assert!(find("iam-user-no-policies-check").is_some());
    assert!(find("s3-bucket-public-write-prohibited").is_some());
    assert!(find("iam-policy-no-statements-with-admin-access").is_none());
    assert_eq!(after.len(), 6);

    // A second run is a no-op.
    let out = ck(dir.path(), &["apply", "--yes", "--endpoint-url", &ep], &env);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to do"));
    assert_eq!(config_rules(dir.path(), &env), after);

    // A parameter changed in targets.json is reported, never changed.
    std::fs::write(dir.path().join("targets.json"), targets(60)).unwrap();
    let out = ck(dir.path(), &["apply", "--yes", "--endpoint-url", &ep], &env);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("≠ iam-user-unused-credentials-check") && text.contains("not changed"),
        "{text}"
    );
    assert_eq!(config_rules(dir.path(), &env), after);

    // The same plan from a snapshot, without calling AWS.
    let snap = std::fs::read_dir(dir.path().join("state/acct"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = ck(
        dir.path(),
        &["apply", "--from-snapshot", snap.to_str().unwrap()],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("nothing to add") && text.contains("dry run"),
        "{text}"
    );
}

#[test]
fn apply_adds_nothing_without_a_recorder_and_says_what_is_missing() {
    let account = account_id();
    let keys = seed(&account, "weaker", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("targets.json"),
        r#"{ "Targets": [ { "acct": { "Credentials": { "AwsAccessKeyId": "K", "AwsSecretAccessKey": "S" }, "Regions": ["us-east-1"],
  "Rules": [ { "Config": { "Name": "IAM_USER_MFA_ENABLED", "AddIfMissing": true } } ] } } ] }"#,
    )
    .unwrap();
    let env = [("K", keys.id.as_str()), ("S", keys.secret.as_str())];
    let ep = endpoint();
    let out = ck(dir.path(), &["apply", "--yes", "--endpoint-url", &ep], &env);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(3), "{text}");
    for needle in [
        "configuration recorder",
        "put-configuration-recorder",
        "put-delivery-channel",
        "start-configuration-recorder",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(
        config_rules(dir.path(), &env).is_empty(),
        "nothing may be added"
    );
}
