//! The summary of a run across targets, written by every `evaluate` or `audit` of
//! more than one target (and of any organization entry):
//! `<report-dir>/summary.json` (the data, `schema_version` 1) and
//! `<report-dir>/index.html` (a self-contained page: one row per target with its
//! counts and a link to its report, sortable by any column, targets in error first).
//! Organization entries that could not be discovered, and accounts not audited (not
//! active, or named but not found), are listed too.
//!
//! Both are written in one pass over the rows, a few hundred bytes a target: 1,000
//! targets make well under a megabyte.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Summary;

/// One target's line.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub target: String,
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// `error` (not fully audited), `fail` (a failure no suppression accepts), `pass`.
    pub status: &'static str,
    /// Its counts: totals, and those about resources and about the account's setup.
    pub summary: Summary,
    /// What the account's setup lacks, in words (index.html; summary.json has the
    /// counts).
    #[serde(skip)]
    pub account_setup: String,
    /// Collection problems and report write errors.
    pub problems: usize,
    /// The target's report files in the directory (names).
    pub reports: Vec<String>,
}

/// An account of an organization entry that was not audited.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub account_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    pub state: String,
}

/// An organization entry as the run found it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub entry: String,
    /// Why its accounts could not be discovered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Accounts not audited because they are not ACTIVE.
    pub skipped: Vec<Skipped>,
    /// Accounts named in `Accounts` that the organization does not hold.
    pub missing: Vec<String>,
}

#[derive(Serialize)]
struct File<'a> {
    schema_version: u32,
    totals: Totals,
    targets: &'a [Row],
    organizations: &'a [Entry],
}

#[derive(Serialize, Default)]
struct Totals {
    targets: usize,
    pass: usize,
    fail: usize,
    error: usize,
}

/// Targets in error first, then those that fail (the most findings about resources
/// first, then the most failures to fix), then by name.
fn order(rows: &[Row]) -> Vec<Row> {
    let rank = |s: &str| match s {
        "error" => 0,
        "fail" => 1,
        _ => 2,
    };
    let key = |r: &Row| {
        (
            rank(r.status),
            std::cmp::Reverse(r.summary.resource.to_fix()),
            std::cmp::Reverse(r.summary.total.to_fix()),
        )
    };
    let mut v = rows.to_vec();
    v.sort_by(|a, b| (key(a), &a.target).cmp(&(key(b), &b.target)));
    v
}

/// Writes `summary.json` and `index.html` into `dir`; the paths written.
pub fn write(dir: &Path, rows: &[Row], entries: &[Entry]) -> Result<Vec<PathBuf>, String> {
    let rows = order(rows);
    let mut totals = Totals {
        targets: rows.len(),
        ..Totals::default()
    };
    for r in &rows {
        match r.status {
            "pass" => totals.pass += 1,
            "fail" => totals.fail += 1,
            _ => totals.error += 1,
        }
    }
    let json = crate::untrusted::to_json_pretty(&File {
        schema_version: 1,
        totals,
        targets: &rows,
        organizations: entries,
    })
    .map_err(|e| e.to_string())?;
    let json_path = dir.join("summary.json");
    let html_path = dir.join("index.html");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(&json_path, json + "\n").map_err(|e| format!("{}: {e}", json_path.display()))?;
    std::fs::write(&html_path, html(&rows, entries))
        .map_err(|e| format!("{}: {e}", html_path.display()))?;
    Ok(vec![json_path, html_path])
}

/// HTML-escapes text (`&`, `<`, `>`, `"`, `'`), control and bidi characters shown as
/// `[U+XXXX]` as in the target reports.
fn esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if crate::untrusted::is_unsafe(c) => {
                let _ = write!(out, "[U+{:04X}]", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// A relative link to a report file: percent-encoded, so any file name links.
fn href(out: &mut String, name: &str) {
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

const STYLE: &str = "body{font:14px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:24px;color:#1f2328}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #d1d9e0}\
th{cursor:pointer;background:#f6f8fa;user-select:none}td.n{text-align:right}\
.error{color:#9a6700;font-weight:600}.fail{color:#cf222e;font-weight:600}.pass{color:#1a7f37}";

/// Sorts the table by the clicked column (numbers as numbers), again to reverse.
const SCRIPT: &str = "document.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){\
var t=th.closest('table'),b=t.tBodies[0],rows=Array.from(b.rows),d=th.dataset.dir==='asc'?-1:1;th.dataset.dir=d>0?'asc':'desc';\
rows.sort(function(x,y){var a=x.cells[i].dataset.v||x.cells[i].textContent,c=y.cells[i].dataset.v||y.cells[i].textContent;\
var n=parseFloat(a),m=parseFloat(c);return (isNaN(n)||isNaN(m)?a.localeCompare(c):n-m)*d;});rows.forEach(function(r){b.appendChild(r);});});});";

fn html(rows: &[Row], entries: &[Entry]) -> String {
    let mut o = String::with_capacity(4096 + rows.len() * 400);
    o.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>CloudKestrel summary</title><style>");
    o.push_str(STYLE);
    o.push_str("</style></head><body><h1>CloudKestrel summary</h1>");
    let count = |s: &str| rows.iter().filter(|r| r.status == s).count();
    let about_resources = rows
        .iter()
        .filter(|r| r.status == "fail" && r.summary.resource.to_fix() > 0)
        .count();
    let _ = write!(
        o,
        "<p>{} targets: <span class=\"error\">{} not fully audited</span>, <span class=\"fail\">{} with findings</span> ({about_resources} about resources, the others only about the account's setup), <span class=\"pass\">{} passed</span>.</p>",
        rows.len(),
        count("error"),
        count("fail"),
        count("pass")
    );
    for e in entries {
        if e.error.is_none() && e.skipped.is_empty() && e.missing.is_empty() {
            continue;
        }
        o.push_str("<p>Organization <strong>");
        esc(&mut o, &e.entry);
        o.push_str("</strong>: ");
        if let Some(err) = &e.error {
            o.push_str("<span class=\"error\">its accounts could not be discovered: ");
            esc(&mut o, err);
            o.push_str("</span> ");
        }
        for s in &e.skipped {
            o.push_str("not audited ");
            esc(&mut o, &s.account_id);
            if let Some(n) = &s.account_name {
                o.push_str(" (");
                esc(&mut o, n);
                o.push(')');
            }
            o.push_str(": ");
            esc(&mut o, &s.state);
            o.push_str("; ");
        }
        for m in &e.missing {
            o.push_str("<span class=\"error\">not in the organization: ");
            esc(&mut o, m);
            o.push_str("</span>; ");
        }
        o.push_str("</p>");
    }
    o.push_str("<table><thead><tr><th>Target</th><th>Account</th><th>Name</th><th>Status</th>\
        <th title=\"failures about resources no suppression accepts\">Resource findings</th>\
        <th title=\"what the account's setup lacks: CloudKestrel's policies, AWS Config rules, the expected groups\">Account setup</th>\
        <th title=\"every failure, both kinds, suppressed ones included\">Fail</th><th>Suppressed</th><th>New</th><th>Error</th><th>Pass</th><th>Problems</th><th>Report</th></tr></thead><tbody>");
    for r in rows {
        o.push_str("<tr><td>");
        esc(&mut o, &r.target);
        o.push_str("</td><td>");
        esc(&mut o, r.account_id.as_deref().unwrap_or(""));
        o.push_str("</td><td>");
        esc(&mut o, r.account_name.as_deref().unwrap_or(""));
        // The status sorts errors first: its data-v is the rank.
        let rank = match r.status {
            "error" => 0,
            "fail" => 1,
            _ => 2,
        };
        let _ = write!(
            o,
            "</td><td class=\"{0}\" data-v=\"{rank}\">{0}</td><td class=\"n\">{1}</td><td>",
            r.status,
            r.summary.resource.to_fix()
        );
        // Our own words and rule names, escaped all the same.
        esc(&mut o, &r.account_setup);
        let _ = write!(
            o,
            "</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>",
            r.summary.total.fail,
            r.summary.total.suppressed,
            r.summary.total.new.map(|n| n.to_string()).unwrap_or_default(),
            r.summary.total.error,
            r.summary.total.pass,
            r.problems
        );
        let link = r
            .reports
            .iter()
            .find(|f| f.ends_with(".html"))
            .or_else(|| r.reports.first());
        if let Some(f) = link {
            o.push_str("<a href=\"");
            href(&mut o, f);
            o.push_str("\">");
            esc(&mut o, f);
            o.push_str("</a>");
        }
        o.push_str("</td></tr>");
    }
    o.push_str("</tbody></table><script>");
    o.push_str(SCRIPT);
    o.push_str("</script></body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row with `resource` and `account` failures to fix.
    fn row(target: &str, status: &'static str, resource: usize, account: usize) -> Row {
        let tally = |fail| super::super::Tally {
            fail,
            ..Default::default()
        };
        Row {
            target: target.into(),
            account_id: Some("111122223333".into()),
            account_name: Some("<b>".into()),
            status,
            summary: Summary {
                total: tally(resource + account),
                resource: tally(resource),
                account: tally(account),
            },
            account_setup: format!("{account} rules not deployed"),
            problems: 0,
            reports: vec![format!("{target}.html")],
        }
    }

    /// Errors first, then the most findings about resources: a thousand account-level
    /// failures (one missing policy) do not outrank one about a resource.
    #[test]
    fn errors_first_then_most_failures_and_everything_escaped() {
        let rows = [
            row("b", "fail", 1, 0),
            row("a", "pass", 0, 0),
            row("c", "error", 0, 0),
            row("d", "fail", 5, 0),
            row("e", "fail", 0, 1000),
            row("f", "fail", 1, 3),
        ];
        let order: Vec<String> = super::order(&rows).into_iter().map(|r| r.target).collect();
        assert_eq!(order, ["c", "d", "f", "b", "e", "a"]);
        let page = html(&super::order(&rows), &[]);
        assert!(!page.contains("<b>") && page.contains("&lt;b&gt;"));
        assert!(page.contains("href=\"c.html\""));
        assert!(page.contains(
            "<td class=\"n\">0</td><td>1000 rules not deployed</td><td class=\"n\">1000</td>"
        ));
        assert!(!page.contains("http"), "self-contained");
    }
}
