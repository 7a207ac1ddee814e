//! `smime-lab verify`: verify a signed message as Exchange Online would — chain to the given
//! anchors, revocation from the CRL distribution points (fetched unless told not to), the signer
//! being the From address. Exit 0 only for a valid signature from the From address.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use smime::cms::{Certificate, Revocation, Verdict, VerifyContext, verify_message};

use super::crl_fetch;

#[derive(Debug, ClapArgs)]
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
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    /// The message (`-` for standard input).
    input: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let message = if args.input == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("cannot read the message from standard input")?;
        buf
    } else {
        std::fs::read(&args.input)
            .with_context(|| format!("cannot read {}", args.input.display()))?
    };
    let mut anchors = Vec::new();
    for path in &args.anchors {
        anchors.extend(load_anchors(path)?);
    }
    let mut given_crls = Vec::new();
    for path in &args.crl {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let der = smime::cms::path::crl_der(&bytes)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("{}", path.display()))?;
        given_crls.push(der);
    }

    let mut ctx = VerifyContext::new(
        anchors,
        args.now.unwrap_or_else(time::OffsetDateTime::now_utc),
    );
    ctx.sender = args.sender.clone();

    let verdict = if args.no_crl_fetch {
        ctx.revocation = if given_crls.is_empty() {
            Revocation::NotChecked
        } else {
            Revocation::Crls {
                crls: given_crls,
                unreachable: Vec::new(),
            }
        };
        verify_message(&message, &ctx)
    } else {
        // First pass without revocation: it validates the path and names the distribution
        // points of the certificates on it. Then fetch them and verify again.
        let first = verify_message(&message, &ctx);
        if first.chain.is_empty() {
            first
        } else {
            let (fetched, unreachable) = fetch_all(
                &first.crl_distribution_points,
                Duration::from_secs(args.crl_timeout.max(1)),
            );
            let mut crls = given_crls;
            crls.extend(fetched);
            ctx.revocation = Revocation::Crls { crls, unreachable };
            verify_message(&message, &ctx)
        }
    };
    print_verdict(&verdict, args.json)?;
    Ok(if verdict.is_valid() {
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
    let http: Vec<&String> = urls.iter().filter(|u| u.starts_with("http://")).collect();
    if http.is_empty() {
        for u in urls {
            unreachable.push(format!("{u}: smime-lab fetches http:// only"));
        }
    }
    for url in http {
        match crl_fetch::fetch_crl(url, timeout) {
            Ok(der) => {
                eprintln!("note: fetched the CRL at {url} ({} bytes)", der.len());
                crls.push(der);
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

fn print_verdict(verdict: &Verdict, json: bool) -> anyhow::Result<()> {
    if json {
        let text = serde_json::to_string_pretty(verdict).context("cannot encode the verdict")?;
        println!("{text}");
    } else {
        print!("{}", verdict.to_text());
    }
    Ok(())
}
