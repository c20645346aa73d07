//! Failed and malformed answers of every operation collect and apply make, through a
//! fault-injecting proxy in front of moto (tests/support/fault_proxy.rs): each answer
//! cut in half, emptied, or without a member the API always returns must end as a
//! `MalformedResponse` problem of that operation; AccessDenied, throttling, a 5xx and a
//! connection cut without an answer as a problem of that operation too (AWS's code
//! kept); each with `error` results for the checks that needed it, and exit 3, never a
//! pass.
//!
//! One account is seeded so that every operation answers 200 with a document
//! (tests/moto/seed.py `complete`); AWS Config's compliance results, which moto does not
//! implement, are answered by the proxy. Cases run a few at a time.

mod support;

use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::moto::*;

/// Every operation `collect` makes (a `RoleArn` target, so `sts:AssumeRole` too), with
/// the members whose absence each answer is tried with: list elements, names, flags.
/// (`ID` in an ACL is the owner's, the first one; `Grantee` the first grant's.)
const OPERATIONS: &[(&str, &[&str])] = &[
    ("sts:AssumeRole", &["Credentials", "AccessKeyId"]),
    ("sts:GetCallerIdentity", &["Account", "Arn"]),
    (
        "iam:GetAccountAuthorizationDetails",
        &[
            "UserDetailList",
            "Policies",
            "UserName",
            "PolicyVersionList",
            "IsTruncated",
        ],
    ),
    ("iam:GenerateCredentialReport", &["State"]),
    ("iam:GetCredentialReport", &["Content", "GeneratedTime"]),
    ("iam:GetAccountSummary", &["SummaryMap"]),
    (
        "iam:GetAccountPasswordPolicy",
        &["PasswordPolicy", "MinimumPasswordLength"],
    ),
    (
        "iam:ListVirtualMFADevices",
        &["VirtualMFADevices", "SerialNumber"],
    ),
    (
        "config:DescribeConfigurationRecorders",
        &["ConfigurationRecorders", "name", "recordingGroup"],
    ),
    (
        "config:DescribeConfigurationRecorderStatus",
        &["ConfigurationRecordersStatus", "name"],
    ),
    (
        "config:DescribeDeliveryChannels",
        &["DeliveryChannels", "s3BucketName"],
    ),
    (
        "config:DescribeConfigRules",
        &["ConfigRules", "ConfigRuleName", "Source", "ConfigRuleState"],
    ),
    (
        "config:GetComplianceDetailsByConfigRule",
        &["EvaluationResults", "ComplianceType", "ResourceId"],
    ),
    ("s3:ListBuckets", &["Buckets", "Name", "Owner"]),
    ("s3control:GetPublicAccessBlock", &["IgnorePublicAcls"]),
    ("s3:GetBucketLocation", &[]),
    (
        "s3:GetBucketAcl",
        &["AccessControlList", "Permission", "ID", "Grantee"],
    ),
    ("s3:GetBucketPolicy", &["Statement"]),
    ("s3:GetPublicAccessBlock", &["RestrictPublicBuckets"]),
    (
        "s3:GetBucketOwnershipControls",
        &["Rule", "ObjectOwnership"],
    ),
];

/// Operations whose data no rule reads (yet): their problems make the run exit 3 and
/// are listed, but there is no check to turn into `error`.
const READ_BY_NO_RULE: &[&str] = &["iam:GetAccountPasswordPolicy"];

/// What moto cannot answer: one evaluation result per audited rule.
fn compliance_answer() -> Rule {
    Rule::new(
        "config:GetComplianceDetailsByConfigRule",
        Fault::Answer {
            status: 200,
            body: r#"{"EvaluationResults": [{"EvaluationResultIdentifier": {"EvaluationResultQualifier": {"ConfigRuleName": "r", "ResourceType": "AWS::IAM::User", "ResourceId": "AIDAEXAMPLE"}}, "ComplianceType": "COMPLIANT", "ResultRecordedTime": 1700000000}]}"#.into(),
        },
    )
}

struct Account {
    id: String,
    keys: Keys,
}

/// The seeded account, once for the whole test binary.
fn account() -> &'static Account {
    static ACCOUNT: std::sync::OnceLock<Account> = std::sync::OnceLock::new();
    ACCOUNT.get_or_init(|| {
        let id = account_id();
        let keys = seed(&id, "complete", &[]);
        Account { id, keys }
    })
}

/// A work dir with a targets file auditing every rule of the seeded account through
/// an assumed role.
fn work_dir(account: &Account) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("targets.json"),
        format!(
            r#"{{ "Targets": [ {{ "complete": {{
  "Credentials": {{ "AwsAccessKeyId": "CK_KEY_ID", "AwsSecretAccessKey": "CK_SECRET" }},
  "RoleArn": "arn:aws:iam::{id}:role/audit",
  "Rules": [
    {{ "Policy": {{ "Name": "Force_MFA" }} }},
    {{ "Config": {{ "Name": "IAM_ROOT_ACCESS_KEY_CHECK" }} }},
    {{ "Config": {{ "Name": "IAM_USER_MFA_ENABLED" }} }},
    {{ "Config": {{ "Name": "IAM_USER_UNUSED_CREDENTIALS_CHECK" }} }},
    {{ "Config": {{ "Name": "IAM_USER_NO_POLICIES_CHECK" }} }},
    {{ "Config": {{ "Name": "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS" }} }},
    {{ "Config": {{ "Name": "IAM_USER_GROUP_MEMBERSHIP_CHECK" }} }},
    {{ "Config": {{ "Name": "S3_BUCKET_PUBLIC_READ_PROHIBITED" }} }},
    {{ "Config": {{ "Name": "S3_BUCKET_PUBLIC_WRITE_PROHIBITED" }} }} ] }} }} ] }}"#,
            id = account.id
        ),
    )
    .unwrap();
    dir
}

/// `cloudkestrel ARGS` in `dir` against `proxy`, with the keys of `account` in the
/// variables targets.json names, one attempt per request.
fn ck_through(
    dir: &Path,
    args: &[&str],
    proxy: &FaultProxy,
    account: &Account,
) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend([
        "--endpoint-url",
        &proxy.url,
        "--region",
        "us-east-1",
        "--max-attempts",
        "1",
    ]);
    ck(
        dir,
        &all,
        &[
            ("CK_KEY_ID", &account.keys.id),
            ("CK_SECRET", &account.keys.secret),
        ],
    )
}

/// `cloudkestrel audit` of the seeded account through a proxy with `rules`.
fn audit_through(rules: Vec<Rule>) -> (std::process::Output, Value, FaultProxy, tempfile::TempDir) {
    let a = account();
    let proxy = FaultProxy::start(&endpoint(), rules);
    let dir = work_dir(a);
    let out = ck_through(dir.path(), &["audit"], &proxy, a);
    let report = read_report(dir.path());
    (out, report, proxy, dir)
}

fn read_report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("reports/complete.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn results_with(report: &Value, status: &str) -> Vec<Value> {
    report["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter(|x| x["status"] == status)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_complete_account_reads_without_problems_through_the_proxy() {
    let (out, report, proxy, _dir) = audit_through(vec![compliance_answer()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(report["problems"], Value::Array(vec![]), "{stderr}");
    // Findings (the auditor user has no MFA, …) but nothing left undecided.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(results_with(&report, "error").is_empty(), "{report}");
    // Every operation of the table was made, so every case below changes a real answer.
    let seen = proxy.seen();
    for (op, _) in OPERATIONS {
        assert!(
            seen.iter().any(|s| s == op),
            "{op} was not called: {seen:?}"
        );
    }
    for s in &seen {
        assert!(
            OPERATIONS.iter().any(|(op, _)| op == s),
            "{s} is made by collect but not tried by these tests"
        );
    }
}

/// One case: a fault on one operation's answers. Returns what went wrong, if anything.
fn try_case(op: &str, fault: Fault) -> Option<String> {
    let fault_for_check = fault.clone();
    let mut rules = vec![compliance_answer(), Rule::new(op, fault.clone())];
    if op != "config:GetComplianceDetailsByConfigRule" {
        rules.swap(0, 1);
    }
    let faulted = if op == "config:GetComplianceDetailsByConfigRule" {
        1
    } else {
        0
    };
    let (out, report, proxy, _dir) = audit_through(rules);
    let case = format!("{op} {fault:?}");
    let fault = fault_for_check;
    if proxy.applied(faulted) == 0 {
        return Some(format!("{case}: the fault was never applied"));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(3) {
        return Some(format!(
            "{case}: exit {:?}, not 3: {stderr}",
            out.status.code()
        ));
    }
    // Malformed answers are MalformedResponse; an AWS error keeps AWS's code; a cut
    // connection is whatever the SDK says it was, as long as it is a problem of `op`.
    let expected_code = match &fault {
        Fault::Truncate | Fault::Empty | Fault::Remove(_) => Some("MalformedResponse"),
        Fault::Error { code, status } if *status < 500 => Some(*code),
        _ => None,
    };
    let listed = report["problems"].as_array().is_some_and(|ps| {
        ps.iter()
            .any(|p| p["operation"] == op && expected_code.is_none_or(|c| p["error_code"] == c))
    });
    if !listed {
        return Some(format!(
            "{case}: no {} problem of {op}: {}",
            expected_code.unwrap_or("any"),
            report["problems"]
        ));
    }
    let errors = results_with(&report, "error");
    if !READ_BY_NO_RULE.contains(&op) && !errors.iter().any(|r| r.to_string().contains(op)) {
        return Some(format!("{case}: no error result names {op}: {errors:?}"));
    }
    None
}

#[test]
fn every_failed_or_malformed_answer_is_an_error_never_a_pass() {
    let mut cases: Vec<(&str, Fault)> = Vec::new();
    for (op, fields) in OPERATIONS {
        cases.push((op, Fault::Truncate));
        cases.push((op, Fault::Empty));
        for f in *fields {
            cases.push((op, Fault::Remove(f.to_string())));
        }
    }
    let malformed = cases.len();
    for (op, _) in OPERATIONS {
        cases.push((
            op,
            Fault::Error {
                status: 403,
                code: "AccessDenied",
            },
        ));
        cases.push((
            op,
            Fault::Error {
                status: 400,
                code: "ThrottlingException",
            },
        ));
        cases.push((
            op,
            Fault::Error {
                status: 500,
                code: "InternalError",
            },
        ));
        cases.push((op, Fault::Reset));
    }
    assert!(cases.len() - malformed == 4 * OPERATIONS.len());
    let failures = Mutex::new(Vec::new());
    let next = Mutex::new(cases.iter());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| loop {
                let Some((op, fault)) = next.lock().unwrap().next().cloned() else {
                    break;
                };
                if let Some(f) = try_case(op, fault) {
                    failures.lock().unwrap().push(f);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// `cloudkestrel apply --yes` through a proxy, on an account of its own (apply changes
/// AWS Config), for a rule marked AddIfMissing that the account lacks.
fn apply_through(rules: Vec<Rule>) -> (std::process::Output, FaultProxy) {
    static APPLY_ACCOUNT: std::sync::OnceLock<Account> = std::sync::OnceLock::new();
    let a = APPLY_ACCOUNT.get_or_init(|| {
        let id = account_id();
        let keys = seed(&id, "complete", &[]);
        Account { id, keys }
    });
    let proxy = FaultProxy::start(&endpoint(), rules);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("targets.json"),
        r#"{ "Targets": [ { "apply": {
  "Credentials": { "AwsAccessKeyId": "CK_KEY_ID", "AwsSecretAccessKey": "CK_SECRET" },
  "Rules": [ { "Config": { "Name": "IAM_ROOT_ACCESS_KEY_CHECK", "AddIfMissing": true } } ] } } ] }"#,
    )
    .unwrap();
    let out = ck_through(dir.path(), &["apply", "--yes"], &proxy, a);
    (out, proxy)
}

/// apply's reads are collect's: a rules listing it cannot read makes it add nothing
/// (it could otherwise overwrite a rule it did not see); a PutConfigRule answer that is
/// not a document is an error of that target.
#[test]
fn apply_adds_nothing_on_a_malformed_answer_and_reports_a_malformed_put() {
    for fault in [
        Fault::Empty,
        Fault::Truncate,
        Fault::Remove("ConfigRules".into()),
    ] {
        let (out, proxy) =
            apply_through(vec![Rule::new("config:DescribeConfigRules", fault.clone())]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(proxy.applied(0) > 0, "{fault:?}");
        assert_eq!(out.status.code(), Some(3), "{fault:?}: {text}");
        assert!(text.contains("MalformedResponse"), "{fault:?}: {text}");
        assert!(
            !proxy.seen().iter().any(|op| op == "config:PutConfigRule"),
            "{fault:?}: apply added a rule after a listing it could not read: {text}"
        );
    }
    let (out, proxy) = apply_through(vec![Rule::new(
        "config:PutConfigRule",
        Fault::Answer {
            status: 200,
            body: "{\"ConfigRule".into(),
        },
    )]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(proxy.applied(0), 1);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("PutConfigRule") && stderr.contains("MalformedResponse"),
        "{stderr}"
    );
    let (out, proxy) = apply_through(vec![Rule::new(
        "config:PutConfigRule",
        Fault::Error {
            status: 400,
            code: "AccessDeniedException",
        },
    )]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(proxy.applied(0), 1);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");
}
