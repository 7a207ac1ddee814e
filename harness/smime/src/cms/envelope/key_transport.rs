//! Key transport (KeyTransRecipientInfo): the content-encryption key encrypted to an RSA recipient
//! with PKCS#1 v1.5 (RFC 3370) or RSAES-OAEP (RFC 3560/8017).
//!
//! PKCS#1 v1.5 decryption uses the `rsa` crate's implicit rejection: a padding failure yields a
//! deterministic synthetic key instead of an error, so that timing and error text cannot serve as a
//! Bleichenbacher oracle. A wrong key therefore shows up one step later, as a key of the wrong
//! length or invalid CBC padding / a failed GCM tag, which [`super::content_cipher::decrypt`] turns
//! into an error. Decryption is not blinded (no RNG is passed in): fine for a lab that decrypts its
//! own test messages, not for a network service an attacker can time.

use const_oid::db::rfc5912;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode};
use rsa::{Oaep, Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use spki::{AlgorithmIdentifier, AlgorithmIdentifierOwned};

use super::{DecryptError, EncryptError};

/// The hash of RSAES-OAEP (used for the label hash and for MGF1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OaepHash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl OaepHash {
    pub fn name(self) -> &'static str {
        match self {
            OaepHash::Sha1 => "sha1",
            OaepHash::Sha224 => "sha224",
            OaepHash::Sha256 => "sha256",
            OaepHash::Sha384 => "sha384",
            OaepHash::Sha512 => "sha512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            OaepHash::Sha1,
            OaepHash::Sha224,
            OaepHash::Sha256,
            OaepHash::Sha384,
            OaepHash::Sha512,
        ]
        .into_iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            OaepHash::Sha1 => rfc5912::ID_SHA_1,
            OaepHash::Sha224 => rfc5912::ID_SHA_224,
            OaepHash::Sha256 => rfc5912::ID_SHA_256,
            OaepHash::Sha384 => rfc5912::ID_SHA_384,
            OaepHash::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        [
            OaepHash::Sha1,
            OaepHash::Sha224,
            OaepHash::Sha256,
            OaepHash::Sha384,
            OaepHash::Sha512,
        ]
        .into_iter()
        .find(|h| h.oid() == oid)
    }
}

/// How the content-encryption key is encrypted to an RSA recipient.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RsaPadding {
    /// RSAES-PKCS1-v1_5, what Outlook and every older client send.
    #[default]
    Pkcs1v15,
    /// RSAES-OAEP with this hash for both the label and MGF1, empty label.
    Oaep(OaepHash),
}

/// Encrypts `cek` to `public`; returns the keyEncryptionAlgorithm and the encryptedKey.
pub(crate) fn wrap<R: rand_core::CryptoRng + ?Sized>(
    public: &RsaPublicKey,
    padding: RsaPadding,
    cek: &[u8],
    rng: &mut R,
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), EncryptError> {
    let rsa_error = |e: rsa::Error| EncryptError::Crypto(format!("RSA encryption: {e}"));
    match padding {
        RsaPadding::Pkcs1v15 => {
            let encrypted = public
                .encrypt(rng, Pkcs1v15Encrypt, cek)
                .map_err(rsa_error)?;
            Ok((
                AlgorithmIdentifierOwned {
                    oid: rfc5912::RSA_ENCRYPTION,
                    parameters: Some(Any::null()),
                },
                encrypted,
            ))
        }
        RsaPadding::Oaep(hash) => {
            let encrypted = match hash {
                OaepHash::Sha1 => public.encrypt(rng, Oaep::<sha1::Sha1>::new(), cek),
                OaepHash::Sha224 => public.encrypt(rng, Oaep::<sha2::Sha224>::new(), cek),
                OaepHash::Sha256 => public.encrypt(rng, Oaep::<sha2::Sha256>::new(), cek),
                OaepHash::Sha384 => public.encrypt(rng, Oaep::<sha2::Sha384>::new(), cek),
                OaepHash::Sha512 => public.encrypt(rng, Oaep::<sha2::Sha512>::new(), cek),
            }
            .map_err(rsa_error)?;
            Ok((oaep_algorithm(hash)?, encrypted))
        }
    }
}

/// RSAES-OAEP AlgorithmIdentifier. SHA-1 is all defaults and so an empty SEQUENCE (RFC 4055 §4.1);
/// other hashes name the hash and MGF1 with that hash.
fn oaep_algorithm(hash: OaepHash) -> Result<AlgorithmIdentifierOwned, EncryptError> {
    let enc = |e: der::Error| EncryptError::Encode(format!("RSAES-OAEP-params: {e}"));
    let params = if hash == OaepHash::Sha1 {
        pkcs1::RsaOaepParamsOwned::default()
    } else {
        // RFC 5754: SHA-2 AlgorithmIdentifiers are generated with absent parameters (OpenSSL
        // does the same); NULL is accepted when reading.
        let hash_ai = AlgorithmIdentifierOwned {
            oid: hash.oid(),
            parameters: None,
        };
        pkcs1::RsaOaepParams {
            hash: hash_ai.clone(),
            mask_gen: AlgorithmIdentifier {
                oid: rfc5912::ID_MGF_1,
                parameters: Some(hash_ai),
            },
            p_source: pkcs1::RsaOaepParamsOwned::default().p_source,
        }
    };
    Ok(AlgorithmIdentifierOwned {
        oid: rfc5912::ID_RSAES_OAEP,
        parameters: Some(Any::from_der(&params.to_der().map_err(enc)?).map_err(enc)?),
    })
}

/// What was used to transport the key, for reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OaepDescription {
    pub hash: OaepHash,
    pub mgf1_hash: OaepHash,
    /// True when a non-empty label (pSpecified) was used.
    pub labelled: bool,
}

pub(crate) enum Unwrapped {
    Pkcs1v15(Vec<u8>),
    Oaep(Vec<u8>, OaepDescription),
}

/// Refuses, without a key, the key-transport algorithms [`unwrap`] cannot do.
pub(crate) fn check_supported(alg: &AlgorithmIdentifierOwned) -> Result<(), DecryptError> {
    if alg.oid == rfc5912::RSA_ENCRYPTION || alg.oid == rfc5912::ID_RSAES_OAEP {
        Ok(())
    } else {
        Err(DecryptError::Unsupported {
            what: format!("key-transport algorithm {}", alg.oid),
        })
    }
}

/// Decrypts a KeyTransRecipientInfo's encryptedKey.
pub(crate) fn unwrap(
    key: &RsaPrivateKey,
    alg: &AlgorithmIdentifierOwned,
    encrypted_key: &[u8],
) -> Result<Unwrapped, DecryptError> {
    if alg.oid == rfc5912::RSA_ENCRYPTION {
        // Implicit rejection: see the module documentation.
        return key
            .decrypt(Pkcs1v15Encrypt, encrypted_key)
            .map(Unwrapped::Pkcs1v15)
            .map_err(|e| DecryptError::KeyDecryption {
                detail: format!(
                    "RSA PKCS#1 v1.5: {e} (the encryptedKey does not fit this key's modulus)"
                ),
            });
    }
    if alg.oid == rfc5912::ID_RSAES_OAEP {
        let (description, label) = oaep_parameters(alg)?;
        let plain = oaep_decrypt(
            key,
            description.hash,
            description.mgf1_hash,
            &label,
            encrypted_key,
        )?;
        return Ok(Unwrapped::Oaep(plain, description));
    }
    Err(DecryptError::Unsupported {
        what: format!("key-transport algorithm {}", alg.oid),
    })
}

/// The RSAES-OAEP-params of an id-RSAES-OAEP keyEncryptionAlgorithm (absent = the RFC 8017
/// SHA-1 defaults) and the label. Shared by [`unwrap`] and [`crate::cms::anatomy`].
pub(crate) fn oaep_parameters(
    alg: &AlgorithmIdentifierOwned,
) -> Result<(OaepDescription, Vec<u8>), DecryptError> {
    let params: pkcs1::RsaOaepParamsOwned = match &alg.parameters {
        None => pkcs1::RsaOaepParamsOwned::default(),
        Some(any) => any.decode_as().map_err(|e| DecryptError::Malformed {
            what: format!("RSAES-OAEP-params: {e}"),
        })?,
    };
    let hash = OaepHash::from_oid(params.hash.oid).ok_or_else(|| DecryptError::Unsupported {
        what: format!("RSA-OAEP hash {}", params.hash.oid),
    })?;
    if params.mask_gen.oid != rfc5912::ID_MGF_1 {
        return Err(DecryptError::Unsupported {
            what: format!("RSA-OAEP mask generation function {}", params.mask_gen.oid),
        });
    }
    let mgf_oid = params
        .mask_gen
        .parameters
        .as_ref()
        .map_or(rfc5912::ID_SHA_1, |ai| ai.oid);
    let mgf1_hash = OaepHash::from_oid(mgf_oid).ok_or_else(|| DecryptError::Unsupported {
        what: format!("RSA-OAEP MGF1 hash {mgf_oid}"),
    })?;
    if params.p_source.oid != rfc5912::ID_P_SPECIFIED {
        return Err(DecryptError::Unsupported {
            what: format!("RSA-OAEP label source {}", params.p_source.oid),
        });
    }
    let label = match &params.p_source.parameters {
        None => Vec::new(),
        Some(any) => any
            .decode_as::<OctetString>()
            .map_err(|e| DecryptError::Malformed {
                what: format!("RSA-OAEP pSpecified label: {e}"),
            })?
            .as_bytes()
            .to_vec(),
    };
    Ok((
        OaepDescription {
            hash,
            mgf1_hash,
            labelled: !label.is_empty(),
        },
        label,
    ))
}

fn oaep_decrypt(
    key: &RsaPrivateKey,
    hash: OaepHash,
    mgf1_hash: OaepHash,
    label: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    fn with_mgf<D>(
        key: &RsaPrivateKey,
        mgf1_hash: OaepHash,
        label: &[u8],
        ciphertext: &[u8],
    ) -> rsa::Result<Vec<u8>>
    where
        D: rsa::sha2::digest::Digest + rsa::sha2::digest::FixedOutputReset,
    {
        fn run<D, M>(key: &RsaPrivateKey, label: &[u8], ciphertext: &[u8]) -> rsa::Result<Vec<u8>>
        where
            D: rsa::sha2::digest::Digest + rsa::sha2::digest::FixedOutputReset,
            M: rsa::sha2::digest::Digest + rsa::sha2::digest::FixedOutputReset,
        {
            let padding = if label.is_empty() {
                Oaep::<D, M>::new_with_mgf_hash()
            } else {
                Oaep::<D, M>::new_with_mgf_hash_and_label(label.to_vec())
            };
            key.decrypt(padding, ciphertext)
        }
        match mgf1_hash {
            OaepHash::Sha1 => run::<D, sha1::Sha1>(key, label, ciphertext),
            OaepHash::Sha224 => run::<D, sha2::Sha224>(key, label, ciphertext),
            OaepHash::Sha256 => run::<D, sha2::Sha256>(key, label, ciphertext),
            OaepHash::Sha384 => run::<D, sha2::Sha384>(key, label, ciphertext),
            OaepHash::Sha512 => run::<D, sha2::Sha512>(key, label, ciphertext),
        }
    }
    let result = match hash {
        OaepHash::Sha1 => with_mgf::<sha1::Sha1>(key, mgf1_hash, label, ciphertext),
        OaepHash::Sha224 => with_mgf::<sha2::Sha224>(key, mgf1_hash, label, ciphertext),
        OaepHash::Sha256 => with_mgf::<sha2::Sha256>(key, mgf1_hash, label, ciphertext),
        OaepHash::Sha384 => with_mgf::<sha2::Sha384>(key, mgf1_hash, label, ciphertext),
        OaepHash::Sha512 => with_mgf::<sha2::Sha512>(key, mgf1_hash, label, ciphertext),
    };
    result.map_err(|e| DecryptError::KeyDecryption {
        detail: format!(
            "RSA-OAEP ({}, MGF1-{}): {e}: the private key does not fit this encryptedKey, or it is corrupted",
            hash.name(),
            mgf1_hash.name()
        ),
    })
}
