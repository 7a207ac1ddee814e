//! Shared helpers for the encryption interop tests: certificates and keys from files, OpenSSL with
//! its legacy provider, PKCS#12 through OpenSSL, and the Python `cryptography` peer running a
//! script. Where the vectors are and how a peer is found (a missing one fails the test with what
//! to install) is `test_support`'s job, re-exported here for the tests' glob import.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use smime::key::PrivateKey;
use test_support::run_any;
#[allow(unused_imports)] // each test binary uses a subset
pub use test_support::{fixture, read, run_openssl, vector_path, write};
use x509_cert::Certificate;

pub fn cert(path: impl AsRef<Path>) -> Certificate {
    let bytes = read(path);
    smime::certificate::parse_certificates(&bytes)
        .expect("certificate")
        .remove(0)
}

pub fn key(path: impl AsRef<Path>) -> PrivateKey {
    PrivateKey::from_pem_or_der(&read(path)).expect("private key")
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
        let out = run_any(test_support::openssl().args(&args));
        if out.status.success() {
            return out.stdout;
        }
        args.insert(1, "-legacy");
        run_openssl(&args)
    };
    let cert = try_both(&["-clcerts", "-nokeys"]);
    let key = try_both(&["-nocerts", "-nodes"]);
    (
        write(dir, "p12-cert.pem", &cert),
        write(dir, "p12-key.pem", &key),
    )
}

/// Runs `script` with the Python that has `cryptography`, whatever its exit status.
pub fn python_run(script: &str, args: &[&str]) -> Output {
    let python = test_support::python();
    let out = run_any(Command::new(&python).arg("-c").arg(script).args(args));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "{} lacks a module the script needs: run `cargo xtask peers --install` and set \
         SMIME_LAB_PYTHON=target/peers/venv/bin/python\n{stderr}",
        python.display()
    );
    out
}

/// Self-signed test certificates made by OpenSSL (a peer), for key types the vectors lack.
pub fn openssl_ec_cert(dir: &Path, name: &str, curve: &str) -> (PathBuf, PathBuf) {
    let issued = test_support::openssl_ca::Ca::self_signed(
        dir,
        name,
        &test_support::openssl_ca::Profile::new(
            format!("/CN={name}/emailAddress={name}@example.com"),
            test_support::openssl_ca::Key::Ec(curve.to_owned()),
        )
        .days(3650)
        .extensions(["keyUsage=keyAgreement"]),
    )
    .issued;
    (issued.cert, issued.key)
}
