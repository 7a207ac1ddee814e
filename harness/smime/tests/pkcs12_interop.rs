//! PKCS#12 interoperability with peers nobody here wrote: the OpenSSL 3 command line, GnuPG's
//! gpgsm and NSS's pk12util (the library inside Thunderbird and Firefox).
//!
//! A missing tool fails the test with what to install; it never passes silently.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use smime::pkcs12::{Pkcs12Error, Pkcs12Profile, public_key_matches, read_pkcs12, write_pkcs12};
use test_support::gnupg::GnupgHome;
use test_support::nss::{self, NssDb};
use test_support::openssl_ca::{Ca, Key, Profile, ROOT_EXTENSIONS, user_extensions};
use test_support::{openssl, run_any, run_any_with_stdin, run_ok, vector_path};

const PASSWORD: &str = "Lab p4ss";

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// PEM blocks of one label, as DER.
fn pem_blocks(text: &[u8], label: &str) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(text);
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find(&begin) {
        let tail = &rest[start..];
        let stop = tail.find(&end).expect("an END line") + end.len();
        let (_, der) = der::pem::decode_vec(&tail.as_bytes()[..stop]).expect("valid PEM");
        blocks.push(der);
        rest = &tail[stop..];
    }
    blocks
}

/// A CA and an end entity made by OpenSSL, as files and as DER.
struct Identity {
    dir: tempfile::TempDir,
    /// PKCS#8 DER of the end-entity key, as `openssl pkcs8 -topk8` encodes it.
    key: Vec<u8>,
    cert: Vec<u8>,
    ca: Vec<u8>,
}

impl Identity {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn new(algorithm: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = || match algorithm {
            "rsa" => Key::Rsa(2048),
            _ => Key::Ec("P-256".to_owned()),
        };
        // v3 certificates with the usual S/MIME extensions: gpgsm rejects a v1 certificate's chain.
        let ca = Ca::self_signed(
            dir.path(),
            "ca",
            &Profile::new("/CN=Interop Test CA", key())
                .days(3650)
                .extensions(ROOT_EXTENSIONS),
        );
        let ee = ca.issue(
            "ee",
            &Profile::new("/CN=Alice Interop/emailAddress=alice@contoso.com", key())
                .serial(2)
                .extensions(user_extensions(
                    "alice@contoso.com",
                    "digitalSignature,keyEncipherment",
                )),
        );
        let (ee_key, ee_pem, ca_pem) = (
            path(&ee.key).to_string(),
            path(&ee.cert).to_string(),
            path(&ca.issued.cert).to_string(),
        );
        let der_of = |args: &[&str]| run_ok(openssl().args(args)).stdout;
        let key = der_of(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", &ee_key, "-outform", "DER",
        ]);
        let cert = der_of(&["x509", "-in", &ee_pem, "-outform", "DER"]);
        let ca = der_of(&["x509", "-in", &ca_pem, "-outform", "DER"]);
        Identity { dir, key, cert, ca }
    }

    fn write(&self, profile: Pkcs12Profile) -> PathBuf {
        let bytes = write_pkcs12(
            &self.key,
            &self.cert,
            std::slice::from_ref(&self.ca),
            Some("Alice Interop"),
            PASSWORD,
            profile,
            &mut ChaCha20Rng::seed_from_u64(11),
        )
        .expect("write_pkcs12");
        let file = self.file(&format!("ours-{profile:?}.p12"));
        std::fs::write(&file, bytes).expect("write the file");
        file
    }
}

#[test]
fn openssl_reads_our_files_without_the_legacy_flag() {
    for algorithm in ["rsa", "ec"] {
        let identity = Identity::new(algorithm);
        for profile in [Pkcs12Profile::Modern, Pkcs12Profile::Legacy] {
            let file = identity.write(profile);
            // No `-legacy`: 3DES is in OpenSSL 3's default provider, which is why the Legacy
            // profile uses it for the certificates too (see the module documentation).
            let output = run_ok(openssl().args([
                "pkcs12",
                "-in",
                path(&file),
                "-passin",
                &format!("pass:{PASSWORD}"),
                "-nodes",
            ]));
            let context = format!("{algorithm} {profile:?}");
            assert_eq!(
                pem_blocks(&output.stdout, "PRIVATE KEY"),
                std::slice::from_ref(&identity.key),
                "{context}"
            );
            assert_eq!(
                pem_blocks(&output.stdout, "CERTIFICATE"),
                [identity.cert.clone(), identity.ca.clone()],
                "{context}"
            );
            let wrong = run_any(openssl().args([
                "pkcs12",
                "-in",
                path(&file),
                "-passin",
                "pass:wrong",
                "-nodes",
            ]));
            assert!(
                !wrong.status.success(),
                "{context}: OpenSSL accepted a wrong password"
            );
        }
    }
}

#[test]
fn openssl_needs_its_legacy_provider_for_rc2_but_not_for_3des() {
    // The reason the Legacy profile does not copy Windows' RC2-40 certificate encryption: an
    // Outlook-made RC2 file needs `-legacy` in OpenSSL 3, while our 3DES one (previous test) does not.
    let rc2_file = vector_path("hiraoka-tb128-outlook16/certs__smime-1-secret.pfx");
    let args = [
        "pkcs12",
        "-in",
        path(&rc2_file),
        "-passin",
        "pass:smime1",
        "-nodes",
    ];
    let without = run_any(openssl().args(args));
    assert!(
        !without.status.success(),
        "OpenSSL read an RC2-40 file without -legacy: is the legacy provider loaded by default?"
    );
    assert!(
        String::from_utf8_lossy(&without.stderr).contains("RC2"),
        "{without:?}"
    );
    run_ok(openssl().args([&args[..], &["-legacy"]].concat()));
}

#[test]
fn we_read_what_openssl_exports() {
    for algorithm in ["rsa", "ec"] {
        let identity = Identity::new(algorithm);
        for (form, flags, legacy, cert_cipher) in [
            (
                "default",
                &[][..],
                false,
                "PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC)",
            ),
            (
                "-legacy",
                &["-legacy"][..],
                true,
                "pbeWithSHAAnd40BitRC2-CBC",
            ),
            (
                "3DES/SHA-1",
                &[
                    "-certpbe",
                    "PBE-SHA1-3DES",
                    "-keypbe",
                    "PBE-SHA1-3DES",
                    "-macalg",
                    "sha1",
                ][..],
                true,
                "pbeWithSHAAnd3-KeyTripleDES-CBC",
            ),
        ] {
            let out = identity.file("openssl.p12");
            let (key, cert, ca) = (
                identity.file("ee.key"),
                identity.file("ee.pem"),
                identity.file("ca.pem"),
            );
            let passout = format!("pass:{PASSWORD}");
            let args = [
                &[
                    "pkcs12",
                    "-export",
                    "-inkey",
                    path(&key),
                    "-in",
                    path(&cert),
                    "-certfile",
                    path(&ca),
                    "-name",
                    "Alice Interop",
                    "-passout",
                    &passout,
                    "-out",
                    path(&out),
                ][..],
                flags,
            ]
            .concat();
            run_ok(openssl().args(&args));
            let bytes = std::fs::read(&out).expect("read the export");
            let context = format!("{algorithm} {form}");
            let contents =
                read_pkcs12(&bytes, PASSWORD).unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(
                contents.private_key_pkcs8_der.as_ref(),
                Some(&identity.key),
                "{context}"
            );
            assert_eq!(
                contents.certificates,
                [identity.cert.clone(), identity.ca.clone()],
                "{context}"
            );
            assert_eq!(
                contents.friendly_name.as_deref(),
                Some("Alice Interop"),
                "{context}"
            );
            assert!(public_key_matches(&identity.key, &contents.certificates[0]).unwrap());
            assert_eq!(contents.protection.is_legacy(), legacy, "{context}");
            let certs_part = &contents.protection.encryption[0].algorithm.name;
            assert_eq!(certs_part, cert_cipher, "{context}");
            let error = read_pkcs12(&bytes, "wrong").unwrap_err();
            assert!(
                matches!(error, Pkcs12Error::WrongPassword),
                "{context}: {error}"
            );
        }
    }
}

#[test]
fn gpgsm_imports_our_legacy_file() {
    // gpgsm 2.2 (Debian 12) cannot parse PBES2 with an HMAC-SHA-256 PRF, so it refuses OpenSSL 3's
    // default export and our Modern file alike; the Legacy profile is the one for GnuPG users.
    let identity = Identity::new("rsa");
    let file = identity.write(Pkcs12Profile::Legacy);
    let home = GnupgHome::new();
    // Loopback pinentry lets gpgsm take the passphrase from stdin instead of a dialog.
    let import = run_any_with_stdin(
        home.gpgsm().args([
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            "0",
            "--import",
            path(&file),
        ]),
        format!("{PASSWORD}\n").as_bytes(),
    );
    let log = String::from_utf8_lossy(&import.stderr);
    assert!(import.status.success(), "gpgsm --import failed: {log}");
    assert!(log.contains("secret keys imported: 1"), "{log}");

    let listing = run_any(home.gpgsm().args(["--with-colons", "--list-secret-keys"]));
    let listing = String::from_utf8_lossy(&listing.stdout);
    let thumbprint = hex::encode_upper(<sha1::Sha1 as sha1::Digest>::digest(&identity.cert));
    assert!(
        listing
            .lines()
            .any(|line| line.starts_with("fpr:") && line.contains(&thumbprint)),
        "the key's certificate {thumbprint} is not among gpgsm's secret keys:\n{listing}"
    );
}

#[test]
fn nss_imports_our_files_and_we_read_its_export() {
    let identity = Identity::new("ec");
    for profile in [Pkcs12Profile::Modern, Pkcs12Profile::Legacy] {
        let file = identity.write(profile);
        let db_dir = tempfile::tempdir().expect("temp dir");
        let nss_db = NssDb::create(db_dir.path());
        nss_db.import_pkcs12(&file, PASSWORD);
        let db = nss_db.arg();
        let keys = run_ok(nss::tool("certutil").args(["-K", "-d", &db]));
        assert!(
            String::from_utf8_lossy(&keys.stdout).contains("Alice Interop"),
            "{profile:?}: NSS holds no key named Alice Interop"
        );
        let cert =
            run_ok(nss::tool("certutil").args(["-L", "-d", &db, "-n", "Alice Interop", "-r"]));
        assert_eq!(cert.stdout, identity.cert, "{profile:?}");

        // And back: NSS's own export (600 000 PBKDF2 iterations by default; fewer keep the test quick).
        let export = db_dir.path().join("nss.p12");
        let output = run_any(
            nss::tool("pk12util")
                .args([
                    "-o",
                    path(&export),
                    "-n",
                    "Alice Interop",
                    "-d",
                    &db,
                    "-W",
                    "nss export",
                ])
                .env("NSS_PBE_DEFAULT_ITERATION_COUNT", "10000"),
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let contents = read_pkcs12(&std::fs::read(&export).unwrap(), "nss export").unwrap();
        assert_eq!(
            contents.private_key_pkcs8_der.as_ref(),
            Some(&identity.key),
            "{profile:?}"
        );
        assert_eq!(contents.certificates[0], identity.cert, "{profile:?}");
    }
}
