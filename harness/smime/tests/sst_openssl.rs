//! Interop for certificate collections against OpenSSL (certutil, which writes .sst, is
//! Windows-only): .p7b files written by `openssl crl2pkcs7 -nocrl -certfile`, in DER and PEM,
//! must read back as exactly the certificates OpenSSL was given, in order, and the facts we
//! report (thumbprint, NotAfter, subject) must agree with `openssl x509`.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use der::Decode as _;
use smime::certificate::{not_after, sha1_thumbprint, subject_string};
use smime::sst::{CollectionFormat, read_certificate_collection, write_sst};
use test_support::{fixture, run_openssl, vector, vector_path};
use x509_cert::Certificate;

const INPUTS: [&str; 4] = [
    "rfc9216/ca.rsa.crt",
    "rfc9216/ca.25519.crt",
    "rfc9216/alice.sign.crt",
    "rfc9216/carlos.encrypt.crt",
];

fn input_ders() -> Vec<Vec<u8>> {
    INPUTS
        .iter()
        .map(|p| der::pem::decode_vec(&vector(p)).unwrap().1)
        .collect()
}

fn crl2pkcs7(outform: &str) -> Vec<u8> {
    let mut args = vec!["crl2pkcs7", "-nocrl", "-outform", outform];
    let paths: Vec<String> = INPUTS
        .iter()
        .map(|p| vector_path(p).display().to_string())
        .collect();
    for path in &paths {
        args.push("-certfile");
        args.push(path);
    }
    run_openssl(&args)
}

#[test]
fn reads_openssl_crl2pkcs7_der() {
    let p7b = crl2pkcs7("DER");
    let collection = read_certificate_collection(&p7b).unwrap();
    assert_eq!(collection.format, CollectionFormat::Pkcs7);
    assert!(!collection.pem_armored);
    let expected = input_ders();
    assert_eq!(
        collection.ders(),
        expected.iter().map(Vec::as_slice).collect::<Vec<_>>()
    );
    assert!(collection.notes.is_empty(), "{:?}", collection.notes);
}

#[test]
fn reads_openssl_crl2pkcs7_pem() {
    let p7b = crl2pkcs7("PEM");
    assert!(p7b.starts_with(b"-----BEGIN PKCS7-----"));
    let collection = read_certificate_collection(&p7b).unwrap();
    assert_eq!(collection.format, CollectionFormat::Pkcs7);
    assert!(collection.pem_armored);
    let expected = input_ders();
    assert_eq!(
        collection.ders(),
        expected.iter().map(Vec::as_slice).collect::<Vec<_>>()
    );
}

#[test]
fn p7b_converts_to_an_sst_with_the_same_certificates() {
    let collection = read_certificate_collection(&crl2pkcs7("DER")).unwrap();
    let sst = write_sst(&collection.ders()).unwrap();
    let back = read_certificate_collection(&sst).unwrap();
    assert_eq!(back.format, CollectionFormat::Sst);
    assert_eq!(back.ders(), collection.ders());
}

/// Our thumbprint, NotAfter and subject agree with `openssl x509` for every input certificate.
#[test]
fn certificate_facts_agree_with_openssl_x509() {
    let mut paths: Vec<PathBuf> = INPUTS.iter().map(|p| vector_path(p)).collect();
    paths.push(fixture("sst/tiny-124.der"));
    for path in paths {
        let bytes = std::fs::read(&path).unwrap();
        let collection = read_certificate_collection(&bytes).unwrap();
        let [certificate] = &collection.certificates[..] else {
            panic!("{} should hold one certificate", path.display());
        };
        let inform = if collection.pem_armored { "PEM" } else { "DER" };
        let path_str = path.display().to_string();
        let out = String::from_utf8(run_openssl(&[
            "x509",
            "-inform",
            inform,
            "-in",
            &path_str,
            "-noout",
            "-fingerprint",
            "-sha1",
            "-enddate",
            "-subject",
            "-nameopt",
            "RFC2253",
        ]))
        .unwrap();
        let field = |prefix: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in {out}"))
                .to_owned()
        };

        let openssl_thumbprint = field("sha1 Fingerprint=").replace(':', "");
        assert_eq!(
            sha1_thumbprint(&certificate.der),
            openssl_thumbprint,
            "{path_str}"
        );

        let openssl_not_after = time::PrimitiveDateTime::parse(
            &field("notAfter="),
            time::macros::format_description!(
                "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT"
            ),
        )
        .unwrap()
        .assume_utc();
        assert_eq!(
            not_after(&certificate.certificate),
            openssl_not_after,
            "{path_str}"
        );

        assert_eq!(
            subject_string(&certificate.certificate),
            field("subject="),
            "{path_str}"
        );
        assert!(Certificate::from_der(&certificate.der).is_ok());
    }
}
