//! Interoperability with NSS (`cmsutil` from libnss3-tools, the library Thunderbird uses): it
//! decodes and verifies our RSA signatures, and we verify what it signs.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::*;
use smime::cms::{SignOptions, SignedForm, Status, sign_message, verify_message};
use test_support::nss::{self, NssDb};

/// An NSS database trusting the RFC 9216 CA, with Alice's PKCS#12 (password `alice`) imported.
fn nss_db(dir: &Path) -> NssDb {
    let db = NssDb::create(dir);
    db.trust_ca("lamps-ca", &vector_path("rfc9216/ca.rsa.crt"));
    db.import_pkcs12(&vector_path("rfc9216/alice.p12"), "alice");
    db
}

/// `cmsutil -D -h 2` prints `signer0.status=GoodSignature` for a verified signature.
fn cmsutil_status(db: &NssDb, cms: &Path, detached: Option<&Path>) -> String {
    let mut cmd = nss::tool("cmsutil");
    cmd.args(["-D", "-h", "2", "-n", "-d", &db.arg(), "-i"])
        .arg(cms);
    if let Some(c) = detached {
        cmd.arg("-c").arg(c);
    }
    let out = run_ok(&mut cmd);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn cmsutil_verifies_our_rsa_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let db = nss_db(dir.path());
    for form in [SignedForm::ClearSigned, SignedForm::OpaqueSigned] {
        let mut options = SignOptions::new(NOW);
        options.form = form;
        let signed = sign_message(
            &alice_message(),
            &alice(),
            &options,
            &mut smime::rng::seeded("nss"),
        )
        .unwrap();
        let status = match form {
            SignedForm::ClearSigned => {
                let (content, signature) = split_clear_signed(&signed);
                let sig = write(dir.path(), "clear.p7s", &signature);
                let content_path = write(dir.path(), "clear.txt", &content);
                let good = cmsutil_status(&db, &sig, Some(&content_path));
                let other = write(
                    dir.path(),
                    "other.txt",
                    b"Content-Type: text/plain\r\n\r\nno\r\n",
                );
                let bad = cmsutil_status(&db, &sig, Some(&other));
                assert!(
                    bad.contains("signer0.status=DigestMismatch"),
                    "NSS accepted other content: {bad}"
                );
                good
            }
            SignedForm::OpaqueSigned => {
                let p7m = write(dir.path(), "opaque.p7m", &opaque_der(&signed));
                cmsutil_status(&db, &p7m, None)
            }
        };
        assert!(
            status.contains("signer0.status=GoodSignature"),
            "cmsutil on our {form:?}: {status}"
        );
    }
}

#[test]
fn we_verify_what_cmsutil_signs() {
    let dir = tempfile::tempdir().unwrap();
    let db = nss_db(dir.path());
    let content = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by NSS cmsutil.\r\n";
    let input = write(dir.path(), "content.txt", content);
    let now = time::OffsetDateTime::now_utc();
    for (name, extra) in [
        ("opaque-sha256", vec!["-H", "SHA256"]),
        ("opaque-sha384", vec!["-H", "SHA384"]),
        ("detached-sha256", vec!["-T", "-H", "SHA256"]),
        ("detached-sha512", vec!["-T", "-H", "SHA512"]),
    ] {
        let out = dir.path().join(format!("{name}.p7m"));
        run_ok(
            nss::tool("cmsutil")
                .args(["-S", "-N", "alice", "-G", "-P", "-Y", "NONE", "-d"])
                .arg(db.arg())
                .arg("-i")
                .arg(&input)
                .arg("-o")
                .arg(&out)
                .args(&extra),
        );
        let der = std::fs::read(&out).unwrap();
        let from = "Alice <alice@smime.example>";
        let message = if name.starts_with("detached") {
            wrap_detached(from, content, &der, "sha-256")
        } else {
            wrap_opaque(from, &der)
        };
        let verdict = verify_message(&message, &context(rfc9216_ca(), now));
        assert_eq!(
            verdict.status,
            Status::Valid,
            "{name}: {}",
            verdict.to_text()
        );
        assert!(
            verdict.signing_time.is_some(),
            "{name}: -G adds signingTime"
        );
        assert!(
            !verdict.smime_capabilities.is_empty(),
            "{name}: -P adds capabilities"
        );
    }
}
