//! The receiving side: each recipient opens the delivered message in Outlook on the web, which
//! the tenant judges (CONTRACTS §1 a) with every identity the recipient has installed on any
//! client, as a reader decrypts with whatever key they hold; under `OWAOnlyUseSmartCard` only
//! with the smart-card ones ("$true: Smartcard-based certificates for signing and decryption are
//! required when you use Outlook on the web and the S/MIME control", Set-SmimeConfig).

use super::Context;
use super::mail::Delivered;
use super::tenant_api::TenantApiError;
use super::validation::{self, MessageValidation};
use crate::report::model::RecipientReport;
use scenario::plan::Recipient;

/// What `recipient` saw of the message: not delivered, or the tenant's verdict.
pub async fn receive(
    ctx: &Context<'_>,
    delivered: Option<&Delivered>,
    recipient: &Recipient,
    smart_card_only: bool,
) -> Result<(RecipientReport, Option<MessageValidation>), TenantApiError> {
    let Some(message) = delivered.filter(|d| d.reached(&recipient.mailbox)) else {
        return Ok((not_delivered(recipient), None));
    };
    let identities: Vec<_> = ctx
        .devices
        .of_user(&recipient.user)
        .into_iter()
        .filter(|i| !smart_card_only || i.storage == scenario::model::KeyStorage::SmartCard)
        .collect();
    let judged = validation::validate_message(&ctx.tenant, &message.raw, &identities).await?;
    Ok((
        RecipientReport {
            mailbox: recipient.mailbox.clone(),
            delivered: true,
            verdict: Some(judged.status.clone()),
            reasons: judged.reasons.clone(),
            decrypted: judged.decrypted,
            weak: judged.weak,
        },
        Some(judged),
    ))
}

/// A recipient the message never reached.
pub fn not_delivered(recipient: &Recipient) -> RecipientReport {
    RecipientReport {
        mailbox: recipient.mailbox.clone(),
        delivered: false,
        verdict: None,
        reasons: Vec::new(),
        decrypted: None,
        weak: false,
    }
}
