//! Checks and positions on the JSON text itself, whatever it is parsed into: it is
//! well-formed, no object has a key twice, nothing follows the document; and where the
//! value at a JSON path starts, for errors found after parsing.

use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::untrusted;

/// A JSON value of any shape whose objects have unique keys, read and dropped: serde_json
/// keeps the last of two equal keys, which would drop a target, a parameter or half of
/// a policy without a word.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeys)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(serde::de::Error::custom(format!(
                    "{} appears twice in this object",
                    super::quoted(&key)
                )));
            }
            map.next_value::<UniqueKeys>()?;
            seen.insert(key);
        }
        Ok(UniqueKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
}

/// Why a text is not exactly one JSON document with unique keys.
pub struct Malformed {
    pub line: usize,
    pub column: usize,
    pub path: String,
    pub message: String,
}

/// Checks that `text` is one well-formed JSON document, that no object in it has a key
/// twice, and that nothing but whitespace follows it (serde_json, reading a value from
/// a deserializer, stops at its end: `{} GARBAGE`, a second document, a `//` comment
/// or a NUL byte would pass unseen).
pub fn check(text: &str) -> Result<(), Malformed> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, UniqueKeys>(&mut *de).map_err(|e| {
        let path = super::show_segments(e.path());
        let inner = e.into_inner();
        Malformed {
            line: inner.line(),
            column: inner.column(),
            path,
            message: super::without_position(&inner.to_string()).to_string(),
        }
    })?;
    de.end().map_err(|e| Malformed {
        line: e.line(),
        column: e.column(),
        path: String::new(),
        message: "text after the end of the JSON document: a file holds exactly one JSON value, and JSON has no comments".into(),
    })
}

/// One step of a JSON path: an object key or an array index.
#[derive(Clone, Copy)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// A path as messages show it: `Targets[0].demo.Rules[1]`.
pub fn show_path(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&super::cut(&untrusted::escape(k)));
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Where the value at `path` starts in `text` (JSON that has parsed), as serde_json
/// counts lines and columns: `text` is read again, down that path only, and reading
/// stops with an error at the value, whose position serde_json reports. So an error
/// found after parsing (a target defined twice, a rule configured twice…) points into
/// the file like a syntax error does. `None` if the path is not in `text`.
pub fn position_of(text: &str, path: &[Step<'_>]) -> Option<(usize, usize)> {
    use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

    // Markers: serde_json places an error at the last byte it has read. For a string or
    // a number that is its last byte; for an object or an array, serde_json has gone
    // on past the opening bracket, over whitespace and the closing bracket of an empty
    // one, before placing the error: [`opening_bracket`] walks back to it.
    const HERE: &str = "the value looked for";
    const OPENED_MAP: &str = "the value looked for, an object";
    const OPENED_SEQ: &str = "the value looked for, an array";
    struct Seek<'p, 'a>(&'p [Step<'a>]);
    struct Stop;
    impl<'de> Visitor<'de> for Stop {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(HERE)
        }
        // Objects and arrays stop at their opening bracket; scalars, once read.
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            Err(A::Error::custom(OPENED_MAP))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
            Err(A::Error::custom(OPENED_SEQ))
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
            Err(E::custom(HERE))
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
            Err(E::custom(HERE))
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
            Err(E::custom(HERE))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
            Err(E::custom(HERE))
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
            Err(E::custom(HERE))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
            Err(E::custom(HERE))
        }
    }
    impl<'de> Visitor<'de> for Seek<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object or an array")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let Some((Step::Key(want), rest)) = self.0.split_first() else {
                return Ok(());
            };
            while let Some(key) = map.next_key::<String>()? {
                if key == *want {
                    return map.next_value_seed(Seek(rest));
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let Some((Step::Index(want), rest)) = self.0.split_first() else {
                return Ok(());
            };
            for _ in 0..*want {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Ok(());
                }
            }
            seq.next_element_seed(Seek(rest)).map(|_| ())
        }
    }
    impl<'de> DeserializeSeed<'de> for Seek<'_, '_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            if self.0.is_empty() {
                d.deserialize_any(Stop)
            } else {
                d.deserialize_any(self)
            }
        }
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let e = Seek(path).deserialize(de).err()?;
    let msg = e.to_string();
    if msg.starts_with(OPENED_MAP) {
        Some(opening_bracket(text, e.line(), e.column(), b'}'))
    } else if msg.starts_with(OPENED_SEQ) {
        Some(opening_bracket(text, e.line(), e.column(), b']'))
    } else if msg.starts_with(HERE) {
        Some((e.line(), e.column()))
    } else {
        None
    }
}

/// The line and column of the opening bracket of an object or array whose reading
/// stopped right after it, from the place serde_json reports (its last byte read, one
/// of: the bracket, whitespace after it, or the closing bracket `close` of an empty
/// one). Columns count bytes, as serde_json's do.
fn opening_bracket(text: &str, line: usize, column: usize, close: u8) -> (usize, usize) {
    let bytes = text.as_bytes();
    let line_start = |mut i: usize| {
        while i > 0 && bytes[i - 1] != b'\n' {
            i -= 1;
        }
        i
    };
    let mut start = 0;
    for _ in 1..line {
        start = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |n| start + n + 1);
    }
    let mut i = (start + column)
        .saturating_sub(1)
        .min(bytes.len().saturating_sub(1));
    if bytes.get(i) == Some(&close) && i > 0 {
        i -= 1;
    }
    while i > 0 && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r') {
        i -= 1;
    }
    let line = 1 + memchr::memchr_iter(b'\n', &bytes[..i]).count();
    (line, i - line_start(i) + 1)
}
