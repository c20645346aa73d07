//! SQLite snapshots: the only module that contains SQL.
//!
//! A snapshot is one file per target per collection. [`write`] stores an [`Account`]
//! atomically (temporary file, then rename); [`read`] loads it back, refusing anything
//! that is not a complete CloudKestrel snapshot of a schema this build understands.
//! Older schemas are upgraded in memory, so an archived file is never modified.

pub mod schema;
pub mod seal;

// foldhash, not std's SipHash: hashing was a twentieth of `evaluate` at scale (issue 5).
// Its RandomState is randomly seeded, so account data cannot choose collisions ahead.
use foldhash::{HashMap, HashMapExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use serde_json::Value;

use crate::model::*;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: no such snapshot file")]
    NotFound { path: PathBuf },
    #[error("{path}: not a CloudKestrel snapshot ({reason})")]
    NotASnapshot { path: PathBuf, reason: String },
    #[error("{path}: snapshot schema version {found} is newer than this cloudkestrel understands (up to {supported}); upgrade cloudkestrel to read it")]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{path}: the snapshot is corrupt or truncated: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path}: cannot read the snapshot: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: cannot write snapshot: {reason}")]
    Write { path: PathBuf, reason: String },
}

impl SnapshotError {
    fn corrupt(path: &Path, reason: impl ToString) -> Self {
        SnapshotError::Corrupt {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }

    fn not_a_snapshot(path: &Path, reason: impl ToString) -> Self {
        SnapshotError::NotASnapshot {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// `NotFound` unless `path` is a file.
fn must_be_file(path: &Path) -> Result<(), SnapshotError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(SnapshotError::NotFound {
            path: path.to_path_buf(),
        })
    }
}

fn ts(d: &DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn ts_opt(d: &Option<DateTime<Utc>>) -> Option<String> {
    d.as_ref().map(ts)
}

fn json_text(v: &Value) -> String {
    serde_json::to_string(v).expect("a serde_json::Value always serialises")
}

/// Writes `account` to `path` atomically: a temporary file in the same directory is
/// filled in one transaction, sealed (see [`seal`]), flushed to disk and renamed into
/// place only when complete; the directory is flushed after the rename.
pub fn write(path: &Path, account: &Account) -> Result<(), SnapshotError> {
    let werr = |reason: String| SnapshotError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| werr(e.to_string()))?;
    let file_name = path
        .file_name()
        .ok_or_else(|| werr("not a file path".into()))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| -> rusqlite::Result<()> {
        let mut conn = Connection::open(&tmp)?;
        conn.pragma_update(None, "journal_mode", "MEMORY")?;
        schema::migrate_to(&mut conn, schema::CURRENT_VERSION)?;
        let tx = conn.transaction()?;
        insert_account(&tx, account)?;
        tx.commit()?;
        conn.close().map_err(|(_, e)| e)
    })()
    .map_err(|e| e.to_string())
    .and_then(|()| append_seal(&tmp).map_err(|e| e.to_string()));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(werr(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        werr(e.to_string())
    })?;
    sync_dir(&dir).map_err(|e| {
        werr(format!(
            "{}: cannot flush the directory: {e}",
            dir.display()
        ))
    })
}

/// Flushes a directory, so that a rename into it survives a crash: without it the new
/// snapshot is complete on disk but its name may not be. File systems that cannot sync
/// a directory (they answer "invalid argument" or "unsupported") are taken as they are.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Ends the finished SQLite file with its [`seal`].
fn append_seal(path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let content = std::fs::read(path)?;
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(&seal::seal(&content))?;
    file.sync_all()
}

fn insert_account(tx: &rusqlite::Transaction<'_>, a: &Account) -> rusqlite::Result<()> {
    let m = &a.metadata;
    tx.execute(
        "INSERT INTO snapshot_info VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            m.target,
            m.account_id,
            m.caller_arn,
            ts(&m.collected_at),
            m.tool_version
        ],
    )?;
    for r in &m.regions {
        tx.execute("INSERT OR IGNORE INTO regions VALUES (?1)", [r])?;
    }

    let iam = &a.iam;
    for u in &iam.users {
        tx.execute(
            "INSERT INTO iam_users VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                u.name,
                u.arn,
                u.user_id,
                u.path,
                ts(&u.created),
                u.permissions_boundary
            ],
        )?;
        for g in &u.groups {
            tx.execute(
                "INSERT INTO iam_group_members VALUES (?1, ?2)",
                [g, &u.name],
            )?;
        }
        insert_principal_policies(
            tx,
            "user",
            &u.name,
            &u.attached_policies,
            &u.inline_policies,
        )?;
    }
    for g in &iam.groups {
        tx.execute(
            "INSERT INTO iam_groups VALUES (?1, ?2, ?3)",
            [&g.name, &g.arn, &g.path],
        )?;
        insert_principal_policies(
            tx,
            "group",
            &g.name,
            &g.attached_policies,
            &g.inline_policies,
        )?;
    }
    for r in &iam.roles {
        tx.execute(
            "INSERT INTO iam_roles VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                r.name,
                r.arn,
                r.path,
                r.trust_policy.as_ref().map(json_text),
                r.permissions_boundary
            ],
        )?;
        insert_principal_policies(
            tx,
            "role",
            &r.name,
            &r.attached_policies,
            &r.inline_policies,
        )?;
    }
    for p in &iam.policies {
        tx.execute(
            "INSERT INTO iam_policies (arn, name, path, default_version_id, attachment_count, permissions_boundary_usage_count, policy_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                p.arn,
                p.name,
                p.path,
                p.default_version_id,
                p.attachment_count,
                p.permissions_boundary_usage_count,
                p.policy_id
            ],
        )?;
        for v in &p.versions {
            tx.execute(
                "INSERT INTO iam_policy_versions VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    p.arn,
                    v.version_id,
                    ts_opt(&v.created),
                    v.version_id == p.default_version_id,
                    json_text(&v.document)
                ],
            )?;
        }
    }
    for r in &iam.credential_report {
        let k = |s: &Option<AccessKeySlot>| {
            (
                s.as_ref().map(|k| k.active),
                s.as_ref().map(|k| ts(&k.last_rotated)),
                s.as_ref().and_then(|k| ts_opt(&k.last_used)),
            )
        };
        let (a1, r1, u1) = k(&r.access_key_1);
        let (a2, r2, u2) = k(&r.access_key_2);
        tx.execute(
            "INSERT INTO iam_credential_report VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
            params![
                r.user,
                r.arn,
                ts(&r.user_creation_time),
                r.password_enabled,
                ts_opt(&r.password_last_used),
                ts_opt(&r.password_last_changed),
                r.mfa_active,
                a1,
                r1,
                u1,
                a2,
                r2,
                u2
            ],
        )?;
    }
    for (k, v) in &iam.account_summary {
        tx.execute(
            "INSERT INTO iam_account_summary VALUES (?1, ?2)",
            params![k, v],
        )?;
    }
    if let Some(pp) = &iam.password_policy {
        tx.execute(
            "INSERT INTO iam_password_policy VALUES (?1)",
            [json_text(pp)],
        )?;
    }
    for d in &iam.virtual_mfa_devices {
        tx.execute(
            "INSERT INTO iam_virtual_mfa_devices VALUES (?1, ?2, ?3)",
            params![d.serial_number, d.user_arn, ts_opt(&d.enabled_at)],
        )?;
    }

    for reg in &a.config.regions {
        let region = &reg.region;
        tx.execute("INSERT INTO config_regions VALUES (?1)", [region])?;
        for r in &reg.recorders {
            tx.execute(
                "INSERT INTO config_recorders VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    region,
                    r.name,
                    r.role_arn,
                    r.all_supported,
                    r.include_global_resource_types,
                    r.recording,
                    r.last_status
                ],
            )?;
        }
        for d in &reg.delivery_channels {
            tx.execute(
                "INSERT INTO config_delivery_channels VALUES (?1, ?2, ?3, ?4)",
                params![region, d.name, d.s3_bucket_name, d.sns_topic_arn],
            )?;
        }
        for r in &reg.rules {
            tx.execute(
                "INSERT INTO config_rules VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    region,
                    r.name,
                    r.arn,
                    r.source_owner,
                    r.source_identifier,
                    r.input_parameters,
                    r.maximum_execution_frequency,
                    r.state
                ],
            )?;
        }
        for c in &reg.compliance {
            tx.execute(
                "INSERT INTO config_compliance VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    region,
                    c.config_rule_name,
                    c.resource_type,
                    c.resource_id,
                    c.compliance,
                    ts_opt(&c.recorded_at),
                    c.annotation
                ],
            )?;
        }
    }

    if let Some(b) = &a.s3.account_public_access_block {
        tx.execute(
            "INSERT INTO s3_account_public_access_block VALUES (?1, ?2, ?3, ?4)",
            params![
                b.block_public_acls,
                b.ignore_public_acls,
                b.block_public_policy,
                b.restrict_public_buckets
            ],
        )?;
    }
    for b in &a.s3.buckets {
        tx.execute(
            "INSERT INTO s3_buckets VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                b.name,
                b.region,
                ts_opt(&b.created),
                b.policy.as_ref().map(json_text),
                b.ownership_controls
            ],
        )?;
        for g in &b.acl_grants {
            tx.execute(
                "INSERT INTO s3_bucket_acl_grants VALUES (?1, ?2, ?3, ?4)",
                [&b.name, &g.grantee_type, &g.grantee, &g.permission],
            )?;
        }
        if let Some(p) = &b.public_access_block {
            tx.execute(
                "INSERT INTO s3_bucket_public_access_blocks VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    b.name,
                    p.block_public_acls,
                    p.ignore_public_acls,
                    p.block_public_policy,
                    p.restrict_public_buckets
                ],
            )?;
        }
    }

    for p in &a.problems {
        tx.execute(
            "INSERT INTO problems (section, operation, error_code, message, region, resource) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![p.section.as_str(), p.operation, p.error_code, p.message, p.region, p.resource],
        )?;
    }
    for (op, n) in &a.api_calls {
        tx.execute(
            "INSERT INTO api_calls VALUES (?1, ?2)",
            params![op, *n as i64],
        )?;
    }
    Ok(())
}

fn insert_principal_policies(
    tx: &rusqlite::Transaction<'_>,
    kind: &str,
    name: &str,
    attached: &[String],
    inline: &[InlinePolicy],
) -> rusqlite::Result<()> {
    for arn in attached {
        tx.execute(
            "INSERT INTO iam_policy_attachments VALUES (?1, ?2, ?3)",
            [arn, kind, name],
        )?;
    }
    for p in inline {
        tx.execute(
            "INSERT INTO iam_inline_policies VALUES (?1, ?2, ?3, ?4)",
            [kind, name, &p.name, &json_text(&p.document)],
        )?;
    }
    Ok(())
}

/// The target name recorded in a snapshot, without loading the rest.
///
/// Without the integrity check: `read` does it when the snapshot is evaluated, and a
/// snapshot given on the command line is not checked twice.
pub fn peek_target(path: &Path) -> Result<String, SnapshotError> {
    let conn = open_snapshot(path)?;
    conn.query_row("SELECT target FROM snapshot_info", [], |r| r.get(0))
        .map_err(|e| SnapshotError::corrupt(path, e))
}

/// Loads the snapshot at `path`.
pub fn read(path: &Path) -> Result<Account, SnapshotError> {
    let corrupt = |reason| SnapshotError::corrupt(path, reason);
    let (mut conn, version) = open_verified(path)?;
    if version < schema::CURRENT_VERSION {
        // Upgrade the copy in memory: archived snapshots stay as they were written.
        schema::migrate_to(&mut conn, schema::CURRENT_VERSION)
            .map_err(|e| corrupt(format!("upgrading from schema {version}: {e}")))?;
    }
    load_account(&conn).map_err(|e| corrupt(e.to_string()))
}

/// Reads a snapshot into memory, once, and checks that it is a complete CloudKestrel
/// snapshot of a schema this build understands: by its [`seal`] (schema 4 and later),
/// or by SQLite's `PRAGMA quick_check` (the unsealed schemas 1 to 3). What is checked is
/// exactly what is then read: the file is not read again. Returns an in-memory copy
/// (read-only for the current schema; writable for an older one, so that it can be
/// upgraded without touching the file) and its schema version.
fn open_verified(path: &Path) -> Result<(Connection, i64), SnapshotError> {
    let corrupt = |reason: String| SnapshotError::corrupt(path, reason);
    let not_snapshot = |reason: String| SnapshotError::not_a_snapshot(path, reason);
    must_be_file(path)?;
    let bytes = SqliteBytes::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => corrupt("the file was cut short while read".into()),
        _ => SnapshotError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    })?;
    let verdict = seal::verify(&bytes);
    let content_len = match &verdict {
        seal::Verdict::Intact { content_len } => *content_len,
        seal::Verdict::Unsealed => bytes.len(),
        seal::Verdict::Broken(reason) => return Err(corrupt(reason.clone())),
    };
    // A snapshot of the current schema is only read: SQLite then reads its pages where
    // they lie instead of copying each into its page cache. An older one stays writable
    // in memory, to be upgraded. (The version is SQLite's user_version, at offset 60 of
    // the header; `check_identity` below reads it properly.)
    let current = bytes.len() >= 100
        && i64::from(i32::from_be_bytes([
            bytes[60], bytes[61], bytes[62], bytes[63],
        ])) >= schema::CURRENT_VERSION;
    let mut conn = Connection::open_in_memory_with_flags(
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| not_snapshot(e.to_string()))?;
    conn.deserialize(
        rusqlite::DatabaseName::Main,
        bytes.into_owned(content_len),
        current,
    )
    .map_err(|e| not_snapshot(e.to_string()))?;
    if current {
        conn.pragma_update(None, "mmap_size", 1i64 << 40)
            .map_err(|e| not_snapshot(e.to_string()))?;
    }
    let version = check_identity(&conn, path)?;
    match verdict {
        seal::Verdict::Unsealed if version >= seal::SINCE_SCHEMA => Err(corrupt(format!(
            "snapshots of schema {version} end with a seal and this one has none (cut short or modified)"
        ))),
        seal::Verdict::Unsealed => {
            let check: String = conn
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(|e| corrupt(e.to_string()))?;
            if check == "ok" {
                Ok((conn, version))
            } else {
                Err(corrupt(check))
            }
        }
        _ => Ok((conn, version)),
    }
}

/// A whole file in memory allocated by SQLite, as `sqlite3_deserialize` requires.
struct SqliteBytes {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

impl SqliteBytes {
    fn read(path: &Path) -> std::io::Result<Self> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| std::io::Error::other("too large"))?;
        // SAFETY: sqlite3_malloc64 returns null or a block of at least the size asked
        // for; ownership passes to `SqliteBytes`, which frees it with sqlite3_free.
        let raw = unsafe { rusqlite::ffi::sqlite3_malloc64(len.max(1) as u64) };
        let ptr = std::ptr::NonNull::new(raw.cast::<u8>())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::OutOfMemory))?;
        let bytes = SqliteBytes { ptr, len };
        // SAFETY: the block holds `len` bytes, zeroed here so that the slice over it is
        // initialised; nothing else refers to it until `read` returns.
        let buf = unsafe {
            std::ptr::write_bytes(ptr.as_ptr(), 0, len);
            std::slice::from_raw_parts_mut(ptr.as_ptr(), len)
        };
        // A file cut short while it is read fails here; one that grows is read up to
        // the size above: the bytes it had then, whose seal is checked as usual.
        file.read_exact(buf)?;
        Ok(bytes)
    }

    /// Hands the first `len` bytes to SQLite (which frees the block on close).
    fn into_owned(self, len: usize) -> rusqlite::serialize::OwnedData {
        let ptr = self.ptr;
        std::mem::forget(self);
        // SAFETY: the block was allocated by sqlite3_malloc64 and is at least `len` long.
        unsafe { rusqlite::serialize::OwnedData::from_raw_nonnull(ptr, len) }
    }
}

impl std::ops::Deref for SqliteBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the block holds `len` initialised bytes (read_exact filled them).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for SqliteBytes {
    fn drop(&mut self) {
        // SAFETY: allocated by sqlite3_malloc64 and not handed over (into_owned forgets).
        unsafe { rusqlite::ffi::sqlite3_free(self.ptr.as_ptr().cast()) }
    }
}

/// Opens a snapshot file read-only, for a quick look ([`peek_target`]): a CloudKestrel
/// snapshot of a schema this build understands, its integrity not checked.
fn open_snapshot(path: &Path) -> Result<Connection, SnapshotError> {
    must_be_file(path)?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| SnapshotError::not_a_snapshot(path, e))?;
    check_identity(&conn, path)?;
    Ok(conn)
}

/// Checks that an open database is a CloudKestrel snapshot of a schema this build
/// understands, and returns its schema version.
fn check_identity(conn: &Connection, path: &Path) -> Result<i64, SnapshotError> {
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| SnapshotError::not_a_snapshot(path, e))?;
    if app_id != schema::APPLICATION_ID {
        return Err(SnapshotError::not_a_snapshot(
            path,
            "the file is SQLite but was not written by cloudkestrel",
        ));
    }
    let version = schema::user_version(conn).map_err(|e| SnapshotError::corrupt(path, e))?;
    if version < 1 {
        return Err(SnapshotError::corrupt(
            path,
            format!("schema version {version} does not exist"),
        ));
    }
    if version > schema::CURRENT_VERSION {
        return Err(SnapshotError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: schema::CURRENT_VERSION,
        });
    }
    Ok(version)
}

/// The form [`ts`] writes for whole seconds, `YYYY-MM-DDTHH:MM:SSZ`, parsed directly:
/// a snapshot holds thousands of timestamps and chrono's general RFC 3339 parser was
/// a twentieth of `evaluate` at scale (issue 5). Anything else, an invalid date
/// included, returns `None` and goes to chrono, which decides.
fn parse_utc_seconds(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let time = chrono::NaiveTime::from_hms_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?)?;
    Some(date.and_time(time).and_utc())
}

/// Reads a column holding an RFC 3339 timestamp.
/// (Borrowed from SQLite's row, not copied: a snapshot has thousands of timestamps.)
fn dt(row: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    parse_dt(row.get_ref(idx)?.as_str()?, idx)
}

fn dt_opt(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    row.get_ref(idx)?
        .as_str_or_null()?
        .map(|s| parse_dt(s, idx))
        .transpose()
}

fn parse_dt(s: &str, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    if let Some(d) = parse_utc_seconds(s) {
        return Ok(d);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
        })
}

fn json_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Value> {
    parse_json(row.get_ref(idx)?.as_str()?, idx)
}

fn json_col_opt(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Value>> {
    row.get_ref(idx)?
        .as_str_or_null()?
        .map(|s| parse_json(s, idx))
        .transpose()
}

fn parse_json(s: &str, idx: usize) -> rusqlite::Result<Value> {
    serde_json::from_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
    })
}

fn rows<T>(
    conn: &Connection,
    sql: &str,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare(sql)?;
    let out = stmt.query_map([], f)?.collect();
    out
}

fn load_account(conn: &Connection) -> rusqlite::Result<Account> {
    let metadata = conn
        .query_row(
            "SELECT target, account_id, caller_arn, collected_at, tool_version FROM snapshot_info",
            [],
            |r| {
                Ok(Metadata {
                    target: r.get(0)?,
                    account_id: r.get(1)?,
                    caller_arn: r.get(2)?,
                    collected_at: dt(r, 3)?,
                    tool_version: r.get(4)?,
                    regions: Vec::new(),
                })
            },
        )
        .optional()?
        .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    let regions = rows(conn, "SELECT region FROM regions ORDER BY rowid", |r| {
        r.get(0)
    })?;
    let metadata = Metadata {
        regions,
        ..metadata
    };

    // Attachments and inline policies, per principal type (user, group, role), keyed by
    // principal name: looked up by `&str`, without building a key per principal. An
    // unknown principal type, or a policy or membership of a principal the snapshot does
    // not hold, is an error: dropped, it could make a user look policy-free.
    const KINDS: [&str; 3] = ["user", "group", "role"];
    let kind_index = |kind: &str| {
        KINDS.iter().position(|k| *k == kind).ok_or_else(|| {
            rusqlite::Error::InvalidParameterName(format!("unknown principal type {kind:?}"))
        })
    };
    let mut attached: [HashMap<String, Vec<String>>; 3] = Default::default();
    for (arn, kind, name) in rows(
        conn,
        "SELECT policy_arn, principal_type, principal_name FROM iam_policy_attachments ORDER BY rowid",
        |r| Ok((r.get::<_, String>(0)?, kind_index(r.get_ref(1)?.as_str()?)?, r.get::<_, String>(2)?)),
    )? {
        attached[kind].entry(name).or_default().push(arn);
    }
    let mut inline: [HashMap<String, Vec<InlinePolicy>>; 3] = Default::default();
    for (kind, name, policy) in rows(
        conn,
        "SELECT principal_type, principal_name, policy_name, document FROM iam_inline_policies ORDER BY rowid",
        |r| {
            Ok((
                kind_index(r.get_ref(0)?.as_str()?)?,
                r.get::<_, String>(1)?,
                InlinePolicy { name: r.get(2)?, document: json_col(r, 3)? },
            ))
        },
    )? {
        inline[kind].entry(name).or_default().push(policy);
    }
    let mut take = |kind: usize, name: &str| {
        (
            attached[kind].remove(name).unwrap_or_default(),
            inline[kind].remove(name).unwrap_or_default(),
        )
    };
    let mut memberships: HashMap<String, Vec<String>> = HashMap::new();
    for (group, user) in rows(
        conn,
        "SELECT group_name, user_name FROM iam_group_members ORDER BY rowid",
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )? {
        memberships.entry(user).or_default().push(group);
    }

    let users = rows(
        conn,
        "SELECT name, arn, user_id, path, created, permissions_boundary FROM iam_users ORDER BY rowid",
        |r| {
            Ok(User {
                name: r.get(0)?,
                arn: r.get(1)?,
                user_id: r.get(2)?,
                path: r.get(3)?,
                created: dt(r, 4)?,
                permissions_boundary: r.get(5)?,
                groups: Vec::new(),
                attached_policies: Vec::new(),
                inline_policies: Vec::new(),
            })
        },
    )?
    .into_iter()
    .map(|mut u| {
        (u.attached_policies, u.inline_policies) = take(0, &u.name);
        u.groups = memberships.remove(&u.name).unwrap_or_default();
        u
    })
    .collect();
    let groups = rows(
        conn,
        "SELECT name, arn, path FROM iam_groups ORDER BY rowid",
        |r| {
            Ok(Group {
                name: r.get(0)?,
                arn: r.get(1)?,
                path: r.get(2)?,
                attached_policies: Vec::new(),
                inline_policies: Vec::new(),
            })
        },
    )?
    .into_iter()
    .map(|mut g| {
        (g.attached_policies, g.inline_policies) = take(1, &g.name);
        g
    })
    .collect();
    let roles = rows(
        conn,
        "SELECT name, arn, path, trust_policy, permissions_boundary FROM iam_roles ORDER BY rowid",
        |r| {
            Ok(Role {
                name: r.get(0)?,
                arn: r.get(1)?,
                path: r.get(2)?,
                trust_policy: json_col_opt(r, 3)?,
                permissions_boundary: r.get(4)?,
                attached_policies: Vec::new(),
                inline_policies: Vec::new(),
            })
        },
    )?
    .into_iter()
    .map(|mut ro| {
        (ro.attached_policies, ro.inline_policies) = take(2, &ro.name);
        ro
    })
    .collect();
    let mut orphans: Vec<String> = memberships.keys().map(|n| format!("user {n}")).collect();
    for (k, kind) in KINDS.iter().enumerate() {
        for name in attached[k].keys().chain(inline[k].keys()) {
            orphans.push(format!("{kind} {name}"));
        }
    }
    if !orphans.is_empty() {
        orphans.sort();
        orphans.dedup();
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "policies or group memberships of principals the snapshot does not hold: {}",
            orphans.join(", ")
        )));
    }

    let mut versions: HashMap<String, Vec<PolicyVersion>> = HashMap::new();
    for (arn, v) in rows(
        conn,
        "SELECT policy_arn, version_id, created, document FROM iam_policy_versions ORDER BY rowid",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                PolicyVersion {
                    version_id: r.get(1)?,
                    created: dt_opt(r, 2)?,
                    document: json_col(r, 3)?,
                },
            ))
        },
    )? {
        versions.entry(arn).or_default().push(v);
    }
    let policies = rows(
        conn,
        "SELECT arn, name, path, default_version_id, attachment_count, permissions_boundary_usage_count, policy_id FROM iam_policies ORDER BY rowid",
        |r| {
            Ok(ManagedPolicy {
                arn: r.get(0)?,
                name: r.get(1)?,
                path: r.get(2)?,
                default_version_id: r.get(3)?,
                attachment_count: r.get(4)?,
                permissions_boundary_usage_count: r.get(5)?,
                policy_id: r.get(6)?,
                versions: Vec::new(),
            })
        },
    )?
    .into_iter()
    .map(|mut p| {
        p.versions = versions.remove(&p.arn).unwrap_or_default();
        p
    })
    .collect();

    let key_slot = |r: &Row<'_>, base: usize| -> rusqlite::Result<Option<AccessKeySlot>> {
        let active: Option<bool> = r.get(base)?;
        match (active, dt_opt(r, base + 1)?) {
            (Some(active), Some(last_rotated)) => Ok(Some(AccessKeySlot {
                active,
                last_rotated,
                last_used: dt_opt(r, base + 2)?,
            })),
            _ => Ok(None),
        }
    };
    let credential_report = rows(
        conn,
        "SELECT user, arn, user_creation_time, password_enabled, password_last_used, password_last_changed, mfa_active,
                access_key_1_active, access_key_1_last_rotated, access_key_1_last_used,
                access_key_2_active, access_key_2_last_rotated, access_key_2_last_used
         FROM iam_credential_report ORDER BY rowid",
        |r| {
            Ok(CredentialReportRow {
                user: r.get(0)?,
                arn: r.get(1)?,
                user_creation_time: dt(r, 2)?,
                password_enabled: r.get(3)?,
                password_last_used: dt_opt(r, 4)?,
                password_last_changed: dt_opt(r, 5)?,
                mfa_active: r.get(6)?,
                access_key_1: key_slot(r, 7)?,
                access_key_2: key_slot(r, 10)?,
            })
        },
    )?;
    let account_summary = rows(conn, "SELECT key, value FROM iam_account_summary", |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?
    .into_iter()
    .collect();
    let password_policy = conn
        .query_row("SELECT document FROM iam_password_policy", [], |r| {
            json_col(r, 0)
        })
        .optional()?;
    let virtual_mfa_devices = rows(
        conn,
        "SELECT serial_number, user_arn, enabled_at FROM iam_virtual_mfa_devices ORDER BY rowid",
        |r| {
            Ok(VirtualMfaDevice {
                serial_number: r.get(0)?,
                user_arn: r.get(1)?,
                enabled_at: dt_opt(r, 2)?,
            })
        },
    )?;

    let mut config_regions: Vec<ConfigRegion> = rows(
        conn,
        "SELECT region FROM config_regions ORDER BY rowid",
        |r| {
            Ok(ConfigRegion {
                region: r.get(0)?,
                recorders: Vec::new(),
                delivery_channels: Vec::new(),
                rules: Vec::new(),
                compliance: Vec::new(),
            })
        },
    )?;
    let index: HashMap<String, usize> = config_regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.region.clone(), i))
        .collect();
    let region_of = |region: &str| {
        index.get(region).copied().ok_or_else(|| {
            rusqlite::Error::InvalidParameterName(format!(
                "region {region} is not in config_regions"
            ))
        })
    };
    for (region, rec) in rows(
        conn,
        "SELECT region, name, role_arn, all_supported, include_global_resource_types, recording, last_status FROM config_recorders ORDER BY rowid",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                ConfigRecorder {
                    name: r.get(1)?,
                    role_arn: r.get(2)?,
                    all_supported: r.get(3)?,
                    include_global_resource_types: r.get(4)?,
                    recording: r.get(5)?,
                    last_status: r.get(6)?,
                },
            ))
        },
    )? {
        config_regions[region_of(&region)?].recorders.push(rec);
    }
    for (region, ch) in rows(
        conn,
        "SELECT region, name, s3_bucket_name, sns_topic_arn FROM config_delivery_channels ORDER BY rowid",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                DeliveryChannel { name: r.get(1)?, s3_bucket_name: r.get(2)?, sns_topic_arn: r.get(3)? },
            ))
        },
    )? {
        config_regions[region_of(&region)?].delivery_channels.push(ch);
    }
    for (region, rule) in rows(
        conn,
        "SELECT region, name, arn, source_owner, source_identifier, input_parameters, maximum_execution_frequency, state FROM config_rules ORDER BY rowid",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                ConfigRule {
                    name: r.get(1)?,
                    arn: r.get(2)?,
                    source_owner: r.get(3)?,
                    source_identifier: r.get(4)?,
                    input_parameters: r.get(5)?,
                    maximum_execution_frequency: r.get(6)?,
                    state: r.get(7)?,
                },
            ))
        },
    )? {
        config_regions[region_of(&region)?].rules.push(rule);
    }
    for (region, c) in rows(
        conn,
        "SELECT region, config_rule_name, resource_type, resource_id, compliance, recorded_at, annotation FROM config_compliance ORDER BY rowid",
        |r| {
            Ok((
                region_of(r.get_ref(0)?.as_str()?)?,
                ComplianceResult {
                    config_rule_name: r.get(1)?,
                    resource_type: r.get(2)?,
                    resource_id: r.get(3)?,
                    compliance: r.get(4)?,
                    recorded_at: dt_opt(r, 5)?,
                    annotation: r.get(6)?,
                },
            ))
        },
    )? {
        config_regions[region].compliance.push(c);
    }

    let pab = |r: &Row<'_>, base: usize| -> rusqlite::Result<PublicAccessBlock> {
        Ok(PublicAccessBlock {
            block_public_acls: r.get(base)?,
            ignore_public_acls: r.get(base + 1)?,
            block_public_policy: r.get(base + 2)?,
            restrict_public_buckets: r.get(base + 3)?,
        })
    };
    let account_public_access_block = conn
        .query_row(
            "SELECT block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets FROM s3_account_public_access_block",
            [],
            |r| pab(r, 0),
        )
        .optional()?;
    let mut grants: HashMap<String, Vec<Grant>> = HashMap::new();
    for (bucket, g) in rows(
        conn,
        "SELECT bucket, grantee_type, grantee, permission FROM s3_bucket_acl_grants ORDER BY rowid",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                Grant {
                    grantee_type: r.get(1)?,
                    grantee: r.get(2)?,
                    permission: r.get(3)?,
                },
            ))
        },
    )? {
        grants.entry(bucket).or_default().push(g);
    }
    let mut blocks: HashMap<String, PublicAccessBlock> = rows(
        conn,
        "SELECT bucket, block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets FROM s3_bucket_public_access_blocks",
        |r| Ok((r.get::<_, String>(0)?, pab(r, 1)?)),
    )?
    .into_iter()
    .collect();
    let buckets = rows(
        conn,
        "SELECT name, region, created, policy, ownership_controls FROM s3_buckets ORDER BY rowid",
        |r| {
            Ok(Bucket {
                name: r.get(0)?,
                region: r.get(1)?,
                created: dt_opt(r, 2)?,
                policy: json_col_opt(r, 3)?,
                ownership_controls: r.get(4)?,
                acl_grants: Vec::new(),
                public_access_block: None,
            })
        },
    )?
    .into_iter()
    .map(|mut b| {
        b.acl_grants = grants.remove(&b.name).unwrap_or_default();
        b.public_access_block = blocks.remove(&b.name);
        b
    })
    .collect();

    let problems = rows(
        conn,
        "SELECT section, operation, error_code, message, region, resource FROM problems ORDER BY rowid",
        |r| {
            let section: String = r.get(0)?;
            let section = Section::parse(&section).ok_or_else(|| {
                rusqlite::Error::InvalidParameterName(format!("unknown problem section {section}"))
            })?;
            Ok(Problem {
                section,
                operation: r.get(1)?,
                error_code: r.get(2)?,
                message: r.get(3)?,
                region: r.get(4)?,
                resource: r.get(5)?,
            })
        },
    )?;
    let api_calls = rows(conn, "SELECT operation, count FROM api_calls", |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })?
    .into_iter()
    .collect();

    Ok(Account {
        metadata,
        iam: Iam {
            users,
            groups,
            roles,
            policies,
            credential_report,
            account_summary,
            password_policy,
            virtual_mfa_devices,
        },
        config: AwsConfig {
            regions: config_regions,
        },
        s3: S3 {
            account_public_access_block,
            buckets,
        },
        problems,
        api_calls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    /// The fast timestamp path agrees with chrono wherever it answers, and leaves every
    /// other form (fractions, offsets, invalid dates, leap seconds) to chrono.
    #[test]
    fn fast_timestamps_agree_with_chrono() {
        let chrono_utc = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.with_timezone(&Utc))
        };
        for s in [
            "2026-11-27T08:00:00Z",
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_utc_seconds(s), chrono_utc(s), "{s}");
            assert!(parse_utc_seconds(s).is_some(), "{s}");
        }
        for s in [
            "2026-11-27T08:00:00.5Z",
            "2026-11-27T08:00:00+01:00",
            "2026-11-27t08:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-27T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2026-1a-27T08:00:00Z",
            "+026-11-27T08:00:00Z",
            "",
        ] {
            assert_eq!(parse_utc_seconds(s), None, "{s}");
        }
        // Through parse_dt, the other forms still parse (or fail) exactly as chrono says.
        for s in [
            "2026-11-27T08:00:00.5Z",
            "2026-11-27T08:00:00+01:00",
            "2016-12-31T23:59:60Z",
        ] {
            assert_eq!(parse_dt(s, 0).ok(), chrono_utc(s), "{s}");
        }
        assert!(parse_dt("2026-02-30T00:00:00Z", 0).is_err());
        let now = Utc::now().with_nanosecond(0).unwrap();
        assert_eq!(parse_dt(&ts(&now), 0).unwrap(), now);
    }
}
