//! Helpers shared by the snapshot tests: the demo account, and snapshot files edited
//! byte by byte or with SQLite, sealed again or not.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cloudkestrel::snapshot::{self, seal, SnapshotError};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn demo() -> cloudkestrel::model::Account {
    cloudkestrel::fixture::load(&root().join("fixtures/demo-account.json")).unwrap()
}

pub fn expect_refused(path: &Path, what: &str) -> SnapshotError {
    match snapshot::read(path) {
        Ok(_) => panic!("{what} was accepted"),
        Err(e) => e,
    }
}

/// The schema version in a snapshot's bytes (SQLite's `user_version`, offset 60).
pub fn set_user_version(bytes: &mut [u8], version: u32) {
    bytes[60..64].copy_from_slice(&version.to_be_bytes());
}

/// A snapshot's bytes without their seal.
pub fn unsealed(bytes: &[u8]) -> Vec<u8> {
    assert_eq!(&bytes[bytes.len() - seal::LEN..][..8], &seal::MAGIC);
    bytes[..bytes.len() - seal::LEN].to_vec()
}

/// The demo account written as a snapshot at `path`, and that file's bytes without
/// their seal (to edit and write back).
pub fn demo_unsealed(path: &Path) -> Vec<u8> {
    snapshot::write(path, &demo()).unwrap();
    unsealed(&std::fs::read(path).unwrap())
}

pub fn sealed(mut content: Vec<u8>) -> Vec<u8> {
    let s = seal::seal(&content);
    content.extend_from_slice(&s);
    content
}

/// The demo snapshot at `path`, edited with `sql` through SQLite and sealed again: the
/// file is intact as a file, so what refuses it is the reader's check of its content.
pub fn demo_edited(path: &Path, sql: &str) {
    let content = demo_unsealed(path);
    std::fs::write(path, content).unwrap();
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let edited = std::fs::read(path).unwrap();
    std::fs::write(path, sealed(edited)).unwrap();
}

/// A snapshot's unsealed bytes turned into what schema 3 wrote: no seal, and without
/// what later schemas added (schema 5's recorder columns). `scratch` is a file to use.
pub fn as_schema_3(content: &[u8], scratch: &Path) -> Vec<u8> {
    std::fs::write(scratch, content).unwrap();
    let conn = rusqlite::Connection::open(scratch).unwrap();
    conn.execute_batch(
        "DROP TABLE config_recorder_types;
         ALTER TABLE config_recorders DROP COLUMN recording_strategy;
         ALTER TABLE snapshot_info DROP COLUMN account_name;
         PRAGMA user_version = 3;
         VACUUM;",
    )
    .unwrap();
    drop(conn);
    std::fs::read(scratch).unwrap()
}
