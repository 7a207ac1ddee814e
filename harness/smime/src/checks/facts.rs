//! The facts about one certificate that the checks need, decoded once: its extensions, its key,
//! its validity, and its bytes exactly as they were signed.

use const_oid::ObjectIdentifier;
use const_oid::db::{fips203, fips204, rfc5280, rfc5912, rfc8410};
use der::asn1::Any;
use der::referenced::OwnedToRef;
use der::{Decode, Encode, Sequence, Tag, Tagged};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::time::Time;

pub(crate) use crate::certificate::ID_ON_SMTP_UTF8_MAILBOX;

/// The public key of a certificate, as far as the checks care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa {
        bits: usize,
    },
    EcP256,
    EcP384,
    /// Permitted by the S/MIME BR but not verifiable here (P-521, Ed25519, Ed448, ML-DSA, ML-KEM).
    Other {
        name: String,
        role: KeyRole,
    },
    /// DSA, X25519/X448 (the BR's strict profiles refuse them), an unknown curve or algorithm, or
    /// a key that does not decode.
    NotPermitted {
        name: String,
        role: KeyRole,
    },
}

/// What a key algorithm can do at all, whatever the key usage bits say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyRole {
    /// Signs, and receives encrypted mail through the bit in `encrypt_bit`.
    Both,
    /// A signature-only algorithm (EdDSA, ML-DSA).
    SignOnly,
    /// A key-establishment-only algorithm (X25519, ML-KEM).
    EncryptOnly,
}

impl KeyKind {
    pub(crate) fn name(&self) -> String {
        match self {
            KeyKind::Rsa { bits } => format!("RSA-{bits}"),
            KeyKind::EcP256 => "ECDSA P-256".to_owned(),
            KeyKind::EcP384 => "ECDSA P-384".to_owned(),
            KeyKind::Other { name, .. } | KeyKind::NotPermitted { name, .. } => name.clone(),
        }
    }

    pub(crate) fn role(&self) -> KeyRole {
        match self {
            KeyKind::Rsa { .. } | KeyKind::EcP256 | KeyKind::EcP384 => KeyRole::Both,
            KeyKind::Other { role, .. } | KeyKind::NotPermitted { role, .. } => *role,
        }
    }

    /// The key usage bit that lets others encrypt to this key: key transport for RSA and
    /// KEMs, key agreement for elliptic-curve Diffie-Hellman.
    pub(crate) fn encrypt_bit(&self) -> &'static str {
        let name = self.name();
        if matches!(self, KeyKind::Rsa { .. }) || name.starts_with("ML-KEM") {
            "keyEncipherment"
        } else if matches!(self, KeyKind::EcP256 | KeyKind::EcP384)
            || name.starts_with("ECDSA")
            || name.starts_with('X')
        {
            "keyAgreement"
        } else {
            "keyEncipherment or keyAgreement"
        }
    }
}

/// Everything the checks read from one certificate. Extensions that fail to decode, or appear
/// twice, are left out of their field and described in `malformed`, so one bad extension does not
/// hide the rest of the report.
#[derive(Debug)]
pub(crate) struct Facts<'a> {
    pub cert: &'a Certificate,
    /// The DER of the certificate and of its TBSCertificate, as signed (see [`signed_der`]).
    pub der: Option<SignedDer>,
    pub ski: Option<Vec<u8>>,
    pub aki: Option<Vec<u8>>,
    pub basic_constraints: Option<BasicConstraints>,
    pub key_usage: Option<KeyUsage>,
    pub eku: Option<Vec<ObjectIdentifier>>,
    pub san: Option<Vec<GeneralName>>,
    pub crl_dp: Option<CrlDistributionPoints>,
    pub key: KeyKind,
    pub not_before: time::OffsetDateTime,
    pub not_after: time::OffsetDateTime,
    pub malformed: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct SignedDer {
    pub certificate: Vec<u8>,
    pub tbs: Vec<u8>,
}

impl<'a> Facts<'a> {
    pub(crate) fn new(cert: &'a Certificate) -> Self {
        let tbs = cert.tbs_certificate();
        let mut facts = Facts {
            cert,
            der: signed_der(cert).ok(),
            ski: None,
            aki: None,
            basic_constraints: None,
            key_usage: None,
            eku: None,
            san: None,
            crl_dp: None,
            key: key_kind(tbs.subject_public_key_info()),
            not_before: to_offset(tbs.validity().not_before),
            not_after: to_offset(tbs.validity().not_after),
            malformed: Vec::new(),
        };
        let mut seen: Vec<ObjectIdentifier> = Vec::new();
        for ext in tbs.extensions().map(|e| e.as_slice()).unwrap_or(&[]) {
            let oid = ext.extn_id;
            if seen.contains(&oid) {
                facts
                    .malformed
                    .push(format!("{} appears more than once", extension_name(oid)));
                continue;
            }
            seen.push(oid);
            let bytes = ext.extn_value.as_bytes();
            let result = match oid {
                rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER => SubjectKeyIdentifier::from_der(bytes)
                    .map(|v| facts.ski = Some(v.0.as_bytes().to_vec())),
                rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER => AuthorityKeyIdentifier::from_der(bytes)
                    .map(|v| facts.aki = v.key_identifier.map(|k| k.as_bytes().to_vec())),
                rfc5280::ID_CE_BASIC_CONSTRAINTS => {
                    BasicConstraints::from_der(bytes).map(|v| facts.basic_constraints = Some(v))
                }
                rfc5280::ID_CE_KEY_USAGE => {
                    KeyUsage::from_der(bytes).map(|v| facts.key_usage = Some(v))
                }
                rfc5280::ID_CE_EXT_KEY_USAGE => {
                    ExtendedKeyUsage::from_der(bytes).map(|v| facts.eku = Some(v.0))
                }
                rfc5280::ID_CE_SUBJECT_ALT_NAME => {
                    SubjectAltName::from_der(bytes).map(|v| facts.san = Some(v.0))
                }
                rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS => {
                    CrlDistributionPoints::from_der(bytes).map(|v| facts.crl_dp = Some(v))
                }
                _ => Ok(()),
            };
            if let Err(e) = result {
                facts
                    .malformed
                    .push(format!("{} cannot be decoded ({e})", extension_name(oid)));
            }
        }
        facts
    }

    /// True for a CA certificate: basicConstraints with cA set.
    pub(crate) fn is_ca(&self) -> bool {
        self.basic_constraints.as_ref().is_some_and(|b| b.ca)
    }

    /// True when subject and issuer are the same name (RFC 5280's "self-issued"); for the chain's
    /// purposes that is a root, since the lab does not build paths through key-rollover certificates.
    pub(crate) fn is_self_issued(&self) -> bool {
        let tbs = self.cert.tbs_certificate();
        tbs.subject() == tbs.issuer()
            && match (&self.ski, &self.aki) {
                (Some(ski), Some(aki)) => ski == aki,
                _ => true,
            }
    }

    /// Email addresses in the subject alternative name: rfc822Name, and SmtpUTF8Mailbox otherNames.
    pub(crate) fn emails(&self) -> Vec<String> {
        let mut out = Vec::new();
        for name in self.san.iter().flatten() {
            match name {
                GeneralName::Rfc822Name(s) => out.push(s.to_string()),
                GeneralName::OtherName(other) if other.type_id == ID_ON_SMTP_UTF8_MAILBOX => {
                    if let Ok(s) = other.value.decode_as::<String>() {
                        out.push(s);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The CRL URLs of the full-name distribution points.
    pub(crate) fn crl_urls(&self) -> Vec<String> {
        use x509_cert::ext::pkix::name::DistributionPointName;
        let mut out = Vec::new();
        for dp in self.crl_dp.iter().flat_map(|d| d.0.iter()) {
            if let Some(DistributionPointName::FullName(names)) = &dp.distribution_point {
                for name in names {
                    if let GeneralName::UniformResourceIdentifier(uri) = name {
                        out.push(uri.to_string());
                    }
                }
            }
        }
        out
    }

    /// The subject's common name, if it has one that decodes as a directory string.
    pub(crate) fn common_name(&self) -> Option<String> {
        let subject = self.cert.tbs_certificate().subject();
        subject.common_name().ok().flatten().map(String::from)
    }

    /// The legacy emailAddress attribute of the subject DN (RFC 8550 §3: receivers MAY read it).
    pub(crate) fn subject_email_attribute(&self) -> Option<String> {
        let subject = self.cert.tbs_certificate().subject();
        subject
            .email_address()
            .ok()
            .flatten()
            .map(|s| s.as_str().to_owned())
    }
}

/// A certificate's validity bound as a `time` value. `Time` holds at most year 9999, well inside
/// `OffsetDateTime`'s range, so the fallback is unreachable in practice.
fn to_offset(time: Time) -> time::OffsetDateTime {
    let secs = i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// A readable name for an extension in messages.
pub(crate) fn extension_name(oid: ObjectIdentifier) -> String {
    const_oid::db::DB
        .by_oid(&oid)
        .map(|n| format!("{n} ({oid})"))
        .unwrap_or_else(|| format!("extension {oid}"))
}

fn key_kind(spki: &spki::SubjectPublicKeyInfoOwned) -> KeyKind {
    let oid = spki.algorithm.oid;
    if oid == rfc5912::RSA_ENCRYPTION {
        // Read the modulus with the ASN.1 type rather than `rsa::RsaPublicKey`, which refuses keys
        // outside 1024..=8192 bits: a 512-bit key must be reported, not dropped as unreadable.
        return match pkcs1::RsaPublicKeyRef::from_der(spki.subject_public_key.raw_bytes()) {
            Ok(key) => {
                let n = key.modulus.as_bytes();
                let bits = n
                    .first()
                    .map(|&top| {
                        (n.len().saturating_mul(8)).saturating_sub(top.leading_zeros() as usize)
                    })
                    .unwrap_or(0);
                KeyKind::Rsa { bits }
            }
            Err(e) => KeyKind::NotPermitted {
                name: format!("RSA, not decodable ({e})"),
                role: KeyRole::Both,
            },
        };
    }
    if oid == rfc5912::ID_EC_PUBLIC_KEY {
        return match spki.algorithm.owned_to_ref().parameters_oid() {
            Ok(rfc5912::SECP_256_R_1) => KeyKind::EcP256,
            Ok(rfc5912::SECP_384_R_1) => KeyKind::EcP384,
            Ok(rfc5912::SECP_521_R_1) => KeyKind::Other {
                name: "ECDSA P-521".to_owned(),
                role: KeyRole::Both,
            },
            Ok(curve) => KeyKind::NotPermitted {
                name: format!("EC on curve {}", oid_name(curve)),
                role: KeyRole::Both,
            },
            Err(_) => KeyKind::NotPermitted {
                name: "EC without a named curve".to_owned(),
                role: KeyRole::Both,
            },
        };
    }
    let other = |name: &str, role| KeyKind::Other {
        name: name.to_owned(),
        role,
    };
    let refused = |name: &str, role| KeyKind::NotPermitted {
        name: name.to_owned(),
        role,
    };
    match oid {
        rfc8410::ID_ED_25519 => other("Ed25519", KeyRole::SignOnly),
        rfc8410::ID_ED_448 => other("Ed448", KeyRole::SignOnly),
        fips204::ID_ML_DSA_44 => other("ML-DSA-44", KeyRole::SignOnly),
        fips204::ID_ML_DSA_65 => other("ML-DSA-65", KeyRole::SignOnly),
        fips204::ID_ML_DSA_87 => other("ML-DSA-87", KeyRole::SignOnly),
        fips203::ID_ALG_ML_KEM_512 => other("ML-KEM-512", KeyRole::EncryptOnly),
        fips203::ID_ALG_ML_KEM_768 => other("ML-KEM-768", KeyRole::EncryptOnly),
        fips203::ID_ALG_ML_KEM_1024 => other("ML-KEM-1024", KeyRole::EncryptOnly),
        rfc8410::ID_X_25519 => refused("X25519", KeyRole::EncryptOnly),
        rfc8410::ID_X_448 => refused("X448", KeyRole::EncryptOnly),
        rfc5912::ID_DSA => refused("DSA", KeyRole::SignOnly),
        _ => refused(&oid_name(oid), KeyRole::Both),
    }
}

pub(crate) fn oid_name(oid: ObjectIdentifier) -> String {
    const_oid::db::DB
        .by_oid(&oid)
        .map(|n| format!("{n} ({oid})"))
        .unwrap_or_else(|| oid.to_string())
}

/// `notBefore`/`notAfter` encoded as they are held, without the profile's adjustment.
#[derive(Sequence)]
struct VerbatimValidity {
    not_before: Time,
    not_after: Time,
}

/// The DER of `cert` and of its TBSCertificate exactly as the issuer signed them.
///
/// `x509-cert`'s RFC 5280 profile rewrites a GeneralizedTime before 2050 as UTCTime when it
/// encodes, so `to_der()` of a decoded certificate is not always the signed bytes (certificates that
/// break that RFC 5280 rule exist in the wild, and the pkilint corpus has some). Every other field
/// round-trips exactly, because `der` only decodes canonical DER. So: encode, split the
/// TBSCertificate into its elements with `der`'s `Any`, put the validity back as it was held, and
/// re-assemble. This is a splice of typed elements, not DER written by hand.
pub(crate) fn signed_der(cert: &Certificate) -> Result<SignedDer, der::Error> {
    let tbs = cert.tbs_certificate();
    let mut elements: Vec<Any> = Vec::<Any>::from_der(&tbs.to_der()?)?;
    // The version is [0] EXPLICIT and absent for v1; the validity follows serial, signature, issuer.
    let has_version = elements.first().map(|e| e.tag())
        == Some(Tag::ContextSpecific {
            constructed: true,
            number: der::TagNumber(0),
        });
    let index = if has_version { 4 } else { 3 };
    let validity = tbs.validity();
    let verbatim = Any::from_der(
        &VerbatimValidity {
            not_before: validity.not_before,
            not_after: validity.not_after,
        }
        .to_der()?,
    )?;
    match elements.get_mut(index) {
        Some(slot) => *slot = verbatim,
        None => return Err(der::ErrorKind::Failed.into()),
    }
    let tbs_der = elements.to_der()?;
    let certificate = vec![
        Any::from_der(&tbs_der)?,
        Any::from_der(&cert.signature_algorithm().to_der()?)?,
        Any::from_der(&cert.signature().to_der()?)?,
    ]
    .to_der()?;
    Ok(SignedDer {
        certificate,
        tbs: tbs_der,
    })
}
