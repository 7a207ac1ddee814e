//! When a started container counts as ready: its n-th ready line on the n-th start (then,
//! for slapd, a server answering behind the published port), or an HTTP 200 on a probe path.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt as _;
use serde::Deserialize;

use super::engine::{Engine, container_running, log_tail};
use super::lab::ContainerService;
use crate::{LabError, Service};

/// A first start includes the engine creating the container's filesystem.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How a container says it is ready.
#[derive(Debug, Clone)]
pub(super) enum ReadyCheck {
    /// A log line containing `needle` (counted: the n-th start waits for the n-th line), then,
    /// with `alive`, a server answering on that container port.
    Line {
        needle: &'static str,
        alive: Option<u16>,
    },
    /// `GET path` on the published port answers 200.
    Http { container_port: u16, path: String },
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

pub(super) async fn wait_ready(
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
}
