//! Outlook on the web: the tenant's `Set-SmimeConfig` OWA* settings, read back with
//! `Get-SmimeConfig` as the S/MIME control reads them, turned into the message's shape.
//!
//! | setting (default) | what it shapes |
//! |---|---|
//! | `OWAAlwaysSign` / `OWAAlwaysEncrypt` (false) | every message is signed / encrypted |
//! | `OWAClearSign` (true) | clear-signed, or opaque-signed when false |
//! | `OWASigningAlgorithms` ("8004") | the digest: the first entry the lab supports |
//! | `OWAEncryptionAlgorithms` ("6610") | the cipher: the first entry the lab supports; no negotiation ("If the registry key is present, algorithms that are specified in the key will always be used") |
//! | `OWAIncludeCertificateChainWithoutRootCertificate`, `OWAIncludeCertificateChainAndRootCertificate` (false) | the chain in the message; neither: only the signing certificate |
//! | `OWASignedEmailCertificateInclusion` (true) | false: "do not include signing and encrypting certificates" |
//! | `OWAIncludeSMIMECapabilitiesInMessage` (false) | the smimeCapabilities attribute, listing the two algorithm settings |
//! | `OWAUseKeyIdentifier` (false) | recipients named by subject key identifier |
//! | `OWATripleWrapSignedEncryptedMail` (false) | signed and encrypted mail is signed, encrypted, signed |
//! | `OWAOnlyUseSmartCard` (false) | signing with a software key is refused |
//! | `OWACheckCRLOnSend` (false) | before signed or encrypted mail goes out the tenant checks the sender's CRL and each recipient's; unreachable refuses ([`crl_refusal`], [`recipient_refusal`]) |
//!
//! Before encrypting, each recipient's certificate is checked by the tenant against the virtual
//! certificate collection and its CRL (`purpose: encrypt`); one that does not validate refuses
//! the message ([`recipient_refusal`]).
//!
//! An entry of an algorithm list with a provider's OID after the comma names a replacement
//! algorithm in a cryptographic service provider, which the lab does not have: it is skipped, as
//! is RC2 with a 56-bit key (no such cipher in the engine). A list with no usable entry falls
//! back to Exchange's default ("If the parameter is not specified or is not formatted
//! correctly, Outlook on the web uses 6610").

use serde_json::Value;
use smime::cms::SignedForm;
use smime::cms::envelope::{ContentCipher, RecipientIdType, RsaPadding};

use super::shape::{self, EncryptShape, MessageShape, RecipientFacts, Refusal, Sender, SignShape};
use scenario::model::{ChainInclusion, Digest, KeyStorage, RefusalReason};
use scenario::plan::ProtectionRequest;

/// The OWA* settings that shape a message, with Exchange's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwaSettings {
    pub always_sign: bool,
    pub always_encrypt: bool,
    pub check_crl_on_send: bool,
    pub clear_sign: bool,
    pub encryption_algorithms: String,
    pub include_chain_and_root: bool,
    pub include_chain_without_root: bool,
    pub include_capabilities: bool,
    pub only_use_smart_card: bool,
    pub signed_email_certificate_inclusion: bool,
    pub signing_algorithms: String,
    pub triple_wrap: bool,
    pub use_key_identifier: bool,
}

/// Exchange's defaults for the settings (`Get-SmimeConfig` on a new tenant).
pub const DEFAULT_SIGNING_ALGORITHMS: &str = scenario::model::OWA_DEFAULT_SIGNING_ALGORITHMS;
pub const DEFAULT_ENCRYPTION_ALGORITHMS: &str = scenario::model::OWA_DEFAULT_ENCRYPTION_ALGORITHMS;

impl Default for OwaSettings {
    fn default() -> Self {
        OwaSettings {
            always_sign: false,
            always_encrypt: false,
            check_crl_on_send: false,
            clear_sign: true,
            encryption_algorithms: DEFAULT_ENCRYPTION_ALGORITHMS.to_owned(),
            include_chain_and_root: false,
            include_chain_without_root: false,
            include_capabilities: false,
            only_use_smart_card: false,
            signed_email_certificate_inclusion: true,
            signing_algorithms: DEFAULT_SIGNING_ALGORITHMS.to_owned(),
            triple_wrap: false,
            use_key_identifier: false,
        }
    }
}

impl OwaSettings {
    /// Reads the object `Get-SmimeConfig` returns. A setting that is absent or null keeps its
    /// default; one of the wrong type is an error naming it.
    pub fn from_config(config: &Value) -> Result<Self, String> {
        let d = OwaSettings::default();
        let flag = |name: &str, default: bool| -> Result<bool, String> {
            match &config[name] {
                Value::Null => Ok(default),
                Value::Bool(b) => Ok(*b),
                other => Err(format!(
                    "Get-SmimeConfig answered {name} = {other}, not true or false"
                )),
            }
        };
        let text = |name: &str, default: &str| -> Result<String, String> {
            match &config[name] {
                Value::Null => Ok(default.to_owned()),
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "Get-SmimeConfig answered {name} = {other}, not a string"
                )),
            }
        };
        Ok(OwaSettings {
            always_sign: flag("OWAAlwaysSign", d.always_sign)?,
            always_encrypt: flag("OWAAlwaysEncrypt", d.always_encrypt)?,
            check_crl_on_send: flag("OWACheckCRLOnSend", d.check_crl_on_send)?,
            clear_sign: flag("OWAClearSign", d.clear_sign)?,
            encryption_algorithms: text("OWAEncryptionAlgorithms", &d.encryption_algorithms)?,
            include_chain_and_root: flag(
                "OWAIncludeCertificateChainAndRootCertificate",
                d.include_chain_and_root,
            )?,
            include_chain_without_root: flag(
                "OWAIncludeCertificateChainWithoutRootCertificate",
                d.include_chain_without_root,
            )?,
            include_capabilities: flag(
                "OWAIncludeSMIMECapabilitiesInMessage",
                d.include_capabilities,
            )?,
            only_use_smart_card: flag("OWAOnlyUseSmartCard", d.only_use_smart_card)?,
            signed_email_certificate_inclusion: flag(
                "OWASignedEmailCertificateInclusion",
                d.signed_email_certificate_inclusion,
            )?,
            signing_algorithms: text("OWASigningAlgorithms", &d.signing_algorithms)?,
            triple_wrap: flag("OWATripleWrapSignedEncryptedMail", d.triple_wrap)?,
            use_key_identifier: flag("OWAUseKeyIdentifier", d.use_key_identifier)?,
        })
    }

    /// The message is signed: asked for, or `OWAAlwaysSign`.
    pub fn signs(&self, request: &ProtectionRequest) -> bool {
        request.sign || self.always_sign
    }

    /// The message is encrypted: asked for, or `OWAAlwaysEncrypt`.
    pub fn encrypts(&self, request: &ProtectionRequest) -> bool {
        request.encrypt || self.always_encrypt
    }
}

/// The digest of the first entry of `OWASigningAlgorithms` the lab supports.
pub fn first_digest(list: &str) -> Option<Digest> {
    all_digests(list).first().copied()
}

/// The cipher of the first entry of `OWAEncryptionAlgorithms` the lab supports.
pub fn first_cipher(list: &str) -> Option<ContentCipher> {
    all_ciphers(list).first().copied()
}

/// Every supported entry of a list, in order (for the smimeCapabilities attribute). The one
/// reading of the lists is the scenario crate's, which validation uses too.
fn all_ciphers(list: &str) -> Vec<ContentCipher> {
    scenario::model::owa_ciphers(list)
}

fn all_digests(list: &str) -> Vec<Digest> {
    scenario::model::owa_digests(list)
}

/// The certificates a signed message carries under the three inclusion settings.
pub fn chain_inclusion(settings: &OwaSettings) -> ChainInclusion {
    if !settings.signed_email_certificate_inclusion {
        // "Do not include signing and encrypting certificates": the engine still carries the
        // signing certificate (a signature has to be checkable from the message in the lab,
        // where no reader looks certificates up), so this is the least it sends.
        ChainInclusion::None
    } else if settings.include_chain_and_root {
        ChainInclusion::ChainAndRoot
    } else if settings.include_chain_without_root {
        ChainInclusion::Chain
    } else {
        ChainInclusion::None
    }
}

/// What Outlook on the web sends for `request` under `settings`, or why it refuses. The CRL
/// check on send needs the tenant and comes after: [`needs_crl_check`], [`crl_refusal`].
pub fn shape(
    settings: &OwaSettings,
    request: &ProtectionRequest,
    sender: &Sender,
    recipients: &[RecipientFacts],
) -> Result<MessageShape, Refusal> {
    let mut notes = Vec::new();
    let signs = settings.signs(request);
    let encrypts = settings.encrypts(request);
    if signs && !request.sign {
        notes.push("signed: OWAAlwaysSign".to_owned());
    }
    if encrypts && !request.encrypt {
        notes.push("encrypted: OWAAlwaysEncrypt".to_owned());
    }
    if signs {
        let storage = shape::signing_key(sender)?;
        if settings.only_use_smart_card && storage == KeyStorage::Software {
            return Err(Refusal::new(
                RefusalReason::OWAOnlyUseSmartCard,
                "OWAOnlyUseSmartCard is true and the sender's signing key is a software certificate",
            ));
        }
    }
    let encrypt = if encrypts {
        shape::recipient_certificates(recipients)?;
        let recipient_id = match request.options.recipient_id {
            Some(id) => id,
            None if settings.use_key_identifier => {
                notes.push("recipients by subject key identifier: OWAUseKeyIdentifier".to_owned());
                RecipientIdType::SubjectKeyIdentifier
            }
            None => RecipientIdType::IssuerAndSerialNumber,
        };
        let to_self = shape::to_self(sender);
        shape::addressable(recipient_id, recipients, sender, to_self)?;
        let cipher = match request.options.cipher {
            Some(cipher) => {
                notes.push(format!("cipher {}: the message's options", cipher.name()));
                cipher
            }
            None => match first_cipher(&settings.encryption_algorithms) {
                Some(cipher) => {
                    notes.push(format!(
                        "cipher {}: OWAEncryptionAlgorithms {:?}",
                        cipher.name(),
                        settings.encryption_algorithms
                    ));
                    cipher
                }
                None => {
                    let cipher = first_cipher(DEFAULT_ENCRYPTION_ALGORITHMS)
                        .unwrap_or(ContentCipher::Aes256Cbc);
                    notes.push(format!(
                        "cipher {}: OWAEncryptionAlgorithms {:?} has no entry the lab supports, so Exchange's default {DEFAULT_ENCRYPTION_ALGORITHMS}",
                        cipher.name(),
                        settings.encryption_algorithms
                    ));
                    cipher
                }
            },
        };
        Some(EncryptShape {
            cipher,
            rsa_padding: request.options.rsa_padding.unwrap_or(RsaPadding::Pkcs1v15),
            recipient_id,
            to_self,
        })
    } else {
        None
    };
    let sign = if signs {
        let digest = match request.options.digest {
            Some(digest) => {
                notes.push(format!("digest {}: the message's options", digest.name()));
                digest
            }
            None => match first_digest(&settings.signing_algorithms) {
                Some(digest) => {
                    notes.push(format!(
                        "digest {}: OWASigningAlgorithms {:?}",
                        digest.name(),
                        settings.signing_algorithms
                    ));
                    digest
                }
                None => {
                    notes.push(format!(
                        "digest sha1: OWASigningAlgorithms {:?} has no entry the lab supports, so Exchange's default {DEFAULT_SIGNING_ALGORITHMS}",
                        settings.signing_algorithms
                    ));
                    Digest::Sha1
                }
            },
        };
        let form = match request.opaque {
            Some(true) => SignedForm::OpaqueSigned,
            Some(false) => SignedForm::ClearSigned,
            None if settings.clear_sign => SignedForm::ClearSigned,
            None => {
                notes.push("opaque-signed: OWAClearSign false".to_owned());
                SignedForm::OpaqueSigned
            }
        };
        let include = match request.options.include_chain {
            Some(include) => include,
            None => {
                let include = chain_inclusion(settings);
                if !settings.signed_email_certificate_inclusion {
                    notes.push("OWASignedEmailCertificateInclusion false: only the signing certificate (the engine always carries it)".to_owned());
                }
                include
            }
        };
        let capabilities = if settings.include_capabilities {
            notes.push("smimeCapabilities: OWAIncludeSMIMECapabilitiesInMessage".to_owned());
            all_ciphers(&settings.encryption_algorithms)
                .into_iter()
                .filter_map(shape::cipher_capability)
                .chain(
                    all_digests(&settings.signing_algorithms)
                        .into_iter()
                        .filter_map(shape::digest_capability),
                )
                .collect()
        } else {
            Vec::new()
        };
        Some(SignShape {
            digest,
            form,
            include,
            capabilities,
        })
    } else {
        None
    };
    let both = sign.is_some() && encrypt.is_some();
    let triple_wrap = both && request.triple_wrap.unwrap_or(settings.triple_wrap);
    if triple_wrap && request.triple_wrap.is_none() {
        notes.push("triple-wrapped: OWATripleWrapSignedEncryptedMail".to_owned());
    }
    Ok(MessageShape {
        sign,
        encrypt,
        triple_wrap,
        notes,
    })
}

/// `OWACheckCRLOnSend`: "When the CRL distribution point is inaccessible, Outlook on the web
/// displays a warning dialog box and prevents signed or encrypted messages from being sent."
pub fn needs_crl_check(settings: &OwaSettings, shape: &MessageShape) -> bool {
    settings.check_crl_on_send && (shape.sign.is_some() || shape.encrypt.is_some())
}

/// The refusal when the tenant's check of the sender's certificate answers `sendAllowed: false`.
pub fn crl_refusal(reasons: &[String]) -> Refusal {
    Refusal::new(
        RefusalReason::OWACheckCRLOnSend,
        format!(
            "OWACheckCRLOnSend is true and the sender's certificate could not be checked against its CRL{}",
            if reasons.is_empty() {
                String::new()
            } else {
                format!(": {}", reasons.join("; "))
            }
        ),
    )
}

/// Why a `Set-SmimeConfig` parameter the tenant accepts changes nothing any emulated client
/// does; `None` for the parameters that are emulated (this module, and the tenant's
/// validation for SMIMECertificateIssuingCA and the CRL settings). The ledger
/// (harness/tenant/FIDELITY.md, task FO) lists every parameter.
pub fn not_emulated(parameter: &str) -> Option<&'static str> {
    Some(match parameter {
        "OWABCCEncryptedEmailForking" => {
            "the lab sends one message whose RecipientInfos hold every To, Cc and Bcc recipient (mode 2, \"One encrypted message without Bcc forking\") whatever the setting"
        }
        "OWAAllowUserChoiceOfSigningCertificate" => {
            "the sender has one signing identity per client and no user makes a choice"
        }
        "OWAUseSecondaryProxiesWhenFindingCertificates" => {
            "the tenant's lookup finds recipients by their primary address only"
        }
        "OWADLExpansionTimeout" => "the tenant has no distribution groups",
        "OWASenderCertificateAttributesToDisplay" => {
            "no reading pane is modelled; a sender mismatch is the verdict signer-mismatch whatever the setting"
        }
        "NoSignOnReply" => {
            "it applies to new Outlook for Windows only, which the lab does not emulate, and the lab has no reply flow"
        }
        "OWACopyRecipientHeaders" => {
            "copying recipient headers into the signed part is not modelled"
        }
        "OWAEncryptTemporaryBuffers" => {
            "client-side memory buffers have no observable effect on the message"
        }
        "OWAForceSMIMEClientUpgrade" => "the lab has no S/MIME control versions",
        _ => return None,
    })
}

/// The refusal when the tenant's check of recipients' certificates (`purpose: encrypt`) answers
/// `sendAllowed: false` for some: Outlook's "had problems encrypting this message because the
/// following recipients had missing or invalid certificates".
pub fn recipient_refusal(recipients: &[String]) -> Refusal {
    Refusal::new(
        RefusalReason::NoRecipientCertificate,
        format!(
            "invalid certificate for {}: it does not validate against the virtual certificate collection (SMIMECertificateIssuingCA), which is all Exchange Online validates with",
            recipients.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::clients::shape::fixtures::{self, request, sender};
    use scenario::model::MessageOptions;
    use serde_json::json;
    use smime::cms::attributes::Capability;

    fn recipient(mailbox: &str, has_ski: bool) -> RecipientFacts {
        fixtures::recipient(mailbox, has_ski, None)
    }

    fn owa(settings: &OwaSettings, request: &ProtectionRequest) -> Result<MessageShape, Refusal> {
        shape(
            settings,
            request,
            &sender(KeyStorage::Software),
            &[recipient("carol@contoso.com", true)],
        )
    }

    #[test]
    fn settings_read_from_get_smime_config() {
        let exchange_defaults = json!({
            "Identity": "SmimeConfig", "OWAClearSign": true, "OWASigningAlgorithms": "8004",
            "OWAEncryptionAlgorithms": "6610", "OWASignedEmailCertificateInclusion": true,
            "OWAAlwaysSign": false, "SMIMECertificateIssuingCA": null,
        });
        assert_eq!(
            OwaSettings::from_config(&exchange_defaults),
            Ok(OwaSettings::default())
        );
        let set = json!({ "OWAClearSign": false, "OWAUseKeyIdentifier": true, "OWASigningAlgorithms": "800C;8004" });
        let settings = OwaSettings::from_config(&set).expect("reads");
        assert!(!settings.clear_sign && settings.use_key_identifier);
        assert_eq!(settings.signing_algorithms, "800C;8004");
        let wrong = OwaSettings::from_config(&json!({ "OWAClearSign": "yes" }))
            .expect_err("a string is not a flag");
        assert!(wrong.contains("OWAClearSign"), "{wrong}");
    }

    #[test]
    fn algorithm_lists_give_their_first_supported_entry() {
        assert_eq!(first_digest("8004"), Some(Digest::Sha1));
        assert_eq!(first_digest("800C;8004"), Some(Digest::Sha256));
        assert_eq!(first_digest("800d;800C"), Some(Digest::Sha384));
        assert_eq!(first_digest("800E"), Some(Digest::Sha512));
        assert_eq!(first_digest("8003"), Some(Digest::Md5));
        assert_eq!(first_digest("800C,1.2.3.4;8004"), Some(Digest::Sha1));
        assert_eq!(first_digest("6610"), None);
        assert_eq!(first_digest(""), None);

        assert_eq!(first_cipher("6610"), Some(ContentCipher::Aes256Cbc));
        assert_eq!(first_cipher("660E"), Some(ContentCipher::Aes128Cbc));
        assert_eq!(first_cipher("660f;6610"), Some(ContentCipher::Aes192Cbc));
        assert_eq!(first_cipher("6603"), Some(ContentCipher::DesEde3Cbc));
        assert_eq!(first_cipher("6601"), Some(ContentCipher::DesCbc));
        assert_eq!(first_cipher("6602:128"), Some(ContentCipher::Rc2Cbc128));
        assert_eq!(first_cipher("6602"), Some(ContentCipher::Rc2Cbc128));
        assert_eq!(first_cipher("6602:64"), Some(ContentCipher::Rc2Cbc64));
        assert_eq!(first_cipher("6602:40"), Some(ContentCipher::Rc2Cbc40));
        assert_eq!(
            first_cipher("6602:56;6603"),
            Some(ContentCipher::DesEde3Cbc),
            "no RC2-56 in the engine"
        );
        assert_eq!(
            first_cipher("6603,1.2.840.113549.3.7;660E"),
            Some(ContentCipher::Aes128Cbc),
            "a provider's replacement algorithm is not here"
        );
        assert_eq!(first_cipher("800C"), None);
    }

    #[test]
    fn exchange_defaults_sign_sha1_clear_with_the_signer_only_and_encrypt_aes256() {
        let shape = owa(&OwaSettings::default(), &request(true, true)).expect("sends");
        let sign = shape.sign.as_ref().expect("signed");
        assert_eq!(sign.digest, Digest::Sha1);
        assert_eq!(sign.form, SignedForm::ClearSigned);
        assert_eq!(sign.include, ChainInclusion::None);
        assert!(sign.capabilities.is_empty());
        let encrypt = shape.encrypt.as_ref().expect("encrypted");
        assert_eq!(encrypt.cipher, ContentCipher::Aes256Cbc);
        assert_eq!(encrypt.recipient_id, RecipientIdType::IssuerAndSerialNumber);
        assert_eq!(encrypt.rsa_padding, RsaPadding::Pkcs1v15);
        assert!(encrypt.to_self);
        assert!(!shape.triple_wrap);
        assert_eq!(shape.protection(), "signed+encrypted");
    }

    #[test]
    fn clear_sign_false_is_opaque_unless_the_message_says_otherwise() {
        let settings = OwaSettings {
            clear_sign: false,
            ..OwaSettings::default()
        };
        let opaque = owa(&settings, &request(true, false)).expect("sends");
        assert_eq!(opaque.protection(), "opaque-signed");
        let clear = owa(
            &settings,
            &ProtectionRequest {
                opaque: Some(false),
                ..request(true, false)
            },
        )
        .expect("sends");
        assert_eq!(clear.protection(), "clear-signed");
    }

    #[test]
    fn algorithm_settings_choose_digest_and_cipher_unless_the_message_does() {
        let settings = OwaSettings {
            signing_algorithms: "800C;8004".into(),
            encryption_algorithms: "660E;6610".into(),
            ..OwaSettings::default()
        };
        let shape = owa(&settings, &request(true, true)).expect("sends");
        assert_eq!(shape.sign.as_ref().map(|s| s.digest), Some(Digest::Sha256));
        assert_eq!(
            shape.encrypt.as_ref().map(|e| e.cipher),
            Some(ContentCipher::Aes128Cbc)
        );
        assert!(
            shape
                .notes
                .iter()
                .any(|n| n.contains("OWASigningAlgorithms"))
        );
        let overridden = owa(
            &settings,
            &ProtectionRequest {
                options: MessageOptions {
                    digest: Some(Digest::Sha512),
                    cipher: Some(ContentCipher::Aes256Gcm),
                    ..MessageOptions::default()
                },
                ..request(true, true)
            },
        )
        .expect("sends");
        assert_eq!(
            overridden.sign.as_ref().map(|s| s.digest),
            Some(Digest::Sha512)
        );
        assert_eq!(
            overridden.encrypt.as_ref().map(|e| e.cipher),
            Some(ContentCipher::Aes256Gcm)
        );
        // Nothing usable: Exchange's defaults.
        let unusable = OwaSettings {
            signing_algorithms: "800C,1.2.3".into(),
            encryption_algorithms: "6602:56".into(),
            ..OwaSettings::default()
        };
        let fallback = owa(&unusable, &request(true, true)).expect("sends");
        assert_eq!(fallback.sign.map(|s| s.digest), Some(Digest::Sha1));
        assert_eq!(
            fallback.encrypt.map(|e| e.cipher),
            Some(ContentCipher::Aes256Cbc)
        );
    }

    #[test]
    fn chain_inclusion_settings() {
        let with = |and_root, without_root, inclusion| OwaSettings {
            include_chain_and_root: and_root,
            include_chain_without_root: without_root,
            signed_email_certificate_inclusion: inclusion,
            ..OwaSettings::default()
        };
        assert_eq!(
            chain_inclusion(&with(false, false, true)),
            ChainInclusion::None
        );
        assert_eq!(
            chain_inclusion(&with(false, true, true)),
            ChainInclusion::Chain
        );
        assert_eq!(
            chain_inclusion(&with(true, false, true)),
            ChainInclusion::ChainAndRoot
        );
        assert_eq!(
            chain_inclusion(&with(true, true, true)),
            ChainInclusion::ChainAndRoot
        );
        assert_eq!(
            chain_inclusion(&with(true, true, false)),
            ChainInclusion::None
        );
        let shape = owa(&with(false, true, true), &request(true, false)).expect("sends");
        assert_eq!(shape.sign.map(|s| s.include), Some(ChainInclusion::Chain));
        let overridden = owa(
            &with(false, true, true),
            &ProtectionRequest {
                options: MessageOptions {
                    include_chain: Some(ChainInclusion::ChainAndRoot),
                    ..MessageOptions::default()
                },
                ..request(true, false)
            },
        )
        .expect("sends");
        assert_eq!(
            overridden.sign.map(|s| s.include),
            Some(ChainInclusion::ChainAndRoot)
        );
    }

    #[test]
    fn capabilities_list_the_configured_algorithms() {
        let settings = OwaSettings {
            include_capabilities: true,
            signing_algorithms: "800C;8004;8003".into(),
            encryption_algorithms: "6610;6603;6602:40".into(),
            ..OwaSettings::default()
        };
        let shape = owa(&settings, &request(true, false)).expect("sends");
        assert_eq!(
            shape.sign.expect("signed").capabilities,
            vec![
                Capability::Aes256Cbc,
                Capability::TripleDesCbc,
                Capability::Rc2Cbc40,
                Capability::Sha256,
                Capability::Sha1
            ]
        );
    }

    #[test]
    fn key_identifier_names_recipients_by_ski_and_refuses_a_certificate_without() {
        let settings = OwaSettings {
            use_key_identifier: true,
            ..OwaSettings::default()
        };
        let shape = owa(&settings, &request(false, true)).expect("sends");
        assert_eq!(
            shape.encrypt.map(|e| e.recipient_id),
            Some(RecipientIdType::SubjectKeyIdentifier)
        );
        let carol_without_ski = [recipient("carol@contoso.com", false)];
        let refused = super::shape(
            &settings,
            &request(false, true),
            &sender(KeyStorage::Software),
            &carol_without_ski,
        )
        .expect_err("carol cannot be named");
        assert_eq!(refused.reason, RefusalReason::NoRecipientCertificate);
        // Named by issuer and serial, she can.
        let by_serial = ProtectionRequest {
            options: MessageOptions {
                recipient_id: Some(RecipientIdType::IssuerAndSerialNumber),
                ..MessageOptions::default()
            },
            ..request(false, true)
        };
        assert!(
            super::shape(
                &settings,
                &by_serial,
                &sender(KeyStorage::Software),
                &carol_without_ski
            )
            .is_ok()
        );
    }

    #[test]
    fn triple_wrap_needs_both_and_the_message_may_decline() {
        let settings = OwaSettings {
            triple_wrap: true,
            ..OwaSettings::default()
        };
        assert!(
            owa(&settings, &request(true, true))
                .expect("sends")
                .triple_wrap
        );
        assert!(
            !owa(&settings, &request(true, false))
                .expect("sends")
                .triple_wrap
        );
        let declined = ProtectionRequest {
            triple_wrap: Some(false),
            ..request(true, true)
        };
        assert!(!owa(&settings, &declined).expect("sends").triple_wrap);
    }

    #[test]
    fn always_sign_and_encrypt() {
        let settings = OwaSettings {
            always_sign: true,
            always_encrypt: true,
            ..OwaSettings::default()
        };
        let shape = owa(&settings, &request(false, false)).expect("sends");
        assert_eq!(shape.protection(), "signed+encrypted");
        let nobody = super::shape(
            &settings,
            &request(false, false),
            &sender(KeyStorage::Software),
            &[RecipientFacts {
                mailbox: "carol@contoso.com".into(),
                certificate: None,
            }],
        );
        assert_eq!(
            nobody.map_err(|r| r.reason),
            Err(RefusalReason::NoRecipientCertificate)
        );
    }

    #[test]
    fn smart_card_only_refuses_a_software_key() {
        let settings = OwaSettings {
            only_use_smart_card: true,
            ..OwaSettings::default()
        };
        let recipients = [recipient("carol@contoso.com", true)];
        let refused = super::shape(
            &settings,
            &request(true, false),
            &sender(KeyStorage::Software),
            &recipients,
        );
        assert_eq!(
            refused.map_err(|r| r.reason),
            Err(RefusalReason::OWAOnlyUseSmartCard)
        );
        assert!(
            super::shape(
                &settings,
                &request(true, false),
                &sender(KeyStorage::SmartCard),
                &recipients
            )
            .is_ok()
        );
        // Encrypting uses no key of the sender's.
        assert!(
            super::shape(
                &settings,
                &request(false, true),
                &sender(KeyStorage::Software),
                &recipients
            )
            .is_ok()
        );
    }

    #[test]
    fn crl_check_on_send_applies_to_protected_mail_only() {
        let settings = OwaSettings {
            check_crl_on_send: true,
            ..OwaSettings::default()
        };
        for (sign, encrypt, needed) in [
            (true, false, true),
            (false, true, true),
            (true, true, true),
            (false, false, false),
        ] {
            let shape = owa(&settings, &request(sign, encrypt)).expect("sends");
            assert_eq!(needs_crl_check(&settings, &shape), needed);
            assert!(!needs_crl_check(&OwaSettings::default(), &shape));
        }
        let refusal = crl_refusal(&["the CRL is offline".to_owned()]);
        assert_eq!(refusal.reason, RefusalReason::OWACheckCRLOnSend);
        assert!(refusal.why.ends_with(": the CRL is offline"));
    }

    #[test]
    fn parameters_not_emulated_say_why_and_emulated_ones_do_not() {
        for name in [
            "OWABCCEncryptedEmailForking",
            "OWAAllowUserChoiceOfSigningCertificate",
            "OWAUseSecondaryProxiesWhenFindingCertificates",
            "OWADLExpansionTimeout",
            "OWASenderCertificateAttributesToDisplay",
            "NoSignOnReply",
            "OWACopyRecipientHeaders",
            "OWAEncryptTemporaryBuffers",
            "OWAForceSMIMEClientUpgrade",
        ] {
            assert!(
                not_emulated(name).is_some_and(|why| !why.is_empty()),
                "{name}"
            );
        }
        for name in [
            "OWAAlwaysSign",
            "OWAClearSign",
            "OWACheckCRLOnSend",
            "OWADisableCRLCheck",
            "OWASignedEmailCertificateInclusion",
            "SMIMECertificateIssuingCA",
        ] {
            assert_eq!(not_emulated(name), None, "{name}");
        }
    }

    #[test]
    fn recipient_refusal_names_each_recipient() {
        let refusal = recipient_refusal(&["carol@contoso.com (untrusted)".to_owned()]);
        assert_eq!(refusal.reason, RefusalReason::NoRecipientCertificate);
        assert!(
            refusal.why.contains("carol@contoso.com (untrusted)"),
            "{}",
            refusal.why
        );
        assert!(
            refusal.why.contains("SMIMECertificateIssuingCA"),
            "{}",
            refusal.why
        );
    }

    #[test]
    fn no_signing_certificate() {
        let refused = super::shape(
            &OwaSettings::default(),
            &request(true, false),
            &Sender {
                signing: None,
                own_certificate: None,
            },
            &[],
        );
        assert_eq!(
            refused.map_err(|r| r.reason),
            Err(RefusalReason::NoSigningCertificate)
        );
    }
}
