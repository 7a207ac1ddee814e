//! Reading a PFX: verify the MAC, decrypt the parts, collect keys and certificates.

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc2985, rfc5911};
use der::asn1::{AnyRef, OctetString};
use der::{Decode, Encode, Tag, Tagged};
use x509_cert::attr::Attribute;

use super::asn1::{CertBag, EncryptedData, EncryptedPrivateKeyInfo, Pfx, SafeBag, oid};
use super::pbe::{self, DecryptError};
use super::{
    EncryptedPart, EncryptionUse, KdfBudget, Pkcs12Contents, Pkcs12Error, Pkcs12Key,
    Pkcs12Protection, mac, public_key_matches,
};
use crate::ber;

/// A safeContentsBag may nest SafeContents; real files never go deeper than one level.
const MAX_BAG_NESTING: usize = 4;

/// Read a PKCS#12 file (DER, BER, or PEM with the `PKCS12` label) with `password`.
///
/// The MAC is verified first, so a wrong password is [`Pkcs12Error::WrongPassword`] before any
/// decryption is tried. A file without a MAC reports a wrong password as
/// [`Pkcs12Error::DecryptionFailed`]; [`Pkcs12Error::is_wrong_password`] covers both.
///
/// # Errors
/// [`Pkcs12Error::WrongPassword`] / [`Pkcs12Error::DecryptionFailed`] for a wrong password,
/// [`Pkcs12Error::UnsupportedAlgorithm`] naming the OID of an algorithm not implemented here,
/// [`Pkcs12Error::UnsupportedStructure`] for public-key integrity or privacy modes, and
/// [`Pkcs12Error::Malformed`] naming the structure that did not decode.
pub fn read_pkcs12(bytes: &[u8], password: &str) -> Result<Pkcs12Contents, Pkcs12Error> {
    read(bytes, password, true, &KdfBudget::unlimited())
}

/// [`read_pkcs12`] charging every key derivation to `budget` before it runs.
///
/// # Errors
/// As [`read_pkcs12`], and [`Pkcs12Error::KdfBudgetExceeded`] when a derivation would take
/// `budget` over its limit.
pub fn read_pkcs12_within(
    bytes: &[u8],
    password: &str,
    budget: &KdfBudget,
) -> Result<Pkcs12Contents, Pkcs12Error> {
    read(bytes, password, true, budget)
}

/// `verify_mac: false` exists for the robustness tests, which need damaged bytes to reach the
/// decoders behind the MAC.
pub(crate) fn read(
    bytes: &[u8],
    password: &str,
    verify_mac: bool,
    budget: &KdfBudget,
) -> Result<Pkcs12Contents, Pkcs12Error> {
    let pem_decoded;
    let trimmed = bytes.trim_ascii_start();
    let bytes = if trimmed.starts_with(b"-----BEGIN") {
        let (label, der) = der::pem::decode_vec(trimmed)
            .map_err(|e| Pkcs12Error::malformed("the PEM armour", e))?;
        if label != "PKCS12" {
            return Err(Pkcs12Error::malformed(
                "the PEM armour",
                format!("label is {label:?}, expected \"PKCS12\""),
            ));
        }
        pem_decoded = der;
        pem_decoded.as_slice()
    } else {
        bytes
    };

    let pfx: Pfx = decode_ber(bytes, "the PFX")?;
    if pfx.version != 3 {
        return Err(Pkcs12Error::UnsupportedStructure(format!(
            "PFX version {} (only version 3 exists)",
            pfx.version
        )));
    }
    match pfx.auth_safe.content_type {
        rfc5911::ID_DATA => {}
        rfc5911::ID_SIGNED_DATA => {
            return Err(Pkcs12Error::UnsupportedStructure(
                "public-key integrity mode (authSafe is signedData); only password integrity \
                 (a MAC) is supported"
                    .into(),
            ));
        }
        other => {
            return Err(Pkcs12Error::UnsupportedStructure(format!(
                "authSafe content type {other}, expected id-data"
            )));
        }
    }
    let auth_safe_bytes = octet_string_content(&pfx.auth_safe.content, "the authSafe content")?;

    let mut protection = Pkcs12Protection::default();
    let mac_verified = match (&pfx.mac_data, verify_mac) {
        (Some(mac_data), true) => {
            protection.mac = Some(mac::verify(mac_data, password, &auth_safe_bytes, budget)?);
            true
        }
        _ => false,
    };

    let content_infos: Vec<cms::content_info::ContentInfo> =
        decode_ber(&auth_safe_bytes, "the AuthenticatedSafe")?;
    let mut reader = BagReader {
        password,
        budget,
        mac_verified,
        certs: Vec::new(),
        keys: Vec::new(),
        ignored: Vec::new(),
        protection,
    };
    for (index, content_info) in content_infos.iter().enumerate() {
        let location = format!("SafeContents {index}");
        let safe_contents_bytes = match content_info.content_type {
            rfc5911::ID_DATA => octet_string_content(&content_info.content, &location)?,
            rfc5911::ID_ENCRYPTED_DATA => reader.decrypt_content_info(content_info, &location)?,
            rfc5911::ID_ENVELOPED_DATA => {
                return Err(Pkcs12Error::UnsupportedStructure(format!(
                    "{location} uses public-key privacy mode (envelopedData); only password \
                     privacy is supported"
                )));
            }
            other => {
                return Err(Pkcs12Error::UnsupportedStructure(format!(
                    "{location} has content type {other}, expected id-data or id-encryptedData"
                )));
            }
        };
        let encrypted = content_info.content_type == rfc5911::ID_ENCRYPTED_DATA;
        reader.read_safe_contents(&safe_contents_bytes, &location, encrypted, 0)?;
    }
    Ok(reader.finish())
}

/// Normalise BER to DER, then decode `T`; errors name `location`.
fn decode_ber<T: for<'a> Decode<'a, Error = der::Error>>(
    bytes: &[u8],
    location: &str,
) -> Result<T, Pkcs12Error> {
    let der = ber::to_der(bytes).map_err(|e| Pkcs12Error::malformed(location, e))?;
    T::from_der(&der).map_err(|e| Pkcs12Error::malformed(location, e))
}

/// The contents of an `[0] EXPLICIT OCTET STRING` content field.
fn octet_string_content(content: &der::asn1::Any, location: &str) -> Result<Vec<u8>, Pkcs12Error> {
    content
        .decode_as::<OctetString>()
        .map(|octets| octets.into_bytes().into_vec())
        .map_err(|e| Pkcs12Error::malformed(location, e))
}

/// What the bags of one SafeContents said about a certificate.
struct CertEntry {
    der: Vec<u8>,
    local_key_id: Option<Vec<u8>>,
    friendly_name: Option<String>,
}

struct BagReader<'p> {
    password: &'p str,
    budget: &'p KdfBudget,
    mac_verified: bool,
    certs: Vec<CertEntry>,
    keys: Vec<Pkcs12Key>,
    ignored: Vec<ObjectIdentifier>,
    protection: Pkcs12Protection,
}

impl BagReader<'_> {
    fn decrypt(
        &mut self,
        algorithm: &spki::AlgorithmIdentifierOwned,
        ciphertext: &[u8],
        part: EncryptedPart,
        location: &str,
    ) -> Result<Vec<u8>, Pkcs12Error> {
        match pbe::decrypt(algorithm, self.password, ciphertext, location, self.budget) {
            Ok((plaintext, algorithm)) => {
                self.protection
                    .encryption
                    .push(EncryptionUse { part, algorithm });
                Ok(plaintext)
            }
            Err(DecryptError::BadPadding) => Err(self.decryption_failed(location)),
            Err(DecryptError::Other(error)) => Err(error),
        }
    }

    fn decryption_failed(&self, location: &str) -> Pkcs12Error {
        Pkcs12Error::DecryptionFailed {
            part: location.to_string(),
            mac_verified: self.mac_verified,
        }
    }

    fn decrypt_content_info(
        &mut self,
        content_info: &cms::content_info::ContentInfo,
        location: &str,
    ) -> Result<Vec<u8>, Pkcs12Error> {
        let encrypted: EncryptedData = content_info
            .content
            .decode_as()
            .map_err(|e| Pkcs12Error::malformed(format!("{location} (encryptedData)"), e))?;
        let info = encrypted.encrypted_content_info;
        let ciphertext = info.encrypted_content.ok_or_else(|| {
            Pkcs12Error::malformed(
                format!("{location} (encryptedData)"),
                "encryptedContent is absent",
            )
        })?;
        self.decrypt(
            &info.content_encryption_algorithm,
            &ciphertext,
            EncryptedPart::SafeContents,
            location,
        )
    }

    fn read_safe_contents(
        &mut self,
        bytes: &[u8],
        location: &str,
        decrypted: bool,
        depth: usize,
    ) -> Result<(), Pkcs12Error> {
        let bags: Vec<SafeBag> = match decode_ber(bytes, location) {
            Ok(bags) => bags,
            // Garbage after decryption means the key was wrong, unless the MAC vouched for it.
            Err(_) if decrypted && !self.mac_verified => {
                return Err(self.decryption_failed(location));
            }
            Err(error) => return Err(error),
        };
        for (index, bag) in bags.iter().enumerate() {
            let location = format!("{location}, bag {index}");
            self.read_bag(bag, &location, decrypted, depth)?;
        }
        Ok(())
    }

    fn read_bag(
        &mut self,
        bag: &SafeBag,
        location: &str,
        decrypted: bool,
        depth: usize,
    ) -> Result<(), Pkcs12Error> {
        let (local_key_id, friendly_name) = bag_attributes(bag.bag_attributes.as_ref());
        match bag.bag_id {
            oid::KEY_BAG => {
                let location = format!("{location} (keyBag)");
                let pkcs8_der = bag.bag_value.to_der()?;
                if pkcs8::PrivateKeyInfoRef::from_der(&pkcs8_der).is_err() {
                    return Err(if decrypted && !self.mac_verified {
                        self.decryption_failed(&location)
                    } else {
                        Pkcs12Error::malformed(location, "not a PKCS#8 PrivateKeyInfo")
                    });
                }
                self.keys.push(Pkcs12Key {
                    pkcs8_der,
                    local_key_id,
                    friendly_name,
                    certificate_index: None,
                });
            }
            oid::PKCS8_SHROUDED_KEY_BAG => {
                let location = format!("{location} (pkcs8ShroudedKeyBag)");
                let shrouded: EncryptedPrivateKeyInfo = bag
                    .bag_value
                    .decode_as()
                    .map_err(|e| Pkcs12Error::malformed(location.as_str(), e))?;
                let plaintext = self.decrypt(
                    &shrouded.encryption_algorithm,
                    shrouded.encrypted_data.as_bytes(),
                    EncryptedPart::PrivateKey,
                    &location,
                )?;
                // The plaintext is a PrivateKeyInfo; some producers write it in BER.
                let pkcs8_der = match ber::to_der(&plaintext) {
                    Ok(der) if pkcs8::PrivateKeyInfoRef::from_der(&der).is_ok() => der,
                    _ if self.mac_verified => {
                        return Err(Pkcs12Error::malformed(
                            location,
                            "the decrypted key is not a PKCS#8 PrivateKeyInfo",
                        ));
                    }
                    _ => return Err(self.decryption_failed(&location)),
                };
                self.keys.push(Pkcs12Key {
                    pkcs8_der,
                    local_key_id,
                    friendly_name,
                    certificate_index: None,
                });
            }
            oid::CERT_BAG => {
                let location = format!("{location} (certBag)");
                let cert_bag: CertBag = bag
                    .bag_value
                    .decode_as()
                    .map_err(|e| Pkcs12Error::malformed(location.as_str(), e))?;
                if cert_bag.cert_id != oid::X509_CERTIFICATE {
                    self.ignored.push(cert_bag.cert_id);
                    return Ok(());
                }
                let der = cert_bag.cert_value.into_bytes().into_vec();
                // Check the outline only: one odd certificate (negative serial, say) should not
                // make the whole file unreadable; callers parse certificates with their own rules.
                match AnyRef::from_der(&der) {
                    Ok(any) if any.tag() == Tag::Sequence => {}
                    _ => {
                        return Err(Pkcs12Error::malformed(
                            location,
                            "the certificate is not a DER SEQUENCE",
                        ));
                    }
                }
                self.certs.push(CertEntry {
                    der,
                    local_key_id,
                    friendly_name,
                });
            }
            oid::SAFE_CONTENTS_BAG => {
                if depth >= MAX_BAG_NESTING {
                    return Err(Pkcs12Error::malformed(
                        location,
                        "safeContentsBag nested too deeply",
                    ));
                }
                let nested = bag.bag_value.to_der()?;
                self.read_safe_contents(
                    &nested,
                    &format!("{location} (safeContentsBag)"),
                    decrypted,
                    depth + 1,
                )?;
            }
            other => self.ignored.push(other),
        }
        Ok(())
    }

    /// Pair keys with certificates and put the identity's certificate first.
    fn finish(mut self) -> Pkcs12Contents {
        let mut pairs: Vec<Option<usize>> = self
            .keys
            .iter()
            .map(|key| {
                key.local_key_id.as_ref().and_then(|id| {
                    self.certs
                        .iter()
                        .position(|cert| cert.local_key_id.as_ref() == Some(id))
                })
            })
            .collect();
        // No localKeyId match (some Java and BouncyCastle files carry none): compare public keys.
        for (key, pair) in self.keys.iter().zip(pairs.iter_mut()) {
            if pair.is_none() {
                *pair = self.certs.iter().position(|cert| {
                    public_key_matches(&key.pkcs8_der, &cert.der).unwrap_or(false)
                });
            }
        }

        let primary = pairs
            .iter()
            .position(Option::is_some)
            .or(if self.keys.is_empty() { None } else { Some(0) });
        let primary_cert = primary.and_then(|key| pairs.get(key).copied().flatten());

        // New order: the identity's certificate, then the others as they came.
        let mut order: Vec<usize> = primary_cert.into_iter().collect();
        order.extend((0..self.certs.len()).filter(|index| Some(*index) != primary_cert));
        let new_index = |old: usize| order.iter().position(|candidate| *candidate == old);

        for (key, pair) in self.keys.iter_mut().zip(&pairs) {
            key.certificate_index = pair.and_then(new_index);
        }
        let friendly_name = primary.and_then(|key| {
            self.keys
                .get(key)
                .and_then(|key| key.friendly_name.clone())
                .or_else(|| {
                    primary_cert
                        .and_then(|cert| self.certs.get(cert))
                        .and_then(|cert| cert.friendly_name.clone())
                })
        });
        let private_key_pkcs8_der =
            primary.and_then(|key| self.keys.get(key).map(|key| key.pkcs8_der.clone()));
        let mut certs: Vec<Option<CertEntry>> = self.certs.into_iter().map(Some).collect();
        let certificates = order
            .iter()
            .filter_map(|old| certs.get_mut(*old).and_then(Option::take))
            .map(|cert| cert.der)
            .collect();

        Pkcs12Contents {
            private_key_pkcs8_der,
            certificates,
            friendly_name,
            keys: self.keys,
            protection: self.protection,
            ignored_bags: self.ignored,
        }
    }
}

/// `localKeyId` and `friendlyName`, read leniently: a malformed attribute is ignored rather than
/// making the key unreadable, since neither is needed to use the key.
fn bag_attributes(
    attributes: Option<&der::asn1::SetOfVec<Attribute>>,
) -> (Option<Vec<u8>>, Option<String>) {
    let mut local_key_id = None;
    let mut friendly_name = None;
    for attribute in attributes.into_iter().flat_map(|set| set.iter()) {
        let Some(value) = attribute.values.iter().next() else {
            continue;
        };
        match attribute.oid {
            rfc2985::PKCS_9_AT_LOCAL_KEY_ID => {
                local_key_id = value
                    .decode_as::<OctetString>()
                    .ok()
                    .map(|octets| octets.into_bytes().into_vec());
            }
            rfc2985::PKCS_9_AT_FRIENDLY_NAME => {
                friendly_name = match value.tag() {
                    // BMPString is what RFC 7292 specifies; decode UTF-16 leniently (Windows has
                    // been seen writing surrogate pairs, which der's BmpString refuses).
                    Tag::BmpString => {
                        let units = value
                            .value()
                            .chunks_exact(2)
                            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
                        Some(
                            char::decode_utf16(units)
                                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                                .collect(),
                        )
                    }
                    Tag::Utf8String => std::str::from_utf8(value.value()).ok().map(str::to_string),
                    _ => None,
                };
            }
            _ => {}
        }
    }
    (local_key_id, friendly_name)
}
