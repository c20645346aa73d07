use super::*;
use serde_json::{json, Value};

fn n(v: Value) -> Policy {
    normalize(&v).unwrap()
}

#[test]
fn order_sid_case_and_scalars_do_not_matter() {
    let a = n(json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "A", "Effect": "Allow", "Action": ["iam:GetUser", "iam:ListMFADevices"], "Resource": "arn:aws:iam::*:user/${aws:username}"},
        {"Sid": "B", "Effect": "Deny", "NotAction": "sts:GetSessionToken", "Resource": "*",
         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
    ]}));
    let b = n(json!({"Statement": [
        {"Effect": "Deny", "NotAction": ["STS:getsessiontoken", "sts:GetSessionToken"], "Resource": ["*"],
         "Condition": {"BoolIfExists": {"AWS:MultiFactorAuthPresent": false}}},
        {"Effect": "Allow", "Action": ["iam:listmfadevices", "IAM:GetUser"], "Resource": ["arn:aws:iam::*:user/${aws:username}"]}
    ], "Version": "2012-10-17"}));
    assert!(a.identical(&b), "{}", a.diff(&b));
    assert!(a.diff(&b).is_empty());
}

#[test]
fn bool_vs_boolifexists_differs_and_is_explained() {
    let a = n(
        json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotAction": "sts:GetSessionToken", "Resource": "*",
         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}}),
    );
    let b = n(
        json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotAction": "sts:GetSessionToken", "Resource": "*",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}}),
    );
    assert!(!a.identical(&b));
    let d = a.diff(&b);
    assert_eq!(d.changed.len(), 1);
    let text = d.to_string();
    assert!(
        text.contains(
            "Condition \"BoolIfExists\": {\"aws:MultiFactorAuthPresent\":\"false\"} is missing"
        ) && text
            .contains("Condition \"Bool\": {\"aws:MultiFactorAuthPresent\":\"false\"} is only in"),
        "{text}"
    );
}

#[test]
fn version_matters_only_with_variables() {
    let with_var = |v: Option<&str>| {
        let mut d = json!({"Statement": {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/${aws:username}"}});
        if let Some(v) = v {
            d["Version"] = json!(v);
        }
        n(d)
    };
    assert!(!with_var(Some("2012-10-17")).identical(&with_var(None)));
    let plain = |v: &str| {
        n(
            json!({"Version": v, "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}),
        )
    };
    assert!(plain("2012-10-17").identical(&plain("2008-10-17")));
}

#[test]
fn invalid_documents_are_rejected() {
    assert!(
        normalize(&json!({"Statement": {"Effect": "allow", "Action": "*", "Resource": "*"}}))
            .is_err()
    );
    assert!(normalize(
        &json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceVpc": "a", "AWS:SOURCEVPC": "b"}}}})
    )
    .is_err());
    assert!(normalize(&json!({"Statement": [], "Extra": 1})).is_err());
}

#[test]
fn duplicate_keys_are_refused_at_any_depth() {
    let same = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", 1, 2.5, true, null, -3], "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": false}}}]}"#;
    // Without duplicates: exactly what serde_json makes of it, numbers included.
    assert_eq!(
        parse_document(same).unwrap(),
        serde_json::from_str::<Value>(same).unwrap()
    );
    for twice in [
        r#"{"Version": "2012-10-17", "Version": "2008-10-17", "Statement": []}"#,
        r#"{"Statement": {"Effect": "Deny", "Effect": "Allow", "Action": "*", "Resource": "*"}}"#,
        r#"{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Principal": {"AWS": "1", "AWS": "*"}}]}"#,
        "%7B%22Statement%22%3A%5B%5D%2C%22Statement%22%3A%5B%5D%7D",
    ] {
        let e = parse_document(twice).unwrap_err().to_string();
        assert!(e.contains("appears twice"), "{twice}: {e}");
    }
    // Trailing garbage is still an error, as with serde_json::from_str.
    assert!(parse_document(r#"{"Statement": []} x"#).is_err());
    // Keys are compared as JSON reads them (escapes undone), in condition blocks too.
    for twice in [
        r#"{"Statement": {"\u0045ffect": "Allow", "Effect": "Deny"}}"#,
        r#"{"Statement": {"Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24", "aws:SourceIp": "0.0.0.0/0"}}}}"#,
    ] {
        let e = parse_document(twice).unwrap_err().to_string();
        assert!(
            e.contains("appears twice") && !e.contains("not valid JSON"),
            "{e}"
        );
    }
    // Numbers and nesting as serde_json: the same values, the same errors.
    for text in [
        "[18446744073709551615, 18446744073709551616, -9223372036854775808, -0, 1e-7, 0.1]",
        "[1e400]",
        &format!("{}{}", "[".repeat(200), "]".repeat(200)),
        &format!("{}{}", "[".repeat(100), "]".repeat(100)),
    ] {
        let ours = parse_document(text).map_err(|_| ());
        let theirs = serde_json::from_str::<Value>(text).map_err(|_| ());
        assert_eq!(ours, theirs, "{}", &text[..text.len().min(60)]);
    }
}

#[test]
fn url_encoded_documents_are_decoded() {
    let v = parse_document("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D")
        .unwrap();
    assert_eq!(v["Version"], "2012-10-17");
}

#[test]
fn globs() {
    assert!(action_matches("s3:Get*", "s3:GetObject"));
    assert!(action_matches("*", "s3:PutObject"));
    assert!(action_matches("S3:?etObject", "s3:getobject"));
    assert!(!action_matches("s3:Put*", "s3:GetObject"));
}

/// Differences quote each document as written (case, `"*"` for a principal, the
/// statement's index and Sid); the comparison stays on the normalised forms.
#[test]
fn differences_quote_both_documents_as_written() {
    let ours = n(json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}},
        {"Sid": "Gone", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}
    ]}));
    let theirs = n(json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Extra", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
        {"Sid": "read", "Effect": "Allow", "Principal": "*",
         "Action": ["S3:GETOBJECT", "s3:PutObject"], "Resource": ["*"],
         "Condition": {"IpAddress": {"AWS:SourceIP": ["192.0.2.0/24", "198.51.100.7"]}}}
    ]}));
    assert!(!ours.identical(&theirs));
    let text = ours.diff(&theirs).to_string();
    for line in [
        "changed statement Statement[0] (Sid \"Read\") of ours, Statement[1] (Sid \"read\") of the account's: Action: missing s3:ListBucket; extra s3:PutObject",
        ": Principal: expected \"Principal\": {\"AWS\":\"arn:aws:iam::111122223333:root\"}, found \"Principal\": \"*\"",
        ": Condition IpAddress AWS:SourceIP: extra 198.51.100.7",
        "missing statement Statement[1] (Sid \"Gone\"): {\"Sid\":\"Gone\",\"Effect\":\"Deny\",\"Action\":\"s3:DeleteBucket\",\"Resource\":\"*\"}",
        "extra statement Statement[0] (Sid \"Extra\"): {\"Sid\":\"Extra\",\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\"}",
    ] {
        assert!(text.contains(line), "{line}\nnot in\n{text}");
    }
    assert!(
        !text.contains("s3:getobject") && !text.contains("aws:sourceip"),
        "{text}"
    );
}
