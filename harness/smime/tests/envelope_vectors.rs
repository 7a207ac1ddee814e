//! Decryption of encrypted messages made by other software (RFC 4134, the LAMPS RFC 9216 examples,
//! Thunderbird/NSS, Thunderbird 52, Outlook 16, Thunderbird 128): what we decrypt must equal what
//! OpenSSL decrypts, and what we cannot do must be a clear error, never a crash.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod envelope_support;

use envelope_support::*;
use smime::cms::envelope::{
    self, ContentCipher, DecryptError, KeyManagement, RecipientMatch, decrypt_message,
};

#[test]
fn rfc4134_5_1_triple_des_key_transport() {
    let dir = vector_path("rfc4134");
    let der = read(dir.join("5.1.bin"));
    let cert = cert(dir.join("BobRSASignByCarl.cer"));
    let key = key(dir.join("BobPrivRSAEncrypt.pri"));
    let d = envelope::decrypt(&der, &cert, &key).unwrap();
    assert_eq!(d.content, read(dir.join("ExContent.bin")));
    assert_eq!(d.content_cipher, ContentCipher::DesEde3Cbc);
    assert!(d.weak);
    assert_eq!(d.key_management, KeyManagement::RsaPkcs1v15);
    assert_eq!(d.recipient_matched_by, RecipientMatch::IssuerSerial);
}

#[test]
fn rfc4134_5_2_rc2_40_key_transport_matches_openssl_legacy() {
    let dir = vector_path("rfc4134");
    let der = read(dir.join("5.2.bin"));
    let cert = cert(dir.join("BobRSASignByCarl.cer"));
    let key = key(dir.join("BobPrivRSAEncrypt.pri"));
    let d = envelope::decrypt(&der, &cert, &key).unwrap();
    assert_eq!(d.content_cipher, ContentCipher::Rc2Cbc40);
    assert!(d.weak);
    assert_eq!(d.content, read(dir.join("ExContent.bin")));

    let tmp = tempfile::tempdir().unwrap();
    let key_pem = write(
        tmp.path(),
        "bob.pem",
        key.to_pkcs8_pem().unwrap().as_bytes(),
    );
    let (c, k, i) = (
        dir.join("BobRSASignByCarl.cer"),
        key_pem,
        dir.join("5.2.bin"),
    );
    let mut args = vec![
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        i.to_str().unwrap(),
    ];
    args.extend_from_slice(&["-recip", c.to_str().unwrap(), "-inkey", k.to_str().unwrap()]);
    args.extend_from_slice(&LEGACY);
    assert_eq!(run_openssl(&args), d.content);
}

fn ireland(name: &str) -> Vec<u8> {
    read(vector_path("cms-examples-ireland/binary-files").join(format!("{name}.p7m")))
}

fn lamps_bob() -> (x509_cert::Certificate, smime::key::PrivateKey) {
    let dir = vector_path("cms-examples-ireland/certs-and-keys");
    (
        cert(dir.join("lamps-bob.encrypt.crt")),
        key(dir.join("lamps-bob.decrypt.p8.pem")),
    )
}

fn openssl_decrypt_der(
    der_path: &std::path::Path,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Vec<u8> {
    run_openssl(&[
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        der_path.to_str().unwrap(),
        "-recip",
        cert.to_str().unwrap(),
        "-inkey",
        key.to_str().unwrap(),
    ])
}

#[test]
fn lamps_rsa_oaep_sha256_matches_openssl() {
    let (cert, key) = lamps_bob();
    let dir = vector_path("cms-examples-ireland");
    for name in ["encryptedForBobRSAOaep", "encryptedForBobAndDana"] {
        let d = envelope::decrypt(&ireland(name), &cert, &key).unwrap();
        let KeyManagement::RsaOaep(oaep) = &d.key_management else {
            panic!("{name}: {:?}", d.key_management);
        };
        assert_eq!(oaep.hash, envelope::OaepHash::Sha256);
        assert_eq!(oaep.mgf1_hash, envelope::OaepHash::Sha256);
        assert_eq!(d.content_cipher, ContentCipher::Aes128Cbc);
        assert!(!d.weak);
        let theirs = openssl_decrypt_der(
            &dir.join(format!("binary-files/{name}.p7m")),
            &dir.join("certs-and-keys/lamps-bob.encrypt.crt"),
            &dir.join("certs-and-keys/lamps-bob.decrypt.p8.pem"),
        );
        assert_eq!(d.content, theirs, "{name}");
    }
}

#[test]
fn chacha20_and_x25519_are_unsupported_not_a_crash() {
    let (bob_cert, bob_key) = lamps_bob();
    let err = envelope::decrypt(
        &ireland("authEnvelopedForBobChaCha20Poly1305"),
        &bob_cert,
        &bob_key,
    )
    .unwrap_err();
    assert!(
        matches!(&err, DecryptError::Unsupported { what } if what.contains("ChaCha20")),
        "{err}"
    );

    let dana = cert(vector_path(
        "cms-examples-ireland/certs-and-keys/lamps-dana.encrypt.crt",
    ));
    for name in ["authEnvelopedForDanaX25519HKDF", "encryptedForBobAndDana"] {
        // Dana's X25519 key cannot be loaded, so any key stands in: the algorithm check comes
        // first and names X25519.
        match envelope::decrypt(&ireland(name), &dana, &bob_key) {
            Err(DecryptError::Unsupported { what }) => assert!(what.contains("X25519"), "{what}"),
            other => panic!("{name}: expected Unsupported, got {other:?}"),
        }
    }
    assert!(matches!(
        envelope::decrypt(
            &ireland("authEnvelopedForDanaX25519HKDF"),
            &bob_cert,
            &bob_key
        ),
        Err(DecryptError::NotARecipient { .. })
    ));
    assert!(matches!(
        envelope::decrypt(&ireland("encryptedKekri"), &bob_cert, &bob_key),
        Err(DecryptError::NotARecipient { .. })
    ));
    assert!(matches!(
        envelope::decrypt(&ireland("signedByAliceRSA"), &bob_cert, &bob_key),
        Err(DecryptError::NotEnveloped { .. })
    ));
}

/// Decrypts an .eml with our code and with `openssl cms -decrypt`; both must agree.
fn agree_with_openssl(
    eml: &std::path::Path,
    cert_path: &std::path::Path,
    key_path: &std::path::Path,
) -> envelope::Decrypted {
    let message = read(eml);
    let d = decrypt_message(&message, &cert(cert_path), &key(key_path))
        .unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
    let mut args = vec!["cms", "-decrypt", "-in", eml.to_str().unwrap()];
    args.extend_from_slice(&[
        "-recip",
        cert_path.to_str().unwrap(),
        "-inkey",
        key_path.to_str().unwrap(),
    ]);
    args.extend_from_slice(&LEGACY);
    let theirs = run_openssl(&args);
    assert_eq!(
        String::from_utf8_lossy(&d.content),
        String::from_utf8_lossy(&theirs),
        "{}",
        eml.display()
    );
    d
}

#[test]
fn thunderbird_nss_enveloped_messages() {
    let dir = vector_path("thunderbird-nss");
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = from_p12(&dir.join("Bob.p12"), "nss", tmp.path());
    for name in ["alice.env.eml", "alice.sig.SHA256.opaque.env.eml"] {
        let d = agree_with_openssl(&dir.join(name), &cert, &key);
        assert_eq!(d.key_management, KeyManagement::RsaPkcs1v15);
        assert!(!d.weak, "{name}: {:?}", d.content_cipher);
    }
}

#[test]
fn thunderbird_52_triple_des_messages() {
    let dir = vector_path("simplejavamail-tb52");
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = from_p12(&dir.join("smime_test_user.p12"), "letmein", tmp.path());
    for name in [
        "S_MIME_test_message_encrypted.eml",
        "S_MIME_test_message_signed_and_encrypted.eml",
    ] {
        let d = agree_with_openssl(&dir.join(name), &cert, &key);
        assert_eq!(d.content_cipher, ContentCipher::DesEde3Cbc, "{name}");
        assert!(d.weak);
    }
}

#[test]
fn outlook_16_and_thunderbird_128_messages() {
    let dir = vector_path("hiraoka-tb128-outlook16");
    let smime2 = (
        dir.join("certs__smime-2.crt"),
        dir.join("certs__smime-2.key"),
    );
    let smime1 = (
        dir.join("certs__smime-1.crt"),
        dir.join("certs__smime-1.key"),
    );
    for (name, (cert, key), cipher) in [
        (
            "received-at-smime2__Message_from_smime1_to_smime2_encrypted.eml",
            &smime2,
            ContentCipher::Aes256Cbc,
        ),
        (
            "received-at-smime2__Message_from_smime1_to_smime2_signed_and_encrypted.eml",
            &smime2,
            ContentCipher::Aes256Cbc,
        ),
        (
            "received-at-smime2__Writing_from_smime1_to_smime2_encrypted.eml",
            &smime2,
            ContentCipher::Aes128Cbc,
        ),
        (
            "received-at-smime2__Writing_from_smime1_to_smime2_signed_and_encrypted.eml",
            &smime2,
            ContentCipher::Aes128Cbc,
        ),
        // Both clients also encrypt to the sender: smime1 can read its own sent mail.
        (
            "received-at-smime2__Message_from_smime1_to_smime2_encrypted.eml",
            &smime1,
            ContentCipher::Aes256Cbc,
        ),
        (
            "sent-from-smime1__Writing_from_smime1_to_smime2_encrypted.eml",
            &smime1,
            ContentCipher::Aes128Cbc,
        ),
        (
            "sent-from-smime1__Writing_from_smime1_to_smime2_signed_and_encrypted.eml",
            &smime2,
            ContentCipher::Aes128Cbc,
        ),
    ] {
        let d = agree_with_openssl(&dir.join(name), cert, key);
        assert_eq!(d.content_cipher, cipher, "{name}");
        assert_eq!(d.key_management, KeyManagement::RsaPkcs1v15);
    }
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused_up_front() {
    let dir = vector_path("hiraoka-tb128-outlook16");
    let message = read(dir.join("received-at-smime2__Message_from_smime1_to_smime2_encrypted.eml"));
    let err = decrypt_message(
        &message,
        &cert(dir.join("certs__smime-2.crt")),
        &key(dir.join("certs__smime-1.key")),
    )
    .unwrap_err();
    assert!(matches!(err, DecryptError::KeyMismatch { .. }), "{err}");
    // A recipient who is not on the message is told who is.
    let (bob_cert, bob_key) = lamps_bob();
    let err = decrypt_message(&message, &bob_cert, &bob_key).unwrap_err();
    assert!(
        matches!(&err, DecryptError::NotARecipient { theirs, .. } if theirs.contains("CA 20240817143342")),
        "{err}"
    );
    // A plain message is not an encrypted one.
    let plain = read(dir.join("received-at-smime2__Message_from_smime1_to_smime2_plain.eml"));
    assert!(matches!(
        decrypt_message(&plain, &bob_cert, &bob_key),
        Err(DecryptError::NotSmime { .. })
    ));
}
