//! Reading the files users hand to the command line: certificates in any collection format (PEM,
//! DER, SST, PKCS#7), private keys, PKCS#12 identities and their passwords, messages, CRLs and
//! policy files. One place, so every subcommand accepts the same formats, says the same thing
//! when a file is wrong, and reads nothing without a size cap ([`read_file`], [`read_message`]:
//! `bounded_input`'s limits, or `--max-input-size` for every input of the run).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context as _, bail};
use smime::key::PrivateKey;
use smime::sst::read_certificate_collection;
use x509_cert::Certificate;

/// What certificate arguments accept, for error messages.
pub const CERTIFICATE_FORMATS: &str = "accepted: PEM (-----BEGIN CERTIFICATE-----, several per file), \
     DER, a serialized store (.sst) or PKCS#7 (.p7b); a PKCS#12 file (.p12/.pfx) needs --password";

/// `--max-input-size`, when given: the cap for every input of this run instead of the defaults.
static MAX_INPUT_SIZE: OnceLock<u64> = OnceLock::new();

/// Sets `--max-input-size` for the run (called once, from `cli::main`).
pub fn set_max_input_size(limit: Option<u64>) {
    if let Some(limit) = limit {
        // Only `cli::main` sets it, once; a second call would change nothing anyway.
        let _ = MAX_INPUT_SIZE.set(limit);
    }
}

/// Parses `--max-input-size`: bytes, or a number with K, M, G (KiB, MiB, GiB; powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "{unit:?} is not a size unit: write a number of bytes, or one with K, M or G (e.g. 300M)"
            ));
        }
    };
    let number: u64 = digits.parse().map_err(|_| {
        "write a whole number of bytes, or one with K, M or G (e.g. 300M)".to_owned()
    })?;
    match number.checked_mul(factor) {
        Some(0) => Err("the size must be at least 1 byte".to_owned()),
        Some(bytes) => Ok(bytes),
        None => Err("that size is larger than any file can be".to_owned()),
    }
}

fn limit_or(default: u64) -> u64 {
    MAX_INPUT_SIZE.get().copied().unwrap_or(default)
}

/// Adds what to do when an input was over its cap: raise it with `--max-input-size`.
fn with_hint(error: std::io::Error) -> anyhow::Error {
    if error.kind() == std::io::ErrorKind::FileTooLarge {
        anyhow::anyhow!("{error}; if it is, pass a larger --max-input-size")
    } else {
        anyhow::Error::new(error)
    }
}

/// Any input file other than a message, capped at `bounded_input::DEFAULT_LIMIT` (or
/// `--max-input-size`). The error names the file.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    bounded_input::read(path, limit_or(bounded_input::DEFAULT_LIMIT))
        .map_err(with_hint)
        .with_context(|| format!("cannot read {}", path.display()))
}

/// A text input (a YAML description): [`read_file`], then UTF-8, the error naming the byte.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = read_file(path)?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (byte {} is not part of a UTF-8 character): save it as UTF-8",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// A message (or any input file); `-` reads standard input, so subcommands compose with pipes
/// (`smime-lab sign ... | smime-lab encrypt --to bob.pem - | smime-lab sign ... -`). Capped at
/// `bounded_input::MESSAGE_LIMIT` (or `--max-input-size`).
pub fn read_message(path: &Path) -> anyhow::Result<Vec<u8>> {
    let limit = limit_or(bounded_input::MESSAGE_LIMIT);
    if path == Path::new("-") {
        return bounded_input::read_from(std::io::stdin().lock(), limit, "it")
            .map_err(with_hint)
            .context("cannot read the message from standard input");
    }
    bounded_input::read(path, limit)
        .map_err(with_hint)
        .with_context(|| format!("cannot read {}", path.display()))
}

/// A CRL given on the command line (DER, or PEM `-----BEGIN X509 CRL-----`), as DER. Refused
/// here, naming the file, when it is empty or does not decode, rather than later as a CRL that
/// could not be fetched.
pub fn read_crl(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = read_file(path)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        bail!(
            "{}: the file is empty; expected a CRL (DER, or PEM starting -----BEGIN X509 CRL-----)",
            path.display()
        );
    }
    smime::cms::path::crl_der(&bytes).map_err(|_| {
        anyhow::anyhow!(
            "{}: not a certificate revocation list: it does not decode as a DER or PEM (-----BEGIN X509 CRL-----) CRL; `openssl crl -in FILE -noout -text` shows what it holds",
            path.display()
        )
    })
}

/// Every certificate in a file, in file order; at least one, so callers may take the first.
pub fn read_certificates(path: &Path) -> anyhow::Result<Vec<Certificate>> {
    let bytes = read_file(path)?;
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
    let bytes = read_file(path)?;
    PrivateKey::from_pem_or_der(&bytes).with_context(|| format!("{}", path.display()))
}

/// [`read_key`] for a given certificate: a key that belongs to another one is refused here,
/// naming both files, instead of failing later in words about the message.
pub fn read_key_for(
    key_path: &Path,
    certificate: &Certificate,
    certificate_path: &Path,
) -> anyhow::Result<PrivateKey> {
    let key = read_key(key_path)?;
    if !key.matches(
        &certificate
            .tbs_certificate()
            .subject_public_key_info()
            .clone(),
    ) {
        bail!(
            "{}: this key does not belong to the certificate in {} ({}): pass the key issued with that certificate",
            key_path.display(),
            certificate_path.display(),
            smime::certificate::subject_string(certificate)
        );
    }
    Ok(key)
}

/// A certificate, its key and the rest of the certificates, from a PKCS#12 file.
pub struct Pkcs12Identity {
    pub certificate: Certificate,
    pub key: PrivateKey,
    pub others: Vec<Certificate>,
}

pub fn read_pkcs12_identity(path: &Path, password: &str) -> anyhow::Result<Pkcs12Identity> {
    let bytes = read_file(path)?;
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
            (None, Some(path)) => Ok(Some(read_password_file(path)?)),
            (None, None) => Ok(None),
        }
    }
}

/// The first line of a password file (without its line ending). Read with a small cap: a password
/// file is one line, and its content is never echoed.
pub fn read_password_file(path: &Path) -> anyhow::Result<String> {
    const PASSWORD_FILE_LIMIT: u64 = 64 * 1024;
    let bytes = bounded_input::read(path, PASSWORD_FILE_LIMIT)
        .with_context(|| format!("cannot read the password file {}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "the password file {} is not UTF-8 text: save it as UTF-8",
            path.display()
        )
    })?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}
