//! Every rule has fixture cases under `fixtures/rules/<RULE>/<case>/`:
//! - `account.json`: an account state (the fixture format of `snapshot import`);
//! - `case.json`: `{"description": "...", "rule": {"Config": {...}} or {"Policy": {...}},
//!   "expected": [{"check": "local", "resource_name": "bob", "status": "fail",
//!   "message_contains": "optional", "resource": "optional: the exact ARN",
//!   "scope": "optional: resource or account"}]}`.
//!
//! The account goes through the real snapshot writer and reader, then the rule is
//! evaluated as targets.json would configure it. For every check named in `expected`,
//! the findings of that check must be exactly the expected (resource, status) pairs.
//! Case directory names start with `pass`, `fail` or `error`; every registered rule
//! needs at least one `pass` and one `fail` case.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cloudkestrel::{fixture, rules, snapshot, targets};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    rule: Value,
    expected: Vec<Expected>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    check: String,
    resource_name: String,
    status: String,
    #[serde(default)]
    message_contains: Option<String>,
    /// The exact resource (ARN) the finding must carry.
    #[serde(default)]
    resource: Option<String>,
    /// The scope the finding must have (`resource` or `account`).
    #[serde(default)]
    scope: Option<String>,
}

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules")
}

fn case_dirs(rule: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_root().join(rule))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// The words of a note (see `Finding::note`).
const NOTE_MARKERS: [&str; 6] = [
    "IgnoreUsers",
    "DISAGREEMENT",
    "note:",
    "NOT_APPLICABLE",
    "GetAccountSummary",
    "no evaluation results",
];

/// Runs one case; returns the note markers its findings carry and the account states
/// they say (and `follows` when one follows from another), or a description of what
/// went wrong.
fn run_case(dir: &Path) -> Result<(BTreeSet<&'static str>, BTreeSet<&'static str>), String> {
    let case: Case = serde_json::from_str(
        &std::fs::read_to_string(dir.join("case.json")).map_err(|e| format!("case.json: {e}"))?,
    )
    .map_err(|e| format!("case.json: {e}"))?;
    let account = fixture::load(&dir.join("account.json")).map_err(|e| e.to_string())?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = tmp.path().join("snap.sqlite");
    snapshot::write(&db, &account).map_err(|e| e.to_string())?;
    let account = snapshot::read(&db).map_err(|e| e.to_string())?;
    let target_name = account.metadata.target.clone();
    let targets_json =
        serde_json::json!({ "Targets": [ { target_name.clone(): { "Rules": [case.rule] } } ] });
    let t = targets::parse(Path::new("case.json"), &targets_json.to_string())
        .map_err(|e| e.to_string())?;
    let target = t.get(&target_name).ok_or("target missing")?;
    let findings = rules::evaluate(&account, &target.rules);
    let mut problems = scope_problems(&account, target, &findings);
    let states: BTreeSet<&'static str> = findings
        .iter()
        .filter_map(|f| f.state.map(|s| s.as_str()))
        .chain(
            findings
                .iter()
                .filter(|f| f.cause.is_some())
                .map(|_| "follows"),
        )
        .collect();
    // What a finding's id is made of is unique within a report, in every case.
    let mut keys: Vec<_> = findings
        .iter()
        .map(|f| (f.rule, f.check, f.resource.clone(), f.aspect))
        .collect();
    keys.sort();
    if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("two findings would share an id: {:?}", w[0]));
    }

    let checks: BTreeSet<&str> = case.expected.iter().map(|e| e.check.as_str()).collect();
    let got: BTreeSet<(String, String, String)> = findings
        .iter()
        .filter(|f| checks.contains(f.check.as_str()))
        .map(|f| {
            (
                f.check.as_str().to_string(),
                f.resource_name.to_string(),
                f.status.as_str().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = case
        .expected
        .iter()
        .map(|e| (e.check.clone(), e.resource_name.clone(), e.status.clone()))
        .collect();
    // A finding is flagged as carrying a note exactly when its message writes one.
    let mut markers = BTreeSet::new();
    for f in &findings {
        let written: Vec<&str> = NOTE_MARKERS
            .into_iter()
            .filter(|m| f.message.contains(m))
            .collect();
        let writes_a_note = !written.is_empty();
        if f.note != writes_a_note {
            problems.push(format!(
                "note flag {} for a message with markers {written:?}: {}",
                f.note, f.message
            ));
        }
        markers.extend(written);
    }
    if got != want {
        problems.push(format!(
            "verdicts differ\n  missing: {:?}\n  unexpected: {:?}",
            want.difference(&got).collect::<Vec<_>>(),
            got.difference(&want).collect::<Vec<_>>()
        ));
    }
    for e in &case.expected {
        if let Some(arn) = &e.resource {
            let hit = findings.iter().any(|f| {
                f.check.as_str() == e.check
                    && *f.resource_name == *e.resource_name
                    && *f.resource == **arn
            });
            if !hit {
                problems.push(format!(
                    "no {} finding for {} has the resource {arn:?}",
                    e.check, e.resource_name
                ));
            }
        }
        if let Some(scope) = &e.scope {
            let wrong: Vec<&str> = findings
                .iter()
                .filter(|f| f.check.as_str() == e.check && *f.resource_name == *e.resource_name)
                .map(|f| f.scope.as_str())
                .filter(|s| s != scope)
                .collect();
            if !wrong.is_empty() {
                problems.push(format!(
                    "the {} finding for {} has the scope {wrong:?}, not {scope}",
                    e.check, e.resource_name
                ));
            }
        }
        if let Some(needle) = &e.message_contains {
            let hit = findings.iter().any(|f| {
                f.check.as_str() == e.check
                    && *f.resource_name == *e.resource_name
                    && (f.message.contains(needle.as_str())
                        || f.details.iter().any(|d| d.contains(needle.as_str())))
            });
            if !hit {
                problems.push(format!(
                    "no {} finding for {} mentions {needle:?}",
                    e.check, e.resource_name
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok((markers, states))
    } else {
        let all: Vec<String> = findings
            .iter()
            .map(|f| {
                format!(
                    "  {} {} {} {}: {} {:?}",
                    f.rule,
                    f.check.as_str(),
                    f.status.as_str(),
                    f.resource_name,
                    f.message,
                    f.details
                )
            })
            .collect();
        Err(format!(
            "{} ({})\n{}\nall findings:\n{}",
            dir.display(),
            case.description,
            problems.join("\n"),
            all.join("\n")
        ))
    }
}

/// What every case's findings must hold about scopes, as the report makes them: a
/// result's scope is its check's unless it follows from another result, which then is
/// the same rule's `policy-document` failure of a missing policy, in the report; the
/// summary's counts of each scope are those of its results and add up to the total;
/// the `policy-document` and `deployed` results that are not errors say what they find
/// ([`rules::AccountState`]), and no other does.
fn scope_problems(
    account: &cloudkestrel::model::Account,
    target: &targets::Target,
    findings: &[rules::Finding],
) -> Vec<String> {
    use cloudkestrel::report::{Tally, TargetReport};
    use rules::{AccountState, Check, Scope, Status};
    let order: Vec<&str> = target.rules.iter().map(|r| r.rule.meta().name).collect();
    let report = TargetReport::new(
        target.name.clone(),
        Some(account.metadata.account_id.clone()),
        None,
        "case".into(),
        findings.to_vec(),
        Vec::new(),
        &order,
    );
    let mut problems = Vec::new();
    let mut by_scope = [Tally::default(), Tally::default()];
    for f in &report.results {
        let t = &mut by_scope[usize::from(f.scope == Scope::Account)];
        match f.status {
            Status::Pass => t.pass += 1,
            Status::Fail => t.fail += 1,
            Status::Error => t.error += 1,
        }
        match &f.cause {
            None if f.scope != f.check.scope() => problems.push(format!(
                "{} {}: scope {:?} without a cause",
                f.rule,
                f.check.as_str(),
                f.scope
            )),
            None => {}
            Some(c) => {
                let cause = report.results.iter().find(|x| x.id == c.id());
                let ok = f.scope == Scope::Account
                    && f.check == Check::Attached
                    && f.status == Status::Fail
                    && cause.is_some_and(|x| {
                        x.rule == f.rule
                            && x.check == Check::PolicyDocument
                            && x.status == Status::Fail
                            && x.state == Some(AccountState::PolicyMissing)
                    });
                if !ok {
                    problems.push(format!(
                        "{} {} {}: follows from {cause:?}",
                        f.rule,
                        f.check.as_str(),
                        f.resource_name
                    ));
                }
            }
        }
        let says =
            matches!(f.check, Check::PolicyDocument | Check::Deployed) && f.status != Status::Error;
        if says != f.state.is_some() {
            problems.push(format!(
                "{} {} {}: state {:?}",
                f.rule,
                f.check.as_str(),
                f.status.as_str(),
                f.state
            ));
        }
    }
    let s = report.summary;
    let counts = |t: &Tally| (t.pass, t.fail, t.error);
    if (counts(&s.resource), counts(&s.account)) != (counts(&by_scope[0]), counts(&by_scope[1])) {
        problems.push(format!(
            "summary {s:?} against results by scope {by_scope:?}"
        ));
    }
    if counts(&s.total)
        != (
            s.resource.pass + s.account.pass,
            s.resource.fail + s.account.fail,
            s.resource.error + s.account.error,
        )
    {
        problems.push(format!("the scopes of {s:?} do not add up"));
    }
    problems
}

#[test]
fn every_rule_has_pass_and_fail_fixtures() {
    let mut missing = Vec::new();
    for r in rules::RULES {
        let name = r.meta().name;
        let names: Vec<String> = case_dirs(name)
            .iter()
            .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        for kind in ["pass", "fail"] {
            if !names.iter().any(|n| n.starts_with(kind)) {
                missing.push(format!("{name}: no {kind}* case in fixtures/rules/{name}/"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn fixture_directories_name_registered_rules() {
    for entry in std::fs::read_dir(fixtures_root()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            rules::find(&name).is_some(),
            "fixtures/rules/{name} is not a registered rule"
        );
    }
}

#[test]
fn rule_fixture_cases() {
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut markers = BTreeSet::new();
    let mut states = BTreeSet::new();
    for r in rules::RULES {
        for dir in case_dirs(r.meta().name) {
            ran += 1;
            match run_case(&dir) {
                Ok((m, s)) => {
                    markers.extend(m);
                    states.extend(s);
                }
                Err(e) => failures.push(e),
            }
        }
    }
    // The scopes are checked on every state an account-level result can say.
    assert_eq!(
        states,
        BTreeSet::from([
            "deployed",
            "follows",
            "not deployed",
            "not recorded",
            "policy differs",
            "policy identical",
            "policy missing"
        ])
    );
    assert!(ran >= 20, "only {ran} fixture cases ran");
    // The note flag is checked against every kind of note.
    let unseen: Vec<&str> = NOTE_MARKERS
        .into_iter()
        .filter(|m| !markers.contains(m))
        .collect();
    assert!(unseen.is_empty(), "no fixture writes the notes {unseen:?}");
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
