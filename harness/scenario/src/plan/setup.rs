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
    /// `proxyAddresses` beside the primary (`smtp:a@b`, `x500:...`); the directory object gets
    /// `SMTP:<mailbox>` and these when there are any.
    pub proxy_addresses: Vec<String>,
}

impl PlannedUser {
    /// The directory's `proxyAddresses`: none when the scenario gives none (the lab's users are
    /// then found by `mail` alone), else the primary `SMTP:<mailbox>` first, then the others.
    pub fn directory_proxy_addresses(&self) -> Vec<String> {
        if self.proxy_addresses.is_empty() {
            return Vec::new();
        }
        std::iter::once(format!("SMTP:{}", self.mailbox))
            .chain(self.proxy_addresses.iter().map(|p| p.trim().to_owned()))
            .collect()
    }
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
                proxy_addresses: u.proxy_addresses.clone(),
            })
            .collect(),
    )
}
