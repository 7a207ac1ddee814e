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
//! | `OWASignedEmailCertificateInclusion` (true) | the sender's signing and encryption certificates in signed mail; false: neither ([`own_certificates`]) |
//! | `OWABCCEncryptedEmailForking` (0) | an encrypted message's Bcc recipients get one message each (0), one together (1) or none of their own (2) ([`fork_bcc`]) |
//! | `OWAIncludeSMIMECapabilitiesInMessage` (false) | the smimeCapabilities attribute, listing the two algorithm settings |
//! | `OWAUseKeyIdentifier` (false) | recipients named by subject key identifier |
//! | `OWATripleWrapSignedEncryptedMail` (false) | signed and encrypted mail is signed, encrypted, signed |
//! | `OWAOnlyUseSmartCard` (false) | signing with a software key is refused; recipients decrypt with smart-card keys only (`execute::receive`) |
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
use smime::cms::envelope::{ContentCipher, RecipientIdType, RsaPadding};
use smime::cms::{OwnCertificates, SignedForm};

use super::shape::{self, EncryptShape, MessageShape, RecipientFacts, Refusal, Sender, SignShape};
use scenario::model::{ChainInclusion, Digest, KeyStorage, RefusalReason};
use scenario::plan::ProtectionRequest;

/// The OWA* settings that shape a message, with Exchange's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwaSettings {
    pub always_sign: bool,
    /// `OWABCCEncryptedEmailForking`: 0, 1 or 2 ([`fork_bcc`]).
    pub bcc_forking: u32,
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
            bcc_forking: 0,
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
        let number = |name: &str, default: u32| -> Result<u32, String> {
            match &config[name] {
                Value::Null => Ok(default),
                other => other
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        format!("Get-SmimeConfig answered {name} = {other}, not a UInt32")
                    }),
            }
        };
        Ok(OwaSettings {
            always_sign: flag("OWAAlwaysSign", d.always_sign)?,
            bcc_forking: number("OWABCCEncryptedEmailForking", d.bcc_forking)?,
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

/// The issuers a signed message carries under the two chain settings.
pub fn chain_inclusion(settings: &OwaSettings) -> ChainInclusion {
    if settings.include_chain_and_root {
        ChainInclusion::ChainAndRoot
    } else if settings.include_chain_without_root {
        ChainInclusion::Chain
    } else {
        ChainInclusion::None
    }
}

/// The sender's own certificates a signed message carries, `OWASignedEmailCertificateInclusion`
/// (Set-SmimeConfig): "$true: Outlook on the web and the S/MIME control include both signing and
/// encrypting certificates with signed email messages. This is the default value." "$false:
/// Outlook on the web and the S/MIME control do not include signing and encrypting certificates
/// with signed email messages." A reader then needs the directory: "Recipients need to retrieve
/// the certificate from a directory, or from the sender." The chain settings still decide the
/// issuers ([`chain_inclusion`]).
pub fn own_certificates(settings: &OwaSettings) -> OwnCertificates {
    if settings.signed_email_certificate_inclusion {
        OwnCertificates::SigningAndEncryption
    } else {
        OwnCertificates::Neither
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
        let include = request
            .options
            .include_chain
            .unwrap_or_else(|| chain_inclusion(settings));
        let own_certificates = own_certificates(settings);
        notes.push(
            if settings.signed_email_certificate_inclusion {
                "OWASignedEmailCertificateInclusion true: the signing and the encryption certificate are carried"
            } else {
                "OWASignedEmailCertificateInclusion false: neither the signing nor the encryption certificate is carried"
            }
            .to_owned(),
        );
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
            own_certificates,
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

/// The messages Outlook on the web sends for one encrypted message with Bcc recipients, each
/// with its recipients (To and Cc first: `open`), under `OWABCCEncryptedEmailForking`
/// (Set-SmimeConfig): "The OWABCCEncryptedEmailForking parameter specifies how Bcc messages are
/// encrypted in Outlook on the web. Valid values are: 0: One encrypted message per Bcc
/// recipient. This is the default value. 1: One single encrypted message for all Bcc
/// recipients. 2: One encrypted message without Bcc forking."
///
/// Each message is encrypted to its own recipients only, so that under 0 and 1 no Bcc recipient
/// is named in the RecipientInfos of a message others receive; under 2 every recipient is in the
/// one envelope. A value the page does not list is read as the default (the tenant stores any
/// UInt32, as Exchange does). An unencrypted message is never forked: the setting is about
/// encrypted messages.
pub fn fork_bcc<T: Clone>(mode: u32, encrypted: bool, open: &[T], bcc: &[T]) -> Vec<Vec<T>> {
    if !encrypted || bcc.is_empty() || mode == 2 {
        return vec![open.iter().chain(bcc).cloned().collect()];
    }
    let mut copies = Vec::new();
    if !open.is_empty() {
        copies.push(open.to_vec());
    }
    if mode == 1 {
        copies.push(bcc.to_vec());
    } else {
        copies.extend(bcc.iter().map(|b| vec![b.clone()]));
    }
    copies
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
        "OWAAllowUserChoiceOfSigningCertificate" => {
            "the sender has one signing identity per client and no user makes a choice"
        }
        "OWADLExpansionTimeout" => "the tenant has no distribution groups",
        "OWASenderCertificateAttributesToDisplay" => {
            "no reading pane is modelled; a sender mismatch is the verdict signer-mismatch whatever the setting"
        }
        "NoSignOnReply" => {
            "it applies to new Outlook for Windows only, which the lab does not emulate (the lab's replies, `reply-to`, are written on Outlook for iOS and Android)"
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
/// following recipients had missing or invalid certificates". Each entry says why: a path that
/// does not validate against the virtual certificate collection, or a certificate that names
/// none of the recipient's addresses it may be matched against
/// (`OWAUseSecondaryProxiesWhenFindingCertificates`, the tenant's `recipient_address`).
pub fn recipient_refusal(recipients: &[String]) -> Refusal {
    Refusal::new(
        RefusalReason::NoRecipientCertificate,
        format!(
            "invalid certificate for {}: Outlook on the web encrypts only to a certificate that validates against the virtual certificate collection (SMIMECertificateIssuingCA, which is all Exchange Online validates with) and is the recipient's",
            recipients.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests;
