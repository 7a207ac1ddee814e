//! The committed JSON Schemas (`scenarios/scenario.schema.json`, `fixtures/vendor/vendor.schema.json`)
//! and the check catalogue's page (`docs/checks.md`) are what the code generates today, and every scenario file's modeline resolves to the committed
//! scenario schema. A stale schema fails with the command that regenerates it.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

const MODELINE: &str = "# yaml-language-server: $schema=";

fn assert_committed(relative: &str, generated: &str, regenerate: &str) {
    let path = test_support::repo_root().join(relative);
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{relative} cannot be read ({e}); create it with `{regenerate}`")
    });
    assert!(
        committed == generated,
        "{relative} is stale: the types it is generated from changed. Regenerate it with \
         `{regenerate}` (from the repository root) and commit it."
    );
}

#[test]
fn the_committed_scenario_schema_is_current() {
    assert_committed(
        scenario::schema::SCHEMA_PATH,
        &scenario::schema::schema_json(),
        scenario::schema::REGENERATE,
    );
}

#[test]
fn the_committed_vendor_schema_is_current() {
    assert_committed(
        runner::vendor::bundle::SCHEMA_PATH,
        &runner::vendor::bundle::schema_json(),
        runner::vendor::bundle::REGENERATE,
    );
}

#[test]
fn the_committed_check_catalogue_page_is_current() {
    assert_committed(
        smime::checks::PAGE_PATH,
        &smime::checks::catalogue_page(),
        smime::checks::REGENERATE_PAGE,
    );
}

#[test]
fn every_scenario_modeline_names_the_committed_schema() {
    let root = test_support::repo_root();
    let committed = root
        .join(scenario::schema::SCHEMA_PATH)
        .canonicalize()
        .expect("the committed scenario schema");
    let mut files: Vec<_> = std::fs::read_dir(root.join("scenarios"))
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "only {} scenario files", files.len());
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a scenario file");
        let first = text.lines().next().unwrap_or_default();
        let Some(target) = first.strip_prefix(MODELINE) else {
            problems.push(format!(
                "{}: the first line must be `{MODELINE}<path of the schema>`",
                file.display()
            ));
            continue;
        };
        // The language server resolves a relative $schema against the file's directory.
        let resolved = file.parent().unwrap_or(Path::new(".")).join(target);
        if resolved.canonicalize().ok().as_ref() != Some(&committed) {
            problems.push(format!(
                "{}: the modeline names {target}, which is not {}",
                file.display(),
                scenario::schema::SCHEMA_PATH
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_vendor_schema_describes_the_bundle_format() {
    let schema: serde_json::Value =
        serde_json::from_str(&runner::vendor::bundle::schema_json()).expect("JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    // vendor.yaml refuses unknown keys (serde's deny_unknown_fields); the schema must too.
    assert_eq!(schema["additionalProperties"], false);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(required, ["vendor", "ca", "users"]);
    let user = &schema["$defs"]["UserFile"];
    assert!(
        user["properties"]["password-env"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("environment variable"))
    );
    assert_eq!(user["additionalProperties"], false);
}
