//! A no-panic sweep of the certificate checks over pkilint's S/MIME Baseline Requirements test
//! corpus (digicert/pkilint, MIT): 97 certificates, each built to break one BR rule. Every file must
//! yield a report or a clean parse error. The findings are not compared with pkilint's expected
//! ones (the lab checks Exchange Online's needs, not the whole BR), only spot-checked where both
//! clearly speak about the same thing.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use smime::checks::{CertificateUnderTest, check_certificate};

#[test]
fn every_pkilint_certificate_yields_a_report_or_a_clean_error() {
    let dir = test_support::vector_path("pkilint-smime-br-crttest");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("listing the pkilint corpus")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "crttest"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 90,
        "expected the 97 pkilint .crttest files in {}, found {}",
        dir.display(),
        files.len()
    );
    // The corpus certificates were issued in 2023.
    let now = time::macros::datetime!(2023-06-01 00:00 UTC);
    let (mut reports, mut errors, mut panics) = (0, Vec::new(), Vec::new());
    let mut sha1_reported = false;
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        // A .crttest file is the PEM certificate followed by pkilint's expected findings as CSV;
        // the PEM reader skips the CSV.
        let bytes = std::fs::read(file).expect("reading a corpus file");
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            smime::certificate::parse_certificates(&bytes).map(|certs| {
                check_certificate(&CertificateUnderTest {
                    cert: &certs[0],
                    key: None,
                    chain: &certs[1..],
                    mailbox: None,
                    now,
                })
            })
        }));
        match outcome {
            Ok(Ok(report)) => {
                reports += 1;
                assert!(
                    !report.findings.is_empty(),
                    "{name}: without key or chain there are always information findings"
                );
                for finding in &report.findings {
                    assert!(
                        smime::checks::lookup(finding.id).is_some(),
                        "{name}: {} is not in the catalogue",
                        finding.id
                    );
                    assert!(!finding.message.is_empty(), "{name}: empty message");
                }
                if name.contains("sha1_signature") {
                    assert!(report.has("PKI-ALG-004"), "{name}: {:?}", report.ids());
                    sha1_reported = true;
                }
                if name.contains("no_crldp") {
                    assert!(report.has("PKI-CRL-001"), "{name}: {:?}", report.ids());
                }
                if name.contains("x25519_disallowed") {
                    assert!(report.has("PKI-ALG-003"), "{name}: {:?}", report.ids());
                }
                if name.contains("no_san") {
                    assert!(report.has("PKI-SAN-001"), "{name}: {:?}", report.ids());
                }
            }
            Ok(Err(e)) => {
                let text = e.to_string();
                assert!(!text.is_empty(), "{name}: an error without a message");
                errors.push(format!("{name}: {text}"));
            }
            Err(_) => panics.push(name),
        }
    }
    assert!(panics.is_empty(), "the checks panicked on {panics:?}");
    assert!(
        sha1_reported,
        "the corpus's SHA-1 certificate was not found"
    );
    // The corpus is made of well-formed DER certificates with one profile mistake each: nearly all
    // must parse. A sudden drop means the parser regressed.
    assert!(
        reports >= files.len() - 5,
        "only {reports} of {} parsed; errors: {errors:#?}",
        files.len()
    );
}
