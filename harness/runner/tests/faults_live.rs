#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic: a failed expectation is a failed test
//! Faults the scenario did not plan, with the lab running (issue 16, item 8), in the local
//! runtime: a service SIGKILLed (`RunningLab::stop_service`) while the executor's own code talks
//! to it. The faults and what each proves are in `common/faults.rs`, shared with
//! `faults_containers.rs`, which runs them on containers.
//!
//! Needs what `execute_services.rs` needs: `slapd`, `slapadd`, `nginx` and our binaries.

mod common;

use common::faults;

const RUNTIME: lab::RuntimeChoice = lab::RuntimeChoice::Local;

#[tokio::test]
async fn slapd_killed_during_a_sync_cycle() {
    faults::slapd_killed_during_a_sync_cycle(RUNTIME).await;
}

#[tokio::test]
async fn smtp_sink_down_during_a_send() {
    faults::smtp_sink_down_during_a_send(RUNTIME).await;
}

#[tokio::test]
async fn pki_web_down_during_validation() {
    faults::pki_web_down_during_validation(RUNTIME).await;
}

#[tokio::test]
async fn tenant_killed_between_two_cmdlets() {
    faults::tenant_killed_between_two_cmdlets(RUNTIME).await;
}

#[tokio::test]
async fn a_service_that_died_on_its_own_is_started_again() {
    faults::a_service_that_died_on_its_own_is_started_again(RUNTIME).await;
}
