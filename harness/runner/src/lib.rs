//! The runner's library: the scenario model (`scenario`), running a scenario's plan against the
//! lab (`execute`), what a run found (`report`), and vendor bundles run through the conformance profile
//! (`vendor`). The `smime-lab` binary (`main.rs`) uses it.
pub mod execute;
pub mod report;
pub mod scenario;
pub mod vendor;
