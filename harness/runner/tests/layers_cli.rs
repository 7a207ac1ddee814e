//! `smime-lab protect` and `smime-lab verify --cert/--key | --p12` on layered messages, with the
//! lab PKI (fixtures/pki/default, clock inside 2026): the exit-code contract, the layers in the
//! JSON, byte-stable output, pipes, OpenSSL opening what `protect` writes, and a real Outlook
//! message.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use test_support::{fixture, run_any_with_stdin, run_openssl, vector_path};

const BIN: &str = env!("CARGO_BIN_EXE_smime-lab");
/// Inside the lab certificates' validity and the lab CRLs' (issued 2026-01-01, next update
/// 2026-01-08).
const NOW: &str = "2026-01-02T12:00:00Z";

fn pki(name: &str) -> String {
    fixture(&format!("pki/default/{name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

fn smime_lab(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn smime_lab_stdin(args: &[&str], stdin: &[u8]) -> Output {
    run_any_with_stdin(Command::new(BIN).args(args), stdin)
}

#[track_caller]
fn ok(out: &Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.clone()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `kind` of each layer, outermost first.
fn kinds(v: &serde_json::Value) -> Vec<String> {
    v["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("no layers in {v}"))
        .iter()
        .map(|l| l["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn message(from: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: bob@contoso.com\r\nSubject: layers\r\nDate: Fri, 02 Jan 2026 12:00:00 +0000\r\nMessage-ID: <layers@contoso.com>\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSigned, then sealed.\r\n"
    )
    .into_bytes()
}

const ENTITY: &[u8] = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned, then sealed.\r\n";

/// `protect` as `who` (a lab user) to bob's encryption certificate.
fn protect(dir: &Path, who: &str, extra: &[&str]) -> Vec<u8> {
    let input = dir.join(format!("{who}.eml"));
    std::fs::write(&input, message(&format!("{who}@contoso.com"))).unwrap();
    let cert = pki(&format!("{who}.crt.pem"));
    let key = pki(&format!("{who}.key.pem"));
    let chain = pki("issuing.crt.pem");
    let to = pki("bob-encrypt.crt.pem");
    let mut args = vec![
        "protect",
        "--cert",
        &cert,
        "--key",
        &key,
        "--chain",
        &chain,
        "--to",
        &to,
        "--now",
        NOW,
        "--seed",
        "layers-cli",
    ];
    args.extend_from_slice(extra);
    args.push(input.to_str().unwrap());
    ok(&smime_lab(&args))
}

/// `verify` with the lab anchors and CRLs, no network.
fn verify(path: &Path, extra: &[&str]) -> Output {
    let root = pki("root.crt.pem");
    let root_crl = pki("root.crl");
    let issuing_crl = pki("issuing.crl");
    let mut args = vec![
        "verify",
        "--anchors",
        &root,
        "--crl",
        &root_crl,
        "--crl",
        &issuing_crl,
        "--no-crl-fetch",
        "--now",
        NOW,
        "--json",
    ];
    args.extend_from_slice(extra);
    args.push(path.to_str().unwrap());
    smime_lab(&args)
}

#[test]
fn verify_opens_layers_with_cert_and_key_or_p12() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let protected = protect(dir, "alice", &["--opaque", "--encrypt-to-self"]);
    assert_eq!(
        protected,
        protect(dir, "alice", &["--opaque", "--encrypt-to-self"]),
        "same --now and --seed, same bytes"
    );
    let path = dir.join("protected.eml");
    std::fs::write(&path, &protected).unwrap();

    // No key: exit 1, status encrypted, and the hint names the options.
    let out = verify(&path, &[]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["status"], "encrypted");
    assert_eq!(kinds(&v), ["encrypted"]);
    assert_eq!(v["layers"][0]["decrypted"], false);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("encrypted: pass --cert/--key or --p12 to decrypt it first"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Bob's certificate and key: exit 0, both layers shown.
    let out = verify(
        &path,
        &[
            "--cert",
            &pki("bob-encrypt.crt.pem"),
            "--key",
            &pki("bob-encrypt.key.pem"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json(&out);
    assert_eq!(v["status"], "valid");
    assert_eq!(kinds(&v), ["encrypted", "signed"]);
    assert_eq!(v["layers"][0]["cipher"], "aes256-cbc");
    assert_eq!(v["layers"][1]["verdict"]["packaging"], "opaque-signed");
    assert_eq!(v["layers"][1]["verdict"]["status"], "valid");
    assert_eq!(v["from"][0], "alice@contoso.com");
    assert!(
        v.get("content").is_none(),
        "the decrypted text stays out of the report"
    );

    // The same from PKCS#12, and Alice can read her own copy (--encrypt-to-self).
    for p12 in ["bob-encrypt.p12", "alice.p12", "alice.legacy.p12"] {
        let out = verify(&path, &["--p12", &pki(p12), "--password", "smime-lab"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{p12}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let password_file = dir.join("password");
    std::fs::write(&password_file, "smime-lab\n").unwrap();
    let out = verify(
        &path,
        &[
            "--p12",
            &pki("bob-encrypt.p12"),
            "--password-file",
            password_file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));

    // Someone else's key: exit 1, cannot-decrypt.
    let out = verify(
        &path,
        &[
            "--cert",
            &pki("carol.crt.pem"),
            "--key",
            &pki("carol.key.pem"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["status"], "cannot-decrypt");

    // Unreadable or incomplete identities: exit 2.
    for args in [
        &["--p12", &pki("bob-encrypt.p12")][..],
        &["--p12", &pki("bob-encrypt.p12"), "--password", "wrong"][..],
        &["--cert", &pki("bob-encrypt.crt.pem")][..],
        &["--password", "smime-lab"][..],
        &[
            "--cert",
            &pki("bob-encrypt.crt.pem"),
            "--key",
            "/nonexistent.key",
        ][..],
    ] {
        let out = verify(&path, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn triple_wrap_thunderbird_form_and_revocation_inside_the_envelope() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let p12 = pki("bob-encrypt.p12");
    let key = ["--p12", p12.as_str(), "--password", "smime-lab"];

    let triple = dir.join("triple.eml");
    std::fs::write(&triple, protect(dir, "alice", &["--triple-wrap"])).unwrap();
    let out = verify(&triple, &key);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json(&out);
    assert_eq!(kinds(&v), ["signed", "encrypted", "signed"]);
    assert_eq!(v["layers"][0]["verdict"]["packaging"], "clear-signed");
    // Without the key the outer signature verifies, but the content is unread: exit 1.
    let out = verify(&triple, &[]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["status"], "encrypted");
    assert_eq!(v["layers"][0]["verdict"]["status"], "valid");

    // Text output lists the layers.
    let out = smime_lab(&[
        "verify",
        "--anchors",
        &pki("root.crt.pem"),
        "--no-crl-fetch",
        "--now",
        NOW,
        "--p12",
        &pki("bob-encrypt.p12"),
        "--password",
        "smime-lab",
        triple.to_str().unwrap(),
    ]);
    let text = String::from_utf8(ok(&out)).unwrap();
    assert!(text.starts_with("status: valid"), "{text}");
    assert!(text.contains("  2. AES-256-CBC"), "{text}");

    // Eve is revoked: her signature inside the envelope is found out once it is opened.
    let eve = dir.join("eve.eml");
    std::fs::write(&eve, protect(dir, "eve", &[])).unwrap();
    let out = verify(&eve, &key);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["status"], "revoked");
    assert_eq!(kinds(&v), ["encrypted", "signed"]);
}

#[test]
fn sign_and_encrypt_compose_with_pipes() {
    let m = message("alice@contoso.com");
    let signed = ok(&smime_lab_stdin(
        &[
            "sign",
            "--cert",
            &pki("alice.crt.pem"),
            "--key",
            &pki("alice.key.pem"),
            "--chain",
            &pki("issuing.crt.pem"),
            "--now",
            NOW,
            "--seed",
            "pipe",
            "-",
        ],
        &m,
    ));
    let encrypted = ok(&smime_lab_stdin(
        &[
            "encrypt",
            "--to",
            &pki("bob-encrypt.crt.pem"),
            "--seed",
            "pipe",
            "-",
        ],
        &signed,
    ));
    let out = smime_lab_stdin(
        &[
            "verify",
            "--anchors",
            &pki("root.crt.pem"),
            "--no-crl-fetch",
            "--now",
            NOW,
            "--json",
            "--p12",
            &pki("bob-encrypt.p12"),
            "--password",
            "smime-lab",
            "-",
        ],
        &encrypted,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(kinds(&json(&out)), ["encrypted", "signed"]);
}

/// OpenSSL opens `protect`'s output (ECDH P-256 recipient, AES-128-GCM authEnveloped-data):
/// decrypt, then verify; the content is the entity that was signed.
#[test]
fn openssl_opens_what_protect_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let protected = dir.join("protected.eml");
    std::fs::write(
        &protected,
        protect(dir, "alice", &["--opaque", "--cipher", "aes128-gcm"]),
    )
    .unwrap();
    let decrypted = dir.join("decrypted.eml");
    let run = |args: &[&str]| {
        run_openssl(args);
    };
    run(&[
        "cms",
        "-decrypt",
        "-in",
        protected.to_str().unwrap(),
        "-recip",
        &pki("bob-encrypt.crt.pem"),
        "-inkey",
        &pki("bob-encrypt.key.pem"),
        "-out",
        decrypted.to_str().unwrap(),
    ]);
    let content = dir.join("content");
    // 2026-01-02T12:00:00Z: OpenSSL checks validity at this time, not the machine's.
    run(&[
        "cms",
        "-verify",
        "-in",
        decrypted.to_str().unwrap(),
        "-CAfile",
        &pki("root.crt.pem"),
        "-attime",
        "1767355200",
        "-out",
        content.to_str().unwrap(),
    ]);
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(&content).unwrap()),
        String::from_utf8_lossy(ENTITY)
    );
}

/// A real Outlook 16 message, signed then encrypted, opened with the recipient's key files.
#[test]
fn verify_opens_an_outlook_message() {
    let dir = vector_path("hiraoka-tb128-outlook16");
    let p = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    let out = smime_lab(&[
        "verify",
        "--anchors",
        &p("certs__ca_smime.crt"),
        "--no-crl-fetch",
        "--now",
        "2026-06-01T00:00:00Z",
        "--json",
        "--cert",
        &p("certs__smime-2.crt"),
        "--key",
        &p("certs__smime-2.key"),
        &p("received-at-smime2__Message_from_smime1_to_smime2_signed_and_encrypted.eml"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json(&out);
    assert_eq!(kinds(&v), ["encrypted", "signed"]);
    assert_eq!(v["weak"], true, "Outlook signs with SHA-1");
}
