//! Verifying one certificate's signature with its issuer's public key: RSA PKCS#1 v1.5, RSA-PSS
//! and ECDSA P-256/P-384, over MD5, SHA-1 and SHA-2.
//!
//! MD5 and SHA-1 are verified too, not refused: a weak hash is reported by its own check
//! (PKI-ALG-004), and "this SHA-1 signature is also forged" is worth knowing separately.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::Encode;
use der::asn1::BitString;
use der::referenced::OwnedToRef;
use signature::hazmat::PrehashVerifier;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// ecdsa-with-SHA1 (RFC 3279 §2.2.3): not in `const_oid::db`.
const ECDSA_WITH_SHA_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
/// md2WithRSAEncryption (RFC 3279 §2.2.1): not in `const_oid::db`.
const MD_2_WITH_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.2");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hash {
    Md2,
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Hash::Md2 => "MD2",
            Hash::Md5 => "MD5",
            Hash::Sha1 => "SHA-1",
            Hash::Sha224 => "SHA-224",
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }

    /// Broken for signatures: collisions can be computed.
    pub(crate) fn is_weak(self) -> bool {
        matches!(self, Hash::Md2 | Hash::Md5 | Hash::Sha1)
    }

    fn from_digest_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            rfc5912::ID_SHA_1 => Some(Hash::Sha1),
            rfc5912::ID_SHA_224 => Some(Hash::Sha224),
            rfc5912::ID_SHA_256 => Some(Hash::Sha256),
            rfc5912::ID_SHA_384 => Some(Hash::Sha384),
            rfc5912::ID_SHA_512 => Some(Hash::Sha512),
            _ => None,
        }
    }

    fn digest(self, data: &[u8]) -> Option<Vec<u8>> {
        use sha2::Digest;
        Some(match self {
            Hash::Md2 => return None,
            Hash::Md5 => md5::Md5::digest(data).to_vec(),
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        })
    }
}

/// A certificate signature algorithm, as far as the lab understands it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    RsaPkcs1(Hash),
    RsaPss {
        hash: Hash,
        salt_len: usize,
    },
    Ecdsa(Hash),
    /// Not verifiable here; the string names it for messages.
    Other(String),
}

impl Scheme {
    pub(crate) fn from_algorithm(alg: &AlgorithmIdentifierOwned) -> Self {
        let pkcs1 = |h| Scheme::RsaPkcs1(h);
        match alg.oid {
            MD_2_WITH_RSA_ENCRYPTION => pkcs1(Hash::Md2),
            rfc5912::MD_5_WITH_RSA_ENCRYPTION => pkcs1(Hash::Md5),
            rfc5912::SHA_1_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha1),
            rfc5912::SHA_224_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha224),
            rfc5912::SHA_256_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha256),
            rfc5912::SHA_384_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha384),
            rfc5912::SHA_512_WITH_RSA_ENCRYPTION => pkcs1(Hash::Sha512),
            ECDSA_WITH_SHA_1 => Scheme::Ecdsa(Hash::Sha1),
            rfc5912::ECDSA_WITH_SHA_224 => Scheme::Ecdsa(Hash::Sha224),
            rfc5912::ECDSA_WITH_SHA_256 => Scheme::Ecdsa(Hash::Sha256),
            rfc5912::ECDSA_WITH_SHA_384 => Scheme::Ecdsa(Hash::Sha384),
            rfc5912::ECDSA_WITH_SHA_512 => Scheme::Ecdsa(Hash::Sha512),
            rfc5912::ID_RSASSA_PSS => pss_scheme(alg),
            oid => Scheme::Other(super::facts::oid_name(oid)),
        }
    }

    pub(crate) fn hash(&self) -> Option<Hash> {
        match self {
            Scheme::RsaPkcs1(h) | Scheme::Ecdsa(h) | Scheme::RsaPss { hash: h, .. } => Some(*h),
            Scheme::Other(_) => None,
        }
    }

    pub(crate) fn name(&self) -> String {
        match self {
            Scheme::RsaPkcs1(h) => format!("RSA PKCS#1 v1.5 with {}", h.name()),
            Scheme::RsaPss { hash, salt_len } => {
                format!("RSA-PSS with {} (salt {salt_len})", hash.name())
            }
            Scheme::Ecdsa(h) => format!("ECDSA with {}", h.name()),
            Scheme::Other(name) => name.clone(),
        }
    }
}

/// RSASSA-PSS parameters (RFC 4055 §3.1). The lab verifies the usual form, MGF1 over the same hash
/// as the message digest with trailer field 1; anything else is reported as not verifiable.
fn pss_scheme(alg: &AlgorithmIdentifierOwned) -> Scheme {
    let params = match &alg.parameters {
        // Absent parameters mean the RFC 4055 defaults: SHA-1, MGF1-SHA-1, salt 20.
        None => pkcs1::RsaPssParamsOwned::default(),
        Some(any) => {
            let decoded = any.to_der().map_err(|e| e.to_string()).and_then(|der| {
                pkcs1::RsaPssParamsOwned::try_from(der.as_slice()).map_err(|e| e.to_string())
            });
            match decoded {
                Ok(p) => p,
                Err(e) => {
                    return Scheme::Other(format!("RSA-PSS with unreadable parameters ({e})"));
                }
            }
        }
    };
    let Some(hash) = Hash::from_digest_oid(params.hash.oid) else {
        return Scheme::Other(format!(
            "RSA-PSS with digest {}",
            super::facts::oid_name(params.hash.oid)
        ));
    };
    let mgf_hash = params.mask_gen.parameters.as_ref().map(|p| p.oid);
    if params.mask_gen.oid != rfc5912::ID_MGF_1 || mgf_hash != Some(params.hash.oid) {
        return Scheme::Other(format!(
            "RSA-PSS with {} and a mask generation function other than MGF1-{}",
            hash.name(),
            hash.name()
        ));
    }
    if params.trailer_field != pkcs1::TrailerField::BC {
        return Scheme::Other("RSA-PSS with a trailer field other than 1".to_owned());
    }
    Scheme::RsaPss {
        hash,
        salt_len: usize::from(params.salt_len),
    }
}

/// The outcome of checking one signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Valid,
    /// The signature is wrong for this key; the string says why, for the message.
    Invalid(String),
    /// The lab cannot check this algorithm or key; the string says which.
    Unsupported(String),
}

/// Verifies `signature` over `tbs` (the signed bytes) with `issuer`'s public key.
pub(crate) fn verify(
    tbs: &[u8],
    algorithm: &AlgorithmIdentifierOwned,
    signature: &BitString,
    issuer: &SubjectPublicKeyInfoOwned,
) -> Verdict {
    let scheme = Scheme::from_algorithm(algorithm);
    let Some(sig) = signature.as_bytes() else {
        return Verdict::Invalid("the signature BIT STRING has unused bits".to_owned());
    };
    let Some(hash) = scheme.hash() else {
        return Verdict::Unsupported(scheme.name());
    };
    let Some(digest) = hash.digest(tbs) else {
        return Verdict::Unsupported(scheme.name());
    };
    let key_oid = issuer.algorithm.oid;
    match scheme {
        Scheme::RsaPkcs1(_) | Scheme::RsaPss { .. } => {
            if key_oid != rfc5912::RSA_ENCRYPTION && key_oid != rfc5912::ID_RSASSA_PSS {
                return Verdict::Invalid(format!(
                    "{} signature but the issuer's key is {}",
                    scheme.name(),
                    super::facts::oid_name(key_oid)
                ));
            }
            let key = match rsa_public_key(issuer) {
                Ok(k) => k,
                Err(e) => return Verdict::Unsupported(format!("the issuer's RSA key ({e})")),
            };
            let result = match scheme {
                Scheme::RsaPss { salt_len, .. } => verify_pss(&key, hash, salt_len, &digest, sig),
                _ => verify_pkcs1(&key, hash, &digest, sig),
            };
            match result {
                Ok(()) => Verdict::Valid,
                Err(e) => Verdict::Invalid(format!("{} verification failed ({e})", scheme.name())),
            }
        }
        Scheme::Ecdsa(_) => {
            if key_oid != rfc5912::ID_EC_PUBLIC_KEY {
                return Verdict::Invalid(format!(
                    "ECDSA signature but the issuer's key is {}",
                    super::facts::oid_name(key_oid)
                ));
            }
            let point = issuer.subject_public_key.raw_bytes();
            let result = match issuer.algorithm.owned_to_ref().parameters_oid() {
                Ok(rfc5912::SECP_256_R_1) => verify_p256(point, &digest, sig),
                Ok(rfc5912::SECP_384_R_1) => verify_p384(point, &digest, sig),
                Ok(curve) => {
                    return Verdict::Unsupported(format!(
                        "ECDSA on curve {}",
                        super::facts::oid_name(curve)
                    ));
                }
                Err(_) => return Verdict::Unsupported("ECDSA without a named curve".to_owned()),
            };
            match result {
                Ok(()) => Verdict::Valid,
                Err(e) => Verdict::Invalid(format!("{} verification failed ({e})", scheme.name())),
            }
        }
        Scheme::Other(name) => Verdict::Unsupported(name),
    }
}

fn rsa_public_key(spki: &SubjectPublicKeyInfoOwned) -> Result<rsa::RsaPublicKey, String> {
    use der::Decode;
    // An RSA-PSS-restricted key (id-RSASSA-PSS in the SPKI) carries the same RSAPublicKey.
    let key = pkcs1::RsaPublicKeyRef::from_der(spki.subject_public_key.raw_bytes())
        .map_err(|e| e.to_string())?;
    rsa::RsaPublicKey::try_from(key).map_err(|e| e.to_string())
}

fn verify_pkcs1(
    key: &rsa::RsaPublicKey,
    hash: Hash,
    digest: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    use rsa::pkcs1v15::Pkcs1v15Sign;
    let scheme = match hash {
        Hash::Md5 => Pkcs1v15Sign::new::<md5::Md5>(),
        Hash::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        Hash::Sha224 => Pkcs1v15Sign::new::<sha2::Sha224>(),
        Hash::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        Hash::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
        Hash::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
        Hash::Md2 => return Err("MD2 is not supported".to_owned()),
    };
    key.verify(scheme, digest, sig).map_err(|e| e.to_string())
}

fn verify_pss(
    key: &rsa::RsaPublicKey,
    hash: Hash,
    salt_len: usize,
    digest: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    use rsa::pss::Pss;
    let result = match hash {
        Hash::Sha1 => key.verify(Pss::<sha1::Sha1>::new_with_salt(salt_len), digest, sig),
        Hash::Sha224 => key.verify(Pss::<sha2::Sha224>::new_with_salt(salt_len), digest, sig),
        Hash::Sha256 => key.verify(Pss::<sha2::Sha256>::new_with_salt(salt_len), digest, sig),
        Hash::Sha384 => key.verify(Pss::<sha2::Sha384>::new_with_salt(salt_len), digest, sig),
        Hash::Sha512 => key.verify(Pss::<sha2::Sha512>::new_with_salt(salt_len), digest, sig),
        Hash::Md2 | Hash::Md5 => return Err(format!("PSS with {} is not supported", hash.name())),
    };
    result.map_err(|e| e.to_string())
}

/// The same three steps for each curve; the curve types share no trait that names all of them
/// without a wall of bounds, so a macro stamps out one function per curve.
macro_rules! ecdsa_verifier {
    ($name:ident, $curve:ident) => {
        fn $name(point: &[u8], digest: &[u8], sig: &[u8]) -> Result<(), String> {
            let key = $curve::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| "the issuer's EC point does not decode".to_owned())?;
            let signature = $curve::ecdsa::Signature::from_der(sig)
                .map_err(|_| "the ECDSA signature is not a DER Ecdsa-Sig-Value".to_owned())?;
            key.verify_prehash(digest, &signature)
                .map_err(|_| "the signature does not match".to_owned())
        }
    };
}

ecdsa_verifier!(verify_p256, p256);
ecdsa_verifier!(verify_p384, p384);
