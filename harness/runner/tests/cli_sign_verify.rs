//! `smime-lab sign` and `smime-lab verify` as scripts use them: the exit-code contract,
//! byte-stable output, OpenSSL accepting what the CLI signs, and revocation through a CRL
//! distribution point served from a local HTTP server (valid, revoked, offline).

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use test_support::openssl_ca::{Ca, Key, Profile, ROOT_EXTENSIONS, user_extensions};
use test_support::{openssl, run_ok, vector_path};

const BIN: &str = env!("CARGO_BIN_EXE_smime-lab");
const NOW: &str = "2026-11-23T10:00:00Z";

fn rfc9216(name: &str) -> String {
    vector_path(&format!("rfc9216/{name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

fn smime_lab(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    test_support::write(dir, name, bytes)
        .to_str()
        .unwrap()
        .to_owned()
}

fn message(from: &str) -> Vec<u8> {
    format!(
        "From: {from}\nTo: bob@smime.example\nSubject: CLI\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <cli@smime.example>\nContent-Type: text/plain; charset=utf-8\n\nGr\u{fc}\u{df}e from the command line.\n"
    )
    .into_bytes()
}

fn status_of(out: &Output) -> String {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["status"].as_str().unwrap().to_owned()
}

#[test]
fn sign_is_byte_stable_and_verify_keeps_the_exit_contract() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "in.eml",
        &message("Alice <alice@smime.example>"),
    );
    let sign = |extra: &[&str]| {
        let mut args = vec![
            "sign",
            "--cert",
            &rfc9216("alice.sign.crt"),
            "--key",
            &rfc9216("alice.sign.key"),
            "--chain",
            &rfc9216("ca.rsa.crt"),
            "--now",
            NOW,
            "--seed",
            "cli-test",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args.push(input.clone());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        smime_lab(&refs)
    };
    let a = sign(&[]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(
        a.stdout,
        sign(&[]).stdout,
        "same --now and --seed, same bytes"
    );
    let out_path = dir.path().join("signed.eml");
    let o = sign(&["-o", out_path.to_str().unwrap()]);
    assert!(o.status.success() && o.stdout.is_empty());
    assert_eq!(
        std::fs::read(&out_path).unwrap(),
        a.stdout,
        "-o writes the same bytes"
    );

    for (extra, name) in [
        (&[][..], "clear"),
        (&["--opaque", "--digest", "sha384"][..], "opaque"),
        (&["--pss"][..], "pss"),
        (&["--include", "signer"][..], "signer-only"),
    ] {
        let signed = sign(extra);
        assert!(signed.status.success(), "{name}");
        let path = write(dir.path(), &format!("{name}.eml"), &signed.stdout);
        // OpenSSL accepts what the CLI writes.
        run_ok(openssl().args([
            "cms",
            "-verify",
            "-in",
            &path,
            "-CAfile",
            &rfc9216("ca.rsa.crt"),
            "-out",
            dir.path().join(format!("{name}.out")).to_str().unwrap(),
        ]));
        // The RFC 9216 certificates name no CRL distribution point: revocation is not checked
        // here (without it, their status is unknown: `crl-unreachable`).
        let verified = smime_lab(&[
            "verify",
            "--anchors",
            &rfc9216("ca.rsa.crt"),
            "--no-crl-fetch",
            "--now",
            NOW,
            "--json",
            &path,
        ]);
        assert_eq!(
            verified.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&verified.stdout)
        );
        assert_eq!(status_of(&verified), "valid");
    }

    // Not the sender: exit 1, signer-mismatch.
    let bob_input = write(dir.path(), "bob.eml", &message("Bob <bob@smime.example>"));
    let forged = smime_lab(&[
        "sign",
        "--cert",
        &rfc9216("alice.sign.crt"),
        "--key",
        &rfc9216("alice.sign.key"),
        "--now",
        NOW,
        "--seed",
        "x",
        &bob_input,
    ]);
    let forged_path = write(dir.path(), "forged.eml", &forged.stdout);
    let v = smime_lab(&[
        "verify",
        "--anchors",
        &rfc9216("ca.rsa.crt"),
        "--no-crl-fetch",
        "--now",
        NOW,
        "--json",
        &forged_path,
    ]);
    assert_eq!(v.status.code(), Some(1));
    assert_eq!(status_of(&v), "signer-mismatch");
    // Untrusted: exit 1 (text output names the status).
    let v = smime_lab(&[
        "verify",
        "--anchors",
        &vector_path("thunderbird-nss/TestCA.pem").to_string_lossy(),
        "--now",
        NOW,
        &forged_path,
    ]);
    assert_eq!(v.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("status: untrusted"));
    // Unreadable input, unreadable anchors, usage errors: exit 2.
    let v = smime_lab(&[
        "verify",
        "--anchors",
        &rfc9216("ca.rsa.crt"),
        "/nonexistent/x.eml",
    ]);
    assert_eq!(v.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&v.stderr).contains("/nonexistent/x.eml"));
    let v = smime_lab(&["verify", "--anchors", &input, &forged_path]);
    assert_eq!(v.status.code(), Some(2), "a message is not an anchor file");
    let v = smime_lab(&["verify", &forged_path]);
    assert_eq!(v.status.code(), Some(2), "--anchors is required");
    // A key that is not the certificate's: exit 2 with the reason.
    let s = smime_lab(&[
        "sign",
        "--cert",
        &rfc9216("alice.sign.crt"),
        "--key",
        &rfc9216("bob.sign.key"),
        &input,
    ]);
    assert_eq!(s.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&s.stderr).contains("does not belong to the certificate"));
}

/// A one-connection-at-a-time HTTP server for the CRL, whose body the test can change, and
/// which closes its port when stopped (the CRL is then unreachable).
struct CrlServer {
    url: String,
    body: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CrlServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!(
            "http://127.0.0.1:{}/ca.crl",
            listener.local_addr().unwrap().port()
        );
        let body = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (body.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        let mut req = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                            match conn.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => req.extend_from_slice(&buf[..n]),
                            }
                        }
                        let body = b.lock().unwrap().clone();
                        let _ = conn.write_all(
                            format!(
                                "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\n\r\n",
                                body.len()
                            )
                            .as_bytes(),
                        );
                        let _ = conn.write_all(&body);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
        });
        CrlServer {
            url,
            body,
            stop,
            thread: Some(thread),
        }
    }

    fn serve(&self, der: Vec<u8>) {
        *self.body.lock().unwrap() = der;
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for CrlServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn revocation_through_the_crl_distribution_point() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |n: &str| d.join(n).to_str().unwrap().to_owned();
    let mut server = CrlServer::start();

    // A CA made by openssl, a user whose certificate points at the local server.
    let ca = Ca::self_signed(
        d,
        "ca",
        &Profile::new("/O=smime-lab tests/CN=CRL Test CA", Key::Rsa(2048))
            .extensions(ROOT_EXTENSIONS)
            .extensions(["subjectKeyIdentifier=hash"]),
    );
    let user = ca.issue(
        "user",
        &Profile::new("/O=smime-lab tests/CN=dave@example.test", Key::Rsa(2048))
            .serial(0x1000)
            .extensions(user_extensions(
                "dave@example.test",
                "digitalSignature,keyEncipherment",
            ))
            .extensions([format!("crlDistributionPoints=URI:{}", server.url)]),
    );
    // The CRL as it stands, as PEM (`<name>.pem`, for --crl) and DER (served).
    let gencrl = |name: &str| -> Vec<u8> {
        ca.write_crl(&format!("{name}.pem"), false);
        std::fs::read(ca.write_crl(&format!("{name}.der"), true)).unwrap()
    };
    server.serve(gencrl("crl-empty"));

    let input = write(d, "in.eml", &message("Dave <dave@example.test>"));
    let signed = smime_lab(&[
        "sign",
        "--cert",
        &p("user.pem"),
        "--key",
        &p("user.key"),
        "--chain",
        &p("ca.pem"),
        &input,
    ]);
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let msg = write(d, "signed.eml", &signed.stdout);
    let ca_crt = p("ca.pem");
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "--anchors",
            &ca_crt,
            "--json",
            "--crl-timeout",
            "3",
        ];
        args.extend_from_slice(extra);
        let m = msg.clone();
        args.push(&m);
        let out = smime_lab(&args);
        (
            out.status.code(),
            status_of(&out),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, status, _, stderr) = verify(&[]);
    assert_eq!((code, status.as_str()), (Some(0), "valid"), "{stderr}");
    assert!(stderr.contains("fetched the CRL"), "{stderr}");

    ca.revoke(&user);
    let revoked = gencrl("crl-revoked");
    server.serve(revoked);
    let (code, status, json, _) = verify(&[]);
    assert_eq!((code, status.as_str()), (Some(1), "revoked"), "{json}");

    // A given CRL file works without fetching.
    let (code, status, _, _) = verify(&["--no-crl-fetch", "--crl", &p("crl-revoked.pem")]);
    assert_eq!((code, status.as_str()), (Some(1), "revoked"));
    let (code, status, json, _) = verify(&["--no-crl-fetch"]);
    assert_eq!((code, status.as_str()), (Some(0), "valid"));
    assert!(json.contains("revocation not checked"), "{json}");

    // The distribution point goes offline: Exchange's verdict and text.
    server.stop();
    let (code, status, json, _) = verify(&[]);
    assert_eq!(
        (code, status.as_str()),
        (Some(1), "crl-unreachable"),
        "{json}"
    );
    assert!(
        json.contains("The online certificate revocation list (CRL) that the certificate chain relies on is currently offline"),
        "{json}"
    );
}
