//! The SARIF and JUnit reports as CI systems read them, from the real binary: two
//! targets of one account with failures, passes, errors (a collection problem), a
//! suppressed failure (a suppressions file) and new and unchanged failures (a
//! baseline of reports), written by `evaluate --format sarif,junit,json`.
//!
//! SARIF is validated against the official 2.1.0 schema (`check-jsonschema` in .venv,
//! URIs checked) and held to what GitHub code scanning needs and the README says;
//! JUnit is read back with `junitparser` (tests/ci_formats/junit_summary.py) and
//! compared with the JSON report; the CI examples under examples/ci/ are parsed as
//! YAML and their cloudkestrel commands checked against `--help`. The Python tools come
//! from tests/moto/requirements.txt, which scripts/test installs into .venv.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};
use support::examples::{assert_no_keys, assert_real_options, commands_in, python, venv_tool};
use support::{ck, code, demo_fixture, import, root, stderr, stdout, write};

const TARGETS: [&str; 2] = ["demo", "staging"];
const SNAPSHOT: &str = "2026-11-27T08-00-00Z.sqlite";
const REASON: &str = "static website, reviewed in SEC-142";

/// The evaluation every test here reads.
struct Scenario {
    dir: PathBuf,
    /// `evaluate`'s exit code.
    exit: i32,
    /// Each target's JSON report.
    json: BTreeMap<&'static str, Value>,
    /// The rules configured for both targets, in targets.json order.
    rules: Vec<String>,
}

impl Scenario {
    /// Each target's report of one kind (`sarif`, `junit.xml`), in [`TARGETS`] order.
    fn reports(&self, ext: &str) -> Vec<PathBuf> {
        TARGETS
            .iter()
            .map(|t| self.dir.join(format!("reports/{t}.{ext}")))
            .collect()
    }
}

fn scenario() -> &'static Scenario {
    static SCENARIO: OnceLock<Scenario> = OnceLock::new();
    SCENARIO.get_or_init(evaluate_scenario)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The demo account as target `target`: as it was for the baseline (without the
/// publicly writable bucket, whose failure is then new), or as it is now (for demo,
/// with a collection problem: the credential report could not be read; for staging,
/// without the Force_MFA policy).
fn account(target: &str, earlier: bool) -> Value {
    let mut a = demo_fixture();
    a["metadata"]["target"] = json!(target);
    if earlier {
        a["s3"]["buckets"]
            .as_array_mut()
            .unwrap()
            .retain(|b| b["name"] != "demo-legacy-uploads");
    } else if target == "staging" {
        // Force_MFA gone: its users' failures are account-level, following from that.
        a["iam"]["policies"]
            .as_array_mut()
            .unwrap()
            .retain(|p| p["name"] != "Force_MFA");
    } else if target == "demo" {
        a["problems"] = json!([{
            "section": "iam_credential_report", "operation": "iam:GetCredentialReport",
            "error_code": "AccessDenied",
            "message": "not authorized to perform iam:GetCredentialReport"
        }]);
    }
    a
}

fn evaluate_scenario() -> Scenario {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ci_formats");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The example's demo target, and the same rules as a second target, staging.
    let mut targets = read_json(&root().join("targets.example.json"));
    let demo = targets["Targets"][0]["demo"].clone();
    targets["Targets"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "staging": demo }));
    write(&dir, "targets.json", &targets.to_string());
    let rules = demo["Rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let (_, spec) = r.as_object().unwrap().iter().next().unwrap();
            spec["Name"].as_str().unwrap().to_string()
        })
        .collect();
    for t in TARGETS {
        for (earlier, snapshots) in [(true, "earlier"), (false, "snapshots")] {
            let fixture = write(
                &dir,
                &format!("fixtures/{snapshots}-{t}.json"),
                &account(t, earlier).to_string(),
            );
            let o = import(&dir, &fixture, &format!("{snapshots}/{t}/{SNAPSHOT}"));
            assert_eq!(code(&o), 0, "{}", stderr(&o));
        }
    }
    // The baseline: the earlier reports of both targets.
    let o = evaluate_both(
        &dir,
        "earlier",
        &["--report-dir", "baseline", "--format", "json"],
    );
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    // The public website is accepted, in demo only.
    write(
        &dir,
        "accepted.json",
        &json!({ "Suppressions": [{
            "Rule": "S3_BUCKET_PUBLIC_READ_PROHIBITED", "Resource": "arn:aws:s3:::demo-website",
            "Targets": ["demo"], "Reason": REASON, "Expires": "2099-12-31", "Owner": "web-team"
        }]})
        .to_string(),
    );
    let o = evaluate_both(
        &dir,
        "snapshots",
        &[
            "--format",
            "sarif,junit,json",
            "--suppressions",
            "accepted.json",
            "--baseline",
            "baseline",
            "--fail-on",
            "new",
        ],
    );
    let json = TARGETS
        .iter()
        .map(|t| (*t, read_json(&dir.join(format!("reports/{t}.json")))))
        .collect();
    Scenario {
        exit: code(&o),
        dir,
        json,
        rules,
    }
}

/// `evaluate` of both targets' snapshots under `snapshots`, with `args`.
fn evaluate_both(dir: &Path, snapshots: &str, args: &[&str]) -> std::process::Output {
    let paths: Vec<String> = TARGETS
        .iter()
        .map(|t| format!("{snapshots}/{t}/{SNAPSHOT}"))
        .collect();
    let mut all = vec!["evaluate"];
    all.extend(paths.iter().map(String::as_str));
    all.extend(args);
    ck(dir, &all)
}

fn results<'a>(report: &'a Value, status: &str) -> Vec<&'a Value> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == status)
        .collect()
}

/// The official SARIF 2.1.0 schema (errata 01), kept in the repository; where the
/// shared copy is beside it, the two are the same.
fn sarif_schema() -> PathBuf {
    let ours = root().join("tests/schemas/sarif-schema-2.1.0.json");
    let shared = root().join("../shared/schemas/sarif-schema-2.1.0.json");
    if shared.is_file() {
        assert!(
            std::fs::read(&ours).unwrap() == std::fs::read(&shared).unwrap(),
            "{} differs from {}",
            ours.display(),
            shared.display()
        );
    }
    ours
}

fn check_jsonschema(files: &[PathBuf]) -> std::process::Output {
    Command::new(venv_tool("check-jsonschema"))
        .arg("--schemafile")
        .arg(sarif_schema())
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn the_scenario_has_every_kind_of_result() {
    let s = scenario();
    // An error (the collection problem) wins over the new failures: exit 3.
    assert_eq!(s.exit, 3);
    let demo = &s.json["demo"];
    assert!(!results(demo, "pass").is_empty());
    assert!(!results(demo, "error").is_empty());
    assert_eq!(demo["problems"].as_array().unwrap().len(), 1);
    assert_eq!(demo["summary"]["suppressed"], 2, "aws-config and local");
    for report in s.json.values() {
        let fails = results(report, "fail");
        let new = |f: &&Value| f["new"] == true && f.get("suppressed").is_none();
        assert!(fails.iter().any(new), "a new failure");
        assert!(fails.iter().any(|f| f["new"] == false), "an unchanged one");
        assert_eq!(report["baseline"]["found"], true);
    }
    let staging = &s.json["staging"];
    assert!(results(staging, "error").is_empty());
    assert!(staging["problems"].as_array().unwrap().is_empty());
    assert_eq!(
        staging["summary"]["suppressed"], 0,
        "the suppression is demo's"
    );
    let following = results(staging, "fail")
        .into_iter()
        .filter(|f| f.get("cause").is_some())
        .count();
    assert!(following > 1, "staging's users cannot have Force_MFA");
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let s = scenario();
    let files = s.reports("sarif");
    let o = check_jsonschema(&files);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // The validator really checks: formats (URIs) and enums. Without rfc3986-validator
    // a URI that is not one passes unread.
    let mut broken = read_json(&files[0]);
    let result = &mut broken["runs"][0]["results"][0];
    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        json!("no file associated");
    result["suppressions"] = json!([{ "kind": "external", "status": "Accepted" }]);
    let bad = write(&s.dir, "broken.sarif", &broken.to_string());
    let o = check_jsonschema(&[bad]);
    let said = stdout(&o) + &stderr(&o);
    assert!(!o.status.success(), "{said}");
    assert!(
        said.contains("is not a 'uri-reference'"),
        "URIs are not checked (is rfc3986-validator in .venv? run scripts/test): {said}"
    );
    assert!(said.contains("'Accepted' is not one of"), "{said}");
}

/// SARIF's level and GitHub's band of `security-severity` for a severity.
fn level_of(severity: &str) -> &'static str {
    match severity {
        "critical" | "high" => "error",
        "medium" => "warning",
        "low" => "note",
        other => panic!("severity {other}"),
    }
}

fn github_band(score: f64) -> &'static str {
    match score {
        s if s >= 9.0 => "critical",
        s if s >= 7.0 => "high",
        s if s >= 4.0 => "medium",
        s if s > 0.0 => "low",
        s => panic!("security-severity {s}"),
    }
}

#[test]
fn sarif_has_what_github_code_scanning_needs() {
    let s = scenario();
    let mut categories = HashSet::new();
    for t in TARGETS {
        let sarif = read_json(&s.dir.join(format!("reports/{t}.sarif")));
        let report = &s.json[t];
        let account = report["account_id"].as_str().unwrap();
        assert_eq!(sarif["version"], "2.1.0");
        assert!(sarif["$schema"]
            .as_str()
            .unwrap()
            .ends_with("sarif-2.1.0.json"));
        let [run] = sarif["runs"].as_array().unwrap().as_slice() else {
            panic!("one run per file");
        };
        let category = run["automationDetails"]["id"].as_str().unwrap();
        assert_eq!(category, format!("cloudkestrel/{t}/"));
        assert!(categories.insert(category.to_string()));

        // One SARIF rule per configured rule, documented.
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, s.rules);
        for r in rules {
            for text in [
                &r["help"]["markdown"],
                &r["help"]["text"],
                &r["shortDescription"]["text"],
            ] {
                assert!(text.as_str().is_some_and(|x| x.len() > 20), "{r}");
            }
            assert_ne!(r["name"], r["id"]);
        }

        // One result per failure, in the JSON report's order.
        let fails = results(report, "fail");
        let found = run["results"].as_array().unwrap();
        assert_eq!(found.len(), fails.len(), "{t}");
        let mut places = HashSet::new();
        for (r, f) in found.iter().zip(&fails) {
            assert_eq!(r["ruleId"], f["rule"]);
            let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
            assert_eq!(rule["id"], f["rule"]);
            let location = &r["locations"][0];
            let physical = &location["physicalLocation"];
            let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
            assert!(
                uri.starts_with(&format!("aws/{account}/"))
                    && !uri.contains([':', ' '])
                    && !uri.starts_with('/'),
                "{uri}"
            );
            let line = physical["region"]["startLine"].as_u64().unwrap();
            assert!(line >= 1);
            assert_eq!(
                location["logicalLocations"][0]["fullyQualifiedName"],
                f["resource"]
            );
            assert_eq!(r["partialFingerprints"]["primaryLocationLineHash"], f["id"]);
            assert_eq!(r["properties"]["findingId"], f["id"]);
            assert_eq!(r["properties"]["scope"], f["scope"]);
            assert_eq!(r["properties"].get("followsFrom"), f.get("cause"), "{r}");
            let severity = f["severity"].as_str().unwrap();
            assert_eq!(r["level"], level_of(severity), "{r}");
            let score = rule["properties"]["security-severity"].as_str().unwrap();
            assert_eq!(github_band(score.parse().unwrap()), severity, "{rule}");
            // GitHub's dismiss-alerts action tells alerts apart by these four.
            let column = physical["region"]["startColumn"].as_u64().unwrap_or(1);
            let place = (f["rule"].to_string(), uri.to_string(), line, column);
            assert!(places.insert(place), "two results at {uri}:{line} in {t}");
            match f.get("suppressed") {
                Some(sup) => {
                    let expected = json!([{
                        "kind": "external", "status": "accepted", "justification": sup["reason"],
                        "properties": { "expires": sup["expires"], "owner": sup["owner"] }
                    }]);
                    assert_eq!(r["suppressions"], expected);
                    assert_eq!(sup["reason"], REASON);
                }
                None => assert!(r.get("suppressions").is_none(), "{r}"),
            }
            let state = if f["new"] == true { "new" } else { "unchanged" };
            assert_eq!(r["baselineState"], state, "{r}");
        }

        // Errors and collection problems are tool notifications; then the run did not
        // succeed.
        let errors = results(report, "error");
        let problems = report["problems"].as_array().unwrap();
        let invocation = &run["invocations"][0];
        let notes = invocation["toolExecutionNotifications"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(notes.len(), errors.len() + problems.len(), "{t}");
        assert!(notes.iter().all(|n| n["level"] == "error"));
        for (n, e) in notes.iter().zip(&errors) {
            assert_eq!(n["associatedRule"]["id"], e["rule"]);
            let index = n["associatedRule"]["index"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], e["rule"]);
            assert_eq!(n["properties"]["findingId"], e["id"]);
            assert_eq!(n["properties"]["scope"], e["scope"]);
            let text = n["message"]["text"].as_str().unwrap();
            assert!(text.contains(e["message"].as_str().unwrap()), "{text}");
            let uri = n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(!uri.contains(':'), "{uri}");
        }
        for (n, p) in notes[errors.len()..].iter().zip(problems) {
            let text = n["message"]["text"].as_str().unwrap();
            assert!(text.contains(p["operation"].as_str().unwrap()), "{text}");
        }
        let complete = errors.is_empty() && problems.is_empty();
        assert_eq!(invocation["executionSuccessful"], complete, "{t}");
        assert_eq!(complete, t == "staging");
    }
}

#[test]
fn junit_reads_back_with_junitparser_as_the_json_report_counts() {
    let s = scenario();
    let files = s.reports("junit.xml");
    let read = python("junit_summary.py", &files);
    for (t, file) in TARGETS.iter().zip(&files) {
        let x = &read[file.to_str().unwrap()];
        let report = &s.json[t];
        let all = report["results"].as_array().unwrap();
        let problems = report["problems"].as_array().unwrap();
        let fails = results(report, "fail");
        let unsuppressed = fails.iter().filter(|f| f.get("suppressed").is_none());
        let suppressed = fails.len() - unsuppressed.clone().count();
        assert_eq!(x["tests"], all.len() + problems.len(), "{t}");
        assert_eq!(x["failures"], unsuppressed.count(), "{t}");
        assert_eq!(x["errors"], results(report, "error").len() + problems.len());
        assert_eq!(x["skipped"], suppressed, "{t}");
        assert_eq!(report["summary"]["suppressed"], suppressed);

        // One suite per rule, then the collection problems'.
        let suites = x["suites"].as_array().unwrap();
        let mut names: Vec<&str> = s.rules.iter().map(String::as_str).collect();
        if !problems.is_empty() {
            names.push("collection");
        }
        let found: Vec<&str> = suites.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(found, names, "{t}");
        // One case per result, in the JSON report's order.
        let mut expected = all.iter();
        for suite in &suites[..s.rules.len()] {
            let cases = suite["cases"].as_array().unwrap();
            assert_eq!(suite["tests"], cases.len());
            let mut unique = HashSet::new();
            for case in cases {
                let f = expected.next().expect("as many cases as results");
                assert_eq!(f["rule"], suite["name"]);
                assert_eq!(
                    case["classname"],
                    format!("cloudkestrel.{t}.{}", f["rule"].as_str().unwrap())
                );
                assert!(unique.insert(case["name"].as_str().unwrap()), "{case}");
                assert!(case["name"]
                    .as_str()
                    .unwrap()
                    .contains(f["resource"].as_str().unwrap()));
                assert!(case["results"].as_u64().unwrap() <= 1);
                let kind = match (f["status"].as_str().unwrap(), f.get("suppressed")) {
                    ("pass", _) => "pass",
                    ("fail", Some(_)) => "skipped",
                    ("fail", None) => "failure",
                    ("error", _) => "error",
                    (other, _) => panic!("status {other}"),
                };
                assert_eq!(case["result"], kind, "{case} for {f}");
                if kind == "pass" {
                    continue;
                }
                let message = case["message"].as_str().unwrap();
                let text = case["text"].as_str().unwrap();
                if kind == "skipped" {
                    assert!(
                        message.contains(REASON) && message.contains("2099-12-31"),
                        "{message}"
                    );
                } else {
                    assert_eq!(message, f["message"].as_str().unwrap());
                }
                // GitLab shows the text, not the message: it says it all.
                for part in [&f["message"], &f["resource"], &f["id"]] {
                    assert!(text.contains(part.as_str().unwrap()), "{text}");
                }
                assert!(text.contains(&format!("\nscope: {}", f["scope"].as_str().unwrap())));
                if let Some(cause) = f.get("cause") {
                    let line = format!("\nfollows from: {}", cause.as_str().unwrap());
                    assert!(text.contains(&line), "{text}");
                }
                if f["status"] == "fail" {
                    let state = if f["new"] == true { "new" } else { "unchanged" };
                    assert!(text.contains(&format!("baseline: {state}")), "{text}");
                }
            }
        }
        assert!(expected.next().is_none(), "a result without a case");
        if let Some(collection) = suites.get(s.rules.len()) {
            let cases = collection["cases"].as_array().unwrap();
            assert_eq!(cases.len(), problems.len());
            for (case, p) in cases.iter().zip(problems) {
                assert_eq!(case["result"], "error");
                let message = case["message"].as_str().unwrap();
                assert!(
                    message.contains(p["operation"].as_str().unwrap()),
                    "{message}"
                );
            }
        }
    }
}

#[test]
fn fail_on_new_exits_1_only_for_a_new_failure() {
    let s = scenario();
    let staging = format!("snapshots/staging/{SNAPSHOT}");
    let run = |baseline: &str, fail_on: &str, out: &str| {
        let o = ck(
            &s.dir,
            &[
                "evaluate",
                &staging,
                "--format",
                "json",
                "--report-dir",
                out,
                "--baseline",
                baseline,
                "--fail-on",
                fail_on,
            ],
        );
        (code(&o), stdout(&o) + &stderr(&o))
    };
    // The writable bucket is new against the earlier report.
    let (exit, said) = run("baseline", "new", "new-vs-earlier");
    assert_eq!(exit, 1, "{said}");
    // Against this very report nothing is new: 0, though failures remain.
    let (exit, said) = run("reports/staging.json", "new", "new-vs-now");
    assert_eq!(exit, 0, "{said}");
    let (exit, said) = run("reports/staging.json", "any", "any-vs-now");
    assert_eq!(exit, 1, "{said}");
}

#[test]
fn ci_examples_parse_and_use_only_real_options() {
    let github = root().join("examples/ci/github-actions.yml");
    let gitlab = root().join("examples/ci/gitlab-ci.yml");
    let docs = python("yaml_to_json.py", &[github.clone(), gitlab.clone()]);
    let (gh, gl) = (
        &docs[github.to_str().unwrap()],
        &docs[gitlab.to_str().unwrap()],
    );
    // GitHub: on a schedule, OIDC credentials, SARIF uploaded with the files' own
    // categories, the baseline downloaded.
    assert!(gh["on"]["schedule"][0]["cron"].is_string(), "{gh}");
    let steps: Vec<&Value> = gh["jobs"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|j| j["steps"].as_array())
        .flatten()
        .collect();
    let uses = |action: &str| {
        steps
            .iter()
            .filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
            .collect::<Vec<_>>()
    };
    let upload = uses("github/codeql-action/upload-sarif@");
    assert_eq!(upload.len(), 1);
    assert!(
        upload[0]["with"].get("category").is_none(),
        "the file sets it"
    );
    assert!(
        uses("aws-actions/configure-aws-credentials@")[0]["with"]["role-to-assume"].is_string()
    );
    assert!(!uses("actions/download-artifact@").is_empty());
    let text = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert!(
        text(&github).contains("id-token: write")
            && text(&github).contains("security-events: write")
    );
    // GitLab: the JUnit files as the job's test report, OIDC credentials.
    let jobs: Vec<&Value> = gl
        .as_object()
        .unwrap()
        .values()
        .filter(|j| j.get("script").is_some())
        .collect();
    assert!(
        jobs.iter()
            .any(|j| j["artifacts"]["reports"]["junit"].is_string()),
        "{gl}"
    );
    assert!(jobs.iter().any(|j| j.get("id_tokens").is_some()), "{gl}");

    // No keys in the files: credentials come from OIDC.
    assert_no_keys(&github);
    assert_no_keys(&gitlab);

    // Every cloudkestrel command uses options its --help lists, with valid values.
    let seen = commands_in(&[gh, gl]);
    assert_real_options(&seen);
    let has = |sub: &str, words: &[&str]| {
        seen.iter()
            .any(|(s, a)| s == sub && words.iter().all(|w| a.iter().any(|x| x.contains(w))))
    };
    assert!(has("collect", &[]), "{seen:?}");
    assert!(
        has("evaluate", &["--baseline", "--fail-on", "new", "sarif"]),
        "{seen:?}"
    );
    assert!(
        has("evaluate", &["--baseline", "--fail-on", "new", "junit"]),
        "{seen:?}"
    );
}
