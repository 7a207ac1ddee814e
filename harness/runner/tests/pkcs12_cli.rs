//! `smime-lab pkcs12 create` and `inspect` end to end: exit codes, file mode, what is printed and
//! what never is (key material).

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use test_support::{vector, vector_path};

fn smime_lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smime-lab"))
        .args(args)
        .output()
        .expect("run smime-lab")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// SHA-1 thumbprint of rfc9216/alice.sign.crt, as `openssl x509 -noout -fingerprint -sha1` prints it.
const ALICE_SIGN_THUMBPRINT: &str = "32933B035357A3D852DB338B1F27DA2405548976";

fn create(out: &Path, extra: &[&str]) -> Output {
    let (cert, key, ca) = (
        vector_path("rfc9216/alice.sign.crt"),
        vector_path("rfc9216/alice.sign.key"),
        vector_path("rfc9216/ca.rsa.crt"),
    );
    let args = [
        &[
            "pkcs12",
            "create",
            "--cert",
            s(&cert),
            "--key",
            s(&key),
            "--chain",
            s(&ca),
            "--password",
            "pw",
            "--friendly-name",
            "Alice Lovelace",
            "-o",
            s(out),
        ][..],
        extra,
    ]
    .concat();
    smime_lab(&args)
}

#[test]
fn create_writes_a_private_file_that_inspect_describes() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra, legacy) in [
        ("modern.p12", &[][..], false),
        ("legacy.p12", &["--legacy"][..], true),
    ] {
        let out = dir.path().join(name);
        let created = create(&out, extra);
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
        let inspected = smime_lab(&["pkcs12", "inspect", s(&out), "--password", "pw"]);
        assert_eq!(inspected.status.code(), Some(0), "{inspected:?}");
        let text = String::from_utf8(inspected.stdout).unwrap();
        assert!(
            text.contains("[0] CN=Alice Lovelace,OU=LAMPS WG,O=IETF"),
            "{text}"
        );
        assert!(
            text.contains(&format!("SHA-1 {ALICE_SIGN_THUMBPRINT}")),
            "{text}"
        );
        assert!(
            text.contains("private key [0] RSA 2048: matches certificate [0]"),
            "{text}"
        );
        assert_eq!(text.contains("[legacy]"), legacy, "{text}");

        let json = smime_lab(&["pkcs12", "inspect", s(&out), "--password", "pw", "--json"]);
        assert_eq!(json.status.code(), Some(0));
        let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(
            value["certificates"][0]["thumbprint"],
            ALICE_SIGN_THUMBPRINT
        );
        assert_eq!(value["keys"][0]["matches_certificate"]["result"], "yes");
        assert_eq!(value["friendly_name"], "Alice Lovelace");
        assert_eq!(value["legacy"], legacy);
    }
}

#[test]
fn inspect_never_prints_key_material() {
    let file = vector_path("rfc9216/alice.p12");
    let (_, key) = der::pem::decode_vec(&vector("rfc9216/alice.sign.key")).unwrap();
    for extra in [&[][..], &["--json"][..]] {
        let output = smime_lab(
            &[
                &["pkcs12", "inspect", s(&file), "--password", "alice"][..],
                extra,
            ]
            .concat(),
        );
        assert!(output.status.success());
        let shown = String::from_utf8_lossy(&output.stdout).to_lowercase();
        // No 12-byte stretch of the key (from past the common PKCS#8 header) appears in hex.
        for window in key[40..].chunks(12).filter(|w| w.len() == 12) {
            let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
            assert!(!shown.contains(&hex), "key bytes leaked");
        }
        assert!(!shown.contains("begin private key"));
    }
}

#[test]
fn wrong_password_is_exit_2_naming_the_file_and_the_cause() {
    let file = vector_path("thunderbird-nss/Alice.p12");
    let output = smime_lab(&["pkcs12", "inspect", s(&file), "--password", "wrong"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(s(&file)), "{stderr}");
    assert!(
        stderr.contains("MAC verification failed: the password is wrong, or the file is damaged"),
        "{stderr}"
    );
}

#[test]
fn password_file_is_read_and_the_seed_makes_output_byte_stable() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("pw.txt");
    std::fs::write(&password_file, "pw\n").unwrap();
    let (a, b) = (dir.path().join("a.p12"), dir.path().join("b.p12"));
    for out in [&a, &b] {
        assert!(create(out, &["--seed", "7"]).status.success());
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // Replacing an existing file works (atomic rename), and without a seed the salts differ.
    assert!(create(&b, &[]).status.success());
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let inspected = smime_lab(&[
        "pkcs12",
        "inspect",
        s(&b),
        "--password-file",
        s(&password_file),
    ]);
    assert_eq!(inspected.status.code(), Some(0), "{inspected:?}");
}

#[test]
fn create_refuses_a_key_of_another_certificate_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mismatch.p12");
    let (cert, key) = (
        vector_path("rfc9216/alice.sign.crt"),
        vector_path("rfc9216/bob.sign.key"),
    );
    let output = smime_lab(&[
        "pkcs12",
        "create",
        "--cert",
        s(&cert),
        "--key",
        s(&key),
        "--password",
        "pw",
        "-o",
        s(&out),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not belong to the certificate"));
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a temporary file was left"
    );
}

/// The help says "Exit 1 if a key does not match": a key that belongs to none of the file's
/// certificates (OpenSSL packs Carol's key beside Alice's certificate) is such a key, as is a
/// key alone in its file.
#[test]
fn a_key_that_matches_no_certificate_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let (carol_key, alice_cert) = (
        test_support::fixture("pki/default/carol.key.pem"),
        test_support::fixture("pki/default/alice.crt.pem"),
    );
    for (name, extra) in [
        ("beside-alice.p12", vec!["-certfile", s(&alice_cert)]),
        ("key-only.p12", vec![]),
    ] {
        let out = dir.path().join(name);
        let made = test_support::openssl()
            .args([
                "pkcs12", "-export", "-nocerts", "-passout", "pass:pw", "-inkey",
            ])
            .arg(&carol_key)
            .args(&extra)
            .arg("-out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let inspected = smime_lab(&["pkcs12", "inspect", s(&out), "--password", "pw"]);
        let stdout = String::from_utf8_lossy(&inspected.stdout);
        assert_eq!(inspected.status.code(), Some(1), "{name}: {stdout}");
        assert!(
            stdout.contains("no certificate in the file belongs to it"),
            "{name}: {stdout}"
        );
    }
}
