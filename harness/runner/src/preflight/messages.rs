//! Step 5 as mail, through the scenario clients' own code:
//!
//! - **Signing**, for the users whose PKCS#12 files the admin gave (`pkcs12:`): each file is
//!   opened as a device's import opens it (`devices::read_identity_with_password`), tied to the
//!   user whose mail its certificate names, and the user's signing identity signs a message as
//!   Outlook on the web does under the admin's settings (`clients::owa::shape`,
//!   `clients::compose::protect`). The tenant then judges it as a recipient's Outlook on the web
//!   does (`validation::validate_message_with`): against the virtual certificate collection, the
//!   CRLs and the clock the rest of the preflight uses.
//! - **A sample of encrypted messages** (`mail-sample:`, default 10): users picked evenly from
//!   those Outlook on the web would encrypt to get a message made the same way (signed too when a
//!   user's signing passed), sent through the lab's SMTP sink (`mail::send`, `mail::fetch`),
//!   compared byte for byte, and opened with the recipient's own PKCS#12 file when one is given.
//!   Without one the message is made and delivered but not opened: no private key is needed.
//!
//! The password and the keys stay in memory: reports name files, subjects and thumbprints only.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;
use x509_cert::Certificate;

use super::checks::{self, Finding};
use super::input::Preflight;
use super::run::CouldNotRun;
use crate::execute::clients::compose::{self, Headers, Keys};
use crate::execute::clients::owa::{self, OwaSettings};
use crate::execute::clients::shape::{CertificateFacts, MessageShape, RecipientFacts, Sender};
use crate::execute::devices::{self, InstallError, InstalledIdentity};
use crate::execute::validation::{self, Decryption};
use crate::execute::{TenantApi, mail};
use scenario::model::KeyStorage;
use scenario::plan::ProtectionRequest;
use smime::cms::Signer;

/// The users' PKCS#12 files as read from `pkcs12.dir`, and their password.
pub struct KeyFiles {
    files: Vec<(PathBuf, Vec<u8>)>,
    password: String,
}

impl KeyFiles {
    pub fn new(files: Vec<(PathBuf, Vec<u8>)>, password: String) -> Self {
        KeyFiles { files, password }
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Names the files; never the password.
impl std::fmt::Debug for KeyFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFiles")
            .field(
                "files",
                &self.files.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What became of one PKCS#12 file.
#[derive(Clone, Debug, Serialize)]
pub struct KeyFileReport {
    pub file: String,
    /// The user it belongs to: the mail its certificate names.
    pub user: Option<String>,
    /// Its certificate: subject and SHA-1 thumbprint (never a key byte).
    pub certificate: Option<String>,
    /// How the signature made with it came out, when it signed.
    pub signing: Option<String>,
    pub findings: Vec<Finding>,
}

/// One message of the sample.
#[derive(Clone, Debug, Serialize)]
pub struct SampleMessage {
    pub from: String,
    pub to: String,
    /// `encrypted` or `signed+encrypted`, as Outlook on the web made it.
    pub protection: String,
    pub passed: bool,
    pub outcome: String,
}

/// Step 5 as mail, for the report.
#[derive(Clone, Debug, Default)]
pub struct MailOutcome {
    pub key_files: Vec<KeyFileReport>,
    pub sample: Vec<SampleMessage>,
    /// Whether `pkcs12` was given.
    pub pkcs12_given: bool,
    /// `mail-sample`.
    pub sample_asked: usize,
}

/// A user's opened files, by lower-case mail.
pub struct Identities {
    by_user: BTreeMap<String, Vec<(String, InstalledIdentity)>>,
    password: String,
}

/// Opens every file and ties it to the user (lower-case mail, one of `mails`) its certificate
/// names. A file that does not open or names nobody is a finding of its own.
pub fn open_key_files(
    files: &KeyFiles,
    mails: &HashSet<String>,
) -> (Vec<KeyFileReport>, Identities) {
    let mut reports = Vec::with_capacity(files.len());
    let mut by_user: BTreeMap<String, Vec<(String, InstalledIdentity)>> = BTreeMap::new();
    for (path, bytes) in &files.files {
        let name = path.display().to_string();
        let mut report = KeyFileReport {
            file: name.clone(),
            user: None,
            certificate: None,
            signing: None,
            findings: Vec::new(),
        };
        match devices::read_identity_with_password(
            &name,
            &name,
            bytes,
            &files.password,
            KeyStorage::Software,
        ) {
            Err(InstallError::Open { source, .. }) => {
                let why = if source.is_wrong_password() {
                    "the password given under pkcs12: does not open it".to_owned()
                } else {
                    format!("not a PKCS#12 file the lab reads: {source}")
                };
                report
                    .findings
                    .push(Finding::new(&checks::KEY_FILE_UNREADABLE, why));
            }
            Err(InstallError::Content { what, .. }) => {
                report
                    .findings
                    .push(Finding::new(&checks::KEY_FILE_UNREADABLE, what));
            }
            Ok(identity) => {
                report.certificate = Some(format!(
                    "{} ({})",
                    smime::certificate::subject_string(&identity.certificate),
                    thumbprint(&identity.certificate)
                ));
                let named = smime::cms::address::certificate_mailboxes(&identity.certificate);
                match named.iter().find(|m| mails.contains(*m)) {
                    Some(user) => {
                        report.user = Some(user.clone());
                        by_user
                            .entry(user.clone())
                            .or_default()
                            .push((name, identity));
                    }
                    None => report.findings.push(Finding::new(
                        &checks::KEY_FILE_NO_USER,
                        if named.is_empty() {
                            "its certificate names no mail address".to_owned()
                        } else {
                            format!(
                                "its certificate names {}, which no user of the directory has as mail",
                                named.join(", ")
                            )
                        },
                    )),
                }
            }
        }
        reports.push(report);
    }
    (
        reports,
        Identities {
            by_user,
            password: files.password.clone(),
        },
    )
}

fn thumbprint(certificate: &Certificate) -> String {
    smime::certificate::sha1_thumbprint_of(certificate).unwrap_or_default()
}

/// Outlook on the web's settings as the tenant holds them after the admin's were applied.
pub async fn owa_settings(tenant: &TenantApi) -> Result<OwaSettings, CouldNotRun> {
    let config = tenant
        .invoke("Get-SmimeConfig", serde_json::Map::new())
        .await
        .map_err(|e| CouldNotRun(format!("Get-SmimeConfig: {e}")))?;
    let config = config
        .objects
        .into_iter()
        .next()
        .ok_or_else(|| CouldNotRun("Get-SmimeConfig returned no object".into()))?;
    OwaSettings::from_config(&config).map_err(|e| CouldNotRun(format!("Get-SmimeConfig: {e}")))
}

fn signer(identity: &InstalledIdentity) -> Signer {
    Signer {
        certificate: identity.certificate.clone(),
        key: identity.key.clone(),
        chain: identity.chain.clone(),
        encryption_certificate: None,
    }
}

fn domain_of(mail: &str) -> &str {
    mail.rsplit_once('@')
        .map_or("preflight.invalid", |(_, d)| d)
}

fn protect(
    pre: &Preflight,
    kind: &str,
    number: usize,
    headers: (&str, &str),
    shape: &MessageShape,
    keys: &Keys,
) -> Result<(String, Vec<u8>), String> {
    let (from, to) = headers;
    let message_id = compose::message_id(kind, number, domain_of(from));
    let plain = compose::plain_message(
        &Headers {
            from: from.to_owned(),
            to: vec![to.to_owned()],
            cc: Vec::new(),
            subject: format!("smime-lab preflight: {kind} {number}"),
            date: pre.now,
            message_id: message_id.clone(),
        },
        "A message of the rollout preflight.",
    )?;
    let bytes = compose::protect(
        &plain,
        shape,
        keys,
        pre.now,
        &compose::rng_label(kind, number),
    )?;
    Ok((message_id, bytes))
}

/// Signs a message with each user's signing identity as Outlook on the web would and has the
/// tenant judge it. Findings go to the users; the outcome is written on the file's report.
/// Returns the users whose signature came out valid (the sample's possible senders).
pub async fn check_signing(
    tenant: &TenantApi,
    settings: &OwaSettings,
    pre: &Preflight,
    identities: &Identities,
    files: &mut [KeyFileReport],
    findings: &mut BTreeMap<String, Vec<Finding>>,
) -> Result<Vec<String>, CouldNotRun> {
    let mut signers = Vec::new();
    for (number, (user, opened)) in identities.by_user.iter().enumerate() {
        let Some((file, identity)) = opened.iter().find(|(_, i)| i.can_sign()) else {
            findings.entry(user.clone()).or_default().push(Finding::new(
                &checks::SIGNING_REFUSED,
                format!(
                    "no PKCS#12 file of the user may sign mail: the key usage of {} allows neither digitalSignature nor nonRepudiation",
                    names(opened)
                ),
            ));
            continue;
        };
        let sender = Sender {
            signing: Some(KeyStorage::Software),
            own_certificate: None,
        };
        let shape = match owa::shape(settings, &ProtectionRequest::new(true, false), &sender, &[]) {
            Ok(shape) => shape,
            Err(refusal) => {
                findings.entry(user.clone()).or_default().push(Finding::new(
                    &checks::SIGNING_REFUSED,
                    format!(
                        "Outlook on the web will not sign with {file}: {}",
                        refusal.why
                    ),
                ));
                continue;
            }
        };
        let keys = Keys {
            signer: Some(signer(identity)),
            recipients: Vec::new(),
            own: None,
        };
        let (_, bytes) = match protect(
            pre,
            "preflight-signing",
            number + 1,
            (user, user),
            &shape,
            &keys,
        ) {
            Ok(made) => made,
            Err(why) => {
                findings.entry(user.clone()).or_default().push(Finding::new(
                    &checks::SIGNING_REFUSED,
                    format!("{file} does not sign: {why}"),
                ));
                continue;
            }
        };
        let judged = validation::validate_message_with(tenant, &bytes, &[])
            .await
            .map_err(|e| CouldNotRun(format!("OWA's check of {user}'s signed message: {e}")))?;
        let outcome = format!(
            "{}{}",
            judged.status,
            if judged.reasons.is_empty() {
                String::new()
            } else {
                format!(": {}", judged.reasons.join("; "))
            }
        );
        if let Some(report) = files.iter_mut().find(|r| r.file == *file) {
            report.signing = Some(format!(
                "signed a message ({}); Outlook on the web shows it {outcome}",
                shape.protection()
            ));
        }
        if judged.status == "valid" {
            signers.push(user.clone());
        } else {
            findings.entry(user.clone()).or_default().push(Finding::new(
                &checks::SIGNATURE_INVALID,
                format!("a message signed with {file} is {outcome}"),
            ));
        }
    }
    Ok(signers)
}

fn names(opened: &[(String, InstalledIdentity)]) -> String {
    opened
        .iter()
        .map(|(f, _)| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the sample's messages go.
pub struct Flow<'a> {
    pub tenant: &'a TenantApi,
    pub http: &'a reqwest::Client,
    /// The lab's SMTP sink; `None` when no sample is sent (`mail-sample: 0`).
    pub smtp: Option<&'a lab::SmtpEndpoint>,
    pub settings: &'a OwaSettings,
}

/// `count` recipients picked evenly from `eligible` (in its order).
pub fn pick<T>(eligible: &[T], count: usize) -> Vec<&T> {
    let count = count.min(eligible.len());
    (0..count)
        .map(|k| &eligible[k * eligible.len() / count])
        .collect()
}

/// Sends the sample: one message to each of `recipients` (mail, the certificate Outlook's lookup
/// chose), from `sender` when one signs. Findings go to the recipients.
pub async fn send_sample(
    flow: &Flow<'_>,
    smtp: &lab::SmtpEndpoint,
    pre: &Preflight,
    recipients: &[(&String, Certificate)],
    sender: Option<&str>,
    identities: Option<&Identities>,
    findings: &mut BTreeMap<String, Vec<Finding>>,
) -> Result<Vec<SampleMessage>, CouldNotRun> {
    let signing = sender.and_then(|s| {
        let opened = identities?.by_user.get(s)?;
        opened
            .iter()
            .find(|(_, i)| i.can_sign())
            .map(|(_, i)| (s, signer(i)))
    });
    let mut sample = Vec::with_capacity(recipients.len());
    for (number, (to, certificate)) in recipients.iter().enumerate() {
        let to = to.as_str();
        let user = to.to_ascii_lowercase();
        let from = match &signing {
            Some((s, _)) => (*s).to_owned(),
            None => format!("preflight@{}", domain_of(to)),
        };
        let fail =
            |findings: &mut BTreeMap<String, Vec<Finding>>, protection: &str, why: String| {
                findings
                    .entry(user.clone())
                    .or_default()
                    .push(Finding::new(&checks::SAMPLE_FAILED, why.clone()));
                SampleMessage {
                    from: from.clone(),
                    to: to.to_owned(),
                    protection: protection.to_owned(),
                    passed: false,
                    outcome: why,
                }
            };
        let request = ProtectionRequest::new(signing.is_some(), true);
        let facts = [RecipientFacts {
            mailbox: to.to_owned(),
            certificate: Some(CertificateFacts::of(certificate, pre.now)),
        }];
        let sender_facts = Sender {
            signing: signing.as_ref().map(|_| KeyStorage::Software),
            own_certificate: None,
        };
        let shape = match owa::shape(flow.settings, &request, &sender_facts, &facts) {
            Ok(shape) => shape,
            Err(refusal) => {
                sample.push(fail(
                    findings,
                    "refused",
                    format!("Outlook on the web will not encrypt to it: {}", refusal.why),
                ));
                continue;
            }
        };
        let protection = shape.protection();
        let keys = Keys {
            signer: signing.as_ref().map(|(_, s)| s.clone()),
            recipients: vec![certificate.clone()],
            own: None,
        };
        let (message_id, bytes) = match protect(
            pre,
            "preflight-sample",
            number + 1,
            (&from, to),
            &shape,
            &keys,
        ) {
            Ok(made) => made,
            Err(why) => {
                sample.push(fail(findings, protection, format!("cannot be made: {why}")));
                continue;
            }
        };
        // The sink is the lab's: a failure there is the rehearsal's, not the user's.
        mail::send(smtp, &from, &[to.to_owned()], &bytes)
            .await
            .map_err(|e| CouldNotRun(format!("sending the sample message to {to}: {e}")))?;
        let delivered = mail::fetch(flow.http, smtp, &message_id)
            .await
            .map_err(|e| CouldNotRun(format!("reading the sample message to {to} back: {e}")))?;
        if delivered.raw != bytes || !delivered.reached(to) {
            return Err(CouldNotRun(format!(
                "the lab's SMTP sink did not deliver the sample message to {to} as sent"
            )));
        }
        let opened = identities.and_then(|i| i.by_user.get(&user));
        let Some(opened) = opened else {
            sample.push(SampleMessage {
                from: from.clone(),
                to: to.to_owned(),
                protection: protection.to_owned(),
                passed: true,
                outcome: "made and delivered byte for byte; not opened: no PKCS#12 file of the recipient was given".into(),
            });
            continue;
        };
        let password = identities.map_or("", |i| i.password.as_str());
        let decryption: Vec<Decryption<'_>> = opened
            .iter()
            .map(|(_, i)| Decryption {
                pkcs12: &i.pkcs12,
                password,
            })
            .collect();
        let judged = validation::validate_message_with(flow.tenant, &delivered.raw, &decryption)
            .await
            .map_err(|e| CouldNotRun(format!("OWA's check of the sample message to {to}: {e}")))?;
        let expected = if signing.is_some() {
            "valid"
        } else {
            "not-signed"
        };
        let outcome = format!(
            "opened with {}: {}{}",
            names(opened),
            judged.status,
            if judged.reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", judged.reasons.join("; "))
            }
        );
        if judged.decrypted == Some(true) && judged.status == expected {
            sample.push(SampleMessage {
                from: from.clone(),
                to: to.to_owned(),
                protection: protection.to_owned(),
                passed: true,
                outcome,
            });
        } else {
            let why = if judged.decrypted == Some(true) {
                outcome
            } else {
                format!("the recipient's own PKCS#12 file does not open it ({outcome})")
            };
            sample.push(fail(findings, protection, why));
        }
    }
    Ok(sample)
}

/// Signing with the admin's PKCS#12 files, then the sample to `count` of `eligible` (users Outlook
/// on the web would encrypt to, with the certificate Outlook's lookup chose). Findings go to the
/// users in `findings`, by lower-case mail.
pub async fn rehearse(
    pre: &Preflight,
    flow: &Flow<'_>,
    mails: &HashSet<String>,
    eligible: &[(&String, &[u8])],
    findings: &mut BTreeMap<String, Vec<Finding>>,
) -> Result<MailOutcome, CouldNotRun> {
    let mut outcome = MailOutcome {
        pkcs12_given: pre.key_files.is_some(),
        sample_asked: pre.mail_sample,
        ..MailOutcome::default()
    };
    let mut identities = None;
    let mut signers = Vec::new();
    if let Some(files) = &pre.key_files {
        let (mut reports, opened) = open_key_files(files, mails);
        signers = check_signing(
            flow.tenant,
            flow.settings,
            pre,
            &opened,
            &mut reports,
            findings,
        )
        .await?;
        outcome.key_files = reports;
        identities = Some(opened);
    }
    let Some(smtp) = flow.smtp.filter(|_| pre.mail_sample > 0) else {
        return Ok(outcome);
    };
    // Only the picked users' certificates are parsed (the lookups parsed every one already).
    let recipients: Vec<(&String, Certificate)> = pick(eligible, pre.mail_sample)
        .into_iter()
        .filter_map(|(mail, der)| Some((*mail, smime::certificate::parse_der(der).ok()?)))
        .collect();
    outcome.sample = send_sample(
        flow,
        smtp,
        pre,
        &recipients,
        signers.first().map(String::as_str),
        identities.as_ref(),
        findings,
    )
    .await?;
    Ok(outcome)
}
