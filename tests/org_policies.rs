//! The IAM a user deploys to audit an organization, held to the code: the member-account
//! role (policies/CloudKestrelAudit-member-role.yaml, a CloudFormation StackSet
//! template) and the management side (policies/CloudKestrelAudit-management.json).
//!
//! Both grant exactly the actions of src/collect/permissions.rs, whose unit test holds
//! it to the operations the collectors name; here a collect against moto shows that
//! table covers every request really made. The template is linted by cfn-lint (which
//! also knows every IAM action's name) and read with cfn-lint's own decoder; the
//! management policy is linted inside a template made for the purpose. Nothing either
//! grants writes.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use cloudkestrel::collect::permissions::{Permission, IN_ACCOUNT, REACH, UNGATED};
use serde_json::{json, Value};
use support::examples::{python, venv_tool};
use support::{root, stderr, stdout, write};

const MEMBER_ROLE: &str = "policies/CloudKestrelAudit-member-role.yaml";
const MANAGEMENT: &str = "policies/CloudKestrelAudit-management.json";

fn actions(table: &[Permission]) -> BTreeSet<String> {
    table.iter().map(|p| p.action.to_string()).collect()
}

/// A policy statement's actions (a string or a list).
fn statement_actions(statement: &Value) -> BTreeSet<String> {
    match &statement["Action"] {
        Value::String(a) => [a.clone()].into(),
        Value::Array(list) => list
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect(),
        other => panic!("Action {other}"),
    }
}

/// No action that changes anything: only reads (Get, List, Describe), the credential
/// report's generation (a read for IAM) and assuming the member role.
fn assert_reads_only(actions: &BTreeSet<String>) {
    for a in actions {
        let (service, verb) = a.split_once(':').unwrap();
        assert!(
            !a.contains('*') && !a.contains('?'),
            "{a}: no wildcard, so nothing new is granted by a new API"
        );
        let read = ["Get", "List", "Describe"]
            .iter()
            .any(|v| verb.starts_with(v));
        assert!(
            read || a == "iam:GenerateCredentialReport" || a == "sts:AssumeRole",
            "{a} ({service}) is not a read"
        );
    }
}

/// `cfn-lint FILE`: its exit code and what it said.
fn cfn_lint(file: &Path) -> (i32, String) {
    let o = Command::new(venv_tool("cfn-lint"))
        .arg(file)
        .output()
        .unwrap();
    (o.status.code().unwrap(), stdout(&o) + &stderr(&o))
}

fn template() -> Value {
    let path = root().join(MEMBER_ROLE);
    python("cfn_template.py", &[&path])[path.to_str().unwrap()].clone()
}

fn management() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join(MANAGEMENT)).unwrap()).unwrap()
}

/// The Organization entry's RoleName in examples/organizations/targets.json.
fn example_role_name() -> String {
    let text = std::fs::read_to_string(root().join("examples/organizations/targets.json"));
    let v: Value = serde_json::from_str(&text.unwrap()).unwrap();
    v["Targets"][0]["org"]["Organization"]["RoleName"]
        .as_str()
        .unwrap()
        .to_string()
}

fn scratch() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("org_policies");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_member_role_template_passes_cfn_lint_which_checks_action_names() {
    let (code, said) = cfn_lint(&root().join(MEMBER_ROLE));
    assert_eq!((code, said.as_str()), (0, ""), "{said}");
    // The linter reads the actions: one misspelt is refused.
    let text = std::fs::read_to_string(root().join(MEMBER_ROLE)).unwrap();
    let misspelt = text.replace(
        "s3:GetBucketOwnershipControls",
        "s3:GetBucketOwnershipControl",
    );
    assert_ne!(misspelt, text);
    let bad = write(&scratch(), "misspelt.yaml", &misspelt);
    let (code, said) = cfn_lint(&bad);
    assert_ne!(code, 0, "{said}");
    assert!(said.contains("W3037") && said.contains("getbucketownershipcontrol"));
}

#[test]
fn the_member_role_grants_what_collect_reads_and_nothing_that_writes() {
    let t = template();
    let params = &t["Parameters"];
    assert_eq!(params["RoleName"]["Default"], example_role_name());
    assert_eq!(params["ExternalId"]["Default"], "");
    assert_eq!(
        t["Conditions"]["HasExternalId"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "ExternalId"}, ""]}]})
    );
    let role = &t["Resources"]["AuditRole"];
    assert_eq!(role["Type"], "AWS::IAM::Role");
    let p = &role["Properties"];
    assert_eq!(p["RoleName"], json!({"Ref": "RoleName"}));

    // Trust: the auditor account, with the external id exactly when one is given.
    let trust = p["AssumeRolePolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    assert_eq!(trust.len(), 1);
    let s = &trust[0];
    assert_eq!(s["Effect"], "Allow");
    assert_eq!(s["Action"], "sts:AssumeRole");
    assert_eq!(
        s["Principal"],
        json!({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AuditorAccountId}:root"}})
    );
    assert_eq!(
        s["Condition"],
        json!({"Fn::If": ["HasExternalId",
            {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
            {"Ref": "AWS::NoValue"}]})
    );
    assert_eq!(params["AuditorAccountId"]["AllowedPattern"], "^[0-9]{12}$");

    // SecurityAudit, unless turned off, and the inline list: exactly collect's reads.
    assert_eq!(
        p["ManagedPolicyArns"],
        json!({"Fn::If": ["WithSecurityAudit",
            [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/SecurityAudit"}],
            {"Ref": "AWS::NoValue"}]})
    );
    let mut granted = BTreeSet::new();
    for policy in p["Policies"].as_array().unwrap() {
        for s in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
            assert_eq!(s["Effect"], "Allow", "{s}");
            assert_eq!(s["Resource"], "*", "{s}");
            assert!(s.get("NotAction").is_none() && s.get("NotResource").is_none());
            granted.extend(statement_actions(s));
        }
    }
    assert_eq!(granted, actions(IN_ACCOUNT));
    assert_reads_only(&granted);
    assert_eq!(
        t["Outputs"]["RoleArn"]["Value"],
        json!({"Fn::GetAtt": ["AuditRole", "Arn"]})
    );
}

#[test]
fn the_management_policy_discovers_assumes_and_reads_its_own_account() {
    let doc = management();
    let statements = doc["Statement"].as_array().unwrap();
    let by_sid = |sid: &str| {
        let s = statements
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid}"));
        assert_eq!(s["Effect"], "Allow");
        (statement_actions(s), s["Resource"].clone())
    };
    let organizations: Vec<Permission> = REACH
        .iter()
        .copied()
        .filter(|p| p.action.starts_with("organizations:"))
        .collect();
    assert_eq!(
        by_sid("DiscoverTheOrganization"),
        (actions(&organizations), json!("*"))
    );
    assert_eq!(
        by_sid("AssumeTheMemberRole"),
        (
            ["sts:AssumeRole".to_string()].into(),
            json!(format!("arn:aws:iam::*:role/{}", example_role_name()))
        )
    );
    assert_eq!(by_sid("ReadThisAccount"), (actions(IN_ACCOUNT), json!("*")));
    let all: BTreeSet<String> = statements.iter().flat_map(statement_actions).collect();
    let needed: BTreeSet<String> = actions(IN_ACCOUNT)
        .union(&actions(REACH))
        .cloned()
        .collect();
    assert_eq!(all, needed);
    assert_reads_only(&all);
    // Every action name is one IAM has: cfn-lint knows them.
    let wrapped = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"Management": {"Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": doc}}}
    });
    let file = write(&scratch(), "management.json", &wrapped.to_string());
    let (code, said) = cfn_lint(&file);
    assert_eq!((code, said.as_str()), (0, ""), "{said}");
}

/// A real collect against moto, through a role: every request it makes is one the
/// tables (and so the policies) cover, and the tables hold nothing it does not make.
#[test]
fn collect_makes_only_the_requests_the_policies_grant() {
    use support::moto::{account_id, ck_moto, only_snapshot, seed};
    let account = account_id();
    let keys = seed(&account, "complete", &[]);
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "targets.json",
        &json!({"Targets": [{"complete": {
            "Credentials": {"AwsAccessKeyId": "CK_KEY_ID", "AwsSecretAccessKey": "CK_SECRET"},
            "RoleArn": format!("arn:aws:iam::{account}:role/CloudKestrelAudit"),
            "Rules": [{"Config": {"Name": "S3_BUCKET_PUBLIC_READ_PROHIBITED"}}]}}]})
        .to_string(),
    );
    let out = ck_moto(
        dir.path(),
        &["collect"],
        &[("CK_KEY_ID", &keys.id), ("CK_SECRET", &keys.secret)],
    );
    // 3: moto does not implement AWS Config's compliance results (asked all the same).
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    let conn = rusqlite::Connection::open(only_snapshot(dir.path(), "complete")).unwrap();
    let made: BTreeSet<String> = conn
        .prepare("SELECT operation FROM api_calls")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let covered: BTreeSet<String> = IN_ACCOUNT
        .iter()
        .chain(REACH)
        .map(|p| p.operation.to_string())
        .chain(UNGATED.iter().map(|o| o.to_string()))
        .collect();
    for op in &made {
        assert!(
            covered.contains(op),
            "collect made {op}, which src/collect/permissions.rs does not list"
        );
    }
    // The complete account makes collect read everything it can read.
    for p in IN_ACCOUNT {
        assert!(
            made.contains(p.operation),
            "{} was not made: {made:?}",
            p.operation
        );
    }
    assert!(made.contains("sts:AssumeRole"));
}
