//! An Exchange ActiveSync phone: the six S/MIME parameters of its mailbox's mobile device mailbox
//! policy (the one `Get-CASMailbox` shows as `ActiveSyncMailboxPolicy`, read with
//! `Get-MobileDeviceMailboxPolicy`; MS-ASPROV 2.2.2), turned into the
//! message's shape or a refusal, as the device enforces them.
//!
//! | parameter (default) | what the phone does |
//! |---|---|
//! | `RequireSignedSMIMEMessages` (false) | refuses to send a message that is not signed |
//! | `RequireEncryptedSMIMEMessages` (false) | refuses to send a message that is not encrypted |
//! | `RequireSignedSMIMEAlgorithm` (SHA1) | signs with SHA-1 or MD5 |
//! | `RequireEncryptionSMIMEAlgorithm` (TripleDES) | encrypts with 3DES, DES or RC2 |
//! | `AllowSMIMEEncryptionAlgorithmNegotiation` (AllowAnyAlgorithmNegotiation) | when a recipient's certificate does not list the required algorithm: `BlockNegotiation` refuses, `OnlyStrongAlgorithmNegotiation` takes the strongest AES every recipient lists, `AllowAnyAlgorithmNegotiation` the strongest of any |
//! | `AllowSMIMESoftCerts` (true) | false: signing with a key installed from a PKCS#12 file is refused (installing it is not) |
//!
//! "Strong" is read as "not weak" in the engine's sense (AES); the specification leaves it to
//! the device. A recipient's certificate that states no capabilities (the lab's never do) is
//! taken to accept the required algorithm, as devices assume.
//!
//! The policy binds: the sender cannot pick another digest or cipher (a scenario whose message
//! options ask for one is refused at validation), and a cipher other than the required one comes
//! only from the negotiation.
//!
//! Otherwise the phone sends as mail clients do: clear-signed, the chain without the root,
//! recipients by issuer and serial number with RSA PKCS#1 v1.5, the sender in the envelope.

use serde_json::Value;
use smime::cms::attributes::Capability;
use smime::cms::envelope::{ContentCipher, RecipientIdType, RsaPadding};
use smime::cms::{OwnCertificates, SignedForm};

use super::shape::{self, EncryptShape, MessageShape, RecipientFacts, Refusal, Sender, SignShape};
use scenario::model::{
    AlgorithmNegotiation, ChainInclusion, KeyStorage, MobileEncryptionAlgorithm,
    MobileSigningAlgorithm, RefusalReason,
};
use scenario::plan::ProtectionRequest;

/// The policy's S/MIME parameters, with Exchange's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MobileSettings {
    pub require_signed: bool,
    pub require_encrypted: bool,
    pub signing_algorithm: MobileSigningAlgorithm,
    pub encryption_algorithm: MobileEncryptionAlgorithm,
    pub negotiation: AlgorithmNegotiation,
    pub allow_soft_certs: bool,
}

impl Default for MobileSettings {
    fn default() -> Self {
        MobileSettings {
            require_signed: false,
            require_encrypted: false,
            signing_algorithm: MobileSigningAlgorithm::SHA1,
            encryption_algorithm: MobileEncryptionAlgorithm::TripleDES,
            negotiation: AlgorithmNegotiation::AllowAnyAlgorithmNegotiation,
            allow_soft_certs: true,
        }
    }
}

impl MobileSettings {
    /// Reads the policy object `Get-MobileDeviceMailboxPolicy` returns (enum values by name, as
    /// the cmdlet shows them). Absent or null keeps the default; a wrong value is an error naming
    /// the parameter.
    pub fn from_policy(policy: &Value) -> Result<Self, String> {
        fn field<T: serde::de::DeserializeOwned>(
            policy: &Value,
            name: &str,
            default: T,
        ) -> Result<T, String> {
            match &policy[name] {
                Value::Null => Ok(default),
                value => serde_json::from_value(value.clone()).map_err(|e| {
                    format!("Get-MobileDeviceMailboxPolicy answered {name} = {value}: {e}")
                }),
            }
        }
        let d = MobileSettings::default();
        Ok(MobileSettings {
            require_signed: field(policy, "RequireSignedSMIMEMessages", d.require_signed)?,
            require_encrypted: field(policy, "RequireEncryptedSMIMEMessages", d.require_encrypted)?,
            signing_algorithm: field(policy, "RequireSignedSMIMEAlgorithm", d.signing_algorithm)?,
            encryption_algorithm: field(
                policy,
                "RequireEncryptionSMIMEAlgorithm",
                d.encryption_algorithm,
            )?,
            negotiation: field(
                policy,
                "AllowSMIMEEncryptionAlgorithmNegotiation",
                d.negotiation,
            )?,
            allow_soft_certs: field(policy, "AllowSMIMESoftCerts", d.allow_soft_certs)?,
        })
    }
}

/// What the phone sends for `request` under `settings`, or why it refuses.
pub fn shape(
    settings: &MobileSettings,
    request: &ProtectionRequest,
    sender: &Sender,
    recipients: &[RecipientFacts],
) -> Result<MessageShape, Refusal> {
    let mut notes = Vec::new();
    if settings.require_signed && !request.sign {
        return Err(Refusal::new(
            RefusalReason::RequireSignedSMIMEMessages,
            "the mobile policy requires signed S/MIME messages (RequireSignedSMIMEMessages) and this one is not signed",
        ));
    }
    if settings.require_encrypted && !request.encrypt {
        return Err(Refusal::new(
            RefusalReason::RequireEncryptedSMIMEMessages,
            "the mobile policy requires encrypted S/MIME messages (RequireEncryptedSMIMEMessages) and this one is not encrypted",
        ));
    }
    if request.sign {
        let storage = shape::signing_key(sender)?;
        if !settings.allow_soft_certs && storage == KeyStorage::Software {
            return Err(Refusal::new(
                RefusalReason::AllowSMIMESoftCerts,
                "AllowSMIMESoftCerts is false and the sender's signing key was installed from a PKCS#12 file (a software certificate)",
            ));
        }
    }
    let required = settings.encryption_algorithm.cipher();
    let encrypt = if request.encrypt {
        shape::recipient_certificates(recipients)?;
        let recipient_id = request
            .options
            .recipient_id
            .unwrap_or(RecipientIdType::IssuerAndSerialNumber);
        let to_self = shape::to_self(sender);
        shape::addressable(recipient_id, recipients, sender, to_self)?;
        // The policy binds: a `cipher` option other than the policy's is refused when the
        // scenario is validated (scenario::validate, `policy_binds`), and one equal to it must
        // not skip the negotiation rules, so the phone always decides here.
        let cipher = negotiate(settings, recipients, &mut notes)?;
        Some(EncryptShape {
            cipher,
            rsa_padding: request.options.rsa_padding.unwrap_or(RsaPadding::Pkcs1v15),
            recipient_id,
            to_self,
        })
    } else {
        None
    };
    let sign = if request.sign {
        // "The RequireSignedSMIMEAlgorithm parameter specifies the algorithm that's used to sign
        // S/MIME messages on the mobile device." A `digest` option cannot change it (refused at
        // validation when it differs).
        let digest = settings.signing_algorithm.digest();
        notes.push(format!(
            "digest {}: RequireSignedSMIMEAlgorithm {:?}",
            digest.name(),
            settings.signing_algorithm
        ));
        // The phone advertises the policy's algorithm first, then what it otherwise reads.
        let mut capabilities: Vec<Capability> =
            shape::cipher_capability(required).into_iter().collect();
        for capability in Capability::DEFAULT {
            if !capabilities.contains(capability) {
                capabilities.push(*capability);
            }
        }
        Some(SignShape {
            digest,
            form: if request.opaque == Some(true) {
                SignedForm::OpaqueSigned
            } else {
                SignedForm::ClearSigned
            },
            include: request
                .options
                .include_chain
                .unwrap_or(ChainInclusion::Chain),
            own_certificates: OwnCertificates::Signing,
            capabilities,
        })
    } else {
        None
    };
    let triple_wrap = sign.is_some() && encrypt.is_some() && request.triple_wrap == Some(true);
    Ok(MessageShape {
        sign,
        encrypt,
        triple_wrap,
        notes,
    })
}

/// The required algorithm when every recipient takes it; otherwise what the negotiation setting
/// allows.
fn negotiate(
    settings: &MobileSettings,
    recipients: &[RecipientFacts],
    notes: &mut Vec<String>,
) -> Result<ContentCipher, Refusal> {
    let required = settings.encryption_algorithm.cipher();
    let certificates: Vec<&shape::CertificateFacts> = recipients
        .iter()
        .filter_map(|r| r.certificate.as_ref())
        .collect();
    let refusing: Vec<&str> = recipients
        .iter()
        .filter(|r| r.certificate.as_ref().is_some_and(|c| !c.accepts(required)))
        .map(|r| r.mailbox.as_str())
        .collect();
    if refusing.is_empty() {
        notes.push(format!(
            "cipher {}: RequireEncryptionSMIMEAlgorithm {:?}",
            required.name(),
            settings.encryption_algorithm
        ));
        return Ok(required);
    }
    let refused = |what: &str| {
        Refusal::new(
            RefusalReason::RequireEncryptionSMIMEAlgorithm,
            format!(
                "the certificate of {} does not list {} (RequireEncryptionSMIMEAlgorithm {:?}) and {what}",
                refusing.join(", "),
                required.display_name(),
                settings.encryption_algorithm
            ),
        )
    };
    // Phones write EnvelopedData only: AES-GCM is not among what they negotiate.
    let negotiated = match settings.negotiation {
        AlgorithmNegotiation::BlockNegotiation => {
            return Err(refused(
                "AllowSMIMEEncryptionAlgorithmNegotiation is BlockNegotiation",
            ));
        }
        AlgorithmNegotiation::OnlyStrongAlgorithmNegotiation => shape::strongest_common(
            &certificates,
            |c| !c.is_aead() && !c.is_weak(),
        )
        .ok_or_else(|| {
            refused(
                "no strong algorithm is common to the recipients (OnlyStrongAlgorithmNegotiation)",
            )
        })?,
        AlgorithmNegotiation::AllowAnyAlgorithmNegotiation => {
            shape::strongest_common(&certificates, |c| !c.is_aead())
                .ok_or_else(|| refused("the recipients list no algorithm in common"))?
        }
    };
    notes.push(format!(
        "cipher {}: negotiated ({:?}) because {} does not list {}",
        negotiated.name(),
        settings.negotiation,
        refusing.join(", "),
        required.display_name()
    ));
    Ok(negotiated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::clients::shape::fixtures::{self, request, sender};
    use scenario::model::Digest;
    use scenario::model::MessageOptions;
    use serde_json::json;

    fn recipient(capabilities: Option<Vec<ContentCipher>>) -> Vec<RecipientFacts> {
        vec![fixtures::recipient("dave@contoso.com", true, capabilities)]
    }

    fn phone(
        settings: &MobileSettings,
        request: &ProtectionRequest,
    ) -> Result<MessageShape, Refusal> {
        shape(
            settings,
            request,
            &sender(KeyStorage::Software),
            &recipient(None),
        )
    }

    fn reason(result: Result<MessageShape, Refusal>) -> Option<RefusalReason> {
        result.err().map(|r| r.reason)
    }

    #[test]
    fn settings_read_from_the_policy() {
        let policy = json!({
            "Identity": "Default", "RequireSignedSMIMEMessages": false,
            "RequireEncryptionSMIMEAlgorithm": "TripleDES", "RequireSignedSMIMEAlgorithm": "SHA1",
            "AllowSMIMEEncryptionAlgorithmNegotiation": "AllowAnyAlgorithmNegotiation",
            "AllowSMIMESoftCerts": true, "AllowBluetooth": "Allow",
        });
        assert_eq!(
            MobileSettings::from_policy(&policy),
            Ok(MobileSettings::default())
        );
        let strict = json!({
            "RequireSignedSMIMEAlgorithm": "MD5", "RequireEncryptionSMIMEAlgorithm": "RC240bit",
            "AllowSMIMEEncryptionAlgorithmNegotiation": "BlockNegotiation", "AllowSMIMESoftCerts": false,
            "RequireEncryptedSMIMEMessages": true,
        });
        let settings = MobileSettings::from_policy(&strict).expect("reads");
        assert_eq!(settings.signing_algorithm, MobileSigningAlgorithm::MD5);
        assert_eq!(
            settings.encryption_algorithm,
            MobileEncryptionAlgorithm::RC240bit
        );
        assert_eq!(settings.negotiation, AlgorithmNegotiation::BlockNegotiation);
        assert!(!settings.allow_soft_certs && settings.require_encrypted);
        let wrong =
            MobileSettings::from_policy(&json!({ "RequireSignedSMIMEAlgorithm": "SHA256" }))
                .expect_err("not a policy value");
        assert!(wrong.contains("RequireSignedSMIMEAlgorithm"), "{wrong}");
    }

    #[test]
    fn defaults_sign_sha1_and_encrypt_3des() {
        let shape = phone(&MobileSettings::default(), &request(true, true)).expect("sends");
        let sign = shape.sign.expect("signed");
        assert_eq!(sign.digest, Digest::Sha1);
        assert_eq!(sign.form, SignedForm::ClearSigned);
        assert_eq!(sign.include, ChainInclusion::Chain);
        assert_eq!(sign.capabilities[0], Capability::TripleDesCbc);
        assert_eq!(
            sign.capabilities
                .iter()
                .filter(|c| **c == Capability::TripleDesCbc)
                .count(),
            1
        );
        let encrypt = shape.encrypt.expect("encrypted");
        assert_eq!(encrypt.cipher, ContentCipher::DesEde3Cbc);
        assert_eq!(encrypt.recipient_id, RecipientIdType::IssuerAndSerialNumber);
        assert!(encrypt.to_self);
    }

    #[test]
    fn every_policy_algorithm_is_used() {
        for algorithm in [
            MobileEncryptionAlgorithm::TripleDES,
            MobileEncryptionAlgorithm::DES,
            MobileEncryptionAlgorithm::RC2128bit,
            MobileEncryptionAlgorithm::RC264bit,
            MobileEncryptionAlgorithm::RC240bit,
        ] {
            let settings = MobileSettings {
                encryption_algorithm: algorithm,
                ..MobileSettings::default()
            };
            let shape = phone(&settings, &request(false, true)).expect("sends");
            assert_eq!(shape.encrypt.map(|e| e.cipher), Some(algorithm.cipher()));
        }
        let md5 = MobileSettings {
            signing_algorithm: MobileSigningAlgorithm::MD5,
            ..MobileSettings::default()
        };
        let shape = phone(&md5, &request(true, false)).expect("sends");
        assert_eq!(shape.sign.map(|s| s.digest), Some(Digest::Md5));
        // The policy binds: options naming other algorithms (which validation refuses) change
        // nothing on the phone.
        let asked_otherwise = phone(
            &md5,
            &ProtectionRequest {
                options: MessageOptions {
                    digest: Some(Digest::Sha256),
                    cipher: Some(ContentCipher::Aes128Cbc),
                    ..MessageOptions::default()
                },
                ..request(true, true)
            },
        )
        .expect("sends");
        assert_eq!(asked_otherwise.sign.map(|s| s.digest), Some(Digest::Md5));
        assert_eq!(
            asked_otherwise.encrypt.map(|e| e.cipher),
            Some(ContentCipher::DesEde3Cbc)
        );
    }

    #[test]
    fn required_signed_and_encrypted() {
        let signed = MobileSettings {
            require_signed: true,
            ..MobileSettings::default()
        };
        assert_eq!(
            reason(phone(&signed, &request(false, false))),
            Some(RefusalReason::RequireSignedSMIMEMessages)
        );
        assert_eq!(
            reason(phone(&signed, &request(false, true))),
            Some(RefusalReason::RequireSignedSMIMEMessages)
        );
        assert!(phone(&signed, &request(true, false)).is_ok());
        let encrypted = MobileSettings {
            require_encrypted: true,
            ..MobileSettings::default()
        };
        assert_eq!(
            reason(phone(&encrypted, &request(true, false))),
            Some(RefusalReason::RequireEncryptedSMIMEMessages)
        );
        assert!(phone(&encrypted, &request(false, true)).is_ok());
    }

    #[test]
    fn soft_certificates_may_be_installed_but_not_sign() {
        let settings = MobileSettings {
            allow_soft_certs: false,
            ..MobileSettings::default()
        };
        let carol = recipient(None);
        let software = sender(KeyStorage::Software);
        assert_eq!(
            reason(shape(&settings, &request(true, false), &software, &carol)),
            Some(RefusalReason::AllowSMIMESoftCerts)
        );
        assert!(
            shape(
                &settings,
                &request(true, false),
                &sender(KeyStorage::SmartCard),
                &carol
            )
            .is_ok()
        );
        assert!(
            shape(&settings, &request(false, true), &software, &carol).is_ok(),
            "encrypting needs no key of the sender's"
        );
    }

    #[test]
    fn negotiation_when_a_recipient_does_not_list_the_algorithm() {
        let aes_only = recipient(Some(vec![
            ContentCipher::Aes256Cbc,
            ContentCipher::Aes128Cbc,
        ]));
        let rc2_only = recipient(Some(vec![ContentCipher::Rc2Cbc40]));
        let with = |negotiation| MobileSettings {
            negotiation,
            ..MobileSettings::default()
        };
        let send = |settings: &MobileSettings, recipients: &[RecipientFacts]| {
            shape(
                settings,
                &request(false, true),
                &sender(KeyStorage::Software),
                recipients,
            )
        };
        let blocked = send(&with(AlgorithmNegotiation::BlockNegotiation), &aes_only);
        let refusal = blocked.expect_err("3DES is required and dave reads only AES");
        assert_eq!(
            refusal.reason,
            RefusalReason::RequireEncryptionSMIMEAlgorithm
        );
        assert!(refusal.why.contains("dave@contoso.com"), "{}", refusal.why);
        let strong = send(
            &with(AlgorithmNegotiation::OnlyStrongAlgorithmNegotiation),
            &aes_only,
        )
        .expect("AES is strong");
        assert_eq!(
            strong.encrypt.map(|e| e.cipher),
            Some(ContentCipher::Aes256Cbc)
        );
        assert_eq!(
            reason(send(
                &with(AlgorithmNegotiation::OnlyStrongAlgorithmNegotiation),
                &rc2_only
            )),
            Some(RefusalReason::RequireEncryptionSMIMEAlgorithm)
        );
        let any = send(
            &with(AlgorithmNegotiation::AllowAnyAlgorithmNegotiation),
            &rc2_only,
        )
        .expect("any algorithm");
        assert_eq!(any.encrypt.map(|e| e.cipher), Some(ContentCipher::Rc2Cbc40));
        // A recipient that lists 3DES, or lists nothing, takes the required algorithm even
        // when negotiation is blocked.
        for recipients in [
            recipient(Some(vec![ContentCipher::DesEde3Cbc])),
            recipient(None),
        ] {
            let shape =
                send(&with(AlgorithmNegotiation::BlockNegotiation), &recipients).expect("sends");
            assert_eq!(
                shape.encrypt.map(|e| e.cipher),
                Some(ContentCipher::DesEde3Cbc)
            );
        }
    }

    #[test]
    fn refusal_order_policy_first() {
        let settings = MobileSettings {
            require_signed: true,
            allow_soft_certs: false,
            ..MobileSettings::default()
        };
        let nothing = Sender {
            signing: None,
            own_certificate: None,
        };
        assert_eq!(
            reason(shape(&settings, &request(false, false), &nothing, &[])),
            Some(RefusalReason::RequireSignedSMIMEMessages)
        );
        assert_eq!(
            reason(shape(&settings, &request(true, false), &nothing, &[])),
            Some(RefusalReason::NoSigningCertificate)
        );
    }
}
