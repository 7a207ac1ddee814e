//! Shared helpers for the encryption interop tests: where the third-party vectors are, and how to
//! run the peer tools (OpenSSL, gpgsm, NSS, Python `cryptography`). A missing peer is a test
//! failure that says what to install, never a silent pass.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use smime::key::PrivateKey;
use x509_cert::Certificate;

/// `shared/vectors` beside the repository root (`$SMIME_LAB_VECTORS` overrides). From a git
/// worktree nested deeper than the main checkout, the nearest ancestor holding `shared/vectors`.
pub fn vectors() -> PathBuf {
    if let Ok(dir) = std::env::var("SMIME_LAB_VECTORS") {
        return PathBuf::from(dir);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let beside_root = manifest.join("../../../shared/vectors");
    if beside_root.is_dir() {
        return beside_root;
    }
    manifest
        .ancestors()
        .map(|a| a.join("shared/vectors"))
        .find(|p| p.is_dir())
        .unwrap_or(beside_root)
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"))
}

pub fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn cert(path: impl AsRef<Path>) -> Certificate {
    let bytes = read(path);
    smime::certificate::parse_certificates(&bytes)
        .expect("certificate")
        .remove(0)
}

pub fn key(path: impl AsRef<Path>) -> PrivateKey {
    PrivateKey::from_pem_or_der(&read(path)).expect("private key")
}

/// Runs a peer tool; panics with an install hint if it is not on PATH.
pub fn run(program: &str, args: &[&str], stdin: Option<&[u8]>, install_hint: &str) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}): this interop test needs it; {install_hint}")
    });
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input).expect("write stdin");
    }
    child.wait_with_output().expect("wait")
}

pub const OPENSSL_HINT: &str = "install OpenSSL 3 (apt-get install -y openssl)";

/// `openssl <args>`; panics with stderr when it fails.
pub fn openssl(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let out = run("openssl", args, stdin, OPENSSL_HINT);
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The arguments that load OpenSSL 3's legacy provider (RC2, DES) next to the default one.
pub const LEGACY: [&str; 4] = ["-provider", "legacy", "-provider", "default"];

/// Certificate and private key (PEM) from a PKCS#12 file, by way of `openssl pkcs12`; the lab's
/// own PKCS#12 reader is another module's job.
pub fn from_p12(path: &Path, password: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let pass = format!("pass:{password}");
    let p = path.to_str().expect("utf-8 path");
    let try_both = |extra: &[&str]| {
        let mut args = vec!["pkcs12", "-in", p, "-passin", pass.as_str()];
        args.extend_from_slice(extra);
        let out = run("openssl", &args, None, OPENSSL_HINT);
        if out.status.success() {
            return out.stdout;
        }
        args.insert(1, "-legacy");
        openssl(&args, None)
    };
    let cert = try_both(&["-clcerts", "-nokeys"]);
    let key = try_both(&["-nocerts", "-nodes"]);
    let cert_path = dir.join("p12-cert.pem");
    let key_path = dir.join("p12-key.pem");
    std::fs::write(&cert_path, cert).expect("write cert");
    std::fs::write(&key_path, key).expect("write key");
    (cert_path, key_path)
}

/// The Python with `cryptography`: $SMIME_LAB_PYTHON, else /work/venv/bin/python, else python3.
pub fn python() -> String {
    if let Ok(p) = std::env::var("SMIME_LAB_PYTHON") {
        return p;
    }
    if Path::new("/work/venv/bin/python").exists() {
        return "/work/venv/bin/python".to_owned();
    }
    "python3".to_owned()
}

pub const PYTHON_HINT: &str = "set SMIME_LAB_PYTHON to a Python with the `cryptography` package (python3 -m venv /work/venv && /work/venv/bin/pip install cryptography pkilint)";

pub fn python_run(script: &str, args: &[&str]) -> Output {
    let python = python();
    let mut all = vec!["-c", script];
    all.extend_from_slice(args);
    let out = run(&python, &all, None, PYTHON_HINT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "{python} has no `cryptography` module: {PYTHON_HINT}\n{stderr}"
    );
    out
}

/// Self-signed test certificates made by OpenSSL (a peer), for key types the vectors lack.
pub fn openssl_ec_cert(dir: &Path, name: &str, curve: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.crt"));
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            &format!("ec_paramgen_curve:{curve}"),
            "-nodes",
            "-keyout",
            key.to_str().expect("path"),
            "-out",
            cert.to_str().expect("path"),
            "-subj",
            &format!("/CN={name}/emailAddress={name}@example.com"),
            "-days",
            "3650",
            "-addext",
            "keyUsage=keyAgreement",
        ],
        None,
    );
    (cert, key)
}

pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}
