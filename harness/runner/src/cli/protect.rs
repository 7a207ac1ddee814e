//! `smime-lab protect`: sign and encrypt a message in one step, as Outlook and Thunderbird send
//! mail with both buttons on (a signed message inside an envelope), or RFC 2634 triple-wrapped
//! (sign, encrypt, sign). One seed for both layers, so the output is byte-stable. For options this
//! command leaves out (RSA-PSS, OAEP, recipients by SKI, which certificates to include), pipe
//! `smime-lab sign` into `smime-lab encrypt -`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use smime::cms::envelope::{ContentCipher, EncryptOptions, Recipient};
use smime::cms::{
    DigestAlgorithm, SignOptions, SignedForm, Signer, sign_then_encrypt, triple_wrap,
};

use super::input::{read_certificates, read_key_for, read_message};
use super::output::{PUBLIC, write_output};
use super::rng::rng;

#[derive(Debug, ClapArgs)]
#[command(after_help = "\
What the clients send:
  Outlook      smime-lab protect --opaque --encrypt-to-self --cert me.pem --key me.key --to bob.pem msg.eml
  Thunderbird  smime-lab protect --encrypt-to-self --cert me.pem --key me.key --to bob.pem msg.eml
The same with pipes (two seeds, same structure):
  smime-lab sign --cert me.pem --key me.key msg.eml | smime-lab encrypt --to bob.pem -
Check the result with: smime-lab verify --anchors ca.pem --cert bob.pem --key bob.key out.eml")]
pub struct Args {
    /// The signer's certificate (PEM or DER). Further certificates in the same file are taken as
    /// its chain.
    #[arg(long, value_name = "PEM")]
    cert: PathBuf,
    /// The signer's private key (PKCS#8, PKCS#1 or SEC1; PEM or DER; unencrypted).
    #[arg(long, value_name = "PEM")]
    key: PathBuf,
    /// Issuing CA certificates (intermediates, optionally the root), nearest first.
    #[arg(long, value_name = "PEM")]
    chain: Option<PathBuf>,
    /// The signer's encryption certificate, when it is not the signing one: named in the
    /// encryption key preference attributes, and the one --encrypt-to-self encrypts to.
    #[arg(long, value_name = "PEM")]
    encryption_cert: Option<PathBuf>,
    /// A recipient's certificate (the first of the file). Repeat for several recipients.
    #[arg(long = "to", required = true, value_name = "CERT")]
    to: Vec<PathBuf>,
    /// Also encrypt to the sender, as Outlook and Thunderbird do, so the sender can read their
    /// sent mail.
    #[arg(long)]
    encrypt_to_self: bool,
    /// Sign opaquely (application/pkcs7-mime inside the envelope, as Outlook does) instead of
    /// multipart/signed (as Thunderbird does).
    #[arg(long)]
    opaque: bool,
    /// RFC 2634 triple wrapping: sign the encrypted message again (same signer, same form).
    #[arg(long)]
    triple_wrap: bool,
    /// Digest: sha256, sha384, sha512, sha1 or md5 (the last two are weak).
    #[arg(long, default_value = "sha256", value_parser = parse_digest)]
    digest: DigestAlgorithm,
    /// Content-encryption algorithm: aes128-cbc, aes192-cbc, aes256-cbc, aes128-gcm, aes192-gcm,
    /// aes256-gcm, or the weak legacy 3des, des, rc2-40, rc2-64, rc2-128.
    #[arg(long, default_value = "aes256-cbc", value_parser = parse_cipher)]
    cipher: ContentCipher,
    /// The signing time (RFC 3339); default: the current time.
    #[arg(long, value_name = "RFC3339", value_parser = super::sign::parse_time)]
    now: Option<time::OffsetDateTime>,
    /// Seed label for every random choice (boundaries, content key, IV, padding): the same label
    /// and --now give the same bytes. Default: fresh randomness from the operating system.
    #[arg(long, value_name = "LABEL")]
    seed: Option<String>,
    /// The message (.eml: header fields, an empty line, a body); `-` for standard input.
    input: PathBuf,
    /// Where to write the protected message (atomically); default: standard output.
    #[arg(short, long, value_name = "OUT.eml")]
    output: Option<PathBuf>,
}

fn parse_digest(s: &str) -> Result<DigestAlgorithm, String> {
    s.parse()
}

fn parse_cipher(s: &str) -> Result<ContentCipher, String> {
    ContentCipher::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = ContentCipher::ALL.iter().map(|c| c.name()).collect();
        format!("unknown cipher {s:?}; one of: {}", names.join(", "))
    })
}

fn first_certificate(path: &Path) -> anyhow::Result<x509_cert::Certificate> {
    Ok(read_certificates(path)?.remove(0))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut certs = read_certificates(&args.cert)?;
    let certificate = certs.remove(0);
    let mut chain = certs;
    if let Some(path) = &args.chain {
        chain.extend(read_certificates(path)?);
    }
    let encryption_certificate = args
        .encryption_cert
        .as_deref()
        .map(first_certificate)
        .transpose()?;
    let recipients = args
        .to
        .iter()
        .map(|p| first_certificate(p).map(Recipient::new))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let also_to_sender = args.encrypt_to_self.then(|| {
        encryption_certificate
            .clone()
            .unwrap_or_else(|| certificate.clone())
    });
    let signer = Signer {
        key: read_key_for(&args.key, &certificate, &args.cert)?,
        certificate,
        chain,
        encryption_certificate,
    };

    let mut sign_options = SignOptions::new(args.now.unwrap_or_else(time::OffsetDateTime::now_utc));
    sign_options.digest = args.digest;
    sign_options.form = if args.opaque {
        SignedForm::OpaqueSigned
    } else {
        SignedForm::ClearSigned
    };
    let encrypt_options = EncryptOptions {
        cipher: args.cipher,
        also_to_sender,
        ..EncryptOptions::default()
    };

    let message = read_message(&args.input)?;
    let mut rng = rng(args.seed.as_deref())?;
    let protect = if args.triple_wrap {
        triple_wrap
    } else {
        sign_then_encrypt
    };
    let protected = protect(
        &message,
        &signer,
        &sign_options,
        &recipients,
        &encrypt_options,
        &mut rng,
    )
    .with_context(|| format!("cannot protect {}", args.input.display()))?;
    // Encrypted mail is public by design: ordinary file permissions.
    write_output(args.output.as_deref(), &protected, PUBLIC)?;

    if args.digest.is_weak() {
        eprintln!("warning: signed with {}, which is weak", args.digest);
    }
    if let Some(why) = args.cipher.weakness() {
        eprintln!("warning: {} is weak: {why}", args.cipher.display_name());
    }
    Ok(ExitCode::SUCCESS)
}
