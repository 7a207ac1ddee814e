//! What `smime-lab pkcs12 inspect` shows: a serializable description of a read PKCS#12 file, with
//! certificate subjects and thumbprints and whether each key matches its certificate, and no key
//! material at all.

use const_oid::db::{rfc5912, rfc8410};
use der::Decode;
use der::asn1::ObjectIdentifier;
use serde::Serialize;

use crate::certificate::CertificateSummary;

use super::{
    AlgorithmUse, EncryptedPart, Pkcs12Contents, Pkcs12Error, algorithm_name, public_key_matches,
};

/// A PKCS#12 file described for people and reports. Holds no private key bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pkcs12Summary {
    /// True when a SHA-1 MAC, 3DES or RC2 is used anywhere.
    pub legacy: bool,
    /// The MAC, if the file has one.
    pub mac: Option<AlgorithmSummary>,
    /// The encryption of each encrypted part, in file order.
    pub encryption: Vec<EncryptionSummary>,
    /// The identity's friendly name.
    pub friendly_name: Option<String>,
    /// Certificates, the identity's first.
    pub certificates: Vec<CertificateSummary>,
    /// Private keys, in file order.
    pub keys: Vec<KeySummary>,
    /// Bag types present but not read, by name.
    pub ignored_bags: Vec<String>,
}

/// An algorithm and its iteration count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlgorithmSummary {
    /// E.g. `PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC)`.
    pub algorithm: String,
    /// Dotted OID.
    pub oid: String,
    /// Key-derivation iterations.
    pub iterations: u32,
    /// SHA-1 MAC, 3DES or RC2.
    pub legacy: bool,
}

/// The encryption of one part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EncryptionSummary {
    /// `certificates` (an encrypted SafeContents) or `private key`.
    pub part: &'static str,
    /// How it is encrypted.
    #[serde(flatten)]
    pub algorithm: AlgorithmSummary,
}

/// One private key, described without its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeySummary {
    /// E.g. `RSA 2048`, `EC P-256`, `Ed25519`.
    pub algorithm: String,
    /// The `friendlyName` attribute.
    pub friendly_name: Option<String>,
    /// The `localKeyId` attribute in upper-case hex.
    pub local_key_id: Option<String>,
    /// Index into `certificates` of the key's certificate.
    pub certificate: Option<usize>,
    /// Whether the key's public half is the certificate's.
    pub matches_certificate: KeyMatch,
}

/// The outcome of comparing a key with its certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "detail")]
pub enum KeyMatch {
    /// The public keys are equal.
    Yes,
    /// The key belongs to another certificate: a finding.
    No,
    /// No certificate in the file goes with this key.
    NoCertificate,
    /// The comparison is not implemented for this algorithm (the text says which).
    Unknown(String),
}

impl Pkcs12Summary {
    /// True when some key was compared with its certificate and does not match.
    #[must_use]
    pub fn has_mismatched_key(&self) -> bool {
        self.keys
            .iter()
            .any(|key| key.matches_certificate == KeyMatch::No)
    }
}

/// Describe `contents` without any key material.
#[must_use]
pub fn summarize(contents: &Pkcs12Contents) -> Pkcs12Summary {
    Pkcs12Summary {
        legacy: contents.protection.is_legacy(),
        mac: contents.protection.mac.as_ref().map(algorithm_summary),
        encryption: contents
            .protection
            .encryption
            .iter()
            .map(|part| EncryptionSummary {
                part: match part.part {
                    EncryptedPart::SafeContents => "certificates",
                    EncryptedPart::PrivateKey => "private key",
                },
                algorithm: algorithm_summary(&part.algorithm),
            })
            .collect(),
        friendly_name: contents.friendly_name.clone(),
        certificates: contents
            .certificates
            .iter()
            .map(|der| certificate_summary(der))
            .collect(),
        keys: contents
            .keys
            .iter()
            .map(|key| {
                let cert = key
                    .certificate_index
                    .and_then(|index| contents.certificates.get(index));
                KeySummary {
                    algorithm: key_algorithm(&key.pkcs8_der),
                    friendly_name: key.friendly_name.clone(),
                    local_key_id: key.local_key_id.as_ref().map(hex::encode_upper),
                    certificate: key.certificate_index,
                    matches_certificate: match cert
                        .map(|cert| public_key_matches(&key.pkcs8_der, cert))
                    {
                        None => KeyMatch::NoCertificate,
                        Some(Ok(true)) => KeyMatch::Yes,
                        Some(Ok(false)) => KeyMatch::No,
                        Some(Err(Pkcs12Error::UnsupportedAlgorithm { name, .. })) => {
                            KeyMatch::Unknown(format!("comparing {name} keys is not implemented"))
                        }
                        Some(Err(other)) => KeyMatch::Unknown(other.to_string()),
                    },
                }
            })
            .collect(),
        ignored_bags: contents.ignored_bags.iter().map(algorithm_name).collect(),
    }
}

fn algorithm_summary(algorithm: &AlgorithmUse) -> AlgorithmSummary {
    AlgorithmSummary {
        algorithm: algorithm.name.clone(),
        oid: algorithm.oid.to_string(),
        iterations: algorithm.iterations,
        legacy: algorithm.legacy,
    }
}

fn certificate_summary(der: &[u8]) -> CertificateSummary {
    match x509_cert::Certificate::from_der(der) {
        Ok(cert) => CertificateSummary::of_der(&cert, der),
        Err(error) => CertificateSummary::unparseable(der, error),
    }
}

/// `RSA 2048`, `EC P-256`, `Ed25519`, ... from a PKCS#8 key.
fn key_algorithm(pkcs8_der: &[u8]) -> String {
    let Ok(info) = pkcs8::PrivateKeyInfoRef::from_der(pkcs8_der) else {
        return "(not PKCS#8)".into();
    };
    let oid = info.algorithm.oid;
    if oid == rfc5912::RSA_ENCRYPTION || oid == rfc5912::ID_RSASSA_PSS {
        let bits = pkcs1::RsaPrivateKeyRef::from_der(info.private_key.as_bytes())
            .map(|key| {
                let modulus = key.modulus.as_bytes();
                let leading = modulus
                    .first()
                    .map_or(8, |byte| byte.leading_zeros() as usize);
                (modulus.len() * 8).saturating_sub(leading)
            })
            .unwrap_or(0);
        let name = if oid == rfc5912::ID_RSASSA_PSS {
            "RSA-PSS"
        } else {
            "RSA"
        };
        return format!("{name} {bits}");
    }
    if oid == rfc5912::ID_EC_PUBLIC_KEY {
        let curve = info
            .algorithm
            .parameters
            .and_then(|params| params.decode_as::<ObjectIdentifier>().ok());
        return match curve {
            Some(rfc5912::SECP_256_R_1) => "EC P-256".into(),
            Some(rfc5912::SECP_384_R_1) => "EC P-384".into(),
            Some(rfc5912::SECP_521_R_1) => "EC P-521".into(),
            Some(other) => format!("EC {}", algorithm_name(&other)),
            None => "EC".into(),
        };
    }
    match oid {
        rfc8410::ID_ED_25519 => "Ed25519".into(),
        rfc8410::ID_ED_448 => "Ed448".into(),
        rfc8410::ID_X_25519 => "X25519".into(),
        rfc8410::ID_X_448 => "X448".into(),
        other => algorithm_name(&other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pkcs12::read_pkcs12;
    use test_support::vector;

    #[test]
    fn a_key_paired_with_a_foreign_certificate_is_a_finding() {
        let pem = |name| der::pem::decode_vec(&vector(name)).unwrap().1;
        let key = pem("rfc9216/alice.sign.key");
        let contents = Pkcs12Contents {
            private_key_pkcs8_der: Some(key.clone()),
            certificates: vec![pem("rfc9216/bob.sign.crt")],
            friendly_name: None,
            keys: vec![crate::pkcs12::Pkcs12Key {
                pkcs8_der: key,
                local_key_id: None,
                friendly_name: None,
                certificate_index: Some(0),
            }],
            protection: crate::pkcs12::Pkcs12Protection::default(),
            ignored_bags: Vec::new(),
        };
        let summary = summarize(&contents);
        assert_eq!(summary.keys[0].matches_certificate, KeyMatch::No);
        assert!(summary.has_mismatched_key());
    }

    #[test]
    fn summary_of_an_rfc9216_file() {
        let bytes = vector("rfc9216/carlos.p12");
        let summary = summarize(&read_pkcs12(&bytes, "carlos").unwrap());
        assert!(summary.legacy);
        assert_eq!(summary.certificates.len(), 3);
        assert_eq!(
            summary.certificates[0].subject,
            "CN=Carlos Turing,OU=LAMPS WG,O=IETF"
        );
        assert_eq!(summary.certificates[0].thumbprint.len(), 40);
        let algorithms: Vec<_> = summary.keys.iter().map(|k| k.algorithm.as_str()).collect();
        assert_eq!(algorithms, ["X25519", "Ed25519"]);
        assert!(matches!(
            summary.keys[0].matches_certificate,
            KeyMatch::Unknown(_)
        ));
        assert!(!summary.has_mismatched_key());
        let json = serde_json::to_string(&summary).unwrap();
        assert!(
            json.contains(r#""matches_certificate":{"result":"unknown","detail":"#),
            "{json}"
        );
    }
}
