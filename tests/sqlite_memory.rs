//! SQLite's allocations through Rust's allocator (`sqlite_memory`): installed first in
//! this test process, as `main` does, then every snapshot path SQLite allocates for.
//! (A file of its own: the configuration is per process and must come before any other
//! use of SQLite.)

mod common;

use std::path::PathBuf;

use common::as_schema_3;

use cloudkestrel::{fixture, snapshot, sqlite_memory};

#[test]
fn snapshots_round_trip_with_sqlite_on_rusts_allocator() {
    // SAFETY: the only test in this binary: nothing else has used SQLite yet.
    assert!(
        unsafe { sqlite_memory::install() },
        "SQLite must accept the allocator before its first use"
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let account = fixture::load(&root.join("fixtures/demo-account.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Many snapshots, written and read from several threads at once.
    std::thread::scope(|s| {
        for t in 0..4 {
            let (dir, account) = (dir.path(), &account);
            s.spawn(move || {
                for i in 0..25 {
                    let path = dir.join(format!("t{t}-{i}.sqlite"));
                    snapshot::write(&path, account).unwrap();
                    assert_eq!(&snapshot::read(&path).unwrap(), account);
                }
            });
        }
    });
    // The shipped example, and an unsealed older schema, upgraded in the writable
    // in-memory copy.
    let shipped = root.join("snapshots/demo/2026-11-27T08-00-00Z.sqlite");
    assert_eq!(snapshot::read(&shipped).unwrap(), account);
    let mut bytes = std::fs::read(&shipped).unwrap();
    bytes.truncate(bytes.len() - snapshot::seal::LEN);
    let v3 = dir.path().join("v3.sqlite");
    std::fs::write(&v3, as_schema_3(&bytes, &dir.path().join("scratch.sqlite"))).unwrap();
    assert_eq!(snapshot::read(&v3).unwrap(), account);
    // SAFETY: every thread above has finished.
    assert!(
        !unsafe { sqlite_memory::install() },
        "once SQLite is initialised it keeps its configuration"
    );
}
