//! `smime-lab browser-policy generate` and `check`, run as an admin runs them: what lands in the
//! files, what is printed, and the exit codes (0 clean, 1 an error finding, 2 unreadable/usage).

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_smime-lab");
const VALUE: &str = browser_policy::OWA_SMIME_EXTENSION_FORCELIST_VALUE;

fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(BIN)
        .arg("browser-policy")
        .args(args)
        .output()
        .expect("run smime-lab")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn generate_one_format_to_stdout_and_to_a_file() {
    let out = run(&["generate", "--browser", "chrome", "--format", "linux-json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        out.stdout,
        browser_policy::generate(
            browser_policy::Browser::Chrome,
            browser_policy::Format::LinuxJson,
            "smime-lab"
        )
        .bytes
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("/etc/opt/chrome/policies/managed/smime-owa-extension.json"),
        "{stderr}"
    );
    assert!(stderr.contains("domain- or Entra-joined"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("edge.reg");
    let out = run(&[
        "generate".as_ref(),
        "--browser".as_ref(),
        "edge".as_ref(),
        "--format".as_ref(),
        "reg".as_ref(),
        "-o".as_ref(),
        file.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xFE]), "UTF-16LE with a BOM");
}

#[test]
fn generate_all_formats_into_a_folder_then_check_each_clean() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "generate".as_ref(),
        "--browser".as_ref(),
        "edge".as_ref(),
        "-o".as_ref(),
        dir.path().as_os_str(),
        "--seed".as_ref(),
        "x".as_ref(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Registry.pol",
            "edge-managed-policy.json",
            "smime-owa-extension-edge.mobileconfig",
            "smime-owa-extension-edge.reg"
        ]
    );
    for name in &names {
        let file = dir.path().join(name);
        let out = run(&[
            "check".as_ref(),
            file.as_os_str(),
            "--browser".as_ref(),
            "edge".as_ref(),
        ]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{name}: {stdout}");
        assert!(stdout.contains("BRW-FL-002"), "{name}: {stdout}");
        assert!(
            stdout.contains("0 errors, 0 warnings: ok"),
            "{name}: {stdout}"
        );
    }
}

#[test]
fn without_format_or_folder_it_is_a_usage_error() {
    let out = run(&["generate", "--browser", "edge"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--format"),
        "{}",
        text(&out.stderr)
    );
}

fn check_file(dir: &Path, name: &str, bytes: &[u8], extra: &[&str]) -> Output {
    let file = dir.join(name);
    std::fs::write(&file, bytes).unwrap();
    let mut args: Vec<std::ffi::OsString> = vec!["check".into(), file.into_os_string()];
    args.extend(extra.iter().map(Into::into));
    run(&args)
}

#[test]
fn a_broken_policy_exits_1_and_says_what_to_change() {
    let dir = tempfile::tempdir().unwrap();
    let broken = format!(
        "{{\"ExtensionInstallForcelist\": [\"{}\"]}}",
        VALUE.replace(';', ",")
    );
    let out = check_file(dir.path(), "owa.json", broken.as_bytes(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("BRW-SEP-001 error"), "{stdout}");
    assert!(
        stdout.contains("fix: separate the extension ID"),
        "{stdout}"
    );
    assert!(stdout.contains("BRW-GEN-001 info"), "{stdout}");

    // The install path given separately decides the level.
    let good = browser_policy::linux_json::write(VALUE);
    let out = check_file(
        dir.path(),
        "good.json",
        &good,
        &["--path", "/etc/opt/chrome/policies/recommended/owa.json"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("BRW-LVL-001"));
}

#[test]
fn json_report_lists_findings_with_ids() {
    let dir = tempfile::tempdir().unwrap();
    let out = check_file(
        dir.path(),
        "p.json",
        br#"{"ExtensionInstallAllowlist": ["maafgiompdekodanheihhgilkjchcakm"]}"#,
        &["--json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = report["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["BRW-ALW-001", "BRW-SCOPE-002", "BRW-GEN-001"]);
    assert_eq!(report["report"]["format"], "linux-json");
}

#[test]
fn unreadable_input_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = check_file(dir.path(), "notes.txt", b"just some notes", &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("notes.txt"), "{stderr}");
    assert!(stderr.contains("not a browser policy file"), "{stderr}");

    let out = run(&["check", "/nonexistent/policy.reg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/policy.reg"));

    let out = check_file(dir.path(), "bad.pol", b"PReg\x01\0\0\0[\0", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("byte offset"),
        "{}",
        text(&out.stderr)
    );
}

/// All four forms or none: a folder named Registry.pol in the way fails the run before the .reg,
/// the profile or the JSON is written, and an earlier set of files is left as it was.
#[test]
fn generate_into_a_folder_writes_all_four_files_or_none() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("Registry.pol")).unwrap();
    let folder = dir.path().to_str().unwrap();
    let out = run(&["generate", "--browser", "edge", "-o", folder]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("Registry.pol: a folder of that name is in the way"),
        "{}",
        text(&out.stderr)
    );
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["Registry.pol"], "no other file, no temporary file");

    std::fs::remove_dir(dir.path().join("Registry.pol")).unwrap();
    let out = run(&["generate", "--browser", "edge", "-o", folder]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
}
