#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic: a failed expectation is a failed test
//! Labs kept between scenarios (`runner::execute::reuse`), in the local runtime: a lab that ran
//! one scenario, reset for the next, shows exactly what a new lab of the next scenario shows:
//! directory entries, the tenant's recipients, S/MIME configuration, mobile policies and clock,
//! the sink's messages, pki-web's files. The scenario before leaves pki-web down (a `services:`
//! fault), so the lab also has to bring a faulted service back.
//!
//! Needs what `execute_services.rs` needs: slapd, slapadd, nginx, our binaries built.

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine as _;
use lab::{LabConfig, RunningLab};
use runner::execute::reuse::Labs;
use runner::execute::{RunOptions, TenantApi, run_scenario_in};
use runner::report::model::Outcome;
use serde_json::{Map, Value, json};

fn load(name: &str) -> scenario::LoadedScenario {
    let path = test_support::repo_root().join(format!("scenarios/{name}.yaml"));
    scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

fn options(out: &Path, name: &str) -> RunOptions {
    RunOptions {
        runtime: lab::RuntimeChoice::Local,
        out_dir: out.join(name),
        snapshot_dir: test_support::repo_root().join("scenarios/snapshots"),
        binaries: lab::Binaries::default(),
        keys: std::sync::Arc::new(smime::key::Generated),
    }
}

fn config_of(name: &str, out: &Path) -> LabConfig {
    let plan = scenario::plan(&load(name)).expect("plan");
    runner::execute::lab_setup::lab_config(&plan, &options(out, name)).expect("lab config")
}

fn http() -> reqwest::Client {
    runner::execute::http_client().unwrap()
}

/// Everything a scenario can see of a lab, in a form two labs can be compared by.
#[derive(Debug, PartialEq)]
struct Seen {
    directory: Vec<String>,
    recipients: Vec<Value>,
    smime_config: Vec<Value>,
    mobile_policies: Vec<Value>,
    clock: Value,
    messages: Value,
    /// Each path: the status and the bytes (or why nothing answered).
    pki_web: Vec<(String, String)>,
}

async fn see(lab: &RunningLab, paths: &BTreeSet<String>) -> Seen {
    let endpoints = lab.endpoints();
    let http = http();
    let directory = {
        let mut directory = runner::execute::directory::Directory::connect(
            endpoints.directory().expect("directory"),
        )
        .await
        .expect("directory answers");
        let mut dns = directory.entries_below_suffix().await.expect("listing");
        dns.sort();
        directory.close().await;
        dns
    };
    let tenant = TenantApi::new(http.clone(), endpoints.tenant().expect("tenant").clone());
    let cmdlet = async |name: &str| {
        tenant
            .invoke(name, Map::new())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .objects
    };
    let recipients = cmdlet("Get-Recipient").await;
    let smime_config = cmdlet("Get-SmimeConfig").await;
    let mobile_policies = cmdlet("Get-MobileDeviceMailboxPolicy").await;
    let clock = tenant
        .lab_call("clock", reqwest::Method::GET, "/lab/clock", None, None)
        .await
        .expect("clock");
    let smtp = endpoints.smtp().expect("smtp");
    let listed: Value = http
        .get(format!("{}/api/v1/messages", smtp.http_url))
        .send()
        .await
        .expect("sink answers")
        .json()
        .await
        .expect("JSON");
    let messages = json!({
        "total": listed["total"],
        "ids": listed["messages"].as_array().map(|m| m.iter().map(|m| m["MessageID"].clone()).collect::<Vec<_>>()),
    });
    let base = endpoints.pki_web().expect("pki-web").url.clone();
    let mut pki_web = Vec::new();
    for path in paths {
        let seen = match http.get(format!("{base}/{path}")).send().await {
            Ok(response) => {
                let status = response.status();
                let bytes = response.bytes().await.expect("body");
                format!(
                    "{status} {}",
                    base64::engine::general_purpose::STANDARD.encode(&bytes)
                )
            }
            Err(e) => format!("no answer: connect={}", e.is_connect()),
        };
        pki_web.push((path.clone(), seen));
    }
    Seen {
        directory,
        recipients,
        smime_config,
        mobile_policies,
        clock,
        messages,
        pki_web,
    }
}

#[tokio::test]
async fn nothing_of_one_scenario_is_visible_in_the_next() {
    test_support::require_local_lab();
    let out = tempfile::tempdir().expect("tempdir");
    let before = "crl-server-down";
    let after = "rsa-happy-path";
    let config_before = config_of(before, out.path());
    let config_after = config_of(after, out.path());
    assert!(
        runner::execute::reuse::same_shape(&config_before, &config_after),
        "the two scenarios share a lab shape, so the lab is reused"
    );
    let paths: BTreeSet<String> = config_before
        .pki_web
        .files()
        .keys()
        .chain(config_after.pki_web.files().keys())
        .cloned()
        .collect();

    // What a new lab of the second scenario shows.
    let fresh = lab::start(&config_after, lab::RuntimeChoice::Local)
        .await
        .expect("a new lab");
    let new_lab = see(&fresh, &paths).await;
    fresh.stop().await.expect("stopped");

    // The first scenario, in a lab that is kept.
    let mut labs = Labs::reused();
    let report = run_scenario_in(&load(before), &options(out.path(), before), &mut labs).await;
    assert_eq!(report.outcome, Outcome::Passed, "{report:#?}");
    assert_eq!(report.lab.as_ref().map(|l| l.reused), Some(false));

    // The lab as the first scenario left it (pki-web started again, nothing reset yet), with
    // more left in the tenant: a mobile policy of its own and a moved clock.
    let (kept_config, lab) = labs
        .take_kept()
        .expect("the lab is kept after the scenario");
    let tenant = TenantApi::new(http(), lab.endpoints().tenant().expect("tenant").clone());
    let mut policy = Map::new();
    policy.insert("Name".into(), json!("Left behind"));
    policy.insert("RequireSignedSMIMEMessages".into(), json!(true));
    tenant
        .invoke("New-MobileDeviceMailboxPolicy", policy)
        .await
        .expect("a policy");
    tenant
        .lab_call(
            "clock",
            reqwest::Method::PUT,
            "/lab/clock",
            Some(&json!({"now": "2040-01-01T00:00:00Z"})),
            None,
        )
        .await
        .expect("clock moved");
    // It differs from a new lab in every part, so the comparison below can fail.
    let dirty = see(&lab, &paths).await;
    assert_ne!(dirty.directory, new_lab.directory, "users were created");
    assert_ne!(
        dirty.recipients, new_lab.recipients,
        "mailboxes were synced"
    );
    assert_ne!(
        dirty.smime_config, new_lab.smime_config,
        "the SST was imported"
    );
    assert_ne!(
        dirty.mobile_policies, new_lab.mobile_policies,
        "a policy was added"
    );
    assert_ne!(dirty.clock, new_lab.clock, "the clock moved");
    assert_ne!(dirty.messages, new_lab.messages, "mail was sent");
    assert_ne!(
        dirty.pki_web, new_lab.pki_web,
        "the first plan's CRLs are served"
    );
    labs.release(lab, &kept_config, &BTreeSet::new())
        .await
        .expect("kept");

    // Reset for the second scenario: what it sees is what a new lab shows.
    let acquired = labs
        .acquire(&config_after, lab::RuntimeChoice::Local, &http())
        .await
        .expect("reset");
    assert!(acquired.reused, "{:?}", acquired.not_reused);
    let reset = see(&acquired.lab, &paths).await;
    assert_eq!(reset, new_lab);
    labs.release(acquired.lab, &config_after, &BTreeSet::new())
        .await
        .expect("kept");

    // And the second scenario passes in it.
    let report = run_scenario_in(&load(after), &options(out.path(), after), &mut labs).await;
    assert_eq!(report.outcome, Outcome::Passed, "{report:#?}");
    assert_eq!(report.lab.as_ref().map(|l| l.reused), Some(true));

    // A scenario of another domain cannot reuse it: a new lab, the old one stopped.
    let other = config_of("ecdsa-happy-path", out.path());
    assert!(!runner::execute::reuse::same_shape(&config_after, &other));
    let acquired = labs
        .acquire(&other, lab::RuntimeChoice::Local, &http())
        .await
        .expect("a new lab");
    assert!(!acquired.reused);
    acquired.lab.stop().await.expect("stopped");
    labs.close().await.expect("closed");
}
