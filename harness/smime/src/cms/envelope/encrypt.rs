//! Encryption: one RecipientInfo per recipient (key transport or key agreement by the
//! certificate's key), the content under a fresh content key, EnvelopedData or AuthEnvelopedData.

use cms::authenveloped_data::AuthEnvelopedData;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, KeyAgreeRecipientIdentifier, KeyTransRecipientInfo,
    RecipientIdentifier, RecipientInfo, RecipientInfos, RecipientKeyIdentifier,
};
use const_oid::db::rfc5911;
use der::asn1::OctetString;
use der::{Any, Decode, Encode};
use x509_cert::Certificate;

use super::*;

/// Encrypts `content` (for S/MIME, a canonical CRLF MIME entity) to every recipient and returns
/// the DER ContentInfo: EnvelopedData, or AuthEnvelopedData when the cipher is AES-GCM.
pub fn encrypt<R: rand_core::CryptoRng + ?Sized>(
    content: &[u8],
    recipients: &[Recipient],
    options: &EncryptOptions,
    rng: &mut R,
) -> Result<Vec<u8>, EncryptError> {
    let mut certificates: Vec<&Certificate> = recipients.iter().map(|r| &r.certificate).collect();
    if let Some(sender) = &options.also_to_sender {
        certificates.push(sender);
    }
    if certificates.is_empty() {
        return Err(EncryptError::NoRecipients);
    }
    let cipher = options.cipher;

    // Draw order is part of the determinism contract: key, IV, then recipients in order.
    let cek = content_cipher::generate_key(cipher, rng);
    let mut iv = vec![0u8; cipher.iv_len()];
    rng.fill_bytes(&mut iv);

    let mut infos = Vec::with_capacity(certificates.len());
    let mut all_version_0 = true;
    for cert in certificates {
        let by_ski = options.recipient_id == RecipientIdType::SubjectKeyIdentifier;
        let ski = if by_ski {
            Some(
                ski_of(cert).ok_or_else(|| EncryptError::NoSubjectKeyIdentifier {
                    subject: subject_of(cert),
                })?,
            )
        } else {
            None
        };
        match recipient_kind(cert)? {
            RecipientKind::Rsa(public) => {
                let (key_enc_alg, encrypted) =
                    key_transport::wrap(&public, options.rsa_padding, &cek, rng)?;
                let (version, rid) = match ski {
                    Some(ski) => (
                        CmsVersion::V2,
                        RecipientIdentifier::SubjectKeyIdentifier(ski),
                    ),
                    None => (
                        CmsVersion::V0,
                        RecipientIdentifier::IssuerAndSerialNumber(issuer_and_serial(cert)),
                    ),
                };
                all_version_0 &= version == CmsVersion::V0;
                infos.push(RecipientInfo::Ktri(KeyTransRecipientInfo {
                    version,
                    rid,
                    key_enc_alg,
                    enc_key: OctetString::new(encrypted).map_err(encode_err)?,
                }));
            }
            RecipientKind::Ec => {
                let rid = match ski {
                    Some(ski) => KeyAgreeRecipientIdentifier::RKeyId(RecipientKeyIdentifier {
                        subject_key_identifier: ski,
                        date: None,
                        other: None,
                    }),
                    None => {
                        KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(issuer_and_serial(cert))
                    }
                };
                let kari = key_agreement::wrap(
                    cert.tbs_certificate().subject_public_key_info(),
                    rid,
                    &cek,
                    rng,
                )
                .map_err(|e| match e {
                    EncryptError::UnsupportedRecipientKey { what } => EncryptError::Recipient {
                        subject: subject_of(cert),
                        what,
                    },
                    other => other,
                })?;
                all_version_0 = false;
                infos.push(RecipientInfo::Kari(kari));
            }
        }
    }
    let recip_infos = RecipientInfos::try_from(infos).map_err(encode_err)?;

    let encrypted =
        content_cipher::encrypt(cipher, &cek, &iv, content).map_err(EncryptError::Crypto)?;
    let eci = EncryptedContentInfo {
        content_type: rfc5911::ID_DATA,
        content_enc_alg: encrypted.algorithm,
        encrypted_content: Some(OctetString::new(encrypted.ciphertext).map_err(encode_err)?),
    };

    let (content_type, inner_der) = match encrypted.tag {
        Some(tag) => {
            let aed = AuthEnvelopedData {
                // RFC 5083: always 0.
                version: CmsVersion::V0,
                originator_info: None,
                recip_infos,
                auth_encrypted_content_info: eci,
                auth_attrs: None,
                mac: OctetString::new(tag).map_err(encode_err)?,
                unauth_attrs: None,
            };
            (
                rfc5911::ID_CT_AUTH_ENVELOPED_DATA,
                aed.to_der().map_err(encode_err)?,
            )
        }
        None => {
            let ed = EnvelopedData {
                // RFC 5652 6.1: 0 only when every RecipientInfo is version 0 and nothing optional is present.
                version: if all_version_0 {
                    CmsVersion::V0
                } else {
                    CmsVersion::V2
                },
                originator_info: None,
                recip_infos,
                encrypted_content: eci,
                unprotected_attrs: None,
            };
            (rfc5911::ID_ENVELOPED_DATA, ed.to_der().map_err(encode_err)?)
        }
    };
    ContentInfo {
        content_type,
        content: Any::from_der(&inner_der).map_err(encode_err)?,
    }
    .to_der()
    .map_err(encode_err)
}
