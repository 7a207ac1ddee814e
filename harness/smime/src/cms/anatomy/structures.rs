//! The CMS structures of a layer, as the model shows them: SignedData's certificates, CRLs,
//! signers and attributes; EnvelopedData's and AuthEnvelopedData's recipients and content
//! encryption. Typed ASN.1 from the `cms` crate, names from [`super::super::algorithms`]'s and
//! [`super::super::attributes`]'s tables; the recursion into what a layer contains is
//! [`super`]'s.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{
    EncryptedContentInfo, KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo,
    OriginatorIdentifierOrKey, OriginatorInfo, RecipientIdentifier, RecipientInfo, RecipientInfos,
};
use cms::signed_data::{SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::OctetString;
use der::{Any, Decode, Encode, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::time::Time;

use super::model::*;
use super::redacted;
use crate::cms::algorithms::{DigestAlgorithm, classify_signature, named_curve, oid_name, oids};
use crate::cms::attributes::{
    EncryptionKeyPreference, SmimeCapabilities, attribute_name, describe_capability,
};
use crate::cms::envelope::{content_cipher, key_transport};
use crate::cms::verdict::format_time;

pub(super) fn version(v: CmsVersion) -> u8 {
    v as u8
}

pub(super) fn issuer_and_serial(ias: &IssuerAndSerialNumber) -> Identifier {
    Identifier::IssuerAndSerial {
        issuer: ias.issuer.to_string(),
        serial: hex::encode(ias.serial_number.as_bytes()),
    }
}

pub(super) fn ski(ski: &SubjectKeyIdentifier) -> Identifier {
    Identifier::SubjectKeyIdentifier(hex::encode(ski.0.as_bytes()))
}

pub(super) fn digest_name(alg: &AlgorithmIdentifierOwned) -> String {
    DigestAlgorithm::from_oid(&alg.oid)
        .map(|d| d.name().to_owned())
        .unwrap_or_else(|| oid_name(&alg.oid))
}

pub(super) fn carried_certificate(choice: &Any) -> CarriedCertificate {
    let failed = |why: String| CarriedCertificate {
        subject: None,
        issuer: None,
        serial: None,
        thumbprint: None,
        key: None,
        error: Some(why),
    };
    let der = match choice.to_der() {
        Ok(d) => d,
        Err(e) => return failed(e.to_string()),
    };
    match Certificate::from_der(&der).or_else(|_| Certificate::from_ber(&der)) {
        Ok(cert) => {
            let s = crate::certificate::CertificateSummary::of_der(&cert, &der);
            CarriedCertificate {
                subject: Some(s.subject),
                issuer: Some(s.issuer),
                serial: Some(s.serial),
                thumbprint: Some(s.thumbprint),
                key: Some(s.key),
                error: None,
            }
        }
        Err(e) => failed(format!(
            "a certificate that does not decode ({e}), {}",
            redacted(&der)
        )),
    }
}

pub(super) fn describe_crl(choice: &Any) -> String {
    if choice.tag() != Tag::Sequence {
        return format!(
            "other revocation info {} ({})",
            choice.tag(),
            redacted(choice.value())
        );
    }
    let der = choice.to_der().unwrap_or_default();
    match CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&der) {
        Ok(crl) => format!(
            "issuer {}, thisUpdate {}",
            crl.tbs_cert_list.issuer,
            format_time(&crl.tbs_cert_list.this_update)
        ),
        // x509-cert reads only v2 CRLs; RFC 4134's examples carry v1 ones.
        Err(_) => format!("a CRL x509-cert cannot read ({})", redacted(&der)),
    }
}

pub(super) fn signer(si: &SignerInfo) -> Signer {
    let digest = DigestAlgorithm::from_oid(&si.digest_alg.oid);
    Signer {
        version: version(si.version),
        sid: match &si.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => issuer_and_serial(ias),
            SignerIdentifier::SubjectKeyIdentifier(id) => ski(id),
        },
        digest_algorithm: digest_name(&si.digest_alg),
        signed_attributes: attributes(si.signed_attrs.as_ref()),
        signature_algorithm: oid_name(&si.signature_algorithm.oid),
        signature_scheme: digest
            .and_then(|d| classify_signature(&si.signature_algorithm, d).ok())
            .map(|scheme| scheme.describe()),
        signature: redacted(si.signature.as_bytes()),
        unsigned_attributes: attributes(si.unsigned_attrs.as_ref()),
    }
}

pub(super) fn attributes(attrs: Option<&Attributes>) -> Vec<AttributeAnatomy> {
    attrs
        .map(|set| set.iter().map(attribute).collect())
        .unwrap_or_default()
}

pub(super) fn attribute_names(attrs: Option<&Attributes>) -> Vec<String> {
    attrs
        .map(|set| set.iter().map(|a| attribute_name(&a.oid)).collect())
        .unwrap_or_default()
}

/// An attribute's value, decoded where it means something to a reader; anything else (an
/// attribute this code does not know, a value that does not decode) is redacted.
pub(super) fn attribute(attr: &Attribute) -> AttributeAnatomy {
    let name = attribute_name(&attr.oid);
    let mut values = attr.values.iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return AttributeAnatomy {
            name,
            value: AttributeValue::Text(format!(
                "{} values (RFC 5652 §5.3: exactly one)",
                attr.values.len()
            )),
        };
    };
    let text = AttributeValue::Text;
    let undecodable = |e: der::Error| text(format!("does not decode: {e}"));
    let oid = attr.oid;
    let decoded = if oid == rfc5911::ID_CONTENT_TYPE {
        value
            .decode_as::<ObjectIdentifier>()
            .map(|o| text(oid_name(&o)))
    } else if oid == rfc5911::ID_SIGNING_TIME {
        value
            .to_der()
            .and_then(|d| Time::from_der(&d))
            .map(|t| text(format_time(&t)))
    } else if oid == rfc5911::ID_MESSAGE_DIGEST {
        value
            .decode_as::<OctetString>()
            .map(|d| text(redacted(d.as_bytes())))
    } else if oid == rfc5911::SMIME_CAPABILITIES {
        value
            .decode_as::<SmimeCapabilities>()
            .map(|caps| AttributeValue::List(caps.iter().map(describe_capability).collect()))
    } else if oid == rfc5911::ID_AA_ENCRYP_KEY_PREF {
        value
            .to_der()
            .and_then(|d| EncryptionKeyPreference::from_der(&d))
            .map(|p| {
                AttributeValue::Identifier(match &p {
                    EncryptionKeyPreference::IssuerAndSerialNumber(ias) => issuer_and_serial(ias),
                    EncryptionKeyPreference::SubjectAltKeyIdentifier(id) => ski(id),
                })
            })
    } else if oid == oids::MS_ENCRYPTION_KEY_PREFERENCE {
        value
            .decode_as::<IssuerAndSerialNumber>()
            .map(|ias| AttributeValue::Identifier(issuer_and_serial(&ias)))
    } else {
        Ok(text(format!(
            "{}, {}",
            value.tag(),
            redacted(value.value())
        )))
    };
    AttributeAnatomy {
        name,
        value: decoded.unwrap_or_else(undecodable),
    }
}

pub(super) fn envelope_anatomy(
    version_: CmsVersion,
    originator_info: Option<&OriginatorInfo>,
    recipient_infos: &RecipientInfos,
    eci: &EncryptedContentInfo,
    unprotected: Option<&Attributes>,
) -> EnvelopeAnatomy {
    EnvelopeAnatomy {
        version: version(version_),
        originator_info: originator_info.map(|o| {
            format!(
                "{} certificates, {} CRLs",
                o.certs.as_ref().map_or(0, |c| c.0.len()),
                o.crls.as_ref().map_or(0, |c| c.0.len())
            )
        }),
        recipient_infos: recipient_infos.0.iter().map(recipient).collect(),
        content_encryption: content_encryption(eci),
        authenticated_attributes: Vec::new(),
        mac: None,
        unprotected_attributes: attribute_names(unprotected),
        decrypted: None,
        not_decrypted: None,
    }
}

pub(super) fn recipient(ri: &RecipientInfo) -> RecipientAnatomy {
    match ri {
        RecipientInfo::Ktri(ktri) => RecipientAnatomy::Ktri(KeyTransport {
            version: version(ktri.version),
            rid: match &ktri.rid {
                RecipientIdentifier::IssuerAndSerialNumber(ias) => issuer_and_serial(ias),
                RecipientIdentifier::SubjectKeyIdentifier(id) => ski(id),
            },
            key_encryption_algorithm: oid_name(&ktri.key_enc_alg.oid),
            oaep: (ktri.key_enc_alg.oid == rfc5912::ID_RSAES_OAEP).then(|| {
                match key_transport::oaep_parameters(&ktri.key_enc_alg) {
                    Ok((d, _label)) => Oaep {
                        hash: Some(hash_name(d.hash)),
                        mgf1: Some(hash_name(d.mgf1_hash)),
                        labelled: Some(d.labelled),
                        error: None,
                    },
                    Err(e) => Oaep {
                        hash: None,
                        mgf1: None,
                        labelled: None,
                        error: Some(e.to_string()),
                    },
                }
            }),
            encrypted_key: redacted(ktri.enc_key.as_bytes()),
        }),
        RecipientInfo::Kari(kari) => RecipientAnatomy::Kari(key_agreement(kari)),
        RecipientInfo::Kekri(k) => RecipientAnatomy::Kekri {
            version: version(k.version),
            key_encryption_algorithm: oid_name(&k.key_enc_alg.oid),
        },
        RecipientInfo::Pwri(p) => RecipientAnatomy::Pwri {
            version: version(p.version),
            key_encryption_algorithm: oid_name(&p.key_enc_alg.oid),
        },
        RecipientInfo::Ori(o) => RecipientAnatomy::Ori {
            ori_type: oid_name(&o.ori_type),
        },
    }
}

/// `SHA-256`, as digests are named everywhere else in a snapshot.
pub(super) fn hash_name(hash: key_transport::OaepHash) -> String {
    hash.name()
        .parse::<DigestAlgorithm>()
        .map_or_else(|_| hash.name().to_owned(), |d| d.name().to_owned())
}

pub(super) fn key_agreement(kari: &KeyAgreeRecipientInfo) -> KeyAgreement {
    let originator = match &kari.originator {
        OriginatorIdentifierOrKey::IssuerAndSerialNumber(ias) => match issuer_and_serial(ias) {
            Identifier::IssuerAndSerial { issuer, serial } => {
                Originator::IssuerAndSerial { issuer, serial }
            }
            Identifier::SubjectKeyIdentifier(s) => Originator::SubjectKeyIdentifier(s),
        },
        OriginatorIdentifierOrKey::SubjectKeyIdentifier(id) => {
            Originator::SubjectKeyIdentifier(hex::encode(id.0.as_bytes()))
        }
        OriginatorIdentifierOrKey::OriginatorKey(key) => Originator::OriginatorKey {
            algorithm: oid_name(&key.algorithm.oid),
            curve: named_curve(&key.algorithm).map(|c| oid_name(&c)),
            public_key: redacted(key.public_key.raw_bytes()),
        },
    };
    // The key-wrap algorithm is the keyEncryptionAlgorithm's parameter (RFC 5753 §7.1.2).
    let key_wrap_algorithm = match &kari.key_enc_alg.parameters {
        None => "absent".to_owned(),
        Some(p) => match p.decode_as::<AlgorithmIdentifierOwned>() {
            Ok(wrap) => oid_name(&wrap.oid),
            Err(e) => format!("does not decode: {e}"),
        },
    };
    KeyAgreement {
        version: version(kari.version),
        originator,
        ukm: kari.ukm.as_ref().map(|u| redacted(u.as_bytes())),
        key_agreement_algorithm: oid_name(&kari.key_enc_alg.oid),
        key_wrap_algorithm,
        recipient_encrypted_keys: kari
            .recipient_enc_keys
            .iter()
            .map(|rek| EncryptedKeyAnatomy {
                rid: match &rek.rid {
                    KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(ias) => {
                        issuer_and_serial(ias)
                    }
                    KeyAgreeRecipientIdentifier::RKeyId(r) => ski(&r.subject_key_identifier),
                },
                encrypted_key: redacted(rek.enc_key.as_bytes()),
            })
            .collect(),
    }
}

pub(super) fn content_encryption(eci: &EncryptedContentInfo) -> ContentEncryption {
    let mut c = ContentEncryption {
        content_type: oid_name(&eci.content_type),
        algorithm: oid_name(&eci.content_enc_alg.oid),
        encrypted_content: eci.encrypted_content.as_ref().map_or_else(
            || "absent".to_owned(),
            |os| format!("{} bytes", os.as_bytes().len()),
        ),
        ..ContentEncryption::default()
    };
    match content_cipher::parse_algorithm(&eci.content_enc_alg) {
        Ok(alg) => {
            c.cipher = Some(alg.cipher.display_name().to_owned());
            if alg.cipher.is_aead() {
                c.nonce = Some(redacted(&alg.iv));
                c.icv_length = Some(alg.icv_len);
            } else {
                c.iv = Some(redacted(&alg.iv));
            }
            c.weak = alg.cipher.weakness().map(str::to_owned);
        }
        Err(e) => c.error = Some(e.to_string()),
    }
    c
}
