use super::*;
use crate::sst::{CERTIFICATE_ELEMENT, CRL_ELEMENT, END_MARKER, HEADER, write_sst};
use cms::cert::CertificateChoices;
use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignerInfos};
use der::Encode as _;
use test_support::vector;

const TINY: &[u8] = include_bytes!("../../../../../fixtures/sst/tiny-124.der");

fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    der::pem::decode_vec(pem).expect("one PEM block").1
}

fn element(id: u32, value: &[u8]) -> Vec<u8> {
    [
        &id.to_le_bytes()[..],
        &1u32.to_le_bytes(),
        &u32::try_from(value.len()).unwrap().to_le_bytes(),
        value,
    ]
    .concat()
}

/// A certs-only SignedData built with the `cms` types, certificates in the given order.
fn p7b(certs: &[&[u8]]) -> Vec<u8> {
    let set = certs
        .iter()
        .map(|der| CertificateChoices::Certificate(Certificate::from_der(der).unwrap()))
        .collect::<Vec<_>>();
    let signed_data = SignedData {
        version: cms::content_info::CmsVersion::V1,
        digest_algorithms: Default::default(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: const_oid::db::rfc5911::ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet::try_from(set).unwrap()),
        crls: None,
        signer_infos: SignerInfos::try_from(Vec::new()).unwrap(),
    };
    ContentInfo {
        content_type: const_oid::db::rfc5911::ID_SIGNED_DATA,
        content: der::Any::encode_from(&signed_data).unwrap(),
    }
    .to_der()
    .unwrap()
}

fn thumbprints(collection: &Collection) -> Vec<String> {
    collection
        .certificates
        .iter()
        .map(|c| crate::certificate::sha1_thumbprint(&c.der))
        .collect()
}

#[test]
fn detects_sst_with_notes() {
    let mut bytes = HEADER.to_vec();
    bytes.extend(element(0x03, &[0u8; 20]));
    bytes.extend(element(0x0B, b"a\0\0\0"));
    bytes.extend(element(CERTIFICATE_ELEMENT, TINY));
    bytes.extend(element(CRL_ELEMENT, &vector("rfc4134/CarlRSACRLEmpty.crl")));
    bytes.extend_from_slice(&END_MARKER);

    let collection = read_certificate_collection(&bytes).unwrap();
    assert_eq!(collection.format, CollectionFormat::Sst);
    assert!(!collection.pem_armored);
    assert_eq!(collection.ders(), vec![TINY]);
    assert_eq!(
        collection.notes,
        vec![
            CollectionNote::SstProperties { ids: vec![3, 11] },
            CollectionNote::SstCrls {
                offsets: vec![8 + 32 + 16 + 12 + 124]
            },
        ]
    );
    assert_eq!(
        collection.notes[0].to_string(),
        "2 property entries skipped: 0x03 (SHA-1 hash), 0x0B (friendly name)"
    );
    assert!(collection.sst.is_some());
}

#[test]
fn sst_errors_pass_through_with_offsets() {
    let bytes = write_sst(&[TINY]).unwrap();
    let err = read_certificate_collection(&bytes[..100]).unwrap_err();
    assert!(
        matches!(
            err,
            CollectionError::Sst(SstError::LengthPastEnd { offset: 8, .. })
        ),
        "{err:?}"
    );
    // "CERT" at offset 4 with a non-zero first word is still recognised as a (bad) SST.
    let mut bad = bytes.clone();
    bad[0] = 0x30;
    let err = read_certificate_collection(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            CollectionError::Sst(SstError::BadMagic { offset: 0, .. })
        ),
        "{err:?}"
    );
}

#[test]
fn detects_single_der_certificate() {
    let collection = read_certificate_collection(TINY).unwrap();
    assert_eq!(collection.format, CollectionFormat::Der);
    assert_eq!(collection.ders(), vec![TINY]);
    assert!(collection.notes.is_empty());
    assert_eq!(collection.format_description(), "single DER certificate");
}

#[test]
fn detects_pem_bundle_with_preamble_and_skips_other_blocks() {
    let rsa = vector("rfc9216/ca.rsa.crt");
    let ed = vector("rfc9216/ca.25519.crt");
    let key = vector("rfc9216/ca.25519.key");
    let mut bundle = b"Subject: whatever openssl x509 -text printed\n".to_vec();
    bundle.extend_from_slice(&rsa);
    bundle.extend_from_slice(&key);
    bundle.extend_from_slice(&ed);
    let collection = read_certificate_collection(&bundle).unwrap();
    assert_eq!(collection.format, CollectionFormat::Pem);
    assert!(collection.pem_armored);
    assert_eq!(
        collection.ders(),
        vec![pem_to_der(&rsa).as_slice(), pem_to_der(&ed).as_slice()]
    );
    assert_eq!(
        thumbprints(&collection),
        vec![
            "C4C7D3DF10C5C9F8D2341D8C69B730D6EBBE9EDD",
            "35B72E0C8B54CEB561D837D81AB6F379CC71A220"
        ]
    );
    assert!(
        matches!(&collection.notes[..], [CollectionNote::PemSkipped { label, .. }] if label == "PRIVATE KEY"),
        "{:?}",
        collection.notes
    );
}

#[test]
fn pem_with_crlf_line_endings() {
    let rsa = vector("rfc9216/ca.rsa.crt");
    let crlf: Vec<u8> = String::from_utf8(rsa.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    let collection = read_certificate_collection(&crlf).unwrap();
    assert_eq!(collection.ders(), vec![pem_to_der(&rsa).as_slice()]);
}

#[test]
fn detects_der_pkcs7_and_keeps_file_order() {
    let rsa = pem_to_der(&vector("rfc9216/ca.rsa.crt"));
    let ed = pem_to_der(&vector("rfc9216/ca.25519.crt"));
    // `cms` sorts the SET on encode, so compute which order the file really has.
    let bytes = p7b(&[&rsa, &ed, TINY]);
    let collection = read_certificate_collection(&bytes).unwrap();
    assert_eq!(collection.format, CollectionFormat::Pkcs7);
    assert!(!collection.pem_armored);
    assert_eq!(collection.certificates.len(), 3);
    let positions: Vec<usize> = collection
        .certificates
        .iter()
        .map(|c| {
            bytes
                .windows(c.der.len())
                .position(|w| w == c.der.as_slice())
                .expect("exact certificate bytes occur in the file")
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "file order: {positions:?}"
    );
    assert!(collection.notes.is_empty(), "{:?}", collection.notes);
}

#[test]
fn detects_pem_pkcs7() {
    let bytes = p7b(&[TINY]);
    let pem = der::pem::encode_string("PKCS7", der::pem::LineEnding::LF, &bytes).unwrap();
    let collection = read_certificate_collection(pem.as_bytes()).unwrap();
    assert_eq!(collection.format, CollectionFormat::Pkcs7);
    assert!(collection.pem_armored);
    assert_eq!(collection.ders(), vec![TINY]);
    assert_eq!(
        collection.format_description(),
        "PKCS#7 certificates (.p7b), PEM-armored"
    );
}

#[test]
fn pkcs7_that_is_not_signed_data_is_refused() {
    let info = ContentInfo {
        content_type: const_oid::db::rfc5911::ID_DATA,
        content: der::Any::encode_from(&der::asn1::OctetString::new(b"x".to_vec()).unwrap())
            .unwrap(),
    }
    .to_der()
    .unwrap();
    let err = read_certificate_collection(&info).unwrap_err();
    assert!(
        matches!(err, CollectionError::Pkcs7NotSignedData { .. }),
        "{err:?}"
    );
}

#[test]
fn signed_message_certificates_are_taken_with_a_note() {
    // An NSS-signed S/MIME signature (a SignedData with a signer), as a real p7s.
    let eml = vector("rfc4134/4.2.bin");
    let collection = read_certificate_collection(&eml).unwrap();
    assert_eq!(collection.format, CollectionFormat::Pkcs7);
    assert!(!collection.certificates.is_empty());
    assert!(
        collection
            .notes
            .iter()
            .any(|n| matches!(n, CollectionNote::Pkcs7Signers { count: 1 })),
        "{:?}",
        collection.notes
    );
}

#[test]
fn unknown_and_empty_inputs() {
    assert!(matches!(
        read_certificate_collection(b""),
        Err(CollectionError::Empty)
    ));
    let err = read_certificate_collection(b"hello world").unwrap_err();
    assert!(
        matches!(err, CollectionError::UnknownFormat { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("the text \"hello wo\""), "{err}");
    // Binary is named, never shown: the wrong file may be a raw private key.
    let secret = [0x04, 0x20, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03];
    let err = read_certificate_collection(&secret).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("starts with binary data"), "{text}");
    assert!(!text.to_ascii_lowercase().contains("dead"), "{text}");
}

#[test]
fn pem_errors() {
    let err = read_certificate_collection(b"x\n-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap_err();
    assert!(
        matches!(err, CollectionError::PemUnterminated { offset: 2, .. }),
        "{err:?}"
    );

    let key = vector("rfc9216/ca.25519.key");
    let err = read_certificate_collection(&key).unwrap_err();
    assert!(
        matches!(err, CollectionError::PemNoCertificates { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("PRIVATE KEY"), "{err}");

    let not_a_cert =
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, b"\x30\x00").unwrap();
    let err = read_certificate_collection(not_a_cert.as_bytes()).unwrap_err();
    assert!(
        matches!(err, CollectionError::PemCertificate { offset: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn der_that_is_neither_certificate_nor_pkcs7() {
    let err = read_certificate_collection(b"\x30\x03\x02\x01\x01").unwrap_err();
    assert!(matches!(err, CollectionError::Certificate(_)), "{err:?}");
    let err = read_certificate_collection(b"\x30\x85").unwrap_err();
    assert!(matches!(err, CollectionError::DerHeader(_)), "{err:?}");
}

// ---- robustness: the fuzz seed corpus, and a deterministic mutation loop over it ---------------

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/sst_read");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list the seed corpus {dir}: {e}"))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect();
    files.sort();
    files
}

/// What must hold for any input: no panic, and an Ok collection has parseable certificates.
fn check(bytes: &[u8]) {
    if let Ok(collection) = read_certificate_collection(bytes) {
        for c in &collection.certificates {
            assert!(Certificate::from_der(&c.der).is_ok());
            let _ = crate::certificate::subject_string(&c.certificate);
            let _ = crate::certificate::not_after(&c.certificate);
        }
        for note in &collection.notes {
            let _ = note.to_string();
        }
        // Whatever was read can be written back as a store, and reads back the same.
        let sst = write_sst(&collection.ders()).expect("read certificates are writable");
        let again = read_certificate_collection(&sst).expect("a store we wrote reads back");
        assert_eq!(again.ders(), collection.ders());
    }
}

#[test]
fn seed_corpus_reads_as_labelled() {
    let corpus = corpus();
    assert!(corpus.len() >= 8, "seed corpus too small: {}", corpus.len());
    for (name, bytes) in &corpus {
        let result = read_certificate_collection(bytes);
        // Seeds are named valid-* or bad-*: both kinds must stay what they claim to be.
        if name.starts_with("valid-") {
            assert!(result.is_ok(), "{name}: {:?}", result.err());
        } else if name.starts_with("bad-") {
            assert!(result.is_err(), "{name} unexpectedly read");
        } else {
            panic!("corpus file {name} should be named valid-* or bad-*");
        }
    }
}

#[test]
fn mutated_corpus_never_panics() {
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next() % n as u64) as usize
            }
        }
    }
    const INTERESTING_U32: [u32; 8] = [0, 1, 0x20, 0x21, 0x22, 0xFFFF, 0x7FFF_FFFF, u32::MAX];

    let seeds = corpus();
    let mut rng = XorShift(0x5EED_0F55_7202_6001);
    for round in 0..10_000 {
        let (_, seed) = &seeds[round % seeds.len()];
        let mut bytes = seed.clone();
        for _ in 0..=rng.below(3) {
            let len = bytes.len();
            match rng.below(6) {
                0 if len > 0 => {
                    let at = rng.below(len);
                    bytes[at] ^= 1 << rng.below(8);
                }
                1 if len > 0 => {
                    let at = rng.below(len);
                    bytes[at] = [0x00, 0xFF, 0x30, 0x80, 0x81, 0x84][rng.below(6)];
                }
                2 => bytes.truncate(rng.below(len + 1)),
                3 if len >= 4 => {
                    let at = rng.below(len - 3);
                    let value = INTERESTING_U32[rng.below(INTERESTING_U32.len())];
                    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
                }
                4 => {
                    let at = rng.below(len + 1);
                    let insert: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                    bytes.splice(at..at, insert);
                }
                _ if len > 0 => {
                    let from = rng.below(len);
                    let to = (from + rng.below(64)).min(len);
                    let chunk = bytes[from..to].to_vec();
                    let at = rng.below(len + 1);
                    bytes.splice(at..at, chunk);
                }
                _ => {}
            }
        }
        check(&bytes);
    }
}
