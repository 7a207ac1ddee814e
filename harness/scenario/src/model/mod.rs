//! The scenario file's types: what a person writes in `scenarios/<name>.yaml`.
//!
//! Only the shape is checked here (types, unknown keys, the syntax of ids and algorithm lists):
//! serde-saphyr reports those at their line and column. How the parts refer to each other (a
//! message from a user who does not exist, a CA id missing from the PKI) is [`super::validate`]'s
//! job. The doc comments are the JSON Schema's descriptions that editors show, so they are written
//! for the person filling in the YAML.
//!
//! Keys are kebab-case (`virtual-collection`), except where they are someone else's names: the PKI
//! description keeps its own (`crl_base_url`), and `smime-config` / `mobile-policy` use the cmdlet
//! parameter names exactly as Exchange spells them (`OWAClearSign`).

#[macro_use]
mod values;
mod browser_policy;
mod clients;
mod collection;
mod messages;
mod mobile_policies;
mod organisation;
mod pki;
mod publish;
mod services;
mod sync;
mod time;

pub use browser_policy::*;
pub use clients::*;
pub use collection::*;
pub use messages::*;
pub use mobile_policies::*;
pub use organisation::*;
pub use pki::*;
pub use publish::*;
pub use services::*;
pub use sync::*;
pub use time::*;
pub use values::*;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_saphyr::Spanned;

/// A scenario: an organisation, its PKI, the five steps of "Configure S/MIME in Exchange Online"
/// with their settings and expected outcomes, and the messages sent once they are done.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "smime-lab scenario")]
pub struct Scenario {
    /// The scenario's id: lower-case letters, digits and hyphens. The file is `<name>.yaml`.
    #[schemars(with = "Id")]
    pub name: Spanned<Id>,
    /// One sentence: what is rehearsed and what should happen.
    pub summary: Text,
    /// The sentence of Microsoft's documentation (with the document's title and section), or the
    /// observed behaviour, that this scenario exercises. Required: a scenario nobody can trace to
    /// a source cannot tell a bug in the lab from a bug in the setup.
    pub source: Text,
    /// Free labels for filtering runs (`happy-path`, `rsa`, `step-2`).
    #[serde(default)]
    #[schemars(with = "Vec<Id>")]
    pub tags: Vec<Spanned<Id>>,
    /// The tenant and its mailboxes.
    pub organisation: Organisation,
    /// The PKI: a description of the root, intermediates and users (the same YAML as
    /// `fixtures/pki/*.yaml`), or `{ fixture: default }` for the committed lab PKI.
    #[schemars(with = "PkiSection")]
    pub pki: Spanned<PkiSection>,
    /// The five steps. A step that is left out is not run; write `publish: {}` to run a step with
    /// its defaults.
    #[serde(default)]
    pub steps: Steps,
    /// Messages sent, in order, after the steps, and what their recipients must see.
    #[serde(default)]
    #[schemars(with = "Vec<Message>")]
    pub messages: Vec<Spanned<Message>>,
    /// Faults injected into the lab's services (a CRL server that is down).
    #[serde(default)]
    #[schemars(with = "Vec<ServiceFault>")]
    pub services: Vec<Spanned<ServiceFault>>,
}

// --- steps --------------------------------------------------------------------------------------

/// The five steps of "Configure S/MIME in Exchange Online", in the order they run.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Steps {
    /// Step 1: publish users' certificates on their directory objects (LDAP).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Publish>")]
    pub publish: Option<Spanned<Publish>>,
    /// Step 2: export the CA certificates to an SST and import it with
    /// `Set-SmimeConfig -SMIMECertificateIssuingCA`.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<VirtualCollection>")]
    pub virtual_collection: Option<Spanned<VirtualCollection>>,
    /// Step 3: Entra Connect syncs `userCertificate` and `userSMIMECertificate` to the tenant.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<SyncStep>")]
    pub sync: Option<Spanned<SyncStep>>,
    /// Step 4: the `ExtensionInstallForcelist` browser policy for Outlook on the web.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<BrowserPolicy>")]
    pub browser_policy: Option<Spanned<BrowserPolicy>>,
    /// Step 5: Set-SmimeConfig for Outlook on the web, the mobile device mailbox policy, and the
    /// users' certificates installed on their devices.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Clients>")]
    pub clients: Option<Spanned<Clients>>,
}

/// A step written with no value (`publish:`) is almost always meant to run with its defaults;
/// refusing it is kinder than silently skipping the step.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Spanned<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<Spanned<T>>::deserialize(deserializer)? {
        Some(step) => Ok(Some(step)),
        None => Err(de::Error::custom(
            "this step has no value: write `{}` to run it with its defaults, or leave the key out to skip it",
        )),
    }
}
