//! Shared by the integration test binaries (each `mod support;` takes what it uses).
#![allow(dead_code)]

pub mod fault_proxy;
pub mod moto;
