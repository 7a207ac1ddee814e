//! Vendor mode (`cargo xtask run-scenarios --vendor DIR`): a CA or gateway vendor's bundle (CA
//! chain, users' PKCS#12 files, `vendor.yaml`) run through the conformance profile instead of the
//! lab's own PKI. [`bundle`] reads and checks the bundle; [`profile`] turns it into the offline
//! certificate checks and an ordinary plan the executor runs.
pub mod bundle;
pub mod profile;

pub use bundle::{BundleError, VendorBundle};

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::model::{Outcome, RunReport, Stage, StepReport};

/// How a certificate-check step's title starts ([`profile::certificate_checks`]); what follows
/// is the mailbox and the file.
pub const CERTIFICATE_CHECK_PREFIX: &str = "certificate checks:";

/// Whether a step is the offline checks of one vendor certificate (the summary and the HTML
/// report's checks × certificates matrix count these).
pub fn is_certificate_check(step: &StepReport) -> bool {
    step.stage == Stage::Setup && step.title.starts_with(CERTIFICATE_CHECK_PREFIX)
}

/// What a vendor wants to know at a glance: per check, how many of their certificates it
/// flagged; per client, how many of the profile's messages went through as expected.
pub fn summary(report: &RunReport) -> String {
    let mut checks: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut certificates = 0;
    let mut clients: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for scenario in &report.scenarios {
        for step in &scenario.steps {
            if is_certificate_check(step) {
                certificates += 1;
                for finding in &step.checks {
                    *checks
                        .entry((finding.id.clone(), finding.severity.clone()))
                        .or_default() += 1;
                }
            }
            if let Some(message) = &step.message {
                let entry = clients.entry(message.client.clone()).or_default();
                entry.1 += 1;
                if step.outcome == Outcome::Passed {
                    entry.0 += 1;
                }
            }
        }
    }
    let mut out = String::from("\nvendor conformance\n");
    let _ = writeln!(out, "  certificates checked: {certificates}");
    if checks.is_empty() {
        let _ = writeln!(out, "  checks: no finding");
    }
    for ((id, severity), count) in &checks {
        let _ = writeln!(
            out,
            "  {id:<16} {severity:<8} {count} of {certificates} certificate(s)"
        );
    }
    // One column for the client names, as wide as the longest (`outlook-mobile`).
    let width = clients.keys().map(String::len).max().unwrap_or(0);
    for (client, (passed, total)) in &clients {
        let verdict = if passed == total { "works" } else { "FAILS" };
        let _ = writeln!(
            out,
            "  client {client:<width$} {verdict}: {passed} of {total} message(s) as expected"
        );
    }
    out
}
