//! The lab services, started and stopped for a scenario run, a test, or a person at a terminal.
//!
//! | service | what it stands for | program | ready when |
//! |---|---|---|---|
//! | `directory` | on-premises AD DS | OpenLDAP `slapd` (core, cosine, inetorgperson schema; mdb; the configured suffix, whose base entry exists; admin `cn=admin,<suffix>` with a generated password) | `slapd starting` on stderr (`-d none`), then its port answers (slapd prints the line just before it listens) |
//! | `smtp` | the mail flow | our `smtp-sink` | its `{"smtp":..,"http":..}` line |
//! | `tenant` | Exchange Online + Entra ID | our `mock-tenant` | its `{"http":..}` line |
//! | `pki-web` | the CA's public CRL/AIA server | `nginx` serving `/crl/<ca>.crl` and `/aia/<ca>.crt` | `GET` of the first CRL answers 200 |
//!
//! [`start`] takes a [`LabConfig`] and a [`RuntimeChoice`] and returns a [`RunningLab`]: its
//! [`Endpoints`] (host-side URLs, in-lab URLs, credentials), [`RunningLab::stop_service`] and
//! [`RunningLab::start_service`] (a restarted service keeps its address and data; "the CRL server
//! is down" is `stop_service(Service::PkiWeb)`), [`RunningLab::replace_pki_web`] (what pki-web
//! serves, replaced for the next scenario of a lab that is reused), and [`RunningLab::stop`]. Dropping a
//! `RunningLab` without `stop` (an error, a panic) still kills or removes everything it started.
//! Passwords, the tenant's client id and secret are generated per run unless the config sets
//! them, and the tenant's lab secret (what its `/lab` endpoints want in `X-Lab-Secret`) always
//! is; configuration files holding them are mode 0600.
//!
//! # Two runtimes behind one trait ([`Runtime`])
//!
//! **Local** ([`Local`]): the same programs as child processes on 127.0.0.1, each in a
//! subdirectory of one temporary directory (configuration, data, `<service>.log`), removed at
//! the end. Needs on the host: `slapd`, `slapadd` (Debian packages `slapd`, `ldap-utils`) and
//! `nginx`, found on `PATH` or in `/usr/sbin` (override with `SMIME_LAB_SLAPD`,
//! `SMIME_LAB_SLAPADD`, `SMIME_LAB_NGINX`); `cargo xtask peers --install` installs them. On Debian,
//! installing slapd or nginx starts system daemons on ports 389 and 80 unless a `policy-rc.d`
//! forbids it; the lab does not need them (`service slapd stop; service nginx stop`). Our own
//! binaries are found as [`binaries`] says (build them first: `cargo build -p smtp-sink -p tenant`;
//! `cargo test --workspace` does).
//!
//! **Containers** ([`Containers`]): one container per service on a Docker network of its own
//! (`smime-lab-<run id>`), services reaching each other by name (`ldap://directory`,
//! `http://pki-web`), ports published on 127.0.0.1. Images are built offline by
//! `cargo xtask images` (see [`images`]); a missing or outdated image is an error saying to run
//! it, and nothing is ever pulled. Our binaries are not baked into images (they change on every
//! build): they are copied into a container of the `smime-lab-base` image before it starts,
//! so they must run on Debian bookworm's glibc: `docker::portable` checks a binary's machine and
//! glibc against the engine's and bookworm's before its container is made. Every container and the network carry labels
//! ([`LABEL_RUN`] `org.smime-lab.run`, the owner's pid and host name): they are removed by [`RunningLab::stop`], by
//! `Drop`, and, when the owner died without either (SIGKILL, a killed test binary), by the next
//! lab started on the same host. The engine is the one `DOCKER_HOST` names, else the local
//! socket.
//!
//! The runtime drives the engine with the `bollard` client directly, not through testcontainers.
//! It used testcontainers for nothing but its re-export of bollard, which brought buildkit, gRPC
//! and TLS stacks the lab never calls; depending on bollard (features `http` and `pipe` only)
//! keeps the engine client and drops the rest. testcontainers' runner does not fit either,
//! because: a restarted service must be waited for again (the runner's
//! `ContainerAsync::start` does not wait, and its log-message wait would find the previous
//! start's line; we count ready lines per start); an image must never be pulled (the runner pulls
//! a missing one); host ports must survive a restart (an ephemeral binding gets a new port on
//! every start, so the lab picks free ports itself); and every object must carry owner labels
//! for the clean-up of orphans.
//!
//! **Auto** ([`RuntimeChoice::Auto`]) picks the Docker runtime when an engine answers *and* every
//! image the lab needs is present and current ([`Containers::usable_for`]), else the local
//! runtime (logging why with `tracing`): a developer without images still gets a lab, while an
//! explicit `RuntimeChoice::Containers` fails with the reason.
//!
//! Binaries that own a lab for a long time (`cargo xtask lab up`) stop it on Ctrl-C and SIGTERM
//! themselves; the crate installs no signal handlers. An interrupted owner that exits without
//! dropping its labs (`smime-lab scenario run` on Ctrl-C) calls
//! [`Containers::clean_up_this_process`] or [`Local::clean_up_this_process`] first. An owner killed outright (SIGKILL, Ctrl-C on
//! a test binary) leaves its containers until the next lab starts on the host (they are labelled
//! with a dead owner), and its local child processes running: [`RunningLab::host_resources`]
//! lists them, which is how `cargo xtask lab down` cleans up after a killed `lab up`.

pub mod binaries;
mod config;
mod docker;
pub mod doctor;
mod endpoints;
mod error;
pub mod images;
mod local;
mod nginx;
mod probe;
mod process;
mod service;
mod slapd;

use std::fmt;
use std::str::FromStr;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use config::{Binaries, DirectoryConfig, LabConfig, PkiWebContent, SmtpConfig, TenantConfig};
pub use docker::Containers;
pub use docker::{LABEL_LAB, LABEL_OWNER_PID, LABEL_RUN, LABEL_SERVICE};
pub use endpoints::{DirectoryEndpoint, Endpoints, PkiWebEndpoint, SmtpEndpoint, TenantEndpoint};
pub use error::LabError;
pub use local::Local;
pub use service::Service;

/// Which runtime a lab runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeKind {
    Containers,
    Local,
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuntimeKind::Containers => "containers",
            RuntimeKind::Local => "local",
        })
    }
}

/// What `--runtime` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuntimeChoice {
    /// Containers when the engine answers and the images are there, else local.
    #[default]
    Auto,
    Containers,
    Local,
}

impl FromStr for RuntimeChoice {
    type Err = LabError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(RuntimeChoice::Auto),
            "containers" | "docker" => Ok(RuntimeChoice::Containers),
            "local" => Ok(RuntimeChoice::Local),
            other => Err(LabError::UnknownRuntime(other.to_owned())),
        }
    }
}

/// A way of running the lab services.
pub trait Runtime: Send + Sync {
    fn kind(&self) -> RuntimeKind;

    /// Starts every service in `config.services` and waits until each is ready. On error,
    /// whatever was started is stopped again before returning.
    fn start<'a>(&'a self, config: &'a LabConfig) -> BoxFuture<'a, Result<RunningLab, LabError>>;
}

/// What a runtime hands back: the services it runs, controllable one by one.
pub trait RunningServices: Send {
    fn endpoints(&self) -> &Endpoints;

    /// Stops one service; its address then refuses connections. Stopping a stopped service is
    /// fine.
    fn stop_service(&mut self, service: Service) -> BoxFuture<'_, Result<(), LabError>>;

    /// Starts a stopped service again, on the same address and with its data, and waits until it
    /// is ready. Starting a running service is fine.
    fn start_service(&mut self, service: Service) -> BoxFuture<'_, Result<(), LabError>>;

    /// Stops everything and removes what the run created.
    fn stop(&mut self) -> BoxFuture<'_, Result<(), LabError>>;

    /// Replaces every file pki-web serves with `content` (nothing of the old content is left),
    /// for the next scenario of a reused lab. pki-web must be running.
    fn replace_pki_web<'a>(
        &'a mut self,
        content: &'a PkiWebContent,
    ) -> BoxFuture<'a, Result<(), LabError>>;

    /// Where a person finds a service's output (a file, or a `docker logs` command).
    fn logs_hint(&self, service: Service) -> String;

    /// What the lab owns outside this process: a local lab's processes and directory, a
    /// containers lab's containers and network; for cleaning up after an owner that was killed,
    /// and for proving that a stopped lab left nothing.
    fn host_resources(&self) -> HostResources;
}

/// What a lab leaves behind if its owner is killed. Local: its child processes and its
/// temporary directory, both with the run id in their command line or name. Containers: its
/// containers (one per service, every one the lab created, stopped or running) and its network
/// on the engine, named `smime-lab-<run id>[-<service>]` and labelled [`LABEL_RUN`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostResources {
    pub processes: Vec<u32>,
    pub directory: Option<std::path::PathBuf>,
    /// The containers' names (containers runtime).
    #[serde(default)]
    pub containers: Vec<String>,
    /// The network's name (containers runtime).
    #[serde(default)]
    pub network: Option<String>,
}

/// A started lab. Dropping it stops everything too, but [`RunningLab::stop`] reports errors.
pub struct RunningLab {
    inner: Box<dyn RunningServices>,
}

impl RunningLab {
    pub(crate) fn new(inner: Box<dyn RunningServices>) -> Self {
        Self { inner }
    }

    pub fn endpoints(&self) -> &Endpoints {
        self.inner.endpoints()
    }

    pub fn runtime(&self) -> RuntimeKind {
        self.inner.endpoints().runtime
    }

    pub async fn stop_service(&mut self, service: Service) -> Result<(), LabError> {
        self.inner.stop_service(service).await
    }

    pub async fn start_service(&mut self, service: Service) -> Result<(), LabError> {
        self.inner.start_service(service).await
    }

    pub fn logs_hint(&self, service: Service) -> String {
        self.inner.logs_hint(service)
    }

    /// Replaces what pki-web serves: afterwards it answers exactly `content`'s files (a path
    /// of the earlier content is 404). A reused lab's next scenario brings its own CRLs and CA
    /// certificates this way instead of a new pki-web. `pki-web` must be in the lab and running.
    pub async fn replace_pki_web(&mut self, content: &PkiWebContent) -> Result<(), LabError> {
        self.inner.replace_pki_web(content).await
    }

    pub fn host_resources(&self) -> HostResources {
        self.inner.host_resources()
    }

    pub async fn stop(mut self) -> Result<(), LabError> {
        self.inner.stop().await
    }
}

impl fmt::Debug for RunningLab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningLab")
            .field("endpoints", self.endpoints())
            .finish_non_exhaustive()
    }
}

/// Starts a lab on the chosen runtime.
pub async fn start(config: &LabConfig, choice: RuntimeChoice) -> Result<RunningLab, LabError> {
    config.validate()?;
    match choice {
        RuntimeChoice::Local => Local.start(config).await,
        RuntimeChoice::Containers => Containers.start(config).await,
        RuntimeChoice::Auto => match Containers.usable_for(config).await {
            Ok(()) => Containers.start(config).await,
            Err(reason) => {
                tracing::info!("using the local runtime: {reason}");
                Local.start(config).await
            }
        },
    }
}

/// A run id: unique per run on this host, short enough for container names.
pub(crate) fn new_run_id() -> String {
    format!("{:x}-{}", std::process::id(), random_hex(3))
}

/// `bytes` random bytes as lowercase hex, from the OS.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // Without OS randomness, fall back to the clock: these are lab credentials on loopback.
    if getrandom::fill(&mut buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8;
        }
    }
    hex::encode(buf)
}

/// The credentials of one run: configured ones, or generated.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub directory_password: String,
    pub client_id: String,
    pub client_secret: String,
    /// What the tenant's `/lab` endpoints want in `X-Lab-Secret`; new every run.
    pub lab_secret: String,
}

impl Credentials {
    pub fn for_config(config: &LabConfig) -> Self {
        let guid = || {
            let h = random_hex(16);
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        };
        Self {
            directory_password: config
                .directory
                .admin_password
                .clone()
                .unwrap_or_else(|| random_hex(12)),
            client_id: config.tenant.client_id.clone().unwrap_or_else(guid),
            client_secret: config
                .tenant
                .client_secret
                .clone()
                .unwrap_or_else(|| random_hex(20)),
            lab_secret: random_hex(20),
        }
    }
}
