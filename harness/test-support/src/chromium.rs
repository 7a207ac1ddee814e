//! Debian's Chromium, headless, driven over the DevTools protocol: the one browser driver the
//! tests share (the browser-policy tests read chrome://policy with it; the runner's test opens
//! the HTML report in it).
//!
//! The DevTools connection is `--remote-debugging-pipe`: NUL-terminated JSON messages on file
//! descriptors 3 (to the browser) and 4 (from it), so no WebSocket client is needed. Events that
//! arrive while a command waits for its answer are kept ([`Headless::events`]), so that a test can
//! look for console messages and exceptions afterwards.
//!
//! `SMIME_LAB_CHROMIUM` names the browser binary (default: `chromium` on PATH);
//! `SMIME_LAB_CDP_DEBUG=1` prints every DevTools message received. Chromium never reaches the
//! network: every host name resolves to nothing and every connection goes to a loopback proxy
//! port that is closed. Tests that write Chromium's policy folder serialise themselves (nextest's
//! `chromium` test group); a browser that only opens a file needs nothing shared.

use std::fs::{self, File};
use std::io::{BufReader, Read as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Start-up plus page load on a loaded 2-core runner stays well below this.
pub const BROWSER_DEADLINE: Duration = Duration::from_secs(60);

/// The browser binary: `SMIME_LAB_CHROMIUM`, else `chromium` (or `chromium-browser`) on PATH;
/// panics with the install command when there is none.
pub fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("SMIME_LAB_CHROMIUM") {
        return PathBuf::from(path);
    }
    if let Some(found) = ["chromium", "chromium-browser"]
        .into_iter()
        .find_map(crate::find_on_path)
    {
        return found;
    }
    panic!(
        "Chromium is not installed: these tests use a real browser. Install it with `apt-get install -y chromium` (or `cargo xtask peers --install`), or point SMIME_LAB_CHROMIUM at the binary"
    );
}

/// A headless Chromium driven over the DevTools pipe; killed with its whole process group on drop.
pub struct Headless {
    child: Child,
    to_browser: ChildStdin,
    from_browser: Receiver<Value>,
    next_id: u64,
    events: Vec<Value>,
    _profile: tempfile::TempDir,
    log: PathBuf,
}

impl Headless {
    /// Starts the browser on `about:blank` with a fresh profile.
    pub fn start() -> Headless {
        let binary = chromium();
        let profile = tempfile::tempdir().expect("temporary profile folder");
        let log = profile.path().join("chromium.log");
        let stderr = File::create(&log).expect("log file");
        let mut child = Command::new("sh")
            // fd 3 = our pipe to the browser, fd 4 = its pipe to us; stdin/stdout go nowhere.
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(&binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-pipe",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--proxy-server=http://127.0.0.1:9",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: cannot start: {e}", binary.display()));
        let to_browser = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 65536];
            loop {
                let n = match reader.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buffer.extend_from_slice(&chunk[..n]);
                while let Some(end) = buffer.iter().position(|&b| b == 0) {
                    let message: Vec<u8> = buffer.drain(..=end).collect();
                    if std::env::var_os("SMIME_LAB_CDP_DEBUG").is_some() {
                        eprintln!(
                            "<- {}",
                            String::from_utf8_lossy(&message[..message.len().min(300)])
                        );
                    }
                    if let Ok(value) = serde_json::from_slice(&message[..message.len() - 1])
                        && tx.send(value).is_err()
                    {
                        return;
                    }
                }
            }
        });
        Headless {
            child,
            to_browser,
            from_browser: rx,
            next_id: 0,
            events: Vec::new(),
            _profile: profile,
            log,
        }
    }

    /// The last lines of the browser's own log, for a failure message.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Every event received so far (messages without an `id`), in order.
    pub fn events(&self) -> &[Value] {
        &self.events
    }

    /// Waits up to `wait` for more events, keeping them; returns early on `until` matching one.
    pub fn drain_events(&mut self, wait: Duration, until: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                Ok(event) => {
                    let done = until(&event);
                    if event.get("id").is_none() {
                        self.events.push(event);
                    }
                    if done {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    }

    /// Sends one command and waits for its answer; panics on an error answer or no answer
    /// within `deadline`.
    pub fn call(
        &mut self,
        method: &str,
        params: Value,
        session: Option<&str>,
        deadline: Instant,
    ) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).expect("serialisable");
        bytes.push(0);
        if let Err(e) = self.to_browser.write_all(&bytes) {
            panic!(
                "Chromium closed its DevTools pipe ({e}); its log ends:\n{}",
                self.log_tail()
            );
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                Ok(reply) if reply["id"] == id => {
                    assert!(reply.get("error").is_none(), "{method} failed: {reply}");
                    return reply["result"].clone();
                }
                Ok(event) => {
                    if event.get("id").is_none() {
                        self.events.push(event);
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "Chromium did not answer {method} within {BROWSER_DEADLINE:?}; its log ends:\n{}",
                    self.log_tail()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "Chromium exited while answering {method}; its log ends:\n{}",
                    self.log_tail()
                ),
            }
        }
    }

    /// Opens a new tab on `url` and attaches to it; returns the session id for [`Self::call`].
    pub fn open(&mut self, url: &str, deadline: Instant) -> String {
        let target = self.call("Target.createTarget", json!({ "url": url }), None, deadline);
        let target_id = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = self.call(
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
            None,
            deadline,
        );
        attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_owned()
    }

    /// Evaluates `expression` in the page and returns its value (by value).
    pub fn evaluate(&mut self, session: &str, expression: &str, deadline: Instant) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            Some(session),
            deadline,
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression} threw: {result}"
        );
        result["result"]["value"].clone()
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        // The whole group: the browser, its zygote, renderers and GPU process.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -KILL -- -{} 2>/dev/null", self.child.id()))
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
