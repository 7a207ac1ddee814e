//! `smime-lab sign`: sign a message clear (multipart/signed) or opaque (application/pkcs7-mime),
//! byte-identical for a given `--now` and `--seed`.

use super::input::{read_certificates, read_message};
use super::output::{PUBLIC, write_output};
use super::rng::rng;
use std::path::PathBuf;
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
    let key = super::input::read_key_for(&args.key, &certificate, &args.cert)?;
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

    let input = read_message(&args.input)?;
    let signed = sign_message(&input, &signer, &options, &mut rng(args.seed.as_deref())?)
        .with_context(|| format!("cannot sign {}", args.input.display()))?;
    // Signed mail is public: ordinary file permissions.
    write_output(args.output.as_deref(), &signed, PUBLIC)?;
    Ok(ExitCode::SUCCESS)
}
