//! CloudKestrel: audits the security of AWS accounts.
//!
//! `collect` turns an account into a SQLite snapshot; `evaluate` reads snapshots into
//! the typed [`model::Account`], applies the rules configured in targets.json and writes
//! a JSON and an HTML report per target. Evaluation is offline and deterministic.

pub mod apply;
pub mod collect;
pub mod evaluate;
pub mod fixture;
pub mod interrupt;
pub mod json_input;
pub mod model;
pub mod policy;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod sqlite_memory;
pub mod suggest;
pub mod targets;
pub mod triage;
pub mod untrusted;

/// The process exit codes (see [`Exit::worst`] for their precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every result passed.
    Pass = 0,
    /// At least one result failed.
    Fail = 1,
    /// A target could not be fully audited (an error result, an unreadable snapshot).
    Incomplete = 3,
    /// Invalid input or usage; nothing was evaluated.
    Usage = 2,
    /// Stopped by SIGINT (Ctrl-C): 128 + 2, the shells' convention.
    Interrupted = 130,
    /// Stopped by SIGTERM: 128 + 15.
    Terminated = 143,
}

impl Exit {
    /// Combines outcomes: an interruption beats 2, which beats 3, which beats 1, which
    /// beats 0.
    pub fn worst(self, other: Exit) -> Exit {
        fn rank(e: Exit) -> u8 {
            match e {
                Exit::Pass => 0,
                Exit::Fail => 1,
                Exit::Incomplete => 2,
                Exit::Usage => 3,
                Exit::Interrupted | Exit::Terminated => 4,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The exit-code table, for `--help` and the README.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  every result passed
  1  at least one result failed
  2  invalid input or usage (nothing evaluated)
  3  a target could not be fully audited (an error result, an unreadable snapshot)
  130  collect or audit stopped by Ctrl-C (SIGINT); 143 by SIGTERM
  When several apply: 2, then 3, then 1.";

#[cfg(test)]
mod tests {
    use super::Exit::*;

    #[test]
    fn exit_precedence_is_2_then_3_then_1() {
        assert_eq!(Usage.worst(Incomplete), Usage);
        assert_eq!(Incomplete.worst(Usage), Usage);
        assert_eq!(Fail.worst(Incomplete), Incomplete);
        assert_eq!(Incomplete.worst(Fail), Incomplete);
        assert_eq!(Pass.worst(Fail), Fail);
        assert_eq!(Pass.worst(Pass), Pass);
    }
}
