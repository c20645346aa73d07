//! SQLite snapshots: the only module that contains SQL.
//!
//! A snapshot is one file per target per collection. [`write`] stores an [`Account`](crate::model::Account)
//! atomically (temporary file, then rename); [`read`] loads it back, refusing anything
//! that is not a complete CloudKestrel snapshot of a schema this build understands, and
//! any value outside what the writer stores (a boolean that is not 0 or 1, an unknown
//! ACL permission, a document with a key written twice): a snapshot is read as strictly
//! as it is written, never leniently into a verdict. Older schemas are upgraded in
//! memory, so an archived file is never modified.
//!
//! - `write`: the writer;
//! - `open`: a file into a verified in-memory database, and what kind of file it is not;
//! - `read`, `read_iam` and `column`: the strict reader;
//! - `temp`: temporary files, the writes in progress and the leftovers of killed ones;
//! - [`schema`], [`seal`]: the tables and the checksum that ends every file.

mod column;
mod open;
mod read;
mod read_iam;
pub mod schema;
pub mod seal;
mod temp;
mod write;

use std::path::{Path, PathBuf};

pub use self::read::{peek_target, read};
pub use self::temp::{abandon_writes, remove_stale_temporaries, wait_for_writes, Leftover};
pub use self::write::write;

/// What the user is told to do with a snapshot that cannot be trusted.
const RECOVER: &str = "re-collect or restore it from the archive";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: no such snapshot file")]
    NotFound { path: PathBuf },
    /// A directory, a device, a socket: `what` says which.
    #[error("{path}: {what}, not a snapshot file")]
    NotAFile { path: PathBuf, what: &'static str },
    /// Not SQLite at all, or SQLite that another program wrote.
    #[error("{path}: not a CloudKestrel snapshot ({reason})")]
    NotASnapshot { path: PathBuf, reason: String },
    #[error("{path}: snapshot schema version {found} is newer than this cloudkestrel understands (up to {supported}); upgrade cloudkestrel to read it")]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// A CloudKestrel snapshot whose bytes are not all there or not as written.
    #[error("{path}: the file is truncated or damaged: {RECOVER} ({reason})")]
    Corrupt { path: PathBuf, reason: String },
    /// A snapshot intact as a file that holds what no cloudkestrel writes: a value
    /// outside its domain, a row of something the snapshot does not hold.
    #[error("{path}: refused: {reason}; cloudkestrel never writes this (the snapshot was edited or written by another program): {RECOVER}")]
    Invalid { path: PathBuf, reason: String },
    #[error("{path}: cannot read the snapshot: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: cannot write snapshot: {reason}")]
    Write { path: PathBuf, reason: String },
    /// The write was abandoned ([`abandon_writes`]): nothing was left behind.
    #[error("{path}: not written: interrupted")]
    Interrupted { path: PathBuf },
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

    fn invalid(path: &Path, reason: impl ToString) -> Self {
        SnapshotError::Invalid {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }

    fn write(path: &Path, reason: impl ToString) -> Self {
        SnapshotError::Write {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}
