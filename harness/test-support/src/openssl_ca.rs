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
    /// Ed25519 (signatures carry no separate digest: give the profile [`Profile::no_digest`]).
    Ed25519,
    /// A key made earlier ([`generate_key`]), shared by several certificates.
    File(PathBuf),
}

impl Key {
    /// `openssl req` arguments that make the key (`-newkey …`) or name it (`-key file`).
    fn req_args(&self) -> Vec<String> {
        match self {
            Key::Rsa(bits) => vec!["-newkey".into(), format!("rsa:{bits}")],
            Key::Ec(curve) => vec![
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                format!("ec_paramgen_curve:{curve}"),
            ],
            Key::Ed25519 => vec!["-newkey".into(), "ed25519".into()],
            Key::File(path) => vec!["-key".into(), path_str(path).to_owned()],
        }
    }

    /// `openssl genpkey` arguments for a new key of this kind.
    fn genpkey_args(&self) -> Vec<String> {
        match self {
            Key::Rsa(bits) => vec![
                "-algorithm".into(),
                "RSA".into(),
                "-pkeyopt".into(),
                format!("rsa_keygen_bits:{bits}"),
            ],
            Key::Ec(curve) => vec![
                "-algorithm".into(),
                "EC".into(),
                "-pkeyopt".into(),
                format!("ec_paramgen_curve:{curve}"),
            ],
            Key::Ed25519 => vec!["-algorithm".into(), "ED25519".into()],
            Key::File(_) => Vec::new(),
        }
    }
}

/// Writes a new key `<name>.key` (PKCS#8 PEM, `openssl genpkey`) to `dir` for certificates to
/// share through [`Key::File`]. A [`Key::File`] is returned as it is.
pub fn generate_key(dir: &Path, name: &str, key: &Key) -> Key {
    if let Key::File(_) = key {
        return key.clone();
    }
    let out = dir.join(format!("{name}.key"));
    let mut args = vec!["genpkey".to_owned()];
    args.extend(key.genpkey_args());
    args.extend(["-out".to_owned(), path_str(&out).to_owned()]);
    openssl_in(dir, &args);
    Key::File(out)
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
    /// The signature's digest as `openssl` names it (`sha256`, `sha1`, `md5`); `None` for
    /// EdDSA, which takes none.
    pub digest: Option<String>,
    /// `-sigopt` values for the issuer's signature (`rsa_padding_mode:pss`).
    pub sign_options: Vec<String>,
    /// A self-signed certificate gets exactly [`Profile::extensions`]; otherwise `openssl req`
    /// adds its configuration's `v3_ca` extensions (CA:TRUE, key identifiers) to them.
    pub exact_extensions: bool,
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
            digest: Some("sha256".to_owned()),
            sign_options: Vec::new(),
            exact_extensions: false,
        }
    }

    pub fn digest(mut self, digest: &str) -> Self {
        self.digest = Some(digest.to_owned());
        self
    }

    /// No digest argument: for EdDSA issuers.
    pub fn no_digest(mut self) -> Self {
        self.digest = None;
        self
    }

    pub fn sign_option(mut self, option: &str) -> Self {
        self.sign_options.push(option.to_owned());
        self
    }

    /// See [`Profile::exact_extensions`].
    pub fn exact_extensions(mut self) -> Self {
        self.exact_extensions = true;
        self
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
        let issued = names(dir, name, &profile.key);
        let mut args: Vec<String> = ["req", "-x509", "-nodes"].map(String::from).to_vec();
        args.extend(profile.key.req_args());
        if !matches!(profile.key, Key::File(_)) {
            args.extend(["-keyout".to_owned(), path_str(&issued.key).to_owned()]);
        }
        args.extend(
            [
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
        args.extend(profile.signature_args());
        if profile.exact_extensions {
            let config = crate::write(
                dir,
                &format!("{name}.req.cnf"),
                format!(
                    "[req]\ndistinguished_name = dn\n[dn]\n[exact]\n{}\n",
                    profile.extensions.join("\n")
                )
                .as_bytes(),
            );
            args.extend(["-config", path_str(&config), "-extensions", "exact"].map(String::from));
        } else {
            for line in &profile.extensions {
                args.extend(["-addext".to_owned(), line.clone()]);
            }
        }
        openssl_in(dir, &args);
        let ca = Ca {
            dir: dir.to_owned(),
            issued,
        };
        ca.write_ca_config();
        ca
    }

    /// A certificate that is not a CA's, used as an issuer anyway (a test of a bogus chain).
    pub fn acting(dir: &Path, issued: Issued) -> Ca {
        Ca {
            dir: dir.to_owned(),
            issued,
        }
    }

    /// The CA `name` made earlier in `dir` (by a call in another function or process).
    pub fn existing(dir: &Path, name: &str) -> Ca {
        Ca {
            dir: dir.to_owned(),
            issued: own_files(dir, name),
        }
    }

    /// Issues a certificate (`openssl req`, then `openssl x509 -req -CA`) signed with SHA-256.
    pub fn issue(&self, name: &str, profile: &Profile) -> Issued {
        let issued = names(&self.dir, name, &profile.key);
        let csr = self.dir.join(format!("{name}.csr"));
        let mut args: Vec<String> = ["req", "-new", "-nodes"].map(String::from).to_vec();
        args.extend(profile.key.req_args());
        if !matches!(profile.key, Key::File(_)) {
            args.extend(["-keyout".to_owned(), path_str(&issued.key).to_owned()]);
        }
        args.extend(["-out", path_str(&csr), "-subj", &profile.subject].map(String::from));
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
            "-extfile",
            path_str(&extfile),
            "-out",
            path_str(&issued.cert),
        ]
        .map(String::from)
        .to_vec();
        args.extend(profile.signature_args());
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
        self.write_crl_as(file, der, &CrlOptions::default())
    }

    /// Writes this CA's CRL as it stands with `options`: the version, the dates and the key
    /// that signs it.
    pub fn write_crl_as(&self, file: &str, der: bool, options: &CrlOptions<'_>) -> PathBuf {
        let out = self.dir.join(file);
        let pem = if der {
            self.dir.join(format!("{file}.pem"))
        } else {
            out.clone()
        };
        let mut args: Vec<String> = [
            "ca",
            "-config",
            path_str(&self.config()),
            "-gencrl",
            "-out",
            path_str(&pem),
        ]
        .map(String::from)
        .to_vec();
        if options.version == CrlVersion::V2 {
            args.extend(["-crlexts".to_owned(), "crl_ext".to_owned()]);
        }
        if let Some(signer) = options.signed_by {
            args.extend(
                [
                    "-cert",
                    path_str(&signer.cert),
                    "-keyfile",
                    path_str(&signer.key),
                ]
                .map(String::from),
            );
        }
        if let Some(at) = &options.this_update {
            args.extend(["-crl_lastupdate".to_owned(), at.clone()]);
        }
        if let Some(at) = &options.next_update {
            args.extend(["-crl_nextupdate".to_owned(), at.clone()]);
        }
        openssl_in(&self.dir, &args);
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
                "[ca]\ndefault_ca=this\n[this]\ndatabase={}\ncertificate={}\nprivate_key={}\ndefault_md=sha256\ndefault_crl_days=30\n[crl_ext]\nauthorityKeyIdentifier=keyid\n",
                path_str(&index),
                path_str(&self.issued.cert),
                path_str(&self.issued.key),
            )
            .as_bytes(),
        );
    }
}

impl Profile {
    /// The digest and `-sigopt` arguments of the signature over this certificate.
    fn signature_args(&self) -> Vec<String> {
        let mut args: Vec<String> = self.digest.iter().map(|d| format!("-{d}")).collect();
        for option in &self.sign_options {
            args.extend(["-sigopt".to_owned(), option.clone()]);
        }
        args
    }
}

/// The files of certificate `name`: `<name>.pem`, and its key `<name>.key` unless it uses a key
/// file made earlier.
/// A CRL's version: `openssl ca -gencrl` writes version 2 when it adds extensions and version 1
/// (RFC 5280 §5.1.2.1: no version field, no extensions) when it adds none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CrlVersion {
    V1,
    #[default]
    V2,
}

/// How [`Ca::write_crl_as`] writes a CRL. The default: version 2, dates from now for
/// `default_crl_days` (30), signed by the CA.
#[derive(Clone, Debug, Default)]
pub struct CrlOptions<'a> {
    pub version: CrlVersion,
    /// `thisUpdate` as `openssl ca -crl_lastupdate` takes it (`YYYYMMDDHHMMSSZ`).
    pub this_update: Option<String>,
    /// `nextUpdate`, likewise (`-crl_nextupdate`).
    pub next_update: Option<String>,
    /// Another certificate and key to sign with (an impostor with the CA's name, say).
    pub signed_by: Option<&'a Issued>,
}

fn names(dir: &Path, name: &str, key: &Key) -> Issued {
    let mut issued = own_files(dir, name);
    if let Key::File(path) = key {
        issued.key = path.clone();
    }
    issued
}

/// `<name>.pem` and `<name>.key` in `dir`.
fn own_files(dir: &Path, name: &str) -> Issued {
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
