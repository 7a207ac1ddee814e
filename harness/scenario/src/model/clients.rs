//! Step 5, `clients`: `Set-SmimeConfig` for Outlook on the web, the mobile device mailbox policy,
//! and the users' identities on their devices.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use smime::cms::envelope::ContentCipher;

use super::{Digest, Id};

/// Step 5: client configuration.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Clients {
    /// `Set-SmimeConfig` parameters for Outlook on the web, by their cmdlet names. Parameters left
    /// out keep Exchange's defaults.
    #[serde(default)]
    pub smime_config: SmimeConfig,
    /// The S/MIME parameters of the built-in mobile device mailbox policy named Default
    /// (`Set-MobileDeviceMailboxPolicy -Identity Default`), by their cmdlet names. Parameters left
    /// out keep Exchange's defaults.
    #[serde(default)]
    pub mobile_policy: MobilePolicy,
    /// More mobile device mailbox policies (`New-MobileDeviceMailboxPolicy`), by name (an id).
    /// One of them may be made the default (`is-default: true`).
    #[serde(default)]
    pub mobile_policies: super::MobilePolicies,
    /// Mailboxes with a policy of their own (`Set-CASMailbox -ActiveSyncMailboxPolicy`): user id →
    /// policy name (`Default` or a name of `mobile-policies`). The others follow the default
    /// policy.
    #[serde(default)]
    pub mobile_policy_assignments: super::MobilePolicyAssignments,
    /// Where users install their certificate and key (a PKCS#12 file). Default: every user with
    /// certificates, on every client, from a modern PKCS#12 file, as a software certificate.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Device>>")]
    pub devices: Option<Vec<Spanned<Device>>>,
}

checked_string!(
    /// CAPI algorithm ids for `OWAEncryptionAlgorithms`, `;`-separated in order of preference:
    /// 6601 DES, 6602:<bits> RC2 (40, 56, 64 or 128), 6603 3DES, 660E AES-128, 660F AES-192,
    /// 6610 AES-256; an entry may name a provider's OID after a comma (`6603,1.2.3.4`).
    EncryptionAlgorithms,
    json_schema!({
        "type": "string",
        "pattern": "^(660[123EeFf]|6610)(:[0-9]+)?(,[0-9.]+)?(;(660[123EeFf]|6610)(:[0-9]+)?(,[0-9.]+)?)*$",
        "examples": ["6610", "660E", "6603;6602:128;6601"]
    }),
    |s| check_algorithms(s, AlgorithmKind::Encryption)
);

checked_string!(
    /// CAPI algorithm ids for `OWASigningAlgorithms`, `;`-separated in order of preference:
    /// 8003 MD5, 8004 SHA-1, 800C SHA-256, 800D SHA-384, 800E SHA-512; an entry may name a
    /// provider's OID after a comma.
    SigningAlgorithms,
    json_schema!({
        "type": "string",
        "pattern": "^(800[34cdeCDE])(:[0-9]+)?(,[0-9.]+)?(;(800[34cdeCDE])(:[0-9]+)?(,[0-9.]+)?)*$",
        "examples": ["800C", "800E;800C;8004"]
    }),
    |s| check_algorithms(s, AlgorithmKind::Signing)
);

#[derive(Clone, Copy, PartialEq, Eq)]
enum AlgorithmKind {
    Encryption,
    Signing,
}

/// Exchange falls back to its default on a value it cannot parse ("If the parameter is not
/// specified or is not formatted correctly, Outlook on the web uses 6610"), so a typo would
/// silently test the default: refuse it here instead.
fn check_algorithms(s: &str, kind: AlgorithmKind) -> Result<(), String> {
    let known: &[(&str, &str)] = match kind {
        AlgorithmKind::Encryption => &[
            ("6601", "DES"),
            ("6602", "RC2"),
            ("6603", "3DES"),
            ("660E", "AES-128"),
            ("660F", "AES-192"),
            ("6610", "AES-256"),
        ],
        AlgorithmKind::Signing => &[
            ("8003", "MD5"),
            ("8004", "SHA-1"),
            ("800C", "SHA-256"),
            ("800D", "SHA-384"),
            ("800E", "SHA-512"),
        ],
    };
    let names = known
        .iter()
        .map(|(id, name)| format!("{id} {name}"))
        .collect::<Vec<_>>()
        .join(", ");
    if s.trim().is_empty() {
        return Err(format!("no algorithm given; known ids: {names}"));
    }
    for entry in s.split(';') {
        let (algorithm, oid) = match entry.split_once(',') {
            Some((algorithm, oid)) => (algorithm, Some(oid)),
            None => (entry, None),
        };
        let (id, bits) = match algorithm.split_once(':') {
            Some((id, bits)) => (id, Some(bits)),
            None => (algorithm, None),
        };
        if !known.iter().any(|(k, _)| k.eq_ignore_ascii_case(id)) {
            return Err(format!(
                "{id:?} in {s:?} is not an algorithm id Exchange knows here; known ids: {names} (separate several with ';')"
            ));
        }
        if let Some(bits) = bits {
            let rc2 = kind == AlgorithmKind::Encryption && id == "6602";
            if !rc2 || !["40", "56", "64", "128"].contains(&bits) {
                return Err(format!(
                    "{entry:?}: only RC2 (6602) takes a key length, and only 40, 56, 64 or 128"
                ));
            }
        }
        if let Some(oid) = oid {
            let ok = !oid.is_empty()
                && oid.split('.').count() >= 2
                && oid
                    .split('.')
                    .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(format!(
                    "{entry:?}: after the comma comes a provider's OID in dotted form (6603,1.2.840.113549.3.7)"
                ));
            }
        }
    }
    Ok(())
}

/// `Set-SmimeConfig` parameters that shape what Outlook on the web does. Names and types are the
/// cmdlet's; descriptions summarise its documentation. `SMIMECertificateIssuingCA` is step 2's.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmimeConfig {
    /// Let users pick the certificate they sign with. Default false.
    #[serde(
        rename = "OWAAllowUserChoiceOfSigningCertificate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_allow_user_choice_of_signing_certificate: Option<bool>,
    /// Encrypt every outgoing message. Default false.
    #[serde(
        rename = "OWAAlwaysEncrypt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_always_encrypt: Option<bool>,
    /// Sign every outgoing message. Default false.
    #[serde(
        rename = "OWAAlwaysSign",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_always_sign: Option<bool>,
    /// How Bcc recipients of an encrypted message are handled: 0 one message per Bcc recipient
    /// (default), 1 one message for all Bcc recipients, 2 no Bcc forking.
    #[serde(
        rename = "OWABCCEncryptedEmailForking",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_bcc_encrypted_email_forking: Option<BccForking>,
    /// Refuse to send signed or encrypted messages when the CRL distribution point is
    /// unreachable. Default false.
    #[serde(
        rename = "OWACheckCRLOnSend",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_check_crl_on_send: Option<bool>,
    /// Clear-sign (true, default) or opaque-sign (false) messages.
    #[serde(
        rename = "OWAClearSign",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_clear_sign: Option<bool>,
    /// Reserved for internal Microsoft use.
    #[serde(
        rename = "OWACopyRecipientHeaders",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_copy_recipient_headers: Option<bool>,
    /// Milliseconds to wait while connecting to fetch one CRL. Default 60000.
    #[serde(
        rename = "OWACRLConnectionTimeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_crl_connection_timeout: Option<u32>,
    /// Milliseconds to wait for all CRLs of a validation. Default 10000.
    #[serde(
        rename = "OWACRLRetrievalTimeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_crl_retrieval_timeout: Option<u32>,
    /// Skip CRL checks (a revoked certificate then validates). Default false.
    #[serde(
        rename = "OWADisableCRLCheck",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_disable_crl_check: Option<bool>,
    /// Milliseconds to wait when expanding a distribution group for encryption. Default 60000.
    #[serde(
        rename = "OWADLExpansionTimeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_dl_expansion_timeout: Option<u32>,
    /// Content-encryption algorithms in order of preference. Default `6610` (AES-256).
    #[serde(
        rename = "OWAEncryptionAlgorithms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_encryption_algorithms: Option<EncryptionAlgorithms>,
    /// Encrypt the client's temporary buffers. Default true.
    #[serde(
        rename = "OWAEncryptTemporaryBuffers",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_encrypt_temporary_buffers: Option<bool>,
    /// Force users to upgrade an older S/MIME control. Default true.
    #[serde(
        rename = "OWAForceSMIMEClientUpgrade",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_force_smime_client_upgrade: Option<bool>,
    /// Include the certificate chain and the root in messages. Default false.
    #[serde(
        rename = "OWAIncludeCertificateChainAndRootCertificate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_include_certificate_chain_and_root_certificate: Option<bool>,
    /// Include the certificate chain without the root in messages. Default false: only the
    /// signing and encryption certificates.
    #[serde(
        rename = "OWAIncludeCertificateChainWithoutRootCertificate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_include_certificate_chain_without_root_certificate: Option<bool>,
    /// Add the smimeCapabilities attribute to signed and encrypted messages. Default false.
    #[serde(
        rename = "OWAIncludeSMIMECapabilitiesInMessage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_include_smime_capabilities_in_message: Option<bool>,
    /// Require smart-card certificates for signing and decryption. Default false.
    #[serde(
        rename = "OWAOnlyUseSmartCard",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_only_use_smart_card: Option<bool>,
    /// Comma-separated OIDs of the certificate attributes shown when the sender's address and the
    /// certificate's differ. Default empty.
    #[serde(
        rename = "OWASenderCertificateAttributesToDisplay",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_sender_certificate_attributes_to_display: Option<String>,
    /// Include the signing and encryption certificates in signed messages. Default true.
    #[serde(
        rename = "OWASignedEmailCertificateInclusion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_signed_email_certificate_inclusion: Option<bool>,
    /// Digest algorithms in order of preference. Default `8004` (SHA-1).
    #[serde(
        rename = "OWASigningAlgorithms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_signing_algorithms: Option<SigningAlgorithms>,
    /// Triple-wrap signed and encrypted messages (signed, encrypted, signed again). Default false.
    #[serde(
        rename = "OWATripleWrapSignedEncryptedMail",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_triple_wrap_signed_encrypted_mail: Option<bool>,
    /// Identify recipients by subject key identifier instead of issuer and serial number.
    /// Default false.
    #[serde(
        rename = "OWAUseKeyIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_use_key_identifier: Option<bool>,
    /// Match a recipient's certificate against their proxy addresses too. Default true.
    #[serde(
        rename = "OWAUseSecondaryProxiesWhenFindingCertificates",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_use_secondary_proxies_when_finding_certificates: Option<bool>,
    /// New Outlook for Windows: replies do not inherit the S/MIME signature. Default true.
    #[serde(
        rename = "NoSignOnReply",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub no_sign_on_reply: Option<bool>,
}

/// `OWABCCEncryptedEmailForking`: 0, 1 or 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BccForking(u32);

impl JsonSchema for BccForking {
    fn schema_name() -> Cow<'static, str> {
        "BccForking".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": 0, "maximum": 2 })
    }
}

impl BccForking {
    pub fn value(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for BccForking {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = u32::deserialize(deserializer)?;
        if value > 2 {
            return Err(de::Error::custom(format!(
                "{value} is not a forking mode: 0 one message per Bcc recipient, 1 one message for all Bcc recipients, 2 no Bcc forking"
            )));
        }
        Ok(BccForking(value))
    }
}

/// The S/MIME parameters of the mobile device mailbox policy. The enum names are the cmdlet's;
/// their Exchange ActiveSync wire values are given in brackets.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MobilePolicy {
    /// Whether the device may negotiate the encryption algorithm when a recipient's certificate
    /// does not support the required one. Default `AllowAnyAlgorithmNegotiation`.
    #[serde(
        rename = "AllowSMIMEEncryptionAlgorithmNegotiation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_smime_encryption_algorithm_negotiation: Option<AlgorithmNegotiation>,
    /// Whether S/MIME software certificates (installed from a PKCS#12 file) are allowed. Default
    /// true.
    #[serde(
        rename = "AllowSMIMESoftCerts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_smime_soft_certs: Option<bool>,
    /// The device must send encrypted S/MIME messages. Default false.
    #[serde(
        rename = "RequireEncryptedSMIMEMessages",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub require_encrypted_smime_messages: Option<bool>,
    /// The algorithm required to encrypt. Default `TripleDES`.
    #[serde(
        rename = "RequireEncryptionSMIMEAlgorithm",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub require_encryption_smime_algorithm: Option<MobileEncryptionAlgorithm>,
    /// The algorithm used to sign. Default `SHA1`.
    #[serde(
        rename = "RequireSignedSMIMEAlgorithm",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub require_signed_smime_algorithm: Option<MobileSigningAlgorithm>,
    /// The device must send signed S/MIME messages. Default false.
    #[serde(
        rename = "RequireSignedSMIMEMessages",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub require_signed_smime_messages: Option<bool>,
}

impl MobilePolicy {
    /// The digest the phone signs with: "The RequireSignedSMIMEAlgorithm parameter specifies the
    /// algorithm that's used to sign S/MIME messages on the mobile device. [...] The default value
    /// is SHA1." (Set-MobileDeviceMailboxPolicy).
    pub fn signing_digest(&self) -> Digest {
        self.require_signed_smime_algorithm
            .unwrap_or(MobileSigningAlgorithm::SHA1)
            .digest()
    }

    /// The cipher the phone encrypts with unless it negotiates: "The
    /// RequireEncryptionSMIMEAlgorithm parameter specifies the algorithm that's required to encrypt
    /// S/MIME messages on a mobile device. [...] The default value is TripleDES."
    pub fn required_cipher(&self) -> ContentCipher {
        self.require_encryption_smime_algorithm
            .unwrap_or(MobileEncryptionAlgorithm::TripleDES)
            .cipher()
    }
}

/// The entries of an `OWA*Algorithms` list: the upper-cased algorithm id, the key length after a
/// colon, and whether a provider's OID follows a comma.
fn owa_entries(list: &str) -> impl Iterator<Item = (String, Option<&str>, bool)> {
    list.split(';').map(|entry| {
        let (algorithm, custom_oid) = match entry.split_once(',') {
            Some((algorithm, _oid)) => (algorithm, true),
            None => (entry, false),
        };
        let (id, bits) = match algorithm.split_once(':') {
            Some((id, bits)) => (id, Some(bits.trim())),
            None => (algorithm, None),
        };
        (id.trim().to_ascii_uppercase(), bits, custom_oid)
    })
}

/// The digests of an `OWASigningAlgorithms` list the lab supports, in the list's order. An entry
/// with a provider's OID names an algorithm of a cryptographic service provider the lab does not
/// have: skipped.
pub fn owa_digests(list: &str) -> Vec<Digest> {
    owa_entries(list)
        .filter_map(|(id, bits, custom)| {
            if custom || bits.is_some() {
                return None;
            }
            match id.as_str() {
                "8003" => Some(Digest::Md5),
                "8004" => Some(Digest::Sha1),
                "800C" => Some(Digest::Sha256),
                "800D" => Some(Digest::Sha384),
                "800E" => Some(Digest::Sha512),
                _ => None,
            }
        })
        .collect()
}

/// The ciphers of an `OWAEncryptionAlgorithms` list the lab supports, in the list's order. RC2
/// without a key length is 128-bit, the Microsoft Enhanced Cryptographic Provider's default RC2
/// key length; RC2 with a 56-bit key has no cipher in the engine and is skipped, as are entries
/// with a provider's OID.
pub fn owa_ciphers(list: &str) -> Vec<ContentCipher> {
    owa_entries(list)
        .filter_map(|(id, bits, custom)| {
            if custom {
                return None;
            }
            match (id.as_str(), bits) {
                ("6601", None) => Some(ContentCipher::DesCbc),
                ("6602", None | Some("128")) => Some(ContentCipher::Rc2Cbc128),
                ("6602", Some("64")) => Some(ContentCipher::Rc2Cbc64),
                ("6602", Some("40")) => Some(ContentCipher::Rc2Cbc40),
                ("6603", None) => Some(ContentCipher::DesEde3Cbc),
                ("660E", None) => Some(ContentCipher::Aes128Cbc),
                ("660F", None) => Some(ContentCipher::Aes192Cbc),
                ("6610", None) => Some(ContentCipher::Aes256Cbc),
                _ => None,
            }
        })
        .collect()
}

/// Exchange's default lists: "If the parameter is not specified or is not formatted correctly,
/// Outlook on the web uses 6610 (AES256)"; "If this parameter is not specified or is not
/// formatted correctly, Outlook on the web defaults to 8004 (SHA1)." (Set-SmimeConfig).
pub const OWA_DEFAULT_ENCRYPTION_ALGORITHMS: &str = "6610";
pub const OWA_DEFAULT_SIGNING_ALGORITHMS: &str = "8004";

impl SmimeConfig {
    /// The digests Outlook on the web may sign with under this configuration: the supported
    /// entries of `OWASigningAlgorithms`, or Exchange's default when there are none.
    pub fn owa_digests(&self) -> Vec<Digest> {
        let list = self
            .owa_signing_algorithms
            .as_ref()
            .map_or(OWA_DEFAULT_SIGNING_ALGORITHMS, |l| l.as_str());
        match owa_digests(list) {
            found if !found.is_empty() => found,
            _ => owa_digests(OWA_DEFAULT_SIGNING_ALGORITHMS),
        }
    }

    /// The ciphers Outlook on the web may encrypt with: the supported entries of
    /// `OWAEncryptionAlgorithms`, or Exchange's default when there are none.
    pub fn owa_ciphers(&self) -> Vec<ContentCipher> {
        let list = self
            .owa_encryption_algorithms
            .as_ref()
            .map_or(OWA_DEFAULT_ENCRYPTION_ALGORITHMS, |l| l.as_str());
        match owa_ciphers(list) {
            found if !found.is_empty() => found,
            _ => owa_ciphers(OWA_DEFAULT_ENCRYPTION_ALGORITHMS),
        }
    }
}

/// `SMIMEEncryptionAlgorithmNegotiationType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum AlgorithmNegotiation {
    /// Do not negotiate (0).
    BlockNegotiation,
    /// Negotiate a strong algorithm only (1).
    OnlyStrongAlgorithmNegotiation,
    /// Negotiate any algorithm (2). The default.
    AllowAnyAlgorithmNegotiation,
}

impl AlgorithmNegotiation {
    /// The Exchange ActiveSync wire value (MS-ASPROV 2.2.2.13).
    pub fn ordinal(self) -> u8 {
        match self {
            AlgorithmNegotiation::BlockNegotiation => 0,
            AlgorithmNegotiation::OnlyStrongAlgorithmNegotiation => 1,
            AlgorithmNegotiation::AllowAnyAlgorithmNegotiation => 2,
        }
    }
}

/// `EncryptionSMIMEAlgorithmType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum MobileEncryptionAlgorithm {
    /// 3DES (0). The default.
    TripleDES,
    /// DES (1).
    DES,
    /// RC2 with a 128-bit key (2).
    RC2128bit,
    /// RC2 with a 64-bit key (3).
    RC264bit,
    /// RC2 with a 40-bit key (4).
    RC240bit,
}

impl MobileEncryptionAlgorithm {
    /// The Exchange ActiveSync wire value (MS-ASPROV 2.2.2.48).
    pub fn ordinal(self) -> u8 {
        match self {
            MobileEncryptionAlgorithm::TripleDES => 0,
            MobileEncryptionAlgorithm::DES => 1,
            MobileEncryptionAlgorithm::RC2128bit => 2,
            MobileEncryptionAlgorithm::RC264bit => 3,
            MobileEncryptionAlgorithm::RC240bit => 4,
        }
    }

    /// The content cipher a device uses under this policy.
    pub fn cipher(self) -> ContentCipher {
        match self {
            MobileEncryptionAlgorithm::TripleDES => ContentCipher::DesEde3Cbc,
            MobileEncryptionAlgorithm::DES => ContentCipher::DesCbc,
            MobileEncryptionAlgorithm::RC2128bit => ContentCipher::Rc2Cbc128,
            MobileEncryptionAlgorithm::RC264bit => ContentCipher::Rc2Cbc64,
            MobileEncryptionAlgorithm::RC240bit => ContentCipher::Rc2Cbc40,
        }
    }
}

/// `SignedSMIMEAlgorithmType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum MobileSigningAlgorithm {
    /// SHA-1 (0). The default.
    SHA1,
    /// MD5 (1).
    MD5,
}

impl MobileSigningAlgorithm {
    /// The Exchange ActiveSync wire value (MS-ASPROV 2.2.2.50).
    pub fn ordinal(self) -> u8 {
        match self {
            MobileSigningAlgorithm::SHA1 => 0,
            MobileSigningAlgorithm::MD5 => 1,
        }
    }

    pub fn digest(self) -> Digest {
        match self {
            MobileSigningAlgorithm::SHA1 => Digest::Sha1,
            MobileSigningAlgorithm::MD5 => Digest::Md5,
        }
    }
}

/// A mail client the lab emulates.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum MailClient {
    /// Outlook for Windows: looks recipients' certificates up in `userSMIMECertificate` first.
    Outlook,
    /// Outlook on the web, shaped by `smime-config`.
    Owa,
    /// An Exchange ActiveSync device, shaped by `mobile-policy`.
    Mobile,
    /// Outlook for iOS and Android, Microsoft's app (not an ActiveSync mail client): sends
    /// clear-signed messages only, uses a certificate only when it is issued to the user's
    /// primary SMTP address, needs the user's own certificate to sign and to encrypt, and finds
    /// recipients' certificates in the Global Address List, then on the device (`contacts`).
    OutlookMobile,
}

impl MailClient {
    pub const ALL: [MailClient; 4] = [
        MailClient::Outlook,
        MailClient::Owa,
        MailClient::Mobile,
        MailClient::OutlookMobile,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MailClient::Outlook => "outlook",
            MailClient::Owa => "owa",
            MailClient::Mobile => "mobile",
            MailClient::OutlookMobile => "outlook-mobile",
        }
    }
}

/// Which PKCS#12 form the user installs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Pkcs12Form {
    /// AES-256-CBC and PBKDF2, HMAC-SHA-256 (OpenSSL 3's default).
    #[default]
    Modern,
    /// 3DES and SHA-1 (Windows' "TripleDES-SHA1"), which older phones need.
    Legacy,
}

/// Where the private key lives on the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KeyStorage {
    /// A software certificate imported from the PKCS#12 file (what `AllowSMIMESoftCerts` and
    /// `OWAOnlyUseSmartCard` govern).
    #[default]
    Software,
    /// A smart card.
    SmartCard,
}

/// A user's certificate and key installed on one client.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Device {
    /// The user id.
    #[schemars(with = "Id")]
    pub user: Spanned<Id>,
    /// The client the identity is installed in.
    pub client: MailClient,
    /// The certificates installed, by certificate id, each with its key. Default: all of the
    /// user's.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub certificates: Option<Vec<Spanned<Id>>>,
    /// The PKCS#12 form. Default `modern`.
    #[serde(default)]
    pub pkcs12: Pkcs12Form,
    /// Where the key lives. Default `software`.
    #[serde(default)]
    pub storage: KeyStorage,
    /// Other people's certificates (public keys only) installed on the device, by certificate
    /// id: what an Outlook for iOS and Android user installs "by tapping the S/MIME status bar"
    /// of a signed message. The app looks there for a recipient the Global Address List has no
    /// certificate for. Only `outlook-mobile` reads them.
    #[serde(default)]
    #[schemars(with = "Vec<Id>")]
    pub contacts: Vec<Spanned<Id>>,
}
