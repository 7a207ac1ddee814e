//! Where a running lab's services answer and with which credentials: what tests, the runner and a
//! person at a terminal need, and what `lab.json` records.
//!
//! Each service has two addresses: the one reachable from the host (`url`, ...) and the one the
//! other lab services use (`lab_url`, ...). In the local runtime they are the same; in the Docker
//! runtime the second uses the service's name on the lab network (`http://pki-web/crl/...`).

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::{LabError, RuntimeKind, Service};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// Unique per run; names the temporary directory or the Docker network and containers.
    pub run_id: String,
    pub runtime: RuntimeKind,
    pub directory: Option<DirectoryEndpoint>,
    pub smtp: Option<SmtpEndpoint>,
    pub tenant: Option<TenantEndpoint>,
    pub pki_web: Option<PkiWebEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEndpoint {
    /// `ldap://127.0.0.1:NNNN`
    pub url: String,
    pub lab_url: String,
    /// e.g. `dc=contoso,dc=com`; its base entry exists.
    pub suffix: String,
    /// `cn=admin,<suffix>`, the rootdn: it may read and write everything.
    pub bind_dn: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpEndpoint {
    /// The SMTP listener (no AUTH, no STARTTLS).
    pub smtp: SocketAddr,
    /// The sink's HTTP API root (Mailpit's `/api/v1/...` shape), no trailing slash.
    pub http_url: String,
    /// `host:port` of SMTP for the other lab services.
    pub lab_smtp: String,
    pub lab_http_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantEndpoint {
    /// The mock tenant's root, no trailing slash: `POST {url}/adminapi/beta/{tenant}/InvokeCommand`,
    /// tokens at `POST {url}/{tenant}/oauth2/v2.0/token`, `GET {url}/health`.
    pub url: String,
    pub lab_url: String,
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    /// The `/lab/...` endpoints want it in the `X-Lab-Secret` header (generated per run).
    #[serde(default)]
    pub lab_secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PkiWebEndpoint {
    /// Root URL, no trailing slash: `{url}/crl/<ca>.crl`, `{url}/aia/<ca>.crt`.
    pub url: String,
    pub lab_url: String,
}

impl Endpoints {
    pub fn directory(&self) -> Result<&DirectoryEndpoint, LabError> {
        self.directory
            .as_ref()
            .ok_or(LabError::NotInLab(Service::Directory))
    }

    pub fn smtp(&self) -> Result<&SmtpEndpoint, LabError> {
        self.smtp.as_ref().ok_or(LabError::NotInLab(Service::Smtp))
    }

    pub fn tenant(&self) -> Result<&TenantEndpoint, LabError> {
        self.tenant
            .as_ref()
            .ok_or(LabError::NotInLab(Service::Tenant))
    }

    pub fn pki_web(&self) -> Result<&PkiWebEndpoint, LabError> {
        self.pki_web
            .as_ref()
            .ok_or(LabError::NotInLab(Service::PkiWeb))
    }

    /// The host-side `host:port` each service listens on, for "is it up?" probes.
    pub fn listeners(&self) -> Vec<(Service, String)> {
        let mut out = Vec::new();
        if let Some(d) = &self.directory {
            out.push((Service::Directory, host_port(&d.url)));
        }
        if let Some(s) = &self.smtp {
            out.push((Service::Smtp, s.smtp.to_string()));
        }
        if let Some(t) = &self.tenant {
            out.push((Service::Tenant, host_port(&t.url)));
        }
        if let Some(p) = &self.pki_web {
            out.push((Service::PkiWeb, host_port(&p.url)));
        }
        out
    }
}

/// `scheme://host:port[/...]` → `host:port`.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// What a person needs to poke the lab by hand: every endpoint and credential, with a command
/// line for each service.
impl fmt::Display for Endpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "smime-lab {} lab, run {}", self.runtime, self.run_id)?;
        if let Some(d) = &self.directory {
            writeln!(f, "\ndirectory (OpenLDAP)")?;
            writeln!(f, "  url       {}", d.url)?;
            writeln!(f, "  suffix    {}", d.suffix)?;
            writeln!(f, "  bind DN   {}", d.bind_dn)?;
            writeln!(f, "  password  {}", d.password)?;
            writeln!(
                f,
                "  try       ldapsearch -x -H {} -D '{}' -w '{}' -b '{}'",
                d.url, d.bind_dn, d.password, d.suffix
            )?;
        }
        if let Some(s) = &self.smtp {
            writeln!(f, "\nsmtp (smtp-sink)")?;
            writeln!(f, "  smtp      {}", s.smtp)?;
            writeln!(f, "  http      {}", s.http_url)?;
            writeln!(
                f,
                "  try       swaks --server {} --port {} --to bob@contoso.com --from alice@contoso.com",
                s.smtp.ip(),
                s.smtp.port()
            )?;
            writeln!(f, "            curl {}/api/v1/messages", s.http_url)?;
        }
        if let Some(t) = &self.tenant {
            writeln!(f, "\ntenant (mock-tenant)")?;
            writeln!(f, "  url           {}", t.url)?;
            writeln!(f, "  tenant        {}", t.tenant)?;
            writeln!(f, "  client id     {}", t.client_id)?;
            writeln!(f, "  client secret {}", t.client_secret)?;
            writeln!(f, "  lab secret    {}", t.lab_secret)?;
            writeln!(f, "  try           curl {}/health", t.url)?;
            writeln!(
                f,
                "                curl -H 'X-Lab-Secret: {}' {}/lab/clock",
                t.lab_secret, t.url
            )?;
            writeln!(
                f,
                "                curl -d grant_type=client_credentials -d client_id={} -d client_secret={} -d scope=https://outlook.office365.com/.default {}/{}/oauth2/v2.0/token",
                t.client_id, t.client_secret, t.url, t.tenant
            )?;
        }
        if let Some(p) = &self.pki_web {
            writeln!(f, "\npki-web (nginx)")?;
            writeln!(f, "  url       {}", p.url)?;
            writeln!(f, "  try       curl -sO {}/crl/issuing.crl", p.url)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_of_urls() {
        assert_eq!(host_port("ldap://127.0.0.1:3890"), "127.0.0.1:3890");
        assert_eq!(host_port("http://127.0.0.1:8080/crl/x"), "127.0.0.1:8080");
        assert_eq!(host_port("127.0.0.1:25"), "127.0.0.1:25");
    }
}
