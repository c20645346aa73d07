//! What the tests against moto share: the server's address, seeding accounts through the
//! AWS API (tests/moto/seed.py), running the binary, reading reports.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn endpoint() -> String {
    std::env::var("CLOUDKESTREL_MOTO_ENDPOINT").expect(
        "CLOUDKESTREL_MOTO_ENDPOINT is not set: run the tests with scripts/test, which starts a moto server",
    )
}

pub fn python() -> PathBuf {
    std::env::var_os("CLOUDKESTREL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

/// A fresh 12-digit account id for this test run.
pub fn account_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!(
        "{:012}",
        (base / 1000 * 10 + n) % 900_000_000_000 + 100_000_000_000
    )
}

pub struct Keys {
    pub id: String,
    pub secret: String,
}

pub fn seed(account: &str, scenario: &str, extra: &[&str]) -> Keys {
    let v = seed_json(account, scenario, extra);
    Keys {
        id: v["access_key_id"].as_str().unwrap().to_string(),
        secret: v["secret_access_key"].as_str().unwrap().to_string(),
    }
}

/// What seed.py printed: the auditor's keys, and what the scenario returns (an
/// organization's members and units).
pub fn seed_json(account: &str, scenario: &str, extra: &[&str]) -> Value {
    let out = Command::new(python())
        .arg(root().join("tests/moto/seed.py"))
        .args(["--endpoint", &endpoint(), "--account", account])
        .args(extra)
        .arg(scenario)
        .output()
        .expect("python runs (scripts/test creates .venv)");
    assert!(
        out.status.success(),
        "seeding {scenario} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn ck(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudkestrel"));
    cmd.current_dir(dir)
        .stdin(std::process::Stdio::null())
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// `ck` against the test's moto server, in us-east-1, with one attempt per request.
pub fn ck_moto(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let ep = endpoint();
    let mut all = args.to_vec();
    all.extend([
        "--endpoint-url",
        &ep,
        "--region",
        "us-east-1",
        "--max-attempts",
        "1",
    ]);
    ck(dir, &all, env)
}

pub fn report(dir: &Path, target: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("reports/{target}.json"))).unwrap(),
    )
    .unwrap()
}

pub fn status_of(r: &Value, rule: &str, check: &str, resource_name: &str) -> String {
    let hits: Vec<&Value> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["rule"] == rule && x["check"] == check && x["resource_name"] == resource_name)
        .collect();
    assert_eq!(hits.len(), 1, "{rule} {check} {resource_name}: {hits:?}");
    hits[0]["status"].as_str().unwrap().to_string()
}

pub fn message_of(r: &Value, rule: &str, check: &str, resource_name: &str) -> String {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == rule && x["check"] == check && x["resource_name"] == resource_name)
        .map(|x| x.to_string())
        .unwrap_or_default()
}

pub fn only_snapshot(dir: &Path, target: &str) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join("snapshots").join(target))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}
