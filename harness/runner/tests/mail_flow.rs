#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic: a failed expectation is a failed test
//! The mail flow (`runner::execute::mail`) against the lab's smtp-sink in the local runtime:
//! several messages on one SMTP `Session` and one on `send`'s own session, each read back by
//! Message-ID in one request (`fetch`) byte for byte, with its envelope's recipients.

use runner::execute::mail::{self, Session};

/// A message ending in CRLF, as every message a client makes does (SMTP cannot carry one that
/// does not: the terminator's CRLF ends its last line).
fn message(n: usize) -> (String, Vec<u8>) {
    let id = format!("flow.{n}@contoso.com");
    let text = format!(
        "From: alice@contoso.com\r\nTo: bob@contoso.com\r\nSubject: flow {n}\r\n\
         Message-ID: <{id}>\r\n\r\n.a line that starts with a dot\r\nbody {n}\r\n"
    );
    (id, text.into_bytes())
}

#[tokio::test]
async fn several_messages_on_one_session_come_back_byte_for_byte() {
    let config = lab::LabConfig::default().only([lab::Service::Smtp]);
    let lab = lab::start(&config, lab::RuntimeChoice::Local)
        .await
        .expect("the local lab starts");
    let smtp = lab.endpoints().smtp().unwrap().clone();
    let http = runner::execute::http_client().unwrap();

    let messages: Vec<(String, Vec<u8>)> = (0..3).map(message).collect();
    let recipients =
        |n: usize| -> Vec<String> { (0..=n).map(|i| format!("user{i}@contoso.com")).collect() };
    let mut session = Session::open(&smtp).await.unwrap();
    for (n, (_, bytes)) in messages.iter().enumerate() {
        session
            .send("alice@contoso.com", &recipients(n), bytes)
            .await
            .unwrap();
    }
    session.quit().await.unwrap();
    let (alone_id, alone) = message(9);
    mail::send(&smtp, "alice@contoso.com", &recipients(0), &alone)
        .await
        .unwrap();

    let mut ids = Vec::new();
    for (n, (id, bytes)) in messages.iter().enumerate() {
        let delivered = mail::fetch(&http, &smtp, id).await.unwrap();
        assert_eq!(mail::first_difference(bytes, &delivered.raw), None, "{id}");
        assert_eq!(delivered.rcpt_to, recipients(n), "{id}");
        ids.push(delivered.id);
    }
    let delivered = mail::fetch(&http, &smtp, &format!("<{alone_id}>"))
        .await
        .unwrap();
    assert_eq!(delivered.raw, alone);
    ids.push(delivered.id);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "one stored message each");
    let counted = mail::count(&http, &smtp, "contoso.com", |id| id.starts_with("flow."))
        .await
        .unwrap();
    assert_eq!(counted, 4);
    lab.stop().await.expect("the lab stops");
}
