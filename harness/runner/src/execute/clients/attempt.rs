//! One message's attempt, in the order a client works: the sender's identities, the recipients'
//! certificates, the catalogue's checks, the decision (with `OWACheckCRLOnSend`), the bytes, the
//! anatomy, the mail flow, and what each recipient sees. Each part is a function below.

use smime::cms::Signer;
use smime::cms::anatomy::Anatomy;
use x509_cert::Certificate;

use scenario::model::{KeyStorage, MailClient};
use scenario::plan::{Recipient, SendMessage};

use super::copies::{self, Outgoing};
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
    let settings = client_settings(
        ctx,
        message.client,
        &message.from.mailbox,
        &mut step.details,
    )
    .await?;
    if let Some(answered) = message.reply_to {
        install_from_reply(ctx, message, answered, step);
    }
    let signs = settings.signs(request);
    let encrypts = settings.encrypts(request);
    let recipients = all_recipients(message);

    let sender = sender_side(ctx, message, step)?;
    let lookups = recipient_certificates(ctx, message, &recipients, encrypts, step).await?;
    record_certificate_checks(ctx, message, signs, sender.signing.as_ref(), &lookups, step);
    let shape = match decide(ctx, &settings, message, &sender, &lookups, step).await? {
        Err(refusal) => {
            step.details.push(format!("refused: {}", refusal.why));
            finish(message, step, Some(&refusal), None, &[], Vec::new(), None);
            return Ok(());
        }
        Ok(shape) => shape,
    };
    step.details.extend(shape.notes.iter().cloned());

    let outgoing = copies::copies(
        &settings,
        message,
        &shape,
        &ctx.plan.scenario,
        &ctx.plan.domain,
    );
    if outgoing.len() > 1
        && let Some(line) = copies::describe(&settings, &outgoing)
    {
        step.details.push(line);
    }
    let mut mismatches = Vec::new();
    let mut delivered = Vec::new();
    let mut first_anatomy = None;
    for (k, copy) in outgoing.iter().enumerate() {
        let (headers, bytes) = the_bytes(
            ctx,
            message,
            copy,
            &shape,
            &sender,
            &copies::lookups_of(copy, &lookups),
            step,
        )?;
        let anatomy = the_anatomy(
            ctx,
            message,
            copy,
            k == 0,
            &bytes,
            &recipients,
            step,
            &mut mismatches,
        )?;
        mismatches.extend(copies::recipient_info_mismatches(
            copy,
            &anatomy,
            &lookups,
            sender.own_certificate.as_ref(),
        ));
        if k == 0 {
            first_anatomy = Some(anatomy.to_yaml());
        }
        delivered.extend(
            the_mail_flow(
                ctx,
                message,
                &headers,
                &bytes,
                &copy.recipients,
                step,
                &mut mismatches,
            )
            .await?,
        );
    }
    let in_sink = messages_in_sink(ctx, message, &delivered, step).await?;
    let reports = what_each_recipient_sees(ctx, &delivered, &recipients, step).await?;
    for recipient in &recipients {
        if let Some(theirs) = delivered.iter().find(|d| d.reached(&recipient.mailbox)) {
            ctx.received
                .insert((message.number, recipient.user.clone()), theirs.raw.clone());
        }
    }
    finish(
        message,
        step,
        None,
        Some(&shape),
        &reports,
        mismatches,
        in_sink,
    );
    if let Some(report) = step.message.as_mut() {
        report.anatomy = first_anatomy;
    }
    Ok(())
}

/// A reply on Outlook for iOS and Android: the user installs the certificates of the answered
/// message's sender that it carried ("Users can install a sender's public certificate key by
/// tapping the S/MIME status bar. The certificate will be installed on the user's device", S/MIME
/// for Outlook for iOS and Android). What the message carried is read from the copy that reached
/// the replier, opened with the replier's keys (a signature inside an envelope is seen only
/// then); certificates are known by thumbprint among the plan's.
fn install_from_reply(
    ctx: &mut Context<'_>,
    message: &SendMessage,
    answered: usize,
    step: &mut StepReport,
) {
    let replier = &message.from.user;
    let Some(bytes) = ctx.received.get(&(answered, replier.clone())) else {
        step.details.push(format!(
            "reply to message {answered}: it never reached {replier}, so there is nothing to install from it"
        ));
        return;
    };
    let identities: Vec<(&Certificate, &smime::key::PrivateKey)> = ctx
        .devices
        .of_user(replier)
        .into_iter()
        .map(|i| (&i.certificate, &i.key))
        .collect();
    let anatomy = smime::cms::anatomy::describe(bytes, &identities);
    let Some(sender) = smime::cms::address::from_address(bytes) else {
        step.details.push(format!(
            "reply to message {answered}: it has no readable From, so no sender's certificate to install"
        ));
        return;
    };
    let carried: Vec<String> = anatomy
        .carried_thumbprints()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let installable: Vec<(String, Certificate)> = ctx
        .plan
        .pki
        .entities
        .iter()
        .filter(|e| carried.contains(&smime::certificate::sha1_thumbprint(&e.certificate)))
        .filter_map(|e| {
            let certificate = smime::certificate::parse_der(&e.certificate).ok()?;
            smime::cms::address::certificate_mailboxes(&certificate)
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&sender))
                .then(|| (e.id.clone(), certificate))
        })
        .collect();
    if installable.is_empty() {
        step.details.push(format!(
            "reply to message {answered}: it carried no certificate of {sender}'s ({} certificate{} carried), so nothing is installed from it",
            carried.len(),
            if carried.len() == 1 { "" } else { "s" }
        ));
        return;
    }
    step.details.push(format!(
        "reply to message {answered}: {replier} installs {sender}'s certificates it carried on Outlook for iOS and Android: {}",
        installable
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let list = ctx
        .devices
        .contacts
        .entry((replier.clone(), MailClient::OutlookMobile))
        .or_default();
    for (id, certificate) in installable {
        list.retain(|(seen, _)| *seen != id);
        list.push((id, certificate));
    }
}

/// How many messages the sink holds for this one (its Message-ID or a copy's), asked of the
/// sink itself; `None` when nothing reached it.
async fn messages_in_sink(
    ctx: &Context<'_>,
    message: &SendMessage,
    delivered: &[Delivered],
    step: &mut StepReport,
) -> Result<Option<u32>, Trouble> {
    if delivered.is_empty() {
        return Ok(None);
    }
    let smtp = ctx
        .endpoints
        .smtp()
        .map_err(|e| format!("the lab has no SMTP sink: {e}"))?
        .clone();
    let (scenario, number, domain) = (&ctx.plan.scenario, message.number, &ctx.plan.domain);
    let n = mail::count(&ctx.http, &smtp, &format!("{scenario}.{number}"), |id| {
        compose::is_message_or_copy(id, scenario, number, domain)
    })
    .await?;
    if n > 1 || message.expect.messages.is_some() {
        step.details.push(format!(
            "the sink holds {n} message{} for it",
            if n == 1 { "" } else { "s" }
        ));
    }
    Ok(Some(n))
}

/// The sender's identities on this client. Outlook for iOS and Android uses a certificate only
/// when it is issued to the sender's primary SMTP address: the others are set aside here, and
/// the report says which.
fn sender_side(
    ctx: &Context<'_>,
    message: &SendMessage,
    step: &mut StepReport,
) -> Result<SenderSide, Trouble> {
    let address_rule = message.client == MailClient::OutlookMobile;
    let for_the_sender = |certificate: &Certificate, id: &str, step: &mut StepReport| {
        if !address_rule {
            return true;
        }
        let mailboxes = smime::cms::address::certificate_mailboxes(certificate);
        let matches = mailboxes
            .iter()
            .any(|m| m.eq_ignore_ascii_case(&message.from.mailbox));
        if !matches {
            step.details.push(format!(
                "`{id}` is issued to {}, not the primary SMTP address {}: Outlook for iOS and Android does not use it",
                if mailboxes.is_empty() {
                    "no mail address".to_owned()
                } else {
                    mailboxes.join(", ")
                },
                message.from.mailbox
            ));
        }
        matches
    };
    let installed: Vec<&InstalledIdentity> = ctx
        .devices
        .on(&message.from.user, message.client)
        .iter()
        .filter(|i| for_the_sender(&i.certificate, &i.certificate_id, step))
        .collect();
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
            for_the_sender(&certificate, id, step).then(|| SigningIdentity {
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
            .map(|i| SigningIdentity::installed(i)),
    };
    let own: Option<&&InstalledIdentity> = installed.iter().find(|i| i.can_decrypt());
    let own_certificate = own.map(|i| i.certificate.clone());
    let facts = Sender {
        signing: signing.as_ref().map(|s| s.storage),
        own_certificate: own_certificate
            .as_ref()
            .map(|c| CertificateFacts::of(c, ctx.now)),
    };
    Ok(SenderSide {
        signing,
        own_certificate,
        facts,
    })
}

/// Recipients' certificates, only when the message is to be encrypted: the tenant's lookup (the
/// Global Address List); Outlook for iOS and Android then looks on the device for a recipient
/// the GAL has none for ("The Global Address List (GAL) is checked first; if a certificate for
/// the recipient does not exist in the GAL, Outlook queries the Microsoft publisher keychain in
/// iOS or the system KeyStore in Android").
async fn recipient_certificates(
    ctx: &Context<'_>,
    message: &SendMessage,
    recipients: &[&Recipient],
    encrypts: bool,
    step: &mut StepReport,
) -> Result<Vec<Lookup>, Trouble> {
    let mut lookups = Vec::new();
    if encrypts {
        for recipient in recipients {
            let mut found = lookup(ctx, recipient, &mut step.details).await?;
            if found.certificate.is_none() && message.client == MailClient::OutlookMobile {
                found.certificate = on_the_device(ctx, &message.from.user, recipient, step);
            }
            lookups.push(found);
        }
    }
    Ok(lookups)
}

/// A certificate for `recipient` among the contacts installed on the sender's Outlook for iOS
/// and Android: the first issued to the recipient's address that is fit to encrypt to, as the
/// lookup judges one (validity, key usage, emailProtection).
fn on_the_device(
    ctx: &Context<'_>,
    sender: &str,
    recipient: &Recipient,
    step: &mut StepReport,
) -> Option<(Certificate, Vec<u8>)> {
    let contacts = ctx.devices.contacts_on(sender, MailClient::OutlookMobile);
    let found = contacts.iter().find(|(_, certificate)| {
        smime::cms::address::certificate_mailboxes(certificate)
            .iter()
            .any(|m| m.eq_ignore_ascii_case(&recipient.mailbox))
            && super::shape::encryption_problems(certificate, ctx.now).is_empty()
    });
    match found {
        Some((id, certificate)) => {
            step.details.push(format!(
                "{}: not in the GAL; encrypt to `{id}` from the device's certificate store",
                recipient.mailbox
            ));
            Some((certificate.clone(), der_of(certificate)))
        }
        None => {
            step.details.push(format!(
                "{}: not in the GAL, nor on the device ({} contact certificate{})",
                recipient.mailbox,
                contacts.len(),
                if contacts.len() == 1 { "" } else { "s" }
            ));
            None
        }
    }
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
                .map(|(c, _)| CertificateFacts::of(c, ctx.now)),
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
        let answer = validation::validate_recipient_certificate(
            &ctx.tenant,
            &der_of(certificate),
            &l.recipient.mailbox,
        )
        .await?;
        let by_proxy = match &answer.answer["address"] {
            a if a["matched"] == "proxy" => format!(" ({})", a["reason"].as_str().unwrap_or("")),
            _ => String::new(),
        };
        step.details.push(format!(
            "OWA check of {}'s certificate before encrypting: {}, encrypts {}{by_proxy}",
            l.recipient.mailbox, answer.status, answer.send_allowed
        ));
        if !answer.send_allowed {
            // A certificate that validates but is not the recipient's
            // (OWAUseSecondaryProxiesWhenFindingCertificates) says so instead of "valid".
            let status = match &answer.not_the_recipients {
                Some(_) if answer.status == "valid" => "not the recipient's",
                _ => answer.status.as_str(),
            };
            refused.push(format!(
                "{} ({status}{})",
                l.recipient.mailbox,
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
    copy: &Outgoing<'_>,
    shape: &MessageShape,
    sender: &SenderSide,
    lookups: &[&Lookup],
    step: &mut StepReport,
) -> Result<(compose::Headers, Vec<u8>), Trouble> {
    let headers = compose::Headers {
        from: message.from.mailbox.clone(),
        to: message.to.iter().map(|r| r.mailbox.clone()).collect(),
        cc: message.cc.iter().map(|r| r.mailbox.clone()).collect(),
        subject: message.subject.clone(),
        date: ctx.now,
        message_id: copy.message_id.clone(),
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
        ctx.now,
        &compose::rng_label(&ctx.plan.scenario, message.number),
    )
    .map_err(|e| {
        format!(
            "the {} client could not build the message: {e}",
            message.client.name()
        )
    })?;
    let artifact = format!("{}.eml", copy.stem);
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
#[allow(clippy::too_many_arguments)] // the parts of one attempt, each named
fn the_anatomy(
    ctx: &Context<'_>,
    message: &SendMessage,
    copy: &Outgoing<'_>,
    first: bool,
    bytes: &[u8],
    recipients: &[&Recipient],
    step: &mut StepReport,
    mismatches: &mut Vec<String>,
) -> Result<Anatomy, Trouble> {
    let anatomy = anatomy_of(ctx, bytes, recipients);
    let yaml = anatomy.to_yaml();
    let anatomy_file = format!("{}.anatomy.yaml", copy.stem);
    std::fs::write(ctx.out_dir.join(&anatomy_file), &yaml).map_err(|e| {
        format!(
            "cannot write {}: {e}",
            ctx.out_dir.join(&anatomy_file).display()
        )
    })?;
    step.artifacts.push(anatomy_file);
    // The snapshot is the first copy's: the message as To and Cc receive it.
    if first && let Some(name) = &message.snapshot {
        match snapshot::check(&ctx.snapshot_dir, &ctx.plan.scenario, name, &yaml) {
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
    delivered: &[Delivered],
    recipients: &[&Recipient],
    step: &mut StepReport,
) -> Result<Vec<RecipientReport>, Trouble> {
    // Every recipient reads in Outlook on the web, under its OWAOnlyUseSmartCard.
    // Outlook on the web's settings are the tenant's: no sender's mailbox policy is read.
    let smart_card_only = match client_settings(ctx, MailClient::Owa, "", &mut Vec::new()).await? {
        ClientSettings::Owa(owa) => owa.only_use_smart_card,
        _ => false,
    };
    if smart_card_only && !delivered.is_empty() {
        step.details.push(
            "OWAOnlyUseSmartCard: recipients decrypt in Outlook on the web with smart-card keys only"
                .to_owned(),
        );
    }
    let mut reports = Vec::new();
    for recipient in recipients {
        // The copy whose envelope named the recipient.
        let theirs = delivered.iter().find(|d| d.reached(&recipient.mailbox));
        let (report, judged) = receive::receive(ctx, theirs, recipient, smart_card_only).await?;
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
