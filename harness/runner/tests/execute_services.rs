//! The executor's service-side steps against a real lab: catalogue scenarios run with
//! `run_scenario` in the local runtime (slapd, nginx, our smtp-sink and mock-tenant as child
//! processes), and one in the containers runtime. Only the steps the service half owns are judged
//! closely here (setup, faults, publish, virtual collection, sync, browser policy, admin cmdlets);
//! the message and device steps are judged in `execute_clients.rs`.
//!
//! Needs: `slapd`, `slapadd` and `nginx` (`cargo xtask peers --install`), our binaries built
//! (`cargo build -p smtp-sink -p tenant`), and for the containers test the images
//! (`cargo xtask images`).
//!
//! Every scenario that must pass also has a twin with one expectation changed, which must fail
//! exactly the step that judges it.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use runner::execute::{RunOptions, run_scenario};
use runner::report::model::{Outcome, ScenarioReport, Stage, StepReport};

fn scenario_path(name: &str) -> PathBuf {
    test_support::repo_root().join(format!("scenarios/{name}.yaml"))
}

async fn run_file(path: &Path, runtime: lab::RuntimeChoice, out: &Path) -> ScenarioReport {
    let loaded = scenario::load(path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let options = RunOptions {
        runtime,
        out_dir: out.join(loaded.name()),
        snapshot_dir: test_support::repo_root().join("scenarios/snapshots"),
        binaries: lab::Binaries::default(),
        keys: std::sync::Arc::new(smime::key::Generated),
    };
    let report = run_scenario(&loaded, &options).await;
    assert!(
        report.error.is_none(),
        "{} did not run: {}",
        report.name,
        report.error.as_deref().unwrap_or_default()
    );
    report
}

async fn run(name: &str, out: &Path) -> ScenarioReport {
    test_support::require_local_lab();
    run_file(&scenario_path(name), lab::RuntimeChoice::Local, out).await
}

/// The catalogue scenario with `from` replaced by `to` in its text, run.
async fn run_modified(name: &str, edits: &[(&str, &str)], out: &Path) -> ScenarioReport {
    test_support::require_local_lab();
    let mut text = String::from_utf8(test_support::read(scenario_path(name))).expect("UTF-8");
    for (from, to) in edits {
        assert!(text.contains(from), "{name}.yaml has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let dir = out.join("modified");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = test_support::write(&dir, &format!("{name}.yaml"), text.as_bytes());
    run_file(&path, lab::RuntimeChoice::Local, out).await
}

/// The steps the service half owns: all but installing identities and sending messages.
fn owned(report: &ScenarioReport) -> Vec<&StepReport> {
    report
        .steps
        .iter()
        .filter(|s| match s.stage {
            Stage::Messages => false,
            Stage::Clients => s.title.starts_with("Set-"),
            _ => true,
        })
        .collect()
}

fn describe(step: &StepReport) -> String {
    format!(
        "[{} {}] {}\n  expected: {}\n  actual: {}\n  details:\n    {}",
        step.stage.name(),
        step.outcome.name(),
        step.title,
        step.expected.as_deref().unwrap_or("-"),
        step.actual.as_deref().unwrap_or("-"),
        step.details.join("\n    ")
    )
}

fn stage(report: &ScenarioReport, stage: Stage) -> Vec<&StepReport> {
    report.steps.iter().filter(|s| s.stage == stage).collect()
}

/// Every owned step passed, and each stage has the number of steps given.
fn assert_owned_passed(report: &ScenarioReport, counts: &[(Stage, usize)]) {
    let owned = owned(report);
    let bad: Vec<String> = owned
        .iter()
        .filter(|s| s.outcome != Outcome::Passed)
        .map(|s| describe(s))
        .collect();
    assert!(bad.is_empty(), "{}:\n{}", report.name, bad.join("\n"));
    for (stage, count) in counts {
        let found = owned.iter().filter(|s| s.stage == *stage).count();
        assert_eq!(found, *count, "{}: {} steps", report.name, stage.name());
    }
}

/// Exactly the steps `which` selects are not passed, with `outcome`, and one of their `actual`
/// texts contains `needle`; every other owned step passed.
fn assert_only_failed(
    report: &ScenarioReport,
    which: impl Fn(&StepReport) -> bool,
    outcome: Outcome,
    needle: &str,
) {
    let mut hit = false;
    for step in owned(report) {
        if which(step) {
            assert_eq!(step.outcome, outcome, "{}", describe(step));
            if step.actual.as_deref().unwrap_or("").contains(needle) {
                hit = true;
            }
        } else {
            assert_eq!(step.outcome, Outcome::Passed, "{}", describe(step));
        }
    }
    assert!(hit, "no failed step says {needle:?}:\n{:#?}", report.steps);
}

#[tokio::test]
async fn rsa_happy_path_service_steps() {
    let out = tempfile::tempdir().expect("tempdir");
    let report = run("rsa-happy-path", out.path()).await;
    assert_owned_passed(
        &report,
        &[
            (Stage::Setup, 2),
            (Stage::Publish, 2),
            (Stage::VirtualCollection, 1),
            (Stage::Sync, 2),
            (Stage::BrowserPolicy, 2),
            (Stage::Clients, 1),
        ],
    );
    // The second cycle is a delta with nothing changed: nothing exported, outcomes stand.
    let sync = stage(&report, Stage::Sync);
    assert!(
        sync[0].title.contains("2 objects exported"),
        "{}",
        sync[0].title
    );
    assert!(
        sync[1].title.contains("0 objects exported"),
        "{}",
        sync[1].title
    );
    assert!(
        sync[1]
            .details
            .iter()
            .any(|d| d.contains("unchanged since its last export")),
        "{}",
        describe(sync[1])
    );
    let import = stage(&report, Stage::VirtualCollection)[0];
    assert!(
        import.details.iter().any(|d| d.contains("byte for byte")),
        "{}",
        describe(import)
    );
    // Artifacts exist where the report says.
    let dir = out.path().join("rsa-happy-path");
    for step in owned(&report) {
        for artifact in &step.artifacts {
            assert!(dir.join(artifact).is_file(), "{artifact} of {}", step.title);
        }
    }
    let edge = std::fs::read(dir.join("browser-policy/edge.reg")).expect("edge.reg");
    assert_eq!(
        edge,
        browser_policy::generate(
            browser_policy::Browser::Edge,
            browser_policy::Format::Reg,
            "rsa-happy-path"
        )
        .bytes
    );
    // The clients' steps (identities installed, messages sent and opened) pass too: the
    // scenario passes as a whole.
    for step in &report.steps {
        assert_eq!(step.outcome, Outcome::Passed, "{}", describe(step));
    }
    assert!(!stage(&report, Stage::Messages).is_empty());
    assert_eq!(report.outcome, Outcome::Passed);
}

#[tokio::test]
async fn rsa_happy_path_with_wrong_expectations_fails_those_steps() {
    let out = tempfile::tempdir().expect("tempdir");
    let report = run_modified(
        "rsa-happy-path",
        &[
            (
                "expect: { alice: exported, carol: exported }",
                "expect: { alice: skipped, carol: exported }",
            ),
            (
                "expect: { earliest: issuing }",
                "expect: { earliest: root }",
            ),
        ],
        out.path(),
    )
    .await;
    let sync = stage(&report, Stage::Sync);
    assert_eq!(sync[1].outcome, Outcome::Failed, "{}", describe(sync[1]));
    assert!(
        sync[1]
            .actual
            .as_deref()
            .unwrap_or("")
            .contains("alice: expected skipped, its last export ended exported"),
        "{}",
        describe(sync[1])
    );
    let import = stage(&report, Stage::VirtualCollection)[0];
    assert_eq!(import.outcome, Outcome::Failed, "{}", describe(import));
    let actual = import.actual.as_deref().unwrap_or("");
    assert!(
        actual.contains("not root's NotAfter") && actual.contains("not root's"),
        "{}",
        describe(import)
    );
    // Nothing else is affected, the messages' steps included.
    for step in &report.steps {
        if step.stage != Stage::VirtualCollection
            && !(step.stage == Stage::Sync && step.title.contains("delta"))
        {
            assert_eq!(step.outcome, Outcome::Passed, "{}", describe(step));
        }
    }
    assert_eq!(
        report.outcome,
        Outcome::Failed,
        "a failed step fails the scenario"
    );
}

#[tokio::test]
async fn refused_imports_are_the_expected_refusals() {
    let out = tempfile::tempdir().expect("tempdir");
    for (name, needle) in [
        ("expired-ca-in-sst", "have expired"),
        ("sst-oversize", "size limit"),
        (
            "sst-wrong-format",
            "SMIMECertificateIssuingCA has wrong format",
        ),
    ] {
        let report = run(name, out.path()).await;
        assert_owned_passed(&report, &[(Stage::Setup, 2), (Stage::VirtualCollection, 1)]);
        let import = stage(&report, Stage::VirtualCollection)[0];
        assert!(
            import.details.iter().any(|d| d.contains(needle)),
            "{}",
            describe(import)
        );
        assert!(
            import.details.iter().any(|d| d.contains("unchanged")),
            "a refused import changes nothing: {}",
            describe(import)
        );
        // Nothing but the services' steps: the scenario passes as a whole.
        assert_eq!(report.outcome, Outcome::Passed, "{name}");
    }
}

#[tokio::test]
async fn refusals_other_than_expected_fail() {
    let out = tempfile::tempdir().expect("tempdir");
    // (scenario, its expectation, the expectation changed to, what the failed step says)
    for (name, from, to, needle) in [
        (
            "expired-ca-in-sst",
            "expect: { error: expired, thumbprints: [retired] }",
            "expect: { error: expired, thumbprints: [issuing] }",
            "the error lists",
        ),
        (
            "sst-wrong-format",
            "expect: { error: wrong-format }",
            "expect: { error: oversize }",
            "refused as wrong-format, not oversize",
        ),
        (
            "sst-oversize",
            "    expect: { error: oversize }\n",
            "",
            "the import was refused",
        ),
    ] {
        let report = run_modified(name, &[(from, to)], out.path()).await;
        assert_only_failed(
            &report,
            |s| s.stage == Stage::VirtualCollection,
            Outcome::Failed,
            needle,
        );
    }
}

#[tokio::test]
async fn sixteen_certificates_under_both_rule_sets() {
    let out = tempfile::tempdir().expect("tempdir");
    let default = run("sixteen-certificates", out.path()).await;
    assert_owned_passed(
        &default,
        &[
            (Stage::Publish, 4),
            (Stage::Sync, 2),
            (Stage::VirtualCollection, 1),
        ],
    );
    let first = stage(&default, Stage::Sync)[0];
    assert!(
        first.details.iter().any(|d| d.starts_with("alice:")
            && d.contains("userCertificate withheld")
            && d.contains("userSMIMECertificate withheld")),
        "{}",
        describe(first)
    );

    let legacy = run("sixteen-certificates-legacy-rules", out.path()).await;
    assert_owned_passed(&legacy, &[(Stage::Publish, 2), (Stage::Sync, 2)]);
    // The failed export is retried by the delta cycle, and fails again.
    let delta = stage(&legacy, Stage::Sync)[1];
    assert!(
        delta.title.contains("1 object exported"),
        "{}",
        describe(delta)
    );
    assert!(
        delta
            .details
            .iter()
            .any(|d| d.starts_with("alice: error") && d.contains("LargeObject")),
        "{}",
        describe(delta)
    );

    // Expecting the sixteen values to reach the tenant fails the last cycle.
    let wrong = run_modified(
        "sixteen-certificates-legacy-rules",
        &[(
            "expect: { alice: large-object,",
            "expect: { alice: exported,",
        )],
        out.path(),
    )
    .await;
    assert_only_failed(
        &wrong,
        |s| s.stage == Stage::Sync && s.title.contains("delta"),
        Outcome::Failed,
        "alice: expected exported, its last export ended large-object",
    );
}

#[tokio::test]
async fn browser_policy_typo_is_found_in_every_file() {
    let out = tempfile::tempdir().expect("tempdir");
    let report = run("browser-policy-typo", out.path()).await;
    assert_owned_passed(&report, &[(Stage::BrowserPolicy, 6)]);
    for step in stage(&report, Stage::BrowserPolicy) {
        assert!(
            step.checks
                .iter()
                .any(|c| c.id == "BRW-URL-002" && c.severity == "error"),
            "{}",
            describe(step)
        );
    }
    assert_eq!(report.outcome, Outcome::Passed);

    let wrong = run_modified(
        "browser-policy-typo",
        &[("expect: { valid: false }", "expect: { valid: true }")],
        out.path(),
    )
    .await;
    let policies = stage(&wrong, Stage::BrowserPolicy);
    assert_eq!(policies.len(), 6);
    for step in policies {
        assert_eq!(step.outcome, Outcome::Failed, "{}", describe(step));
        assert!(
            step.actual.as_deref().unwrap_or("").contains("BRW-URL-002"),
            "{}",
            describe(step)
        );
    }
}

#[tokio::test]
async fn a_directory_fault_fails_the_sync_it_covers() {
    let out = tempfile::tempdir().expect("tempdir");
    let report = run_modified(
        "rsa-happy-path",
        &[(
            "\nmessages:",
            "\nservices:\n  - { service: directory, fault: down, at: sync, until: browser-policy }\n\nmessages:",
        )],
        out.path(),
    )
    .await;
    let faults = stage(&report, Stage::Fault);
    assert_eq!(faults.len(), 2);
    for fault in &faults {
        assert_eq!(fault.outcome, Outcome::Passed, "{}", describe(fault));
    }
    assert!(faults[0].details[0].contains("refuses connections"));
    assert!(faults[1].details[0].contains("accepts connections"));
    assert_only_failed(
        &report,
        |s| s.stage == Stage::Sync,
        Outcome::Failed,
        "directory is down (the scenario's fault is in progress)",
    );
}

#[tokio::test]
async fn a_pki_web_fault_takes_and_setup_still_passes() {
    let out = tempfile::tempdir().expect("tempdir");
    let report = run("crl-server-down", out.path()).await;
    assert_owned_passed(
        &report,
        &[(Stage::Setup, 2), (Stage::Fault, 1), (Stage::Sync, 1)],
    );
}

#[tokio::test]
async fn rsa_happy_path_service_steps_in_containers() {
    let out = tempfile::tempdir().expect("tempdir");
    let report = run_file(
        &scenario_path("rsa-happy-path"),
        lab::RuntimeChoice::Containers,
        out.path(),
    )
    .await;
    assert_owned_passed(
        &report,
        &[
            (Stage::Setup, 2),
            (Stage::Publish, 2),
            (Stage::VirtualCollection, 1),
            (Stage::Sync, 2),
            (Stage::BrowserPolicy, 2),
            (Stage::Clients, 1),
        ],
    );
}
