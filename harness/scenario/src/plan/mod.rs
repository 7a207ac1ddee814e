//! From a validated scenario to the ordered list of actions the runner takes, with everything
//! that needs no service worked out: the PKI is issued (`smime::pki::build`), the SST is written
//! (`smime::sst::write_sst`), the browser policy files are produced, PKCS#12 files are made and
//! cmdlet parameters are in their wire form. Executing the actions against the lab is not this
//! module's job.
//!
//! The order is the data flow of the design: PKI and users first, then the five steps, then the
//! messages; a service fault starts right before the first action of its `at` stage and ends right
//! before its `until` stage.
//!
//! One module per step, as in the format ([`crate::model`]) and the executor: each turns its part
//! of the scenario into actions, in the order the plan takes them.

mod browser_policy;
mod clients;
mod collection;
mod display;
mod messages;
mod population;
mod publish;
mod services;
mod setup;
mod sync;
#[cfg(test)]
mod tests;
mod timeline;

pub use browser_policy::*;
pub use clients::*;
pub use collection::*;
pub use messages::*;
pub use population::*;
pub use publish::*;
pub use services::*;
pub use setup::*;
pub use sync::*;

use smime::certificate::sha1_thumbprint;
use smime::pki::{BuiltPki, PkiError};
use time::OffsetDateTime;

use crate::load::{GeneratedPopulation, LoadedScenario};
use crate::model::Stage;

/// What the runner will do, in order.
#[derive(Clone, Debug)]
pub struct Plan {
    pub scenario: String,
    pub tenant: String,
    pub domain: String,
    /// The scenario's clock: the PKI's `now`. Every validation runs at this instant.
    pub now: OffsetDateTime,
    /// Every certificate, key and CRL, including extra and filler certificates.
    pub pki: BuiltPki,
    pub actions: Vec<Action>,
    /// The generated populations: the runner sums up each one's per-user steps.
    pub populations: Vec<GeneratedPopulation>,
}

/// One thing the runner does.
#[derive(Clone, Debug)]
pub enum Action {
    /// Publish the CA certificates and CRLs on the pki-web service, at the URLs the certificates
    /// name.
    ServePki(ServePki),
    /// Create a directory object and a tenant mailbox for each user.
    CreateUsers(Vec<PlannedUser>),
    /// Start or end a fault of a service.
    Fault(FaultChange),
    /// Step 1: write certificates into one attribute of one user's directory object.
    Publish(PublishValues),
    /// Step 2: `Set-SmimeConfig -SMIMECertificateIssuingCA <bytes>`.
    ImportCollection(ImportCollection),
    /// Step 3: one Entra Connect cycle.
    Sync(SyncRun),
    /// After step 3: a generated population's users looked up and their certificates checked.
    CheckPopulation(Box<PopulationCheck>),
    /// Step 4: write one browser policy file and check its value.
    BrowserPolicy(PolicyArtifact),
    /// Step 5: an admin cmdlet with its parameters (`Set-SmimeConfig`,
    /// `Set-`/`New-MobileDeviceMailboxPolicy`, `Set-CASMailbox`).
    Cmdlet(CmdletCall),
    /// Step 5: install a user's identities (certificate and key) on a client.
    InstallIdentity(InstallIdentity),
    /// Send a message and check what happens to it.
    Send(Box<SendMessage>),
    /// Move the lab clock forward to this time after the scenario's start (the tenant judges
    /// certificates and CRLs at it; Entra Connect's scheduled cycles and late publications
    /// before it have happened).
    Clock(crate::model::LabOffset),
}

/// A certificate of the plan's PKI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRef {
    pub id: String,
    /// SHA-1, upper-case hex, as Exchange shows thumbprints.
    pub thumbprint: String,
    pub not_after: OffsetDateTime,
    pub der: Vec<u8>,
}

/// Why a plan could not be made. Validation has checked every reference, so these are failures
/// to issue (a key, a certificate) or to encode, not mistakes in the file.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{scenario}: the PKI could not be issued: {source}")]
    Pki {
        scenario: String,
        #[source]
        source: PkiError,
    },
    #[error("{scenario}: the filler certificates could not be issued: {source}")]
    Filler {
        scenario: String,
        #[source]
        source: PkiError,
    },
    #[error("{scenario}: the SST could not be written: {source}")]
    Sst {
        scenario: String,
        #[source]
        source: smime::sst::SstWriteError,
    },
    #[error("{scenario}: a PKCS#12 file could not be made: {source}")]
    Pkcs12 {
        scenario: String,
        #[source]
        source: PkiError,
    },
    #[error("{scenario}: {what} `{id}` was not issued (a bug in the plan: please report it)")]
    Missing {
        scenario: String,
        what: &'static str,
        id: String,
    },
}

/// Works out everything the scenario will do, generating every key.
pub fn plan(loaded: &LoadedScenario) -> Result<Plan, PlanError> {
    plan_with(loaded, &smime::key::Generated)
}

/// [`plan`] with the PKI's keys from `keys` (`smime::pki::build_with`): the same plan, byte for
/// byte, whichever source; the runner's key cache makes a warm run skip RSA key generation. The
/// filler certificates of a virtual collection are ECDSA P-256, generated in microseconds, and
/// always generated.
pub fn plan_with(
    loaded: &LoadedScenario,
    keys: &dyn smime::key::KeySource,
) -> Result<Plan, PlanError> {
    let scenario = &loaded.scenario;
    let name = loaded.name().to_owned();
    let steps = &scenario.steps;

    let description = publish::with_extra_certificates(loaded);
    let pki = smime::pki::build_with(&description, keys).map_err(|source| PlanError::Pki {
        scenario: name.clone(),
        source,
    })?;
    let now = description.now.0;
    let issued = Issued {
        pki: &pki,
        scenario: &name,
    };

    let mut actions = vec![setup::serve_pki(&pki), setup::create_users(loaded)];
    let faults = FaultSchedule::new(&scenario.services);
    let mut late = Vec::new();
    if let Some(step) = &steps.publish {
        faults.enter(Stage::Publish, &mut actions);
        publish::plan(loaded, &step.value, &issued, &mut actions, &mut late, now)?;
    }
    if let Some(step) = &steps.virtual_collection {
        faults.enter(Stage::VirtualCollection, &mut actions);
        collection::plan(&step.value, &description, &issued, &mut actions)?;
    }
    if let Some(step) = &steps.sync {
        faults.enter(Stage::Sync, &mut actions);
        sync::plan(&step.value, &mut actions);
        population::plan(loaded, &mut actions);
    }
    if let Some(step) = &steps.browser_policy {
        faults.enter(Stage::BrowserPolicy, &mut actions);
        browser_policy::plan(&step.value, &name, &mut actions);
    }
    if let Some(step) = &steps.clients {
        faults.enter(Stage::Clients, &mut actions);
        clients::plan(loaded, &step.value, &issued, &mut actions)?;
    }
    if !scenario.messages.is_empty() {
        faults.enter(Stage::Messages, &mut actions);
        let mut timeline = timeline::Timeline::new(late, steps.sync.as_ref().map(|s| &s.value));
        let mut at = crate::model::LabOffset::START;
        for (index, message) in scenario.messages.iter().enumerate() {
            if let Some(when) = &message.value.at {
                at = at.max(when.value);
            }
            timeline.advance_to(at, &mut actions);
            actions.push(Action::Send(Box::new(messages::send(
                loaded,
                index,
                &message.value,
            ))));
        }
    }

    Ok(Plan {
        scenario: name,
        tenant: scenario.organisation.tenant.as_str().to_owned(),
        domain: loaded.domain.clone(),
        now,
        pki,
        actions,
        populations: loaded.populations.clone(),
    })
}

/// The issued PKI of the scenario being planned, looked up by certificate id.
struct Issued<'a> {
    pki: &'a BuiltPki,
    scenario: &'a str,
}

impl Issued<'_> {
    /// A certificate validation has vouched for; its absence is a bug in the plan.
    fn certificate(&self, id: &str) -> Result<CertificateRef, PlanError> {
        let entity = self.pki.entity(id).ok_or_else(|| PlanError::Missing {
            scenario: self.scenario.to_owned(),
            what: "certificate",
            id: id.to_owned(),
        })?;
        Ok(CertificateRef::of(id, &entity.certificate))
    }
}

impl CertificateRef {
    /// The reference to a DER certificate under the id the plan knows it by.
    pub(super) fn of(id: &str, der: &[u8]) -> Self {
        CertificateRef {
            id: id.to_owned(),
            thumbprint: sha1_thumbprint(der),
            not_after: certificate_not_after(der),
            der: der.to_vec(),
        }
    }
}

fn certificate_not_after(der: &[u8]) -> OffsetDateTime {
    smime::certificate::parse_der(der)
        .map(|c| smime::certificate::not_after(&c))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
