#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic: a failed expectation is a failed test

//! `smime-lab doctor` and the machine check `scenario run` makes before any lab starts: what is
//! missing is named once, with the command that installs it, and "cannot run here" is exit 3
//! (could not run), not a finding. Each case makes the machine lack something whatever is
//! installed: a program named by its `SMIME_LAB_*` variable that does not exist, PATH emptied, an
//! engine address where nothing listens.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_smime-lab");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `smime-lab <args>` with no colour, no Docker engine (a closed loopback port) and slapd
/// named where there is none.
fn without_slapd_or_docker(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(test_support::repo_root())
        .env("NO_COLOR", "1")
        .env("SMIME_LAB_SLAPD", dir.join("no-slapd-here"))
        .env("DOCKER_HOST", "tcp://127.0.0.1:9")
        .output()
        .expect("run smime-lab")
}

#[test]
fn a_missing_slapd_is_named_with_its_install_command_and_exits_3() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = without_slapd_or_docker(dir.path(), &["doctor", "--runtime", "local"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout
            .starts_with("cannot run: the local runtime was asked for but cannot run here: slapd"),
        "{stdout}"
    );
    let slapd = stdout
        .lines()
        .position(|l| l.trim_start().starts_with("MISSING slapd "))
        .unwrap_or_else(|| panic!("no MISSING slapd line:\n{stdout}"));
    let fix = stdout.lines().nth(slapd + 1).unwrap_or_default();
    assert_eq!(
        fix.trim_start(),
        "fix: point SMIME_LAB_SLAPD at slapd, or unset it to use the installed one \
         (apt-get install slapd)",
        "{stdout}"
    );
    // Our own binaries sit beside smime-lab: found.
    for binary in ["smtp-sink", "mock-tenant"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("ok      {binary} "))),
            "{binary} not found:\n{stdout}"
        );
    }
    assert!(!stdout.contains('\u{1b}'), "NO_COLOR: {stdout}");
}

#[test]
fn no_engine_means_no_containers_runtime_and_the_json_says_why() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = without_slapd_or_docker(dir.path(), &["doctor", "--runtime", "containers", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["runtime"], serde_json::Value::Null, "{json:#}");
    assert!(
        json["why"].as_str().is_some_and(|w| w.starts_with(
            "the containers runtime was asked for but cannot run here: Docker engine"
        )),
        "{json:#}"
    );
    let engine = &json["containers"][0];
    assert_eq!(engine["name"], "Docker engine", "{json:#}");
    assert_eq!(engine["ok"], false);
    assert!(
        engine["detail"]
            .as_str()
            .is_some_and(|d| d.contains("tcp://127.0.0.1:9")),
        "{engine}"
    );
    assert_eq!(
        engine["fix"],
        "start the engine DOCKER_HOST names, or unset DOCKER_HOST"
    );
    // Each image is listed as unchecked, with the command that builds them.
    let images: Vec<&serde_json::Value> = json["containers"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["name"].as_str().is_some_and(|n| n.starts_with("image ")))
        .collect();
    assert!(!images.is_empty(), "{json:#}");
    for image in images {
        assert_eq!(image["fix"], "cargo xtask images", "{image}");
    }
}

#[test]
fn with_path_emptied_the_image_build_tools_are_missing_but_do_not_decide() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = Command::new(BIN)
        .args(["doctor", "--json"])
        .current_dir(test_support::repo_root())
        .env("PATH", dir.path())
        .env("DOCKER_HOST", "tcp://127.0.0.1:9")
        .env("SMIME_LAB_SLAPD", dir.path().join("no-slapd-here"))
        .output()
        .expect("run smime-lab");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let build = json["image_build"].as_array().expect("image_build");
    for program in ["docker", "mmdebstrap"] {
        let item = build
            .iter()
            .find(|i| i["name"] == program)
            .unwrap_or_else(|| panic!("no {program}: {json:#}"));
        assert_eq!(item["ok"], false, "{item}");
        assert_eq!(item["required"], false, "{item}");
        assert_eq!(item["detail"], "not on PATH", "{item}");
    }
    // Neither runtime can run (no engine, no slapd): auto says so and exits 3.
    assert_eq!(out.status.code(), Some(3), "{json:#}");
    assert!(
        json["why"]
            .as_str()
            .is_some_and(|w| w.starts_with("neither runtime can run here")),
        "{json:#}"
    );
}

#[test]
fn a_run_that_cannot_start_says_so_once_and_starts_no_lab() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let run_dir = dir.path().join("run");
    let out = without_slapd_or_docker(
        dir.path(),
        &[
            "scenario",
            "run",
            "--runtime",
            "local",
            "--out",
            run_dir.to_str().expect("UTF-8 path"),
            "scenarios/no-ski.yaml",
            "scenarios/rsa-happy-path.yaml",
        ],
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    let all = format!("{stdout}{stderr}");
    assert_eq!(all.matches("slapd not found").count(), 1, "{all}");
    assert!(stdout.contains("`smime-lab doctor` lists"), "{stdout}");
    assert!(!all.contains("at a time) on the"), "a lab started: {all}");
    // The reports say it for each scenario, and no scenario directory was made.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("report.json")).expect("report.json"))
            .expect("report.json");
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    assert_eq!(scenarios.len(), 2);
    for scenario in scenarios {
        assert_eq!(scenario["outcome"], "error", "{scenario}");
        assert!(
            scenario["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("not run: the local runtime was asked for")),
            "{scenario}"
        );
        let name = scenario["name"].as_str().expect("name");
        assert!(
            !run_dir.join(name).exists(),
            "{name} has an output directory"
        );
    }
}
