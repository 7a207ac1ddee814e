//! The containers runtime: one container per service on a Docker network of the run's own, from
//! the images `cargo xtask images` builds, driven through testcontainers' re-exported `bollard`
//! client (see the crate docs for why not testcontainers' runner).
//!
//! Everything a run creates carries [`LABEL_RUN`] plus its owner's host name and pid, so that
//! [`RunningLab::stop`], `Drop`, and the next lab on the same host (for owners that died without
//! either) can find and remove it. Nothing is ever pulled.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use testcontainers::bollard::Docker;
use testcontainers::bollard::container::LogOutput;
use testcontainers::bollard::errors::Error as BollardError;
use testcontainers::bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
    PortBinding, ResourcesUlimits,
};
use testcontainers::bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, ListNetworksOptions, LogsOptions,
    RemoveContainerOptions, StopContainerOptions, UploadToContainerOptions,
};

use crate::binaries::{MOCK_TENANT, SMTP_SINK};
use crate::endpoints::{
    DirectoryEndpoint, Endpoints, PkiWebEndpoint, SmtpEndpoint, TenantEndpoint,
};
use crate::images::{self, ImageRecipe};
use crate::slapd::{self, SlapdLayout};
use crate::{
    Credentials, HostResources, LabConfig, LabError, RunningLab, RunningServices, Runtime,
    RuntimeKind, Service, nginx,
};

/// Marks everything the lab creates.
pub const LABEL_LAB: &str = "org.smime-lab.lab";
/// The run id.
pub const LABEL_RUN: &str = "org.smime-lab.run";
/// Host name and pid of the process that owns the run.
const LABEL_OWNER_HOST: &str = "org.smime-lab.owner-host";
const LABEL_OWNER_PID: &str = "org.smime-lab.owner-pid";
const LABEL_SERVICE: &str = "org.smime-lab.service";

/// A first start includes the engine creating the container's filesystem.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Seconds between SIGTERM and SIGKILL when a service is stopped.
const STOP_GRACE_SECONDS: i32 = 3;
/// Attempts at host ports we picked, in case another process took one meanwhile.
const PORT_ATTEMPTS: usize = 3;
/// slapd sizes descriptor tables by the `nofile` limit; container defaults can be 1M.
const NOFILE: i64 = 1024;

/// The Docker runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Containers;

impl Runtime for Containers {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Containers
    }

    fn start<'a>(&'a self, config: &'a LabConfig) -> BoxFuture<'a, Result<RunningLab, LabError>> {
        Box::pin(async move {
            config.validate()?;
            let lab = DockerLab::start(config).await?;
            Ok(RunningLab::new(Box::new(lab)))
        })
    }
}

impl Containers {
    /// Whether this runtime can run `config` here: an engine answers and every image it needs
    /// is present and current. The error says why not.
    pub async fn usable_for(&self, config: &LabConfig) -> Result<(), LabError> {
        let engine = Engine::connect().await?;
        engine.check_images(config).await
    }

    /// Removes every lab container and network on this engine whose owner process is gone
    /// (same host, pid no longer running), or, with `run`, that run's whatever its owner.
    /// Returns the run ids removed.
    pub async fn clean_up(&self, run: Option<&str>) -> Result<Vec<String>, LabError> {
        let engine = Engine::connect().await?;
        match run {
            Some(run) => {
                engine.remove_run(run).await?;
                Ok(vec![run.to_owned()])
            }
            None => engine.reap_orphans().await,
        }
    }

    /// Removes every lab container and network this process owns: what an interrupted owner
    /// (Ctrl-C, SIGTERM) calls before it exits, since its labs' `Drop` will not run. Returns the
    /// run ids removed.
    pub async fn clean_up_this_process(&self) -> Result<Vec<String>, LabError> {
        let engine = Engine::connect().await?;
        let me = std::process::id();
        engine
            .remove_runs_where("removing the containers of this interrupted run", |pid| {
                pid == me
            })
            .await
    }
}

/// A connected engine and how its published ports are reached.
#[derive(Clone)]
struct Engine {
    docker: Docker,
    /// The host published ports are reached on from here.
    endpoint_host: String,
    /// The address ports are published on (loopback for a local engine).
    publish_ip: String,
    /// The engine runs on this host (a unix socket, or tcp to localhost).
    local: bool,
}

impl Engine {
    /// Connects to `DOCKER_HOST` (else the local socket) and checks the engine answers.
    async fn connect() -> Result<Self, LabError> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
        let unreachable = |cause| LabError::DockerUnreachable {
            host: host.clone(),
            cause,
        };
        let docker = Docker::connect_with_defaults().map_err(unreachable)?;
        docker.version().await.map_err(unreachable)?;
        let remote_host = ["tcp://", "http://", "https://"]
            .iter()
            .find_map(|scheme| host.strip_prefix(scheme))
            .map(|rest| rest.split([':', '/']).next().unwrap_or(rest).to_owned())
            .filter(|h| !h.is_empty() && h != "localhost" && h != "127.0.0.1");
        Ok(match remote_host {
            Some(remote) => Engine {
                docker,
                endpoint_host: remote,
                publish_ip: "0.0.0.0".into(),
                local: false,
            },
            None => Engine {
                docker,
                endpoint_host: "127.0.0.1".into(),
                publish_ip: "127.0.0.1".into(),
                local: true,
            },
        })
    }

    async fn check_images(&self, config: &LabConfig) -> Result<(), LabError> {
        let mut seen = Vec::new();
        for service in &config.services {
            let recipe = images::for_service(*service);
            if seen.contains(&recipe.name) {
                continue;
            }
            seen.push(recipe.name);
            self.check_image(&recipe).await?;
        }
        Ok(())
    }

    async fn check_image(&self, recipe: &ImageRecipe) -> Result<(), LabError> {
        let reference = recipe.reference();
        match self.docker.inspect_image(&reference).await {
            Ok(image) => {
                let found = image
                    .config
                    .and_then(|c| c.labels)
                    .and_then(|labels| labels.get(images::RECIPE_LABEL).cloned())
                    .unwrap_or_else(|| "(none)".into());
                let expected = recipe.recipe_hash();
                if found == expected {
                    Ok(())
                } else {
                    Err(LabError::ImageOutdated {
                        image: reference,
                        found,
                        expected,
                    })
                }
            }
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(LabError::ImageMissing { image: reference }),
            Err(e) => Err(LabError::docker(format!("inspecting image {reference}"), e)),
        }
    }

    /// Removes a run's containers (killing them) and network.
    async fn remove_run(&self, run: &str) -> Result<(), LabError> {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{LABEL_RUN}={run}")])]);
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters.clone()),
                ..Default::default()
            }))
            .await
            .map_err(|e| LabError::docker("listing the run's containers", e))?;
        let mut first_error = None;
        for container in containers {
            let Some(id) = container.id else { continue };
            let removed = self
                .docker
                .remove_container(
                    &id,
                    Some(RemoveContainerOptions {
                        force: true,
                        v: true,
                        ..Default::default()
                    }),
                )
                .await;
            match removed {
                Ok(())
                | Err(BollardError::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                // 409: removal already in progress (a concurrent clean-up).
                Err(BollardError::DockerResponseServerError {
                    status_code: 409, ..
                }) => {}
                Err(e) => {
                    first_error
                        .get_or_insert(LabError::docker(format!("removing container {id}"), e));
                }
            }
        }
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(|e| LabError::docker("listing the run's networks", e))?;
        for network in networks {
            let Some(id) = network.id else { continue };
            match self.docker.remove_network(&id).await {
                Ok(())
                | Err(BollardError::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(e) => {
                    first_error
                        .get_or_insert(LabError::docker(format!("removing network {id}"), e));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Runs on this host whose owner process is gone.
    async fn reap_orphans(&self) -> Result<Vec<String>, LabError> {
        self.remove_runs_where("removing the containers of a lab whose owner died", |pid| {
            !process_alive(pid)
        })
        .await
    }

    /// Removes the runs on this host whose owner pid satisfies `owner`, logging `why`.
    async fn remove_runs_where(
        &self,
        why: &str,
        owner: impl Fn(u32) -> bool,
    ) -> Result<Vec<String>, LabError> {
        let filters = HashMap::from([("label".to_owned(), vec![LABEL_LAB.to_owned()])]);
        let mut labels_seen: Vec<HashMap<String, String>> = Vec::new();
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters.clone()),
                ..Default::default()
            }))
            .await
            .map_err(|e| LabError::docker("listing lab containers", e))?;
        labels_seen.extend(containers.into_iter().filter_map(|c| c.labels));
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(|e| LabError::docker("listing lab networks", e))?;
        labels_seen.extend(networks.into_iter().filter_map(|n| n.labels));
        let host = owner_host();
        let mut runs: Vec<String> = labels_seen
            .iter()
            .filter(|labels| labels.get(LABEL_OWNER_HOST) == Some(&host))
            .filter(|labels| {
                labels
                    .get(LABEL_OWNER_PID)
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(&owner)
            })
            .filter_map(|labels| labels.get(LABEL_RUN).cloned())
            .collect();
        runs.sort();
        runs.dedup();
        for run in &runs {
            tracing::info!(run, "{why}");
            self.remove_run(run).await?;
        }
        Ok(runs)
    }
}

/// A port free on this host's loopback right now.
fn free_port() -> Result<u16, LabError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| LabError::Other(format!("cannot find a free port on 127.0.0.1: {e}")))
}

fn is_port_clash(error: &LabError) -> bool {
    matches!(
        error,
        LabError::Docker {
            cause: BollardError::DockerResponseServerError { message, .. },
            ..
        } if message.contains("port is already allocated") || message.contains("address already in use")
    )
}

fn owner_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Whether a pid runs on this host. Without /proc (not Linux) every owner counts as alive, so
/// nothing is ever reaped by mistake.
fn process_alive(pid: u32) -> bool {
    !std::path::Path::new("/proc/self").exists()
        || std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// How a container says it is ready.
#[derive(Debug, Clone)]
enum ReadyCheck {
    /// A log line containing `needle` (counted: the n-th start waits for the n-th line), then,
    /// with `alive`, a server answering on that container port.
    Line {
        needle: &'static str,
        alive: Option<u16>,
    },
    /// `GET path` on the published port answers 200.
    Http { container_port: u16, path: String },
}

/// One file to copy into a container before it starts.
struct FileIn {
    path: String,
    bytes: Vec<u8>,
    mode: u32,
}

/// What a service's container is made of.
struct ContainerSpec {
    image: ImageRecipe,
    cmd: Vec<String>,
    env: Vec<String>,
    ports: Vec<u16>,
    files: Vec<FileIn>,
    dirs: Vec<String>,
    ready: ReadyCheck,
}

struct ContainerService {
    name: String,
    ready: ReadyCheck,
    /// Starts so far (the n-th start waits for the n-th ready line).
    starts: usize,
    /// Published host port per container port, as of the last start.
    ports: BTreeMap<u16, u16>,
    running: bool,
}

struct DockerLab {
    engine: Engine,
    run_id: String,
    endpoints: Endpoints,
    services: BTreeMap<Service, ContainerService>,
    config_services: Vec<Service>,
    credentials: Credentials,
    config: LabConfig,
    removed: bool,
}

impl DockerLab {
    async fn start(config: &LabConfig) -> Result<Self, LabError> {
        let engine = Engine::connect().await?;
        if let Err(e) = engine.reap_orphans().await {
            tracing::warn!("could not clean up after earlier labs: {e}");
        }
        engine.check_images(config).await?;
        let run_id = crate::new_run_id();
        let mut lab = DockerLab {
            engine,
            endpoints: Endpoints {
                run_id: run_id.clone(),
                runtime: RuntimeKind::Containers,
                directory: None,
                smtp: None,
                tenant: None,
                pki_web: None,
            },
            run_id,
            services: BTreeMap::new(),
            config_services: config.services.iter().copied().collect(),
            credentials: Credentials::for_config(config),
            config: config.clone(),
            removed: false,
        };
        match lab.create_all().await {
            Ok(()) => Ok(lab),
            Err(error) => {
                let _ = lab.remove().await;
                Err(error)
            }
        }
    }

    fn network(&self) -> String {
        format!("smime-lab-{}", self.run_id)
    }

    fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_LAB.to_owned(), "1".to_owned()),
            (LABEL_RUN.to_owned(), self.run_id.clone()),
            (LABEL_OWNER_HOST.to_owned(), owner_host()),
            (LABEL_OWNER_PID.to_owned(), std::process::id().to_string()),
        ])
    }

    async fn create_all(&mut self) -> Result<(), LabError> {
        let network = self.network();
        self.engine
            .docker
            .create_network(NetworkCreateRequest {
                name: network.clone(),
                driver: Some("bridge".into()),
                labels: Some(self.labels()),
                ..Default::default()
            })
            .await
            .map_err(|e| LabError::docker(format!("creating network {network}"), e))?;
        for service in self.config_services.clone() {
            let mut attempt = 1;
            loop {
                let spec = self.spec(service)?;
                self.create(service, spec).await?;
                match self.start_container(service).await {
                    Ok(()) => break,
                    // A port we picked was taken before the engine bound it: pick again.
                    Err(e) if attempt < PORT_ATTEMPTS && is_port_clash(&e) => {
                        attempt += 1;
                        if let Some(container) = self.services.remove(&service) {
                            self.engine
                                .docker
                                .remove_container(
                                    &container.name,
                                    Some(RemoveContainerOptions {
                                        force: true,
                                        v: true,
                                        ..Default::default()
                                    }),
                                )
                                .await
                                .map_err(|e| {
                                    LabError::docker(format!("removing {}", container.name), e)
                                })?;
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        self.describe();
        Ok(())
    }

    /// The container for one service.
    fn spec(&self, service: Service) -> Result<ContainerSpec, LabError> {
        let config = &self.config;
        Ok(match service {
            Service::Directory => {
                let layout = SlapdLayout::debian(
                    std::path::Path::new("/etc/smime-lab"),
                    std::path::Path::new("/var/lib/smime-lab/db"),
                );
                let conf = slapd::slapd_conf(
                    &layout,
                    &config.directory,
                    &self.credentials.directory_password,
                );
                let script = slapd::start_script(
                    &layout,
                    std::path::Path::new("/usr/sbin/slapd"),
                    std::path::Path::new("/usr/sbin/slapadd"),
                    "ldap:///",
                );
                ContainerSpec {
                    image: images::DIRECTORY,
                    cmd: vec!["/bin/sh".into(), "-c".into(), script],
                    env: Vec::new(),
                    ports: vec![389],
                    files: vec![
                        FileIn {
                            path: layout.conf_file().display().to_string(),
                            bytes: conf.into_bytes(),
                            mode: 0o600,
                        },
                        FileIn {
                            path: layout.base_ldif().display().to_string(),
                            bytes: slapd::base_ldif(&config.directory)?.into_bytes(),
                            mode: 0o600,
                        },
                    ],
                    dirs: vec!["/var/lib/smime-lab/db".into()],
                    ready: ReadyCheck::Line {
                        needle: slapd::READY_LINE,
                        // slapd prints its line just before it listens.
                        alive: Some(389),
                    },
                }
            }
            Service::Smtp => {
                let program = SMTP_SINK.locate(config.binaries.smtp_sink.as_deref())?;
                let bytes = std::fs::read(&program)
                    .map_err(|e| LabError::io("cannot read", &program, e))?;
                ContainerSpec {
                    image: images::BASE,
                    cmd: [
                        "/usr/local/bin/smtp-sink",
                        "--smtp",
                        "0.0.0.0:25",
                        "--http",
                        "0.0.0.0:8025",
                        "--data-dir",
                        "/var/lib/smtp-sink",
                        "--hostname",
                        "smtp-sink.lab",
                        "--max-size",
                    ]
                    .into_iter()
                    .map(str::to_owned)
                    .chain([config.smtp.max_message_size.to_string()])
                    .collect(),
                    env: Vec::new(),
                    ports: vec![25, 8025],
                    files: vec![FileIn {
                        path: "/usr/local/bin/smtp-sink".into(),
                        bytes,
                        mode: 0o755,
                    }],
                    dirs: vec!["/var/lib/smtp-sink".into()],
                    ready: ReadyCheck::Line {
                        needle: "\"smtp\"",
                        alive: None,
                    },
                }
            }
            Service::Tenant => {
                let program = MOCK_TENANT.locate(config.binaries.mock_tenant.as_deref())?;
                let bytes = std::fs::read(&program)
                    .map_err(|e| LabError::io("cannot read", &program, e))?;
                let mut cmd: Vec<String> = [
                    "/usr/local/bin/mock-tenant",
                    "--listen",
                    "0.0.0.0:80",
                    "--data-dir",
                    "/var/lib/mock-tenant",
                    "--tenant",
                ]
                .into_iter()
                .map(str::to_owned)
                .collect();
                cmd.push(config.tenant.tenant.clone());
                // Links it hands out name it as the lab network does; the runner follows their
                // path on the address it reaches the tenant at.
                cmd.push("--public-url".into());
                cmd.push(format!("http://{}", Service::Tenant.name()));
                cmd.push("--client-id".into());
                cmd.push(self.credentials.client_id.clone());
                if let Some(now) = &config.tenant.now {
                    cmd.push("--now".into());
                    cmd.push(now.clone());
                }
                if !config.tenant.users.is_empty() {
                    cmd.push("--users".into());
                    cmd.push(config.tenant.users.join(","));
                }
                // pki-web by its name on the run's network; resolved when a CRL is fetched, so
                // the start order does not matter.
                for host in &config.tenant.crl_hosts {
                    cmd.push("--crl-host".into());
                    cmd.push(format!("{host}={}:80", Service::PkiWeb.name()));
                }
                ContainerSpec {
                    image: images::BASE,
                    cmd,
                    env: vec![
                        format!(
                            "MOCK_TENANT_CLIENT_SECRET={}",
                            self.credentials.client_secret
                        ),
                        format!("MOCK_TENANT_LAB_SECRET={}", self.credentials.lab_secret),
                    ],
                    ports: vec![80],
                    files: vec![FileIn {
                        path: "/usr/local/bin/mock-tenant".into(),
                        bytes,
                        mode: 0o755,
                    }],
                    dirs: vec!["/var/lib/mock-tenant".into()],
                    ready: ReadyCheck::Line {
                        needle: "\"http\"",
                        alive: None,
                    },
                }
            }
            Service::PkiWeb => {
                let prefix = std::path::Path::new("/var/lib/smime-lab/nginx");
                let docroot = std::path::Path::new("/srv/pki");
                let conf = nginx::nginx_conf(prefix, docroot, "80");
                let mut files = vec![FileIn {
                    path: "/etc/smime-lab/nginx.conf".into(),
                    bytes: conf.into_bytes(),
                    mode: 0o644,
                }];
                files.extend(config.pki_web.files().iter().map(|(path, bytes)| FileIn {
                    path: docroot.join(path).display().to_string(),
                    bytes: bytes.clone(),
                    mode: 0o644,
                }));
                ContainerSpec {
                    image: images::PKI_WEB,
                    cmd: [
                        "nginx",
                        "-p",
                        "/var/lib/smime-lab/nginx/",
                        "-c",
                        "/etc/smime-lab/nginx.conf",
                        "-e",
                        "stderr",
                    ]
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                    env: Vec::new(),
                    ports: vec![80],
                    files,
                    dirs: vec!["/srv/pki".into(), "/var/lib/smime-lab/nginx/tmp".into()],
                    ready: ReadyCheck::Http {
                        container_port: 80,
                        path: config.pki_web.probe_path(),
                    },
                }
            }
        })
    }

    async fn create(&mut self, service: Service, spec: ContainerSpec) -> Result<(), LabError> {
        let name = format!("smime-lab-{}-{}", self.run_id, service.name());
        let network = self.network();
        let mut labels = self.labels();
        labels.insert(LABEL_SERVICE.to_owned(), service.name().to_owned());
        let port_bindings = spec
            .ports
            .iter()
            .map(|port| {
                // A local engine publishes on a port we pick, so that a restarted container
                // keeps it (the engine gives an ephemeral binding a new port on every start). A
                // remote engine picks (empty host port), and endpoints follow each restart.
                let host_port = if self.engine.local {
                    free_port()?.to_string()
                } else {
                    String::new()
                };
                Ok((
                    format!("{port}/tcp"),
                    Some(vec![PortBinding {
                        host_ip: Some(self.engine.publish_ip.clone()),
                        host_port: Some(host_port),
                    }]),
                ))
            })
            .collect::<Result<_, LabError>>()?;
        let body = ContainerCreateBody {
            image: Some(spec.image.reference()),
            cmd: Some(spec.cmd),
            env: Some(spec.env),
            labels: Some(labels),
            hostname: Some(service.name().to_owned()),
            exposed_ports: Some(spec.ports.iter().map(|p| format!("{p}/tcp")).collect()),
            host_config: Some(HostConfig {
                network_mode: Some(network.clone()),
                port_bindings: Some(port_bindings),
                ulimits: Some(vec![ResourcesUlimits {
                    name: Some("nofile".into()),
                    soft: Some(NOFILE),
                    hard: Some(NOFILE),
                }]),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network,
                    EndpointSettings {
                        aliases: Some(vec![service.name().to_owned()]),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        self.engine
            .docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .map_err(|e| LabError::docker(format!("creating container {name}"), e))?;
        let archive = tar(&spec.dirs, &spec.files).await?;
        self.engine
            .docker
            .upload_to_container(
                &name,
                Some(UploadToContainerOptions {
                    path: "/".into(),
                    ..Default::default()
                }),
                testcontainers::bollard::body_full(archive.into()),
            )
            .await
            .map_err(|e| LabError::docker(format!("copying files into {name}"), e))?;
        self.services.insert(
            service,
            ContainerService {
                name,
                ready: spec.ready,
                starts: 0,
                ports: BTreeMap::new(),
                running: false,
            },
        );
        Ok(())
    }

    async fn start_container(&mut self, service: Service) -> Result<(), LabError> {
        let engine = self.engine.clone();
        let container = self
            .services
            .get_mut(&service)
            .ok_or(LabError::NotInLab(service))?;
        if container.running {
            return Ok(());
        }
        engine
            .docker
            .start_container(&container.name, None)
            .await
            .map_err(|e| LabError::docker(format!("starting container {}", container.name), e))?;
        container.starts += 1;
        container.running = true;
        container.ports = published_ports(&engine, &container.name).await?;
        wait_ready(&engine, service, container).await?;
        self.describe();
        Ok(())
    }

    /// Rebuilds the endpoints from the published ports.
    fn describe(&mut self) {
        let host = self.engine.endpoint_host.clone();
        let port = |service: Service, container_port: u16| -> u16 {
            self.services
                .get(&service)
                .and_then(|c| c.ports.get(&container_port).copied())
                .unwrap_or(0)
        };
        let ip = host
            .parse::<std::net::IpAddr>()
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
        let mut endpoints = Endpoints {
            run_id: self.run_id.clone(),
            runtime: RuntimeKind::Containers,
            directory: None,
            smtp: None,
            tenant: None,
            pki_web: None,
        };
        for service in self.services.keys() {
            match service {
                Service::Directory => {
                    endpoints.directory = Some(DirectoryEndpoint {
                        url: format!("ldap://{host}:{}", port(*service, 389)),
                        lab_url: "ldap://directory:389".into(),
                        suffix: self.config.directory.suffix.clone(),
                        bind_dn: self.config.directory.admin_dn(),
                        password: self.credentials.directory_password.clone(),
                    });
                }
                Service::Smtp => {
                    endpoints.smtp = Some(SmtpEndpoint {
                        smtp: std::net::SocketAddr::new(ip, port(*service, 25)),
                        http_url: format!("http://{host}:{}", port(*service, 8025)),
                        lab_smtp: "smtp:25".into(),
                        lab_http_url: "http://smtp:8025".into(),
                    });
                }
                Service::Tenant => {
                    endpoints.tenant = Some(TenantEndpoint {
                        url: format!("http://{host}:{}", port(*service, 80)),
                        lab_url: "http://tenant".into(),
                        tenant: self.config.tenant.tenant.clone(),
                        client_id: self.credentials.client_id.clone(),
                        client_secret: self.credentials.client_secret.clone(),
                        lab_secret: self.credentials.lab_secret.clone(),
                    });
                }
                Service::PkiWeb => {
                    endpoints.pki_web = Some(PkiWebEndpoint {
                        url: format!("http://{host}:{}", port(*service, 80)),
                        lab_url: "http://pki-web".into(),
                    });
                }
            }
        }
        self.endpoints = endpoints;
    }

    async fn remove(&mut self) -> Result<(), LabError> {
        self.removed = true;
        self.engine.remove_run(&self.run_id).await
    }
}

/// The host port published for each container port.
async fn published_ports(engine: &Engine, name: &str) -> Result<BTreeMap<u16, u16>, LabError> {
    let inspect = engine
        .docker
        .inspect_container(name, None)
        .await
        .map_err(|e| LabError::docker(format!("inspecting {name}"), e))?;
    let mut ports = BTreeMap::new();
    let published = inspect
        .network_settings
        .and_then(|n| n.ports)
        .unwrap_or_default();
    for (key, bindings) in published {
        let Some(container_port) = key.strip_suffix("/tcp").and_then(|p| p.parse().ok()) else {
            continue;
        };
        let host_port = bindings
            .unwrap_or_default()
            .into_iter()
            .find_map(|b| b.host_port.and_then(|p| p.parse::<u16>().ok()));
        if let Some(host_port) = host_port {
            ports.insert(container_port, host_port);
        }
    }
    Ok(ports)
}

/// The ready line the smtp-sink / mock-tenant print, to tell it from log lines.
#[derive(Debug, Deserialize)]
struct ReadyLine {
    smtp: Option<String>,
    http: Option<String>,
}

fn is_ready_line(line: &str, needle: &str) -> bool {
    match needle {
        "\"smtp\"" => serde_json::from_str::<ReadyLine>(line).is_ok_and(|r| r.smtp.is_some()),
        "\"http\"" => serde_json::from_str::<ReadyLine>(line).is_ok_and(|r| r.http.is_some()),
        _ => line.contains(needle),
    }
}

async fn wait_ready(
    engine: &Engine,
    service: Service,
    container: &ContainerService,
) -> Result<(), LabError> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    match &container.ready {
        ReadyCheck::Line { needle, alive } => {
            let mut logs = engine.docker.logs(
                &container.name,
                Some(LogsOptions {
                    follow: true,
                    stdout: true,
                    stderr: true,
                    ..Default::default()
                }),
            );
            let mut seen = 0;
            let mut partial = String::new();
            loop {
                let next = tokio::time::timeout_at(deadline, logs.next()).await;
                match next {
                    Err(_) => {
                        return Err(LabError::NotReady {
                            service,
                            waited: READY_TIMEOUT,
                            detail: format!("no {needle} line in `docker logs {}`", container.name),
                            output: log_tail(engine, &container.name).await,
                        });
                    }
                    // The stream ends when the container stops.
                    Ok(None) => return Err(exited(engine, service, &container.name).await),
                    Ok(Some(Err(e))) => {
                        return Err(LabError::docker(
                            format!("reading the logs of {}", container.name),
                            e,
                        ));
                    }
                    Ok(Some(Ok(output))) => {
                        let bytes = match output {
                            LogOutput::StdOut { message }
                            | LogOutput::StdErr { message }
                            | LogOutput::Console { message } => message,
                            LogOutput::StdIn { .. } => continue,
                        };
                        partial.push_str(&String::from_utf8_lossy(&bytes));
                        while let Some(end) = partial.find('\n') {
                            let line: String = partial.drain(..=end).collect();
                            if is_ready_line(line.trim_end(), needle) {
                                seen += 1;
                                if seen >= container.starts {
                                    return match alive {
                                        Some(port) => {
                                            wait_alive(engine, service, container, *port, deadline)
                                                .await
                                        }
                                        None => Ok(()),
                                    };
                                }
                            }
                        }
                    }
                }
            }
        }
        ReadyCheck::Http {
            container_port,
            path,
        } => {
            let host_port = published(engine, container, *container_port)?;
            let mut last;
            loop {
                // The engine's proxy accepts connections before the server inside listens, so
                // only an HTTP answer counts.
                match crate::probe::http_status(&host_port, path).await {
                    Ok(200) => return Ok(()),
                    Ok(status) => last = format!("GET {path} answered {status}"),
                    Err(e) => last = e,
                }
                if !container_running(engine, &container.name).await {
                    return Err(exited(engine, service, &container.name).await);
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(LabError::NotReady {
                        service,
                        waited: READY_TIMEOUT,
                        detail: last,
                        output: log_tail(engine, &container.name).await,
                    });
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }
    }
}

/// Waits until the server behind a published port answers (not just Docker's proxy).
async fn wait_alive(
    engine: &Engine,
    service: Service,
    container: &ContainerService,
    container_port: u16,
    deadline: tokio::time::Instant,
) -> Result<(), LabError> {
    let host_port = published(engine, container, container_port)?;
    loop {
        if crate::probe::server_alive(&host_port).await {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(LabError::NotReady {
                service,
                waited: READY_TIMEOUT,
                detail: format!("it said it started but {host_port} does not answer"),
                output: log_tail(engine, &container.name).await,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn published(
    engine: &Engine,
    container: &ContainerService,
    container_port: u16,
) -> Result<String, LabError> {
    container
        .ports
        .get(&container_port)
        .map(|p| format!("{}:{p}", engine.endpoint_host))
        .ok_or_else(|| {
            LabError::Other(format!(
                "{} publishes no port for {container_port}",
                container.name
            ))
        })
}

async fn container_running(engine: &Engine, name: &str) -> bool {
    engine
        .docker
        .inspect_container(name, None)
        .await
        .ok()
        .and_then(|i| i.state)
        .and_then(|s| s.running)
        .unwrap_or(false)
}

async fn exited(engine: &Engine, service: Service, name: &str) -> LabError {
    let status = engine
        .docker
        .inspect_container(name, None)
        .await
        .ok()
        .and_then(|i| i.state)
        .map(|s| {
            format!(
                "exit code {}{}",
                s.exit_code.unwrap_or_default(),
                s.error
                    .filter(|e| !e.is_empty())
                    .map(|e| format!(", {e}"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "container gone".into());
    LabError::Exited {
        service,
        status,
        output: log_tail(engine, name).await,
    }
}

/// The last lines of a container's output, for an error message.
async fn log_tail(engine: &Engine, name: &str) -> String {
    let mut logs = engine.docker.logs(
        name,
        Some(LogsOptions {
            stdout: true,
            stderr: true,
            tail: "40".into(),
            ..Default::default()
        }),
    );
    let mut out = String::new();
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout(Duration::from_secs(5), logs.next()).await
    {
        out.push_str(&chunk.to_string());
    }
    out
}

/// A tar archive of directories and files, extracted at `/` in the container.
async fn tar(dirs: &[String], files: &[FileIn]) -> Result<Vec<u8>, LabError> {
    let tar_error = |e: std::io::Error| {
        LabError::Other(format!(
            "cannot build the archive to copy into a container: {e}"
        ))
    };
    let mut builder = tokio_tar::Builder::new(Vec::new());
    let mut parents: Vec<String> = Vec::new();
    let add_parents = |path: &str, parents: &mut Vec<String>| {
        let mut prefix = String::new();
        for segment in path.trim_start_matches('/').split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(segment);
            if !parents.contains(&prefix) {
                parents.push(prefix.clone());
            }
        }
    };
    for dir in dirs {
        add_parents(dir, &mut parents);
    }
    for file in files {
        if let Some((parent, _)) = file.path.rsplit_once('/')
            && !parent.is_empty()
        {
            add_parents(parent, &mut parents);
        }
    }
    for dir in &parents {
        let mut header = tokio_tar::Header::new_gnu();
        header.set_entry_type(tokio_tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        header.set_mtime(0);
        builder
            .append_data(&mut header, format!("{dir}/"), &[][..])
            .await
            .map_err(tar_error)?;
    }
    for file in files {
        let mut header = tokio_tar::Header::new_gnu();
        header.set_entry_type(tokio_tar::EntryType::Regular);
        header.set_mode(file.mode);
        header.set_size(file.bytes.len() as u64);
        header.set_mtime(0);
        builder
            .append_data(
                &mut header,
                file.path.trim_start_matches('/'),
                file.bytes.as_slice(),
            )
            .await
            .map_err(tar_error)?;
    }
    builder.into_inner().await.map_err(tar_error)
}

impl RunningServices for DockerLab {
    fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    fn stop_service(&mut self, service: Service) -> BoxFuture<'_, Result<(), LabError>> {
        Box::pin(async move {
            let container = self
                .services
                .get_mut(&service)
                .ok_or(LabError::NotInLab(service))?;
            if !container.running {
                return Ok(());
            }
            match self
                .engine
                .docker
                .stop_container(
                    &container.name,
                    Some(StopContainerOptions {
                        t: Some(STOP_GRACE_SECONDS),
                        ..Default::default()
                    }),
                )
                .await
            {
                // 304: already stopped.
                Ok(())
                | Err(BollardError::DockerResponseServerError {
                    status_code: 304, ..
                }) => {}
                Err(e) => {
                    return Err(LabError::docker(format!("stopping {}", container.name), e));
                }
            }
            container.running = false;
            Ok(())
        })
    }

    fn start_service(&mut self, service: Service) -> BoxFuture<'_, Result<(), LabError>> {
        Box::pin(self.start_container(service))
    }

    fn stop(&mut self) -> BoxFuture<'_, Result<(), LabError>> {
        Box::pin(self.remove())
    }

    fn host_resources(&self) -> HostResources {
        HostResources::default()
    }

    fn logs_hint(&self, service: Service) -> String {
        match self.services.get(&service) {
            Some(container) => format!("docker logs {}", container.name),
            None => format!("({service} is not part of this lab)"),
        }
    }
}

impl Drop for DockerLab {
    /// An error or a panic between start and stop: remove the run's containers anyway. Drop
    /// cannot await, and the caller's runtime may be shutting down, so a thread with a runtime
    /// of its own and a fresh client does it.
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let run = self.run_id.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let engine = Engine::connect().await.map_err(|e| e.to_string())?;
                engine.remove_run(&run).await.map_err(|e| e.to_string())
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "smime-lab: could not remove the containers of lab run {}: {e}\n  the next lab started on this host removes them",
                self.run_id
            ),
            Err(_) => eprintln!(
                "smime-lab: removing the containers of lab run {} panicked",
                self.run_id
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_lines() {
        assert!(is_ready_line(
            r#"{"smtp":"0.0.0.0:25","http":"0.0.0.0:8025"}"#,
            "\"smtp\""
        ));
        assert!(!is_ready_line(r#"INFO listening "smtp" on 25"#, "\"smtp\""));
        assert!(is_ready_line(r#"{"http":"0.0.0.0:80"}"#, "\"http\""));
        assert!(is_ready_line(
            "6b03cdd3.2fc3e3db 0x7f731a53a200 slapd starting",
            "slapd starting"
        ));
    }

    #[tokio::test]
    async fn archives_create_parents_and_modes() {
        let archive = tar(
            &["/srv/pki".into()],
            &[FileIn {
                path: "/usr/local/bin/x".into(),
                bytes: b"#!/bin/sh\n".to_vec(),
                mode: 0o755,
            }],
        )
        .await
        .expect("archive");
        let mut entries = tokio_tar::Archive::new(archive.as_slice());
        let mut names = Vec::new();
        let mut stream = entries.entries().expect("entries");
        while let Some(entry) = stream.next().await {
            let entry = entry.expect("entry");
            let path = entry.path().expect("path").display().to_string();
            let mode = entry.header().mode().expect("mode");
            names.push((path, mode));
        }
        assert_eq!(
            names,
            [
                ("srv/".to_owned(), 0o755),
                ("srv/pki/".to_owned(), 0o755),
                ("usr/".to_owned(), 0o755),
                ("usr/local/".to_owned(), 0o755),
                ("usr/local/bin/".to_owned(), 0o755),
                ("usr/local/bin/x".to_owned(), 0o755),
            ]
        );
    }
}
