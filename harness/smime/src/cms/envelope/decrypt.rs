//! Decryption: the (BER) envelope read, the recipient found among the RecipientInfos, the content
//! key unwrapped, the content decrypted.

use crate::ber;

use cms::authenveloped_data::AuthEnvelopedData;
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::ContentInfo;
use cms::enveloped_data::{
    EnvelopedData, KeyAgreeRecipientIdentifier, KeyTransRecipientInfo, RecipientIdentifier,
    RecipientInfo,
};
use const_oid::db::rfc5911;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use crate::key::PrivateKey;

use super::*;

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
