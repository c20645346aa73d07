//! Opening a snapshot file: what kind of file it is, and a verified in-memory copy.
//!
//! The first question is what the file is, so that the message says what to do:
//! - not there, or not a regular file (a directory): said so;
//! - not SQLite at all, or SQLite that another program wrote (its `application_id` is
//!   not CloudKestrel's): "not a CloudKestrel snapshot";
//! - a CloudKestrel snapshot (its seal's magic, or its SQLite header) whose bytes are
//!   not all there or not as written (a broken seal, a missing seal, fewer bytes than
//!   its header counts, an empty file, SQLite's own checks failing): "truncated or
//!   damaged: re-collect or restore it from the archive".

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{schema, seal, SnapshotError};

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The length of SQLite's file header.
const HEADER_LEN: usize = 100;

/// `Ok` when `path` is a regular file (symbolic links followed).
fn must_be_file(path: &Path) -> Result<(), SnapshotError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SnapshotError::NotFound {
            path: path.to_path_buf(),
        },
        _ => SnapshotError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    })?;
    if meta.is_file() {
        return Ok(());
    }
    Err(SnapshotError::NotAFile {
        path: path.to_path_buf(),
        what: if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        },
    })
}

/// Checks what the SQLite header at the start of `content` says (`len`: the length of
/// the file before its seal, or of the whole file when the seal is not known) and
/// returns the snapshot's schema version.
fn check_header(path: &Path, content: &[u8], len: usize) -> Result<i64, SnapshotError> {
    let corrupt = |reason: String| SnapshotError::corrupt(path, reason);
    if len == 0 {
        return Err(corrupt("the file is empty".into()));
    }
    let head = &content[..content.len().min(HEADER_LEN)];
    if !head.starts_with(&SQLITE_MAGIC[..head.len().min(SQLITE_MAGIC.len())]) {
        return Err(SnapshotError::not_a_snapshot(
            path,
            "not an SQLite database",
        ));
    }
    if head.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "{len} bytes: cut inside the {HEADER_LEN}-byte SQLite header"
        )));
    }
    let be32 = |at: usize| u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    if be32(68) as i32 != schema::APPLICATION_ID {
        return Err(SnapshotError::not_a_snapshot(
            path,
            "the file is SQLite but was not written by cloudkestrel",
        ));
    }
    // SQLite's user_version, at offset 60.
    let version = i64::from(be32(60) as i32);
    if version < 1 {
        return Err(corrupt(format!("schema version {version} does not exist")));
    }
    if version > schema::CURRENT_VERSION {
        return Err(SnapshotError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: schema::CURRENT_VERSION,
        });
    }
    // The page size (1 means 65,536) and the page count, which SQLite keeps valid
    // when the "version-valid-for" number (offset 92) equals the change counter (24).
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65_536,
        n => usize::from(n),
    };
    let counted = page_size as u64 * u64::from(be32(28));
    if be32(92) == be32(24) && counted > len as u64 {
        return Err(corrupt(format!(
            "cut short: its header counts {counted} bytes of pages and {len} are there"
        )));
    }
    Ok(version)
}

/// Reads a snapshot into memory, once, and checks that it is a complete CloudKestrel
/// snapshot of a schema this build understands: by its [`seal`] (schema 4 and later),
/// or by SQLite's `PRAGMA quick_check` (the unsealed schemas 1 to 3). What is checked is
/// exactly what is then read: the file is not read again. Returns an in-memory copy
/// (read-only for the current schema; writable for an older one, so that it can be
/// upgraded without touching the file) and its schema version.
pub(super) fn open_verified(path: &Path) -> Result<(Connection, i64), SnapshotError> {
    let corrupt = |reason: String| SnapshotError::corrupt(path, reason);
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
    let version = check_header(path, &bytes[..content_len], content_len)?;
    let sealed = matches!(verdict, seal::Verdict::Intact { .. });
    if !sealed && version >= seal::SINCE_SCHEMA {
        return Err(corrupt(format!(
            "snapshots of schema {version} end with a seal and this one has none (cut short or modified)"
        )));
    }
    // A snapshot of the current schema is only read: SQLite then reads its pages where
    // they lie instead of copying each into its page cache. An older one stays writable
    // in memory, to be upgraded.
    let current = version >= schema::CURRENT_VERSION;
    // The header said this is a CloudKestrel snapshot: whatever SQLite says now, the
    // file is damaged.
    let sqlite = |e: rusqlite::Error| corrupt(e.to_string());
    let mut conn = Connection::open_in_memory_with_flags(
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite)?;
    conn.deserialize(
        rusqlite::DatabaseName::Main,
        bytes.into_owned(content_len),
        current,
    )
    .map_err(sqlite)?;
    if current {
        conn.pragma_update(None, "mmap_size", 1i64 << 40)
            .map_err(sqlite)?;
    }
    if !sealed {
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(sqlite)?;
        if check != "ok" {
            return Err(corrupt(check));
        }
    }
    Ok((conn, version))
}

/// Opens a snapshot file read-only, for a quick look ([`super::peek_target`]): a
/// CloudKestrel snapshot of a schema this build understands by its header, its seal
/// not checked.
pub(super) fn open_unverified(path: &Path) -> Result<Connection, SnapshotError> {
    use std::io::Read;
    must_be_file(path)?;
    let unreadable = |e: std::io::Error| SnapshotError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let len = file.metadata().map_err(unreadable)?.len();
    let mut head = Vec::with_capacity(HEADER_LEN);
    file.by_ref()
        .take(HEADER_LEN as u64)
        .read_to_end(&mut head)
        .map_err(unreadable)?;
    check_header(path, &head, usize::try_from(len).unwrap_or(usize::MAX))?;
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| SnapshotError::corrupt(path, e))
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
