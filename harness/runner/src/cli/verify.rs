//! `smime-lab verify`: verify a signed message as Exchange Online would — chain to the given
//! anchors, revocation from the CRL distribution points (fetched unless told not to), the signer
//! being the From address. Layered messages (signed then encrypted, triple-wrapped) are opened
//! layer by layer with the recipient's key ([`smime::cms::open_message`]). Exit 0 only for a
//! valid signature from the From address on every signed layer.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use smime::cms::{Certificate, Layer, OpenedMessage, Revocation, VerifyContext, open_message};
use smime::key::PrivateKey;

use crl::{FetchError, FetchPolicy};

use super::input::{
    OptionalPassword, read_certificates, read_crl, read_key_for, read_message, read_pkcs12_identity,
};

#[derive(Debug, ClapArgs)]
#[command(after_help = "\
Encrypted messages (signed then encrypted as Outlook and Thunderbird send them, or RFC 2634
triple-wrapped) are opened layer by layer: give the recipient's --cert and --key, or --p12 with
--password. Every signature must be valid and from the From address; without a key an encrypted
message exits 1 with status `encrypted`. --json shows each layer under \"layers\".

Exit status: 0 a valid signature from the From address, 1 anything else, 2 unreadable input.")]
pub struct Args {
    /// Trust anchors: PEM bundle or DER certificate (repeatable). Exchange trusts the
    /// certificates of the SST given to Set-SmimeConfig.
    #[arg(long, value_name = "PEM", required = true)]
    anchors: Vec<PathBuf>,
    /// A CRL (DER or PEM) to check the path against (repeatable).
    #[arg(long, value_name = "FILE")]
    crl: Vec<PathBuf>,
    /// Do not fetch CRLs from the certificates' distribution points. Without --crl, revocation
    /// is then not checked (and the verdict says so).
    #[arg(long)]
    no_crl_fetch: bool,
    /// Connect and read time limit for each CRL download.
    #[arg(long, value_name = "SECONDS", default_value = "10")]
    crl_timeout: u64,
    /// Verification time (RFC 3339); default: the current time.
    #[arg(long, value_name = "RFC3339", value_parser = super::sign::parse_time)]
    now: Option<time::OffsetDateTime>,
    /// The sender to hold the signer to when the message has no From field (the inner entity
    /// of a decrypted message).
    #[arg(long, value_name = "ADDRESS")]
    sender: Option<String>,
    /// The recipient's certificate, to decrypt an encrypted message (with --key).
    #[arg(long, value_name = "CERT", requires = "key", conflicts_with = "p12")]
    cert: Option<PathBuf>,
    /// The recipient's private key (PKCS#8, PKCS#1 or SEC1; PEM or DER; unencrypted).
    #[arg(long, value_name = "KEY", requires = "cert", conflicts_with = "p12")]
    key: Option<PathBuf>,
    /// The recipient's certificate and key as PKCS#12 (.p12/.pfx), instead of --cert/--key.
    #[arg(long, value_name = "FILE")]
    p12: Option<PathBuf>,
    #[command(flatten)]
    password: OptionalPassword,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    /// The message (`-` for standard input).
    input: PathBuf,
}

/// The recipient's certificate and key from --cert/--key or --p12, if given.
fn decryption_identity(args: &Args) -> anyhow::Result<Option<(Certificate, PrivateKey)>> {
    let password = args.password.resolve()?;
    match (&args.cert, &args.key, &args.p12) {
        (Some(cert), Some(key), None) => {
            if password.is_some() {
                anyhow::bail!("--password goes with --p12, not with --cert/--key");
            }
            let certificate = read_certificates(cert)?.remove(0);
            let key = read_key_for(key, &certificate, cert)?;
            Ok(Some((certificate, key)))
        }
        (None, None, Some(p12)) => {
            let Some(password) = password else {
                anyhow::bail!(
                    "{}: give the PKCS#12 password with --password or --password-file (--password '' for none)",
                    p12.display()
                );
            };
            let identity = read_pkcs12_identity(p12, &password)?;
            Ok(Some((identity.certificate, identity.key)))
        }
        (None, None, None) if password.is_some() => {
            anyhow::bail!("--password is for a --p12 file, and none was given")
        }
        (None, None, None) => Ok(None),
        _ => anyhow::bail!("give --cert and --key, or --p12 and --password"),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let message = read_message(&args.input)?;
    let mut anchors = Vec::new();
    for path in &args.anchors {
        anchors.extend(load_anchors(path)?);
    }
    let mut given_crls = Vec::new();
    for path in &args.crl {
        given_crls.push(read_crl(path)?);
    }
    let identity = decryption_identity(&args)?;
    let decryption = identity.as_ref().map(|(cert, key)| (cert, key));

    let mut ctx = VerifyContext::new(
        anchors,
        args.now.unwrap_or_else(time::OffsetDateTime::now_utc),
    );
    ctx.sender = args.sender.clone();

    let opened = if args.no_crl_fetch {
        ctx.revocation = if given_crls.is_empty() {
            Revocation::NotChecked
        } else {
            Revocation::Crls {
                crls: given_crls,
                unreachable: Vec::new(),
            }
        };
        open_message(&message, &ctx, decryption)
    } else {
        // First pass without revocation: it validates the paths and names the distribution
        // points of the certificates on them (every signed layer's). Then fetch them and open
        // the message again.
        let first = open_message(&message, &ctx, decryption);
        let mut urls: Vec<String> = Vec::new();
        for layer in &first.layers {
            if let Layer::Signed { verdict } = layer
                && !verdict.chain.is_empty()
            {
                for url in &verdict.crl_distribution_points {
                    if !urls.contains(url) {
                        urls.push(url.clone());
                    }
                }
            }
        }
        let any_path = first
            .layers
            .iter()
            .any(|l| matches!(l, Layer::Signed { verdict } if !verdict.chain.is_empty()));
        if !any_path {
            first
        } else {
            let (fetched, unreachable) =
                fetch_all(&urls, Duration::from_secs(args.crl_timeout.max(1)));
            let mut crls = given_crls;
            crls.extend(fetched);
            ctx.revocation = Revocation::Crls { crls, unreachable };
            open_message(&message, &ctx, decryption)
        }
    };
    print_opened(&opened, args.json)?;
    if opened.verdict.status == smime::cms::Status::Encrypted && decryption.is_none() {
        eprintln!("note: encrypted: pass --cert/--key or --p12 to decrypt it first");
    }
    Ok(if opened.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Fetches every http:// distribution point. Other schemes (ldap://) count as unreachable only
/// when a certificate names nothing else, since this fetcher speaks HTTP only.
fn fetch_all(urls: &[String], timeout: Duration) -> (Vec<Vec<u8>>, Vec<String>) {
    let mut crls = Vec::new();
    let mut unreachable = Vec::new();
    for fetch in crl::fetch_all(urls, &FetchPolicy::per_connection(timeout)) {
        match fetch.result {
            Ok(der) => {
                eprintln!(
                    "note: fetched the CRL at {} ({} bytes)",
                    fetch.url,
                    der.len()
                );
                crls.push(der);
            }
            // Named by the certificate, not reached by a redirect: never tried.
            Err(FetchError::Scheme { .. }) if !fetch.url.starts_with("http://") => {
                unreachable.push(format!("{}: smime-lab fetches http:// only", fetch.url));
            }
            Err(e) => {
                eprintln!("note: {e}");
                unreachable.push(e.to_string());
            }
        }
    }
    (crls, unreachable)
}

/// Reads trust anchors: PEM, DER, or the virtual certificate collection itself (SST, PKCS#7):
/// Exchange's anchors are exactly the SST's certificates.
fn load_anchors(path: &Path) -> anyhow::Result<Vec<Certificate>> {
    super::input::read_certificates(path)
}

fn print_opened(opened: &OpenedMessage, json: bool) -> anyhow::Result<()> {
    if json {
        let text = serde_json::to_string_pretty(opened).context("cannot encode the verdict")?;
        println!("{text}");
    } else {
        print!("{}", opened.to_text());
    }
    Ok(())
}
