//! The containers runtime: one container per service on a Docker network of the run's own, from
//! the images `cargo xtask images` builds, driven with the `bollard` client
//! (the crate docs say why not testcontainers).
//!
//! Everything a run creates carries [`LABEL_RUN`] plus its owner's host name and pid, so that
//! [`RunningLab::stop`], `Drop`, and the next lab on the same host (for owners that died without
//! either) can find and remove it. Nothing is ever pulled.
//!
//! One module per part: [`engine`] (the connection, images, finding and removing runs),
//! [`lab`] (a run: its network, containers, stop/start, clean-up), [`spec`] (what each
//! service's container is made of), [`ready`] (when a started container counts as ready) and
//! [`archive`] (the tar of files copied in before a container starts).

mod archive;
mod engine;
mod lab;
mod portable;
mod ready;
mod spec;

use futures_util::future::BoxFuture;

use crate::{LabConfig, LabError, RunningLab, Runtime, RuntimeKind};
use engine::Engine;
use lab::DockerLab;

/// Marks everything the lab creates.
pub const LABEL_LAB: &str = "org.smime-lab.lab";
/// The run id.
pub const LABEL_RUN: &str = "org.smime-lab.run";
/// Host name of the process that owns the run.
const LABEL_OWNER_HOST: &str = "org.smime-lab.owner-host";
/// Pid of the process that owns the run: how an owner finds its own labs on the engine
/// ([`Containers::clean_up_this_process`], a test watching the lab a scenario started).
pub const LABEL_OWNER_PID: &str = "org.smime-lab.owner-pid";
/// On a container: the service it runs ([`crate::Service::name`]).
pub const LABEL_SERVICE: &str = "org.smime-lab.service";

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

    /// Each image `config`'s services need (once), with whether it is present and built from
    /// this checkout's recipe; `Err` when no engine answers (`smime-lab doctor`).
    pub async fn image_states(
        &self,
        config: &LabConfig,
    ) -> Result<Vec<(crate::images::ImageRecipe, Result<(), LabError>)>, LabError> {
        let engine = Engine::connect().await?;
        let mut seen = Vec::new();
        let mut states = Vec::new();
        for service in &config.services {
            let recipe = crate::images::for_service(*service);
            if seen.contains(&recipe.name) {
                continue;
            }
            seen.push(recipe.name);
            let state = engine.check_image(&recipe).await;
            states.push((recipe, state));
        }
        Ok(states)
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
