//! Supervised child processes for the local runtime: output captured line by line into a log
//! file and a short in-memory tail (for error messages), readiness waited for with a deadline,
//! and the process killed when its handle is dropped.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::{LabError, Service};

/// Lines of output kept for error messages.
const TAIL_LINES: usize = 40;

/// How a local service says it is ready.
pub(crate) enum Ready<'a, T> {
    /// A line of its stdout or stderr; the closure returns `Some` for the ready line.
    Line(&'a mut (dyn FnMut(&str) -> Option<T> + Send)),
    /// `GET path` on `host_port` answers 200.
    Http {
        host_port: &'a str,
        path: &'a str,
        value: T,
    },
}

/// The pids of this process's supervised children that have not been dropped yet, for an owner
/// that exits without dropping its labs ([`kill_all_of_this_process`]). An entry leaves when its
/// [`Supervised`] is dropped, so a pid the system reuses later is never killed by mistake.
static LIVE_CHILDREN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// SIGKILLs every supervised child of this process still running; returns how many were sent.
/// For `Local::clean_up_this_process`: `Drop` (and with it `kill_on_drop`) does not run when a
/// process exits with `std::process::exit`.
///
/// Each pid leaves the registry as it is killed, so a second call kills only what started since.
pub(crate) fn kill_all_of_this_process() -> usize {
    let pids: Vec<u32> = LIVE_CHILDREN
        .lock()
        .map(|mut live| std::mem::take(&mut *live).into_iter().collect())
        .unwrap_or_default();
    pids.iter()
        .filter(|pid| {
            std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
        .count()
}

/// A running child process of the lab.
pub(crate) struct Supervised {
    service: Service,
    child: Child,
    /// The pid at spawn (the child's own `id()` is `None` once it has been waited for).
    pid: Option<u32>,
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if let (Some(pid), Ok(mut live)) = (self.pid, LIVE_CHILDREN.lock()) {
            live.remove(&pid);
        }
    }
}

impl Supervised {
    /// Starts `command`, appending its output to `log_path`, and waits until `ready` says so, the
    /// process exits (an error with its last output), or `timeout` passes.
    pub async fn start<T>(
        service: Service,
        mut command: Command,
        log_path: &Path,
        ready: Ready<'_, T>,
        timeout: Duration,
    ) -> Result<(Self, T), LabError> {
        let program = PathBuf::from(command.as_std().get_program());
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let log = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .await
            .map_err(|e| LabError::io("cannot open the log", log_path, e))?;
        let mut child = command.spawn().map_err(|cause| LabError::Spawn {
            service,
            program,
            cause,
        })?;
        let pid = child.id();
        if let (Some(pid), Ok(mut live)) = (pid, LIVE_CHILDREN.lock()) {
            live.insert(pid);
        }
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let log = Arc::new(tokio::sync::Mutex::new(log));
        let (lines_tx, mut lines_rx) = mpsc::unbounded_channel();
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(pump(stdout, lines_tx.clone(), tail.clone(), log.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(pump(stderr, lines_tx, tail.clone(), log));
        }
        let mut supervised = Supervised {
            service,
            child,
            pid,
            tail,
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let value = match ready {
            Ready::Line(matcher) => loop {
                tokio::select! {
                    line = lines_rx.recv() => match line {
                        Some(line) => {
                            if let Some(value) = matcher(&line) {
                                break value;
                            }
                        }
                        // Both streams closed: the process is gone.
                        None => return Err(supervised.exited().await),
                    },
                    () = tokio::time::sleep_until(deadline) => {
                        return Err(supervised.not_ready(timeout, "its ready line never came".into()));
                    }
                }
            },
            Ready::Http {
                host_port,
                path,
                value,
            } => {
                let mut last;
                loop {
                    if let Ok(Some(_)) = supervised.child.try_wait() {
                        return Err(supervised.exited().await);
                    }
                    match crate::probe::http_status(host_port, path).await {
                        Ok(200) => break value,
                        Ok(status) => last = format!("GET {path} answered {status}"),
                        Err(e) => last = e,
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Err(supervised.not_ready(timeout, last));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        Ok((supervised, value))
    }

    /// Whether the process has ended (reaped here, so it is no zombie).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The last lines of output, for a person reading an error.
    pub fn tail(&self) -> String {
        self.tail
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    async fn exited(&mut self) -> LabError {
        let status = match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(e)) => format!("cannot wait for it: {e}"),
            Err(_) => "its output closed but it is still running".into(),
        };
        // Let the pumps drain what the process wrote last.
        tokio::time::sleep(Duration::from_millis(50)).await;
        LabError::Exited {
            service: self.service,
            status,
            output: self.tail(),
        }
    }

    fn not_ready(&self, waited: Duration, detail: String) -> LabError {
        LabError::NotReady {
            service: self.service,
            waited,
            detail,
            output: self.tail(),
        }
    }

    /// Kills the process and waits for it. SIGKILL is enough: every service keeps its state
    /// crash-safe (mdb, the sink's atomic writes), and it is what makes "the server is down"
    /// immediate.
    pub async fn kill(mut self) -> Result<(), LabError> {
        if let Err(e) = self.child.start_kill()
            && e.kind() != std::io::ErrorKind::InvalidInput
        {
            return Err(LabError::Other(format!(
                "cannot kill {}: {e}",
                self.service
            )));
        }
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(LabError::Other(format!(
                "cannot wait for {} to exit: {e}",
                self.service
            ))),
            Err(_) => Err(LabError::Other(format!(
                "{} did not exit within 10s of SIGKILL",
                self.service
            ))),
        }
    }
}

/// Copies one output stream into the log file, the tail and (while someone waits for
/// readiness) the line channel.
async fn pump(
    stream: impl AsyncRead + Unpin,
    lines_tx: mpsc::UnboundedSender<String>,
    tail: Arc<Mutex<VecDeque<String>>>,
    log: Arc<tokio::sync::Mutex<tokio::fs::File>>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        {
            let mut file = log.lock().await;
            // A full disk must not stop the service: the log is a convenience.
            let _ = file.write_all(line.as_bytes()).await;
            let _ = file.write_all(b"\n").await;
        }
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.clone());
        }
        let _ = lines_tx.send(line);
    }
}
