//! Verification of third-party messages (shared/vectors): real clients' signatures verify,
//! every attack message is refused, weak and exotic algorithms never come out valid.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use smime::cms::verdict::{Packaging, PartRole};
use smime::cms::{Status, Verdict, VerifyContext, verify_message, verify_signed_data};

fn at(rfc3339: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap()
}

fn verify(file: &str, anchors: &[&str], now: &str) -> Verdict {
    let anchors = anchors.iter().flat_map(|a| certs(a)).collect();
    verify_message(&vector(file), &VerifyContext::new(anchors, at(now)))
}

#[track_caller]
fn expect(v: &Verdict, status: Status, what: &str) {
    assert_eq!(v.status, status, "{what}:\n{}", v.to_text());
}

#[test]
fn thunderbird_nss_messages() {
    let ca = ["thunderbird-nss/TestCA.pem"];
    let now = "2026-06-01T00:00:00Z";
    let v = verify("thunderbird-nss/alice.dsig.SHA256.multipart.eml", &ca, now);
    expect(&v, Status::Valid, "clear-signed");
    assert_eq!(v.packaging, Some(Packaging::ClearSigned));
    assert_eq!(v.signed_part.as_deref(), Some("1"));
    assert_eq!(v.digest_algorithm.as_deref(), Some("SHA-256"));
    assert_eq!(v.signer.as_ref().unwrap().mailboxes, ["alice@example.com"]);
    assert!(
        v.mime_tree
            .iter()
            .any(|n| n.path == "2" && n.role == PartRole::Signature)
    );
    let v = verify("thunderbird-nss/alice.sig.SHA256.opaque.eml", &ca, now);
    expect(&v, Status::Valid, "opaque (BER, chunked eContent)");
    assert_eq!(v.signed_part.as_deref(), Some("root/p7m"));
    expect(
        &verify(
            "thunderbird-nss/alice.dsig.SHA256.multipart.bad.eml",
            &ca,
            now,
        ),
        Status::InvalidSignature,
        "tampered body",
    );
    expect(
        &verify(
            "thunderbird-nss/alice.dsig.SHA256.multipart.mismatch-econtent.eml",
            &ca,
            now,
        ),
        Status::Malformed,
        "eContent inside a detached signature",
    );
    expect(
        &verify("thunderbird-nss/alice.env.eml", &ca, now),
        Status::Encrypted,
        "enveloped",
    );
    // Alice's certificate expires 2031-01-26 (expiration.txt).
    expect(
        &verify(
            "thunderbird-nss/alice.dsig.SHA256.multipart.eml",
            &ca,
            "2031-06-01T00:00:00Z",
        ),
        Status::Expired,
        "after expiry",
    );
    // No anchors, wrong anchors: untrusted.
    expect(
        &verify(
            "thunderbird-nss/alice.dsig.SHA256.multipart.eml",
            &["rfc9216/ca.rsa.crt"],
            now,
        ),
        Status::Untrusted,
        "other CA",
    );
}

#[test]
fn outlook_16_and_thunderbird_128() {
    let ca = ["hiraoka-tb128-outlook16/certs__ca_smime.crt"];
    let now = "2026-06-01T00:00:00Z";
    let outlook = verify(
        "hiraoka-tb128-outlook16/received-at-smime2__Message_from_smime1_to_smime2_signed.eml",
        &ca,
        now,
    );
    expect(&outlook, Status::Valid, "Outlook 16 (SHA-1)");
    assert!(outlook.weak, "Outlook signs with SHA-1: weak but valid");
    assert_eq!(outlook.digest_algorithm.as_deref(), Some("SHA-1"));
    for attr in [
        "smimeCapabilities",
        "smimeEncryptionKeyPreference",
        "microsoftEncryptionKeyPreference",
    ] {
        assert!(
            outlook.signed_attributes.iter().any(|a| a == attr),
            "{attr} in {:?}",
            outlook.signed_attributes
        );
    }
    assert_eq!(outlook.smime_capabilities[0], "id-aes256-CBC");
    for f in [
        "hiraoka-tb128-outlook16/received-at-smime2__Writing_from_smime1_to_smime2_signed.eml",
        "hiraoka-tb128-outlook16/sent-from-smime1__Writing_from_smime1_to_smime2_signed.eml",
    ] {
        let v = verify(f, &ca, now);
        expect(&v, Status::Valid, f);
        assert!(!v.weak);
    }
}

#[test]
fn thunderbird_52_mimekit_protected_headers_rfc9788() {
    let v = verify(
        "simplejavamail-tb52/S_MIME_test_message_signed.eml",
        &["simplejavamail-tb52/ca.crt"],
        "2019-06-01T00:00:00Z",
    );
    expect(&v, Status::Valid, "Thunderbird 52, SHA-512");
    assert_eq!(v.digest_algorithm.as_deref(), Some("SHA-512"));

    // MimeKit's Thunderbird 24 message: SHA-1 certificates, expired 2014.
    let anchors = ["mimekit/StartComCertificationAuthority.crt"];
    let then = verify(
        "mimekit/thunderbird-signed.txt",
        &anchors,
        "2013-12-01T00:00:00Z",
    );
    expect(&then, Status::Weak, "SHA-1 chain while it was valid");
    assert!(then.reasons[0].contains("sha1WithRSAEncryption"));
    let now = verify(
        "mimekit/thunderbird-signed.txt",
        &anchors,
        "2026-06-01T00:00:00Z",
    );
    assert_ne!(now.status, Status::Valid);

    for f in [
        "protected-headers-autocrypt/smime-multipart-signed.eml",
        "protected-headers-autocrypt/smime-onepart-signed.eml",
    ] {
        expect(
            &verify(
                f,
                &["protected-headers-autocrypt/sample-ca.pem"],
                "2026-06-01T00:00:00Z",
            ),
            Status::Valid,
            f,
        );
    }
    expect(
        &verify(
            "rfc9788-via-smime-rs/smime-multipart.eml",
            &["rfc9216/ca.rsa.crt"],
            "2026-06-01T00:00:00Z",
        ),
        Status::Valid,
        "RFC 9788 sample",
    );
}

fn johnny_context(now: &str) -> VerifyContext {
    VerifyContext::new(
        certs("johnny-fired-smime/assets__certificates__intermediate_ca.crt"),
        at(now),
    )
}

#[test]
fn johnny_baselines_are_valid_with_their_intermediate_as_anchor() {
    // The certificates were valid 2019-02-14 .. 2022-02-14.
    let ctx = johnny_context("2020-06-01T00:00:00Z");
    for f in [
        "johnny-fired-smime/01-cms__valid_email_from_manager.eml",
        "johnny-fired-smime/assets__valid-signed__manager-smime.eml",
        "johnny-fired-smime/assets__valid-signed__eve-smime.eml",
    ] {
        let v = verify_message(&vector(f), &ctx);
        expect(&v, Status::Valid, f);
    }
    let later = johnny_context("2026-06-01T00:00:00Z");
    expect(
        &verify_message(
            &vector("johnny-fired-smime/assets__valid-signed__manager-smime.eml"),
            &later,
        ),
        Status::Expired,
        "after 2022",
    );
}

#[test]
fn every_johnny_attack_is_refused() {
    let ctx = johnny_context("2020-06-01T00:00:00Z");
    let dir = vector_path("johnny-fired-smime");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml") && !n.contains("valid"))
        .collect();
    names.sort();
    assert!(names.len() >= 26, "attack messages found: {names:?}");
    for name in &names {
        let v = verify_message(&std::fs::read(dir.join(name)).unwrap(), &ctx);
        let expected = if name.contains("c1_eContent") || name.contains("c3_no-signerInfos") {
            Status::Malformed
        } else if name.contains("c2_multiple-signerInfos") {
            Status::Unsupported
        } else if name.contains("crash") {
            Status::Malformed
        } else if name.starts_with("03-mime") {
            Status::PartiallySigned
        } else if name.starts_with("04-id") {
            Status::SignerMismatch
        } else {
            panic!("unclassified attack vector {name}")
        };
        expect(&v, expected, name);
        assert!(!v.reasons.is_empty(), "{name} has no reason");
    }
}

#[test]
fn rfc4134_examples_are_never_valid() {
    let anchors: Vec<_> = certs("rfc4134/CarlRSASelf.cer")
        .into_iter()
        .chain(certs("rfc4134/CarlDSSSelf.cer"))
        .collect();
    let ctx = VerifyContext::new(anchors, at("2003-06-01T00:00:00Z"));
    let detached = vector("rfc4134/ExContent.bin");
    for (file, expected) in [
        ("4.1.bin", Status::Unsupported),  // DSA
        ("4.2.bin", Status::Weak),         // RSA-1024, SHA-1 certificates
        ("4.3.bin", Status::Unsupported),  // DSA, detached
        ("4.4.bin", Status::Unsupported),  // DSA with a v1 CRL inside
        ("4.5.bin", Status::Weak),         // RSA-1024, subjectKeyIdentifier signer
        ("4.6.bin", Status::Unsupported),  // two signers
        ("4.7.bin", Status::Unsupported),  // DSA
        ("4.10.bin", Status::Unsupported), // DSA
        ("4.11.bin", Status::Malformed),   // certificates and CRLs only
    ] {
        let content = (file == "4.3.bin").then_some(detached.as_slice());
        let v = verify_signed_data(&vector(&format!("rfc4134/{file}")), content, &ctx);
        expect(&v, expected, file);
    }
    for f in ["rfc4134/4.8.eml", "rfc4134/4.9.eml"] {
        let v = verify_message(&vector(f), &ctx);
        expect(&v, Status::Unsupported, f);
    }
    let weak = verify_signed_data(&vector("rfc4134/4.2.bin"), None, &ctx);
    assert!(weak.weak);
    assert!(weak.weak_reasons.iter().any(|r| r.contains("RSA-1024")));
}

#[test]
fn cms_examples_ireland_ed25519_is_unsupported_rsa_and_pss_verify() {
    let anchors: Vec<_> = certs("rfc9216/ca.rsa.crt")
        .into_iter()
        .chain(certs("rfc9216/ca.25519.crt"))
        .collect();
    let mut ctx = VerifyContext::new(anchors, at("2026-06-01T00:00:00Z"));
    let dir = "cms-examples-ireland/binary-files";
    let v = verify_signed_data(
        &vector(&format!("{dir}/signedByCarlosEd25519.p7m")),
        None,
        &ctx,
    );
    expect(&v, Status::Unsupported, "Ed25519");
    assert!(v.reasons[0].contains("Ed25519"));
    expect(
        &verify_signed_data(
            &vector(&format!("{dir}/signedByAliceAndCarlosNoCerts.p7m")),
            None,
            &ctx,
        ),
        Status::Unsupported,
        "two signers",
    );
    ctx.sender = Some("alice@smime.example".to_owned());
    for f in ["signedByAliceRSA.p7m", "signedByAliceRSAPSS.p7m"] {
        let v = verify_signed_data(&vector(&format!("{dir}/{f}")), None, &ctx);
        expect(&v, Status::Valid, f);
    }
    ctx.sender = Some("bob@smime.example".to_owned());
    expect(
        &verify_signed_data(&vector(&format!("{dir}/signedByAliceRSA.p7m")), None, &ctx),
        Status::SignerMismatch,
        "sender other than the signer",
    );
}
