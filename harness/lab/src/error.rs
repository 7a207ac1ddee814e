//! Everything that can go wrong starting, stopping or reaching a lab, each saying what to do next.
//! Underlying errors are part of the message (fields named `cause`, not `source`), so a chain
//! printed with `{:#}` does not say them twice.

use std::path::PathBuf;
use std::time::Duration;

use crate::Service;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("unknown service '{0}': expected one of directory, smtp, tenant, pki-web")]
    UnknownService(String),

    #[error("unknown runtime '{0}': expected auto, containers or local")]
    UnknownRuntime(String),

    #[error("the {0} service is not part of this lab (add it to LabConfig::services)")]
    NotInLab(Service),

    #[error("invalid lab configuration: {0}")]
    Config(String),

    #[error("{action} {path}: {cause}")]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },

    #[error("{program} not found: {hint}")]
    ProgramMissing { program: String, hint: String },

    #[error("cannot start {service} ({program}): {cause}")]
    Spawn {
        service: Service,
        program: PathBuf,
        cause: std::io::Error,
    },

    #[error("{service} exited before it was ready ({status}); its last output:\n{output}")]
    Exited {
        service: Service,
        status: String,
        output: String,
    },

    #[error(
        "{service} was not ready after {}s ({detail}); its last output:\n{output}",
        waited.as_secs()
    )]
    NotReady {
        service: Service,
        waited: Duration,
        detail: String,
        output: String,
    },

    #[error(
        "cannot reach the Docker engine at {host}: {cause}\n  start Docker (or set DOCKER_HOST), or use the local runtime (--runtime local)"
    )]
    DockerUnreachable {
        host: String,
        cause: bollard::errors::Error,
    },

    #[error(
        "Docker image {image} is not in the local engine: run `cargo xtask images` (nothing is ever pulled)"
    )]
    ImageMissing { image: String },

    #[error(
        "Docker image {image} was built from another recipe (label {found}, this checkout wants {expected}): run `cargo xtask images`"
    )]
    ImageOutdated {
        image: String,
        found: String,
        expected: String,
    },

    #[error("Docker: {action}: {cause}")]
    Docker {
        action: String,
        cause: bollard::errors::Error,
    },

    #[error("{0}")]
    Other(String),
}

impl LabError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        LabError::Io {
            action,
            path: path.into(),
            cause: source,
        }
    }

    pub(crate) fn docker(action: impl Into<String>, source: bollard::errors::Error) -> Self {
        LabError::Docker {
            action: action.into(),
            cause: source,
        }
    }
}
