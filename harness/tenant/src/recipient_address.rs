//! Whose certificate it is: Outlook on the web's rule for holding the certificate it found for a
//! recipient to that recipient's addresses, the one home of the rule
//! (`Set-SmimeConfig -OWAUseSecondaryProxiesWhenFindingCertificates`). [`crate::validation`]
//! applies it to a recipient's certificate before encrypting (`"purpose": "encrypt"` with
//! `"recipient"`), which the runner's Outlook on the web and the preflight both call.
//!
//! office-docs-powershell, Set-SmimeConfig.md: "The OWAUseSecondaryProxiesWhenFindingCertificates
//! parameter specifies whether alternative proxies are used during the certificate search in
//! Outlook on the web. Valid input for this parameter is $true or $false. The default is $true.
//! Outlook on the web attempts to find the correct certificate for a recipient when sending
//! encrypted messages. The certificate subject or subject alternative name values can each
//! contain an email address. Because a recipient can have multiple proxy addresses, the
//! certificate's subject or subject alternative name values may not match the recipient's
//! primary SMTP address. When this parameter is set to $true, and the certificate subject or
//! subject alternative name values do not match the recipient's primary SMTP address, Outlook on
//! the web tries to match the certificate's subject to one of the recipient's proxy addresses."
//!
//! Read as:
//! - A certificate's email addresses are its subject alternative name's rfc822Name entries and
//!   its subject's emailAddress attributes (`smime::cms::address::certificate_mailboxes`, RFC
//!   8550 §3), compared without regard to ASCII case. A commonName is a name, not an email
//!   address value, even when it holds one.
//! - One of them equal to the recipient's primary SMTP address: the certificate is the
//!   recipient's, whatever the setting.
//! - Else, with the setting `$true` (the default), one of them equal to one of the recipient's
//!   SMTP proxy addresses (`proxyAddresses` entries with the `smtp:` or `SMTP:` prefix; `x500:`,
//!   `sip:`, `X400:` and other types are not mail addresses and are skipped): the certificate is
//!   the recipient's. The sentence's last clause says "the certificate's subject"; the sentence's
//!   premise names "the certificate's subject or subject alternative name values" as what may not
//!   match, so the lab reads "subject" there as shorthand for those same values and matches the
//!   subject alternative name against the proxies too (an S/MIME certificate under the CA/Browser
//!   Forum's S/MIME requirements always carries its address in the subject alternative name and
//!   only optionally in the subject: a subject-only reading would make the setting do nothing
//!   for them). FIDELITY.md names this as the interpretation chosen.
//! - Else (setting `$false`, or no proxy matches either): the certificate is not the recipient's,
//!   and Outlook on the web does not encrypt to it.
//!
//! Outlook desktop and the phones are not held to this rule here: the parameter is Outlook on
//! the web's, and no page the lab follows says how Outlook for Windows matches a GAL certificate
//! to its recipient. Outlook for iOS and Android has its own primary-address rule for the
//! sender's certificate (the runner's `attempt.rs::sender_side`).

use serde::Serialize;
use x509_cert::Certificate;

/// The name of the setting, as Set-SmimeConfig stores it.
pub const SETTING: &str = "OWAUseSecondaryProxiesWhenFindingCertificates";

/// A recipient's addresses, as the tenant holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    pub primary_smtp_address: String,
    /// The raw `proxyAddresses` values (`SMTP:a@b`, `smtp:c@d`, `x500:/o=...`).
    pub proxy_addresses: Vec<String>,
}

impl Addresses {
    /// The addresses of the recipient `address` names (primary, proxy or UPN), as the tenant
    /// holds them; an address the tenant does not know stands alone.
    pub fn of(recipients: &crate::store::recipient_table::Recipients<'_>, address: &str) -> Self {
        match recipients.by_address(address) {
            Ok(Some((_, recipient))) => recipient.addresses(),
            _ => Addresses {
                primary_smtp_address: address.to_owned(),
                proxy_addresses: Vec::new(),
            },
        }
    }
}

/// Which of the recipient's addresses the certificate names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "matched", content = "address")]
pub enum Matched {
    /// The primary SMTP address.
    Primary,
    /// An SMTP proxy address (the address, as the proxy value writes it).
    Proxy(String),
    /// None it may be matched against.
    None,
}

/// The judgement, as the validation answer carries it (`address`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressCheck {
    /// The recipient's primary SMTP address.
    pub recipient: String,
    /// The certificate's email addresses (lower-cased).
    pub certificate_addresses: Vec<String>,
    #[serde(flatten)]
    pub matched: Matched,
    /// Whether secondary proxies were looked at (`OWAUseSecondaryProxiesWhenFindingCertificates`).
    pub use_secondary_proxies: bool,
    /// Whether the certificate is the recipient's: Outlook on the web encrypts to it only then.
    pub is_recipients: bool,
    /// Said in the answer's reasons.
    pub reason: String,
}

/// The SMTP addresses among `proxyAddresses` values: those whose type is `smtp` in any case
/// (`SMTP:` the primary, `smtp:` a secondary), without the prefix. Other types (`x500:`, `sip:`,
/// `X400:`, `eum:`) are not mail addresses.
pub fn smtp_proxies(proxy_addresses: &[String]) -> impl Iterator<Item = &str> {
    proxy_addresses.iter().filter_map(|value| {
        let (kind, address) = value.trim().split_once(':')?;
        (kind.eq_ignore_ascii_case("smtp") && !address.trim().is_empty()).then(|| address.trim())
    })
}

/// Which address `certificate_addresses` match, as the rule above reads.
pub fn matched(
    certificate_addresses: &[String],
    recipient: &Addresses,
    use_secondary_proxies: bool,
) -> Matched {
    let names = |address: &str| {
        certificate_addresses
            .iter()
            .any(|a| a.trim().eq_ignore_ascii_case(address.trim()))
    };
    if names(&recipient.primary_smtp_address) {
        return Matched::Primary;
    }
    if use_secondary_proxies
        && let Some(proxy) = smtp_proxies(&recipient.proxy_addresses).find(|p| names(p))
    {
        return Matched::Proxy(proxy.to_owned());
    }
    Matched::None
}

/// Judges `certificate` for `recipient`.
pub fn check(
    certificate: &Certificate,
    recipient: &Addresses,
    use_secondary_proxies: bool,
) -> AddressCheck {
    let certificate_addresses = smime::cms::address::certificate_mailboxes(certificate);
    let matched = matched(&certificate_addresses, recipient, use_secondary_proxies);
    let primary = &recipient.primary_smtp_address;
    let shown = if certificate_addresses.is_empty() {
        "no email address".to_owned()
    } else {
        certificate_addresses.join(", ")
    };
    let secondaries: Vec<&str> = smtp_proxies(&recipient.proxy_addresses)
        .filter(|p| !p.eq_ignore_ascii_case(primary))
        .collect();
    let reason = match &matched {
        Matched::Primary => format!("the certificate names the primary SMTP address {primary}"),
        Matched::Proxy(proxy) => format!(
            "the certificate names {proxy}, one of {primary}'s proxy addresses \
             ({SETTING} is $true): Outlook on the web takes it as {primary}'s"
        ),
        Matched::None if !use_secondary_proxies => format!(
            "the certificate is issued to {shown}, not the primary SMTP address {primary}, and \
             {SETTING} is $false, so Outlook on the web looks at no proxy address{}: it does not \
             take the certificate as {primary}'s",
            if secondaries.is_empty() {
                String::new()
            } else {
                format!(" ({})", secondaries.join(", "))
            }
        ),
        Matched::None if secondaries.is_empty() => format!(
            "the certificate is issued to {shown}, not the primary SMTP address {primary}, and \
             {primary} has no other proxy address: Outlook on the web does not take the \
             certificate as {primary}'s"
        ),
        Matched::None => format!(
            "the certificate is issued to {shown}, which is neither the primary SMTP address \
             {primary} nor one of its proxy addresses ({}): Outlook on the web does not take the \
             certificate as {primary}'s",
            secondaries.join(", ")
        ),
    };
    AddressCheck {
        recipient: primary.clone(),
        is_recipients: matched != Matched::None,
        certificate_addresses,
        matched,
        use_secondary_proxies,
        reason,
    }
}

/// Holds a recipient's certificate (DER) to the recipient's addresses, for a validation
/// answer: a certificate that is not the recipient's is not encrypted to (`send_allowed` false,
/// its reason first); one that is says which address it names (its reason last). `None` when
/// the DER does not parse (the path check has said so).
pub fn hold(
    certificate_der: &[u8],
    recipient: &Addresses,
    use_secondary_proxies: bool,
    (send_allowed, reasons): (&mut bool, &mut Vec<String>),
) -> Option<AddressCheck> {
    let certificate = smime::certificate::parse_der(certificate_der).ok()?;
    let judged = check(&certificate, recipient, use_secondary_proxies);
    if judged.is_recipients {
        reasons.push(judged.reason.clone());
    } else {
        *send_allowed = false;
        reasons.insert(0, judged.reason.clone());
    }
    Some(judged)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn bob(proxies: &[&str]) -> Addresses {
        Addresses {
            primary_smtp_address: "bob@contoso.com".into(),
            proxy_addresses: proxies.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn the_primary_address_matches_in_any_case_whatever_the_setting() {
        for setting in [true, false] {
            assert_eq!(
                matched(&names(&["Bob@Contoso.COM"]), &bob(&[]), setting),
                Matched::Primary
            );
            assert_eq!(
                matched(
                    &names(&["other@contoso.com", "bob@contoso.com"]),
                    &bob(&["smtp:other@contoso.com"]),
                    setting
                ),
                Matched::Primary,
                "the primary wins over a proxy"
            );
        }
    }

    #[test]
    fn a_secondary_proxy_matches_only_when_the_setting_is_true() {
        let recipient = bob(&["SMTP:bob@contoso.com", "smtp:Robert@Contoso.com"]);
        let certificate = names(&["robert@contoso.com"]);
        assert_eq!(
            matched(&certificate, &recipient, true),
            Matched::Proxy("Robert@Contoso.com".into())
        );
        assert_eq!(matched(&certificate, &recipient, false), Matched::None);
    }

    #[test]
    fn smtp_prefixes_of_either_case_count_and_other_proxy_types_do_not() {
        let recipient = bob(&[
            "SMTP:bob@contoso.com",
            "smtp:bob.old@contoso.com",
            "Smtp:b@contoso.com",
            "x500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=robert@contoso.com",
            "sip:robert@contoso.com",
            "X400:c=US;a= ;p=Contoso;o=Exchange;s=robert@contoso.com",
            "eum:robert@contoso.com",
            "robert@contoso.com",
            "smtp:",
        ]);
        assert_eq!(
            smtp_proxies(&recipient.proxy_addresses).collect::<Vec<_>>(),
            vec!["bob@contoso.com", "bob.old@contoso.com", "b@contoso.com"]
        );
        assert_eq!(
            matched(&names(&["robert@contoso.com"]), &recipient, true),
            Matched::None,
            "x500:, sip:, X400:, eum: and an untyped value are not SMTP proxies"
        );
        assert_eq!(
            matched(&names(&["B@contoso.com"]), &recipient, true),
            Matched::Proxy("b@contoso.com".into())
        );
    }

    #[test]
    fn a_certificate_with_no_address_or_a_stranger_is_nobodys() {
        let recipient = bob(&["smtp:bob.old@contoso.com"]);
        for setting in [true, false] {
            assert_eq!(matched(&[], &recipient, setting), Matched::None);
            assert_eq!(
                matched(&names(&["carol@contoso.com"]), &recipient, setting),
                Matched::None
            );
        }
    }

    /// The subject's emailAddress (E=) and the subject alternative name's rfc822Name are both
    /// the certificate's addresses, for the primary and for the proxies alike; a certificate
    /// with neither is nobody's. Certificates made by OpenSSL's command line.
    #[test]
    fn subject_email_and_san_rfc822_name_both_count() {
        let pki = test_support::pki::TestPki::get();
        let load = |name: &str| {
            smime::certificate::parse_certificates(&pki.read(&format!("{name}.pem")))
                .unwrap()
                .remove(0)
        };
        let with = |primary: &str, proxy: &str| Addresses {
            primary_smtp_address: primary.into(),
            proxy_addresses: vec!["SMTP:".to_owned() + primary, format!("smtp:{proxy}")],
        };
        // "good": alice@contoso.com in the SAN only; "no_san_with_dn_email": in the subject only.
        for name in ["good", "no_san_with_dn_email"] {
            let certificate = load(name);
            let as_primary = check(&certificate, &with("ALICE@contoso.com", "w@y.z"), false);
            assert_eq!(as_primary.matched, Matched::Primary, "{name}");
            assert!(as_primary.is_recipients, "{name}");
            let as_proxy = check(&certificate, &with("x@y.z", "Alice@Contoso.com"), true);
            assert_eq!(
                as_proxy.matched,
                Matched::Proxy("Alice@Contoso.com".into()),
                "{name}"
            );
            assert!(as_proxy.is_recipients, "{name}");
            let refused = check(&certificate, &with("x@y.z", "alice@contoso.com"), false);
            assert!(!refused.is_recipients, "{name}");
            assert!(refused.reason.contains("is $false"), "{}", refused.reason);
        }
        let nameless = check(
            &load("no_san"),
            &with("alice@contoso.com", "a@contoso.com"),
            true,
        );
        assert_eq!(nameless.matched, Matched::None);
        assert!(
            nameless.reason.contains("no email address"),
            "{}",
            nameless.reason
        );
    }
}
