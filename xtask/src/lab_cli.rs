//! `cargo xtask lab up|down|status`: a lab with the default fixtures (the Contoso directory, the
//! SMTP sink, the mock tenant, pki-web serving `fixtures/pki/default`'s CRLs and CA certificates)
//! for a person to poke with ldapsearch, swaks and curl.
//!
//! `up` builds our binaries, starts the lab, prints every endpoint and credential, records them in
//! `target/smime-lab/lab.json` (mode 0600: it holds passwords) and runs until Ctrl-C or SIGTERM,
//! which is what `down` sends. If the owner was killed outright, `down` removes what it left
//! (the run's containers and network, or its processes and temporary directory).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use lab::{
    Endpoints, HostResources, LabConfig, PkiWebContent, RuntimeChoice, RuntimeKind, Service,
};
use serde::{Deserialize, Serialize};

use crate::{project_root, run_step};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Start a lab and keep it running until Ctrl-C or `cargo xtask lab down`.
    Up {
        /// auto (containers when Docker and the images are there, else local), containers, local.
        #[arg(long, default_value = "auto")]
        runtime: String,
    },
    /// Stop the lab `up` started (or clean up after one that was killed).
    Down,
    /// Say whether a lab is up and whether each service answers.
    Status,
}

/// What `up` records for `down` and `status`.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    /// The `cargo xtask lab up` process.
    pid: u32,
    endpoints: Endpoints,
    logs: Vec<(Service, String)>,
    host_resources: HostResources,
}

fn state_path() -> PathBuf {
    project_root().join("target/smime-lab/lab.json")
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    match &args.command {
        Command::Up { runtime } => up(runtime.parse()?),
        Command::Down => down(),
        Command::Status => status(),
    }
}

fn read_state() -> anyhow::Result<Option<State>> {
    let path = state_path();
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!("{} is not a lab state file: delete it", path.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn up(choice: RuntimeChoice) -> anyhow::Result<()> {
    if let Some(state) = read_state()?
        && alive(state.pid)
    {
        anyhow::bail!(
            "a lab is already up (pid {}, run {}): `cargo xtask lab down` first",
            state.pid,
            state.endpoints.run_id
        );
    }
    let tenant_here = project_root().join("harness/tenant/Cargo.toml").is_file();
    crate::binaries::build(crate::binaries::Profile::Dev)?;

    let mut config = LabConfig::default();
    let fixtures = project_root().join("fixtures/pki/default");
    config.pki_web = PkiWebContent::from_pki_dir(&fixtures)?;
    config.tenant.users = ["alice", "bob", "carol", "dave", "eve"]
        .iter()
        .map(|user| format!("{user}@contoso.com"))
        .collect();
    // The default PKI's distribution points: the tenant fetches them from pki-web.
    config.tenant.crl_hosts = vec!["pki.contoso.com".into()];
    if !tenant_here {
        config.services.remove(&Service::Tenant);
        eprintln!("lab: harness/tenant is not in this checkout: starting without the tenant");
    }

    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let choice = match choice {
            RuntimeChoice::Auto => match lab::Containers.usable_for(&config).await {
                Ok(()) => RuntimeChoice::Containers,
                Err(reason) => {
                    eprintln!("lab: using the local runtime: {reason}");
                    RuntimeChoice::Local
                }
            },
            explicit => explicit,
        };
        eprintln!("lab: starting...");
        let lab = lab::start(&config, choice).await?;
        let state = State {
            pid: std::process::id(),
            endpoints: lab.endpoints().clone(),
            logs: config
                .services
                .iter()
                .map(|s| (*s, lab.logs_hint(*s)))
                .collect(),
            host_resources: lab.host_resources(),
        };
        let written = write_state(&state);
        println!("{}", lab.endpoints());
        println!("logs");
        for (service, hint) in &state.logs {
            println!("  {:<10}{hint}", service.name());
        }
        println!("\nstate in {}", state_path().display());
        println!("Ctrl-C here or `cargo xtask lab down` stops it.");
        if let Err(e) = written {
            eprintln!("lab: {e:#} (`lab down` and `lab status` will not find this lab)");
        }
        wait_for_stop().await;
        eprintln!("lab: stopping...");
        let stopped = lab.stop().await;
        let _ = std::fs::remove_file(state_path());
        stopped?;
        eprintln!("lab: stopped");
        anyhow::Ok(())
    })
}

fn write_state(state: &State) -> anyhow::Result<()> {
    use std::io::Write as _;
    let path = state_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(&serde_json::to_vec_pretty(state)?)
        .with_context(|| format!("writing {}", path.display()))
}

async fn wait_for_stop() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
}

fn down() -> anyhow::Result<()> {
    let Some(state) = read_state()? else {
        eprintln!(
            "lab: no lab is up ({} does not exist)",
            state_path().display()
        );
        return Ok(());
    };
    let run = state.endpoints.run_id.clone();
    if alive(state.pid) {
        eprintln!("lab: asking pid {} to stop run {run}", state.pid);
        run_step(std::process::Command::new("kill").args(["-TERM", &state.pid.to_string()]))?;
        for _ in 0..600 {
            if !alive(state.pid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        anyhow::ensure!(
            !alive(state.pid),
            "pid {} is still running a minute after SIGTERM",
            state.pid
        );
        if read_state()?.is_none() {
            eprintln!("lab: stopped");
            return Ok(());
        }
    }
    // The owner is gone without cleaning up.
    eprintln!("lab: the owner of run {run} died; removing what it left");
    match state.endpoints.runtime {
        RuntimeKind::Containers => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(lab::Containers.clean_up(Some(&run)))?;
        }
        RuntimeKind::Local => {
            for pid in &state.host_resources.processes {
                // Only a process of this run: its command line names the run's directory.
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(&run) {
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                }
            }
            if let Some(dir) = &state.host_resources.directory
                && dir.to_string_lossy().contains(&run)
                && dir.exists()
            {
                std::fs::remove_dir_all(dir)
                    .with_context(|| format!("removing {}", dir.display()))?;
            }
        }
    }
    std::fs::remove_file(state_path())
        .with_context(|| format!("removing {}", state_path().display()))?;
    eprintln!("lab: cleaned up run {run}");
    Ok(())
}

fn status() -> anyhow::Result<()> {
    let Some(state) = read_state()? else {
        println!("down: no lab is up");
        return Ok(());
    };
    let owner = if alive(state.pid) {
        "running"
    } else {
        "gone (run `cargo xtask lab down` to clean up)"
    };
    println!(
        "{} lab, run {}, owner pid {} {owner}",
        state.endpoints.runtime, state.endpoints.run_id, state.pid
    );
    let mut all_up = alive(state.pid);
    for (service, address) in state.endpoints.listeners() {
        let answers = address
            .parse()
            .ok()
            .and_then(|addr| {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()
            })
            .is_some();
        all_up &= answers;
        println!(
            "  {:<10}{address:<22}{}",
            service.name(),
            if answers { "up" } else { "not answering" }
        );
    }
    println!("\n{}", state.endpoints);
    anyhow::ensure!(all_up, "the lab is not fully up");
    Ok(())
}
