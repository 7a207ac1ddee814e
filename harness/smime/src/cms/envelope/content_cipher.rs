//! Content encryption: the symmetric ciphers an S/MIME message body can be encrypted with, their
//! CMS AlgorithmIdentifiers (RFC 3370, RFC 3565, RFC 5084, RFC 8018) and the encryption itself.
//!
//! The legacy ciphers (3DES, DES, RC2) are here because an Exchange ActiveSync mailbox policy
//! (`RequireEncryptionSMIMEAlgorithm`) can still demand them; they are flagged weak wherever a
//! result is reported.

use aes::{Aes128, Aes192, Aes256};
use aes_gcm::aead::AeadInOut;
use cipher::block_padding::Pkcs7;
use cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Sequence};
use serde::{Deserialize, Serialize};
use spki::AlgorithmIdentifierOwned;

use const_oid::db::rfc5911;

use super::DecryptError;

/// desCBC (1.3.14.3.2.7, OIW). Not in `const_oid::db`.
pub const DES_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.7");

/// A content-encryption algorithm. The serde names are the ones the CLI and scenarios use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ContentCipher {
    #[serde(rename = "aes128-cbc")]
    Aes128Cbc,
    #[serde(rename = "aes192-cbc")]
    Aes192Cbc,
    #[serde(rename = "aes256-cbc")]
    Aes256Cbc,
    #[serde(rename = "aes128-gcm")]
    Aes128Gcm,
    #[serde(rename = "aes192-gcm")]
    Aes192Gcm,
    #[serde(rename = "aes256-gcm")]
    Aes256Gcm,
    #[serde(rename = "3des")]
    DesEde3Cbc,
    #[serde(rename = "des")]
    DesCbc,
    #[serde(rename = "rc2-40")]
    Rc2Cbc40,
    #[serde(rename = "rc2-64")]
    Rc2Cbc64,
    #[serde(rename = "rc2-128")]
    Rc2Cbc128,
}

impl ContentCipher {
    pub const ALL: [ContentCipher; 11] = [
        ContentCipher::Aes128Cbc,
        ContentCipher::Aes192Cbc,
        ContentCipher::Aes256Cbc,
        ContentCipher::Aes128Gcm,
        ContentCipher::Aes192Gcm,
        ContentCipher::Aes256Gcm,
        ContentCipher::DesEde3Cbc,
        ContentCipher::DesCbc,
        ContentCipher::Rc2Cbc40,
        ContentCipher::Rc2Cbc64,
        ContentCipher::Rc2Cbc128,
    ];

    /// The short name used on the command line (`aes256-cbc`, `3des`, `rc2-40`).
    pub fn name(self) -> &'static str {
        match self {
            ContentCipher::Aes128Cbc => "aes128-cbc",
            ContentCipher::Aes192Cbc => "aes192-cbc",
            ContentCipher::Aes256Cbc => "aes256-cbc",
            ContentCipher::Aes128Gcm => "aes128-gcm",
            ContentCipher::Aes192Gcm => "aes192-gcm",
            ContentCipher::Aes256Gcm => "aes256-gcm",
            ContentCipher::DesEde3Cbc => "3des",
            ContentCipher::DesCbc => "des",
            ContentCipher::Rc2Cbc40 => "rc2-40",
            ContentCipher::Rc2Cbc64 => "rc2-64",
            ContentCipher::Rc2Cbc128 => "rc2-128",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// Length of the content-encryption key in bytes. RC2-40 and RC2-64 use keys exactly as long
    /// as their effective key length, as OpenSSL's `rc2-40-cbc`/`rc2-64-cbc` and CryptoAPI do.
    pub fn key_len(self) -> usize {
        match self {
            ContentCipher::Aes128Cbc | ContentCipher::Aes128Gcm | ContentCipher::Rc2Cbc128 => 16,
            ContentCipher::Aes192Cbc | ContentCipher::Aes192Gcm | ContentCipher::DesEde3Cbc => 24,
            ContentCipher::Aes256Cbc | ContentCipher::Aes256Gcm => 32,
            ContentCipher::DesCbc | ContentCipher::Rc2Cbc64 => 8,
            ContentCipher::Rc2Cbc40 => 5,
        }
    }

    /// Length of the IV (CBC) or nonce (GCM, RFC 5084's recommended 12 bytes).
    pub fn iv_len(self) -> usize {
        match self {
            ContentCipher::Aes128Cbc | ContentCipher::Aes192Cbc | ContentCipher::Aes256Cbc => 16,
            ContentCipher::Aes128Gcm | ContentCipher::Aes192Gcm | ContentCipher::Aes256Gcm => 12,
            _ => 8,
        }
    }

    /// True for AES-GCM, which goes in an AuthEnvelopedData (RFC 5083) and not an EnvelopedData.
    pub fn is_aead(self) -> bool {
        matches!(
            self,
            ContentCipher::Aes128Gcm | ContentCipher::Aes192Gcm | ContentCipher::Aes256Gcm
        )
    }

    /// Why this cipher is weak, or `None` when it is not.
    pub fn weakness(self) -> Option<&'static str> {
        match self {
            ContentCipher::DesEde3Cbc => Some(
                "3DES: 64-bit blocks (Sweet32) and 112-bit security; deprecated by NIST SP 800-131A",
            ),
            ContentCipher::DesCbc => Some("DES: 56-bit key, brute-forced in hours"),
            ContentCipher::Rc2Cbc40 => {
                Some("RC2 with a 40-bit key (export grade), brute-forced in seconds")
            }
            ContentCipher::Rc2Cbc64 => Some("RC2 with a 64-bit key, brute-forceable"),
            ContentCipher::Rc2Cbc128 => {
                Some("RC2: obsolete 64-bit block cipher (RFC 8551 forbids it)")
            }
            _ => None,
        }
    }

    pub fn is_weak(self) -> bool {
        self.weakness().is_some()
    }

    pub fn oid(self) -> ObjectIdentifier {
        match self {
            ContentCipher::Aes128Cbc => rfc5911::ID_AES_128_CBC,
            ContentCipher::Aes192Cbc => rfc5911::ID_AES_192_CBC,
            ContentCipher::Aes256Cbc => rfc5911::ID_AES_256_CBC,
            ContentCipher::Aes128Gcm => rfc5911::ID_AES_128_GCM,
            ContentCipher::Aes192Gcm => rfc5911::ID_AES_192_GCM,
            ContentCipher::Aes256Gcm => rfc5911::ID_AES_256_GCM,
            ContentCipher::DesEde3Cbc => rfc5911::DES_EDE_3_CBC,
            ContentCipher::DesCbc => DES_CBC,
            ContentCipher::Rc2Cbc40 | ContentCipher::Rc2Cbc64 | ContentCipher::Rc2Cbc128 => {
                rfc5911::RC_2_CBC
            }
        }
    }

    fn rc2_effective_bits(self) -> Option<usize> {
        match self {
            ContentCipher::Rc2Cbc40 => Some(40),
            ContentCipher::Rc2Cbc64 => Some(64),
            ContentCipher::Rc2Cbc128 => Some(128),
            _ => None,
        }
    }

    /// A readable name for reports (`AES-256-CBC`, `RC2-40-CBC`).
    pub fn display_name(self) -> &'static str {
        match self {
            ContentCipher::Aes128Cbc => "AES-128-CBC",
            ContentCipher::Aes192Cbc => "AES-192-CBC",
            ContentCipher::Aes256Cbc => "AES-256-CBC",
            ContentCipher::Aes128Gcm => "AES-128-GCM",
            ContentCipher::Aes192Gcm => "AES-192-GCM",
            ContentCipher::Aes256Gcm => "AES-256-GCM",
            ContentCipher::DesEde3Cbc => "3DES-CBC",
            ContentCipher::DesCbc => "DES-CBC",
            ContentCipher::Rc2Cbc40 => "RC2-40-CBC",
            ContentCipher::Rc2Cbc64 => "RC2-64-CBC",
            ContentCipher::Rc2Cbc128 => "RC2-128-CBC",
        }
    }
}

impl std::fmt::Display for ContentCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}

/// RFC 5084 `GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen AES-GCM-ICVlen DEFAULT 12 }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct GcmParameters {
    pub nonce: OctetString,
    #[asn1(default = "default_icv_len")]
    pub icv_len: u8,
}

fn default_icv_len() -> u8 {
    12
}

/// RFC 8018 B.2.3 `RC2-CBC-Parameter ::= SEQUENCE { rc2ParameterVersion INTEGER OPTIONAL, iv OCTET STRING }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Rc2CbcParameter {
    #[asn1(optional = "true")]
    pub version: Option<u32>,
    pub iv: OctetString,
}

/// RFC 2268 section 6 encodes the effective key length in a version number; these are the three
/// lengths an Exchange policy names. Lengths of 256 bits and more are encoded as themselves.
fn rc2_version_for_bits(bits: usize) -> u32 {
    match bits {
        40 => 160,
        64 => 120,
        128 => 58,
        other => other as u32,
    }
}

fn rc2_bits_for_version(version: Option<u32>) -> Result<ContentCipher, DecryptError> {
    match version {
        Some(160) => Ok(ContentCipher::Rc2Cbc40),
        Some(120) => Ok(ContentCipher::Rc2Cbc64),
        Some(58) => Ok(ContentCipher::Rc2Cbc128),
        // RFC 8018: an absent version means 32 effective bits, which no S/MIME client sends.
        None => Err(DecryptError::Unsupported {
            what: "RC2 without a parameter version (32-bit effective key)".to_owned(),
        }),
        Some(v) => Err(DecryptError::Unsupported {
            what: format!(
                "RC2 parameter version {v} (only 160, 120 and 58 = 40, 64 and 128 effective bits are supported)"
            ),
        }),
    }
}

/// The output of content encryption: the AlgorithmIdentifier to put in the EncryptedContentInfo,
/// the ciphertext, and for GCM the authentication tag (the AuthEnvelopedData `mac`).
pub(crate) struct Encrypted {
    pub algorithm: AlgorithmIdentifierOwned,
    pub ciphertext: Vec<u8>,
    pub tag: Option<Vec<u8>>,
}

fn encode_params<T: Encode>(value: &T) -> Result<Any, der::Error> {
    Any::from_der(&value.to_der()?)
}

fn odd_parity(key: &mut [u8]) {
    // DES keys carry a parity bit per byte; OpenSSL sets odd parity and NSS checks for it.
    for b in key {
        let ones = (*b & 0xfe).count_ones();
        *b = (*b & 0xfe) | u8::from(ones % 2 == 0);
    }
}

/// Makes a content-encryption key for `cipher` from `rng`, fixing DES parity.
pub(crate) fn generate_key<R: rand_core::CryptoRng + ?Sized>(
    cipher: ContentCipher,
    rng: &mut R,
) -> Vec<u8> {
    let mut key = vec![0u8; cipher.key_len()];
    rng.fill_bytes(&mut key);
    if matches!(cipher, ContentCipher::DesCbc | ContentCipher::DesEde3Cbc) {
        odd_parity(&mut key);
    }
    key
}

fn cbc_encrypt<C>(cipher: C, iv: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, String>
where
    C: cipher::BlockCipherEncrypt + Clone,
    cbc::Encryptor<C>: BlockModeEncrypt,
{
    let mode = cbc::Encryptor::<C>::inner_iv_slice_init(cipher, iv).map_err(|e| e.to_string())?;
    Ok(mode.encrypt_padded_vec::<Pkcs7>(plaintext))
}

fn cbc_decrypt<C>(cipher: C, iv: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, DecryptError>
where
    C: cipher::BlockCipherDecrypt + cipher::BlockSizeUser,
    cbc::Decryptor<C>: BlockModeDecrypt,
{
    let mode = cbc::Decryptor::<C>::inner_iv_slice_init(cipher, iv).map_err(|_| {
        DecryptError::Malformed {
            what: format!(
                "content-encryption IV has the wrong length ({} bytes)",
                iv.len()
            ),
        }
    })?;
    let block = <C as cipher::BlockSizeUser>::block_size();
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(block) {
        return Err(DecryptError::Malformed {
            what: format!(
                "the encrypted content is {} bytes, not a positive multiple of the {block}-byte block",
                ciphertext.len()
            ),
        });
    }
    mode.decrypt_padded_vec::<Pkcs7>(ciphertext)
        .map_err(|_| DecryptError::ContentDecryption {
            detail: "the CBC padding is invalid after decryption: the content-encryption key is wrong (key mismatch or implicit RSA rejection) or the ciphertext is corrupted".to_owned(),
        })
}

fn key_init<C: KeyInit>(key: &[u8]) -> Result<C, String> {
    C::new_from_slice(key).map_err(|_| format!("a {}-byte key is the wrong length", key.len()))
}

/// Encrypts `plaintext` (no AAD) with a fresh `key` and `iv` that the caller drew from its RNG.
pub(crate) fn encrypt(
    cipher: ContentCipher,
    key: &[u8],
    iv: &[u8],
    plaintext: &[u8],
) -> Result<Encrypted, String> {
    let iv_param = || {
        encode_params(&OctetString::new(iv.to_vec()).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())
    };
    let (parameters, ciphertext, tag) = match cipher {
        ContentCipher::Aes128Cbc => (
            iv_param()?,
            cbc_encrypt(key_init::<Aes128>(key)?, iv, plaintext)?,
            None,
        ),
        ContentCipher::Aes192Cbc => (
            iv_param()?,
            cbc_encrypt(key_init::<Aes192>(key)?, iv, plaintext)?,
            None,
        ),
        ContentCipher::Aes256Cbc => (
            iv_param()?,
            cbc_encrypt(key_init::<Aes256>(key)?, iv, plaintext)?,
            None,
        ),
        ContentCipher::DesEde3Cbc => (
            iv_param()?,
            cbc_encrypt(key_init::<des::TdesEde3>(key)?, iv, plaintext)?,
            None,
        ),
        ContentCipher::DesCbc => (
            iv_param()?,
            cbc_encrypt(key_init::<des::Des>(key)?, iv, plaintext)?,
            None,
        ),
        ContentCipher::Rc2Cbc40 | ContentCipher::Rc2Cbc64 | ContentCipher::Rc2Cbc128 => {
            let bits = cipher.rc2_effective_bits().unwrap_or(128);
            let params = Rc2CbcParameter {
                version: Some(rc2_version_for_bits(bits)),
                iv: OctetString::new(iv.to_vec()).map_err(|e| e.to_string())?,
            };
            let rc2 = rc2_cipher(key, bits).map_err(|e| e.to_string())?;
            (
                encode_params(&params).map_err(|e| e.to_string())?,
                cbc_encrypt(rc2, iv, plaintext)?,
                None,
            )
        }
        ContentCipher::Aes128Gcm => gcm_encrypt::<Aes128>(key, iv, plaintext)?,
        ContentCipher::Aes192Gcm => gcm_encrypt::<Aes192>(key, iv, plaintext)?,
        ContentCipher::Aes256Gcm => gcm_encrypt::<Aes256>(key, iv, plaintext)?,
    };
    Ok(Encrypted {
        algorithm: AlgorithmIdentifierOwned {
            oid: cipher.oid(),
            parameters: Some(parameters),
        },
        ciphertext,
        tag,
    })
}

type GcmOutput = (Any, Vec<u8>, Option<Vec<u8>>);

fn gcm_encrypt<C>(key: &[u8], nonce: &[u8], plaintext: &[u8]) -> Result<GcmOutput, String>
where
    C: cipher::BlockCipherEncrypt
        + cipher::BlockSizeUser<BlockSize = cipher::consts::U16>
        + KeyInit,
{
    let aead = aes_gcm::AesGcm::<C, cipher::consts::U12>::new_from_slice(key)
        .map_err(|_| format!("a {}-byte key is the wrong length for AES-GCM", key.len()))?;
    let nonce_array = aes_gcm::Nonce::<cipher::consts::U12>::try_from(nonce)
        .map_err(|_| format!("AES-GCM nonce must be 12 bytes, not {}", nonce.len()))?;
    let mut buffer = plaintext.to_vec();
    let tag = aead
        .encrypt_inout_detached(&nonce_array, &[], buffer.as_mut_slice().into())
        .map_err(|e| format!("AES-GCM encryption failed: {e}"))?;
    let params = GcmParameters {
        nonce: OctetString::new(nonce.to_vec()).map_err(|e| e.to_string())?,
        icv_len: 16,
    };
    Ok((
        encode_params(&params).map_err(|e| e.to_string())?,
        buffer,
        Some(tag.to_vec()),
    ))
}

fn rc2_cipher(key: &[u8], effective_bits: usize) -> Result<rc2::Rc2, DecryptError> {
    // rc2's key schedule indexes past its 128-byte buffer for empty or over-long keys.
    if key.is_empty() || key.len() > 128 || !(1..=1024).contains(&effective_bits) {
        return Err(DecryptError::ContentDecryption {
            detail: format!(
                "a {}-byte key cannot be an RC2 key with {effective_bits} effective bits",
                key.len()
            ),
        });
    }
    Ok(rc2::Rc2::new_with_eff_key_len(key, effective_bits))
}

/// A parsed content-encryption AlgorithmIdentifier.
#[derive(Debug, Clone)]
pub(crate) struct ContentAlgorithm {
    pub cipher: ContentCipher,
    pub iv: Vec<u8>,
    /// GCM tag length from the parameters (12 when absent).
    pub icv_len: usize,
}

/// Chacha20-Poly1305 for CMS (RFC 8103), recognised only to be refused clearly.
const ID_ALG_AEAD_CHACHA20_POLY1305: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.3.18");

fn octet_string_param(alg: &AlgorithmIdentifierOwned, what: &str) -> Result<Vec<u8>, DecryptError> {
    let any = alg
        .parameters
        .as_ref()
        .ok_or_else(|| DecryptError::Malformed {
            what: format!("{what} has no IV parameter"),
        })?;
    let iv: OctetString = any.decode_as().map_err(|e| DecryptError::Malformed {
        what: format!("{what} IV parameter is not an OCTET STRING: {e}"),
    })?;
    Ok(iv.as_bytes().to_vec())
}

pub(crate) fn parse_algorithm(
    alg: &AlgorithmIdentifierOwned,
) -> Result<ContentAlgorithm, DecryptError> {
    let oid = alg.oid;
    let cbc = |cipher: ContentCipher| -> Result<ContentAlgorithm, DecryptError> {
        let iv = octet_string_param(alg, cipher.display_name())?;
        if iv.len() != cipher.iv_len() {
            return Err(DecryptError::Malformed {
                what: format!(
                    "{} IV is {} bytes, expected {}",
                    cipher.display_name(),
                    iv.len(),
                    cipher.iv_len()
                ),
            });
        }
        Ok(ContentAlgorithm {
            cipher,
            iv,
            icv_len: 0,
        })
    };
    let gcm = |cipher: ContentCipher| -> Result<ContentAlgorithm, DecryptError> {
        let any = alg
            .parameters
            .as_ref()
            .ok_or_else(|| DecryptError::Malformed {
                what: format!("{} has no GCMParameters", cipher.display_name()),
            })?;
        let params: GcmParameters = any.decode_as().map_err(|e| DecryptError::Malformed {
            what: format!("{} GCMParameters: {e}", cipher.display_name()),
        })?;
        if params.nonce.as_bytes().len() != 12 {
            return Err(DecryptError::Unsupported {
                what: format!(
                    "AES-GCM with a {}-byte nonce (only the 12-byte nonce RFC 5084 recommends)",
                    params.nonce.as_bytes().len()
                ),
            });
        }
        if !(12..=16).contains(&params.icv_len) {
            return Err(DecryptError::Unsupported {
                what: format!(
                    "AES-GCM with a {}-byte tag (12 to 16 are supported)",
                    params.icv_len
                ),
            });
        }
        Ok(ContentAlgorithm {
            cipher,
            iv: params.nonce.as_bytes().to_vec(),
            icv_len: usize::from(params.icv_len),
        })
    };
    match oid {
        o if o == rfc5911::ID_AES_128_CBC => cbc(ContentCipher::Aes128Cbc),
        o if o == rfc5911::ID_AES_192_CBC => cbc(ContentCipher::Aes192Cbc),
        o if o == rfc5911::ID_AES_256_CBC => cbc(ContentCipher::Aes256Cbc),
        o if o == rfc5911::DES_EDE_3_CBC => cbc(ContentCipher::DesEde3Cbc),
        o if o == DES_CBC => cbc(ContentCipher::DesCbc),
        o if o == rfc5911::ID_AES_128_GCM => gcm(ContentCipher::Aes128Gcm),
        o if o == rfc5911::ID_AES_192_GCM => gcm(ContentCipher::Aes192Gcm),
        o if o == rfc5911::ID_AES_256_GCM => gcm(ContentCipher::Aes256Gcm),
        o if o == rfc5911::RC_2_CBC => {
            let any = alg
                .parameters
                .as_ref()
                .ok_or_else(|| DecryptError::Malformed {
                    what: "RC2-CBC has no RC2CBCParameter".to_owned(),
                })?;
            let params: Rc2CbcParameter = any.decode_as().map_err(|e| DecryptError::Malformed {
                what: format!("RC2CBCParameter: {e}"),
            })?;
            let cipher = rc2_bits_for_version(params.version)?;
            if params.iv.as_bytes().len() != 8 {
                return Err(DecryptError::Malformed {
                    what: format!("RC2 IV is {} bytes, expected 8", params.iv.as_bytes().len()),
                });
            }
            Ok(ContentAlgorithm {
                cipher,
                iv: params.iv.as_bytes().to_vec(),
                icv_len: 0,
            })
        }
        o if o == ID_ALG_AEAD_CHACHA20_POLY1305 => Err(DecryptError::Unsupported {
            what: "content encryption ChaCha20-Poly1305 (RFC 8103)".to_owned(),
        }),
        other => Err(DecryptError::Unsupported {
            what: format!("content-encryption algorithm {other}"),
        }),
    }
}

/// Decrypts with a content-encryption key recovered from a RecipientInfo. For GCM, `aad` is the
/// DER of the authenticated attributes (empty when there are none) and `tag` the `mac`.
pub(crate) fn decrypt(
    alg: &ContentAlgorithm,
    key: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
    tag: Option<&[u8]>,
) -> Result<Vec<u8>, DecryptError> {
    let cipher = alg.cipher;
    // Implicit rejection in RSA PKCS#1 v1.5 turns a wrong key into a random-length synthetic
    // key; a length that does not fit the cipher is the first place that shows.
    let expected = cipher.key_len();
    let length_ok = match cipher {
        // Other producers may use longer RC2 keys with a shorter effective length.
        ContentCipher::Rc2Cbc40 | ContentCipher::Rc2Cbc64 | ContentCipher::Rc2Cbc128 => {
            key.len() >= expected && key.len() <= 128
        }
        _ => key.len() == expected,
    };
    if !length_ok {
        return Err(DecryptError::ContentDecryption {
            detail: format!(
                "the recovered content-encryption key is {} bytes but {} needs {expected}: the private key does not fit this message (or RSA implicit rejection produced a synthetic key)",
                key.len(),
                cipher.display_name()
            ),
        });
    }
    let wrong_len = |_| DecryptError::ContentDecryption {
        detail: format!(
            "{}-byte key rejected by {}",
            key.len(),
            cipher.display_name()
        ),
    };
    match cipher {
        ContentCipher::Aes128Cbc => cbc_decrypt(
            Aes128::new_from_slice(key).map_err(wrong_len)?,
            &alg.iv,
            ciphertext,
        ),
        ContentCipher::Aes192Cbc => cbc_decrypt(
            Aes192::new_from_slice(key).map_err(wrong_len)?,
            &alg.iv,
            ciphertext,
        ),
        ContentCipher::Aes256Cbc => cbc_decrypt(
            Aes256::new_from_slice(key).map_err(wrong_len)?,
            &alg.iv,
            ciphertext,
        ),
        ContentCipher::DesEde3Cbc => cbc_decrypt(
            des::TdesEde3::new_from_slice(key).map_err(wrong_len)?,
            &alg.iv,
            ciphertext,
        ),
        ContentCipher::DesCbc => cbc_decrypt(
            des::Des::new_from_slice(key).map_err(wrong_len)?,
            &alg.iv,
            ciphertext,
        ),
        ContentCipher::Rc2Cbc40 | ContentCipher::Rc2Cbc64 | ContentCipher::Rc2Cbc128 => {
            let bits = cipher.rc2_effective_bits().unwrap_or(128);
            cbc_decrypt(rc2_cipher(key, bits)?, &alg.iv, ciphertext)
        }
        ContentCipher::Aes128Gcm => gcm_decrypt::<Aes128>(alg, key, ciphertext, aad, tag),
        ContentCipher::Aes192Gcm => gcm_decrypt::<Aes192>(alg, key, ciphertext, aad, tag),
        ContentCipher::Aes256Gcm => gcm_decrypt::<Aes256>(alg, key, ciphertext, aad, tag),
    }
}

fn gcm_decrypt<C>(
    alg: &ContentAlgorithm,
    key: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
    tag: Option<&[u8]>,
) -> Result<Vec<u8>, DecryptError>
where
    C: cipher::BlockCipherEncrypt
        + cipher::BlockSizeUser<BlockSize = cipher::consts::U16>
        + KeyInit,
{
    let tag = tag.ok_or_else(|| DecryptError::Malformed {
        what: "AES-GCM content outside an AuthEnvelopedData has no authentication tag".to_owned(),
    })?;
    if tag.len() != alg.icv_len {
        return Err(DecryptError::Malformed {
            what: format!(
                "the AuthEnvelopedData mac is {} bytes but GCMParameters say {}",
                tag.len(),
                alg.icv_len
            ),
        });
    }
    let nonce =
        aes_gcm::Nonce::<cipher::consts::U12>::try_from(alg.iv.as_slice()).map_err(|_| {
            DecryptError::Malformed {
                what: format!("AES-GCM nonce is {} bytes, expected 12", alg.iv.len()),
            }
        })?;
    let mut buffer = ciphertext.to_vec();
    let ok = match tag.len() {
        16 => gcm_open::<C, cipher::consts::U16>(key, &nonce, aad, &mut buffer, tag),
        15 => gcm_open::<C, cipher::consts::U15>(key, &nonce, aad, &mut buffer, tag),
        14 => gcm_open::<C, cipher::consts::U14>(key, &nonce, aad, &mut buffer, tag),
        13 => gcm_open::<C, cipher::consts::U13>(key, &nonce, aad, &mut buffer, tag),
        _ => gcm_open::<C, cipher::consts::U12>(key, &nonce, aad, &mut buffer, tag),
    }?;
    if ok {
        Ok(buffer)
    } else {
        Err(DecryptError::AuthenticationFailed)
    }
}

fn gcm_open<C, T>(
    key: &[u8],
    nonce: &aes_gcm::Nonce<cipher::consts::U12>,
    aad: &[u8],
    buffer: &mut [u8],
    tag: &[u8],
) -> Result<bool, DecryptError>
where
    C: cipher::BlockCipherEncrypt
        + cipher::BlockSizeUser<BlockSize = cipher::consts::U16>
        + KeyInit,
    T: aes_gcm::TagSize,
{
    let aead = aes_gcm::AesGcm::<C, cipher::consts::U12, T>::new_from_slice(key).map_err(|_| {
        DecryptError::ContentDecryption {
            detail: format!("a {}-byte key is the wrong length for AES-GCM", key.len()),
        }
    })?;
    let tag = aes_gcm::aead::Tag::<aes_gcm::AesGcm<C, cipher::consts::U12, T>>::try_from(tag)
        .map_err(|_| DecryptError::Malformed {
            what: "AES-GCM tag has the wrong length".to_owned(),
        })?;
    Ok(aead
        .decrypt_inout_detached(nonce, aad, buffer.into(), &tag)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cipher_round_trips_and_names_parse_back() {
        let mut rng = crate::rng::seeded("content-cipher-test");
        for cipher in ContentCipher::ALL {
            assert_eq!(ContentCipher::from_name(cipher.name()), Some(cipher));
            let key = generate_key(cipher, &mut rng);
            let iv = vec![7u8; cipher.iv_len()];
            let plaintext = b"Content-Type: text/plain\r\n\r\nhello\r\n";
            let enc = encrypt(cipher, &key, &iv, plaintext).unwrap();
            let parsed = parse_algorithm(&enc.algorithm).unwrap();
            assert_eq!(parsed.cipher, cipher);
            let back = decrypt(&parsed, &key, &enc.ciphertext, &[], enc.tag.as_deref()).unwrap();
            assert_eq!(back, plaintext, "{cipher}");
            assert_eq!(cipher.is_weak(), !cipher.name().starts_with("aes"));
        }
    }

    #[test]
    fn rc2_versions_follow_rfc_8018() {
        let enc = encrypt(ContentCipher::Rc2Cbc40, &[1; 5], &[0; 8], b"x").unwrap();
        let params: Rc2CbcParameter = enc.algorithm.parameters.unwrap().decode_as().unwrap();
        assert_eq!(params.version, Some(160));
        assert_eq!(rc2_version_for_bits(64), 120);
        assert_eq!(rc2_version_for_bits(128), 58);
    }

    #[test]
    fn gcm_tag_failure_is_its_own_error() {
        let key = [9u8; 16];
        let enc = encrypt(ContentCipher::Aes128Gcm, &key, &[1; 12], b"secret").unwrap();
        let parsed = parse_algorithm(&enc.algorithm).unwrap();
        let mut tag = enc.tag.unwrap();
        tag[0] ^= 1;
        assert!(matches!(
            decrypt(&parsed, &key, &enc.ciphertext, &[], Some(&tag)),
            Err(DecryptError::AuthenticationFailed)
        ));
    }

    #[test]
    fn wrong_key_length_and_bad_padding_are_errors() {
        let key = [3u8; 32];
        let enc = encrypt(ContentCipher::Aes256Cbc, &key, &[0; 16], b"secret").unwrap();
        let parsed = parse_algorithm(&enc.algorithm).unwrap();
        assert!(decrypt(&parsed, &key[..16], &enc.ciphertext, &[], None).is_err());
        // A different key of the right length almost always fails the padding check.
        assert!(decrypt(&parsed, &[4u8; 32], &enc.ciphertext, &[], None).is_err());
        assert!(decrypt(&parsed, &key, &enc.ciphertext[..15], &[], None).is_err());
    }
}
