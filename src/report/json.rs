//! The JSON report's writer: the value `serde_json` makes of [`TargetReport`], written
//! by hand for speed, one result and one problem per line.

use std::io::{self, Write};

use chrono::SecondsFormat;

use super::{Summary, Tally, TargetReport};
use crate::rules::Finding;

impl TargetReport {
    /// The JSON file's text (see [`TargetReport::write_json`]).
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        self.json_into(&mut out);
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    /// The JSON file's bytes into `out` (cleared first, then sized for the report), so
    /// that a caller writing many reports can reuse one buffer.
    pub fn json_into(&self, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(256 + 300 * self.results.len());
        self.write_json(out).expect("writing to memory cannot fail");
    }

    /// Writes the JSON report: exactly the value `serde_json` makes of this struct (a
    /// test holds the two equal), laid out for people and line tools: the header fields
    /// one per line, then one result per line and one problem per line, so that `grep`,
    /// `diff` and `wc -l` work on it. Written by hand because it is most of
    /// `evaluate`'s time at scale: strings with nothing to escape (nearly all) are
    /// copied as they are, anything else goes through `serde_json`'s escaping.
    pub fn write_json<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(b"{\n  \"schema_version\": ")?;
        write!(w, "{}", self.schema_version)?;
        w.write_all(b",\n  \"target\": ")?;
        json_str(w, &self.target)?;
        w.write_all(b",\n  \"account_id\": ")?;
        json_opt_str(w, self.account_id.as_deref())?;
        if let Some(name) = &self.account_name {
            w.write_all(b",\n  \"account_name\": ")?;
            json_str(w, name)?;
        }
        w.write_all(b",\n  \"collected_at\": ")?;
        let collected = self
            .collected_at
            .map(|d| d.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        json_opt_str(w, collected.as_deref())?;
        w.write_all(b",\n  \"snapshot\": ")?;
        json_str(w, &self.snapshot)?;
        let Summary {
            total,
            resource,
            account,
        } = &self.summary;
        w.write_all(b",\n  \"summary\": {")?;
        write_tally(w, total)?;
        w.write_all(b", \"resource\": {")?;
        write_tally(w, resource)?;
        w.write_all(b"}, \"account\": {")?;
        write_tally(w, account)?;
        w.write_all(b"}")?;
        w.write_all(b"},\n  \"results\": [")?;
        for (i, r) in self.results.iter().enumerate() {
            w.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
            write_finding(w, r)?;
        }
        w.write_all(if self.results.is_empty() {
            b"],\n  \"problems\": ["
        } else {
            b"\n  ],\n  \"problems\": ["
        })?;
        for (i, p) in self.problems.iter().enumerate() {
            w.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
            crate::untrusted::write_json(&mut *w, p)?;
        }
        w.write_all(if self.problems.is_empty() {
            b"]"
        } else {
            b"\n  ]"
        })?;
        // Triage, one line each: what few entries there are.
        if let Some(s) = &self.suppressions {
            w.write_all(b",\n  \"suppressions\": ")?;
            crate::untrusted::write_json(&mut *w, s)?;
        }
        if let Some(b) = &self.baseline {
            w.write_all(b",\n  \"baseline\": ")?;
            crate::untrusted::write_json(&mut *w, b)?;
        }
        if let Some(fixed) = &self.fixed {
            w.write_all(b",\n  \"fixed\": [")?;
            for (i, f) in fixed.iter().enumerate() {
                w.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
                crate::untrusted::write_json(&mut *w, f)?;
            }
            w.write_all(if fixed.is_empty() { b"]" } else { b"\n  ]" })?;
        }
        w.write_all(b"\n}\n")
    }
}

/// One result as a compact JSON object, keys in the struct's order.
fn write_finding<W: Write>(w: &mut W, f: &Finding) -> io::Result<()> {
    // Ids, rule names, checks, scopes, statuses and severities are CloudKestrel's own words,
    // never escaped.
    let mut id = Vec::with_capacity(32);
    f.id.write_hex(&mut id);
    w.write_all(b"{\"id\": \"")?;
    w.write_all(&id)?;
    w.write_all(b"\", \"rule\": \"")?;
    w.write_all(f.rule.as_bytes())?;
    w.write_all(b"\", \"check\": \"")?;
    w.write_all(f.check.as_str().as_bytes())?;
    w.write_all(b"\", \"scope\": \"")?;
    w.write_all(f.scope.as_str().as_bytes())?;
    w.write_all(b"\"")?;
    if let Some(c) = &f.cause {
        id.clear();
        c.id().write_hex(&mut id);
        w.write_all(b", \"cause\": \"")?;
        w.write_all(&id)?;
        w.write_all(b"\"")?;
    }
    w.write_all(b", \"resource\": ")?;
    json_str(w, &f.resource)?;
    w.write_all(b", \"resource_name\": ")?;
    json_str(w, &f.resource_name)?;
    w.write_all(b", \"status\": \"")?;
    w.write_all(f.status.as_str().as_bytes())?;
    w.write_all(b"\", \"severity\": \"")?;
    w.write_all(f.severity.as_str().as_bytes())?;
    w.write_all(b"\"")?;
    w.write_all(b", \"message\": ")?;
    json_str(w, &f.message)?;
    if !f.details.is_empty() {
        w.write_all(b", \"details\": [")?;
        for (i, d) in f.details.iter().enumerate() {
            if i > 0 {
                w.write_all(b", ")?;
            }
            json_str(w, d)?;
        }
        w.write_all(b"]")?;
    }
    if let Some(a) = f.aspect {
        w.write_all(b", \"aspect\": ")?;
        json_str(w, a)?;
    }
    if let Some(s) = &f.suppressed {
        w.write_all(b", \"suppressed\": ")?;
        write_applied(w, s)?;
    }
    if let Some(new) = f.new {
        w.write_all(if new {
            b", \"new\": true"
        } else {
            b", \"new\": false"
        })?;
    }
    if let Some(s) = &f.expired_suppression {
        w.write_all(b", \"expired_suppression\": ")?;
        write_applied(w, s)?;
    }
    w.write_all(b"}")
}

/// A [`Tally`]'s fields, in its order, without braces.
fn write_tally<W: Write>(w: &mut W, t: &Tally) -> io::Result<()> {
    write!(
        w,
        "\"pass\": {}, \"fail\": {}, \"error\": {}, \"suppressed\": {}",
        t.pass, t.fail, t.error, t.suppressed
    )?;
    if let Some(new) = t.new {
        write!(w, ", \"new\": {new}")?;
    }
    Ok(())
}

/// A suppression as a result carries it: `{"reason", "expires", "owner"}`.
fn write_applied<W: Write>(w: &mut W, s: &crate::triage::suppressions::Applied) -> io::Result<()> {
    w.write_all(b"{\"reason\": ")?;
    json_str(w, &s.reason)?;
    write!(w, ", \"expires\": \"{}\"", s.expires.format("%Y-%m-%d"))?;
    if let Some(owner) = &s.owner {
        w.write_all(b", \"owner\": ")?;
        json_str(w, owner)?;
    }
    w.write_all(b"}")
}

/// A JSON string. JSON requires escaping only `"`, `\\` and control characters, and
/// the report also escapes what could drive a terminal (DEL, C1 and bidi controls,
/// [`crate::untrusted::JsonEscaping`]); a string of plain ASCII without `"`, `\\` or
/// controls is written as it is (the check vectorises), any other through `serde_json`
/// with that formatter, which writes other non-ASCII text as it is: the output is
/// byte for byte serde_json's for every string without such characters.
fn json_str<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    if !json_needs_escaping(s) {
        w.write_all(b"\"")?;
        w.write_all(s.as_bytes())?;
        w.write_all(b"\"")
    } else {
        crate::untrusted::write_json(w, s)
    }
}

/// Whether a string may need escaping: it holds `"`, `\\`, a control character or a
/// byte of a non-ASCII character (which may be a C1 or bidi control). A fold without
/// early exit: on these short strings it beat memchr and a word-at-a-time test
/// (measured).
fn json_needs_escaping(s: &str) -> bool {
    s.bytes().fold(false, |any, b| {
        // Outside 0x20..0x7F in one compare: below 0x20 wraps round to the top.
        any | (b.wrapping_sub(0x20) >= 0x5f) | (b == b'"') | (b == b'\\')
    })
}

fn json_opt_str<W: Write>(w: &mut W, s: Option<&str>) -> io::Result<()> {
    match s {
        Some(s) => json_str(w, s),
        None => w.write_all(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Check, Scope, Status};

    /// The words the JSON writer copies without escaping need none.
    #[test]
    fn own_words_need_no_json_escaping() {
        let checks = [
            Check::PolicyDocument,
            Check::Attached,
            Check::Deployed,
            Check::AwsConfig,
            Check::Local,
            Check::Setup,
        ];
        let words = crate::rules::RULES
            .iter()
            .map(|r| r.meta().name)
            .chain(checks.iter().map(|c| c.as_str()))
            .chain([Status::Pass, Status::Fail, Status::Error].map(Status::as_str))
            .chain([Scope::Resource, Scope::Account].map(Scope::as_str));
        for w in words {
            assert!(!json_needs_escaping(w), "{w}");
            assert_eq!(serde_json::to_string(w).unwrap(), format!("\"{w}\""));
        }
        assert!(
            json_needs_escaping("a\"b")
                && json_needs_escaping("a\\b")
                && json_needs_escaping("a\u{1}")
        );
    }

    /// The escaping test agrees with the plain byte test for every ASCII value at every
    /// position of strings up to 24 bytes, and on multi-byte characters.
    #[test]
    fn json_needs_escaping_equals_the_byte_test() {
        let reference = |s: &[u8]| {
            s.iter()
                .any(|&b| !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\')
        };
        for len in 1..=24 {
            for fill in [b'a', b' ', b'!', b'#', b'[', b']', 0x7f] {
                for at in 0..len {
                    for v in 0..=127u8 {
                        let mut bytes = vec![fill; len];
                        bytes[at] = v;
                        let s = std::str::from_utf8(&bytes).unwrap();
                        assert_eq!(json_needs_escaping(s), reference(&bytes), "{bytes:?}");
                    }
                }
            }
        }
        // Multi-byte characters: every byte is >= 0x80, so all take the careful path.
        for s in [
            "",
            "日本語 é ü",
            "«»—·",
            "\u{2028}x\u{7f}",
            "日本語日本語\"",
            "日本語日本語\n",
        ] {
            assert_eq!(json_needs_escaping(s), reference(s.as_bytes()), "{s}");
        }
    }
}
