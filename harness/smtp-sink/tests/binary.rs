//! The `smtp-sink` binary as the lab starts it: a child process on port 0 that announces its
//! addresses as one JSON line, keeps messages in --data-dir across a SIGTERM restart.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

mod common;

use std::net::SocketAddr;
use std::process::Stdio;

use common::{Smtp, WAIT, messages, queued_id, raw};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Running {
    child: Child,
    smtp: SocketAddr,
    http: SocketAddr,
}

async fn spawn(data_dir: &std::path::Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smtp-sink"))
        .args([
            "--smtp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--max-size",
            "65536",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start smtp-sink");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    tokio::time::timeout(WAIT, BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("ready line in time")
        .expect("read stdout");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("ready line is JSON");
    let addr = |key: &str| -> SocketAddr {
        ready[key]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {line:?}"))
    };
    let (smtp, http) = (addr("smtp"), addr("http"));
    assert!(smtp.ip().is_loopback() && smtp.port() != 0, "{line}");
    assert!(http.ip().is_loopback() && http.port() != 0, "{line}");
    Running { child, smtp, http }
}

/// SIGTERM, and the process must exit 0 on its own.
async fn terminate(mut running: Running) {
    let pid = running.child.id().expect("pid");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let exit = tokio::time::timeout(WAIT, running.child.wait())
        .await
        .expect("exits in time after SIGTERM")
        .expect("wait");
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn restart_with_data_dir_keeps_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let content: &[u8] =
        b"From: alice@contoso.com\r\nSubject: persist\r\n\r\n\xc3\xa9t\xc3\xa9\r\n.dot\r\n";

    let first = spawn(dir.path()).await;
    let mut smtp = Smtp::connect(first.smtp).await;
    let stuffed =
        b"From: alice@contoso.com\r\nSubject: persist\r\n\r\n\xc3\xa9t\xc3\xa9\r\n..dot\r\n";
    let id = queued_id(
        &smtp
            .deliver("alice@contoso.com", "bob@contoso.com", stuffed)
            .await,
    );
    assert_eq!(smtp.command("QUIT").await, "221 2.0.0 Bye");
    assert_eq!(
        std::fs::read(dir.path().join(format!("{id}.eml"))).expect("eml"),
        content
    );
    let envelope: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(format!("{id}.json"))).expect("json"),
    )
    .expect("envelope JSON");
    assert_eq!(envelope["RcptTo"], serde_json::json!(["bob@contoso.com"]));
    let before = messages(first.http).await;
    terminate(first).await;

    let second = spawn(dir.path()).await;
    let after = messages(second.http).await;
    assert_eq!(after, before, "same list, same IDs and times");
    assert_eq!(raw(second.http, &id).await, content);

    // New messages after a restart get IDs of their own, and deleting removes the files.
    let mut smtp = Smtp::connect(second.smtp).await;
    let newer = queued_id(
        &smtp
            .deliver("a@contoso.com", "b@contoso.com", b"Subject: new\r\n\r\n")
            .await,
    );
    assert_ne!(newer, id);
    let body = serde_json::json!({"IDs": [id]}).to_string();
    let deleted = common::http(second.http, "DELETE", "/api/v1/messages", body.as_bytes()).await;
    assert_eq!(deleted.status, 200);
    assert!(!dir.path().join(format!("{id}.eml")).exists());
    assert!(!dir.path().join(format!("{id}.json")).exists());
    terminate(second).await;

    let third = spawn(dir.path()).await;
    let ids: Vec<String> = messages(third.http)
        .await
        .iter()
        .filter_map(|m| m["ID"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids, [newer]);
    terminate(third).await;
}

#[tokio::test]
async fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let output = tokio::time::timeout(
        WAIT,
        Command::new(env!("CARGO_BIN_EXE_smtp-sink"))
            .args([
                "--smtp",
                &format!("127.0.0.1:{port}"),
                "--http",
                "127.0.0.1:0",
            ])
            .output(),
    )
    .await
    .expect("exits in time")
    .expect("run smtp-sink");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "no ready line on failure");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot listen for SMTP on 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("pass port 0"), "{stderr}");
}
