//! Triage: what a team decided about findings, applied after the rules and before the
//! reports. Rules stay pure verdicts; triage never changes a status: a suppressed
//! failure is still a `fail`, marked with the suppression that accepts it, and an
//! `error` is never suppressed.

pub mod suppressions;
