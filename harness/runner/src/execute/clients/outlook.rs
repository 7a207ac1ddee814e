//! Outlook for Windows (Microsoft 365 Apps, Click-to-Run): its own defaults, since no tenant
//! setting shapes what it sends. Each default and where it comes from:
//!
//! | choice | default | source |
//! |---|---|---|
//! | content cipher | AES-256-CBC, or the strongest cipher every recipient's certificate lists in its S/MIME Capabilities | "Outlook sends 3DES when I've chosen AES 256" (Microsoft, Outlook support blog, D. Vespa): builds after 16.8518.1000 default to AES-256; Outlook takes the intersection of the sender's and the recipients' algorithms and picks the best |
//! | digest | SHA-256 | the security profile's "Hash Algorithm"; Microsoft's "Recommended SMIME algorithm settings for modern Outlook builds" (2022) has admins set SHA-2 through `DefaultHashOID`; older profiles show SHA1. The lab models a current profile: SHA-256 |
//! | form | clear-signed; inside an envelope, opaque-signed | Trust Center, Email Security: "Send clear text signed message when sending signed messages" is on by default and applies to signed-only mail; signed and encrypted mail carries `application/pkcs7-mime` signed-data inside the envelope (see `smime::cms::open::sign_then_encrypt`) |
//! | certificates | the chain without the root | CryptoAPI/CAPICOM's `CAPICOM_CERTIFICATE_INCLUDE_CHAIN_EXCEPT_ROOT`, the default signer option Outlook signs through |
//! | signed attributes | smimeCapabilities (AES first), S/MIME and Microsoft encryption key preference | what Outlook writes (`smime::cms::sign`) |
//! | recipients | issuer and serial number, RSA PKCS#1 v1.5, the sender too | RFC 5652 version 0 RecipientInfos, as Outlook writes; "Outlook also uses your encryption certificate for encrypted messages that are stored in your Sent Items" (Office support, "About digital signing, encryption, and smart cards") |
//! | certificate lookup | `userSMIMECertificate` first, then the first fit `userCertificate` | the tenant's `/lab/recipients/{address}/certificate`, which implements Outlook's order |
//!
//! Outlook does not triple-wrap unless asked (the scenario's `triple-wrap`), and has no policy
//! that refuses to send: it refuses only for want of a certificate.

use smime::cms::attributes::Capability;
use smime::cms::envelope::{ContentCipher, RecipientIdType, RsaPadding};
use smime::cms::{OwnCertificates, SignedForm};

use super::shape::{self, EncryptShape, MessageShape, RecipientFacts, Refusal, Sender, SignShape};
use scenario::model::{ChainInclusion, Digest};
use scenario::plan::ProtectionRequest;

/// The digest of a current Outlook security profile.
pub const DIGEST: Digest = Digest::Sha256;
/// The cipher Outlook uses when recipients' certificates state no capabilities.
pub const CIPHER: ContentCipher = ContentCipher::Aes256Cbc;

/// What Outlook sends for `request`, or why it refuses.
pub fn shape(
    request: &ProtectionRequest,
    sender: &Sender,
    recipients: &[RecipientFacts],
) -> Result<MessageShape, Refusal> {
    let mut notes = Vec::new();
    if request.sign {
        shape::signing_key(sender)?;
    }
    let encrypt = if request.encrypt {
        shape::recipient_certificates(recipients)?;
        let recipient_id = request
            .options
            .recipient_id
            .unwrap_or(RecipientIdType::IssuerAndSerialNumber);
        let to_self = shape::to_self(sender);
        shape::addressable(recipient_id, recipients, sender, to_self)?;
        let cipher = match request.options.cipher {
            Some(cipher) => {
                notes.push(format!("cipher {}: the message's options", cipher.name()));
                cipher
            }
            None => {
                let envelope = shape::envelope_certificates(recipients, sender, to_self);
                // Outlook writes EnvelopedData only: AES-GCM (AuthEnvelopedData) is not offered.
                match shape::strongest_common(&envelope, |c| !c.is_aead()) {
                    Some(cipher) if cipher == CIPHER => {
                        notes.push(format!("cipher {}: Outlook's default", cipher.name()));
                        cipher
                    }
                    Some(cipher) => {
                        notes.push(format!(
                            "cipher {}: the strongest every recipient's certificate lists",
                            cipher.name()
                        ));
                        cipher
                    }
                    None => {
                        notes.push(format!(
                            "cipher {}: Outlook's default; the recipients' certificates list no cipher in common",
                            CIPHER.name()
                        ));
                        CIPHER
                    }
                }
            }
        };
        if !to_self {
            notes.push("the sender's own encryption certificate is not installed on Outlook: the envelope leaves the sender out".to_owned());
        }
        Some(EncryptShape {
            cipher,
            rsa_padding: request.options.rsa_padding.unwrap_or(RsaPadding::Pkcs1v15),
            recipient_id,
            to_self,
        })
    } else {
        None
    };
    let sign = request.sign.then(|| {
        let digest = request.options.digest.unwrap_or(DIGEST);
        notes.push(format!(
            "digest {}: {}",
            digest.name(),
            if request.options.digest.is_some() {
                "the message's options"
            } else {
                "Outlook's security profile"
            }
        ));
        SignShape {
            digest,
            form: match request.opaque {
                Some(true) => SignedForm::OpaqueSigned,
                Some(false) => SignedForm::ClearSigned,
                None if request.encrypt => SignedForm::OpaqueSigned,
                None => SignedForm::ClearSigned,
            },
            include: request
                .options
                .include_chain
                .unwrap_or(ChainInclusion::Chain),
            own_certificates: OwnCertificates::Signing,
            capabilities: Capability::DEFAULT.to_vec(),
        }
    });
    let triple_wrap = sign.is_some() && encrypt.is_some() && request.triple_wrap == Some(true);
    Ok(MessageShape {
        sign,
        encrypt,
        triple_wrap,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::clients::shape::fixtures;
    use scenario::model::MessageOptions;
    use scenario::model::{KeyStorage, RefusalReason};

    fn sender() -> Sender {
        fixtures::sender(KeyStorage::Software)
    }

    fn carol(capabilities: Option<Vec<ContentCipher>>) -> Vec<RecipientFacts> {
        vec![fixtures::recipient("carol@contoso.com", true, capabilities)]
    }

    fn both() -> ProtectionRequest {
        fixtures::request(true, true)
    }

    #[test]
    fn defaults_are_sha256_aes256_opaque_inside_chain_to_self() {
        let signed_only = ProtectionRequest {
            sign: true,
            ..ProtectionRequest::default()
        };
        let clear = shape(&signed_only, &sender(), &[]).expect("sends");
        assert_eq!(clear.protection(), "clear-signed");
        let shape = shape(&both(), &sender(), &carol(None)).expect("sends");
        let sign = shape.sign.expect("signed");
        assert_eq!(sign.digest, Digest::Sha256);
        assert_eq!(sign.form, SignedForm::OpaqueSigned);
        assert_eq!(sign.include, ChainInclusion::Chain);
        assert_eq!(sign.capabilities, Capability::DEFAULT);
        let encrypt = shape.encrypt.expect("encrypted");
        assert_eq!(encrypt.cipher, ContentCipher::Aes256Cbc);
        assert_eq!(encrypt.rsa_padding, RsaPadding::Pkcs1v15);
        assert_eq!(encrypt.recipient_id, RecipientIdType::IssuerAndSerialNumber);
        assert!(encrypt.to_self);
        assert!(!shape.triple_wrap);
    }

    #[test]
    fn recipients_capabilities_lower_the_cipher() {
        let lowered = shape(
            &both(),
            &sender(),
            &carol(Some(vec![
                ContentCipher::Aes128Gcm,
                ContentCipher::DesEde3Cbc,
                ContentCipher::Aes128Cbc,
            ])),
        )
        .expect("sends");
        // GCM is listed first but Outlook writes no AuthEnvelopedData.
        assert_eq!(
            lowered.encrypt.expect("encrypted").cipher,
            ContentCipher::Aes128Cbc
        );
        let nothing_in_common = shape(&both(), &sender(), &carol(Some(vec![]))).expect("sends");
        let encrypt = nothing_in_common.encrypt.expect("encrypted");
        assert_eq!(encrypt.cipher, CIPHER, "nothing in common: the default");
    }

    #[test]
    fn the_message_options_override() {
        let request = ProtectionRequest {
            options: MessageOptions {
                digest: Some(Digest::Sha512),
                cipher: Some(ContentCipher::Aes128Gcm),
                rsa_padding: Some(RsaPadding::Oaep(smime::cms::envelope::OaepHash::Sha256)),
                recipient_id: Some(RecipientIdType::SubjectKeyIdentifier),
                include_chain: Some(ChainInclusion::ChainAndRoot),
                ..MessageOptions::default()
            },
            opaque: Some(true),
            triple_wrap: Some(true),
            ..both()
        };
        let sent = shape(&request, &sender(), &carol(None)).expect("sends");
        assert!(sent.triple_wrap);
        assert_eq!(sent.protection(), "triple-wrapped");
        let sign = sent.sign.expect("signed");
        assert_eq!(
            (sign.digest, sign.form, sign.include),
            (
                Digest::Sha512,
                SignedForm::OpaqueSigned,
                ChainInclusion::ChainAndRoot
            )
        );
        let encrypt = sent.encrypt.expect("encrypted");
        assert_eq!(encrypt.cipher, ContentCipher::Aes128Gcm);
        assert_eq!(encrypt.recipient_id, RecipientIdType::SubjectKeyIdentifier);
        assert!(matches!(encrypt.rsa_padding, RsaPadding::Oaep(_)));
    }

    #[test]
    fn refusals() {
        let no_key = Sender {
            signing: None,
            ..sender()
        };
        let signed = ProtectionRequest {
            sign: true,
            ..ProtectionRequest::default()
        };
        assert_eq!(
            shape(&signed, &no_key, &carol(None)).map_err(|r| r.reason),
            Err(RefusalReason::NoSigningCertificate)
        );
        // Encrypting needs no key of the sender's own.
        let encrypted = ProtectionRequest {
            encrypt: true,
            ..ProtectionRequest::default()
        };
        assert!(shape(&encrypted, &no_key, &carol(None)).is_ok());
        let nobody = vec![RecipientFacts {
            mailbox: "carol@contoso.com".into(),
            certificate: None,
        }];
        assert_eq!(
            shape(&encrypted, &sender(), &nobody).map_err(|r| r.reason),
            Err(RefusalReason::NoRecipientCertificate)
        );
        // A signed-only message needs no recipient certificate.
        assert!(shape(&signed, &sender(), &nobody).is_ok());
        let plain = shape(&ProtectionRequest::default(), &no_key, &nobody).expect("plain mail");
        assert_eq!(plain.protection(), "plain");
    }

    #[test]
    fn without_an_own_certificate_the_sender_is_left_out() {
        let alone = Sender {
            own_certificate: None,
            ..sender()
        };
        let shape = shape(&both(), &alone, &carol(None)).expect("sends");
        assert!(!shape.encrypt.expect("encrypted").to_self);
        assert!(
            shape
                .notes
                .iter()
                .any(|n| n.contains("leaves the sender out"))
        );
    }
}
