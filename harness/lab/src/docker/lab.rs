//! One run's lab: its network, a container per service (created, files copied in, started,
//! stopped, started again), the endpoints from the published ports, and its removal on stop,
//! on `Drop`, or by the next lab when the owner died.

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
    PortBinding, ResourcesUlimits,
};
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, StopContainerOptions, UploadToContainerOptions,
};
use futures_util::future::BoxFuture;

use super::archive::tar;
use super::engine::{Engine, container_running, owner_host, published_ports};
use super::ready::{ReadyCheck, wait_ready};
use super::spec::{ContainerSpec, FileIn, PKI_DOCROOT};
use super::{LABEL_LAB, LABEL_OWNER_HOST, LABEL_OWNER_PID, LABEL_RUN, LABEL_SERVICE};
use crate::endpoints::{
    DirectoryEndpoint, Endpoints, PkiWebEndpoint, SmtpEndpoint, TenantEndpoint,
};
use crate::{
    Credentials, HostResources, LabConfig, LabError, PkiWebContent, RunningServices, RuntimeKind,
    Service,
};

/// Seconds between SIGTERM and SIGKILL when a service is stopped.
const STOP_GRACE_SECONDS: i32 = 3;
/// Attempts at host ports we picked, in case another process took one meanwhile.
const PORT_ATTEMPTS: usize = 3;
/// slapd sizes descriptor tables by the `nofile` limit; container defaults can be 1M.
const NOFILE: i64 = 1024;

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

pub(super) struct ContainerService {
    pub(super) name: String,
    pub(super) ready: ReadyCheck,
    /// Starts so far (the n-th start waits for the n-th ready line).
    pub(super) starts: usize,
    /// Published host port per container port, as of the last start.
    pub(super) ports: BTreeMap<u16, u16>,
    pub(super) running: bool,
}

pub(super) struct DockerLab {
    pub(super) engine: Engine,
    pub(super) run_id: String,
    pub(super) endpoints: Endpoints,
    pub(super) services: BTreeMap<Service, ContainerService>,
    pub(super) config_services: Vec<Service>,
    pub(super) credentials: Credentials,
    pub(super) config: LabConfig,
    pub(super) removed: bool,
}

impl DockerLab {
    pub(super) async fn start(config: &LabConfig) -> Result<Self, LabError> {
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
        upload(&self.engine, &name, &spec.dirs, &spec.files).await?;
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
        // The lab's record is not enough: a container can die under it (its process crashed,
        // or was killed on the engine), and starting it again is what the caller asked for.
        if container.running && container_running(&engine, &container.name).await {
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

    fn replace_pki_web<'a>(
        &'a mut self,
        content: &'a PkiWebContent,
    ) -> BoxFuture<'a, Result<(), LabError>> {
        Box::pin(async move {
            let container = self
                .services
                .get_mut(&Service::PkiWeb)
                .ok_or(LabError::NotInLab(Service::PkiWeb))?;
            if !container.running {
                return Err(LabError::Other(format!(
                    "pki-web ({}) is stopped: start it before replacing what it serves",
                    container.name
                )));
            }
            let name = container.name.clone();
            exec(
                &self.engine,
                &name,
                &["find", PKI_DOCROOT, "-mindepth", "1", "-delete"],
            )
            .await?;
            let files: Vec<FileIn> = content
                .files()
                .iter()
                .map(|(path, bytes)| FileIn {
                    path: format!("{PKI_DOCROOT}/{path}"),
                    bytes: bytes.clone(),
                    mode: 0o644,
                })
                .collect();
            upload(&self.engine, &name, &[PKI_DOCROOT.to_owned()], &files).await?;
            if let ReadyCheck::Http { path, .. } = &mut container.ready {
                *path = content.probe_path();
            }
            self.config.pki_web = content.clone();
            Ok(())
        })
    }

    fn host_resources(&self) -> HostResources {
        HostResources {
            containers: self.services.values().map(|c| c.name.clone()).collect(),
            network: Some(self.network()),
            ..HostResources::default()
        }
    }

    fn logs_hint(&self, service: Service) -> String {
        match self.services.get(&service) {
            Some(container) => format!("docker logs {}", container.name),
            None => format!("({service} is not part of this lab)"),
        }
    }
}

/// Copies directories and files into a container (created or running), as one tar archive
/// unpacked at `/`.
async fn upload(
    engine: &Engine,
    container: &str,
    dirs: &[String],
    files: &[FileIn],
) -> Result<(), LabError> {
    let archive = tar(dirs, files).await?;
    engine
        .docker
        .upload_to_container(
            container,
            Some(UploadToContainerOptions {
                path: "/".into(),
                ..Default::default()
            }),
            bollard::body_full(archive.into()),
        )
        .await
        .map_err(|e| LabError::docker(format!("copying files into {container}"), e))
}

/// Runs a command in a running container and waits for it; an exit status other than 0 is an
/// error with the command's output (at most 2,000 characters of it).
async fn exec(engine: &Engine, container: &str, cmd: &[&str]) -> Result<(), LabError> {
    use bollard::exec::{CreateExecOptions, StartExecResults};
    use futures_util::StreamExt as _;
    let what = format!("running `{}` in {container}", cmd.join(" "));
    let created = engine
        .docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(cmd.to_vec()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| LabError::docker(what.clone(), e))?;
    let mut output = String::new();
    if let StartExecResults::Attached {
        output: mut stream, ..
    } = engine
        .docker
        .start_exec(&created.id, None)
        .await
        .map_err(|e| LabError::docker(what.clone(), e))?
    {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| LabError::docker(what.clone(), e))?;
            if output.len() < 2000 {
                output.push_str(&chunk.to_string());
            }
        }
    }
    let inspected = engine
        .docker
        .inspect_exec(&created.id)
        .await
        .map_err(|e| LabError::docker(what.clone(), e))?;
    match inspected.exit_code {
        Some(0) => Ok(()),
        code => Err(LabError::Other(format!(
            "{what} exited with {}: {}",
            code.map_or_else(|| "no status".to_owned(), |c| c.to_string()),
            output.chars().take(2000).collect::<String>().trim()
        ))),
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
