//! The runner's library: the scenario model. The `smime-lab` binary (`main.rs`) uses it.
pub mod scenario;
