//! The four lab services by name: what a caller passes to stop or start one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::LabError;

/// One lab service. The names are the ones people type (`directory`, `smtp`, `tenant`,
/// `pki-web`) and, in the Docker runtime, the host names services use for each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    /// OpenLDAP slapd: the on-premises directory users' certificates are published in.
    Directory,
    /// `smtp-sink`: the mail flow.
    Smtp,
    /// `mock-tenant`: Exchange Online and Entra ID.
    Tenant,
    /// nginx serving the CAs' CRLs and AIA certificates.
    PkiWeb,
}

impl Service {
    /// Every service, in start order (the directory first: nothing depends on a later one).
    pub const ALL: [Service; 4] = [
        Service::Directory,
        Service::Smtp,
        Service::Tenant,
        Service::PkiWeb,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::Directory => "directory",
            Service::Smtp => "smtp",
            Service::Tenant => "tenant",
            Service::PkiWeb => "pki-web",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Service {
    type Err = LabError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::ALL
            .into_iter()
            .find(|service| service.name() == s)
            .ok_or_else(|| LabError::UnknownService(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for service in Service::ALL {
            assert_eq!(service.name().parse::<Service>().ok(), Some(service));
        }
        let error = "ldap".parse::<Service>().err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("unknown service 'ldap': expected one of directory, smtp, tenant, pki-web")
        );
    }
}
