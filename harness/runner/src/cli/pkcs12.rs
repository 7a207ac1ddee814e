//! `smime-lab pkcs12`: look inside a .p12/.pfx (certificates, thumbprints, whether the key matches;
//! never the key itself) and make one from PEM files, as a user would install it in step 5.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args as ClapArgs, Subcommand};
use smime::pkcs12::{KeyMatch, Pkcs12Profile, Pkcs12Summary, read_pkcs12, summarize, write_pkcs12};

use super::output::{PRIVATE, write_atomically};
use super::rng::rng;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Pkcs12Command,
}

#[derive(Debug, Subcommand)]
enum Pkcs12Command {
    /// List the certificates (subject, SHA-1 thumbprint) and keys of a PKCS#12 file, and whether
    /// each key matches its certificate. Exit 1 if a key does not match its certificate or
    /// matches none of the file's certificates.
    Inspect(InspectArgs),
    /// Write a PKCS#12 file from a PEM certificate and PKCS#8 key (mode 0600, written atomically).
    Create(CreateArgs),
}

#[derive(Debug, ClapArgs)]
struct PasswordArgs {
    /// The PKCS#12 password (visible in the process list; prefer --password-file on shared hosts).
    #[arg(
        long,
        required_unless_present = "password_file",
        conflicts_with = "password_file"
    )]
    password: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "PATH")]
    password_file: Option<PathBuf>,
}

impl PasswordArgs {
    fn resolve(&self) -> anyhow::Result<String> {
        match (&self.password, &self.password_file) {
            (Some(password), _) => Ok(password.clone()),
            (None, Some(path)) => super::input::read_password_file(path),
            (None, None) => bail!("give --password or --password-file"),
        }
    }
}

#[derive(Debug, ClapArgs)]
struct InspectArgs {
    /// The .p12/.pfx file (DER, BER or PEM).
    file: PathBuf,
    #[command(flatten)]
    password: PasswordArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, ClapArgs)]
struct CreateArgs {
    /// The end-entity certificate (PEM or DER).
    #[arg(long, value_name = "PEM")]
    cert: PathBuf,
    /// Its private key: PKCS#8 (`-----BEGIN PRIVATE KEY-----`, or DER).
    #[arg(long, value_name = "PEM")]
    key: PathBuf,
    /// CA certificates to include, issuer first (a PEM bundle).
    #[arg(long, value_name = "PEM")]
    chain: Option<PathBuf>,
    #[command(flatten)]
    password: PasswordArgs,
    /// 3DES and a SHA-1 MAC instead of AES-256 and SHA-256, for Windows before 10 1709, old
    /// phones and gpgsm 2.2.
    #[arg(long)]
    legacy: bool,
    /// The name Windows and Thunderbird show for the identity.
    #[arg(long)]
    friendly_name: Option<String>,
    /// Derive salts and IVs from this label instead of the operating system, for byte-stable
    /// fixtures (any text; a number works too).
    #[arg(long, value_name = "LABEL")]
    seed: Option<String>,
    /// Where to write the .p12 (replaced atomically if it exists).
    #[arg(short, long, value_name = "OUT.p12")]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Pkcs12Command::Inspect(args) => inspect(&args),
        Pkcs12Command::Create(args) => create(&args),
    }
}

fn inspect(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let password = args.password.resolve()?;
    let bytes = super::input::read_file(&args.file)?;
    let contents = read_pkcs12(&bytes, &password)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let summary = summarize(&contents);
    if args.json {
        #[derive(serde::Serialize)]
        struct Report<'a> {
            file: String,
            #[serde(flatten)]
            summary: &'a Pkcs12Summary,
        }
        let report = Report {
            file: args.file.display().to_string(),
            summary: &summary,
        };
        emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        emit(&render(&args.file, &summary))?;
    }
    // "Exit 1 if a key does not match": a key that belongs to another certificate, or to none
    // of the file's certificates, is an identity Outlook cannot use.
    let unusable_key = summary.keys.iter().any(|key| {
        matches!(
            key.matches_certificate,
            KeyMatch::No | KeyMatch::NoCertificate
        )
    });
    Ok(if unusable_key {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Print to stdout; a closed pipe (`| head`) ends output quietly instead of panicking.
fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(error).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

fn render(file: &Path, summary: &Pkcs12Summary) -> String {
    let mut out = format!("{}\n", file.display());
    let flag = |legacy: bool| if legacy { "  [legacy]" } else { "" };
    match &summary.mac {
        Some(mac) => {
            out += &format!(
                "  MAC          {}, {} iterations{}\n",
                mac.algorithm,
                mac.iterations,
                flag(mac.legacy)
            )
        }
        None => {
            out += "  MAC          none (a wrong password shows only as a decryption failure)\n"
        }
    }
    for part in &summary.encryption {
        out += &format!(
            "  {:<12} {}, {} iterations{}\n",
            part.part,
            part.algorithm.algorithm,
            part.algorithm.iterations,
            flag(part.algorithm.legacy)
        );
    }
    if let Some(name) = &summary.friendly_name {
        out += &format!("  name         {name}\n");
    }
    out += &format!("certificates ({})\n", summary.certificates.len());
    for (index, cert) in summary.certificates.iter().enumerate() {
        out += &format!("  [{index}] {}\n", cert.subject);
        out += &format!(
            "      SHA-1 {}  serial {}  until {}\n",
            cert.thumbprint, cert.serial, cert.not_after
        );
        out += &format!("      issuer {}\n", cert.issuer);
    }
    if summary.keys.is_empty() {
        out += "private key: none\n";
    }
    for (index, key) in summary.keys.iter().enumerate() {
        let verdict = match (&key.matches_certificate, key.certificate) {
            (KeyMatch::Yes, Some(cert)) => format!("matches certificate [{cert}]"),
            (KeyMatch::No, Some(cert)) => format!("DOES NOT MATCH certificate [{cert}]"),
            (KeyMatch::Unknown(why), Some(cert)) => {
                format!("paired with certificate [{cert}]; match not checked: {why}")
            }
            (KeyMatch::NoCertificate, _) | (_, None) => {
                "no certificate in the file belongs to it".into()
            }
        };
        out += &format!("private key [{index}] {}: {verdict}\n", key.algorithm);
    }
    if !summary.ignored_bags.is_empty() {
        out += &format!("ignored bags: {}\n", summary.ignored_bags.join(", "));
    }
    out
}

fn create(args: &CreateArgs) -> anyhow::Result<ExitCode> {
    let password = args.password.resolve()?;
    let cert = read_der_blocks(&args.cert, "CERTIFICATE")?;
    let [cert] = <[Vec<u8>; 1]>::try_from(cert).map_err(|blocks| {
        anyhow::anyhow!(
            "{} holds {} certificates; give only the end entity's to --cert and the CAs to --chain",
            args.cert.display(),
            blocks.len()
        )
    })?;
    let key = read_der_blocks(&args.key, "PRIVATE KEY")?;
    let [key] = <[Vec<u8>; 1]>::try_from(key).map_err(|_| {
        anyhow::anyhow!(
            "{} must hold exactly one PKCS#8 key (-----BEGIN PRIVATE KEY-----); convert others \
             with `openssl pkcs8 -topk8 -nocrypt -in KEY`",
            args.key.display()
        )
    })?;
    let chain = match &args.chain {
        Some(path) => read_der_blocks(path, "CERTIFICATE")?,
        None => Vec::new(),
    };
    let profile = if args.legacy {
        Pkcs12Profile::Legacy
    } else {
        Pkcs12Profile::Modern
    };
    let mut rng = rng(args.seed.as_deref())?;
    let bytes = write_pkcs12(
        &key,
        &cert,
        &chain,
        args.friendly_name.as_deref(),
        &password,
        profile,
        &mut rng,
    )
    .with_context(|| {
        format!(
            "cannot build a PKCS#12 from {} and {}",
            args.cert.display(),
            args.key.display()
        )
    })?;
    write_atomically(&args.out, &bytes, PRIVATE)?;
    eprintln!(
        "wrote {} ({} bytes, {}, mode 0600)",
        args.out.display(),
        bytes.len(),
        if args.legacy {
            "legacy 3DES/SHA-1"
        } else {
            "AES-256/SHA-256"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// The DER of every PEM block labelled `label` in `path`, or the whole file if it is DER.
fn read_der_blocks(path: &Path, label: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let bytes = super::input::read_file(path)?;
    if !bytes.starts_with(b"-----BEGIN") && !contains(&bytes, b"-----BEGIN") {
        return Ok(vec![bytes]);
    }
    let text = std::str::from_utf8(&bytes)
        .with_context(|| format!("{} is neither DER nor UTF-8 PEM", path.display()))?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let tail = &rest[start..];
        let stop = tail
            .find(&end)
            .map(|at| at + end.len())
            .with_context(|| format!("{}: a {begin} has no {end}", path.display()))?;
        let (_, der) = der::pem::decode_vec(&tail.as_bytes()[..stop])
            .map_err(|e| anyhow::anyhow!("{}: bad PEM block: {e}", path.display()))?;
        blocks.push(der);
        rest = &tail[stop..];
    }
    if blocks.is_empty() {
        bail!("{} has no {begin} block", path.display());
    }
    Ok(blocks)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
