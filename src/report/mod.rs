//! Reports: the JSON contract (`schema_version` 1) and the self-contained HTML page.

pub mod html;
pub mod index;
pub mod junit;
pub mod sarif;

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use crate::model::Problem;
use crate::rules::id::FindingId;
use crate::rules::{Finding, Status};

pub const SCHEMA_VERSION: u32 = 1;

/// The counts of a report. `fail` counts every failure, `suppressed` those of them a
/// suppression accepts; `new`, with a baseline, those absent from it (suppressed or not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub suppressed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<usize>,
}

impl Summary {
    pub fn of(results: &[Finding]) -> Self {
        let mut s = Summary::default();
        for r in results {
            match r.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Error => s.error += 1,
            }
            s.suppressed += usize::from(r.suppressed.is_some());
            if let Some(new) = r.new {
                *s.new.get_or_insert(0) += usize::from(new);
            }
        }
        s
    }
}

fn rfc3339<S: Serializer>(d: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&d.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        None => s.serialize_none(),
    }
}

/// The report of one target: what the JSON file holds, field for field.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub schema_version: u32,
    pub target: String,
    /// `null` when the snapshot could not be read.
    pub account_id: Option<String>,
    /// The account's name in its organization (members of an Organization entry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub collected_at: Option<DateTime<Utc>>,
    /// The snapshot file evaluated, as given or found.
    pub snapshot: String,
    pub summary: Summary,
    pub results: Vec<Finding>,
    /// Everything collect could not read, as recorded in the snapshot. Any entry here
    /// means the target was not fully audited (exit 3), even when no configured rule
    /// needed that data.
    pub problems: Vec<Problem>,
    /// With a suppressions file: the suppressions that expired or went unused here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressions: Option<crate::triage::SuppressionsSummary>,
    /// With `--baseline`: which baseline, and the failures of it fixed now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::triage::BaselineSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<Vec<crate::triage::baseline::Fixed>>,
}

impl TargetReport {
    /// Sorts results so that output is identical run to run: by rule (in targets.json
    /// order), then check, then resource name and resource.
    pub fn new(
        target: String,
        account_id: Option<String>,
        collected_at: Option<DateTime<Utc>>,
        snapshot: String,
        mut results: Vec<Finding>,
        problems: Vec<Problem>,
        rule_order: &[&str],
    ) -> Self {
        sort_results(&mut results, rule_order);
        let account = account_id.as_deref().unwrap_or_default();
        for r in &mut results {
            r.id = FindingId::of(
                account,
                r.rule,
                r.check.as_str(),
                &r.resource,
                r.aspect.unwrap_or_default(),
            );
        }
        TargetReport {
            schema_version: SCHEMA_VERSION,
            target,
            account_id,
            account_name: None,
            collected_at,
            snapshot,
            summary: Summary::of(&results),
            results,
            problems,
            suppressions: None,
            baseline: None,
            fixed: None,
        }
    }

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
            pass,
            fail,
            error,
            suppressed,
            new,
        } = self.summary;
        write!(
            w,
            ",\n  \"summary\": {{\"pass\": {pass}, \"fail\": {fail}, \"error\": {error}, \"suppressed\": {suppressed}"
        )?;
        if let Some(new) = new {
            write!(w, ", \"new\": {new}")?;
        }
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

    /// Whether every configured check could be decided from complete data.
    pub fn fully_audited(&self) -> bool {
        self.summary.error == 0 && self.problems.is_empty()
    }

    /// The worst results, at most `n`: errors, then failures no suppression accepts,
    /// new ones first, the most severe first.
    pub fn worst(&self, n: usize) -> Vec<&Finding> {
        let mut bad: Vec<&Finding> = self
            .results
            .iter()
            .filter(|r| r.status == Status::Error || r.unsuppressed_failure())
            .collect();
        bad.sort_by_key(|r| (r.status, r.new != Some(true), r.severity));
        bad.truncate(n);
        bad
    }
}

/// Sorts results by rule (in `rule_order`; unknown rules last, by name), then check,
/// resource name and resource. `rules::evaluate` emits each rule's results together,
/// in targets.json order: then only each rule's own results need sorting, which
/// spares looking up every result's rule position in every comparison (that lookup
/// was most of the sort, a twentieth of `evaluate` at scale). Anything else gets the
/// full sort; both give the same order.
fn sort_results(results: &mut [Finding], rule_order: &[&str]) {
    let pos = |r: &str| {
        rule_order
            .iter()
            .position(|x| *x == r)
            .unwrap_or(usize::MAX)
    };
    let within = |a: &Finding, b: &Finding| {
        (a.check, &a.resource_name, &a.resource).cmp(&(b.check, &b.resource_name, &b.resource))
    };
    let mut last: Option<(&str, usize)> = None;
    let grouped = results.iter().all(|f| {
        let p = match last {
            Some((rule, _)) if rule == f.rule => return true,
            _ => pos(f.rule),
        };
        // A new rule must come strictly later in rule order (unknown rules never
        // count as grouped: they sort among themselves by name).
        let ok = p != usize::MAX && last.is_none_or(|(_, q)| p > q);
        last = Some((f.rule, p));
        ok
    });
    if grouped {
        for chunk in results.chunk_by_mut(|a, b| a.rule == b.rule) {
            chunk.sort_by(within);
        }
    } else {
        results.sort_by(|a, b| {
            (pos(a.rule), a.rule)
                .cmp(&(pos(b.rule), b.rule))
                .then_with(|| within(a, b))
        });
    }
}

/// One result as a compact JSON object, keys in the struct's order.
fn write_finding<W: Write>(w: &mut W, f: &Finding) -> io::Result<()> {
    // Ids, rule names, checks, statuses and severities are CloudKestrel's own words,
    // never escaped.
    let mut id = Vec::with_capacity(32);
    f.id.write_hex(&mut id);
    w.write_all(b"{\"id\": \"")?;
    w.write_all(&id)?;
    w.write_all(b"\", \"rule\": \"")?;
    w.write_all(f.rule.as_bytes())?;
    w.write_all(b"\", \"check\": \"")?;
    w.write_all(f.check.as_str().as_bytes())?;
    w.write_all(b"\"")?;
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
    use crate::rules::Check;

    fn finding(rule: &'static str, check: Check, name: &str, n: usize) -> Finding {
        Finding::new(
            rule,
            check,
            format!("arn:{name}:{n}"),
            name,
            Status::Pass,
            crate::rules::Severity::Low,
            format!("#{n}"),
        )
    }

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
            .chain([Status::Pass, Status::Fail, Status::Error].map(Status::as_str));
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

    /// The grouped fast path and the full sort give the same order, on grouped input
    /// and on every kind of input that is not (rules out of order, split, unknown).
    #[test]
    fn sort_results_equals_the_full_sort() {
        let order = ["B", "A", "C"];
        let full = |v: &mut Vec<Finding>| {
            let pos = |r: &str| order.iter().position(|x| *x == r).unwrap_or(usize::MAX);
            v.sort_by(|a, b| {
                (pos(a.rule), a.rule, a.check, &a.resource_name, &a.resource).cmp(&(
                    pos(b.rule),
                    b.rule,
                    b.check,
                    &b.resource_name,
                    &b.resource,
                ))
            });
        };
        let names = ["zed", "amy", "bob", "amy", "Bob", ""];
        let checks = [Check::Local, Check::Deployed, Check::AwsConfig];
        let layouts: [&[&'static str]; 7] = [
            &["B", "A", "C"],
            &["B", "C"],
            &["A", "B"],
            &["B", "A", "B"],
            &["B", "Z", "A"],
            &["Y", "X"],
            &["C", "A", "B"],
        ];
        for layout in layouts {
            let mut v = Vec::new();
            let mut n = 0;
            for rule in layout {
                for (i, name) in names.iter().enumerate() {
                    n += 1;
                    v.push(finding(rule, checks[(i + n) % 3], name, n % 4));
                }
            }
            let mut expected = v.clone();
            full(&mut expected);
            sort_results(&mut v, &order);
            assert_eq!(v, expected, "{layout:?}");
        }
    }
}
