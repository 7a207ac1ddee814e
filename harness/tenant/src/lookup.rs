//! Which certificate a sender's Outlook finds for a recipient, in Outlook's order:
//! `userSMIMECertificate` first (MS-OXLDAP 2.2.5.2: "If available, this attribute SHOULD be
//! preferred over the userCertificate attribute for S/MIME (Secure/Multipurpose Internet Mail
//! Extensions) applications."; as published: Outlook takes it without checking it; in a PKCS#7
//! value, the certificate its encryption key preference attribute names), then the
//! first `userCertificate` value that is valid now, has the extended key usage emailProtection
//! and the key usage the purpose needs (keyEncipherment for an RSA key, keyAgreement for an EC
//! key, to encrypt; digitalSignature to sign). The answer names the attribute and value index
//! chosen and why every other value was passed over.

use serde::Serialize;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage};

use crate::cmdlets::recipients::Recipient;

/// What the certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Encrypt,
    Sign,
}

impl Purpose {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "encrypt" | "encryption" => Some(Self::Encrypt),
            "sign" | "signing" => Some(Self::Sign),
            _ => None,
        }
    }
}

/// One value looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// `userSMIMECertificate` or `userCertificate`.
    pub attribute: &'static str,
    /// Index of the value in the attribute.
    pub index: usize,
    /// For a PKCS#7 `userSMIMECertificate` value: index of the certificate inside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    pub chosen: bool,
    /// Why it was passed over, or notes on the chosen one.
    pub reasons: Vec<String>,
}

/// The chosen certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Chosen {
    pub attribute: &'static str,
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_index: Option<usize>,
    pub thumbprint: String,
    pub subject: String,
    pub not_after: String,
    /// Base64 DER.
    pub certificate: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LookupResult {
    pub recipient: String,
    pub purpose: Purpose,
    pub now: String,
    pub found: bool,
    pub chosen: Option<Chosen>,
    pub candidates: Vec<Candidate>,
}

/// Looks up the certificate Outlook would use.
pub fn lookup(recipient: &Recipient, purpose: Purpose, now: OffsetDateTime) -> LookupResult {
    use base64::Engine as _;
    let mut candidates = Vec::new();
    let mut chosen: Option<Chosen> = None;

    // Which userSMIMECertificate value is taken: the first holding a certificate fit for the
    // purpose, else the first readable one. A directory attribute's values have no order (LDAP
    // and AD return them as stored, which depends on how they were written), so taking "the
    // first value" blindly would make a user with separate signing and encryption certificates
    // encryptable or not by chance; Outlook reads the attribute as one set of certificates.
    let readable: Vec<(usize, smime::sst::collection::Collection)> = recipient
        .user_smime_certificate
        .iter()
        .enumerate()
        .filter_map(|(index, value)| {
            smime::sst::read_certificate_collection(value)
                .ok()
                .filter(|c| !c.certificates.is_empty())
                .map(|c| (index, c))
        })
        .collect();
    let taken_index = readable
        .iter()
        .find(|(_, c)| {
            c.certificates
                .iter()
                .any(|cert| problems(&cert.certificate, purpose, now).is_empty())
        })
        .or(readable.first())
        .map(|(index, _)| *index);

    for (index, value) in recipient.user_smime_certificate.iter().enumerate() {
        if chosen.is_some() {
            candidates.push(passed_over(
                "userSMIMECertificate",
                index,
                "not considered: an earlier userSMIMECertificate value was taken",
            ));
            continue;
        }
        let collection = match smime::sst::read_certificate_collection(value) {
            Ok(c) if !c.certificates.is_empty() => c,
            Ok(_) => {
                candidates.push(passed_over(
                    "userSMIMECertificate",
                    index,
                    "holds no certificate",
                ));
                continue;
            }
            Err(e) => {
                candidates.push(passed_over(
                    "userSMIMECertificate",
                    index,
                    &format!("not a certificate or PKCS#7 Outlook can read: {e}"),
                ));
                continue;
            }
        };
        if Some(index) != taken_index {
            let why = collection
                .certificates
                .first()
                .map(|c| problems(&c.certificate, purpose, now).join("; "))
                .unwrap_or_default();
            candidates.push(passed_over(
                "userSMIMECertificate",
                index,
                &format!("not fit for the purpose ({why}); a later value is"),
            ));
            continue;
        }
        // A PKCS#7 blob (as Outlook publishes it) carries the signing and the encryption
        // certificate, and names the one to encrypt to in its signer's encryption key preference
        // attribute (RFC 8551 §2.5.3: it "allows the signer to unambiguously describe which of
        // the signer's certificates has the signer's preferred encryption key"). To encrypt,
        // take the certificate it names when that one is fit; else the first one fit for the
        // purpose, else the first.
        let certificates: Vec<Certificate> = collection
            .certificates
            .iter()
            .map(|c| c.certificate.clone())
            .collect();
        let preferred = (purpose == Purpose::Encrypt)
            .then(|| smime::cms::attributes::preferred_encryption_certificate(value, &certificates))
            .flatten()
            .filter(|i| {
                certificates
                    .get(*i)
                    .is_some_and(|c| problems(c, purpose, now).is_empty())
            });
        let pick = preferred
            .or_else(|| {
                collection
                    .certificates
                    .iter()
                    .position(|c| problems(&c.certificate, purpose, now).is_empty())
            })
            .unwrap_or(0);
        let Some(picked) = collection.certificates.get(pick) else {
            continue;
        };
        let mut notes = vec![
            "taken first: Outlook prefers userSMIMECertificate and uses it as published".to_owned(),
        ];
        if preferred.is_some() {
            notes.push(
                "the certificate the value's encryption key preference attribute names".to_owned(),
            );
        }
        notes.extend(
            problems(&picked.certificate, purpose, now)
                .into_iter()
                .map(|p| format!("note: {p}")),
        );
        let certificate_index = (collection.certificates.len() > 1).then_some(pick);
        let facts = Facts::of(&picked.der, &picked.certificate);
        candidates.push(Candidate {
            attribute: "userSMIMECertificate",
            index,
            certificate_index,
            thumbprint: Some(facts.thumbprint.clone()),
            subject: Some(facts.subject.clone()),
            not_after: Some(facts.not_after.clone()),
            chosen: true,
            reasons: notes,
        });
        chosen = Some(Chosen {
            attribute: "userSMIMECertificate",
            index,
            certificate_index,
            thumbprint: facts.thumbprint,
            subject: facts.subject,
            not_after: facts.not_after,
            certificate: base64::engine::general_purpose::STANDARD.encode(&picked.der),
        });
    }

    for (index, der) in recipient.user_certificate.iter().enumerate() {
        if let Some(taken) = &chosen {
            let why = if taken.attribute == "userSMIMECertificate" {
                "not considered: userSMIMECertificate is published and Outlook uses it first"
            } else {
                "not considered: an earlier userCertificate value was chosen"
            };
            candidates.push(passed_over("userCertificate", index, why));
            continue;
        }
        let certificate = match smime::certificate::parse_der(der) {
            Ok(c) => c,
            Err(e) => {
                candidates.push(passed_over(
                    "userCertificate",
                    index,
                    &format!("not a DER certificate: {e}"),
                ));
                continue;
            }
        };
        let facts = Facts::of(der, &certificate);
        let reasons = problems(&certificate, purpose, now);
        let ok = reasons.is_empty();
        candidates.push(Candidate {
            attribute: "userCertificate",
            index,
            certificate_index: None,
            thumbprint: Some(facts.thumbprint.clone()),
            subject: Some(facts.subject.clone()),
            not_after: Some(facts.not_after.clone()),
            chosen: ok,
            reasons,
        });
        if ok {
            chosen = Some(Chosen {
                attribute: "userCertificate",
                index,
                certificate_index: None,
                thumbprint: facts.thumbprint,
                subject: facts.subject,
                not_after: facts.not_after,
                certificate: base64::engine::general_purpose::STANDARD.encode(der),
            });
        }
    }

    LookupResult {
        recipient: recipient.primary_smtp_address.clone(),
        purpose,
        now: smime::certificate::rfc3339(now),
        found: chosen.is_some(),
        chosen,
        candidates,
    }
}

struct Facts {
    thumbprint: String,
    subject: String,
    not_after: String,
}

impl Facts {
    fn of(der: &[u8], certificate: &Certificate) -> Self {
        Self {
            thumbprint: smime::certificate::sha1_thumbprint(der),
            subject: smime::certificate::subject_string(certificate),
            not_after: smime::certificate::rfc3339(smime::certificate::not_after(certificate)),
        }
    }
}

fn passed_over(attribute: &'static str, index: usize, reason: &str) -> Candidate {
    Candidate {
        attribute,
        index,
        certificate_index: None,
        thumbprint: None,
        subject: None,
        not_after: None,
        chosen: false,
        reasons: vec![reason.to_owned()],
    }
}

/// Everything that makes a certificate unfit for `purpose` at `now`; empty when it is fit.
pub fn problems(certificate: &Certificate, purpose: Purpose, now: OffsetDateTime) -> Vec<String> {
    use const_oid::db::{rfc5280, rfc5912, rfc8410};
    let mut problems = Vec::new();
    let rfc3339 = smime::certificate::rfc3339;
    let not_before = smime::certificate::not_before(certificate);
    let not_after = smime::certificate::not_after(certificate);
    if now < not_before {
        problems.push(format!("not valid yet (NotBefore {})", rfc3339(not_before)));
    }
    if now > not_after {
        problems.push(format!("expired (NotAfter {})", rfc3339(not_after)));
    }

    let tbs = certificate.tbs_certificate();
    // RFC 5280 4.2.1.12: without the extension the certificate is good for any purpose, which
    // is also how CryptoAPI reads it.
    match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) => {
            let ok = eku.0.iter().any(|oid| {
                *oid == rfc5280::ID_KP_EMAIL_PROTECTION || *oid == rfc5280::ANY_EXTENDED_KEY_USAGE
            });
            if !ok {
                problems.push("extended key usage lacks emailProtection".into());
            }
        }
        Ok(None) => {}
        Err(e) => problems.push(format!("extended key usage extension does not decode: {e}")),
    }

    let algorithm = tbs.subject_public_key_info().algorithm.oid;
    let is_ec = algorithm == rfc5912::ID_EC_PUBLIC_KEY
        || algorithm == rfc8410::ID_X_25519
        || algorithm == rfc8410::ID_X_448;
    let is_signature_only = algorithm == rfc8410::ID_ED_25519 || algorithm == rfc8410::ID_ED_448;
    if purpose == Purpose::Encrypt && is_signature_only {
        problems.push("an EdDSA key cannot encrypt".into());
    }
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, usage))) => match purpose {
            Purpose::Sign if !usage.digital_signature() => {
                problems.push("key usage lacks digitalSignature".into());
            }
            Purpose::Encrypt if is_ec && !usage.key_agreement() => {
                problems
                    .push("key usage lacks keyAgreement (needed to encrypt to an EC key)".into());
            }
            Purpose::Encrypt
                if algorithm == rfc5912::RSA_ENCRYPTION && !usage.key_encipherment() =>
            {
                problems.push("key usage lacks keyEncipherment".into());
            }
            Purpose::Encrypt
                if !is_ec
                    && algorithm != rfc5912::RSA_ENCRYPTION
                    && !usage.key_encipherment()
                    && !usage.key_agreement() =>
            {
                problems.push("key usage allows neither keyEncipherment nor keyAgreement".into());
            }
            _ => {}
        },
        Ok(None) => {}
        Err(e) => problems.push(format!("key usage extension does not decode: {e}")),
    }
    problems
}
