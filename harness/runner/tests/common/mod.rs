//! Helpers shared by the runner's integration tests.
#![allow(dead_code)]
pub mod faults;
pub mod openssl_bundle;
pub mod preflight_pki;
