use super::*;
use test_support::vector;

const TINY: &[u8] = include_bytes!("../../../../fixtures/sst/tiny-124.der");

/// What Windows writes around one 124-byte certificate (Wine's crypt32 tests hold the same
/// layout as `serializedStoreWithCert`): header, element header, the certificate, end marker.
const GOLDEN_HEADER_HEX: &str = "0000000043455254";
const GOLDEN_ELEMENT_HEADER_HEX: &str = "20000000010000007c000000";
const GOLDEN_END_HEX: &str = "000000000000000000000000";

fn pem_cert(path: &str) -> Vec<u8> {
    let pem = vector(path);
    let (label, der) = der::pem::decode_vec(&pem).expect("vector is one PEM block");
    assert_eq!(label, "CERTIFICATE");
    der
}

fn element(id: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&X509_ASN_ENCODING.to_le_bytes());
    out.extend_from_slice(&u32::try_from(value.len()).unwrap().to_le_bytes());
    out.extend_from_slice(value);
    out
}

fn store(elements: &[Vec<u8>]) -> Vec<u8> {
    let mut out = HEADER.to_vec();
    for e in elements {
        out.extend_from_slice(e);
    }
    out.extend_from_slice(&END_MARKER);
    out
}

#[test]
fn tiny_fixture_is_124_bytes() {
    assert_eq!(TINY.len(), 124);
    assert_eq!(TINY.first(), Some(&0x30));
}

#[test]
fn golden_vector_single_certificate_store_is_156_bytes() {
    let written = write_sst(&[TINY]).unwrap();
    assert_eq!(written.len(), 156);
    assert_eq!(hex::encode(&written[0..8]), GOLDEN_HEADER_HEX);
    assert_eq!(hex::encode(&written[8..20]), GOLDEN_ELEMENT_HEADER_HEX);
    assert_eq!(&written[20..144], TINY);
    assert_eq!(hex::encode(&written[144..156]), GOLDEN_END_HEX);

    let expected = [
        hex::decode(GOLDEN_HEADER_HEX).unwrap(),
        hex::decode(GOLDEN_ELEMENT_HEADER_HEX).unwrap(),
        TINY.to_vec(),
        hex::decode(GOLDEN_END_HEX).unwrap(),
    ]
    .concat();
    assert_eq!(written, expected);
    // The second header u32 read as little-endian is 0x54524543.
    assert_eq!(
        u32::from_le_bytes(written[4..8].try_into().unwrap()),
        0x5452_4543
    );
}

#[test]
fn golden_vector_reads_back() {
    let written = write_sst(&[TINY]).unwrap();
    let store = read_sst(&written).unwrap();
    assert_eq!(store.certificates.len(), 1);
    assert_eq!(store.certificates[0].offset, 8);
    assert_eq!(store.certificates[0].der, TINY);
    assert!(store.certificates[0].property_ids.is_empty());
    assert!(store.crls.is_empty() && store.ctls.is_empty() && store.properties.is_empty());
    assert_eq!(store.end_offset, 144);
    assert_eq!(store.trailing_bytes, 0);
}

#[test]
fn empty_store_is_header_and_end_marker() {
    let written = write_sst(&[] as &[&[u8]]).unwrap();
    assert_eq!(
        hex::encode(&written),
        format!("{GOLDEN_HEADER_HEX}{GOLDEN_END_HEX}")
    );
    let store = read_sst(&written).unwrap();
    assert!(store.certificates.is_empty());
}

#[test]
fn round_trip_keeps_order_and_exact_bytes() {
    let certs = vec![
        pem_cert("rfc9216/ca.rsa.crt"),
        pem_cert("rfc9216/ca.25519.crt"),
        TINY.to_vec(),
        pem_cert("rfc9216/alice.sign.crt"),
    ];
    let written = write_sst(&certs).unwrap();
    let expected_len = 8 + certs.iter().map(|c| 12 + c.len()).sum::<usize>() + 12;
    assert_eq!(written.len(), expected_len);
    let store = read_sst(&written).unwrap();
    let read: Vec<&[u8]> = store.certificate_ders().collect();
    assert_eq!(read, certs.iter().map(Vec::as_slice).collect::<Vec<_>>());
    // Rewriting what was read gives the same bytes.
    assert_eq!(write_sst(&read).unwrap(), written);
}

#[test]
fn writer_refuses_a_non_certificate() {
    let err = write_sst(&[TINY, b"not a certificate"]).unwrap_err();
    assert!(
        matches!(err, SstWriteError::NotACertificate { index: 2, .. }),
        "{err:?}"
    );
}

/// Properties as Windows writes them before a certificate: the SHA-1 hash (0x03, 20 bytes) and a
/// friendly name (0x0B, UTF-16LE with a terminating NUL); and a CRL element after it.
#[test]
fn reads_properties_before_the_certificate_and_a_crl() {
    let sha1 = hex::decode(crate::certificate::sha1_thumbprint(TINY)).unwrap();
    let friendly: Vec<u8> = "Tiny CA\0"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let crl = vector("rfc4134/CarlRSACRLEmpty.crl");
    let bytes = store(&[
        element(0x03, &sha1),
        element(0x0B, &friendly),
        element(CERTIFICATE_ELEMENT, TINY),
        element(CRL_ELEMENT, &crl),
    ]);

    let store = read_sst(&bytes).unwrap();
    assert_eq!(store.certificates.len(), 1);
    assert_eq!(store.certificates[0].der, TINY);
    assert_eq!(store.certificates[0].property_ids, vec![0x03, 0x0B]);
    // header 8 + sha1 property 12+20 + friendly name 12+16
    assert_eq!(store.certificates[0].offset, 8 + 32 + 28);
    assert_eq!(
        store.properties,
        vec![
            SstProperty {
                offset: 8,
                id: 3,
                length: 20,
                owner: Some(SstElementKind::Certificate)
            },
            SstProperty {
                offset: 40,
                id: 11,
                length: 16,
                owner: Some(SstElementKind::Certificate)
            },
        ]
    );
    assert_eq!(store.crls.len(), 1);
    assert_eq!(store.crls[0].der, crl);
    assert_eq!(store.crls[0].offset, 68 + 12 + 124);
    assert_eq!(store.dangling_properties().count(), 0);
}

#[test]
fn reads_ctl_and_reports_dangling_properties_and_trailing_bytes() {
    let mut bytes = store(&[
        element(CERTIFICATE_ELEMENT, TINY),
        element(CTL_ELEMENT, b"\x30\x00"),
        element(0x0B, b"x\0"),
    ]);
    bytes.extend_from_slice(b"junk");
    let store = read_sst(&bytes).unwrap();
    assert_eq!(store.ctls.len(), 1);
    assert_eq!(store.properties.len(), 1);
    assert_eq!(store.properties[0].owner, None);
    assert_eq!(store.dangling_properties().count(), 1);
    assert_eq!(store.trailing_bytes, 4);
}

fn written_tiny() -> Vec<u8> {
    write_sst(&[TINY]).unwrap()
}

#[test]
fn error_truncated_header() {
    let err = read_sst(&[0, 0, 0]).unwrap_err();
    assert!(
        matches!(err, SstError::TruncatedHeader { len: 3 }),
        "{err:?}"
    );
}

#[test]
fn error_bad_magic_names_offset() {
    let mut bytes = written_tiny();
    bytes[5] = b'X';
    let err = read_sst(&bytes).unwrap_err();
    assert!(
        matches!(err, SstError::BadMagic { offset: 4, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("byte offset 4"), "{err}");

    let mut bytes = written_tiny();
    bytes[0] = 1;
    let err = read_sst(&bytes).unwrap_err();
    assert!(
        matches!(err, SstError::BadMagic { offset: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn error_truncated_element_header() {
    let bytes = &written_tiny()[..8 + 5];
    let err = read_sst(bytes).unwrap_err();
    assert!(
        matches!(
            err,
            SstError::TruncatedElementHeader {
                offset: 8,
                available: 5
            }
        ),
        "{err:?}"
    );
}

#[test]
fn error_length_past_end() {
    let bytes = &written_tiny()[..8 + 12 + 100];
    let err = read_sst(bytes).unwrap_err();
    assert!(
        matches!(
            err,
            SstError::LengthPastEnd {
                offset: 8,
                id: 0x20,
                length: 124,
                available: 100
            }
        ),
        "{err:?}"
    );
    // A length near u32::MAX must not overflow offset arithmetic.
    let mut bytes = written_tiny();
    bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = read_sst(&bytes).unwrap_err();
    assert!(
        matches!(err, SstError::LengthPastEnd { offset: 8, .. }),
        "{err:?}"
    );
}

#[test]
fn error_missing_end_marker() {
    let bytes = written_tiny();
    let err = read_sst(&bytes[..144]).unwrap_err();
    assert!(
        matches!(err, SstError::MissingEndMarker { offset: 144 }),
        "{err:?}"
    );
    // Half an end marker is a truncated element header.
    let err = read_sst(&bytes[..150]).unwrap_err();
    assert!(
        matches!(
            err,
            SstError::TruncatedElementHeader {
                offset: 144,
                available: 6
            }
        ),
        "{err:?}"
    );
}

#[test]
fn error_wrong_encoding_type() {
    let mut bytes = written_tiny();
    bytes[12] = 2;
    let err = read_sst(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            SstError::WrongEncodingType {
                offset: 8,
                id: 0x20,
                encoding_type: 2
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("byte offset 12"), "{err}");
}

#[test]
fn error_invalid_certificate_names_entry_offset() {
    let bytes = store(&[
        element(CERTIFICATE_ELEMENT, TINY),
        element(CERTIFICATE_ELEMENT, b"\x30\x03\x02\x01\x01"),
    ]);
    let err = read_sst(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            SstError::InvalidCertificate {
                offset: 144,
                length: 5,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn error_unknown_element_and_malformed_end() {
    let bytes = store(&[element(0x1_0000, b"")]);
    let err = read_sst(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            SstError::UnknownElement {
                offset: 8,
                id: 0x1_0000
            }
        ),
        "{err:?}"
    );

    let mut bytes = written_tiny();
    bytes[148] = 1;
    let err = read_sst(&bytes).unwrap_err();
    assert!(
        matches!(err, SstError::MalformedEndMarker { offset: 144, .. }),
        "{err:?}"
    );
}
