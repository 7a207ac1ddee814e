//! Interoperability with NSS (`cmsutil` from libnss3-tools, the library Thunderbird uses): it
//! decodes and verifies our RSA signatures, and we verify what it signs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use smime::cms::{SignOptions, SignedForm, Status, sign_message, verify_message};

const HINT: &str = "apt-get install -y libnss3-tools";

/// An NSS database trusting the RFC 9216 CA, with Alice's PKCS#12 (password `alice`) imported.
fn nss_db(dir: &Path) -> PathBuf {
    let db = dir.join("nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let d = db.to_str().unwrap();
    run(Command::new(tool("certutil", HINT)).args(["-N", "-d", d, "--empty-password"]));
    run(Command::new(tool("certutil", HINT)).args([
        "-A",
        "-n",
        "lamps-ca",
        "-t",
        "C,C,C",
        "-i",
        vector_path("rfc9216/ca.rsa.crt").to_str().unwrap(),
        "-d",
        d,
    ]));
    run(Command::new(tool("pk12util", HINT)).args([
        "-i",
        vector_path("rfc9216/alice.p12").to_str().unwrap(),
        "-d",
        d,
        "-W",
        "alice",
    ]));
    db
}

/// `cmsutil -D -h 2` prints `signer0.status=GoodSignature` for a verified signature.
fn cmsutil_status(db: &Path, cms: &Path, detached: Option<&Path>) -> String {
    let mut cmd = Command::new(tool("cmsutil", HINT));
    cmd.args(["-D", "-h", "2", "-n", "-d", db.to_str().unwrap(), "-i"])
        .arg(cms);
    if let Some(c) = detached {
        cmd.arg("-c").arg(c);
    }
    let out = run(&mut cmd);
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
        run(Command::new(tool("cmsutil", HINT))
            .args(["-S", "-N", "alice", "-G", "-P", "-Y", "NONE", "-d"])
            .arg(&db)
            .arg("-i")
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .args(&extra));
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
