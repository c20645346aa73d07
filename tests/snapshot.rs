//! The snapshot store: round trips, schema upgrades, and refusing what it cannot trust.

use std::path::{Path, PathBuf};

use cloudkestrel::snapshot::{self, schema, seal, SnapshotError};
use cloudkestrel::{fixture, model::Section};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo() -> cloudkestrel::model::Account {
    fixture::load(&root().join("fixtures/demo-account.json")).unwrap()
}

#[test]
fn fixture_round_trips_through_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/s.sqlite");
    let account = demo();
    snapshot::write(&path, &account).unwrap();
    assert_eq!(snapshot::read(&path).unwrap(), account);
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn shipped_example_snapshot_loads_and_matches_its_fixture() {
    let shipped = root().join("snapshots/demo/2026-11-27T08-00-00Z.sqlite");
    let account =
        snapshot::read(&shipped).expect("the example snapshot must load with the current schema");
    assert_eq!(
        account,
        demo(),
        "snapshots/demo is out of date: rebuild it with the command in the README"
    );
    let conn = rusqlite::Connection::open(&shipped).unwrap();
    assert_eq!(
        schema::user_version(&conn).unwrap(),
        schema::CURRENT_VERSION
    );
}

#[test]
fn an_old_schema_file_is_upgraded_in_memory_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.sqlite");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        schema::migrate_to(&mut conn, 1).unwrap();
        conn.execute_batch(
            "INSERT INTO snapshot_info VALUES ('old', '111122223333', 'arn:aws:iam::111122223333:user/a', '2025-01-01T00:00:00Z', '0.0.1');
             INSERT INTO iam_users VALUES ('alice', 'arn:aws:iam::111122223333:user/alice', 'AIDA1', '/', '2024-01-01T00:00:00Z', NULL);
             INSERT INTO problems VALUES ('iam_credential_report', 'iam:GetCredentialReport', 'AccessDenied', 'denied');",
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let account = snapshot::read(&path).unwrap();
    assert_eq!(account.metadata.target, "old");
    assert_eq!(account.iam.users[0].name, "alice");
    assert_eq!(account.problems.len(), 1);
    assert_eq!(account.problems[0].section, Section::IamCredentialReport);
    assert_eq!(account.problems[0].resource, None);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "an archived snapshot must not be modified"
    );
}

fn expect_refused(path: &Path, what: &str) -> SnapshotError {
    match snapshot::read(path) {
        Ok(_) => panic!("{what} was accepted"),
        Err(e) => e,
    }
}

/// The schema version in a snapshot's bytes (SQLite's `user_version`, offset 60).
fn set_user_version(bytes: &mut [u8], version: u32) {
    bytes[60..64].copy_from_slice(&version.to_be_bytes());
}

/// A snapshot's bytes without their seal.
fn unsealed(bytes: &[u8]) -> Vec<u8> {
    assert_eq!(&bytes[bytes.len() - seal::LEN..][..8], &seal::MAGIC);
    bytes[..bytes.len() - seal::LEN].to_vec()
}

/// The demo account written as a snapshot at `path`, and that file's bytes without
/// their seal (to edit and write back).
fn demo_unsealed(path: &Path) -> Vec<u8> {
    snapshot::write(path, &demo()).unwrap();
    unsealed(&std::fs::read(path).unwrap())
}

fn sealed(mut content: Vec<u8>) -> Vec<u8> {
    let s = seal::seal(&content);
    content.extend_from_slice(&s);
    content
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.sqlite");
    let mut content = demo_unsealed(&path);
    set_user_version(&mut content, 99);
    // Sealed (as a later release would) and not: the version is what is reported.
    for bytes in [sealed(content.clone()), content] {
        std::fs::write(&path, bytes).unwrap();
        let e = expect_refused(&path, "a newer schema");
        assert!(
            matches!(e, SnapshotError::NewerSchema { found: 99, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("upgrade cloudkestrel"), "{e}");
    }
}

/// Schema 4 seals snapshots: one changed byte anywhere, even inside a stored value
/// where SQLite's own checks cannot see it, a cut-off seal, or a change made with
/// SQLite itself, and the snapshot is refused.
#[test]
fn a_sealed_snapshot_with_any_byte_changed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.sqlite");
    snapshot::write(&good, &demo()).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    assert!(snapshot::read(&good).is_ok());

    // A user's name, changed by one letter inside the stored value.
    let name = b"alice";
    let at = bytes
        .windows(name.len())
        .position(|w| w == name)
        .expect("the demo account has a user alice");
    let mut renamed = bytes.clone();
    renamed[at] = b'A';
    let path = dir.path().join("renamed.sqlite");
    std::fs::write(&path, &renamed).unwrap();
    let e = expect_refused(&path, "a value changed inside the file");
    assert!(matches!(e, SnapshotError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("checksum"), "{e}");
    // The same change is invisible to SQLite: the unsealed file passes its check.
    let plain = dir.path().join("plain.sqlite");
    std::fs::write(&plain, unsealed(&renamed)).unwrap();
    let check: String = rusqlite::Connection::open(&plain)
        .unwrap()
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");

    // The seal cut off: a schema-4 snapshot without one is refused.
    std::fs::write(&path, unsealed(&bytes)).unwrap();
    let e = expect_refused(&path, "a snapshot without its seal");
    assert!(e.to_string().contains("seal"), "{e}");

    // A change made through SQLite (which leaves the seal in place).
    std::fs::write(&path, &bytes).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE iam_users SET name = 'mallory' WHERE name = 'alice'",
            [],
        )
        .unwrap();
    expect_refused(&path, "a snapshot edited with sqlite3");
}

#[test]
fn foreign_corrupt_and_truncated_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    assert!(matches!(
        expect_refused(&other, "a foreign SQLite file"),
        SnapshotError::NotASnapshot { .. }
    ));

    let text = dir.path().join("text.sqlite");
    std::fs::write(
        &text,
        "hello, I am not a database, but I am long enough to look like one maybe",
    )
    .unwrap();
    let e = expect_refused(&text, "a text file");
    assert!(
        matches!(
            e,
            SnapshotError::NotASnapshot { .. } | SnapshotError::Corrupt { .. }
        ),
        "{e}"
    );

    let good = dir.path().join("good.sqlite");
    snapshot::write(&good, &demo()).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    for cut in [100, 4096, bytes.len() / 2, bytes.len() - 4096] {
        let t = dir.path().join(format!("cut{cut}.sqlite"));
        std::fs::write(&t, &bytes[..cut]).unwrap();
        expect_refused(&t, &format!("a file truncated to {cut} bytes"));
    }

    // A page overwritten in the middle.
    let mut damaged = bytes.clone();
    let mid = bytes.len() / 2;
    damaged[mid..mid + 2048].iter_mut().for_each(|b| *b = 0xA5);
    let d = dir.path().join("damaged.sqlite");
    std::fs::write(&d, &damaged).unwrap();
    expect_refused(&d, "a damaged file");

    assert!(matches!(
        expect_refused(&dir.path().join("absent.sqlite"), "a missing file"),
        SnapshotError::NotFound { .. }
    ));
}

/// Whatever page of a snapshot is damaged, and however (overwritten, zeroed, one byte
/// flipped in its header), reading it either fails or gives back exactly the account
/// that was written: a damaged file never yields different data, so never a different
/// verdict. A sealed snapshot (schema 4) is always refused; an unsealed one (schemas 1
/// to 3, checked by SQLite's `quick_check`) is refused whenever the damage touches
/// what it holds.
#[test]
fn a_damaged_page_never_reads_as_different_data() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.sqlite");
    let account = demo();
    snapshot::write(&good, &account).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    // The same file as schema 3 wrote it: no seal (the tables did not change).
    let mut v3 = unsealed(&bytes);
    set_user_version(&mut v3, 3);
    let v3_path = dir.path().join("v3.sqlite");
    std::fs::write(&v3_path, &v3).unwrap();
    assert_eq!(snapshot::read(&v3_path).unwrap(), account);

    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    let page_size = if page_size == 1 { 65536 } else { page_size };
    let pages = v3.len() / page_size;
    assert!(pages > 3, "{pages} pages");
    for (label, file) in [("sealed", &bytes), ("schema 3", &v3)] {
        let mut refused = 0;
        for page in 0..pages {
            let start = page * page_size;
            // Page 1 starts with the 100-byte file header; its b-tree header follows.
            let header = if page == 0 { start + 100 } else { start };
            let damages: [(&str, std::ops::Range<usize>, Option<u8>); 3] = [
                ("overwritten", start..start + page_size, Some(0xA5)),
                ("zeroed", header..start + page_size, Some(0)),
                ("header byte flipped", header..header + 1, None),
            ];
            for (how, range, fill) in damages {
                let mut damaged = file.clone();
                match fill {
                    Some(v) => damaged[range].fill(v),
                    None => damaged[range].iter_mut().for_each(|b| *b ^= 0xFF),
                }
                let path = dir
                    .path()
                    .join(format!("p{page}-{}.sqlite", how.replace(' ', "_")));
                std::fs::write(&path, &damaged).unwrap();
                match snapshot::read(&path) {
                    Err(_) => refused += 1,
                    Ok(read) => assert_eq!(
                        read, account,
                        "{label}: page {page} {how}: read as different data"
                    ),
                }
            }
        }
        if label == "sealed" {
            assert_eq!(refused, pages * 3, "{label}: every damaged file is refused");
        } else {
            // Most damage must be seen (pages of tables that hold data).
            assert!(
                refused * 2 > pages * 3,
                "{label}: only {refused} of {} damaged files refused",
                pages * 3
            );
        }
    }
}

/// A policy attached to a principal the snapshot does not hold, or to an unknown kind
/// of principal, is refused, never dropped: dropped, it could make a user look
/// policy-free. (Written into an unsealed schema-3 file, the only kind SQLite's own
/// edits leave readable.)
#[test]
fn orphan_policies_and_memberships_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut v3 = demo_unsealed(&dir.path().join("good.sqlite"));
    set_user_version(&mut v3, 3);
    for (what, sql) in [
        (
            "an unknown principal type",
            "INSERT INTO iam_policy_attachments VALUES ('arn:aws:iam::aws:policy/AdministratorAccess', 'robot', 'alice')",
        ),
        (
            "a policy of a user that is not there",
            "INSERT INTO iam_policy_attachments VALUES ('arn:aws:iam::aws:policy/AdministratorAccess', 'user', 'nobody')",
        ),
        (
            "an inline policy of a group that is not there",
            "INSERT INTO iam_inline_policies VALUES ('group', 'ghosts', 'p', '{}')",
        ),
        (
            "a membership of a user that is not there",
            "INSERT INTO iam_group_members VALUES ('DevOps', 'nobody')",
        ),
    ] {
        let path = dir.path().join("orphan.sqlite");
        std::fs::write(&path, &v3).unwrap();
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute(sql, [])
            .unwrap();
        let e = expect_refused(&path, what);
        assert!(matches!(e, SnapshotError::Corrupt { .. }), "{what}: {e}");
    }
}
