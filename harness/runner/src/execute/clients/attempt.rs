//! One message's attempt, in the order a client works: the sender's identities, the recipients'
//! certificates, the catalogue's checks, the decision (with `OWACheckCRLOnSend`), the bytes, the
//! anatomy, the mail flow, and what each recipient sees. Each part is a function below.

use smime::cms::Signer;
use x509_cert::Certificate;

use scenario::model::KeyStorage;
use scenario::plan::{Recipient, SendMessage};

use super::shape::{CertificateFacts, MessageShape, RecipientFacts, Refusal, Sender};
use super::{
    ClientSettings, Lookup, SigningIdentity, Trouble, all_recipients, anatomy_of,
    certificate_checks, client_settings, compose, der_of, finish, issuers, lookup, owa, plan_cas,
};
use crate::execute::Context;
use crate::execute::devices::InstalledIdentity;
use crate::execute::mail::{self, Delivered};
use crate::execute::{receive, snapshot, validation};
use crate::report::model::{CheckFinding, RecipientReport, StepReport};

/// The sender's side on this client: the identity that signs (the sender's own, or the one
/// `options.signer` names), the sender's own certificate, and what the client knows of both.
struct SenderSide {
    signing: Option<SigningIdentity>,
    own_certificate: Option<Certificate>,
    facts: Sender,
}

pub(super) async fn attempt(
    ctx: &mut Context<'_>,
    message: &SendMessage,
    step: &mut StepReport,
) -> Result<(), Trouble> {
    let request = &message.request;
    let settings = client_settings(ctx, message.client).await?;
    let signs = settings.signs(request);
    let encrypts = settings.encrypts(request);
    let recipients = all_recipients(message);

    let sender = sender_side(ctx, message, step)?;
    let lookups = recipient_certificates(ctx, &recipients, encrypts, step).await?;
    record_certificate_checks(ctx, message, signs, sender.signing.as_ref(), &lookups, step);
    let shape = match decide(ctx, &settings, message, &sender, &lookups, step).await? {
        Err(refusal) => {
            step.details.push(format!("refused: {}", refusal.why));
            finish(message, step, Some(&refusal), None, &[], Vec::new());
            return Ok(());
        }
        Ok(shape) => shape,
    };
    step.details.extend(shape.notes.iter().cloned());

    let (headers, bytes) = the_bytes(ctx, message, &shape, &sender, &lookups, step)?;
    let mut mismatches = Vec::new();
    let anatomy = the_anatomy(ctx, message, &bytes, &recipients, step, &mut mismatches)?;
    let delivered = the_mail_flow(
        ctx,
        message,
        &headers,
        &bytes,
        &recipients,
        step,
        &mut mismatches,
    )
    .await?;
    let reports = what_each_recipient_sees(ctx, delivered.as_ref(), &recipients, step).await?;
    finish(message, step, None, Some(&shape), &reports, mismatches);
    if let Some(report) = step.message.as_mut() {
        report.anatomy = Some(anatomy);
    }
    Ok(())
}

/// The sender's identities on this client.
fn sender_side(
    ctx: &Context<'_>,
    message: &SendMessage,
    step: &mut StepReport,
) -> Result<SenderSide, Trouble> {
    let installed = ctx.devices.on(&message.from.user, message.client);
    let signing: Option<SigningIdentity> = match message.request.options.signer_id() {
        Some(id) => {
            let entity = ctx.plan.pki.entity(id).ok_or_else(|| {
                format!("certificate `{id}` to sign with is not in the plan's PKI")
            })?;
            let certificate = smime::certificate::parse_der(&entity.certificate)
                .map_err(|e| format!("certificate `{id}` does not parse: {e}"))?;
            step.details.push(format!(
                "signs with `{id}` instead of the sender's own (options.signer)"
            ));
            Some(SigningIdentity {
                certificate,
                key: entity.key.clone(),
                certificate_id: id.to_owned(),
                storage: KeyStorage::Software,
                installed_chain: Vec::new(),
            })
        }
        None => installed
            .iter()
            .find(|i| i.can_sign())
            .map(SigningIdentity::installed),
    };
    let own: Option<&InstalledIdentity> = installed.iter().find(|i| i.can_decrypt());
    let own_certificate = own.map(|i| i.certificate.clone());
    let facts = Sender {
        signing: signing.as_ref().map(|s| s.storage),
        own_certificate: own_certificate
            .as_ref()
            .map(|c| CertificateFacts::of(c, ctx.plan.now)),
    };
    Ok(SenderSide {
        signing,
        own_certificate,
        facts,
    })
}

/// Recipients' certificates, only when the message is to be encrypted.
async fn recipient_certificates(
    ctx: &Context<'_>,
    recipients: &[&Recipient],
    encrypts: bool,
    step: &mut StepReport,
) -> Result<Vec<Lookup>, Trouble> {
    let mut lookups = Vec::new();
    if encrypts {
        for recipient in recipients {
            lookups.push(lookup(ctx, recipient, &mut step.details).await?);
        }
    }
    Ok(lookups)
}

/// The catalogue's view of every certificate involved, each finding once.
fn record_certificate_checks(
    ctx: &Context<'_>,
    message: &SendMessage,
    signs: bool,
    signing: Option<&SigningIdentity>,
    lookups: &[Lookup],
    step: &mut StepReport,
) {
    let cas = plan_cas(ctx);
    let mut checks: Vec<CheckFinding> = Vec::new();
    if signs && let Some(s) = signing {
        checks.extend(certificate_checks(
            ctx,
            &s.certificate,
            &message.from.mailbox,
            &cas,
        ));
    }
    for l in lookups {
        if let Some((certificate, _)) = &l.certificate {
            checks.extend(certificate_checks(
                ctx,
                certificate,
                &l.recipient.mailbox,
                &cas,
            ));
        }
    }
    for finding in checks {
        if !step.checks.contains(&finding) {
            step.checks.push(finding);
        }
    }
}

/// The client's decision, then OWA's CRL check on send.
async fn decide(
    ctx: &Context<'_>,
    settings: &ClientSettings,
    message: &SendMessage,
    sender: &SenderSide,
    lookups: &[Lookup],
    step: &mut StepReport,
) -> Result<Result<MessageShape, Refusal>, Trouble> {
    let recipient_facts: Vec<RecipientFacts> = lookups
        .iter()
        .map(|l| RecipientFacts {
            mailbox: l.recipient.mailbox.clone(),
            certificate: l
                .certificate
                .as_ref()
                .map(|(c, _)| CertificateFacts::of(c, ctx.plan.now)),
        })
        .collect();
    let mut decision = settings.shape(&message.request, &sender.facts, &recipient_facts);
    // Outlook on the web validates each recipient's certificate against the virtual certificate
    // collection before encrypting ("In Exchange Online only the SST will be used for
    // validation"). Outlook desktop and the mobile clients do not: they validate against their
    // own device's trust store, which the lab does not model (they keep the lookup's own
    // checks: validity, key usage, emailProtection).
    if let (ClientSettings::Owa(_), Ok(shape)) = (settings, &decision)
        && shape.encrypt.is_some()
        && let Some(refusal) = owa_recipient_checks(ctx, lookups, step).await?
    {
        decision = Err(refusal);
    }
    if let (ClientSettings::Owa(owa_settings), Ok(shape)) = (settings, &decision)
        && owa::needs_crl_check(owa_settings, shape)
    {
        let checked = if shape.sign.is_some() {
            sender.signing.as_ref().map(|s| &s.certificate)
        } else {
            sender.own_certificate.as_ref()
        };
        match checked {
            Some(certificate) => {
                let answer =
                    validation::validate_certificate(&ctx.tenant, &der_of(certificate)).await?;
                step.details.push(format!(
                    "OWACheckCRLOnSend: the tenant answered {}, sendAllowed {}",
                    answer.status, answer.send_allowed
                ));
                if !answer.send_allowed {
                    decision = Err(owa::crl_refusal(&answer.reasons));
                }
            }
            None => step.details.push(
                "OWACheckCRLOnSend: the sender has no certificate on this client to check"
                    .to_owned(),
            ),
        }
    }
    Ok(decision)
}

/// The tenant's check of every recipient certificate OWA would encrypt to; the refusal names
/// each one that does not validate.
async fn owa_recipient_checks(
    ctx: &Context<'_>,
    lookups: &[Lookup],
    step: &mut StepReport,
) -> Result<Option<Refusal>, Trouble> {
    let mut refused = Vec::new();
    for l in lookups {
        let Some((certificate, _)) = &l.certificate else {
            continue;
        };
        let answer =
            validation::validate_recipient_certificate(&ctx.tenant, &der_of(certificate)).await?;
        step.details.push(format!(
            "OWA check of {}'s certificate before encrypting: {}, encrypts {}",
            l.recipient.mailbox, answer.status, answer.send_allowed
        ));
        if !answer.send_allowed {
            refused.push(format!(
                "{} ({}{})",
                l.recipient.mailbox,
                answer.status,
                answer
                    .reasons
                    .first()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ));
        }
    }
    Ok((!refused.is_empty()).then(|| owa::recipient_refusal(&refused)))
}

/// The bytes: the plain message, protected as shaped, written to the output directory.
fn the_bytes(
    ctx: &Context<'_>,
    message: &SendMessage,
    shape: &MessageShape,
    sender: &SenderSide,
    lookups: &[Lookup],
    step: &mut StepReport,
) -> Result<(compose::Headers, Vec<u8>), Trouble> {
    let headers = compose::Headers {
        from: message.from.mailbox.clone(),
        to: message.to.iter().map(|r| r.mailbox.clone()).collect(),
        cc: message.cc.iter().map(|r| r.mailbox.clone()).collect(),
        subject: message.subject.clone(),
        date: ctx.plan.now,
        message_id: compose::message_id(&ctx.plan.scenario, message.number, &ctx.plan.domain),
    };
    let plain = compose::plain_message(&headers, &message.body)?;
    let signer = match (&shape.sign, &sender.signing) {
        (Some(_), Some(s)) => {
            let encryption_certificate = sender
                .own_certificate
                .as_ref()
                .filter(|own| der_of(own) != der_of(&s.certificate))
                .cloned();
            Some(Signer {
                certificate: s.certificate.clone(),
                key: s.key.clone(),
                chain: issuers(ctx, s),
                encryption_certificate,
            })
        }
        _ => None,
    };
    let keys = compose::Keys {
        signer,
        recipients: lookups
            .iter()
            .filter_map(|l| l.certificate.as_ref().map(|(c, _)| c.clone()))
            .collect(),
        own: sender.own_certificate.clone(),
    };
    let bytes = compose::protect(
        &plain,
        shape,
        &keys,
        ctx.plan.now,
        &compose::rng_label(&ctx.plan.scenario, message.number),
    )
    .map_err(|e| {
        format!(
            "the {} client could not build the message: {e}",
            message.client.name()
        )
    })?;
    let artifact = format!("message-{}.eml", message.number);
    std::fs::create_dir_all(&ctx.out_dir)
        .and_then(|()| std::fs::write(ctx.out_dir.join(&artifact), &bytes))
        .map_err(|e| {
            format!(
                "cannot write {}: {e}",
                ctx.out_dir.join(&artifact).display()
            )
        })?;
    step.artifacts.push(artifact);
    Ok((headers, bytes))
}

/// The anatomy, as the recipients' identities open it (their keys are the scenario's own, so this
/// is as byte-stable as the message), written beside the message and compared with the
/// scenario's snapshot.
fn the_anatomy(
    ctx: &Context<'_>,
    message: &SendMessage,
    bytes: &[u8],
    recipients: &[&Recipient],
    step: &mut StepReport,
    mismatches: &mut Vec<String>,
) -> Result<String, Trouble> {
    let anatomy = anatomy_of(ctx, bytes, recipients);
    let anatomy_file = format!("message-{}.anatomy.yaml", message.number);
    std::fs::write(ctx.out_dir.join(&anatomy_file), &anatomy).map_err(|e| {
        format!(
            "cannot write {}: {e}",
            ctx.out_dir.join(&anatomy_file).display()
        )
    })?;
    step.artifacts.push(anatomy_file);
    if let Some(name) = &message.snapshot {
        match snapshot::check(&ctx.snapshot_dir, &ctx.plan.scenario, name, &anatomy) {
            Ok(()) => step
                .details
                .push(format!("anatomy matches snapshot `{name}`")),
            Err(diff) => mismatches.push(diff),
        }
    }
    Ok(anatomy)
}

/// The mail flow: sent over SMTP, read back from the sink byte for byte. `None` when the sink
/// refused a message the scenario expects not to be delivered.
async fn the_mail_flow(
    ctx: &Context<'_>,
    message: &SendMessage,
    headers: &compose::Headers,
    bytes: &[u8],
    recipients: &[&Recipient],
    step: &mut StepReport,
    mismatches: &mut Vec<String>,
) -> Result<Option<Delivered>, Trouble> {
    let smtp = ctx
        .endpoints
        .smtp()
        .map_err(|e| format!("the lab has no SMTP sink: {e}"))?
        .clone();
    let envelope: Vec<String> = recipients.iter().map(|r| r.mailbox.clone()).collect();
    match mail::send(&smtp, &message.from.mailbox, &envelope, bytes).await {
        Ok(()) => {
            let stored = mail::fetch(&ctx.http, &smtp, &headers.message_id).await?;
            match mail::first_difference(bytes, &stored.raw) {
                None => step.details.push(format!(
                    "{} bytes sent; the sink stored the same bytes (id {})",
                    bytes.len(),
                    stored.id
                )),
                Some(at) => mismatches.push(format!(
                    "the sink stored {} bytes that differ from the {} sent, from byte {at}",
                    stored.raw.len(),
                    bytes.len()
                )),
            }
            Ok(Some(stored))
        }
        Err(e @ mail::MailError::Smtp { .. }) if !message.expect.delivered => {
            step.details.push(format!("not delivered: {e}"));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// What each recipient sees: their client's verdict on the stored message.
async fn what_each_recipient_sees(
    ctx: &Context<'_>,
    delivered: Option<&Delivered>,
    recipients: &[&Recipient],
    step: &mut StepReport,
) -> Result<Vec<RecipientReport>, Trouble> {
    let mut reports = Vec::new();
    for recipient in recipients {
        let (report, judged) = receive::receive(ctx, delivered, recipient).await?;
        if let Some(judged) = judged {
            step.details.push(format!(
                "{}: {}{}{}",
                recipient.mailbox,
                judged.status,
                match judged.decrypted {
                    Some(true) => ", decrypted",
                    Some(false) => ", not decrypted",
                    None => "",
                },
                judged
                    .reasons
                    .first()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ));
        }
        reports.push(report);
    }
    Ok(reports)
}
