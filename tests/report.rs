//! Reports: the JSON contract (snapshot-tested), determinism, and HTML escaping.

use std::path::PathBuf;

use cloudkestrel::evaluate::{self, evaluate_account};
use cloudkestrel::report::html;
use cloudkestrel::{fixture, targets};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo_report() -> cloudkestrel::report::TargetReport {
    let targets = targets::load(&root().join("targets.example.json")).unwrap();
    let account = fixture::load(&root().join("fixtures/demo-account.json")).unwrap();
    evaluate_account(
        targets.get("demo").unwrap(),
        &account,
        "snapshots/demo/2026-11-27T08-00-00Z.sqlite",
    )
}

#[test]
fn demo_json_report() {
    insta::assert_snapshot!("demo_json_report", demo_report().to_json());
}

#[test]
fn json_report_has_the_documented_shape() {
    let v: serde_json::Value = serde_json::from_str(&demo_report().to_json()).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["target"], "demo");
    assert_eq!(v["account_id"], "123456789012");
    assert_eq!(v["collected_at"], "2026-11-27T08:00:00Z");
    let results = v["results"].as_array().unwrap();
    let (p, f, e) = results.iter().fold((0, 0, 0), |(p, f, e), r| {
        match r["status"].as_str().unwrap() {
            "pass" => (p + 1, f, e),
            "fail" => (p, f + 1, e),
            "error" => (p, f, e + 1),
            other => panic!("status {other}"),
        }
    });
    assert_eq!(
        (
            v["summary"]["pass"].as_u64().unwrap(),
            v["summary"]["fail"].as_u64().unwrap(),
            v["summary"]["error"].as_u64().unwrap()
        ),
        (p, f, e)
    );
    for r in results {
        assert!([
            "policy-document",
            "attached",
            "deployed",
            "aws-config",
            "local",
            "setup"
        ]
        .contains(&r["check"].as_str().unwrap()));
        for k in ["rule", "resource", "resource_name", "message"] {
            assert!(r[k].is_string(), "{k} in {r}");
        }
    }
    let bob_mfa = results
        .iter()
        .find(|r| {
            r["rule"] == "IAM_USER_MFA_ENABLED"
                && r["check"] == "local"
                && r["resource_name"] == "bob"
        })
        .unwrap();
    assert_eq!(bob_mfa["resource"], "arn:aws:iam::123456789012:user/bob");
    assert_eq!(bob_mfa["status"], "fail");
}

#[test]
fn evaluation_is_deterministic_across_parallel_runs() {
    let dir = tempfile::tempdir().unwrap();
    let targets = targets::load(&root().join("targets.example.json")).unwrap();
    let jobs = vec![evaluate::Job {
        target: "demo".into(),
        snapshot: Some(root().join("snapshots/demo/2026-11-27T08-00-00Z.sqlite")),
    }];
    let mut seen = None;
    for i in 0..3 {
        let out = dir.path().join(format!("r{i}"));
        evaluate::run(
            &targets,
            &jobs,
            &out,
            evaluate::Formats::BOTH,
            &Default::default(),
        );
        let json = std::fs::read_to_string(out.join("demo.json")).unwrap();
        let html = std::fs::read_to_string(out.join("demo.html")).unwrap();
        if let Some((j, h)) = &seen {
            assert_eq!(j, &json);
            assert_eq!(h, &html);
        }
        seen = Some((json, html));
    }
}

#[test]
fn html_escapes_everything_from_the_account() {
    let mut report = demo_report();
    // The demo account has a user named <script>alert('x')</script>; add a hostile policy
    // detail and message too.
    report.results[0]
        .details
        .push("\"><img src=x onerror=alert(1)>".into());
    report.results[0]
        .message
        .push_str(" </td></table><script>alert(2)</script>");
    let page = html::render(&report).unwrap();
    assert!(
        !page.contains("<script>alert"),
        "unescaped script in the report"
    );
    assert!(
        !page.contains("<img src=x"),
        "unescaped attribute injection"
    );
    assert!(
        page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
            || page.contains("&lt;script&gt;alert('x')&lt;/script&gt;")
    );
    // Exactly one script element: our own embedded JS.
    assert_eq!(page.matches("<script>").count(), 1);
    // Self-contained: no external resources.
    for needle in ["http://", "https://", "<link"] {
        let hits: Vec<_> = page
            .match_indices(needle)
            .map(|(i, _)| &page[i.saturating_sub(40)..(i + 80).min(page.len())])
            .collect();
        assert!(
            hits.iter().all(|h| h.contains("acs.amazonaws.com")),
            "external reference {needle}: {hits:?}"
        );
    }
}

#[test]
fn html_report_shows_policy_differences_and_rule_docs() {
    let page = html::render(&demo_report()).unwrap();
    assert!(
        page.contains("changed statement"),
        "the policy diff is missing"
    );
    assert!(
        page.contains("203.0.113.10"),
        "the extra IP must be visible"
    );
    assert!(page.contains("<h4>What it checks</h4>"));
    // Rule docs are Markdown rendered (pulldown-cmark), not shown as written.
    assert!(page.contains("<strong>default version</strong>"));
    assert!(!page.contains("**default version**"));
    assert!(page.contains("Every check passed") || page.contains("Findings to fix"));
}

/// The hand-written JSON writer (fast, one result per line) must produce exactly the
/// value serde makes of the report: the struct stays the contract. Checked on the demo
/// and on a report with every kind of string JSON must escape, details, problems, and
/// the empty and `null` cases.
#[test]
fn json_writer_equals_the_serde_value_of_the_report() {
    use cloudkestrel::model::{Problem, Section};
    let check = |report: &cloudkestrel::report::TargetReport| {
        let text = report.to_json();
        let parsed: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{text}"));
        assert_eq!(parsed, serde_json::to_value(report).unwrap(), "{text}");
        assert!(text.ends_with("}\n"));
        text
    };
    let demo = demo_report();
    let text = check(&demo);
    // One result per line: each result line parses on its own.
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("    {\"id\""))
        .collect();
    assert_eq!(lines.len(), demo.results.len());
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l.trim().trim_end_matches(',')).unwrap();
        assert!(v["status"].is_string());
    }

    let hostile = "q\"uote b\\ackslash \n\t\r\u{1} \u{7f} é 日本 </script> \u{2028}";
    let mut report = demo_report();
    report.target = hostile.into();
    report.snapshot = hostile.into();
    report.account_id = None;
    report.collected_at = None;
    report.results[0].message = hostile.into();
    report.results[0].resource_name = "".into();
    report.results[1].details = vec![hostile.into(), String::new(), "plain".into()];
    report.problems = vec![
        Problem {
            section: Section::S3Buckets,
            operation: "s3:ListBuckets".into(),
            error_code: "AccessDenied".into(),
            message: hostile.into(),
            region: Some("eu-west-1".into()),
            resource: None,
        },
        Problem {
            section: Section::Identity,
            operation: "sts:GetCallerIdentity".into(),
            error_code: "Throttling".into(),
            message: "m".into(),
            region: None,
            resource: Some(hostile.into()),
        },
    ];
    check(&report);
    report.results.clear();
    report.problems.clear();
    check(&report);
}

/// Finding ids: unique within every report, over every rule fixture evaluated with every
/// rule, and the demo.
#[test]
fn finding_ids_are_unique_within_a_report() {
    let all_rules: Vec<String> = cloudkestrel::rules::RULES
        .iter()
        .map(|r| {
            let m = r.meta();
            let ips = if m.name == "User_Source_IP_Restrictions" {
                ", \"Source_IPs\": [\"195.89.85.67\"]"
            } else {
                ""
            };
            format!(
                "{{\"{}\": {{\"Name\": \"{}\"{ips}}}}}",
                m.kind.as_str(),
                m.name
            )
        })
        .collect();
    let targets = targets::parse(
        std::path::Path::new("t.json"),
        &format!(
            "{{\"Targets\": [{{\"all\": {{\"Rules\": [{}]}}}}]}}",
            all_rules.join(", ")
        ),
    )
    .unwrap();
    let target = targets.get("all").unwrap();
    let mut accounts = vec![root().join("fixtures/demo-account.json")];
    for rule in std::fs::read_dir(root().join("fixtures/rules")).unwrap() {
        for case in std::fs::read_dir(rule.unwrap().path()).unwrap() {
            accounts.push(case.unwrap().path().join("account.json"));
        }
    }
    assert!(accounts.len() > 100, "{}", accounts.len());
    for path in accounts {
        let account = fixture::load(&path).unwrap();
        let report = evaluate_account(target, &account, "s");
        let mut ids: Vec<_> = report.results.iter().map(|r| r.id).collect();
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(
            ids.len(),
            before,
            "{}: two results share an id",
            path.display()
        );
    }
}

/// The same finding has the same id in two snapshots of a changed account (a user
/// added, a policy changed, the finding's status and message changed), and the id is
/// the documented function of account, rule, check and resource.
#[test]
fn finding_ids_survive_changes_to_the_account() {
    use cloudkestrel::rules::id::FindingId;
    let before = demo_report();
    let targets = targets::load(&root().join("targets.example.json")).unwrap();
    let mut account = fixture::load(&root().join("fixtures/demo-account.json")).unwrap();
    let mut newcomer = account.iam.users[0].clone();
    newcomer.name = "zoe".into();
    newcomer.arn = "arn:aws:iam::123456789012:user/zoe".into();
    newcomer.user_id = "AIDAZOE".into();
    account.iam.users.push(newcomer);
    // bob gets MFA: his IAM_USER_MFA_ENABLED result goes from fail to pass.
    for row in &mut account.iam.credential_report {
        if row.user == "bob" {
            row.mfa_active = true;
        }
    }
    account.metadata.collected_at += chrono::Duration::days(30);
    let after = evaluate_account(targets.get("demo").unwrap(), &account, "other.sqlite");
    let key = |r: &cloudkestrel::rules::Finding| (r.rule, r.check, r.resource.clone(), r.aspect);
    let mut kept = 0;
    for b in &before.results {
        if let Some(a) = after.results.iter().find(|a| key(a) == key(b)) {
            assert_eq!(a.id, b.id, "{:?}", key(b));
            kept += 1;
        }
    }
    assert_eq!(
        kept,
        before.results.len(),
        "every earlier finding is still there"
    );
    let bob = |r: &cloudkestrel::report::TargetReport| {
        r.results
            .iter()
            .find(|x| {
                x.rule == "IAM_USER_MFA_ENABLED"
                    && x.check.as_str() == "local"
                    && &*x.resource_name == "bob"
            })
            .cloned()
            .unwrap()
    };
    let (b, a) = (bob(&before), bob(&after));
    assert_ne!((b.status, &b.message), (a.status, &a.message));
    assert_eq!(b.id, a.id);
    assert_eq!(
        b.id,
        FindingId::of(
            "123456789012",
            "IAM_USER_MFA_ENABLED",
            "local",
            "arn:aws:iam::123456789012:user/bob",
            ""
        )
    );
    assert!(after.results.iter().any(|r| &*r.resource_name == "zoe"));
}
