//! The certificate profile checks: one user certificate, optionally with its private key, its chain
//! and the mailbox it is meant for, checked at a given instant against the catalogue's `PKI-*` rows.

use std::net::IpAddr;

use const_oid::db::rfc5280;
use rustls_pki_types::{CertificateDer, UnixTime};
use time::OffsetDateTime;
use x509_cert::Certificate;

use super::catalogue::*;
use super::facts::{Facts, KeyKind, KeyRole, oid_name};
use super::path::{self, MAX_DEPTH, Path, PathEnd};
use super::report::{Finding, Report, Severity};
use super::signature::{Scheme, Verdict};
use crate::certificate::CertificateSummary;
use crate::key::PrivateKey;

mod path_checks;

use path_checks::{check_algorithms, check_chain, check_crl, cross_check_with_webpki};

/// How long before notAfter a certificate counts as expiring (PKI-VAL-003).
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// One certificate to check, and what it is checked against.
#[derive(Clone, Copy, Debug)]
pub struct CertificateUnderTest<'a> {
    pub cert: &'a Certificate,
    /// Its private key, when the caller has it. Only compared, never copied into the report.
    pub key: Option<&'a PrivateKey>,
    /// Intermediate and root certificates to build the path through. Self-signed ones are roots.
    pub chain: &'a [Certificate],
    /// The mailbox the certificate is for; its primary SMTP address.
    pub mailbox: Option<&'a str>,
    /// The instant validity is judged at. The library has no clock: callers pass one.
    pub now: OffsetDateTime,
}

/// Runs every certificate check and returns the findings, errors first.
pub fn check_certificate(input: &CertificateUnderTest<'_>) -> Report {
    let path = path::build(input.cert, input.chain);
    let Some(subject) = path.certs.first() else {
        // `build` always starts the path with the certificate under test; an empty report (rather
        // than a panic) is the safe answer should that ever change.
        return Report::new(String::new(), summary(&Facts::new(input.cert)), Vec::new());
    };
    let label = subject_label(subject, input.mailbox);
    // An address reads well bare; a name is quoted so that it stands out from the sentence.
    let shown = if label.contains('@') && !label.contains(' ') {
        label.clone()
    } else {
        format!("\"{label}\"")
    };
    let who = if subject.is_ca() {
        format!("CA certificate {shown}")
    } else {
        format!("certificate for {shown}")
    };
    let mut run = Run {
        findings: Vec::new(),
    };

    if subject.is_ca() {
        run.push(
            &PKI_PROFILE_CA,
            &label,
            format!(
                "{who} has basicConstraints cA=TRUE: it is a CA certificate, so the user-certificate checks (extended key usage, key usage, email address) were skipped"
            ),
        );
    }
    for (index, facts) in path.certs.iter().enumerate() {
        let name = if index == 0 {
            who.clone()
        } else {
            ca_label(facts)
        };
        for problem in &facts.malformed {
            run.push(
                &PKI_EXTENSION_MALFORMED,
                subject_of(index, &label, facts),
                format!("{name}: {problem}"),
            );
        }
    }

    check_key(&mut run, subject, input.key, &label, &who);
    if subject.ski.is_none() {
        run.push(
            &PKI_SKI_MISSING,
            &label,
            format!("{who} has no Subject Key Identifier"),
        );
    }
    if !subject.is_ca() {
        check_eku(&mut run, subject, &label, &who);
        check_key_usage(&mut run, subject, &label, &who);
        check_emails(&mut run, subject, input.mailbox, &label, &who);
    }
    check_validity(&mut run, subject, input.now, &label, &who);
    check_algorithms(&mut run, &path, &label, &who);
    check_chain(&mut run, &path, input.now, &label, &who);
    check_crl(&mut run, &path, &label, &who);
    if !subject.is_ca() && !run.findings.iter().any(|f| f.severity == Severity::Error) {
        cross_check_with_webpki(&mut run, &path, input.now, &label, &who);
    }

    Report::new(label, summary(subject), run.findings)
}

struct Run {
    findings: Vec<Finding>,
}

impl Run {
    fn push(&mut self, check: &CheckInfo, subject: impl Into<String>, message: String) {
        self.findings.push(Finding::new(check, subject, message));
    }
}

/// How findings name the certificate under test: the mailbox it is checked for, else its first
/// email address, else its common name, else its whole subject DN.
fn subject_label(facts: &Facts<'_>, mailbox: Option<&str>) -> String {
    if let Some(m) = mailbox {
        return m.to_owned();
    }
    if !facts.is_ca() {
        if let Some(email) = facts.emails().into_iter().next() {
            return email;
        }
        if let Some(email) = facts.subject_email_attribute() {
            return email;
        }
    }
    if let Some(cn) = facts.common_name() {
        return cn;
    }
    facts.cert.tbs_certificate().subject().to_string()
}

fn ca_label(facts: &Facts<'_>) -> String {
    format!(
        "CA certificate \"{}\"",
        facts.cert.tbs_certificate().subject()
    )
}

/// The `subject` field of a finding about `path.certs[index]`.
fn subject_of(index: usize, label: &str, facts: &Facts<'_>) -> String {
    if index == 0 {
        label.to_owned()
    } else {
        facts.cert.tbs_certificate().subject().to_string()
    }
}

fn check_key(run: &mut Run, subject: &Facts<'_>, key: Option<&PrivateKey>, label: &str, who: &str) {
    match key {
        None => run.push(
            &PKI_KEY_NOT_SUPPLIED,
            label,
            format!("no private key supplied for {who}: whether the certificate comes with its key was not checked"),
        ),
        Some(key) if !key.matches(subject.cert.tbs_certificate().subject_public_key_info()) => run
            .push(
                &PKI_KEY_MISMATCH,
                label,
                // Names the algorithms only: key material never goes into a report.
                format!(
                    "the private key supplied ({}) is not the key of {who} ({})",
                    key.algorithm_name(),
                    subject.key.name()
                ),
            ),
        Some(_) => {}
    }
}

fn check_eku(run: &mut Run, subject: &Facts<'_>, label: &str, who: &str) {
    let Some(eku) = &subject.eku else {
        run.push(
            &PKI_EKU_ABSENT,
            label,
            format!("{who} has no extended key usage extension, so nothing says it is for email protection"),
        );
        return;
    };
    let email = eku.contains(&rfc5280::ID_KP_EMAIL_PROTECTION);
    let any = eku.contains(&rfc5280::ANY_EXTENDED_KEY_USAGE);
    if !email && !any {
        let listed: Vec<String> = eku.iter().map(|o| oid_name(*o)).collect();
        let listed = if listed.is_empty() {
            "nothing".to_owned()
        } else {
            listed.join(", ")
        };
        run.push(
            &PKI_EKU_NO_EMAIL_PROTECTION,
            label,
            format!("{who} has an extended key usage extension without emailProtection (it lists {listed}): S/MIME clients will refuse it"),
        );
    }
    if any {
        run.push(
            &PKI_EKU_ANY,
            label,
            format!("{who} lists anyExtendedKeyUsage in its extended key usage"),
        );
    }
}

fn check_key_usage(run: &mut Run, subject: &Facts<'_>, label: &str, who: &str) {
    let Some(ku) = &subject.key_usage else {
        run.push(
            &PKI_KU_ABSENT,
            label,
            format!("{who} has no key usage extension (clients then assume every usage)"),
        );
        return;
    };
    let key_name = subject.key.name();
    let role = subject.key.role();
    let encrypt_bit = subject.key.encrypt_bit();
    let can_sign = ku.digital_signature() && role != KeyRole::EncryptOnly;
    // Encryption to an RSA (or KEM) key is key transport, keyEncipherment; to an EC key it is
    // Diffie-Hellman key agreement, keyAgreement. For an algorithm the lab does not know, either.
    let can_encrypt = role != KeyRole::SignOnly
        && match encrypt_bit {
            "keyEncipherment" => ku.key_encipherment(),
            "keyAgreement" => ku.key_agreement(),
            _ => ku.key_encipherment() || ku.key_agreement(),
        };
    let how_to_encrypt = match role {
        KeyRole::SignOnly => format!("a second certificate: an {key_name} key can only sign"),
        _ => encrypt_bit.to_owned(),
    };
    let how_to_sign = match role {
        KeyRole::EncryptOnly => format!("a second certificate: an {key_name} key cannot sign"),
        _ => "digitalSignature".to_owned(),
    };
    let bits = key_usage_names(ku);
    let non_repudiation_note = if ku.non_repudiation() && !can_sign {
        " (nonRepudiation alone does not let S/MIME clients sign)"
    } else {
        ""
    };
    match (can_sign, can_encrypt) {
        (false, false) => run.push(
            &PKI_KU_NEITHER,
            label,
            format!(
                "{who} has key usage {bits}: with its {key_name} key it can neither sign ({how_to_sign}) nor receive encrypted mail ({how_to_encrypt}){non_repudiation_note}"
            ),
        ),
        (true, false) => run.push(
            &PKI_KU_SIGN_ONLY,
            label,
            format!(
                "{who} has key usage {bits}: it can sign but nobody can encrypt to it (that needs {how_to_encrypt} for its {key_name} key)"
            ),
        ),
        (false, true) => run.push(
            &PKI_KU_ENCRYPT_ONLY,
            label,
            format!(
                "{who} has key usage {bits}: it can receive encrypted mail but cannot sign (that needs {how_to_sign}){non_repudiation_note}"
            ),
        ),
        (true, true) => {}
    }
    // Bits the key algorithm cannot honour: harmless to the holder, but a sign of a template
    // written for another algorithm, and the profile forbids them.
    let mut misfits = Vec::new();
    let (ke, ka) = (ku.key_encipherment(), ku.key_agreement());
    if role == KeyRole::SignOnly {
        misfits.extend(ke.then_some("keyEncipherment"));
        misfits.extend(ka.then_some("keyAgreement"));
    } else if encrypt_bit == "keyEncipherment" {
        misfits.extend(ka.then_some("keyAgreement"));
    } else if encrypt_bit == "keyAgreement" {
        misfits.extend(ke.then_some("keyEncipherment"));
    }
    if role == KeyRole::EncryptOnly {
        misfits.extend(ku.digital_signature().then_some("digitalSignature"));
    }
    if !misfits.is_empty() {
        let hint = match role {
            KeyRole::SignOnly => format!("an {key_name} key can only sign"),
            KeyRole::EncryptOnly => format!("an {key_name} key cannot sign"),
            KeyRole::Both => format!("an {key_name} key receives encrypted mail by {encrypt_bit}"),
        };
        run.push(
            &PKI_KU_WRONG_FOR_KEY,
            label,
            format!(
                "{who} asserts {} in its key usage, which its key cannot do ({hint})",
                misfits.join(" and ")
            ),
        );
    }
}

fn key_usage_names(ku: &x509_cert::ext::pkix::KeyUsage) -> String {
    let names: Vec<&str> = [
        (ku.digital_signature(), "digitalSignature"),
        (ku.non_repudiation(), "nonRepudiation"),
        (ku.key_encipherment(), "keyEncipherment"),
        (ku.data_encipherment(), "dataEncipherment"),
        (ku.key_agreement(), "keyAgreement"),
        (ku.key_cert_sign(), "keyCertSign"),
        (ku.crl_sign(), "cRLSign"),
        (ku.encipher_only(), "encipherOnly"),
        (ku.decipher_only(), "decipherOnly"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect();
    if names.is_empty() {
        "(no bits set)".to_owned()
    } else {
        names.join(", ")
    }
}

/// Mailbox addresses compare case-insensitively: Exchange treats SMTP addresses that way, and a
/// certificate for `Alice@Contoso.com` is used for `alice@contoso.com` in practice.
fn same_address(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn check_emails(run: &mut Run, subject: &Facts<'_>, mailbox: Option<&str>, label: &str, who: &str) {
    let emails = subject.emails();
    if emails.is_empty() {
        let mut message = if subject.san.is_none() {
            format!("{who} has no subject alternative name extension, so no email address")
        } else {
            format!("{who} has no email address (rfc822Name) in its subject alternative name")
        };
        if let Some(attr) = subject.subject_email_attribute() {
            message.push_str(&format!(
                "; {attr} appears only in the subject's emailAddress attribute, which receivers may ignore"
            ));
        }
        run.push(&PKI_SAN_NO_EMAIL, label, message);
        return;
    }
    if let Some(mailbox) = mailbox
        && !emails.iter().any(|e| same_address(e, mailbox))
    {
        run.push(
            &PKI_SAN_MISMATCH,
            label,
            format!(
                "certificate checked for mailbox {mailbox} carries {} in its subject alternative name, not {mailbox}",
                emails.join(", ")
            ),
        );
    }
}

fn format_instant(t: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn check_validity(run: &mut Run, subject: &Facts<'_>, now: OffsetDateTime, label: &str, who: &str) {
    let (from, until) = (subject.not_before, subject.not_after);
    if now > until {
        run.push(
            &PKI_VALIDITY_EXPIRED,
            label,
            format!(
                "{who} expired on {} (checked at {})",
                format_instant(until),
                format_instant(now)
            ),
        );
    } else if now < from {
        run.push(
            &PKI_VALIDITY_NOT_YET,
            label,
            format!(
                "{who} is not valid until {} (checked at {})",
                format_instant(from),
                format_instant(now)
            ),
        );
    } else {
        let left = until - now;
        if left <= time::Duration::days(EXPIRY_WARNING_DAYS) {
            run.push(
                &PKI_VALIDITY_EXPIRING,
                label,
                format!(
                    "{who} expires on {}, in {} days",
                    format_instant(until),
                    left.whole_days()
                ),
            );
        }
    }
}

/// The report's header: the one summary every report prints, its thumbprint over the bytes read.
fn summary(facts: &Facts<'_>) -> CertificateSummary {
    match &facts.der {
        Some(der) => CertificateSummary::of_der(facts.cert, &der.certificate),
        None => CertificateSummary::of(facts.cert),
    }
}
