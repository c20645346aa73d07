//! Strict parsing of policy documents: JSON or URL-encoded JSON, a key written twice
//! refused.

use std::fmt;

use serde_json::{Map, Value};

use super::PolicyError;

/// Parses a policy document as stored by IAM: either JSON or a URL-encoded JSON string.
///
/// A key written twice in one JSON object (two `Effect`s in a statement, two `Resource`s)
/// is refused: the policy grammar forbids it, and a JSON parser keeps one of the two
/// (serde_json the last) where AWS may have read the other, so any verdict drawn from
/// it would be a guess. Collect records such a document as a problem of what it belongs
/// to, and every check that needs it reports `error`.
pub fn parse_document(text: &str) -> Result<Value, PolicyError> {
    let decoded = if text.trim_start().starts_with('{') {
        std::borrow::Cow::Borrowed(text)
    } else {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_err(|e| PolicyError(format!("not valid URL-encoded UTF-8: {e}")))?
    };
    parse_json_document(&decoded)
}

/// Parses a document that is JSON text, never URL-encoded (as a snapshot stores them),
/// with the same rule as [`parse_document`]: a key written twice is refused.
pub fn parse_json_document(text: &str) -> Result<Value, PolicyError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde::de::DeserializeSeed::deserialize(UniqueKeys, &mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| match e.classify() {
            // Only UniqueKeys raises data errors here: valid JSON, invalid policy.
            serde_json::error::Category::Data => PolicyError(e.to_string()),
            _ => PolicyError(format!("not valid JSON: {e}")),
        })?;
    Ok(value)
}

/// Deserialises JSON into a [`Value`] like serde_json does, but fails on an object that
/// holds the same key twice.
#[derive(Clone, Copy)]
struct UniqueKeys;

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        // Like serde_json: a number JSON can hold (never NaN or infinite when parsed).
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // One lookup per key (`entry`), not two: snapshot reading parses every
            // stored document with this (issue 12).
            match out.entry(key) {
                serde_json::map::Entry::Occupied(o) => {
                    return Err(serde::de::Error::custom(format!(
                        "the key {:?} appears twice in one object (the policy grammar forbids it, and which one AWS reads is not known)",
                        o.key()
                    )));
                }
                serde_json::map::Entry::Vacant(v) => {
                    v.insert(map.next_value_seed(self)?);
                }
            }
        }
        Ok(Value::Object(out))
    }
}
