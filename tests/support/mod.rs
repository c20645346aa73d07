//! What the end-to-end tests share: running the binary, the demo account, and (in
//! submodules) the moto server's helpers and the fault-injecting proxy.
// Each test binary uses some of these.
#![allow(dead_code)]

pub mod campaign;
pub mod examples;
pub mod fault_proxy;
pub mod moto;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn ck(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloudkestrel"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A work dir with the demo snapshot imported under snapshots/demo/.
pub fn demo_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = root().join("fixtures/demo-account.json");
    let out = dir
        .path()
        .join("snapshots/demo/2026-11-27T08-00-00Z.sqlite");
    let o = ck(
        dir.path(),
        &[
            "snapshot",
            "import",
            fixture.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::copy(
        root().join("targets.example.json"),
        dir.path().join("targets.json"),
    )
    .unwrap();
    dir
}

/// `cloudkestrel snapshot import FIXTURE --out OUT` in `dir`.
pub fn import(dir: &Path, fixture: &Path, out: &str) -> Output {
    ck(
        dir,
        &[
            "snapshot",
            "import",
            fixture.to_str().unwrap(),
            "--out",
            out,
        ],
    )
}

/// The demo fixture as JSON, to derive variants from.
pub fn demo_fixture() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/demo-account.json")).unwrap(),
    )
    .unwrap()
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}
