//! `OWAEncryptionAlgorithms` / `OWASigningAlgorithms` strings: CryptoAPI `ALG_ID`s in hex,
//! `;`-separated in priority order, each `<ALG_ID>`, `<ALG_ID>:<key bits>` or
//! `<ALG_ID>,<custom OID>` (Set-SmimeConfig documentation).
//!
//! Exchange itself stores whatever string it is given (the decompiled `SetSmimeConfig` task
//! copies it into the configuration XML unchecked) and Outlook on the web falls back to the
//! default when the string "is not formatted correctly". So the tenant warns by default and
//! refuses only with `--strict-algorithms`; the lab uses [`parse`] to say which algorithm a
//! client will really use.

use const_oid::ObjectIdentifier;

/// Which of the two parameters a string belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgorithmKind {
    Encryption,
    Signing,
}

impl AlgorithmKind {
    /// The parameter name.
    pub fn parameter(self) -> &'static str {
        match self {
            Self::Encryption => "OWAEncryptionAlgorithms",
            Self::Signing => "OWASigningAlgorithms",
        }
    }

    /// What Outlook on the web uses when the string is absent or malformed.
    pub fn default_value(self) -> &'static str {
        match self {
            Self::Encryption => "6610",
            Self::Signing => "8004",
        }
    }
}

/// A known algorithm id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownAlgorithm {
    pub alg_id: u16,
    /// wincrypt.h name, e.g. `CALG_AES_256`.
    pub calg: &'static str,
    pub description: &'static str,
    /// Considered weak today (DES, RC2, 3DES, MD5, SHA-1).
    pub weak: bool,
}

const ENCRYPTION: &[KnownAlgorithm] = &[
    KnownAlgorithm {
        alg_id: 0x6601,
        calg: "CALG_DES",
        description: "DES (56-bit)",
        weak: true,
    },
    KnownAlgorithm {
        alg_id: 0x6602,
        calg: "CALG_RC2",
        description: "RC2 (40, 56, 64 or 128-bit)",
        weak: true,
    },
    KnownAlgorithm {
        alg_id: 0x6603,
        calg: "CALG_3DES",
        description: "3DES (168-bit)",
        weak: true,
    },
    KnownAlgorithm {
        alg_id: 0x660E,
        calg: "CALG_AES_128",
        description: "AES-128",
        weak: false,
    },
    KnownAlgorithm {
        alg_id: 0x660F,
        calg: "CALG_AES_192",
        description: "AES-192",
        weak: false,
    },
    KnownAlgorithm {
        alg_id: 0x6610,
        calg: "CALG_AES_256",
        description: "AES-256",
        weak: false,
    },
];

const SIGNING: &[KnownAlgorithm] = &[
    KnownAlgorithm {
        alg_id: 0x8003,
        calg: "CALG_MD5",
        description: "MD5",
        weak: true,
    },
    KnownAlgorithm {
        alg_id: 0x8004,
        calg: "CALG_SHA1",
        description: "SHA-1",
        weak: true,
    },
    KnownAlgorithm {
        alg_id: 0x800C,
        calg: "CALG_SHA_256",
        description: "SHA-256",
        weak: false,
    },
    KnownAlgorithm {
        alg_id: 0x800D,
        calg: "CALG_SHA_384",
        description: "SHA-384",
        weak: false,
    },
    KnownAlgorithm {
        alg_id: 0x800E,
        calg: "CALG_SHA_512",
        description: "SHA-512",
        weak: false,
    },
];

/// RC2 key lengths the documentation lists as supported.
pub const RC2_KEY_BITS: &[u16] = &[40, 56, 64, 128];

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgorithmEntry {
    pub algorithm: KnownAlgorithm,
    /// For RC2 (`6602:128`).
    pub key_bits: Option<u16>,
    /// A third-party CSP's replacement OID (`6603,1.2.3.4`).
    pub custom_oid: Option<ObjectIdentifier>,
}

/// Why a string is not a valid list; `entry` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlgorithmError {
    #[error("{parameter} is empty; leave it unset to use the default {default}")]
    Empty {
        parameter: &'static str,
        default: &'static str,
    },
    #[error("{parameter} entry {entry} ('{text}') is empty: remove the extra ';'")]
    EmptyEntry {
        parameter: &'static str,
        entry: usize,
        text: String,
    },
    #[error(
        "{parameter} entry {entry} ('{text}') is not a hexadecimal ALG_ID; expected one of {known}"
    )]
    NotHex {
        parameter: &'static str,
        entry: usize,
        text: String,
        known: String,
    },
    #[error(
        "{parameter} entry {entry}: ALG_ID {id} is not a {kind} algorithm Outlook on the web \
         knows; expected one of {known}"
    )]
    Unknown {
        parameter: &'static str,
        entry: usize,
        id: String,
        kind: &'static str,
        known: String,
    },
    #[error(
        "{parameter} entry {entry} ('{text}'): a key length is only meaningful for RC2 (6602) \
         and must be one of 40, 56, 64, 128"
    )]
    BadKeyLength {
        parameter: &'static str,
        entry: usize,
        text: String,
    },
    #[error("{parameter} entry {entry} ('{text}'): the custom OID after ',' is not a dotted OID")]
    BadOid {
        parameter: &'static str,
        entry: usize,
        text: String,
    },
}

fn known_list(table: &[KnownAlgorithm]) -> String {
    table
        .iter()
        .map(|a| format!("{:04X} ({})", a.alg_id, a.description))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a list in priority order.
pub fn parse(kind: AlgorithmKind, text: &str) -> Result<Vec<AlgorithmEntry>, AlgorithmError> {
    let parameter = kind.parameter();
    let table = match kind {
        AlgorithmKind::Encryption => ENCRYPTION,
        AlgorithmKind::Signing => SIGNING,
    };
    if text.trim().is_empty() {
        return Err(AlgorithmError::Empty {
            parameter,
            default: kind.default_value(),
        });
    }
    let mut entries = Vec::new();
    for (index, raw) in text.split(';').enumerate() {
        let entry = index.saturating_add(1);
        let item = raw.trim();
        if item.is_empty() {
            return Err(AlgorithmError::EmptyEntry {
                parameter,
                entry,
                text: text.to_owned(),
            });
        }
        let (id_text, key_bits, oid_text) = if let Some((id, oid)) = item.split_once(',') {
            (id.trim(), None, Some(oid.trim()))
        } else if let Some((id, bits)) = item.split_once(':') {
            (id.trim(), Some(bits.trim()), None)
        } else {
            (item, None, None)
        };
        let id = u16::from_str_radix(id_text, 16)
            .ok()
            .filter(|_| id_text.len() <= 4 && id_text.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| AlgorithmError::NotHex {
                parameter,
                entry,
                text: item.to_owned(),
                known: known_list(table),
            })?;
        let algorithm = table
            .iter()
            .find(|a| a.alg_id == id)
            .copied()
            .ok_or_else(|| AlgorithmError::Unknown {
                parameter,
                entry,
                id: format!("{id:04X}"),
                kind: match kind {
                    AlgorithmKind::Encryption => "encryption",
                    AlgorithmKind::Signing => "signing",
                },
                known: known_list(table),
            })?;
        let key_bits = match key_bits {
            None => None,
            Some(bits) => {
                let bits = bits
                    .parse::<u16>()
                    .ok()
                    .filter(|b| algorithm.alg_id == 0x6602 && RC2_KEY_BITS.contains(b))
                    .ok_or_else(|| AlgorithmError::BadKeyLength {
                        parameter,
                        entry,
                        text: item.to_owned(),
                    })?;
                Some(bits)
            }
        };
        let custom_oid = match oid_text {
            None => None,
            Some(oid) => Some(
                ObjectIdentifier::new(oid).map_err(|_| AlgorithmError::BadOid {
                    parameter,
                    entry,
                    text: item.to_owned(),
                })?,
            ),
        };
        entries.push(AlgorithmEntry {
            algorithm,
            key_bits,
            custom_oid,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples_parse() {
        let list = parse(
            AlgorithmKind::Encryption,
            "6603;6602:128;6602:64;6601;6602:56",
        )
        .unwrap();
        assert_eq!(list.len(), 5);
        assert_eq!(list[1].key_bits, Some(128));
        assert_eq!(
            parse(AlgorithmKind::Signing, "800E;8004;8003")
                .unwrap()
                .len(),
            3
        );
        let custom = parse(AlgorithmKind::Encryption, "6603,1.2.840.113549.3.7").unwrap();
        assert!(custom[0].custom_oid.is_some());
        assert_eq!(
            parse(AlgorithmKind::Encryption, "660e").unwrap()[0]
                .algorithm
                .alg_id,
            0x660E
        );
    }

    #[test]
    fn malformed_strings_say_what_is_wrong() {
        assert!(matches!(
            parse(AlgorithmKind::Encryption, "AES256"),
            Err(AlgorithmError::NotHex { entry: 1, .. })
        ));
        assert!(matches!(
            parse(AlgorithmKind::Encryption, "8004"),
            Err(AlgorithmError::Unknown { .. })
        ));
        assert!(matches!(
            parse(AlgorithmKind::Signing, "6610"),
            Err(AlgorithmError::Unknown { .. })
        ));
        assert!(matches!(
            parse(AlgorithmKind::Encryption, "6610;"),
            Err(AlgorithmError::EmptyEntry { entry: 2, .. })
        ));
        assert!(matches!(
            parse(AlgorithmKind::Encryption, "6610:256"),
            Err(AlgorithmError::BadKeyLength { .. })
        ));
        assert!(matches!(
            parse(AlgorithmKind::Encryption, "6602:100"),
            Err(AlgorithmError::BadKeyLength { .. })
        ));
        assert!(matches!(
            parse(AlgorithmKind::Encryption, "6603,notanoid"),
            Err(AlgorithmError::BadOid { .. })
        ));
        assert!(matches!(
            parse(AlgorithmKind::Encryption, " "),
            Err(AlgorithmError::Empty { .. })
        ));
        assert!(parse(AlgorithmKind::Encryption, "066100").is_err());
    }
}
