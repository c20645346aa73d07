//! Ctrl-C (SIGINT) and SIGTERM (a cancelled CI job) during `collect` and `audit`.
//!
//! [`watch`] takes over both signals for the rest of the process. At the first one the
//! snapshot writes in progress are abandoned ([`snapshot::abandon_writes`]: they stop
//! at their next SQLite step and remove their temporary files) and, once they are gone,
//! the process exits with [`Exit::Interrupted`] (130) or [`Exit::Terminated`] (143):
//! the requests in flight are dropped, nothing more is written or evaluated, and the
//! snapshots already complete stay. A second signal while writes are being abandoned
//! exits at once. During `audit`'s evaluation ([`evaluating`]) the process exits at
//! once too, saying the reports of the run may be incomplete.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::{snapshot, Exit};

/// Set when `audit` has collected and evaluates.
static EVALUATING: AtomicBool = AtomicBool::new(false);

/// Tells [`watch`] that collection is over and evaluation begins.
pub fn evaluating() {
    EVALUATING.store(true, Ordering::SeqCst);
}

/// Which signal stopped the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
}

impl Stop {
    pub fn exit(self) -> Exit {
        match self {
            Stop::Interrupt => Exit::Interrupted,
            Stop::Terminate => Exit::Terminated,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
        }
    }
}

/// The signals, registered when made (so a signal between [`watch`] and the first
/// poll is not lost to the default action).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn register() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn register() -> std::io::Result<Signals> {
        Ok(Signals {})
    }

    #[cfg(unix)]
    async fn next(&mut self) -> Stop {
        tokio::select! {
            _ = self.interrupt.recv() => Stop::Interrupt,
            _ = self.terminate.recv() => Stop::Terminate,
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Stop {
        // Only Ctrl-C exists there; should listening fail, wait forever (the default
        // action then never applies, as with a registered handler).
        match tokio::signal::ctrl_c().await {
            Ok(()) => Stop::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }
}

/// Handles SIGINT and SIGTERM on `runtime` from now on, as the module says. `on_stop`
/// runs just before the process exits (to clear progress bars). When the signals
/// cannot be registered, their default action stays (the process is killed: the
/// temporary file of a write in progress then stays, and the next `collect` removes
/// it), and why is logged.
pub fn watch(runtime: &tokio::runtime::Runtime, on_stop: impl FnOnce() + Send + 'static) {
    let _in_runtime = runtime.enter();
    let mut signals = match Signals::register() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot handle Ctrl-C (it will stop cloudkestrel abruptly): {e}");
            return;
        }
    };
    runtime.spawn(async move {
        let stop = signals.next().await;
        snapshot::abandon_writes();
        // The writes stop at their next SQLite step; waiting for them blocks, so on a
        // blocking thread, while a second signal still ends the wait.
        tokio::select! {
            _ = tokio::task::spawn_blocking(snapshot::wait_for_writes) => {}
            _ = signals.next() => {}
        }
        on_stop();
        if EVALUATING.load(Ordering::SeqCst) {
            eprintln!(
                "interrupted ({}) while evaluating: stopped; the reports of this run may be incomplete",
                stop.name()
            );
        } else {
            eprintln!(
                "interrupted ({}): collection stopped; the snapshots completed before stay, no temporary file is left, nothing is evaluated",
                stop.name()
            );
        }
        std::process::exit(stop.exit().code().into());
    });
}
