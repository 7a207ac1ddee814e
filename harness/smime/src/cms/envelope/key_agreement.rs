//! Key agreement (KeyAgreeRecipientInfo): ephemeral-static ECDH on P-256 and P-384 (RFC 5753),
//! ANSI X9.63 KDF over ECC-CMS-SharedInfo, and AES key wrap (RFC 3394, the `aes-kw` crate).
//!
//! The `cms` crate has a kari builder, but it cannot unwrap, takes its ephemeral key from a
//! generic RNG in a way we cannot pin per recipient, and does not export `EccCmsSharedInfo`; the
//! structure is small, so it is defined here with `der` derive.

use const_oid::db::{rfc5753, rfc5911, rfc5912};
use der::asn1::{BitString, ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Sequence};
use p256::elliptic_curve::Generate;
use serde::Serialize;
use sha2::Digest;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use cms::content_info::CmsVersion;
use cms::enveloped_data::{
    KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo, OriginatorIdentifierOrKey,
    OriginatorPublicKey, RecipientEncryptedKey,
};

use super::{DecryptError, EncryptError};
use crate::key::PrivateKey;

/// RFC 5753 section 7.2.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EccCmsSharedInfo {
    pub key_info: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub entity_u_info: Option<OctetString>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    pub supp_pub_info: OctetString,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum EcCurve {
    #[serde(rename = "P-256")]
    P256,
    #[serde(rename = "P-384")]
    P384,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KdfHash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum KeyWrap {
    #[serde(rename = "aes128-wrap")]
    Aes128,
    #[serde(rename = "aes192-wrap")]
    Aes192,
    #[serde(rename = "aes256-wrap")]
    Aes256,
    /// id-alg-CMS3DESwrap (RFC 3217), which OpenSSL uses for a 3DES content key. Unwrap only.
    #[serde(rename = "3des-wrap")]
    TripleDes,
}

impl EcCurve {
    pub fn name(self) -> &'static str {
        match self {
            EcCurve::P256 => "P-256",
            EcCurve::P384 => "P-384",
        }
    }
}

impl KdfHash {
    pub fn name(self) -> &'static str {
        match self {
            KdfHash::Sha1 => "SHA-1",
            KdfHash::Sha224 => "SHA-224",
            KdfHash::Sha256 => "SHA-256",
            KdfHash::Sha384 => "SHA-384",
            KdfHash::Sha512 => "SHA-512",
        }
    }
}

impl KeyWrap {
    pub fn name(self) -> &'static str {
        match self {
            KeyWrap::Aes128 => "AES-128 key wrap",
            KeyWrap::Aes192 => "AES-192 key wrap",
            KeyWrap::Aes256 => "AES-256 key wrap",
            KeyWrap::TripleDes => "3DES key wrap",
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            KeyWrap::Aes128 => rfc5911::ID_AES_128_WRAP,
            KeyWrap::Aes192 => rfc5911::ID_AES_192_WRAP,
            KeyWrap::Aes256 => rfc5911::ID_AES_256_WRAP,
            KeyWrap::TripleDes => ID_ALG_CMS3DES_WRAP,
        }
    }

    fn kek_len(self) -> usize {
        match self {
            KeyWrap::Aes128 => 16,
            KeyWrap::Aes192 | KeyWrap::TripleDes => 24,
            KeyWrap::Aes256 => 32,
        }
    }
}

/// What a kari used, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EcdhDescription {
    pub curve: EcCurve,
    pub kdf: KdfHash,
    /// The cofactor variant; identical to standard DH on P-256/P-384 (cofactor 1).
    pub cofactor: bool,
    pub wrap: KeyWrap,
}

/// id-alg-CMS3DESwrap (RFC 3217): OpenSSL wraps a 3DES content key with it.
const ID_ALG_CMS3DES_WRAP: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.3.6");

fn kdf_scheme(oid: ObjectIdentifier) -> Option<(KdfHash, bool)> {
    Some(match oid {
        o if o == rfc5753::DH_SINGLE_PASS_STD_DH_SHA_1_KDF_SCHEME => (KdfHash::Sha1, false),
        o if o == rfc5753::DH_SINGLE_PASS_STD_DH_SHA_224_KDF_SCHEME => (KdfHash::Sha224, false),
        o if o == rfc5753::DH_SINGLE_PASS_STD_DH_SHA_256_KDF_SCHEME => (KdfHash::Sha256, false),
        o if o == rfc5753::DH_SINGLE_PASS_STD_DH_SHA_384_KDF_SCHEME => (KdfHash::Sha384, false),
        o if o == rfc5753::DH_SINGLE_PASS_STD_DH_SHA_512_KDF_SCHEME => (KdfHash::Sha512, false),
        o if o == rfc5753::DH_SINGLE_PASS_COFACTOR_DH_SHA_1_KDF_SCHEME => (KdfHash::Sha1, true),
        o if o == rfc5753::DH_SINGLE_PASS_COFACTOR_DH_SHA_224_KDF_SCHEME => (KdfHash::Sha224, true),
        o if o == rfc5753::DH_SINGLE_PASS_COFACTOR_DH_SHA_256_KDF_SCHEME => (KdfHash::Sha256, true),
        o if o == rfc5753::DH_SINGLE_PASS_COFACTOR_DH_SHA_384_KDF_SCHEME => (KdfHash::Sha384, true),
        o if o == rfc5753::DH_SINGLE_PASS_COFACTOR_DH_SHA_512_KDF_SCHEME => (KdfHash::Sha512, true),
        _ => return None,
    })
}

fn kdf_oid(hash: KdfHash) -> ObjectIdentifier {
    match hash {
        KdfHash::Sha1 => rfc5753::DH_SINGLE_PASS_STD_DH_SHA_1_KDF_SCHEME,
        KdfHash::Sha224 => rfc5753::DH_SINGLE_PASS_STD_DH_SHA_224_KDF_SCHEME,
        KdfHash::Sha256 => rfc5753::DH_SINGLE_PASS_STD_DH_SHA_256_KDF_SCHEME,
        KdfHash::Sha384 => rfc5753::DH_SINGLE_PASS_STD_DH_SHA_384_KDF_SCHEME,
        KdfHash::Sha512 => rfc5753::DH_SINGLE_PASS_STD_DH_SHA_512_KDF_SCHEME,
    }
}

/// ANSI X9.63 KDF: Hash(Z || counter || SharedInfo) for counter = 1, 2, ... until `len` bytes.
/// Ten lines; the `ansi-x963-kdf` crate in the lock file is a release candidate we would have to pin.
fn x963_kdf(hash: KdfHash, z: &[u8], shared_info: &[u8], len: usize) -> Vec<u8> {
    fn run<D: Digest>(z: &[u8], shared_info: &[u8], len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 64);
        let mut counter: u32 = 1;
        while out.len() < len {
            let mut d = D::new();
            d.update(z);
            d.update(counter.to_be_bytes());
            d.update(shared_info);
            out.extend_from_slice(&d.finalize());
            counter = counter.wrapping_add(1);
        }
        out.truncate(len);
        out
    }
    match hash {
        KdfHash::Sha1 => run::<sha1::Sha1>(z, shared_info, len),
        KdfHash::Sha224 => run::<sha2::Sha224>(z, shared_info, len),
        KdfHash::Sha256 => run::<sha2::Sha256>(z, shared_info, len),
        KdfHash::Sha384 => run::<sha2::Sha384>(z, shared_info, len),
        KdfHash::Sha512 => run::<sha2::Sha512>(z, shared_info, len),
    }
}

fn shared_info_der(
    wrap_alg: &AlgorithmIdentifierOwned,
    ukm: Option<&OctetString>,
    kek_len: usize,
) -> Result<Vec<u8>, der::Error> {
    let bits = u32::try_from(kek_len.saturating_mul(8)).unwrap_or(u32::MAX);
    EccCmsSharedInfo {
        key_info: wrap_alg.clone(),
        entity_u_info: ukm.cloned(),
        supp_pub_info: OctetString::new(bits.to_be_bytes().to_vec())?,
    }
    .to_der()
}

fn aes_wrap(wrap: KeyWrap, kek: &[u8], cek: &[u8]) -> Result<Vec<u8>, String> {
    use aes::cipher::KeyInit;
    let mut buf = vec![0u8; cek.len() + 8];
    let result = match wrap {
        KeyWrap::Aes128 => aes_kw::KwAes128::new_from_slice(kek)
            .map_err(|e| e.to_string())?
            .wrap_key(cek, &mut buf)
            .map(<[u8]>::len),
        KeyWrap::Aes192 => aes_kw::KwAes192::new_from_slice(kek)
            .map_err(|e| e.to_string())?
            .wrap_key(cek, &mut buf)
            .map(<[u8]>::len),
        KeyWrap::Aes256 => aes_kw::KwAes256::new_from_slice(kek)
            .map_err(|e| e.to_string())?
            .wrap_key(cek, &mut buf)
            .map(<[u8]>::len),
        KeyWrap::TripleDes => return Err("3DES key wrap is only read, never written".to_owned()),
    };
    let len = result.map_err(|e| e.to_string())?;
    buf.truncate(len);
    Ok(buf)
}

/// RFC 3217 section 3.2 Triple-DES key unwrap. Written here because no crate in the set has it;
/// it exists only to read what OpenSSL sends for 3DES content to an EC recipient.
fn triple_des_unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Vec<u8>, DecryptError> {
    use cipher::block_padding::NoPadding;
    use cipher::{BlockModeDecrypt, KeyIvInit};
    const IV: [u8; 8] = [0x4a, 0xdd, 0xa2, 0x2c, 0x79, 0xe8, 0x21, 0x05];
    let fail = || {
        DecryptError::KeyDecryption {
        detail: "3DES key unwrap (RFC 3217) integrity check failed: the private key does not fit this message, or the wrapped key is corrupted".to_owned(),
    }
    };
    if wrapped.len() != 40 {
        return Err(DecryptError::Malformed {
            what: format!("a 3DES-wrapped key is 40 bytes, not {}", wrapped.len()),
        });
    }
    let decrypt = |iv: &[u8], data: &[u8]| -> Result<Vec<u8>, DecryptError> {
        cbc::Decryptor::<des::TdesEde3>::new_from_slices(kek, iv)
            .map_err(|_| fail())?
            .decrypt_padded_vec::<NoPadding>(data)
            .map_err(|_| fail())
    };
    let mut temp2 = decrypt(&IV, wrapped)?;
    temp2.reverse();
    let (iv, temp1) = temp2.split_at(8);
    let cek_icv = decrypt(iv, temp1)?;
    let (cek, icv) = cek_icv.split_at(24);
    let digest = sha1::Sha1::digest(cek);
    if digest.get(..8) != Some(icv) {
        return Err(fail());
    }
    Ok(cek.to_vec())
}

fn aes_unwrap(wrap: KeyWrap, kek: &[u8], wrapped: &[u8]) -> Result<Vec<u8>, DecryptError> {
    use aes::cipher::KeyInit;
    if wrap == KeyWrap::TripleDes {
        return triple_des_unwrap(kek, wrapped);
    }
    if wrapped.len() < 24 || !wrapped.len().is_multiple_of(8) {
        return Err(DecryptError::Malformed {
            what: format!(
                "AES-wrapped key is {} bytes; RFC 3394 needs a multiple of 8, at least 24",
                wrapped.len()
            ),
        });
    }
    let mut buf = vec![0u8; wrapped.len() - 8];
    let kek_error = |_| DecryptError::KeyDecryption {
        detail: "derived KEK has the wrong length".to_owned(),
    };
    let result = match wrap {
        KeyWrap::Aes128 => aes_kw::KwAes128::new_from_slice(kek)
            .map_err(kek_error)?
            .unwrap_key(wrapped, &mut buf)
            .map(<[u8]>::len),
        KeyWrap::Aes192 => aes_kw::KwAes192::new_from_slice(kek)
            .map_err(kek_error)?
            .unwrap_key(wrapped, &mut buf)
            .map(<[u8]>::len),
        KeyWrap::Aes256 => aes_kw::KwAes256::new_from_slice(kek)
            .map_err(kek_error)?
            .unwrap_key(wrapped, &mut buf)
            .map(<[u8]>::len),
        KeyWrap::TripleDes => return triple_des_unwrap(kek, wrapped),
    };
    let len = result.map_err(|_| DecryptError::KeyDecryption {
        detail: "AES key unwrap integrity check failed: the private key does not fit this message's ephemeral key agreement, or the wrapped key is corrupted".to_owned(),
    })?;
    buf.truncate(len);
    Ok(buf)
}

/// A recipient's EC public key from its certificate.
enum EcPublic {
    P256(p256::PublicKey),
    P384(p384::PublicKey),
}

fn ec_public_from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<EcPublic, String> {
    if spki.algorithm.oid != rfc5912::ID_EC_PUBLIC_KEY {
        return Err(format!(
            "key algorithm {} is not an EC key",
            spki.algorithm.oid
        ));
    }
    let curve: ObjectIdentifier = spki
        .algorithm
        .parameters
        .as_ref()
        .ok_or("EC key without curve parameters")?
        .decode_as()
        .map_err(|e| format!("EC key without a named curve: {e}"))?;
    let bits = spki.subject_public_key.raw_bytes();
    if curve == rfc5912::SECP_256_R_1 {
        p256::PublicKey::from_sec1_bytes(bits)
            .map(EcPublic::P256)
            .map_err(|e| format!("P-256 public key: {e}"))
    } else if curve == rfc5912::SECP_384_R_1 {
        p384::PublicKey::from_sec1_bytes(bits)
            .map(EcPublic::P384)
            .map_err(|e| format!("P-384 public key: {e}"))
    } else {
        Err(format!("EC curve {curve} (only P-256 and P-384)"))
    }
}

/// True when this SPKI is an EC key this module can agree keys with.
pub(crate) fn is_supported_ec(spki: &SubjectPublicKeyInfoOwned) -> bool {
    ec_public_from_spki(spki).is_ok()
}

/// The AES wrap OpenSSL would pick for a content key of this length (cms_kari.c): the AES size
/// matching the key, so the KEK is never weaker than the content key.
fn wrap_for_cek(cek_len: usize) -> Option<KeyWrap> {
    match cek_len {
        16 => Some(KeyWrap::Aes128),
        24 => Some(KeyWrap::Aes192),
        32 => Some(KeyWrap::Aes256),
        _ => None,
    }
}

/// Builds a kari for one recipient: a fresh ephemeral key from `rng`, the KDF matching the curve
/// (SHA-256 for P-256, SHA-384 for P-384, as RFC 5753 and RFC 8551 pair them).
pub(crate) fn wrap<R: rand_core::CryptoRng + ?Sized>(
    recipient: &SubjectPublicKeyInfoOwned,
    rid: KeyAgreeRecipientIdentifier,
    cek: &[u8],
    rng: &mut R,
) -> Result<KeyAgreeRecipientInfo, EncryptError> {
    let public = ec_public_from_spki(recipient)
        .map_err(|what| EncryptError::UnsupportedRecipientKey { what })?;
    let wrap = wrap_for_cek(cek.len()).ok_or_else(|| EncryptError::UnsupportedCombination {
        what: format!(
            "a {}-byte content key cannot be AES-key-wrapped for an EC recipient (RFC 3394 needs 16, 24 or 32 bytes here): use AES or 3DES with EC recipients, not DES or RC2-40/64",
            cek.len()
        ),
    })?;
    let wrap_alg = AlgorithmIdentifierOwned {
        oid: wrap.oid(),
        parameters: None,
    };
    let enc = |e: der::Error| EncryptError::Encode(format!("kari: {e}"));
    let shared_info = shared_info_der(&wrap_alg, None, wrap.kek_len()).map_err(enc)?;
    let (kdf, ephemeral_point, z) = match public {
        EcPublic::P256(pk) => {
            let eph = p256::SecretKey::generate_from_rng(rng);
            let shared = p256::ecdh::diffie_hellman(eph.to_nonzero_scalar(), pk.as_affine());
            (
                KdfHash::Sha256,
                eph.public_key().to_sec1_bytes().to_vec(),
                shared.raw_secret_bytes().to_vec(),
            )
        }
        EcPublic::P384(pk) => {
            let eph = p384::SecretKey::generate_from_rng(rng);
            let shared = p384::ecdh::diffie_hellman(eph.to_nonzero_scalar(), pk.as_affine());
            (
                KdfHash::Sha384,
                eph.public_key().to_sec1_bytes().to_vec(),
                shared.raw_secret_bytes().to_vec(),
            )
        }
    };
    let kek = x963_kdf(kdf, &z, &shared_info, wrap.kek_len());
    let wrapped = aes_wrap(wrap, &kek, cek).map_err(EncryptError::Crypto)?;
    Ok(KeyAgreeRecipientInfo {
        version: CmsVersion::V3,
        originator: OriginatorIdentifierOrKey::OriginatorKey(OriginatorPublicKey {
            // Parameters absent, as OpenSSL writes them: the curve is the recipient's (RFC 5753 7.1.2).
            algorithm: AlgorithmIdentifierOwned {
                oid: rfc5912::ID_EC_PUBLIC_KEY,
                parameters: None,
            },
            public_key: BitString::from_bytes(&ephemeral_point).map_err(enc)?,
        }),
        ukm: None,
        key_enc_alg: AlgorithmIdentifierOwned {
            oid: kdf_oid(kdf),
            parameters: Some(Any::from_der(&wrap_alg.to_der().map_err(enc)?).map_err(enc)?),
        },
        recipient_enc_keys: vec![RecipientEncryptedKey {
            rid,
            enc_key: OctetString::new(wrapped).map_err(enc)?,
        }],
    })
}

const ID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const ID_X448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.111");

type KariAlgorithms = (KdfHash, bool, AlgorithmIdentifierOwned, KeyWrap);

fn parse_wrap(kari: &KeyAgreeRecipientInfo) -> Result<KariAlgorithms, DecryptError> {
    let OriginatorIdentifierOrKey::OriginatorKey(originator) = &kari.originator else {
        return Err(DecryptError::Unsupported {
            what: "kari with a static originator certificate (only ephemeral-static ECDH)"
                .to_owned(),
        });
    };
    let oid = originator.algorithm.oid;
    if oid == ID_X25519 || oid == ID_X448 {
        return Err(DecryptError::Unsupported {
            what: format!(
                "key agreement with {} (RFC 8418); only ECDH on P-256 and P-384",
                if oid == ID_X25519 { "X25519" } else { "X448" }
            ),
        });
    }
    if oid != rfc5912::ID_EC_PUBLIC_KEY {
        return Err(DecryptError::Unsupported {
            what: format!("key-agreement originator key algorithm {oid}"),
        });
    }
    let (kdf, cofactor) =
        kdf_scheme(kari.key_enc_alg.oid).ok_or_else(|| DecryptError::Unsupported {
            what: format!("key-agreement algorithm {}", kari.key_enc_alg.oid),
        })?;
    let wrap_alg: AlgorithmIdentifierOwned = kari
        .key_enc_alg
        .parameters
        .as_ref()
        .ok_or_else(|| DecryptError::Malformed {
            what: "kari keyEncryptionAlgorithm has no key-wrap algorithm parameter".to_owned(),
        })?
        .decode_as()
        .map_err(|e| DecryptError::Malformed {
            what: format!("kari key-wrap AlgorithmIdentifier: {e}"),
        })?;
    let wrap = match wrap_alg.oid {
        o if o == rfc5911::ID_AES_128_WRAP => KeyWrap::Aes128,
        o if o == rfc5911::ID_AES_192_WRAP => KeyWrap::Aes192,
        o if o == rfc5911::ID_AES_256_WRAP => KeyWrap::Aes256,
        o if o == ID_ALG_CMS3DES_WRAP => KeyWrap::TripleDes,
        other => {
            return Err(DecryptError::Unsupported {
                what: format!("key-wrap algorithm {other}"),
            });
        }
    };
    Ok((kdf, cofactor, wrap_alg, wrap))
}

/// Refuses, without a key, the key agreements [`unwrap`] cannot do.
pub(crate) fn check_supported(kari: &KeyAgreeRecipientInfo) -> Result<(), DecryptError> {
    parse_wrap(kari).map(|_| ())
}

/// Recovers the content key from one RecipientEncryptedKey of `kari` with our EC private key.
pub(crate) fn unwrap(
    kari: &KeyAgreeRecipientInfo,
    encrypted_key: &[u8],
    key: &PrivateKey,
) -> Result<(Vec<u8>, EcdhDescription), DecryptError> {
    let (kdf, cofactor, wrap_alg, wrap) = parse_wrap(kari)?;
    let OriginatorIdentifierOrKey::OriginatorKey(originator) = &kari.originator else {
        return Err(DecryptError::Unsupported {
            what: "kari with a static originator certificate".to_owned(),
        });
    };
    let point = originator.public_key.raw_bytes();
    let bad_point = |e: String| DecryptError::Malformed {
        what: format!("kari originator public key: {e}"),
    };
    let (curve, z) = match key {
        PrivateKey::P256(sk) => {
            let pk =
                p256::PublicKey::from_sec1_bytes(point).map_err(|e| bad_point(e.to_string()))?;
            let shared = p256::ecdh::diffie_hellman(sk.to_nonzero_scalar(), pk.as_affine());
            (EcCurve::P256, shared.raw_secret_bytes().to_vec())
        }
        PrivateKey::P384(sk) => {
            let pk =
                p384::PublicKey::from_sec1_bytes(point).map_err(|e| bad_point(e.to_string()))?;
            let shared = p384::ecdh::diffie_hellman(sk.to_nonzero_scalar(), pk.as_affine());
            (EcCurve::P384, shared.raw_secret_bytes().to_vec())
        }
        PrivateKey::Rsa(_) => {
            return Err(DecryptError::KeyDecryption {
                detail: "the message agrees a key with ECDH but the private key is RSA".to_owned(),
            });
        }
    };
    let shared_info =
        shared_info_der(&wrap_alg, kari.ukm.as_ref(), wrap.kek_len()).map_err(|e| {
            DecryptError::Malformed {
                what: format!("ECC-CMS-SharedInfo: {e}"),
            }
        })?;
    let kek = x963_kdf(kdf, &z, &shared_info, wrap.kek_len());
    let cek = aes_unwrap(wrap, &kek, encrypted_key)?;
    Ok((
        cek,
        EcdhDescription {
            curve,
            kdf,
            cofactor,
            wrap,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x963_kdf_matches_a_known_answer() {
        // SEC 1 / NIST CAVS ANSI X9.63 SHA-256 vector (shared secret length 192 bits, no SharedInfo
        // in the first test case of the CAVS file "ansx963_2001.rsp", [SHA-256]).
        let z = hex::decode("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08").unwrap();
        let out = x963_kdf(KdfHash::Sha256, &z, &[], 16);
        assert_eq!(hex::encode(out), "443024c3dae66b95e6f5670601558f71");
    }

    #[test]
    fn aes_wrap_matches_rfc_3394() {
        // RFC 3394 section 4.1: wrap 128 bits of key data with a 128-bit KEK.
        let kek = hex::decode("000102030405060708090A0B0C0D0E0F").unwrap();
        let data = hex::decode("00112233445566778899AABBCCDDEEFF").unwrap();
        let wrapped = aes_wrap(KeyWrap::Aes128, &kek, &data).unwrap();
        assert_eq!(
            hex::encode_upper(&wrapped),
            "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"
        );
        assert_eq!(aes_unwrap(KeyWrap::Aes128, &kek, &wrapped).unwrap(), data);
        let mut bad = wrapped.clone();
        bad[3] ^= 1;
        assert!(aes_unwrap(KeyWrap::Aes128, &kek, &bad).is_err());
        assert!(aes_unwrap(KeyWrap::Aes128, &kek, &wrapped[..16]).is_err());
    }
}
