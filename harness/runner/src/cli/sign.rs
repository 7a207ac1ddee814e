//! `smime-lab sign`: sign a message clear (multipart/signed) or opaque (application/pkcs7-mime),
//! byte-identical for a given `--now` and `--seed`.

use super::input::read_certificates;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args as ClapArgs, ValueEnum};
use smime::cms::{
    CertificateInclusion, DigestAlgorithm, RsaPadding, SignOptions, SignedForm, Signer,
    sign_message,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Include {
    /// The signer's certificate only.
    Signer,
    /// The signer and its intermediates (no self-signed root), as clients send.
    Chain,
    /// The signer, the intermediates and the root.
    ChainWithRoot,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The signer's certificate (PEM or DER). Further certificates in the same PEM file are
    /// taken as its chain.
    #[arg(long, value_name = "PEM")]
    cert: PathBuf,
    /// The signer's private key (PKCS#8, PKCS#1 or SEC1; PEM or DER; unencrypted).
    #[arg(long, value_name = "PEM")]
    key: PathBuf,
    /// Issuing CA certificates (intermediates, optionally the root), nearest first.
    #[arg(long, value_name = "PEM")]
    chain: Option<PathBuf>,
    /// The certificate others should encrypt to, named in the encryption key preference
    /// attributes (default: the signing certificate).
    #[arg(long, value_name = "PEM")]
    encryption_cert: Option<PathBuf>,
    /// Opaque-sign (application/pkcs7-mime; smime-type=signed-data) instead of clear-signing.
    #[arg(long)]
    opaque: bool,
    /// Digest: sha256, sha384, sha512, sha1 or md5 (the last two only because Exchange mobile
    /// policies can demand them; reported as weak).
    #[arg(long, default_value = "sha256", value_parser = parse_digest)]
    digest: DigestAlgorithm,
    /// RSA-PSS (salt = hash length) instead of PKCS#1 v1.5. Ignored for ECDSA keys.
    #[arg(long)]
    pss: bool,
    /// Certificates to include in the signature.
    #[arg(long, value_enum, default_value = "chain")]
    include: Include,
    /// The signing time (RFC 3339); default: the current time.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    now: Option<time::OffsetDateTime>,
    /// Seed label for the randomness (MIME boundary, PSS salt): the same label and --now give
    /// the same bytes. Default: fresh randomness from the operating system.
    #[arg(long, value_name = "LABEL")]
    seed: Option<String>,
    /// The message to sign (header fields, an empty line, a body); `-` for standard input.
    input: PathBuf,
    /// Where to write the signed message (atomically); default: standard output.
    #[arg(short, long, value_name = "OUT.eml")]
    output: Option<PathBuf>,
}

fn parse_digest(s: &str) -> Result<DigestAlgorithm, String> {
    s.parse()
}

pub(crate) fn parse_time(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{s:?} is not an RFC 3339 time such as 2026-11-23T10:00:00Z: {e}"))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut certs = read_certificates(&args.cert)?;
    let certificate = certs.remove(0);
    let mut chain = certs;
    if let Some(path) = &args.chain {
        chain.extend(read_certificates(path)?);
    }
    let encryption_certificate = match &args.encryption_cert {
        Some(path) => Some(read_certificates(path)?.remove(0)),
        None => None,
    };
    let key_bytes = std::fs::read(&args.key)
        .with_context(|| format!("cannot read the key {}", args.key.display()))?;
    let key = smime::key::PrivateKey::from_pem_or_der(&key_bytes)
        .with_context(|| format!("{}", args.key.display()))?;
    let signer = Signer {
        certificate,
        key,
        chain,
        encryption_certificate,
    };

    let now = args.now.unwrap_or_else(time::OffsetDateTime::now_utc);
    let mut options = SignOptions::new(now);
    options.digest = args.digest;
    options.rsa_padding = if args.pss {
        RsaPadding::Pss
    } else {
        RsaPadding::Pkcs1v15
    };
    options.form = if args.opaque {
        SignedForm::OpaqueSigned
    } else {
        SignedForm::ClearSigned
    };
    options.include = match args.include {
        Include::Signer => CertificateInclusion::SignerOnly,
        Include::Chain => CertificateInclusion::Chain,
        Include::ChainWithRoot => CertificateInclusion::ChainWithRoot,
    };
    if args.digest.is_weak() {
        eprintln!(
            "warning: signing with {}: only for rehearsing a mobile policy that demands it",
            args.digest
        );
    }

    let input = read_input(&args.input)?;
    let label = match &args.seed {
        Some(label) => label.clone(),
        None => os_random_label()?,
    };
    let mut rng = smime::rng::seeded(&label);
    let signed = sign_message(&input, &signer, &options, &mut rng)
        .with_context(|| format!("cannot sign {}", args.input.display()))?;

    match &args.output {
        Some(path) => write_atomically(path, &signed)?,
        None => std::io::stdout()
            .write_all(&signed)
            .context("cannot write to standard output")?,
    }
    Ok(ExitCode::SUCCESS)
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read the message from standard input")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// 32 bytes from the operating system, as a seed label.
fn os_random_label() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for fresh randomness; pass --seed LABEL instead")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`: readers see
/// the old file or the new one, never half of one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}
