//! Private keys: the algorithms the lab issues, deterministic generation, PKCS#8 in and out.
//!
//! One enum over the concrete RustCrypto key types rather than a trait object: every consumer (PKI,
//! PKCS#12, CMS) needs to branch on the algorithm anyway, to pick OIDs and padding.

use std::fmt;

use der::{Decode, Encode};
use p256::elliptic_curve::Generate;
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use spki::SubjectPublicKeyInfoOwned;

/// The key algorithms and sizes the lab can issue. The names are the ones scenario files use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum KeySpec {
    /// Too small for any current profile; exists so scenarios can show it being refused.
    #[serde(rename = "rsa-1024")]
    Rsa1024,
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    #[serde(rename = "ecdsa-p384")]
    EcdsaP384,
}

impl KeySpec {
    pub fn name(self) -> &'static str {
        match self {
            KeySpec::Rsa1024 => "rsa-1024",
            KeySpec::Rsa2048 => "rsa-2048",
            KeySpec::Rsa3072 => "rsa-3072",
            KeySpec::Rsa4096 => "rsa-4096",
            KeySpec::EcdsaP256 => "ecdsa-p256",
            KeySpec::EcdsaP384 => "ecdsa-p384",
        }
    }

    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            KeySpec::Rsa1024 | KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096
        )
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("RSA key generation failed: {0}")]
    Generate(String),
    #[error(
        "not a private key this lab reads ({0}); expected PKCS#8 (BEGIN PRIVATE KEY), PKCS#1 (BEGIN RSA PRIVATE KEY) or SEC1 (BEGIN EC PRIVATE KEY) for RSA, P-256 or P-384; an encrypted key must be decrypted first (openssl pkey -in key.pem -out plain.pem)"
    )]
    Unreadable(String),
    #[error("could not encode the private key: {0}")]
    Encode(String),
}

/// The versions of everything that decides which key [`PrivateKey::generate`] makes from a
/// seeded generator: the `rsa` crate and the prime search under it (`crypto-bigint`,
/// `crypto-primes`), `p256`/`p384` (`elliptic-curve`), and the generator itself (`rand_core`,
/// `rand_chacha`, seeded by `sha2` in
/// [`crate::rng::seeded`]), with `generation` counting changes to [`PrivateKey::generate`]'s
/// own code. A cache of generated keys ([`KeySource`]) names its entries with it, so that a
/// version bump, which may change every key, makes every cached key stale instead of wrong. A unit
/// test holds it to `Cargo.lock`.
pub const GENERATOR_VERSIONS: &str = "generation 1; rsa 0.10.0-rc.20; crypto-bigint 0.7.10; crypto-primes 0.7.2; p256 0.14.0; p384 0.14.0; elliptic-curve 0.14.3; rand_core 0.10.1; rand_chacha 0.10.0; sha2 0.11.1;";

/// Where [`crate::pki::build_with`] gets each key. Every implementation must give exactly the key
/// [`Generated`] gives for the same label and spec: a source may remember keys, never choose
/// them, so that a plan is the same bytes whichever source made it.
pub trait KeySource: fmt::Debug {
    /// The key `PrivateKey::generate(spec, &mut rng::seeded(label))` makes.
    fn key(&self, label: &str, spec: KeySpec) -> Result<PrivateKey, KeyError>;
}

/// The [`KeySource`] that generates every key, from [`crate::rng::seeded`]`(label)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Generated;

impl KeySource for Generated {
    fn key(&self, label: &str, spec: KeySpec) -> Result<PrivateKey, KeyError> {
        PrivateKey::generate(spec, &mut crate::rng::seeded(label))
    }
}

/// A private key of one of the algorithms in [`KeySpec`]. `Debug` shows the algorithm, never the key.
#[derive(Clone)]
pub enum PrivateKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({})", self.algorithm_name())
    }
}

impl PrivateKey {
    /// Generates a key from `rng`. With a seeded generator ([`crate::rng::seeded`]) the same label
    /// gives the same key on every machine, because the `rsa` and `p256`/`p384` versions are pinned.
    pub fn generate<R: CryptoRng + ?Sized>(spec: KeySpec, rng: &mut R) -> Result<Self, KeyError> {
        let rsa = |rng: &mut R, bits: usize| {
            rsa::RsaPrivateKey::new(rng, bits)
                .map(|k| PrivateKey::Rsa(Box::new(k)))
                .map_err(|e| KeyError::Generate(e.to_string()))
        };
        match spec {
            // Too weak for any profile: the lab makes it on purpose, so that checks can refuse it.
            KeySpec::Rsa1024 => rsa(rng, 1024),
            KeySpec::Rsa2048 => rsa(rng, 2048),
            KeySpec::Rsa3072 => rsa(rng, 3072),
            KeySpec::Rsa4096 => rsa(rng, 4096),
            KeySpec::EcdsaP256 => Ok(PrivateKey::P256(p256::SecretKey::generate_from_rng(rng))),
            KeySpec::EcdsaP384 => Ok(PrivateKey::P384(p384::SecretKey::generate_from_rng(rng))),
        }
    }

    /// Reads an unencrypted PKCS#8 DER key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = pkcs8::PrivateKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::Unreadable(format!("PKCS#8: {e}")))?;
        let oid = info.algorithm.oid;
        if oid == const_oid::db::rfc5912::RSA_ENCRYPTION {
            return rsa::RsaPrivateKey::from_pkcs8_der(der)
                .map(|k| PrivateKey::Rsa(Box::new(k)))
                .map_err(|e| KeyError::Unreadable(format!("RSA PKCS#8: {e}")));
        }
        if oid == const_oid::db::rfc5912::ID_EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|e| KeyError::Unreadable(format!("EC key without a named curve: {e}")))?;
            if curve == const_oid::db::rfc5912::SECP_256_R_1 {
                return p256::SecretKey::from_pkcs8_der(der)
                    .map(PrivateKey::P256)
                    .map_err(|e| KeyError::Unreadable(format!("P-256 PKCS#8: {e}")));
            }
            if curve == const_oid::db::rfc5912::SECP_384_R_1 {
                return p384::SecretKey::from_pkcs8_der(der)
                    .map(PrivateKey::P384)
                    .map_err(|e| KeyError::Unreadable(format!("P-384 PKCS#8: {e}")));
            }
            return Err(KeyError::Unreadable(format!(
                "EC curve {curve} is not supported"
            )));
        }
        Err(KeyError::Unreadable(format!(
            "key algorithm {oid} is not supported"
        )))
    }

    /// Reads a key from PEM (PKCS#8, PKCS#1 RSA or SEC1 EC) or from DER (PKCS#8, then PKCS#1, then SEC1).
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, KeyError> {
        if let Ok(text) = std::str::from_utf8(bytes)
            && text.contains("-----BEGIN")
        {
            return Self::from_pem(text);
        }
        Self::from_pkcs8_der(bytes).or_else(|pkcs8_error| {
            use pkcs1::DecodeRsaPrivateKey;
            if let Ok(k) = rsa::RsaPrivateKey::from_pkcs1_der(bytes) {
                return Ok(PrivateKey::Rsa(Box::new(k)));
            }
            if let Ok(k) = p256::SecretKey::from_sec1_der(bytes) {
                return Ok(PrivateKey::P256(k));
            }
            if let Ok(k) = p384::SecretKey::from_sec1_der(bytes) {
                return Ok(PrivateKey::P384(k));
            }
            Err(pkcs8_error)
        })
    }

    fn from_pem(text: &str) -> Result<Self, KeyError> {
        let (label, der) = der::pem::decode_vec(text.trim().as_bytes())
            .map_err(|e| KeyError::Unreadable(format!("PEM: {e}")))?;
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "RSA PRIVATE KEY" => {
                use pkcs1::DecodeRsaPrivateKey;
                rsa::RsaPrivateKey::from_pkcs1_der(&der)
                    .map(|k| PrivateKey::Rsa(Box::new(k)))
                    .map_err(|e| KeyError::Unreadable(format!("PKCS#1: {e}")))
            }
            "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(&der)
                .map(PrivateKey::P256)
                .or_else(|_| p384::SecretKey::from_sec1_der(&der).map(PrivateKey::P384))
                .map_err(|e| KeyError::Unreadable(format!("SEC1: {e}"))),
            "ENCRYPTED PRIVATE KEY" => {
                Err(KeyError::Unreadable("the PEM key is encrypted".to_owned()))
            }
            other => Err(KeyError::Unreadable(format!("PEM label {other:?}"))),
        }
    }

    /// Unencrypted PKCS#8 DER. Callers that write it to disk must use mode 0600.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        let doc = match self {
            PrivateKey::Rsa(k) => k.to_pkcs8_der(),
            PrivateKey::P256(k) => k.to_pkcs8_der(),
            PrivateKey::P384(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| KeyError::Encode(e.to_string()))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// Unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`), LF line endings.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let pem = match self {
            PrivateKey::Rsa(k) => k.to_pkcs8_pem(LineEnding::LF),
            PrivateKey::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            PrivateKey::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| KeyError::Encode(e.to_string()))?;
        Ok(pem.to_string())
    }

    /// The SubjectPublicKeyInfo of the matching public key, DER-encoded.
    pub fn public_key_der(&self) -> Result<Vec<u8>, KeyError> {
        let doc = match self {
            PrivateKey::Rsa(k) => k.to_public_key().to_public_key_der(),
            PrivateKey::P256(k) => k.public_key().to_public_key_der(),
            PrivateKey::P384(k) => k.public_key().to_public_key_der(),
        }
        .map_err(|e| KeyError::Encode(e.to_string()))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// True when `spki` (a certificate's SubjectPublicKeyInfo) is this key's public half.
    pub fn matches(&self, spki: &SubjectPublicKeyInfoOwned) -> bool {
        match (self.public_key_der(), spki.to_der()) {
            (Ok(ours), Ok(theirs)) => ours == theirs || self.matches_loosely(spki),
            _ => false,
        }
    }

    /// EC public keys may be encoded compressed or with explicit parameters by other tools; compare
    /// the key bits only when the algorithm OIDs agree.
    fn matches_loosely(&self, spki: &SubjectPublicKeyInfoOwned) -> bool {
        use p256::elliptic_curve::sec1::FromSec1Point;
        let bits = spki.subject_public_key.raw_bytes();
        match self {
            PrivateKey::Rsa(k) => spki
                .to_der()
                .ok()
                .and_then(|der| {
                    use pkcs8::DecodePublicKey;
                    rsa::RsaPublicKey::from_public_key_der(&der).ok()
                })
                .is_some_and(|p| p == k.to_public_key()),
            PrivateKey::P256(k) => p256::Sec1Point::from_bytes(bits)
                .ok()
                .and_then(|point| Option::from(p256::PublicKey::from_sec1_point(&point)))
                .is_some_and(|p: p256::PublicKey| p == k.public_key()),
            PrivateKey::P384(k) => p384::Sec1Point::from_bytes(bits)
                .ok()
                .and_then(|point| Option::from(p384::PublicKey::from_sec1_point(&point)))
                .is_some_and(|p: p384::PublicKey| p == k.public_key()),
        }
    }

    /// The algorithm and size, as a [`KeySpec`] where the lab has a name for it.
    pub fn spec(&self) -> Option<KeySpec> {
        match self {
            PrivateKey::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                match k.size() * 8 {
                    1024 => Some(KeySpec::Rsa1024),
                    2048 => Some(KeySpec::Rsa2048),
                    3072 => Some(KeySpec::Rsa3072),
                    4096 => Some(KeySpec::Rsa4096),
                    _ => None,
                }
            }
            PrivateKey::P256(_) => Some(KeySpec::EcdsaP256),
            PrivateKey::P384(_) => Some(KeySpec::EcdsaP384),
        }
    }

    /// A short human name such as `RSA-2048` or `ECDSA P-256`.
    pub fn algorithm_name(&self) -> String {
        match self {
            PrivateKey::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                format!("RSA-{}", k.size() * 8)
            }
            PrivateKey::P256(_) => "ECDSA P-256".to_owned(),
            PrivateKey::P384(_) => "ECDSA P-384".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_generation_is_deterministic_and_round_trips_through_pkcs8() {
        for spec in [KeySpec::Rsa2048, KeySpec::EcdsaP256, KeySpec::EcdsaP384] {
            let a = PrivateKey::generate(spec, &mut crate::rng::seeded("key-test")).unwrap();
            let b = PrivateKey::generate(spec, &mut crate::rng::seeded("key-test")).unwrap();
            let der = a.to_pkcs8_der().unwrap();
            assert_eq!(der, b.to_pkcs8_der().unwrap(), "{spec} not deterministic");
            let back = PrivateKey::from_pkcs8_der(&der).unwrap();
            assert_eq!(back.spec(), Some(spec));
            let pem = a.to_pkcs8_pem().unwrap();
            let from_pem = PrivateKey::from_pem_or_der(pem.as_bytes()).unwrap();
            assert_eq!(from_pem.to_pkcs8_der().unwrap(), der);
            let spki = SubjectPublicKeyInfoOwned::from_der(&a.public_key_der().unwrap()).unwrap();
            assert!(back.matches(&spki));
        }
    }

    /// A lock file that moves one of the crates that decide generated keys must move
    /// [`GENERATOR_VERSIONS`] too, so that a key cache does not hand out keys of the old one.
    #[test]
    fn generator_versions_are_the_locked_ones() {
        let lock = include_str!("../../../Cargo.lock");
        for name in [
            "rsa",
            "crypto-bigint",
            "crypto-primes",
            "p256",
            "p384",
            "elliptic-curve",
            "rand_core",
            "rand_chacha",
            "sha2",
        ] {
            let versions: Vec<&str> = lock
                .split("[[package]]")
                .filter_map(|package| {
                    let mut lines = package.lines().map(str::trim);
                    lines.find(|l| *l == format!("name = \"{name}\""))?;
                    lines
                        .find_map(|l| l.strip_prefix("version = \""))
                        .map(|v| v.trim_end_matches('"'))
                })
                .collect();
            assert!(!versions.is_empty(), "{name} is not in Cargo.lock");
            for version in versions {
                assert!(
                    GENERATOR_VERSIONS.contains(&format!(" {name} {version};")),
                    "Cargo.lock has {name} {version}: update GENERATOR_VERSIONS ({GENERATOR_VERSIONS})"
                );
            }
        }
    }

    #[test]
    fn generated_is_generate_from_the_seeded_label() {
        for spec in [KeySpec::Rsa1024, KeySpec::EcdsaP256] {
            let direct = PrivateKey::generate(spec, &mut crate::rng::seeded("label")).unwrap();
            let source = Generated.key("label", spec).unwrap();
            assert_eq!(
                source.to_pkcs8_der().unwrap(),
                direct.to_pkcs8_der().unwrap()
            );
        }
    }

    #[test]
    fn a_different_key_does_not_match() {
        let a = PrivateKey::generate(KeySpec::EcdsaP256, &mut crate::rng::seeded("a")).unwrap();
        let b = PrivateKey::generate(KeySpec::EcdsaP256, &mut crate::rng::seeded("b")).unwrap();
        let spki = SubjectPublicKeyInfoOwned::from_der(&b.public_key_der().unwrap()).unwrap();
        assert!(!a.matches(&spki));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for input in [
            &b""[..],
            b"\x30\x03\x02\x01",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            assert!(PrivateKey::from_pem_or_der(input).is_err());
        }
    }

    #[test]
    fn debug_never_shows_key_material() {
        let a = PrivateKey::generate(KeySpec::EcdsaP256, &mut crate::rng::seeded("a")).unwrap();
        assert_eq!(format!("{a:?}"), "PrivateKey(ECDSA P-256)");
    }
}
