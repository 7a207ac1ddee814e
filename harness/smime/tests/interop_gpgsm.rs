//! Interoperability with GnuPG's gpgsm (2.2): it verifies our RSA PKCS#1 v1.5 and RSA-PSS
//! signatures, and we verify what it signs.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use smime::cms::{DigestAlgorithm, RsaPadding, SignOptions, Status, sign_message, verify_message};

/// A throw-away GNUPGHOME trusting the RFC 9216 CA, with CRL checks off (the sample CA has no
/// CRL). The agent it starts is stopped on drop.
struct GpgHome {
    dir: tempfile::TempDir,
}

impl GpgHome {
    fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("gpgsm").tempdir().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        write(
            dir.path(),
            "gpgsm.conf",
            b"disable-crl-checks\ndisable-policy-checks\ndisable-dirmngr\n",
        );
        write(dir.path(), "gpg-agent.conf", b"allow-loopback-pinentry\n");
        let home = GpgHome { dir };
        run(home.gpgsm().args([
            "--import",
            vector_path("rfc9216/ca.rsa.crt").to_str().unwrap(),
        ]));
        let out = run(home
            .gpgsm()
            .args(["--with-colons", "--fingerprint", "Sample LAMPS RSA"]));
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
            home.dir.path(),
            "trustlist.txt",
            format!("{fpr} S relax\n").as_bytes(),
        );
        home
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn gpgsm(&self) -> Command {
        let mut c = Command::new(tool("gpgsm", "apt-get install -y gpgsm"));
        c.env("GNUPGHOME", self.path()).arg("--batch");
        c
    }

    /// Runs gpgsm with `input` on stdin (passphrases for loopback pinentry).
    fn gpgsm_with_stdin(&self, args: &[&str], input: &str) -> std::process::Output {
        let mut child = self
            .gpgsm()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gpgsm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn verify(&self, signature: &Path, content: &Path) -> String {
        let out = run_any(self.gpgsm().args([
            "--status-fd",
            "1",
            "--verify",
            signature.to_str().unwrap(),
            content.to_str().unwrap(),
        ]));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        if let Ok(gpgconf) = std::process::Command::new("gpgconf")
            .env("GNUPGHOME", self.path())
            .args(["--kill", "gpg-agent"])
            .output()
        {
            let _ = gpgconf;
        }
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
    run(Command::new(openssl()).args([
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
