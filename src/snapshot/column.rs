//! Reading one value of a snapshot strictly: exactly what the writer stores, or a
//! refusal that names the table, the column, the row and the value.
//!
//! rusqlite's own conversions are lenient where a verdict depends on them (any non-zero
//! integer is `true`, so `mfa_active = 2` would read as MFA on): booleans, counts,
//! closed sets of values, timestamps and documents are read here instead.

use std::fmt;

use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row};
use serde_json::Value;

use crate::model::{quoted, Domain};

/// Why a value or a row was refused; carried through rusqlite's error type (the row
/// functions of a query return `rusqlite::Result`) and told apart from SQLite's own
/// errors by [`refusal`].
#[derive(Debug)]
struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// A refusal, as the error of a row function.
pub(super) fn refuse(reason: String) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(Refused(reason)))
}

/// The reason of a refusal made by [`refuse`]; `None` for SQLite's own errors.
pub(super) fn refusal(e: &rusqlite::Error) -> Option<String> {
    match e {
        rusqlite::Error::ToSqlConversionFailure(inner) => {
            inner.downcast_ref::<Refused>().map(|r| r.0.clone())
        }
        _ => None,
    }
}

/// Refuses rows that belong to things the snapshot does not hold (`found`, described),
/// rows of the `tables` named: dropped, a policy of a missing user or a grant of a
/// missing bucket would vanish.
pub(super) fn orphans(mut found: Vec<String>, what: &str, tables: &str) -> rusqlite::Result<()> {
    if found.is_empty() {
        return Ok(());
    }
    found.sort();
    found.dedup();
    Err(refuse(format!(
        "{what} the snapshot does not hold: {} (rows of {tables})",
        found.join(", ")
    )))
}

/// A table being read. Its `key` columns (indices in the query) name a row in messages:
/// `table iam_credential_report, column mfa_active, row of user "alice": 2 is not a
/// boolean (0 or 1)`.
pub(super) struct Table {
    pub name: &'static str,
    pub key: &'static [usize],
}

/// A value as messages show it.
fn shown(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(x) => x.to_string(),
        ValueRef::Text(t) => quoted(&String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("a blob of {} bytes", b.len()),
    }
}

impl Table {
    pub const fn new(name: &'static str, key: &'static [usize]) -> Table {
        Table { name, key }
    }

    /// Refuses the value in column `idx` of row `r`: `why` says what it should be.
    pub fn refuse(&self, r: &Row<'_>, idx: usize, why: impl fmt::Display) -> rusqlite::Error {
        let value = r.get_ref(idx).map(shown).unwrap_or_default();
        refuse(format!("{}: {value} {why}", self.at(r, idx)))
    }

    /// `table T, column C, row of K "k"`.
    pub fn at(&self, r: &Row<'_>, idx: usize) -> String {
        let stmt = r.as_ref();
        let name = |i: usize| stmt.column_name(i).unwrap_or("?").to_string();
        let row: Vec<String> = self
            .key
            .iter()
            .map(|&k| {
                format!(
                    "{} {}",
                    name(k),
                    r.get_ref(k).map(shown).unwrap_or_default()
                )
            })
            .collect();
        let mut out = format!("table {}, column {}", self.name, name(idx));
        if !row.is_empty() {
            out.push_str(", row of ");
            out.push_str(&row.join(", "));
        }
        out
    }

    /// A boolean: exactly 0 or 1.
    pub fn flag(&self, r: &Row<'_>, idx: usize) -> rusqlite::Result<bool> {
        self.flag_opt(r, idx)?
            .ok_or_else(|| self.refuse(r, idx, "is not a boolean (0 or 1)"))
    }

    /// A boolean or NULL.
    pub fn flag_opt(&self, r: &Row<'_>, idx: usize) -> rusqlite::Result<Option<bool>> {
        match r.get_ref(idx)? {
            ValueRef::Integer(0) => Ok(Some(false)),
            ValueRef::Integer(1) => Ok(Some(true)),
            ValueRef::Null => Ok(None),
            _ => Err(self.refuse(r, idx, "is not a boolean (0 or 1)")),
        }
    }

    /// A count: an integer, not negative.
    pub fn count(&self, r: &Row<'_>, idx: usize) -> rusqlite::Result<i64> {
        match r.get_ref(idx)? {
            ValueRef::Integer(n) if n >= 0 => Ok(n),
            _ => Err(self.refuse(r, idx, "is not a count (an integer, 0 or more)")),
        }
    }

    /// A value of `domain`.
    pub fn one_of(&self, r: &Row<'_>, idx: usize, domain: &Domain) -> rusqlite::Result<String> {
        self.one_of_opt(r, idx, domain)?
            .ok_or_else(|| self.refuse(r, idx, format_args!("is not {domain}")))
    }

    /// A value of `domain`, or NULL.
    pub fn one_of_opt(
        &self,
        r: &Row<'_>,
        idx: usize,
        domain: &Domain,
    ) -> rusqlite::Result<Option<String>> {
        match r.get_ref(idx)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(s) if domain.contains(s) => Ok(Some(s.to_owned())),
                _ => Err(self.refuse(r, idx, format_args!("is not {domain}"))),
            },
            _ => Err(self.refuse(r, idx, format_args!("is not {domain}"))),
        }
    }

    /// An RFC 3339 timestamp. (Borrowed from SQLite's row, not copied: a snapshot has
    /// thousands of timestamps.)
    pub fn time(&self, r: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
        self.time_opt(r, idx)?
            .ok_or_else(|| self.refuse(r, idx, "is not a timestamp"))
    }

    /// An RFC 3339 timestamp, or NULL.
    pub fn time_opt(&self, r: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
        match r.get_ref(idx)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(parse_dt)
                .map(Some)
                .ok_or_else(|| self.refuse(r, idx, "is not an RFC 3339 timestamp")),
            _ => Err(self.refuse(r, idx, "is not a timestamp")),
        }
    }

    /// A JSON document (a policy, a password policy), read by the parser collected
    /// documents go through ([`crate::policy::parse_json_document`]): a key written
    /// twice is refused, as when it was collected.
    ///
    /// Measured (issue 12, callgrind, 20 reads of a 1,000-user synthetic snapshot from
    /// examples/synth.rs): documents are 5 % of reading a snapshot, and this parser
    /// costs 2.8 % more instructions there than `serde_json::from_str` (33.9 M against
    /// 33.0 M); the strict reader as a whole costs 1.0 % more than the lenient one
    /// (31.3 M instructions a read against 31.0 M; the demo snapshot 0.2 %). A separate
    /// duplicate-key check would parse every document twice. `benches/policy.rs`
    /// `parse_stored_force_mfa` compares the two parsers on one large policy.
    pub fn document(&self, r: &Row<'_>, idx: usize) -> rusqlite::Result<Value> {
        self.document_opt(r, idx)?
            .ok_or_else(|| self.refuse(r, idx, "is not a JSON document"))
    }

    /// A JSON document, or NULL.
    pub fn document_opt(&self, r: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Value>> {
        let text = match r.get_ref(idx)? {
            ValueRef::Null => return Ok(None),
            ValueRef::Text(t) => std::str::from_utf8(t).ok(),
            _ => None,
        };
        let text = text.ok_or_else(|| self.refuse(r, idx, "is not a JSON document"))?;
        crate::policy::parse_json_document(text)
            .map(Some)
            .map_err(|e| {
                refuse(format!(
                    "{}: the document is refused: {}",
                    self.at(r, idx),
                    e.0
                ))
            })
    }

    /// Every row of `sql`, through `f`. SQLite's own errors (a missing table, a value
    /// of another type) are refusals that name the table.
    pub fn rows<T>(
        &self,
        conn: &Connection,
        sql: &str,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Vec<T>> {
        let result = (|| -> rusqlite::Result<Vec<T>> {
            let mut stmt = conn.prepare(sql)?;
            let out = stmt.query_map([], f)?.collect();
            out
        })();
        result.map_err(|e| match refusal(&e) {
            Some(_) => e,
            None => refuse(format!("table {}: {e}", self.name)),
        })
    }

    /// The one row of a table that holds exactly one.
    pub fn one<T>(&self, rows: Vec<T>) -> rusqlite::Result<T> {
        let n = rows.len();
        match <[T; 1]>::try_from(rows) {
            Ok([row]) => Ok(row),
            Err(_) => Err(refuse(format!(
                "table {} has {n} rows, and a snapshot has exactly one",
                self.name
            ))),
        }
    }

    /// The row, if any, of a table that holds at most one.
    pub fn at_most_one<T>(&self, mut rows: Vec<T>) -> rusqlite::Result<Option<T>> {
        if rows.len() > 1 {
            return Err(refuse(format!(
                "table {} has {} rows, and a snapshot has at most one",
                self.name,
                rows.len()
            )));
        }
        Ok(rows.pop())
    }
}

/// The form the writer stores for whole seconds, `YYYY-MM-DDTHH:MM:SSZ`, parsed
/// directly: a snapshot holds thousands of timestamps and chrono's general RFC 3339
/// parser was a twentieth of `evaluate` at scale (issue 5). Anything else, an invalid
/// date included, returns `None` and goes to chrono, which decides.
fn parse_utc_seconds(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let time = chrono::NaiveTime::from_hms_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?)?;
    Some(date.and_time(time).and_utc())
}

fn parse_dt(s: &str) -> Option<DateTime<Utc>> {
    parse_utc_seconds(s).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{SecondsFormat, Timelike};

    /// The fast timestamp path agrees with chrono wherever it answers, and leaves every
    /// other form (fractions, offsets, invalid dates, leap seconds) to chrono.
    #[test]
    fn fast_timestamps_agree_with_chrono() {
        let chrono_utc = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.with_timezone(&Utc))
        };
        for s in [
            "2026-11-27T08:00:00Z",
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_utc_seconds(s), chrono_utc(s), "{s}");
            assert!(parse_utc_seconds(s).is_some(), "{s}");
        }
        for s in [
            "2026-11-27T08:00:00.5Z",
            "2026-11-27T08:00:00+01:00",
            "2026-11-27t08:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-27T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2026-1a-27T08:00:00Z",
            "+026-11-27T08:00:00Z",
            "",
        ] {
            assert_eq!(parse_utc_seconds(s), None, "{s}");
        }
        // Through parse_dt, the other forms still parse (or fail) exactly as chrono says.
        for s in [
            "2026-11-27T08:00:00.5Z",
            "2026-11-27T08:00:00+01:00",
            "2016-12-31T23:59:60Z",
        ] {
            assert_eq!(parse_dt(s), chrono_utc(s), "{s}");
        }
        assert!(parse_dt("2026-02-30T00:00:00Z").is_none());
        let now = Utc::now().with_nanosecond(0).unwrap();
        assert_eq!(
            parse_dt(&now.to_rfc3339_opts(SecondsFormat::AutoSi, true)).unwrap(),
            now
        );
    }
}
