//! What every run starts with, before the steps: the PKI served on pki-web, the users created.

use smime::pki::BuiltPki;

use super::Action;
use crate::load::LoadedScenario;

#[derive(Clone, Debug)]
pub struct ServePki {
    /// `(url, certificate id)` of each CA certificate, DER.
    pub ca_certificates: Vec<(String, String)>,
    /// `(url, CA id)` of each CRL.
    pub crls: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedUser {
    pub id: String,
    pub mailbox: String,
}

pub(super) fn serve_pki(pki: &BuiltPki) -> Action {
    Action::ServePki(ServePki {
        ca_certificates: pki
            .entities
            .iter()
            .filter(|e| e.role.is_ca())
            .map(|e| (format!("{}/{}.crt", pki.aia_base_url, e.id), e.id.clone()))
            .collect(),
        crls: pki
            .crls
            .iter()
            .map(|c| (c.url.clone(), c.ca.clone()))
            .collect(),
    })
}

pub(super) fn create_users(loaded: &LoadedScenario) -> Action {
    Action::CreateUsers(
        loaded
            .users
            .iter()
            .map(|u| PlannedUser {
                id: u.id.clone(),
                mailbox: u.mailbox.clone(),
            })
            .collect(),
    )
}
