//! Faults the scenario did not plan, with the lab running (issue 16, item 8): a service SIGKILLed
//! while the executor's own code talks to it, through the same functions a scenario's steps call
//! (`sync::run_cycle`, `mail::send`, the tenant's OWA validation, `TenantApi::invoke`). Each fault
//! is one function here, run on the local runtime by `faults_live.rs` and on containers by
//! `faults_containers.rs`, and holds the harness to:
//!
//! - a clear failure that names the service (its URL and what was being done), never a hang: the
//!   failure arrives well inside the step's own time limit (LDAP 30 s, SMTP 30 s, the tenant's
//!   `OWACRLRetrievalTimeout` 10 s, HTTP);
//! - nothing left behind: after `stop`, no process of the lab runs and its directory is gone
//!   (local), no container and no network of the lab exist on the engine (containers);
//! - the next scenario unaffected: a catalogue scenario run afterwards in the same process passes.
//!
//! A kill is SIGKILL on both runtimes: the local runtime's `stop_service` sends it; on containers
//! the engine sends it (`docker kill`), then `stop_service` tells the lab. A service that dies
//! without the lab knowing is started again by `start_service` all the same
//! (`a_service_that_died_on_its_own_is_started_again`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{KillContainerOptions, ListContainersOptions, ListNetworksOptions};
use runner::execute::TenantApi;
use runner::execute::directory::{NewUser, add_users};
use runner::execute::sync::{Cycle, CycleError, ExportRules, SyncState, run_cycle};
use runner::execute::{RunOptions, run_scenario};
use runner::report::model::Outcome;
use serde_json::{Map, Value, json};

/// What "no hang" means here: far below every step's time limit, far above a loaded machine's
/// worst reaction to a refused connection.
pub const PROMPT: Duration = Duration::from_secs(20);

pub async fn start(config: &lab::LabConfig, runtime: lab::RuntimeChoice) -> lab::RunningLab {
    if runtime == lab::RuntimeChoice::Local {
        test_support::require_local_lab();
    }
    lab::start(config, runtime)
        .await
        .unwrap_or_else(|e| panic!("the lab starts ({runtime:?}): {e}"))
}

/// The engine the containers runtime uses (`DOCKER_HOST`, else the local socket).
pub fn docker() -> Docker {
    Docker::connect_with_defaults().expect("a Docker engine (`DOCKER_HOST` or the local socket)")
}

/// Label filters for the engine's list calls: each `label=value` must hold.
pub fn labelled(labels: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_owned(),
        labels.iter().map(|(l, v)| format!("{l}={v}")).collect(),
    )])
}

/// The names of the containers (stopped ones too) and networks on the engine that carry every
/// label of `labels`.
pub async fn engine_objects(labels: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
    let docker = docker();
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(labelled(labels)),
            ..Default::default()
        }))
        .await
        .expect("the engine lists containers")
        .into_iter()
        .flat_map(|c| c.names.unwrap_or_default())
        .map(|n| n.trim_start_matches('/').to_owned())
        .collect();
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(labelled(labels)),
        }))
        .await
        .expect("the engine lists networks")
        .into_iter()
        .filter_map(|n| n.name)
        .collect();
    (containers, networks)
}

/// The container of `service` among those carrying `labels`, running or not.
pub async fn container_of(service: lab::Service, labels: &[(&str, &str)]) -> Option<String> {
    let mut labels = labels.to_vec();
    labels.push((lab::LABEL_SERVICE, service.name()));
    engine_objects(&labels).await.0.into_iter().next()
}

/// SIGKILL to a container, through the engine.
pub async fn kill_container(name: &str) {
    docker()
        .kill_container(name, Some(KillContainerOptions::default()))
        .await
        .unwrap_or_else(|e| panic!("SIGKILL to {name}: {e}"));
}

/// Kills one service of a running lab with SIGKILL (see the module's documentation).
pub async fn kill(lab: &mut lab::RunningLab, service: lab::Service) {
    if lab.runtime() == lab::RuntimeKind::Containers {
        let run = lab.endpoints().run_id.clone();
        let name = container_of(service, &[(lab::LABEL_RUN, &run)])
            .await
            .unwrap_or_else(|| panic!("no {service} container in run {run}"));
        kill_container(&name).await;
    }
    lab.stop_service(service)
        .await
        .unwrap_or_else(|e| panic!("{service} killed: {e}"));
}

/// Stops the lab and proves it left nothing: no process alive and no directory (local), no
/// container and no network (containers), each checked on the host or the engine, not taken
/// from the lab's word.
pub async fn stop_and_check_nothing_left(lab: lab::RunningLab) {
    let resources = lab.host_resources();
    let run = lab.endpoints().run_id.clone();
    let containers = lab.runtime() == lab::RuntimeKind::Containers;
    if containers {
        let (on_engine, networks) = engine_objects(&[(lab::LABEL_RUN, &run)]).await;
        let mut listed = resources.containers.clone();
        listed.sort();
        let mut on_engine = on_engine;
        on_engine.sort();
        assert_eq!(
            listed, on_engine,
            "the lab's containers as the engine has them"
        );
        assert_eq!(resources.network.as_slice(), networks.as_slice());
        assert!(!listed.is_empty(), "{resources:?}");
    } else {
        assert!(!resources.processes.is_empty(), "{resources:?}");
    }
    lab.stop().await.expect("the lab stops");
    for pid in &resources.processes {
        let alive = Path::new(&format!("/proc/{pid}")).exists()
            && std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false);
        assert!(!alive, "process {pid} of the lab still runs after stop");
    }
    if let Some(dir) = &resources.directory {
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }
    if containers {
        let left = engine_objects(&[(lab::LABEL_RUN, &run)]).await;
        assert_eq!(
            left,
            (vec![], vec![]),
            "containers and networks left by run {run}"
        );
    }
}

/// Waits until `count` operations have completed (a minute at most: the lab is slow, not hung).
async fn wait_for(done: &AtomicU32, count: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.load(Ordering::SeqCst) < count {
        assert!(
            Instant::now() < deadline,
            "fewer than {count} operations in a minute"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn http() -> reqwest::Client {
    runner::execute::http_client().unwrap()
}

fn fixture_der(name: &str) -> Vec<u8> {
    let pem = test_support::read(test_support::fixture(&format!(
        "pki/default/{name}.crt.pem"
    )));
    der::pem::decode_vec(&pem).unwrap().1
}

fn params(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The steps of a report that did not pass, with what they say.
pub fn not_passed(report: &runner::report::model::ScenarioReport) -> Vec<String> {
    report
        .steps
        .iter()
        .filter(|s| s.outcome != Outcome::Passed)
        .map(|s| format!("{}: {:?}", s.title, s.actual))
        .collect()
}

/// A catalogue scenario, on a lab of its own, passes: what came before left nothing in its way.
pub async fn next_scenario_passes(runtime: lab::RuntimeChoice) {
    let out = tempfile::tempdir().unwrap();
    let path = test_support::repo_root().join("scenarios/rsa-happy-path.yaml");
    let loaded = scenario::load(&path).unwrap();
    let report = run_scenario(
        &loaded,
        &RunOptions {
            runtime,
            out_dir: out.path().join("rsa-happy-path"),
            snapshot_dir: test_support::repo_root().join("scenarios/snapshots"),
            binaries: lab::Binaries::default(),
            keys: std::sync::Arc::new(smime::key::Generated),
        },
    )
    .await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let bad = not_passed(&report);
    assert!(bad.is_empty(), "{bad:#?}");
}

/// slapd is killed while Entra Connect's cycles run back to back: the cycle in flight ends with
/// an error naming the directory, promptly; the lab stops clean; a scenario afterwards passes.
pub async fn slapd_killed_during_a_sync_cycle(runtime: lab::RuntimeChoice) {
    let config = lab::LabConfig::default().only([lab::Service::Directory, lab::Service::Tenant]);
    let mut lab = start(&config, runtime).await;
    let endpoints = lab.endpoints().clone();
    let directory = endpoints.directory().unwrap().clone();
    let tenant = TenantApi::new(http(), endpoints.tenant().unwrap().clone());
    let alice = fixture_der("alice");
    let users: Vec<NewUser> = (0..400)
        .map(|n| NewUser {
            id: format!("user{n:04}"),
            mail: format!("user{n:04}@contoso.com"),
            anchor: format!("anchor-{n:04}"),
            user_certificate: vec![alice.clone()],
            user_smime_certificate: Vec::new(),
            proxy_addresses: Vec::new(),
        })
        .collect();
    add_users(&directory, &users).await.expect("users added");

    // Cycles back to back until one fails; the directory is killed while they run.
    let done = Arc::new(AtomicU32::new(0));
    let cycles = tokio::spawn({
        let tenant = tenant.clone();
        let directory = directory.clone();
        let done = done.clone();
        async move {
            let mut state = SyncState::default();
            loop {
                match run_cycle(
                    &tenant,
                    &directory,
                    &mut state,
                    Cycle::Full,
                    ExportRules::default(),
                )
                .await
                {
                    Ok(_) => {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => return (done.load(Ordering::SeqCst), e, Instant::now()),
                }
            }
        }
    });
    wait_for(&done, 2).await;
    // Into the next cycle: its directory read or its export.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let killed = Instant::now();
    kill(&mut lab, lab::Service::Directory).await;
    let (completed, error, failed) = tokio::time::timeout(PROMPT * 2, cycles)
        .await
        .expect("the cycle in flight ends, not hangs")
        .unwrap();
    assert!(completed >= 1, "no cycle completed before the kill");
    assert!(
        failed.saturating_duration_since(killed) < PROMPT,
        "the cycle took {:?} to notice",
        failed.saturating_duration_since(killed)
    );
    let text = error.to_string();
    assert!(matches!(error, CycleError::Directory(_)), "{text}");
    assert!(
        text.contains("the directory at ldap://") && text.contains("did not answer"),
        "{text}"
    );
    // A cycle started after the kill fails at once, the same way.
    let started = Instant::now();
    let again = run_cycle(
        &tenant,
        &directory,
        &mut SyncState::default(),
        Cycle::Full,
        ExportRules::default(),
    )
    .await
    .expect_err("the directory is down");
    assert!(started.elapsed() < PROMPT);
    assert!(again.to_string().contains("did not answer"), "{again}");
    // The tenant kept what the completed cycles exported.
    let mailboxes = tenant.invoke("Get-Mailbox", Map::new()).await.unwrap();
    assert_eq!(mailboxes.objects.len(), users.len());
    stop_and_check_nothing_left(lab).await;

    next_scenario_passes(runtime).await;
}

/// The SMTP sink is killed while messages are being sent: the send in flight fails naming the
/// sink, promptly, and nothing hangs.
pub async fn smtp_sink_down_during_a_send(runtime: lab::RuntimeChoice) {
    let config = lab::LabConfig::default().only([lab::Service::Smtp]);
    let mut lab = start(&config, runtime).await;
    let smtp = lab.endpoints().smtp().unwrap().clone();
    // A message large enough that a send takes a moment.
    let mut message = b"From: alice@contoso.com\r\nTo: bob@contoso.com\r\nSubject: fault\r\nMessage-ID: <fault@contoso.com>\r\n\r\n".to_vec();
    for _ in 0..20_000 {
        message.extend_from_slice(
            b"0123456789012345678901234567890123456789012345678901234567890123456789\r\n",
        );
    }
    let done = Arc::new(AtomicU32::new(0));
    let sends = tokio::spawn({
        let smtp = smtp.clone();
        let done = done.clone();
        async move {
            loop {
                match runner::execute::mail::send(
                    &smtp,
                    "alice@contoso.com",
                    &["bob@contoso.com".to_owned()],
                    &message,
                )
                .await
                {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => return (done.load(Ordering::SeqCst), e, Instant::now()),
                }
            }
        }
    });
    wait_for(&done, 2).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let killed = Instant::now();
    kill(&mut lab, lab::Service::Smtp).await;
    let (sent, error, failed) = tokio::time::timeout(PROMPT * 2, sends)
        .await
        .expect("the send in flight ends, not hangs")
        .unwrap();
    assert!(sent >= 1, "no message went through before the kill");
    assert!(failed.saturating_duration_since(killed) < PROMPT);
    let text = error.to_string();
    assert!(
        text.contains(&format!("the SMTP sink at {}", smtp.smtp)),
        "{text}"
    );
    // The sink back, the next send goes through (and the lab has a process again to prove it
    // stops).
    lab.start_service(lab::Service::Smtp)
        .await
        .expect("sink started again");
    let smtp = lab.endpoints().smtp().unwrap().clone();
    runner::execute::mail::send(&smtp, "alice@contoso.com", &["bob@contoso.com".to_owned()], b"From: alice@contoso.com\r\nTo: bob@contoso.com\r\nSubject: after\r\nMessage-ID: <after@contoso.com>\r\n\r\nafter\r\n")
        .await
        .expect("a send after the sink came back");
    stop_and_check_nothing_left(lab).await;
}

/// pki-web goes down while the tenant validates certificates as Outlook on the web does: the
/// validations before say `valid` with every CRL fetched; the one after says `crl-unreachable`
/// with Exchange's text and the CRL's URL, inside `OWACRLRetrievalTimeout`.
pub async fn pki_web_down_during_validation(runtime: lab::RuntimeChoice) {
    let mut config = lab::LabConfig::default().only([lab::Service::Tenant, lab::Service::PkiWeb]);
    config.pki_web =
        lab::PkiWebContent::from_pki_dir(&test_support::fixture("pki/default")).unwrap();
    config.tenant.crl_hosts = vec!["pki.contoso.com".into()];
    // Inside the issuing CA's CRL's validity (2026-01-01 to 2026-01-08).
    config.tenant.now = Some("2026-01-02T00:00:00Z".into());
    let mut lab = start(&config, runtime).await;
    let endpoints = lab.endpoints().clone();
    let tenant = TenantApi::new(http(), endpoints.tenant().unwrap().clone());
    let sst = smime::sst::write_sst(&[fixture_der("root"), fixture_der("issuing")]).unwrap();
    tenant
        .invoke(
            "Set-SmimeConfig",
            params(json!({"SMIMECertificateIssuingCA": b64(&sst)})),
        )
        .await
        .expect("Set-SmimeConfig");
    let path = format!("/lab/owa/{}/validate", endpoints.tenant().unwrap().tenant);
    let body = json!({"certificate": b64(&fixture_der("alice")), "purpose": "send"});
    let validate = || async {
        let started = Instant::now();
        let answer = tenant
            .lab_call(
                "OWA validation",
                reqwest::Method::POST,
                &path,
                Some(&body),
                None,
            )
            .await
            .expect("the tenant answers");
        (answer, started.elapsed())
    };
    let (before, _) = validate().await;
    assert_eq!(before["status"], "valid", "{before:#}");

    kill(&mut lab, lab::Service::PkiWeb).await;
    let (after, took) = validate().await;
    assert_eq!(after["status"], "crl-unreachable", "{after:#}");
    let reasons = after["reasons"].to_string();
    assert!(
        reasons.contains(smime::cms::path::CRL_OFFLINE_TEXT),
        "{reasons}"
    );
    assert!(
        after.to_string().contains("http://pki.contoso.com/crl/"),
        "{after:#}"
    );
    assert!(took < Duration::from_secs(10) + PROMPT, "took {took:?}");
    stop_and_check_nothing_left(lab).await;
}

/// The tenant is killed between two cmdlets: the second fails naming the tenant, promptly; once
/// it is started again it answers with everything the first cmdlet changed (committed before it
/// answered).
pub async fn tenant_killed_between_two_cmdlets(runtime: lab::RuntimeChoice) {
    let config = lab::LabConfig::default().only([lab::Service::Tenant]);
    let mut lab = start(&config, runtime).await;
    let tenant = TenantApi::new(http(), lab.endpoints().tenant().unwrap().clone());
    tenant
        .invoke(
            "Set-SmimeConfig",
            params(json!({"OWAAlwaysSign": true, "OWACheckCRLOnSend": true})),
        )
        .await
        .expect("the first cmdlet");

    kill(&mut lab, lab::Service::Tenant).await;
    let started = Instant::now();
    let error = tenant
        .invoke("Get-SmimeConfig", Map::new())
        .await
        .expect_err("the tenant is down");
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
    let text = error.to_string();
    assert!(
        text.contains("the mock tenant at http://") && text.contains("did not answer"),
        "{text}"
    );

    lab.start_service(lab::Service::Tenant)
        .await
        .expect("tenant started again");
    let tenant = TenantApi::new(http(), lab.endpoints().tenant().unwrap().clone());
    let config = tenant
        .invoke("Get-SmimeConfig", Map::new())
        .await
        .expect("the tenant answers again");
    assert_eq!(
        config.objects[0]["OWAAlwaysSign"], true,
        "{:?}",
        config.objects
    );
    assert_eq!(config.objects[0]["OWACheckCRLOnSend"], true);
    stop_and_check_nothing_left(lab).await;
}

/// SIGKILL to a service from outside the lab (its process, or its container on the engine), so
/// the lab's own record still says it runs.
async fn kill_behind_the_labs_back(lab: &lab::RunningLab, service: lab::Service) {
    if lab.runtime() == lab::RuntimeKind::Containers {
        let run = lab.endpoints().run_id.clone();
        let name = container_of(service, &[(lab::LABEL_RUN, &run)])
            .await
            .unwrap_or_else(|| panic!("no {service} container in run {run}"));
        kill_container(&name).await;
        return;
    }
    let binary = match service {
        lab::Service::Tenant => "mock-tenant",
        other => panic!("no process name for {other}"),
    };
    let pid = lab
        .host_resources()
        .processes
        .into_iter()
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| String::from_utf8_lossy(&line).contains(binary))
        })
        .unwrap_or_else(|| panic!("no {binary} process in the lab"));
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -KILL {pid}");
    // Wait until the kernel has taken it (a zombie still has /proc/PID until reaped).
    let deadline = Instant::now() + PROMPT;
    while Instant::now() < deadline
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z "))
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A service that died on its own (crashed, or killed from outside the lab) is started again by
/// `start_service`, though the lab had started it and never stopped it: the lab asks the
/// process or the engine, not its own record.
pub async fn a_service_that_died_on_its_own_is_started_again(runtime: lab::RuntimeChoice) {
    let config = lab::LabConfig::default().only([lab::Service::Tenant]);
    let mut lab = start(&config, runtime).await;
    let tenant = TenantApi::new(http(), lab.endpoints().tenant().unwrap().clone());
    tenant
        .invoke("Set-SmimeConfig", params(json!({"OWAAlwaysSign": true})))
        .await
        .expect("the first cmdlet");

    kill_behind_the_labs_back(&lab, lab::Service::Tenant).await;
    tenant
        .invoke("Get-SmimeConfig", Map::new())
        .await
        .expect_err("the tenant is down");

    lab.start_service(lab::Service::Tenant)
        .await
        .expect("tenant started again");
    let tenant = TenantApi::new(http(), lab.endpoints().tenant().unwrap().clone());
    let config = tenant
        .invoke("Get-SmimeConfig", Map::new())
        .await
        .expect("the tenant answers again");
    assert_eq!(config.objects[0]["OWAAlwaysSign"], true);
    stop_and_check_nothing_left(lab).await;
}
