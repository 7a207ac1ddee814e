//! `Get-CASMailbox` and `Set-CASMailbox -ActiveSyncMailboxPolicy`: which mobile device mailbox
//! policy a mailbox follows.
//!
//! Set-CASMailbox (office-docs-powershell): "The ActiveSyncMailboxPolicy parameter specifies the
//! Exchange ActiveSync mailbox policy for the mailbox. You can use any value that uniquely
//! identifies the Exchange ActiveSync mailbox policy. [...] to reset this parameter back to the
//! default value, use the value $null. The value $null also changes the value of the
//! ActiveSyncMailboxPolicyIsDefaulted property to True. If you specify the value Default for the
//! ActiveSyncMailboxPolicy parameter, the value of the ActiveSyncMailboxPolicyIsDefaulted property
//! remains False."
//!
//! A mailbox whose `ActiveSyncMailboxPolicyIsDefaulted` is true follows the policy whose
//! `IsDefault` is true at the time it is read, so that `Set-MobileDeviceMailboxPolicy -IsDefault
//! $true` on another policy moves it too ("There can be only one default policy. If another
//! policy is currently set as the default, and you set this parameter to $true, this policy
//! becomes the default policy."). A mailbox given a policy by name keeps it.

use serde_json::{Value, json};

use super::mobile_policy::{MobilePolicy, resolve_one};
use super::params::{Bound, BoundParameters, ParamSpec, ParamType};
use super::recipients::{GET_PARAMS, Recipient, list, one_recipient};
use super::{Cmdlet, CmdletOutput, Run, TenantContext, Window};
use crate::store::{Change, TenantData, View};
use crate::wire::ExoError;

const SET_PARAMS: &[ParamSpec] = &[
    ParamSpec::mandatory("Identity", ParamType::Identity),
    // A `MailboxPolicyIdParameter` that takes $null (back to the default policy).
    ParamSpec::new("ActiveSyncMailboxPolicy", ParamType::String),
];

const GET_NOT_MODELLED: &[&str] = &[
    "ActiveSyncDebugLogging",
    "Anr",
    "Filter",
    "GetImapProtocolLog",
    "GetPopProtocolLog",
    "OrganizationalUnit",
    "ProtocolSettings",
    "ReadFromDomainController",
    "RecalculateHasActiveSyncDevicePartnership",
    "SortBy",
];

const SET_NOT_MODELLED: &[&str] = &[
    "ActiveSyncAllowedDeviceIDs",
    "ActiveSyncBlockedDeviceIDs",
    "ActiveSyncDebugLogging",
    "ActiveSyncEnabled",
    "ActiveSyncSuppressReadReceipt",
    "EwsEnabled",
    "ImapEnabled",
    "MAPIEnabled",
    "OWAEnabled",
    "OwaMailboxPolicy",
    "PopEnabled",
    "SmtpClientAuthenticationDisabled",
];

pub static GET: Cmdlet = Cmdlet {
    name: "Get-CASMailbox",
    params: GET_PARAMS,
    not_modelled: GET_NOT_MODELLED,
    run: Run::Read(get),
};

pub static SET: Cmdlet = Cmdlet {
    name: "Set-CASMailbox",
    params: SET_PARAMS,
    not_modelled: SET_NOT_MODELLED,
    run: Run::Write(set),
};

/// The policy a mailbox follows and whether it is the default one by default: its own if it
/// still exists, else the policy whose `IsDefault` is true (none if no policy is).
pub fn policy_of<'a>(
    data: &'a TenantData,
    recipient: &Recipient,
) -> (Option<&'a MobilePolicy>, bool) {
    let own = recipient
        .active_sync_mailbox_policy
        .as_deref()
        .and_then(|guid| data.mobile_policies.iter().find(|p| p.guid == guid));
    match own {
        Some(policy) => (Some(policy), false),
        None => (data.mobile_policies.iter().find(|p| p.is_default), true),
    }
}

/// The `Get-CASMailbox` shape.
fn record(tenant: &str, data: &TenantData, recipient: &Recipient) -> Value {
    let (policy, defaulted) = policy_of(data, recipient);
    let mut map = recipient.common_record(tenant);
    // Get-CASMailbox shows client access settings, not the mailbox's certificates.
    for name in [
        "UserCertificate",
        "UserCertificate@odata.type",
        "UserSMimeCertificate",
        "UserSMimeCertificate@odata.type",
        "RecipientTypeDetails",
    ] {
        map.remove(name);
    }
    map.insert("ActiveSyncEnabled".into(), json!(true));
    map.insert(
        "ActiveSyncMailboxPolicy".into(),
        policy.map_or(Value::Null, |p| json!(p.name)),
    );
    map.insert(
        "ActiveSyncMailboxPolicyIsDefaulted".into(),
        json!(defaulted),
    );
    map.insert("OWAEnabled".into(), json!(true));
    map.insert("EwsEnabled".into(), json!(true));
    map.insert("MAPIEnabled".into(), json!(true));
    Value::Object(map)
}

fn get(
    ctx: &TenantContext,
    data: &View<'_>,
    bound: &BoundParameters,
    window: Window,
) -> Result<CmdletOutput, ExoError> {
    list(data, bound, window, |r| {
        record(&ctx.tenant, data.settings, r)
    })
}

fn set(
    ctx: &TenantContext,
    data: &mut Change<'_>,
    bound: &BoundParameters,
) -> Result<CmdletOutput, ExoError> {
    let (id, mut recipient) = one_recipient(data, bound)?;
    let before = recipient.clone();
    match bound.get("ActiveSyncMailboxPolicy") {
        Some(Bound::String(Some(policy))) => {
            // Any value that uniquely identifies the policy: name or GUID.
            let index = resolve_one(data, policy.trim())?;
            recipient.active_sync_mailbox_policy = Some(data.mobile_policies[index].guid.clone());
        }
        // $null: back to the default policy, ActiveSyncMailboxPolicyIsDefaulted true.
        Some(Bound::String(None)) => recipient.active_sync_mailbox_policy = None,
        _ => {}
    }
    if recipient != before {
        recipient.when_changed = ctx.now;
        data.recipients.update(id, &recipient)?;
    }
    Ok(CmdletOutput::default())
}
