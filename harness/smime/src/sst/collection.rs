//! Reading "a file of certificates" whatever its format: a serialized store (.sst), PKCS#7
//! certs-only (.p7b, DER or PEM), a single DER certificate, or a PEM bundle. Callers print which
//! format was found, because the wrong one is the usual cause of an import failing.
//!
//! PKCS#7 is a different format from SST, but Exchange's .NET import behind
//! `Set-SmimeConfig -SMIMECertificateIssuingCA` would also take it (.NET's
//! `X509Certificate2Collection.Import` reads a serialized store and a PKCS#7 alike), so a .p7b is
//! a legitimate input, and `smime-lab sst write` converts one into the documented .sst form.

use std::fmt;

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use der::{Decode as _, Reader as _, SliceReader, Tag, TagNumber};
use x509_cert::Certificate;

use super::{SstError, SstStore, read_sst};

/// The container format a collection was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionFormat {
    /// Microsoft serialized certificate store.
    Sst,
    /// PKCS#7 / CMS SignedData, normally certs-only (.p7b, .p7c).
    Pkcs7,
    /// One DER certificate (.cer, .crt, .der).
    Der,
    /// PEM `CERTIFICATE` blocks (.pem, .crt bundles).
    Pem,
}

impl CollectionFormat {
    /// Short machine-readable name, used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sst => "sst",
            Self::Pkcs7 => "pkcs7",
            Self::Der => "der",
            Self::Pem => "pem",
        }
    }
}

impl fmt::Display for CollectionFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sst => "Microsoft serialized certificate store (SST)",
            Self::Pkcs7 => "PKCS#7 certificates (.p7b)",
            Self::Der => "single DER certificate",
            Self::Pem => "PEM certificate bundle",
        })
    }
}

/// One certificate of a collection: the exact bytes read (thumbprints hash these) and their parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectedCertificate {
    pub der: Vec<u8>,
    pub certificate: Certificate,
}

/// Something in the file besides certificates, worth telling the user about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectionNote {
    /// SST property elements, skipped (ids in file order).
    SstProperties { ids: Vec<u32> },
    /// SST property elements that no certificate, CRL or CTL followed.
    SstDanglingProperties { count: usize, first_offset: usize },
    /// SST CRL elements, not imported (byte offsets).
    SstCrls { offsets: Vec<usize> },
    /// SST CTL elements, not imported (byte offsets).
    SstCtls { offsets: Vec<usize> },
    /// Bytes after the SST end marker, ignored.
    SstTrailingBytes { offset: usize, count: usize },
    /// CRLs inside the PKCS#7 SignedData, not imported.
    Pkcs7Crls { count: usize },
    /// Non-X.509 entries of the SignedData certificate set (attribute or other certificates).
    Pkcs7OtherCertificates { count: usize },
    /// The SignedData carries signatures: it is a signed message, not a certs-only bundle.
    Pkcs7Signers { count: usize },
    /// A PEM block that is not a certificate (a private key, a CRL ...), skipped.
    PemSkipped { label: String, offset: usize },
    /// A `TRUSTED CERTIFICATE` block: OpenSSL's trust settings after the certificate were dropped.
    PemTrustSettingsDropped { offset: usize },
}

impl fmt::Display for CollectionNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SstProperties { ids } => {
                write!(
                    f,
                    "{} property entr{} skipped: ",
                    ids.len(),
                    plural_y(ids.len())
                )?;
                for (i, id) in ids.iter().enumerate() {
                    let separator = if i == 0 { "" } else { ", " };
                    match super::property_name(*id) {
                        Some(name) => write!(f, "{separator}0x{id:02X} ({name})")?,
                        None => write!(f, "{separator}0x{id:02X}")?,
                    }
                }
                Ok(())
            }
            Self::SstDanglingProperties {
                count,
                first_offset,
            } => write!(
                f,
                "{count} property entr{} from byte offset {first_offset} belong to no \
                 certificate, CRL or CTL (the end marker follows them)",
                plural_y(*count)
            ),
            Self::SstCrls { offsets } => write!(
                f,
                "{} CRL entr{} at byte offset{} {} (listed only; not certificates)",
                offsets.len(),
                plural_y(offsets.len()),
                plural_s(offsets.len()),
                join(offsets)
            ),
            Self::SstCtls { offsets } => write!(
                f,
                "{} CTL entr{} at byte offset{} {} (listed only; not certificates)",
                offsets.len(),
                plural_y(offsets.len()),
                plural_s(offsets.len()),
                join(offsets)
            ),
            Self::SstTrailingBytes { offset, count } => write!(
                f,
                "{count} byte{} after the end marker at byte offset {offset}, ignored",
                plural_s(*count)
            ),
            Self::Pkcs7Crls { count } => {
                write!(
                    f,
                    "{count} CRL{} in the PKCS#7 (listed only)",
                    plural_s(*count)
                )
            }
            Self::Pkcs7OtherCertificates { count } => write!(
                f,
                "{count} non-X.509 certificate{} in the PKCS#7, skipped",
                plural_s(*count)
            ),
            Self::Pkcs7Signers { count } => write!(
                f,
                "the PKCS#7 is a signed message with {count} signer{} (not a certs-only .p7b); \
                 its certificates were taken, its signature{} not checked",
                plural_s(*count),
                plural_s(*count)
            ),
            Self::PemSkipped { label, offset } => {
                write!(
                    f,
                    "PEM block \"{label}\" at byte offset {offset} is not a certificate, skipped"
                )
            }
            Self::PemTrustSettingsDropped { offset } => write!(
                f,
                "PEM block \"TRUSTED CERTIFICATE\" at byte offset {offset}: OpenSSL trust \
                 settings after the certificate were ignored"
            ),
        }
    }
}

/// The certificates found in a file, the format they were in, and what else was there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub format: CollectionFormat,
    /// Whether the format was wrapped in PEM armour (always for [`CollectionFormat::Pem`]).
    pub pem_armored: bool,
    /// In file order.
    pub certificates: Vec<CollectedCertificate>,
    pub notes: Vec<CollectionNote>,
    /// The full parse when the file was an SST.
    pub sst: Option<SstStore>,
}

impl Collection {
    /// A one-line description of the format, e.g. "PKCS#7 certificates (.p7b), PEM-armored".
    pub fn format_description(&self) -> String {
        if self.pem_armored && self.format != CollectionFormat::Pem {
            format!("{}, PEM-armored", self.format)
        } else {
            self.format.to_string()
        }
    }

    /// The certificates' DER bytes, e.g. to pass to [`super::write_sst`].
    pub fn ders(&self) -> Vec<&[u8]> {
        self.certificates.iter().map(|c| c.der.as_slice()).collect()
    }
}

/// Why a file could not be read as a collection of certificates.
#[derive(Debug, thiserror::Error)]
pub enum CollectionError {
    #[error("the file is empty; expected an .sst, a .p7b, a DER certificate or PEM certificates")]
    Empty,
    #[error(
        "unrecognised format (starts with {start}): expected a serialized store (00000000 \
         43455254), DER (30 ..) PKCS#7 or certificate, or PEM (-----BEGIN CERTIFICATE-----)"
    )]
    UnknownFormat { start: String },
    #[error("not a valid serialized certificate store (.sst)")]
    Sst(#[from] SstError),
    #[error("not valid DER: neither a PKCS#7 ContentInfo nor a certificate can start at byte 0")]
    DerHeader(#[source] der::Error),
    #[error("not a valid PKCS#7 (.p7b): the {part} does not decode{}", in_pem(*pem_offset))]
    Pkcs7 {
        part: &'static str,
        pem_offset: Option<usize>,
        #[source]
        source: der::Error,
    },
    #[error(
        "PKCS#7 content type is {content_type}, expected signedData (1.2.840.113549.1.7.2): a \
         .p7b holding certificates is a SignedData{}",
        in_pem(*pem_offset)
    )]
    Pkcs7NotSignedData {
        content_type: ObjectIdentifier,
        pem_offset: Option<usize>,
    },
    #[error("not a valid DER X.509 certificate")]
    Certificate(#[source] der::Error),
    #[error("PEM block \"{label}\" at byte offset {offset} is malformed")]
    Pem {
        label: String,
        offset: usize,
        #[source]
        source: der::pem::Error,
    },
    #[error(
        "PEM block \"{label}\" at byte offset {offset} has no matching -----END {label}----- line"
    )]
    PemUnterminated { label: String, offset: usize },
    #[error(
        "PEM block \"{label}\" at byte offset {offset} does not hold a valid DER X.509 certificate"
    )]
    PemCertificate {
        label: String,
        offset: usize,
        #[source]
        source: der::Error,
    },
    #[error(
        "no certificate in this PEM file (found: {found}); expected -----BEGIN CERTIFICATE----- \
         or -----BEGIN PKCS7----- blocks"
    )]
    PemNoCertificates { found: String },
}

fn in_pem(offset: Option<usize>) -> String {
    offset.map_or_else(String::new, |o| format!(" (PEM block at byte offset {o})"))
}

/// Detects the format of `bytes` and returns its certificates.
///
/// Detection: four zero bytes or `CERT` at offset 4 mean SST (then strictly so, errors carry byte
/// offsets); a first byte 0x30 means DER, a PKCS#7 ContentInfo if its first field is an OID, else
/// a certificate; text with `-----BEGIN ` means PEM (`CERTIFICATE`, `X509 CERTIFICATE`,
/// `TRUSTED CERTIFICATE`, `PKCS7` and `CMS` blocks are read, others skipped with a note).
pub fn read_certificate_collection(bytes: &[u8]) -> Result<Collection, CollectionError> {
    if bytes.is_empty() {
        return Err(CollectionError::Empty);
    }
    let looks_sst =
        bytes.get(0..4) == Some(&[0u8; 4][..]) || bytes.get(4..8) == Some(&super::HEADER[4..8]);
    if looks_sst {
        return read_sst_collection(bytes);
    }
    if bytes.first() == Some(&0x30) {
        return read_der(bytes);
    }
    if find(bytes, b"-----BEGIN ", 0).is_some() {
        return read_pem(bytes);
    }
    Err(CollectionError::UnknownFormat {
        start: describe_start(bytes),
    })
}

fn read_sst_collection(bytes: &[u8]) -> Result<Collection, CollectionError> {
    let store = read_sst(bytes)?;
    let mut certificates = Vec::with_capacity(store.certificates.len());
    for element in &store.certificates {
        // `read_sst` already parsed each one; a failure here would be a bug, still not a panic.
        let certificate =
            Certificate::from_der(&element.der).map_err(|source| SstError::InvalidCertificate {
                offset: element.offset,
                length: element.der.len(),
                source,
            })?;
        certificates.push(CollectedCertificate {
            der: element.der.clone(),
            certificate,
        });
    }

    let mut notes = Vec::new();
    if !store.properties.is_empty() {
        notes.push(CollectionNote::SstProperties {
            ids: store.properties.iter().map(|p| p.id).collect(),
        });
    }
    let dangling: Vec<usize> = store.dangling_properties().map(|p| p.offset).collect();
    if let Some(&first_offset) = dangling.first() {
        notes.push(CollectionNote::SstDanglingProperties {
            count: dangling.len(),
            first_offset,
        });
    }
    if !store.crls.is_empty() {
        notes.push(CollectionNote::SstCrls {
            offsets: store.crls.iter().map(|e| e.offset).collect(),
        });
    }
    if !store.ctls.is_empty() {
        notes.push(CollectionNote::SstCtls {
            offsets: store.ctls.iter().map(|e| e.offset).collect(),
        });
    }
    if store.trailing_bytes > 0 {
        notes.push(CollectionNote::SstTrailingBytes {
            offset: store.end_offset.saturating_add(super::ELEMENT_HEADER_LEN),
            count: store.trailing_bytes,
        });
    }
    Ok(Collection {
        format: CollectionFormat::Sst,
        pem_armored: false,
        certificates,
        notes,
        sst: Some(store),
    })
}

fn read_der(bytes: &[u8]) -> Result<Collection, CollectionError> {
    // Peek at the first field inside the outer SEQUENCE: a ContentInfo starts with its content
    // type OID, a Certificate with the TBSCertificate SEQUENCE.
    let first_inner_tag = (|| {
        let mut reader = SliceReader::new(bytes)?;
        let _outer = der::Header::decode(&mut reader)?;
        Tag::peek(&reader)
    })()
    .map_err(CollectionError::DerHeader)?;

    if first_inner_tag == Tag::ObjectIdentifier {
        let (certificates, notes) = read_pkcs7(bytes, None)?;
        return Ok(Collection {
            format: CollectionFormat::Pkcs7,
            pem_armored: false,
            certificates,
            notes,
            sst: None,
        });
    }
    let certificate = Certificate::from_der(bytes).map_err(CollectionError::Certificate)?;
    Ok(Collection {
        format: CollectionFormat::Der,
        pem_armored: false,
        certificates: vec![CollectedCertificate {
            der: bytes.to_vec(),
            certificate,
        }],
        notes: Vec::new(),
        sst: None,
    })
}

/// Reads a DER PKCS#7 ContentInfo holding a SignedData. `pem_offset` only enriches errors.
fn read_pkcs7(
    bytes: &[u8],
    pem_offset: Option<usize>,
) -> Result<(Vec<CollectedCertificate>, Vec<CollectionNote>), CollectionError> {
    let pkcs7_error = |part, source| CollectionError::Pkcs7 {
        part,
        pem_offset,
        source,
    };
    let content_info =
        ContentInfo::from_der(bytes).map_err(|source| pkcs7_error("ContentInfo", source))?;
    if content_info.content_type != const_oid::db::rfc5911::ID_SIGNED_DATA {
        return Err(CollectionError::Pkcs7NotSignedData {
            content_type: content_info.content_type,
            pem_offset,
        });
    }
    let signed_data: SignedData = content_info
        .content
        .decode_as()
        .map_err(|source| pkcs7_error("SignedData", source))?;

    // The typed decode above validates the structure, but `cms` sorts the certificate SET into
    // DER order and re-encoding a `Certificate` may normalise it (x509-cert adjusts times on
    // encode), which would change thumbprints. So the exact bytes, in file order, come from a
    // second walk over the same SignedData with der's untyped reader.
    let raw = raw_certificate_set(content_info.content.value())
        .map_err(|source| pkcs7_error("SignedData certificate set", source))?;

    let mut certificates = Vec::new();
    let mut others = 0usize;
    for element in raw {
        if element.first() == Some(&0x30) {
            let certificate = Certificate::from_der(element)
                .map_err(|source| pkcs7_error("certificate", source))?;
            certificates.push(CollectedCertificate {
                der: element.to_vec(),
                certificate,
            });
        } else {
            others = others.saturating_add(1);
        }
    }

    let mut notes = Vec::new();
    if others > 0 {
        notes.push(CollectionNote::Pkcs7OtherCertificates { count: others });
    }
    let crls = signed_data.crls.as_ref().map_or(0, |c| c.0.len());
    if crls > 0 {
        notes.push(CollectionNote::Pkcs7Crls { count: crls });
    }
    let signers = signed_data.signer_infos.0.len();
    if signers > 0 {
        notes.push(CollectionNote::Pkcs7Signers { count: signers });
    }
    Ok((certificates, notes))
}

/// The raw TLVs of `SignedData.certificates` (`[0] IMPLICIT CertificateSet`), given the contents
/// of the SignedData SEQUENCE.
fn raw_certificate_set(signed_data: &[u8]) -> Result<Vec<&[u8]>, der::Error> {
    let mut reader = SliceReader::new(signed_data)?;
    // version, digestAlgorithms, encapContentInfo
    for _ in 0..3 {
        reader.tlv_bytes()?;
    }
    let certificates_tag = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(0),
    };
    if reader.is_finished() || Tag::peek(&reader)? != certificates_tag {
        return Ok(Vec::new());
    }
    let header = der::Header::decode(&mut reader)?;
    let set = reader.read_slice(header.length())?;
    let mut inner = SliceReader::new(set)?;
    let mut out = Vec::new();
    while !inner.is_finished() {
        out.push(inner.tlv_bytes()?);
    }
    Ok(out)
}

fn read_pem(bytes: &[u8]) -> Result<Collection, CollectionError> {
    let mut certificates = Vec::new();
    let mut notes = Vec::new();
    let mut labels_seen: Vec<String> = Vec::new();
    let mut saw_certificate_block = false;
    let mut saw_pkcs7_block = false;

    let mut cursor = 0usize;
    while let Some(begin) = find(bytes, b"-----BEGIN ", cursor) {
        let label_start = begin.saturating_add(b"-----BEGIN ".len());
        let Some(label_end) = find(bytes, b"-----", label_start) else {
            break;
        };
        let label_bytes = bytes.get(label_start..label_end).unwrap_or_default();
        let label = String::from_utf8_lossy(label_bytes).into_owned();
        if label.contains(['\n', '\r']) {
            // "-----BEGIN " in running text, not a boundary line.
            cursor = label_start;
            continue;
        }
        let end_line = [b"-----END ", label_bytes, b"-----"].concat();
        let Some(end_at) = find(bytes, &end_line, label_end) else {
            return Err(CollectionError::PemUnterminated {
                label,
                offset: begin,
            });
        };
        let block_end = end_at.saturating_add(end_line.len());
        let block = bytes.get(begin..block_end).unwrap_or_default();
        cursor = block_end;

        match label.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                saw_certificate_block = true;
                let der = pem_decode(block, &label, begin)?;
                let (certificate, used) = if label == "TRUSTED CERTIFICATE" {
                    // OpenSSL appends its trust settings after the certificate in the same block.
                    let (certificate, used) = decode_leading_certificate(&der)
                        .map_err(|source| pem_certificate_error(&label, begin, source))?;
                    if used < der.len() {
                        notes.push(CollectionNote::PemTrustSettingsDropped { offset: begin });
                    }
                    (certificate, used)
                } else {
                    let certificate = Certificate::from_der(&der)
                        .map_err(|source| pem_certificate_error(&label, begin, source))?;
                    (certificate, der.len())
                };
                certificates.push(CollectedCertificate {
                    der: der.get(..used).unwrap_or_default().to_vec(),
                    certificate,
                });
            }
            "PKCS7" | "CMS" => {
                saw_pkcs7_block = true;
                let der = pem_decode(block, &label, begin)?;
                let (found, found_notes) = read_pkcs7(&der, Some(begin))?;
                certificates.extend(found);
                notes.extend(found_notes);
            }
            _ => {
                labels_seen.push(label.clone());
                notes.push(CollectionNote::PemSkipped {
                    label,
                    offset: begin,
                });
            }
        }
    }

    if !saw_certificate_block && !saw_pkcs7_block {
        return Err(CollectionError::PemNoCertificates {
            found: if labels_seen.is_empty() {
                "no complete PEM block".to_owned()
            } else {
                labels_seen.join(", ")
            },
        });
    }
    let format = if saw_pkcs7_block && !saw_certificate_block {
        CollectionFormat::Pkcs7
    } else {
        CollectionFormat::Pem
    };
    Ok(Collection {
        format,
        pem_armored: true,
        certificates,
        notes,
        sst: None,
    })
}

fn pem_decode(block: &[u8], label: &str, offset: usize) -> Result<Vec<u8>, CollectionError> {
    let pem_error = |source| CollectionError::Pem {
        label: label.to_owned(),
        offset,
        source,
    };
    // Other tools wrap at 76 columns or not at all; RFC 7468's strict 64 would refuse them.
    let mut decoder = der::pem::Decoder::new_detect_wrap(block).map_err(pem_error)?;
    let mut der = Vec::new();
    decoder.decode_to_end(&mut der).map_err(pem_error)?;
    Ok(der)
}

fn pem_certificate_error(label: &str, offset: usize, source: der::Error) -> CollectionError {
    CollectionError::PemCertificate {
        label: label.to_owned(),
        offset,
        source,
    }
}

/// Decodes the certificate at the start of `der`, returning it and how many bytes it took.
fn decode_leading_certificate(der: &[u8]) -> Result<(Certificate, usize), der::Error> {
    let mut reader = SliceReader::new(der)?;
    let tlv = reader.tlv_bytes()?;
    Ok((Certificate::from_der(tlv)?, tlv.len()))
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let rest = haystack.get(from..)?;
    rest.windows(needle.len())
        .position(|window| window == needle)
        .and_then(|at| at.checked_add(from))
}

/// What the start of an unrecognised file is, for the error. Text is quoted (8 characters: a
/// PEM armour line or a word, never a key's secret part); binary is not shown at all, since the
/// wrong file may be a raw private key and no byte of one may reach a terminal or a log.
fn describe_start(bytes: &[u8]) -> String {
    let head = bytes.get(..8).unwrap_or(bytes);
    if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("the text \"{}\"", String::from_utf8_lossy(head))
    } else {
        "binary data".to_owned()
    }
}

fn plural_s(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn plural_y(n: usize) -> &'static str {
    if n == 1 { "y" } else { "ies" }
}

fn join(offsets: &[usize]) -> String {
    offsets
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
