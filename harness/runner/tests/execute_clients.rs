//! The executor's client half against a real lab (local runtime: our smtp-sink and mock-tenant,
//! nginx as pki-web, all child processes): identities installed from the plan's PKCS#12 files,
//! messages composed by Outlook, Outlook on the web and a phone under the tenant's settings,
//! sent over SMTP with lettre, read back from the sink byte for byte, and then opened by a peer
//! nobody here wrote: every delivered message verifies and decrypts in `openssl cms`.
//!
//! The service half (directory, sync from LDAP) is not used: the test does what its steps would
//! leave behind through the tenant's own API (the SST with `Set-SmimeConfig`, the published
//! certificates through `/lab/sync/{tenant}/export`).
//!
//! Needs `nginx` (`cargo xtask peers --install`), `openssl`, and our binaries built
//! (`cargo build -p smtp-sink -p tenant`).

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use runner::execute::devices::{self, Devices};
use runner::execute::{Context, TenantApi, clients};
use runner::report::model::{Outcome, StepReport};
use scenario::plan::{Action, DirectoryAttribute, Plan};

const SCENARIO: &str = r#"
name: execute-clients
summary: Each client's messages through the lab, opened by OpenSSL.
source: the executor's client half, tested against the lab
organisation: { tenant: contoso.onmicrosoft.com, users: [alice, bob, carol, dave, eve] }
pki: { fixture: default }
steps:
  # The tenant's lookup takes the first userSMIMECertificate value as published (Outlook's
  # order): bob publishes only the certificate others encrypt to.
  publish: { users: { eve: { certificates: [] }, bob: { certificates: [bob-encrypt] } } }
  virtual-collection: {}
  sync: {}
  clients:
    smime-config: { OWADisableCRLCheck: true, OWASigningAlgorithms: "800C;800D;8004" }
    devices:
      - { user: alice, client: owa }
      - { user: alice, client: mobile }
      - { user: alice, client: outlook }
      - { user: bob, client: owa }
      - { user: carol, client: outlook }
      - { user: carol, client: owa, pkcs12: legacy }
      - { user: dave, client: mobile, storage: smart-card }
messages:
  - { from: alice, to: [carol], client: owa, sign: true, encrypt: true,
      expect: { verdict: valid, decrypted: true, weak: false } }
  - { from: carol, to: [alice], client: outlook, sign: true, encrypt: true, triple-wrap: true,
      expect: { verdict: valid, decrypted: true } }
  - { from: alice, to: [dave], client: mobile, sign: true, encrypt: true,
      expect: { verdict: valid, decrypted: true, weak: true } }
  # Outlook for Windows: Outlook on the web encrypts only with its OWAEncryptionAlgorithms list,
  # which has no AES-GCM entry (Set-SmimeConfig lists 6601-6610), so it cannot send this one.
  - { from: alice, to: [bob], cc: [carol], client: outlook, encrypt: true,
      options: { recipient-id: subject-key-identifier, cipher: aes256-gcm, rsa-padding: { oaep: sha256 } },
      expect: { verdict: not-signed, decrypted: true } }
  - { from: alice, to: [carol], client: owa, sign: true, opaque: true,
      options: { include-chain: chain-and-root, digest: sha384 }, expect: { verdict: valid } }
  - { from: carol, to: [eve], client: outlook, encrypt: true,
      expect: { refused: true, reason: NoRecipientCertificate } }
  - { from: bob, to: [alice], client: mobile, sign: true,
      expect: { refused: true, reason: NoSigningCertificate } }
  # A wrong expectation must fail the step, naming what was seen.
  - { from: alice, to: [carol], client: owa, sign: true, expect: { verdict: untrusted, weak: true } }
"#;

fn require_nginx() {
    let found =
        test_support::find_on_path("nginx").is_some() || Path::new("/usr/sbin/nginx").is_file();
    assert!(
        found,
        "pki-web in the local lab is the host's nginx: install it with `cargo xtask peers --install` (or apt-get install nginx)"
    );
}

fn http() -> reqwest::Client {
    runner::execute::http_client().unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What the service half's steps leave in the tenant: the SST imported with the scenario's
/// Set-SmimeConfig parameters, and each user's published certificates exported by one full
/// Entra Connect cycle.
async fn provision(plan: &Plan, tenant: &TenantApi) {
    let mut published: BTreeMap<String, (String, Map<String, Value>)> = BTreeMap::new();
    for action in &plan.actions {
        match action {
            Action::ImportCollection(import) => {
                let mut parameters = Map::new();
                parameters.insert(
                    "SMIMECertificateIssuingCA".into(),
                    Value::String(b64(&import.bytes)),
                );
                tenant
                    .invoke("Set-SmimeConfig", parameters)
                    .await
                    .expect("the SST imports");
            }
            Action::Cmdlet(call) => {
                tenant
                    .invoke(call.cmdlet, call.parameters.clone())
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", call.cmdlet));
            }
            Action::Publish(values) => {
                let (_, attributes) = published
                    .entry(values.user.clone())
                    .or_insert_with(|| (values.mailbox.clone(), Map::new()));
                let name = match values.attribute {
                    DirectoryAttribute::UserSmimeCertificate => "userSMIMECertificate",
                    DirectoryAttribute::UserCertificate => "userCertificate",
                };
                attributes.insert(
                    name.into(),
                    values.certificates.iter().map(|c| b64(&c.der)).collect(),
                );
            }
            _ => {}
        }
    }
    let mut objects = Vec::new();
    for user in ["alice", "bob", "carol", "dave", "eve"] {
        let mailbox = format!("{user}@contoso.com");
        let mut object =
            json!({ "sourceAnchor": user, "userPrincipalName": mailbox, "mail": mailbox });
        if let Some((_, attributes)) = published.get(user) {
            for (name, values) in attributes {
                object[name] = values.clone();
            }
        }
        objects.push(object);
    }
    let path = format!("/lab/sync/{}/export", plan.tenant);
    let body = json!({ "cycle": "full", "objects": objects });
    tenant
        .lab_call(
            "sync export",
            reqwest::Method::POST,
            &path,
            Some(&body),
            None,
        )
        .await
        .expect("the export applies");
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Files {
            dir: tempfile::Builder::new()
                .prefix("execute-clients-")
                .tempdir()
                .expect("a temporary directory"),
        }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        test_support::write(self.dir.path(), name, bytes)
            .display()
            .to_string()
    }

    fn fixture(name: &str) -> String {
        test_support::fixture(&format!("pki/default/{name}"))
            .display()
            .to_string()
    }
}

/// `openssl cms -decrypt` as `user` (their certificate and key from the fixtures).
fn openssl_decrypt(files: &Files, name: &str, message: &[u8], user: &str) -> Vec<u8> {
    let input = files.write(name, message);
    test_support::run_openssl(&[
        "cms",
        "-decrypt",
        "-in",
        &input,
        "-recip",
        &Files::fixture(&format!("{user}.crt.pem")),
        "-inkey",
        &Files::fixture(&format!("{user}.key.pem")),
    ])
}

/// `openssl cms -verify` against the lab root and issuing CA (messages may leave the issuing CA
/// out, and OpenSSL 3.0's `cms` has no `-untrusted`: both are given as trusted); returns the
/// signed content.
fn openssl_verify(files: &Files, name: &str, message: &[u8]) -> Vec<u8> {
    let input = files.write(name, message);
    let mut bundle = test_support::read(Files::fixture("root.crt.pem"));
    bundle.extend(test_support::read(Files::fixture("issuing.crt.pem")));
    let bundle = files.write("lab-cas.pem", &bundle);
    test_support::run_openssl(&[
        "cms",
        "-verify",
        "-in",
        &input,
        "-CAfile",
        &bundle,
        "-attime",
        "1767225600",
        "-purpose",
        "smimesign",
    ])
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The report of message `number` (messages are sent in the plan's order).
fn step(steps: &[StepReport], number: usize) -> &StepReport {
    let report = steps
        .get(number - 1)
        .unwrap_or_else(|| panic!("no report of message {number}"));
    assert!(
        report.title.starts_with(&format!("message {number}:")),
        "{report:#?}"
    );
    report
}

/// Runs the scenario's install and send actions against a fresh lab and returns their reports
/// and the messages as the sink stored them (by number).
async fn run_messages(
    files: &Files,
) -> (Vec<StepReport>, Vec<StepReport>, BTreeMap<usize, Vec<u8>>) {
    require_nginx();
    let loaded = scenario::parse(SCENARIO, "execute-clients.yaml")
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    let plan = scenario::plan(&loaded).expect("a plan");

    let mut config = lab::LabConfig::default().only([
        lab::Service::Smtp,
        lab::Service::Tenant,
        lab::Service::PkiWeb,
    ]);
    config.pki_web = lab::PkiWebContent::from_pki_dir(&test_support::fixture("pki/default"))
        .expect("the fixture PKI's CRLs");
    config.tenant.tenant = plan.tenant.clone();
    config.tenant.now = Some(smime::certificate::rfc3339(plan.now));
    let running = lab::start(&config, lab::RuntimeChoice::Local)
        .await
        .expect("a local lab with smtp, tenant and pki-web");
    let endpoints = running.endpoints().clone();
    let http = http();
    let tenant = TenantApi::new(http.clone(), endpoints.tenant().expect("a tenant").clone());
    provision(&plan, &tenant).await;

    let mut ctx = Context {
        plan: &plan,
        now: plan.now,
        endpoints: endpoints.clone(),
        tenant,
        http: http.clone(),
        out_dir: files.dir.path().join("out"),
        snapshot_dir: files.dir.path().join("snapshots"),
        devices: Devices::default(),
        down: Default::default(),
        sync: Default::default(),
        directory: None,
        received: Default::default(),
    };
    let (mut installs, mut sends) = (Vec::new(), Vec::new());
    for action in &plan.actions {
        match action {
            Action::InstallIdentity(install) => installs.push(devices::install(&mut ctx, install)),
            Action::Send(message) => sends.push(clients::send(&mut ctx, message).await),
            _ => {}
        }
    }

    let stored = sink_contents(&http, &endpoints.smtp().expect("smtp").http_url).await;
    running.stop().await.expect("the lab stops");
    (installs, sends, stored)
}

/// Every message the sink holds, by the number in its Message-ID, read through the sink's API
/// directly rather than through the executor's own fetch.
async fn sink_contents(http: &reqwest::Client, api: &str) -> BTreeMap<usize, Vec<u8>> {
    let list: Value = http
        .get(format!("{api}/api/v1/messages?limit=100"))
        .send()
        .await
        .expect("the sink lists its messages")
        .json()
        .await
        .expect("JSON");
    let mut stored = BTreeMap::new();
    for summary in list["messages"].as_array().expect("a message list") {
        let message_id = summary["MessageID"].as_str().expect("a MessageID");
        let number: usize = message_id
            .strip_prefix("execute-clients.")
            .and_then(|rest| rest.strip_suffix("@contoso.com"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("an unexpected message {message_id}"));
        let id = summary["ID"].as_str().expect("an ID");
        let raw = http
            .get(format!("{api}/api/v1/message/{id}/raw"))
            .send()
            .await
            .expect("the raw message")
            .bytes()
            .await
            .expect("its bytes");
        assert!(
            stored.insert(number, raw.to_vec()).is_none(),
            "message {number} was stored twice"
        );
    }
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_send_through_the_lab_and_openssl_opens_every_message() {
    let files = Files::new();
    let (installs, sends, stored) = run_messages(&files).await;

    for install in &installs {
        assert_eq!(install.outcome, Outcome::Passed, "{install:#?}");
    }
    assert_eq!(installs.len(), 7);

    // Refused messages: the reason, no bytes written, nothing at the sink.
    for (number, reason) in [(6, "NoRecipientCertificate"), (7, "NoSigningCertificate")] {
        let report = step(&sends, number);
        assert_eq!(report.outcome, Outcome::Passed, "{report:#?}");
        let message = report.message.as_ref().expect("a message report");
        assert_eq!(message.refused.as_deref(), Some(reason));
        assert!(report.artifacts.is_empty());
        assert!(message.recipients.iter().all(|r| !r.delivered));
        assert!(
            !stored.contains_key(&number),
            "message {number} reached the sink"
        );
    }
    assert!(
        step(&sends, 6)
            .details
            .iter()
            .any(|d| d.starts_with("eve@contoso.com: no certificate")),
        "{:#?}",
        step(&sends, 6).details
    );

    // Sent messages: the sink holds exactly the bytes written as the artifact.
    for number in 1..=5 {
        let report = step(&sends, number);
        assert_eq!(
            report.artifacts,
            vec![
                format!("message-{number}.eml"),
                format!("message-{number}.anatomy.yaml")
            ],
            "{report:#?}"
        );
        // The anatomy written beside the message is the one the report carries.
        let anatomy =
            std::fs::read_to_string(files.dir.path().join("out").join(&report.artifacts[1]))
                .expect("the message's anatomy");
        let reported = report.message.as_ref().expect("a message report");
        assert_eq!(
            Some(anatomy.as_str()),
            reported.anatomy.as_deref(),
            "message {number}"
        );
        let sent = std::fs::read(files.dir.path().join("out").join(&report.artifacts[0]))
            .expect("the message as sent");
        assert_eq!(
            stored.get(&number),
            Some(&sent),
            "message {number}: the sink's bytes differ from those sent"
        );
        assert!(
            contains(
                &sent,
                &format!("Message-ID: <execute-clients.{number}@contoso.com>\r\n")
            ),
            "message {number}"
        );
        assert!(contains(&sent, "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"));
    }

    let protection = |number: usize| {
        step(&sends, number)
            .message
            .as_ref()
            .map(|m| m.protection.clone())
            .unwrap_or_default()
    };

    // 1. OWA: SHA-256 (the first of "800C;8004"), AES-256, clear-signed inside the envelope.
    assert_eq!(protection(1), "signed+encrypted");
    let inner = openssl_decrypt(&files, "1.eml", &stored[&1], "carol");
    assert!(
        contains(&inner, "multipart/signed"),
        "{}",
        String::from_utf8_lossy(&inner)
    );
    assert!(contains(&inner, "micalg=sha-256"));
    let content = openssl_verify(&files, "1-inner.eml", &inner);
    assert!(contains(
        &content,
        "Message 1 of the smime-lab scenario execute-clients."
    ));
    // The sender can read Sent Items: the envelope is also to alice.
    openssl_decrypt(&files, "1-self.eml", &stored[&1], "alice");

    // 2. Outlook, triple-wrapped: signed, encrypted, signed.
    assert_eq!(protection(2), "triple-wrapped");
    let envelope = openssl_verify(&files, "2.eml", &stored[&2]);
    let inner = openssl_decrypt(&files, "2-envelope.eml", &envelope, "alice");
    let content = openssl_verify(&files, "2-inner.eml", &inner);
    assert!(contains(
        &content,
        "Message 2 of the smime-lab scenario execute-clients."
    ));

    // 3. The phone: 3DES to dave's P-384 key (ECDH), SHA-1.
    assert_eq!(protection(3), "signed+encrypted");
    let inner = openssl_decrypt(&files, "3.eml", &stored[&3], "dave");
    assert!(contains(&inner, "micalg=sha-1"));
    openssl_verify(&files, "3-inner.eml", &inner);
    let cms = test_support::run_openssl(&[
        "cms",
        "-cmsout",
        "-print",
        "-in",
        &files.write("3-print.eml", &stored[&3]),
    ]);
    assert!(
        contains(&cms, "des-ede3-cbc"),
        "{}",
        String::from_utf8_lossy(&cms)
    );

    // 4. Encrypted only, AES-256-GCM (authEnveloped-data), OAEP, recipients by SKI: bob (P-256)
    //    and carol (RSA, OAEP) both open it.
    assert_eq!(protection(4), "encrypted");
    assert!(contains(&stored[&4], "smime-type=authEnveloped-data"));
    for user in ["bob-encrypt", "carol"] {
        let plain = openssl_decrypt(&files, &format!("4-{user}.eml"), &stored[&4], user);
        assert!(contains(
            &plain,
            "Message 4 of the smime-lab scenario execute-clients."
        ));
    }
    let cms = test_support::run_openssl(&[
        "cms",
        "-cmsout",
        "-print",
        "-in",
        &files.write("4-print.eml", &stored[&4]),
    ]);
    assert!(
        contains(&cms, "subjectKeyIdentifier"),
        "{}",
        String::from_utf8_lossy(&cms)
    );
    assert!(
        contains(&cms, "rsaesOaep"),
        "{}",
        String::from_utf8_lossy(&cms)
    );
    assert!(contains(&stored[&4], "Cc: carol@contoso.com\r\n"));

    // 5. Opaque-signed, SHA-384, the chain and the root: verifies with no intermediate given.
    assert_eq!(protection(5), "opaque-signed");
    assert!(contains(&stored[&5], "smime-type=signed-data"));
    let input = files.write("5.eml", &stored[&5]);
    let content = test_support::run_openssl(&[
        "cms",
        "-verify",
        "-in",
        &input,
        "-CAfile",
        &Files::fixture("root.crt.pem"),
        "-attime",
        "1767225600",
    ]);
    assert!(contains(
        &content,
        "Message 5 of the smime-lab scenario execute-clients."
    ));
    let certificates = files.dir.path().join("5-certs.pem");
    test_support::run_openssl(&[
        "cms",
        "-verify",
        "-noverify",
        "-in",
        &input,
        "-certsout",
        &certificates.display().to_string(),
    ]);
    let pem = std::fs::read_to_string(&certificates).expect("certificates");
    assert_eq!(
        pem.matches("BEGIN CERTIFICATE").count(),
        3,
        "signer, issuing CA, root"
    );

    // What each recipient saw, judged by the tenant's OWA validation (CONTRACTS §1 a).
    for number in 1..=5 {
        let report = step(&sends, number);
        assert_eq!(report.outcome, Outcome::Passed, "{report:#?}");
    }
    let recipient = |number: usize, mailbox: &str| {
        step(&sends, number)
            .message
            .as_ref()
            .and_then(|m| m.recipients.iter().find(|r| r.mailbox == mailbox).cloned())
            .unwrap_or_else(|| panic!("message {number} has no recipient {mailbox}"))
    };
    let dave = recipient(3, "dave@contoso.com");
    assert_eq!(
        (dave.verdict.as_deref(), dave.decrypted, dave.weak),
        (Some("valid"), Some(true), true),
        "3DES and SHA-1 are flagged"
    );
    for mailbox in ["bob@contoso.com", "carol@contoso.com"] {
        let r = recipient(4, mailbox);
        assert_eq!(
            (r.verdict.as_deref(), r.decrypted),
            (Some("not-signed"), Some(true))
        );
    }

    let wrong = step(&sends, 8);
    assert_eq!(wrong.outcome, Outcome::Failed, "{wrong:#?}");
    let actual = wrong.actual.as_deref().unwrap_or_default();
    assert!(
        actual.contains("carol@contoso.com: verdict valid")
            && actual.contains("expected untrusted")
            && actual.contains("not flagged weak, expected flagged weak"),
        "{actual}"
    );
}
