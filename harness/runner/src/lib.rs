//! The runner's library: running a scenario's plan against the lab (`execute`), what a run found
//! (`report`), the exit codes (`exit`), vendor bundles run through the conformance profile (`vendor`), and the rollout preflight of an organisation's own material (`preflight`). The scenario
//! format itself (model, loading, validation, plan) is the `scenario` crate. The `smime-lab`
//! binary (`main.rs`) uses it.
pub mod colour;
pub mod execute;
pub mod exit;
pub mod ledger;
pub mod preflight;
pub mod report;
pub mod vendor;
