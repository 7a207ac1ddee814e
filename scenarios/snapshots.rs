//! The committed anatomy snapshots (`scenarios/snapshots/<scenario>__<name>.snap`): each one
//! reads as an insta snapshot, names its scenario file as `source`, and belongs to a message of
//! that scenario whose `snapshot:` is `<name>`. A snapshot left behind when a message or a
//! scenario is renamed fails here: `cargo insta test --unreferenced` cannot see these files,
//! because scenario runs write them, not `cargo test`.
//!
//! Why this file is here and not in `harness/runner/tests/`: `cargo insta review` looks for
//! pending `.snap.new` files only below a package's folder and the folders of its targets'
//! sources. This test is a target of the runner package (see its Cargo.toml) whose source is in
//! `scenarios/`, which puts `scenarios/snapshots/` in review's reach.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

/// What is wrong with the snapshots under `scenarios`, one line each.
fn problems(scenarios: &Path) -> Vec<String> {
    let snapshots = scenarios.join("snapshots");
    let Ok(entries) = std::fs::read_dir(&snapshots) else {
        // No snapshot folder: nothing committed yet.
        return Vec::new();
    };
    // Scenario name → its messages' snapshot names.
    let mut named: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for file in files {
        let shown = file.display().to_string();
        let Some(stem) = file
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".snap"))
        else {
            continue; // pending .snap.new files are cargo insta review's business
        };
        let Some((scenario, name)) = stem.split_once("__") else {
            problems.push(format!("{shown}: not named <scenario>__<snapshot>.snap"));
            continue;
        };
        let scenario_file = scenarios.join(format!("{scenario}.yaml"));
        let names = match named.get(scenario) {
            Some(names) => names.clone(),
            None => match scenario::load(&scenario_file) {
                Ok(loaded) => {
                    let names: Vec<String> = loaded
                        .scenario
                        .messages
                        .iter()
                        .filter_map(|m| m.value.snapshot.as_ref())
                        .map(|s| s.value.as_str().to_owned())
                        .collect();
                    named.insert(scenario.to_owned(), names.clone());
                    names
                }
                Err(e) => {
                    problems.push(format!(
                        "{shown}: its scenario {} does not load ({e:?}): delete the snapshot or restore the scenario",
                        scenario_file.display()
                    ));
                    continue;
                }
            },
        };
        if !names.iter().any(|n| n == name) {
            problems.push(format!(
                "{shown}: no message of {scenario}.yaml has `snapshot: {name}` (it has: {}): delete the snapshot, or name the message's snapshot so",
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            ));
        }
        match insta::Snapshot::from_file(&file) {
            Ok(snapshot) => {
                let expected = format!("scenarios/{scenario}.yaml");
                if snapshot.metadata().source() != Some(expected.as_str()) {
                    problems.push(format!(
                        "{shown}: source is {:?}, not {expected:?}",
                        snapshot.metadata().source()
                    ));
                }
                if snapshot.as_text().is_none() {
                    problems.push(format!("{shown}: a binary snapshot, not an anatomy"));
                }
            }
            Err(e) => problems.push(format!("{shown}: not an insta snapshot: {e}")),
        }
    }
    problems
}

#[test]
fn every_committed_snapshot_belongs_to_a_scenario_message() {
    let problems = problems(&test_support::repo_root().join("scenarios"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn an_orphaned_or_foreign_snapshot_is_reported() {
    let root = tempfile::tempdir().unwrap();
    let scenarios = root.path().join("scenarios");
    std::fs::create_dir_all(scenarios.join("snapshots")).unwrap();
    let real = test_support::repo_root().join("scenarios/rsa-happy-path.yaml");
    std::fs::copy(&real, scenarios.join("rsa-happy-path.yaml")).unwrap();
    let loaded = scenario::load(&real).unwrap();
    let name = loaded
        .scenario
        .messages
        .iter()
        .find_map(|m| m.value.snapshot.as_ref())
        .map(|s| s.value.as_str().to_owned())
        .expect("rsa-happy-path names a snapshot");
    // Written the way execute::snapshot writes them.
    let good = "---\nsource: scenarios/rsa-happy-path.yaml\nexpression: anatomy\n---\nlayers: []\n";
    let write = |file: &str, text: &str| {
        std::fs::write(scenarios.join("snapshots").join(file), text).unwrap();
    };
    write(&format!("rsa-happy-path__{name}.snap"), good);
    write(&format!("rsa-happy-path__{name}.snap.new"), good);
    assert_eq!(problems(&scenarios), Vec::<String>::new());

    write("rsa-happy-path__renamed-message.snap", good);
    write("gone-scenario__x.snap", good);
    write("no-separator.snap", good);
    let found = problems(&scenarios);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].contains("gone-scenario__x.snap") && found[0].contains("does not load"));
    assert!(found[1].contains("not named <scenario>__<snapshot>.snap"));
    assert!(found[2].contains("no message of rsa-happy-path.yaml has `snapshot: renamed-message`"));
}
