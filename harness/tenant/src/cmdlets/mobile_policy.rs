//! `New-`, `Set-`, `Get-` and `Remove-MobileDeviceMailboxPolicy`: the Exchange ActiveSync
//! policies whose six S/MIME settings mobile clients follow.
//!
//! Enum values are the Exchange ActiveSync wire values (MS-ASPROV), which are also the .NET
//! enums' numeric values, so PowerShell binds a policy setting by name or by number alike. The
//! built-in policy `Default` exists from the start and is the default policy until another one
//! is made the default: "The IsDefault parameter specifies whether this policy is the default
//! mobile device mailbox policy. [...] There can be only one default policy. If another policy is
//! currently set as the default, and you set this parameter to $true, this policy becomes the
//! default policy. The value of this parameter on the other policy is automatically changed to
//! $false" (New-/Set-MobileDeviceMailboxPolicy). Which policy a mailbox follows is
//! [`super::cas_mailbox`]'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::params::{Bound, BoundParameters, EnumType, ParamSpec, ParamType};
use super::{
    Cmdlet, CmdletOutput, DOMAIN_CONTROLLER, Run, TenantContext, Window, identity_matches, record,
};
use crate::store::{Change, TenantData, View};
use crate::wire::{ExoError, exception};

pub static SIGNED_SMIME_ALGORITHM: EnumType = EnumType {
    dotnet: "Microsoft.Exchange.Data.Directory.SystemConfiguration.SignedSMIMEAlgorithmType",
    members: &[("SHA1", 0), ("MD5", 1)],
};

pub static ENCRYPTION_SMIME_ALGORITHM: EnumType = EnumType {
    dotnet: "Microsoft.Exchange.Data.Directory.SystemConfiguration.EncryptionSMIMEAlgorithmType",
    members: &[
        ("TripleDES", 0),
        ("DES", 1),
        ("RC2128bit", 2),
        ("RC264bit", 3),
        ("RC240bit", 4),
    ],
};

pub static SMIME_NEGOTIATION: EnumType = EnumType {
    dotnet: "Microsoft.Exchange.Data.Directory.SystemConfiguration.SMIMEEncryptionAlgorithmNegotiationType",
    members: &[
        ("BlockNegotiation", 0),
        ("OnlyStrongAlgorithmNegotiation", 1),
        ("AllowAnyAlgorithmNegotiation", 2),
    ],
};

pub static BLUETOOTH: EnumType = EnumType {
    dotnet: "Microsoft.Exchange.Data.Directory.SystemConfiguration.BluetoothType",
    members: &[("Disable", 0), ("HandsfreeOnly", 1), ("Allow", 2)],
};

pub static CALENDAR_AGE_FILTER: EnumType = EnumType {
    dotnet: "Microsoft.Exchange.Data.Directory.SystemConfiguration.CalendarAgeFilterType",
    members: &[
        ("All", 0),
        ("TwoWeeks", 4),
        ("OneMonth", 5),
        ("ThreeMonths", 6),
        ("SixMonths", 7),
    ],
};

pub static EMAIL_AGE_FILTER: EnumType = EnumType {
    dotnet: "Microsoft.Exchange.Data.Directory.SystemConfiguration.EmailAgeFilterType",
    members: &[
        ("All", 0),
        ("OneDay", 1),
        ("ThreeDays", 2),
        ("OneWeek", 3),
        ("TwoWeeks", 4),
        ("OneMonth", 5),
    ],
};

/// A setting's type and default (New-MobileDeviceMailboxPolicy documentation).
#[derive(Debug, Clone, Copy)]
pub enum Default {
    Bool(bool),
    Int32(i32),
    Enum(&'static EnumType, i64),
}

/// Every modelled setting: the six S/MIME ones first, then the rest of the documented Boolean,
/// Int32 and enum settings (so scripts that set them work and `Get-` shows them).
pub const SETTINGS: &[(&str, Default)] = &[
    ("RequireSignedSMIMEMessages", Default::Bool(false)),
    ("RequireEncryptedSMIMEMessages", Default::Bool(false)),
    (
        "RequireSignedSMIMEAlgorithm",
        Default::Enum(&SIGNED_SMIME_ALGORITHM, 0),
    ),
    (
        "RequireEncryptionSMIMEAlgorithm",
        Default::Enum(&ENCRYPTION_SMIME_ALGORITHM, 0),
    ),
    (
        "AllowSMIMEEncryptionAlgorithmNegotiation",
        Default::Enum(&SMIME_NEGOTIATION, 2),
    ),
    ("AllowSMIMESoftCerts", Default::Bool(true)),
    ("AllowApplePushNotifications", Default::Bool(true)),
    ("AllowBluetooth", Default::Enum(&BLUETOOTH, 2)),
    ("AllowBrowser", Default::Bool(true)),
    ("AllowCamera", Default::Bool(true)),
    ("AllowConsumerEmail", Default::Bool(true)),
    ("AllowDesktopSync", Default::Bool(true)),
    ("AllowExternalDeviceManagement", Default::Bool(false)),
    ("AllowGooglePushNotifications", Default::Bool(true)),
    ("AllowHTMLEmail", Default::Bool(true)),
    ("AllowInternetSharing", Default::Bool(true)),
    ("AllowIrDA", Default::Bool(true)),
    ("AllowMicrosoftPushNotifications", Default::Bool(true)),
    ("AllowMobileOTAUpdate", Default::Bool(true)),
    ("AllowNonProvisionableDevices", Default::Bool(true)),
    ("AllowPOPIMAPEmail", Default::Bool(true)),
    ("AllowRemoteDesktop", Default::Bool(true)),
    ("AllowSimplePassword", Default::Bool(true)),
    ("AllowStorageCard", Default::Bool(true)),
    ("AllowTextMessaging", Default::Bool(true)),
    ("AllowUnsignedApplications", Default::Bool(true)),
    ("AllowUnsignedInstallationPackages", Default::Bool(true)),
    ("AllowWiFi", Default::Bool(true)),
    ("AlphanumericPasswordRequired", Default::Bool(false)),
    ("AttachmentsEnabled", Default::Bool(true)),
    ("DeviceEncryptionEnabled", Default::Bool(false)),
    ("IrmEnabled", Default::Bool(true)),
    (
        "MaxCalendarAgeFilter",
        Default::Enum(&CALENDAR_AGE_FILTER, 0),
    ),
    ("MaxEmailAgeFilter", Default::Enum(&EMAIL_AGE_FILTER, 0)),
    ("MinPasswordComplexCharacters", Default::Int32(1)),
    ("PasswordEnabled", Default::Bool(false)),
    ("PasswordHistory", Default::Int32(0)),
    ("PasswordRecoveryEnabled", Default::Bool(false)),
    ("RequireDeviceEncryption", Default::Bool(false)),
    ("RequireManualSyncWhenRoaming", Default::Bool(false)),
    ("RequireStorageCardEncryption", Default::Bool(false)),
    ("UNCAccessEnabled", Default::Bool(true)),
    ("WSSAccessEnabled", Default::Bool(true)),
];

/// Documented parameters the mock does not model (Unlimited<T> values, application lists).
const NOT_MODELLED: &[&str] = &[
    "ApprovedApplicationList",
    "DevicePolicyRefreshInterval",
    "MaxAttachmentSize",
    "MaxEmailBodyTruncationSize",
    "MaxEmailHTMLBodyTruncationSize",
    "MaxInactivityTimeLock",
    "MaxPasswordFailedAttempts",
    "MinPasswordLength",
    "PasswordExpiration",
    "UnapprovedInROMApplicationList",
];

macro_rules! setting_params {
    ($($first:expr),* $(,)?) => {
        &[
            $($first,)*
            ParamSpec::new("RequireSignedSMIMEMessages", ParamType::Bool),
            ParamSpec::new("RequireEncryptedSMIMEMessages", ParamType::Bool),
            ParamSpec::new("RequireSignedSMIMEAlgorithm", ParamType::Enum(&SIGNED_SMIME_ALGORITHM)),
            ParamSpec::new("RequireEncryptionSMIMEAlgorithm", ParamType::Enum(&ENCRYPTION_SMIME_ALGORITHM)),
            ParamSpec::new("AllowSMIMEEncryptionAlgorithmNegotiation", ParamType::Enum(&SMIME_NEGOTIATION)),
            ParamSpec::new("AllowSMIMESoftCerts", ParamType::Bool),
            ParamSpec::new("AllowApplePushNotifications", ParamType::Bool),
            ParamSpec::new("AllowBluetooth", ParamType::Enum(&BLUETOOTH)),
            ParamSpec::new("AllowBrowser", ParamType::Bool),
            ParamSpec::new("AllowCamera", ParamType::Bool),
            ParamSpec::new("AllowConsumerEmail", ParamType::Bool),
            ParamSpec::new("AllowDesktopSync", ParamType::Bool),
            ParamSpec::new("AllowExternalDeviceManagement", ParamType::Bool),
            ParamSpec::new("AllowGooglePushNotifications", ParamType::Bool),
            ParamSpec::new("AllowHTMLEmail", ParamType::Bool),
            ParamSpec::new("AllowInternetSharing", ParamType::Bool),
            ParamSpec::new("AllowIrDA", ParamType::Bool),
            ParamSpec::new("AllowMicrosoftPushNotifications", ParamType::Bool),
            ParamSpec::new("AllowMobileOTAUpdate", ParamType::Bool),
            ParamSpec::new("AllowNonProvisionableDevices", ParamType::Bool),
            ParamSpec::new("AllowPOPIMAPEmail", ParamType::Bool),
            ParamSpec::new("AllowRemoteDesktop", ParamType::Bool),
            ParamSpec::new("AllowSimplePassword", ParamType::Bool),
            ParamSpec::new("AllowStorageCard", ParamType::Bool),
            ParamSpec::new("AllowTextMessaging", ParamType::Bool),
            ParamSpec::new("AllowUnsignedApplications", ParamType::Bool),
            ParamSpec::new("AllowUnsignedInstallationPackages", ParamType::Bool),
            ParamSpec::new("AllowWiFi", ParamType::Bool),
            ParamSpec::new("AlphanumericPasswordRequired", ParamType::Bool),
            ParamSpec::new("AttachmentsEnabled", ParamType::Bool),
            ParamSpec::new("DeviceEncryptionEnabled", ParamType::Bool),
            ParamSpec::new("IrmEnabled", ParamType::Bool),
            ParamSpec::new("MaxCalendarAgeFilter", ParamType::Enum(&CALENDAR_AGE_FILTER)),
            ParamSpec::new("MaxEmailAgeFilter", ParamType::Enum(&EMAIL_AGE_FILTER)),
            ParamSpec::new("MinPasswordComplexCharacters", ParamType::Int32),
            ParamSpec::new("PasswordEnabled", ParamType::Bool),
            ParamSpec::new("PasswordHistory", ParamType::Int32),
            ParamSpec::new("PasswordRecoveryEnabled", ParamType::Bool),
            ParamSpec::new("RequireDeviceEncryption", ParamType::Bool),
            ParamSpec::new("RequireManualSyncWhenRoaming", ParamType::Bool),
            ParamSpec::new("RequireStorageCardEncryption", ParamType::Bool),
            ParamSpec::new("UNCAccessEnabled", ParamType::Bool),
            ParamSpec::new("WSSAccessEnabled", ParamType::Bool),
        ]
    };
}

const NEW_PARAMS: &[ParamSpec] = setting_params!(
    ParamSpec::mandatory("Name", ParamType::Identity),
    ParamSpec::new("IsDefault", ParamType::Bool),
);
const SET_PARAMS: &[ParamSpec] = setting_params!(
    ParamSpec::mandatory("Identity", ParamType::Identity),
    ParamSpec::new("Name", ParamType::Identity),
    ParamSpec::new("IsDefault", ParamType::Bool),
);
const GET_PARAMS: &[ParamSpec] = &[ParamSpec::new("Identity", ParamType::Identity)];
const REMOVE_PARAMS: &[ParamSpec] = &[
    ParamSpec::mandatory("Identity", ParamType::Identity),
    ParamSpec::new("Force", ParamType::Switch),
];

pub static GET: Cmdlet = Cmdlet {
    name: "Get-MobileDeviceMailboxPolicy",
    params: GET_PARAMS,
    not_modelled: &[],
    run: Run::Read(get),
};
pub static NEW: Cmdlet = Cmdlet {
    name: "New-MobileDeviceMailboxPolicy",
    params: NEW_PARAMS,
    not_modelled: NOT_MODELLED,
    run: Run::Write(new),
};
pub static SET: Cmdlet = Cmdlet {
    name: "Set-MobileDeviceMailboxPolicy",
    params: SET_PARAMS,
    not_modelled: NOT_MODELLED,
    run: Run::Write(set),
};
pub static REMOVE: Cmdlet = Cmdlet {
    name: "Remove-MobileDeviceMailboxPolicy",
    params: REMOVE_PARAMS,
    not_modelled: &[],
    run: Run::Write(remove),
};

/// One policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MobilePolicy {
    pub guid: String,
    pub name: String,
    pub is_default: bool,
    /// Settings that were set: JSON booleans and numbers (enum settings by their value).
    pub settings: BTreeMap<String, Value>,
    #[serde(with = "crate::store::serde_helpers::time_rfc3339")]
    pub when_created: OffsetDateTime,
    #[serde(with = "crate::store::serde_helpers::time_rfc3339")]
    pub when_changed: OffsetDateTime,
}

/// The six S/MIME settings of a policy, as a mobile client applies them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MobileSmimePolicy {
    pub require_signed_smime_messages: bool,
    pub require_encrypted_smime_messages: bool,
    /// EAS value: 0 SHA1, 1 MD5.
    pub require_signed_smime_algorithm: i64,
    /// EAS value: 0 TripleDES, 1 DES, 2 RC2128bit, 3 RC264bit, 4 RC240bit.
    pub require_encryption_smime_algorithm: i64,
    /// EAS value: 0 BlockNegotiation, 1 OnlyStrongAlgorithmNegotiation, 2 AllowAny.
    pub allow_smime_encryption_algorithm_negotiation: i64,
    pub allow_smime_soft_certs: bool,
}

impl MobilePolicy {
    /// The built-in policy every tenant has.
    pub fn builtin_default(tenant: &str, created: OffsetDateTime) -> Self {
        Self {
            guid: crate::ids::guid("mobile-policy", &format!("{tenant}/Default")),
            name: "Default".into(),
            is_default: true,
            settings: BTreeMap::new(),
            when_created: created,
            when_changed: created,
        }
    }

    /// A setting's stored value or its default, as a JSON boolean or number.
    pub fn value(&self, name: &str) -> Option<Value> {
        let (_, default) = SETTINGS.iter().find(|(n, _)| *n == name)?;
        Some(self.settings.get(name).cloned().unwrap_or(match default {
            Default::Bool(b) => json!(b),
            Default::Int32(n) => json!(n),
            Default::Enum(_, v) => json!(v),
        }))
    }

    fn bool(&self, name: &str) -> bool {
        self.value(name).and_then(|v| v.as_bool()).unwrap_or(false)
    }

    fn number(&self, name: &str) -> i64 {
        self.value(name).and_then(|v| v.as_i64()).unwrap_or(0)
    }

    pub fn smime(&self) -> MobileSmimePolicy {
        MobileSmimePolicy {
            require_signed_smime_messages: self.bool("RequireSignedSMIMEMessages"),
            require_encrypted_smime_messages: self.bool("RequireEncryptedSMIMEMessages"),
            require_signed_smime_algorithm: self.number("RequireSignedSMIMEAlgorithm"),
            require_encryption_smime_algorithm: self.number("RequireEncryptionSMIMEAlgorithm"),
            allow_smime_encryption_algorithm_negotiation: self
                .number("AllowSMIMEEncryptionAlgorithmNegotiation"),
            allow_smime_soft_certs: self.bool("AllowSMIMESoftCerts"),
        }
    }

    fn to_record(&self, tenant: &str) -> Value {
        let mut map = Map::new();
        map.insert("Name".into(), json!(self.name));
        map.insert("Identity".into(), json!(self.name));
        map.insert("Id".into(), json!(self.name));
        record::guid(&mut map, "Guid", &self.guid);
        map.insert("IsDefault".into(), json!(self.is_default));
        for (name, default) in SETTINGS {
            let value = self.value(name).unwrap_or(Value::Null);
            let shown = match default {
                // Enums travel as their names.
                Default::Enum(enum_type, _) => value
                    .as_i64()
                    .and_then(|v| enum_type.name_of(v))
                    .map(|n| json!(n))
                    .unwrap_or(value),
                _ => value,
            };
            map.insert((*name).to_owned(), shown);
        }
        map.insert(
            "DistinguishedName".into(),
            json!(format!(
                "CN={},CN=Mobile Mailbox Policies,CN={tenant},CN=ConfigurationUnits,\
                 DC=MOCKPR01A001,DC=PROD,DC=OUTLOOK,DC=COM",
                self.name
            )),
        );
        map.insert("OrganizationId".into(), json!(tenant));
        record::datetime(&mut map, "WhenCreated", Some(self.when_created));
        record::datetime(&mut map, "WhenChanged", Some(self.when_changed));
        map.insert("IsValid".into(), json!(true));
        map.insert("ObjectState".into(), json!("Unchanged"));
        Value::Object(map)
    }
}

/// Indexes of the policies an identity names (name or GUID, `*` wildcards).
fn resolve(data: &TenantData, identity: &str) -> Vec<usize> {
    data.mobile_policies
        .iter()
        .enumerate()
        .filter(|(_, p)| identity_matches(identity, &[&p.name, &p.guid]))
        .map(|(i, _)| i)
        .collect()
}

/// The index of the one policy an identity names (as `-Identity` and `Set-CASMailbox
/// -ActiveSyncMailboxPolicy` take it: "any value that uniquely identifies" the policy).
pub(super) fn resolve_one(data: &TenantData, identity: &str) -> Result<usize, ExoError> {
    match resolve(data, identity).as_slice() {
        [] => Err(ExoError::not_found(identity, DOMAIN_CONTROLLER)),
        [one] => Ok(*one),
        _ => Err(ExoError::ambiguous(identity)),
    }
}

fn get(
    ctx: &TenantContext,
    data: &View<'_>,
    bound: &BoundParameters,
    _window: Window,
) -> Result<CmdletOutput, ExoError> {
    let indexes = match bound.identity("Identity") {
        Some(identity) => {
            let found = resolve(data, identity);
            if found.is_empty() {
                return Err(ExoError::not_found(identity, DOMAIN_CONTROLLER));
            }
            found
        }
        None => (0..data.mobile_policies.len()).collect(),
    };
    Ok(CmdletOutput {
        values: indexes
            .into_iter()
            .filter_map(|i| data.mobile_policies.get(i))
            .map(|p| p.to_record(&ctx.tenant))
            .collect(),
        warnings: Vec::new(),
        paged_total: None,
    })
}

fn already_exists(ctx: &TenantContext, name: &str) -> ExoError {
    ExoError::task(
        exception::OBJECT_ALREADY_EXISTS,
        format!(
            "Active Directory operation failed on {DOMAIN_CONTROLLER}. The object \
             'CN={name},CN=Mobile Mailbox Policies,CN={},CN=ConfigurationUnits,DC=MOCKPR01A001,\
             DC=PROD,DC=OUTLOOK,DC=COM' already exists.",
            ctx.tenant
        ),
    )
}

fn apply_settings(policy: &mut MobilePolicy, bound: &BoundParameters) {
    for (name, value) in bound.iter() {
        if !SETTINGS.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let stored = match value {
            Bound::Bool(b) => json!(b),
            Bound::Int32(n) => json!(n),
            Bound::Enum(v) => json!(v),
            _ => continue,
        };
        policy.settings.insert(name.to_owned(), stored);
        // Documented: requiring storage card encryption turns device encryption on.
        if name == "RequireStorageCardEncryption" && matches!(value, Bound::Bool(true)) {
            policy
                .settings
                .insert("DeviceEncryptionEnabled".into(), json!(true));
        }
    }
}

fn make_default(data: &mut TenantData, index: usize) {
    for (i, policy) in data.mobile_policies.iter_mut().enumerate() {
        policy.is_default = i == index;
    }
}

fn new(
    ctx: &TenantContext,
    data: &mut Change<'_>,
    bound: &BoundParameters,
) -> Result<CmdletOutput, ExoError> {
    let name = bound.identity("Name").unwrap_or_default().trim().to_owned();
    if data
        .mobile_policies
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case(&name))
    {
        return Err(already_exists(ctx, &name));
    }
    let mut policy = MobilePolicy {
        guid: crate::ids::guid("mobile-policy", &format!("{}/{name}", ctx.tenant)),
        name,
        is_default: false,
        settings: BTreeMap::new(),
        when_created: ctx.now,
        when_changed: ctx.now,
    };
    apply_settings(&mut policy, bound);
    let record = policy.to_record(&ctx.tenant);
    data.mobile_policies.push(policy);
    if matches!(bound.get("IsDefault"), Some(Bound::Bool(true))) {
        let last = data.mobile_policies.len().saturating_sub(1);
        make_default(data, last);
    }
    let record = data
        .mobile_policies
        .last()
        .map(|p| p.to_record(&ctx.tenant))
        .unwrap_or(record);
    Ok(CmdletOutput {
        values: vec![record],
        warnings: Vec::new(),
        paged_total: None,
    })
}

fn set(
    ctx: &TenantContext,
    data: &mut Change<'_>,
    bound: &BoundParameters,
) -> Result<CmdletOutput, ExoError> {
    let identity = bound.identity("Identity").unwrap_or_default();
    let index = resolve_one(data, identity)?;
    if let Some(new_name) = bound.identity("Name") {
        let taken = data
            .mobile_policies
            .iter()
            .enumerate()
            .any(|(i, p)| i != index && p.name.eq_ignore_ascii_case(new_name.trim()));
        if taken {
            return Err(already_exists(ctx, new_name.trim()));
        }
    }
    if matches!(bound.get("IsDefault"), Some(Bound::Bool(false)))
        && data
            .mobile_policies
            .get(index)
            .is_some_and(|p| p.is_default)
    {
        // "There can be only one default policy": the flag moves to another policy (that
        // policy's `-IsDefault $true`); it is not taken off the default, which would leave the
        // mailboxes that follow the default policy with none. Exchange's wording for this
        // refusal is not public.
        return Err(ExoError::task(
            exception::INVALID_OPERATION,
            format!(
                "The mobile device mailbox policy '{identity}' is the default policy. To make \
                 another policy the default, run Set-MobileDeviceMailboxPolicy -IsDefault $true \
                 on that policy."
            ),
        ));
    }
    let Some(policy) = data.mobile_policies.get_mut(index) else {
        return Err(ExoError::not_found(identity, DOMAIN_CONTROLLER));
    };
    if let Some(new_name) = bound.identity("Name") {
        policy.name = new_name.trim().to_owned();
    }
    apply_settings(policy, bound);
    policy.when_changed = ctx.now;
    match bound.get("IsDefault") {
        Some(Bound::Bool(true)) => make_default(data, index),
        Some(Bound::Bool(false)) => {
            if let Some(policy) = data.mobile_policies.get_mut(index) {
                policy.is_default = false;
            }
        }
        _ => {}
    }
    Ok(CmdletOutput::default())
}

fn remove(
    _ctx: &TenantContext,
    data: &mut Change<'_>,
    bound: &BoundParameters,
) -> Result<CmdletOutput, ExoError> {
    let identity = bound.identity("Identity").unwrap_or_default();
    let index = resolve_one(data, identity)?;
    if data
        .mobile_policies
        .get(index)
        .is_some_and(|p| p.is_default)
    {
        // Exchange's wording for this refusal is not public; the rule (make another policy the
        // default first) is what the EAC enforces.
        return Err(ExoError::task(
            exception::INVALID_OPERATION,
            format!(
                "The mobile device mailbox policy '{identity}' is the default policy and can't \
                 be removed. Make another policy the default (Set-MobileDeviceMailboxPolicy \
                 -IsDefault $true) first."
            ),
        ));
    }
    // Remove-MobileDeviceMailboxPolicy: "If any users are assigned to the policy when you remove
    // it, the Remove-MobileDeviceMailboxPolicy cmdlet fails." Assigned is `Set-CASMailbox
    // -ActiveSyncMailboxPolicy` (a mailbox that follows the default is refused above). The
    // wording of the failure is not public.
    let guid = data
        .mobile_policies
        .get(index)
        .map(|p| p.guid.clone())
        .unwrap_or_default();
    let assigned = mailboxes_assigned(data, &guid)?;
    if assigned > 0 {
        return Err(ExoError::task(
            exception::INVALID_OPERATION,
            format!(
                "The mobile device mailbox policy '{identity}' can't be removed: {assigned} \
                 mailbox(es) are assigned to it. Assign them another policy (Set-CASMailbox \
                 -ActiveSyncMailboxPolicy) first."
            ),
        ));
    }
    data.mobile_policies.remove(index);
    Ok(CmdletOutput::default())
}

/// How many mailboxes `Set-CASMailbox -ActiveSyncMailboxPolicy` gave the policy `guid`, read in
/// pages (a tenant may hold 100,000 recipients).
fn mailboxes_assigned(data: &Change<'_>, guid: &str) -> Result<usize, ExoError> {
    const PAGE: usize = 1000;
    let total = data.recipients.count()?;
    let mut assigned = 0;
    for offset in (0..total).step_by(PAGE) {
        assigned += data
            .recipients
            .page(offset, PAGE)?
            .iter()
            .filter(|r| r.active_sync_mailbox_policy.as_deref() == Some(guid))
            .count();
    }
    Ok(assigned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_and_parameters_agree() {
        for (name, default) in SETTINGS {
            for specs in [NEW_PARAMS, SET_PARAMS] {
                let spec = specs
                    .iter()
                    .find(|s| s.name == *name)
                    .unwrap_or_else(|| panic!("{name} has no parameter"));
                let ok = matches!(
                    (default, spec.ty),
                    (Default::Bool(_), ParamType::Bool)
                        | (Default::Int32(_), ParamType::Int32)
                        | (Default::Enum(..), ParamType::Enum(_))
                );
                assert!(ok, "{name}");
            }
        }
        const NS: &str = "Microsoft.Exchange.Data.Directory.SystemConfiguration";
        for e in [
            &SIGNED_SMIME_ALGORITHM,
            &ENCRYPTION_SMIME_ALGORITHM,
            &SMIME_NEGOTIATION,
        ] {
            assert!(e.dotnet.starts_with(NS));
        }
    }

    #[test]
    fn builtin_default_has_the_documented_smime_defaults() {
        let policy = MobilePolicy::builtin_default(
            "t",
            crate::clock::parse_rfc3339("2030-01-01T00:00:00Z").unwrap(),
        );
        assert_eq!(
            policy.smime(),
            MobileSmimePolicy {
                require_signed_smime_messages: false,
                require_encrypted_smime_messages: false,
                require_signed_smime_algorithm: 0,
                require_encryption_smime_algorithm: 0,
                allow_smime_encryption_algorithm_negotiation: 2,
                allow_smime_soft_certs: true,
            }
        );
        let record = policy.to_record("t");
        assert_eq!(record["RequireSignedSMIMEAlgorithm"], "SHA1");
        assert_eq!(record["RequireEncryptionSMIMEAlgorithm"], "TripleDES");
        assert_eq!(
            record["AllowSMIMEEncryptionAlgorithmNegotiation"],
            "AllowAnyAlgorithmNegotiation"
        );
        assert_eq!(record["IsDefault"], true);
    }
}
