//! `smime-lab scenario check|schema|plan`, run as a user runs them: exit codes 0 (valid), 1 (a
//! scenario with problems), 2 (a file that cannot be read).

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_smime-lab");

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        // Plain output whatever the terminal.
        .env("NO_COLOR", "1")
        .output()
        .expect("run smime-lab")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_accepts_the_catalogue() {
    let scenarios = test_support::repo_root().join("scenarios");
    let out = run(&["scenario".as_ref(), "check".as_ref(), scenarios.as_os_str()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("ok    "), "{stdout}");
    assert!(stdout.contains(" 0 invalid"), "{stdout}");
}

#[test]
fn check_reports_file_line_and_column_and_exits_1() {
    let broken = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/broken-scenarios/unknown-user-in-message.yaml");
    let good = test_support::repo_root().join("scenarios/rsa-happy-path.yaml");
    let out = run(&[
        "scenario".as_ref(),
        "check".as_ref(),
        good.as_os_str(),
        broken.as_os_str(),
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("{}:10:25]", broken.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("recipient `carrol` is not a user"),
        "{stderr}"
    );
    assert!(stdout.contains("FAIL  "), "{stdout}");
    assert!(stdout.contains("1 valid, 1 invalid"), "{stdout}");
}

#[test]
fn check_of_a_missing_file_exits_2() {
    let out = run(&[
        "scenario".as_ref(),
        "check".as_ref(),
        "no/such/scenario.yaml".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot read no/such/scenario.yaml"));
}

#[test]
fn schema_is_written_where_scenario_files_look_for_it() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let target = dir.path().join("scenarios/scenario.schema.json");
    let out = run(&[
        "scenario".as_ref(),
        "schema".as_ref(),
        "-o".as_ref(),
        target.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&target).expect("the schema file");
    let schema: serde_json::Value = serde_json::from_str(&written).expect("JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], false);
    // Doc comments become descriptions editors show.
    let source = &schema["properties"]["source"]["description"];
    assert!(
        source.as_str().is_some_and(|d| d.contains("Microsoft")),
        "{source}"
    );

    // Without -o it goes to standard output, the same bytes.
    let out = run(&["scenario".as_ref(), "schema".as_ref()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), written);
}

#[test]
fn schema_of_vendor_prints_the_vendor_yaml_schema() {
    let out = run(&[
        "scenario".as_ref(),
        "schema".as_ref(),
        "--of".as_ref(),
        "vendor".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let schema: serde_json::Value = serde_json::from_str(&text(&out.stdout)).expect("JSON");
    assert_eq!(schema["title"], "smime-lab vendor bundle (vendor.yaml)");
    assert!(schema["properties"]["users"].is_object(), "{schema}");
}

#[test]
fn plan_lists_the_actions() {
    let file = test_support::repo_root().join("scenarios/expired-ca-in-sst.yaml");
    let out = run(&["scenario".as_ref(), "plan".as_ref(), file.as_os_str()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("expired-ca-in-sst: tenant contoso.onmicrosoft.com, domain contoso.com, clock 2026-01-01T00:00:00Z"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Set-SmimeConfig -SMIMECertificateIssuingCA: 3 certificates"),
        "{stdout}"
    );
    assert!(stdout.contains("expect error expired listing "), "{stdout}");

    let broken = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/broken-scenarios/duplicate-snapshot.yaml");
    let out = run(&["scenario".as_ref(), "plan".as_ref(), broken.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is used twice"));
}
