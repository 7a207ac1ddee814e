//! Encryption interop with the other S/MIME implementations a lab user meets: GnuPG's gpgsm
//! (2.2), Mozilla NSS's cmsutil (Thunderbird's engine) and Python `cryptography`. Each pair is
//! tried both ways with RSA PKCS#1 v1.5 and the AES-CBC family, which is what all three support.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod envelope_support;

use std::path::{Path, PathBuf};
use std::process::Output;

use envelope_support::*;
use smime::cms::envelope::{
    self, ContentCipher, EncryptOptions, KeyManagement, Recipient, RecipientIdType, RsaPadding,
};
use smime::rng::seeded;
use test_support::gnupg::GnupgHome;
use test_support::nss::{self, NssDb};
use test_support::{run_any, run_any_with_stdin};

const ENTITY: &[u8] =
    b"Content-Type: text/plain; charset=us-ascii\r\n\r\nFrom the lab to a peer.\r\n";
const PASSWORD: &str = "lab";

fn bob_paths() -> (PathBuf, PathBuf, PathBuf) {
    let dir = fixture("vectors/rfc9216");
    (
        dir.join("bob.encrypt.crt"),
        dir.join("bob.decrypt.key"),
        dir.join("ca.rsa.crt"),
    )
}

fn ours(cipher: ContentCipher, id: RecipientIdType) -> Vec<u8> {
    let (cert_path, _, _) = bob_paths();
    envelope::encrypt(
        ENTITY,
        &[Recipient::new(cert(&cert_path))],
        &EncryptOptions {
            cipher,
            rsa_padding: RsaPadding::Pkcs1v15,
            recipient_id: id,
            also_to_sender: None,
        },
        &mut seeded(&format!("peers/{cipher:?}/{id:?}")),
    )
    .unwrap()
}

fn decrypt_ours(der: &[u8]) -> envelope::Decrypted {
    let (cert_path, key_path, _) = bob_paths();
    envelope::decrypt(der, &cert(&cert_path), &key(&key_path)).unwrap()
}

/// Bob's certificate and key as PKCS#12, made by OpenSSL. The certificate bag is left
/// unencrypted because gpgsm 2.2 cannot parse OpenSSL 3's encrypted certificate bags.
fn bob_p12(dir: &Path) -> PathBuf {
    let (cert_path, key_path, _) = bob_paths();
    let out = dir.join("bob.p12");
    run_openssl(&[
        "pkcs12",
        "-export",
        "-legacy",
        "-certpbe",
        "NONE",
        "-inkey",
        key_path.to_str().unwrap(),
        "-in",
        cert_path.to_str().unwrap(),
        "-passout",
        &format!("pass:{PASSWORD}"),
        "-out",
        out.to_str().unwrap(),
    ]);
    out
}

fn check(out: Output, what: &str) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// gpgsm in a throw-away home, with CRL checks off (the RFC 9216 CA has no CRL).
struct GpgHome(GnupgHome);

impl GpgHome {
    fn path(&self) -> &Path {
        self.0.path()
    }

    /// gpgsm with `args`, whatever its exit status.
    fn gpgsm(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut gpgsm = self.0.gpgsm();
        gpgsm.arg("--disable-crl-checks").args(args);
        match stdin {
            Some(input) => run_any_with_stdin(&mut gpgsm, input),
            None => run_any(&mut gpgsm),
        }
    }

    /// gpgsm with the PKCS#12/key passphrase on standard input (loopback pinentry).
    fn gpgsm_with_passphrase(&self, args: &[&str]) -> Output {
        let mut all = vec!["--pinentry-mode", "loopback", "--passphrase-fd", "0"];
        all.extend_from_slice(args);
        self.gpgsm(&all, Some(format!("{PASSWORD}\n").as_bytes()))
    }
}

fn sha1_fingerprint(cert_path: &Path) -> String {
    let out = run_openssl(&[
        "x509",
        "-in",
        cert_path.to_str().unwrap(),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]);
    String::from_utf8_lossy(&out)
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
}

#[test]
fn gpgsm_both_ways() {
    let home = GpgHome(GnupgHome::new());
    let (_, _, ca_path) = bob_paths();
    // Trust the RFC 9216 CA for S/MIME ("S"), without its CRL ("relax").
    std::fs::write(
        home.path().join("trustlist.txt"),
        format!("{} S relax\n", sha1_fingerprint(&ca_path)),
    )
    .unwrap();
    check(
        home.gpgsm(&["--import", ca_path.to_str().unwrap()], None),
        "gpgsm --import CA",
    );
    let p12 = bob_p12(home.path());
    check(
        home.gpgsm_with_passphrase(&["--import", p12.to_str().unwrap()]),
        "gpgsm --import p12",
    );

    for cipher in [
        ContentCipher::Aes128Cbc,
        ContentCipher::Aes192Cbc,
        ContentCipher::Aes256Cbc,
        ContentCipher::DesEde3Cbc,
    ] {
        let der = write(
            home.path(),
            "ours.p7m",
            &ours(cipher, RecipientIdType::IssuerAndSerialNumber),
        );
        let plain = check(
            home.gpgsm_with_passphrase(&["--decrypt", der.to_str().unwrap()]),
            &format!("gpgsm --decrypt of our {cipher}"),
        );
        assert_eq!(plain, ENTITY, "{cipher}");
    }

    let input = write(home.path(), "entity.txt", ENTITY);
    for (oid, cipher) in [
        ("2.16.840.1.101.3.4.1.2", ContentCipher::Aes128Cbc),
        ("2.16.840.1.101.3.4.1.42", ContentCipher::Aes256Cbc),
        ("1.2.840.113549.3.7", ContentCipher::DesEde3Cbc),
    ] {
        let out = home.path().join("theirs.p7m");
        let _ = std::fs::remove_file(&out);
        check(
            home.gpgsm(
                &[
                    "--cipher-algo",
                    oid,
                    "-r",
                    "bob@smime.example",
                    "-o",
                    out.to_str().unwrap(),
                    "--encrypt",
                    input.to_str().unwrap(),
                ],
                None,
            ),
            "gpgsm --encrypt",
        );
        let d = decrypt_ours(&read(&out));
        assert_eq!(d.content, ENTITY);
        assert_eq!(d.content_cipher, cipher);
        assert_eq!(d.key_management, KeyManagement::RsaPkcs1v15);
    }
}

#[test]
fn nss_cmsutil_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, ca_path) = bob_paths();
    let nss_db = NssDb::create(tmp.path());
    nss_db.import_pkcs12(&bob_p12(tmp.path()), PASSWORD);
    nss_db.trust_ca("lamps-ca", &ca_path);
    let db = nss_db.arg();

    for cipher in [
        ContentCipher::Aes128Cbc,
        ContentCipher::Aes192Cbc,
        ContentCipher::Aes256Cbc,
        ContentCipher::DesEde3Cbc,
    ] {
        for id in [
            RecipientIdType::IssuerAndSerialNumber,
            RecipientIdType::SubjectKeyIdentifier,
        ] {
            let der = write(tmp.path(), "ours.p7m", &ours(cipher, id));
            let plain = check(
                run_any(nss::tool("cmsutil").args(["-D", "-i", der.to_str().unwrap(), "-d", &db])),
                &format!("cmsutil -D of our {cipher} {id:?}"),
            );
            assert_eq!(plain, ENTITY, "{cipher} {id:?}");
        }
    }

    let input = write(tmp.path(), "entity.txt", ENTITY);
    let out = tmp.path().join("theirs.p7m");
    check(
        run_any(nss::tool("cmsutil").args([
            "-E",
            "-i",
            input.to_str().unwrap(),
            "-r",
            "bob@smime.example",
            "-d",
            &db,
            "-o",
            out.to_str().unwrap(),
        ])),
        "cmsutil -E",
    );
    let d = decrypt_ours(&read(&out));
    assert_eq!(d.content, ENTITY);
    assert_eq!(d.key_management, KeyManagement::RsaPkcs1v15);
    assert!(!d.weak, "NSS chose {}", d.content_cipher);
}

const PYTHON_PEER: &str = r#"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7

mode, cert_path, key_path, in_path, out_path = sys.argv[1:6]
cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
data = open(in_path, "rb").read()
if mode == "decrypt-der":
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)
    out = pkcs7.pkcs7_decrypt_der(data, cert, key, [])
elif mode == "decrypt-smime":
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)
    out = pkcs7.pkcs7_decrypt_smime(data, cert, key, [])
else:
    algorithm = {"aes128": algorithms.AES128, "aes256": algorithms.AES256}[mode.split("-")[1]]
    out = (
        pkcs7.PKCS7EnvelopeBuilder()
        .set_data(data)
        .add_recipient(cert)
        .set_content_encryption_algorithm(algorithm)
        .encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
open(out_path, "wb").write(out)
"#;

#[test]
fn python_cryptography_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert_path, key_path, _) = bob_paths();
    let peer = |mode: &str, input: &Path, output: &Path| {
        check(
            python_run(
                PYTHON_PEER,
                &[
                    mode,
                    cert_path.to_str().unwrap(),
                    key_path.to_str().unwrap(),
                    input.to_str().unwrap(),
                    output.to_str().unwrap(),
                ],
            ),
            &format!("python cryptography {mode}"),
        );
        read(output)
    };
    for cipher in [ContentCipher::Aes128Cbc, ContentCipher::Aes256Cbc] {
        let der = write(
            tmp.path(),
            "ours.der",
            &ours(cipher, RecipientIdType::IssuerAndSerialNumber),
        );
        assert_eq!(
            peer("decrypt-der", &der, &tmp.path().join("plain")),
            ENTITY,
            "{cipher}"
        );
    }
    // A whole message from our S/MIME layer.
    let message = envelope::encrypt_message(
        b"Subject: py\r\nContent-Type: text/plain\r\n\r\nhi python\r\n",
        &[Recipient::new(cert(&cert_path))],
        &EncryptOptions::default(),
        &mut seeded("python-message"),
    )
    .unwrap();
    let eml = write(tmp.path(), "ours.eml", &message);
    let plain = peer("decrypt-smime", &eml, &tmp.path().join("plain.eml"));
    assert_eq!(plain, b"Content-Type: text/plain\r\n\r\nhi python\r\n");

    let input = write(tmp.path(), "entity.txt", ENTITY);
    for (mode, cipher) in [
        ("encrypt-aes128", ContentCipher::Aes128Cbc),
        ("encrypt-aes256", ContentCipher::Aes256Cbc),
    ] {
        let der = peer(mode, &input, &tmp.path().join("theirs.der"));
        let d = decrypt_ours(&der);
        assert_eq!(d.content, ENTITY);
        assert_eq!(d.content_cipher, cipher);
    }
}
