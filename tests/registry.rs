//! Conventions of the rule registry, enforced so that they do not drift.

use std::collections::HashSet;

use cloudkestrel::policy::normalize;
use cloudkestrel::rules::{self, Kind};

#[test]
fn rule_names_are_unique() {
    let mut seen = HashSet::new();
    for r in rules::RULES {
        assert!(
            seen.insert(r.meta().name),
            "{} is registered twice",
            r.meta().name
        );
    }
    assert_eq!(rules::RULES.len(), 11);
}

#[test]
fn every_rule_is_documented() {
    for r in rules::RULES {
        let m = r.meta();
        for heading in [
            "## What it checks",
            "## Why it matters",
            "## How to fix",
            "## Choices made",
            "## References",
        ] {
            assert!(
                m.doc.contains(heading),
                "{}: doc comment lacks {heading:?}",
                m.name
            );
        }
        assert!(!m.summary.is_empty(), "{}: no summary", m.name);
        for s in m.parameters.iter().chain(m.options) {
            assert!(
                !s.doc.is_empty(),
                "{}: setting {} is undocumented",
                m.name,
                s.name
            );
            assert!(
                m.doc.contains(s.name),
                "{}: the doc never mentions its setting {}",
                m.name,
                s.name
            );
        }
    }
}

#[test]
fn config_rules_name_their_managed_rule() {
    for r in rules::RULES {
        let m = r.meta();
        match m.kind {
            Kind::Config => {
                assert_eq!(m.source_identifier, Some(m.name));
                assert_eq!(
                    m.aws_rule_name,
                    Some(m.name.to_lowercase().replace('_', "-").as_str())
                );
            }
            Kind::Policy | Kind::Setup => assert!(m.source_identifier.is_none()),
        }
    }
}

#[test]
fn shipped_policies_are_valid_iam_json() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    for name in ["Force_MFA", "User_Source_IP_Restrictions", "Config_Write"] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let doc = rules::policy::render(&text, &["192.0.2.1".to_string()], "aws").unwrap();
        assert_eq!(doc["Version"], "2012-10-17", "{name}");
        let p = normalize(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!p.statements.is_empty());
        assert!(
            !doc.to_string().contains("PARAM_1_SOURCE_IP"),
            "{name}: placeholder left"
        );
    }
    // The placeholder stands exactly where the list of IPs goes.
    let ip = std::fs::read_to_string(dir.join("User_Source_IP_Restrictions.json")).unwrap();
    assert!(ip.contains("\"aws:SourceIp\": \"PARAM_1_SOURCE_IP\""));
    let rendered =
        rules::policy::render(&ip, &["192.0.2.1".into(), "198.51.100.0/24".into()], "aws").unwrap();
    assert_eq!(
        rendered["Statement"][0]["Condition"]["NotIpAddress"]["aws:SourceIp"],
        serde_json::json!(["192.0.2.1", "198.51.100.0/24"])
    );
    // In another partition every ARN of the template moves there; nothing else changes.
    let mfa = std::fs::read_to_string(dir.join("Force_MFA.json")).unwrap();
    let aws = rules::policy::render(&mfa, &[], "aws").unwrap().to_string();
    let cn = rules::policy::render(&mfa, &[], "aws-cn")
        .unwrap()
        .to_string();
    assert!(aws.contains("\"arn:aws:iam::*:user/${aws:username}\""));
    assert!(!cn.contains("arn:aws:") && cn.contains("\"arn:aws-cn:iam::*:user/${aws:username}\""));
    assert_eq!(cn.replace("arn:aws-cn:", "arn:aws:"), aws);
}

#[test]
fn force_mfa_is_the_documented_aws_example() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/Force_MFA.json"),
    )
    .unwrap();
    let p = normalize(&serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(p.statements.len(), 9);
    let deny = p.statements.iter().find(|s| s.effect == "Deny").unwrap();
    assert!(deny.condition.contains_key("BoolIfExists"));
    assert_eq!(deny.not_action.as_ref().unwrap().len(), 7);
    assert!(deny
        .not_action
        .as_ref()
        .unwrap()
        .contains("sts:getsessiontoken"));
}

/// `has_note` decides which passes the HTML report shows in full: the note flag, or
/// details. (That the flag is set exactly where a note is written is checked over every
/// rule fixture, in rule_fixtures.rs.)
#[test]
fn has_note_is_the_note_flag_or_details() {
    use cloudkestrel::rules::{Check, Finding, Severity, Status};
    let f = |details: Vec<String>| Finding {
        details,
        ..Finding::new(
            "IAM_USER_MFA_ENABLED",
            Check::Local,
            "arn:aws:iam::123456789012:user/alice",
            "alice",
            Status::Pass,
            Severity::High,
            "alice has MFA",
        )
    };
    assert!(!f(vec![]).has_note());
    assert!(f(vec!["x".into()]).has_note());
    assert!(f(vec![]).noted().has_note());
}
