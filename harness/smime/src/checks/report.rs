//! What a check run produces: findings (one catalogue row applied to one certificate) and the report
//! that collects them.

use std::fmt;

use serde::Serialize;

use crate::certificate::CertificateSummary;

use super::catalogue::CheckInfo;

/// How much a finding matters. The order is the order a person reads them in: errors first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The setup will fail in production (a signature that will not verify, a certificate Exchange
    /// Online or Outlook will refuse). `smime-lab cert check` exits 1.
    Error,
    /// Works today but is against a profile, fragile, or will fail for some clients.
    Warning,
    /// A fact worth knowing, or something that was not checked and why.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One catalogue check that fired, about one certificate.
///
/// The id, severity, title, source and remedy come from the catalogue row, never from the code that
/// raised the finding, so the generated documentation and the reports cannot disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// Whom the finding is about: the mailbox of the certificate under test, or the subject DN of a
    /// CA certificate in its chain.
    pub subject: String,
    /// What was found, with the specifics (dates, names, sizes), as a sentence without a full stop.
    pub message: String,
    /// Where the requirement comes from.
    pub source: &'static str,
    /// What to do about it.
    pub remedy: &'static str,
}

impl Finding {
    pub fn new(check: &CheckInfo, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            id: check.id,
            severity: check.severity,
            title: check.title,
            subject: subject.into(),
            message: message.into(),
            source: check.source,
            remedy: check.remedy,
        }
    }
}

impl fmt::Display for Finding {
    /// `PKI-SKI-001 error: certificate for alice@contoso.com has no Subject Key Identifier
    /// (required by "Configure S/MIME in Exchange Online", step 1)`. The remedy is not part of the
    /// line: front ends print it beneath, indented.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let basis = match self.severity {
            Severity::Error => "required by",
            Severity::Warning | Severity::Info => "see",
        };
        write!(
            f,
            "{} {}: {} ({basis} {})",
            self.id, self.severity, self.message, self.source
        )
    }
}

/// The findings of one check run, errors first, then warnings, then information; within a severity
/// in the order the checks ran, which is fixed, so two runs over the same input print the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// How the findings name the certificate under test (its mailbox, or its subject).
    pub subject: String,
    pub certificate: CertificateSummary,
    pub findings: Vec<Finding>,
}

impl Report {
    pub(crate) fn new(
        subject: String,
        certificate: CertificateSummary,
        mut findings: Vec<Finding>,
    ) -> Self {
        // A stable sort keeps the check order within each severity.
        findings.sort_by_key(|f| f.severity);
        Report {
            subject,
            certificate,
            findings,
        }
    }

    /// True when at least one finding is an error: the certificate is not fit for S/MIME in
    /// Exchange Online as given.
    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The ids of the findings, in report order (duplicates kept: one per affected certificate).
    pub fn ids(&self) -> Vec<&'static str> {
        self.findings.iter().map(|f| f.id).collect()
    }

    /// True when a finding with this id is in the report.
    pub fn has(&self, id: &str) -> bool {
        self.findings.iter().any(|f| f.id == id)
    }
}
