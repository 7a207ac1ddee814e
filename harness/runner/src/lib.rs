//! The runner's library: running a scenario's plan against the lab (`execute`), what a run found
//! (`report`), the exit codes (`exit`), and vendor bundles run through the conformance profile (`vendor`). The scenario
//! format itself (model, loading, validation, plan) is the `scenario` crate. The `smime-lab`
//! binary (`main.rs`) uses it.
pub mod colour;
pub mod execute;
pub mod exit;
pub mod ledger;
pub mod report;
pub mod vendor;
