//! The generated Linux policy, proven against a real browser: Debian's Chromium, headless, reads
//! it from /etc/chromium/policies and reports what it applied through the DevTools protocol.
//!
//! Chromium reads policy only from a fixed folder, so these tests write there (as root, which CI
//! is), refuse to overwrite a file they did not create, and remove what they created on every
//! path, panics included. nextest runs each test in a process of its own; its `chromium` test
//! group (`.config/nextest.toml`, max-threads 1) runs one at a time. Under `cargo test` the tests
//! are threads of one process, which a mutex serialises.
//!
//! The browser is `test_support::chromium::Headless` (the DevTools protocol over a pipe). The policy
//! values come from chrome://policy's own "Export to JSON" data (its `BrowserProxy.getPolicies`),
//! which is what an admin would read off the page: value, level, scope, source and the error
//! Chromium itself reports.
//!
//! `SMIME_LAB_CHROMIUM` names the browser binary (default: `chromium` on PATH);
//! `SMIME_LAB_CDP_DEBUG=1` prints every DevTools message received. Chromium never reaches the
//! network.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use browser_policy::{Browser, CheckOptions, Format, OWA_SMIME_EXTENSION_FORCELIST_VALUE};
use serde_json::{Value, json};
use test_support::chromium::{BROWSER_DEADLINE, Headless};

const POLICY_ROOT: &str = "/etc/chromium/policies";
const FILE_NAME: &str = "smime-lab-test.json";

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

/// chrome://policy's "Export to JSON" document.
fn exported_policies(browser: &mut Headless) -> Value {
    let deadline = Instant::now() + BROWSER_DEADLINE;
    let session = browser.open("chrome://policy", deadline);
    // Import the page's module only once chrome://policy has loaded: imported earlier, it fails
    // (its strings are not there yet) and the failed module stays cached for the page.
    loop {
        let state = browser.call(
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
        let result = browser.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
            Some(&session),
            deadline,
        );
        // Policy loading is asynchronous at start-up: ask again until the forcelist shows.
        if result.get("exceptionDetails").is_none()
            && let Some(text) = result["result"]["value"].as_str()
        {
            let export: Value = serde_json::from_str(text).expect("chrome://policy exports JSON");
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
            browser.log_tail()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Install `bytes` at `level`, start Chromium, return its report of ExtensionInstallForcelist.
fn chromium_reports(level: &str, bytes: &[u8]) -> Value {
    let _installed = InstalledPolicy::install(level, bytes);
    let mut browser = Headless::start();
    let export = exported_policies(&mut browser);
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
