//! Recipients: `Get-Mailbox`, `Get-Recipient` and `Set-Mailbox -UserCertificate /
//! -UserSMimeCertificate`. Recipients come from the sync import (directory-synced, so Exchange
//! Online refuses to change their certificates) or from the `--users` seed (cloud-only).
//!
//! `ResultSize` behaves as in Exchange: 1000 by default, `Unlimited` for all, and a warning when
//! results were cut.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::params::{Bound, BoundParameters, ParamSpec, ParamType};
use super::{
    Cmdlet, CmdletOutput, DOMAIN_CONTROLLER, Run, TenantContext, Window, identity_matches, record,
};
use crate::store::{Change, RecipientId, View};
use crate::wire::{ExoError, exception};

/// `ResultSize` when the caller gives none.
pub const DEFAULT_RESULT_SIZE: usize = 1000;

/// Exchange's warning when the default `ResultSize` cut the results.
pub const DEFAULT_RESULT_SIZE_WARNING: &str = "By default, only the first 1000 items are \
     returned. Use the ResultSize parameter to specify the number of items returned. To return \
     all items, specify \"-ResultSize Unlimited\". Be aware that, depending upon the actual \
     number of items, returning all items can take a long time and consume a large amount of \
     memory. Also, we don't recommend storing the results in a variable. Instead, pipe the \
     results to another task or script to perform batch changes.";

/// Exchange's warning when an explicit `ResultSize` cut the results.
pub const RESULT_SIZE_WARNING: &str = "There are more results available than are currently \
     displayed. To view them, increase the value for the ResultSize parameter.";

/// A mail user of the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    pub guid: String,
    pub external_directory_object_id: String,
    /// The on-premises source anchor (ImmutableId) of a synced user.
    #[serde(default)]
    pub source_anchor: Option<String>,
    pub user_principal_name: String,
    pub primary_smtp_address: String,
    /// `proxyAddresses` as synced from the directory (`SMTP:primary`, `smtp:secondary`,
    /// `x500:...`); empty for a cloud-only recipient, which has its primary address only here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxy_addresses: Vec<String>,
    pub display_name: String,
    pub alias: String,
    #[serde(with = "crate::store::serde_helpers::bytes_list", default)]
    pub user_certificate: Vec<Vec<u8>>,
    #[serde(with = "crate::store::serde_helpers::bytes_list", default)]
    pub user_smime_certificate: Vec<Vec<u8>>,
    /// Mastered on premises: Exchange Online refuses changes to synced attributes.
    pub is_dir_synced: bool,
    /// The GUID of the mobile device mailbox policy `Set-CASMailbox -ActiveSyncMailboxPolicy`
    /// gave this mailbox; `None`: it follows the default policy
    /// (`ActiveSyncMailboxPolicyIsDefaulted`). A mailbox setting of Exchange Online, which sync
    /// leaves alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_sync_mailbox_policy: Option<String>,
    #[serde(with = "crate::store::serde_helpers::time_rfc3339")]
    pub when_created: OffsetDateTime,
    #[serde(with = "crate::store::serde_helpers::time_rfc3339")]
    pub when_changed: OffsetDateTime,
}

impl Recipient {
    /// A recipient with no certificates. `address` is both UPN and primary SMTP address.
    pub fn new(
        tenant: &str,
        user_principal_name: &str,
        mail: &str,
        display_name: Option<&str>,
        now: OffsetDateTime,
    ) -> Self {
        let alias = user_principal_name
            .split('@')
            .next()
            .unwrap_or(user_principal_name)
            .to_owned();
        Self {
            guid: crate::ids::guid("recipient", &format!("{tenant}/{user_principal_name}")),
            external_directory_object_id: crate::ids::guid(
                "directory-object",
                &format!("{tenant}/{user_principal_name}"),
            ),
            source_anchor: None,
            user_principal_name: user_principal_name.to_owned(),
            primary_smtp_address: mail.to_owned(),
            proxy_addresses: Vec::new(),
            display_name: display_name.unwrap_or(&alias).to_owned(),
            alias,
            user_certificate: Vec::new(),
            user_smime_certificate: Vec::new(),
            is_dir_synced: false,
            active_sync_mailbox_policy: None,
            when_created: now,
            when_changed: now,
        }
    }

    /// The name Exchange shows as `Name` and `Identity`.
    pub fn name(&self) -> &str {
        &self.alias
    }

    /// Whether an identity (any form Exchange takes: name, alias, display name, UPN, SMTP
    /// address, GUID, directory object id) names this recipient.
    pub fn matches(&self, identity: &str) -> bool {
        identity_matches(
            identity,
            &[
                &self.alias,
                &self.display_name,
                &self.user_principal_name,
                &self.primary_smtp_address,
                &self.guid,
                &self.external_directory_object_id,
            ],
        )
    }

    /// Whether an email address is one of this recipient's.
    pub fn has_address(&self, address: &str) -> bool {
        let address = address.trim();
        self.primary_smtp_address.eq_ignore_ascii_case(address)
            || self.user_principal_name.eq_ignore_ascii_case(address)
    }

    /// `EmailAddresses`: the primary as `SMTP:`, then the other synced proxy addresses as the
    /// directory writes them.
    fn email_addresses(&self) -> Vec<Value> {
        let primary = format!("SMTP:{}", self.primary_smtp_address);
        let others = self.proxy_addresses.iter().filter(|p| {
            !p.eq_ignore_ascii_case(&primary) && !p.starts_with("SMTP:") && !p.is_empty()
        });
        std::iter::once(json!(primary))
            .chain(others.map(|p| json!(p)))
            .collect()
    }

    /// The addresses Outlook on the web's certificate finding holds a certificate to.
    pub fn addresses(&self) -> crate::recipient_address::Addresses {
        crate::recipient_address::Addresses {
            primary_smtp_address: self.primary_smtp_address.clone(),
            proxy_addresses: self.proxy_addresses.clone(),
        }
    }

    pub(super) fn common_record(&self, tenant: &str) -> Map<String, Value> {
        use base64::Engine as _;
        let b64 = |values: &[Vec<u8>]| -> Vec<Value> {
            values
                .iter()
                .map(|v| Value::String(base64::engine::general_purpose::STANDARD.encode(v)))
                .collect()
        };
        let mut map = Map::new();
        map.insert("Name".into(), json!(self.name()));
        map.insert("Identity".into(), json!(self.name()));
        map.insert("Id".into(), json!(self.name()));
        map.insert("Alias".into(), json!(self.alias));
        map.insert("DisplayName".into(), json!(self.display_name));
        map.insert(
            "PrimarySmtpAddress".into(),
            json!(self.primary_smtp_address),
        );
        record::collection(&mut map, "EmailAddresses", self.email_addresses());
        map.insert("RecipientType".into(), json!("UserMailbox"));
        map.insert("RecipientTypeDetails".into(), json!("UserMailbox"));
        map.insert(
            "ExternalDirectoryObjectId".into(),
            json!(self.external_directory_object_id),
        );
        record::guid(&mut map, "Guid", &self.guid);
        record::guid(&mut map, "ExchangeObjectId", &self.guid);
        map.insert("IsDirSynced".into(), json!(self.is_dir_synced));
        record::collection(&mut map, "UserCertificate", b64(&self.user_certificate));
        record::collection(
            &mut map,
            "UserSMimeCertificate",
            b64(&self.user_smime_certificate),
        );
        map.insert(
            "DistinguishedName".into(),
            json!(format!(
                "CN={},OU={tenant},OU=Microsoft Exchange Hosted Organizations,DC=MOCKPR01A001,\
                 DC=PROD,DC=OUTLOOK,DC=COM",
                self.name()
            )),
        );
        map.insert("OrganizationalUnitRoot".into(), json!(tenant));
        record::datetime(&mut map, "WhenCreated", Some(self.when_created));
        record::datetime(&mut map, "WhenChanged", Some(self.when_changed));
        map.insert("IsValid".into(), json!(true));
        map.insert("ObjectState".into(), json!("Unchanged"));
        map
    }

    /// The `Get-Mailbox` shape.
    pub fn mailbox_record(&self, tenant: &str) -> Value {
        let mut map = self.common_record(tenant);
        map.insert("UserPrincipalName".into(), json!(self.user_principal_name));
        map.insert(
            "WindowsEmailAddress".into(),
            json!(self.primary_smtp_address),
        );
        map.insert(
            "MicrosoftOnlineServicesID".into(),
            json!(self.user_principal_name),
        );
        map.insert(
            "SourceAnchor".into(),
            json!(self.source_anchor.clone().unwrap_or_default()),
        );
        record::guid(&mut map, "ExchangeGuid", &self.guid);
        map.insert("IsMailboxEnabled".into(), json!(true));
        Value::Object(map)
    }

    /// The `Get-Recipient` shape.
    pub fn recipient_record(&self, tenant: &str) -> Value {
        let mut map = self.common_record(tenant);
        map.insert("WindowsLiveID".into(), json!(self.user_principal_name));
        Value::Object(map)
    }
}

/// The parameters of the Get- cmdlets that list recipients (`list`).
pub(super) const GET_PARAMS: &[ParamSpec] = &[
    ParamSpec::new("Identity", ParamType::Identity),
    ParamSpec::new("ResultSize", ParamType::ResultSize),
];

const SET_MAILBOX_PARAMS: &[ParamSpec] = &[
    ParamSpec::mandatory("Identity", ParamType::Identity),
    ParamSpec::new("UserCertificate", ParamType::MultiBytes),
    ParamSpec::new("UserSMimeCertificate", ParamType::MultiBytes),
    ParamSpec::new("Force", ParamType::Switch),
];

const GET_MAILBOX_NOT_MODELLED: &[&str] = &[
    "Anr",
    "Archive",
    "Filter",
    "GroupMailbox",
    "InactiveMailboxOnly",
    "IncludeInactiveMailbox",
    "MailboxPlan",
    "Migration",
    "OrganizationalUnit",
    "PublicFolder",
    "RecipientTypeDetails",
    "SoftDeletedMailbox",
    "SortBy",
];

const GET_RECIPIENT_NOT_MODELLED: &[&str] = &[
    "Anr",
    "BookmarkDisplayName",
    "Capabilities",
    "Filter",
    "IncludeBookmarkObject",
    "IncludeSoftDeletedRecipients",
    "OrganizationalUnit",
    "Properties",
    "RecipientPreviewFilter",
    "RecipientType",
    "RecipientTypeDetails",
    "SortBy",
];

const SET_MAILBOX_NOT_MODELLED: &[&str] = &[
    "Alias",
    "CustomAttribute1",
    "DisplayName",
    "EmailAddresses",
    "ForwardingSmtpAddress",
    "HiddenFromAddressListsEnabled",
    "Name",
    "PrimarySmtpAddress",
    "Type",
    "WindowsEmailAddress",
];

pub static GET_MAILBOX: Cmdlet = Cmdlet {
    name: "Get-Mailbox",
    params: GET_PARAMS,
    not_modelled: GET_MAILBOX_NOT_MODELLED,
    run: Run::Read(get_mailbox),
};

pub static GET_RECIPIENT: Cmdlet = Cmdlet {
    name: "Get-Recipient",
    params: GET_PARAMS,
    not_modelled: GET_RECIPIENT_NOT_MODELLED,
    run: Run::Read(get_recipient),
};

pub static SET_MAILBOX: Cmdlet = Cmdlet {
    name: "Set-Mailbox",
    params: SET_MAILBOX_PARAMS,
    not_modelled: SET_MAILBOX_NOT_MODELLED,
    run: Run::Write(set_mailbox),
};

/// The recipients a `Get-` cmdlet lists, in the order Exchange lists them here (by name, then
/// GUID), cut to `ResultSize`; only the requested page's rows are read from the store.
pub(super) fn list(
    data: &View<'_>,
    bound: &BoundParameters,
    window: Window,
    shape: impl Fn(&Recipient) -> Value,
) -> Result<CmdletOutput, ExoError> {
    let (limit, warning) = match bound.result_size() {
        None => (Some(DEFAULT_RESULT_SIZE), DEFAULT_RESULT_SIZE_WARNING),
        Some(Some(n)) => (
            Some(usize::try_from(n).unwrap_or(usize::MAX)),
            RESULT_SIZE_WARNING,
        ),
        Some(None) => (None, RESULT_SIZE_WARNING),
    };
    let matching = match bound.identity("Identity") {
        Some(identity) => {
            let ids = data.recipients.matching(identity)?;
            if ids.is_empty() {
                return Err(ExoError::not_found(identity, DOMAIN_CONTROLLER));
            }
            Some(ids)
        }
        None => None,
    };
    let found = match &matching {
        Some(ids) => ids.len(),
        None => data.recipients.count()?,
    };
    let shown = limit.map_or(found, |l| found.min(l));
    let start = window.offset.min(shown);
    let end = start.saturating_add(window.size).min(shown);
    let page = match &matching {
        Some(ids) => data
            .recipients
            .get(ids.get(start..end).unwrap_or_default())?,
        None => data.recipients.page(start, end.saturating_sub(start))?,
    };
    let mut warnings = Vec::new();
    if found > shown {
        warnings.push(warning.to_owned());
    }
    Ok(CmdletOutput {
        values: page.iter().map(shape).collect(),
        warnings,
        paged_total: Some(shown),
    })
}

fn get_mailbox(
    ctx: &TenantContext,
    data: &View<'_>,
    bound: &BoundParameters,
    window: Window,
) -> Result<CmdletOutput, ExoError> {
    list(data, bound, window, |r| r.mailbox_record(&ctx.tenant))
}

fn get_recipient(
    ctx: &TenantContext,
    data: &View<'_>,
    bound: &BoundParameters,
    window: Window,
) -> Result<CmdletOutput, ExoError> {
    list(data, bound, window, |r| r.recipient_record(&ctx.tenant))
}

/// The one recipient `-Identity` names, for a Set- cmdlet (none or several is the cmdlet's
/// error, as live).
pub(super) fn one_recipient(
    data: &Change<'_>,
    bound: &BoundParameters,
) -> Result<(RecipientId, Recipient), ExoError> {
    let identity = bound.identity("Identity").unwrap_or_default();
    let id = match data.recipients.matching(identity)?.as_slice() {
        [] => return Err(ExoError::not_found(identity, DOMAIN_CONTROLLER)),
        [one] => *one,
        _ => return Err(ExoError::ambiguous(identity)),
    };
    match data.recipients.get(&[id])?.pop() {
        Some(recipient) => Ok((id, recipient)),
        None => Err(ExoError::not_found(identity, DOMAIN_CONTROLLER)),
    }
}

fn set_mailbox(
    ctx: &TenantContext,
    data: &mut Change<'_>,
    bound: &BoundParameters,
) -> Result<CmdletOutput, ExoError> {
    let (id, mut recipient) = one_recipient(data, bound)?;
    let before = recipient.clone();
    for (name, value) in bound.iter() {
        let Bound::MultiBytes(change) = value else {
            continue;
        };
        if recipient.is_dir_synced {
            // Live wording, seen for EmailAddresses, CustomAttribute9 and others.
            return Err(ExoError::task(
                exception::AD_SCOPE,
                format!(
                    "The operation on mailbox \"{id}\" failed because it's out of the current \
                     user's write scope. The action 'Set-Mailbox', '{name}', can't be performed \
                     on the object '{id}' because the object is being synchronized from your \
                     on-premises organization. This action should be performed on the object in \
                     your on-premises organization.",
                    id = recipient.name()
                ),
            ));
        }
        match name {
            "UserCertificate" => {
                recipient.user_certificate = change.apply(&recipient.user_certificate);
            }
            "UserSMimeCertificate" => {
                recipient.user_smime_certificate = change.apply(&recipient.user_smime_certificate);
            }
            _ => {}
        }
        recipient.when_changed = ctx.now;
    }
    if recipient != before {
        data.recipients.update(id, &recipient)?;
    }
    Ok(CmdletOutput::default())
}
