//! What a preflight found, as data (`report.json` is its serde form), and its three other faces:
//! the terminal summary, JUnit XML (one test case per user) and one self-contained HTML page.
//!
//! The HTML page stays usable at 100,000 users without a script: a bar chart (inline SVG) of
//! users per finding, the SST's findings, the expiry timeline, then one section per finding with
//! its users sorted by DN, each section cut at [`HTML_ROWS_PER_FINDING`] rows (the rest are in
//! `report.json` and the JUnit file). Ready users are counted, not listed. Every string escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;
use smime::certificate::CertificateSummary;
use x509_cert::Certificate;

use super::checks::{self, Finding, Severity};
use super::directory::OrgUser;
use super::input::Preflight;
use super::messages::{KeyFileReport, MailOutcome, SampleMessage};
use super::mobile::PolicyReport;
use crate::report::html::escape;
use crate::report::terminal::printable;

/// Rows per finding on the HTML page.
pub const HTML_ROWS_PER_FINDING: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ready,
    Warning,
    Failing,
}

/// The certificate Outlook's lookup chose for a user.
#[derive(Clone, Debug, Serialize)]
pub struct Chosen {
    pub attribute: String,
    pub thumbprint: String,
    pub subject: String,
    pub not_after: String,
}

impl Chosen {
    pub fn of(attribute: &str, der: &[u8], certificate: Option<&Certificate>) -> Self {
        let summary = match certificate {
            Some(c) => CertificateSummary::of_der(c, der),
            None => CertificateSummary::unparseable(der, "not a certificate"),
        };
        Chosen {
            attribute: attribute.to_owned(),
            thumbprint: summary.thumbprint,
            subject: summary.subject,
            not_after: summary.not_after,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct UserReport {
    pub dn: String,
    /// The line of the entry's `dn:` in the directory export.
    pub line: u64,
    pub mail: Option<String>,
    pub verdict: Verdict,
    /// The first step of "Configure S/MIME in Exchange Online" the user fails at.
    pub fails_at_step: Option<u8>,
    pub certificate: Option<Chosen>,
    pub findings: Vec<Finding>,
}

impl UserReport {
    pub fn new(user: OrgUser, certificate: Option<Chosen>, findings: Vec<Finding>) -> Self {
        let fails_at_step = findings
            .iter()
            .filter(|f| f.severity == Severity::Failure)
            .map(|f| f.step)
            .min();
        let verdict = if fails_at_step.is_some() {
            Verdict::Failing
        } else if findings.is_empty() {
            Verdict::Ready
        } else {
            Verdict::Warning
        };
        UserReport {
            dn: user.dn,
            line: user.line,
            mail: user.mail,
            verdict,
            fails_at_step,
            certificate,
            findings,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SstReport {
    pub file: String,
    pub bytes: usize,
    pub certificates: Vec<CertificateSummary>,
    /// Whether Set-SmimeConfig took it.
    pub imported: bool,
    pub findings: Vec<Finding>,
}

impl SstReport {
    pub fn of(pre: &Preflight, findings: Vec<Finding>) -> Self {
        SstReport {
            file: pre.sst_path.display().to_string(),
            bytes: pre.sst_bytes.len(),
            certificates: pre
                .sst_certificates
                .iter()
                .map(|c| CertificateSummary::of_der(&c.certificate, &c.der))
                .collect(),
            imported: false,
            findings,
        }
    }
}

/// One row of the legend: a check and how many users (or SST findings) it flagged.
#[derive(Clone, Debug, Serialize)]
pub struct FindingTotal {
    pub id: &'static str,
    pub title: &'static str,
    pub step: u8,
    pub severity: Severity,
    pub count: usize,
    /// The sentence it enforces (its fidelity ledger row).
    pub sentence: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Totals {
    pub users: usize,
    pub ready: usize,
    pub warning: usize,
    pub failing: usize,
    /// Entries of the export that are not users (OUs, groups, the domain).
    pub other_entries: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct PreflightReport {
    pub organisation: String,
    pub tenant: String,
    pub now: String,
    pub horizon: String,
    pub directory: String,
    pub totals: Totals,
    pub sst: SstReport,
    /// The mobile device mailbox policies of `mobile-policies` (none when not given).
    pub mobile_policies: Vec<PolicyReport>,
    /// The users' PKCS#12 files of `pkcs12` and how each signed (none when not given).
    pub key_files: Vec<KeyFileReport>,
    /// The encrypted messages of `mail-sample`.
    pub sample: Vec<SampleMessage>,
    /// Every check that fired, with its count, in step order.
    pub findings: Vec<FindingTotal>,
    /// Month (`2026-07`) → users whose certificate expires then.
    pub timeline: BTreeMap<String, usize>,
    pub users: Vec<UserReport>,
    pub notes: Vec<String>,
    /// What the rehearsal does not do yet.
    pub not_emulated: Vec<String>,
    pub duration_ms: u64,
    /// Each part of the rehearsal (`publish`, `sync`, `lookups`, `mail`, ...), in order, in ms.
    pub phases_ms: Vec<(&'static str, u64)>,
}

impl PreflightReport {
    pub fn new(
        pre: &Preflight,
        sst: SstReport,
        mobile_policies: Option<Vec<PolicyReport>>,
        mail: MailOutcome,
        mut users: Vec<UserReport>,
        other_entries: usize,
        notes: Vec<String>,
    ) -> Self {
        users.sort_by(|a, b| a.dn.cmp(&b.dn));
        let mut totals = Totals {
            users: users.len(),
            other_entries,
            ..Totals::default()
        };
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for user in &users {
            match user.verdict {
                Verdict::Ready => totals.ready += 1,
                Verdict::Warning => totals.warning += 1,
                Verdict::Failing => totals.failing += 1,
            }
            let mut ids: Vec<&str> = user.findings.iter().map(|f| f.id).collect();
            ids.dedup();
            for id in ids {
                *counts.entry(id).or_default() += 1;
            }
        }
        let policy_findings = mobile_policies.iter().flatten().flat_map(|p| &p.findings);
        let file_findings = mail.key_files.iter().flat_map(|k| &k.findings);
        for finding in sst
            .findings
            .iter()
            .chain(policy_findings)
            .chain(file_findings)
        {
            *counts.entry(finding.id).or_default() += 1;
        }
        let findings = checks::ALL
            .iter()
            .filter_map(|c| {
                counts.get(c.id).map(|&count| FindingTotal {
                    id: c.id,
                    title: c.title,
                    step: c.step,
                    severity: c.severity,
                    count,
                    sentence: checks::sentence(c),
                })
            })
            .collect();
        let timeline = super::run::timeline(&users, pre.now);
        PreflightReport {
            organisation: pre.organisation.clone(),
            tenant: pre.tenant.clone(),
            now: smime::certificate::rfc3339(pre.now),
            horizon: pre.horizon_text.clone(),
            directory: pre.directory_path.display().to_string(),
            totals,
            sst,
            findings,
            timeline,
            users,
            notes,
            not_emulated: vec![
                if mail.pkcs12_given {
                    "signing: checked for the users whose PKCS#12 files are under pkcs12:, not for the others".into()
                } else {
                    "signing: no PKCS#12 files given (pkcs12: in preflight.yaml), so no user's signing is checked".into()
                },
                if mail.sample_asked == 0 {
                    "mail: mail-sample is 0, so no encrypted message is sent; encryption is checked by Outlook's lookup and OWA's check of every recipient".into()
                } else {
                    "mail: the sample goes through the lab's SMTP sink, not Exchange Online's transport; a recipient without a PKCS#12 file under pkcs12: gets the message, which is not opened".into()
                },
                if mobile_policies.is_some() {
                    "mobile policies: which mailbox follows a policy other than the default (Set-CASMailbox) is not in a directory export; every policy is judged for every user".into()
                } else {
                    "mobile policies: not given (mobile-policies: in preflight.yaml)".into()
                },
            ],
            mobile_policies: mobile_policies.unwrap_or_default(),
            key_files: mail.key_files,
            sample: mail.sample,
            duration_ms: 0,
            phases_ms: Vec::new(),
        }
    }

    /// Whether anything stops a user or the collection (exit 1).
    pub fn has_failures(&self) -> bool {
        self.totals.failing > 0
            || self
                .sst
                .findings
                .iter()
                .any(|f| f.severity == Severity::Failure)
    }
}

/// The terminal summary: totals, each finding with its count, the SST, the first failing users.
pub fn terminal(report: &PreflightReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "preflight of {} ({} users at {}): {} ready, {} with warnings, {} failing",
        printable(&report.organisation),
        report.totals.users,
        report.now,
        report.totals.ready,
        report.totals.warning,
        report.totals.failing
    );
    let _ = writeln!(
        out,
        "collection {}: {} certificate(s), {} bytes, {}",
        printable(&report.sst.file),
        report.sst.certificates.len(),
        report.sst.bytes,
        if report.sst.imported {
            "imported by Set-SmimeConfig"
        } else {
            "REFUSED by Set-SmimeConfig"
        }
    );
    for finding in &report.sst.findings {
        let _ = writeln!(out, "  {} {}", finding.id, printable(&finding.detail));
    }
    for policy in &report.mobile_policies {
        let _ = writeln!(
            out,
            "mobile policy {}{}: {}",
            printable(&policy.name),
            if policy.is_default { " (default)" } else { "" },
            if policy.imported {
                "imported"
            } else {
                "REFUSED by the tenant (see the notes)"
            }
        );
        for finding in &policy.findings {
            let _ = writeln!(out, "  {} {}", finding.id, printable(&finding.detail));
        }
    }
    for file in &report.key_files {
        let _ = writeln!(
            out,
            "PKCS#12 {}: {}{}",
            printable(&file.file),
            printable(
                file.user
                    .as_deref()
                    .unwrap_or(if file.certificate.is_some() {
                        "(no user)"
                    } else {
                        "(not opened)"
                    })
            ),
            file.signing
                .as_deref()
                .map(|s| format!(": {}", printable(s)))
                .unwrap_or_default()
        );
        for finding in &file.findings {
            let _ = writeln!(out, "  {} {}", finding.id, printable(&finding.detail));
        }
    }
    if !report.sample.is_empty() {
        let passed = report.sample.iter().filter(|m| m.passed).count();
        let _ = writeln!(
            out,
            "sample of encrypted mail: {passed} of {} passed",
            report.sample.len()
        );
        for message in report.sample.iter().filter(|m| !m.passed) {
            let _ = writeln!(
                out,
                "  to {}: {}",
                printable(&message.to),
                printable(&message.outcome)
            );
        }
    }
    if !report.findings.is_empty() {
        let _ = writeln!(
            out,
            "\nfindings (users, the collection, mobile policies, PKCS#12 files):"
        );
        for total in &report.findings {
            let _ = writeln!(
                out,
                "  {:>7}  {:<12} step {} {:<8} {}",
                total.count,
                total.id,
                total.step,
                match total.severity {
                    Severity::Failure => "failure",
                    Severity::Warning => "warning",
                },
                total.title
            );
        }
    }
    let failing: Vec<&UserReport> = report
        .users
        .iter()
        .filter(|u| u.verdict == Verdict::Failing)
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\nfailing users (first 20 of {}):", failing.len());
        for user in failing.iter().take(20) {
            let first = user
                .findings
                .iter()
                .find(|f| f.severity == Severity::Failure);
            let _ = writeln!(
                out,
                "  {} (line {}): step {} {} {}",
                printable(user.mail.as_deref().unwrap_or(&user.dn)),
                user.line,
                user.fails_at_step.unwrap_or(0),
                first.map_or("", |f| f.id),
                printable(first.map_or("", |f| f.detail.as_str()))
            );
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {}", printable(note));
    }
    out
}

/// JUnit XML: one suite, one test case per user (failing users are failures; warnings are in
/// the case's output).
pub fn junit(report: &PreflightReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new("smime-lab preflight");
    junit.set_time(Duration::from_millis(report.duration_ms));
    let mut suite = TestSuite::new(format!("preflight {}", report.organisation));
    suite.add_property(Property::new("now", report.now.as_str()));
    suite.add_property(Property::new("sst", report.sst.file.as_str()));
    if !report.sst.findings.is_empty() || !report.sst.imported {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message("the virtual certificate collection has findings");
        status.set_description(describe(&report.sst.findings));
        let mut case = TestCase::new("virtual certificate collection", status);
        case.set_classname("sst");
        suite.add_test_case(case);
    }
    for policy in &report.mobile_policies {
        // A policy's findings are warnings: the case passes and says them.
        let mut case = TestCase::new(
            format!("mobile policy {}", policy.name),
            TestCaseStatus::success(),
        );
        case.set_classname("mobile-policies");
        if !policy.findings.is_empty() {
            case.set_system_out(describe(&policy.findings));
        }
        suite.add_test_case(case);
    }
    for file in &report.key_files {
        // A file's own findings are warnings (its user's signing is then unchecked).
        let mut case = TestCase::new(format!("PKCS#12 {}", file.file), TestCaseStatus::success());
        case.set_classname("pkcs12");
        if !file.findings.is_empty() {
            case.set_system_out(describe(&file.findings));
        }
        suite.add_test_case(case);
    }
    for user in &report.users {
        let name = user.mail.clone().unwrap_or_else(|| user.dn.clone());
        let status = match user.verdict {
            Verdict::Failing => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let first = user
                    .findings
                    .iter()
                    .find(|f| f.severity == Severity::Failure);
                status.set_message(format!(
                    "fails at step {}: {}",
                    user.fails_at_step.unwrap_or(0),
                    first.map_or("", |f| f.id)
                ));
                status.set_description(describe(&user.findings));
                status
            }
            _ => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(name, status);
        case.set_classname(user.dn.as_str());
        if user.verdict == Verdict::Warning {
            case.set_system_out(describe(&user.findings));
        }
        suite.add_test_case(case);
    }
    junit.add_test_suite(suite);
    junit.to_string()
}

fn describe(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{} (step {}): {}", f.id, f.step, f.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The HTML page.
pub fn html(report: &PreflightReport) -> String {
    let mut out = String::new();
    let title = format!("S/MIME rollout preflight: {}", report.organisation);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:.5em 0}}\
td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}}th{{background:#f3f3f3}}\
.failure{{color:#a00}}.warning{{color:#a60}}.ready{{color:#070}}details{{margin:.5em 0}}summary{{cursor:pointer;font-weight:600}}\
small{{color:#666}}</style></head><body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    let t = &report.totals;
    let _ = writeln!(
        out,
        "<p>{} users judged at {} (horizon {}): <b class=\"ready\">{} ready</b>, <b class=\"warning\">{} with warnings</b>, <b class=\"failure\">{} failing</b>. {} other entries in {}.</p>",
        t.users,
        escape(&report.now),
        escape(&report.horizon),
        t.ready,
        t.warning,
        t.failing,
        t.other_entries,
        escape(&report.directory)
    );
    // The chart: one bar per finding.
    if !report.findings.is_empty() {
        let max = report
            .findings
            .iter()
            .map(|f| f.count)
            .max()
            .unwrap_or(1)
            .max(1);
        let height = 24 * report.findings.len() + 10;
        let _ = writeln!(
            out,
            "<h2>Findings</h2>\n<svg role=\"img\" aria-label=\"users per finding\" width=\"760\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">"
        );
        for (i, f) in report.findings.iter().enumerate() {
            let y = 5 + 24 * i;
            let width = (f.count as f64 / max as f64 * 440.0).max(2.0);
            let colour = match f.severity {
                Severity::Failure => "#c33",
                Severity::Warning => "#e93",
            };
            let _ = writeln!(
                out,
                "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text><rect x=\"110\" y=\"{y}\" width=\"{width:.0}\" height=\"18\" fill=\"{colour}\"/><text x=\"{:.0}\" y=\"{}\" font-size=\"13\">{}</text>",
                y + 14,
                escape(f.id),
                116.0 + width,
                y + 14,
                f.count
            );
        }
        out.push_str("</svg>\n<table><tr><th>check</th><th>step</th><th>severity</th><th>count</th><th>what</th><th>the sentence it enforces</th></tr>\n");
        for f in &report.findings {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td><small>{}</small></td></tr>",
                escape(f.id),
                f.step,
                severity_name(f.severity),
                severity_name(f.severity),
                f.count,
                escape(f.title),
                escape(&f.sentence)
            );
        }
        out.push_str("</table>\n");
    }
    let _ = writeln!(
        out,
        "<h2>Virtual certificate collection</h2>\n<p>{}: {} certificate(s), {} bytes, {}.</p>",
        escape(&report.sst.file),
        report.sst.certificates.len(),
        report.sst.bytes,
        if report.sst.imported {
            "imported by Set-SmimeConfig"
        } else {
            "<b class=\"failure\">refused by Set-SmimeConfig</b>"
        }
    );
    out.push_str("<table><tr><th>subject</th><th>thumbprint</th><th>not after</th></tr>\n");
    for c in &report.sst.certificates {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.subject),
            escape(&c.thumbprint),
            escape(&c.not_after)
        );
    }
    out.push_str("</table>\n<ul>\n");
    for f in &report.sst.findings {
        let _ = writeln!(out, "<li>{}: {}</li>", escape(f.id), escape(&f.detail));
    }
    out.push_str("</ul>\n");
    if !report.mobile_policies.is_empty() {
        out.push_str(&policies_html(&report.mobile_policies));
    }
    if !report.key_files.is_empty() || !report.sample.is_empty() {
        out.push_str(&mail_html(&report.key_files, &report.sample));
    }
    out.push_str(
        "<h2>Expiry timeline</h2>\n<table><tr><th>month</th><th>certificates expiring</th></tr>\n",
    );
    for (month, count) in &report.timeline {
        let _ = writeln!(out, "<tr><td>{}</td><td>{count}</td></tr>", escape(month));
    }
    out.push_str("</table>\n<h2>Users by finding</h2>\n");
    for total in &report.findings {
        let users: Vec<&UserReport> = report
            .users
            .iter()
            .filter(|u| u.findings.iter().any(|f| f.id == total.id))
            .collect();
        if users.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<details><summary>{} {} ({} users)</summary>\n<table><tr><th>user</th><th>line</th><th>verdict</th><th>detail</th></tr>",
            escape(total.id),
            escape(total.title),
            users.len()
        );
        for user in users.iter().take(HTML_ROWS_PER_FINDING) {
            let detail: Vec<&str> = user
                .findings
                .iter()
                .filter(|f| f.id == total.id)
                .map(|f| f.detail.as_str())
                .collect();
            let _ = writeln!(
                out,
                "<tr><td>{}<br><small>{}</small></td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                escape(user.mail.as_deref().unwrap_or("(no mail)")),
                escape(&user.dn),
                user.line,
                verdict_class(user.verdict),
                verdict_class(user.verdict),
                escape(&detail.join("; "))
            );
        }
        out.push_str("</table>");
        if users.len() > HTML_ROWS_PER_FINDING {
            let _ = write!(
                out,
                "<p><small>and {} more: see report.json or junit.xml</small></p>",
                users.len() - HTML_ROWS_PER_FINDING
            );
        }
        out.push_str("</details>\n");
    }
    out.push_str("<h2>Notes</h2>\n<ul>\n");
    for note in report.notes.iter().chain(&report.not_emulated) {
        let _ = writeln!(out, "<li>{}</li>", escape(note));
    }
    out.push_str("</ul>\n</body></html>\n");
    out
}

/// The mobile policies' section: one row per policy, its S/MIME settings and findings.
fn policies_html(policies: &[PolicyReport]) -> String {
    let mut out = String::from(
        "<h2>Mobile device mailbox policies</h2>\n<table><tr><th>policy</th><th>S/MIME settings</th><th>findings</th></tr>\n",
    );
    for policy in policies {
        let _ = writeln!(
            out,
            "<tr><td>{}{}{}</td><td>{}</td><td>{}</td></tr>",
            escape(&policy.name),
            if policy.is_default { " (default)" } else { "" },
            if policy.imported {
                ""
            } else {
                " <b class=\"failure\">refused by the tenant</b>"
            },
            policy
                .settings
                .iter()
                .map(|s| escape(s))
                .collect::<Vec<_>>()
                .join("<br>"),
            policy
                .findings
                .iter()
                .map(|f| format!("{}: {}", escape(f.id), escape(&f.detail)))
                .collect::<Vec<_>>()
                .join("<br>")
        );
    }
    out.push_str("</table>\n");
    out
}

/// The PKCS#12 files and the sample of encrypted mail.
fn mail_html(files: &[KeyFileReport], sample: &[SampleMessage]) -> String {
    let mut out = String::new();
    if !files.is_empty() {
        out.push_str("<h2>Signing with the users' PKCS#12 files</h2>\n<table><tr><th>file</th><th>user</th><th>certificate</th><th>signing</th><th>findings</th></tr>\n");
        for file in files {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(
                    &std::path::Path::new(&file.file)
                        .file_name()
                        .map_or_else(|| file.file.clone(), |n| n.to_string_lossy().into_owned())
                ),
                escape(file.user.as_deref().unwrap_or("")),
                escape(file.certificate.as_deref().unwrap_or("")),
                escape(file.signing.as_deref().unwrap_or("")),
                file.findings
                    .iter()
                    .map(|f| format!("{}: {}", escape(f.id), escape(&f.detail)))
                    .collect::<Vec<_>>()
                    .join("<br>")
            );
        }
        out.push_str("</table>\n");
    }
    if !sample.is_empty() {
        out.push_str("<h2>Sample of encrypted mail</h2>\n<table><tr><th>from</th><th>to</th><th>protection</th><th>outcome</th></tr>\n");
        for message in sample {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                escape(&message.from),
                escape(&message.to),
                escape(&message.protection),
                if message.passed { "ready" } else { "failure" },
                escape(&message.outcome)
            );
        }
        out.push_str("</table>\n");
    }
    out
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Failure => "failure",
        Severity::Warning => "warning",
    }
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ready => "ready",
        Verdict::Warning => "warning",
        Verdict::Failing => "failure",
    }
}
