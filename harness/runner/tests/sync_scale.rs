//! The directory half at a real tenant's size, through the local lab (slapd and the mock
//! tenant): publish N users with a certificate over several LDAP connections, one full Entra
//! Connect cycle (a paged directory read, batched exports), every recipient checked with
//! `Get-Mailbox`/`Get-Recipient`, then a delta cycle after 100 users' certificates changed that
//! exports exactly those 100.
//!
//! No timings are asserted (`cargo xtask bench` measures); each phase's duration is printed so a
//! run with `--no-capture` shows where the time goes.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use base64::Engine as _;
use runner::execute::TenantApi;
use runner::execute::directory::{Directory, NewUser, add_users, source_anchor, user_dn};
use runner::execute::sync::{Cycle, ExportRules, Standing, SyncState, check_recipients, run_cycle};
use scenario::model::SyncOutcome;
use scenario::plan::DirectoryAttribute;

fn http() -> reqwest::Client {
    // reqwest is built without a default crypto provider; plain HTTP still wants one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("an HTTP client")
}

/// The DER of a fixture certificate (slapd takes only certificates in `userCertificate`).
fn certificate(name: &str) -> Vec<u8> {
    let pem = std::fs::read_to_string(test_support::fixture(&format!("pki/default/{name}")))
        .expect("fixture certificate");
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body")
}

async fn publish_sync_and_delta(count: usize) {
    let config = lab::LabConfig::default().only([lab::Service::Directory, lab::Service::Tenant]);
    let running = lab::start(&config, lab::RuntimeChoice::Local)
        .await
        .expect("a local lab with slapd and the mock tenant");
    let endpoints = running.endpoints().clone();
    let directory = endpoints.directory().expect("a directory").clone();
    let tenant = TenantApi::new(http(), endpoints.tenant().expect("a tenant").clone());
    let (first, second) = (
        certificate("alice.crt.pem"),
        certificate("bob-sign.crt.pem"),
    );

    let users: Vec<NewUser> = (0..count)
        .map(|n| {
            let id = format!("user{n:06}");
            NewUser {
                mail: format!("{id}@contoso.com"),
                anchor: source_anchor("sync-scale", &id),
                user_certificate: vec![first.clone()],
                user_smime_certificate: Vec::new(),
                proxy_addresses: Vec::new(),
                id,
            }
        })
        .collect();
    let started = Instant::now();
    let dns = add_users(&directory, &users).await.expect("publish");
    eprintln!("{count} users: publish {:?}", started.elapsed());
    assert_eq!(dns.len(), count);
    assert_eq!(
        dns[count - 1],
        user_dn(&directory.suffix, &users[count - 1].id)
    );

    let mut state = SyncState::default();
    let started = Instant::now();
    let full = run_cycle(
        &tenant,
        &directory,
        &mut state,
        Cycle::Full,
        ExportRules::default(),
    )
    .await
    .expect("full cycle");
    eprintln!("{count} users: full cycle {:?}", started.elapsed());
    assert_eq!(
        full.directory.len(),
        count,
        "the paged read sees every user"
    );
    assert_eq!(full.objects.len(), count);
    assert!(
        full.objects
            .iter()
            .all(|o| o.action == "add" && o.standing == Standing::Outcome(SyncOutcome::Exported)),
        "every user is added with its certificate"
    );
    assert_eq!(
        full.answer["batches"],
        count.div_ceil(runner::execute::sync::EXPORT_BATCH)
    );
    let started = Instant::now();
    let (facts, mismatches) = check_recipients(&tenant, &state, &full.directory)
        .await
        .expect("Get-Mailbox and Get-Recipient");
    eprintln!(
        "{count} users: Get-Mailbox + Get-Recipient check {:?}",
        started.elapsed()
    );
    assert!(
        mismatches.is_empty(),
        "{:?}",
        &mismatches[..mismatches.len().min(5)]
    );
    assert_eq!(facts.len(), count, "one Get-Mailbox fact per user");

    // 100 users get another certificate on premises: the delta cycle exports those alone.
    let mut session = Directory::connect(&directory).await.expect("connect");
    let changed: Vec<usize> = (0..count).step_by(count / 100).take(100).collect();
    for n in &changed {
        session
            .replace(
                &dns[*n],
                DirectoryAttribute::UserCertificate,
                &[first.clone(), second.clone()],
            )
            .await
            .expect("replace");
    }
    session.close().await;
    let started = Instant::now();
    let delta = run_cycle(
        &tenant,
        &directory,
        &mut state,
        Cycle::Delta,
        ExportRules::default(),
    )
    .await
    .expect("delta cycle");
    eprintln!("{count} users: delta cycle {:?}", started.elapsed());
    let exported: Vec<&str> = delta.objects.iter().map(|o| o.user.as_str()).collect();
    let expected: Vec<String> = changed.iter().map(|n| users[*n].id.clone()).collect();
    assert_eq!(exported, expected);
    assert!(delta.objects.iter().all(|o| o.action == "update"));
    let (_, mismatches) = check_recipients(&tenant, &state, &delta.directory)
        .await
        .expect("Get-Mailbox and Get-Recipient");
    assert!(
        mismatches.is_empty(),
        "{:?}",
        &mismatches[..mismatches.len().min(5)]
    );

    // Outlook's lookup finds a changed user by address.
    let lookup = tenant
        .lab_call(
            "certificate lookup",
            reqwest::Method::GET,
            &format!("/lab/recipients/{}/certificate", users[changed[1]].mail),
            None,
            None,
        )
        .await
        .expect("lookup");
    assert_eq!(lookup["recipient"], users[changed[1]].mail.as_str());
    assert_eq!(lookup["candidates"].as_array().map(Vec::len), Some(2));
    running.stop().await.expect("the lab stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_users_publish_sync_fully_then_by_delta() {
    publish_sync_and_delta(10_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "100,000 users through slapd take several minutes on a 2-core machine; run with \
            --run-ignored only (the bench measures this size)"]
async fn a_hundred_thousand_users_publish_sync_fully_then_by_delta() {
    publish_sync_and_delta(100_000).await;
}
