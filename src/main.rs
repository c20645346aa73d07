//! The `cloudkestrel` command line (src/cli/).

mod cli;

use std::process::ExitCode;

// evaluate allocates and frees several strings per result, tens of thousands per
// snapshot: with glibc's allocator that was a quarter of its instructions. mimalloc
// cuts them by a fifth in all (callgrind) at the cost of a higher, still bounded, peak
// RSS with two threads (issue 5; the README's benchmark table has both).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // SAFETY: first thing in the process: no thread exists yet and SQLite is unused.
    unsafe {
        cloudkestrel::sqlite_memory::install();
    }
    cli::run()
}
