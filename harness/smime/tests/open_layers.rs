//! Layered messages (issue 4): real clients' signed-and-encrypted mail opens valid, what
//! `sign_then_encrypt` and `triple_wrap` build is opened by OpenSSL step by step (verify, decrypt,
//! verify) and by `open_message`, and every way of breaking a layer ends in a non-valid status.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use smime::cms::envelope::{ContentCipher, EncryptOptions, Recipient, encrypt_message};
use smime::cms::verdict::Packaging;
use smime::cms::{
    Layer, OpenedMessage, SignOptions, SignedForm, Signer, Status, VerifyContext, open_message,
    sign_message, sign_then_encrypt, triple_wrap,
};
use smime::key::PrivateKey;
use x509_cert::Certificate;

fn at(rfc3339: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap()
}

/// A certificate and key from a PKCS#12 file, read by the lab's own reader.
fn identity(relative: &str, password: &str) -> (Certificate, PrivateKey) {
    let contents = smime::pkcs12::read_pkcs12(&vector(relative), password)
        .unwrap_or_else(|e| panic!("{relative}: {e}"));
    let key = PrivateKey::from_pkcs8_der(contents.private_key_pkcs8_der.as_ref().unwrap()).unwrap();
    let cert = smime::certificate::parse_der(&contents.certificates[0]).unwrap();
    (cert, key)
}

fn pem_identity(cert: &str, key: &str) -> (Certificate, PrivateKey) {
    (
        certs(cert).remove(0),
        PrivateKey::from_pem_or_der(&vector(key)).unwrap(),
    )
}

#[track_caller]
fn expect(opened: &OpenedMessage, status: Status, what: &str) {
    assert_eq!(
        opened.verdict.status,
        status,
        "{what}:\n{}",
        opened.to_text()
    );
}

/// The kinds of the layers, outermost first: `clear`, `opaque`, `env`, `auth-env`.
fn shape(opened: &OpenedMessage) -> Vec<&'static str> {
    opened
        .layers
        .iter()
        .map(|l| match l {
            Layer::Signed { verdict } => match verdict.packaging {
                Some(Packaging::ClearSigned) => "clear",
                Some(Packaging::OpaqueSigned) => "opaque",
                _ => "cms",
            },
            Layer::Encrypted(e) if e.authenticated => "auth-env",
            Layer::Encrypted(_) => "env",
        })
        .collect()
}

#[test]
fn outlook_16_and_thunderbird_128_signed_and_encrypted_open_valid() {
    let dir = "hiraoka-tb128-outlook16";
    let ctx = VerifyContext::new(
        certs(&format!("{dir}/certs__ca_smime.crt")),
        at("2026-06-01T00:00:00Z"),
    );
    let (cert, key) = pem_identity(
        &format!("{dir}/certs__smime-2.crt"),
        &format!("{dir}/certs__smime-2.key"),
    );
    for (file, inner, cipher, weak) in [
        // Outlook: SHA-1 opaque signature inside AES-256-CBC.
        (
            "received-at-smime2__Message_from_smime1_to_smime2_signed_and_encrypted.eml",
            "opaque",
            ContentCipher::Aes256Cbc,
            true,
        ),
        // Thunderbird: SHA-256 multipart/signed inside AES-128-CBC.
        (
            "received-at-smime2__Writing_from_smime1_to_smime2_signed_and_encrypted.eml",
            "clear",
            ContentCipher::Aes128Cbc,
            false,
        ),
        (
            "sent-from-smime1__Writing_from_smime1_to_smime2_signed_and_encrypted.eml",
            "clear",
            ContentCipher::Aes128Cbc,
            false,
        ),
    ] {
        let message = vector(&format!("{dir}/{file}"));
        let opened = open_message(&message, &ctx, Some((&cert, &key)));
        expect(&opened, Status::Valid, file);
        assert_eq!(shape(&opened), ["env", inner], "{file}");
        let Layer::Encrypted(envelope) = &opened.layers[0] else {
            unreachable!()
        };
        assert_eq!(envelope.cipher, Some(cipher), "{file}");
        assert_eq!(opened.verdict.weak, weak, "{file}: {:?}", opened.verdict);
        assert_eq!(opened.verdict.from, ["smime1@hmailserver.test"]);
        assert_eq!(
            opened.verdict.signer.as_ref().unwrap().mailboxes,
            ["smime1@hmailserver.test"]
        );
        // The content is the readable entity, with no S/MIME left in it.
        let content = String::from_utf8_lossy(&opened.content);
        assert!(
            content
                .to_ascii_lowercase()
                .starts_with("content-type: text/")
                || content
                    .to_ascii_lowercase()
                    .contains("content-type: multipart/"),
            "{file}: {content}"
        );
        assert!(!content.contains("pkcs7"), "{file}: {content}");

        // Without a key: encrypted, and the reason says what is needed.
        let locked = open_message(&message, &ctx, None);
        expect(&locked, Status::Encrypted, file);
        assert!(locked.verdict.reasons[0].contains("no recipient certificate and key"));
        assert_eq!(shape(&locked), ["env"]);
        assert_eq!(locked.content, message);
    }
}

#[test]
fn wrong_keys_cannot_decrypt() {
    let dir = "hiraoka-tb128-outlook16";
    let ctx = VerifyContext::new(
        certs(&format!("{dir}/certs__ca_smime.crt")),
        at("2026-06-01T00:00:00Z"),
    );
    let message = vector(&format!(
        "{dir}/received-at-smime2__Writing_from_smime1_to_smime2_signed_and_encrypted.eml"
    ));
    // Not a recipient at all.
    let (bob_cert, bob_key) = pem_identity("rfc9216/bob.encrypt.crt", "rfc9216/bob.decrypt.key");
    let opened = open_message(&message, &ctx, Some((&bob_cert, &bob_key)));
    expect(&opened, Status::CannotDecrypt, "not a recipient");
    assert!(opened.verdict.reasons[0].contains("not encrypted to"));
    // A recipient's certificate with someone else's key.
    let smime2 = certs(&format!("{dir}/certs__smime-2.crt")).remove(0);
    let smime1_key =
        PrivateKey::from_pem_or_der(&vector(&format!("{dir}/certs__smime-1.key"))).unwrap();
    let opened = open_message(&message, &ctx, Some((&smime2, &smime1_key)));
    expect(&opened, Status::CannotDecrypt, "key of another certificate");
}

#[test]
fn thunderbird_nss_nested_messages() {
    let ctx = VerifyContext::new(
        certs("thunderbird-nss/TestCA.pem"),
        at("2026-06-01T00:00:00Z"),
    );
    let (cert, key) = identity("thunderbird-nss/Bob.p12", "nss");
    let opened = open_message(
        &vector("thunderbird-nss/alice.sig.SHA256.opaque.env.eml"),
        &ctx,
        Some((&cert, &key)),
    );
    expect(&opened, Status::Valid, "opaque-signed then enveloped");
    assert_eq!(shape(&opened), ["env", "opaque"]);
    assert_eq!(opened.verdict.from, ["alice@example.com"]);

    // Encrypted, not signed: the envelope says nothing about the sender.
    let opened = open_message(
        &vector("thunderbird-nss/alice.env.eml"),
        &ctx,
        Some((&cert, &key)),
    );
    expect(&opened, Status::NotSigned, "enveloped only");
    assert_eq!(shape(&opened), ["env"]);
    assert!(opened.verdict.reasons[0].contains("nothing inside is signed"));

    // A single signature opens as one layer with the same verdict verify_message gives.
    let signed = vector("thunderbird-nss/alice.dsig.SHA256.multipart.eml");
    let opened = open_message(&signed, &ctx, None);
    expect(&opened, Status::Valid, "clear-signed");
    assert_eq!(shape(&opened), ["clear"]);
    let bad = open_message(
        &vector("thunderbird-nss/alice.dsig.SHA256.multipart.bad.eml"),
        &ctx,
        None,
    );
    expect(&bad, Status::InvalidSignature, "tampered clear-signed");
}

#[test]
fn thunderbird_52_signed_and_encrypted_is_valid_but_weak() {
    let ctx = VerifyContext::new(
        certs("simplejavamail-tb52/ca.crt"),
        at("2019-06-01T00:00:00Z"),
    );
    let (cert, key) = identity("simplejavamail-tb52/smime_test_user.p12", "letmein");
    let opened = open_message(
        &vector("simplejavamail-tb52/S_MIME_test_message_signed_and_encrypted.eml"),
        &ctx,
        Some((&cert, &key)),
    );
    expect(&opened, Status::Valid, "Thunderbird 52, 3DES");
    assert_eq!(shape(&opened), ["env", "clear"]);
    assert!(opened.verdict.weak, "3DES content encryption is weak");
    assert!(
        opened
            .verdict
            .weak_reasons
            .iter()
            .any(|r| r.contains("3DES")),
        "{:?}",
        opened.verdict.weak_reasons
    );
}

#[test]
fn protected_headers_sample_signed_and_encrypted() {
    let ctx = VerifyContext::new(
        certs("protected-headers-autocrypt/sample-ca.pem"),
        at("2026-06-01T00:00:00Z"),
    );
    let (cert, key) = identity("protected-headers-autocrypt/bob.p12.der", "bob");
    let opened = open_message(
        &vector("protected-headers-autocrypt/smime-sign+enc.eml"),
        &ctx,
        Some((&cert, &key)),
    );
    expect(&opened, Status::Valid, "draft-dkg-lamps-samples sign+enc");
    assert_eq!(shape(&opened), ["env", "opaque"]);
    // The innermost entity carries the protected header fields.
    assert!(
        String::from_utf8_lossy(&opened.content)
            .contains("Subject: BarCorp contract signed, let's go!")
    );
}

// --- Our own layered messages -----------------------------------------------------------------

const ENTITY: &[u8] =
    b"Content-Type: text/plain; charset=us-ascii\r\n\r\nThe figures, signed and sealed.\r\n";

fn message(from: &str) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: Bob Babbage <bob@smime.example>\r\nSubject: layered\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <layers@smime.example>\r\n"
    )
    .into_bytes();
    m.extend_from_slice(ENTITY);
    m
}

fn sign_options(form: SignedForm) -> SignOptions {
    let mut o = SignOptions::new(NOW);
    o.form = form;
    o
}

fn bob_recipient() -> (Certificate, PrivateKey) {
    pem_identity("rfc9216/bob.encrypt.crt", "rfc9216/bob.decrypt.key")
}

fn openssl_step(args: &[&str]) {
    run_openssl(args);
}

/// OpenSSL peels the layers one command at a time; the last output must be the entity signed.
#[test]
fn openssl_opens_what_we_layer_step_by_step() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ca = vector_path("rfc9216/ca.rsa.crt");
    let ca = ca.to_str().unwrap();
    let bob_crt = vector_path("rfc9216/bob.encrypt.crt");
    let bob_key = vector_path("rfc9216/bob.decrypt.key");
    let (bob_cert, bob_pk) = bob_recipient();
    let attime = NOW.unix_timestamp().to_string();
    let verify = |input: &std::path::Path, output: &std::path::Path| {
        openssl_step(&[
            "cms",
            "-verify",
            "-in",
            input.to_str().unwrap(),
            "-CAfile",
            ca,
            "-attime",
            &attime,
            "-out",
            output.to_str().unwrap(),
        ]);
    };
    let decrypt = |input: &std::path::Path, output: &std::path::Path| {
        openssl_step(&[
            "cms",
            "-decrypt",
            "-in",
            input.to_str().unwrap(),
            "-recip",
            bob_crt.to_str().unwrap(),
            "-inkey",
            bob_key.to_str().unwrap(),
            "-out",
            output.to_str().unwrap(),
        ]);
    };
    let ctx = context(rfc9216_ca(), NOW);

    for form in [SignedForm::ClearSigned, SignedForm::OpaqueSigned] {
        for cipher in [ContentCipher::Aes256Cbc, ContentCipher::Aes128Gcm] {
            let name = format!("{form:?}-{}", cipher.name());
            let encrypt_options = EncryptOptions {
                cipher,
                ..EncryptOptions::default()
            };
            let recipients = [Recipient::new(bob_cert.clone())];
            let inner = if form == SignedForm::ClearSigned {
                "clear"
            } else {
                "opaque"
            };
            let envelope = if cipher.is_aead() { "auth-env" } else { "env" };

            // Signed, then encrypted.
            let build = |seed: &str| {
                sign_then_encrypt(
                    &message("Alice Lovelace <alice@smime.example>"),
                    &alice(),
                    &sign_options(form),
                    &recipients,
                    &encrypt_options,
                    &mut smime::rng::seeded(seed),
                )
                .unwrap()
            };
            let layered = build("sign-then-encrypt");
            assert_eq!(layered, build("sign-then-encrypt"), "{name}: deterministic");
            let step0 = write(dir, &format!("{name}.eml"), &layered);
            let step1 = dir.join(format!("{name}.1"));
            let step2 = dir.join(format!("{name}.2"));
            decrypt(&step0, &step1);
            verify(&step1, &step2);
            assert_eq!(
                String::from_utf8_lossy(&std::fs::read(&step2).unwrap()),
                String::from_utf8_lossy(ENTITY),
                "{name}: OpenSSL's innermost content"
            );
            let opened = open_message(&layered, &ctx, Some((&bob_cert, &bob_pk)));
            expect(&opened, Status::Valid, &name);
            assert_eq!(shape(&opened), [envelope, inner], "{name}");
            assert_eq!(opened.content, ENTITY, "{name}");

            // Triple-wrapped.
            let build = |seed: &str| {
                triple_wrap(
                    &message("Alice Lovelace <alice@smime.example>"),
                    &alice(),
                    &sign_options(form),
                    &recipients,
                    &encrypt_options,
                    &mut smime::rng::seeded(seed),
                )
                .unwrap()
            };
            let wrapped = build("triple");
            assert_eq!(wrapped, build("triple"), "{name}: deterministic");
            let step0 = write(dir, &format!("{name}-triple.eml"), &wrapped);
            let step1 = dir.join(format!("{name}-triple.1"));
            let step2 = dir.join(format!("{name}-triple.2"));
            let step3 = dir.join(format!("{name}-triple.3"));
            verify(&step0, &step1);
            decrypt(&step1, &step2);
            verify(&step2, &step3);
            assert_eq!(
                String::from_utf8_lossy(&std::fs::read(&step3).unwrap()),
                String::from_utf8_lossy(ENTITY),
                "{name}: OpenSSL's innermost content of the triple wrap"
            );
            let opened = open_message(&wrapped, &ctx, Some((&bob_cert, &bob_pk)));
            expect(&opened, Status::Valid, &format!("{name} triple"));
            assert_eq!(shape(&opened), [inner, envelope, inner], "{name}");
            assert_eq!(opened.content, ENTITY, "{name}");

            // Without the key the outer signature still verifies, but the message is encrypted.
            let locked = open_message(&wrapped, &ctx, None);
            expect(
                &locked,
                Status::Encrypted,
                &format!("{name} triple, no key"),
            );
            assert_eq!(shape(&locked), [inner, envelope]);
        }
    }
}

/// The lab PKI: an RSA signer and a P-256 (ECDH) recipient, AES-256-GCM; Outlook-style
/// encryption to the sender too, so both can open it.
#[test]
fn lab_pki_ecdh_recipient_and_sender_copy() {
    let pki = test_support::fixture("pki/default");
    let read = |n: &str| std::fs::read(pki.join(n)).unwrap();
    let cert = |n: &str| {
        smime::certificate::parse_certificates(&read(n))
            .unwrap()
            .remove(0)
    };
    let key = |n: &str| PrivateKey::from_pem_or_der(&read(n)).unwrap();
    let alice = Signer {
        certificate: cert("alice.crt.pem"),
        key: key("alice.key.pem"),
        chain: vec![cert("issuing.crt.pem")],
        encryption_certificate: None,
    };
    let now = at("2026-06-01T00:00:00Z");
    let mut options = SignOptions::new(now);
    options.form = SignedForm::OpaqueSigned;
    let encrypt_options = EncryptOptions {
        cipher: ContentCipher::Aes256Gcm,
        also_to_sender: Some(alice.certificate.clone()),
        ..EncryptOptions::default()
    };
    let layered = sign_then_encrypt(
        &message("alice@contoso.com"),
        &alice,
        &options,
        &[Recipient::new(cert("bob-encrypt.crt.pem"))],
        &encrypt_options,
        &mut smime::rng::seeded("lab"),
    )
    .unwrap();
    let ctx = VerifyContext::new(vec![cert("root.crt.pem")], now);
    for (who, c, k) in [
        (
            "bob",
            cert("bob-encrypt.crt.pem"),
            key("bob-encrypt.key.pem"),
        ),
        ("alice", cert("alice.crt.pem"), key("alice.key.pem")),
    ] {
        let opened = open_message(&layered, &ctx, Some((&c, &k)));
        expect(&opened, Status::Valid, who);
        assert_eq!(shape(&opened), ["auth-env", "opaque"]);
    }
}

/// Re-encrypting a modified signed message: the envelope opens, the signature inside does not
/// verify, and the overall verdict names the inner layer.
#[test]
fn tampered_inner_content_is_not_valid() {
    let (bob_cert, bob_pk) = bob_recipient();
    let ctx = context(rfc9216_ca(), NOW);
    for form in [SignedForm::ClearSigned, SignedForm::OpaqueSigned] {
        let mut rng = smime::rng::seeded("tamper");
        let signed = sign_message(
            &message("Alice Lovelace <alice@smime.example>"),
            &alice(),
            &sign_options(form),
            &mut rng,
        )
        .unwrap();
        let tampered = match form {
            SignedForm::ClearSigned => replace(&signed, b"signed and sealed", b"signed and forged"),
            SignedForm::OpaqueSigned => {
                // Change the eContent inside the CMS object, then re-encode the MIME body.
                let entity = smime::cms::mime::Entity::parse(&signed).unwrap();
                let der = entity.decoded_body().unwrap().into_owned();
                let forged = replace(&der, b"signed and sealed", b"signed and forged");
                let mut m = entity.header_block().to_vec();
                m.extend_from_slice(&smime::cms::mime::encode_base64_lines(&forged));
                m
            }
        };
        let layered = encrypt_message(
            &tampered,
            &[Recipient::new(bob_cert.clone())],
            &EncryptOptions::default(),
            &mut rng,
        )
        .unwrap();
        let opened = open_message(&layered, &ctx, Some((&bob_cert, &bob_pk)));
        expect(&opened, Status::InvalidSignature, &format!("{form:?}"));
        assert!(
            opened.verdict.reasons[0].starts_with("layer 2 "),
            "{:?}",
            opened.verdict.reasons
        );
        assert!(String::from_utf8_lossy(&opened.content).contains("forged"));
    }
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = haystack
        .windows(from.len())
        .position(|w| w == from)
        .expect("text to replace");
    let mut out = haystack.to_vec();
    out[at..at + from.len()].copy_from_slice(to);
    out
}

/// The signature inside the envelope is held to the From outside it: changing the outer From
/// (which nothing protects) makes the message a signer mismatch.
#[test]
fn the_outer_from_is_what_inner_signatures_are_held_to() {
    let (bob_cert, bob_pk) = bob_recipient();
    let ctx = context(rfc9216_ca(), NOW);
    let layered = sign_then_encrypt(
        &message("Alice Lovelace <alice@smime.example>"),
        &alice(),
        &sign_options(SignedForm::ClearSigned),
        &[Recipient::new(bob_cert.clone())],
        &EncryptOptions::default(),
        &mut smime::rng::seeded("from"),
    )
    .unwrap();
    let spoofed = replace(
        &layered,
        b"From: Alice Lovelace <alice@smime.example>",
        b"From: Alice Lovelace <carol@smime.example>",
    );
    let opened = open_message(&spoofed, &ctx, Some((&bob_cert, &bob_pk)));
    expect(&opened, Status::SignerMismatch, "outer From changed");
    assert_eq!(opened.verdict.from, ["carol@smime.example"]);
    // A Reply-To added outside the envelope is what a reader would answer to: also refused.
    let mut with_reply_to = b"Reply-To: mallory@evil.example\r\n".to_vec();
    with_reply_to.extend_from_slice(&layered);
    let opened = open_message(&with_reply_to, &ctx, Some((&bob_cert, &bob_pk)));
    expect(&opened, Status::SignerMismatch, "Reply-To outside");
}

/// Nine nested signatures: malformed, not a stack overflow or an hour of work; eight are fine.
#[test]
fn nesting_bomb_is_malformed() {
    let ctx = context(rfc9216_ca(), NOW);
    let mut rng = smime::rng::seeded("bomb");
    let mut m = message("Alice Lovelace <alice@smime.example>");
    for depth in 1..=9 {
        let form = if depth % 2 == 0 {
            SignedForm::OpaqueSigned
        } else {
            SignedForm::ClearSigned
        };
        m = sign_message(&m, &alice(), &sign_options(form), &mut rng).unwrap();
        let opened = open_message(&m, &ctx, None);
        if depth <= smime::cms::open::MAX_LAYERS {
            expect(&opened, Status::Valid, &format!("{depth} signatures"));
            assert_eq!(opened.layers.len(), depth);
            assert_eq!(opened.content, ENTITY);
        } else {
            expect(&opened, Status::Malformed, &format!("{depth} signatures"));
            assert_eq!(opened.layers.len(), smime::cms::open::MAX_LAYERS);
            assert!(opened.verdict.reasons[0].contains("nested S/MIME layers"));
        }
    }
}

/// Bounded mutation of a triple-wrapped message: nothing panics, nothing mutated in the
/// signed or encrypted bytes comes out valid with different content. The anatomy of each
/// mutant (what a snapshot would show) is described too, with the same key.
#[test]
fn mutated_layered_messages_never_panic() {
    let (bob_cert, bob_pk) = bob_recipient();
    let ctx = context(rfc9216_ca(), NOW);
    let wrapped = triple_wrap(
        &message("Alice Lovelace <alice@smime.example>"),
        &alice(),
        &sign_options(SignedForm::OpaqueSigned),
        &[Recipient::new(bob_cert.clone())],
        &EncryptOptions::default(),
        &mut smime::rng::seeded("mutate"),
    )
    .unwrap();
    let body_start = wrapped.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut state = 0x2545_f491_u64;
    let mut next = || {
        // xorshift: deterministic, no dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..60 {
        let mut m = wrapped.clone();
        let len = m.len();
        let at = body_start + (next() as usize) % (len - body_start);
        match next() % 3 {
            0 => {
                m[at] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    [(next() % 64) as usize]
            }
            1 => m.truncate(at),
            _ => {
                m.remove(at);
            }
        }
        let opened = open_message(&m, &ctx, Some((&bob_cert, &bob_pk)));
        let anatomy = smime::cms::anatomy::describe(&m, &[(&bob_cert, &bob_pk)]);
        assert!(!anatomy.to_yaml().is_empty());
        if opened.is_valid() {
            assert_eq!(
                opened.content, ENTITY,
                "a valid verdict over changed content"
            );
        }
    }
}
