//! Signed attributes: the set Outlook and Thunderbird write (contentType, messageDigest,
//! signingTime, smimeCapabilities, the S/MIME and Microsoft encryption key preferences), built
//! with typed ASN.1, and their checks on the verifying side (RFC 5652 §5.3, §11).

use cms::cert::IssuerAndSerialNumber;
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::{Int, OctetString, SetOfVec};
use der::{Any, Choice, Decode, Encode, Sequence};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::time::Time;

use super::algorithms::{DigestAlgorithm, oid_name, oids};

/// `SMIMECapability ::= SEQUENCE { capabilityID OBJECT IDENTIFIER, parameters ANY OPTIONAL }`
/// (RFC 8551 §2.5.2).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct SmimeCapability {
    pub capability_id: ObjectIdentifier,
    pub parameters: Option<Any>,
}

/// `SMIMECapabilities ::= SEQUENCE OF SMIMECapability`: a SEQUENCE, so the order (the sender's
/// preference) survives DER.
pub type SmimeCapabilities = Vec<SmimeCapability>;

/// `SMIMEEncryptionKeyPreference` (RFC 8551 §2.5.3). Outlook and Thunderbird use the first
/// alternative; the second (RecipientKeyIdentifier) is left out because no client writes it.
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum EncryptionKeyPreference {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", constructed = "true")]
    IssuerAndSerialNumber(IssuerAndSerialNumber),
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    SubjectAltKeyIdentifier(SubjectKeyIdentifier),
}

/// What a signer advertises in smimeCapabilities, in the names scenario files use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Aes256Cbc,
    Aes192Cbc,
    Aes128Cbc,
    Aes256Gcm,
    Aes128Gcm,
    #[serde(rename = "3des-cbc")]
    TripleDesCbc,
    /// RC2 with a 128-bit key, the parameter Outlook writes.
    #[serde(rename = "rc2-128")]
    Rc2Cbc128,
    #[serde(rename = "rc2-64")]
    Rc2Cbc64,
    #[serde(rename = "rc2-40")]
    Rc2Cbc40,
    DesCbc,
    Sha512,
    Sha384,
    Sha256,
    Sha1,
}

impl Capability {
    /// Outlook's list, AES first: what a current client advertises.
    pub const DEFAULT: &'static [Capability] = &[
        Capability::Aes256Cbc,
        Capability::Aes192Cbc,
        Capability::Aes128Cbc,
        Capability::TripleDesCbc,
        Capability::Sha512,
        Capability::Sha384,
        Capability::Sha256,
    ];

    pub fn to_smime_capability(self) -> Result<SmimeCapability, der::Error> {
        let rc2 = |bits: u8| -> Result<SmimeCapability, der::Error> {
            // RFC 8551 §2.7.1.2 (RFC 2633): the RC2 capability carries the key size in bits.
            Ok(SmimeCapability {
                capability_id: rfc5911::RC_2_CBC,
                parameters: Some(Any::encode_from(&Int::new(&[bits])?)?),
            })
        };
        let plain = |oid| SmimeCapability {
            capability_id: oid,
            parameters: None,
        };
        Ok(match self {
            Capability::Aes256Cbc => plain(rfc5911::ID_AES_256_CBC),
            Capability::Aes192Cbc => plain(rfc5911::ID_AES_192_CBC),
            Capability::Aes128Cbc => plain(rfc5911::ID_AES_128_CBC),
            Capability::Aes256Gcm => plain(rfc5911::ID_AES_256_GCM),
            Capability::Aes128Gcm => plain(rfc5911::ID_AES_128_GCM),
            Capability::TripleDesCbc => plain(rfc5911::DES_EDE_3_CBC),
            Capability::Rc2Cbc128 => return rc2(128),
            Capability::Rc2Cbc64 => return rc2(64),
            Capability::Rc2Cbc40 => return rc2(40),
            Capability::DesCbc => plain(oids::DES_CBC),
            Capability::Sha512 => plain(rfc5912::ID_SHA_512),
            Capability::Sha384 => plain(rfc5912::ID_SHA_384),
            Capability::Sha256 => plain(rfc5912::ID_SHA_256),
            Capability::Sha1 => plain(rfc5912::ID_SHA_1),
        })
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, der::Error> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

/// `signingTime`: UTCTime through 2049, GeneralizedTime after (RFC 5652 §11.3).
pub(crate) fn signing_time(now: time::OffsetDateTime) -> Result<Time, der::Error> {
    let secs = u64::try_from(now.unix_timestamp()).map_err(|_| der::ErrorKind::DateTime)?;
    let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(der::asn1::UtcTime::from_date_time(dt)?))
    } else {
        Ok(Time::GeneralTime(
            der::asn1::GeneralizedTime::from_date_time(dt),
        ))
    }
}

pub(crate) fn issuer_and_serial(cert: &Certificate) -> IssuerAndSerialNumber {
    IssuerAndSerialNumber {
        issuer: cert.tbs_certificate().issuer().clone(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    }
}

/// What goes into the signed attributes besides the digest.
pub(crate) struct AttributeSpec<'a> {
    pub signing_time: Option<time::OffsetDateTime>,
    pub capabilities: &'a [Capability],
    /// The certificate whose IssuerAndSerialNumber goes into both key preference attributes.
    pub encryption_certificate: Option<&'a Certificate>,
    pub microsoft_key_preference: bool,
}

/// Builds the signed attributes. The result is a DER SET OF: sorted by encoding, which is the
/// order Outlook's and Thunderbird's attributes also appear in, since DER demands it.
pub(crate) fn build(
    content_type: ObjectIdentifier,
    message_digest: &[u8],
    spec: &AttributeSpec<'_>,
) -> Result<Attributes, der::Error> {
    let mut attrs = Vec::new();
    attrs.push(attribute(
        rfc5911::ID_CONTENT_TYPE,
        Any::encode_from(&content_type)?,
    )?);
    if let Some(now) = spec.signing_time {
        attrs.push(attribute(
            rfc5911::ID_SIGNING_TIME,
            Any::encode_from(&signing_time(now)?)?,
        )?);
    }
    attrs.push(attribute(
        rfc5911::ID_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(message_digest)?)?,
    )?);
    if !spec.capabilities.is_empty() {
        let caps: SmimeCapabilities = spec
            .capabilities
            .iter()
            .map(|c| c.to_smime_capability())
            .collect::<Result<_, _>>()?;
        attrs.push(attribute(
            rfc5911::SMIME_CAPABILITIES,
            Any::encode_from(&caps)?,
        )?);
    }
    if let Some(cert) = spec.encryption_certificate {
        let isn = issuer_and_serial(cert);
        attrs.push(attribute(
            rfc5911::ID_AA_ENCRYP_KEY_PREF,
            Any::encode_from(&EncryptionKeyPreference::IssuerAndSerialNumber(isn.clone()))?,
        )?);
        if spec.microsoft_key_preference {
            attrs.push(attribute(
                oids::MS_ENCRYPTION_KEY_PREFERENCE,
                Any::encode_from(&isn)?,
            )?);
        }
    }
    SetOfVec::try_from(attrs)
}

/// The signed attributes as a verifier sees them.
#[derive(Debug, Default)]
pub(crate) struct Inspected {
    pub content_type: Option<ObjectIdentifier>,
    pub message_digest: Option<Vec<u8>>,
    pub signing_time: Option<Time>,
    pub names: Vec<String>,
    pub capabilities: Vec<String>,
    /// Violations of RFC 5652 §5.3 / §11 (missing, repeated or multi-valued attributes).
    pub problems: Vec<String>,
}

/// Reads the attributes a verifier needs and notes structural problems.
pub(crate) fn inspect(attrs: &Attributes) -> Inspected {
    let mut out = Inspected::default();
    let mut seen: Vec<ObjectIdentifier> = Vec::new();
    for attr in attrs.iter() {
        out.names.push(attribute_name(&attr.oid));
        if seen.contains(&attr.oid) {
            out.problems.push(format!(
                "signed attribute {} appears twice (RFC 5652 §5.3: each type at most once)",
                oid_name(&attr.oid)
            ));
        }
        seen.push(attr.oid);
        let single = || -> Option<&Any> {
            let mut values = attr.values.iter();
            let first = values.next();
            if values.next().is_some() { None } else { first }
        };
        if attr.oid == rfc5911::ID_CONTENT_TYPE {
            match single().and_then(|v| v.decode_as::<ObjectIdentifier>().ok()) {
                Some(oid) => out.content_type = Some(oid),
                None => out
                    .problems
                    .push("contentType attribute is not exactly one OBJECT IDENTIFIER".into()),
            }
        } else if attr.oid == rfc5911::ID_MESSAGE_DIGEST {
            match single().and_then(|v| v.decode_as::<OctetString>().ok()) {
                Some(d) => out.message_digest = Some(d.as_bytes().to_vec()),
                None => out
                    .problems
                    .push("messageDigest attribute is not exactly one OCTET STRING".into()),
            }
        } else if attr.oid == rfc5911::ID_SIGNING_TIME {
            match single()
                .and_then(|v| v.to_der().ok())
                .and_then(|d| Time::from_der(&d).ok())
            {
                Some(t) => out.signing_time = Some(t),
                None => out.problems.push(
                    "signingTime attribute is not exactly one UTCTime/GeneralizedTime".into(),
                ),
            }
        } else if attr.oid == rfc5911::SMIME_CAPABILITIES
            && let Some(caps) = single().and_then(|v| v.decode_as::<SmimeCapabilities>().ok())
        {
            out.capabilities = caps.iter().map(describe_capability).collect();
        }
    }
    out
}

/// The names RFC 5652/8551 use for the attributes S/MIME clients write; others by the OID
/// database.
pub fn attribute_name(oid: &ObjectIdentifier) -> String {
    let known = [
        (rfc5911::ID_CONTENT_TYPE, "contentType"),
        (rfc5911::ID_MESSAGE_DIGEST, "messageDigest"),
        (rfc5911::ID_SIGNING_TIME, "signingTime"),
        (rfc5911::SMIME_CAPABILITIES, "smimeCapabilities"),
        (
            rfc5911::ID_AA_ENCRYP_KEY_PREF,
            "smimeEncryptionKeyPreference",
        ),
        (
            oids::MS_ENCRYPTION_KEY_PREFERENCE,
            "microsoftEncryptionKeyPreference",
        ),
    ];
    known
        .iter()
        .find(|(o, _)| o == oid)
        .map(|(_, n)| (*n).to_owned())
        .unwrap_or_else(|| oid_name(oid))
}

pub(crate) fn describe_capability(c: &SmimeCapability) -> String {
    let name = oid_name(&c.capability_id);
    if c.capability_id == rfc5911::RC_2_CBC
        && let Some(bits) = c
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<Int>().ok())
    {
        let value = bits.as_bytes().iter().fold(0u64, |acc, b| {
            acc.saturating_mul(256).saturating_add(u64::from(*b))
        });
        return format!("{name} ({value} bits)");
    }
    if let Some(d) = DigestAlgorithm::from_oid(&c.capability_id) {
        return d.name().to_owned();
    }
    name
}

/// Which of `certificates` a PKCS#7 SignedData (`userSMIMECertificate` as RFC 2798 describes it:
/// "A PKCS#7 [RFC2315] SignedData, where the content that is signed is ignored by consumers")
/// names as its signer's preferred encryption certificate: "The SMIMEEncryptionKeyPreference
/// attribute allows the signer to unambiguously describe which of the signer's certificates has
/// the signer's preferred encryption key." (RFC 8551 §2.5.3), or Microsoft's attribute beside it.
/// The index of the first certificate a signer's attribute names; `None` when the bytes are not
/// a SignedData, carry no such attribute, or name a certificate not among `certificates`.
pub fn preferred_encryption_certificate(
    signed_data: &[u8],
    certificates: &[Certificate],
) -> Option<usize> {
    let content_info = cms::content_info::ContentInfo::from_der(signed_data).ok()?;
    if content_info.content_type != rfc5911::ID_SIGNED_DATA {
        return None;
    }
    let signed: cms::signed_data::SignedData = content_info.content.decode_as().ok()?;
    let matches_isn = |isn: &IssuerAndSerialNumber| {
        certificates
            .iter()
            .position(|c| issuer_and_serial(c) == *isn)
    };
    let matches_ski = |id: &SubjectKeyIdentifier| {
        certificates.iter().position(|c| {
            c.tbs_certificate()
                .get_extension::<SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .is_some_and(|(_, own)| own == *id)
        })
    };
    for signer in signed.signer_infos.0.iter() {
        let Some(attrs) = &signer.signed_attrs else {
            continue;
        };
        // The standard attribute first, Microsoft's if the standard one names nothing here.
        for attr in attrs
            .iter()
            .filter(|a| a.oid == rfc5911::ID_AA_ENCRYP_KEY_PREF)
        {
            for value in attr.values.iter() {
                let found = value
                    .to_der()
                    .and_then(|d| EncryptionKeyPreference::from_der(&d))
                    .ok()
                    .and_then(|p| match &p {
                        EncryptionKeyPreference::IssuerAndSerialNumber(isn) => matches_isn(isn),
                        EncryptionKeyPreference::SubjectAltKeyIdentifier(id) => matches_ski(id),
                    });
                if found.is_some() {
                    return found;
                }
            }
        }
        for attr in attrs
            .iter()
            .filter(|a| a.oid == oids::MS_ENCRYPTION_KEY_PREFERENCE)
        {
            for value in attr.values.iter() {
                if let Some(found) = value
                    .decode_as::<IssuerAndSerialNumber>()
                    .ok()
                    .and_then(|isn| matches_isn(&isn))
                {
                    return Some(found);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_keep_their_order_and_attributes_sort() {
        let cert = crate::certificate::parse_certificates(&test_support::vector(
            "rfc9216/alice.encrypt.crt",
        ))
        .unwrap()
        .remove(0);
        let when = time::macros::datetime!(2026-11-23 10:00 UTC);
        let spec = AttributeSpec {
            signing_time: Some(when),
            capabilities: Capability::DEFAULT,
            encryption_certificate: Some(&cert),
            microsoft_key_preference: true,
        };
        let attrs = build(rfc5911::ID_DATA, &[7u8; 32], &spec).unwrap();
        let der = attrs.to_der().unwrap();
        // Built twice, byte-identical.
        assert_eq!(
            der,
            build(rfc5911::ID_DATA, &[7u8; 32], &spec)
                .unwrap()
                .to_der()
                .unwrap()
        );
        let inspected = inspect(&attrs);
        assert!(inspected.problems.is_empty(), "{:?}", inspected.problems);
        assert_eq!(inspected.content_type, Some(rfc5911::ID_DATA));
        assert_eq!(inspected.message_digest.as_deref(), Some(&[7u8; 32][..]));
        assert_eq!(
            inspected.signing_time.unwrap().to_unix_duration().as_secs(),
            u64::try_from(when.unix_timestamp()).unwrap()
        );
        assert_eq!(inspected.capabilities[0], "id-aes256-CBC");
        assert_eq!(inspected.capabilities[3], "des-ede3-cbc");
        assert_eq!(inspected.names.len(), 6);
        // Sorted as DER SET OF demands: each encoding <= the next.
        let encodings: Vec<Vec<u8>> = attrs.iter().map(|a| a.to_der().unwrap()).collect();
        assert!(encodings.windows(2).all(|w| w[0] <= w[1]));
    }

    /// A `userSMIMECertificate` value as Outlook publishes it: a SignedData without content whose
    /// key preference names the encryption certificate, which is found among the certificates
    /// it carries whatever their order.
    #[test]
    fn the_preferred_encryption_certificate_is_read_from_a_signed_data() {
        let cert = |name: &str| {
            crate::certificate::parse_certificates(&test_support::vector(name))
                .unwrap()
                .remove(0)
        };
        let sign = cert("rfc9216/alice.sign.crt");
        let encrypt = cert("rfc9216/alice.encrypt.crt");
        let key = crate::key::PrivateKey::from_pem_or_der(&test_support::vector(
            "rfc9216/alice.sign.key",
        ))
        .unwrap();
        let signer = crate::cms::sign::Signer {
            certificate: sign.clone(),
            key,
            chain: vec![encrypt.clone()],
            encryption_certificate: Some(encrypt.clone()),
        };
        let options =
            crate::cms::sign::SignOptions::new(time::macros::datetime!(2026-01-01 0:00 UTC));
        let mut rng = crate::rng::seeded("preferred-encryption-certificate");
        let blob = crate::cms::sign::sign_content(b"", true, &signer, &options, &mut rng).unwrap();
        let both = [sign.clone(), encrypt.clone()];
        assert_eq!(preferred_encryption_certificate(&blob, &both), Some(1));
        let reversed = [encrypt.clone(), sign.clone()];
        assert_eq!(preferred_encryption_certificate(&blob, &reversed), Some(0));
        // Not among the certificates, no attribute, not a SignedData: nothing.
        assert_eq!(
            preferred_encryption_certificate(&blob, std::slice::from_ref(&sign)),
            None
        );
        let none = crate::cms::sign::SignOptions {
            encryption_key_preference: false,
            microsoft_key_preference: false,
            ..options
        };
        let bare = crate::cms::sign::sign_content(b"", true, &signer, &none, &mut rng).unwrap();
        assert_eq!(preferred_encryption_certificate(&bare, &both), None);
        assert_eq!(preferred_encryption_certificate(b"\x30\x00", &both), None);
        assert_eq!(
            preferred_encryption_certificate(&der::Encode::to_der(&sign).unwrap(), &both),
            None
        );
    }

    #[test]
    fn signing_time_switches_to_generalized_time_in_2050() {
        assert!(matches!(
            signing_time(time::macros::datetime!(2049-12-31 23:59:59 UTC)).unwrap(),
            Time::UtcTime(_)
        ));
        assert!(matches!(
            signing_time(time::macros::datetime!(2050-01-01 00:00 UTC)).unwrap(),
            Time::GeneralTime(_)
        ));
    }
}
