//! A plan's lab: the [`lab::LabConfig`] a scenario runs in.
//!
//! - The directory's suffix is the mail domain's (`contoso.com` → `dc=contoso,dc=com`), as an
//!   AD forest's root domain is.
//! - The tenant is the scenario's, its clock fixed at the plan's `now` so that certificate
//!   expiry is judged at the scenario's instant, as the PKI was issued.
//! - **No cloud-only mailboxes** (`TenantConfig::users` stays empty). An organisation rolling
//!   out S/MIME in Exchange Online already runs Entra Connect (step 3 needs it): its mailboxes
//!   belong to users synced from the on-premises directory, long before anyone publishes a
//!   certificate. The lab reproduces that state: `CreateUsers` adds the directory objects and
//!   runs a first Entra Connect export, which creates the mailboxes as directory-synced
//!   recipients (`IsDirSynced`, the object's source anchor). Seeding cloud-only mailboxes and
//!   letting the scenario's first cycle soft-match them would make every rollout look like a
//!   first-time Entra Connect installation, and a scenario without a sync step would end with
//!   cloud-only mailboxes that no real hybrid organisation has.
//! - pki-web serves every CRL at the path its URL names and every CA certificate at the
//!   `<aia_base_url>/<ca>.crt` path, exactly the URLs the certificates carry (`ServePki` then
//!   fetches each back to prove it).

use std::collections::BTreeSet;

use lab::{LabConfig, PkiWebContent, Service};

use super::RunOptions;
use scenario::plan::{Action, Plan};

/// Why a plan cannot become a lab configuration.
#[derive(Debug, thiserror::Error)]
pub enum LabSetupError {
    #[error(
        "{scenario}: the mail domain '{domain}' cannot name a directory suffix: it needs at least one dot-separated label of letters, digits and '-'"
    )]
    Domain { scenario: String, domain: String },
    #[error(
        "{scenario}: {what} URL '{url}' is not http://<host>/<path>: pki-web serves plain HTTP at the path the certificates name (CAs publish CRLs and CA certificates over HTTP)"
    )]
    Url {
        scenario: String,
        what: &'static str,
        url: String,
    },
    #[error("{scenario}: pki-web cannot serve {url}: {source}")]
    Content {
        scenario: String,
        url: String,
        #[source]
        source: Box<lab::LabError>,
    },
    #[error(
        "{scenario}: {what} `{id}` is not in the plan's PKI (a bug in the plan: please report it)"
    )]
    Missing {
        scenario: String,
        what: &'static str,
        id: String,
    },
}

/// The lab a plan runs in: all four services.
pub fn lab_config(plan: &Plan, options: &RunOptions) -> Result<LabConfig, LabSetupError> {
    let mut config = LabConfig::default().only(Service::ALL);
    config.directory.suffix =
        directory_suffix(&plan.domain).ok_or_else(|| LabSetupError::Domain {
            scenario: plan.scenario.clone(),
            domain: plan.domain.clone(),
        })?;
    config.tenant.tenant = plan.tenant.clone();
    config.tenant.now = Some(smime::certificate::rfc3339(plan.now));
    // Mailboxes come from the first sync, not from the tenant's seed: see the module comment.
    config.tenant.users = Vec::new();
    config.pki_web = pki_web_content(plan)?;
    // The tenant reaches the CA's web server by the names the certificates give it.
    config.tenant.crl_hosts = pki_web_hosts(plan)?;
    config.binaries = options.binaries.clone();
    Ok(config)
}

/// `contoso.com` → `dc=contoso,dc=com`; `None` for a domain that is not dot-separated labels.
pub fn directory_suffix(domain: &str) -> Option<String> {
    let labels: Vec<&str> = domain.trim().trim_end_matches('.').split('.').collect();
    let plain = |label: &&str| {
        !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if labels.is_empty() || !labels.iter().all(plain) {
        return None;
    }
    Some(
        labels
            .iter()
            .map(|label| format!("dc={}", label.to_ascii_lowercase()))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// What pki-web serves: the plan's `ServePki` URLs, each at its own path.
pub fn pki_web_content(plan: &Plan) -> Result<PkiWebContent, LabSetupError> {
    let mut content = PkiWebContent::default();
    for (url, bytes) in served_files(plan)? {
        let path = url_path(&url).ok_or_else(|| LabSetupError::Url {
            scenario: plan.scenario.clone(),
            what: "a pki-web",
            url: url.clone(),
        })?;
        content
            .insert(path, bytes)
            .map_err(|source| LabSetupError::Content {
                scenario: plan.scenario.clone(),
                url: url.clone(),
                source: Box::new(source),
            })?;
    }
    Ok(content)
}

/// Every URL pki-web must answer, with the bytes it must answer with: CA certificates (DER),
/// then CRLs (DER), as the plan's `ServePki` lists them.
pub fn served_files(plan: &Plan) -> Result<Vec<(String, Vec<u8>)>, LabSetupError> {
    let mut files = Vec::new();
    for action in &plan.actions {
        let Action::ServePki(serve) = action else {
            continue;
        };
        for (url, id) in &serve.ca_certificates {
            let entity = plan.pki.entity(id).ok_or_else(|| LabSetupError::Missing {
                scenario: plan.scenario.clone(),
                what: "CA certificate",
                id: id.clone(),
            })?;
            files.push((url.clone(), entity.certificate.clone()));
        }
        for (url, ca) in &serve.crls {
            let crl = plan.pki.crl(ca).ok_or_else(|| LabSetupError::Missing {
                scenario: plan.scenario.clone(),
                what: "CRL of CA",
                id: ca.clone(),
            })?;
            files.push((url.clone(), crl.der.clone()));
        }
    }
    Ok(files)
}

/// The host names in the plan's CRL and CA certificate URLs (`pki.contoso.com`): the names the
/// tenant must resolve to pki-web when it fetches them (CONTRACTS §2).
pub fn pki_web_hosts(plan: &Plan) -> Result<Vec<String>, LabSetupError> {
    let mut hosts = BTreeSet::new();
    for (url, _) in served_files(plan)? {
        let host = url_host(&url).ok_or_else(|| LabSetupError::Url {
            scenario: plan.scenario.clone(),
            what: "a pki-web",
            url: url.clone(),
        })?;
        hosts.insert(host.to_owned());
    }
    Ok(hosts.into_iter().collect())
}

/// `http://host[:port]/a/b` → `host[:port]`.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then_some(host)
}

/// `http://host[:port]/a/b` → `a/b` (no query, no fragment, not empty).
pub fn url_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let (_, path) = rest.split_once('/')?;
    (!path.is_empty() && !path.contains(['?', '#'])).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenario::load::parse;

    fn plan_of(name: &str) -> Plan {
        let path = test_support::repo_root().join(format!("scenarios/{name}.yaml"));
        let text = String::from_utf8(test_support::read(&path)).expect("UTF-8");
        let loaded =
            parse(&text, &path.to_string_lossy()).unwrap_or_else(|e| panic!("{}", e.render(false)));
        scenario::plan(&loaded).unwrap_or_else(|e| panic!("{e}"))
    }

    fn options() -> RunOptions {
        RunOptions {
            runtime: lab::RuntimeChoice::Local,
            out_dir: "out".into(),
            snapshot_dir: "snapshots".into(),
            binaries: lab::Binaries {
                smtp_sink: Some("/x/smtp-sink".into()),
                mock_tenant: None,
            },
            keys: std::sync::Arc::new(smime::key::Generated),
        }
    }

    #[test]
    fn suffixes_from_domains() {
        assert_eq!(
            directory_suffix("contoso.com").as_deref(),
            Some("dc=contoso,dc=com")
        );
        assert_eq!(
            directory_suffix("Mail.Fabrikam.co.uk").as_deref(),
            Some("dc=mail,dc=fabrikam,dc=co,dc=uk")
        );
        for bad in ["", "contoso..com", "con toso.com", "a,b.com", "x=y.com"] {
            assert_eq!(directory_suffix(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn urls() {
        let url = "http://pki.contoso.com/crl/issuing.crl";
        assert_eq!(url_host(url), Some("pki.contoso.com"));
        assert_eq!(url_path(url), Some("crl/issuing.crl"));
        assert_eq!(url_host("http://pki:8080/x"), Some("pki:8080"));
        for bad in [
            "https://pki.contoso.com/crl/x.crl",
            "http://pki.contoso.com",
            "http://pki.contoso.com/",
            "http://pki.contoso.com/x?y",
            "ldap://dc/x",
        ] {
            assert_eq!(url_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_happy_path_lab() {
        let plan = plan_of("rsa-happy-path");
        let config = lab_config(&plan, &options()).expect("config");
        assert_eq!(config.directory.suffix, "dc=contoso,dc=com");
        assert_eq!(config.tenant.tenant, "contoso.onmicrosoft.com");
        assert_eq!(config.tenant.now.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert!(config.tenant.users.is_empty(), "mailboxes come from sync");
        assert_eq!(config.services.len(), 4);
        assert_eq!(
            config.binaries.smtp_sink.as_deref(),
            Some(std::path::Path::new("/x/smtp-sink"))
        );

        // Every CRL and CA certificate at the path its URL names, with the plan's bytes.
        let files = config.pki_web.files();
        let paths: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "aia/issuing.crt",
                "aia/root.crt",
                "crl/issuing.crl",
                "crl/root.crl"
            ]
        );
        for crl in &plan.pki.crls {
            let path = url_path(&crl.url).expect("http URL");
            assert_eq!(files.get(path), Some(&crl.der), "{}", crl.url);
        }
        let issuing = plan.pki.entity("issuing").expect("issuing CA");
        assert_eq!(files.get("aia/issuing.crt"), Some(&issuing.certificate));
        assert_eq!(
            pki_web_hosts(&plan).expect("hosts"),
            vec!["pki.contoso.com".to_owned()]
        );
    }
}
