//! Vendor mode end to end: a bundle made by OpenSSL's command line runs through the conformance
//! profile against a real lab (local runtime): its certificates pass the checks, the five steps
//! pass with them, and signed + encrypted mail verifies and decrypts on every client. The same
//! bundle with one user's certificate revoked in the vendor's CRL makes that user's messages fail,
//! so the run can tell a broken bundle from a good one.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::openssl_bundle;
use runner::execute::{RunOptions, ScenarioAbout, run_plan};
use runner::report::model::{Outcome, RunReport, ScenarioReport};
use runner::vendor::{VendorBundle, profile};

async fn run(dir: &std::path::Path) -> ScenarioReport {
    let bundle = VendorBundle::read(dir, time::OffsetDateTime::now_utc()).expect("bundle");
    let checks = profile::certificate_checks(&bundle);
    let plan = profile::plan(&bundle).expect("plan");
    let out = tempfile::tempdir().expect("tempdir");
    let options = RunOptions {
        runtime: lab::RuntimeChoice::Local,
        out_dir: out.path().join("vendor"),
        snapshot_dir: out.path().join("snapshots"),
        binaries: lab::Binaries::default(),
        keys: std::sync::Arc::new(smime::key::Generated),
    };
    let about = ScenarioAbout {
        name: profile::PROFILE_NAME.to_owned(),
        file: dir.join("vendor.yaml").display().to_string(),
        summary: "vendor".to_owned(),
        source: "test".to_owned(),
        tags: Vec::new(),
        ledger: Vec::new(),
    };
    run_plan(about, &plan, checks, &options).await
}

fn failures(report: &ScenarioReport) -> Vec<String> {
    report
        .steps
        .iter()
        .filter(|s| s.outcome != Outcome::Passed)
        .map(|s| format!("{}: {:?} {:?}", s.title, s.outcome, s.actual))
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn an_openssl_bundle_works_on_every_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    openssl_bundle::make(dir.path(), &["alice", "bob"]);
    let report = run(dir.path()).await;
    assert_eq!(report.error, None);
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert_eq!(report.outcome, Outcome::Passed);

    let messages: Vec<_> = report
        .steps
        .iter()
        .filter_map(|s| s.message.as_ref())
        .collect();
    assert_eq!(messages.len(), 8);
    for client in ["outlook", "owa", "mobile", "outlook-mobile"] {
        assert_eq!(messages.iter().filter(|m| m.client == client).count(), 2);
    }
    for message in &messages {
        for recipient in &message.recipients {
            assert_eq!(recipient.verdict.as_deref(), Some("valid"), "{message:?}");
            assert_eq!(recipient.decrypted, Some(true), "{message:?}");
        }
    }
    let summary = runner::vendor::summary(&RunReport {
        runtime: "local".into(),
        partition: None,
        vendor: Some(dir.path().display().to_string()),
        scenarios: vec![report],
        duration_ms: 0,
        ledger_link: None,
    });
    assert!(summary.contains("certificates checked: 2"), "{summary}");
    for client in ["outlook", "owa", "mobile", "outlook-mobile"] {
        let line = format!("client {client} works: 2 of 2 message(s) as expected");
        assert!(
            summary
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == line),
            "{summary}"
        );
    }
}

/// What a vendor's first run is: the kit's script (nothing but `sh` and `openssl`) makes a bundle,
/// and the bundle passes every check and client; so does the committed example it made.
#[tokio::test(flavor = "current_thread")]
async fn the_example_kit_script_makes_a_bundle_that_passes() {
    let example = test_support::repo_root().join("fixtures/vendor/example");
    let dir = tempfile::tempdir().expect("tempdir");
    test_support::run_ok(
        std::process::Command::new("sh")
            .arg(example.join("make-bundle.sh"))
            .arg(dir.path())
            .args(["carol", "dave"]),
    );
    for bundle in [dir.path(), example.as_path()] {
        let report = run(bundle).await;
        assert_eq!(report.error, None, "{}", bundle.display());
        assert!(
            failures(&report).is_empty(),
            "{}: {:#?}",
            bundle.display(),
            failures(&report)
        );
        // Information (a check not run for lack of input, a policy's scope) is not a finding.
        let findings: Vec<_> = report
            .steps
            .iter()
            .flat_map(|s| &s.checks)
            .filter(|c| c.severity != "info")
            .collect();
        assert!(findings.is_empty(), "{findings:#?}");
        assert_eq!(report.outcome, Outcome::Passed);
    }
    // A bundle is vendor.yaml and the files it names: no private key is left beside them.
    for entry in std::fs::read_dir(dir.path()).expect("bundle dir") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        assert!(!name.ends_with(".key"), "{name} left in the bundle");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_certificate_the_vendor_revoked_fails_its_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    openssl_bundle::make(dir.path(), &["alice", "bob"]);
    openssl_bundle::revoke(dir.path(), "alice");
    let report = run(dir.path()).await;
    assert_eq!(report.outcome, Outcome::Failed, "{:#?}", report.steps);
    let failed: Vec<_> = report
        .steps
        .iter()
        .filter(|s| s.outcome == Outcome::Failed)
        .filter_map(|s| s.message.as_ref())
        .collect();
    assert!(!failed.is_empty());
    for message in failed {
        // Outlook on the web checks a recipient's certificate before encrypting: it refuses to
        // encrypt to alice's revoked certificate.
        if message.client == "owa" && message.from != "alice@fabrikam.example" {
            assert_eq!(
                message.refused.as_deref(),
                Some("NoRecipientCertificate"),
                "{message:?}"
            );
            continue;
        }
        assert_eq!(message.from, "alice@fabrikam.example", "{message:?}");
        assert_eq!(
            message.recipients[0].verdict.as_deref(),
            Some("revoked"),
            "{message:?}"
        );
    }
}
