//! The one place the executor translates between the three vocabularies of stages and services.
//! The types stay apart on purpose:
//!
//! - [`scenario::model::Stage`] is where a scenario file may start or end a fault: the five steps
//!   and the messages. The report's [`Stage`] also has `setup` (the lab, the PKI served, the users
//!   created) and `fault` (a fault starting or ending), which a scenario cannot name; merging them
//!   would let a file write `at: setup` and change the published JSON Schema.
//! - [`scenario::model::Service`] is the format's name for a service a fault holds down;
//!   [`lab::Service`] is the lab's, which starts and stops it. The format crate does not depend
//!   on the lab (a scenario is read, checked and planned with no lab at all), and the lab knows
//!   nothing of scenarios, so neither can use the other's type.

use scenario::model::Service;
use scenario::plan::Action;

use crate::report::model::Stage;

/// The lab's service for a scenario's service name.
pub fn lab_service(service: Service) -> lab::Service {
    match service {
        Service::Directory => lab::Service::Directory,
        Service::Tenant => lab::Service::Tenant,
        Service::Smtp => lab::Service::Smtp,
        Service::PkiWeb => lab::Service::PkiWeb,
    }
}

/// The report stage an action's step belongs to.
pub fn report_stage(action: &Action) -> Stage {
    match action {
        Action::ServePki(_) | Action::CreateUsers(_) => Stage::Setup,
        Action::Fault(_) => Stage::Fault,
        Action::Publish(_) => Stage::Publish,
        Action::ImportCollection(_) => Stage::VirtualCollection,
        Action::Sync(_) | Action::CheckPopulation(_) => Stage::Sync,
        Action::BrowserPolicy(_) => Stage::BrowserPolicy,
        Action::Cmdlet(_) | Action::InstallIdentity(_) => Stage::Clients,
        Action::Send(_) | Action::Clock(_) => Stage::Messages,
    }
}
