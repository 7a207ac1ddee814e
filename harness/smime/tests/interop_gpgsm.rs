//! Interoperability with GnuPG's gpgsm (2.2): it verifies our RSA PKCS#1 v1.5 and RSA-PSS
//! signatures, and we verify what it signs.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use smime::cms::{DigestAlgorithm, RsaPadding, SignOptions, Status, sign_message, verify_message};
use test_support::gnupg::GnupgHome;
use test_support::run_ok_with_stdin;

/// A throw-away GnuPG home trusting the RFC 9216 CA, with CRL checks off (the sample CA has no
/// CRL).
struct GpgHome(GnupgHome);

impl GpgHome {
    fn new() -> Self {
        let home = GnupgHome::new();
        write(
            home.path(),
            "gpgsm.conf",
            b"disable-crl-checks\ndisable-policy-checks\ndisable-dirmngr\n",
        );
        run_ok(home.gpgsm().args([
            "--import",
            vector_path("rfc9216/ca.rsa.crt").to_str().unwrap(),
        ]));
        let out = run_ok(
            home.gpgsm()
                .args(["--with-colons", "--fingerprint", "Sample LAMPS RSA"]),
        );
        let fpr = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| {
                // fpr:::::::::<fingerprint>:... — field 10 is the SHA-1 fingerprint.
                l.starts_with("fpr:")
                    .then(|| l.split(':').nth(9).map(str::to_owned))
                    .flatten()
            })
            .expect("the CA fingerprint");
        write(
            home.path(),
            "trustlist.txt",
            format!("{fpr} S relax\n").as_bytes(),
        );
        GpgHome(home)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// Runs gpgsm with `input` on stdin (passphrases for loopback pinentry).
    fn gpgsm_with_stdin(&self, args: &[&str], input: &str) -> std::process::Output {
        run_ok_with_stdin(self.0.gpgsm().args(args), input.as_bytes())
    }

    fn verify(&self, signature: &Path, content: &Path) -> String {
        let out = run_any(self.0.gpgsm().args([
            "--status-fd",
            "1",
            "--verify",
            signature.to_str().unwrap(),
            content.to_str().unwrap(),
        ]));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn split_to_files(dir: &Path, name: &str, message: &[u8]) -> (PathBuf, PathBuf) {
    let (content, signature) = split_clear_signed(message);
    (
        write(dir, &format!("{name}.p7s"), &signature),
        write(dir, &format!("{name}.txt"), &content),
    )
}

#[test]
fn gpgsm_verifies_our_rsa_pkcs1_and_pss_signatures() {
    let home = GpgHome::new();
    for (padding, digest) in [
        (RsaPadding::Pkcs1v15, DigestAlgorithm::Sha256),
        (RsaPadding::Pkcs1v15, DigestAlgorithm::Sha512),
        (RsaPadding::Pss, DigestAlgorithm::Sha256),
    ] {
        let mut options = SignOptions::new(NOW);
        options.rsa_padding = padding;
        options.digest = digest;
        let signed = sign_message(
            &alice_message(),
            &alice(),
            &options,
            &mut smime::rng::seeded("gpgsm"),
        )
        .unwrap();
        let name = format!("{padding:?}-{}", digest.micalg());
        let (sig, content) = split_to_files(home.path(), &name, &signed);
        let status = home.verify(&sig, &content);
        assert!(
            status.contains("[GNUPG:] GOODSIG") && status.contains("[GNUPG:] VALIDSIG"),
            "gpgsm did not accept our {name}:\n{status}"
        );
        assert!(status.contains("TRUST_FULLY"), "{name}: {status}");
        // The same signature over other bytes: gpgsm must say BADSIG (the check can fail).
        let other = write(
            home.path(),
            &format!("{name}-bad.txt"),
            b"Content-Type: text/plain\r\n\r\nforged\r\n",
        );
        let status = home.verify(&sig, &other);
        assert!(status.contains("[GNUPG:] BADSIG"), "{name}: {status}");
    }
}

#[test]
fn we_verify_what_gpgsm_signs() {
    let home = GpgHome::new();
    // gpgsm 2.2 reads the PKCS#12 ciphers of its time, not RFC 9216's PBES2 file: re-export
    // Alice's signing key with PBE-SHA1-3DES.
    let p12 = home.path().join("alice-legacy.p12");
    run_ok(openssl().args([
        "pkcs12",
        "-export",
        "-inkey",
        vector_path("rfc9216/alice.sign.key").to_str().unwrap(),
        "-in",
        vector_path("rfc9216/alice.sign.crt").to_str().unwrap(),
        "-passout",
        "pass:alice",
        "-certpbe",
        "PBE-SHA1-3DES",
        "-keypbe",
        "PBE-SHA1-3DES",
        "-macalg",
        "sha1",
        "-out",
        p12.to_str().unwrap(),
    ]));
    home.gpgsm_with_stdin(
        &[
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            "0",
            "--import",
            p12.to_str().unwrap(),
        ],
        "alice\n",
    );
    let content = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by gpgsm.\r\n";
    let content_path = write(home.path(), "gpgsm-content.txt", content);
    let sig_path = home.path().join("gpgsm.p7s");
    home.gpgsm_with_stdin(
        &[
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            "0",
            "-u",
            "alice@smime.example",
            "--detach-sign",
            "-o",
            sig_path.to_str().unwrap(),
            content_path.to_str().unwrap(),
        ],
        "alice\n",
    );
    let signature = std::fs::read(&sig_path).unwrap();
    let message = wrap_detached(
        "Alice <alice@smime.example>",
        content,
        &signature,
        "sha-256",
    );
    let verdict = verify_message(
        &message,
        &context(rfc9216_ca(), time::OffsetDateTime::now_utc()),
    );
    assert_eq!(verdict.status, Status::Valid, "{}", verdict.to_text());
    let forged = wrap_detached(
        "Alice <alice@smime.example>",
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by gpgsn.\r\n",
        &signature,
        "sha-256",
    );
    let verdict = verify_message(
        &forged,
        &context(rfc9216_ca(), time::OffsetDateTime::now_utc()),
    );
    assert_eq!(verdict.status, Status::InvalidSignature);
}
