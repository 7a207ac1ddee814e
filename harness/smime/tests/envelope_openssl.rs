//! Encryption interop with OpenSSL 3 (`openssl cms`), both ways, over every combination both
//! sides support: RSA PKCS#1 v1.5 and OAEP (SHA-1, SHA-256), ECDH P-256/P-384, every content
//! cipher (the legacy ones through OpenSSL's legacy provider), recipients by issuer+serial and by
//! SKI.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod envelope_support;

use std::path::{Path, PathBuf};

use envelope_support::*;
use smime::cms::envelope::{
    self, ContentCipher, EncryptOptions, KdfHash, KeyManagement, KeyWrap, OaepHash, Recipient,
    RecipientIdType, RecipientMatch, RsaPadding,
};
use smime::rng::seeded;

const ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nTop secret: the lab works.\r\nSecond line \xc3\xa9.\r\n";

struct Party {
    cert: PathBuf,
    key: PathBuf,
}

fn bob() -> Party {
    let dir = fixture("vectors/rfc9216");
    Party {
        cert: dir.join("bob.encrypt.crt"),
        key: dir.join("bob.decrypt.key"),
    }
}

fn alice() -> Party {
    let dir = fixture("vectors/rfc9216");
    Party {
        cert: dir.join("alice.encrypt.crt"),
        key: dir.join("alice.decrypt.key"),
    }
}

fn ec_party(dir: &Path, curve: &str) -> Party {
    let (cert, key) = openssl_ec_cert(dir, &format!("ec-{curve}"), curve);
    Party { cert, key }
}

fn openssl_decrypt(der: &[u8], party: &Party, dir: &Path) -> Vec<u8> {
    let input = write(dir, "ours.der", der);
    let mut args = vec![
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        input.to_str().unwrap(),
        "-recip",
        party.cert.to_str().unwrap(),
        "-inkey",
        party.key.to_str().unwrap(),
    ];
    args.extend_from_slice(&LEGACY);
    run_openssl(&args)
}

fn options(cipher: ContentCipher, padding: RsaPadding, id: RecipientIdType) -> EncryptOptions {
    EncryptOptions {
        cipher,
        rsa_padding: padding,
        recipient_id: id,
        also_to_sender: None,
    }
}

const IDS: [RecipientIdType; 2] = [
    RecipientIdType::IssuerAndSerialNumber,
    RecipientIdType::SubjectKeyIdentifier,
];

#[test]
fn ours_to_openssl_rsa_every_padding_cipher_and_identifier() {
    let tmp = tempfile::tempdir().unwrap();
    let bob = bob();
    let recipient = Recipient::new(cert(&bob.cert));
    for padding in [
        RsaPadding::Pkcs1v15,
        RsaPadding::Oaep(OaepHash::Sha1),
        RsaPadding::Oaep(OaepHash::Sha256),
    ] {
        for cipher in ContentCipher::ALL {
            for id in IDS {
                let label = format!("ours-to-openssl/{padding:?}/{cipher:?}/{id:?}");
                let der = envelope::encrypt(
                    ENTITY,
                    std::slice::from_ref(&recipient),
                    &options(cipher, padding, id),
                    &mut seeded(&label),
                )
                .unwrap();
                assert_eq!(openssl_decrypt(&der, &bob, tmp.path()), ENTITY, "{label}");
            }
        }
    }
}

#[test]
fn ours_to_openssl_ecdh_p256_p384() {
    let tmp = tempfile::tempdir().unwrap();
    for curve in ["P-256", "P-384"] {
        let party = ec_party(tmp.path(), curve);
        let recipient = Recipient::new(cert(&party.cert));
        for cipher in [
            ContentCipher::Aes128Cbc,
            ContentCipher::Aes192Cbc,
            ContentCipher::Aes256Cbc,
            ContentCipher::Aes128Gcm,
            ContentCipher::Aes256Gcm,
            ContentCipher::DesEde3Cbc,
        ] {
            for id in IDS {
                let label = format!("ecdh/{curve}/{cipher:?}/{id:?}");
                let der = envelope::encrypt(
                    ENTITY,
                    std::slice::from_ref(&recipient),
                    &options(cipher, RsaPadding::Pkcs1v15, id),
                    &mut seeded(&label),
                )
                .unwrap();
                assert_eq!(openssl_decrypt(&der, &party, tmp.path()), ENTITY, "{label}");
                // And we read back what we wrote.
                let d = envelope::decrypt(&der, &cert(&party.cert), &key(&party.key)).unwrap();
                assert_eq!(d.content, ENTITY);
                let KeyManagement::Ecdh(ecdh) = d.key_management else {
                    panic!("{label}: {:?}", d.key_management)
                };
                assert_eq!(
                    ecdh.kdf,
                    if curve == "P-256" {
                        KdfHash::Sha256
                    } else {
                        KdfHash::Sha384
                    }
                );
            }
        }
    }
}

#[test]
fn ours_to_openssl_several_recipients_and_the_sender() {
    let tmp = tempfile::tempdir().unwrap();
    let (bob, alice, ec) = (bob(), alice(), ec_party(tmp.path(), "P-256"));
    let recipients = [
        Recipient::new(cert(&bob.cert)),
        Recipient::new(cert(&ec.cert)),
    ];
    let mut opts = options(
        ContentCipher::Aes256Gcm,
        RsaPadding::Oaep(OaepHash::Sha256),
        RecipientIdType::SubjectKeyIdentifier,
    );
    opts.also_to_sender = Some(cert(&alice.cert));
    let der = envelope::encrypt(ENTITY, &recipients, &opts, &mut seeded("multi")).unwrap();
    for party in [&bob, &alice, &ec] {
        assert_eq!(openssl_decrypt(&der, party, tmp.path()), ENTITY);
        let d = envelope::decrypt(&der, &cert(&party.cert), &key(&party.key)).unwrap();
        assert_eq!(d.recipient_matched_by, RecipientMatch::Ski);
        assert!(d.authenticated);
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let ec = ec_party(tmp.path(), "P-384");
    let recipients = [
        Recipient::new(cert(&bob().cert)),
        Recipient::new(cert(&ec.cert)),
    ];
    let opts = options(
        ContentCipher::Aes128Gcm,
        RsaPadding::Oaep(OaepHash::Sha256),
        RecipientIdType::IssuerAndSerialNumber,
    );
    let a = envelope::encrypt(ENTITY, &recipients, &opts, &mut seeded("x")).unwrap();
    let b = envelope::encrypt(ENTITY, &recipients, &opts, &mut seeded("x")).unwrap();
    let c = envelope::encrypt(ENTITY, &recipients, &opts, &mut seeded("y")).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn ours_to_openssl_whole_message() {
    let tmp = tempfile::tempdir().unwrap();
    let bob = bob();
    let message = b"From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\nBcc: secret@example.com\nSubject: lab\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <1@example.com>\nX-Mailer: test\nContent-Type: text/plain; charset=us-ascii\n\nhello\n";
    for cipher in [ContentCipher::Aes256Cbc, ContentCipher::Aes128Gcm] {
        let out = envelope::encrypt_message(
            message,
            &[Recipient::new(cert(&bob.cert))],
            &options(
                cipher,
                RsaPadding::Pkcs1v15,
                RecipientIdType::IssuerAndSerialNumber,
            ),
            &mut seeded("message"),
        )
        .unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("From: Alice <alice@example.com>\r\nTo: Bob <bob@example.com>\r\nSubject: lab\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@example.com>\r\nMIME-Version: 1.0\r\n"), "{text}");
        assert!(!text.contains("Bcc") && !text.contains("X-Mailer"));
        let smime_type = if cipher.is_aead() {
            "authEnveloped-data"
        } else {
            "enveloped-data"
        };
        assert!(text.contains(&format!(
            "Content-Type: application/pkcs7-mime; smime-type={smime_type}; name=smime.p7m\r\n"
        )));
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        assert!(body.split("\r\n").all(|l| l.len() <= 76));
        let eml = write(tmp.path(), "ours.eml", &out);
        let mut args = vec![
            "cms",
            "-decrypt",
            "-in",
            eml.to_str().unwrap(),
            "-recip",
            bob.cert.to_str().unwrap(),
            "-inkey",
            bob.key.to_str().unwrap(),
        ];
        args.extend_from_slice(&LEGACY);
        let theirs = run_openssl(&args);
        assert_eq!(
            theirs,
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\nhello\r\n"
        );
        let ours = envelope::decrypt_message(&out, &cert(&bob.cert), &key(&bob.key)).unwrap();
        assert_eq!(ours.content, theirs);
    }
}

/// `openssl cms -encrypt` of ENTITY in S/MIME form, then our decrypt_message. `-keyopt`s in
/// `extra` are moved after `-recip`, where OpenSSL wants them.
fn openssl_encrypt(party: &Party, extra: &[&str], dir: &Path) -> envelope::Decrypted {
    let keyopt_at = extra
        .iter()
        .position(|a| *a == "-keyopt")
        .unwrap_or(extra.len());
    let (before, keyopts) = extra.split_at(keyopt_at);
    let input = write(dir, "entity.txt", ENTITY);
    let out = dir.join("theirs.eml");
    let mut args = vec![
        "cms",
        "-encrypt",
        "-binary",
        "-in",
        input.to_str().unwrap(),
        "-out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(before);
    args.extend_from_slice(&LEGACY);
    args.extend_from_slice(&["-recip", party.cert.to_str().unwrap()]);
    args.extend_from_slice(keyopts);
    run_openssl(&args);
    let d = envelope::decrypt_message(&read(&out), &cert(&party.cert), &key(&party.key))
        .unwrap_or_else(|e| panic!("openssl {}: {e}", extra.join(" ")));
    assert_eq!(d.content, ENTITY, "openssl {}", extra.join(" "));
    d
}

const OPENSSL_CIPHERS: [(&str, ContentCipher); 11] = [
    ("-aes128", ContentCipher::Aes128Cbc),
    ("-aes192", ContentCipher::Aes192Cbc),
    ("-aes256", ContentCipher::Aes256Cbc),
    ("-aes-128-gcm", ContentCipher::Aes128Gcm),
    ("-aes-192-gcm", ContentCipher::Aes192Gcm),
    ("-aes-256-gcm", ContentCipher::Aes256Gcm),
    ("-des3", ContentCipher::DesEde3Cbc),
    ("-des", ContentCipher::DesCbc),
    ("-rc2-40", ContentCipher::Rc2Cbc40),
    ("-rc2-64", ContentCipher::Rc2Cbc64),
    ("-rc2-128", ContentCipher::Rc2Cbc128),
];

#[test]
fn openssl_to_ours_rsa_every_padding_cipher_and_identifier() {
    let tmp = tempfile::tempdir().unwrap();
    let bob = bob();
    let paddings: [&[&str]; 3] = [
        &[],
        &["-keyopt", "rsa_padding_mode:oaep"],
        &[
            "-keyopt",
            "rsa_padding_mode:oaep",
            "-keyopt",
            "rsa_oaep_md:sha256",
        ],
    ];
    for (i, padding) in paddings.iter().enumerate() {
        for (flag, cipher) in OPENSSL_CIPHERS {
            for keyid in [false, true] {
                let mut extra = vec![flag];
                if keyid {
                    extra.push("-keyid");
                }
                extra.extend_from_slice(padding);
                let d = openssl_encrypt(&bob, &extra, tmp.path());
                assert_eq!(d.content_cipher, cipher);
                assert_eq!(d.weak, cipher.is_weak());
                assert_eq!(
                    d.recipient_matched_by,
                    if keyid {
                        RecipientMatch::Ski
                    } else {
                        RecipientMatch::IssuerSerial
                    }
                );
                match (i, &d.key_management) {
                    (0, KeyManagement::RsaPkcs1v15) => {}
                    (1, KeyManagement::RsaOaep(o)) => assert_eq!(o.hash, OaepHash::Sha1),
                    (2, KeyManagement::RsaOaep(o)) => {
                        assert_eq!((o.hash, o.mgf1_hash), (OaepHash::Sha256, OaepHash::Sha256))
                    }
                    other => panic!("{extra:?}: {other:?}"),
                }
            }
        }
    }
}

#[test]
fn openssl_to_ours_ecdh() {
    let tmp = tempfile::tempdir().unwrap();
    for curve in ["P-256", "P-384"] {
        let party = ec_party(tmp.path(), curve);
        for kdf in [
            None,
            Some(("sha256", KdfHash::Sha256)),
            Some(("sha384", KdfHash::Sha384)),
        ] {
            for (flag, cipher) in [
                ("-aes128", ContentCipher::Aes128Cbc),
                ("-aes256", ContentCipher::Aes256Cbc),
                ("-aes-128-gcm", ContentCipher::Aes128Gcm),
                ("-des3", ContentCipher::DesEde3Cbc),
            ] {
                for keyid in [false, true] {
                    let kdf_opt = kdf.map(|(md, _)| format!("ecdh_kdf_md:{md}"));
                    let mut extra = vec![flag];
                    if keyid {
                        extra.push("-keyid");
                    }
                    if let Some(opt) = &kdf_opt {
                        extra.extend_from_slice(&["-keyopt", opt]);
                    }
                    let d = openssl_encrypt(&party, &extra, tmp.path());
                    assert_eq!(d.content_cipher, cipher);
                    let KeyManagement::Ecdh(e) = d.key_management else {
                        panic!("{extra:?}: {:?}", d.key_management)
                    };
                    // OpenSSL's default KDF hash is SHA-1.
                    assert_eq!(e.kdf, kdf.map_or(KdfHash::Sha1, |(_, k)| k), "{extra:?}");
                    let expected_wrap = match cipher {
                        ContentCipher::DesEde3Cbc => KeyWrap::TripleDes,
                        ContentCipher::Aes256Cbc => KeyWrap::Aes256,
                        _ => KeyWrap::Aes128,
                    };
                    assert_eq!(e.wrap, expected_wrap, "{extra:?}");
                }
            }
        }
    }
}

#[test]
fn openssl_der_output_and_a_wrong_recipient() {
    let tmp = tempfile::tempdir().unwrap();
    let (bob, alice) = (bob(), alice());
    let input = write(tmp.path(), "entity.txt", ENTITY);
    let out = tmp.path().join("theirs.der");
    run_openssl(&[
        "cms",
        "-encrypt",
        "-binary",
        "-outform",
        "DER",
        "-aes256",
        "-in",
        input.to_str().unwrap(),
        "-out",
        out.to_str().unwrap(),
        bob.cert.to_str().unwrap(),
    ]);
    let der = read(&out);
    let d = envelope::decrypt(&der, &cert(&bob.cert), &key(&bob.key)).unwrap();
    assert_eq!(d.content, ENTITY);
    let err = envelope::decrypt(&der, &cert(&alice.cert), &key(&alice.key)).unwrap_err();
    assert!(
        matches!(err, envelope::DecryptError::NotARecipient { .. }),
        "{err}"
    );
}
