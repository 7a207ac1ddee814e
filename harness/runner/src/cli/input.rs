//! Reading the files users hand to the command line: certificates in any collection format (PEM,
//! DER, SST, PKCS#7), private keys, PKCS#12 identities and their passwords. One place, so every
//! subcommand accepts the same formats and says the same thing when a file is wrong.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use smime::key::PrivateKey;
use smime::sst::read_certificate_collection;
use x509_cert::Certificate;

/// What certificate arguments accept, for error messages.
pub const CERTIFICATE_FORMATS: &str = "accepted: PEM (-----BEGIN CERTIFICATE-----, several per file), \
     DER, a serialized store (.sst) or PKCS#7 (.p7b); a PKCS#12 file (.p12/.pfx) needs --password";

/// A message (or any input file); `-` reads standard input, so subcommands compose with pipes
/// (`smime-lab sign ... | smime-lab encrypt --to bob.pem - | smime-lab sign ... -`).
pub fn read_message(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("cannot read the message from standard input")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Every certificate in a file, in file order; at least one, so callers may take the first.
pub fn read_certificates(path: &Path) -> anyhow::Result<Vec<Certificate>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let collection = read_certificate_collection(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not a certificate file: {e}\n  {CERTIFICATE_FORMATS}",
            path.display()
        )
    })?;
    if collection.certificates.is_empty() {
        bail!(
            "{}: the {} holds no certificate",
            path.display(),
            collection.format_description()
        );
    }
    Ok(collection
        .certificates
        .into_iter()
        .map(|c| c.certificate)
        .collect())
}

/// An unencrypted private key (PKCS#8, PKCS#1 or SEC1; PEM or DER). Errors never show key bytes.
pub fn read_key(path: &Path) -> anyhow::Result<PrivateKey> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    PrivateKey::from_pem_or_der(&bytes).with_context(|| format!("{}", path.display()))
}

/// A certificate, its key and the rest of the certificates, from a PKCS#12 file.
pub struct Pkcs12Identity {
    pub certificate: Certificate,
    pub key: PrivateKey,
    pub others: Vec<Certificate>,
}

pub fn read_pkcs12_identity(path: &Path, password: &str) -> anyhow::Result<Pkcs12Identity> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let contents = smime::pkcs12::read_pkcs12(&bytes, password)
        .with_context(|| format!("{}", path.display()))?;
    let Some(key_der) = contents.private_key_pkcs8_der.as_deref() else {
        bail!("{}: the PKCS#12 file holds no private key", path.display());
    };
    let key = PrivateKey::from_pkcs8_der(key_der).with_context(|| format!("{}", path.display()))?;
    let mut certificates = contents
        .certificates
        .iter()
        .map(|der| smime::certificate::parse_der(der))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}", path.display()))?
        .into_iter();
    // `read_pkcs12` puts the key's certificate first when it can tell which one it is.
    let Some(certificate) = certificates.next() else {
        bail!("{}: the PKCS#12 file holds no certificate", path.display());
    };
    if !key.matches(
        &certificate
            .tbs_certificate()
            .subject_public_key_info()
            .clone(),
    ) {
        bail!(
            "{}: the PKCS#12 file's key belongs to none of its certificates",
            path.display()
        );
    }
    Ok(Pkcs12Identity {
        certificate,
        key,
        others: certificates.collect(),
    })
}

/// `--password` / `--password-file` for commands where a PKCS#12 input is optional.
#[derive(Debug, clap::Args)]
pub struct OptionalPassword {
    /// Password of a PKCS#12 input (visible in the process list; prefer --password-file).
    #[arg(long, conflicts_with = "password_file")]
    password: Option<String>,
    /// Read the PKCS#12 password from the first line of this file.
    #[arg(long, value_name = "PATH")]
    password_file: Option<PathBuf>,
}

impl OptionalPassword {
    pub fn resolve(&self) -> anyhow::Result<Option<String>> {
        match (&self.password, &self.password_file) {
            (Some(password), _) => Ok(Some(password.clone())),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the password file {}", path.display()))?;
                Ok(Some(text.lines().next().unwrap_or_default().to_owned()))
            }
            (None, None) => Ok(None),
        }
    }
}
