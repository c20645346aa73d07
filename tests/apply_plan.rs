//! apply's plan, from account states: where it adds rules and what it refuses to do.

use std::path::Path;

use cloudkestrel::{apply, model::Account, targets};

fn account(regions: serde_json::Value) -> Account {
    serde_json::from_value(serde_json::json!({
        "metadata": {"target": "t", "account_id": "111122223333", "collected_at": "2026-11-27T08:00:00Z",
                     "caller_arn": "arn:aws:iam::111122223333:user/auditor"},
        "config": {"regions": regions}
    }))
    .unwrap()
}

fn region(name: &str, recorder: serde_json::Value) -> serde_json::Value {
    let mut rec = serde_json::json!({"name": "default", "recording": true});
    rec.as_object_mut()
        .unwrap()
        .extend(recorder.as_object().unwrap().clone());
    serde_json::json!({"region": name, "recorders": [rec],
                       "delivery_channels": [{"name": "default", "s3_bucket_name": "b"}]})
}

fn plan_for(regions: serde_json::Value) -> apply::Plan {
    let t = targets::parse(
        Path::new("t.json"),
        r#"{"Targets": [{"t": {"Rules": [{"Config": {"Name": "IAM_USER_NO_POLICIES_CHECK", "AddIfMissing": true}}]}}]}"#,
    )
    .unwrap();
    apply::plan(t.get("t").unwrap(), &account(regions))
}

/// A change-triggered IAM rule goes to a region whose recorder records the IAM types,
/// not blindly to the first one.
#[test]
fn a_change_triggered_rule_goes_where_its_types_are_recorded() {
    let all_with_iam = serde_json::json!({"all_supported": true, "include_global_resource_types": true,
                                          "recording_strategy": "ALL_SUPPORTED_RESOURCE_TYPES"});
    let plan = plan_for(serde_json::json!([
        region("eu-central-2", all_with_iam.clone()),
        region("eu-west-1", all_with_iam),
    ]));
    assert!(!plan.blocked(), "{}", apply::describe(&plan));
    assert_eq!(plan.additions.len(), 1);
    assert_eq!(plan.additions[0].region, "eu-west-1");
}

/// Where no recorder records them, apply adds nothing and says what to change.
#[test]
fn a_change_triggered_rule_is_not_added_where_it_would_never_run() {
    let plan = plan_for(serde_json::json!([region(
        "us-east-1",
        serde_json::json!({"all_supported": true, "include_global_resource_types": false,
                           "recording_strategy": "ALL_SUPPORTED_RESOURCE_TYPES"})
    )]));
    assert!(plan.blocked());
    let text = apply::describe(&plan);
    assert!(
        text.contains("does not record AWS::IAM::User")
            && text.contains("includeGlobalResourceTypes=true"),
        "{text}"
    );
}
