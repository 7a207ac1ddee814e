//! Interoperability with OpenSSL (`openssl cms`, `openssl smime`): what we sign, OpenSSL
//! verifies; what OpenSSL signs, we verify.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use smime::cms::{
    DigestAlgorithm, RsaPadding, SignOptions, SignedForm, Signer, Status, sign_message,
    verify_message,
};

struct Case {
    name: &'static str,
    form: SignedForm,
    padding: RsaPadding,
    digest: DigestAlgorithm,
}

fn rsa_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for form in [SignedForm::ClearSigned, SignedForm::OpaqueSigned] {
        for (padding, digest) in [
            (RsaPadding::Pkcs1v15, DigestAlgorithm::Sha256),
            (RsaPadding::Pkcs1v15, DigestAlgorithm::Sha384),
            (RsaPadding::Pkcs1v15, DigestAlgorithm::Sha512),
            (RsaPadding::Pkcs1v15, DigestAlgorithm::Sha1),
            (RsaPadding::Pss, DigestAlgorithm::Sha256),
            (RsaPadding::Pss, DigestAlgorithm::Sha512),
        ] {
            cases.push(Case {
                name: "rsa",
                form,
                padding,
                digest,
            });
        }
    }
    cases
}

/// Signs with our code, verifies with `openssl cms -verify` (S/MIME input, the CA as the only
/// trust anchor, purpose smimesign) and checks OpenSSL hands back exactly the content we signed.
fn openssl_verifies(
    dir: &std::path::Path,
    signer: &Signer,
    anchors_pem: &std::path::Path,
    case: &Case,
    now: time::OffsetDateTime,
) {
    let mut options = SignOptions::new(now);
    options.form = case.form;
    options.rsa_padding = case.padding;
    options.digest = case.digest;
    let mailbox = smime::cms::address::certificate_mailboxes(&signer.certificate).remove(0);
    let input = message_from(&format!("<{mailbox}>"));
    let signed =
        sign_message(&input, signer, &options, &mut smime::rng::seeded("interop")).unwrap();
    let label = format!(
        "{}-{:?}-{:?}-{}",
        case.name,
        case.form,
        case.padding,
        case.digest.micalg()
    );
    let path = write(dir, &format!("{label}.eml"), &signed);
    let out_path = dir.join(format!("{label}.out"));
    let out = run_any(openssl().args([
        "cms",
        "-verify",
        "-in",
        path.to_str().unwrap(),
        "-CAfile",
        anchors_pem.to_str().unwrap(),
        "-purpose",
        "smimesign",
        "-out",
        out_path.to_str().unwrap(),
    ]));
    assert!(
        out.status.success(),
        "openssl cms -verify refused our {label}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Verification successful"));
    let recovered = std::fs::read(&out_path).unwrap();
    let canonical = smime::cms::sign::canonicalize(BODY_ENTITY).unwrap();
    assert_eq!(
        smime::cms::mime::to_crlf(&recovered),
        smime::cms::mime::to_crlf(&canonical),
        "{label}: OpenSSL recovered other content than we signed"
    );
    // And our own verifier agrees, given the same anchor.
    let anchors =
        smime::certificate::parse_certificates(&std::fs::read(anchors_pem).unwrap()).unwrap();
    let verdict = verify_message(&signed, &context(anchors, now));
    assert_eq!(
        verdict.status,
        Status::Valid,
        "{label}: {}",
        verdict.to_text()
    );
    assert_eq!(verdict.weak, case.digest.is_weak(), "{label}");
}

#[test]
fn openssl_verifies_our_rsa_signatures_clear_and_opaque() {
    let dir = tempfile::tempdir().unwrap();
    let anchors = vector_path("rfc9216/ca.rsa.crt");
    let alice = alice();
    for case in rsa_cases() {
        openssl_verifies(dir.path(), &alice, &anchors, &case, NOW);
    }
}

#[test]
fn openssl_verifies_our_ecdsa_signatures() {
    let dir = tempfile::tempdir().unwrap();
    for (curve, digests) in [
        (
            "P-256",
            &[DigestAlgorithm::Sha256, DigestAlgorithm::Sha384][..],
        ),
        (
            "P-384",
            &[DigestAlgorithm::Sha384, DigestAlgorithm::Sha512][..],
        ),
    ] {
        let email = format!("erin-{}@example.test", curve.to_ascii_lowercase());
        let (ca, signer) = openssl_ecdsa_signer(dir.path(), curve, &email);
        // After the certificates exist: openssl makes them valid from the current second.
        let now = time::OffsetDateTime::now_utc();
        let ca_pem = dir.path().join(format!("ca-{curve}.pem"));
        for &digest in digests {
            for form in [SignedForm::ClearSigned, SignedForm::OpaqueSigned] {
                openssl_verifies(
                    dir.path(),
                    &signer,
                    &ca_pem,
                    &Case {
                        name: if curve == "P-256" { "p256" } else { "p384" },
                        form,
                        padding: RsaPadding::Pkcs1v15,
                        digest,
                    },
                    now,
                );
            }
        }
        // From someone else: the signature is fine, the sender is not the signer.
        let signed = sign_message(
            &alice_message(),
            &signer,
            &SignOptions::new(now),
            &mut smime::rng::seeded("ec"),
        )
        .unwrap();
        let verdict = verify_message(&signed, &context(ca, now));
        assert_eq!(verdict.status, Status::SignerMismatch, "{curve}");
        assert!(verdict.signature_algorithm.unwrap().contains("ECDSA"));
    }
}

/// `openssl cms -sign` variants: each must verify as valid in ours, and a tampered copy must not.
#[test]
fn we_verify_what_openssl_signs() {
    let dir = tempfile::tempdir().unwrap();
    let content = write(
        dir.path(),
        "content.txt",
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by OpenSSL.\r\nSecond line.\r\n",
    );
    let signer = vector_path("rfc9216/alice.sign.crt");
    let key = vector_path("rfc9216/alice.sign.key");
    let (ec_ca, _) = openssl_ecdsa_signer(dir.path(), "P-256", "erin@example.test");
    let now = time::OffsetDateTime::now_utc();
    let ec_cert = dir.path().join("ee-P-256.pem");
    let ec_key = dir.path().join("ee-P-256.key");

    let variants: Vec<(&str, Vec<&str>, bool)> = vec![
        ("cms-clear-sha256", vec!["cms", "-sign"], false),
        (
            "cms-opaque-sha256",
            vec!["cms", "-sign", "-nodetach"],
            false,
        ),
        (
            "cms-clear-sha384",
            vec!["cms", "-sign", "-md", "sha384"],
            false,
        ),
        (
            "cms-opaque-sha512",
            vec!["cms", "-sign", "-nodetach", "-md", "sha512"],
            false,
        ),
        (
            "cms-clear-pss",
            vec!["cms", "-sign", "-keyopt", "rsa_padding_mode:pss"],
            false,
        ),
        (
            "cms-opaque-pss-sha384",
            vec![
                "cms",
                "-sign",
                "-nodetach",
                "-md",
                "sha384",
                "-keyopt",
                "rsa_padding_mode:pss",
            ],
            false,
        ),
        ("smime-clear", vec!["smime", "-sign"], false),
        ("smime-opaque", vec!["smime", "-sign", "-nodetach"], false),
        ("cms-clear-ecdsa", vec!["cms", "-sign"], true),
        (
            "cms-opaque-ecdsa-sha384",
            vec!["cms", "-sign", "-nodetach", "-md", "sha384"],
            true,
        ),
    ];
    for (name, args, ec) in variants {
        let out = dir.path().join(format!("{name}.eml"));
        let (cert, k, from) = if ec {
            (
                ec_cert.as_path(),
                ec_key.as_path(),
                "Erin <erin@example.test>",
            )
        } else {
            (
                signer.as_path(),
                key.as_path(),
                "Alice <alice@smime.example>",
            )
        };
        // The first two words are the subcommand; the rest (-keyopt in particular) must come
        // after -signer/-inkey, which they apply to.
        let (subcommand, options) = args.split_at(2);
        run_ok(
            openssl()
                .args(subcommand)
                .args([
                    "-in",
                    content.to_str().unwrap(),
                    "-signer",
                    cert.to_str().unwrap(),
                    "-inkey",
                    k.to_str().unwrap(),
                    "-from",
                    from,
                    "-to",
                    "bob@smime.example",
                    "-subject",
                    name,
                    "-out",
                    out.to_str().unwrap(),
                ])
                .args(options),
        );
        let message = std::fs::read(&out).unwrap();
        let (anchors, at) = if ec {
            (ec_ca.clone(), now)
        } else {
            (rfc9216_ca(), NOW)
        };
        let verdict = verify_message(&message, &context(anchors.clone(), at));
        assert_eq!(
            verdict.status,
            Status::Valid,
            "{name}: {}\n{}",
            verdict.to_text(),
            String::from_utf8_lossy(&message)
        );
        if name.contains("pss") {
            assert!(
                verdict
                    .signature_algorithm
                    .as_deref()
                    .unwrap()
                    .contains("PSS"),
                "{name}"
            );
        }
        // Change one letter of the signed text: never valid.
        let text = b"Signed by OpenSSL.";
        let tampered: Vec<u8> =
            if let Some(pos) = message.windows(text.len()).position(|w| w == text) {
                let mut t = message.clone();
                t[pos] = b's';
                t
            } else {
                // Opaque: the text is inside the base64 CMS object; change the object instead.
                let der = opaque_der(&message);
                let mut der = der.clone();
                let pos = der.windows(text.len()).position(|w| w == text).unwrap();
                der[pos] = b's';
                wrap_opaque(from, &der)
            };
        let verdict = verify_message(&tampered, &context(anchors, at));
        assert_eq!(verdict.status, Status::InvalidSignature, "tampered {name}");
    }
}
