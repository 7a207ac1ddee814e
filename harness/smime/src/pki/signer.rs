//! Deterministic signatures for certificates and CRLs: RSA PKCS#1 v1.5 (deterministic by
//! construction) and ECDSA with RFC 6979 nonces, so the same lab gives the same bytes on every run.
//! SHA-1 exists only for the `sha1-signature` flaw.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, SHA_1_WITH_RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION,
};
use der::asn1::{Any, BitString};
use sha1::Digest as _;
use signature::{SignatureEncoding, Signer, hazmat::PrehashSigner};
use spki::AlgorithmIdentifierOwned;

use crate::key::PrivateKey;

/// ecdsa-with-SHA1 (ANSI X9.62); not in `const_oid::db`.
const ECDSA_WITH_SHA_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");

/// The digest a CA signs with: SHA-256 for RSA and P-256, SHA-384 for P-384 (the pairing the
/// S/MIME Baseline Requirements allow), or SHA-1 when a flaw asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Digest {
    Sha1,
    Standard,
}

/// The AlgorithmIdentifier that goes in `signature` / `signatureAlgorithm` for `key` signing with
/// `digest`. RSA carries explicit NULL parameters, ECDSA none (RFC 4055, RFC 5758).
pub(crate) fn algorithm(key: &PrivateKey, digest: Digest) -> AlgorithmIdentifierOwned {
    let (oid, parameters) = match (key, digest) {
        (PrivateKey::Rsa(_), Digest::Sha1) => (SHA_1_WITH_RSA_ENCRYPTION, Some(Any::null())),
        (PrivateKey::Rsa(_), Digest::Standard) => (SHA_256_WITH_RSA_ENCRYPTION, Some(Any::null())),
        (PrivateKey::P256(_) | PrivateKey::P384(_), Digest::Sha1) => (ECDSA_WITH_SHA_1, None),
        (PrivateKey::P256(_), Digest::Standard) => (ECDSA_WITH_SHA_256, None),
        (PrivateKey::P384(_), Digest::Standard) => (ECDSA_WITH_SHA_384, None),
    };
    AlgorithmIdentifierOwned { oid, parameters }
}

/// Signs `message` (a DER TBSCertificate or TBSCertList) and returns the signature BIT STRING.
pub(crate) fn sign(
    key: &PrivateKey,
    digest: Digest,
    message: &[u8],
) -> Result<BitString, signature::Error> {
    let bytes: Vec<u8> = match (key, digest) {
        (PrivateKey::Rsa(k), Digest::Sha1) => {
            rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(k.as_ref().clone())
                .try_sign(message)?
                .to_vec()
        }
        (PrivateKey::Rsa(k), Digest::Standard) => {
            rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k.as_ref().clone())
                .try_sign(message)?
                .to_vec()
        }
        (PrivateKey::P256(k), Digest::Standard) => {
            let signature: p256::ecdsa::Signature =
                p256::ecdsa::SigningKey::from(k).try_sign(message)?;
            signature.to_der().to_vec()
        }
        (PrivateKey::P384(k), Digest::Standard) => {
            let signature: p384::ecdsa::Signature =
                p384::ecdsa::SigningKey::from(k).try_sign(message)?;
            signature.to_der().to_vec()
        }
        // The RFC 6979 nonce is still derived with the curve's own hash over the SHA-1 prehash,
        // which keeps it deterministic; verifiers only see ecdsa-with-SHA1.
        (PrivateKey::P256(k), Digest::Sha1) => {
            let prehash = sha1::Sha1::digest(message);
            let signature: p256::ecdsa::Signature =
                p256::ecdsa::SigningKey::from(k).sign_prehash(&prehash)?;
            signature.to_der().to_vec()
        }
        (PrivateKey::P384(k), Digest::Sha1) => {
            let prehash = sha1::Sha1::digest(message);
            let signature: p384::ecdsa::Signature =
                p384::ecdsa::SigningKey::from(k).sign_prehash(&prehash)?;
            signature.to_der().to_vec()
        }
    };
    BitString::from_bytes(&bytes).map_err(signature::Error::from_source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeySpec;

    #[test]
    fn signatures_are_deterministic_for_every_key_and_digest() {
        for spec in [KeySpec::Rsa1024, KeySpec::EcdsaP256, KeySpec::EcdsaP384] {
            let key = PrivateKey::generate(spec, &mut crate::rng::seeded("signer-test")).unwrap();
            for digest in [Digest::Sha1, Digest::Standard] {
                let a = sign(&key, digest, b"message").unwrap();
                let b = sign(&key, digest, b"message").unwrap();
                assert_eq!(a, b, "{spec} {digest:?}");
                assert_ne!(a, sign(&key, digest, b"other").unwrap());
            }
        }
    }
}
