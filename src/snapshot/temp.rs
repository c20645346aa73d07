//! Temporary snapshot files: their names, the writes in progress (so that an
//! interrupted collect can abandon them and leave nothing), and the leftovers of writes
//! whose process was killed.
//!
//! The writer fills `.<name>.tmp-<PID>` beside the snapshot and renames it into place
//! when complete. A process killed while writing (SIGKILL, a power cut) leaves that
//! file; [`remove_stale_temporaries`] removes the ones whose process is gone. A process
//! told to stop ([`abandon_writes`], on Ctrl-C) abandons its writes: each stops at its
//! next SQLite step and removes its own file.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use rusqlite::{Connection, InterruptHandle};

/// The writes of this process in progress, and whether they were abandoned.
struct Writes {
    abandoned: bool,
    next_id: u64,
    /// (id, temporary file, its connection's interrupt handle once it is open).
    active: Vec<(u64, PathBuf, Option<InterruptHandle>)>,
}

static WRITES: Mutex<Writes> = Mutex::new(Writes {
    abandoned: false,
    next_id: 0,
    active: Vec::new(),
});
/// Signalled whenever a write ends.
static ENDED: Condvar = Condvar::new();

fn writes() -> MutexGuard<'static, Writes> {
    // A panic while holding the lock leaves the list as consistent as before it.
    WRITES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Stops every snapshot write of this process: the writes in progress stop at their
/// next SQLite step (their statements are interrupted) or before their rename, and
/// remove their temporary files; later writes do not start. A write already renamed
/// into place stays: it is complete. For the end of the process (Ctrl-C): there is no
/// way back. Returns at once; [`wait_for_writes`] waits for the writes to be gone.
pub fn abandon_writes() {
    let mut w = writes();
    w.abandoned = true;
    for (_, _, handle) in &w.active {
        if let Some(h) = handle {
            h.interrupt();
        }
    }
}

/// Blocks until no snapshot write of this process is in progress. Not to be called by
/// a thread that is itself writing.
pub fn wait_for_writes() {
    let mut w = writes();
    while !w.active.is_empty() {
        w = ENDED.wait(w).unwrap_or_else(|e| e.into_inner());
    }
}

/// One write's temporary file: registered while it exists, removed when dropped unless
/// it was renamed into place.
pub(super) struct TempFile {
    id: u64,
    path: PathBuf,
    persisted: bool,
}

/// What [`TempFile::persist`] did.
pub(super) enum Persisted {
    Done,
    /// The writes were abandoned first: the file was removed.
    Abandoned,
    Failed(std::io::Error),
}

impl TempFile {
    /// The temporary file for `file_name` in `dir` (not created yet: SQLite creates it);
    /// a leftover of the same name is removed. `None` when writes were abandoned.
    pub(super) fn begin(dir: &Path, file_name: &str) -> Option<TempFile> {
        let path = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
        let mut w = writes();
        if w.abandoned {
            return None;
        }
        let id = w.next_id;
        w.next_id += 1;
        w.active.push((id, path.clone(), None));
        drop(w);
        let _ = std::fs::remove_file(&path);
        Some(TempFile {
            id,
            path,
            persisted: false,
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Lets [`abandon_writes`] interrupt `conn`, the connection filling the file; fails
    /// (as SQLite's "interrupted") if writes were abandoned already.
    pub(super) fn watch(&self, conn: &Connection) -> rusqlite::Result<()> {
        let mut w = writes();
        if w.abandoned {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERRUPT),
                None,
            ));
        }
        if let Some(entry) = w.active.iter_mut().find(|(id, _, _)| *id == self.id) {
            entry.2 = Some(conn.get_interrupt_handle());
        }
        Ok(())
    }

    pub(super) fn abandoned(&self) -> bool {
        writes().abandoned
    }

    /// Renames the finished file to `to`, unless writes were abandoned. Under the lock:
    /// [`abandon_writes`] comes either before (nothing is left) or after (the snapshot
    /// is complete).
    pub(super) fn persist(mut self, to: &Path) -> Persisted {
        let w = writes();
        if w.abandoned {
            return Persisted::Abandoned;
        }
        let renamed = std::fs::rename(&self.path, to);
        self.persisted = renamed.is_ok();
        drop(w);
        match renamed {
            Ok(()) => Persisted::Done,
            Err(e) => Persisted::Failed(e),
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
        writes().active.retain(|(id, _, _)| *id != self.id);
        ENDED.notify_all();
    }
}

/// A temporary snapshot file an earlier process left in a directory.
#[derive(Debug)]
pub struct Leftover {
    pub path: PathBuf,
    /// The process that was writing it, no longer running.
    pub pid: u32,
    /// Whether it could be removed.
    pub removed: Result<(), String>,
}

/// Removes the temporary snapshot files in `dir` whose writing process is gone (killed
/// while writing): files named exactly `.<UTC timestamp>.sqlite.tmp-<PID>` as collect
/// names them (`.2026-11-27T08-00-00Z.sqlite.tmp-4242`). A file of a running process is
/// left alone, and so is anything else: another name, a directory, a symbolic link.
/// A file with this process's PID and no write of this process behind it is a leftover
/// of an earlier process that had the same PID (PIDs are reused, in containers soon).
/// A directory that does not exist has none.
pub fn remove_stale_temporaries(dir: &Path) -> Vec<Leftover> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<Leftover> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let pid = e.file_name().to_str().and_then(temporary_pid)?;
            let path = e.path();
            let ours =
                pid == std::process::id() && writes().active.iter().any(|(_, p, _)| *p == path);
            if ours || (pid != std::process::id() && process_exists(pid)) {
                return None;
            }
            let removed = std::fs::remove_file(&path).map_err(|e| e.to_string());
            Some(Leftover { path, pid, removed })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The PID in a temporary file's name, when the name is exactly
/// `.YYYY-MM-DDTHH-MM-SSZ.sqlite.tmp-<PID>` (PID in decimal without leading zeros).
fn temporary_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (stamp, pid) = rest.split_once(".sqlite.tmp-")?;
    let shape = stamp.len() == 20
        && stamp.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 | 13 | 16 => b == b'-',
            10 => b == b'T',
            19 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    let digits =
        !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) && !pid.starts_with('0');
    if !(shape && digits) {
        return None;
    }
    pid.parse().ok().filter(|&p| i32::try_from(p).is_ok())
}

/// Whether a process with this PID runs on this machine (`kill(pid, 0)`: nothing is
/// sent). One of another user (EPERM) runs; only ESRCH means there is none.
#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 sends nothing: kill only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Elsewhere a process cannot be checked: its file is kept.
#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_temporary_names_match() {
        assert_eq!(
            temporary_pid(".2026-11-27T08-00-00Z.sqlite.tmp-4242"),
            Some(4242)
        );
        for name in [
            "2026-11-27T08-00-00Z.sqlite.tmp-4242",
            ".2026-11-27T08-00-00Z.sqlite.tmp-",
            ".2026-11-27T08-00-00Z.sqlite.tmp-04242",
            ".2026-11-27T08-00-00Z.sqlite.tmp-42a",
            ".2026-11-27T08-00-00Z.sqlite.tmp-+42",
            ".2026-11-27T08-00-00Z.sqlite.tmp-4242.bak",
            ".2026-11-27T08-00-00Z.sqlite.tmp-99999999999",
            ".2026-11-27T08-00-00Z.sqlite.tmp-4294967295",
            ".2026-11-27T08:00:00Z.sqlite.tmp-4242",
            ".my-notes.sqlite.tmp-4242",
            ".2026-11-27T08-00-00Z.sqlite",
            ".2026-11-27T08-00-00Z.db.tmp-4242",
            "..2026-11-27T08-00-00Z.sqlite.tmp-4242",
        ] {
            assert_eq!(temporary_pid(name), None, "{name}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_process_exists_while_it_runs() {
        assert!(process_exists(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_exists(pid));
    }
}
