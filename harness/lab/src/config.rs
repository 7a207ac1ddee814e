//! What a lab is started with: which services, the directory suffix, the tenant's identity, the
//! files pki-web serves, and where our own binaries are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use der::{Decode as _, Encode as _};
use x509_cert::Certificate;

use crate::{LabError, Service};

/// How to start a lab. `LabConfig::default()` is the Contoso lab with generated credentials and
/// nothing on pki-web; [`PkiWebContent::from_pki_dir`] fills it from a `smime-lab pki build`
/// output such as `fixtures/pki/default`.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// The services to start (default: all four).
    pub services: BTreeSet<Service>,
    pub directory: DirectoryConfig,
    pub smtp: SmtpConfig,
    pub tenant: TenantConfig,
    pub pki_web: PkiWebContent,
    pub binaries: Binaries,
}

impl Default for LabConfig {
    fn default() -> Self {
        Self {
            services: Service::ALL.into_iter().collect(),
            directory: DirectoryConfig::default(),
            smtp: SmtpConfig::default(),
            tenant: TenantConfig::default(),
            pki_web: PkiWebContent::default(),
            binaries: Binaries::default(),
        }
    }
}

impl LabConfig {
    /// Only these services (tests that need one service start faster).
    pub fn only(mut self, services: impl IntoIterator<Item = Service>) -> Self {
        self.services = services.into_iter().collect();
        self
    }

    pub(crate) fn validate(&self) -> Result<(), LabError> {
        self.directory.validate()?;
        self.tenant.validate()?;
        if !self.tenant.crl_hosts.is_empty()
            && self.services.contains(&Service::Tenant)
            && !self.services.contains(&Service::PkiWeb)
        {
            return Err(LabError::Config(format!(
                "tenant.crl_hosts ({}) are mapped to pki-web, which is not among the services: add pki-web or leave crl_hosts empty",
                self.tenant.crl_hosts.join(", ")
            )));
        }
        if self.smtp.max_message_size == 0 {
            return Err(LabError::Config(
                "smtp.max_message_size must be at least 1 byte".into(),
            ));
        }
        Ok(())
    }
}

/// The OpenLDAP directory: one mdb database under `suffix`, administered by `cn=admin,<suffix>`.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// e.g. `dc=contoso,dc=com`; the first RDN must be `dc=`, `o=` or `ou=`, and the lab creates
    /// that base entry.
    pub suffix: String,
    /// The admin's password; `None` generates one per run.
    pub admin_password: Option<String>,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self {
            suffix: "dc=contoso,dc=com".into(),
            admin_password: None,
        }
    }
}

impl DirectoryConfig {
    /// The admin bind DN: `cn=admin,<suffix>`.
    pub fn admin_dn(&self) -> String {
        format!("cn=admin,{}", self.suffix)
    }

    fn validate(&self) -> Result<(), LabError> {
        base_entry_class(&self.suffix)?;
        if let Some(password) = &self.admin_password {
            check_secret("directory.admin_password", password)?;
        }
        Ok(())
    }
}

/// The base entry's object class and naming attribute for a suffix, checking the suffix is plain
/// enough to write into slapd.conf and LDIF without quoting.
pub(crate) fn base_entry_class(suffix: &str) -> Result<(&'static str, &str, &str), LabError> {
    let bad = |why: &str| {
        LabError::Config(format!(
            "directory suffix '{suffix}' {why}; write it like dc=contoso,dc=com"
        ))
    };
    if suffix.is_empty()
        || !suffix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '=' | ',' | '-' | '.' | ' '))
    {
        return Err(bad(
            "may only contain letters, digits, '=', ',', '-', '.' and spaces",
        ));
    }
    let mut rdns = suffix.split(',');
    let first = rdns.next().unwrap_or_default();
    for rdn in suffix.split(',') {
        match rdn.split_once('=') {
            Some((attribute, value))
                if !attribute.trim().is_empty() && !value.trim().is_empty() => {}
            _ => {
                return Err(bad(&format!(
                    "has an RDN '{rdn}' that is not attribute=value"
                )));
            }
        }
    }
    let Some((attribute, value)) = first.split_once('=') else {
        return Err(bad("has no attribute=value"));
    };
    let attribute = attribute.trim();
    let value = value.trim();
    let class = match attribute.to_ascii_lowercase().as_str() {
        "dc" => "dcObject",
        "o" => "organization",
        "ou" => "organizationalUnit",
        _ => return Err(bad("must start with dc=, o= or ou=")),
    };
    Ok((class, attribute, value))
}

/// Passwords and secrets go into configuration files and command lines: keep them to characters
/// that need no quoting anywhere.
fn check_secret(field: &str, value: &str) -> Result<(), LabError> {
    if value.is_empty()
        || !value
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | '`' | '$'))
    {
        return Err(LabError::Config(format!(
            "{field} must be non-empty printable ASCII without quotes, backslash, backtick or '$'"
        )));
    }
    Ok(())
}

/// The SMTP sink.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Largest message accepted, in bytes (the sink's `--max-size`).
    pub max_message_size: usize,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            max_message_size: 10 * 1024 * 1024,
        }
    }
}

/// The mock Exchange Online tenant.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// e.g. `contoso.onmicrosoft.com`.
    pub tenant: String,
    /// The app registration's client id; `None` generates a GUID-shaped one per run.
    pub client_id: Option<String>,
    /// Its secret; `None` generates one per run.
    pub client_secret: Option<String>,
    /// Fix the tenant clock (RFC 3339), e.g. the PKI's `now`; `None` uses the system clock.
    pub now: Option<String>,
    /// Cloud-only mailboxes to create at start (`alice@contoso.com`, ...).
    pub users: Vec<String>,
    /// Host names of CRL distribution points (`pki.contoso.com`) the tenant fetches from
    /// pki-web instead: each becomes `mock-tenant --crl-host NAME=<pki-web's in-lab address>`
    /// (local: `127.0.0.1:<port>`, containers: `pki-web:80`). Needs pki-web in the lab.
    pub crl_hosts: Vec<String>,
    /// Host names of CRL distribution points the tenant cannot reach (a host only the
    /// organisation's own network has): each becomes `mock-tenant --crl-host
    /// NAME=<host>:`[`UNREACHABLE_PORT`] on pki-web's host, a port nothing listens on, so a fetch
    /// is refused at once rather than asking the system's DNS (which may know the name).
    pub unreachable_crl_hosts: Vec<String>,
}

/// The port [`TenantConfig::unreachable_crl_hosts`] are sent to: discard, which no lab service
/// listens on.
pub const UNREACHABLE_PORT: u16 = 9;

impl Default for TenantConfig {
    fn default() -> Self {
        Self {
            tenant: "contoso.onmicrosoft.com".into(),
            client_id: None,
            client_secret: None,
            now: None,
            users: Vec::new(),
            crl_hosts: Vec::new(),
            unreachable_crl_hosts: Vec::new(),
        }
    }
}

impl TenantConfig {
    fn validate(&self) -> Result<(), LabError> {
        let plain = |field: &str, value: &str, extra: &[char]| {
            if value.is_empty()
                || !value.chars().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | '-') || extra.contains(&c)
                })
            {
                Err(LabError::Config(format!(
                    "tenant.{field} '{value}' may only contain letters, digits, '.', '-'{}",
                    extra.iter().map(|c| format!(", '{c}'")).collect::<String>()
                )))
            } else {
                Ok(())
            }
        };
        plain("tenant", &self.tenant, &[])?;
        if let Some(id) = &self.client_id {
            plain("client_id", id, &['_'])?;
        }
        if let Some(secret) = &self.client_secret {
            check_secret("tenant.client_secret", secret)?;
        }
        if let Some(now) = &self.now {
            plain("now", now, &[':', '+', 'Z', 'T'])?;
        }
        for user in &self.users {
            plain("users", user, &['@', '_'])?;
        }
        for host in &self.crl_hosts {
            plain("crl_hosts", host, &[])?;
        }
        for host in &self.unreachable_crl_hosts {
            plain("unreachable_crl_hosts", host, &[])?;
        }
        Ok(())
    }
}

/// The files pki-web serves, by URL path below its root: `crl/<ca>.crl` (DER CRLs) and
/// `aia/<ca>.crt` (DER CA certificates), as the lab PKI's CDP and AIA URLs name them.
#[derive(Debug, Clone, Default)]
pub struct PkiWebContent {
    files: BTreeMap<String, Vec<u8>>,
}

impl PkiWebContent {
    /// Reads a `smime-lab pki build` output directory: every `<ca>.crl` becomes `crl/<ca>.crl`,
    /// and for each of them `<ca>.crt.pem` becomes `aia/<ca>.crt` in DER.
    pub fn from_pki_dir(dir: &Path) -> Result<Self, LabError> {
        let mut content = PkiWebContent::default();
        let entries = std::fs::read_dir(dir).map_err(|e| LabError::io("cannot list", dir, e))?;
        let mut crls = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| LabError::io("cannot list", dir, e))?;
            let name = entry.file_name();
            if let Some(ca) = name.to_str().and_then(|n| n.strip_suffix(".crl")) {
                crls.push(ca.to_owned());
            }
        }
        crls.sort();
        if crls.is_empty() {
            return Err(LabError::Config(format!(
                "{} has no <ca>.crl files: is it a `smime-lab pki build` output?",
                dir.display()
            )));
        }
        for ca in crls {
            let crl_path = dir.join(format!("{ca}.crl"));
            let crl =
                std::fs::read(&crl_path).map_err(|e| LabError::io("cannot read", &crl_path, e))?;
            content.insert(&format!("crl/{ca}.crl"), crl)?;
            let pem_path = dir.join(format!("{ca}.crt.pem"));
            let pem = std::fs::read_to_string(&pem_path)
                .map_err(|e| LabError::io("cannot read", &pem_path, e))?;
            let certificate =
                <Certificate as der::DecodePem>::from_pem(pem.as_bytes()).map_err(|e| {
                    LabError::Config(format!(
                        "{} is not a PEM certificate: {e}",
                        pem_path.display()
                    ))
                })?;
            let der = certificate.to_der().map_err(|e| {
                LabError::Config(format!("cannot re-encode {}: {e}", pem_path.display()))
            })?;
            // Parse back what we serve, so pki-web never publishes bytes a client cannot read.
            Certificate::from_der(&der).map_err(|e| {
                LabError::Config(format!("{} re-encodes badly: {e}", pem_path.display()))
            })?;
            content.insert(&format!("aia/{ca}.crt"), der)?;
        }
        Ok(content)
    }

    /// Adds or replaces one file. `path` is relative (`crl/issuing.crl`): segments of letters,
    /// digits, `.`, `-`, `_`, none starting with a dot.
    pub fn insert(&mut self, path: &str, bytes: Vec<u8>) -> Result<(), LabError> {
        let ok = !path.is_empty()
            && path.split('/').all(|segment| {
                !segment.is_empty()
                    && !segment.starts_with('.')
                    && segment
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            });
        if !ok {
            return Err(LabError::Config(format!(
                "pki-web path '{path}' must be relative, like crl/issuing.crl (letters, digits, '.', '-', '_'; no segment starting with '.')"
            )));
        }
        self.files.insert(path.to_owned(), bytes);
        Ok(())
    }

    /// The files, by relative path.
    pub fn files(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.files
    }

    /// The path pki-web's readiness probe fetches: the first CRL, else its `/healthz`.
    pub(crate) fn probe_path(&self) -> String {
        self.files
            .keys()
            .find(|path| path.ends_with(".crl"))
            .map(|path| format!("/{path}"))
            .unwrap_or_else(|| "/healthz".to_owned())
    }
}

/// Where our own programs are. `None` finds them as [`crate::binaries`] describes.
#[derive(Debug, Clone, Default)]
pub struct Binaries {
    pub smtp_sink: Option<PathBuf>,
    pub mock_tenant: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        assert_eq!(
            base_entry_class("dc=contoso,dc=com").ok(),
            Some(("dcObject", "dc", "contoso"))
        );
        assert_eq!(
            base_entry_class("o=Contoso").ok(),
            Some(("organization", "o", "Contoso"))
        );
        for bad in [
            "",
            "cn=x,dc=com",
            "dc=a\"b",
            "dc=contoso,,dc=com",
            "dc=\ninclude",
        ] {
            assert!(base_entry_class(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn crl_hosts_need_pki_web_and_plain_names() {
        let mut config = LabConfig::default();
        config.tenant.crl_hosts = vec!["pki.contoso.com".into()];
        assert!(config.validate().is_ok());
        let only_tenant = config.clone().only([Service::Tenant]);
        let error = only_tenant.validate().err().map(|e| e.to_string());
        assert!(
            error.as_deref().is_some_and(|e| e.contains("pki-web")),
            "{error:?}"
        );
        config.tenant.crl_hosts = vec!["pki.contoso.com=1.2.3.4:80".into()];
        assert!(config.validate().is_err());
        // Unreachable hosts need no pki-web, but plain names too.
        let mut internal = LabConfig::default().only([Service::Tenant]);
        internal.tenant.unreachable_crl_hosts = vec!["pki.corp.local".into()];
        assert!(internal.validate().is_ok());
        internal.tenant.unreachable_crl_hosts = vec!["pki.corp.local=1.2.3.4:80".into()];
        assert!(internal.validate().is_err());
    }

    #[test]
    fn pki_paths() {
        let mut content = PkiWebContent::default();
        assert!(content.insert("crl/issuing.crl", vec![1]).is_ok());
        for bad in [
            "",
            "/crl/x.crl",
            "crl/../x",
            "crl//x",
            "crl/.hidden",
            "crl/a b",
        ] {
            assert!(content.insert(bad, vec![]).is_err(), "{bad:?}");
        }
        assert_eq!(content.probe_path(), "/crl/issuing.crl");
        assert_eq!(PkiWebContent::default().probe_path(), "/healthz");
    }

    #[test]
    fn reads_the_default_fixtures() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pki/default");
        let content = PkiWebContent::from_pki_dir(&dir).expect("fixtures read");
        let paths: Vec<&str> = content.files().keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "aia/issuing.crt",
                "aia/root.crt",
                "crl/issuing.crl",
                "crl/root.crl"
            ]
        );
        let crl = std::fs::read(dir.join("issuing.crl")).expect("crl");
        assert_eq!(content.files().get("crl/issuing.crl"), Some(&crl));
    }
}
