//! `smime-lab pki build <pki.yaml> --out <dir>`: issue the lab PKI a YAML description asks for and
//! write it to a directory: `<id>.crt.pem`, `<id>.key.pem` and, for users, `<id>.p12` and
//! `<id>.legacy.p12` (all three mode 0600), and `<ca>.crl` (DER).
//!
//! The directory is assembled beside `--out` and renamed into place at the end, so a failed run
//! never leaves a half-written PKI behind.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args as ClapArgs, Subcommand};
use smime::pkcs12::Pkcs12Profile;
use smime::pki::{self, BuiltPki};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: PkiCommand,
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Issue the certificates, keys and CRLs of a PKI description and write them to a directory.
    ///
    /// The same description always gives byte-identical files. An existing output directory is
    /// replaced only if it holds nothing but files this command writes.
    Build {
        /// The PKI description (YAML), e.g. fixtures/pki/default.yaml.
        description: PathBuf,
        /// The directory to write; created or replaced.
        #[arg(long)]
        out: PathBuf,
        /// Password of the users' PKCS#12 files (`<id>.p12`, `<id>.legacy.p12`). The default is
        /// public: these are lab identities, never real ones.
        #[arg(long, default_value = "smime-lab")]
        p12_password: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        PkiCommand::Build {
            description,
            out,
            p12_password,
        } => build(&description, &out, &p12_password),
    }
}

fn build(description_path: &Path, out: &Path, p12_password: &str) -> anyhow::Result<ExitCode> {
    let yaml = super::input::read_text(description_path)?;
    let shown = description_path.display().to_string();
    // Both kinds of error already name the line and column; the file name goes in front.
    let description = pki::parse_description(&yaml, &shown).with_context(|| shown.clone())?;
    let built = pki::build(&description).with_context(|| shown.clone())?;

    let files = write_atomically(&built, out, p12_password)?;
    println!(
        "wrote {files} files for {} certificates and {} CRLs to {}",
        built.entities.len(),
        built.crls.len(),
        out.display()
    );
    for entity in &built.entities {
        let revoked = if entity.revoked { "  revoked" } else { "" };
        let flaws = if entity.flaws.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = entity.flaws.iter().map(|f| f.name()).collect();
            format!("  flaws: {}", names.join(", "))
        };
        println!(
            "  {:<20} {:<12} {:<11} {:<28} issued by {}{revoked}{flaws}",
            entity.id,
            entity.role.name(),
            entity.key.algorithm_name(),
            entity.mailbox.as_deref().unwrap_or("-"),
            entity.issuer,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Names of the files `build` writes, so that an existing output directory can be recognised as
/// ours before it is replaced.
fn is_output_file(name: &str) -> bool {
    [".crt.pem", ".key.pem", ".p12", ".crl"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

fn write_atomically(built: &BuiltPki, out: &Path, p12_password: &str) -> anyhow::Result<usize> {
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("--out {} does not end in a directory name", out.display()))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create the directory {}", parent.display()))?;

    if out.exists() {
        check_replaceable(out)?;
    }

    let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| {
            format!(
                "cannot remove the leftover staging directory {}",
                staging.display()
            )
        })?;
    }
    fs::create_dir(&staging)
        .with_context(|| format!("cannot create the staging directory {}", staging.display()))?;

    let written = write_files(built, &staging, p12_password);
    let files = match written {
        Ok(files) => files,
        Err(error) => {
            // Best effort: the error that matters is the one that stopped the write.
            let _ = fs::remove_dir_all(&staging);
            return Err(error);
        }
    };

    if out.exists() {
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        fs::rename(out, &old)
            .with_context(|| format!("cannot move the previous {} aside", out.display()))?;
        if let Err(error) = fs::rename(&staging, out) {
            // Put the previous output back rather than leave nothing.
            let _ = fs::rename(&old, out);
            let _ = fs::remove_dir_all(&staging);
            return Err(error)
                .with_context(|| format!("cannot move the new PKI into {}", out.display()));
        }
        fs::remove_dir_all(&old).with_context(|| {
            format!(
                "wrote {}, but cannot remove the previous copy {}",
                out.display(),
                old.display()
            )
        })?;
    } else {
        fs::rename(&staging, out)
            .with_context(|| format!("cannot move the new PKI into {}", out.display()))?;
    }
    Ok(files)
}

/// Refuses to replace a directory that holds anything `build` would not have written: `--out .`
/// must not wipe a working tree.
fn check_replaceable(out: &Path) -> anyhow::Result<()> {
    if !out.is_dir() {
        bail!(
            "--out {} exists and is not a directory; choose another path",
            out.display()
        );
    }
    let entries = fs::read_dir(out).with_context(|| format!("cannot list {}", out.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", out.display()))?;
        let file_name = entry.file_name();
        let name = file_name.to_string_lossy();
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if !is_file || !is_output_file(&name) {
            bail!(
                "refusing to replace {}: it holds {name:?}, which `pki build` does not write; remove it or choose another --out",
                out.display()
            );
        }
    }
    Ok(())
}

fn write_files(built: &BuiltPki, dir: &Path, p12_password: &str) -> anyhow::Result<usize> {
    let mut files = 0;
    for entity in &built.entities {
        let pem = entity
            .certificate_pem()
            .with_context(|| format!("cannot encode the certificate of {} as PEM", entity.id))?;
        write_file(
            &dir.join(format!("{}.crt.pem", entity.id)),
            pem.as_bytes(),
            false,
        )?;
        let key = entity
            .key
            .to_pkcs8_pem()
            .with_context(|| format!("cannot encode the private key of {}", entity.id))?;
        write_file(
            &dir.join(format!("{}.key.pem", entity.id)),
            key.as_bytes(),
            true,
        )?;
        files += 2;
        if !entity.role.is_ca() {
            // Two profiles because devices differ: modern (PBES2/AES-256, SHA-256 MAC) for current
            // Windows, macOS and OpenSSL 3; legacy (3DES, SHA-1 MAC) for older Windows, iOS and gpgsm.
            for (suffix, profile) in [
                ("p12", Pkcs12Profile::Modern),
                ("legacy.p12", Pkcs12Profile::Legacy),
            ] {
                let p12 = built
                    .pkcs12(&entity.id, p12_password, profile)
                    .with_context(|| format!("cannot write the PKCS#12 file of {}", entity.id))?;
                write_file(&dir.join(format!("{}.{suffix}", entity.id)), &p12, true)?;
                files += 1;
            }
        }
    }
    for crl in &built.crls {
        write_file(&dir.join(format!("{}.crl", crl.ca)), &crl.der, false)?;
        files += 1;
    }
    Ok(files)
}

/// Writes a new file; `secret` files are created with mode 0600 from the start, so a private key
/// is never readable by others, not even briefly.
fn write_file(path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
