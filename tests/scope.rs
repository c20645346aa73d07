//! Headlines that do not mislead (issue 13 part 8): results about resources and about
//! the account's setup are counted apart in the JSON summary, on the terminal, in the
//! HTML report and across targets, through the real binary on the demo account.

mod support;

use std::path::Path;

use serde_json::Value;
use support::*;

/// The demo account without Force_MFA: the policy is gone, and so is its attachment to
/// the DevOps group.
fn without_force_mfa(dir: &Path) {
    let mut f = demo_fixture();
    let arn = "arn:aws:iam::123456789012:policy/Force_MFA";
    let iam = &mut f["iam"];
    iam["policies"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p["name"] != "Force_MFA");
    for g in iam["groups"].as_array_mut().unwrap() {
        g["attached_policies"]
            .as_array_mut()
            .unwrap()
            .retain(|p| p != arn);
    }
    let fixture = write(dir, "no-force-mfa.json", &f.to_string());
    let o = import(dir, &fixture, "snapshots/demo/2026-12-01T08-00-00Z.sqlite");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("reports/demo.json")).unwrap()).unwrap()
}

fn results(r: &Value) -> &Vec<Value> {
    r["results"].as_array().unwrap()
}

/// Counts of the results of one scope (or all), as the summary gives them.
fn counted(r: &Value, scope: Option<&str>) -> Value {
    let of = |status: &str| {
        results(r)
            .iter()
            .filter(|x| scope.is_none_or(|s| x["scope"] == s) && x["status"] == status)
            .count()
    };
    let suppressed = results(r)
        .iter()
        .filter(|x| scope.is_none_or(|s| x["scope"] == s) && x.get("suppressed").is_some())
        .count();
    serde_json::json!({"pass": of("pass"), "fail": of("fail"), "error": of("error"), "suppressed": suppressed})
}

/// Without the policy, every user not ignored fails `attached`: account-level failures
/// that follow from the missing policy, not findings about the users. The summary
/// counts them apart, the terminal says "Force_MFA missing (4 users not covered)" in
/// one item and lists none of them among the worst.
#[test]
fn a_missing_policy_is_one_account_finding_not_one_per_user() {
    let dir = demo_dir();
    assert_eq!(code(&ck(dir.path(), &["evaluate"])), 1);
    let before = report(dir.path());
    without_force_mfa(dir.path());
    let o = ck(dir.path(), &["evaluate"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let r = report(dir.path());

    let document = results(&r)
        .iter()
        .find(|x| x["rule"] == "Force_MFA" && x["check"] == "policy-document")
        .unwrap();
    assert_eq!(
        (&document["status"], &document["scope"]),
        (&"fail".into(), &"account".into())
    );
    let attached: Vec<&Value> = results(&r)
        .iter()
        .filter(|x| x["rule"] == "Force_MFA" && x["check"] == "attached")
        .collect();
    let users = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["rule"] == "IAM_USER_MFA_ENABLED" && x["check"] == "local")
        .count();
    assert_eq!(attached.len(), users, "one attached result per user");
    let (following, ignored): (Vec<&Value>, Vec<&Value>) =
        attached.into_iter().partition(|x| x["status"] == "fail");
    assert_eq!(following.len(), 4);
    for x in &following {
        assert_eq!(x["scope"], "account", "{x}");
        assert_eq!(x["cause"], document["id"], "{x}");
    }
    // IgnoreUsers still passes the auditor: a verdict about that user.
    assert_eq!(ignored.len(), 1);
    assert_eq!(ignored[0]["scope"], "resource");
    assert!(ignored[0].get("cause").is_none());

    // The summary: totals as before scopes, each scope its own results, and the
    // resource failures only the real ones (carol's attached failure now follows
    // from the missing policy).
    let s = &r["summary"];
    for (key, scope) in [("resource", Some("resource")), ("account", Some("account"))] {
        assert_eq!(s[key], counted(&r, scope), "{key}");
    }
    for key in ["pass", "fail", "error", "suppressed"] {
        assert_eq!(s[key], counted(&r, None)[key], "{key}");
    }
    let n = |v: &Value| v.as_u64().unwrap();
    assert_eq!(
        n(&s["resource"]["fail"]),
        n(&before["summary"]["resource"]["fail"]) - 1
    );
    assert_eq!(
        n(&s["fail"]),
        n(&before["summary"]["fail"]) + 4 + 1,
        "the users, the policy-document, Account_Setup's DevOps; carol's counted before"
    );

    let out = stdout(&o);
    let line = out.lines().next().unwrap();
    assert_eq!(
        line,
        format!(
            "FAIL     demo: {} resource findings, {} pass; account: Force_MFA missing (4 users not covered), \
             User_Source_IP_Restrictions differs, 5 rules not deployed, \
             1 expected group or attachment missing  → reports/demo.html",
            s["resource"]["fail"], s["resource"]["pass"]
        )
    );
    assert!(!out.contains("cannot have Force_MFA attached"), "{out}");
    // "… and N more" counts the findings not shown, the ones that follow excluded.
    let shown = out.lines().filter(|l| l.starts_with("    fail")).count();
    assert_eq!(shown, 5, "{out}");
    assert!(
        out.contains(&format!(
            "… and {} more, see the report",
            n(&s["fail"]) - 4 - shown as u64
        )),
        "{out}"
    );
}

/// Many targets (more than the terminal lists one by one): the compact summary ranks
/// them by findings about resources and says what each account's setup lacks;
/// summary.json has each target's counts per scope as its report does, and index.html
/// the same words as the terminal.
#[test]
fn many_targets_are_ranked_by_findings_about_resources() {
    let dir = demo_dir();
    let mut targets = serde_json::json!({"Targets": [{}]});
    let rules = serde_json::from_str::<Value>(
        &std::fs::read_to_string(dir.path().join("targets.json")).unwrap(),
    )
    .unwrap()["Targets"][0]["demo"]["Rules"]
        .clone();
    // t0 to t8 are the demo account, t8 without the Force_MFA policy: its users'
    // failures to have it follow from that, carol's included, which was about her.
    for i in 0..9 {
        let name = format!("t{i}");
        let mut f = demo_fixture();
        f["metadata"]["target"] = name.clone().into();
        if i == 8 {
            f["iam"]["policies"]
                .as_array_mut()
                .unwrap()
                .retain(|p| p["name"] != "Force_MFA");
        }
        let fixture = write(dir.path(), &format!("{name}.json"), &f.to_string());
        let out = format!("snapshots/{name}/2026-11-27T08-00-00Z.sqlite");
        let o = import(dir.path(), &fixture, &out);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        targets["Targets"][0][&name] = serde_json::json!({ "Rules": rules });
    }
    write(dir.path(), "targets.json", &targets.to_string());
    let o = ck(dir.path(), &["evaluate"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("9 targets: 0 passed, 9 with findings (9 about resources, the others only about the account's setup), 0 not fully audited\nmost findings:\n"),
        "{out}"
    );
    let reports: Vec<Value> = (0..9)
        .map(|i| {
            serde_json::from_str(
                &std::fs::read_to_string(dir.path().join(format!("reports/t{i}.json"))).unwrap(),
            )
            .unwrap()
        })
        .collect();
    let lines: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(lines.len(), 9, "{out}");
    // t8 has one finding about resources fewer (carol's): last.
    assert!(lines[8].trim_start().starts_with("t8 "), "{out}");
    let to_fix = |r: &Value| r["summary"]["resource"]["fail"].as_u64().unwrap();
    assert_eq!(to_fix(&reports[8]) + 1, to_fix(&reports[0]));
    let t8 = "Force_MFA missing (4 users not covered), User_Source_IP_Restrictions differs, 5 rules not deployed";
    assert!(
        lines[8].contains(&format!(
            "{} resource findings; account: {t8}",
            to_fix(&reports[8])
        )),
        "{out}"
    );

    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/summary.json")).unwrap(),
    )
    .unwrap();
    let rows = summary["targets"].as_array().unwrap();
    assert_eq!(rows.len(), 9);
    for row in rows {
        let i: usize = row["target"].as_str().unwrap()[1..].parse().unwrap();
        assert_eq!(row["summary"], reports[i]["summary"], "{row}");
        assert!(row["summary"]["resource"].is_object() && row["summary"]["account"].is_object());
    }
    assert_eq!(
        rows[8]["target"], "t8",
        "ranked by findings about resources"
    );
    let index = std::fs::read_to_string(dir.path().join("reports/index.html")).unwrap();
    assert!(
        index.contains(&format!(
            "<td class=\"n\">{}</td><td>{t8}</td>",
            to_fix(&reports[8])
        )),
        "{index}"
    );
}
