#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic: a failed expectation is a failed test
//! The tenant's API under Schemathesis (issue 16, item 9): requests generated from the tenant's
//! own `/openapi.json` (examples, the coverage phase's boundary values, then random ones), sent
//! to a tenant served in-process.
//!
//! - With credentials (a bearer token and the lab secret): no answer is a server error (5xx).
//!   `PUT /lab/clock` runs last, on its own: the times it sets would make the token not yet (or
//!   no longer) valid for the operations after it, which would then see only 401s.
//! - Without any: no server error either, and every secured operation (the admin API, the lab
//!   endpoints) answers 401 (`tests/schemathesis/hooks.py`, a check of our own).
//!
//! The path's `tenant` is the tenant's own name and `address` a mailbox it has (a configuration
//! file of the run), so that requests reach the cmdlets and the lookup instead of stopping at
//! "another tenant" and "no such recipient".
//!
//! Needs the peers' Python with `schemathesis` (`cargo xtask peers --install`). The seed is fixed,
//! so a run is repeatable; a failure prints Schemathesis' report with the request to replay.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Test cases per operation and phase: enough to reach every documented response of every
/// operation, small enough for a debug build on a loaded 2-core machine (about a minute).
const EXAMPLES: &str = "100";

fn schemathesis(lab: &Lab, work: &Path, extra: &[&str], env: &[(&str, &str)]) -> String {
    let python = test_support::python_with("schemathesis");
    let hooks_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis");
    let config = work.join("schemathesis.toml");
    std::fs::write(
        &config,
        format!("[parameters]\n\"path.tenant\" = \"{TENANT}\"\n\"path.address\" = \"alice@contoso.com\"\n"),
    )
    .unwrap();
    let mut command = Command::new(python);
    command
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(&config)
        .arg("run")
        .arg(format!("http://{}/openapi.json", lab.addr))
        .args(["--max-examples", EXAMPLES, "--seed", "16", "--workers", "1"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--request-timeout", "30", "--no-color"])
        .args(["--generation-database", "none"])
        .args(["--report", "junit", "--report-dir"])
        .arg(work.join("reports"))
        .args(extra)
        // Its cache (`.schemathesis/`) goes to the test's own directory, not into the tree.
        .current_dir(work)
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", &hooks_dir)
        .env("NO_COLOR", "1");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("run schemathesis");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found problems ({}):\n{text}",
        output.status
    );
    text
}

/// The operations Schemathesis says it tested, from its summary (`  Tested: 9`).
fn tested_operations(text: &str) -> usize {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Tested:")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no operation count in Schemathesis' summary:\n{text}"))
}

#[test]
fn no_server_error_with_credentials() {
    let lab = Lab::start_with(|c| {
        c.users = vec!["alice@contoso.com".into(), "bob@contoso.com".into()];
    });
    let token = lab.token();
    let work = tempfile::tempdir().unwrap();
    let authorization = format!("Authorization: Bearer {token}");
    let secret = format!("X-Lab-Secret: {LAB_SECRET}");
    let credentials = [
        "--checks",
        "not_a_server_error",
        // The credentials are the ones given, not generated ones.
        "--generation-with-security-parameters",
        "false",
        "-H",
        &authorization,
        "-H",
        &secret,
    ];
    // The two operations that change what later requests see (the clock, which ages the token;
    // the reset, which forgets the page-link key) run last, each on its own.
    let mut first = credentials.to_vec();
    first.extend([
        "--exclude-method",
        "PUT",
        "--exclude-path",
        "/lab/reset/{tenant}",
    ]);
    let text = schemathesis(&lab, work.path(), &first, &[]);
    assert_eq!(tested_operations(&text), 10, "{text}");
    // No operation was refused for want of credentials: the run reached the cmdlets.
    assert!(!text.contains("Authentication failed"), "{text}");
    let mut clock = credentials.to_vec();
    clock.extend(["--include-method", "PUT"]);
    let text = schemathesis(&lab, work.path(), &clock, &[]);
    assert_eq!(tested_operations(&text), 1, "{text}");
    let mut reset = credentials.to_vec();
    reset.extend(["--include-path", "/lab/reset/{tenant}"]);
    let text = schemathesis(&lab, work.path(), &reset, &[]);
    assert_eq!(tested_operations(&text), 1, "{text}");
    // The tenant still answers: nothing the run sent broke it.
    assert_eq!(lab.get("/health").status, 200);
}

#[test]
fn every_secured_operation_is_401_without_credentials() {
    let lab = Lab::start();
    let work = tempfile::tempdir().unwrap();
    let text = schemathesis(
        &lab,
        work.path(),
        &[
            "--checks",
            "not_a_server_error,refused_without_credentials",
            "--generation-with-security-parameters",
            "false",
        ],
        &[("SMIME_LAB_EXPECT_401", "1")],
    );
    // Twelve operations; the ten admin and lab ones (the reset and the two batch endpoints
    // among them) answer 401.
    assert_eq!(tested_operations(&text), 12, "{text}");
    assert!(text.contains("401 Unauthorized (10 operations)"), "{text}");
}
