//! Leftovers and interruptions (issue 12): what a killed collect left is removed by the
//! next one, and Ctrl-C or SIGTERM stops collect cleanly with exit 130 or 143.
//!
//! The abandoning test stops snapshot writes for this whole test process: no other
//! test here writes a snapshot in-process (the others run the binary).

// Signals and PIDs as POSIX has them.
#![cfg(unix)]

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cloudkestrel::snapshot::{self, SnapshotError};

const TARGETS: &str = r#"{ "Targets": [ { "t": { "Credentials": { "AwsAccessKeyId": "K", "AwsSecretAccessKey": "S" }, "Rules": [ { "Config": { "Name": "IAM_USER_MFA_ENABLED" } } ] } } ] }"#;

/// `cloudkestrel ARGS` in `dir`, with the target's credentials and nothing else of the
/// environment (no AWS profile, no instance metadata).
fn ck(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudkestrel"));
    cmd.current_dir(dir).args(args).env_clear();
    let nowhere = dir.join("nowhere");
    for (k, v) in [
        ("AWS_EC2_METADATA_DISABLED", Path::new("true")),
        ("AWS_CONFIG_FILE", &nowhere),
        ("AWS_SHARED_CREDENTIALS_FILE", &nowhere),
        ("K", Path::new("AKIAEXAMPLEEXAMPLE")),
        ("S", Path::new("secret")),
    ] {
        cmd.env(k, v);
    }
    cmd
}

fn work_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("targets.json"), TARGETS).unwrap();
    dir
}

/// The PID of a process that has exited (and been waited for).
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn collect_removes_the_temporary_files_of_dead_processes_only() {
    let dir = work_dir();
    let snaps = dir.path().join("snapshots/t");
    std::fs::create_dir_all(&snaps).unwrap();
    let dead = dead_pid();
    let alive = std::process::id();
    let stale = format!(".2026-01-01T00-00-00Z.sqlite.tmp-{dead}");
    let kept = [
        // A running process (this test) is writing it.
        format!(".2026-01-01T00-00-00Z.sqlite.tmp-{alive}"),
        // Not exactly the pattern.
        format!(".2026-01-01T00-00-00Z.sqlite.tmp-{dead}.bak"),
        format!(".notes.sqlite.tmp-{dead}"),
        format!("2026-01-01T00-00-00Z.sqlite.tmp-{dead}"),
    ];
    for name in kept.iter().chain([&stale]) {
        std::fs::write(snaps.join(name), "partial").unwrap();
    }
    // A directory with the pattern's name is not a temporary file.
    let directory = format!(".2026-01-02T00-00-00Z.sqlite.tmp-{dead}");
    std::fs::create_dir(snaps.join(&directory)).unwrap();

    // Nobody listens on the endpoint: collect fails fast, and writes its snapshot.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}");
    let args = ["collect", "--endpoint-url", &url, "--region", "us-east-1"];
    let out = ck(dir.path(), &args)
        .args(["--max-attempts", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "removed snapshots/t/{stale}: the temporary file of a collect that did not finish (process {dead} is gone)"
        )),
        "{stdout}"
    );
    let names = names_in(&snaps);
    assert!(!names.contains(&stale), "{names:?}");
    for name in kept.iter().chain([&directory]) {
        assert!(names.contains(name), "{name} was removed: {names:?}");
    }
    // Only those, and the new snapshot.
    assert_eq!(names.len(), kept.len() + 2, "{names:?}");
    assert_eq!(stdout.matches("removed ").count(), 1, "{stdout}");
}

/// An endpoint that accepts connections and never answers; tells `accepted` of each.
fn silent_endpoint() -> (String, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, accepted) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            held.push(stream);
            if tx.send(()).is_err() {
                break;
            }
        }
    });
    (url, accepted)
}

/// Waits (at most `limit`) for the child to exit.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

/// `collect` (or `audit`) waiting on an endpoint that never answers, then `signal`:
/// the exit code and stderr.
fn stopped_by(
    command: &str,
    signal: libc::c_int,
) -> (Option<i32>, String, PathBuf, tempfile::TempDir) {
    let dir = work_dir();
    let (url, accepted) = silent_endpoint();
    let mut child = ck(
        dir.path(),
        &[command, "--endpoint-url", &url, "--region", "us-east-1"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Collect is now waiting for STS's answer.
    accepted
        .recv_timeout(Duration::from_secs(30))
        .expect("collect connects to the endpoint");
    let started = Instant::now();
    // SAFETY: sends a signal to the child this test started and has not waited for.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    let code = wait_at_most(&mut child, Duration::from_secs(10));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let snaps = dir.path().join("snapshots");
    (code, stderr, snaps, dir)
}

#[test]
fn ctrl_c_stops_a_waiting_collect_with_130_and_leaves_nothing() {
    let (code, stderr, snaps, _dir) = stopped_by("collect", libc::SIGINT);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted (SIGINT): collection stopped"),
        "{stderr}"
    );
    // No snapshot was complete, and no temporary file is left.
    let names = names_in(&snaps.join("t"));
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn sigterm_stops_an_audit_with_143_and_evaluates_nothing() {
    let (code, stderr, snaps, dir) = stopped_by("audit", libc::SIGTERM);
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("interrupted (SIGTERM)"), "{stderr}");
    assert!(names_in(&snaps.join("t")).is_empty());
    assert!(!dir.path().join("reports").exists());
}

/// The demo account with `n` users (and their credential report rows): a write that
/// takes long enough to be caught in progress.
fn large_account(n: usize) -> cloudkestrel::model::Account {
    let mut a = common::demo();
    let user = a.iam.users[0].clone();
    let row = a.iam.credential_report[1].clone();
    for i in 0..n {
        let mut u = user.clone();
        u.name = format!("user-{i}");
        let mut r = row.clone();
        r.user = u.name.clone();
        a.iam.users.push(u);
        a.iam.credential_report.push(r);
    }
    a
}

#[test]
fn an_abandoned_write_stops_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s/2026-11-27T08-00-00Z.sqlite");
    let account = large_account(50_000);
    let writing = {
        let path = path.clone();
        std::thread::spawn(move || snapshot::write(&path, &account))
    };
    // Abandon once the temporary file exists.
    let parent = path.parent().unwrap().to_path_buf();
    while names_in(&parent).is_empty() {
        assert!(!writing.is_finished(), "the write ended before it was seen");
        std::thread::sleep(Duration::from_millis(1));
    }
    snapshot::abandon_writes();
    snapshot::wait_for_writes();
    let result = writing.join().unwrap();
    assert!(
        matches!(result, Err(SnapshotError::Interrupted { .. })),
        "{result:?}"
    );
    assert!(names_in(&parent).is_empty(), "{:?}", names_in(&parent));
    // Later writes do not start.
    let later = snapshot::write(&path, &common::demo());
    assert!(
        matches!(later, Err(SnapshotError::Interrupted { .. })),
        "{later:?}"
    );
    assert!(names_in(&parent).is_empty());
}
