//! JSON input files (targets.json, fixtures, and any later one), read strictly: exactly
//! JSON and exactly the schema.
//!
//! - The text is one well-formed JSON document, and nothing follows it.
//! - No object has a key twice, at any depth (policy documents and parameters
//!   included): serde_json would keep the last one.
//! - A struct is read from an object only, never from a list of its field values
//!   ([`objects::ObjectsOnly`]).
//! - Every error gives `file:line:column`, the JSON path (`Targets[0].prod.Rules[1]`)
//!   and the message, in which values from the file are cut at [`VALUE_LIMIT`]
//!   characters (with `…`) and control and bidi characters are shown escaped
//!   (`\u{1b}`, [`crate::untrusted`]), never raw.
//!
//! Errors that can only be seen once everything is read are located afterwards by
//! their JSON path ([`located`]), so they point into the file like a syntax error.

mod document;
pub mod objects;

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use document::{position_of, show_path, Step};

use crate::untrusted;

/// How many characters of a value from the file a message shows.
pub const VALUE_LIMIT: usize = 80;

/// A JSON input file that cannot be used.
#[derive(Debug)]
pub enum InputError {
    Read {
        file: PathBuf,
        reason: String,
    },
    /// Where in the file, and why.
    Invalid {
        file: PathBuf,
        line: usize,
        column: usize,
        /// The JSON path, empty for the document itself.
        path: String,
        message: String,
    },
    /// An error whose place in the file could not be found.
    Unlocated {
        file: PathBuf,
        path: String,
        message: String,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, message) = match self {
            InputError::Read { file, reason } => {
                return write!(f, "{}: cannot read: {reason}", file.display());
            }
            InputError::Invalid {
                file,
                line,
                column,
                path,
                message,
            } => {
                write!(f, "{}:{line}:{column}: ", file.display())?;
                (path, message)
            }
            InputError::Unlocated {
                file,
                path,
                message,
            } => {
                write!(f, "{}: ", file.display())?;
                (path, message)
            }
        };
        if !path.is_empty() {
            write!(f, "{path}: ")?;
        }
        f.write_str(message)
    }
}

impl std::error::Error for InputError {}

impl InputError {
    fn invalid(file: &Path, line: usize, column: usize, path: String, message: &str) -> Self {
        InputError::Invalid {
            file: file.to_path_buf(),
            line,
            // serde_json says column 0 for an empty line (an empty file).
            column: column.max(1),
            path,
            message: tidy(message),
        }
    }
}

/// Reads a file as text: UTF-8, as JSON is, or an error at the first byte that is not
/// (its line and column, as for any other error in the file).
pub fn read(file: &Path) -> Result<String, InputError> {
    let bytes = std::fs::read(file).map_err(|e| InputError::Read {
        file: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = &bytes[..at];
        let line = 1 + memchr::memchr_iter(b'\n', before).count();
        let column = at - memchr::memrchr(b'\n', before).map_or(0, |n| n + 1) + 1;
        InputError::invalid(
            file,
            line,
            column,
            String::new(),
            &format!(
                "byte 0x{:02X} is not UTF-8 text: a JSON file is UTF-8 (save it as UTF-8)",
                bytes[at]
            ),
        )
    })
}

/// Parses `text` (the contents of `file`, which names it in messages) into `T`, strictly
/// (see the module documentation).
pub fn parse<'de, T: Deserialize<'de>>(file: &Path, text: &'de str) -> Result<T, InputError> {
    document::check(text)
        .map_err(|m| InputError::invalid(file, m.line, m.column, m.path, &m.message))?;
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(objects::ObjectsOnly(&mut *de)).map_err(|e| {
        let message = e.inner().to_string();
        let message = without_position(&message);
        // An object or a list of the wrong type: serde_json places the error before
        // or after its bracket (by the whitespace around it); the path finds it exactly.
        let steps = steps(e.path());
        let bracket = (message.starts_with("invalid type: sequence")
            || message.starts_with("invalid type: map"))
        .then(|| position_of(text, &steps))
        .flatten();
        let (line, column) = bracket.unwrap_or((e.inner().line(), e.inner().column()));
        InputError::invalid(file, line, column, show_segments(e.path()), message)
    })
}

/// For `#[serde(default, deserialize_with = "json_input::not_null")]` on an optional
/// key: absent is `None`, and a value given must be one, never `null`. serde reads
/// `null` as an absent `Option`, so `"Organization": null` made an organization entry
/// an ordinary target, and a suppression's `"Targets": null` applied to every target.
pub fn not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// An error found after parsing, at the value `path` points to in `text` (or without
/// a position if the path is not in the text).
pub fn located(file: &Path, text: &str, path: &[Step<'_>], message: &str) -> InputError {
    match position_of(text, path) {
        Some((line, column)) => InputError::invalid(file, line, column, show_path(path), message),
        None => InputError::Unlocated {
            file: file.to_path_buf(),
            path: show_path(path),
            message: tidy(message),
        },
    }
}

/// A value from the file as messages quote it: `"…"` with Rust's escapes (control and
/// bidi characters as `\u{1b}`), cut at [`VALUE_LIMIT`] characters.
pub fn quoted(value: &str) -> String {
    format!("{:?}", cut(value).as_ref())
}

/// `value` cut at [`VALUE_LIMIT`] characters, with `…`, never inside an escape
/// sequence (`\u{1b}`, `\"`) that `value` holds.
pub fn cut(value: &str) -> Cow<'_, str> {
    let Some((mut end, _)) = value.char_indices().nth(VALUE_LIMIT) else {
        return Cow::Borrowed(value);
    };
    if let Some(b) = value[..end].rfind('\\') {
        let rest = &value[b + 1..];
        let len = if rest.starts_with("u{") {
            rest.find('}').map_or(rest.len(), |i| i + 1)
        } else {
            rest.chars().next().map_or(0, char::len_utf8)
        };
        if b + 1 + len > end {
            end = b;
        }
    }
    Cow::Owned(format!("{}…", &value[..end]))
}

/// A message made safe to print: every control or bidi character escaped, and every
/// value quoted in it (`"…"` with escapes, or `` `…` `` as serde quotes unknown keys)
/// cut at [`VALUE_LIMIT`] characters.
fn tidy(message: &str) -> String {
    let message = untrusted::escape(message);
    let mut out = String::with_capacity(message.len().min(1024));
    let mut rest: &str = &message;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = rest.as_bytes()[open];
        out.push_str(&rest[..=open]);
        let body = &rest[open + 1..];
        let close = if quote == b'"' {
            // The closing quote is the first one not escaped by a backslash.
            let mut escaped = false;
            body.char_indices()
                .find(|&(_, c)| {
                    let end = c == '"' && !escaped;
                    escaped = c == '\\' && !escaped;
                    end
                })
                .map(|(i, _)| i)
        } else {
            body.find('`')
        };
        let Some(close) = close else {
            out.push_str(&cut(body));
            return out;
        };
        out.push_str(&cut(&body[..close]));
        out.push(quote as char);
        rest = &body[close + 1..];
    }
    out.push_str(rest);
    out
}

/// serde_json's message without its " at line L column C" suffix: the position is
/// printed in front.
fn without_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// serde_path_to_error's path as steps through the text.
fn steps(path: &serde_path_to_error::Path) -> Vec<Step<'_>> {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|segment| match segment {
            Segment::Seq { index } => Step::Index(*index),
            Segment::Map { key } | Segment::Enum { variant: key } => Step::Key(key),
            Segment::Unknown => Step::Key(""),
        })
        .collect()
}

/// serde_path_to_error's path as messages show it (`Targets[0].prod.Rules[1]`; empty
/// for the document itself), each key cut and escaped.
fn show_segments(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&cut(&untrusted::escape(key)));
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
