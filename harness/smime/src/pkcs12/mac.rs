//! The PFX integrity MAC: HMAC keyed by the PKCS#12 KDF (RFC 7292 appendix B, every file before
//! 2024), and PBMAC1 keyed by PBKDF2 (RFC 9579, OpenSSL 3.4+ with `-pbmac1_pbkdf2`).

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc6268};
use der::asn1::OctetString;
use hmac::EagerHash;
use hmac::{Hmac, KeyInit, Mac};
use pkcs5::pbes2::{self, Pbkdf2Params, Pbkdf2Prf};
use sha2::digest::{Digest, block_api::BlockSizeUser};
use spki::AlgorithmIdentifierOwned;

use super::asn1::{DigestInfo, MacData, Pbmac1Params, oid};
use super::kdf::{self, Purpose};
use super::{AlgorithmUse, KdfBudget, MAX_ITERATIONS, Pkcs12Error};

/// The hashes a PKCS#12 HMAC is found with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MacHash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl MacHash {
    fn from_digest_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            rfc5912::ID_SHA_1 => Some(Self::Sha1),
            rfc5912::ID_SHA_224 => Some(Self::Sha224),
            rfc5912::ID_SHA_256 => Some(Self::Sha256),
            rfc5912::ID_SHA_384 => Some(Self::Sha384),
            rfc5912::ID_SHA_512 => Some(Self::Sha512),
            _ => None,
        }
    }

    fn from_hmac_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            pbes2::HMAC_WITH_SHA1_OID => Some(Self::Sha1),
            rfc6268::ID_HMAC_WITH_SHA_224 => Some(Self::Sha224),
            rfc6268::ID_HMAC_WITH_SHA_256 => Some(Self::Sha256),
            rfc6268::ID_HMAC_WITH_SHA_384 => Some(Self::Sha384),
            rfc6268::ID_HMAC_WITH_SHA_512 => Some(Self::Sha512),
            _ => None,
        }
    }

    pub(crate) fn digest_oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => rfc5912::ID_SHA_1,
            Self::Sha224 => rfc5912::ID_SHA_224,
            Self::Sha256 => rfc5912::ID_SHA_256,
            Self::Sha384 => rfc5912::ID_SHA_384,
            Self::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "HMAC-SHA-1",
            Self::Sha224 => "HMAC-SHA-224",
            Self::Sha256 => "HMAC-SHA-256",
            Self::Sha384 => "HMAC-SHA-384",
            Self::Sha512 => "HMAC-SHA-512",
        }
    }

    /// HMAC of `data` under a key from the PKCS#12 KDF (ID 3) as long as the hash output.
    pub(crate) fn pkcs12_hmac(
        self,
        bmp_password: &[u8],
        salt: &[u8],
        iterations: u32,
        data: &[u8],
    ) -> Vec<u8> {
        fn run<D: Digest + BlockSizeUser + EagerHash>(
            password: &[u8],
            salt: &[u8],
            iterations: u32,
            data: &[u8],
        ) -> Vec<u8> {
            let key_len = <D as Digest>::output_size();
            let key = kdf::derive::<D>(password, salt, Purpose::MacKey, iterations, key_len);
            hmac_bytes::<D>(&key, data)
        }
        match self {
            Self::Sha1 => run::<sha1::Sha1>(bmp_password, salt, iterations, data),
            Self::Sha224 => run::<sha2::Sha224>(bmp_password, salt, iterations, data),
            Self::Sha256 => run::<sha2::Sha256>(bmp_password, salt, iterations, data),
            Self::Sha384 => run::<sha2::Sha384>(bmp_password, salt, iterations, data),
            Self::Sha512 => run::<sha2::Sha512>(bmp_password, salt, iterations, data),
        }
    }

    /// Plain HMAC of `data` under `key`.
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => hmac_bytes::<sha1::Sha1>(key, data),
            Self::Sha224 => hmac_bytes::<sha2::Sha224>(key, data),
            Self::Sha256 => hmac_bytes::<sha2::Sha256>(key, data),
            Self::Sha384 => hmac_bytes::<sha2::Sha384>(key, data),
            Self::Sha512 => hmac_bytes::<sha2::Sha512>(key, data),
        }
    }
}

fn hmac_bytes<D: EagerHash>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length (RFC 2104 hashes long ones), so this cannot fail.
    match <Hmac<D> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac.chain_update(data).finalize().into_bytes().to_vec(),
        Err(_) => Vec::new(),
    }
}

/// Compare in constant time so a MAC check does not leak how many bytes matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Verify `mac_data` over `data` (the contents of the authSafe OCTET STRING).
pub(crate) fn verify(
    mac_data: &MacData,
    password: &str,
    data: &[u8],
    budget: &KdfBudget,
) -> Result<AlgorithmUse, Pkcs12Error> {
    let algorithm = &mac_data.mac.algorithm;
    let expected = mac_data.mac.digest.as_bytes();
    if algorithm.oid == oid::PBMAC1 {
        return verify_pbmac1(algorithm, password, data, expected, budget);
    }
    let hash = MacHash::from_digest_oid(algorithm.oid)
        .ok_or_else(|| Pkcs12Error::unsupported("the MAC", algorithm.oid))?;
    if mac_data.iterations > MAX_ITERATIONS {
        return Err(Pkcs12Error::TooManyIterations {
            location: "the MAC".into(),
            count: mac_data.iterations,
        });
    }
    let salt = mac_data.mac_salt.as_bytes();
    let mut candidates = vec![kdf::bmp_password(password)];
    if password.is_empty() {
        // An empty password is ambiguous: OpenSSL writes `-passout pass:` as an empty BMPString
        // (two zero bytes) but some producers pass no password at all (zero bytes). OpenSSL's
        // reader tries both, and so do we.
        candidates.push(Vec::new());
    }
    budget.charge(
        u64::from(mac_data.iterations).saturating_mul(candidates.len() as u64),
        "the MAC",
    )?;
    let verified = candidates.iter().any(|candidate| {
        constant_time_eq(
            &hash.pkcs12_hmac(candidate, salt, mac_data.iterations, data),
            expected,
        )
    });
    if !verified {
        return Err(Pkcs12Error::WrongPassword);
    }
    Ok(AlgorithmUse {
        name: format!("{} (PKCS#12 KDF)", hash.name()),
        oid: algorithm.oid,
        iterations: mac_data.iterations,
        legacy: hash == MacHash::Sha1,
    })
}

fn verify_pbmac1(
    algorithm: &AlgorithmIdentifierOwned,
    password: &str,
    data: &[u8],
    expected: &[u8],
    budget: &KdfBudget,
) -> Result<AlgorithmUse, Pkcs12Error> {
    const WHERE: &str = "the PBMAC1 MAC parameters";
    let params: Pbmac1Params = algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| Pkcs12Error::malformed(WHERE, "parameters are missing"))?
        .decode_as()
        .map_err(|e| Pkcs12Error::malformed(WHERE, e))?;
    if params.key_derivation_func.oid != pbes2::PBKDF2_OID {
        return Err(Pkcs12Error::unsupported(
            "the PBMAC1 key derivation",
            params.key_derivation_func.oid,
        ));
    }
    let pbkdf2: Pbkdf2Params = params
        .key_derivation_func
        .parameters
        .as_ref()
        .ok_or_else(|| Pkcs12Error::malformed(WHERE, "PBKDF2 parameters are missing"))?
        .decode_as()
        .map_err(|e| Pkcs12Error::malformed(WHERE, e))?;
    // RFC 9579 section 3: keyLength MUST be present (its appendix A.6 is a file without one that
    // readers must refuse).
    let key_len = pbkdf2.key_length.ok_or_else(|| {
        Pkcs12Error::malformed(WHERE, "PBKDF2 keyLength is missing (required by RFC 9579)")
    })?;
    if pbkdf2.iteration_count > MAX_ITERATIONS {
        return Err(Pkcs12Error::TooManyIterations {
            location: "the PBMAC1 MAC".into(),
            count: pbkdf2.iteration_count,
        });
    }
    let mac_hash = MacHash::from_hmac_oid(params.message_auth_scheme.oid).ok_or_else(|| {
        Pkcs12Error::unsupported("the PBMAC1 MAC", params.message_auth_scheme.oid)
    })?;
    budget.charge(u64::from(pbkdf2.iteration_count), "the PBMAC1 MAC")?;
    let mut key = vec![0u8; usize::from(key_len)];
    // RFC 9579 section 5: the password goes into PBKDF2 as UTF-8, not as a BMPString.
    let (salt, rounds) = (pbkdf2.salt.as_bytes(), pbkdf2.iteration_count);
    match pbkdf2.prf {
        Pbkdf2Prf::HmacWithSha1 => {
            pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password.as_bytes(), salt, rounds, &mut key);
        }
        Pbkdf2Prf::HmacWithSha224 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha224>(password.as_bytes(), salt, rounds, &mut key);
        }
        Pbkdf2Prf::HmacWithSha256 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, rounds, &mut key);
        }
        Pbkdf2Prf::HmacWithSha384 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha384>(password.as_bytes(), salt, rounds, &mut key);
        }
        Pbkdf2Prf::HmacWithSha512 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password.as_bytes(), salt, rounds, &mut key);
        }
        other => return Err(Pkcs12Error::unsupported("the PBMAC1 PRF", other.oid())),
    }
    if !constant_time_eq(&mac_hash.hmac(&key, data), expected) {
        return Err(Pkcs12Error::WrongPassword);
    }
    Ok(AlgorithmUse {
        name: format!(
            "PBMAC1 (PBKDF2-{}, {})",
            prf_label(pbkdf2.prf),
            mac_hash.name()
        ),
        oid: oid::PBMAC1,
        iterations: rounds,
        legacy: false,
    })
}

fn prf_label(prf: Pbkdf2Prf) -> &'static str {
    MacHash::from_hmac_oid(prf.oid()).map_or("HMAC", MacHash::name)
}

/// Build the MacData for `data` with a fresh salt.
pub(crate) fn create(
    hash: MacHash,
    password: &str,
    salt: &[u8],
    iterations: u32,
    data: &[u8],
) -> Result<MacData, Pkcs12Error> {
    let digest = hash.pkcs12_hmac(&kdf::bmp_password(password), salt, iterations, data);
    Ok(MacData {
        mac: DigestInfo {
            algorithm: AlgorithmIdentifierOwned {
                oid: hash.digest_oid(),
                // OpenSSL, Windows and NSS all write an explicit NULL here.
                parameters: Some(der::asn1::Null.into()),
            },
            digest: OctetString::new(digest)?,
        },
        mac_salt: OctetString::new(salt.to_vec())?,
        iterations,
    })
}
