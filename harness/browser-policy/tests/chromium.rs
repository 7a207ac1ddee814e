//! The generated Linux policy, proven against a real browser: Debian's Chromium, headless, reads
//! it from /etc/chromium/policies and reports what it applied through the DevTools protocol.
//!
//! Chromium reads policy only from a fixed folder, so these tests write there (as root, which CI
//! is), refuse to overwrite a file they did not create, and remove what they created on every
//! path, panics included. nextest runs each test in a process of its own; its `chromium` test
//! group (`.config/nextest.toml`, max-threads 1) runs one at a time. Under `cargo test` the tests
//! are threads of one process, which a mutex serialises.
//!
//! The DevTools connection is `--remote-debugging-pipe`: NUL-terminated JSON messages on file
//! descriptors 3 (to the browser) and 4 (from it), so no WebSocket client is needed. The policy
//! values come from chrome://policy's own "Export to JSON" data (its `BrowserProxy.getPolicies`),
//! which is what an admin would read off the page: value, level, scope, source and the error
//! Chromium itself reports.
//!
//! `SMIME_LAB_CHROMIUM` names the browser binary (default: `chromium` on PATH);
//! `SMIME_LAB_CDP_DEBUG=1` prints every DevTools message received.
//!
//! Chromium never reaches the network here: every host name resolves to nothing and every
//! connection goes to a loopback proxy port that is closed.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::{self, File};
use std::io::{BufReader, Read as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use browser_policy::{Browser, CheckOptions, Format, OWA_SMIME_EXTENSION_FORCELIST_VALUE};
use serde_json::{Value, json};

const POLICY_ROOT: &str = "/etc/chromium/policies";
const FILE_NAME: &str = "smime-lab-test.json";
/// Start-up plus page load on a loaded 2-core runner stays well below this.
const BROWSER_DEADLINE: Duration = Duration::from_secs(60);

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("SMIME_LAB_CHROMIUM") {
        return PathBuf::from(path);
    }
    if let Some(found) = ["chromium", "chromium-browser"]
        .into_iter()
        .find_map(test_support::find_on_path)
    {
        return found;
    }
    panic!(
        "Chromium is not installed: these tests prove the policy against a real browser. Install it with `apt-get install -y chromium` (or `cargo xtask peers --install`), or point SMIME_LAB_CHROMIUM at the binary"
    );
}

/// One test at a time in the policy folder within this process (`cargo test` runs tests as
/// threads); across processes, nextest's `chromium` test group. A test that panicked while
/// holding it removed its policy on the way out (`Drop`), so a poisoned lock is taken as is.
static POLICY_FOLDER: Mutex<()> = Mutex::new(());

/// A policy file written into Chromium's folder, removed with the folders it created on drop.
struct InstalledPolicy {
    file: PathBuf,
    created: Vec<PathBuf>,
    _folder: MutexGuard<'static, ()>,
}

impl InstalledPolicy {
    fn install(level: &str, bytes: &[u8]) -> InstalledPolicy {
        let folder_guard = POLICY_FOLDER.lock().unwrap_or_else(PoisonError::into_inner);
        let dir = Path::new(POLICY_ROOT).join(level);
        // Another policy in the folders would change what Chromium reports: refuse to test then.
        for sub in ["managed", "recommended"] {
            let folder = Path::new(POLICY_ROOT).join(sub);
            if let Ok(entries) = fs::read_dir(&folder) {
                let foreign: Vec<_> = entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.file_name().is_some_and(|n| n != FILE_NAME))
                    .collect();
                assert!(
                    foreign.is_empty(),
                    "{} already holds policy files {foreign:?}: the test would not see its own policy alone; move them away and rerun",
                    folder.display()
                );
            }
        }
        let mut created = Vec::new();
        for ancestor in [Path::new("/etc/chromium"), Path::new(POLICY_ROOT), &dir] {
            if !ancestor.exists() {
                fs::create_dir(ancestor).unwrap_or_else(|e| {
                    panic!(
                        "{}: cannot create ({e}); these tests write Chromium's fixed policy folder and must run as root (CI does)",
                        ancestor.display()
                    )
                });
                created.push(ancestor.to_path_buf());
            }
        }
        let file = dir.join(FILE_NAME);
        let mut out = File::options()
            .write(true)
            .create_new(true)
            .open(&file)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: cannot create ({e}); if a previous run left it behind, check it is ours and delete it",
                    file.display()
                )
            });
        let guard = InstalledPolicy {
            file: file.clone(),
            created,
            _folder: folder_guard,
        };
        out.write_all(bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        guard
    }
}

impl Drop for InstalledPolicy {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.file);
        for dir in self.created.iter().rev() {
            // Only if empty: never remove what someone else put there meanwhile.
            let _ = fs::remove_dir(dir);
        }
    }
}

/// A headless Chromium driven over the DevTools pipe; killed with its whole process group on drop.
struct Headless {
    child: Child,
    to_browser: ChildStdin,
    from_browser: Receiver<Value>,
    next_id: u64,
    _profile: tempfile::TempDir,
    log: PathBuf,
}

impl Headless {
    fn start() -> Headless {
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
            _profile: profile,
            log,
        }
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Send one command and wait for its answer.
    fn call(
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
                Ok(_event) => {}
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

    /// chrome://policy's "Export to JSON" document.
    fn exported_policies(&mut self) -> Value {
        let deadline = Instant::now() + BROWSER_DEADLINE;
        let target = self.call(
            "Target.createTarget",
            json!({ "url": "chrome://policy" }),
            None,
            deadline,
        );
        let target_id = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = self.call(
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
            None,
            deadline,
        );
        let session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_owned();
        // Import the page's module only once chrome://policy has loaded: imported earlier, it fails
        // (its strings are not there yet) and the failed module stays cached for the page.
        loop {
            let state = self.call(
                "Runtime.evaluate",
                json!({ "expression": "location.href + ' ' + document.readyState", "returnByValue": true }),
                Some(&session),
                deadline,
            );
            if state["result"]["value"] == "chrome://policy/ complete" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chrome://policy did not load; last state: {state}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // The page's own module; 1 = GetPoliciesReason.kExport.
        let expression = "(async () => { const m = await import('chrome://policy/browser_proxy.js'); return await m.BrowserProxy.getPolicies(1); })()";
        loop {
            let result = self.call(
                "Runtime.evaluate",
                json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
                Some(&session),
                deadline,
            );
            // Policy loading is asynchronous at start-up: ask again until the forcelist shows.
            if result.get("exceptionDetails").is_none()
                && let Some(text) = result["result"]["value"].as_str()
            {
                let export: Value =
                    serde_json::from_str(text).expect("chrome://policy exports JSON");
                if export["policyGroups"]["chrome"]["policies"]
                    .get(browser_policy::FORCELIST_POLICY)
                    .is_some()
                {
                    return export;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chrome://policy never showed ExtensionInstallForcelist; last answer: {result}\nChromium's log ends:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
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

/// Install `bytes` at `level`, start Chromium, return its report of ExtensionInstallForcelist.
fn chromium_reports(level: &str, bytes: &[u8]) -> Value {
    let _installed = InstalledPolicy::install(level, bytes);
    let mut browser = Headless::start();
    let export = browser.exported_policies();
    export["policyGroups"]["chrome"]["policies"][browser_policy::FORCELIST_POLICY].clone()
}

fn our_report(bytes: &[u8], level: &str) -> browser_policy::CheckReport {
    let path = format!("{POLICY_ROOT}/{level}/{FILE_NAME}");
    browser_policy::check_artifact(
        bytes,
        &CheckOptions {
            path: Some(&path),
            browser: Some(Browser::Chromium),
        },
    )
    .expect("readable")
}

fn our_findings(bytes: &[u8], level: &str) -> Vec<String> {
    our_report(bytes, level)
        .findings
        .iter()
        .map(|f| format!("{} {}", f.id, f.message))
        .collect()
}

#[test]
fn chromium_applies_the_generated_linux_policy_as_mandatory_machine_policy() {
    let artifact = browser_policy::generate(Browser::Chromium, Format::LinuxJson, "test");
    assert_eq!(
        artifact.path_hint,
        format!("{POLICY_ROOT}/managed/smime-owa-extension.json")
    );
    let reported = chromium_reports("managed", &artifact.bytes);
    assert_eq!(
        reported,
        json!({
            "level": "mandatory",
            "scope": "machine",
            "source": "platform",
            "value": [OWA_SMIME_EXTENSION_FORCELIST_VALUE],
        }),
        "Chromium's report has no error or warning and exactly our value"
    );
    let ours = our_report(&artifact.bytes, "managed");
    let ids: Vec<&str> = ours.findings.iter().map(|f| f.id).collect();
    assert_eq!(ids, ["BRW-FL-002", "BRW-GEN-001"], "{:?}", ours.findings);
}

#[test]
fn a_string_instead_of_a_list_is_chromiums_expected_list_error_and_ours() {
    let broken =
        format!("{{\"ExtensionInstallForcelist\": \"{OWA_SMIME_EXTENSION_FORCELIST_VALUE}\"}}\n");
    let reported = chromium_reports("managed", broken.as_bytes());
    assert_eq!(reported["error"], "Expected list value.", "{reported}");
    assert_eq!(reported["value"], OWA_SMIME_EXTENSION_FORCELIST_VALUE);
    let ours = our_findings(broken.as_bytes(), "managed");
    assert!(
        ours.iter()
            .any(|f| f.starts_with("BRW-TYPE-001") && f.contains("Expected list value.")),
        "{ours:?}"
    );
}

#[test]
fn a_comma_separator_is_an_invalid_extension_id_to_chromium_and_a_separator_error_to_us() {
    let entry = OWA_SMIME_EXTENSION_FORCELIST_VALUE.replace(';', ",");
    let broken = serde_json::to_vec(&json!({ "ExtensionInstallForcelist": [entry] })).unwrap();
    let reported = chromium_reports("managed", &broken);
    assert_eq!(
        reported["error"], "Error at ExtensionInstallForcelist[0]: Invalid extension ID.",
        "{reported}"
    );
    let ours = our_findings(&broken, "managed");
    assert!(
        ours.iter().any(|f| f.starts_with("BRW-SEP-001")),
        "{ours:?}"
    );
}

#[test]
fn a_policy_in_the_recommended_folder_is_only_recommended_to_chromium_and_an_error_to_us() {
    let artifact = browser_policy::generate(Browser::Chromium, Format::LinuxJson, "test");
    let reported = chromium_reports("recommended", &artifact.bytes);
    assert_eq!(reported["level"], "recommended", "{reported}");
    assert_eq!(
        reported["value"],
        json!([OWA_SMIME_EXTENSION_FORCELIST_VALUE])
    );
    let ours = our_findings(&artifact.bytes, "recommended");
    assert!(
        ours.iter().any(|f| f.starts_with("BRW-LVL-001")),
        "{ours:?}"
    );
}
