//! Digest and signature algorithms of CMS SignedData: identifiers, names, and the RustCrypto
//! primitives that sign and verify (RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA P-256/P-384).

use std::str::FromStr;

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc8410};
use der::asn1::Null;
use der::{Any, Decode, Encode};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::key::PrivateKey;

/// OIDs the const-oid database does not carry.
pub mod oids {
    use const_oid::ObjectIdentifier;
    /// ecdsa-with-SHA1 (RFC 3279).
    pub const ECDSA_WITH_SHA_1: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
    /// id-dsa-with-sha256 (RFC 5758).
    pub const DSA_WITH_SHA_256: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.2");
    /// desCBC (OIW), listed by mobile-policy capabilities.
    pub const DES_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.7");
    /// Microsoft's encryption key preference: szOID_MICROSOFT_ENCRYPTION_KEY_PREFERENCE
    /// (the IssuerAndSerialNumber of the sender's encryption certificate), written by Outlook
    /// and Thunderbird beside the standard one.
    pub const MS_ENCRYPTION_KEY_PREFERENCE: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.16.4");
}

/// Message digest algorithms. MD5 exists because an Exchange mobile policy can demand it
/// (`RequireSignedSMIMEAlgorithm MD5`); it is never a default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DigestAlgorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            DigestAlgorithm::Md5 => rfc5912::ID_MD_5,
            DigestAlgorithm::Sha1 => rfc5912::ID_SHA_1,
            DigestAlgorithm::Sha224 => rfc5912::ID_SHA_224,
            DigestAlgorithm::Sha256 => rfc5912::ID_SHA_256,
            DigestAlgorithm::Sha384 => rfc5912::ID_SHA_384,
            DigestAlgorithm::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [
            DigestAlgorithm::Md5,
            DigestAlgorithm::Sha1,
            DigestAlgorithm::Sha224,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ]
        .into_iter()
        .find(|d| d.oid() == *oid)
    }

    /// The name reports use: `SHA-256`.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Sha1 => "SHA-1",
            DigestAlgorithm::Sha224 => "SHA-224",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha384 => "SHA-384",
            DigestAlgorithm::Sha512 => "SHA-512",
        }
    }

    /// The `micalg` parameter of multipart/signed (RFC 8551 §3.5.3.2).
    pub fn micalg(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "md5",
            DigestAlgorithm::Sha1 => "sha-1",
            DigestAlgorithm::Sha224 => "sha-224",
            DigestAlgorithm::Sha256 => "sha-256",
            DigestAlgorithm::Sha384 => "sha-384",
            DigestAlgorithm::Sha512 => "sha-512",
        }
    }

    /// MD5 and SHA-1 have practical collision attacks.
    pub fn is_weak(self) -> bool {
        matches!(self, DigestAlgorithm::Md5 | DigestAlgorithm::Sha1)
    }

    pub fn output_len(self) -> usize {
        match self {
            DigestAlgorithm::Md5 => 16,
            DigestAlgorithm::Sha1 => 20,
            DigestAlgorithm::Sha224 => 28,
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha384 => 48,
            DigestAlgorithm::Sha512 => 64,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            DigestAlgorithm::Md5 => md5::Md5::digest(data).to_vec(),
            DigestAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
            DigestAlgorithm::Sha224 => sha2::Sha224::digest(data).to_vec(),
            DigestAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            DigestAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            DigestAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// The AlgorithmIdentifier written into SignedData: parameters absent for SHA-2 (RFC 5754
    /// §2), NULL for MD5 and SHA-1 as the older clients write them.
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        let parameters = match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Sha1 => Some(Any::from(Null)),
            _ => None,
        };
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters,
        }
    }
}

impl FromStr for DigestAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        Ok(match norm.as_str() {
            "md5" => DigestAlgorithm::Md5,
            "sha1" => DigestAlgorithm::Sha1,
            "sha224" => DigestAlgorithm::Sha224,
            "sha256" => DigestAlgorithm::Sha256,
            "sha384" => DigestAlgorithm::Sha384,
            "sha512" => DigestAlgorithm::Sha512,
            _ => {
                return Err(format!(
                    "unknown digest {s:?}: use sha256, sha384, sha512, sha1 or md5"
                ));
            }
        })
    }
}

impl std::fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// RSA signature padding. ECDSA keys ignore it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RsaPadding {
    /// RSASSA-PKCS1-v1_5, signatureAlgorithm rsaEncryption, as Outlook, Thunderbird and OpenSSL
    /// write it.
    #[default]
    Pkcs1v15,
    /// RSASSA-PSS (RFC 4056) with MGF1 over the same hash and salt length = hash length, the
    /// parameters spelled out in the AlgorithmIdentifier.
    Pss,
}

/// A human name for an OID: the const-oid database name, or the dotted form.
pub fn oid_name(oid: &ObjectIdentifier) -> String {
    if *oid == oids::MS_ENCRYPTION_KEY_PREFERENCE {
        return "microsoftEncryptionKeyPreference".to_owned();
    }
    if *oid == oids::ECDSA_WITH_SHA_1 {
        return "ecdsa-with-SHA1".to_owned();
    }
    if *oid == oids::DES_CBC {
        return "desCBC".to_owned();
    }
    const_oid::db::DB
        .by_oid(oid)
        .map(str::to_owned)
        .unwrap_or_else(|| oid.to_string())
}

/// The signature scheme a SignerInfo uses, resolved against its digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignatureScheme {
    RsaPkcs1(DigestAlgorithm),
    RsaPss {
        hash: DigestAlgorithm,
        salt_len: usize,
    },
    Ecdsa(DigestAlgorithm),
}

impl SignatureScheme {
    pub(crate) fn hash(self) -> DigestAlgorithm {
        match self {
            SignatureScheme::RsaPkcs1(h) | SignatureScheme::Ecdsa(h) => h,
            SignatureScheme::RsaPss { hash, .. } => hash,
        }
    }

    pub(crate) fn describe(self) -> String {
        match self {
            SignatureScheme::RsaPkcs1(h) => format!("RSA PKCS#1 v1.5 with {h}"),
            SignatureScheme::RsaPss { hash, salt_len } => {
                format!("RSASSA-PSS with {hash}, MGF1-{hash}, salt {salt_len}")
            }
            SignatureScheme::Ecdsa(h) => format!("ECDSA with {h}"),
        }
    }
}

/// Why a signature could not be checked or did not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SignatureProblem {
    /// The algorithm (or key type) is one this verifier does not implement.
    Unsupported(String),
    /// Parameters that contradict each other or the digest algorithm.
    Malformed(String),
    /// The signature does not verify.
    Invalid(String),
}

/// Resolves a SignerInfo's signatureAlgorithm, given its digestAlgorithm.
pub(crate) fn classify_signature(
    alg: &AlgorithmIdentifierOwned,
    digest: DigestAlgorithm,
) -> Result<SignatureScheme, SignatureProblem> {
    let oid = alg.oid;
    let hashed = |h: DigestAlgorithm, f: fn(DigestAlgorithm) -> SignatureScheme| {
        if h == digest {
            Ok(f(h))
        } else {
            Err(SignatureProblem::Malformed(format!(
                "signatureAlgorithm {} implies {h} but digestAlgorithm is {digest}",
                oid_name(&oid)
            )))
        }
    };
    match oid {
        o if o == rfc5912::RSA_ENCRYPTION => Ok(SignatureScheme::RsaPkcs1(digest)),
        o if o == rfc5912::MD_5_WITH_RSA_ENCRYPTION => {
            hashed(DigestAlgorithm::Md5, SignatureScheme::RsaPkcs1)
        }
        o if o == rfc5912::SHA_1_WITH_RSA_ENCRYPTION => {
            hashed(DigestAlgorithm::Sha1, SignatureScheme::RsaPkcs1)
        }
        o if o == rfc5912::SHA_224_WITH_RSA_ENCRYPTION => {
            hashed(DigestAlgorithm::Sha224, SignatureScheme::RsaPkcs1)
        }
        o if o == rfc5912::SHA_256_WITH_RSA_ENCRYPTION => {
            hashed(DigestAlgorithm::Sha256, SignatureScheme::RsaPkcs1)
        }
        o if o == rfc5912::SHA_384_WITH_RSA_ENCRYPTION => {
            hashed(DigestAlgorithm::Sha384, SignatureScheme::RsaPkcs1)
        }
        o if o == rfc5912::SHA_512_WITH_RSA_ENCRYPTION => {
            hashed(DigestAlgorithm::Sha512, SignatureScheme::RsaPkcs1)
        }
        o if o == rfc5912::ID_EC_PUBLIC_KEY => Ok(SignatureScheme::Ecdsa(digest)),
        o if o == oids::ECDSA_WITH_SHA_1 => hashed(DigestAlgorithm::Sha1, SignatureScheme::Ecdsa),
        o if o == rfc5912::ECDSA_WITH_SHA_224 => {
            hashed(DigestAlgorithm::Sha224, SignatureScheme::Ecdsa)
        }
        o if o == rfc5912::ECDSA_WITH_SHA_256 => {
            hashed(DigestAlgorithm::Sha256, SignatureScheme::Ecdsa)
        }
        o if o == rfc5912::ECDSA_WITH_SHA_384 => {
            hashed(DigestAlgorithm::Sha384, SignatureScheme::Ecdsa)
        }
        o if o == rfc5912::ECDSA_WITH_SHA_512 => {
            hashed(DigestAlgorithm::Sha512, SignatureScheme::Ecdsa)
        }
        o if o == rfc5912::ID_RSASSA_PSS => pss_scheme(alg, digest),
        o if o == rfc8410::ID_ED_25519 || o == rfc8410::ID_ED_448 => {
            Err(SignatureProblem::Unsupported(format!(
                "{} signatures (RFC 8419) are not implemented by this verifier",
                if o == rfc8410::ID_ED_25519 {
                    "Ed25519"
                } else {
                    "Ed448"
                }
            )))
        }
        o if o == rfc5912::ID_DSA
            || o == rfc5912::DSA_WITH_SHA_1
            || o == oids::DSA_WITH_SHA_256 =>
        {
            Err(SignatureProblem::Unsupported(
                "DSA signatures are obsolete for S/MIME (RFC 8551 dropped them) and not implemented"
                    .to_owned(),
            ))
        }
        other => Err(SignatureProblem::Unsupported(format!(
            "signature algorithm {} is not implemented",
            oid_name(&other)
        ))),
    }
}

fn pss_scheme(
    alg: &AlgorithmIdentifierOwned,
    digest: DigestAlgorithm,
) -> Result<SignatureScheme, SignatureProblem> {
    let malformed = |why: String| SignatureProblem::Malformed(format!("RSASSA-PSS: {why}"));
    let params_der = match &alg.parameters {
        // Absent parameters mean the RFC 4055 defaults (SHA-1, MGF1-SHA-1, salt 20).
        None => None,
        Some(p) => Some(p.to_der().map_err(|e| malformed(e.to_string()))?),
    };
    let params = match &params_der {
        None => pkcs1::RsaPssParamsOwned::default(),
        Some(der) => pkcs1::RsaPssParamsOwned::from_der(der)
            .map_err(|e| malformed(format!("parameters do not decode: {e}")))?,
    };
    let hash = DigestAlgorithm::from_oid(&params.hash.oid).ok_or_else(|| {
        SignatureProblem::Unsupported(format!(
            "RSASSA-PSS with hash {}",
            oid_name(&params.hash.oid)
        ))
    })?;
    if params.mask_gen.oid != rfc5912::ID_MGF_1 {
        return Err(SignatureProblem::Unsupported(format!(
            "RSASSA-PSS mask generation {}",
            oid_name(&params.mask_gen.oid)
        )));
    }
    let mgf_hash = params
        .mask_gen
        .parameters
        .as_ref()
        .map(|p| p.oid)
        .ok_or_else(|| malformed("MGF1 without a hash".to_owned()))?;

    if mgf_hash != params.hash.oid {
        return Err(SignatureProblem::Unsupported(format!(
            "RSASSA-PSS with MGF1-{} over a {hash} signature",
            oid_name(&mgf_hash)
        )));
    }
    if hash != digest {
        return Err(malformed(format!(
            "hash {hash} differs from digestAlgorithm {digest} (RFC 4056 §3 wants them equal)"
        )));
    }
    if params.trailer_field != pkcs1::TrailerField::BC {
        return Err(malformed("trailerField is not 1".to_owned()));
    }
    Ok(SignatureScheme::RsaPss {
        hash,
        salt_len: usize::from(params.salt_len),
    })
}

/// The named curve of an EC public key algorithm identifier.
pub(crate) fn named_curve(alg: &AlgorithmIdentifierOwned) -> Option<ObjectIdentifier> {
    alg.parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
}

/// An RSA public key from a SubjectPublicKeyInfo, accepting the id-RSASSA-PSS key OID and key
/// sizes down to 1024 bits (weak keys must be reported as weak, not as unreadable).
pub(crate) fn rsa_public_key(spki: &SubjectPublicKeyInfoOwned) -> Option<rsa::RsaPublicKey> {
    let bits = spki.subject_public_key.as_bytes()?;
    let pkcs1 = pkcs1::RsaPublicKeyRef::from_der(bits).ok()?;
    let n = rsa::BoxedUint::from_be_slice_vartime(pkcs1.modulus.as_bytes());
    let e = rsa::BoxedUint::from_be_slice_vartime(pkcs1.public_exponent.as_bytes());
    rsa::RsaPublicKey::new_with_size_limits(n, e, 512..=16384).ok()
}

macro_rules! with_digest {
    ($alg:expr, $d:ident => $body:expr) => {
        match $alg {
            DigestAlgorithm::Md5 => {
                type $d = md5::Md5;
                $body
            }
            DigestAlgorithm::Sha1 => {
                type $d = sha1::Sha1;
                $body
            }
            DigestAlgorithm::Sha224 => {
                type $d = sha2::Sha224;
                $body
            }
            DigestAlgorithm::Sha256 => {
                type $d = sha2::Sha256;
                $body
            }
            DigestAlgorithm::Sha384 => {
                type $d = sha2::Sha384;
                $body
            }
            DigestAlgorithm::Sha512 => {
                type $d = sha2::Sha512;
                $body
            }
        }
    };
}

/// Verifies `signature` over `message` (the DER signed attributes, or the content when there are
/// none) with the signer's public key.
pub(crate) fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureProblem> {
    let hashed = scheme.hash().digest(message);
    let key_oid = spki.algorithm.oid;
    match scheme {
        SignatureScheme::RsaPkcs1(h) | SignatureScheme::RsaPss { hash: h, .. } => {
            if key_oid != rfc5912::RSA_ENCRYPTION && key_oid != rfc5912::ID_RSASSA_PSS {
                return Err(SignatureProblem::Malformed(format!(
                    "an RSA signature but the certificate holds a {} key",
                    oid_name(&key_oid)
                )));
            }
            let key = rsa_public_key(spki).ok_or_else(|| {
                SignatureProblem::Malformed("the certificate's RSA key does not decode".to_owned())
            })?;
            let result = match scheme {
                SignatureScheme::RsaPss { salt_len, .. } => {
                    with_digest!(h, D => key.verify(rsa::pss::Pss::<D>::new_with_salt(salt_len), &hashed, signature))
                }
                _ => {
                    with_digest!(h, D => key.verify(rsa::pkcs1v15::Pkcs1v15Sign::new::<D>(), &hashed, signature))
                }
            };
            result.map_err(|e| SignatureProblem::Invalid(format!("RSA: {e}")))
        }
        SignatureScheme::Ecdsa(_) => {
            if key_oid != rfc5912::ID_EC_PUBLIC_KEY {
                return Err(SignatureProblem::Malformed(format!(
                    "an ECDSA signature but the certificate holds a {} key",
                    oid_name(&key_oid)
                )));
            }
            let curve = named_curve(&spki.algorithm).ok_or_else(|| {
                SignatureProblem::Unsupported("EC key without a named curve".to_owned())
            })?;
            let point = spki.subject_public_key.raw_bytes();
            use signature::hazmat::PrehashVerifier;
            let invalid = |e: signature::Error| SignatureProblem::Invalid(format!("ECDSA: {e}"));
            if curve == rfc5912::SECP_256_R_1 {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| {
                    SignatureProblem::Malformed("the P-256 public key does not decode".to_owned())
                })?;
                let sig = p256::ecdsa::Signature::from_der(signature).map_err(invalid)?;
                key.verify_prehash(&hashed, &sig).map_err(invalid)
            } else if curve == rfc5912::SECP_384_R_1 {
                let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| {
                    SignatureProblem::Malformed("the P-384 public key does not decode".to_owned())
                })?;
                let sig = p384::ecdsa::Signature::from_der(signature).map_err(invalid)?;
                key.verify_prehash(&hashed, &sig).map_err(invalid)
            } else {
                Err(SignatureProblem::Unsupported(format!(
                    "ECDSA on curve {}",
                    oid_name(&curve)
                )))
            }
        }
    }
}

/// Signs `message` (the DER signed attributes) and returns the signatureAlgorithm to write with
/// the signature bytes. The rng is used only for RSA-PSS salts (and RSA blinding); ECDSA is
/// RFC 6979 deterministic.
pub(crate) fn sign<R: CryptoRng + ?Sized>(
    key: &PrivateKey,
    padding: RsaPadding,
    digest: DigestAlgorithm,
    message: &[u8],
    rng: &mut R,
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), String> {
    let hashed = digest.digest(message);
    match key {
        PrivateKey::Rsa(k) => match padding {
            RsaPadding::Pkcs1v15 => {
                let sig = with_digest!(digest, D => k.sign_with_rng(rng, rsa::pkcs1v15::Pkcs1v15Sign::new::<D>(), &hashed))
                    .map_err(|e| format!("RSA PKCS#1 v1.5 signing failed: {e}"))?;
                Ok((
                    AlgorithmIdentifierOwned {
                        oid: rfc5912::RSA_ENCRYPTION,
                        parameters: Some(Any::from(Null)),
                    },
                    sig,
                ))
            }
            RsaPadding::Pss => {
                if digest == DigestAlgorithm::Md5 {
                    return Err("RSASSA-PSS with MD5 is not a combination anyone accepts".into());
                }
                let salt_len = digest.output_len();
                let sig = with_digest!(digest, D => k.sign_with_rng(rng, rsa::pss::Pss::<D>::new_with_salt(salt_len), &hashed))
                    .map_err(|e| format!("RSA-PSS signing failed: {e}"))?;
                let salt = u8::try_from(salt_len).map_err(|e| e.to_string())?;
                let params = with_digest!(digest, D => pkcs1::RsaPssParamsRef::new::<D>(salt));
                let parameters = Any::encode_from(&params).map_err(|e| e.to_string())?;
                Ok((
                    AlgorithmIdentifierOwned {
                        oid: rfc5912::ID_RSASSA_PSS,
                        parameters: Some(parameters),
                    },
                    sig,
                ))
            }
        },
        PrivateKey::P256(k) => {
            use signature::hazmat::PrehashSigner;
            let signing = p256::ecdsa::SigningKey::from(k);
            let sig: p256::ecdsa::Signature = signing
                .sign_prehash(&hashed)
                .map_err(|e| format!("ECDSA P-256 signing with {digest} failed: {e}"))?;
            Ok((ecdsa_identifier(digest)?, sig.to_der().as_bytes().to_vec()))
        }
        PrivateKey::P384(k) => {
            use signature::hazmat::PrehashSigner;
            let signing = p384::ecdsa::SigningKey::from(k);
            let sig: p384::ecdsa::Signature = signing
                .sign_prehash(&hashed)
                .map_err(|e| format!("ECDSA P-384 signing with {digest} failed: {e}"))?;
            Ok((ecdsa_identifier(digest)?, sig.to_der().as_bytes().to_vec()))
        }
    }
}

fn ecdsa_identifier(digest: DigestAlgorithm) -> Result<AlgorithmIdentifierOwned, String> {
    let oid = match digest {
        DigestAlgorithm::Sha1 => oids::ECDSA_WITH_SHA_1,
        DigestAlgorithm::Sha224 => rfc5912::ECDSA_WITH_SHA_224,
        DigestAlgorithm::Sha256 => rfc5912::ECDSA_WITH_SHA_256,
        DigestAlgorithm::Sha384 => rfc5912::ECDSA_WITH_SHA_384,
        DigestAlgorithm::Sha512 => rfc5912::ECDSA_WITH_SHA_512,
        DigestAlgorithm::Md5 => return Err("ECDSA with MD5 is not defined".to_owned()),
    };
    // RFC 5758 §3.2: ecdsa-with-SHA* identifiers have absent parameters.
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_names_parse_and_round_trip() {
        for d in [
            DigestAlgorithm::Md5,
            DigestAlgorithm::Sha1,
            DigestAlgorithm::Sha224,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            assert_eq!(DigestAlgorithm::from_oid(&d.oid()), Some(d));
            assert_eq!(d.micalg().parse::<DigestAlgorithm>().unwrap(), d);
            assert_eq!(d.digest(b"x").len(), d.output_len());
        }
        assert!("sha3-256".parse::<DigestAlgorithm>().is_err());
    }

    #[test]
    fn sign_then_verify_every_scheme() {
        use crate::key::KeySpec;
        let rsa =
            PrivateKey::generate(KeySpec::Rsa2048, &mut crate::rng::seeded("alg-rsa")).unwrap();
        let p256 =
            PrivateKey::generate(KeySpec::EcdsaP256, &mut crate::rng::seeded("alg-p256")).unwrap();
        let p384 =
            PrivateKey::generate(KeySpec::EcdsaP384, &mut crate::rng::seeded("alg-p384")).unwrap();
        let cases = [
            (&rsa, RsaPadding::Pkcs1v15, DigestAlgorithm::Sha256),
            (&rsa, RsaPadding::Pkcs1v15, DigestAlgorithm::Md5),
            (&rsa, RsaPadding::Pss, DigestAlgorithm::Sha384),
            (&p256, RsaPadding::Pkcs1v15, DigestAlgorithm::Sha256),
            (&p384, RsaPadding::Pkcs1v15, DigestAlgorithm::Sha384),
            (&p256, RsaPadding::Pkcs1v15, DigestAlgorithm::Sha512),
        ];
        for (key, padding, digest) in cases {
            let spki = SubjectPublicKeyInfoOwned::from_der(&key.public_key_der().unwrap()).unwrap();
            let mut rng = crate::rng::seeded("alg-sign");
            let (alg, sig) = sign(key, padding, digest, b"message", &mut rng).unwrap();
            let scheme = classify_signature(&alg, digest).unwrap();
            verify_signature(&spki, scheme, b"message", &sig).unwrap();
            assert!(matches!(
                verify_signature(&spki, scheme, b"messagE", &sig),
                Err(SignatureProblem::Invalid(_))
            ));
        }
    }

    #[test]
    fn unsupported_algorithms_are_named() {
        let ed = AlgorithmIdentifierOwned {
            oid: rfc8410::ID_ED_25519,
            parameters: None,
        };
        assert!(matches!(
            classify_signature(&ed, DigestAlgorithm::Sha512),
            Err(SignatureProblem::Unsupported(m)) if m.contains("Ed25519")
        ));
        let mismatch = AlgorithmIdentifierOwned {
            oid: rfc5912::SHA_1_WITH_RSA_ENCRYPTION,
            parameters: None,
        };
        assert!(matches!(
            classify_signature(&mismatch, DigestAlgorithm::Sha256),
            Err(SignatureProblem::Malformed(_))
        ));
    }
}
