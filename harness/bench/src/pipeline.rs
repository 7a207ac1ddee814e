//! The message pipeline in process: RSA-2048 sign + encrypt (`smime::cms::sign_then_encrypt`),
//! SMTP to the lab's smtp-sink and back by Message-ID (`runner::execute::mail`, what scenarios
//! use: `fetch`, one request per message), decrypt + verify (`smime::cms::open_message`), on
//! every core. Each worker sends its messages in one SMTP session (`mail::Session`), as a relay
//! sends a queue; a scenario's client opens one per message, as a user's client does. Every message must open
//! as a valid signature, or the measurement is an error: speed of wrong answers is no figure.
//!
//! Each message's time is also taken stage by stage ([`Stages`]: sign + encrypt, SMTP, fetch,
//! decrypt + verify) in the same run, so the figure says where it goes.
//!
//! Anchors, measured in the same run: the same four steps as `openssl cms` processes (sign,
//! encrypt, decrypt, verify: the cost a shell-script harness pays), and the RSA bound from
//! `openssl speed -multi <cores> rsa2048`: each message costs one private-key operation to sign
//! and one to decrypt, so private-key ops/s / 2 is as fast as any implementation can go. Our own
//! RSA bound ([`own_rsa_pairs_per_second`]) is the same pair of private-key operations made with
//! the `rsa` crate calls `smime` makes, on the same keys: what our crypto alone could reach.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use smime::cms::envelope::{EncryptOptions, Recipient};
use smime::cms::{Certificate, SignOptions, Signer, VerifyContext};
use smime::key::PrivateKey;

/// The sender (RSA-2048) and the recipient (RSA-2048) from the lab PKI in `fixtures/pki/default`.
const SENDER: &str = "alice";
const RECIPIENT: &str = "eve";

/// Inside every fixture certificate's validity (2026-01-01 to 2026-12-31).
fn judged_at() -> time::OffsetDateTime {
    time::macros::datetime!(2026-06-01 00:00:00 UTC)
}

/// What the messages are made with.
pub struct Keys {
    dir: PathBuf,
    signer: Signer,
    recipient: Certificate,
    recipient_key: PrivateKey,
    root: Certificate,
}

fn read(dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(name);
    std::fs::read(&path).with_context(|| {
        format!(
            "cannot read {} (the lab PKI; `cargo xtask fixtures` rebuilds it)",
            path.display()
        )
    })
}

fn certificate(dir: &Path, name: &str) -> anyhow::Result<Certificate> {
    smime::certificate::parse_certificates(&read(dir, name)?)
        .with_context(|| format!("{name}: not a certificate"))?
        .into_iter()
        .next()
        .with_context(|| format!("{name} holds no certificate"))
}

fn key(dir: &Path, name: &str) -> anyhow::Result<PrivateKey> {
    PrivateKey::from_pem_or_der(&read(dir, name)?)
        .with_context(|| format!("{name}: not a private key"))
}

impl Keys {
    /// Reads the sender's and recipient's identities from `dir` (`fixtures/pki/default`).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        Ok(Keys {
            dir: dir.to_owned(),
            signer: Signer {
                certificate: certificate(dir, &format!("{SENDER}.crt.pem"))?,
                key: key(dir, &format!("{SENDER}.key.pem"))?,
                chain: vec![certificate(dir, "issuing.crt.pem")?],
                encryption_certificate: None,
            },
            recipient: certificate(dir, &format!("{RECIPIENT}.crt.pem"))?,
            recipient_key: key(dir, &format!("{RECIPIENT}.key.pem"))?,
            root: certificate(dir, "root.crt.pem")?,
        })
    }
}

/// An RFC 5322 message from the sender to the recipient, unique by `worker` and `n`.
fn message(worker: usize, n: usize) -> (String, Vec<u8>) {
    let id = format!("bench.{worker}.{n}@contoso.com");
    let text = format!(
        "From: {SENDER}@contoso.com\r\nTo: {RECIPIENT}@contoso.com\r\nSubject: bench {worker}/{n}\r\n\
         Date: Mon, 01 Jun 2026 00:00:00 +0000\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{}",
        "A line of an ordinary business message, about seventy characters long.\r\n".repeat(20)
    );
    (id, text.into_bytes())
}

/// Where the messages' time went: each stage summed over every message of every worker.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stages {
    /// `smime::cms::sign_then_encrypt`.
    pub sign_encrypt: Duration,
    /// SMTP to the sink: each message's transaction, and the worker's session opened and quit.
    pub send: Duration,
    /// Reading the message back by Message-ID, and comparing its bytes.
    pub fetch: Duration,
    /// `smime::cms::open_message` (decrypt + verify) and its verdict.
    pub open: Duration,
}

impl Stages {
    fn add(&mut self, other: &Stages) {
        self.sign_encrypt += other.sign_encrypt;
        self.send += other.send;
        self.fetch += other.fetch;
        self.open += other.open;
    }

    /// The stages with their names, in the pipeline's order.
    pub fn named(&self) -> [(&'static str, Duration); 4] {
        [
            (
                "sign+encrypt (smime::cms::sign_then_encrypt)",
                self.sign_encrypt,
            ),
            ("SMTP to the sink (runner::execute::mail)", self.send),
            (
                "fetch by Message-ID (runner::execute::mail::fetch)",
                self.fetch,
            ),
            ("decrypt+verify (smime::cms::open_message)", self.open),
        ]
    }
}

/// A pipeline run: how many messages, on how many workers, in how long, and where the time went.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub workers: usize,
    pub messages: usize,
    pub wall: Duration,
    pub stages: Stages,
}

impl Run {
    pub fn messages_per_second(&self) -> f64 {
        self.messages as f64 / self.wall.as_secs_f64()
    }

    /// Milliseconds of `spent` per message: the time one worker spends on it for each message.
    pub fn ms_per_message(&self, spent: Duration) -> f64 {
        spent.as_secs_f64() * 1000.0 / self.messages.max(1) as f64
    }

    /// A worker's wall time per message, in milliseconds (what the stages add up to, plus the
    /// loop's own cost and the time a worker waits for a core).
    pub fn wall_ms_per_message(&self) -> f64 {
        self.wall.as_secs_f64() * 1000.0 * self.workers as f64 / self.messages.max(1) as f64
    }
}

/// One message through the four steps, timed stage by stage; an error unless it opens valid and
/// byte-identical.
async fn one_message(
    keys: &Keys,
    http: &reqwest::Client,
    smtp: &lab::SmtpEndpoint,
    session: &mut runner::execute::mail::Session,
    worker: usize,
    n: usize,
) -> anyhow::Result<Stages> {
    let (id, plain) = message(worker, n);
    let mut stages = Stages::default();
    let started = Instant::now();
    let mut rng = smime::rng::seeded(&format!("bench/pipeline/{worker}/{n}"));
    let protected = smime::cms::sign_then_encrypt(
        &plain,
        &keys.signer,
        &SignOptions::new(judged_at()),
        &[Recipient::new(keys.recipient.clone())],
        &EncryptOptions::default(),
        &mut rng,
    )
    .context("sign + encrypt")?;
    stages.sign_encrypt = started.elapsed();
    let started = Instant::now();
    let recipients = [format!("{RECIPIENT}@contoso.com")];
    session
        .send(&format!("{SENDER}@contoso.com"), &recipients, &protected)
        .await
        .context("SMTP to the sink")?;
    stages.send = started.elapsed();
    let started = Instant::now();
    let delivered = runner::execute::mail::fetch(http, smtp, &id)
        .await
        .context("fetching from the sink")?;
    if delivered.raw != protected {
        bail!("message {id}: the sink did not return the bytes sent");
    }
    stages.fetch = started.elapsed();
    let started = Instant::now();
    let opened = smime::cms::open_message(
        &delivered.raw,
        &VerifyContext::new(vec![keys.root.clone()], judged_at()),
        Some((&keys.recipient, &keys.recipient_key)),
    );
    if !opened.is_valid() {
        bail!(
            "message {id} did not open as a valid signed message: {}",
            opened.to_text()
        );
    }
    stages.open = started.elapsed();
    Ok(stages)
}

/// The whole pipeline with `workers` threads, `per_worker` messages each, against the sink at
/// `smtp`.
pub fn run(
    keys: &Keys,
    smtp: &lab::SmtpEndpoint,
    workers: usize,
    per_worker: usize,
) -> anyhow::Result<Run> {
    let start = Instant::now();
    let stages = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                scope.spawn(move || -> anyhow::Result<Stages> {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .context("starting a worker's async runtime")?;
                    let http = reqwest::Client::builder()
                        .build()
                        .context("building an HTTP client")?;
                    runtime.block_on(async {
                        let mut stages = Stages::default();
                        let started = Instant::now();
                        let mut session = runner::execute::mail::Session::open(smtp)
                            .await
                            .context("SMTP to the sink")?;
                        stages.send += started.elapsed();
                        for n in 0..per_worker {
                            let message =
                                one_message(keys, &http, smtp, &mut session, worker, n).await?;
                            stages.add(&message);
                        }
                        let started = Instant::now();
                        session.quit().await.context("SMTP to the sink")?;
                        stages.send += started.elapsed();
                        Ok(stages)
                    })
                })
            })
            .collect();
        let mut stages = Stages::default();
        for handle in handles {
            match handle.join() {
                Ok(result) => stages.add(&result?),
                Err(_) => bail!("a pipeline worker panicked"),
            }
        }
        Ok(stages)
    })?;
    Ok(Run {
        workers,
        messages: workers * per_worker,
        wall: start.elapsed(),
        stages,
    })
}

/// Our own RSA bound: sign + decrypt pairs per second on `workers` threads, `pairs` each, made
/// with the `rsa` crate calls `smime` makes for a message (`cms::algorithms::sign`: PKCS#1 v1.5
/// over a SHA-256 digest, with blinding; `cms::envelope::key_transport::unwrap`: PKCS#1 v1.5
/// decryption of a 32-byte content-encryption key) with the pipeline's keys. Each result is
/// checked (the signature verifies, the key comes back): a wrong answer is no figure.
pub fn own_rsa_pairs_per_second(keys: &Keys, workers: usize, pairs: usize) -> anyhow::Result<f64> {
    use rsa::pkcs1v15::{Pkcs1v15Encrypt, Pkcs1v15Sign};
    use sha2::Digest as _;
    let (PrivateKey::Rsa(signing), PrivateKey::Rsa(decrypting)) =
        (&keys.signer.key, &keys.recipient_key)
    else {
        bail!("{SENDER}'s and {RECIPIENT}'s keys are not RSA");
    };
    let digest = sha2::Sha256::digest(b"the signed attributes of a message");
    let cek = [7u8; 32];
    let mut rng = smime::rng::seeded("bench/own-rsa");
    let encrypted = decrypting
        .to_public_key()
        .encrypt(&mut rng, Pkcs1v15Encrypt, &cek)
        .context("RSA encryption")?;
    let start = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let encrypted = &encrypted;
                scope.spawn(move || -> anyhow::Result<()> {
                    let mut rng = smime::rng::seeded(&format!("bench/own-rsa/{worker}"));
                    let mut signature = Vec::new();
                    for _ in 0..pairs {
                        signature = signing
                            .sign_with_rng(&mut rng, Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
                            .context("RSA signing")?;
                        let key = decrypting
                            .decrypt(Pkcs1v15Encrypt, encrypted)
                            .context("RSA decryption")?;
                        if key != cek {
                            bail!("RSA decryption gave another key");
                        }
                    }
                    // PKCS#1 v1.5 signatures are deterministic (blinding changes the work, not
                    // the result): the last one verifying vouches for all of them.
                    signing
                        .to_public_key()
                        .verify(Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &signature)
                        .context("our own RSA signature does not verify")?;
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(result) => result?,
                Err(_) => bail!("an RSA worker panicked"),
            }
        }
        Ok(())
    })?;
    Ok((workers * pairs) as f64 / start.elapsed().as_secs_f64())
}

fn openssl(args: &[&str], dir: &Path) -> anyhow::Result<()> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context(
            "cannot run `openssl` (Debian package `openssl`; `cargo xtask peers --install`)",
        )?;
    if !output.status.success() {
        bail!(
            "`openssl {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// The anchor: the four steps as `openssl cms` processes, `workers` in parallel, messages/s.
pub fn openssl_messages_per_second(
    keys: &Keys,
    workers: usize,
    per_worker: usize,
) -> anyhow::Result<f64> {
    let work = tempfile::tempdir().context("creating a temporary directory")?;
    let pki = keys
        .dir
        .canonicalize()
        .context("resolving the PKI directory")?;
    let file = |name: &str| pki.join(name).to_string_lossy().into_owned();
    let (sender_crt, sender_key) = (
        file(&format!("{SENDER}.crt.pem")),
        file(&format!("{SENDER}.key.pem")),
    );
    let (recipient_crt, recipient_key) = (
        file(&format!("{RECIPIENT}.crt.pem")),
        file(&format!("{RECIPIENT}.key.pem")),
    );
    let (issuing, root) = (file("issuing.crt.pem"), file("root.crt.pem"));
    let attime = judged_at().unix_timestamp().to_string();
    let start = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..workers)
                .map(|worker| {
                    let dir = work.path().join(worker.to_string());
                    let (
                        sender_crt,
                        sender_key,
                        recipient_crt,
                        recipient_key,
                        issuing,
                        root,
                        attime,
                    ) = (
                        &sender_crt,
                        &sender_key,
                        &recipient_crt,
                        &recipient_key,
                        &issuing,
                        &root,
                        &attime,
                    );
                    scope.spawn(move || -> anyhow::Result<()> {
                        std::fs::create_dir_all(&dir).context("creating a worker directory")?;
                        for n in 0..per_worker {
                            std::fs::write(dir.join("plain.eml"), message(worker, n).1)
                                .context("writing a message")?;
                            openssl(
                                &[
                                    "cms",
                                    "-sign",
                                    "-in",
                                    "plain.eml",
                                    "-out",
                                    "signed.eml",
                                    "-signer",
                                    sender_crt,
                                    "-inkey",
                                    sender_key,
                                    "-certfile",
                                    issuing,
                                    "-md",
                                    "sha256",
                                ],
                                &dir,
                            )?;
                            openssl(
                                &[
                                    "cms",
                                    "-encrypt",
                                    "-in",
                                    "signed.eml",
                                    "-out",
                                    "enc.eml",
                                    "-aes-256-cbc",
                                    recipient_crt,
                                ],
                                &dir,
                            )?;
                            openssl(
                                &[
                                    "cms",
                                    "-decrypt",
                                    "-in",
                                    "enc.eml",
                                    "-out",
                                    "dec.eml",
                                    "-recip",
                                    recipient_crt,
                                    "-inkey",
                                    recipient_key,
                                ],
                                &dir,
                            )?;
                            openssl(
                                &[
                                    "cms",
                                    "-verify",
                                    "-in",
                                    "dec.eml",
                                    "-out",
                                    "verified.eml",
                                    "-CAfile",
                                    root,
                                    "-attime",
                                    attime,
                                    "-purpose",
                                    "smimesign",
                                ],
                                &dir,
                            )?;
                        }
                        Ok(())
                    })
                })
                .collect();
        for handle in handles {
            match handle.join() {
                Ok(result) => result?,
                Err(_) => bail!("an openssl worker panicked"),
            }
        }
        Ok(())
    })?;
    Ok((workers * per_worker) as f64 / start.elapsed().as_secs_f64())
}

/// The bound: `openssl speed -multi <cores> rsa2048`'s private-key (sign) operations per second,
/// halved (one sign and one decrypt per message). `seconds` per measurement.
pub fn rsa_bound_messages_per_second(cores: usize, seconds: u32) -> anyhow::Result<f64> {
    let output = Command::new("openssl")
        .args([
            "speed",
            "-seconds",
            &seconds.to_string(),
            "-multi",
            &cores.to_string(),
            "rsa2048",
        ])
        .stdin(Stdio::null())
        .output()
        .context("cannot run `openssl speed`")?;
    if !output.status.success() {
        bail!(
            "`openssl speed rsa2048` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let sign_per_second = private_ops_per_second(&String::from_utf8_lossy(&output.stdout))
        .context("`openssl speed rsa2048` printed no `rsa 2048 bits` line with sign/s")?;
    Ok(sign_per_second / 2.0)
}

/// From `openssl speed`'s table, the `rsa 2048 bits` row's sign/s: its first number that is not
/// a time (times end in `s`). OpenSSL 1.1 prints `sign verify sign/s verify/s`; 3.x adds
/// encrypt and decrypt columns after them in each group; `-multi` prints the same row summed
/// over the processes (with `rsa 2048 bits` also, or `rsa2048` in 3.x's `+F2:` machine lines,
/// which are not matched).
fn private_ops_per_second(text: &str) -> Option<f64> {
    text.lines()
        .filter(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words.len() > 3 && words[0] == "rsa" && words[1] == "2048" && words[2] == "bits"
        })
        .filter_map(|line| {
            line.split_whitespace()
                .skip(3)
                .filter(|w| !w.ends_with('s'))
                .find_map(|w| w.parse::<f64>().ok())
        })
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_per_second_is_read_from_either_openssl_layout() {
        // OpenSSL 3.0 (Debian bookworm), `-multi 2`.
        let three = "                   sign    verify    encrypt   decrypt   sign/s verify/s  encr./s  decr./s\n\
                     rsa 2048 bits 0.000380s 0.000011s 0.000012s 0.000371s   2631.6  90909.1  83333.3   2695.4\n";
        assert_eq!(private_ops_per_second(three), Some(2631.6));
        // OpenSSL 1.1.
        let one = "                  sign    verify    sign/s verify/s\nrsa 2048 bits 0.000721s 0.000021s   1387.3  47619.0\n";
        assert_eq!(private_ops_per_second(one), Some(1387.3));
        assert_eq!(
            private_ops_per_second("Doing 2048 bits private rsa's\n"),
            None
        );
    }
}
