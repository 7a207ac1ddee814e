//! S/MIME encryption and decryption: CMS EnvelopedData (RFC 5652) and, for AES-GCM,
//! AuthEnvelopedData (RFC 5083), with RSA key transport (PKCS#1 v1.5, OAEP) and ECDH key agreement
//! (P-256, P-384), recipients named by issuer and serial number or by Subject Key Identifier.
//!
//! Encryption is deterministic given the RNG: content key, IV/nonce, RSA padding randomness and
//! ephemeral ECDH keys are all drawn from it in a fixed order, so a seeded RNG
//! ([`crate::rng::seeded`]) gives byte-identical messages for snapshots.
//!
//! The `cms` crate supplies the typed ASN.1; everything cryptographic (and decryption, which the
//! crate does not do) is built here on RustCrypto primitives.

use crate::ber;

pub mod content_cipher;
pub mod key_agreement;
pub mod key_transport;
pub mod message;

use cms::authenveloped_data::AuthEnvelopedData;
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, KeyAgreeRecipientIdentifier, KeyTransRecipientInfo,
    RecipientIdentifier, RecipientInfo, RecipientInfos, RecipientKeyIdentifier,
};
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::OctetString;
use der::{Any, Decode, Encode};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use crate::key::PrivateKey;

pub use content_cipher::ContentCipher;
pub use key_agreement::{EcCurve, EcdhDescription, KdfHash, KeyWrap};
pub use key_transport::{OaepDescription, OaepHash, RsaPadding};
pub use message::{decrypt_message, decrypted_message, encrypt_message};

/// How recipients are named in their RecipientInfo. Exchange calls the SKI choice
/// `OWAUseKeyIdentifier`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RecipientIdType {
    #[default]
    IssuerAndSerialNumber,
    SubjectKeyIdentifier,
}

/// One recipient: their encryption certificate. RSA keys get a KeyTransRecipientInfo, P-256 and
/// P-384 keys a KeyAgreeRecipientInfo.
#[derive(Clone, Debug)]
pub struct Recipient {
    pub certificate: Certificate,
}

impl Recipient {
    pub fn new(certificate: Certificate) -> Self {
        Recipient { certificate }
    }
}

#[derive(Clone, Debug)]
pub struct EncryptOptions {
    pub cipher: ContentCipher,
    /// Padding for RSA recipients; EC recipients always use ECDH.
    pub rsa_padding: RsaPadding,
    pub recipient_id: RecipientIdType,
    /// Also encrypt to the sender's own certificate, as Outlook does, so the sender can read
    /// their Sent Items. Added after the other recipients.
    pub also_to_sender: Option<Certificate>,
}

impl Default for EncryptOptions {
    fn default() -> Self {
        EncryptOptions {
            cipher: ContentCipher::Aes256Cbc,
            rsa_padding: RsaPadding::Pkcs1v15,
            recipient_id: RecipientIdType::IssuerAndSerialNumber,
            also_to_sender: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    #[error("no recipients: give at least one recipient certificate")]
    NoRecipients,
    #[error(
        "recipient certificate {subject} has no Subject Key Identifier, so it cannot be named by SKI; use issuer and serial number, or reissue the certificate with an SKI (Exchange requires one)"
    )]
    NoSubjectKeyIdentifier { subject: String },
    #[error("recipient certificate {subject}: {what}")]
    Recipient { subject: String, what: String },
    #[error("unsupported recipient key: {what}; S/MIME recipients need RSA, P-256 or P-384 keys")]
    UnsupportedRecipientKey { what: String },
    #[error("unsupported combination: {what}")]
    UnsupportedCombination { what: String },
    #[error("encryption failed: {0}")]
    Crypto(String),
    #[error("could not encode the CMS structure: {0}")]
    Encode(String),
    #[error("not a MIME message: {what}")]
    Mime { what: String },
}

/// How the content-encryption key reached us.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyManagement {
    RsaPkcs1v15,
    RsaOaep(OaepDescription),
    Ecdh(EcdhDescription),
}

impl std::fmt::Display for KeyManagement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyManagement::RsaPkcs1v15 => f.write_str("RSA PKCS#1 v1.5 key transport"),
            KeyManagement::RsaOaep(d) => write!(
                f,
                "RSA-OAEP key transport ({}, MGF1-{}{})",
                d.hash.name(),
                d.mgf1_hash.name(),
                if d.labelled { ", with label" } else { "" }
            ),
            KeyManagement::Ecdh(d) => write!(
                f,
                "ECDH {} key agreement ({}DH, {} KDF, {})",
                d.curve.name(),
                if d.cofactor { "cofactor " } else { "standard " },
                d.kdf.name(),
                d.wrap.name()
            ),
        }
    }
}

/// Which of our certificate's identifiers the message used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecipientMatch {
    IssuerSerial,
    Ski,
}

/// A decrypted message and how it was protected.
#[derive(Clone, Debug)]
pub struct Decrypted {
    /// The decrypted content: for S/MIME, a MIME entity.
    pub content: Vec<u8>,
    pub content_cipher: ContentCipher,
    pub key_management: KeyManagement,
    /// True when the content cipher is a legacy one ([`ContentCipher::weakness`] says why).
    pub weak: bool,
    pub recipient_matched_by: RecipientMatch,
    /// True for AuthEnvelopedData (AES-GCM), false for EnvelopedData.
    pub authenticated: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    #[error(
        "not a readable CMS message: {what}; expected the DER/BER ContentInfo of an smime.p7m (base64-decoded)"
    )]
    Malformed { what: String },
    #[error("not an S/MIME message this tool can decrypt: {what}")]
    NotSmime { what: String },
    #[error("this CMS object is {content_type}, not enveloped-data or authEnveloped-data{hint}")]
    NotEnveloped { content_type: String, hint: String },
    #[error(
        "the private key does not belong to the certificate {subject}: pass the key issued with that certificate"
    )]
    KeyMismatch { subject: String },
    #[error(
        "this message is not encrypted to {ours}; it is encrypted to: {theirs}. Use the certificate and key of one of those recipients"
    )]
    NotARecipient { ours: String, theirs: String },
    #[error("could not recover the content-encryption key: {detail}")]
    KeyDecryption { detail: String },
    #[error("content decryption failed: {detail}")]
    ContentDecryption { detail: String },
    #[error(
        "AES-GCM authentication failed: the message was modified in transit, or the recovered content-encryption key is wrong"
    )]
    AuthenticationFailed,
    #[error("unsupported: {what}")]
    Unsupported { what: String },
    #[error(
        "the message carries no encrypted content (detached encryptedContent is not supported)"
    )]
    NoContent,
}

fn subject_of(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

fn issuer_and_serial(cert: &Certificate) -> IssuerAndSerialNumber {
    IssuerAndSerialNumber {
        issuer: cert.tbs_certificate().issuer().clone(),
        serial_number: cert.tbs_certificate().serial_number().clone(),
    }
}

fn ski_of(cert: &Certificate) -> Option<SubjectKeyIdentifier> {
    cert.tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .ok()
        .flatten()
        .map(|(_, ski)| ski)
}

enum RecipientKind {
    Rsa(rsa::RsaPublicKey),
    Ec,
}

fn recipient_kind(cert: &Certificate) -> Result<RecipientKind, EncryptError> {
    let spki = cert.tbs_certificate().subject_public_key_info();
    let subject = || subject_of(cert);
    if spki.algorithm.oid == rfc5912::RSA_ENCRYPTION {
        use pkcs8::DecodePublicKey;
        let der = spki
            .to_der()
            .map_err(|e| EncryptError::Encode(e.to_string()))?;
        return rsa::RsaPublicKey::from_public_key_der(&der)
            .map(RecipientKind::Rsa)
            .map_err(|e| EncryptError::Recipient {
                subject: subject(),
                what: format!("RSA public key unreadable: {e}"),
            });
    }
    if key_agreement::is_supported_ec(spki) {
        return Ok(RecipientKind::Ec);
    }
    Err(EncryptError::Recipient {
        subject: subject(),
        what: format!(
            "key algorithm {} cannot receive S/MIME encryption here (RSA, P-256 or P-384 needed)",
            spki.algorithm.oid
        ),
    })
}

fn encode_err(e: der::Error) -> EncryptError {
    EncryptError::Encode(e.to_string())
}

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

fn describe_rid(rid: &RecipientIdentifier) -> String {
    match rid {
        RecipientIdentifier::IssuerAndSerialNumber(ias) => describe_ias(ias),
        RecipientIdentifier::SubjectKeyIdentifier(ski) => describe_ski(ski),
    }
}

fn describe_ias(ias: &IssuerAndSerialNumber) -> String {
    format!("issuer \"{}\" serial {}", ias.issuer, ias.serial_number)
}

fn describe_ski(ski: &SubjectKeyIdentifier) -> String {
    format!("SKI {}", hex::encode(ski.0.as_bytes()))
}

fn same_ias(a: &IssuerAndSerialNumber, b: &IssuerAndSerialNumber) -> bool {
    // Compare encodings: Name equality in `x509-cert` is structural, and both sides were decoded
    // by the same types, so equal DER means the same issuer and serial.
    matches!((a.to_der(), b.to_der()), (Ok(x), Ok(y)) if x == y)
}

/// One RecipientInfo (or kari RecipientEncryptedKey) addressed to us.
enum Candidate<'a> {
    Ktri(&'a KeyTransRecipientInfo, RecipientMatch),
    Kari(
        &'a cms::enveloped_data::KeyAgreeRecipientInfo,
        &'a [u8],
        RecipientMatch,
    ),
}

/// An envelope as it was sent, before any key is used.
#[derive(Clone, Debug)]
pub(crate) enum Envelope {
    Enveloped(EnvelopedData),
    /// AES-GCM (RFC 5083).
    AuthEnveloped(AuthEnvelopedData),
}

/// Reads a DER or BER ContentInfo holding EnvelopedData or AuthEnvelopedData (BER normalised by
/// [`ber`]). [`decrypt`] starts here, and so does [`super::anatomy`], so that a snapshot shows
/// the structure the decryptor works on.
pub(crate) fn parse_envelope(content_info_der: &[u8]) -> Result<Envelope, DecryptError> {
    let der = ber::cms_to_der(content_info_der).map_err(|e| DecryptError::Malformed {
        what: e.to_string(),
    })?;
    let ci = ContentInfo::from_der(&der).map_err(|e| DecryptError::Malformed {
        what: format!("ContentInfo: {e}"),
    })?;
    let content_der = ci.content.to_der().map_err(|e| DecryptError::Malformed {
        what: e.to_string(),
    })?;
    if ci.content_type == rfc5911::ID_ENVELOPED_DATA {
        EnvelopedData::from_der(&content_der)
            .map(Envelope::Enveloped)
            .map_err(|e| DecryptError::Malformed {
                what: format!("EnvelopedData: {e}"),
            })
    } else if ci.content_type == rfc5911::ID_CT_AUTH_ENVELOPED_DATA {
        AuthEnvelopedData::from_der(&content_der)
            .map(Envelope::AuthEnveloped)
            .map_err(|e| DecryptError::Malformed {
                what: format!("AuthEnvelopedData: {e}"),
            })
    } else {
        let hint = if ci.content_type == rfc5911::ID_SIGNED_DATA {
            ": it is a signed message (verify it instead)".to_owned()
        } else {
            String::new()
        };
        Err(DecryptError::NotEnveloped {
            content_type: ci.content_type.to_string(),
            hint,
        })
    }
}

/// Decrypts a DER or BER ContentInfo holding EnvelopedData or AuthEnvelopedData with `key`, the
/// private key of `cert`, which must be one of the recipients.
pub fn decrypt(
    content_info_der: &[u8],
    cert: &Certificate,
    key: &PrivateKey,
) -> Result<Decrypted, DecryptError> {
    let (recip_infos, eci, aad, tag, authenticated) = match parse_envelope(content_info_der)? {
        Envelope::Enveloped(ed) => (
            ed.recip_infos,
            ed.encrypted_content,
            Vec::new(),
            None,
            false,
        ),
        Envelope::AuthEnveloped(aed) => {
            // RFC 5083 2.2: the AAD is the DER of authAttrs with its universal SET OF tag.
            let aad = match &aed.auth_attrs {
                Some(attrs) => attrs.to_der().map_err(|e| DecryptError::Malformed {
                    what: format!("authAttrs: {e}"),
                })?,
                None => Vec::new(),
            };
            (
                aed.recip_infos,
                aed.auth_encrypted_content_info,
                aad,
                Some(aed.mac.as_bytes().to_vec()),
                true,
            )
        }
    };

    let our_ias = issuer_and_serial(cert);
    let our_ski = ski_of(cert);
    let ski_matches = |ski: &SubjectKeyIdentifier| our_ski.as_ref().is_some_and(|ours| ours == ski);

    let mut candidates = Vec::new();
    let mut theirs = Vec::new();
    for ri in recip_infos.0.iter() {
        match ri {
            RecipientInfo::Ktri(ktri) => {
                theirs.push(describe_rid(&ktri.rid));
                match &ktri.rid {
                    RecipientIdentifier::IssuerAndSerialNumber(ias) if same_ias(ias, &our_ias) => {
                        candidates.push(Candidate::Ktri(ktri, RecipientMatch::IssuerSerial));
                    }
                    RecipientIdentifier::SubjectKeyIdentifier(ski) if ski_matches(ski) => {
                        candidates.push(Candidate::Ktri(ktri, RecipientMatch::Ski));
                    }
                    _ => {}
                }
            }
            RecipientInfo::Kari(kari) => {
                for rek in &kari.recipient_enc_keys {
                    match &rek.rid {
                        KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(ias) => {
                            theirs.push(describe_ias(ias));
                            if same_ias(ias, &our_ias) {
                                candidates.push(Candidate::Kari(
                                    kari,
                                    rek.enc_key.as_bytes(),
                                    RecipientMatch::IssuerSerial,
                                ));
                            }
                        }
                        KeyAgreeRecipientIdentifier::RKeyId(rkid) => {
                            theirs.push(describe_ski(&rkid.subject_key_identifier));
                            if ski_matches(&rkid.subject_key_identifier) {
                                candidates.push(Candidate::Kari(
                                    kari,
                                    rek.enc_key.as_bytes(),
                                    RecipientMatch::Ski,
                                ));
                            }
                        }
                    }
                }
            }
            RecipientInfo::Kekri(_) => theirs.push("a pre-shared key (kekri)".to_owned()),
            RecipientInfo::Pwri(_) => theirs.push("a password (pwri)".to_owned()),
            RecipientInfo::Ori(ori) => {
                theirs.push(format!("other recipient info {}", ori.ori_type))
            }
        }
    }
    if candidates.is_empty() {
        let ours = match &our_ski {
            Some(ski) => format!("{} / {}", describe_ias(&our_ias), describe_ski(ski)),
            None => format!("{} (no SKI)", describe_ias(&our_ias)),
        };
        return Err(DecryptError::NotARecipient {
            ours,
            theirs: if theirs.is_empty() {
                "nobody (no RecipientInfos)".to_owned()
            } else {
                theirs.join("; ")
            },
        });
    }

    // Algorithms are checked before the key: "this message uses X25519 / ChaCha20" is the useful
    // answer even when the caller's key could never have worked.
    let supported: Vec<Candidate<'_>> = {
        let mut first_unsupported = None;
        let mut kept = Vec::new();
        for candidate in candidates {
            let check = match &candidate {
                Candidate::Ktri(ktri, _) => key_transport::check_supported(&ktri.key_enc_alg),
                Candidate::Kari(kari, _, _) => key_agreement::check_supported(kari),
            };
            match check {
                Ok(()) => kept.push(candidate),
                Err(e) => {
                    first_unsupported.get_or_insert(e);
                }
            }
        }
        match (kept.is_empty(), first_unsupported) {
            (true, Some(e)) => return Err(e),
            _ => kept,
        }
    };
    let content_alg = content_cipher::parse_algorithm(&eci.content_enc_alg)?;
    if content_alg.cipher.is_aead() != authenticated {
        return Err(DecryptError::Unsupported {
            what: format!(
                "{} inside {}",
                content_alg.cipher.display_name(),
                if authenticated {
                    "AuthEnvelopedData (only AES-GCM belongs there)"
                } else {
                    "EnvelopedData (AES-GCM belongs in AuthEnvelopedData, RFC 5083)"
                }
            ),
        });
    }
    let ciphertext = eci
        .encrypted_content
        .as_ref()
        .ok_or(DecryptError::NoContent)?;
    if !key.matches(cert.tbs_certificate().subject_public_key_info()) {
        return Err(DecryptError::KeyMismatch {
            subject: subject_of(cert),
        });
    }

    // More than one RecipientInfo can name us (a sender listed twice); the first that yields the
    // content wins, and the first error is reported if none does.
    let mut first_error = None;
    for candidate in supported {
        let attempt = (|| {
            let (cek, key_management, matched) = match candidate {
                Candidate::Ktri(ktri, matched) => {
                    let PrivateKey::Rsa(rsa_key) = key else {
                        return Err(DecryptError::KeyDecryption {
                            detail:
                                "the message transports the key with RSA but the private key is EC"
                                    .to_owned(),
                        });
                    };
                    match key_transport::unwrap(
                        rsa_key,
                        &ktri.key_enc_alg,
                        ktri.enc_key.as_bytes(),
                    )? {
                        key_transport::Unwrapped::Pkcs1v15(cek) => {
                            (cek, KeyManagement::RsaPkcs1v15, matched)
                        }
                        key_transport::Unwrapped::Oaep(cek, d) => {
                            (cek, KeyManagement::RsaOaep(d), matched)
                        }
                    }
                }
                Candidate::Kari(kari, enc_key, matched) => {
                    let (cek, d) = key_agreement::unwrap(kari, enc_key, key)?;
                    (cek, KeyManagement::Ecdh(d), matched)
                }
            };
            let content = content_cipher::decrypt(
                &content_alg,
                &cek,
                ciphertext.as_bytes(),
                &aad,
                tag.as_deref(),
            )?;
            Ok(Decrypted {
                content,
                content_cipher: content_alg.cipher,
                key_management,
                weak: content_alg.cipher.is_weak(),
                recipient_matched_by: matched,
                authenticated,
            })
        })();
        match attempt {
            Ok(d) => return Ok(d),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(DecryptError::NoContent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng as _;

    macro_rules! fixture {
        ($path:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../fixtures/",
                $path
            ))
        };
    }

    struct Party {
        cert: Certificate,
        key: PrivateKey,
    }

    fn party(cert: &[u8], key: &[u8]) -> Party {
        Party {
            cert: crate::certificate::parse_certificates(cert)
                .unwrap()
                .remove(0),
            key: PrivateKey::from_pem_or_der(key).unwrap(),
        }
    }

    fn bob() -> Party {
        party(
            fixture!("vectors/rfc9216/bob.encrypt.crt"),
            fixture!("vectors/rfc9216/bob.decrypt.key"),
        )
    }

    fn alice() -> Party {
        party(
            fixture!("vectors/rfc9216/alice.encrypt.crt"),
            fixture!("vectors/rfc9216/alice.decrypt.key"),
        )
    }

    fn ec() -> Party {
        party(
            fixture!("envelope/p256-recipient.crt"),
            fixture!("envelope/p256-recipient.key"),
        )
    }

    const CONTENT: &[u8] = b"Content-Type: text/plain\r\n\r\nround trip\r\n";

    fn encrypt_to(parties: &[&Party], options: &EncryptOptions, seed: &str) -> Vec<u8> {
        let recipients: Vec<Recipient> = parties
            .iter()
            .map(|p| Recipient::new(p.cert.clone()))
            .collect();
        encrypt(CONTENT, &recipients, options, &mut crate::rng::seeded(seed)).unwrap()
    }

    #[test]
    fn every_combination_round_trips() {
        let (bob, ec) = (bob(), ec());
        for cipher in ContentCipher::ALL {
            for padding in [
                RsaPadding::Pkcs1v15,
                RsaPadding::Oaep(OaepHash::Sha1),
                RsaPadding::Oaep(OaepHash::Sha512),
            ] {
                for recipient_id in [
                    RecipientIdType::IssuerAndSerialNumber,
                    RecipientIdType::SubjectKeyIdentifier,
                ] {
                    let options = EncryptOptions {
                        cipher,
                        rsa_padding: padding,
                        recipient_id,
                        also_to_sender: None,
                    };
                    // EC recipients need a content key that AES key wrap can carry.
                    let with_ec = cipher.key_len() >= 16;
                    let parties: Vec<&Party> = if with_ec { vec![&bob, &ec] } else { vec![&bob] };
                    let der = encrypt_to(&parties, &options, "round-trip");
                    for p in parties {
                        let d = decrypt(&der, &p.cert, &p.key).unwrap();
                        assert_eq!(d.content, CONTENT);
                        assert_eq!(d.content_cipher, cipher);
                        assert_eq!(d.weak, cipher.is_weak());
                        assert_eq!(d.authenticated, cipher.is_aead());
                        assert_eq!(
                            d.recipient_matched_by,
                            if recipient_id == RecipientIdType::IssuerAndSerialNumber {
                                RecipientMatch::IssuerSerial
                            } else {
                                RecipientMatch::Ski
                            }
                        );
                    }
                }
            }
        }
        let short_key = EncryptOptions {
            cipher: ContentCipher::Rc2Cbc40,
            ..EncryptOptions::default()
        };
        let err = encrypt(
            CONTENT,
            &[Recipient::new(ec.cert.clone())],
            &short_key,
            &mut crate::rng::seeded("x"),
        )
        .unwrap_err();
        assert!(
            matches!(err, EncryptError::UnsupportedCombination { .. }),
            "{err}"
        );
        assert!(matches!(
            encrypt(
                CONTENT,
                &[],
                &EncryptOptions::default(),
                &mut crate::rng::seeded("x")
            ),
            Err(EncryptError::NoRecipients)
        ));
    }

    /// Re-addresses every RecipientInfo of an EnvelopedData to `to`, keeping the encrypted keys:
    /// a message that claims to be for `to` but was encrypted to someone else's key.
    fn readdress(der: &[u8], to: &Certificate) -> Vec<u8> {
        let ci = ContentInfo::from_der(der).unwrap();
        let mut ed = EnvelopedData::from_der(&ci.content.to_der().unwrap()).unwrap();
        let infos: Vec<RecipientInfo> = ed
            .recip_infos
            .0
            .iter()
            .cloned()
            .map(|ri| match ri {
                RecipientInfo::Ktri(mut ktri) => {
                    ktri.rid = RecipientIdentifier::IssuerAndSerialNumber(issuer_and_serial(to));
                    RecipientInfo::Ktri(ktri)
                }
                RecipientInfo::Kari(mut kari) => {
                    for rek in &mut kari.recipient_enc_keys {
                        rek.rid = KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(
                            issuer_and_serial(to),
                        );
                    }
                    RecipientInfo::Kari(kari)
                }
                other => other,
            })
            .collect();
        ed.recip_infos = RecipientInfos::try_from(infos).unwrap();
        ContentInfo {
            content_type: ci.content_type,
            content: Any::from_der(&ed.to_der().unwrap()).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn a_message_encrypted_to_another_key_never_decrypts_to_garbage() {
        let (alice, bob) = (alice(), bob());
        for (i, padding) in [RsaPadding::Pkcs1v15, RsaPadding::Oaep(OaepHash::Sha256)]
            .into_iter()
            .enumerate()
        {
            for cipher in [ContentCipher::Aes256Cbc, ContentCipher::DesEde3Cbc] {
                let options = EncryptOptions {
                    cipher,
                    rsa_padding: padding,
                    ..EncryptOptions::default()
                };
                let der = encrypt_to(&[&alice], &options, &format!("forged-{i}"));
                let forged = readdress(&der, &bob.cert);
                let err = decrypt(&forged, &bob.cert, &bob.key).unwrap_err();
                assert!(
                    matches!(
                        err,
                        DecryptError::KeyDecryption { .. } | DecryptError::ContentDecryption { .. }
                    ),
                    "{padding:?} {cipher}: {err}"
                );
            }
        }
        // Key agreement with a substituted ephemeral key: the derived KEK is wrong, and the AES
        // key unwrap integrity check says so.
        let ec = ec();
        let der = encrypt_to(&[&ec], &EncryptOptions::default(), "ec");
        assert!(decrypt(&der, &ec.cert, &ec.key).is_ok());
        let ci = ContentInfo::from_der(&der).unwrap();
        let mut ed = EnvelopedData::from_der(&ci.content.to_der().unwrap()).unwrap();
        let other = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let infos: Vec<RecipientInfo> = ed
            .recip_infos
            .0
            .iter()
            .cloned()
            .map(|ri| match ri {
                RecipientInfo::Kari(mut kari) => {
                    kari.originator = cms::enveloped_data::OriginatorIdentifierOrKey::OriginatorKey(
                        cms::enveloped_data::OriginatorPublicKey {
                            algorithm: spki::AlgorithmIdentifierOwned {
                                oid: rfc5912::ID_EC_PUBLIC_KEY,
                                parameters: None,
                            },
                            public_key: der::asn1::BitString::from_bytes(
                                &other.public_key().to_sec1_bytes(),
                            )
                            .unwrap(),
                        },
                    );
                    RecipientInfo::Kari(kari)
                }
                other => other,
            })
            .collect();
        ed.recip_infos = RecipientInfos::try_from(infos).unwrap();
        let forged = ContentInfo {
            content_type: ci.content_type,
            content: Any::from_der(&ed.to_der().unwrap()).unwrap(),
        }
        .to_der()
        .unwrap();
        assert!(matches!(
            decrypt(&forged, &ec.cert, &ec.key),
            Err(DecryptError::KeyDecryption { .. })
        ));
    }

    #[test]
    fn tampered_gcm_content_fails_authentication() {
        let bob = bob();
        let options = EncryptOptions {
            cipher: ContentCipher::Aes128Gcm,
            ..EncryptOptions::default()
        };
        let der = encrypt_to(&[&bob], &options, "gcm");
        // The ciphertext is the last OCTET STRING before the 16-byte mac; flip a byte just before
        // the mac's own header.
        let mut tampered = der.clone();
        let at = tampered.len() - 16 - 2 - 1;
        tampered[at] ^= 0x01;
        assert!(matches!(
            decrypt(&tampered, &bob.cert, &bob.key),
            Err(DecryptError::AuthenticationFailed)
        ));
    }

    /// Bounded, deterministic mutation of valid messages (ours and one from NSS): every result
    /// is Ok or a typed error; a panic fails the test. `fuzz/fuzz_targets/decrypt.rs` does the
    /// same without bounds.
    #[test]
    fn mutated_messages_never_panic() {
        let (bob, ec) = (bob(), ec());
        let mut seeds: Vec<Vec<u8>> = Vec::new();
        for cipher in [
            ContentCipher::Aes128Cbc,
            ContentCipher::Aes256Gcm,
            ContentCipher::Rc2Cbc40,
        ] {
            let options = EncryptOptions {
                cipher,
                recipient_id: RecipientIdType::SubjectKeyIdentifier,
                ..EncryptOptions::default()
            };
            let parties: Vec<&Party> = if cipher.key_len() >= 16 {
                vec![&bob, &ec]
            } else {
                vec![&bob]
            };
            seeds.push(encrypt_to(&parties, &options, "mutation"));
        }
        let message = message::encrypt_message(
            b"Subject: m\r\n\r\nbody\r\n",
            &[Recipient::new(bob.cert.clone())],
            &EncryptOptions::default(),
            &mut crate::rng::seeded("mutation-message"),
        )
        .unwrap();
        seeds.push(message);
        // A BER (indefinite-length) message from Thunderbird/NSS, for the BER normaliser.
        let nss = test_support::vector("thunderbird-nss/alice.env.eml");
        seeds.push(message::find_p7m(&nss, 0).unwrap().unwrap());
        seeds.push(nss);

        let mut rng = crate::rng::seeded("mutations");
        let mut outcomes = [0usize; 2];
        for seed in &seeds {
            for _ in 0..300 {
                let mut m = seed.clone();
                let len = m.len().max(1);
                match rng.next_u32() % 5 {
                    0 => {
                        let i = rng.next_u32() as usize % len;
                        if let Some(b) = m.get_mut(i) {
                            *b ^= 1 << (rng.next_u32() % 8);
                        }
                    }
                    1 => m.truncate(rng.next_u32() as usize % len),
                    2 => {
                        let i = rng.next_u32() as usize % len;
                        if let Some(b) = m.get_mut(i) {
                            *b = [0x00, 0x80, 0xff, 0x30, 0xa0][rng.next_u32() as usize % 5];
                        }
                    }
                    3 => {
                        let i = rng.next_u32() as usize % len;
                        m.insert(i.min(m.len()), rng.next_u32() as u8);
                    }
                    _ => {
                        let i = rng.next_u32() as usize % len;
                        if i < m.len() {
                            m.remove(i);
                        }
                    }
                }
                for p in [&bob, &ec] {
                    let r = decrypt(&m, &p.cert, &p.key);
                    outcomes[usize::from(r.is_ok())] += 1;
                    if let Err(e) = r {
                        let _ = e.to_string();
                    }
                    let _ = message::decrypt_message(&m, &p.cert, &p.key);
                }
            }
        }
        // Most mutations must be caught; some (a flipped bit in an IV's last block, a changed
        // serial we do not read) legitimately still decrypt.
        assert!(outcomes[0] > outcomes[1], "{outcomes:?}");
    }
}
