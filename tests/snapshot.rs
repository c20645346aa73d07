//! The snapshot store: round trips, schema upgrades, and refusing what it cannot trust.

mod common;

use cloudkestrel::model::Section;
use cloudkestrel::snapshot::{self, schema, SnapshotError};
use common::*;

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

/// What a file that is not a readable snapshot is called, by `read` and by
/// `peek_target` (which `evaluate` uses on snapshots given as arguments) alike: the
/// message says what the user can do.
#[test]
fn each_kind_of_unreadable_file_gets_its_own_message() {
    const DAMAGED: &str =
        "the file is truncated or damaged: re-collect or restore it from the archive";
    const NOT_OURS: &str = "not a CloudKestrel snapshot";
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.sqlite");
    snapshot::write(&good, &demo()).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let file = |name: &str, content: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    };

    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let mut damaged = bytes.clone();
    let mid = bytes.len() / 2;
    damaged[mid..mid + 2048].fill(0xA5);
    let mut flipped = bytes.clone();
    flipped[200] ^= 1;
    let cases: Vec<(&str, std::path::PathBuf, &str, &str)> = vec![
        (
            "SQLite from another program",
            other,
            NOT_OURS,
            "the file is SQLite but was not written by cloudkestrel",
        ),
        (
            "a text file",
            file(
                "text.sqlite",
                b"hello, I am not a database, but I am long enough to look like one maybe",
            ),
            NOT_OURS,
            "not an SQLite database",
        ),
        (
            "a short text file",
            file("short.sqlite", b"hello"),
            NOT_OURS,
            "not an SQLite database",
        ),
        (
            "an empty file",
            file("empty.sqlite", b""),
            DAMAGED,
            "the file is empty",
        ),
        (
            "cut inside the header",
            file("cut50.sqlite", &bytes[..50]),
            DAMAGED,
            "cut inside the 100-byte SQLite header",
        ),
        (
            "cut after the header",
            file("cut100.sqlite", &bytes[..100]),
            DAMAGED,
            "cut short: its header counts",
        ),
        (
            "cut at a page",
            file("cut4096.sqlite", &bytes[..4096]),
            DAMAGED,
            "cut short",
        ),
        (
            "cut in half",
            file("half.sqlite", &bytes[..bytes.len() / 2]),
            DAMAGED,
            "cut short",
        ),
        (
            "its seal cut off",
            file("noseal.sqlite", &unsealed(&bytes)),
            DAMAGED,
            "end with a seal and this one has none",
        ),
        (
            "a page overwritten",
            file("damaged.sqlite", &damaged),
            DAMAGED,
            "checksum does not match",
        ),
        (
            "one bit flipped",
            file("flipped.sqlite", &flipped),
            DAMAGED,
            "checksum does not match",
        ),
        (
            "a directory",
            dir.path().join("dir.sqlite"),
            "a directory, not a snapshot file",
            "",
        ),
        (
            "a missing file",
            dir.path().join("absent.sqlite"),
            "no such snapshot file",
            "",
        ),
    ];
    std::fs::create_dir(dir.path().join("dir.sqlite")).unwrap();
    for (what, path, says, why) in &cases {
        let e = expect_refused(path, what).to_string();
        assert!(e.contains(says) && e.contains(why), "{what}: {e}");
        if *says != NOT_OURS {
            assert!(!e.contains(NOT_OURS), "{what}: {e}");
        }
        if *says != DAMAGED {
            assert!(!e.contains("truncated"), "{what}: {e}");
        }
        // The quick look says the same, except where only the seal tells (it is not
        // checked there: `read` refuses those files when they are evaluated).
        match snapshot::peek_target(path) {
            Ok(target) => {
                assert!(
                    why.contains("seal") || why.contains("checksum"),
                    "{what}: peeked {target}"
                );
            }
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains(says), "{what}: peek: {e}");
            }
        }
    }
    assert!(matches!(
        expect_refused(&dir.path().join("dir.sqlite"), "a directory"),
        SnapshotError::NotAFile { .. }
    ));

    // On the command line: exit 3 and the same messages.
    for (what, path, says, _) in &cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cloudkestrel"))
            .current_dir(dir.path())
            .arg("evaluate")
            .arg(path)
            .arg("--targets")
            .arg(root().join("targets.example.json"))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(3), "{what}: {text}");
        assert!(text.contains(says), "{what}: {text}");
    }
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
    // The same account as schema 3 wrote it: no seal, none of schema 5's columns.
    let v3 = as_schema_3(&unsealed(&bytes), &dir.path().join("scratch.sqlite"));
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
    let v3 = as_schema_3(
        &demo_unsealed(&dir.path().join("good.sqlite")),
        &dir.path().join("scratch.sqlite"),
    );
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
        assert!(matches!(e, SnapshotError::Invalid { .. }), "{what}: {e}");
    }
}

/// `evaluate FILE` of a damaged file is a damaged snapshot (exit 3, "truncated or
/// damaged"), even when the damage is in the target name it holds: the name was read
/// without the seal, named no target, and the run was a usage error (exit 2). A name
/// that is really no target's, in an intact file, is still a usage error.
#[test]
fn evaluate_file_with_a_damaged_target_name_is_a_damaged_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("targets.example.json"),
        dir.path().join("targets.json"),
    )
    .unwrap();
    let path = dir.path().join("s.sqlite");
    snapshot::write(&path, &demo()).unwrap();
    let good = std::fs::read(&path).unwrap();
    let at = good.windows(6).position(|w| w == b"demo12").unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cloudkestrel"))
            .current_dir(dir.path())
            .arg("evaluate")
            .args(args)
            .output()
            .unwrap()
    };
    let mut bytes = good.clone();
    bytes[at + 1] = b'X';
    std::fs::write(&path, &bytes).unwrap();
    for args in [&["s.sqlite"][..], &["s.sqlite", "s.sqlite"]] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.contains("the file is truncated or damaged: re-collect or restore it"),
            "{err}"
        );
    }
    // The same name, sealed again: data, not damage.
    let content = unsealed(&bytes);
    std::fs::write(&path, sealed(content)).unwrap();
    let out = run(&["s.sqlite"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("this snapshot is of target \"dXmo\""), "{err}");
    // An intact file given twice is a usage error too.
    std::fs::write(&path, &good).unwrap();
    let out = run(&["s.sqlite", "s.sqlite"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A damaged page where `evaluate FILE` reads the target name (without the seal) is
/// called damaged, not "refused: … written by another program" (SQLite's "malformed"
/// there read as content; found by the snapshot campaign).
#[test]
fn a_damaged_name_page_is_called_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    snapshot::write(&path, &demo()).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(6).position(|w| w == b"demo12").unwrap();
    let page = at / 4096 * 4096;
    bytes[page..page + 4096].fill(0xa5);
    std::fs::write(&path, &bytes).unwrap();
    let e = snapshot::peek_target(&path).unwrap_err();
    assert!(matches!(e, SnapshotError::Corrupt { .. }), "{e}");
}
