//! SQLite's memory from Rust's global allocator (mimalloc in the binary) instead of the
//! C library's `malloc`.
//!
//! Why: `evaluate` reads every snapshot into an SQLite in-memory database, and glibc's
//! per-thread arenas kept growing with the number of snapshots (peak RSS 69 MB over 100
//! synthetic accounts, 100 MB over 1,000, issue 5); with one allocator for everything
//! it stays flat. SQLite's memory statistics (a global mutex taken on every allocation)
//! are switched off at the same time: CloudKestrel never reads them.
//!
//! [`install`] must run before SQLite is first used in the process, while no other
//! thread uses SQLite (it is the first thing `main` does); afterwards SQLite refuses the
//! configuration and keeps its own.

use std::alloc::{alloc, dealloc, realloc, Layout};
use std::os::raw::{c_int, c_void};

use rusqlite::ffi;

/// Each block starts with its total size; 16 keeps SQLite's 8-byte alignment (and the
/// allocator's 16).
const HEADER: usize = 16;
const ALIGN: usize = 16;

fn layout(total: usize) -> Option<Layout> {
    Layout::from_size_align(total, ALIGN).ok()
}

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    let Some(total) = usize::try_from(n).ok().and_then(|n| n.checked_add(HEADER)) else {
        return std::ptr::null_mut();
    };
    let Some(layout) = layout(total) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `layout` has a non-zero size (HEADER > 0).
    let base = unsafe { alloc(layout) };
    if base.is_null() {
        return base.cast();
    }
    // SAFETY: the block is at least HEADER bytes and 16-aligned.
    unsafe {
        base.cast::<usize>().write(total);
        base.add(HEADER).cast()
    }
}

/// The start and total size of a block handed out by [`x_malloc`].
///
/// # Safety
/// `p` must come from `x_malloc` or `x_realloc` and not have been freed.
unsafe fn block(p: *mut c_void) -> (*mut u8, usize) {
    // SAFETY: per the contract, HEADER bytes before `p` hold the block's total size.
    unsafe {
        let base = p.cast::<u8>().sub(HEADER);
        (base, base.cast::<usize>().read())
    }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: SQLite frees only what its xMalloc/xRealloc returned.
    unsafe {
        let (base, total) = block(p);
        dealloc(base, Layout::from_size_align_unchecked(total, ALIGN));
    }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    if p.is_null() {
        // SAFETY: a plain allocation.
        return unsafe { x_malloc(n) };
    }
    let Some(total) = usize::try_from(n).ok().and_then(|n| n.checked_add(HEADER)) else {
        return std::ptr::null_mut();
    };
    if layout(total).is_none() {
        return std::ptr::null_mut();
    }
    // SAFETY: `p` came from x_malloc/x_realloc (SQLite's contract); on failure the old
    // block is left untouched, as SQLite expects.
    unsafe {
        let (base, old) = block(p);
        let new = realloc(base, Layout::from_size_align_unchecked(old, ALIGN), total);
        if new.is_null() {
            return new.cast();
        }
        new.cast::<usize>().write(total);
        new.add(HEADER).cast()
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: as for x_free.
    let (_, total) = unsafe { block(p) };
    c_int::try_from(total - HEADER).unwrap_or(c_int::MAX)
}

/// Blocks are exactly the size asked for (what [`x_size`] reports).
unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    n
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// Points SQLite's allocations at Rust's global allocator. Returns whether SQLite took
/// the configuration (it does not once it is initialised).
///
/// # Safety
/// No other thread may be using (or initialising) SQLite during the call, and SQLite
/// must not have allocated anything yet: SQLite's configuration is not thread-safe, and
/// a block it allocated with its default allocator must never reach [`x_free`]. Call it
/// first thing in `main`, before any thread is started.
pub unsafe fn install() -> bool {
    // SQLite copies the methods: a local is enough.
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(x_malloc),
        xFree: Some(x_free),
        xRealloc: Some(x_realloc),
        xSize: Some(x_size),
        xRoundup: Some(x_roundup),
        xInit: Some(x_init),
        xShutdown: Some(x_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: per this function's contract nothing else uses SQLite concurrently;
    // before initialisation SQLite copies the methods (whose functions honour its
    // allocator contract above), after it returns SQLITE_MISUSE and changes nothing.
    unsafe {
        let memstatus = ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
        let malloc = ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MALLOC,
            &methods as *const ffi::sqlite3_mem_methods,
        );
        memstatus == ffi::SQLITE_OK && malloc == ffi::SQLITE_OK
    }
}
