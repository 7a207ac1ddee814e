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

mod decrypt;
mod encrypt;

pub mod content_cipher;
pub mod key_agreement;
pub mod key_transport;
pub mod message;

use cms::cert::IssuerAndSerialNumber;
use const_oid::db::rfc5912;
use der::Encode;
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

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

pub use decrypt::decrypt;
pub(crate) use decrypt::{Envelope, parse_envelope};
pub use encrypt::encrypt;

#[cfg(test)]
mod tests;
