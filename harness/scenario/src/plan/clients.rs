//! Step 5, `clients`: the admin cmdlets in wire form, and a PKCS#12 file per identity installed on
//! each device.

use smime::pkcs12::Pkcs12Profile;

use super::{Action, Issued, PlanError};
use crate::load::LoadedScenario;
use crate::model::{Clients, KeyStorage, MailClient, Pkcs12Form};

/// The password of every PKCS#12 file the lab makes: these are lab identities, never real ones.
pub const PKCS12_PASSWORD: &str = "smime-lab";

#[derive(Clone, Debug, PartialEq)]
pub struct CmdletCall {
    pub cmdlet: &'static str,
    /// The `Parameters` object of the admin API's `CmdletInput`, by parameter name.
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug)]
pub struct InstallIdentity {
    pub user: String,
    pub client: MailClient,
    pub storage: KeyStorage,
    pub profile: Pkcs12Profile,
    /// One PKCS#12 file per certificate, password [`PKCS12_PASSWORD`].
    pub identities: Vec<(String, Vec<u8>)>,
    /// Other people's certificates installed on the device (public keys only), by certificate
    /// id ([`crate::model::Device::contacts`]).
    pub contacts: Vec<String>,
}

/// One device to install: the user, the client, the certificate ids, the PKCS#12 form, the key's
/// storage, other people's certificate ids.
type DevicePlan = (
    String,
    MailClient,
    Vec<String>,
    Pkcs12Form,
    KeyStorage,
    Vec<String>,
);

pub(super) fn plan(
    loaded: &LoadedScenario,
    c: &Clients,
    issued: &Issued<'_>,
    actions: &mut Vec<Action>,
) -> Result<(), PlanError> {
    let smime_config = parameters(&c.smime_config);
    if !smime_config.is_empty() {
        actions.push(Action::Cmdlet(CmdletCall {
            cmdlet: "Set-SmimeConfig",
            parameters: smime_config,
        }));
    }
    let mut mobile = parameters(&c.mobile_policy);
    if !mobile.is_empty() {
        // `mobile-policy` is the built-in policy's: the one named Default.
        mobile.insert(
            "Identity".to_owned(),
            crate::model::BUILTIN_MOBILE_POLICY.into(),
        );
        actions.push(Action::Cmdlet(CmdletCall {
            cmdlet: "Set-MobileDeviceMailboxPolicy",
            parameters: mobile,
        }));
    }
    mobile_policies(loaded, c, actions);
    for (user, client, certificates, form, storage, contacts) in devices(loaded, c) {
        let profile = match form {
            Pkcs12Form::Modern => Pkcs12Profile::Modern,
            Pkcs12Form::Legacy => Pkcs12Profile::Legacy,
        };
        let identities = certificates
            .into_iter()
            .map(|id| {
                issued
                    .pki
                    .pkcs12(&id, PKCS12_PASSWORD, profile)
                    .map(|p12| (id, p12))
                    .map_err(|source| PlanError::Pkcs12 {
                        scenario: issued.scenario.to_owned(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        actions.push(Action::InstallIdentity(InstallIdentity {
            user,
            client,
            storage,
            profile,
            identities,
            contacts,
        }));
    }
    Ok(())
}

/// `New-MobileDeviceMailboxPolicy` for each further policy (`-IsDefault $true` moves the flag
/// from the built-in policy), then `Set-CASMailbox -ActiveSyncMailboxPolicy` for each mailbox
/// with a policy of its own.
fn mobile_policies(loaded: &LoadedScenario, c: &Clients, actions: &mut Vec<Action>) {
    for (name, policy) in c.mobile_policies.iter() {
        let mut parameters = parameters(&policy.settings);
        parameters.insert("Name".to_owned(), name.value.as_str().into());
        if policy.is_default.value {
            parameters.insert("IsDefault".to_owned(), true.into());
        }
        actions.push(Action::Cmdlet(CmdletCall {
            cmdlet: "New-MobileDeviceMailboxPolicy",
            parameters,
        }));
    }
    for (user, policy) in c.mobile_policy_assignments.iter() {
        let Some(mailbox) = loaded.user(user.value.as_str()).map(|u| u.mailbox.clone()) else {
            continue;
        };
        let mut parameters = serde_json::Map::new();
        parameters.insert("Identity".to_owned(), mailbox.into());
        parameters.insert(
            "ActiveSyncMailboxPolicy".to_owned(),
            policy.0.value.trim().into(),
        );
        actions.push(Action::Cmdlet(CmdletCall {
            cmdlet: "Set-CASMailbox",
            parameters,
        }));
    }
}

/// The devices the scenario lists, or by default every user with certificates on every client.
fn devices(loaded: &LoadedScenario, c: &Clients) -> Vec<DevicePlan> {
    match &c.devices {
        Some(devices) => devices
            .iter()
            .map(|d| {
                let d = &d.value;
                let user = d.user.value.as_str().to_owned();
                let certificates = match &d.certificates {
                    Some(list) => list.iter().map(|c| c.value.as_str().to_owned()).collect(),
                    None => loaded
                        .user(&user)
                        .map(|u| u.certificates.clone())
                        .unwrap_or_default(),
                };
                let contacts = d
                    .contacts
                    .iter()
                    .map(|c| c.value.as_str().to_owned())
                    .collect();
                (user, d.client, certificates, d.pkcs12, d.storage, contacts)
            })
            .collect(),
        None => loaded
            .users
            .iter()
            .filter(|u| !u.certificates.is_empty())
            .flat_map(|u| {
                MailClient::ALL.iter().map(|client| {
                    (
                        u.id.clone(),
                        *client,
                        u.certificates.clone(),
                        Pkcs12Form::Modern,
                        KeyStorage::Software,
                        Vec::new(),
                    )
                })
            })
            .collect(),
    }
}

/// A cmdlet's parameters in wire form: the settings the scenario gives, by their cmdlet names.
fn parameters<T: serde::Serialize>(settings: &T) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(settings) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}
