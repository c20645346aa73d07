//! The fail-closed campaign over snapshots (issue 12): the demo snapshot damaged byte by
//! byte, and edited with SQLite then sealed again.
//!
//! - Damaged bytes (a bit flipped, bytes overwritten, cut, removed, inserted, appended,
//!   pages swapped, at seeded offsets over the whole file, seal included): every one is
//!   refused as `truncated or damaged` (exit 3 through the binary), never read.
//! - Edits sealed again: every column of every table set to values of every kind (NULL,
//!   negative, 2, a fraction, text, a blob, control characters, a document with a key
//!   twice…), every table given a copy of its rows, emptied, dropped, given a column,
//!   a column dropped, tables, views, indexes and triggers added. Each is either
//!   refused naming the table (and the column it changed), or read into an account that
//!   the writer stores back as exactly the rows edited: the change was in the domain,
//!   data like any other (a user renamed, a grant removed), not read leniently. An edit
//!   SQLite itself refuses (NULL in a NOT NULL column) is not counted.
//!
//! `CLOUDKESTREL_CAMPAIGN_SCALE=20 cargo test --test campaign_snapshot -- --nocapture`
//! damages twenty times as many offsets.

mod support;

use std::path::Path;

use cloudkestrel::snapshot::{self, seal, SnapshotError};
use rusqlite::types::Value;
use rusqlite::Connection;
use support::campaign::{self, Rng};
use support::{ck, code, root, stderr};

/// Damaged files at the default scale (CI), and how many go through the binary.
const DAMAGED: usize = 1500;
const THROUGH_BINARY: usize = 30;
/// Refused edits that go through the binary (each a whole evaluation).
const EDITS_THROUGH_BINARY: usize = 15;

fn demo_bytes(dir: &Path) -> Vec<u8> {
    let path = dir.join("demo.sqlite");
    let account = cloudkestrel::fixture::load(&root().join("fixtures/demo-account.json")).unwrap();
    snapshot::write(&path, &account).unwrap();
    std::fs::read(&path).unwrap()
}

/// One kind of damage at a seeded place.
fn damage(good: &[u8], rng: &mut Rng) -> (String, Vec<u8>) {
    let mut b = good.to_vec();
    let at = rng.below(b.len());
    let len = 1 + rng.below(64);
    let what = match rng.below(8) {
        0 => {
            b[at] ^= 1 << rng.below(8);
            "a bit flipped"
        }
        1 => {
            for x in &mut b[at..(at + len).min(good.len())] {
                *x = rng.next() as u8;
            }
            "bytes overwritten"
        }
        2 => {
            b[at..(at + len).min(good.len())].fill(0);
            "bytes zeroed"
        }
        3 => {
            b.truncate(at);
            "cut short"
        }
        4 => {
            b.drain(at..(at + len).min(good.len()));
            "bytes removed"
        }
        5 => {
            let x = rng.next().to_be_bytes();
            b.splice(at..at, x.iter().copied().cycle().take(len));
            "bytes inserted"
        }
        6 => {
            b.extend(std::iter::repeat_n(rng.next() as u8, len));
            "bytes appended"
        }
        _ => {
            const PAGE: usize = 4096;
            let pages = good.len() / PAGE;
            let (p, q) = (rng.below(pages), rng.below(pages));
            if p == q {
                b[at] = b[at].wrapping_add(1);
            } else {
                let page_p = good[p * PAGE..][..PAGE].to_vec();
                b[p * PAGE..][..PAGE].copy_from_slice(&good[q * PAGE..][..PAGE]);
                b[q * PAGE..][..PAGE].copy_from_slice(&page_p);
            }
            "two pages swapped"
        }
    };
    (format!("{what} at byte {at}"), b)
}

#[test]
fn damaged_bytes_are_refused_as_damaged_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = demo_bytes(dir.path());
    std::fs::copy(
        root().join("targets.example.json"),
        dir.path().join("targets.json"),
    )
    .unwrap();
    let mut rng = Rng::new(14);
    let n = DAMAGED * campaign::scale();
    let path = dir.path().join("s.sqlite");
    let mut through_binary = 0;
    for i in 0..n {
        let (what, bytes) = damage(&good, &mut rng);
        if bytes == good {
            continue;
        }
        std::fs::write(&path, &bytes).unwrap();
        match snapshot::read(&path) {
            Err(SnapshotError::Corrupt { .. }) => {}
            Err(e) => panic!("#{i} {what}: refused, but not as damaged: {e}"),
            Ok(_) => panic!("#{i} {what}: read as a snapshot"),
        }
        if through_binary < THROUGH_BINARY && i % (n / THROUGH_BINARY / 2) == 0 {
            let o = ck(dir.path(), &["evaluate", "s.sqlite"]);
            let err = stderr(&o);
            assert_eq!(code(&o), 3, "#{i} {what}: {err}");
            let report =
                std::fs::read_to_string(dir.path().join("reports/demo.json")).unwrap_or_default();
            assert!(
                (err.clone() + &report).contains("truncated or damaged: re-collect or restore it"),
                "#{i} {what}: {err}\n{report}"
            );
            assert!(!report.contains("\"status\": \"pass\""), "#{i} {what}");
            assert!(!report.contains("\"status\": \"fail\""), "#{i} {what}");
            let _ = std::fs::remove_dir_all(dir.path().join("reports"));
            through_binary += 1;
        }
    }
    println!(
        "campaign snapshot bytes: {n} damaged files, every one refused as truncated or damaged; {through_binary} through the binary (exit 3)"
    );
    assert!(n >= DAMAGED && through_binary >= THROUGH_BINARY);
}

/// Every table's columns, from the snapshot itself.
fn tables(conn: &Connection) -> Vec<(String, Vec<String>)> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    names
        .into_iter()
        .map(|t| {
            let cols = conn
                .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                .unwrap()
                .query_map([&t], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            (t, cols)
        })
        .collect()
}

/// Every table's rows, each as text, sorted: what a snapshot holds, whatever its order.
fn contents(conn: &Connection) -> Vec<(String, Vec<String>)> {
    tables(conn)
        .into_iter()
        .map(|(t, cols)| {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    Ok((0..cols.len())
                        .map(|i| normal(r.get::<_, Value>(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join(" | "))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort();
            (t, rows)
        })
        .collect()
}

/// A stored value as compared: a timestamp as its instant, a JSON document as its
/// value (the writer stores both in one form of several equal ones).
fn normal(v: Value) -> String {
    match v {
        Value::Text(t) => {
            if let Ok(d) = chrono::DateTime::parse_from_rfc3339(&t) {
                return format!("time {}", d.with_timezone(&chrono::Utc).to_rfc3339());
            }
            match serde_json::from_str::<serde_json::Value>(&t) {
                Ok(j) if j.is_object() || j.is_array() => format!("json {j}"),
                _ => format!("text {t:?}"),
            }
        }
        other => format!("{other:?}"),
    }
}

/// Values of every kind, as SQL.
const VALUES: &[&str] = &[
    "NULL",
    "-1",
    "2",
    "0",
    "1",
    "1.5",
    "9223372036854775807",
    "''",
    "' '",
    "'x'",
    "'true'",
    "X'00ff'",
    "char(27) || '[2J'",
    "'2026-13-45T99:00:00Z'",
    "'{\"a\": 1, \"a\": 2}'",
    "'{\"Version\": '",
    "'[]'",
];

/// The edits: (SQL, the table and column it changes, whether a refusal must name the
/// column).
fn edits(base: &Connection) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    let all = tables(base);
    // At the default scale each column gets four of the values, in turn; at a larger
    // one, every value.
    let per_column = if campaign::scale() > 1 {
        VALUES.len()
    } else {
        4
    };
    let mut turn = 0;
    for (t, cols) in &all {
        for c in cols {
            for _ in 0..per_column {
                let v = VALUES[turn % VALUES.len()];
                turn += 1;
                out.push((
                    format!("UPDATE \"{t}\" SET \"{c}\" = {v} WHERE rowid = (SELECT min(rowid) FROM \"{t}\")"),
                    t.clone(),
                    Some(c.clone()),
                ));
            }
            out.push((
                format!("ALTER TABLE \"{t}\" DROP COLUMN \"{c}\""),
                t.clone(),
                None,
            ));
        }
        for sql in [
            format!("INSERT INTO \"{t}\" SELECT * FROM \"{t}\""),
            format!("DELETE FROM \"{t}\""),
            format!("DROP TABLE \"{t}\""),
            format!("ALTER TABLE \"{t}\" ADD COLUMN extra TEXT"),
            format!("ALTER TABLE \"{t}\" ADD COLUMN extra INTEGER NOT NULL DEFAULT 1"),
            format!("CREATE INDEX \"{t}_extra\" ON \"{t}\" (\"{}\")", cols[0]),
            format!("CREATE TRIGGER \"{t}_t\" AFTER DELETE ON \"{t}\" BEGIN SELECT 1; END"),
            format!("CREATE VIEW \"{t}_v\" AS SELECT * FROM \"{t}\""),
            format!("CREATE TABLE \"{t}2\" AS SELECT * FROM \"{t}\""),
            format!("ALTER TABLE \"{t}\" RENAME TO \"{t}_old\""),
        ] {
            out.push((sql, t.clone(), None));
        }
    }
    out
}

#[test]
fn resealed_edits_are_refused_naming_them_or_read_as_exactly_what_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    let good = demo_bytes(dir.path());
    let content = good[..good.len() - seal::LEN].to_vec();
    let path = dir.path().join("s.sqlite");
    let again = dir.path().join("again.sqlite");
    std::fs::write(&path, &content).unwrap();
    let edits = edits(&Connection::open(&path).unwrap());
    let (mut refused, mut data, mut sqlite_refused) = (0, 0, 0);
    let mut refused_paths = Vec::new();
    for (i, (sql, table, column)) in edits.iter().enumerate() {
        std::fs::write(&path, &content).unwrap();
        let conn = Connection::open(&path).unwrap();
        // No journal, no sync: the edit is of a scratch copy.
        conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF")
            .unwrap();
        if conn.execute_batch(sql).is_err() {
            sqlite_refused += 1;
            continue;
        }
        drop(conn);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, [&bytes[..], &seal::seal(&bytes)].concat()).unwrap();
        match snapshot::read(&path) {
            Err(SnapshotError::Invalid { reason, .. }) => {
                // The table edited, or the one whose rows now contradict it (a group
                // renamed: its memberships; a default version changed: the versions).
                let names_table = reason.contains(table.as_str())
                    || reason.contains("table ")
                    || reason.contains("(rows of ");
                assert!(names_table, "#{i} {sql}: {reason}");
                // A value edited is named by its column, by the column of the same row
                // it contradicts (a key's timestamps and its active flag), or as what
                // the row belongs to and the snapshot lacks (a member's user).
                if let Some(c) = column {
                    let named = reason.contains(&format!("name: {c}"))
                        || reason.contains(", column ")
                        || reason.contains("the snapshot does not hold");
                    assert!(named, "#{i} {sql}: {reason}");
                }
                refused += 1;
                if refused_paths.len() < EDITS_THROUGH_BINARY && i % 11 == 0 {
                    let keep = dir.path().join(format!("refused{i}.sqlite"));
                    std::fs::copy(&path, &keep).unwrap();
                    refused_paths.push((keep, sql.clone()));
                }
            }
            Err(e) => panic!("#{i} {sql}: refused, but not as content: {e}"),
            Ok(account) => {
                // Accepted: what was read is exactly what the file holds (SQLite
                // reads a sealed file as usual: the seal is past its pages).
                let edited = contents(&Connection::open(&path).unwrap());
                let _ = std::fs::remove_file(&again);
                snapshot::write(&again, &account).unwrap();
                let stored = contents(&Connection::open(&again).unwrap());
                assert!(
                    stored == edited,
                    "#{i} {sql}: read as something other than it holds:\n{}",
                    differences(&edited, &stored)
                );
                data += 1;
            }
        }
    }
    std::fs::copy(
        root().join("targets.example.json"),
        dir.path().join("targets.json"),
    )
    .unwrap();
    for (keep, sql) in &refused_paths {
        let name = keep.file_name().unwrap().to_str().unwrap();
        let o = ck(dir.path(), &["evaluate", name]);
        assert_eq!(code(&o), 3, "{sql}: {}", stderr(&o));
    }
    println!(
        "campaign snapshot edits: {} edits sealed again, {refused} refused naming the table and column, {data} in the domain and read exactly, {sqlite_refused} refused by SQLite itself; {} refused ones through the binary (exit 3)",
        edits.len(),
        refused_paths.len()
    );
    assert!(refused > 500 && data > 50, "{refused} {data}");
    assert_eq!(refused_paths.len(), EDITS_THROUGH_BINARY);
}

fn differences(a: &[(String, Vec<String>)], b: &[(String, Vec<String>)]) -> String {
    let mut out = String::new();
    for ((t, x), (_, y)) in a.iter().zip(b) {
        if x != y {
            out.push_str(&format!("table {t}:\n  edited: {x:?}\n  stored: {y:?}\n"));
        }
    }
    if a.len() != b.len() {
        out.push_str("a different number of tables\n");
    }
    out
}
