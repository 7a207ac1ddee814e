//! Labs kept between scenarios: a worker of `smime-lab scenario run` starts its lab once and
//! resets it for each next scenario instead of starting four services every time.
//!
//! # What a reset does, and why it is as good as a new lab
//!
//! A scenario can leave state in four places; each is put back to what a new lab of the next
//! scenario's configuration holds, then checked:
//!
//! | service | left by a scenario | reset |
//! |---|---|---|
//! | directory | users' objects, published certificates | every entry below the suffix deleted ([`super::directory::empty_below_suffix`]); a read finds none left |
//! | tenant | recipients, `Set-SmimeConfig`, mobile policies, sync cycles, the clock, page links | `POST /lab/reset/{tenant}` with the next plan's `now`: a new tenant's settings, no recipient (answered and checked), the clock fixed at the next `now`, a new page-link key |
//! | smtp | messages | `DELETE /api/v1/messages`; a listing finds none left |
//! | pki-web | CRLs and CA certificates | [`lab::RunningLab::replace_pki_web`]: the next plan's files and nothing else (the plan's `ServePki` then fetches every URL back) |
//!
//! What a reset cannot change, a lab is not reused across: the services, the directory suffix,
//! the tenant's name, the CRL host names the tenant resolves to pki-web, and everything else the
//! services were started with ([`same_shape`]). A scenario whose configuration differs gets a
//! new lab (the old one is stopped). Credentials and the lab secret stay for the lab's life;
//! nothing a scenario holds survives it (its tenant token is its own, and the tenant's clock
//! moves at the reset, so a token kept across would be judged at the next scenario's time).
//!
//! A scenario that takes a service down (`services:` faults) and leaves it down gets it started
//! again when it ends ([`Labs::release`]); if that, or any part of a reset, fails, the lab is
//! stopped and the next scenario starts a new one. A reset that fails is never the next
//! scenario's failure: it only costs the time of a new lab.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lab::{LabConfig, RunningLab, Service};
use serde_json::json;

use super::TenantApi;

/// How long one reset request may take (a tenant of 10,000 recipients empties in well under a
/// second).
const RESET_TIMEOUT: Duration = Duration::from_secs(60);

/// The labs of one worker: none kept (`fresh_each_time`, a new lab per scenario, as one-off runs
/// and tests want) or one kept and reset between scenarios (`reused`).
pub struct Labs {
    reuse: bool,
    kept: Option<(LabConfig, RunningLab)>,
    /// Why the kept lab could not be reset or kept, until the next scenario's report says so
    /// ([`Acquired::not_reused`]).
    pub last_reset_failure: Option<String>,
}

/// A lab handed to a scenario.
pub struct Acquired {
    pub lab: RunningLab,
    /// How the lab came to be: a kept lab reset, or a new one.
    pub reused: bool,
    /// From the request to a lab ready for the scenario.
    pub ready: Duration,
    /// Why a kept lab was not reused (its reset failed, or it was not kept after the scenario
    /// before), for the report.
    pub not_reused: Option<String>,
}

impl Labs {
    /// A new lab for every scenario, stopped when it ends.
    pub fn fresh_each_time() -> Self {
        Self {
            reuse: false,
            kept: None,
            last_reset_failure: None,
        }
    }

    /// One lab kept between scenarios and reset for each.
    pub fn reused() -> Self {
        Self {
            reuse: true,
            kept: None,
            last_reset_failure: None,
        }
    }

    /// A lab ready for a scenario of `config`: the kept one, reset, when it has the same shape
    /// and the reset succeeds; else a new one.
    pub async fn acquire(
        &mut self,
        config: &LabConfig,
        runtime: lab::RuntimeChoice,
        http: &reqwest::Client,
    ) -> Result<Acquired, String> {
        let started = Instant::now();
        if let Some((kept_config, mut lab)) = self.kept.take() {
            if same_shape(&kept_config, config) {
                match reset(&mut lab, config, http).await {
                    Ok(()) => {
                        self.last_reset_failure = None;
                        return Ok(Acquired {
                            lab,
                            reused: true,
                            ready: started.elapsed(),
                            not_reused: None,
                        });
                    }
                    Err(why) => {
                        self.last_reset_failure =
                            Some(format!("the kept lab could not be reset: {why}"));
                    }
                }
            }
            // Stopping a lab nobody uses any more: a failure leaves processes that `cargo
            // xtask lab down` (or the next containers lab) removes, and is no scenario's fault.
            let _ = lab.stop().await;
        }
        let lab = lab::start(config, runtime)
            .await
            .map_err(|e| format!("the lab did not start: {e}"))?;
        Ok(Acquired {
            lab,
            reused: false,
            ready: started.elapsed(),
            not_reused: self.last_reset_failure.take(),
        })
    }

    /// Takes a lab back after its scenario: kept (with the services the scenario left `down`
    /// started again) when reusing, else stopped. `Err` is a stop that went wrong (the
    /// scenario's report says so); a service that does not start again only means the lab is
    /// stopped and the next scenario gets a new one.
    pub async fn release(
        &mut self,
        mut lab: RunningLab,
        config: &LabConfig,
        down: &BTreeSet<Service>,
    ) -> Result<(), String> {
        if self.reuse {
            let mut healthy = Ok(());
            for service in down {
                if let Err(e) = lab.start_service(*service).await {
                    healthy = Err(format!("{service} did not start again: {e}"));
                    break;
                }
            }
            match healthy {
                Ok(()) => {
                    self.kept = Some((config.clone(), lab));
                    return Ok(());
                }
                Err(why) => {
                    self.last_reset_failure = Some(format!("the lab was not kept: {why}"));
                }
            }
        }
        lab.stop().await.map_err(|e| e.to_string())
    }

    /// The kept lab as its last scenario left it (services started again, not reset), and the
    /// configuration it was last used with; `release` gives it back. For tests and tools that
    /// look at what a scenario left.
    pub fn take_kept(&mut self) -> Option<(LabConfig, RunningLab)> {
        self.kept.take()
    }

    /// Stops the kept lab, if any (the end of a worker).
    pub async fn close(&mut self) -> Result<(), String> {
        match self.kept.take() {
            Some((_, lab)) => lab.stop().await.map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}

/// Whether a lab started with `kept` can be reset into one of `next`: everything the services
/// were started with is the same, but for what a reset changes (the tenant clock, pki-web's
/// files).
pub fn same_shape(kept: &LabConfig, next: &LabConfig) -> bool {
    kept.services == next.services
        && kept.directory.suffix == next.directory.suffix
        && kept.directory.admin_password == next.directory.admin_password
        && kept.smtp.max_message_size == next.smtp.max_message_size
        && kept.tenant.tenant == next.tenant.tenant
        && kept.tenant.client_id == next.tenant.client_id
        && kept.tenant.client_secret == next.tenant.client_secret
        && kept.tenant.users == next.tenant.users
        && kept.tenant.crl_hosts == next.tenant.crl_hosts
        && kept.binaries.smtp_sink == next.binaries.smtp_sink
        && kept.binaries.mock_tenant == next.binaries.mock_tenant
}

/// Puts a running lab into the state a new lab of `config` starts in (see the module
/// documentation), checking each service afterwards.
pub async fn reset(
    lab: &mut RunningLab,
    config: &LabConfig,
    http: &reqwest::Client,
) -> Result<(), String> {
    if !config.tenant.users.is_empty() {
        // A reset tenant has no recipients; seeded mailboxes come only with a new one.
        return Err("the lab seeds cloud-only mailboxes, which only a new tenant has".into());
    }
    let endpoints = lab.endpoints().clone();
    if config.services.contains(&Service::PkiWeb) {
        lab.replace_pki_web(&config.pki_web)
            .await
            .map_err(|e| format!("pki-web: {e}"))?;
    }
    if let Ok(smtp) = endpoints.smtp() {
        empty_sink(http, &smtp.http_url).await?;
    }
    if let Ok(tenant) = endpoints.tenant() {
        let api = TenantApi::new(http.clone(), tenant.clone());
        let answer = api
            .lab_call(
                "resetting the tenant",
                reqwest::Method::POST,
                &format!("/lab/reset/{}", tenant.tenant),
                Some(&json!({ "now": config.tenant.now })),
                Some(RESET_TIMEOUT),
            )
            .await
            .map_err(|e| format!("tenant: {e}"))?;
        if answer["recipients"] != json!(0) || answer["now"].as_str().is_none() {
            return Err(format!("tenant: the reset answered {answer}"));
        }
    }
    if let Ok(directory) = endpoints.directory() {
        super::directory::empty_below_suffix(directory)
            .await
            .map_err(|e| format!("directory: {e}"))?;
    }
    Ok(())
}

/// Deletes every message the sink holds, and checks it holds none.
async fn empty_sink(http: &reqwest::Client, base: &str) -> Result<(), String> {
    let url = format!("{base}/api/v1/messages");
    let failed = |e: reqwest::Error| format!("smtp sink at {url}: {e}");
    let deleted = http
        .delete(&url)
        .timeout(RESET_TIMEOUT)
        .send()
        .await
        .map_err(failed)?;
    if !deleted.status().is_success() {
        return Err(format!(
            "smtp sink at {url}: deleting every message answered {}",
            deleted.status()
        ));
    }
    let listed: serde_json::Value = http
        .get(&url)
        .send()
        .await
        .map_err(failed)?
        .json()
        .await
        .map_err(failed)?;
    match listed["total"].as_u64() {
        Some(0) => Ok(()),
        _ => Err(format!(
            "smtp sink at {url}: messages are left after deleting all: {listed}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_is_reused_only_across_what_a_reset_changes() {
        let base = LabConfig::default();
        let mut next = base.clone();
        next.tenant.now = Some("2031-01-01T00:00:00Z".into());
        let mut base_fixed = base.clone();
        base_fixed.tenant.now = Some("2026-01-01T00:00:00Z".into());
        assert!(same_shape(&base_fixed, &next), "another clock is a reset");
        assert!(same_shape(&base, &next), "so is the system clock");
        let mut pki = next.clone();
        pki.pki_web
            .insert("crl/other.crl", b"x".to_vec())
            .expect("path");
        assert!(
            same_shape(&next, &pki),
            "other files on pki-web are a reset"
        );

        let mut other_domain = next.clone();
        other_domain.directory.suffix = "dc=fabrikam,dc=com".into();
        let mut other_tenant = next.clone();
        other_tenant.tenant.tenant = "fabrikam.onmicrosoft.com".into();
        let mut other_hosts = next.clone();
        other_hosts.tenant.crl_hosts = vec!["pki.fabrikam.com".into()];
        let fewer = next.clone().only([Service::Tenant]);
        for (why, other) in [
            ("suffix", other_domain),
            ("tenant", other_tenant),
            ("CRL hosts", other_hosts),
            ("services", fewer),
        ] {
            assert!(!same_shape(&next, &other), "{why} needs a new lab");
        }
    }
}
