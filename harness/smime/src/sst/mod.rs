//! The Microsoft serialized certificate store (.sst), as imported by
//! `Set-SmimeConfig -SMIMECertificateIssuingCA` (step 2, the virtual certificate collection).
//!
//! Layout, little-endian `u32` throughout:
//!
//! ```text
//! 00000000 43455254                      header: a zero u32, then "CERT"
//! { u32 id; u32 encodingType = 1; u32 length; [u8; length] }   elements
//! 00000000 00000000 00000000             end: an element with id 0
//! ```
//!
//! Element ids: `0x20` a DER certificate, `0x21` a CRL, `0x22` a CTL; every other id up to
//! `0xFFFF` is a property (friendly name, cached hashes, key provider info ...) of the
//! certificate, CRL or CTL element that *follows* it. We write the minimal form that Windows'
//! `CertSaveStore(CERT_STORE_SAVE_AS_STORE)` writes for a store without properties, and read any
//! property, reporting its id and skipping its value.
//!
//! The format has no public specification; this follows Wine's crypt32 (`serialize.c`), which
//! interoperates with Windows, and its golden vector: one 124-byte certificate gives a 156-byte
//! store. [`collection`] detects the format of a file and also accepts PKCS#7 (.p7b: a
//! different format, which Exchange's .NET import would also take), DER and PEM.

pub mod collection;

use der::Decode as _;
use x509_cert::Certificate;

pub use collection::{
    CollectedCertificate, Collection, CollectionError, CollectionFormat, CollectionNote,
    read_certificate_collection,
};

/// The 8-byte file header: a zero `u32`, then the bytes `CERT` (the `u32` 0x54524543).
pub const HEADER: [u8; 8] = [0, 0, 0, 0, b'C', b'E', b'R', b'T'];
/// Size of an element header: id, encoding type and length, each a little-endian `u32`.
pub const ELEMENT_HEADER_LEN: usize = 12;
/// The end marker: an element with id 0, encoding type 0 and length 0.
pub const END_MARKER: [u8; ELEMENT_HEADER_LEN] = [0; ELEMENT_HEADER_LEN];
/// Element id of a DER-encoded X.509 certificate (`CERT_CERT_PROP_ID`, "reserved" in wincrypt.h).
pub const CERTIFICATE_ELEMENT: u32 = 0x20;
/// Element id of a DER-encoded CRL.
pub const CRL_ELEMENT: u32 = 0x21;
/// Element id of a DER-encoded certificate trust list.
pub const CTL_ELEMENT: u32 = 0x22;
/// Highest id a property element may carry (`CERT_LAST_USER_PROP_ID`).
pub const MAX_PROPERTY_ID: u32 = 0xFFFF;
/// `X509_ASN_ENCODING`: the only encoding type Windows writes, on properties too.
pub const X509_ASN_ENCODING: u32 = 1;

/// What a certificate, CRL or CTL element holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SstElementKind {
    Certificate,
    Crl,
    Ctl,
}

impl SstElementKind {
    fn from_id(id: u32) -> Option<Self> {
        match id {
            CERTIFICATE_ELEMENT => Some(Self::Certificate),
            CRL_ELEMENT => Some(Self::Crl),
            CTL_ELEMENT => Some(Self::Ctl),
            _ => None,
        }
    }

    /// The element id this kind is written with.
    pub fn id(self) -> u32 {
        match self {
            Self::Certificate => CERTIFICATE_ELEMENT,
            Self::Crl => CRL_ELEMENT,
            Self::Ctl => CTL_ELEMENT,
        }
    }
}

impl std::fmt::Display for SstElementKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Certificate => "certificate",
            Self::Crl => "CRL",
            Self::Ctl => "CTL",
        })
    }
}

/// A certificate, CRL or CTL element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstElement {
    /// Byte offset of the element header in the file.
    pub offset: usize,
    /// The element's bytes exactly as stored (DER for all three kinds).
    pub der: Vec<u8>,
    /// Ids of the property elements that preceded this element and so belong to it.
    pub property_ids: Vec<u32>,
}

/// A property element, reported and skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SstProperty {
    /// Byte offset of the element header in the file.
    pub offset: usize,
    pub id: u32,
    /// Length of the value in bytes.
    pub length: u32,
    /// The element the property belongs to, or `None` when no certificate, CRL or CTL followed it
    /// before the end marker (Windows does not write that; we report it rather than fail).
    pub owner: Option<SstElementKind>,
}

/// A parsed serialized store. Certificates were checked to be X.509; CRLs and CTLs were not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SstStore {
    pub certificates: Vec<SstElement>,
    pub crls: Vec<SstElement>,
    pub ctls: Vec<SstElement>,
    /// Every property element, in file order.
    pub properties: Vec<SstProperty>,
    /// Byte offset of the end marker.
    pub end_offset: usize,
    /// Bytes after the end marker, ignored (Windows stops reading at the marker).
    pub trailing_bytes: usize,
}

impl SstStore {
    /// The certificates' DER bytes, in file order.
    pub fn certificate_ders(&self) -> impl Iterator<Item = &[u8]> {
        self.certificates
            .iter()
            .map(|element| element.der.as_slice())
    }

    /// Property elements not followed by a certificate, CRL or CTL.
    pub fn dangling_properties(&self) -> impl Iterator<Item = &SstProperty> {
        self.properties.iter().filter(|p| p.owner.is_none())
    }
}

/// Why bytes are not a serialized store. Every variant names the byte offset where reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum SstError {
    #[error(
        "truncated header: the file is {len} bytes, a serialized store starts with the 8 bytes \
         00000000 43455254 (\"CERT\"); is this the right file?"
    )]
    TruncatedHeader { len: usize },
    #[error(
        "bad magic at byte offset {offset}: expected {expected}, found {found}; a serialized \
         store (.sst) starts with 00000000 43455254 (\"CERT\")"
    )]
    BadMagic {
        offset: usize,
        expected: &'static str,
        found: String,
    },
    #[error(
        "truncated element header at byte offset {offset}: {available} bytes left, an element \
         header needs 12; the file was cut short"
    )]
    TruncatedElementHeader { offset: usize, available: usize },
    #[error(
        "wrong encoding type at byte offset {}: element 0x{id:02X} at byte offset {offset} has \
         encoding type {encoding_type}, expected 1 (X509_ASN_ENCODING); the file is corrupt or \
         not a serialized store", offset + 4
    )]
    WrongEncodingType {
        offset: usize,
        id: u32,
        encoding_type: u32,
    },
    #[error(
        "length past the end: element 0x{id:02X} at byte offset {offset} declares {length} bytes \
         but only {available} follow its header; the file was cut short or the length is corrupt"
    )]
    LengthPastEnd {
        offset: usize,
        id: u32,
        length: u32,
        available: usize,
    },
    #[error(
        "missing end marker: the elements stop at byte offset {offset}, the end of the file, \
         without the 12 zero bytes that close a store; the file was probably cut short"
    )]
    MissingEndMarker { offset: usize },
    #[error(
        "malformed end marker at byte offset {offset}: id 0 must be followed by encoding type 0 \
         and length 0, found {encoding_type} and {length}"
    )]
    MalformedEndMarker {
        offset: usize,
        encoding_type: u32,
        length: u32,
    },
    #[error(
        "unknown element id 0x{id:X} at byte offset {offset}: expected a certificate (0x20), CRL \
         (0x21), CTL (0x22) or property (0x1..=0xFFFF)"
    )]
    UnknownElement { offset: usize, id: u32 },
    #[error(
        "certificate entry at byte offset {offset} is not a valid DER X.509 certificate \
         ({length} bytes)"
    )]
    InvalidCertificate {
        offset: usize,
        length: usize,
        #[source]
        source: der::Error,
    },
}

/// Why a list of certificates cannot be written as a store.
#[derive(Debug, thiserror::Error)]
pub enum SstWriteError {
    #[error(
        "certificate #{index} is not a valid DER X.509 certificate; Exchange would refuse the \
         whole store"
    )]
    NotACertificate {
        index: usize,
        #[source]
        source: der::Error,
    },
    #[error("certificate #{index} is {len} bytes, more than a store element can hold (4 GiB)")]
    TooLarge { index: usize, len: usize },
}

/// Writes a store holding these DER certificates, in this order, in the minimal form: no property
/// elements. Each input is checked to be an X.509 certificate first (indexes in errors count from
/// 1), because Exchange refuses a store that has one bad certificate.
pub fn write_sst(certs_der: &[impl AsRef<[u8]>]) -> Result<Vec<u8>, SstWriteError> {
    let mut capacity = HEADER.len() + END_MARKER.len();
    for (i, der) in certs_der.iter().enumerate() {
        let der = der.as_ref();
        let index = i.saturating_add(1);
        Certificate::from_der(der)
            .map_err(|source| SstWriteError::NotACertificate { index, source })?;
        if u32::try_from(der.len()).is_err() {
            return Err(SstWriteError::TooLarge {
                index,
                len: der.len(),
            });
        }
        capacity = capacity
            .saturating_add(ELEMENT_HEADER_LEN)
            .saturating_add(der.len());
    }

    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(&HEADER);
    for (i, der) in certs_der.iter().enumerate() {
        let der = der.as_ref();
        let length = u32::try_from(der.len()).map_err(|_| SstWriteError::TooLarge {
            index: i.saturating_add(1),
            len: der.len(),
        })?;
        out.extend_from_slice(&CERTIFICATE_ELEMENT.to_le_bytes());
        out.extend_from_slice(&X509_ASN_ENCODING.to_le_bytes());
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(der);
    }
    out.extend_from_slice(&END_MARKER);
    Ok(out)
}

/// Reads a serialized store. Strict about structure (every error names a byte offset), lenient
/// about content Windows may add: properties are reported and skipped, CRLs and CTLs are listed.
pub fn read_sst(bytes: &[u8]) -> Result<SstStore, SstError> {
    let (Some(first), Some(magic)) = (bytes.get(0..4), bytes.get(4..8)) else {
        return Err(SstError::TruncatedHeader { len: bytes.len() });
    };
    if first != &HEADER[0..4] {
        return Err(SstError::BadMagic {
            offset: 0,
            expected: "00000000",
            found: hex::encode(first),
        });
    }
    if magic != &HEADER[4..8] {
        return Err(SstError::BadMagic {
            offset: 4,
            expected: "43455254 (\"CERT\")",
            found: hex::encode(magic),
        });
    }

    let mut store = SstStore::default();
    // Properties seen since the last certificate/CRL/CTL: they belong to the next one.
    let mut pending: Vec<usize> = Vec::new();
    let mut offset = HEADER.len();
    loop {
        let rest = bytes.get(offset..).unwrap_or_default();
        if rest.is_empty() {
            return Err(SstError::MissingEndMarker { offset });
        }
        let (Some(id), Some(encoding_type), Some(length)) =
            (le_u32(rest, 0), le_u32(rest, 4), le_u32(rest, 8))
        else {
            return Err(SstError::TruncatedElementHeader {
                offset,
                available: rest.len(),
            });
        };

        if id == 0 {
            if encoding_type != 0 || length != 0 {
                return Err(SstError::MalformedEndMarker {
                    offset,
                    encoding_type,
                    length,
                });
            }
            store.end_offset = offset;
            store.trailing_bytes = rest.len().saturating_sub(ELEMENT_HEADER_LEN);
            return Ok(store);
        }
        if id > MAX_PROPERTY_ID {
            return Err(SstError::UnknownElement { offset, id });
        }
        if encoding_type != X509_ASN_ENCODING {
            return Err(SstError::WrongEncodingType {
                offset,
                id,
                encoding_type,
            });
        }
        let available = rest.len().saturating_sub(ELEMENT_HEADER_LEN);
        let value = usize::try_from(length)
            .ok()
            .and_then(|len| rest.get(ELEMENT_HEADER_LEN..ELEMENT_HEADER_LEN.checked_add(len)?))
            .ok_or(SstError::LengthPastEnd {
                offset,
                id,
                length,
                available,
            })?;

        match SstElementKind::from_id(id) {
            Some(kind) => {
                if kind == SstElementKind::Certificate {
                    Certificate::from_der(value).map_err(|source| {
                        SstError::InvalidCertificate {
                            offset,
                            length: value.len(),
                            source,
                        }
                    })?;
                }
                let mut property_ids = Vec::with_capacity(pending.len());
                for index in pending.drain(..) {
                    if let Some(property) = store.properties.get_mut(index) {
                        property.owner = Some(kind);
                        property_ids.push(property.id);
                    }
                }
                let element = SstElement {
                    offset,
                    der: value.to_vec(),
                    property_ids,
                };
                match kind {
                    SstElementKind::Certificate => store.certificates.push(element),
                    SstElementKind::Crl => store.crls.push(element),
                    SstElementKind::Ctl => store.ctls.push(element),
                }
            }
            None => {
                pending.push(store.properties.len());
                store.properties.push(SstProperty {
                    offset,
                    id,
                    length,
                    owner: None,
                });
            }
        }
        // Cannot overflow: `value` is a sub-slice of `bytes`, so the sum is at most `bytes.len()`.
        offset = offset
            .saturating_add(ELEMENT_HEADER_LEN)
            .saturating_add(value.len());
    }
}

/// A short name for the property ids Windows commonly writes (wincrypt.h `CERT_*_PROP_ID`).
pub fn property_name(id: u32) -> Option<&'static str> {
    Some(match id {
        2 => "key provider info",
        3 => "SHA-1 hash",
        4 => "MD5 hash",
        9 => "enhanced key usage",
        10 => "next update location",
        11 => "friendly name",
        13 => "description",
        15 => "signature hash",
        20 => "key identifier",
        24 => "issuer public key MD5 hash",
        25 => "subject public key MD5 hash",
        28 => "issuer serial number MD5 hash",
        29 => "subject name MD5 hash",
        0x23 => "key identifier element",
        _ => return None,
    })
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let field: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(field))
}

#[cfg(test)]
mod tests;
