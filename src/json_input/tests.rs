use super::*;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Schema {
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    doc: serde_json::Value,
    #[serde(default)]
    settings: std::collections::BTreeMap<String, u32>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
enum Rule {
    Config(Config),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Config {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "AddIfMissing", default)]
    add_if_missing: bool,
}

fn error(text: &str) -> String {
    parse::<Schema>(Path::new("in.json"), text)
        .unwrap_err()
        .to_string()
}

#[test]
fn text_after_the_document_is_an_error_with_its_position() {
    for (text, at) in [
        ("{} GARBAGE", "in.json:1:4: "),
        ("{}\n{}", "in.json:2:1: "),
        ("{} // a comment", "in.json:1:4: "),
        ("{}\u{0}", "in.json:1:3: "),
        ("{\"rules\": []}\n\n  ]", "in.json:3:3: "),
    ] {
        let e = error(text);
        assert!(e.starts_with(at), "{text:?}: {e}");
        assert!(e.contains("text after the end of the JSON document"), "{e}");
    }
    // Whitespace after it is fine.
    assert!(parse::<Schema>(Path::new("in.json"), "{}\n\t \r\n").is_ok());
}

#[test]
fn a_key_twice_is_an_error_at_any_depth() {
    assert_eq!(
        error("{\"rules\": [],\n \"rules\": []}"),
        "in.json:2:8: \"rules\" appears twice in this object"
    );
    assert_eq!(
        error(r#"{"doc": {"Statement": [{"Effect": "Allow", "Effect": "Deny"}]}}"#),
        "in.json:1:51: doc.Statement[0]: \"Effect\" appears twice in this object"
    );
    assert_eq!(
        error(r#"{"settings": {"a": 1, "a": 2}}"#),
        "in.json:1:25: settings: \"a\" appears twice in this object"
    );
    // Keys are compared as JSON reads them: an escape is the same key.
    assert!(error(r#"{"settings": {"a": 1, "\u0061": 2}}"#).contains("\"a\" appears twice"));
}

#[test]
fn a_list_is_never_an_object() {
    assert_eq!(
        error(r#"{"rules": [{"Config": ["IAM_USER_NO_POLICIES_CHECK", true]}]}"#),
        "in.json:1:23: rules[0].Config: invalid type: sequence, expected an object"
    );
    assert_eq!(
        error(r#"["IAM_USER_NO_POLICIES_CHECK"]"#),
        "in.json:1:1: invalid type: sequence, expected an object"
    );
    assert_eq!(
        error(r#"{"rules": [["Config", {"Name": "X"}]]}"#),
        "in.json:1:12: rules[0]: invalid type: sequence, expected one of `Config`"
    );
}

#[test]
fn syntax_and_type_errors_keep_their_position_and_path() {
    assert_eq!(
        error("{\"rules\": [\n  {\"Config\": {\"Name\": 5}}]}"),
        "in.json:2:23: rules[0].Config.Name: invalid type: integer `5`, expected a string"
    );
    assert_eq!(error(""), "in.json:1:1: EOF while parsing a value");
    assert!(error("{\"rules\": [}").starts_with("in.json:1:12: "));
    let e = error(r#"{"settings": {"a": 99999999999}}"#);
    assert!(
        e.starts_with("in.json:1:30: settings.a: invalid value: integer `99999999999`"),
        "{e}"
    );
}

/// No value from the file reaches a message raw or whole: control and bidi characters
/// are escaped, long values cut.
#[test]
fn values_in_messages_are_escaped_and_cut() {
    let hostile = "\u{1b}]0;pwned\u{7}\u{9b}2J\u{202e}\u{2066}";
    // An unknown key (serde quotes it with backticks, raw).
    let e = error(&format!(
        r#"{{"{}": 1}}"#,
        hostile
            .replace('\u{1b}', "\\u001b")
            .replace('\u{7}', "\\u0007")
    ));
    assert!(!e.chars().any(untrusted::is_unsafe), "{e:?}");
    assert!(
        e.contains("unknown field `\\u{1b}]0;pwned\\u{7}\\u{9b}2J\\u{202e}\\u{2066}`"),
        "{e}"
    );
    // A long key, in the message and in the path.
    let long = "k".repeat(300);
    let e = error(&format!(r#"{{"settings": {{"{long}": "x"}}}}"#));
    assert!(
        e.contains(&format!("settings.{}…: ", "k".repeat(VALUE_LIMIT))),
        "{e}"
    );
    assert!(e.len() < 300, "{e}");
    let e = error(&format!(r#"{{"{long}": 1}}"#));
    assert!(
        e.contains(&format!("`{}…`", "k".repeat(VALUE_LIMIT))),
        "{e}"
    );
    // A long string value in serde's own message.
    let e = error(&format!(r#"{{"settings": {{"a": "{long}"}}}}"#));
    assert!(
        e.contains(&format!("\"{}…\"", "k".repeat(VALUE_LIMIT))),
        "{e}"
    );
}

#[test]
fn cut_never_splits_an_escape() {
    let s = format!("{}\\u{{1b}}tail", "a".repeat(VALUE_LIMIT - 3));
    assert_eq!(cut(&s), format!("{}…", "a".repeat(VALUE_LIMIT - 3)));
    let s = format!("{}\\\"tail", "a".repeat(VALUE_LIMIT - 1));
    assert_eq!(cut(&s), format!("{}…", "a".repeat(VALUE_LIMIT - 1)));
    let s = "é".repeat(VALUE_LIMIT + 5);
    assert_eq!(cut(&s), format!("{}…", "é".repeat(VALUE_LIMIT)));
    assert_eq!(cut("short"), "short");
    assert_eq!(quoted("a\u{1b}b"), "\"a\\u{1b}b\"");
    assert_eq!(tidy("x \"unterminated"), "x \"unterminated");
    assert_eq!(
        tidy("`a` and \"b\\\"c\" \u{7}"),
        "`a` and \"b\\\"c\" \\u{7}"
    );
}

#[test]
fn errors_found_after_parsing_are_located_by_path() {
    let text = "{\"rules\": [\n  {\"Config\": {\"Name\": \"X\"}}]}";
    let e = located(
        Path::new("in.json"),
        text,
        &[Step::Key("rules"), Step::Index(0)],
        "bad \u{202e}",
    );
    assert_eq!(e.to_string(), "in.json:2:3: rules[0]: bad \\u{202e}");
    let e = located(Path::new("in.json"), text, &[Step::Key("nope")], "gone");
    assert_eq!(e.to_string(), "in.json: nope: gone");
}

#[test]
fn a_path_not_in_the_text_has_no_position() {
    let text = r#"{"Targets": [{"a": {"Rules": []}}]}"#;
    assert_eq!(position_of(text, &[Step::Key("Nope")]), None);
    assert_eq!(
        position_of(text, &[Step::Key("Targets"), Step::Index(3)]),
        None
    );
    assert_eq!(
        position_of(text, &[Step::Key("Targets"), Step::Key("a")]),
        None,
        "a key where the value is an array"
    );
    assert!(position_of(text, &[Step::Key("Targets"), Step::Index(0)]).is_some());
}

/// Deeply nested or odd input is an error, never a panic or a stack overflow.
#[test]
fn hostile_nesting_is_an_error() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(error(&deep).contains("recursion limit exceeded"));
    let deep = format!(
        "{{\"doc\": {}{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    assert!(error(&deep).contains("recursion limit exceeded"));
    for odd in [
        "\u{feff}{}",
        "{\"a\": \"\\ud800\"}",
        "{\"a\": 1e999}",
        "nul",
        "\"\u{1}\"",
    ] {
        let _ = error(odd);
    }
}

/// Every optional key of the input files' raw structs reads through [`not_null`]: serde
/// takes `null` for an absent `Option`, which once made `"Organization": null` an
/// ordinary target and `"Targets": null` a suppression of every target. A new optional
/// key without it fails here, not in a user's file.
#[test]
fn every_optional_key_of_an_input_file_refuses_null() {
    let sources = [
        ("src/targets/file.rs", include_str!("../targets/file.rs")),
        (
            "src/targets/rule_specs.rs",
            include_str!("../targets/rule_specs.rs"),
        ),
        (
            "src/triage/suppressions.rs",
            include_str!("../triage/suppressions.rs"),
        ),
    ];
    let mut checked = 0;
    for (file, source) in sources {
        let lines: Vec<&str> = source.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let field = line.trim_start();
            // A private field of a raw (deserialised) struct: `name: Option<…>,`.
            let Some((name, ty)) = field.split_once(": ") else {
                continue;
            };
            if line.len() == field.len()
                || !ty.starts_with("Option<")
                || !ty.ends_with(',')
                || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                continue;
            }
            // Its attributes: the lines above it, up to the previous field or the brace.
            let is_field = |l: &str| l.contains(": ") && l.trim_end().ends_with(',');
            let attrs: String = lines[..i]
                .iter()
                .rev()
                .take_while(|l| !is_field(l) && !l.trim_end().ends_with('{'))
                .copied()
                .collect();
            if !attrs.contains("serde") {
                continue; // not a deserialised struct's field
            }
            assert!(
                attrs.contains("json_input::not_null"),
                "{file}:{}: {name} is optional but reads null as absent",
                i + 1
            );
            checked += 1;
        }
    }
    assert!(checked >= 14, "only {checked} optional keys found");
}
