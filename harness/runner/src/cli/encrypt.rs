//! `smime-lab encrypt`: encrypt a message (.eml) to recipients' certificates, as an S/MIME client
//! would: `application/pkcs7-mime; smime-type=enveloped-data` (authEnveloped-data for AES-GCM).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use rand_core::SeedableRng as _;
use smime::cms::envelope::{
    ContentCipher, EncryptOptions, OaepHash, Recipient, RecipientIdType, RsaPadding,
    encrypt_message,
};
use x509_cert::Certificate;

const CIPHERS: [&str; 11] = [
    "aes256-cbc",
    "aes192-cbc",
    "aes128-cbc",
    "aes128-gcm",
    "aes192-gcm",
    "aes256-gcm",
    "3des",
    "des",
    "rc2-40",
    "rc2-64",
    "rc2-128",
];

#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// A recipient's certificate (PEM or DER; the first certificate of the file). Repeat for
    /// several recipients. RSA keys get key transport, P-256/P-384 keys ECDH key agreement.
    #[arg(long = "to", required = true, value_name = "CERT")]
    to: Vec<PathBuf>,
    /// Also encrypt to the sender's own certificate, as Outlook does for Sent Items.
    #[arg(long, value_name = "CERT")]
    sender_cert: Option<PathBuf>,
    /// Content-encryption algorithm. 3des, des and rc2-* are legacy ciphers a mobile policy can
    /// demand; they are weak and reported as such.
    #[arg(long, default_value = "aes256-cbc", value_parser = clap::builder::PossibleValuesParser::new(CIPHERS))]
    cipher: String,
    /// RSA-OAEP instead of PKCS#1 v1.5 key transport for RSA recipients.
    #[arg(long)]
    oaep: bool,
    /// The OAEP hash (for the label and MGF1).
    #[arg(long, requires = "oaep", default_value = "sha1", value_parser = ["sha1", "sha256", "sha384", "sha512"])]
    oaep_hash: String,
    /// Name recipients by Subject Key Identifier instead of issuer and serial number
    /// (Exchange's OWAUseKeyIdentifier).
    #[arg(long)]
    ski: bool,
    /// Make the output reproducible: content key, IV and padding randomness come from this
    /// label. Without it they come from the operating system.
    #[arg(long, value_name = "LABEL")]
    seed: Option<String>,
    /// The message to encrypt (.eml: headers, blank line, body); `-` for standard input.
    input: PathBuf,
    /// Where to write the encrypted message (atomically); standard output if absent.
    #[arg(short, long, value_name = "OUT.eml")]
    output: Option<PathBuf>,
}

/// The first certificate of a PEM or DER file, with a note if the file had more (a chain).
pub(super) fn load_certificate(path: &Path) -> anyhow::Result<Certificate> {
    let mut certificates = super::input::read_certificates(path)?;
    if certificates.len() > 1 {
        eprintln!(
            "note: {}: {} certificates, using the first (the chain's end-entity certificate must come first)",
            path.display(),
            certificates.len()
        );
    }
    Ok(certificates.remove(0))
}

/// Writes `bytes` to `path` whole or not at all (temporary file in the same directory, then
/// rename), with the given Unix permissions.
pub(super) fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".smime-lab-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", temp.path().display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set permissions on {}", temp.path().display()))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub(super) fn write_output(output: Option<&Path>, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    match output {
        Some(path) => write_atomically(path, bytes, mode),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .context("cannot write to standard output")
        }
    }
}

fn rng(seed: Option<&str>) -> anyhow::Result<rand_chacha::ChaCha20Rng> {
    match seed {
        Some(label) => Ok(smime::rng::seeded(label)),
        None => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| anyhow::anyhow!("the operating system gave no randomness: {e}"))?;
            Ok(rand_chacha::ChaCha20Rng::from_seed(seed))
        }
    }
}

pub fn run(args: EncryptArgs) -> anyhow::Result<ExitCode> {
    let cipher = ContentCipher::from_name(&args.cipher)
        .with_context(|| format!("unknown cipher {}", args.cipher))?;
    let rsa_padding = if args.oaep {
        RsaPadding::Oaep(
            OaepHash::from_name(&args.oaep_hash)
                .with_context(|| format!("unknown OAEP hash {}", args.oaep_hash))?,
        )
    } else {
        RsaPadding::Pkcs1v15
    };
    let recipients = args
        .to
        .iter()
        .map(|p| load_certificate(p).map(Recipient::new))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let also_to_sender = args
        .sender_cert
        .as_deref()
        .map(load_certificate)
        .transpose()?;
    let options = EncryptOptions {
        cipher,
        rsa_padding,
        recipient_id: if args.ski {
            RecipientIdType::SubjectKeyIdentifier
        } else {
            RecipientIdType::IssuerAndSerialNumber
        },
        also_to_sender,
    };
    let message = super::input::read_message(&args.input)?;
    let encrypted = encrypt_message(
        &message,
        &recipients,
        &options,
        &mut rng(args.seed.as_deref())?,
    )
    .with_context(|| format!("cannot encrypt {}", args.input.display()))?;
    // Encrypted mail is public by design: ordinary file permissions.
    write_output(args.output.as_deref(), &encrypted, 0o644)?;
    let count = recipients.len() + usize::from(options.also_to_sender.is_some());
    eprintln!(
        "encrypted {} for {count} recipient{} with {}",
        args.input.display(),
        if count == 1 { "" } else { "s" },
        cipher.display_name()
    );
    if let Some(why) = cipher.weakness() {
        eprintln!("warning: {} is weak: {why}", cipher.display_name());
    }
    Ok(ExitCode::SUCCESS)
}
