//! The one OpenSSL command-line certificate builder for the workspace's tests: roots, issuing
//! intermediates, users with the extensions a test chooses, revocation and CRLs, all made by the
//! `openssl` binary (an independent peer: none of smime-lab's own PKI code is involved).
//!
//! Everything is written to one directory: `<name>.pem` (certificate), `<name>.key` (PKCS#8 key,
//! unencrypted), and for a CA that issues CRLs `<name>.cnf` and `<name>-index.txt`. A missing
//! `openssl` fails the test with what to install. [`crate::pki::TestPki`] is the fixed set of
//! checked-profile certificates the certificate checks are tested on; this module is for tests
//! that build the chain they need.

use std::path::{Path, PathBuf};

/// A key for a new certificate.
#[derive(Clone, Debug)]
pub enum Key {
    /// RSA with this many bits.
    Rsa(u32),
    /// EC on this named curve, as `openssl` spells it (`P-256`, `P-384`, `prime256v1`).
    Ec(String),
}

impl Key {
    fn newkey_args(&self) -> Vec<String> {
        match self {
            Key::Rsa(bits) => vec!["-newkey".into(), format!("rsa:{bits}")],
            Key::Ec(curve) => vec![
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                format!("ec_paramgen_curve:{curve}"),
            ],
        }
    }
}

/// What a new certificate holds besides its issuer.
#[derive(Clone, Debug)]
pub struct Profile {
    /// The subject as `openssl -subj` takes it (`/O=Contoso/CN=Alice`).
    pub subject: String,
    pub key: Key,
    /// Validity from now.
    pub days: u32,
    /// Extension lines (`keyUsage=critical,digitalSignature`), as an `-extfile` or `-addext` holds them.
    pub extensions: Vec<String>,
    /// The serial number; `None` lets `openssl` choose a random one.
    pub serial: Option<u64>,
}

impl Profile {
    /// A profile with no extensions, valid for a year, with a random serial.
    pub fn new(subject: impl Into<String>, key: Key) -> Self {
        Profile {
            subject: subject.into(),
            key,
            days: 365,
            extensions: Vec::new(),
            serial: None,
        }
    }

    pub fn days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }

    pub fn serial(mut self, serial: u64) -> Self {
        self.serial = Some(serial);
        self
    }

    /// Appends extension lines.
    pub fn extensions<S: AsRef<str>>(mut self, lines: impl IntoIterator<Item = S>) -> Self {
        self.extensions
            .extend(lines.into_iter().map(|l| l.as_ref().to_owned()));
        self
    }
}

/// The extensions of a root CA: `basicConstraints=critical,CA:TRUE`,
/// `keyUsage=critical,keyCertSign,cRLSign`.
pub const ROOT_EXTENSIONS: [&str; 2] = [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
];

/// The extensions of an issuing CA below a root: no further CAs below it, identified by key.
pub const ISSUING_CA_EXTENSIONS: [&str; 4] = [
    "basicConstraints=critical,CA:TRUE,pathlen:0",
    "keyUsage=critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier=hash",
    "authorityKeyIdentifier=keyid",
];

/// The S/MIME extensions of a user certificate for `email` with `key_usage` (for example
/// `digitalSignature,keyEncipherment`): end entity, emailProtection, the address in the SAN.
pub fn user_extensions(email: &str, key_usage: &str) -> Vec<String> {
    vec![
        "basicConstraints=critical,CA:FALSE".to_owned(),
        format!("keyUsage=critical,{key_usage}"),
        "extendedKeyUsage=emailProtection".to_owned(),
        format!("subjectAltName=email:{email}"),
        "subjectKeyIdentifier=hash".to_owned(),
        "authorityKeyIdentifier=keyid".to_owned(),
    ]
}

/// A certificate made here, with its key.
#[derive(Clone, Debug)]
pub struct Issued {
    pub name: String,
    /// The certificate, PEM.
    pub cert: PathBuf,
    /// Its private key, unencrypted PKCS#8 PEM.
    pub key: PathBuf,
}

impl Issued {
    pub fn cert_pem(&self) -> Vec<u8> {
        crate::read(&self.cert)
    }

    pub fn key_pem(&self) -> Vec<u8> {
        crate::read(&self.key)
    }

    /// The certificate as DER, converted by `openssl x509`.
    pub fn cert_der(&self) -> Vec<u8> {
        let cert = self.cert.to_str().unwrap_or_default();
        crate::run_ok(crate::openssl().args(["x509", "-in", cert, "-outform", "DER"])).stdout
    }
}

/// A certificate authority in a directory: issues certificates, revokes them, writes CRLs.
#[derive(Clone, Debug)]
pub struct Ca {
    dir: PathBuf,
    pub issued: Issued,
}

impl Ca {
    /// A self-signed certificate (`openssl req -x509`) whose key signs what it issues. With
    /// [`ROOT_EXTENSIONS`] it is a root CA; with others, any self-signed certificate a test needs.
    pub fn self_signed(dir: &Path, name: &str, profile: &Profile) -> Ca {
        let issued = names(dir, name);
        let mut args: Vec<String> = ["req", "-x509", "-nodes"].map(String::from).to_vec();
        args.extend(profile.key.newkey_args());
        args.extend(
            [
                "-keyout",
                path_str(&issued.key),
                "-out",
                path_str(&issued.cert),
                "-subj",
                &profile.subject,
                "-days",
                &profile.days.to_string(),
            ]
            .map(String::from),
        );
        if let Some(serial) = profile.serial {
            args.extend(["-set_serial".to_owned(), serial.to_string()]);
        }
        for line in &profile.extensions {
            args.extend(["-addext".to_owned(), line.clone()]);
        }
        openssl_in(dir, &args);
        let ca = Ca {
            dir: dir.to_owned(),
            issued,
        };
        ca.write_ca_config();
        ca
    }

    /// The CA `name` made earlier in `dir` (by a call in another function or process).
    pub fn existing(dir: &Path, name: &str) -> Ca {
        Ca {
            dir: dir.to_owned(),
            issued: names(dir, name),
        }
    }

    /// Issues a certificate (`openssl req`, then `openssl x509 -req -CA`) signed with SHA-256.
    pub fn issue(&self, name: &str, profile: &Profile) -> Issued {
        let issued = names(&self.dir, name);
        let csr = self.dir.join(format!("{name}.csr"));
        let mut args: Vec<String> = ["req", "-nodes"].map(String::from).to_vec();
        args.extend(profile.key.newkey_args());
        args.extend(
            [
                "-keyout",
                path_str(&issued.key),
                "-out",
                path_str(&csr),
                "-subj",
                &profile.subject,
            ]
            .map(String::from),
        );
        openssl_in(&self.dir, &args);
        let extfile = crate::write(
            &self.dir,
            &format!("{name}.ext"),
            profile.extensions.join("\n").as_bytes(),
        );
        let mut args: Vec<String> = [
            "x509",
            "-req",
            "-in",
            path_str(&csr),
            "-CA",
            path_str(&self.issued.cert),
            "-CAkey",
            path_str(&self.issued.key),
            "-days",
            &profile.days.to_string(),
            "-sha256",
            "-extfile",
            path_str(&extfile),
            "-out",
            path_str(&issued.cert),
        ]
        .map(String::from)
        .to_vec();
        match profile.serial {
            Some(serial) => args.extend(["-set_serial".to_owned(), serial.to_string()]),
            None => args.push("-CAcreateserial".to_owned()),
        }
        openssl_in(&self.dir, &args);
        issued
    }

    /// Issues a CA certificate and returns it as a CA that issues in turn.
    pub fn issue_ca(&self, name: &str, profile: &Profile) -> Ca {
        let ca = Ca {
            dir: self.dir.clone(),
            issued: self.issue(name, profile),
        };
        ca.write_ca_config();
        ca
    }

    /// Revokes `certificate` (`openssl ca -revoke`); the next CRL lists it.
    pub fn revoke(&self, certificate: &Issued) {
        openssl_in(
            &self.dir,
            &[
                "ca",
                "-config",
                path_str(&self.config()),
                "-revoke",
                path_str(&certificate.cert),
            ],
        );
    }

    /// Writes this CA's CRL as it stands (`openssl ca -gencrl`, valid 30 days, with the
    /// authority key identifier) to `file` in the directory, PEM or DER.
    pub fn write_crl(&self, file: &str, der: bool) -> PathBuf {
        let out = self.dir.join(file);
        let pem = if der {
            self.dir.join(format!("{file}.pem"))
        } else {
            out.clone()
        };
        openssl_in(
            &self.dir,
            &[
                "ca",
                "-config",
                path_str(&self.config()),
                "-gencrl",
                "-out",
                path_str(&pem),
            ],
        );
        if der {
            openssl_in(
                &self.dir,
                &[
                    "crl",
                    "-in",
                    path_str(&pem),
                    "-outform",
                    "DER",
                    "-out",
                    path_str(&out),
                ],
            );
        }
        out
    }

    fn config(&self) -> PathBuf {
        self.dir.join(format!("{}.cnf", self.issued.name))
    }

    /// The `openssl ca` configuration and database that revocation and CRLs need.
    fn write_ca_config(&self) {
        let name = &self.issued.name;
        let index = crate::write(&self.dir, &format!("{name}-index.txt"), b"");
        crate::write(
            &self.dir,
            &format!("{name}.cnf"),
            format!(
                "[ca]\ndefault_ca=this\n[this]\ndatabase={}\ncertificate={}\nprivate_key={}\ndefault_md=sha256\ndefault_crl_days=30\ncrl_extensions=crl_ext\n[crl_ext]\nauthorityKeyIdentifier=keyid\n",
                path_str(&index),
                path_str(&self.issued.cert),
                path_str(&self.issued.key),
            )
            .as_bytes(),
        );
    }
}

fn names(dir: &Path, name: &str) -> Issued {
    Issued {
        name: name.to_owned(),
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}.key")),
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("test path {} is not UTF-8", path.display()))
}

fn openssl_in<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) {
    crate::run_ok(crate::openssl().args(args).current_dir(dir));
}
