//! Shared helpers for the S/MIME integration tests: the vectors folder, the RFC 9216 signers,
//! peer tools (which must be installed: a missing peer fails the test with an install hint),
//! and small MIME wrappers for CMS objects other tools produce.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use smime::cms::mime;
use smime::cms::{Signer, VerifyContext};
use x509_cert::Certificate;

/// The lab's fixed clock for the RFC 9216 material (valid 2019-2052).
pub const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-23 10:00 UTC);

pub fn vectors_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SMIME_LAB_VECTORS") {
        return PathBuf::from(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|d| d.join("shared/vectors"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "no shared/vectors above {}: put the shared/ folder beside the repository or set SMIME_LAB_VECTORS",
                manifest.display()
            )
        })
}

pub fn vector_path(relative: &str) -> PathBuf {
    vectors_dir().join(relative)
}

pub fn vector(relative: &str) -> Vec<u8> {
    let path = vector_path(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn certs(relative: &str) -> Vec<Certificate> {
    smime::certificate::parse_certificates(&vector(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

pub fn rfc9216_ca() -> Vec<Certificate> {
    certs("rfc9216/ca.rsa.crt")
}

/// Alice of RFC 9216 (RSA-2048), with the sample CA as her chain and her encryption
/// certificate in the key preference attributes.
pub fn alice() -> Signer {
    Signer {
        certificate: certs("rfc9216/alice.sign.crt").remove(0),
        key: smime::key::PrivateKey::from_pem_or_der(&vector("rfc9216/alice.sign.key")).unwrap(),
        chain: rfc9216_ca(),
        encryption_certificate: Some(certs("rfc9216/alice.encrypt.crt").remove(0)),
    }
}

pub fn bob() -> Signer {
    Signer {
        certificate: certs("rfc9216/bob.sign.crt").remove(0),
        key: smime::key::PrivateKey::from_pem_or_der(&vector("rfc9216/bob.sign.key")).unwrap(),
        chain: rfc9216_ca(),
        encryption_certificate: Some(certs("rfc9216/bob.encrypt.crt").remove(0)),
    }
}

pub fn context(anchors: Vec<Certificate>, now: time::OffsetDateTime) -> VerifyContext {
    VerifyContext::new(anchors, now)
}

/// The body every signing test uses: 8-bit text (re-encoded before signing), and a line
/// starting with "From " (which mbox tools would mangle).
pub const BODY_ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Gr\xc3\xbc\xc3\x9fe Bob,\r\n\
the figures are attached in my head.\r\n\
From here on, everything is signed.\r\n";

/// A plain message from `from` (a mailbox as written in the From field), as a client hands it
/// to the signer.
pub fn message_from(from: &str) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\n\
To: Bob Babbage <bob@smime.example>\r\n\
Subject: Quarterly figures\r\n\
Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <figures-1@smime.example>\r\n"
    )
    .into_bytes();
    m.extend_from_slice(BODY_ENTITY);
    m
}

pub fn alice_message() -> Vec<u8> {
    message_from("Alice Lovelace <alice@smime.example>")
}

/// Finds an executable in PATH, or fails the test saying what to install.
pub fn tool(name: &str, install_hint: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("peer tool `{name}` is not installed: {install_hint}"))
}

pub fn openssl() -> PathBuf {
    tool("openssl", "apt-get install -y openssl")
}

/// The Python with `cryptography`: SMIME_LAB_PYTHON, else /work/venv/bin/python, else python3.
pub fn python() -> PathBuf {
    let candidate = std::env::var_os("SMIME_LAB_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            let venv = PathBuf::from("/work/venv/bin/python");
            venv.is_file().then_some(venv)
        })
        .unwrap_or_else(|| tool("python3", "apt-get install -y python3"));
    let hint = "python3 -m venv /work/venv && /work/venv/bin/pip install cryptography pkilint, then set SMIME_LAB_PYTHON=/work/venv/bin/python";
    let check = Command::new(&candidate)
        .args(["-c", "import cryptography"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): {hint}", candidate.display()));
    assert!(
        check.status.success(),
        "{} cannot `import cryptography`: {hint}",
        candidate.display()
    );
    candidate
}

/// Runs a command, failing the test with its output when it does not succeed.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command and returns its output whatever the exit status.
pub fn run_any(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    p
}

/// The exact signed bytes (first part) and the DER signature of a clear-signed message.
pub fn split_clear_signed(message: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let entity = mime::Entity::parse(message).unwrap();
    let ct = entity.content_type().unwrap();
    assert_eq!(ct.essence, "multipart/signed");
    let parts = mime::split_multipart(entity.body(), ct.param("boundary").unwrap()).unwrap();
    let signature = mime::Entity::parse(parts.parts[1])
        .unwrap()
        .decoded_body()
        .unwrap()
        .into_owned();
    (mime::to_crlf(parts.parts[0]).into_owned(), signature)
}

/// The DER SignedData of an opaque-signed message.
pub fn opaque_der(message: &[u8]) -> Vec<u8> {
    mime::Entity::parse(message)
        .unwrap()
        .decoded_body()
        .unwrap()
        .into_owned()
}

/// Wraps a detached DER signature made by another tool around its content, as a mail client
/// would send it.
pub fn wrap_detached(from: &str, content: &[u8], signature_der: &[u8], micalg: &str) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: bob@smime.example\r\nSubject: interop\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg={micalg}; boundary=\"peer-boundary-1\"\r\n\r\n\
--peer-boundary-1\r\n"
    )
    .into_bytes();
    m.extend_from_slice(content);
    m.extend_from_slice(
        b"\r\n--peer-boundary-1\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    m.extend_from_slice(&mime::encode_base64_lines(signature_der));
    m.extend_from_slice(b"\r\n--peer-boundary-1--\r\n");
    m
}

/// Wraps an opaque DER SignedData made by another tool as application/pkcs7-mime.
pub fn wrap_opaque(from: &str, der: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: bob@smime.example\r\nSubject: interop\r\nMIME-Version: 1.0\r\n\
Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n\
Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    m.extend_from_slice(&mime::encode_base64_lines(der));
    m
}

/// An ECDSA CA and a signer under it, made by openssl in `dir` (valid from now for a year), with
/// the S/MIME profile: digitalSignature, emailProtection, the address in subjectAltName.
pub fn openssl_ecdsa_signer(dir: &Path, curve: &str, email: &str) -> (Vec<Certificate>, Signer) {
    let openssl = openssl();
    let ca_key = dir.join(format!("ca-{curve}.key"));
    let ca_crt = dir.join(format!("ca-{curve}.crt"));
    run(Command::new(&openssl).args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        &format!("ec_paramgen_curve:{curve}"),
        "-nodes",
        "-keyout",
        ca_key.to_str().unwrap(),
        "-out",
        ca_crt.to_str().unwrap(),
        "-subj",
        &format!("/O=smime-lab tests/CN=Test {curve} CA"),
        "-days",
        "365",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]));
    let ee_key = dir.join(format!("ee-{curve}.key"));
    let csr = dir.join(format!("ee-{curve}.csr"));
    let ee_crt = dir.join(format!("ee-{curve}.crt"));
    run(Command::new(&openssl).args([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        &format!("ec_paramgen_curve:{curve}"),
        "-nodes",
        "-keyout",
        ee_key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        &format!("/O=smime-lab tests/CN={email}"),
    ]));
    let ext = write(
        dir,
        &format!("ee-{curve}.ext"),
        format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectAltName=email:{email}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        )
        .as_bytes(),
    );
    run(Command::new(&openssl).args([
        "x509",
        "-req",
        "-in",
        csr.to_str().unwrap(),
        "-CA",
        ca_crt.to_str().unwrap(),
        "-CAkey",
        ca_key.to_str().unwrap(),
        "-CAcreateserial",
        "-days",
        "365",
        "-sha256",
        "-extfile",
        ext.to_str().unwrap(),
        "-out",
        ee_crt.to_str().unwrap(),
    ]));
    let ca = smime::certificate::parse_certificates(&std::fs::read(&ca_crt).unwrap()).unwrap();
    let signer = Signer {
        certificate: smime::certificate::parse_certificates(&std::fs::read(&ee_crt).unwrap())
            .unwrap()
            .remove(0),
        key: smime::key::PrivateKey::from_pem_or_der(&std::fs::read(&ee_key).unwrap()).unwrap(),
        chain: ca.clone(),
        encryption_certificate: None,
    };
    (ca, signer)
}

/// A root, an issuing intermediate and an RSA-2048 user under it, made by openssl in `dir`
/// (valid from now for a year). Returns (root, intermediate, signer with chain [intermediate,
/// root]).
pub fn openssl_rsa_three_level(dir: &Path, email: &str) -> (Certificate, Certificate, Signer) {
    let openssl = openssl();
    let p = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    run(Command::new(&openssl).args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &p("root.key"),
        "-out",
        &p("root.crt"),
        "-subj",
        "/O=smime-lab tests/CN=Test Root",
        "-days",
        "365",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]));
    write(
        dir,
        "ca.ext",
        b"basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    );
    run(Command::new(&openssl).args([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &p("int.key"),
        "-out",
        &p("int.csr"),
        "-subj",
        "/O=smime-lab tests/CN=Test Issuing CA",
    ]));
    run(Command::new(&openssl).args([
        "x509",
        "-req",
        "-in",
        &p("int.csr"),
        "-CA",
        &p("root.crt"),
        "-CAkey",
        &p("root.key"),
        "-CAcreateserial",
        "-days",
        "365",
        "-sha256",
        "-extfile",
        &p("ca.ext"),
        "-out",
        &p("int.crt"),
    ]));
    write(
        dir,
        "user.ext",
        format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:{email}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        )
        .as_bytes(),
    );
    run(Command::new(&openssl).args([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &p("user.key"),
        "-out",
        &p("user.csr"),
        "-subj",
        &format!("/O=smime-lab tests/CN={email}"),
    ]));
    run(Command::new(&openssl).args([
        "x509",
        "-req",
        "-in",
        &p("user.csr"),
        "-CA",
        &p("int.crt"),
        "-CAkey",
        &p("int.key"),
        "-CAcreateserial",
        "-days",
        "365",
        "-sha256",
        "-extfile",
        &p("user.ext"),
        "-out",
        &p("user.crt"),
    ]));
    let load = |n: &str| {
        smime::certificate::parse_certificates(&std::fs::read(dir.join(n)).unwrap())
            .unwrap()
            .remove(0)
    };
    let (root, int) = (load("root.crt"), load("int.crt"));
    let signer = Signer {
        certificate: load("user.crt"),
        key: smime::key::PrivateKey::from_pem_or_der(&std::fs::read(dir.join("user.key")).unwrap())
            .unwrap(),
        chain: vec![int.clone(), root.clone()],
        encryption_certificate: None,
    };
    (root, int, signer)
}
