//! `messages`: what is sent after the steps, with which options, and what each recipient must see.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use smime::cms::envelope::{ContentCipher, RecipientIdType, RsaPadding};

use super::{CheckId, Id, LabOffset, MailClient, unlocated_default, unset};

/// A message digest algorithm for signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Digest {
    /// MD5: broken; what `RequireSignedSMIMEAlgorithm: MD5` makes a phone use.
    Md5,
    /// SHA-1: deprecated for signatures; Outlook on the web's default (`8004`).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Digest {
    pub fn name(self) -> &'static str {
        match self {
            Digest::Md5 => "md5",
            Digest::Sha1 => "sha1",
            Digest::Sha256 => "sha256",
            Digest::Sha384 => "sha384",
            Digest::Sha512 => "sha512",
        }
    }
}

/// The scenario's digest names are the engine's algorithms; this is the one place they meet.
impl From<Digest> for smime::cms::DigestAlgorithm {
    fn from(digest: Digest) -> Self {
        match digest {
            Digest::Md5 => smime::cms::DigestAlgorithm::Md5,
            Digest::Sha1 => smime::cms::DigestAlgorithm::Sha1,
            Digest::Sha256 => smime::cms::DigestAlgorithm::Sha256,
            Digest::Sha384 => smime::cms::DigestAlgorithm::Sha384,
            Digest::Sha512 => smime::cms::DigestAlgorithm::Sha512,
        }
    }
}

/// Which certificates a message carries besides the signer's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ChainInclusion {
    /// Only the signing (and encryption) certificates.
    None,
    /// The chain without the root (`OWAIncludeCertificateChainWithoutRootCertificate`).
    Chain,
    /// The chain and the root (`OWAIncludeCertificateChainAndRootCertificate`).
    ChainAndRoot,
}

/// `none` still carries the signer's own certificate: without it a signature cannot be checked
/// from the message, and the engine always includes it.
impl From<ChainInclusion> for smime::cms::CertificateInclusion {
    fn from(inclusion: ChainInclusion) -> Self {
        match inclusion {
            ChainInclusion::None => smime::cms::CertificateInclusion::SignerOnly,
            ChainInclusion::Chain => smime::cms::CertificateInclusion::Chain,
            ChainInclusion::ChainAndRoot => smime::cms::CertificateInclusion::ChainWithRoot,
        }
    }
}

/// Choices the sending client would otherwise make itself (for Outlook on the web, from
/// `smime-config`; for mobile, from `mobile-policy`).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MessageOptions {
    /// The signature's digest algorithm.
    #[serde(default)]
    pub digest: Option<Digest>,
    /// The content-encryption algorithm.
    #[serde(default)]
    pub cipher: Option<ContentCipher>,
    /// Key transport padding for RSA recipients: `pkcs1v15` or `{ oaep: sha256 }`.
    #[serde(default)]
    pub rsa_padding: Option<RsaPadding>,
    /// How recipients are identified in the envelope.
    #[serde(default)]
    pub recipient_id: Option<RecipientIdType>,
    /// Which certificates the signed message carries.
    #[serde(default)]
    pub include_chain: Option<ChainInclusion>,
    /// Sign with this certificate (an id from the PKI) instead of the sender's own, as when a
    /// certificate is shared or borrowed: the signer is then not the From address.
    #[serde(default)]
    #[schemars(with = "Option<Id>")]
    pub signer: Option<Spanned<Id>>,
}

impl MessageOptions {
    /// The options that only apply to a signed message, by their names in the file, and whether
    /// each is given.
    pub fn signing_choices(&self) -> [(&'static str, bool); 3] {
        [
            ("digest", self.digest.is_some()),
            ("include-chain", self.include_chain.is_some()),
            ("signer", self.signer.is_some()),
        ]
    }

    /// The options that only apply to an encrypted message, by their names in the file, and
    /// whether each is given.
    pub fn encryption_choices(&self) -> [(&'static str, bool); 3] {
        [
            ("cipher", self.cipher.is_some()),
            ("rsa-padding", self.rsa_padding.is_some()),
            ("recipient-id", self.recipient_id.is_some()),
        ]
    }

    /// The certificate id to sign with, when not the sender's own.
    pub fn signer_id(&self) -> Option<&str> {
        self.signer.as_ref().map(|s| s.value.as_str())
    }
}

/// The signature verdict the recipient's client reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The signature verifies and the signer's certificate chains to a CA of the virtual
    /// certificate collection, unrevoked, for the From address.
    Valid,
    /// The signature does not verify over the content (tampered, or the wrong key).
    InvalidSignature,
    /// The signer's chain does not reach a root in the virtual certificate collection.
    Untrusted,
    /// The signer's certificate (or one above it) had expired at signing time.
    Expired,
    /// The signer's certificate (or one above it) was not yet valid.
    NotYetValid,
    /// The signer's certificate is listed in its CA's CRL.
    Revoked,
    /// "The online certificate revocation list (CRL) that the certificate chain relies on is
    /// currently offline".
    CrlUnreachable,
    /// The certificate is valid but not for the From address.
    SignerMismatch,
    /// The certificate is not for email protection or not for signing.
    WrongUsage,
    /// An algorithm the verifier refuses: a SHA-1 or MD5 signature, an RSA key below 2048 bits.
    WeakAlgorithm,
    /// The message carries no signature.
    NotSigned,
    /// The message is encrypted and the recipient has no certificate and key installed to open
    /// it, so the signature inside cannot be judged.
    Encrypted,
    /// The message is encrypted and none of the recipient's installed identities opens it (not a
    /// recipient of the envelope, or a key that does not decrypt it).
    CannotDecrypt,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::InvalidSignature => "invalid-signature",
            Verdict::Untrusted => "untrusted",
            Verdict::Expired => "expired",
            Verdict::NotYetValid => "not-yet-valid",
            Verdict::Revoked => "revoked",
            Verdict::CrlUnreachable => "crl-unreachable",
            Verdict::SignerMismatch => "signer-mismatch",
            Verdict::WrongUsage => "wrong-usage",
            Verdict::WeakAlgorithm => "weak-algorithm",
            Verdict::NotSigned => "not-signed",
            Verdict::Encrypted => "encrypted",
            Verdict::CannotDecrypt => "cannot-decrypt",
        }
    }
}

/// Why a client refuses to send. Names from a setting are that setting's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum RefusalReason {
    /// The mobile policy requires encrypted messages and this one is not encrypted.
    RequireEncryptedSMIMEMessages,
    /// The mobile policy requires signed messages and this one is not signed.
    RequireSignedSMIMEMessages,
    /// The mobile policy does not allow software certificates and the key is one.
    AllowSMIMESoftCerts,
    /// The mobile policy's encryption algorithm cannot be used for a recipient and negotiation is
    /// blocked.
    RequireEncryptionSMIMEAlgorithm,
    /// Outlook on the web requires smart-card certificates and the key is a software one.
    OWAOnlyUseSmartCard,
    /// Outlook on the web could not reach a CRL and `OWACheckCRLOnSend` is true.
    OWACheckCRLOnSend,
    /// A recipient has no usable encryption certificate ("missing or invalid certificates").
    NoRecipientCertificate,
    /// The sender has no usable signing certificate on this client.
    NoSigningCertificate,
    /// The sender has no encryption certificate of their own on this client that it will use
    /// (Outlook for iOS and Android: none issued to the primary SMTP address).
    NoEncryptionCertificate,
}

impl RefusalReason {
    pub fn name(self) -> &'static str {
        match self {
            RefusalReason::RequireEncryptedSMIMEMessages => "RequireEncryptedSMIMEMessages",
            RefusalReason::RequireSignedSMIMEMessages => "RequireSignedSMIMEMessages",
            RefusalReason::AllowSMIMESoftCerts => "AllowSMIMESoftCerts",
            RefusalReason::RequireEncryptionSMIMEAlgorithm => "RequireEncryptionSMIMEAlgorithm",
            RefusalReason::OWAOnlyUseSmartCard => "OWAOnlyUseSmartCard",
            RefusalReason::OWACheckCRLOnSend => "OWACheckCRLOnSend",
            RefusalReason::NoRecipientCertificate => "NoRecipientCertificate",
            RefusalReason::NoSigningCertificate => "NoSigningCertificate",
            RefusalReason::NoEncryptionCertificate => "NoEncryptionCertificate",
        }
    }
}

/// What must happen to a message.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MessageExpect {
    /// The sending client refuses to send it. Default false.
    #[serde(default = "unset")]
    #[schemars(with = "bool")]
    pub refused: Spanned<bool>,
    /// Why it is refused (with `refused: true`).
    #[serde(default)]
    #[schemars(with = "Option<RefusalReason>")]
    pub reason: Option<Spanned<RefusalReason>>,
    /// It reaches every recipient's mailbox. Default: true unless refused.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub delivered: Option<Spanned<bool>>,
    /// The signature verdict at every recipient.
    #[serde(default)]
    #[schemars(with = "Option<Verdict>")]
    pub verdict: Option<Spanned<Verdict>>,
    /// Catalogue check ids the verdict must report (`PKI-SKI-001`).
    #[serde(default)]
    #[schemars(with = "Vec<CheckId>")]
    pub reasons: Vec<Spanned<CheckId>>,
    /// Every recipient can decrypt it (with an encrypted message).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub decrypted: Option<Spanned<bool>>,
    /// The recipient's client flags a weak algorithm (3DES, DES, RC2, MD5, SHA-1).
    #[serde(default)]
    pub weak: Option<bool>,
    /// How many messages the SMTP sink receives for this one: Outlook on the web sends the Bcc
    /// recipients of an encrypted message their own copies (`OWABCCEncryptedEmailForking`: 0
    /// one per Bcc recipient, 1 one for all of them, 2 none). Default: not checked.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub messages: Option<Spanned<u32>>,
}

impl Default for MessageExpect {
    fn default() -> Self {
        MessageExpect {
            refused: unset(),
            reason: None,
            delivered: None,
            verdict: None,
            reasons: Vec::new(),
            decrypted: None,
            weak: None,
            messages: None,
        }
    }
}

/// A message one user sends to others.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Message {
    /// The sender's user id.
    #[schemars(with = "Id")]
    pub from: Spanned<Id>,
    /// Recipients' user ids.
    #[serde(default)]
    #[schemars(with = "Vec<Id>")]
    pub to: Vec<Spanned<Id>>,
    /// Cc recipients' user ids.
    #[serde(default)]
    #[schemars(with = "Vec<Id>")]
    pub cc: Vec<Spanned<Id>>,
    /// Bcc recipients' user ids.
    #[serde(default)]
    #[schemars(with = "Vec<Id>")]
    pub bcc: Vec<Spanned<Id>>,
    /// The client the sender uses.
    pub client: MailClient,
    /// This message answers message N of the scenario (1-based), an earlier one its sender
    /// received. Before composing, the sender's Outlook for iOS and Android installs the
    /// certificates of N's sender that N carried, as a user does "by tapping the S/MIME status
    /// bar"; a recipient the Global Address List has no certificate for is then found on the
    /// device. Only `outlook-mobile` is modelled.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub reply_to: Option<Spanned<u32>>,
    /// When it is sent on the lab clock (`+35m`, `+8d` after the scenario's start). Default: when
    /// the message before it was (the start for the first). Entra Connect's scheduled cycles and
    /// late publications that fall before it happen first; the tenant judges certificates and
    /// CRLs at this time.
    #[serde(default)]
    #[schemars(with = "Option<LabOffset>")]
    pub at: Option<Spanned<LabOffset>>,
    /// The subject. Default `<scenario name> #<message number>`.
    #[serde(default)]
    pub subject: Option<String>,
    /// The plain-text body. Default: a fixed line naming the scenario.
    #[serde(default)]
    pub body: Option<String>,
    /// Sign it. Default false.
    #[serde(default = "unset")]
    #[schemars(with = "bool")]
    pub sign: Spanned<bool>,
    /// Encrypt it. Default false.
    #[serde(default = "unset")]
    #[schemars(with = "bool")]
    pub encrypt: Spanned<bool>,
    /// Triple-wrap it (signed, encrypted, signed again). Default: the client's setting
    /// (`OWATripleWrapSignedEncryptedMail` for Outlook on the web).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub triple_wrap: Option<Spanned<bool>>,
    /// Opaque-sign (application/pkcs7-mime) instead of clear-sign. Default: the client's setting
    /// (`OWAClearSign` for Outlook on the web).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub opaque: Option<Spanned<bool>>,
    /// Choices the client would otherwise make.
    #[serde(default = "unlocated_default::<MessageOptions>")]
    #[schemars(with = "MessageOptions")]
    pub options: Spanned<MessageOptions>,
    /// What must happen.
    #[serde(default = "unlocated_default::<MessageExpect>")]
    #[schemars(with = "MessageExpect")]
    pub expect: Spanned<MessageExpect>,
    /// Name of the snapshot of the message's anatomy, unique in the scenario.
    #[serde(default)]
    #[schemars(with = "Option<Id>")]
    pub snapshot: Option<Spanned<Id>>,
}
