//! `smime-lab cert check`: the certificate profile checks (the catalogue's `PKI-*` rows) on one
//! user certificate, with its key, chain and mailbox, for a person or a CI job.

use super::report::{paint, plural};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::input::{
    CERTIFICATE_FORMATS, OptionalPassword, read_certificates, read_key, read_pkcs12_identity,
};
use clap::Subcommand;
use smime::checks::{CertificateUnderTest, Finding, Report, Severity, check_certificate};
use time::OffsetDateTime;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a user certificate against what Exchange Online, Outlook and the S/MIME profiles need.
    /// Exit status: 0 no error-severity finding, 1 at least one, 2 unreadable input.
    Check(CheckArgs),
    /// Print the check catalogue (every check's id, severity, source and remedy) as the Markdown
    /// page docs/checks.md is.
    Catalogue(CatalogueArgs),
}

#[derive(Debug, clap::Args)]
pub struct CatalogueArgs {
    /// Write the page to FILE instead of standard output; parent directories are created.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The certificate: PEM, DER, SST, PKCS#7, or PKCS#12 with --password. In a bundle the first
    /// certificate is checked and the others are used as its chain; from a PKCS#12 file, the
    /// key's certificate is checked, with the file's key and other certificates.
    #[arg(value_name = "CERT")]
    cert: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1; PEM or DER, unencrypted), to check that it
    /// belongs to the certificate. Never printed.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Intermediate and root certificates (PEM, DER, SST or PKCS#7; repeat for several files).
    /// The path is built through them to a self-signed root.
    #[arg(long = "chain", value_name = "FILE")]
    chain: Vec<PathBuf>,
    /// The mailbox (primary SMTP address) the certificate is for.
    #[arg(long, value_name = "ADDRESS")]
    mailbox: Option<String>,
    /// Judge validity at this instant instead of now (RFC 3339, e.g. 2030-01-01T00:00:00Z).
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    now: Option<OffsetDateTime>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    password: OptionalPassword,
}

fn parse_rfc3339(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{e}: expected an RFC 3339 instant such as 2030-01-01T00:00:00Z"))
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check(args) => check(&args),
        Command::Catalogue(args) => catalogue(&args),
    }
}

fn catalogue(args: &CatalogueArgs) -> anyhow::Result<ExitCode> {
    super::scenario::write_generated(
        &smime::checks::catalogue_page(),
        args.output.as_deref(),
        "the catalogue",
    )
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let (subject, mut chain, p12_key) = match args.password.resolve()? {
        Some(password) => {
            let identity = read_pkcs12_identity(&args.cert, &password)?;
            (identity.certificate, identity.others, Some(identity.key))
        }
        None => {
            let mut certificates = read_certificates(&args.cert)?.into_iter();
            let Some(subject) = certificates.next() else {
                anyhow::bail!(
                    "{}: no certificate found ({CERTIFICATE_FORMATS})",
                    args.cert.display()
                );
            };
            (subject, certificates.collect(), None)
        }
    };
    for file in &args.chain {
        chain.extend(read_certificates(file)?);
    }
    let key = match args.key.as_deref() {
        Some(path) => Some(read_key(path)?),
        None => p12_key,
    };
    let report = check_certificate(&CertificateUnderTest {
        cert: &subject,
        key: key.as_ref(),
        chain: &chain,
        mailbox: args.mailbox.as_deref(),
        now: args.now.unwrap_or_else(OffsetDateTime::now_utc),
    });

    super::report::emit(
        args.json,
        &report,
        |colour| render(&args.cert, &report, colour),
        report.has_errors(),
    )
}

/// The human report: a header naming the certificate, the findings grouped by severity (one line
/// each, the remedy indented below), and a one-line summary.
fn render(file: &Path, report: &Report, colour: bool) -> String {
    let c = &report.certificate;
    let mut text = format!(
        "{}: {}\n  subject     {}\n  issuer      {}\n  valid       {} to {}\n  key         {}\n  thumbprint  {}\n",
        file.display(),
        report.subject,
        c.subject,
        c.issuer,
        c.not_before,
        c.not_after,
        c.key,
        c.thumbprint,
    );
    for (severity, heading) in [
        (Severity::Error, "errors"),
        (Severity::Warning, "warnings"),
        (Severity::Info, "information"),
    ] {
        let group: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .collect();
        if group.is_empty() {
            continue;
        }
        text.push_str(&format!("\n{heading}:\n"));
        for finding in group {
            let line = finding.to_string();
            // Colour only the "ID severity" head of the line, so the sentence stays readable.
            let head_len = finding.id.len() + 1 + severity.as_str().len();
            let (head, rest) = line.split_at(head_len.min(line.len()));
            text.push_str(&format!(
                "  {}{rest}\n      fix: {}\n",
                paint(head, severity, colour),
                finding.remedy
            ));
        }
    }
    let (errors, warnings, infos) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info),
    );
    let verdict = if errors > 0 {
        paint(
            "not fit for S/MIME in Exchange Online",
            Severity::Error,
            colour,
        )
    } else if warnings > 0 {
        "usable, with warnings".to_owned()
    } else {
        "ok".to_owned()
    };
    text.push_str(&format!(
        "\n{}, {}, {}: {verdict}\n",
        plural(errors, "error"),
        plural(warnings, "warning"),
        infos.to_string() + " information"
    ));
    text
}
