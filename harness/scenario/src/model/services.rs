//! `services`: faults injected into the lab's services, and the stages of a run they start and end at.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// A lab service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    /// The directory (on-premises AD DS).
    Directory,
    /// The mock Exchange Online tenant.
    Tenant,
    /// The SMTP sink (the mail flow).
    Smtp,
    /// The CA's public web server for CRLs and CA certificates.
    PkiWeb,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Directory => "directory",
            Service::Tenant => "tenant",
            Service::Smtp => "smtp",
            Service::PkiWeb => "pki-web",
        }
    }
}

/// What goes wrong with a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The service stops answering (connections are refused).
    Down,
}

/// A point in the run: before one of the steps, or before the messages.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Step 1.
    Publish,
    /// Step 2.
    VirtualCollection,
    /// Step 3.
    Sync,
    /// Step 4.
    BrowserPolicy,
    /// Step 5.
    Clients,
    /// The messages, after the steps.
    Messages,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Publish => "publish",
            Stage::VirtualCollection => "virtual-collection",
            Stage::Sync => "sync",
            Stage::BrowserPolicy => "browser-policy",
            Stage::Clients => "clients",
            Stage::Messages => "messages",
        }
    }
}

/// A fault injected into a service for part of the run.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceFault {
    /// The service.
    pub service: Service,
    /// What goes wrong.
    pub fault: Fault,
    /// When it starts: before this step, or before the messages.
    #[schemars(with = "Stage")]
    pub at: Spanned<Stage>,
    /// When it is repaired: before this later step. Default: it lasts to the end of the run.
    #[serde(default)]
    #[schemars(with = "Option<Stage>")]
    pub until: Option<Spanned<Stage>>,
}
