//! Password-based encryption of the encrypted parts of a PFX: PBES2 (through `pkcs5`) and the
//! PKCS#12 PBEs of RFC 7292 appendix C (3DES and RC2 keyed by the PKCS#12 KDF, written here).

use cipher::block_padding::Pkcs7;
use cipher::{
    BlockCipherDecrypt, BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit, KeyIvInit,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc7292;
use der::asn1::{Any, OctetString};
use der::{Decode, Encode};
use pkcs5::pbes2::{self, EncryptionScheme as Pbes2Cipher, Kdf, Pbkdf2Prf};
use rand_core::CryptoRng;
use spki::AlgorithmIdentifierOwned;

use super::asn1::Pkcs12PbeParams;
use super::kdf::{self, Purpose};
use super::{AlgorithmUse, KdfBudget, MAX_ITERATIONS, Pkcs12Error};

/// Memory a PBES2 scrypt KDF may ask for (128·r·N bytes). OpenSSL's own default cap is 32 MiB;
/// without one, a hostile file could make the reader allocate gigabytes and abort.
const MAX_SCRYPT_MEMORY: u64 = 64 * 1024 * 1024;

/// A decryption failure, before it is given its place in the file.
pub(crate) enum DecryptError {
    /// Padding was wrong: wrong password or damaged ciphertext.
    BadPadding,
    /// Anything else, already a full error.
    Other(Pkcs12Error),
}

impl From<Pkcs12Error> for DecryptError {
    fn from(error: Pkcs12Error) -> Self {
        DecryptError::Other(error)
    }
}

/// Decrypt `ciphertext` under `algorithm` with `password`. `location` names the algorithm's place
/// for error messages.
pub(crate) fn decrypt(
    algorithm: &AlgorithmIdentifierOwned,
    password: &str,
    ciphertext: &[u8],
    location: &str,
    budget: &KdfBudget,
) -> Result<(Vec<u8>, AlgorithmUse), DecryptError> {
    if algorithm.oid == pbes2::PBES2_OID {
        return decrypt_pbes2(algorithm, password, ciphertext, location, budget);
    }
    let Some(pbe) = Pkcs12Pbe::from_oid(algorithm.oid) else {
        return Err(Pkcs12Error::unsupported(location, algorithm.oid).into());
    };
    let params: Pkcs12PbeParams = algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| Pkcs12Error::malformed(location, "PKCS#12 PBE parameters are missing"))?
        .decode_as()
        .map_err(|e| Pkcs12Error::malformed(format!("{location} parameters"), e))?;
    check_iterations(params.iterations, location)?;
    // Two derivations: the key and the IV (RFC 7292 appendix B.2, ID 1 and ID 2).
    budget.charge(u64::from(params.iterations).saturating_mul(2), location)?;
    let plaintext = pbe.decrypt(
        password,
        params.salt.as_bytes(),
        params.iterations,
        ciphertext,
    )?;
    Ok((
        plaintext,
        AlgorithmUse {
            name: pbe.name().to_string(),
            oid: algorithm.oid,
            iterations: params.iterations,
            legacy: true,
        },
    ))
}

fn check_iterations(count: u32, location: &str) -> Result<(), Pkcs12Error> {
    if count > MAX_ITERATIONS {
        return Err(Pkcs12Error::TooManyIterations {
            location: location.to_string(),
            count,
        });
    }
    Ok(())
}

fn decrypt_pbes2(
    algorithm: &AlgorithmIdentifierOwned,
    password: &str,
    ciphertext: &[u8],
    location: &str,
    budget: &KdfBudget,
) -> Result<(Vec<u8>, AlgorithmUse), DecryptError> {
    let encoded = algorithm.to_der().map_err(Pkcs12Error::Encode)?;
    let scheme = pkcs5::EncryptionScheme::from_der(&encoded).map_err(|e| match e.kind() {
        der::ErrorKind::OidUnknown { oid } => Pkcs12Error::unsupported(location, oid),
        _ => Pkcs12Error::malformed(format!("{location} PBES2 parameters"), e),
    })?;
    let params = scheme
        .pbes2()
        .ok_or_else(|| Pkcs12Error::malformed(location, "PBES2 parameters expected"))?;
    let (kdf_name, iterations) = match &params.kdf {
        Kdf::Pbkdf2(pbkdf2) => {
            check_iterations(pbkdf2.iteration_count, location)?;
            budget.charge(u64::from(pbkdf2.iteration_count), location)?;
            (
                format!("PBKDF2-{}", prf_name(pbkdf2.prf)),
                pbkdf2.iteration_count,
            )
        }
        Kdf::Scrypt(scrypt) => {
            let n: u64 = scrypt.cost_parameter;
            let memory = 128u64
                .saturating_mul(u64::from(scrypt.block_size))
                .saturating_mul(n);
            if memory > MAX_SCRYPT_MEMORY || scrypt.parallelization > 16 {
                return Err(Pkcs12Error::malformed(
                    format!("{location} scrypt parameters"),
                    format!(
                        "N={n}, r={}, p={} needs more than {} MiB of memory or too much work",
                        scrypt.block_size,
                        scrypt.parallelization,
                        MAX_SCRYPT_MEMORY / 1024 / 1024
                    ),
                )
                .into());
            }
            // scrypt's work is N x r x p BlockMix rounds (RFC 7914 section 6).
            budget.charge(
                n.saturating_mul(u64::from(scrypt.block_size))
                    .saturating_mul(u64::from(scrypt.parallelization)),
                location,
            )?;
            (format!("scrypt N={n}"), 1)
        }
        _ => {
            return Err(Pkcs12Error::unsupported(location, params.kdf.oid()).into());
        }
    };
    let cipher_name = match params.encryption {
        Pbes2Cipher::Aes128Cbc { .. } => "AES-128-CBC",
        Pbes2Cipher::Aes192Cbc { .. } => "AES-192-CBC",
        Pbes2Cipher::Aes256Cbc { .. } => "AES-256-CBC",
        Pbes2Cipher::Aes128Gcm { .. } => "AES-128-GCM",
        Pbes2Cipher::Aes256Gcm { .. } => "AES-256-GCM",
        Pbes2Cipher::DesEde3Cbc { .. } => "DES-EDE3-CBC",
        Pbes2Cipher::DesCbc { .. } => "DES-CBC",
        _ => return Err(Pkcs12Error::unsupported(location, params.encryption.oid()).into()),
    };
    let legacy = matches!(
        params.encryption,
        Pbes2Cipher::DesEde3Cbc { .. } | Pbes2Cipher::DesCbc { .. }
    );
    // PBES2 takes the password as it is typed (UTF-8), not as the BMPString the PKCS#12 KDF uses:
    // that is what OpenSSL, NSS and RFC 9579 do.
    let plaintext = params
        .decrypt(password.as_bytes(), ciphertext)
        .map_err(|e| match e {
            pkcs5::Error::DecryptFailed => DecryptError::BadPadding,
            pkcs5::Error::UnsupportedAlgorithm { oid } => {
                Pkcs12Error::unsupported(location, oid).into()
            }
            other => Pkcs12Error::malformed(location, other).into(),
        })?;
    Ok((
        plaintext,
        AlgorithmUse {
            name: format!("PBES2 ({kdf_name}, {cipher_name})"),
            oid: pbes2::PBES2_OID,
            iterations,
            legacy,
        },
    ))
}

fn prf_name(prf: Pbkdf2Prf) -> &'static str {
    match prf {
        Pbkdf2Prf::HmacWithSha1 => "HMAC-SHA-1",
        Pbkdf2Prf::HmacWithSha224 => "HMAC-SHA-224",
        Pbkdf2Prf::HmacWithSha256 => "HMAC-SHA-256",
        Pbkdf2Prf::HmacWithSha384 => "HMAC-SHA-384",
        Pbkdf2Prf::HmacWithSha512 => "HMAC-SHA-512",
        _ => "HMAC",
    }
}

/// The PKCS#12 PBEs (RFC 7292 appendix C) that are block ciphers in CBC mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pkcs12Pbe {
    TripleDes3Key,
    TripleDes2Key,
    Rc2With128Bit,
    Rc2With40Bit,
}

impl Pkcs12Pbe {
    fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            rfc7292::PBE_WITH_SHA_AND_3_KEY_TRIPLE_DES_CBC => Some(Self::TripleDes3Key),
            rfc7292::PBE_WITH_SHA_AND_2_KEY_TRIPLE_DES_CBC => Some(Self::TripleDes2Key),
            rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_2_CBC => Some(Self::Rc2With128Bit),
            rfc7292::PBEWITH_SHA_AND_40_BIT_RC_2_CBC => Some(Self::Rc2With40Bit),
            // pbeWithSHAAnd128BitRC4 / 40BitRC4 are stream ciphers nobody has written since the
            // 1990s and no crate of this generation provides RC4: they end as UnsupportedAlgorithm.
            _ => None,
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            Self::TripleDes3Key => rfc7292::PBE_WITH_SHA_AND_3_KEY_TRIPLE_DES_CBC,
            Self::TripleDes2Key => rfc7292::PBE_WITH_SHA_AND_2_KEY_TRIPLE_DES_CBC,
            Self::Rc2With128Bit => rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_2_CBC,
            Self::Rc2With40Bit => rfc7292::PBEWITH_SHA_AND_40_BIT_RC_2_CBC,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::TripleDes3Key => "pbeWithSHAAnd3-KeyTripleDES-CBC",
            Self::TripleDes2Key => "pbeWithSHAAnd2-KeyTripleDES-CBC",
            Self::Rc2With128Bit => "pbeWithSHAAnd128BitRC2-CBC",
            Self::Rc2With40Bit => "pbeWithSHAAnd40BitRC2-CBC",
        }
    }

    fn key_len(self) -> usize {
        match self {
            Self::TripleDes3Key => 24,
            Self::TripleDes2Key | Self::Rc2With128Bit => 16,
            Self::Rc2With40Bit => 5,
        }
    }

    /// Key and IV from the PKCS#12 KDF with SHA-1 (the only hash these PBEs are defined with).
    fn key_iv(self, password: &str, salt: &[u8], iterations: u32) -> (Vec<u8>, Vec<u8>) {
        let password = kdf::bmp_password(password);
        let key = kdf::derive::<sha1::Sha1>(
            &password,
            salt,
            Purpose::EncryptionKey,
            iterations,
            self.key_len(),
        );
        let iv = kdf::derive::<sha1::Sha1>(&password, salt, Purpose::Iv, iterations, 8);
        (key, iv)
    }

    fn decrypt(
        self,
        password: &str,
        salt: &[u8],
        iterations: u32,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, DecryptError> {
        let (key, iv) = self.key_iv(password, salt, iterations);
        let result = match self {
            Self::TripleDes3Key => cbc_decrypt::<des::TdesEde3>(&key, &iv, ciphertext),
            Self::TripleDes2Key => cbc_decrypt::<des::TdesEde2>(&key, &iv, ciphertext),
            Self::Rc2With128Bit | Self::Rc2With40Bit => {
                // RC2's "effective key bits" must equal the key length here (RFC 7292 C: 128 and 40).
                let rc2 = rc2::Rc2::new_with_eff_key_len(&key, key.len() * 8);
                cbc::Decryptor::<rc2::Rc2>::inner_iv_slice_init(rc2, &iv)
                    .map_err(|_| ())
                    .and_then(|mode| mode.decrypt_padded_vec::<Pkcs7>(ciphertext).map_err(|_| ()))
            }
        };
        result.map_err(|()| DecryptError::BadPadding)
    }
}

fn cbc_decrypt<C: BlockCipherDecrypt + KeyInit>(
    key: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, ()> {
    cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| ())?
        .decrypt_padded_vec::<Pkcs7>(ciphertext)
        .map_err(|_| ())
}

/// Encrypt for [`super::Pkcs12Profile::Modern`]: PBES2, PBKDF2-HMAC-SHA-256, AES-256-CBC.
/// Draws a 16-byte salt, then a 16-byte IV, from `rng`.
pub(crate) fn encrypt_pbes2_aes256<R: CryptoRng + ?Sized>(
    password: &str,
    plaintext: &[u8],
    iterations: u32,
    rng: &mut R,
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), Pkcs12Error> {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &salt, iv)
        .map_err(|e| Pkcs12Error::InvalidInput {
            what: "PBES2 parameters",
            detail: e.to_string(),
        })?;
    let ciphertext = params
        .encrypt(password.as_bytes(), plaintext)
        .map_err(|e| Pkcs12Error::InvalidInput {
            what: "PBES2 encryption",
            detail: e.to_string(),
        })?;
    let algorithm =
        AlgorithmIdentifierOwned::from_der(&pkcs5::EncryptionScheme::from(params).to_der()?)?;
    Ok((algorithm, ciphertext))
}

/// Encrypt for [`super::Pkcs12Profile::Legacy`]: pbeWithSHAAnd3-KeyTripleDES-CBC.
/// Draws an 8-byte salt from `rng` (the IV comes from the KDF).
pub(crate) fn encrypt_pkcs12_3des<R: CryptoRng + ?Sized>(
    password: &str,
    plaintext: &[u8],
    iterations: u32,
    rng: &mut R,
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), Pkcs12Error> {
    let pbe = Pkcs12Pbe::TripleDes3Key;
    let mut salt = [0u8; 8];
    rng.fill_bytes(&mut salt);
    let (key, iv) = pbe.key_iv(password, &salt, iterations);
    let ciphertext = cbc::Encryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
        .map_err(|_| Pkcs12Error::InvalidInput {
            what: "3DES key",
            detail: "the KDF produced a key of the wrong length".into(),
        })?
        .encrypt_padded_vec::<Pkcs7>(plaintext);
    let params = Pkcs12PbeParams {
        salt: OctetString::new(salt.to_vec())?,
        iterations,
    };
    let algorithm = AlgorithmIdentifierOwned {
        oid: pbe.oid(),
        parameters: Some(Any::encode_from(&params)?),
    };
    Ok((algorithm, ciphertext))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn roundtrip(
        algorithm: &AlgorithmIdentifierOwned,
        ciphertext: &[u8],
        password: &str,
    ) -> Vec<u8> {
        match decrypt(
            algorithm,
            password,
            ciphertext,
            "test",
            &KdfBudget::unlimited(),
        ) {
            Ok((plaintext, _)) => plaintext,
            Err(DecryptError::BadPadding) => panic!("bad padding"),
            Err(DecryptError::Other(e)) => panic!("{e}"),
        }
    }

    #[test]
    fn pbes2_and_3des_roundtrip_and_reject_a_wrong_password() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let plaintext = b"a private key, more or less".to_vec();
        for (algorithm, ciphertext) in [
            encrypt_pbes2_aes256("pw", &plaintext, 2048, &mut rng).unwrap(),
            encrypt_pkcs12_3des("pw", &plaintext, 2048, &mut rng).unwrap(),
        ] {
            assert_eq!(roundtrip(&algorithm, &ciphertext, "pw"), plaintext);
            // A wrong key gives bad padding in all but ~1/256 of cases; with this seed it does.
            assert!(matches!(
                decrypt(
                    &algorithm,
                    "wrong",
                    &ciphertext,
                    "test",
                    &KdfBudget::unlimited()
                ),
                Err(DecryptError::BadPadding)
            ));
        }
    }

    #[test]
    fn rc4_is_named_as_unsupported() {
        let algorithm = AlgorithmIdentifierOwned {
            oid: rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_4,
            parameters: None,
        };
        match decrypt(
            &algorithm,
            "pw",
            &[0; 16],
            "the certificates",
            &KdfBudget::unlimited(),
        ) {
            Err(DecryptError::Other(e @ Pkcs12Error::UnsupportedAlgorithm { .. })) => {
                let message = e.to_string();
                assert!(message.contains("1.2.840.113549.1.12.1.1"), "{message}");
                assert!(message.contains("the certificates"), "{message}");
            }
            _ => panic!("RC4 must be reported as unsupported"),
        }
    }

    #[test]
    fn absurd_iteration_counts_are_refused_before_any_work() {
        let params = Pkcs12PbeParams {
            salt: OctetString::new(vec![1; 8]).unwrap(),
            iterations: u32::MAX,
        };
        let algorithm = AlgorithmIdentifierOwned {
            oid: rfc7292::PBE_WITH_SHA_AND_3_KEY_TRIPLE_DES_CBC,
            parameters: Some(Any::encode_from(&params).unwrap()),
        };
        assert!(matches!(
            decrypt(&algorithm, "pw", &[0; 16], "test", &KdfBudget::unlimited()),
            Err(DecryptError::Other(Pkcs12Error::TooManyIterations { .. }))
        ));
    }
}
