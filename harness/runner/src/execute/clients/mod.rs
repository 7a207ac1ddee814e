//! The sending clients (Outlook, Outlook on the web, mobile): from the client's settings to the
//! message's shape or a refusal, then through the mail flow to what each recipient sees, judged
//! against what the scenario expects.
//!
//! | module | concept |
//! |---|---|
//! | [`shape`] | the vocabulary: what was asked, what the client knows of the keys, the shape or the refusal |
//! | [`outlook`] | Outlook for Windows' own defaults |
//! | [`owa`] | Outlook on the web under `Set-SmimeConfig` |
//! | [`mobile`] | an ActiveSync phone under its mobile device mailbox policy |
//! | [`outlook_mobile`] | Outlook for iOS and Android: clear-signed only, certificates for the primary SMTP address, the GAL then the device |
//! | [`compose`] | the shape to bytes, deterministic |
//! | [`expect`] | what happened against the scenario's expectation |
//! | `attempt` | one message's attempt, part by part in the order below |
//! | `copies` | the messages one send becomes (Outlook on the web's Bcc forking), each held to its recipients |
//!
//! One message, in order: the client's settings (`Get-SmimeConfig`; for the phone, `Get-CASMailbox`
//! of the sender's mailbox, then `Get-MobileDeviceMailboxPolicy` of the policy it shows), the sender's identities on that client
//! ([`super::devices`]), each recipient's encryption certificate from the tenant's lookup in
//! Outlook's order (`/lab/recipients/{address}/certificate`), the catalogue checks of every
//! certificate involved (`smime::checks`), the client's decision, `OWACheckCRLOnSend` (CONTRACTS
//! §1 b), the bytes ([`compose`]), the mail flow ([`super::mail`]) and each recipient's verdict
//! ([`super::receive`]).

mod attempt;
pub mod compose;
mod copies;
pub mod expect;
pub mod mobile;
pub mod outlook;
pub mod outlook_mobile;
pub mod owa;
pub mod shape;

use std::collections::BTreeSet;
use std::time::Instant;

use base64::Engine as _;
use serde_json::{Map, Value};
use x509_cert::Certificate;

use crate::report::model::{
    CheckFinding, MessageReport, Outcome, RecipientReport, Stage, StepReport,
};
use scenario::model::{KeyStorage, MailClient};
use scenario::plan::{ProtectionRequest, Recipient, SendMessage};

use self::shape::{MessageShape, RecipientFacts, Refusal, Sender};
use super::Context;
use super::devices::{InstalledIdentity, elapsed_ms};
use super::mail;
use super::receive;
use super::tenant_api::TenantApiError;

/// A client's settings, as read from the tenant at send time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientSettings {
    Outlook,
    Owa(owa::OwaSettings),
    Mobile(mobile::MobileSettings),
    /// Outlook for iOS and Android: no tenant setting shapes what it sends.
    OutlookMobile,
}

impl ClientSettings {
    /// The message is signed (OWA may force it).
    pub fn signs(&self, request: &ProtectionRequest) -> bool {
        match self {
            ClientSettings::Owa(settings) => settings.signs(request),
            _ => request.sign,
        }
    }

    /// The message is encrypted (OWA may force it).
    pub fn encrypts(&self, request: &ProtectionRequest) -> bool {
        match self {
            ClientSettings::Owa(settings) => settings.encrypts(request),
            _ => request.encrypt,
        }
    }

    /// The client's decision.
    pub fn shape(
        &self,
        request: &ProtectionRequest,
        sender: &Sender,
        recipients: &[RecipientFacts],
    ) -> Result<MessageShape, Refusal> {
        match self {
            ClientSettings::Outlook => outlook::shape(request, sender, recipients),
            ClientSettings::Owa(settings) => owa::shape(settings, request, sender, recipients),
            ClientSettings::Mobile(settings) => {
                mobile::shape(settings, request, sender, recipients)
            }
            ClientSettings::OutlookMobile => outlook_mobile::shape(request, sender, recipients),
        }
    }
}

/// Sends one message as its client would and reports what every recipient saw.
pub async fn send(ctx: &mut Context<'_>, message: &SendMessage) -> StepReport {
    let started = Instant::now();
    let mut step = StepReport {
        stage: Stage::Messages,
        title: title(message),
        outcome: Outcome::Error,
        expected: Some(expect::describe(&message.expect)),
        actual: None,
        details: Vec::new(),
        checks: Vec::new(),
        message: None,
        artifacts: Vec::new(),
        duration_ms: 0,
    };
    if let Err(trouble) = attempt::attempt(ctx, message, &mut step).await {
        let (outcome, why) = match trouble.service {
            // Failed while the scenario holds the service down, else error.
            Some(service) => ctx.unreachable(
                service,
                "the message could not be carried through",
                &trouble.why,
            ),
            None => (Outcome::Error, trouble.why),
        };
        step.outcome = outcome;
        step.actual = Some(why);
    }
    step.duration_ms = elapsed_ms(started);
    step
}

/// Why a message could not be carried through, and which service did not answer when that is
/// the reason (the executor then reports `failed` if the scenario holds it down).
#[derive(Debug)]
struct Trouble {
    service: Option<lab::Service>,
    why: String,
}

impl From<String> for Trouble {
    fn from(why: String) -> Self {
        Trouble { service: None, why }
    }
}

impl From<TenantApiError> for Trouble {
    fn from(e: TenantApiError) -> Self {
        Trouble {
            // An answer, even an error, is not the tenant being down.
            service: matches!(e, TenantApiError::Transport { .. }).then_some(lab::Service::Tenant),
            why: e.to_string(),
        }
    }
}

impl From<mail::MailError> for Trouble {
    fn from(e: mail::MailError) -> Self {
        Trouble {
            service: match e {
                mail::MailError::Smtp { .. } | mail::MailError::Api { .. } => {
                    Some(lab::Service::Smtp)
                }
                mail::MailError::Address { .. } | mail::MailError::NotStored { .. } => None,
            },
            why: e.to_string(),
        }
    }
}

/// `message 2: carol → alice via outlook, signed + encrypted`.
fn title(message: &SendMessage) -> String {
    let recipients: Vec<&str> = all_recipients(message)
        .iter()
        .map(|r| r.user.as_str())
        .collect();
    format!(
        "message {}: {} → {} via {}, {}",
        message.number,
        message.from.user,
        recipients.join(", "),
        message.client.name(),
        requested(message).replace('+', " + ")
    )
}

/// What the scenario asks for: `signed+encrypted`, `signed`, `encrypted` or `plain`.
fn requested(message: &SendMessage) -> &'static str {
    match (message.request.sign, message.request.encrypt) {
        (true, true) => "signed+encrypted",
        (true, false) => "signed",
        (false, true) => "encrypted",
        (false, false) => "plain",
    }
}

/// To, Cc and Bcc, each mailbox once, in that order.
fn all_recipients(message: &SendMessage) -> Vec<&Recipient> {
    let mut all: Vec<&Recipient> = Vec::new();
    for r in message.to.iter().chain(&message.cc).chain(&message.bcc) {
        if !all
            .iter()
            .any(|seen| seen.mailbox.eq_ignore_ascii_case(&r.mailbox))
        {
            all.push(r);
        }
    }
    all
}

/// Reads the client's settings from the tenant; for the phone, the policy of the sender's
/// mailbox (said in `details`).
async fn client_settings(
    ctx: &Context<'_>,
    client: MailClient,
    sender: &str,
    details: &mut Vec<String>,
) -> Result<ClientSettings, Trouble> {
    let first = |cmdlet: &str, objects: Vec<Value>| {
        objects
            .into_iter()
            .next()
            .ok_or_else(|| format!("{cmdlet} returned no object"))
    };
    match client {
        MailClient::Outlook => Ok(ClientSettings::Outlook),
        MailClient::OutlookMobile => Ok(ClientSettings::OutlookMobile),
        MailClient::Owa => {
            let config = ctx.tenant.invoke("Get-SmimeConfig", Map::new()).await?;
            let config = first("Get-SmimeConfig", config.objects)?;
            Ok(owa::OwaSettings::from_config(&config).map(ClientSettings::Owa)?)
        }
        MailClient::Mobile => {
            // The mailbox's policy, as Get-CASMailbox shows it: its own (Set-CASMailbox
            // -ActiveSyncMailboxPolicy), else the policy whose IsDefault is true (not
            // necessarily the one named Default).
            let mut parameters = Map::new();
            parameters.insert("Identity".into(), sender.into());
            let mailbox = ctx.tenant.invoke("Get-CASMailbox", parameters).await?;
            let mailbox = first("Get-CASMailbox", mailbox.objects)?;
            let Some(name) = mailbox["ActiveSyncMailboxPolicy"]
                .as_str()
                .filter(|n| !n.is_empty())
            else {
                return Err(format!(
                    "Get-CASMailbox {sender} shows no ActiveSyncMailboxPolicy: the tenant has no \
                     default mobile device mailbox policy"
                )
                .into());
            };
            details.push(format!(
                "{sender} follows the mobile device mailbox policy {name} ({})",
                if mailbox["ActiveSyncMailboxPolicyIsDefaulted"] == Value::Bool(true) {
                    "the default policy"
                } else {
                    "assigned with Set-CASMailbox"
                }
            ));
            let mut parameters = Map::new();
            parameters.insert("Identity".into(), name.into());
            let policy = ctx
                .tenant
                .invoke("Get-MobileDeviceMailboxPolicy", parameters)
                .await?;
            let policy = first("Get-MobileDeviceMailboxPolicy", policy.objects)?;
            Ok(mobile::MobileSettings::from_policy(&policy).map(ClientSettings::Mobile)?)
        }
    }
}

/// The certificate that signs and where it came from.
struct SigningIdentity {
    certificate: Certificate,
    key: smime::key::PrivateKey,
    /// The PKI id, to find its issuers in the plan.
    certificate_id: String,
    storage: KeyStorage,
    /// Issuers from the installed file, when the plan does not know the certificate.
    installed_chain: Vec<Certificate>,
}

impl SigningIdentity {
    fn installed(identity: &InstalledIdentity) -> Self {
        SigningIdentity {
            certificate: identity.certificate.clone(),
            key: identity.key.clone(),
            certificate_id: identity.certificate_id.clone(),
            storage: identity.storage,
            installed_chain: identity.chain.clone(),
        }
    }
}

/// One recipient's lookup.
struct Lookup {
    recipient: Recipient,
    certificate: Option<(Certificate, Vec<u8>)>,
}

/// Asks the tenant for `mailbox`'s encryption certificate in Outlook's order, at the lab clock
/// (`Context::now`). A recipient the tenant does not know has none.
async fn lookup(
    ctx: &Context<'_>,
    recipient: &Recipient,
    details: &mut Vec<String>,
) -> Result<Lookup, Trouble> {
    let path = format!(
        "/lab/recipients/{}/certificate?purpose=encrypt&now={}",
        url_escape(&recipient.mailbox),
        url_escape(&smime::certificate::rfc3339(ctx.now))
    );
    let answer = match ctx
        .tenant
        .lab_call(
            "recipient certificate lookup",
            reqwest::Method::GET,
            &path,
            None,
            None,
        )
        .await
    {
        Ok(answer) => answer,
        Err(TenantApiError::Cmdlet {
            status: 404,
            message,
            ..
        }) => {
            details.push(format!("{}: no certificate ({message})", recipient.mailbox));
            return Ok(Lookup {
                recipient: recipient.clone(),
                certificate: None,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let chosen = &answer["chosen"];
    let Some(encoded) = chosen["certificate"].as_str() else {
        let passed_over: Vec<String> = answer["candidates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{}[{}]: {}",
                    c["attribute"].as_str().unwrap_or("?"),
                    c["index"],
                    c["reasons"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            })
            .collect();
        details.push(format!(
            "{}: no certificate to encrypt to{}",
            recipient.mailbox,
            if passed_over.is_empty() {
                " (nothing published or synced)".to_owned()
            } else {
                format!(" ({})", passed_over.join(" | "))
            }
        ));
        return Ok(Lookup {
            recipient: recipient.clone(),
            certificate: None,
        });
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| {
            format!(
                "the lookup for {} answered bad base64: {e}",
                recipient.mailbox
            )
        })?;
    let certificate = smime::certificate::parse_der(&der).map_err(|e| {
        format!(
            "the lookup for {} answered a certificate that does not parse: {e}",
            recipient.mailbox
        )
    })?;
    details.push(format!(
        "{}: encrypt to {}[{}], {} (thumbprint {})",
        recipient.mailbox,
        chosen["attribute"].as_str().unwrap_or("?"),
        chosen["index"],
        chosen["subject"].as_str().unwrap_or("?"),
        chosen["thumbprint"].as_str().unwrap_or("?")
    ));
    Ok(Lookup {
        recipient: recipient.clone(),
        certificate: Some((certificate, der)),
    })
}

/// Percent-encodes everything but unreserved characters and `@`, for a path segment or a query
/// value.
fn url_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The catalogue checks of one certificate, against the plan's CAs, for `mailbox`.
fn certificate_checks(
    ctx: &Context<'_>,
    certificate: &Certificate,
    mailbox: &str,
    cas: &[Certificate],
) -> Vec<CheckFinding> {
    let report = smime::checks::check_certificate(&smime::checks::CertificateUnderTest {
        cert: certificate,
        key: None,
        chain: cas,
        mailbox: Some(mailbox),
        now: ctx.now,
    });
    report
        .findings
        .iter()
        .map(|f| CheckFinding {
            id: f.id.to_owned(),
            severity: f.severity.as_str().to_owned(),
            message: f.message.clone(),
        })
        .collect()
}

pub(crate) fn plan_cas(ctx: &Context<'_>) -> Vec<Certificate> {
    ctx.plan
        .pki
        .entities
        .iter()
        .filter(|e| e.role.is_ca())
        .filter_map(|e| smime::certificate::parse_der(&e.certificate).ok())
        .collect()
}

/// The signer's issuers, nearest first, root last: from the plan's PKI, as a device's store
/// holds them; else the ones its file carried.
fn issuers(ctx: &Context<'_>, signing: &SigningIdentity) -> Vec<Certificate> {
    let from_plan: Vec<Certificate> = ctx
        .plan
        .pki
        .chain(&signing.certificate_id)
        .iter()
        .skip(1)
        .filter_map(|e| smime::certificate::parse_der(&e.certificate).ok())
        .collect();
    if from_plan.is_empty() {
        signing.installed_chain.clone()
    } else {
        from_plan
    }
}

fn der_of(certificate: &Certificate) -> Vec<u8> {
    der::Encode::to_der(certificate).unwrap_or_default()
}

/// The message's anatomy, opened with every identity its recipients installed (in the devices'
/// order, which is the plan's): what a reader's client peels.
fn anatomy_of(
    ctx: &Context<'_>,
    bytes: &[u8],
    recipients: &[&Recipient],
) -> smime::cms::anatomy::Anatomy {
    let identities: Vec<(&x509_cert::Certificate, &smime::key::PrivateKey)> = ctx
        .devices
        .installed
        .iter()
        .filter(|((user, _), _)| recipients.iter().any(|r| r.user == *user))
        .flat_map(|(_, installed)| installed.iter().map(|i| (&i.certificate, &i.key)))
        .collect();
    smime::cms::anatomy::describe(bytes, &identities)
}

/// Fills the message report and judges it.
fn finish(
    message: &SendMessage,
    step: &mut StepReport,
    refusal: Option<&Refusal>,
    shape: Option<&MessageShape>,
    recipients: &[RecipientReport],
    mut mismatches: Vec<String>,
    messages: Option<u32>,
) {
    let reports: Vec<RecipientReport> = if refusal.is_some() {
        all_recipients(message)
            .into_iter()
            .map(receive::not_delivered)
            .collect()
    } else {
        recipients.to_vec()
    };
    let mut found: BTreeSet<String> = step.checks.iter().map(|c| c.id.clone()).collect();
    for r in &reports {
        for reason in &r.reasons {
            found.extend(expect::catalogue_ids(reason));
        }
    }
    let judgement = expect::judge(
        &message.expect,
        &expect::Observed {
            refusal,
            recipients: &reports,
            found: &found,
            messages,
        },
    );
    mismatches.extend(judgement.mismatches);
    step.outcome = if mismatches.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    step.expected = Some(judgement.expected);
    step.actual = if !mismatches.is_empty() {
        Some(mismatches.join("; "))
    } else {
        refusal.map(|r| format!("refused ({}): {}", r.reason.name(), r.why))
    };
    step.message = Some(MessageReport {
        number: message.number,
        from: message.from.mailbox.clone(),
        to: all_recipients(message)
            .iter()
            .map(|r| r.mailbox.clone())
            .collect(),
        client: message.client.name().to_owned(),
        protection: match shape {
            Some(shape) => shape.protection(),
            // Refused: what was asked for, since nothing was sent.
            None => requested(message),
        }
        .to_owned(),
        refused: refusal.map(|r| r.reason.name().to_owned()),
        recipients: reports,
        // Set by the caller once the message was sent (a refused message has none).
        anatomy: None,
        snapshot: message.snapshot.clone(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_path_or_query_cannot_hold() {
        assert_eq!(
            url_escape("carol.smith@contoso.com"),
            "carol.smith@contoso.com"
        );
        assert_eq!(url_escape("a+b c/d"), "a%2Bb%20c%2Fd");
        assert_eq!(
            url_escape("2026-01-01T00:00:00+01:00"),
            "2026-01-01T00:00:00%2B01:00"
        );
    }
}
