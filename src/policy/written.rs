//! A statement as written in its document: what messages quote.
//!
//! The comparison is on normalised statements (lower-cased actions and condition keys,
//! sets, `"*"` as `{"AWS": ["*"]}`), but a reader looks for what is in the document, so
//! every message that cites a statement or one of its elements quotes it as written:
//! `"Principal": "*"`, `s3:GetObject`, the statement's index and `Sid`. Quotes are
//! compact JSON (the document's key order, no whitespace), cut at a length a report line
//! can hold.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// The longest quote of a whole statement, in characters.
const STATEMENT_CHARS: usize = 400;
/// The longest quote of one element (`"Action": […]`), in characters.
const ELEMENT_CHARS: usize = 160;

/// Where a normalised statement came from: its index in the document's `Statement`
/// list and its text as written.
///
/// Ignored by equality and order: two statements that normalise alike are the same
/// statement, wherever and however they are written (the first one written is the one
/// quoted).
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub index: usize,
    pub text: Map<String, Value>,
}

impl PartialEq for Written {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Written {}

impl PartialOrd for Written {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Written {
    fn cmp(&self, _: &Self) -> Ordering {
        Ordering::Equal
    }
}

impl Written {
    /// `Statement[2] (Sid "DenyAllExceptListedIfNoMFA")`, or `Statement[2]` without a Sid.
    pub fn label(&self) -> String {
        match self.text.get("Sid") {
            Some(Value::String(sid)) if !sid.is_empty() => {
                format!(
                    "Statement[{}] (Sid {})",
                    self.index,
                    Value::from(sid.as_str())
                )
            }
            _ => format!("Statement[{}]", self.index),
        }
    }

    /// The whole statement as compact JSON, cut at [`STATEMENT_CHARS`].
    pub fn quote(&self) -> String {
        cut(
            serde_json::to_string(&self.text).unwrap_or_default(),
            STATEMENT_CHARS,
        )
    }

    /// One element as written, `"Principal": "*"`; `None` when the statement lacks it.
    pub fn element(&self, key: &str) -> Option<String> {
        self.text.get(key).map(|v| quote_entry(key, v))
    }

    /// [`Written::element`], or `none` when the statement lacks it.
    pub fn element_or_none(&self, key: &str) -> String {
        self.element(key).unwrap_or_else(|| "none".into())
    }

    /// How the statement writes `normalized`, one of the values of element `key`
    /// (`s3:GetObject` for `s3:getobject`); `normalized` itself when it is not found.
    pub fn spelling(&self, key: &str, normalized: &str) -> String {
        let list: Vec<&Value> = match self.text.get(key) {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(other) => vec![other],
            None => Vec::new(),
        };
        list.into_iter()
            .map(scalar_text)
            .find(|s| s.eq_ignore_ascii_case(normalized))
            .unwrap_or_else(|| normalized.to_string())
    }

    /// The condition block of operator `op` (as written: operators are not folded).
    fn condition(&self, op: &str) -> Option<&Map<String, Value>> {
        match self.text.get("Condition") {
            Some(Value::Object(ops)) => match ops.get(op) {
                Some(Value::Object(keys)) => Some(keys),
                _ => None,
            },
            _ => None,
        }
    }

    /// `"Bool": {"aws:MultiFactorAuthPresent":"false"}`: operator `op`'s block as written.
    pub fn condition_operator(&self, op: &str) -> String {
        match self.condition(op) {
            Some(keys) => quote_entry(op, &Value::Object(keys.clone())),
            None => format!("{}: none", Value::from(op)),
        }
    }

    /// How the statement writes condition key `folded` under `op` (`aws:SourceIp` for
    /// `aws:sourceip`), with its values as written: `("aws:SourceIp", "[\"192.0.2.1\"]")`.
    pub fn condition_key(&self, op: &str, folded: &str) -> Option<(String, String)> {
        let (key, values) = self
            .condition(op)?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(folded))?;
        Some((key.clone(), cut(values.to_string(), ELEMENT_CHARS)))
    }

    /// How the statement writes condition key `folded` under `op`; `folded` itself when
    /// it is not found.
    pub fn condition_key_name(&self, op: &str, folded: &str) -> String {
        self.condition_key(op, folded)
            .map_or_else(|| folded.to_string(), |(k, _)| k)
    }
}

/// `"Key": value`, compact, cut at [`ELEMENT_CHARS`].
fn quote_entry(key: &str, value: &Value) -> String {
    cut(format!("{}: {value}", Value::from(key)), ELEMENT_CHARS)
}

/// A scalar's text as normalisation reads it (a string as is, `false`, `3`).
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `text` cut to at most `max` characters, with `… (N characters)` saying how long it was.
fn cut(text: String, max: usize) -> String {
    let chars = text.chars().count();
    if chars <= max {
        return text;
    }
    let end = text.char_indices().nth(max).map_or(text.len(), |(i, _)| i);
    format!("{}… ({chars} characters)", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn written(v: Value, index: usize) -> Written {
        let Value::Object(text) = v else { panic!() };
        Written { index, text }
    }

    #[test]
    fn quotes_as_written() {
        let w = written(
            json!({"Sid": "Pub", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "S3:ListBucket"],
                   "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}),
            3,
        );
        assert_eq!(w.label(), "Statement[3] (Sid \"Pub\")");
        assert_eq!(w.element("Principal").unwrap(), "\"Principal\": \"*\"");
        assert_eq!(w.element("Resource"), None);
        assert_eq!(w.spelling("Action", "s3:listbucket"), "S3:ListBucket");
        assert_eq!(w.spelling("Action", "s3:putobject"), "s3:putobject");
        assert_eq!(
            w.condition_key("StringEquals", "aws:sourcevpc").unwrap(),
            ("aws:SourceVpc".to_string(), "\"vpc-1\"".to_string())
        );
        assert_eq!(
            w.condition_operator("StringEquals"),
            "\"StringEquals\": {\"aws:SourceVpc\":\"vpc-1\"}"
        );
        assert!(w
            .quote()
            .starts_with("{\"Sid\":\"Pub\",\"Effect\":\"Allow\",\"Principal\":\"*\""));
        assert_eq!(
            written(json!({"Effect": "Deny"}), 0).label(),
            "Statement[0]"
        );
    }

    #[test]
    fn long_quotes_are_cut_on_a_character() {
        let long = "é".repeat(500);
        let w = written(json!({ "Resource": long }), 0);
        let q = w.quote();
        let tail = format!("… ({} characters)", 13 + 500 + 2);
        assert!(q.ends_with(&tail), "{q}");
        assert_eq!(q.chars().count(), STATEMENT_CHARS + tail.chars().count());
    }
}
