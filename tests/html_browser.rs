//! The HTML report in a real browser: a report with suppressed, new, fixed and passing
//! results, made by the binary (`snapshot import`, `evaluate --suppressions --baseline`),
//! opened in headless Chromium (Debian's, driven by Playwright: tests/browser/), its
//! toggles clicked as a person would. What the page shows is checked against the JSON
//! report of the same run.
//!
//! Needs /usr/bin/chromium (or CLOUDKESTREL_CHROMIUM) and Playwright in .venv: both
//! installed by scripts/test. Without them this test fails, never skips.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use support::*;

const REASON: &str = "public by design, <b>SEC-142</b> & \"reviewed\"";

fn chromium() -> PathBuf {
    let path = std::env::var_os("CLOUDKESTREL_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "{} is missing: the HTML report's browser test needs Debian's chromium. Run scripts/test, \
         which installs it (apt-get install chromium) and Playwright into .venv",
        path.display()
    );
    path
}

fn python() -> PathBuf {
    let python = root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/test, which makes .venv and installs Playwright \
         (tests/browser/requirements.txt)",
        python.display()
    );
    python
}

/// Runs tests/browser/report_dom.py on `page`: what the page showed at each step.
fn browse(page: &Path, screenshot: &Path) -> Value {
    let chromium = chromium();
    let o = Command::new(python())
        .arg(root().join("tests/browser/report_dom.py"))
        .arg(page)
        .arg(screenshot)
        .env("CLOUDKESTREL_CHROMIUM", &chromium)
        .output()
        .expect("python runs");
    let err = stderr(&o);
    assert!(
        !err.contains("No module named 'playwright'"),
        "Playwright is not in .venv: run scripts/test (it installs tests/browser/requirements.txt)\n{err}"
    );
    assert!(o.status.success(), "the browser driver failed:\n{err}");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

/// The demo account changed since the baseline: a new user zoe (without MFA, in no
/// group: new failures), bob given MFA (his MFA failure fixed), carol gone (her
/// failures gone).
fn changed_fixture() -> Value {
    let mut f = demo_fixture();
    let iam = &mut f["iam"];
    let users = iam["users"].as_array_mut().unwrap();
    let mut zoe = users.iter().find(|u| u["name"] == "carol").unwrap().clone();
    zoe["name"] = "zoe".into();
    zoe["arn"] = "arn:aws:iam::123456789012:user/zoe".into();
    zoe["user_id"] = "AIDAZOE".into();
    users.retain(|u| u["name"] != "carol");
    users.push(zoe);
    let rows = iam["credential_report"].as_array_mut().unwrap();
    let mut row = rows.iter().find(|r| r["user"] == "carol").unwrap().clone();
    rows.retain(|r| r["user"] != "carol");
    row["user"] = "zoe".into();
    row["arn"] = "arn:aws:iam::123456789012:user/zoe".into();
    rows.push(row);
    for r in rows.iter_mut().filter(|r| r["user"] == "bob") {
        r["mfa_active"] = true.into();
    }
    f
}

/// The run the page is made from: the demo evaluated as the baseline, then the changed
/// account with suppressions in force (one with HTML in its reason, one for a new
/// failure), one expired and one unused, and one rule's severity set in targets.json.
fn triaged_report(dir: &Path) -> (Value, String) {
    assert_eq!(code(&ck(dir, &["evaluate"])), 1);
    std::fs::rename(dir.join("reports"), dir.join("baseline")).unwrap();
    let f = write(dir, "changed.json", &changed_fixture().to_string());
    let out = dir.join("snapshots/demo/2026-12-01T08-00-00Z.sqlite");
    assert_eq!(code(&import(dir, &f, out.to_str().unwrap())), 0);
    let mut targets: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("targets.json")).unwrap()).unwrap();
    for rule in targets["Targets"][0]["demo"]["Rules"]
        .as_array_mut()
        .unwrap()
    {
        if rule["Config"]["Name"] == "S3_BUCKET_PUBLIC_READ_PROHIBITED" {
            rule["Config"]["Severity"] = "low".into();
        }
    }
    write(dir, "targets.json", &targets.to_string());
    let suppressions = json!({"Suppressions": [
        {"Rule": "*", "Resource": "arn:aws:s3:::demo-{website,legacy-uploads}",
         "Reason": REASON, "Expires": "2999-12-31", "Owner": "web-team"},
        {"Rule": "IAM_USER_MFA_ENABLED", "Check": "local",
         "Resource": "arn:aws:iam::123456789012:user/zoe",
         "Reason": "onboarding, MFA device on its way", "Expires": "2999-01-01"},
        {"Rule": "IAM_ROOT_ACCESS_KEY_CHECK", "Resource": "arn:aws:iam::123456789012:root",
         "Reason": "key rotation pending", "Expires": "2020-01-31", "Owner": "platform"},
        {"Rule": "IAM_USER_MFA_ENABLED", "Resource": "arn:aws:iam::123456789012:user/nobody",
         "Reason": "a user that left", "Expires": "2999-01-01"}
    ]});
    write(
        dir,
        "triage/suppressions.json",
        &serde_json::to_string_pretty(&suppressions).unwrap(),
    );
    let o = ck(
        dir,
        &[
            "evaluate",
            "--suppressions",
            "triage/suppressions.json",
            "--baseline",
            "baseline",
        ],
    );
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let report =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reports/demo.json")).unwrap())
            .unwrap();
    (report, stdout(&o))
}

type Rows<'a> = BTreeMap<&'a str, &'a Value>;

fn rows(state: &Value) -> Rows<'_> {
    state["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r))
        .collect()
}

fn badges(row: &Value) -> Vec<&str> {
    row["badges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"].as_str().unwrap())
        .collect()
}

fn shown(v: &Value) -> bool {
    v["shown"].as_bool().unwrap()
}

/// Which rows and lists a state shows: passes, failures to fix, suppressed failures.
fn check_visibility(name: &str, state: &Value, report: &Value, hide_pass: bool, hide_sup: bool) {
    let rows = rows(state);
    let mut seen = [0usize; 3];
    for r in report["results"].as_array().unwrap() {
        let Some(row) = rows.get(r["id"].as_str().unwrap()) else {
            assert_eq!(r["status"], "pass", "{name}: no row for {r}");
            continue;
        };
        let (kind, hidden) = if r["status"] == "pass" {
            (0, hide_pass)
        } else if r.get("suppressed").is_some() {
            (1, hide_sup)
        } else {
            (2, false)
        };
        seen[kind] += 1;
        // Rendered or not, ancestors included (a suppressed row is hidden with its
        // table); a hidden pass row is itself `display: none`.
        assert_eq!(!shown(row), hidden, "{name}: {row}");
        if kind == 0 {
            let display = if hidden { "none" } else { "table-row" };
            assert_eq!(row["display"], display, "{name}: {row}");
        }
    }
    assert!(
        seen.iter().all(|n| *n > 0),
        "{name}: rows of each kind: {seen:?}"
    );
    let lists = state["pass_lists"].as_array().unwrap();
    assert!(!lists.is_empty());
    assert!(
        lists.iter().all(|l| shown(l) != hide_pass),
        "{name}: {lists:?}"
    );
    let toggles: BTreeMap<&str, bool> = state["toggles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["checked"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        toggles,
        BTreeMap::from([("hide-pass", hide_pass), ("hide-suppressed", hide_sup)]),
        "{name}"
    );
}

/// The rules table: per rule, the verdict and counts over its results about resources
/// (as the JSON's scopes count them), and apart the state of the setup its
/// account-level result says.
fn check_rules_table(state: &Value, report: &Value) {
    let results = report["results"].as_array().unwrap();
    let mut rules: Vec<&str> = results
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    rules.dedup();
    let toc = state["toc"].as_array().unwrap();
    assert_eq!(toc.len(), rules.len());
    let mut not_deployed = 0;
    for (row, rule) in toc.iter().zip(rules) {
        let cells: Vec<&str> = row["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(cells[0], rule);
        let of_rule = |scope: &'static str| {
            results
                .iter()
                .filter(move |r| r["rule"] == rule && r["scope"] == scope)
        };
        let count = |pred: &dyn Fn(&Value) -> bool| {
            of_rule("resource").filter(|r| pred(r)).count().to_string()
        };
        let suppressed = |r: &Value| r.get("suppressed").is_some();
        let expected = [
            count(&|r| r["status"] == "pass"),
            count(&|r| r["status"] == "fail" && !suppressed(r)),
            count(&suppressed),
            count(&|r| r["status"] == "error"),
            count(&|r| r["new"] == true),
        ];
        assert_eq!(cells[3..8], expected, "{rule}: {cells:?}");
        let worst = if expected[3] != "0" {
            "ERROR"
        } else if expected[1] != "0" {
            "FAIL"
        } else if expected[2] != "0" {
            "SUPPRESSED"
        } else if expected[0] != "0" {
            "PASS"
        } else {
            "—"
        };
        assert_eq!(cells[2], worst, "{rule}: {cells:?}");
        // The account-level result of a Policy or Config rule; Account_Setup's several.
        let account: Vec<&Value> = of_rule("account")
            .filter(|r| r.get("cause").is_none())
            .collect();
        let setup = cells[8];
        match account[0]["check"].as_str().unwrap() {
            "deployed" if account[0]["status"] == "pass" => assert_eq!(setup, "DEPLOYED", "{rule}"),
            "deployed" => {
                not_deployed += 1;
                assert_eq!(setup, "NOT DEPLOYED", "{rule}")
            }
            "policy-document" if account[0]["status"] == "pass" => {
                assert_eq!(setup, "POLICY IDENTICAL", "{rule}")
            }
            "policy-document" => assert_eq!(setup, "POLICY DIFFERS", "{rule}"),
            _ => {
                assert!(account.iter().all(|r| r["status"] == "pass"), "{rule}");
                assert_eq!(setup, "AS EXPECTED", "{rule}");
            }
        }
    }
    assert!(
        not_deployed > 1,
        "the demo has Config rules that are not deployed"
    );
}

#[test]
fn the_html_report_shows_triage_and_its_toggles_work_in_chromium() {
    chromium();
    python();
    let dir = demo_dir();
    let (report, terminal) = triaged_report(dir.path());
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html_browser.png");
    let page = dir.path().join("reports/demo.html");
    let dom = browse(&page, &screenshot);
    let url = dom["requests"][0].as_str().unwrap().to_string();

    // Self-contained and inert: the page loaded nothing but itself (twice: the reload),
    // ran no script from the account (the demo has a user named <script>…), no error.
    assert!(url.starts_with("file://") && url.ends_with("/reports/demo.html"));
    assert_eq!(dom["requests"], json!([url, url]), "{}", dom["requests"]);
    assert_eq!(dom["dialogs"], json!([]));
    assert_eq!(dom["errors"], json!([]));

    let initial = &dom["states"]["initial"];
    let results = report["results"].as_array().unwrap();
    let summary = &report["summary"];
    let n = |v: &Value| v.as_u64().unwrap();
    let fixed = report["fixed"].as_array().unwrap();
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressed").is_some())
        .collect();
    let new: Vec<&Value> = results.iter().filter(|r| r["new"] == true).collect();
    // The run has every kind of finding the page must show apart.
    assert!(
        suppressed.len() >= 3 && !new.is_empty() && !fixed.is_empty(),
        "{report}"
    );
    assert!(suppressed.iter().any(|r| r["new"] == true));
    assert!(fixed.iter().any(|f| f["now"] == "pass") && fixed.iter().any(|f| f["now"] == "gone"));

    // The verdict counts failures to fix only, those about resources apart from what
    // the account's setup lacks (in the terminal's words), and says how many are
    // suppressed, new and fixed.
    assert_eq!(initial["verdict"], "Findings to fix");
    assert!(initial["verdict_class"].as_str().unwrap().ends_with("fail"));
    let resource = &summary["resource"];
    let counts: Vec<String> = [
        format!("{} passed", n(&resource["pass"])),
        format!(
            "{} failed",
            n(&resource["fail"]) - n(&resource["suppressed"])
        ),
        format!("{} suppressed", n(&resource["suppressed"])),
        format!("{} errors", n(&resource["error"])),
        format!("{} new", n(&resource["new"])),
    ]
    .into();
    assert_eq!(initial["counts"], json!(counts));
    let line = terminal.lines().next().unwrap();
    let account = &line[line.find("; account: ").unwrap() + 11..line.find("  → ").unwrap()];
    assert_eq!(
        initial["account_counts"],
        json!(account.split(", ").collect::<Vec<_>>()),
        "{line}"
    );
    assert!(account.contains("rules not deployed"), "{line}");
    assert_eq!(initial["fixed_count"], format!("{} fixed", fixed.len()));
    assert_eq!(initial["meta"]["Suppressions"], "triage/suppressions.json");
    assert_eq!(
        initial["meta"]["Baseline"],
        "baseline/demo.json — found, fully audited"
    );

    // Every failure and error has a row with its severity; suppressed ones apart, with
    // their reason (shown as text, not as HTML), expiry and owner; new ones marked new,
    // and no other.
    let by_id = rows(initial);
    for r in results.iter().filter(|r| r["status"] != "pass") {
        let row = by_id
            .get(r["id"].as_str().unwrap())
            .unwrap_or_else(|| panic!("no row for {r}"));
        let b = badges(row);
        assert_eq!(b[0], r["status"].as_str().unwrap().to_uppercase(), "{row}");
        assert_eq!(
            b[1],
            r["severity"].as_str().unwrap().to_uppercase(),
            "{row}"
        );
        assert!(row["badges"].as_array().unwrap().iter().all(shown));
        assert_eq!(row["resource"], r["resource"]);
        assert_eq!(b.contains(&"NEW"), r["new"] == true, "{row}");
        let classes: BTreeSet<&str> = row["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(classes.contains("new"), r["new"] == true, "{row}");
        let is_suppressed = r.get("suppressed").is_some();
        assert_eq!(row["in_suppressed_table"], is_suppressed, "{row}");
        assert_eq!(b.contains(&"SUPPRESSED"), is_suppressed, "{row}");
        if is_suppressed {
            let s = &r["suppressed"];
            assert_eq!(row["reason"], s["reason"], "{row}");
            assert_eq!(row["reason_elements"], 0, "{row}");
            assert_eq!(row["expires"], s["expires"], "{row}");
            assert_eq!(row["owner"], s.get("owner").cloned().unwrap_or(Value::Null));
        } else {
            assert_eq!(row["reason"], Value::Null, "{row}");
        }
    }
    assert!(suppressed
        .iter()
        .any(|r| r["suppressed"]["reason"] == REASON));

    // Per rule: the severity and why; the rule targets.json set to low says so.
    let sections: BTreeMap<&str, &Value> = initial["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s))
        .collect();
    for r in results {
        let id = format!(
            "rule-{}",
            r["rule"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase()
                .replace('_', "-")
        );
        let section = sections[id.as_str()];
        assert_eq!(
            section["severity_badge"],
            r["severity"].as_str().unwrap().to_uppercase()
        );
        assert!(
            section["severity"].as_str().unwrap().len() > 30,
            "{section}"
        );
    }
    let s3 = sections["rule-s3-bucket-public-read-prohibited"];
    assert!(
        s3["severity"]
            .as_str()
            .unwrap()
            .contains("Set to low for this target in targets.json; the rule's own is"),
        "{s3}"
    );
    assert!(s3["suppressed_heading"]
        .as_str()
        .unwrap()
        .starts_with("Suppressed failures"));
    assert_eq!(
        initial["toc_head"],
        json!([
            "Rule",
            "Severity",
            "Resources",
            "Pass",
            "Fail",
            "Suppressed",
            "Error",
            "New",
            "Account setup"
        ])
    );
    check_rules_table(initial, &report);

    // The triage section: the expired suppression (its failures fail again), the unused
    // one, and the baseline's failures fixed, as the JSON lists them.
    assert_eq!(initial["triage_shown"], true);
    // Each as the JSON lists it: where, rule, resource, reason, owner, date (and for an
    // expired one, how many failures fail again).
    let entry_rows = |list: &Value, expired: bool| {
        let rows: Vec<Value> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let mut cells = vec![
                    json!(format!("triage/suppressions.json:{}", e["line"])),
                    e["rule"].clone(),
                    e["resource"].clone(),
                    e["reason"].clone(),
                    e.get("owner").cloned().unwrap_or_else(|| json!("—")),
                    e["expires"].clone(),
                ];
                if expired {
                    cells.push(json!(e["matched"].to_string()));
                }
                json!({"shown": true, "cells": cells})
            })
            .collect();
        json!(rows)
    };
    let s = &report["suppressions"];
    assert_eq!(s["expired"][0]["reason"], "key rotation pending");
    assert!(n(&s["expired"][0]["matched"]) > 0);
    assert_eq!(
        s["unused"][0]["resource"],
        "arn:aws:iam::123456789012:user/nobody"
    );
    assert_eq!(initial["expired"], entry_rows(&s["expired"], true));
    assert_eq!(initial["unused"], entry_rows(&s["unused"], false));
    let shown_fixed: Vec<Value> = fixed
        .iter()
        .map(|f| {
            json!({"shown": true, "cells": [
                f["now"].as_str().unwrap().to_uppercase(), f["rule"], f["check"],
                format!("{}\n{}", f["resource_name"].as_str().unwrap(), f["resource"].as_str().unwrap())
            ]})
        })
        .collect();
    assert_eq!(initial["fixed"], json!(shown_fixed));

    // Toggles: every result shown at first; hiding passes hides every pass (rows and
    // lists) and nothing else; hiding suppressed failures hides them and nothing else.
    check_visibility("initial", initial, &report, false, false);
    let states = &dom["states"];
    check_visibility("hide_pass", &states["hide_pass"], &report, true, false);
    check_visibility(
        "hide_pass_and_suppressed",
        &states["hide_pass_and_suppressed"],
        &report,
        true,
        true,
    );
    check_visibility(
        "hide_suppressed",
        &states["hide_suppressed"],
        &report,
        false,
        true,
    );
    // Reloaded, whatever boxes the browser restored are applied.
    let reloaded = &states["reloaded"];
    let checked = |id: &str| {
        reloaded["toggles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id && t["checked"] == true)
    };
    check_visibility(
        "reloaded",
        reloaded,
        &report,
        checked("hide-pass"),
        checked("hide-suppressed"),
    );
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000);
}
