//! `smime-lab sst`: write a Microsoft serialized certificate store (.sst) for
//! `Set-SmimeConfig -SMIMECertificateIssuingCA`, and show what any certificate file holds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use serde::Serialize;
use smime::certificate::{issuer_string, not_after, rfc3339, sha1_thumbprint, subject_string};
use smime::sst::{CollectedCertificate, Collection, read_certificate_collection, write_sst};

use super::output::{PUBLIC, write_atomically};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write an .sst holding the certificates of the inputs (PEM, DER, .p7b or .sst; a PEM file
    /// may hold several). The output appears whole or not at all.
    Write {
        /// The .sst file to write (replaced if it exists).
        #[arg(short, long, value_name = "OUT.sst")]
        output: PathBuf,
        /// Certificate files, in the order their certificates go into the store.
        #[arg(required = true, value_name = "CERT")]
        inputs: Vec<PathBuf>,
    },
    /// Show the format found and, for each certificate, subject, SHA-1 thumbprint and NotAfter.
    Read {
        /// An .sst, a .p7b (DER or PEM), a DER certificate or a PEM bundle.
        file: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Write { output, inputs } => write(&output, &inputs),
        Command::Read { file, json } => read(&file, json),
    }
}

fn load(path: &Path) -> anyhow::Result<Collection> {
    let bytes = super::input::read_file(path)?;
    read_certificate_collection(&bytes).with_context(|| format!("{}", path.display()))
}

fn write(output: &Path, inputs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut certificates: Vec<CollectedCertificate> = Vec::new();
    for input in inputs {
        let collection = load(input)?;
        if collection.certificates.is_empty() {
            anyhow::bail!(
                "{}: no certificate in this {}; nothing to put in the store",
                input.display(),
                collection.format_description()
            );
        }
        eprintln!(
            "note: {}: {}, {}",
            input.display(),
            collection.format_description(),
            count(collection.certificates.len(), "certificate")
        );
        for note in &collection.notes {
            eprintln!("note: {}: {note}", input.display());
        }
        for certificate in collection.certificates {
            // A Windows store holds a certificate once; a repeated one would only add bytes.
            if certificates.iter().any(|c| c.der == certificate.der) {
                eprintln!(
                    "note: {}: {} is already in the store, skipped",
                    input.display(),
                    sha1_thumbprint(&certificate.der)
                );
                continue;
            }
            certificates.push(certificate);
        }
    }

    let ders: Vec<&[u8]> = certificates.iter().map(|c| c.der.as_slice()).collect();
    let bytes = write_sst(&ders).context("cannot build the store")?;
    // A store holds only public certificates: as readable as any other file. Written whole or
    // not at all, so Exchange tooling never picks up half a store.
    write_atomically(output, &bytes, PUBLIC)?;

    println!(
        "wrote {}: {}, {} bytes",
        output.display(),
        count(certificates.len(), "certificate"),
        bytes.len()
    );
    print_table(&certificates);
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct ReadReport {
    file: String,
    format: &'static str,
    format_description: String,
    pem_armored: bool,
    certificates: Vec<CertificateReport>,
    crl_count: usize,
    ctl_count: usize,
    property_ids: Vec<u32>,
    notes: Vec<String>,
}

#[derive(Serialize)]
struct CertificateReport {
    subject: String,
    issuer: String,
    thumbprint: String,
    not_after: String,
}

fn certificate_report(certificate: &CollectedCertificate) -> CertificateReport {
    CertificateReport {
        subject: subject_string(&certificate.certificate),
        issuer: issuer_string(&certificate.certificate),
        thumbprint: sha1_thumbprint(&certificate.der),
        not_after: rfc3339(not_after(&certificate.certificate)),
    }
}

fn read(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let collection = load(path)?;
    if json {
        let sst = collection.sst.as_ref();
        let report = ReadReport {
            file: path.display().to_string(),
            format: collection.format.as_str(),
            format_description: collection.format_description(),
            pem_armored: collection.pem_armored,
            certificates: collection
                .certificates
                .iter()
                .map(certificate_report)
                .collect(),
            crl_count: sst.map_or(0, |s| s.crls.len()),
            ctl_count: sst.map_or(0, |s| s.ctls.len()),
            property_ids: sst
                .map_or_else(Vec::new, |s| s.properties.iter().map(|p| p.id).collect()),
            notes: collection.notes.iter().map(ToString::to_string).collect(),
        };
        let text = serde_json::to_string_pretty(&report).context("cannot encode the report")?;
        println!("{text}");
    } else {
        println!(
            "{}: {}, {}",
            path.display(),
            collection.format_description(),
            count(collection.certificates.len(), "certificate")
        );
        print_table(&collection.certificates);
        for note in &collection.notes {
            println!("note: {note}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(certificates: &[CollectedCertificate]) {
    if certificates.is_empty() {
        return;
    }
    println!(
        "  {:<40}  {:<20}  SUBJECT",
        "THUMBPRINT (SHA-1)", "NOT AFTER"
    );
    for certificate in certificates {
        let report = certificate_report(certificate);
        println!(
            "  {:<40}  {:<20}  {}",
            report.thumbprint, report.not_after, report.subject
        );
    }
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
