use super::*;
use crate::targets::organization::OrgAccount;

fn record() -> Membership {
    Membership {
        schema_version: SCHEMA_VERSION,
        entry: "org".into(),
        discovered_at: "2026-12-02T01:00:00Z".into(),
        accounts: vec![
            Account {
                id: "111122223333".into(),
                name: Some("prod \u{1b}[2J".into()),
            },
            Account {
                id: "222233334444".into(),
                name: None,
            },
        ],
        not_audited: vec![NotAudited {
            id: "777788889999".into(),
            name: Some("sandbox".into()),
            state: "SUSPENDED".into(),
        }],
        missing: vec!["444455556666".into()],
    }
}

#[test]
fn a_record_reads_back_as_written_and_absent_is_none() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(Membership::read(dir.path(), "org").unwrap(), None);
    let written = record().write(&dir.path().join("new")).unwrap();
    assert_eq!(written, dir.path().join("new/org.accounts.json"));
    let back = Membership::read(&dir.path().join("new"), "org").unwrap();
    assert_eq!(back, Some(record()));
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("new"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["org.accounts.json"]);
}

#[test]
fn the_record_of_a_discovery_lists_members_skipped_and_missing() {
    let targets = crate::targets::parse(
        std::path::Path::new("t.json"),
        r#"{"Targets": [{"org": {"Organization": {"RoleName": "Audit"},
            "Rules": [{"Policy": {"Name": "Force_MFA"}}]}}]}"#,
    )
    .unwrap();
    let org = &targets.organizations[0];
    let found = Discovered {
        members: vec![
            org.member("222233334444", None, None, "aws"),
            org.member("111122223333", Some("prod".into()), None, "aws"),
        ],
        skipped: vec![OrgAccount {
            id: "777788889999".into(),
            name: Some("sandbox".into()),
            state: "SUSPENDED".into(),
        }],
        missing: vec!["444455556666".into()],
        requests: 3,
    };
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T01:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut expected = record();
    expected.accounts[0].name = Some("prod".into());
    assert_eq!(Membership::of("org", &found, at), expected);
}

/// Each damage, and a piece of the message it must give.
#[test]
fn a_record_that_cannot_be_trusted_is_refused_with_where_and_why() {
    let good = serde_json::to_string_pretty(&record()).unwrap();
    let cases: Vec<(String, &str)> = vec![
        (good[..good.len() / 2].to_string(), "org.accounts.json:"),
        (
            good.replace("\"schema_version\": 1", "\"schema_version\": 2"),
            "schema_version 2",
        ),
        (
            good.replace("\"entry\": \"org\"", "\"entry\": \"other\""),
            "of entry \"other\"",
        ),
        (
            good.replace("2026-12-02T01:00:00Z", "yesterday"),
            "RFC 3339",
        ),
        (good.replace("222233334444", "111122223333"), "twice"),
        (good.replace("777788889999", "111122223333"), "twice"),
        (good.replace("222233334444", "2222"), "12 digits"),
        (good.replace("444455556666", "44445555666x"), "12 digits"),
        (
            good.replace("\"missing\"", "\"extra\": 1, \"missing\""),
            "unknown field",
        ),
        (format!("{good} GARBAGE"), "org.accounts.json:"),
        (
            good.replace("\"accounts\": [", "\"accounts\": {\"a\": ")
                .replace("\n  ],\n  \"not_audited\"", "\n  },\n  \"not_audited\""),
            "org.accounts.json:",
        ),
    ];
    for (text, wanted) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("org.accounts.json"), &text).unwrap();
        let err = Membership::read(dir.path(), "org").expect_err(&text);
        assert!(err.contains(wanted), "{err:?} lacks {wanted:?} for\n{text}");
        assert!(err.contains("org.accounts.json"), "{err}");
    }
}
