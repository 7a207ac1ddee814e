//! The Docker runtime: the same checks as `tests/local.rs` (`common::runtime_tests!`), against containers of the images
//! `cargo xtask images` builds. No Docker engine or a missing image fails these tests (with the
//! hint to run `cargo xtask images`); they never skip.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use lab::{Containers, RuntimeChoice, Service};

const RUNTIME: RuntimeChoice = RuntimeChoice::Containers;

common::runtime_tests!(RUNTIME);

/// The containers and network of a run, by the labels the lab puts on them.
fn run_objects(run_id: &str) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let filter = format!("label=org.smime-lab.run={run_id}");
    let list = |args: &[&str]| -> anyhow::Result<Vec<String>> {
        let output = std::process::Command::new("docker").args(args).output()?;
        anyhow::ensure!(output.status.success(), "docker {args:?} failed");
        Ok(String::from_utf8(output.stdout)?
            .lines()
            .map(str::to_owned)
            .collect())
    };
    Ok((
        list(&["ps", "-a", "-q", "--filter", &filter])?,
        list(&["network", "ls", "-q", "--filter", &filter])?,
    ))
}

/// The whole lab at once: services reach each other by name on the run's network, and the
/// lab's in-lab URLs say so.
#[tokio::test]
async fn services_reach_each_other_by_name() -> anyhow::Result<()> {
    let lab = common::start(RUNTIME, &Service::ALL).await?;
    let endpoints = lab.endpoints().clone();
    let result = async {
        let pki = endpoints.pki_web()?;
        anyhow::ensure!(pki.lab_url == "http://pki-web", "{}", pki.lab_url);
        // From inside the smtp container (no curl in minbase): bash's /dev/tcp to pki-web.
        let container = format!("smime-lab-{}-smtp", endpoints.run_id);
        let output = std::process::Command::new("docker")
            .args(["exec", &container, "bash", "-c"])
            .arg("exec 3<>/dev/tcp/pki-web/80 && printf 'GET /crl/issuing.crl HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3")
            .output()?;
        let status = String::from_utf8_lossy(&output.stdout);
        anyhow::ensure!(
            status.starts_with("HTTP/1.1 200"),
            "GET http://pki-web/crl/issuing.crl from the smtp container: {status:?} {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }
    .await;
    lab.stop().await?;
    result
}

/// stop() and Drop (an error or a panic in the owner) both leave no container or network.
#[tokio::test]
async fn nothing_left_behind() -> anyhow::Result<()> {
    let lab = common::start(RUNTIME, &[Service::PkiWeb]).await?;
    let run = lab.endpoints().run_id.clone();
    let (containers, networks) = run_objects(&run)?;
    anyhow::ensure!(
        containers.len() == 1 && networks.len() == 1,
        "{containers:?} {networks:?}"
    );
    // What the lab says it owns is what the engine holds for the run.
    let resources = lab.host_resources();
    anyhow::ensure!(
        resources.containers == [format!("smime-lab-{run}-pki-web")]
            && resources.network == Some(format!("smime-lab-{run}"))
            && resources.processes.is_empty(),
        "{resources:?}"
    );
    lab.stop().await?;
    anyhow::ensure!(run_objects(&run)? == (vec![], vec![]), "left after stop()");

    let lab = common::start(RUNTIME, &[Service::PkiWeb]).await?;
    let run = lab.endpoints().run_id.clone();
    let panicked = tokio::spawn(async move {
        let _lab = lab;
        panic!("a test failing with a lab in hand");
    })
    .await;
    anyhow::ensure!(panicked.is_err_and(|e| e.is_panic()));
    anyhow::ensure!(run_objects(&run)? == (vec![], vec![]), "left after a panic");
    Ok(())
}

/// A container labelled as a lab run owned by `pid` on this host.
fn fake_run(run: &str, pid: &str) -> anyhow::Result<()> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")?
        .trim()
        .to_owned();
    let labels: HashMap<&str, String> = HashMap::from([
        ("org.smime-lab.lab", "1".to_owned()),
        ("org.smime-lab.run", run.to_owned()),
        ("org.smime-lab.owner-host", host),
        ("org.smime-lab.owner-pid", pid.to_owned()),
    ]);
    let mut create = std::process::Command::new("docker");
    create.args(["create", "--name", &format!("smime-lab-{run}")]);
    for (key, value) in &labels {
        create.args(["--label", &format!("{key}={value}")]);
    }
    create.arg(lab::images::BASE.reference()).arg("true");
    let output = create.output()?;
    anyhow::ensure!(
        output.status.success(),
        "docker create: {} (run `cargo xtask images`)",
        String::from_utf8_lossy(&output.stderr)
    );
    anyhow::ensure!(run_objects(run)?.0.len() == 1);
    Ok(())
}

/// A lab whose owner died without cleaning up (SIGKILL) is removed by the next one started; a
/// live owner's lab is left alone unless asked for by run id.
#[tokio::test]
async fn orphans_of_dead_owners_are_removed() -> anyhow::Result<()> {
    let live = format!("live-{}", std::process::id());
    fake_run(&live, &std::process::id().to_string())?;
    let run = format!("orphan-{}", std::process::id());
    // Above any pid_max: never a live process.
    fake_run(&run, "4294967295")?;
    // Every lab start reaps orphans too, so a test starting a lab in parallel may get there
    // first: what must hold is that the orphan is gone once clean_up returns.
    let removed = Containers.clean_up(None).await?;
    anyhow::ensure!(
        run_objects(&run)?.0.is_empty(),
        "the orphan survived clean_up (which removed {removed:?})"
    );
    anyhow::ensure!(
        run_objects(&live)?.0.len() == 1,
        "clean_up removed a run whose owner is alive"
    );
    Containers.clean_up(Some(&live)).await?;
    anyhow::ensure!(run_objects(&live)?.0.is_empty(), "clean_up(run) left it");
    Ok(())
}
