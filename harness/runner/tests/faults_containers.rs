#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic: a failed expectation is a failed test
//! Faults the scenario did not plan, with the lab running (issue 16, item 8), on the containers
//! runtime:
//!
//! - the four faults of `common/faults.rs` (also run locally by `faults_live.rs`), each
//!   container SIGKILLed through the engine while the executor's own code talks to it; "nothing
//!   left behind" is no container and no network of the lab on the engine after `stop`;
//! - a fault arriving while `runner::execute::run_scenario` runs a whole scenario: the test holds
//!   no lab handle, so it watches the engine for the containers its own process owns
//!   (`lab::LABEL_OWNER_PID`) and kills one (the directory; the SMTP sink) when the tenant logs
//!   the scenario's first Entra Connect export. The report must say which step met the fault
//!   and name the service; the scenario must end (no hang), leave nothing on the engine, and the
//!   next scenario in the same process must pass.
//!
//! Needs the images `cargo xtask images` builds; no engine or a missing image fails the tests.

mod common;

use std::time::{Duration, Instant};

use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt as _;
use runner::execute::{RunOptions, run_scenario};
use runner::report::model::{Outcome, Stage};

use common::faults::{self, PROMPT};

const RUNTIME: lab::RuntimeChoice = lab::RuntimeChoice::Containers;

#[tokio::test]
async fn slapd_killed_during_a_sync_cycle_in_containers() {
    faults::slapd_killed_during_a_sync_cycle(RUNTIME).await;
}

#[tokio::test]
async fn smtp_sink_down_during_a_send_in_containers() {
    faults::smtp_sink_down_during_a_send(RUNTIME).await;
}

#[tokio::test]
async fn pki_web_down_during_validation_in_containers() {
    faults::pki_web_down_during_validation(RUNTIME).await;
}

#[tokio::test]
async fn tenant_killed_between_two_cmdlets_in_containers() {
    faults::tenant_killed_between_two_cmdlets(RUNTIME).await;
}

#[tokio::test]
async fn a_service_that_died_on_its_own_is_started_again_in_containers() {
    faults::a_service_that_died_on_its_own_is_started_again(RUNTIME).await;
}

/// The labels of every lab object this test process owns (nextest runs each test in a process
/// of its own, so these are this test's labs only).
fn my_pid() -> String {
    std::process::id().to_string()
}

/// Waits (up to `limit`) for a running container of `service` owned by this process.
async fn running_container(service: lab::Service, limit: Duration) -> String {
    let pid = my_pid();
    let deadline = Instant::now() + limit;
    loop {
        let listed = faults::docker()
            .list_containers(Some(bollard::query_parameters::ListContainersOptions {
                all: false,
                filters: Some(faults::labelled(&[
                    (lab::LABEL_OWNER_PID, pid.as_str()),
                    (lab::LABEL_SERVICE, service.name()),
                ])),
                ..Default::default()
            }))
            .await
            .expect("the engine lists containers");
        if let Some(name) = listed
            .into_iter()
            .flat_map(|c| c.names.unwrap_or_default())
            .next()
        {
            return name.trim_start_matches('/').to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no running {service} container of this process in {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Follows `container`'s output until a line holds `needle`; false when the container's output
/// ended (it stopped) first.
async fn logged(container: &str, needle: &str) -> bool {
    let docker = faults::docker();
    let mut logs = docker.logs(
        container,
        Some(LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            tail: "all".into(),
            ..Default::default()
        }),
    );
    let mut seen = String::new();
    while let Some(Ok(chunk)) = logs.next().await {
        seen.push_str(&chunk.to_string());
        if seen.contains(needle) {
            return true;
        }
        // Keep only the unfinished last line.
        if let Some(end) = seen.rfind('\n') {
            seen.drain(..=end);
        }
    }
    false
}

/// A scenario of the catalogue run by `run_scenario` on containers, with `victim`'s container
/// SIGKILLed as soon as the scenario's tenant logs its first Entra Connect export (the end of the
/// setup step "create users", which touches the directory no more after it). Checks what every
/// such fault must give and returns the report and the first step that did not pass:
///
/// - the kill came while the scenario ran, and the scenario ended (no hang) without `error`;
/// - every step before that one passed, that one's outcome is `error` (a service that should
///   answer did not: the executor's outcome for an outage nobody planned), and it says `names`;
/// - nothing of the scenario's lab is left on the engine;
/// - the next scenario, in the same process, passes.
async fn faulted(
    scenario: &str,
    edits: &[(&str, &str)],
    victim: lab::Service,
    names: &[&str],
) -> (runner::report::model::ScenarioReport, usize) {
    // Nothing of this process's on the engine before the scenario: what is found afterwards
    // is the scenario's.
    let pid = my_pid();
    let mine = [(lab::LABEL_OWNER_PID, pid.as_str())];
    assert_eq!(faults::engine_objects(&mine).await, (vec![], vec![]));
    let watcher = tokio::spawn(async move {
        // Planning the PKI and starting four containers take a while on a loaded machine:
        // minutes, not hours.
        let tenant = running_container(lab::Service::Tenant, Duration::from_secs(400)).await;
        assert!(
            logged(&tenant, "sync export applied").await,
            "the scenario's tenant stopped before its first export"
        );
        let container = running_container(victim, PROMPT).await;
        faults::kill_container(&container).await;
        (container, Instant::now())
    });

    // The catalogue's file, edited in a copy; snapshots compared in a copy of their directory
    // too, so that a faulted run never leaves a `.snap.new` in the repository.
    let out = tempfile::tempdir().unwrap();
    let repo = test_support::repo_root();
    let mut text = String::from_utf8(test_support::read(
        repo.join(format!("scenarios/{scenario}.yaml")),
    ))
    .unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{scenario}.yaml has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let path = test_support::write(out.path(), &format!("{scenario}.yaml"), text.as_bytes());
    let loaded = scenario::load(&path).unwrap();
    let snapshots = out.path().join("snapshots");
    std::fs::create_dir(&snapshots).unwrap();
    for entry in std::fs::read_dir(repo.join("scenarios/snapshots")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), snapshots.join(entry.file_name())).unwrap();
    }
    let options = RunOptions {
        runtime: RUNTIME,
        out_dir: out.path().join(scenario),
        snapshot_dir: snapshots,
        binaries: lab::Binaries::default(),
        keys: std::sync::Arc::new(smime::key::Generated),
    };
    // Far below nextest's bound for the group (ten minutes), which the next scenario shares: a
    // scenario that does not end is reported here, with what was killed.
    let report = tokio::time::timeout(Duration::from_secs(420), run_scenario(&loaded, &options))
        .await
        .expect("the scenario ends after the kill, not hangs");
    let finished = Instant::now();
    let (killed, at) = watcher.await.expect("the service was killed");
    assert!(at < finished, "the kill came after the scenario ended");
    assert!(killed.ends_with(&format!("-{}", victim.name())), "{killed}");

    assert!(report.error.is_none(), "{:?}", report.error);
    let first = report
        .steps
        .iter()
        .position(|s| s.outcome != Outcome::Passed)
        .expect("a step did not pass");
    assert!(first >= 1, "no step passed before the fault");
    let step = &report.steps[first];
    let says = step.actual.clone().unwrap_or_default();
    assert_eq!(step.outcome, Outcome::Error, "{}: {says}", step.title);
    assert_eq!(report.outcome, Outcome::Error);
    assert!(
        names.iter().any(|name| says.contains(name)),
        "{}: {says}",
        step.title
    );
    // The lab was stopped clean: nothing of this process's is left on the engine.
    assert_eq!(
        faults::engine_objects(&mine).await,
        (vec![], vec![]),
        "left behind by the faulted scenario"
    );

    faults::next_scenario_passes(RUNTIME).await;
    assert_eq!(faults::engine_objects(&mine).await, (vec![], vec![]));
    (report, first)
}

/// slapd is killed while `generated-population` (1,001 users) runs: the first step that does not
/// pass is one that talks to the directory (publishing the users' certificates, or a sync cycle
/// if the kill was slow), naming the directory's URL as not answering; the sync cycles after it
/// fail promptly, not at their 30 s limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slapd_killed_while_a_scenario_runs_in_containers() {
    let (report, first) = faulted(
        "generated-population",
        &[],
        lab::Service::Directory,
        &["the directory at ldap://"],
    )
    .await;
    let step = &report.steps[first];
    let says = step.actual.clone().unwrap_or_default();
    assert!(
        matches!(step.stage, Stage::Publish | Stage::Sync) && says.contains("did not answer"),
        "{}: {says}",
        step.title
    );
    // The last sync cycle comes long after the kill (two thousand publishes before it): the
    // directory is down for it, and it says so at once, as does every cycle that met the fault.
    let cycles: Vec<_> = report
        .steps
        .iter()
        .filter(|s| s.stage == Stage::Sync && s.title.starts_with("sync:"))
        .collect();
    let last = cycles.last().expect("the scenario's sync cycles");
    let last_says = last.actual.clone().unwrap_or_default();
    assert_eq!(last.outcome, Outcome::Error, "{}: {last_says}", last.title);
    assert!(
        last_says.contains("the directory at ldap://") && last_says.contains("did not answer"),
        "{}: {last_says}",
        last.title
    );
    for cycle in cycles.iter().filter(|s| s.outcome != Outcome::Passed) {
        assert!(
            Duration::from_millis(cycle.duration_ms) < PROMPT,
            "{} took {} ms to fail",
            cycle.title,
            cycle.duration_ms
        );
    }
}

/// The SMTP sink is killed while `rsa-happy-path` runs, before or during its three messages: the
/// first step that does not pass is a message, which could not be carried through because the
/// sink (its SMTP port, or its API reading the message back) did not answer; every message from
/// there on fails the same way, promptly. Two hundred generated users join alice and carol, so
/// that publishing, syncing, looking them up and installing their identities take seconds
/// between the kill and the messages (without them, a tenth of a second: a kill slower than that
/// on a loaded machine would miss).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_sink_killed_while_a_scenario_runs_in_containers() {
    let (report, first) = faulted(
        "rsa-happy-path",
        &[(
            "users: [alice, carol]",
            r#"users: [alice, carol, { generate: 200, name: "user{n:04}", key: ecdsa-p256 }]"#,
        )],
        lab::Service::Smtp,
        &["the SMTP sink at ", "the sink's API at "],
    )
    .await;
    let step = &report.steps[first];
    assert_eq!(step.stage, Stage::Messages, "{}", step.title);
    for message in report.steps[first..]
        .iter()
        .filter(|s| s.stage == Stage::Messages)
    {
        let says = message.actual.clone().unwrap_or_default();
        assert_eq!(message.outcome, Outcome::Error, "{}: {says}", message.title);
        assert!(
            says.contains("the message could not be carried through")
                && (says.contains("the SMTP sink at ") || says.contains("the sink's API at ")),
            "{}: {says}",
            message.title
        );
        assert!(
            Duration::from_millis(message.duration_ms) < PROMPT,
            "{} took {} ms to fail",
            message.title,
            message.duration_ms
        );
    }
}
