//! targets.json and fixtures are exactly JSON and exactly the schema (issue 12, part 2):
//! what each bad file says (file:line:column, path, message), that the binary exits 2 on
//! it and writes nothing, and that no input makes it panic.

mod support;

use std::path::Path;

use cloudkestrel::{fixture, targets, untrusted};
use support::{ck, code, demo_dir, demo_fixture, import, stderr, stdout, write};

fn targets_error(text: &str) -> String {
    targets::parse(Path::new("t.json"), text)
        .expect_err(text)
        .to_string()
}

/// A targets file with one target `name` and one rule, the rule written as `rule`.
fn one_rule(name: &str, rule: &str) -> String {
    format!("{{\"Targets\": [{{\"{name}\": {{\"Rules\": [{rule}]}}}}]}}")
}

const UNUSED: &str = r#"{"Config": {"Name": "IAM_USER_UNUSED_CREDENTIALS_CHECK", "Parameters": {"maxCredentialUsageAge": AGE}}}"#;

#[test]
fn text_after_the_document_is_refused_with_its_position() {
    let good = one_rule("demo", r#"{"Policy": {"Name": "Force_MFA"}}"#);
    assert!(targets::parse(Path::new("t.json"), &good).is_ok());
    let column = good.len() + 2;
    for tail in [
        " GARBAGE",
        " {}",
        " //comment",
        " \u{0}",
        "\n{\"Targets\": []}",
    ] {
        let e = targets_error(&format!("{good}{tail}"));
        let at = if tail.starts_with('\n') {
            "t.json:2:1: ".to_string()
        } else {
            format!("t.json:1:{column}: ")
        };
        assert!(e.starts_with(&at), "{tail:?}: {e}");
        assert!(e.contains("text after the end of the JSON document"), "{e}");
    }
}

#[test]
fn a_list_is_never_taken_for_an_object() {
    for (rule, at, path) in [
        // serde's derive would read this as Name and AddIfMissing.
        (
            r#"{"Config": ["IAM_USER_NO_POLICIES_CHECK", true]}"#,
            "t.json:1:45: ",
            "Targets[0].demo.Rules[0].Config: invalid type: sequence, expected an object",
        ),
        (
            r#"{"Policy": ["Force_MFA", null, null, []]}"#,
            "t.json:1:45: ",
            "Targets[0].demo.Rules[0].Policy: invalid type: sequence, expected an object",
        ),
        (
            r#"{"Setup": ["Account_Setup"]}"#,
            "t.json:1:44: ",
            "Targets[0].demo.Rules[0].Setup: invalid type: sequence, expected an object",
        ),
        // A rule that is a list: the variants are named.
        (
            r#"["Config", {"Name": "IAM_USER_MFA_ENABLED"}]"#,
            "t.json:1:34: ",
            "Targets[0].demo.Rules[0]: invalid type: sequence, expected one of `Policy`, `Config`, `Setup`",
        ),
    ] {
        let e = targets_error(&one_rule("demo", rule));
        assert!(e.starts_with(at), "{rule}: {e}");
        assert!(e.contains(path), "{rule}: {e}");
    }
    // The target's settings and the file itself.
    let e = targets_error(r#"{"Targets": [{"demo": [[]]}]}"#);
    assert_eq!(
        e,
        "t.json:1:23: Targets[0].demo: invalid type: sequence, expected an object"
    );
    let e = targets_error(r#"[{"demo": {}}]"#);
    assert_eq!(e, "t.json:1:1: invalid type: sequence, expected an object");
    let e = targets_error(&one_rule(
        "demo",
        r#"{"Policy": {"Name": "Force_MFA"}, "Config": {}}"#,
    ));
    assert!(
        e.contains("a second key: this object must have exactly one key"),
        "{e}"
    );
    let e = targets_error(r#"{"Targets": [{"demo": {"Credentials": ["A", "B"], "Rules": []}}]}"#);
    assert!(
        e.contains("Targets[0].demo.Credentials: invalid type: sequence, expected an object"),
        "{e}"
    );
}

#[test]
fn numbers_out_of_range_are_refused_never_defaulted() {
    let rule = |age: &str| one_rule("demo", &UNUSED.replace("AGE", age));
    for age in ["45", "\"45\"", "1", "2147483647", "\"2147483647\""] {
        let t = targets::parse(Path::new("t.json"), &rule(age)).expect(age);
        let spec = &t.targets[0].rules[0];
        assert_eq!(
            spec.param_positive_int("maxCredentialUsageAge")
                .unwrap()
                .to_string(),
            age.trim_matches('"')
        );
    }
    for age in [
        "9223372036854775808",
        "18446744073709551616",
        "2147483648",
        "0",
        "-1",
        "1.5",
        "1e3",
        "\"+5\"",
        "\"0x10\"",
        "\"ninety\"",
        "\"\"",
        "true",
        "null",
        "[45]",
    ] {
        let e = targets_error(&rule(age));
        assert!(e.starts_with("t.json:1:"), "{age}: {e}");
        assert!(
            e.contains("maxCredentialUsageAge")
                && e.contains("expected a positive whole number, at most 2147483647"),
            "{age}: {e}"
        );
    }
}

#[test]
fn target_names_are_short_printable_file_names() {
    let rule = r#"{"Policy": {"Name": "Force_MFA"}}"#;
    let longest = "a".repeat(targets::TARGET_NAME_MAX);
    for good in ["demo", "prod-eu_1.a", "A9", "_x", longest.as_str()] {
        let t = targets::parse(Path::new("t.json"), &one_rule(good, rule)).expect(good);
        assert_eq!(t.targets[0].name, good);
    }
    let too_long = "a".repeat(targets::TARGET_NAME_MAX + 1);
    for bad in [
        "",
        ".hidden",
        "-rf",
        "a/b",
        "a\\\\b",
        "prod eu",
        "ünï",
        "a\\u001b]0;x\\u0007",
        "a\\u202eb",
        too_long.as_str(),
    ] {
        let e = targets_error(&one_rule(bad, rule));
        assert!(e.starts_with("t.json:1:"), "{bad}: {e}");
        assert!(
            e.contains("is not valid: a target name is 1 to 64 characters, ASCII letters, digits, '.', '_' and '-', and does not start with '.' or '-'"),
            "{bad}: {e}"
        );
        assert!(!e.chars().any(untrusted::is_unsafe), "{bad}: {e:?}");
    }
}

/// Control characters from the file are shown escaped, and long values cut, wherever
/// the message quotes them: keys, values, the path.
#[test]
fn messages_show_values_escaped_and_cut() {
    let hostile = "\\u001b]0;pwned\\u0007\\u001b[2J\u{9b}\u{202e}\u{2066}";
    let cases = [
        one_rule(hostile, r#"{"Policy": {"Name": "Force_MFA"}}"#),
        one_rule("demo", &format!(r#"{{"Config": {{"Name": "{hostile}"}}}}"#)),
        one_rule(
            "demo",
            &format!(r#"{{"Config": {{"Name": "IAM_USER_MFA_ENABLED", "{hostile}": 1}}}}"#),
        ),
        one_rule(
            "demo",
            &format!(
                r#"{{"Policy": {{"Name": "User_Source_IP_Restrictions", "Source_IPs": ["{hostile}"]}}}}"#
            ),
        ),
        one_rule("demo", &UNUSED.replace("AGE", &format!("\"{hostile}\""))),
        format!(
            r#"{{"Targets": [{{"demo": {{"Regions": ["{hostile}", "{hostile}"], "Rules": [{{"Policy": {{"Name": "Force_MFA"}}}}]}}}}]}}"#
        ),
        format!(r#"{{"Targets": [{{"demo": {{"Rules": [], "{hostile}": 1, "{hostile}": 2}}}}]}}"#),
    ];
    for text in &cases {
        let e = targets_error(text);
        assert!(!e.chars().any(untrusted::is_unsafe), "{text}: {e:?}");
        assert!(e.contains("\\u{1b}]0;pwned\\u{7}"), "{text}: {e}");
        assert!(e.contains("\\u{9b}\\u{202e}\\u{2066}"), "{text}: {e}");
    }
    let long = "x".repeat(5000);
    for text in [
        one_rule(&long, r#"{"Policy": {"Name": "Force_MFA"}}"#),
        one_rule("demo", &format!(r#"{{"Config": {{"Name": "{long}"}}}}"#)),
        one_rule(
            "demo",
            &format!(r#"{{"Config": {{"Name": "IAM_USER_MFA_ENABLED", "{long}": 1}}}}"#),
        ),
        one_rule("demo", &UNUSED.replace("AGE", &format!("\"{long}\""))),
        one_rule(
            "demo",
            &UNUSED.replace("AGE", &format!("[{}1]", "1, ".repeat(2000))),
        ),
    ] {
        let e = targets_error(&text);
        assert!(
            e.contains(&format!("{}…", "x".repeat(80))) || e.contains("[1,1,1,1"),
            "{e}"
        );
        assert!(!e.contains(&"x".repeat(81)), "{e}");
        assert!(e.len() < 1600, "{} characters: {e}", e.len());
    }
}

#[test]
fn fixtures_are_read_as_strictly() {
    let good = demo_fixture().to_string();
    assert!(fixture::parse(Path::new("f.json"), &good).is_ok());
    let e = fixture::parse(Path::new("f.json"), &format!("{good}\n// more"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("f.json:2:1: text after the end of the JSON document"),
        "{e}"
    );
    // A list for a struct: the metadata, a user, a public access block.
    let mut list_metadata = demo_fixture();
    list_metadata["metadata"] = serde_json::json!(["demo", "123456789012"]);
    let mut list_user = demo_fixture();
    list_user["iam"]["users"][0] =
        serde_json::json!(["alice", "arn:aws:iam::123456789012:user/alice"]);
    let mut list_block = demo_fixture();
    list_block["s3"]["account_public_access_block"] = serde_json::json!([true, true, true, true]);
    for (account, path) in [
        (list_metadata, "metadata: "),
        (list_user, "iam.users[0]: "),
        (list_block, "s3.account_public_access_block: "),
    ] {
        let e = fixture::parse(Path::new("f.json"), &account.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f.json:1:"), "{e}");
        assert!(
            e.contains(&format!("{path}invalid type: sequence, expected an object")),
            "{e}"
        );
    }
    // Keys written twice: merged by serde_json (last wins), refused here, in policy
    // documents too.
    let e = fixture::parse(
        Path::new("f.json"),
        &good.replacen("\"target\":", "\"target\": \"x\", \"target\":", 1),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("metadata: \"target\" appears twice in this object"),
        "{e}"
    );
    let e = fixture::parse(
        Path::new("f.json"),
        &good.replacen("\"Effect\":", "\"Effect\": \"Deny\", \"Effect\":", 1),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("\"Effect\" appears twice in this object"), "{e}");
    assert!(
        e.contains(".document.Statement[0]: ") || e.contains(".policy.Statement[0]: "),
        "{e}"
    );
}

/// Every kind of bad file, through the binary: exit 2, file:line:column, nothing
/// written, no panic.
#[test]
fn the_binary_exits_2_and_writes_nothing() {
    let dir = demo_dir();
    let good = std::fs::read_to_string(dir.path().join("targets.json")).unwrap();
    let bad_targets = [
        (
            format!("{good}GARBAGE"),
            "targets.json:94:1: text after the end",
        ),
        (
            format!("{good}\u{0}"),
            "targets.json:94:1: text after the end",
        ),
        (
            one_rule(
                "demo",
                r#"{"Config": ["IAM_USER_NO_POLICIES_CHECK", true]}"#,
            ),
            "targets.json:1:45: Targets[0].demo.Rules[0].Config: invalid type: sequence",
        ),
        (
            one_rule("demo", &UNUSED.replace("AGE", "9223372036854775808")),
            "targets.json:1:",
        ),
        (
            one_rule("de mo", r#"{"Policy": {"Name": "Force_MFA"}}"#),
            "targets.json:1:24: Targets[0].de mo: target name \"de mo\" is not valid",
        ),
    ];
    for (text, needle) in &bad_targets {
        write(dir.path(), "targets.json", text);
        for args in [&["evaluate"][..], &["collect"], &["apply", "--dry-run"]] {
            let o = ck(dir.path(), args);
            let err = stderr(&o);
            assert_eq!(code(&o), 2, "{args:?} {text}\n{err}");
            assert!(err.contains(needle), "{args:?}: lacks {needle:?}:\n{err}");
            assert!(!err.contains("panicked"), "{err}");
            assert!(stdout(&o).is_empty(), "{}", stdout(&o));
        }
        assert!(!dir.path().join("reports").exists());
        let snapshots: Vec<_> = std::fs::read_dir(dir.path().join("snapshots/demo"))
            .unwrap()
            .collect();
        assert_eq!(snapshots.len(), 1, "collect wrote a snapshot on bad input");
    }
    let mut list_user = demo_fixture();
    list_user["iam"]["users"][0] = serde_json::json!(["alice"]);
    let bad_fixtures = [
        (
            format!("{}\n{{}}", demo_fixture()),
            "bad.json:2:1: text after the end",
        ),
        (
            list_user.to_string(),
            "iam.users[0]: invalid type: sequence, expected an object",
        ),
        (
            demo_fixture().to_string().replacen(
                "\"account_id\":",
                "\"account_id\": \"1\", \"account_id\":",
                1,
            ),
            "metadata: \"account_id\" appears twice",
        ),
    ];
    for (text, needle) in &bad_fixtures {
        let f = write(dir.path(), "bad.json", text);
        let o = import(dir.path(), &f, "out.sqlite");
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{err}");
        assert!(err.contains(needle), "lacks {needle:?}:\n{err}");
        assert!(!dir.path().join("out.sqlite").exists());
    }
}

/// A crude fuzzer: every prefix of a targets file and of a fixture, and each of them with
/// bytes changed, parses or fails with a located message, never a panic.
#[test]
fn no_input_panics() {
    let targets = std::fs::read_to_string(support::root().join("targets.example.json")).unwrap();
    let fixture =
        std::fs::read_to_string(support::root().join("fixtures/demo-account.json")).unwrap();
    let mut tried = 0;
    for text in [&targets, &fixture] {
        let bytes = text.as_bytes();
        for end in (0..bytes.len()).step_by(7) {
            for mutation in [
                None,
                Some(b'['),
                Some(b'"'),
                Some(b'}'),
                Some(0u8),
                Some(b'9'),
            ] {
                let mut b = bytes[..end].to_vec();
                if let (Some(m), Some(last)) = (mutation, b.last_mut()) {
                    *last = m;
                }
                let Ok(t) = std::str::from_utf8(&b) else {
                    continue;
                };
                tried += 1;
                let e = if std::ptr::eq(text, &targets) {
                    targets::parse(Path::new("t.json"), t)
                        .err()
                        .map(|e| e.to_string())
                } else {
                    fixture::parse(Path::new("t.json"), t)
                        .err()
                        .map(|e| e.to_string())
                };
                if let Some(e) = e {
                    assert!(e.starts_with("t.json:"), "{e}");
                    assert!(!e.chars().any(untrusted::is_unsafe), "{e:?}");
                }
            }
        }
    }
    assert!(tried > 1000, "{tried}");
}

/// A rule never falls back to its default on a parameter it cannot read: every user is
/// then `error`, whatever built the rule's settings.
#[test]
fn a_rule_never_defaults_an_unreadable_parameter() {
    use cloudkestrel::rules::{self, Check, Status};
    let account = fixture::load(&support::root().join("fixtures/demo-account.json")).unwrap();
    let rule = rules::find("IAM_USER_UNUSED_CREDENTIALS_CHECK").unwrap();
    for bad in ["9223372036854775808", "2147483648", "ninety", "0", "-5", ""] {
        let mut spec = targets::RuleSpec::with_defaults(rule);
        spec.parameters
            .insert("maxCredentialUsageAge".into(), bad.into());
        let local: Vec<_> = rules::evaluate(&account, &[spec])
            .into_iter()
            .filter(|f| f.check == Check::Local)
            .collect();
        assert_eq!(local.len(), account.iam.users.len(), "{bad}");
        for f in &local {
            assert_eq!(f.status, Status::Error, "{bad}: {f:?}");
            assert!(
                f.message
                    .contains("cannot decide: parameter maxCredentialUsageAge is"),
                "{bad}: {}",
                f.message
            );
        }
    }
}

/// Bytes that are not UTF-8 in targets.json or the suppressions file are an error at
/// their line and column (exit 2), like any other: they were "cannot read: stream did
/// not contain valid UTF-8", with no place in the file.
#[test]
fn bytes_that_are_not_utf8_are_an_error_at_their_position() {
    let dir = demo_dir();
    let good = std::fs::read_to_string(dir.path().join("targets.json")).unwrap();
    // In a key on line 3, in a value, in a continuation byte cut short, at the end.
    let at = good.find("\"demo\"").unwrap() + 2;
    let line = 1 + good[..at].matches('\n').count();
    let column = at - good[..at].rfind('\n').map_or(0, |n| n + 1) + 1;
    for (bad, shown) in [
        (&b"\xff"[..], "0xFF"),
        (b"\xc3(", "0xC3"),
        (b"\xed\xa0\x80", "0xED"),
    ] {
        let mut bytes = good.as_bytes()[..at].to_vec();
        bytes.extend_from_slice(bad);
        bytes.extend_from_slice(&good.as_bytes()[at..]);
        std::fs::write(dir.path().join("targets.json"), &bytes).unwrap();
        let o = ck(dir.path(), &["evaluate"]);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{err}");
        assert!(
            err.contains(&format!(
                "targets.json:{line}:{column}: byte {shown} is not UTF-8 text"
            )),
            "{err}"
        );
        assert!(!dir.path().join("reports").exists());
    }
    std::fs::write(dir.path().join("targets.json"), &good).unwrap();
    let suppressions = "{\"Suppressions\": [\n  {\"Rule\": \"*\", \"Resource\": \"*\", \"Reason\": \"caf\u{e9}\", \"Expires\": \"2027-01-01\"}\n]}\n";
    let latin1 = suppressions.replace('\u{e9}', "\u{1}");
    let mut bytes = latin1.into_bytes();
    let e = bytes.iter().position(|&b| b == 1).unwrap();
    bytes[e] = 0xe9;
    std::fs::write(dir.path().join("suppressions.json"), &bytes).unwrap();
    let o = ck(dir.path(), &["evaluate"]);
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(
        err.contains("suppressions.json:2:48: byte 0xE9 is not UTF-8 text"),
        "{err}"
    );
    assert!(!dir.path().join("reports").exists());
    std::fs::write(dir.path().join("suppressions.json"), suppressions).unwrap();
    assert_ne!(code(&ck(dir.path(), &["evaluate"])), 2);
}
