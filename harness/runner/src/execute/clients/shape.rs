//! The vocabulary the three clients share: what the user asked for
//! ([`scenario::plan::ProtectionRequest`]), what the
//! client knows about the keys involved ([`Sender`], [`RecipientFacts`]), and what it decides —
//! the shape of the message ([`MessageShape`]) or a refusal ([`Refusal`]). Everything here is
//! data and pure functions, so each client's rules are tested without a lab.

use smime::cms::attributes::{Capability, SmimeCapability};
use smime::cms::envelope::{ContentCipher, RecipientIdType, RsaPadding};
use smime::cms::{OwnCertificates, SignedForm};
use x509_cert::Certificate;

use scenario::model::{ChainInclusion, Digest, KeyStorage, RefusalReason};

/// What a client knows of a certificate it encrypts to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertificateFacts {
    /// It carries a Subject Key Identifier, so a RecipientInfo can name it by SKI.
    pub has_ski: bool,
    /// The content ciphers its S/MIME Capabilities extension (RFC 4262) lists, in its order of
    /// preference; `None` when the certificate says nothing (the lab's certificates never do), and
    /// clients then assume their own algorithm is understood.
    pub capabilities: Option<Vec<ContentCipher>>,
    /// Why it cannot be encrypted to at the time of sending (expired, not for email, a key usage
    /// that does not allow it); empty when it can.
    pub problems: Vec<String>,
}

impl CertificateFacts {
    /// The facts of `certificate` at `now`.
    pub fn of(certificate: &Certificate, now: time::OffsetDateTime) -> Self {
        CertificateFacts {
            has_ski: certificate
                .tbs_certificate()
                .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .is_some(),
            capabilities: certificate_capabilities(certificate),
            problems: encryption_problems(certificate, now),
        }
    }

    /// Whether the certificate's holder reads `cipher`, as far as the certificate tells.
    pub fn accepts(&self, cipher: ContentCipher) -> bool {
        self.capabilities
            .as_ref()
            .is_none_or(|list| list.contains(&cipher))
    }
}

/// The sender on this client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    /// Where the key that would sign lives; `None` when nothing installed on this client may
    /// sign (and no other certificate was named to sign with).
    pub signing: Option<KeyStorage>,
    /// The sender's own encryption certificate, which clients add to the envelope so that the
    /// sender can read Sent Items; `None` when none is installed on this client.
    pub own_certificate: Option<CertificateFacts>,
}

/// One recipient's encryption certificate, as the tenant's lookup answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientFacts {
    pub mailbox: String,
    /// `None`: the lookup found no certificate fit to encrypt to.
    pub certificate: Option<CertificateFacts>,
}

/// How the signature is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignShape {
    pub digest: Digest,
    pub form: SignedForm,
    pub include: ChainInclusion,
    /// Which of the sender's own certificates the signature carries.
    pub own_certificates: OwnCertificates,
    /// smimeCapabilities in order of preference; empty leaves the attribute out.
    pub capabilities: Vec<Capability>,
}

/// How the envelope is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptShape {
    pub cipher: ContentCipher,
    pub rsa_padding: RsaPadding,
    pub recipient_id: RecipientIdType,
    /// Add the sender's own certificate to the envelope.
    pub to_self: bool,
}

/// What the client sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageShape {
    pub sign: Option<SignShape>,
    pub encrypt: Option<EncryptShape>,
    /// Signed, encrypted and signed again (only with both).
    pub triple_wrap: bool,
    /// Where each choice came from (`digest SHA-256: OWASigningAlgorithms "800C;8004"`), for the
    /// report.
    pub notes: Vec<String>,
}

impl MessageShape {
    /// The report's name for it: `clear-signed`, `opaque-signed`, `encrypted`,
    /// `signed+encrypted`, `triple-wrapped` or `plain`.
    pub fn protection(&self) -> &'static str {
        match (&self.sign, &self.encrypt) {
            (Some(_), Some(_)) if self.triple_wrap => "triple-wrapped",
            (Some(_), Some(_)) => "signed+encrypted",
            (Some(s), None) if s.form == SignedForm::OpaqueSigned => "opaque-signed",
            (Some(_), None) => "clear-signed",
            (None, Some(_)) => "encrypted",
            (None, None) => "plain",
        }
    }
}

/// The client will not send the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: RefusalReason,
    /// What the user is told, with the specifics.
    pub why: String,
}

impl Refusal {
    pub fn new(reason: RefusalReason, why: impl Into<String>) -> Self {
        Refusal {
            reason,
            why: why.into(),
        }
    }
}

/// Every client needs a key to sign with: the sender's own, or the one named to sign with.
pub fn signing_key(sender: &Sender) -> Result<KeyStorage, Refusal> {
    sender.signing.ok_or_else(|| {
        Refusal::new(
            RefusalReason::NoSigningCertificate,
            "no certificate fit for signing (keyUsage digitalSignature) is installed for the sender on this client",
        )
    })
}

/// Every recipient needs a valid certificate to encrypt to: Outlook's "had problems encrypting
/// this message because the following recipients had missing or invalid certificates".
pub fn recipient_certificates(recipients: &[RecipientFacts]) -> Result<(), Refusal> {
    let mut missing = Vec::new();
    let mut invalid = Vec::new();
    for r in recipients {
        match &r.certificate {
            None => missing.push(r.mailbox.as_str()),
            Some(c) if !c.problems.is_empty() => {
                invalid.push(format!("{} ({})", r.mailbox, c.problems.join("; ")));
            }
            Some(_) => {}
        }
    }
    let mut why = Vec::new();
    if !missing.is_empty() {
        why.push(format!(
            "no certificate to encrypt to for {}: the tenant's lookup (userSMIMECertificate, then userCertificate) found none",
            missing.join(", ")
        ));
    }
    if !invalid.is_empty() {
        why.push(format!("invalid certificate for {}", invalid.join(", ")));
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(Refusal::new(
            RefusalReason::NoRecipientCertificate,
            why.join("; "),
        ))
    }
}

/// Why a client cannot encrypt to `certificate` at `now` (RFC 8550 §4.4): outside its validity,
/// an extended key usage without emailProtection, or a key usage without keyEncipherment (RSA)
/// or keyAgreement (EC).
pub fn encryption_problems(certificate: &Certificate, now: time::OffsetDateTime) -> Vec<String> {
    use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage};
    const EMAIL_PROTECTION: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");
    const ANY_EXTENDED_KEY_USAGE: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("2.5.29.37.0");
    const RSA_ENCRYPTION: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    let mut problems = Vec::new();
    let not_before = smime::certificate::not_before(certificate);
    let not_after = smime::certificate::not_after(certificate);
    if now < not_before {
        problems.push(format!(
            "not valid before {}",
            smime::certificate::rfc3339(not_before)
        ));
    }
    if now > not_after {
        problems.push(format!(
            "expired {}",
            smime::certificate::rfc3339(not_after)
        ));
    }
    let tbs = certificate.tbs_certificate();
    if let Ok(Some((_, eku))) = tbs.get_extension::<ExtendedKeyUsage>()
        && !eku
            .0
            .iter()
            .any(|oid| *oid == EMAIL_PROTECTION || *oid == ANY_EXTENDED_KEY_USAGE)
    {
        problems.push("its extendedKeyUsage has no emailProtection".to_owned());
    }
    if let Ok(Some((_, ku))) = tbs.get_extension::<KeyUsage>() {
        let rsa = tbs.subject_public_key_info().algorithm.oid == RSA_ENCRYPTION;
        if rsa && !ku.key_encipherment() {
            problems.push("its keyUsage has no keyEncipherment".to_owned());
        } else if !rsa && !ku.key_agreement() {
            problems.push("its keyUsage has no keyAgreement".to_owned());
        }
    }
    problems
}

/// Naming recipients by SKI needs every certificate in the envelope to carry one; a certificate
/// without one cannot be addressed, which the client reports as a missing certificate.
pub fn addressable(
    recipient_id: RecipientIdType,
    recipients: &[RecipientFacts],
    sender: &Sender,
    to_self: bool,
) -> Result<(), Refusal> {
    if recipient_id != RecipientIdType::SubjectKeyIdentifier {
        return Ok(());
    }
    let mut without: Vec<&str> = recipients
        .iter()
        .filter(|r| r.certificate.as_ref().is_some_and(|c| !c.has_ski))
        .map(|r| r.mailbox.as_str())
        .collect();
    if to_self && sender.own_certificate.as_ref().is_some_and(|c| !c.has_ski) {
        without.push("the sender's own certificate");
    }
    if without.is_empty() {
        Ok(())
    } else {
        Err(Refusal::new(
            RefusalReason::NoRecipientCertificate,
            format!(
                "recipients are named by subject key identifier, and the certificate of {} has none (PKI-SKI-001)",
                without.join(", ")
            ),
        ))
    }
}

/// The envelope includes the sender when their own certificate is installed.
pub fn to_self(sender: &Sender) -> bool {
    sender.own_certificate.is_some()
}

/// Strongest first: the order a client that negotiates picks from.
pub const STRENGTH_ORDER: [ContentCipher; 11] = [
    ContentCipher::Aes256Gcm,
    ContentCipher::Aes256Cbc,
    ContentCipher::Aes192Gcm,
    ContentCipher::Aes192Cbc,
    ContentCipher::Aes128Gcm,
    ContentCipher::Aes128Cbc,
    ContentCipher::DesEde3Cbc,
    ContentCipher::Rc2Cbc128,
    ContentCipher::Rc2Cbc64,
    ContentCipher::DesCbc,
    ContentCipher::Rc2Cbc40,
];

/// The strongest cipher every certificate that states its capabilities accepts, among
/// `allowed`; `None` when they have none in common.
pub fn strongest_common(
    certificates: &[&CertificateFacts],
    allowed: impl Fn(ContentCipher) -> bool,
) -> Option<ContentCipher> {
    STRENGTH_ORDER
        .into_iter()
        .filter(|c| allowed(*c))
        .find(|c| certificates.iter().all(|facts| facts.accepts(*c)))
}

/// The certificates in the envelope: the recipients' and, when added, the sender's own.
pub fn envelope_certificates<'a>(
    recipients: &'a [RecipientFacts],
    sender: &'a Sender,
    to_self: bool,
) -> Vec<&'a CertificateFacts> {
    let mut all: Vec<&CertificateFacts> = recipients
        .iter()
        .filter_map(|r| r.certificate.as_ref())
        .collect();
    if to_self && let Some(own) = &sender.own_certificate {
        all.push(own);
    }
    all
}

/// The smimeCapabilities entry that advertises `cipher`, where the attribute has one.
pub fn cipher_capability(cipher: ContentCipher) -> Option<Capability> {
    Some(match cipher {
        ContentCipher::Aes256Cbc => Capability::Aes256Cbc,
        ContentCipher::Aes192Cbc => Capability::Aes192Cbc,
        ContentCipher::Aes128Cbc => Capability::Aes128Cbc,
        ContentCipher::Aes256Gcm => Capability::Aes256Gcm,
        ContentCipher::Aes128Gcm => Capability::Aes128Gcm,
        ContentCipher::DesEde3Cbc => Capability::TripleDesCbc,
        ContentCipher::Rc2Cbc128 => Capability::Rc2Cbc128,
        ContentCipher::Rc2Cbc64 => Capability::Rc2Cbc64,
        ContentCipher::Rc2Cbc40 => Capability::Rc2Cbc40,
        ContentCipher::DesCbc => Capability::DesCbc,
        ContentCipher::Aes192Gcm => return None,
    })
}

/// The smimeCapabilities entry that advertises `digest`; MD5 has none (no client advertises it).
pub fn digest_capability(digest: Digest) -> Option<Capability> {
    Some(match digest {
        Digest::Sha512 => Capability::Sha512,
        Digest::Sha384 => Capability::Sha384,
        Digest::Sha256 => Capability::Sha256,
        Digest::Sha1 => Capability::Sha1,
        Digest::Md5 => return None,
    })
}

/// The S/MIME Capabilities extension (1.2.840.113549.1.9.15, RFC 4262) of a certificate: the
/// content ciphers it lists that the engine knows, in order. `None` without the extension or
/// when it does not decode (a client then ignores it).
pub fn certificate_capabilities(certificate: &Certificate) -> Option<Vec<ContentCipher>> {
    const SMIME_CAPABILITIES: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.15");
    let extension = certificate
        .tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id == SMIME_CAPABILITIES)?;
    capabilities_from_der(extension.extn_value.as_bytes())
}

/// The content ciphers of a DER `SMIMECapabilities` sequence, in its order; entries the engine
/// has no cipher for (digests, unknown algorithms, RC2 of another size) are skipped.
pub fn capabilities_from_der(der: &[u8]) -> Option<Vec<ContentCipher>> {
    use der::Decode as _;
    let list = Vec::<SmimeCapability>::from_der(der).ok()?;
    Some(
        list.iter()
            .filter_map(|capability| {
                ContentCipher::ALL.into_iter().find(|cipher| {
                    cipher.oid() == capability.capability_id
                        && rc2_bits(*cipher) == capability_rc2_bits(capability)
                })
            })
            .collect(),
    )
}

fn rc2_bits(cipher: ContentCipher) -> Option<u32> {
    match cipher {
        ContentCipher::Rc2Cbc40 => Some(40),
        ContentCipher::Rc2Cbc64 => Some(64),
        ContentCipher::Rc2Cbc128 => Some(128),
        _ => None,
    }
}

/// RFC 8551 §2.7.1.2: an RC2 capability carries its key size in bits as an INTEGER.
fn capability_rc2_bits(capability: &SmimeCapability) -> Option<u32> {
    let parameters = capability.parameters.as_ref()?;
    let bits: der::asn1::Int = parameters.decode_as().ok()?;
    bits.as_bytes().iter().try_fold(0u32, |acc, b| {
        acc.checked_mul(256)?.checked_add(u32::from(*b))
    })
}

/// What the clients' unit tests build their inputs from.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use scenario::plan::ProtectionRequest;

    /// A sender whose signing key lives in `storage` and whose own certificate has an SKI.
    pub fn sender(storage: KeyStorage) -> Sender {
        Sender {
            signing: Some(storage),
            own_certificate: Some(CertificateFacts {
                has_ski: true,
                ..CertificateFacts::default()
            }),
        }
    }

    /// A recipient with a certificate fit to encrypt to.
    pub fn recipient(
        mailbox: &str,
        has_ski: bool,
        capabilities: Option<Vec<ContentCipher>>,
    ) -> RecipientFacts {
        RecipientFacts {
            mailbox: mailbox.into(),
            certificate: Some(CertificateFacts {
                has_ski,
                capabilities,
                problems: Vec::new(),
            }),
        }
    }

    /// A request to sign and/or encrypt, with every other choice the client's default.
    pub fn request(sign: bool, encrypt: bool) -> ProtectionRequest {
        ProtectionRequest::new(sign, encrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(has_ski: bool, capabilities: Option<Vec<ContentCipher>>) -> CertificateFacts {
        CertificateFacts {
            has_ski,
            capabilities,
            problems: Vec::new(),
        }
    }

    #[test]
    fn protection_names() {
        let sign = |form| SignShape {
            digest: Digest::Sha256,
            form,
            include: ChainInclusion::Chain,
            own_certificates: OwnCertificates::Signing,
            capabilities: Vec::new(),
        };
        let encrypt = EncryptShape {
            cipher: ContentCipher::Aes256Cbc,
            rsa_padding: RsaPadding::Pkcs1v15,
            recipient_id: RecipientIdType::IssuerAndSerialNumber,
            to_self: true,
        };
        let shape = |s: Option<SignShape>, e: Option<EncryptShape>, triple_wrap| MessageShape {
            sign: s,
            encrypt: e,
            triple_wrap,
            notes: Vec::new(),
        };
        assert_eq!(shape(None, None, false).protection(), "plain");
        assert_eq!(
            shape(Some(sign(SignedForm::ClearSigned)), None, false).protection(),
            "clear-signed"
        );
        assert_eq!(
            shape(Some(sign(SignedForm::OpaqueSigned)), None, false).protection(),
            "opaque-signed"
        );
        assert_eq!(
            shape(None, Some(encrypt.clone()), false).protection(),
            "encrypted"
        );
        assert_eq!(
            shape(
                Some(sign(SignedForm::ClearSigned)),
                Some(encrypt.clone()),
                false
            )
            .protection(),
            "signed+encrypted"
        );
        assert_eq!(
            shape(Some(sign(SignedForm::ClearSigned)), Some(encrypt), true).protection(),
            "triple-wrapped"
        );
    }

    #[test]
    fn refusals_name_what_is_missing() {
        let none = Sender {
            signing: None,
            own_certificate: None,
        };
        assert_eq!(
            signing_key(&none).map_err(|r| r.reason),
            Err(RefusalReason::NoSigningCertificate)
        );
        let recipients = vec![
            RecipientFacts {
                mailbox: "bob@contoso.com".into(),
                certificate: Some(facts(true, None)),
            },
            RecipientFacts {
                mailbox: "carol@contoso.com".into(),
                certificate: None,
            },
        ];
        let refusal = recipient_certificates(&recipients).expect_err("carol has none");
        assert_eq!(refusal.reason, RefusalReason::NoRecipientCertificate);
        assert!(refusal.why.contains("carol@contoso.com"));
        assert!(!refusal.why.contains("bob@contoso.com"));
        assert!(recipient_certificates(&recipients[..1]).is_ok());
        let expired = RecipientFacts {
            mailbox: "dave@contoso.com".into(),
            certificate: Some(CertificateFacts {
                problems: vec!["expired 2025-12-31T23:59:59Z".into()],
                ..facts(true, None)
            }),
        };
        let refusal = recipient_certificates(&[recipients[0].clone(), expired])
            .expect_err("dave's certificate is invalid");
        assert_eq!(refusal.reason, RefusalReason::NoRecipientCertificate);
        assert_eq!(
            refusal.why,
            "invalid certificate for dave@contoso.com (expired 2025-12-31T23:59:59Z)"
        );
    }

    #[test]
    fn certificates_unfit_for_encryption() {
        let pki = crate::execute::test_pki::default_pki();
        let certificate = |id: &str| {
            smime::certificate::parse_der(&pki.entity(id).expect(id).certificate).expect("parses")
        };
        let now = time::macros::datetime!(2026-06-01 0:00 UTC);
        for fit in ["alice", "carol", "bob-encrypt", "dave"] {
            assert_eq!(
                encryption_problems(&certificate(fit), now),
                Vec::<String>::new(),
                "{fit}"
            );
        }
        assert_eq!(
            encryption_problems(&certificate("bob-sign"), now),
            vec!["its keyUsage has no keyAgreement"]
        );
        let later = time::macros::datetime!(2030-01-01 0:00 UTC);
        let expired = encryption_problems(&certificate("alice"), later);
        assert_eq!(expired.len(), 1);
        assert!(expired[0].starts_with("expired 2026-"), "{expired:?}");
        let earlier = time::macros::datetime!(2020-01-01 0:00 UTC);
        assert!(
            encryption_problems(&certificate("alice"), earlier)[0].starts_with("not valid before")
        );

        // A certificate from a TLS client template: clientAuth only.
        let description = smime::pki::parse_description(
            "seed: t\nnow: 2026-01-01T00:00:00Z\ndomain: contoso.com\nroot: { subject: \"CN=Root\", key: ecdsa-p256 }\nusers:\n  carol: { key: ecdsa-p256, flaws: [no-email-protection-eku] }\n",
            "inline",
        )
        .expect("a description");
        let tls = smime::pki::build(&description).expect("issues");
        let carol = smime::certificate::parse_der(&tls.entity("carol").expect("carol").certificate)
            .expect("parses");
        assert_eq!(
            encryption_problems(&carol, now),
            vec!["its extendedKeyUsage has no emailProtection"]
        );
    }

    #[test]
    fn naming_by_ski_needs_an_ski_on_every_certificate() {
        let with = RecipientFacts {
            mailbox: "bob@contoso.com".into(),
            certificate: Some(facts(true, None)),
        };
        let without = RecipientFacts {
            mailbox: "carol@contoso.com".into(),
            certificate: Some(facts(false, None)),
        };
        let sender = Sender {
            signing: Some(KeyStorage::Software),
            own_certificate: Some(facts(true, None)),
        };
        let ski = RecipientIdType::SubjectKeyIdentifier;
        let ias = RecipientIdType::IssuerAndSerialNumber;
        assert!(addressable(ski, std::slice::from_ref(&with), &sender, true).is_ok());
        let refusal = addressable(ski, &[with.clone(), without.clone()], &sender, true)
            .expect_err("carol has no SKI");
        assert_eq!(refusal.reason, RefusalReason::NoRecipientCertificate);
        assert!(refusal.why.contains("carol@contoso.com") && refusal.why.contains("PKI-SKI-001"));
        assert!(addressable(ias, &[without], &sender, true).is_ok());
        let sender_without = Sender {
            own_certificate: Some(facts(false, None)),
            ..sender
        };
        assert!(addressable(ski, std::slice::from_ref(&with), &sender_without, true).is_err());
        assert!(addressable(ski, &[with], &sender_without, false).is_ok());
    }

    #[test]
    fn negotiation_picks_the_strongest_common_cipher() {
        let silent = facts(true, None);
        let old = facts(
            true,
            Some(vec![ContentCipher::DesEde3Cbc, ContentCipher::Rc2Cbc40]),
        );
        let modern = facts(
            true,
            Some(vec![ContentCipher::Aes128Cbc, ContentCipher::DesEde3Cbc]),
        );
        let any = |_| true;
        assert_eq!(
            strongest_common(&[&silent], any),
            Some(ContentCipher::Aes256Gcm)
        );
        assert_eq!(
            strongest_common(&[&silent, &modern], any),
            Some(ContentCipher::Aes128Cbc)
        );
        assert_eq!(
            strongest_common(&[&old, &modern], any),
            Some(ContentCipher::DesEde3Cbc)
        );
        assert_eq!(
            strongest_common(&[&old, &modern], |c: ContentCipher| !c.is_weak()),
            None
        );
    }

    #[test]
    fn the_lab_certificates_state_no_capabilities() {
        let pki = crate::execute::test_pki::default_pki();
        for id in ["alice", "carol", "bob-encrypt"] {
            let certificate = smime::certificate::parse_der(&pki.entity(id).expect(id).certificate)
                .expect("parses");
            assert_eq!(certificate_capabilities(&certificate), None, "{id}");
            let facts =
                CertificateFacts::of(&certificate, time::macros::datetime!(2026-01-01 0:00 UTC));
            assert!(
                facts.has_ski && facts.problems.is_empty(),
                "{id}: {facts:?}"
            );
        }
    }

    #[test]
    fn capabilities_read_back_in_order() {
        use der::Encode as _;
        let advertised = [
            Capability::Aes128Cbc,
            Capability::Sha256,
            Capability::Rc2Cbc64,
            Capability::TripleDesCbc,
            Capability::Rc2Cbc40,
        ];
        let list: Vec<SmimeCapability> = advertised
            .iter()
            .map(|c| c.to_smime_capability().expect("encodes"))
            .collect();
        let der = list.to_der().expect("DER");
        assert_eq!(
            capabilities_from_der(&der),
            Some(vec![
                ContentCipher::Aes128Cbc,
                ContentCipher::Rc2Cbc64,
                ContentCipher::DesEde3Cbc,
                ContentCipher::Rc2Cbc40
            ])
        );
        assert_eq!(capabilities_from_der(b"\x30\x03\x02\x01"), None);
    }

    #[test]
    fn every_cipher_but_aes192_gcm_can_be_advertised() {
        for cipher in ContentCipher::ALL {
            assert_eq!(
                cipher_capability(cipher).is_some(),
                cipher != ContentCipher::Aes192Gcm,
                "{cipher:?}"
            );
        }
        assert_eq!(digest_capability(Digest::Md5), None);
        assert_eq!(digest_capability(Digest::Sha256), Some(Capability::Sha256));
    }
}
