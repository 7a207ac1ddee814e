//! The checks that look at the whole path rather than one certificate: the algorithms on it, the
//! chain to an anchor, the CRL distribution points, and a cross-check with rustls-webpki. Split
//! from the profile checks (`super`) because they share only `Run` and the labels.

use super::*;

pub(super) fn check_algorithms(run: &mut Run, path: &Path<'_>, label: &str, who: &str) {
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

pub(super) fn check_chain(
    run: &mut Run,
    path: &Path<'_>,
    now: OffsetDateTime,
    label: &str,
    who: &str,
) {
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

pub(super) fn check_crl(run: &mut Run, path: &Path<'_>, label: &str, who: &str) {
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

pub(super) fn is_http(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The host of an http(s) URL: between `://` and the next `/`, `?` or `#`, without user info or
/// port; an IPv6 literal without its brackets.
pub(super) fn url_host(url: &str) -> Option<String> {
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
pub(super) fn looks_internal(host: &str) -> bool {
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
pub(super) fn cross_check_with_webpki(
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
