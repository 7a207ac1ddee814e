//! Properties of the messages we sign: byte-stable given `now` and a seed, the shape clients
//! write (headers kept outside, canonical 7-bit signed part, 76-column base64, CRLF), the
//! Outlook attribute set, certificate inclusion, and refusals.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use common::*;
use der::{Decode, Encode};
use smime::cms::attributes::EncryptionKeyPreference;
use smime::cms::{
    CertificateInclusion, DigestAlgorithm, OwnCertificates, RsaPadding, SignError, SignOptions,
    SignedForm, Signer, Status, sign_message, verify_message,
};

fn sign(signer: &Signer, options: &SignOptions, seed: &str) -> Vec<u8> {
    sign_message(
        &alice_message(),
        signer,
        options,
        &mut smime::rng::seeded(seed),
    )
    .unwrap()
}

fn signed_data(message: &[u8], form: SignedForm) -> SignedData {
    let der = match form {
        SignedForm::ClearSigned => split_clear_signed(message).1,
        SignedForm::OpaqueSigned => opaque_der(message),
    };
    let ci = ContentInfo::from_der(&der).expect("our output is DER");
    SignedData::from_der(&ci.content.to_der().unwrap()).unwrap()
}

#[test]
fn same_now_and_seed_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ec) = openssl_ecdsa_signer(dir.path(), "P-256", "erin@example.test");
    for (signer, padding) in [
        (alice(), RsaPadding::Pkcs1v15),
        (alice(), RsaPadding::Pss),
        (ec, RsaPadding::Pkcs1v15),
    ] {
        for form in [SignedForm::ClearSigned, SignedForm::OpaqueSigned] {
            let mut options = SignOptions::new(NOW);
            options.form = form;
            options.rsa_padding = padding;
            let a = sign(&signer, &options, "seed-1");
            assert_eq!(a, sign(&signer, &options, "seed-1"), "{form:?} {padding:?}");
            let b = sign(&signer, &options, "seed-2");
            if form == SignedForm::ClearSigned || padding == RsaPadding::Pss {
                // Another seed: another boundary, another PSS salt.
                assert_ne!(a, b, "{form:?} {padding:?}");
            }
            let mut later = options.clone();
            later.now += time::Duration::seconds(1);
            assert_ne!(
                a,
                sign(&signer, &later, "seed-1"),
                "signingTime follows now"
            );
        }
    }
}

#[test]
fn message_shape_is_what_clients_write() {
    for form in [SignedForm::ClearSigned, SignedForm::OpaqueSigned] {
        let mut options = SignOptions::new(NOW);
        options.form = form;
        options.digest = DigestAlgorithm::Sha384;
        let m = sign(&alice(), &options, "shape");
        let text = String::from_utf8(m.clone()).expect("7-bit output");
        assert!(m.iter().all(|&b| b < 128), "8-bit byte in the output");
        assert!(
            !text.replace("\r\n", "").contains('\n') && !text.replace("\r\n", "").contains('\r'),
            "bare LF or CR"
        );
        // Outer headers kept, in order, Content-* moved inside.
        let head = text.split("\r\n\r\n").next().unwrap();
        let names: Vec<&str> = head
            .lines()
            .filter(|l| !l.starts_with([' ', '\t']))
            .map(|l| l.split(':').next().unwrap())
            .collect();
        let mut expected = vec![
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "MIME-Version",
            "Content-Type",
        ];
        if form == SignedForm::OpaqueSigned {
            expected.extend([
                "Content-Transfer-Encoding",
                "Content-Disposition",
                "Content-Description",
            ]);
        }
        assert_eq!(names, expected);
        match form {
            SignedForm::ClearSigned => {
                assert!(
                    head.contains("multipart/signed; protocol=\"application/pkcs7-signature\"")
                );
                assert!(head.contains("micalg=sha-384"));
                let (content, _) = split_clear_signed(&m);
                let content = String::from_utf8(content).unwrap();
                assert!(content.starts_with(
                    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe Bob,\r\n"
                ), "{content}");
                assert!(
                    content.contains("\r\n=46rom here on"),
                    "a line starting with From is protected"
                );
            }
            SignedForm::OpaqueSigned => {
                assert!(head.contains(
                    "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m"
                ));
                let body = text.split("\r\n\r\n").nth(1).unwrap();
                let lines: Vec<&str> = body.split("\r\n").filter(|l| !l.is_empty()).collect();
                assert!(lines.iter().all(|l| l.len() <= 76));
                assert!(lines[..lines.len() - 1].iter().all(|l| l.len() == 76));
            }
        }
    }
}

#[test]
fn outlook_attributes_are_present_and_right() {
    let options = SignOptions::new(NOW);
    let m = sign(&alice(), &options, "attrs");
    let verdict = verify_message(&m, &context(rfc9216_ca(), NOW));
    assert_eq!(verdict.status, Status::Valid, "{}", verdict.to_text());
    // DER sorts the SET OF by encoding, so the order depends on lengths; the set is Outlook's.
    let mut names = verdict.signed_attributes.clone();
    names.sort();
    assert_eq!(
        names,
        [
            "contentType",
            "messageDigest",
            "microsoftEncryptionKeyPreference",
            "signingTime",
            "smimeCapabilities",
            "smimeEncryptionKeyPreference",
        ]
    );
    assert_eq!(
        verdict.signing_time.as_deref(),
        Some("2026-11-23T10:00:00Z")
    );
    assert_eq!(
        verdict.smime_capabilities,
        [
            "id-aes256-CBC",
            "id-aes192-CBC",
            "id-aes128-CBC",
            "des-ede3-cbc",
            "SHA-512",
            "SHA-384",
            "SHA-256"
        ]
    );
    // Both key preferences name Alice's encryption certificate.
    let sd = signed_data(&m, SignedForm::ClearSigned);
    let si = sd.signer_infos.0.iter().next().unwrap();
    let attrs = si.signed_attrs.as_ref().unwrap();
    let encrypt = certs("rfc9216/alice.encrypt.crt").remove(0);
    for attr in attrs.iter() {
        let value = attr.values.iter().next().unwrap().to_der().unwrap();
        if attr.oid == const_oid::db::rfc5911::ID_AA_ENCRYP_KEY_PREF {
            let EncryptionKeyPreference::IssuerAndSerialNumber(isn) =
                EncryptionKeyPreference::from_der(&value).unwrap()
            else {
                panic!("not issuerAndSerialNumber")
            };
            assert_eq!(
                isn.serial_number,
                *encrypt.tbs_certificate().serial_number()
            );
        }
        if attr.oid == smime::cms::algorithms::oids::MS_ENCRYPTION_KEY_PREFERENCE {
            let isn = cms::cert::IssuerAndSerialNumber::from_der(&value).unwrap();
            assert_eq!(isn.issuer, *encrypt.tbs_certificate().issuer());
            assert_eq!(
                isn.serial_number,
                *encrypt.tbs_certificate().serial_number()
            );
        }
    }
    // The options turn them off.
    let mut bare = SignOptions::new(NOW);
    bare.capabilities.clear();
    bare.encryption_key_preference = false;
    bare.signing_time = false;
    let verdict = verify_message(&sign(&alice(), &bare, "bare"), &context(rfc9216_ca(), NOW));
    assert_eq!(verdict.status, Status::Valid);
    assert_eq!(verdict.signed_attributes, ["contentType", "messageDigest"]);
}

#[test]
fn own_certificates_signing_signing_and_encryption_or_neither() {
    let signer = alice();
    let signing = signer.certificate.clone();
    let encryption = signer.encryption_certificate.clone().unwrap();
    for (own, expected) in [
        (OwnCertificates::Signing, vec![signing.clone()]),
        (
            OwnCertificates::SigningAndEncryption,
            vec![signing.clone(), encryption.clone()],
        ),
        (OwnCertificates::Neither, vec![]),
    ] {
        let mut options = SignOptions::new(NOW);
        options.include = CertificateInclusion::SignerOnly;
        options.own_certificates = own;
        let m = sign(&signer, &options, "own");
        let carried: Vec<x509_cert::Certificate> = signed_data(&m, SignedForm::ClearSigned)
            .certificates
            .map(|set| {
                set.0
                    .iter()
                    .filter_map(|c| match c {
                        cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(carried, expected, "{own:?}");
        let verdict = verify_message(&m, &context(rfc9216_ca(), NOW));
        let mut from_directory = context(rfc9216_ca(), NOW);
        from_directory.directory = vec![encryption.clone(), signing.clone()];
        let looked_up = verify_message(&m, &from_directory);
        assert_eq!(looked_up.status, Status::Valid, "{}", looked_up.to_text());
        if own == OwnCertificates::Neither {
            // Nothing to check the signature with but what a directory holds.
            assert_eq!(verdict.status, Status::Untrusted, "{}", verdict.to_text());
            assert!(verdict.to_text().contains("not in the message"));
            assert!(looked_up.to_text().contains("taken from the directory"));
            // A directory holding only the encryption certificate does not help.
            let mut wrong = context(rfc9216_ca(), NOW);
            wrong.directory = vec![encryption.clone()];
            assert_eq!(verify_message(&m, &wrong).status, Status::Untrusted);
        } else {
            assert_eq!(
                verdict.status,
                Status::Valid,
                "{own:?}: {}",
                verdict.to_text()
            );
        }
    }
    // A dual-use certificate is carried once.
    let dual = Signer {
        encryption_certificate: None,
        ..alice()
    };
    let mut options = SignOptions::new(NOW);
    options.include = CertificateInclusion::SignerOnly;
    options.own_certificates = OwnCertificates::SigningAndEncryption;
    let m = sign(&dual, &options, "own");
    assert_eq!(
        signed_data(&m, SignedForm::ClearSigned)
            .certificates
            .unwrap()
            .0
            .len(),
        1
    );
}

#[test]
fn certificate_inclusion_signer_chain_root() {
    let dir = tempfile::tempdir().unwrap();
    let (root, int, signer) = openssl_rsa_three_level(dir.path(), "carol@example.test");
    let now = time::OffsetDateTime::now_utc();
    let message = message_from("Carol <carol@example.test>");
    for (include, count, status) in [
        (CertificateInclusion::SignerOnly, 1, Status::Untrusted),
        (CertificateInclusion::Chain, 2, Status::Valid),
        (CertificateInclusion::ChainWithRoot, 3, Status::Valid),
    ] {
        let mut options = SignOptions::new(now);
        options.include = include;
        let m = sign_message(&message, &signer, &options, &mut smime::rng::seeded("inc")).unwrap();
        let sd = signed_data(&m, SignedForm::ClearSigned);
        assert_eq!(sd.certificates.unwrap().0.len(), count, "{include:?}");
        // Anchored at the root: the intermediate must come from the message.
        let verdict = verify_message(&m, &context(vec![root.clone()], now));
        assert_eq!(verdict.status, status, "{include:?}: {}", verdict.to_text());
        if status == Status::Valid {
            assert_eq!(verdict.chain.len(), 3, "{include:?}");
        }
    }
    // Given the intermediate as an anchor (as the Exchange SST may hold it), signer-only works.
    let mut options = SignOptions::new(now);
    options.include = CertificateInclusion::SignerOnly;
    let m = sign_message(&message, &signer, &options, &mut smime::rng::seeded("inc")).unwrap();
    let verdict = verify_message(&m, &context(vec![int], now));
    assert_eq!(verdict.status, Status::Valid, "{}", verdict.to_text());
}

#[test]
fn refusals_name_the_problem() {
    let mut wrong_key = alice();
    wrong_key.key = bob().key;
    let err = sign_message(
        &alice_message(),
        &wrong_key,
        &SignOptions::new(NOW),
        &mut smime::rng::seeded("x"),
    )
    .unwrap_err();
    assert!(matches!(err, SignError::KeyMismatch { .. }), "{err}");
    assert!(err.to_string().contains("Alice Lovelace"));

    let err = sign_message(
        b"this is not a MIME message",
        &alice(),
        &SignOptions::new(NOW),
        &mut smime::rng::seeded("x"),
    )
    .unwrap_err();
    assert!(matches!(err, SignError::Mime(_)), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let (_, ec) = openssl_ecdsa_signer(dir.path(), "P-256", "erin@example.test");
    let mut md5 = SignOptions::new(NOW);
    md5.digest = DigestAlgorithm::Md5;
    let err = sign_message(&alice_message(), &ec, &md5, &mut smime::rng::seeded("x")).unwrap_err();
    assert!(matches!(err, SignError::Algorithm { .. }), "{err}");
}

#[test]
fn md5_and_sha1_only_when_asked_and_reported_weak() {
    assert_eq!(SignOptions::new(NOW).digest, DigestAlgorithm::Sha256);
    for digest in [DigestAlgorithm::Md5, DigestAlgorithm::Sha1] {
        let mut options = SignOptions::new(NOW);
        options.digest = digest;
        let verdict = verify_message(
            &sign(&alice(), &options, "weak"),
            &context(rfc9216_ca(), NOW),
        );
        // SHA-1 is accepted and flagged (Outlook on the web's default); MD5 is refused.
        let expected = if digest == DigestAlgorithm::Md5 {
            Status::Weak
        } else {
            Status::Valid
        };
        assert_eq!(verdict.status, expected, "{digest}");
        assert!(verdict.weak, "{digest}");
        assert_eq!(verdict.digest_algorithm.as_deref(), Some(digest.name()));
    }
}
