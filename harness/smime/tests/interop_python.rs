//! Interoperability with Python `cryptography` (its PKCS#7 signer is rust-openssl-free Rust
//! code of its own since 42): we verify what `PKCS7SignatureBuilder` signs with PKCS#1 v1.5,
//! PSS and ECDSA, detached and opaque. `cryptography` has no S/MIME verification API (its pkcs7
//! module loads certificates, signs, encrypts and decrypts), so it is a signing peer only.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::*;
use smime::cms::{Status, verify_message};

const SCRIPT: &str = r#"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import pkcs7

cert_path, key_path, hash_name, pad, mode, out_path = sys.argv[1:7]
cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)
hash_alg = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[hash_name]
rsa_padding = None
if pad == "pss":
    rsa_padding = padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=padding.PSS.DIGEST_LENGTH)
elif pad == "pkcs1":
    rsa_padding = padding.PKCS1v15()
text = b"Signed by Python cryptography.\nSecond line.\n"
if mode == "detached":
    # Text adds the Content-Type header to the signed part (it requires a detached signature).
    data, options = text, [pkcs7.PKCS7Options.Text, pkcs7.PKCS7Options.DetachedSignature]
else:
    # Opaque: the signed content is a MIME entity of its own.
    data, options = b"Content-Type: text/plain\r\n\r\n" + text.replace(b"\n", b"\r\n"), []
builder = pkcs7.PKCS7SignatureBuilder().set_data(data)
builder = builder.add_signer(cert, key, hash_alg, rsa_padding=rsa_padding)
out = builder.sign(serialization.Encoding.SMIME, options)
open(out_path, "wb").write(out)
"#;

#[test]
fn we_verify_what_python_cryptography_signs() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "sign.py", SCRIPT.as_bytes());
    let (ec_ca, _) = openssl_ecdsa_signer(dir.path(), "P-256", "erin@example.test");
    let now = time::OffsetDateTime::now_utc();
    let alice_crt = vector_path("rfc9216/alice.sign.crt");
    let alice_key = vector_path("rfc9216/alice.sign.key");
    let ec_crt = dir.path().join("ee-P-256.pem");
    let ec_key = dir.path().join("ee-P-256.key");
    let cases = [
        (
            "rsa-pkcs1-sha256-detached",
            false,
            "sha256",
            "pkcs1",
            "detached",
        ),
        (
            "rsa-pkcs1-sha384-opaque",
            false,
            "sha384",
            "pkcs1",
            "opaque",
        ),
        (
            "rsa-pss-sha256-detached",
            false,
            "sha256",
            "pss",
            "detached",
        ),
        ("rsa-pss-sha512-opaque", false, "sha512", "pss", "opaque"),
        (
            "ecdsa-p256-sha256-detached",
            true,
            "sha256",
            "none",
            "detached",
        ),
        ("ecdsa-p256-sha384-opaque", true, "sha384", "none", "opaque"),
    ];
    for (name, ec, hash, pad, mode) in cases {
        let out = dir.path().join(format!("{name}.eml"));
        let (crt, key) = if ec {
            (&ec_crt, &ec_key)
        } else {
            (&alice_crt, &alice_key)
        };
        run_ok(
            Command::new(&python)
                .arg(&script)
                .args([crt, key])
                .args([hash, pad, mode])
                .arg(&out),
        );
        let from = if ec {
            "From: Erin <erin@example.test>\r\n"
        } else {
            "From: Alice <alice@smime.example>\r\n"
        };
        let mut message = from.as_bytes().to_vec();
        message.extend_from_slice(&std::fs::read(&out).unwrap());
        let anchors = if ec { ec_ca.clone() } else { rfc9216_ca() };
        let verdict = verify_message(&message, &context(anchors, now));
        assert_eq!(
            verdict.status,
            Status::Valid,
            "{name}: {}\n{}",
            verdict.to_text(),
            String::from_utf8_lossy(&message)
        );
        if pad == "pss" {
            assert!(
                verdict.signature_algorithm.unwrap().contains("PSS"),
                "{name}"
            );
        }
    }
}
