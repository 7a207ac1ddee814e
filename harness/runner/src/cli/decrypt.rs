//! `smime-lab decrypt`: decrypt an S/MIME message with a recipient's certificate and private key,
//! and say how it was protected (cipher, key management, whether the cipher is weak).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use smime::cms::envelope::{RecipientMatch, decrypt_message, decrypted_message};

use super::encrypt::load_certificate;
use super::output::{PRIVATE, write_output};

#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The recipient's certificate (PEM or DER).
    #[arg(long, value_name = "CERT", requires = "key", conflicts_with = "p12")]
    cert: Option<PathBuf>,
    /// The recipient's private key (PKCS#8, PKCS#1 or SEC1; PEM or DER; unencrypted).
    #[arg(long, value_name = "KEY", requires = "cert", conflicts_with = "p12")]
    key: Option<PathBuf>,
    /// The recipient's certificate and key as PKCS#12 (.p12/.pfx), instead of --cert/--key.
    #[arg(long, value_name = "FILE", requires = "password")]
    p12: Option<PathBuf>,
    /// The PKCS#12 password.
    #[arg(long, value_name = "PASSWORD", requires = "p12")]
    password: Option<String>,
    /// Write only the decrypted MIME entity (what `openssl cms -decrypt` prints), not a whole
    /// message with the original From/To/Subject headers.
    #[arg(long)]
    entity_only: bool,
    /// The encrypted message (.eml).
    input: PathBuf,
    /// Where to write the decrypted message (atomically, mode 0600); standard output if absent.
    #[arg(short, long, value_name = "OUT.eml")]
    output: Option<PathBuf>,
}

pub fn run(args: DecryptArgs) -> anyhow::Result<ExitCode> {
    let (cert, key) = match (&args.cert, &args.key, &args.p12) {
        (Some(cert_path), Some(key_path), None) => {
            let cert = load_certificate(cert_path)?;
            let key = super::input::read_key_for(key_path, &cert, cert_path)?;
            (cert, key)
        }
        (None, None, Some(p12)) => {
            let password = args.password.as_deref().unwrap_or_default();
            let identity = super::input::read_pkcs12_identity(p12, password)?;
            (identity.certificate, identity.key)
        }
        _ => anyhow::bail!("give --cert and --key, or --p12 and --password"),
    };
    let message = super::input::read_message(&args.input)?;
    let decrypted = decrypt_message(&message, &cert, &key)
        .with_context(|| format!("cannot decrypt {}", args.input.display()))?;
    let out = if args.entity_only {
        decrypted.content.clone()
    } else {
        decrypted_message(&message, &decrypted.content)
    };
    // Decrypted mail is as confidential as the key that opened it.
    write_output(args.output.as_deref(), &out, PRIVATE)?;
    eprintln!(
        "decrypted {}: {}{}, {}, recipient matched by {}",
        args.input.display(),
        decrypted.content_cipher.display_name(),
        if decrypted.authenticated {
            " (authenticated)"
        } else {
            ""
        },
        decrypted.key_management,
        match decrypted.recipient_matched_by {
            RecipientMatch::IssuerSerial => "issuer and serial number",
            RecipientMatch::Ski => "subject key identifier",
        }
    );
    if let Some(why) = decrypted.content_cipher.weakness() {
        eprintln!(
            "warning: {} is weak: {why}",
            decrypted.content_cipher.display_name()
        );
    }
    Ok(ExitCode::SUCCESS)
}
