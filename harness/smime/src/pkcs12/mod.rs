//! PKCS#12 (.p12/.pfx): the file a user installs on a device (step 5). Reads what Windows, macOS,
//! NSS (Thunderbird), Java, GnuPG and OpenSSL write, and writes a modern (AES) or a legacy (3DES)
//! file from a PKCS#8 key and DER certificates.
//!
//! # Why this is written here rather than taken from a crate
//!
//! `p12-keystore` 0.3/0.4 and `pkcs12` 0.2.0-pre depend on `cms =0.3.0-pre.1`, which cannot resolve
//! beside the `cms 0.3.0-rc.0` the rest of the crate uses (see DEPENDENCIES.md), and `p12-keystore`
//! 0.2 would drag in a second generation of 21 RustCrypto crates. So the format is built here on
//! the crates already in the graph: `der` for the typed structures (`asn1.rs`), `pkcs5` for PBES2,
//! `des`/`rc2`/`cbc` for the PKCS#12 PBEs, `hmac`/`sha1`/`sha2` for the MAC. Two pieces exist in no
//! crate of this generation and are ours: the PKCS#12 key derivation function of RFC 7292
//! appendix B (`kdf.rs`) and a BER-to-DER pass for the indefinite-length files NSS and Java write
//! (`crate::ber`, shared with CMS).
//!
//! # Profiles
//!
//! [`Pkcs12Profile::Modern`] is what OpenSSL 3 writes by default (PBES2 with PBKDF2-HMAC-SHA-256
//! and AES-256-CBC for keys and certificates, HMAC-SHA-256 MAC); Windows 10 1709+, macOS, iOS,
//! Android and NSS import it. [`Pkcs12Profile::Legacy`] is Windows' "TripleDES-SHA1" export:
//! pbeWithSHAAnd3-KeyTripleDES-CBC for both the key and the certificates, and an HMAC-SHA-1 MAC,
//! which every importer back to Windows XP reads, and the only one of the two that gpgsm 2.2
//! (Debian 12) imports: it cannot parse PBES2 with an HMAC-SHA-256 PRF, and refuses OpenSSL 3's
//! default export for the same reason. Certificates are deliberately *not* RC2-40 encrypted (what
//! old Windows and `openssl -legacy` do): RC2 lives in OpenSSL 3's legacy provider, so an RC2 file
//! fails in a stock `openssl pkcs12` without `-legacy`, whereas 3DES is in the default provider
//! and our 3DES file reads with no flag at all. `tests/pkcs12_interop.rs` checks all of this
//! against the real tools.

mod asn1;

mod kdf;
mod keymatch;
mod mac;
mod pbe;
mod read;
mod summary;
mod write;

use std::fmt;

use const_oid::ObjectIdentifier;

pub use keymatch::public_key_matches;
pub use read::{read_pkcs12, read_pkcs12_within};
pub use summary::{
    AlgorithmSummary, EncryptionSummary, KeyMatch, KeySummary, Pkcs12Summary, summarize,
};
pub use write::write_pkcs12;

/// Iteration counts above this are refused on read: PBKDF2 and the PKCS#12 KDF run once per
/// encrypted part, and a hostile file could otherwise ask for billions of hash rounds. Real files
/// use 1 000 - 600 000 (RFC 8018 calls 10 000 000 appropriate only for especially critical keys).
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// How much key derivation a caller lets readers spend, over one file or many: each PBKDF2 or
/// PKCS#12 KDF run is charged its iteration count (times the derivations it makes) before it
/// runs, so a server reading files from strangers bounds its CPU per request.
/// [`MAX_ITERATIONS`] bounds one run; a file may hold any number of encrypted parts, so only a
/// budget bounds the whole.
#[derive(Debug)]
pub struct KdfBudget {
    limit: u64,
    spent: std::cell::Cell<u64>,
}

impl KdfBudget {
    /// A budget of `limit` iterations.
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            spent: std::cell::Cell::new(0),
        }
    }

    /// No limit beyond [`MAX_ITERATIONS`] per run ([`read_pkcs12`]'s).
    pub fn unlimited() -> Self {
        Self::new(u64::MAX)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Iterations charged so far.
    pub fn spent(&self) -> u64 {
        self.spent.get()
    }

    /// Charges `iterations` for a derivation at `location`, or refuses it without charging.
    pub(crate) fn charge(&self, iterations: u64, location: &str) -> Result<(), Pkcs12Error> {
        let spent = self.spent.get();
        match spent.checked_add(iterations) {
            Some(total) if total <= self.limit => {
                self.spent.set(total);
                Ok(())
            }
            _ => Err(Pkcs12Error::KdfBudgetExceeded {
                location: location.to_string(),
                asked: iterations,
                spent,
                limit: self.limit,
            }),
        }
    }
}

/// What a PKCS#12 file held, once its MAC was verified and its parts decrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkcs12Contents {
    /// The private key (PKCS#8 DER) of the file's identity: the first key that a certificate
    /// belongs to (by `localKeyId`, or failing that by public key), else the first key.
    pub private_key_pkcs8_der: Option<Vec<u8>>,
    /// Every certificate (DER). The certificate of [`Self::private_key_pkcs8_der`] comes first when
    /// one is identified; the rest follow in file order.
    pub certificates: Vec<Vec<u8>>,
    /// The `friendlyName` of the identity's key bag, else of its certificate bag.
    pub friendly_name: Option<String>,
    /// Every private key in file order. RFC 9216's samples, for one, carry a signing and a
    /// decryption key in one file.
    pub keys: Vec<Pkcs12Key>,
    /// How the file was protected, for reports ("legacy 3DES/SHA-1" vs "AES-256/SHA-256").
    pub protection: Pkcs12Protection,
    /// Bag types that were present but not read (CRL bags, secret bags, SDSI certificates).
    pub ignored_bags: Vec<ObjectIdentifier>,
}

/// One private key from the file.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkcs12Key {
    /// The key, PKCS#8 `PrivateKeyInfo` DER, decrypted.
    pub pkcs8_der: Vec<u8>,
    /// The `localKeyId` bag attribute, which ties a key to its certificate.
    pub local_key_id: Option<Vec<u8>>,
    /// The `friendlyName` bag attribute.
    pub friendly_name: Option<String>,
    /// Index into [`Pkcs12Contents::certificates`] of this key's certificate, if one was found.
    pub certificate_index: Option<usize>,
}

/// How a file is protected: its MAC and the encryption of each encrypted part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pkcs12Protection {
    /// The integrity MAC; `None` when the file has no MacData (then a wrong password can only show
    /// up as a decryption failure).
    pub mac: Option<AlgorithmUse>,
    /// The password-based encryption of each encrypted part, in file order.
    pub encryption: Vec<EncryptionUse>,
}

impl Pkcs12Protection {
    /// True when any part relies on SHA-1 MACs or PKCS#12 PBEs (3DES, RC2), i.e. the file is the
    /// "legacy" kind that OpenSSL 3 writes only with `-legacy`.
    #[must_use]
    pub fn is_legacy(&self) -> bool {
        self.mac.as_ref().is_some_and(|mac| mac.legacy)
            || self.encryption.iter().any(|part| part.algorithm.legacy)
    }
}

/// An algorithm as used in one place of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlgorithmUse {
    /// Readable name with its parameters, e.g. `PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC)`.
    pub name: String,
    /// The algorithm identifier's OID.
    pub oid: ObjectIdentifier,
    /// Iteration count of the password-based key derivation.
    pub iterations: u32,
    /// SHA-1 MAC, 3DES or RC2: what modern policies flag as weak.
    pub legacy: bool,
}

/// The encryption of one part of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptionUse {
    /// What the algorithm protects.
    pub part: EncryptedPart,
    /// The algorithm.
    pub algorithm: AlgorithmUse,
}

/// The parts of a PKCS#12 file that are encrypted separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncryptedPart {
    /// An `encryptedData` ContentInfo (usually the certificates).
    SafeContents,
    /// A `pkcs8ShroudedKeyBag` (a private key).
    PrivateKey,
}

/// How [`write_pkcs12`] protects the file. See the module documentation for who reads which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pkcs12Profile {
    /// PBES2 (PBKDF2-HMAC-SHA-256, 2048 iterations, AES-256-CBC) for key and certificates,
    /// HMAC-SHA-256 MAC: OpenSSL 3's `openssl pkcs12 -export` default.
    Modern,
    /// pbeWithSHAAnd3-KeyTripleDES-CBC (2048 iterations) for key and certificates, HMAC-SHA-1 MAC:
    /// Windows' "TripleDES-SHA1", readable by OpenSSL 3 without `-legacy` and by gpgsm 2.2.
    Legacy,
}

/// Why a PKCS#12 file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Pkcs12Error {
    /// The MAC over the file did not verify under the password.
    #[error(
        "MAC verification failed: the password is wrong, or the file is damaged (check the \
         password; if it is right, export the file again)"
    )]
    WrongPassword,
    /// A part did not decrypt: bad padding or garbage plaintext.
    #[error(
        "could not decrypt {part}: the password is wrong, or the file is damaged{hint}",
        hint = if *.mac_verified {
            " (the MAC matched, so this part was encrypted under a different password)"
        } else {
            " (the file has no MAC to tell the two apart)"
        }
    )]
    DecryptionFailed {
        /// Which part, e.g. "the private key in SafeContents 1, bag 0".
        part: String,
        /// Whether the file's MAC had verified under the same password.
        mac_verified: bool,
    },
    /// An algorithm this module does not implement.
    #[error(
        "{purpose} uses {name} ({oid}), which smime-lab does not support; supported are PBES2 \
         (PBKDF2 with AES-CBC or 3DES), pbeWithSHAAnd3-KeyTripleDES-CBC, pbeWithSHAAnd2-KeyTripleDES-CBC, \
         pbeWithSHAAnd128BitRC2-CBC, pbeWithSHAAnd40BitRC2-CBC and SHA-1/SHA-2 or PBMAC1 MACs: \
         re-export the file with `openssl pkcs12 -export` (AES-256)"
    )]
    UnsupportedAlgorithm {
        /// Where it was used, e.g. "the MAC".
        purpose: String,
        /// Its OID.
        oid: ObjectIdentifier,
        /// Its name, or the OID again when unknown.
        name: String,
    },
    /// A PKCS#12 feature outside password integrity and password privacy.
    #[error("unsupported PKCS#12 file: {0}")]
    UnsupportedStructure(String),
    /// The bytes are not the structure they should be.
    #[error("malformed PKCS#12: {location}: {detail}")]
    Malformed {
        /// Which structure, e.g. "SafeContents 1, bag 2 (certBag)".
        location: String,
        /// What the decoder said, with its byte offset inside that structure.
        detail: String,
    },
    /// An iteration count above [`MAX_ITERATIONS`].
    #[error(
        "{location} asks for {count} iterations, more than the {limit} this reader allows \
         (a damaged or hostile file; real files use at most a few hundred thousand)",
        limit = MAX_ITERATIONS
    )]
    TooManyIterations {
        /// Where the count was found.
        location: String,
        /// The count.
        count: u32,
    },
    /// A derivation that would take the caller's [`KdfBudget`] over its limit.
    #[error(
        "{location} asks for {asked} key-derivation iterations; with the {spent} already spent \
         that is more than the {limit} allowed"
    )]
    KdfBudgetExceeded {
        location: String,
        asked: u64,
        spent: u64,
        limit: u64,
    },
    /// An input to [`write_pkcs12`] or [`public_key_matches`] is not what it should be.
    #[error("invalid {what}: {detail}")]
    InvalidInput {
        /// Which input, e.g. "private key".
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// [`write_pkcs12`] was given a key that does not belong to the certificate.
    #[error(
        "the private key does not belong to the certificate (their public keys differ): pass the \
         key that was used for the certificate request"
    )]
    KeyCertificateMismatch,
    /// Encoding failed (an internal invariant, not bad input).
    #[error("encoding the PKCS#12 structure failed: {0}")]
    Encode(#[from] der::Error),
}

impl Pkcs12Error {
    /// True for the two ways a wrong password shows: a failed MAC, or (in a file without a MAC, or
    /// with a second password) a part that does not decrypt.
    #[must_use]
    pub fn is_wrong_password(&self) -> bool {
        matches!(
            self,
            Pkcs12Error::WrongPassword | Pkcs12Error::DecryptionFailed { .. }
        )
    }

    pub(crate) fn malformed(location: impl Into<String>, detail: impl fmt::Display) -> Self {
        Pkcs12Error::Malformed {
            location: location.into(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn unsupported(purpose: impl Into<String>, oid: ObjectIdentifier) -> Self {
        Pkcs12Error::UnsupportedAlgorithm {
            purpose: purpose.into(),
            oid,
            name: algorithm_name(&oid),
        }
    }
}

/// The conventional name of an OID for messages; the dotted form when nobody named it.
pub(crate) fn algorithm_name(oid: &ObjectIdentifier) -> String {
    const EXTRA: &[(ObjectIdentifier, &str)] = &[
        (asn1::oid::PBMAC1, "PBMAC1"),
        (
            ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.3"),
            "pbeWithMD5AndDES-CBC",
        ),
        (
            ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.10"),
            "pbeWithSHA1AndDES-CBC",
        ),
        (
            ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13"),
            "PBES2",
        ),
    ];
    EXTRA
        .iter()
        .find(|(known, _)| known == oid)
        .map(|(_, name)| (*name).to_string())
        .or_else(|| const_oid::db::DB.by_oid(oid).map(str::to_string))
        .unwrap_or_else(|| oid.to_string())
}

// Private keys must never reach a log through `{:?}`: Debug shows their length only.
impl fmt::Debug for Pkcs12Contents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs12Contents")
            .field(
                "private_key_pkcs8_der",
                &self
                    .private_key_pkcs8_der
                    .as_ref()
                    .map(|key| Redacted(key.len())),
            )
            .field("certificates", &self.certificates.len())
            .field("friendly_name", &self.friendly_name)
            .field("keys", &self.keys)
            .field("protection", &self.protection)
            .field("ignored_bags", &self.ignored_bags)
            .finish()
    }
}

impl fmt::Debug for Pkcs12Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs12Key")
            .field("pkcs8_der", &Redacted(self.pkcs8_der.len()))
            .field(
                "local_key_id",
                &self.local_key_id.as_ref().map(hex::encode_upper),
            )
            .field("friendly_name", &self.friendly_name)
            .field("certificate_index", &self.certificate_index)
            .finish()
    }
}

struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes, redacted>", self.0)
    }
}

#[cfg(test)]
mod tests;
