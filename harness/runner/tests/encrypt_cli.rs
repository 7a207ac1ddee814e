//! `smime-lab encrypt` / `smime-lab decrypt` as a user runs them: outputs OpenSSL can read, the
//! reverse, reproducible output with --seed, file modes, and exit code 2 for everything that
//! cannot be done.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use test_support::{fixture, run_openssl};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smime-lab"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run smime-lab")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

const MESSAGE: &[u8] = b"From: Alice <alice@example.com>\r\nTo: Bob <bob@example.com>\r\nSubject: quarterly numbers\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000\r\nMessage-ID: <q1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nRevenue up.\r\n";
const ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\n\r\nRevenue up.\r\n";

#[test]
fn encrypt_then_openssl_and_smime_lab_decrypt() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.eml");
    std::fs::write(&input, MESSAGE).unwrap();
    let (bob_cert, bob_key) = (
        fixture("vectors/rfc9216/bob.encrypt.crt"),
        fixture("vectors/rfc9216/bob.decrypt.key"),
    );
    let (alice_cert, alice_key) = (
        fixture("vectors/rfc9216/alice.encrypt.crt"),
        fixture("vectors/rfc9216/alice.decrypt.key"),
    );
    let out = tmp.path().join("out.eml");
    let r = run(&[
        "encrypt",
        "--to",
        s(&bob_cert),
        "--sender-cert",
        s(&alice_cert),
        "--cipher",
        "aes128-gcm",
        "--oaep",
        "--oaep-hash",
        "sha256",
        "--ski",
        "--seed",
        "cli-test",
        s(&input),
        "-o",
        s(&out),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains("2 recipients with AES-128-GCM"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }
    let encrypted = std::fs::read(&out).unwrap();
    assert!(String::from_utf8_lossy(&encrypted).contains("smime-type=authEnveloped-data"));

    // The same seed gives the same bytes, on standard output too.
    let again = run(&[
        "encrypt",
        "--to",
        s(&bob_cert),
        "--sender-cert",
        s(&alice_cert),
        "--cipher",
        "aes128-gcm",
        "--oaep",
        "--oaep-hash",
        "sha256",
        "--ski",
        "--seed",
        "cli-test",
        s(&input),
    ]);
    assert!(again.status.success());
    assert_eq!(again.stdout, encrypted);
    // Without a seed, randomness comes from the system.
    let random = run(&["encrypt", "--to", s(&bob_cert), s(&input)]);
    let random2 = run(&["encrypt", "--to", s(&bob_cert), s(&input)]);
    assert!(random.status.success() && random2.status.success());
    assert_ne!(random.stdout, random2.stdout);

    for (cert, key) in [(&bob_cert, &bob_key), (&alice_cert, &alice_key)] {
        let theirs = run_openssl(&[
            "cms",
            "-decrypt",
            "-in",
            s(&out),
            "-recip",
            s(cert),
            "-inkey",
            s(key),
        ]);
        assert_eq!(theirs, ENTITY);
        let decrypted = tmp.path().join("dec.eml");
        let r = run(&[
            "decrypt",
            "--cert",
            s(cert),
            "--key",
            s(key),
            s(&out),
            "-o",
            s(&decrypted),
        ]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(
            stderr.contains("AES-128-GCM (authenticated)")
                && stderr.contains("subject key identifier"),
            "{stderr}"
        );
        assert_eq!(std::fs::read(&decrypted).unwrap(), MESSAGE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&decrypted).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}

#[test]
fn decrypt_what_openssl_encrypted_and_warn_about_weak_ciphers() {
    let tmp = tempfile::tempdir().unwrap();
    let entity = tmp.path().join("entity.txt");
    std::fs::write(&entity, ENTITY).unwrap();
    let (bob_cert, bob_key) = (
        fixture("vectors/rfc9216/bob.encrypt.crt"),
        fixture("vectors/rfc9216/bob.decrypt.key"),
    );
    let eml = tmp.path().join("theirs.eml");
    run_openssl(&[
        "cms",
        "-encrypt",
        "-binary",
        "-des3",
        "-in",
        s(&entity),
        "-out",
        s(&eml),
        s(&bob_cert),
    ]);
    let r = run(&[
        "decrypt",
        "--cert",
        s(&bob_cert),
        "--key",
        s(&bob_key),
        "--entity-only",
        s(&eml),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(r.stdout, ENTITY);
    assert!(String::from_utf8_lossy(&r.stderr).contains("warning: 3DES-CBC is weak"));
}

#[test]
fn what_cannot_be_done_exits_2_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.eml");
    std::fs::write(&input, MESSAGE).unwrap();
    let (bob_cert, alice_cert, alice_key) = (
        fixture("vectors/rfc9216/bob.encrypt.crt"),
        fixture("vectors/rfc9216/alice.encrypt.crt"),
        fixture("vectors/rfc9216/alice.decrypt.key"),
    );
    let out = tmp.path().join("out.eml");
    assert!(
        run(&["encrypt", "--to", s(&bob_cert), s(&input), "-o", s(&out)])
            .status
            .success()
    );

    let cases: [(Vec<&str>, &str); 6] = [
        (
            vec![
                "decrypt",
                "--cert",
                s(&alice_cert),
                "--key",
                s(&alice_key),
                s(&out),
            ],
            "not encrypted to",
        ),
        (
            vec![
                "decrypt",
                "--cert",
                s(&bob_cert),
                "--key",
                s(&alice_key),
                s(&out),
            ],
            "does not belong to the certificate",
        ),
        (
            vec!["decrypt", "--p12", s(&input), "--password", "x", s(&out)],
            "PKCS#12",
        ),
        (
            vec![
                "decrypt",
                "--cert",
                s(&alice_cert),
                "--key",
                s(&alice_key),
                s(&input),
            ],
            "no application/pkcs7-mime part",
        ),
        (
            vec!["encrypt", "--to", s(&input), s(&input)],
            "not a certificate",
        ),
        (
            vec!["encrypt", "--to", s(&bob_cert), "missing.eml"],
            "cannot read missing.eml",
        ),
    ];
    for (args, expected) in cases {
        let r = run(&args);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(r.stdout.is_empty());
    }
    // A failed run leaves no partial output behind.
    let target = tmp.path().join("never.eml");
    let r = run(&[
        "decrypt",
        "--cert",
        s(&alice_cert),
        "--key",
        s(&alice_key),
        s(&out),
        "-o",
        s(&target),
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(!target.exists());
}

#[test]
fn decrypt_with_the_users_pkcs12_file_in_both_profiles() {
    // The lab's own PKCS#12 files: what a user installs on a device is what opens their mail.
    let lab = fixture("pki/default");
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.eml");
    std::fs::write(
        &input,
        "From: bob@contoso.com\r\nTo: alice@contoso.com\r\nSubject: p12\r\n\r\nfor alice\r\n",
    )
    .unwrap();
    let encrypted = tmp.path().join("enc.eml");
    let alice_cert = lab.join("alice.crt.pem");
    let output = run(&[
        "encrypt",
        "--to",
        s(&alice_cert),
        s(&input),
        "-o",
        s(&encrypted),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for p12 in ["alice.p12", "alice.legacy.p12"] {
        let p12 = lab.join(p12);
        let output = run(&[
            "decrypt",
            "--p12",
            s(&p12),
            "--password",
            "smime-lab",
            s(&encrypted),
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("for alice"));
        let output = run(&[
            "decrypt",
            "--p12",
            s(&p12),
            "--password",
            "wrong",
            s(&encrypted),
        ]);
        assert_eq!(output.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&output.stderr).contains("password"));
    }
}
