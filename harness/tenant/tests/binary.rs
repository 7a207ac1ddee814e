//! The real `mock-tenant` binary: the ready line, health, the OpenAPI document against the live
//! routes, and a restart after SIGKILL that has lost nothing it acknowledged.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::{Value, json};

struct Running {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path, extra: &[&str]) -> Running {
    start_logging(data_dir, extra, "warn", Stdio::inherit())
}

fn start_logging(
    data_dir: &std::path::Path,
    extra: &[&str],
    log_level: &str,
    stderr: Stdio,
) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-tenant"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tenant",
            TENANT,
            "--client-id",
            CLIENT_ID,
            "--data-dir",
        ])
        .arg(data_dir)
        .args(["--now", "2030-01-01T00:00:00Z"])
        .args(extra)
        .env("MOCK_TENANT_CLIENT_SECRET", CLIENT_SECRET)
        .env("MOCK_TENANT_LAB_SECRET", LAB_SECRET)
        .env("RUST_LOG", log_level)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn mock-tenant");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    let ready: Value =
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("ready line {line:?}: {e}"));
    let addr: SocketAddr = ready["http"]
        .as_str()
        .expect("http")
        .parse()
        .expect("address");
    assert_eq!(ready.as_object().unwrap().len(), 1, "one key: {line}");
    Running { child, addr }
}

fn token(addr: SocketAddr) -> String {
    let body = format!(
        "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={}&scope={}",
        urlencode(CLIENT_SECRET),
        urlencode("https://outlook.office365.com/.default")
    );
    let response = http(
        addr,
        "POST",
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(response.status, 200);
    response.json()["access_token"].as_str().unwrap().to_owned()
}

fn invoke(addr: SocketAddr, token: &str, cmdlet: &str, parameters: Value) -> Response {
    http(
        addr,
        "POST",
        &format!("/adminapi/beta/{TENANT}/InvokeCommand"),
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Content-Type", "application/json"),
        ],
        json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}})
            .to_string()
            .as_bytes(),
    )
}

#[test]
fn a_killed_tenant_restarts_with_everything_it_acknowledged() {
    let data = tempfile::tempdir().unwrap();
    let sst = smime::sst::write_sst(&[vector_der("rfc9216/ca.rsa.crt")]).unwrap();
    let first_token;
    {
        let tenant = start(data.path(), &["--users", "alice@contoso.com"]);
        first_token = token(tenant.addr);
        for (cmdlet, parameters) in [
            (
                "Set-SmimeConfig",
                json!({"SMIMECertificateIssuingCA": b64(&sst), "OWASigningAlgorithms": "800C"}),
            ),
            (
                "New-MobileDeviceMailboxPolicy",
                json!({"Name": "Phones", "RequireSignedSMIMEMessages": true}),
            ),
            (
                "Set-Mailbox",
                json!({"Identity": "alice", "UserSMimeCertificate": [b64(&sst)]}),
            ),
        ] {
            let response = invoke(tenant.addr, &first_token, cmdlet, parameters);
            assert_eq!(
                response.status,
                200,
                "{cmdlet}: {}",
                String::from_utf8_lossy(&response.body)
            );
        }
        let sync = http(
            tenant.addr,
            "POST",
            &format!("/lab/sync/{TENANT}/export"),
            &[("X-Lab-Secret", LAB_SECRET)],
            json!({"cycle": "delta", "objects": [{"sourceAnchor": "Qk9C", "userPrincipalName": "bob@contoso.com"}]}).to_string().as_bytes(),
        );
        assert_eq!(sync.status, 200);
        // Dropping kills it with SIGKILL: no shutdown hook gets to save anything.
    }

    let tenant = start(data.path(), &["--users", "alice@contoso.com"]);
    // A token issued before the restart is still good (same secret, same clock).
    let config = invoke(tenant.addr, &first_token, "Get-SmimeConfig", json!({}));
    assert_eq!(config.status, 200);
    let config = &config.json()["value"][0];
    assert_eq!(config["SMIMECertificateIssuingCA"], b64(&sst));
    assert_eq!(config["OWASigningAlgorithms"], "800C");
    assert_ne!(config["SMIMEExpiredCertificateThumbprint"], "");
    let policy = invoke(
        tenant.addr,
        &first_token,
        "Get-MobileDeviceMailboxPolicy",
        json!({"Identity": "Phones"}),
    );
    assert_eq!(
        policy.json()["value"][0]["RequireSignedSMIMEMessages"],
        true
    );
    let mailboxes = invoke(tenant.addr, &first_token, "Get-Mailbox", json!({})).json();
    let names: Vec<&str> = mailboxes["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"], "the seed did not duplicate alice");
    assert_eq!(
        mailboxes["value"][0]["UserSMimeCertificate"],
        json!([b64(&sst)])
    );
}

#[test]
fn health_openapi_and_bad_requests() {
    let data = tempfile::tempdir().unwrap();
    let tenant = start(data.path(), &[]);
    let health = http(tenant.addr, "GET", "/health", &[], b"");
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");

    let doc = http(tenant.addr, "GET", "/openapi.json", &[], b"").json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // Every documented path and method is routed (no 404 "no endpoint" from the fallback).
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{tenant}", TENANT)
            .replace("{address}", "nobody@contoso.com");
        for method in item.as_object().unwrap().keys() {
            let response = http(tenant.addr, &method.to_uppercase(), &concrete, &[], b"{}");
            let fallback = response.status == 404
                && response.json()["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("no endpoint"));
            assert!(!fallback, "{method} {path} is documented but not routed");
        }
    }
    let missing = http(tenant.addr, "GET", "/adminapi/v1.0/nothing", &[], b"");
    assert_eq!(missing.status, 404);

    let token = token(tenant.addr);
    let response = http(
        tenant.addr,
        "POST",
        &format!("/adminapi/beta/{TENANT}/InvokeCommand"),
        &[("Authorization", &format!("Bearer {token}"))],
        b"\x00\x01 not json",
    );
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"]["code"], "BadRequest");
}

#[test]
fn bad_command_lines_exit_2_with_a_message() {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mock-tenant"))
        .args([
            "--tenant",
            TENANT,
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            "x",
            "--lab-secret",
            "y",
            "--now",
            "tomorrow",
            "--data-dir",
        ])
        .arg(data.path())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--now 'tomorrow' is not an RFC 3339 time")
    );

    let output = Command::new(env!("CARGO_BIN_EXE_mock-tenant"))
        .args([
            "--tenant",
            TENANT,
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            "x",
            "--lab-secret",
            "y",
            "--crl-host",
            "pki.contoso.com=127.0.0.1:8080",
            "--crl-host",
            "pki.contoso.com",
            "--data-dir",
        ])
        .arg(data.path())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--crl-host") && stderr.contains("expected NAME=HOST:PORT"),
        "{stderr}"
    );

    std::fs::write(data.path().join("state.json"), b"not json").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mock-tenant"))
        .args([
            "--tenant",
            TENANT,
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            "x",
            "--lab-secret",
            "y",
            "--data-dir",
        ])
        .arg(data.path())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("older mock-tenant"));

    // No lab secret anywhere: refused, saying where it goes.
    let output = Command::new(env!("CARGO_BIN_EXE_mock-tenant"))
        .args([
            "--tenant",
            TENANT,
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            "x",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .env_remove("MOCK_TENANT_LAB_SECRET")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--lab-secret") && stderr.contains("X-Lab-Secret"),
        "{stderr}"
    );
}

#[test]
fn a_huge_request_field_adds_a_bounded_line_to_the_log() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("tenant.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let state = data.path().join("state");
    let tenant = start_logging(&state, &[], "info", Stdio::from(log));
    let token = token(tenant.addr);
    let before = std::fs::metadata(&log_path).unwrap().len();
    // 1 MB cmdlet name: an unknown cmdlet, logged as refused, and a 1 MB client id.
    let huge = "G".repeat(1024 * 1024);
    let response = invoke(tenant.addr, &token, &huge, json!({}));
    assert_eq!(response.status, 403);
    let refused = http(
        tenant.addr,
        "POST",
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("grant_type=client_credentials&client_id={huge}").as_bytes(),
    );
    assert_eq!(refused.status, 400);
    // Each line is written before its answer is sent.
    drop(tenant);
    let text = std::fs::read_to_string(&log_path).unwrap();
    let grown = text.len() as u64 - before;
    assert!(grown < 4096, "the log grew by {grown} bytes:\n{text}");
    assert!(
        text.contains(&format!("… ({} bytes)", huge.len())),
        "the cut says how long the field was:\n{text}"
    );
}

/// SIGKILL while sync batches are being applied: every batch the tenant acknowledged is there
/// after the restart, and the batch in flight is there whole or not at all (one transaction).
#[test]
fn a_tenant_killed_mid_load_keeps_every_acknowledged_batch_whole() {
    use std::sync::{Arc, Mutex};
    const BATCH: usize = 200;
    let data = tempfile::tempdir().unwrap();
    let address = |n: usize| format!("load{n:05}@contoso.com");
    let acknowledged = Arc::new(Mutex::new(0usize));
    {
        let tenant = start(data.path(), &[]);
        let addr = tenant.addr;
        let counter = Arc::clone(&acknowledged);
        let sender = std::thread::spawn(move || {
            for batch in 0..1000usize {
                let objects: Vec<Value> = (batch * BATCH..(batch + 1) * BATCH)
                    .map(|n| {
                        json!({"sourceAnchor": format!("load-{n}"), "userPrincipalName": address(n),
                               "userCertificate": [b64(&n.to_be_bytes())]})
                    })
                    .collect();
                let body = json!({"cycle": "delta", "objects": objects}).to_string();
                // The connection breaks when the tenant is killed: that ends the load.
                let sent = std::panic::catch_unwind(|| {
                    http(
                        addr,
                        "POST",
                        &format!("/lab/sync/{TENANT}/export"),
                        &[("X-Lab-Secret", LAB_SECRET)],
                        body.as_bytes(),
                    )
                });
                match sent {
                    Ok(response) if response.status == 200 => {
                        *counter.lock().unwrap() = batch + 1;
                    }
                    _ => return,
                }
            }
        });
        // Bounded: a sender that stops early (a refused batch) fails the test instead of
        // leaving it waiting.
        while *acknowledged.lock().unwrap() < 5 {
            assert!(
                !sender.is_finished(),
                "the load stopped before 5 batches were acknowledged"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        drop(tenant); // SIGKILL, mid-load
        let _ = sender.join();
    }
    let acknowledged = *acknowledged.lock().unwrap();
    assert!(acknowledged >= 5);

    let tenant = start(data.path(), &[]);
    let found = |n: usize| {
        let response = http(
            tenant.addr,
            "GET",
            &format!("/lab/recipients/{}/certificate", address(n)),
            &[("X-Lab-Secret", LAB_SECRET)],
            b"",
        );
        assert!(matches!(response.status, 200 | 404), "{}", response.text());
        response.status == 200
    };
    for n in 0..acknowledged * BATCH {
        assert!(found(n), "{} was acknowledged and is gone", address(n));
    }
    // The batch in flight when the tenant died: whole or absent.
    let in_flight: Vec<bool> = (acknowledged * BATCH..(acknowledged + 1) * BATCH)
        .map(found)
        .collect();
    assert!(
        in_flight.iter().all(|f| *f) || in_flight.iter().all(|f| !*f),
        "a batch is one transaction"
    );
    // And the tenant still takes changes.
    let more = http(
        tenant.addr,
        "POST",
        &format!("/lab/sync/{TENANT}/export"),
        &[("X-Lab-Secret", LAB_SECRET)],
        json!({"cycle": "delta", "objects": [{"sourceAnchor": "after", "userPrincipalName": "after@contoso.com"}]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(more.status, 200, "{}", more.text());
}
