//! What the tests of the files users copy (examples/ci, examples/organizations, the
//! policies) share: the project venv's Python tools (tests/moto/requirements.txt, which
//! scripts/test installs into .venv), YAML read by PyYAML, and the cloudkestrel command
//! lines of a CI script with their options checked against the binary's `--help`.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::{ck, root, stderr, stdout};

/// A tool of the project venv; missing, the test fails and says how to get it.
pub fn venv_tool(name: &str) -> PathBuf {
    let path = root().join(".venv/bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/test, which installs tests/moto/requirements.txt \
         (check-jsonschema, junitparser, PyYAML, cfn-lint) into .venv",
        path.display()
    );
    path
}

/// Runs a script of tests/ci_formats/ with the venv's Python; its JSON.
pub fn python<S: AsRef<OsStr>>(script: &str, args: &[S]) -> Value {
    let o = Command::new(venv_tool("python"))
        .arg(root().join("tests/ci_formats").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script} failed (if a module is missing, run scripts/test: it installs \
         tests/moto/requirements.txt into .venv):\n{}",
        stderr(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A GitHub Actions workflow is valid by SchemaStore's schema of workflows (vendored
/// in check-jsonschema: no download), and every job has a timeout.
pub fn assert_valid_github_workflow(file: &std::path::Path) {
    for schema in [
        "vendor.github-workflows",
        "custom.github-workflows-require-timeout",
    ] {
        let o = Command::new(venv_tool("check-jsonschema"))
            .args(["--builtin-schema", schema])
            .arg(file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{schema}: {}{}", stdout(&o), stderr(&o));
    }
}

/// Whether `text` holds something shaped like an AWS access key id (AKIA or ASIA and
/// 16 capitals or digits).
pub fn has_access_key_id(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(19)).any(|i| {
        (b[i..].starts_with(b"AKIA") || b[i..].starts_with(b"ASIA"))
            && b[i + 4..i + 20]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    })
}

/// Neither a secret key's name nor an access key id: credentials come from OIDC.
pub fn assert_no_keys(file: &std::path::Path) {
    let t = std::fs::read_to_string(file).unwrap();
    let lower = t.to_ascii_lowercase();
    assert!(
        !lower.contains("secret_access_key") && !lower.contains("secret-access-key"),
        "{}",
        file.display()
    );
    assert!(!has_access_key_id(&t), "{}", file.display());
}

/// Every string of a parsed YAML document.
pub fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The cloudkestrel command lines in a shell script: (subcommand, its words).
pub fn commands(script: &str) -> Vec<(String, Vec<String>)> {
    const SUBCOMMANDS: [&str; 8] = [
        "collect", "audit", "evaluate", "targets", "apply", "rules", "snapshot", "diff",
    ];
    let joined = script.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let Some(sub) = words.get(i + 1) else {
                continue;
            };
            if *w != "cloudkestrel" || !SUBCOMMANDS.contains(sub) {
                continue;
            }
            let args = words[i + 2..]
                .iter()
                .take_while(|a| !["|", "||", "&&", ";", "#", ")"].contains(a))
                .map(|a| a.trim_matches('"').to_string())
                .collect();
            out.push((sub.to_string(), args));
        }
    }
    out
}

/// The cloudkestrel command lines in every string of `docs`.
pub fn commands_in(docs: &[&Value]) -> Vec<(String, Vec<String>)> {
    let mut seen = Vec::new();
    for doc in docs {
        let mut all = Vec::new();
        strings(doc, &mut all);
        all.iter().for_each(|s| seen.extend(commands(s)));
    }
    seen
}

/// The value of option `--name` in a command's words.
pub fn option<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let flag = format!("--{name}");
    args.iter()
        .position(|a| *a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Every option of every command is one its `--help` lists, with a valid value where
/// the values are a closed set.
pub fn assert_real_options(seen: &[(String, Vec<String>)]) {
    for (sub, args) in seen {
        let help = stdout(&ck(&root(), &[sub, "--help"]));
        for (i, a) in args.iter().enumerate() {
            let Some(opt) = a.strip_prefix("--").map(|o| o.split('=').next().unwrap()) else {
                continue;
            };
            let listed = help.match_indices(&format!("--{opt}")).any(|(at, m)| {
                !help[at + m.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '-')
            });
            assert!(listed, "cloudkestrel {sub} has no --{opt}: {help}");
            let value = args.get(i + 1).map(String::as_str).unwrap_or_default();
            match opt {
                "format" => assert!(value
                    .split(',')
                    .all(|f| ["html", "json", "sarif", "junit"].contains(&f))),
                "fail-on" => assert!(["any", "new"].contains(&value)),
                "retry-mode" => assert!(["standard", "adaptive"].contains(&value)),
                _ => {}
            }
        }
    }
}
