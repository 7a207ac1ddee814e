//! Shared helpers for the S/MIME signing tests: the RFC 9216 signers, the messages they sign, small
//! MIME wrappers for CMS objects other tools produce, and signers made by OpenSSL. Where the vectors
//! are and how peers run is `test_support`'s job (re-exported here for the tests' glob import).
#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;

use smime::cms::mime;
use smime::cms::{Signer, VerifyContext};
use test_support::openssl_ca::{
    Ca, ISSUING_CA_EXTENSIONS, Issued, Key, Profile, ROOT_EXTENSIONS, user_extensions,
};
#[allow(unused_imports)] // as with the functions below, each test binary uses a subset
pub use test_support::{openssl, python, run_any, run_ok, run_openssl, vector, vector_path, write};
use x509_cert::Certificate;

/// The lab's fixed clock for the RFC 9216 material (valid 2019-2052).
pub const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-23 10:00 UTC);

pub fn certs(relative: &str) -> Vec<Certificate> {
    smime::certificate::parse_certificates(&vector(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

pub fn rfc9216_ca() -> Vec<Certificate> {
    certs("rfc9216/ca.rsa.crt")
}

/// Alice of RFC 9216 (RSA-2048), with the sample CA as her chain and her encryption
/// certificate in the key preference attributes.
pub fn alice() -> Signer {
    Signer {
        certificate: certs("rfc9216/alice.sign.crt").remove(0),
        key: smime::key::PrivateKey::from_pem_or_der(&vector("rfc9216/alice.sign.key")).unwrap(),
        chain: rfc9216_ca(),
        encryption_certificate: Some(certs("rfc9216/alice.encrypt.crt").remove(0)),
    }
}

pub fn bob() -> Signer {
    Signer {
        certificate: certs("rfc9216/bob.sign.crt").remove(0),
        key: smime::key::PrivateKey::from_pem_or_der(&vector("rfc9216/bob.sign.key")).unwrap(),
        chain: rfc9216_ca(),
        encryption_certificate: Some(certs("rfc9216/bob.encrypt.crt").remove(0)),
    }
}

pub fn context(anchors: Vec<Certificate>, now: time::OffsetDateTime) -> VerifyContext {
    VerifyContext::new(anchors, now)
}

/// The body every signing test uses: 8-bit text (re-encoded before signing), and a line
/// starting with "From " (which mbox tools would mangle).
pub const BODY_ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Gr\xc3\xbc\xc3\x9fe Bob,\r\n\
the figures are attached in my head.\r\n\
From here on, everything is signed.\r\n";

/// A plain message from `from` (a mailbox as written in the From field), as a client hands it
/// to the signer.
pub fn message_from(from: &str) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\n\
To: Bob Babbage <bob@smime.example>\r\n\
Subject: Quarterly figures\r\n\
Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <figures-1@smime.example>\r\n"
    )
    .into_bytes();
    m.extend_from_slice(BODY_ENTITY);
    m
}

pub fn alice_message() -> Vec<u8> {
    message_from("Alice Lovelace <alice@smime.example>")
}

/// The exact signed bytes (first part) and the DER signature of a clear-signed message.
pub fn split_clear_signed(message: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let entity = mime::Entity::parse(message).unwrap();
    let ct = entity.content_type().unwrap();
    assert_eq!(ct.essence, "multipart/signed");
    let parts = mime::split_multipart(entity.body(), ct.param("boundary").unwrap()).unwrap();
    let signature = mime::Entity::parse(parts.parts[1])
        .unwrap()
        .decoded_body()
        .unwrap()
        .into_owned();
    (mime::to_crlf(parts.parts[0]).into_owned(), signature)
}

/// The DER SignedData of an opaque-signed message.
pub fn opaque_der(message: &[u8]) -> Vec<u8> {
    mime::Entity::parse(message)
        .unwrap()
        .decoded_body()
        .unwrap()
        .into_owned()
}

/// Wraps a detached DER signature made by another tool around its content, as a mail client
/// would send it.
pub fn wrap_detached(from: &str, content: &[u8], signature_der: &[u8], micalg: &str) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: bob@smime.example\r\nSubject: interop\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg={micalg}; boundary=\"peer-boundary-1\"\r\n\r\n\
--peer-boundary-1\r\n"
    )
    .into_bytes();
    m.extend_from_slice(content);
    m.extend_from_slice(
        b"\r\n--peer-boundary-1\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    m.extend_from_slice(&mime::encode_base64_lines(signature_der));
    m.extend_from_slice(b"\r\n--peer-boundary-1--\r\n");
    m
}

/// Wraps an opaque DER SignedData made by another tool as application/pkcs7-mime.
pub fn wrap_opaque(from: &str, der: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: bob@smime.example\r\nSubject: interop\r\nMIME-Version: 1.0\r\n\
Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n\
Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    m.extend_from_slice(&mime::encode_base64_lines(der));
    m
}

/// An ECDSA CA and a signer under it, made by openssl in `dir` (valid from now for a year), with
/// the S/MIME profile: digitalSignature, emailProtection, the address in subjectAltName.
pub fn openssl_ecdsa_signer(dir: &Path, curve: &str, email: &str) -> (Vec<Certificate>, Signer) {
    let ca = Ca::self_signed(
        dir,
        &format!("ca-{curve}"),
        &Profile::new(
            format!("/O=smime-lab tests/CN=Test {curve} CA"),
            Key::Ec(curve.to_owned()),
        )
        .extensions(ROOT_EXTENSIONS),
    );
    let ee = ca.issue(
        &format!("ee-{curve}"),
        &Profile::new(
            format!("/O=smime-lab tests/CN={email}"),
            Key::Ec(curve.to_owned()),
        )
        .extensions(user_extensions(email, "digitalSignature")),
    );
    let ca_certificates = smime::certificate::parse_certificates(&ca.issued.cert_pem()).unwrap();
    let signer = Signer {
        certificate: load_certificate(&ee),
        key: smime::key::PrivateKey::from_pem_or_der(&ee.key_pem()).unwrap(),
        chain: ca_certificates.clone(),
        encryption_certificate: None,
    };
    (ca_certificates, signer)
}

/// A root, an issuing intermediate and an RSA-2048 user under it, made by openssl in `dir`
/// (valid from now for a year). Returns (root, intermediate, signer with chain [intermediate,
/// root]).
pub fn openssl_rsa_three_level(dir: &Path, email: &str) -> (Certificate, Certificate, Signer) {
    let root = Ca::self_signed(
        dir,
        "root",
        &Profile::new("/O=smime-lab tests/CN=Test Root", Key::Rsa(2048))
            .extensions(ROOT_EXTENSIONS),
    );
    let int = root.issue_ca(
        "int",
        &Profile::new("/O=smime-lab tests/CN=Test Issuing CA", Key::Rsa(2048))
            .extensions(ISSUING_CA_EXTENSIONS),
    );
    let user = int.issue(
        "user",
        &Profile::new(format!("/O=smime-lab tests/CN={email}"), Key::Rsa(2048))
            .extensions(user_extensions(email, "digitalSignature,keyEncipherment")),
    );
    let (root, int) = (
        load_certificate(&root.issued),
        load_certificate(&int.issued),
    );
    let signer = Signer {
        certificate: load_certificate(&user),
        key: smime::key::PrivateKey::from_pem_or_der(&user.key_pem()).unwrap(),
        chain: vec![int.clone(), root.clone()],
        encryption_certificate: None,
    };
    (root, int, signer)
}

fn load_certificate(issued: &Issued) -> Certificate {
    smime::certificate::parse_certificates(&issued.cert_pem())
        .unwrap()
        .remove(0)
}
