//! The outcome of verifying a signed message: one status a script can branch on, the reasons a
//! person reads, and the facts (signer, algorithms, certificates, MIME anatomy) a report shows.

use der::{Tag, Tagged};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

pub use crate::certificate::CertificateSummary;

/// What a verifier concluded. Only `Valid` means "a valid signature from the From address".
/// Every other status is a reason not to trust the message, ordered roughly by how early in
/// verification it is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The signature is intact, the signer chains to an anchor, is valid now, not revoked (as far
    /// as the revocation policy checked) and is the From address.
    Valid,
    /// The message (or the entity given) is not S/MIME signed at all.
    NotSigned,
    /// The message is encrypted (enveloped-data): decrypt it and verify the inner entity.
    Encrypted,
    /// The message is encrypted and the certificate and key given do not open it: not a
    /// recipient, a key that is not the certificate's, or content that does not decrypt.
    CannotDecrypt,
    /// A signed part exists, but the signature does not cover what a reader sees as the message
    /// (prepended text, a signed part hidden in an attachment or nested in multipart/mixed).
    PartiallySigned,
    /// The MIME or CMS structure is broken or ambiguous (eContent inside a detached signature,
    /// no signerInfos, two Content-Type fields...).
    Malformed,
    /// An algorithm or structure this verifier does not implement (Ed25519, DSA, several
    /// signers): never valid, never a crash.
    Unsupported,
    /// The signature does not match the content, or the signed attributes are inconsistent.
    InvalidSignature,
    /// The signature checks out but rests on algorithms too weak to trust: a signer key below
    /// 2048-bit RSA, or a certificate chain signed with SHA-1 or RSA-1024 (which rustls-webpki
    /// refuses to validate).
    Weak,
    /// The signer does not chain to a given trust anchor (or its certificate is missing, or not
    /// allowed to sign mail: key usage, extended key usage).
    Untrusted,
    /// The signer's certificate or one in its chain has expired at the verification time.
    Expired,
    /// The signer's certificate or one in its chain is not valid yet at the verification time.
    NotYetValid,
    /// A CRL lists the signer's certificate or one in its chain as revoked.
    Revoked,
    /// A CRL the chain relies on could not be fetched, or cannot be used: past its nextUpdate,
    /// not yet current, or not signed by its issuer's key (Exchange: "The online certificate
    /// revocation list (CRL) that the certificate chain relies on is currently offline").
    CrlUnreachable,
    /// The signature is valid but the signer's certificate is not issued to the From address.
    SignerMismatch,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::NotSigned => "not-signed",
            Status::Encrypted => "encrypted",
            Status::CannotDecrypt => "cannot-decrypt",
            Status::PartiallySigned => "partially-signed",
            Status::Malformed => "malformed",
            Status::Unsupported => "unsupported",
            Status::InvalidSignature => "invalid-signature",
            Status::Weak => "weak",
            Status::Untrusted => "untrusted",
            Status::Expired => "expired",
            Status::NotYetValid => "not-yet-valid",
            Status::Revoked => "revoked",
            Status::CrlUnreachable => "crl-unreachable",
            Status::SignerMismatch => "signer-mismatch",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the signature is packaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Packaging {
    /// multipart/signed with a detached application/pkcs7-signature.
    ClearSigned,
    /// application/pkcs7-mime; smime-type=signed-data with the content inside.
    OpaqueSigned,
    /// A bare CMS object given to [`super::verify::verify_signed_data`].
    Cms,
}

/// The role a MIME part plays in the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PartRole {
    /// The message or a multipart container whose own bytes the signature does not cover.
    Container,
    /// The bytes the signature covers.
    SignedContent,
    /// The detached signature (application/pkcs7-signature).
    Signature,
    /// An opaque signed-data body (application/pkcs7-mime) carrying the signed content.
    SignedData,
    /// A part outside the signature.
    Unsigned,
}

/// One node of the MIME tree. Paths are IMAP-style: `root`, then `1`, `2`, `1.2`; the entity
/// inside an opaque signed-data body is `root/p7m` (its children `root/p7m/1`...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MimeNode {
    pub path: String,
    pub content_type: String,
    pub role: PartRole,
}

/// The signer, with the mailboxes its certificate is issued to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignerReport {
    #[serde(flatten)]
    pub certificate: CertificateSummary,
    pub mailboxes: Vec<String>,
}

/// The structured verdict. Serialises as kebab-case-status JSON for `smime-lab verify --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    pub status: Status,
    /// Why the status is what it is, and anything else a person should know (revocation not
    /// checked, micalg disagreeing with the digest...), most important first.
    pub reasons: Vec<String>,
    pub packaging: Option<Packaging>,
    /// The addr-specs of the From field.
    pub from: Vec<String>,
    pub signer: Option<SignerReport>,
    pub digest_algorithm: Option<String>,
    pub signature_algorithm: Option<String>,
    /// True when a weak algorithm is involved anywhere (MD5/SHA-1 digest, RSA below 2048 bits,
    /// SHA-1-signed certificates), even if the status is `valid`.
    pub weak: bool,
    pub weak_reasons: Vec<String>,
    /// The signingTime attribute (RFC 3339), as the signer claims it.
    pub signing_time: Option<String>,
    /// Names of the signed attributes present, in encoded order.
    pub signed_attributes: Vec<String>,
    /// The signer's smimeCapabilities, in its order of preference.
    pub smime_capabilities: Vec<String>,
    /// Certificates carried in the message.
    pub certificates: Vec<CertificateSummary>,
    /// The validated path, signer first, anchor last (subjects).
    pub chain: Vec<String>,
    /// http(s)/ldap CRL distribution points of the signer and intermediates on the path: what a
    /// caller fetches before verifying again with CRLs.
    pub crl_distribution_points: Vec<String>,
    /// The MIME path of the content the signature covers.
    pub signed_part: Option<String>,
    pub mime_tree: Vec<MimeNode>,
    /// How many of `reasons` are failures: they come first, notes after.
    #[serde(skip)]
    #[schemars(skip)]
    failures: usize,
}

impl Verdict {
    pub(crate) fn new() -> Self {
        Verdict {
            status: Status::Valid,
            reasons: Vec::new(),
            packaging: None,
            from: Vec::new(),
            signer: None,
            digest_algorithm: None,
            signature_algorithm: None,
            weak: false,
            weak_reasons: Vec::new(),
            signing_time: None,
            signed_attributes: Vec::new(),
            smime_capabilities: Vec::new(),
            certificates: Vec::new(),
            chain: Vec::new(),
            crl_distribution_points: Vec::new(),
            signed_part: None,
            mime_tree: Vec::new(),
            failures: 0,
        }
    }

    /// Records a finding: the first non-valid status sticks (checks run from the most
    /// fundamental to the most specific), every reason is kept.
    pub(crate) fn fail(&mut self, status: Status, reason: impl Into<String>) {
        if self.status == Status::Valid {
            self.status = status;
        }
        let at = self.failures.min(self.reasons.len());
        self.reasons.insert(at, reason.into());
        self.failures = at + 1;
    }

    /// Puts a reason first and makes `status` the verdict, whatever was found before (used when
    /// an outer finding, such as a signature that covers only part of the message, overrides).
    pub(crate) fn override_status(&mut self, status: Status, reason: impl Into<String>) {
        self.status = status;
        self.reasons.insert(0, reason.into());
        self.failures += 1;
    }

    /// A note that does not change the status.
    pub(crate) fn note(&mut self, reason: impl Into<String>) {
        self.reasons.push(reason.into());
    }

    pub(crate) fn weak(&mut self, why: impl Into<String>) {
        self.weak = true;
        let why = why.into();
        if !self.weak_reasons.contains(&why) {
            self.weak_reasons.push(why);
        }
    }

    /// The reasons that are failures (they come first), without the notes after them.
    pub fn failures(&self) -> &[String] {
        self.reasons.get(..self.failures).unwrap_or(&self.reasons)
    }

    /// Forgets every finding (status back to valid, no reasons), keeping the facts: for a
    /// verdict that sums up others ([`super::open`]).
    pub(crate) fn clear_findings(&mut self) {
        self.status = Status::Valid;
        self.reasons.clear();
        self.failures = 0;
        self.weak = false;
        self.weak_reasons.clear();
    }

    pub fn is_valid(&self) -> bool {
        self.status == Status::Valid
    }

    /// One line per fact, for a terminal.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "status: {}", self.status);
        for r in &self.reasons {
            let _ = writeln!(s, "  - {r}");
        }
        if let Some(p) = self.packaging {
            let _ = writeln!(
                s,
                "packaging: {}",
                match p {
                    Packaging::ClearSigned => "clear-signed (multipart/signed)",
                    Packaging::OpaqueSigned => "opaque-signed (application/pkcs7-mime)",
                    Packaging::Cms => "CMS",
                }
            );
        }
        if !self.from.is_empty() {
            let _ = writeln!(s, "from: {}", self.from.join(", "));
        }
        if let Some(signer) = &self.signer {
            let _ = writeln!(
                s,
                "signer: {} <{}> ({}, thumbprint {})",
                signer.certificate.subject,
                signer.mailboxes.join(", "),
                signer.certificate.key,
                signer.certificate.thumbprint
            );
        }
        if let Some(d) = &self.digest_algorithm {
            let _ = writeln!(s, "digest: {d}");
        }
        if let Some(a) = &self.signature_algorithm {
            let _ = writeln!(s, "signature: {a}");
        }
        if self.weak {
            let _ = writeln!(s, "weak: {}", self.weak_reasons.join("; "));
        }
        if let Some(t) = &self.signing_time {
            let _ = writeln!(s, "signing time: {t}");
        }
        if !self.chain.is_empty() {
            let _ = writeln!(s, "chain: {}", self.chain.join(" -> "));
        }
        if let Some(p) = &self.signed_part {
            let _ = writeln!(s, "signed part: {p}");
        }
        s
    }
}

/// A string-typed attribute value (PrintableString, UTF8String, IA5String, TeletexString,
/// BMPString is rare in mail certificates and left out).
pub(crate) fn attribute_value_string(value: &der::Any) -> Option<String> {
    match value.tag() {
        Tag::PrintableString | Tag::Utf8String | Tag::Ia5String | Tag::TeletexString => {
            std::str::from_utf8(value.value()).ok().map(str::to_owned)
        }
        _ => None,
    }
}

pub(crate) fn format_time(t: &x509_cert::time::Time) -> String {
    rfc3339(t.to_unix_duration().as_secs())
}

pub(crate) fn rfc3339(unix_seconds: u64) -> String {
    i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{unix_seconds}"))
}

/// A short name for a certificate's key: `RSA-2048`, `ECDSA P-256`, `Ed25519`, or the OID.
pub(crate) fn key_description(cert: &Certificate) -> String {
    use const_oid::db::{rfc5912, rfc8410};
    let spki = cert.tbs_certificate().subject_public_key_info();
    let oid = spki.algorithm.oid;
    if oid == rfc5912::RSA_ENCRYPTION || oid == rfc5912::ID_RSASSA_PSS {
        let bits = super::algorithms::rsa_public_key(spki)
            .map(|k| {
                use rsa::traits::PublicKeyParts;
                k.n().bits()
            })
            .unwrap_or(0);
        return format!("RSA-{bits}");
    }
    if oid == rfc5912::ID_EC_PUBLIC_KEY {
        return match super::algorithms::named_curve(&spki.algorithm) {
            Some(c) if c == rfc5912::SECP_256_R_1 => "ECDSA P-256".to_owned(),
            Some(c) if c == rfc5912::SECP_384_R_1 => "ECDSA P-384".to_owned(),
            Some(c) if c == rfc5912::SECP_521_R_1 => "ECDSA P-521".to_owned(),
            Some(c) => format!("EC {c}"),
            None => "EC (no named curve)".to_owned(),
        };
    }
    if oid == rfc8410::ID_ED_25519 {
        return "Ed25519".to_owned();
    }
    if oid == rfc5912::ID_DSA {
        return "DSA".to_owned();
    }
    super::algorithms::oid_name(&oid)
}
