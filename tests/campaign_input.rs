//! The fail-closed campaign over the input files (issue 12): seeded mutations of valid
//! targets.json and suppressions files (the shipped ones and the README's), each
//! parsed by the library, and a sample through the binary.
//!
//! The oracle, for every input: no panic, and either an error whose message starts
//! with `file:line:column: ` and holds no raw control or bidi character, or an
//! accepted document that an independent reading ([`J`]: serde_json, every key kept)
//! finds to be one JSON value with no key twice and only known keys, and whose parsed
//! meaning has every value the document gives (nothing dropped, defaulted or changed).
//! Anything else (accepted garbage, an unlocated error, a panic) fails the test, with
//! the input that did it.
//!
//! `CLOUDKESTREL_CAMPAIGN_SCALE=20 cargo test --test campaign_input -- --nocapture`
//! runs twenty times as many inputs.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use cloudkestrel::targets::{self, RuleSpec, Target, Targets};
use cloudkestrel::triage::suppressions;
use cloudkestrel::untrusted;
use support::campaign::{self, Rng, J};
use support::{ck, code, demo_dir, root, stderr, stdout};

/// Inputs a file at the default scale (CI).
const PER_FILE: usize = 10_000;
/// Rejected inputs a file run through the binary.
const THROUGH_BINARY: usize = 25;

/// The ```json blocks of the README that start with `start`.
fn readme_blocks(start: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    readme
        .split("```json\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .filter(|b| b.trim_start().starts_with(start))
        .map(str::to_string)
        .collect()
}

/// What a campaign over one kind of file found.
#[derive(Default)]
struct Tally {
    tried: usize,
    accepted: usize,
    rejected: Vec<Vec<u8>>,
}

/// An error message as the oracle wants it: `file:line:column: `, escaped.
fn located(message: &str, file: &Path) -> Result<(), String> {
    let rest = message
        .strip_prefix(&format!("{}:", file.display()))
        .ok_or("does not start with the file")?;
    let mut parts = rest.splitn(3, ':');
    let line = parts.next().unwrap_or_default();
    let column = parts.next().unwrap_or_default();
    let ok = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n != "0";
    if !ok(line) || !ok(column) || !parts.next().unwrap_or_default().starts_with(' ') {
        return Err("has no line:column".into());
    }
    if message.chars().any(untrusted::is_unsafe) {
        return Err("holds a raw control or bidi character".into());
    }
    Ok(())
}

/// Runs `parse` over every input, counting; panics with the input on a wrong outcome.
fn run<T>(
    what: &str,
    seeds: &[String],
    seed: u64,
    dir: &Path,
    parse: impl Fn(&Path, &str) -> Result<T, String>,
    check: impl Fn(&J, &T) -> Result<(), String>,
) -> Tally {
    let docs: Vec<J> = seeds.iter().map(|s| J::parse(s).unwrap()).collect();
    let fragments: Vec<J> = docs.iter().flat_map(J::fragments).collect();
    let mut keys: Vec<String> = docs.iter().flat_map(J::keys).collect();
    keys.sort();
    keys.dedup();
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    let file = dir.join(what);
    let n = PER_FILE * campaign::scale();
    for i in 0..n {
        let input = if i < seeds.len() {
            seeds[i].clone().into_bytes()
        } else {
            campaign::input(&mut rng, &docs, &fragments, &keys)
        };
        tally.tried += 1;
        let shown = || String::from_utf8_lossy(&input[..input.len().min(3000)]).into_owned();
        // Text goes to the parser; other bytes through a file, as the binary reads it.
        let outcome = catch_unwind(AssertUnwindSafe(|| match std::str::from_utf8(&input) {
            Ok(text) => parse(&file, text),
            Err(_) => {
                std::fs::write(&file, &input).unwrap();
                cloudkestrel::json_input::read(&file)
                    .map_err(|e| e.to_string())
                    .and_then(|text| parse(&file, &text))
            }
        }));
        match outcome {
            Err(_) => panic!("{what} #{i} (seed {seed}) panicked:\n{}", shown()),
            Ok(Err(message)) => {
                if let Err(why) = located(&message, &file) {
                    panic!(
                        "{what} #{i}: the error {why}: {message:?}\ninput:\n{}",
                        shown()
                    );
                }
                if tally.rejected.len() < 2000 {
                    tally.rejected.push(input);
                }
            }
            Ok(Ok(parsed)) => {
                let text = std::str::from_utf8(&input).expect("accepted text is UTF-8");
                let doc = J::parse(text).unwrap_or_else(|e| {
                    panic!("{what} #{i}: accepted what is not JSON ({e}):\n{}", shown())
                });
                if doc.has_duplicate_key() {
                    panic!("{what} #{i}: accepted a key written twice:\n{}", shown());
                }
                if let Err(why) = check(&doc, &parsed) {
                    panic!("{what} #{i}: accepted, but {why}:\ninput:\n{}", shown());
                }
                tally.accepted += 1;
            }
        }
    }
    tally
}

/// `keys` of `obj` are all in `known`; the value is an object.
fn only_keys<'a>(v: &'a J, known: &[&str], at: &str) -> Result<&'a [(String, J)], String> {
    let J::Obj(kv) = v else {
        return Err(format!("{at} is not an object"));
    };
    match kv.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        Some((k, _)) => Err(format!("{at} has the unknown key {k:?}")),
        None => Ok(kv),
    }
}

fn string(v: Option<&J>) -> Result<Option<String>, String> {
    match v {
        None => Ok(None),
        Some(J::Str(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{other:?} read as a string")),
    }
}

fn strings(v: Option<&J>) -> Result<Vec<String>, String> {
    match v {
        None => Ok(Vec::new()),
        Some(J::Arr(a)) => a
            .iter()
            .map(|x| string(Some(x)).map(Option::unwrap))
            .collect(),
        Some(other) => Err(format!("{other:?} read as a list of strings")),
    }
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, given: T, parsed: T) -> Result<(), String> {
    if given == parsed {
        Ok(())
    } else {
        Err(format!(
            "{what}: the file says {given:?}, parsed {parsed:?}"
        ))
    }
}

/// One rule of the file against its spec.
fn check_rule(v: &J, spec: &RuleSpec) -> Result<(), String> {
    let J::Obj(kv) = v else {
        return Err("a rule is not an object".into());
    };
    let [(kind, body)] = kv.as_slice() else {
        return Err("a rule has not exactly one key".into());
    };
    let known: &[&str] = match kind.as_str() {
        "Policy" => &["Name", "Params", "Source_IPs", "IgnoreUsers", "Severity"],
        "Config" => &[
            "Name",
            "Severity",
            "AddIfMissing",
            "IgnoreUsers",
            "Parameters",
            "Options",
        ],
        "Setup" => &["Name", "Severity", "Options"],
        other => return Err(format!("rule kind {other:?}")),
    };
    only_keys(body, known, kind)?;
    let meta = spec.rule.meta();
    same("kind", kind.as_str(), meta.kind.as_str())?;
    same(
        "name",
        string(body.get("Name"))?,
        Some(meta.name.to_string()),
    )?;
    let severity = string(body.get("Severity"))?;
    same(
        "severity",
        severity.as_deref(),
        spec.severity.map(|s| s.as_str()),
    )?;
    same(
        "IgnoreUsers",
        strings(body.get("IgnoreUsers"))?,
        spec.ignore_users.clone(),
    )?;
    let add = match body.get("AddIfMissing") {
        None => false,
        Some(J::Bool(b)) => *b,
        Some(other) => return Err(format!("AddIfMissing {other:?}")),
    };
    same("AddIfMissing", add, spec.add_if_missing)?;
    let mut ips = strings(body.get("Source_IPs"))?;
    if let Some(J::Arr(params)) = body.get("Params") {
        for p in params {
            for (_, v) in only_keys(p, &["PARAM_1_SOURCE_IP"], "Params")? {
                ips.extend(strings(Some(v))?);
            }
        }
    }
    same("source IPs", ips, spec.source_ips.clone())?;
    for (section, parsed) in [("Parameters", &spec.parameters), ("Options", &spec.options)] {
        let given: Vec<&str> = match body.get(section) {
            None => Vec::new(),
            Some(J::Obj(kv)) => kv.iter().map(|(k, _)| k.as_str()).collect(),
            Some(other) => return Err(format!("{section} {other:?}")),
        };
        same(section, given.len(), parsed.len())?;
        for (k, v) in parsed {
            if !given.contains(&k.as_str()) || v.trim().is_empty() {
                return Err(format!("{section}.{k} = {v:?} is not what the file says"));
            }
        }
    }
    Ok(())
}

/// One target of the file against its parsed form.
fn check_target(v: &J, t: &Target) -> Result<(), String> {
    let known = [
        "Credentials",
        "Profile",
        "RoleArn",
        "ExternalId",
        "Regions",
        "Rules",
        "Organization",
    ];
    only_keys(v, &known, &t.name)?;
    let credentials = v.get("Credentials").map(|c| {
        let kv = only_keys(c, &["AwsAccessKeyId", "AwsSecretAccessKey"], "Credentials")?;
        Ok::<_, String>((
            string(c.get("AwsAccessKeyId"))?,
            string(c.get("AwsSecretAccessKey"))?,
            kv.len(),
        ))
    });
    let parsed = t.credentials.as_ref().map(|c| {
        (
            Some(c.access_key_id_var.clone()),
            Some(c.secret_access_key_var.clone()),
            2,
        )
    });
    same("Credentials", credentials.transpose()?, parsed)?;
    same("Profile", string(v.get("Profile"))?, t.profile.clone())?;
    let role = string(v.get("RoleArn"))?.map(|arn| (arn, string(v.get("ExternalId")).unwrap()));
    let parsed_role = t
        .roles
        .first()
        .map(|r| (r.arn.clone(), r.external_id.clone()));
    same("RoleArn", role, parsed_role)?;
    same("Regions", strings(v.get("Regions"))?, t.regions.clone())?;
    let Some(J::Arr(rules)) = v.get("Rules") else {
        return Err("Rules is not a list".into());
    };
    let setup_added = !rules.iter().any(|r| r.get("Setup").is_some());
    same(
        "rule count",
        rules.len() + usize::from(setup_added),
        t.rules.len(),
    )?;
    for (r, spec) in rules.iter().zip(&t.rules) {
        check_rule(r, spec)?;
    }
    Ok(())
}

fn check_targets(doc: &J, parsed: &Targets) -> Result<(), String> {
    let top = only_keys(doc, &["Targets"], "the document")?;
    same("top-level keys", top.len(), 1)?;
    let Some(J::Arr(groups)) = doc.get("Targets") else {
        return Err("Targets is not a list".into());
    };
    let mut count = 0;
    for group in groups {
        let J::Obj(entries) = group else {
            return Err("a Targets element is not an object".into());
        };
        for (name, v) in entries {
            count += 1;
            if let Some(o) = v.get("Organization") {
                let org = parsed.organizations.iter().find(|x| &x.name == name);
                let org = org.ok_or(format!("organization entry {name:?} is gone"))?;
                check_target(v, &org.access)?;
                let known = [
                    "RoleName",
                    "ExternalId",
                    "OrganizationalUnits",
                    "Accounts",
                    "ExcludeAccounts",
                ];
                only_keys(o, &known, "Organization")?;
                same(
                    "RoleName",
                    string(o.get("RoleName"))?,
                    Some(org.role_name.clone()),
                )?;
                same(
                    "ExternalId",
                    string(o.get("ExternalId"))?,
                    org.external_id.clone(),
                )?;
                for (key, list) in [
                    ("OrganizationalUnits", &org.units),
                    ("Accounts", &org.accounts),
                    ("ExcludeAccounts", &org.exclude),
                ] {
                    same(key, strings(o.get(key))?, list.clone())?;
                }
            } else {
                let t = parsed.get(name).ok_or(format!("target {name:?} is gone"))?;
                check_target(v, t)?;
            }
        }
    }
    same(
        "targets",
        count,
        parsed.targets.len() + parsed.organizations.len(),
    )
}

fn check_suppressions(doc: &J, parsed: &suppressions::Suppressions) -> Result<(), String> {
    let top = only_keys(doc, &["Suppressions"], "the document")?;
    same("top-level keys", top.len(), 1)?;
    let Some(J::Arr(list)) = doc.get("Suppressions") else {
        return Err("Suppressions is not a list".into());
    };
    same("suppressions", list.len(), parsed.list.len())?;
    let known = [
        "Rule", "Resource", "Targets", "Check", "Reason", "Expires", "Owner",
    ];
    for (v, s) in list.iter().zip(&parsed.list) {
        only_keys(v, &known, "a suppression")?;
        let rule = string(v.get("Rule"))?.filter(|r| r != "*");
        same("Rule", rule.as_deref(), s.rule)?;
        same(
            "Resource",
            string(v.get("Resource"))?,
            Some(s.resource.clone()),
        )?;
        let targets = v.get("Targets").map(|t| strings(Some(t))).transpose()?;
        same("Targets", targets, s.targets.clone())?;
        same(
            "Check",
            string(v.get("Check"))?.as_deref(),
            s.check.map(|c| c.as_str()),
        )?;
        same(
            "Reason",
            string(v.get("Reason"))?,
            Some(s.applied.reason.clone()),
        )?;
        let expires = s.applied.expires.format("%Y-%m-%d").to_string();
        same("Expires", string(v.get("Expires"))?, Some(expires))?;
        same("Owner", string(v.get("Owner"))?, s.applied.owner.clone())?;
    }
    Ok(())
}

/// The targets the suppressions campaign names: the README's example target, the
/// demo, and an organization entry (whose accounts a suppression may name).
const CONTEXT: &str = r#"{"Targets": [
  {"demo": {"Rules": [{"Policy": {"Name": "Force_MFA"}}]}},
  {"prod": {"Rules": [{"Config": {"Name": "S3_BUCKET_PUBLIC_READ_PROHIBITED"}}]}},
  {"org": {"Organization": {"RoleName": "Audit"}, "Rules": [{"Policy": {"Name": "Force_MFA"}}]}}
]}"#;

/// A richer suppressions file than the README's: every key, globs, an org account.
const SUPPRESSIONS: &str = r#"{"Suppressions": [
  {"Rule": "IAM_USER_MFA_ENABLED", "Resource": "arn:aws:iam::123456789012:user/{ci-*,svc-?}",
   "Targets": ["demo", "org-*", "org-123456789012"], "Check": "local",
   "Reason": "service users, SEC-9", "Expires": "2028-02-29", "Owner": "platform"},
  {"Rule": "*", "Resource": "*", "Reason": "everything, for a day", "Expires": "2027-01-01"}
]}"#;

/// Rejected inputs through the binary (`evaluate` in a demo directory, the input as
/// `name`): exit 2, the error at file:line:column, nothing on stdout, no report.
fn through_binary(name: &str, rejected: &[Vec<u8>], context: Option<&str>) -> usize {
    let dir = demo_dir();
    if let Some(targets) = context {
        std::fs::write(dir.path().join("targets.json"), targets).unwrap();
    }
    let step = (rejected.len() / THROUGH_BINARY).max(1);
    let mut ran = 0;
    for input in rejected.iter().step_by(step).take(THROUGH_BINARY) {
        std::fs::write(dir.path().join(name), input).unwrap();
        let o = ck(dir.path(), &["evaluate"]);
        let err = stderr(&o);
        let shown = String::from_utf8_lossy(input);
        assert_eq!(code(&o), 2, "{err}\ninput:\n{shown}");
        // (The suppressions' context has an organization entry without snapshots,
        // which evaluate also reports.)
        let ours = err
            .lines()
            .filter_map(|l| l.strip_prefix("error: "))
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no error about {name}: {err}\ninput:\n{shown}"));
        located(ours, Path::new(name))
            .unwrap_or_else(|why| panic!("the binary's error {why}: {err}\ninput:\n{shown}"));
        assert!(stdout(&o).is_empty(), "{}", stdout(&o));
        assert!(!dir.path().join("reports").exists(), "{shown}");
        ran += 1;
    }
    ran
}

/// Prints what a campaign tried, and checks that it tried enough of each outcome.
fn tell(what: &str, tally: &Tally, ran: usize, seeds: usize) {
    println!(
        "campaign {what}: {} inputs tried, {} rejected at file:line:column, {} accepted and read exactly; {ran} of the rejected through the binary (exit 2)",
        tally.tried,
        tally.tried - tally.accepted,
        tally.accepted
    );
    assert!(tally.tried >= PER_FILE, "{}", tally.tried);
    assert!(tally.accepted >= seeds && tally.accepted < tally.tried / 2);
    assert_eq!(ran, THROUGH_BINARY);
}

#[test]
fn mutated_targets_files_are_refused_at_a_place_or_read_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut seeds = vec![
        std::fs::read_to_string(root().join("targets.example.json")).unwrap(),
        std::fs::read_to_string(root().join("examples/organizations/targets.json")).unwrap(),
        CONTEXT.to_string(),
    ];
    seeds.extend(readme_blocks("{\n  \"Targets\""));
    assert!(
        seeds.len() >= 4,
        "the README's targets.json example is gone"
    );
    let tally = run(
        "targets.json",
        &seeds,
        12,
        dir.path(),
        |file, text| targets::parse(file, text).map_err(|e| e.to_string()),
        check_targets,
    );
    let ran = through_binary("targets.json", &tally.rejected, None);
    tell("targets.json", &tally, ran, seeds.len());
}

#[test]
fn mutated_suppressions_files_are_refused_at_a_place_or_read_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let context = targets::parse(Path::new("targets.json"), CONTEXT).unwrap();
    let mut seeds = vec![SUPPRESSIONS.to_string()];
    seeds.extend(readme_blocks("{\"Suppressions\""));
    assert!(
        seeds.len() >= 2,
        "the README's suppressions example is gone"
    );
    let tally = run(
        "suppressions.json",
        &seeds,
        13,
        dir.path(),
        |file, text| suppressions::parse(file, text, &context).map_err(|e| e.to_string()),
        check_suppressions,
    );
    let ran = through_binary("suppressions.json", &tally.rejected, Some(CONTEXT));
    tell("suppressions.json", &tally, ran, seeds.len());
}
