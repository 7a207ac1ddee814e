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

fn check_algorithms(run: &mut Run, path: &Path<'_>, label: &str, who: &str) {
    let anchor_index = path.anchor().map(|_| path.certs.len().saturating_sub(1));
    for (index, facts) in path.certs.iter().enumerate() {
        let name = if index == 0 {
            who.to_owned()
        } else {
            ca_label(facts)
        };
        let subject = subject_of(index, label, facts);
        match &facts.key {
            KeyKind::Rsa { bits } if *bits < 2048 => run.push(
                &PKI_ALG_RSA_TOO_SHORT,
                subject.clone(),
                format!("{name} has an RSA key of {bits} bits"),
            ),
            KeyKind::Other { name: alg, .. } => run.push(
                &PKI_ALG_KEY_UNVERIFIED,
                subject.clone(),
                format!("{name} has an {alg} key"),
            ),
            KeyKind::NotPermitted { name: alg, .. } => run.push(
                &PKI_ALG_KEY_NOT_PERMITTED,
                subject.clone(),
                format!("{name} has a key of type {alg}, which the profile does not permit"),
            ),
            _ => {}
        }
        // A root's signature on itself carries no trust (it is trusted as a key, not as a signed
        // statement), so its hash does not matter.
        if Some(index) == anchor_index {
            continue;
        }
        let scheme = Scheme::from_algorithm(facts.cert.signature_algorithm());
        if scheme.hash().is_some_and(|h| h.is_weak()) {
            run.push(
                &PKI_ALG_WEAK_SIGNATURE,
                subject,
                format!("{name} is signed with {}", scheme.name()),
            );
        }
    }
}

fn check_chain(run: &mut Run, path: &Path<'_>, now: OffsetDateTime, label: &str, who: &str) {
    let Some(subject) = path.certs.first() else {
        return;
    };
    let ee = !subject.is_ca();
    let Some(last) = path.certs.last() else {
        return;
    };
    let last_name = if path.certs.len() == 1 {
        who.to_owned()
    } else {
        ca_label(last)
    };
    match path.end {
        PathEnd::NotSupplied => run.push(
            &PKI_CHAIN_NOT_SUPPLIED,
            label,
            format!("no chain supplied: the path from {who} to a root was not checked"),
        ),
        PathEnd::MissingIssuer => run.push(
            &PKI_CHAIN_INCOMPLETE,
            label,
            format!(
                "the chain stops at {last_name}: its issuer \"{}\" is not among the certificates supplied",
                last.cert.tbs_certificate().issuer()
            ),
        ),
        PathEnd::TooLong => run.push(
            &PKI_CHAIN_INCOMPLETE,
            label,
            format!("no root found within {MAX_DEPTH} certificates above {who}"),
        ),
        PathEnd::Anchored => {
            if ee && path.certs.len() == 1 {
                run.push(
                    &PKI_CHAIN_SELF_SIGNED_USER,
                    label,
                    format!("{who} is self-signed"),
                );
            }
            if ee && path.certs.len() == 2 {
                run.push(
                    &PKI_CHAIN_FROM_ROOT,
                    label,
                    format!("{who} was issued directly by the root {}", ca_label(last)),
                );
            }
        }
    }

    for (index, verdict) in path.links.iter().enumerate() {
        let (Some(child), Some(issuer)) = (path.certs.get(index), path.certs.get(index + 1)) else {
            continue;
        };
        let child_name = if index == 0 {
            who.to_owned()
        } else {
            ca_label(child)
        };
        let subject = subject_of(index, label, child);
        match verdict {
            Verdict::Valid => {}
            Verdict::Invalid(reason) => run.push(
                &PKI_CHAIN_BAD_SIGNATURE,
                subject,
                format!(
                    "the signature on {child_name} does not verify with the key of {}: {reason}",
                    ca_label(issuer)
                ),
            ),
            Verdict::Unsupported(what) => run.push(
                &PKI_CHAIN_SIGNATURE_UNVERIFIED,
                subject,
                format!(
                    "the signature on {child_name} by {} was not verified: {what} is not supported here",
                    ca_label(issuer)
                ),
            ),
        }
    }

    for (index, issuer) in path.certs.iter().enumerate().skip(1) {
        let name = ca_label(issuer);
        let subject = issuer.cert.tbs_certificate().subject().to_string();
        let mut problems = Vec::new();
        match &issuer.basic_constraints {
            None => problems.push("it has no basicConstraints extension".to_owned()),
            Some(bc) if !bc.ca => problems.push("its basicConstraints say cA=FALSE".to_owned()),
            Some(bc) => {
                // Intermediate CAs below this one on the path (RFC 5280 §4.2.1.9 counts
                // non-self-issued intermediates; the lab's paths contain no self-issued ones
                // below the root).
                let below = index.saturating_sub(1);
                if let Some(limit) = bc.path_len_constraint
                    && below > usize::from(limit)
                {
                    problems.push(format!(
                        "its pathLenConstraint of {limit} allows {limit} intermediate CA(s) below it, the path has {below}"
                    ));
                }
            }
        }
        if let Some(ku) = &issuer.key_usage
            && !ku.key_cert_sign()
        {
            problems.push(format!(
                "its key usage ({}) lacks keyCertSign",
                key_usage_names(ku)
            ));
        }
        if !problems.is_empty() {
            run.push(
                &PKI_CHAIN_ISSUER_NOT_CA,
                subject.clone(),
                format!(
                    "{name} issued a certificate on the path but {}",
                    problems.join("; ")
                ),
            );
        }
        if now > issuer.not_after {
            run.push(
                &PKI_CHAIN_CA_VALIDITY,
                subject,
                format!(
                    "{name} expired on {} (checked at {})",
                    format_instant(issuer.not_after),
                    format_instant(now)
                ),
            );
        } else if now < issuer.not_before {
            run.push(
                &PKI_CHAIN_CA_VALIDITY,
                subject,
                format!(
                    "{name} is not valid until {} (checked at {})",
                    format_instant(issuer.not_before),
                    format_instant(now)
                ),
            );
        }
    }
}

fn check_crl(run: &mut Run, path: &Path<'_>, label: &str, who: &str) {
    for (index, facts) in path.certs.iter().enumerate() {
        // A root is not revoked by a CRL of its own; everything it vouches for is.
        if facts.is_self_issued() {
            continue;
        }
        let name = if index == 0 {
            who.to_owned()
        } else {
            ca_label(facts)
        };
        let subject = subject_of(index, label, facts);
        let urls = facts.crl_urls();
        if facts.crl_dp.is_none() {
            run.push(
                &PKI_CRL_MISSING,
                subject,
                format!("{name} has no CRL distribution point, so its revocation status cannot be checked"),
            );
            continue;
        }
        let http: Vec<&String> = urls.iter().filter(|u| is_http(u)).collect();
        if http.is_empty() {
            let listed = if urls.is_empty() {
                "no URL at all".to_owned()
            } else {
                urls.join(", ")
            };
            run.push(
                &PKI_CRL_NOT_HTTP,
                subject,
                format!(
                    "{name} names its CRL only as {listed}, which Exchange Online cannot fetch"
                ),
            );
            continue;
        }
        for url in http {
            if let Some(host) = url_host(url).filter(|h| looks_internal(h)) {
                run.push(
                    &PKI_CRL_INTERNAL_HOST,
                    subject.clone(),
                    format!("{name} has CRL URL {url}, whose host {host} looks internal-only"),
                );
            }
        }
    }
}

fn is_http(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The host of an http(s) URL: between `://` and the next `/`, `?` or `#`, without user info or
/// port; an IPv6 literal without its brackets.
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A host Exchange Online, on the internet, cannot be expected to reach: a single-label name, a
/// reserved or conventional private suffix, or a private, loopback or link-local address.
fn looks_internal(host: &str) -> bool {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(v4) => {
                v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified()
            }
            IpAddr::V6(v6) => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local()
            }
        };
    }
    let host = host.trim_end_matches('.');
    if !host.contains('.') {
        return true;
    }
    const PRIVATE_SUFFIXES: &[&str] = &[
        ".local",
        ".localdomain",
        ".localhost",
        ".internal",
        ".intranet",
        ".lan",
        ".corp",
        ".home",
        ".home.arpa",
        ".private",
        ".test",
        ".invalid",
    ];
    PRIVATE_SUFFIXES.iter().any(|s| host.ends_with(s))
}

/// The OID of id-kp-emailProtection as the bytes rustls-webpki compares against.
static EMAIL_PROTECTION: const_oid::ObjectIdentifier = rfc5280::ID_KP_EMAIL_PROTECTION;

/// Runs rustls-webpki's path validation over the path this module built, as a second opinion from
/// an implementation nobody here wrote. Only called when the lab's own checks found no error, and
/// only its verdicts that no other check covers are reported: webpki refuses SHA-1, RSA below 2048
/// bits and some ECDSA hash/curve pairs that Windows accepts, and expiry and the extended key usage
/// have their own checks.
fn cross_check_with_webpki(
    run: &mut Run,
    path: &Path<'_>,
    now: OffsetDateTime,
    label: &str,
    who: &str,
) {
    let (Some(subject), Some(anchor)) = (path.certs.first(), path.anchor()) else {
        return;
    };
    if path.certs.len() < 2 {
        return;
    }
    let (Some(ee_der), Some(anchor_der)) = (&subject.der, &anchor.der) else {
        return;
    };
    let mut intermediates = Vec::new();
    for facts in path
        .certs
        .iter()
        .skip(1)
        .take(path.certs.len().saturating_sub(2))
    {
        match &facts.der {
            Some(d) => intermediates.push(CertificateDer::from(d.certificate.as_slice())),
            None => return,
        }
    }
    let anchor_cert = CertificateDer::from(anchor_der.certificate.as_slice());
    let ee_cert = CertificateDer::from(ee_der.certificate.as_slice());
    let result = webpki::anchor_from_trusted_cert(&anchor_cert).and_then(|anchor| {
        let ee = webpki::EndEntityCert::try_from(&ee_cert)?;
        let seconds = u64::try_from(now.unix_timestamp()).unwrap_or(0);
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &[anchor],
            &intermediates,
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds)),
            webpki::KeyUsage::required_if_present(EMAIL_PROTECTION.as_bytes()),
            None,
            None,
        )
        .map(|_| ())
    });
    #[allow(deprecated)]
    let covered = |e: &webpki::Error| {
        matches!(
            e,
            webpki::Error::CertExpired { .. }
                | webpki::Error::CertNotValidYet { .. }
                | webpki::Error::RequiredEkuNotFound
                | webpki::Error::RequiredEkuNotFoundContext(_)
                | webpki::Error::UnsupportedSignatureAlgorithm
                | webpki::Error::UnsupportedSignatureAlgorithmContext(_)
                | webpki::Error::UnsupportedSignatureAlgorithmForPublicKey
                | webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        )
    };
    if let Err(e) = result
        && !covered(&e)
    {
        run.push(
            &PKI_CHAIN_WEBPKI_REJECTS,
            label,
            format!(
                "rustls-webpki rejects the path from {who} to {}: {e}",
                ca_label(anchor)
            ),
        );
    }
}

/// The report's header: the one summary every report prints, its thumbprint over the bytes read.
fn summary(facts: &Facts<'_>) -> CertificateSummary {
    match &facts.der {
        Some(der) => CertificateSummary::of_der(facts.cert, &der.certificate),
        None => CertificateSummary::of(facts.cert),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("http://crl.contoso.com/root.crl").as_deref(),
            Some("crl.contoso.com")
        );
        assert_eq!(
            url_host("http://user@PKI:8080/x.crl").as_deref(),
            Some("pki")
        );
        assert_eq!(
            url_host("http://[fd00::1]:80/x").as_deref(),
            Some("fd00::1")
        );
        assert_eq!(url_host("http:///x"), None);
        assert_eq!(url_host("no scheme"), None);
    }

    #[test]
    fn internal_hosts() {
        for host in [
            "pki",
            "localhost",
            "ca.contoso.local",
            "ca.corp",
            "10.1.2.3",
            "192.168.0.10",
            "127.0.0.1",
            "fd00::1",
            "::1",
        ] {
            assert!(looks_internal(host), "{host}");
        }
        for host in [
            "crl.contoso.com",
            "8.8.8.8",
            "2001:db8::1",
            "crl.example.org.",
        ] {
            assert!(!looks_internal(host), "{host}");
        }
    }

    #[test]
    fn addresses_compare_without_case() {
        assert!(same_address("Alice@Contoso.com", "alice@contoso.com"));
        assert!(!same_address("alice@contoso.com", "alice@fabrikam.com"));
    }
}
