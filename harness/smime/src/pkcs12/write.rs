//! Writing a PFX from a PKCS#8 key, its certificate and a chain, deterministically given the RNG.

use cms::content_info::ContentInfo;
use const_oid::db::{rfc2985, rfc5911};
use der::asn1::{Any, BmpString, OctetString, SetOfVec};
use der::{Decode, Encode};
use rand_core::CryptoRng;
use sha1::{Digest, Sha1};
use x509_cert::attr::Attribute;

use super::asn1::{
    CertBag, EncryptedContentInfo, EncryptedData, EncryptedPrivateKeyInfo, Pfx, SafeBag, oid,
};
use super::mac::{self, MacHash};
use super::{Pkcs12Error, Pkcs12Profile, pbe, public_key_matches};

/// Iteration count for both profiles: what `openssl pkcs12 -export` uses (PKCS12_DEFAULT_ITER),
/// in PBKDF2, the PKCS#12 KDF and the MAC alike. The lab's files protect throwaway test keys; the
/// count is chosen for interoperability, not to slow down an attacker.
const ITERATIONS: u32 = 2048;

/// Build a password-protected PKCS#12 file holding `key_pkcs8_der` (PKCS#8 `PrivateKeyInfo` DER),
/// its certificate `cert_der` and the CA certificates `chain_der` (issuer first, as OpenSSL orders
/// them).
///
/// The key bag and the end-entity certificate bag carry `localKeyId` = SHA-1 of the certificate
/// (as OpenSSL writes it) and, if given, `friendlyName`, which is the name Windows and Thunderbird
/// show. The output depends only on the inputs and on what `rng` yields (salts and IVs, drawn in
/// a fixed order), so a seeded RNG gives byte-stable fixtures.
///
/// # Errors
/// [`Pkcs12Error::InvalidInput`] if the key is not PKCS#8, a certificate is not X.509 DER, or the
/// friendly name has characters outside the BMP; [`Pkcs12Error::KeyCertificateMismatch`] if the key
/// demonstrably does not belong to the certificate (RSA, P-256 and P-384 are checked; for other
/// algorithms the pairing is taken on trust).
pub fn write_pkcs12<R: CryptoRng + ?Sized>(
    key_pkcs8_der: &[u8],
    cert_der: &[u8],
    chain_der: &[Vec<u8>],
    friendly_name: Option<&str>,
    password: &str,
    profile: Pkcs12Profile,
    rng: &mut R,
) -> Result<Vec<u8>, Pkcs12Error> {
    pkcs8::PrivateKeyInfoRef::from_der(key_pkcs8_der).map_err(|e| Pkcs12Error::InvalidInput {
        what: "private key",
        detail: format!("not PKCS#8 PrivateKeyInfo DER: {e}"),
    })?;
    for (index, cert) in std::iter::once(cert_der)
        .chain(chain_der.iter().map(Vec::as_slice))
        .enumerate()
    {
        x509_cert::Certificate::from_der(cert).map_err(|e| Pkcs12Error::InvalidInput {
            what: "certificate",
            detail: if index == 0 {
                format!("the end-entity certificate is not X.509 DER: {e}")
            } else {
                format!("chain certificate {index} is not X.509 DER: {e}")
            },
        })?;
    }
    match public_key_matches(key_pkcs8_der, cert_der) {
        Ok(false) => return Err(Pkcs12Error::KeyCertificateMismatch),
        Ok(true) | Err(Pkcs12Error::UnsupportedAlgorithm { .. }) => {}
        Err(other) => return Err(other),
    }

    let local_key_id = Sha1::digest(cert_der).to_vec();
    let attributes = identity_attributes(&local_key_id, friendly_name)?;

    // Certificates: one SafeContents, encrypted as a whole (the end entity first).
    let mut cert_bags = vec![cert_bag(cert_der, Some(attributes.clone()))?];
    for cert in chain_der {
        cert_bags.push(cert_bag(cert, None)?);
    }
    let certs_plain = cert_bags.to_der()?;
    let (cert_algorithm, cert_ciphertext) = encrypt(profile, password, &certs_plain, rng)?;
    let certs_info = ContentInfo {
        content_type: rfc5911::ID_ENCRYPTED_DATA,
        content: Any::encode_from(&EncryptedData {
            version: 0,
            encrypted_content_info: EncryptedContentInfo {
                content_type: rfc5911::ID_DATA,
                content_encryption_algorithm: cert_algorithm,
                encrypted_content: Some(cert_ciphertext),
            },
        })?,
    };

    // The key: a shrouded key bag in a plain (data) SafeContents, as OpenSSL and Windows write it.
    let (key_algorithm, key_ciphertext) = encrypt(profile, password, key_pkcs8_der, rng)?;
    let key_bag = SafeBag {
        bag_id: oid::PKCS8_SHROUDED_KEY_BAG,
        bag_value: Any::encode_from(&EncryptedPrivateKeyInfo {
            encryption_algorithm: key_algorithm,
            encrypted_data: OctetString::new(key_ciphertext)?,
        })?,
        bag_attributes: Some(attributes),
    };
    let key_info = data_content_info(vec![key_bag].to_der()?)?;

    let auth_safe = vec![certs_info, key_info].to_der()?;

    let (mac_hash, salt_len) = match profile {
        Pkcs12Profile::Modern => (MacHash::Sha256, 16),
        // 8 bytes is what Windows and OpenSSL write; some old importers assume it.
        Pkcs12Profile::Legacy => (MacHash::Sha1, 8),
    };
    let mut mac_salt = vec![0u8; salt_len];
    rng.fill_bytes(&mut mac_salt);
    let mac_data = mac::create(mac_hash, password, &mac_salt, ITERATIONS, &auth_safe)?;

    Ok(Pfx {
        version: 3,
        auth_safe: data_content_info(auth_safe)?,
        mac_data: Some(mac_data),
    }
    .to_der()?)
}

fn encrypt<R: CryptoRng + ?Sized>(
    profile: Pkcs12Profile,
    password: &str,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<(spki::AlgorithmIdentifierOwned, Vec<u8>), Pkcs12Error> {
    match profile {
        Pkcs12Profile::Modern => pbe::encrypt_pbes2_aes256(password, plaintext, ITERATIONS, rng),
        Pkcs12Profile::Legacy => pbe::encrypt_pkcs12_3des(password, plaintext, ITERATIONS, rng),
    }
}

fn data_content_info(content: Vec<u8>) -> Result<ContentInfo, Pkcs12Error> {
    Ok(ContentInfo {
        content_type: rfc5911::ID_DATA,
        content: Any::encode_from(&OctetString::new(content)?)?,
    })
}

fn cert_bag(
    cert_der: &[u8],
    attributes: Option<SetOfVec<Attribute>>,
) -> Result<SafeBag, Pkcs12Error> {
    Ok(SafeBag {
        bag_id: oid::CERT_BAG,
        bag_value: Any::encode_from(&CertBag {
            cert_id: oid::X509_CERTIFICATE,
            cert_value: OctetString::new(cert_der.to_vec())?,
        })?,
        bag_attributes: attributes,
    })
}

fn identity_attributes(
    local_key_id: &[u8],
    friendly_name: Option<&str>,
) -> Result<SetOfVec<Attribute>, Pkcs12Error> {
    let mut attributes = SetOfVec::new();
    if let Some(name) = friendly_name {
        let bmp = BmpString::from_utf8(name).map_err(|_| Pkcs12Error::InvalidInput {
            what: "friendly name",
            detail: format!(
                "{name:?} has characters outside the Basic Multilingual Plane, which a \
                 BMPString cannot hold"
            ),
        })?;
        attributes.insert(attribute(
            rfc2985::PKCS_9_AT_FRIENDLY_NAME,
            Any::encode_from(&bmp)?,
        )?)?;
    }
    attributes.insert(attribute(
        rfc2985::PKCS_9_AT_LOCAL_KEY_ID,
        Any::encode_from(&OctetString::new(local_key_id.to_vec())?)?,
    )?)?;
    Ok(attributes)
}

fn attribute(oid: const_oid::ObjectIdentifier, value: Any) -> Result<Attribute, Pkcs12Error> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}
