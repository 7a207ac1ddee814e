//! The engine: the connection (`DOCKER_HOST` or the local socket), the images' presence and
//! recipe, finding and removing runs by their labels, and what one container reports (ports,
//! state, output).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, LogsOptions, RemoveContainerOptions,
};
use futures_util::StreamExt as _;

use super::{LABEL_LAB, LABEL_OWNER_HOST, LABEL_OWNER_PID, LABEL_RUN};
use crate::images::{self, ImageRecipe};
use crate::{LabConfig, LabError};

/// A connected engine and how its published ports are reached.
#[derive(Clone)]
pub(super) struct Engine {
    pub(super) docker: Docker,
    /// The host published ports are reached on from here.
    pub(super) endpoint_host: String,
    /// The address ports are published on (loopback for a local engine).
    pub(super) publish_ip: String,
    /// The engine runs on this host (a unix socket, or tcp to localhost).
    pub(super) local: bool,
    /// The engine's architecture as it says it (`amd64`, `arm64`), when it says it.
    pub(super) arch: Option<String>,
}

impl Engine {
    /// Connects to `DOCKER_HOST` (else the local socket) and checks the engine answers.
    pub(super) async fn connect() -> Result<Self, LabError> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
        let unreachable = |cause| LabError::DockerUnreachable {
            host: host.clone(),
            cause,
        };
        let docker = Docker::connect_with_defaults().map_err(unreachable)?;
        let arch = docker.version().await.map_err(unreachable)?.arch;
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
                arch,
            },
            None => Engine {
                docker,
                endpoint_host: "127.0.0.1".into(),
                publish_ip: "127.0.0.1".into(),
                local: true,
                arch,
            },
        })
    }

    pub(super) async fn check_images(&self, config: &LabConfig) -> Result<(), LabError> {
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

    pub(super) async fn check_image(&self, recipe: &ImageRecipe) -> Result<(), LabError> {
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
    pub(super) async fn remove_run(&self, run: &str) -> Result<(), LabError> {
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
    pub(super) async fn reap_orphans(&self) -> Result<Vec<String>, LabError> {
        self.remove_runs_where("removing the containers of a lab whose owner died", |pid| {
            !process_alive(pid)
        })
        .await
    }

    /// Removes the runs on this host whose owner pid satisfies `owner`, logging `why`.
    pub(super) async fn remove_runs_where(
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

pub(super) fn owner_host() -> String {
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

/// The host port published for each container port.
pub(super) async fn published_ports(
    engine: &Engine,
    name: &str,
) -> Result<BTreeMap<u16, u16>, LabError> {
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

pub(super) async fn container_running(engine: &Engine, name: &str) -> bool {
    engine
        .docker
        .inspect_container(name, None)
        .await
        .ok()
        .and_then(|i| i.state)
        .and_then(|s| s.running)
        .unwrap_or(false)
}

/// The last lines of a container's output, for an error message.
pub(super) async fn log_tail(engine: &Engine, name: &str) -> String {
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
