//! The expected account setup (from the original CloudKestrel documentation).

pub mod account_setup;
