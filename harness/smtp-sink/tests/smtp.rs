//! The SMTP side against a real client (lettre) and against raw sessions written from RFC 5321,
//! RFC 2920 (PIPELINING), RFC 1870 (SIZE) and RFC 6152 (8BITMIME). All traffic is on 127.0.0.1.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Smtp, WAIT, get, messages, queued_id, raw};
use lettre::message::header::ContentTransferEncoding;
use lettre::message::{Body, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

fn lettre_transport(port: u16) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(WAIT))
        .build()
}

fn mailbox(text: &str) -> Mailbox {
    text.parse().expect("mailbox")
}

#[tokio::test]
async fn lettre_delivery_comes_back_byte_for_byte() {
    let sink = common::start(1024 * 1024).await;
    // A body lettre must dot-stuff, and 8-bit text it must send as BODY=8BITMIME.
    let text = "Grüße aus Köln\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n";
    let body = Body::new_with_encoding(text.to_owned(), ContentTransferEncoding::EightBit)
        .expect("8bit body");
    let email = Message::builder()
        .from(mailbox("Alice <alice@contoso.com>"))
        .to(mailbox("Bob <bob@contoso.com>"))
        .bcc(mailbox("audit@contoso.com"))
        .subject("lettre round trip")
        .message_id(Some("<round-trip@contoso.com>".to_owned()))
        .body(body)
        .expect("message");
    let formatted = email.formatted();

    let response = lettre_transport(sink.smtp_addr.port())
        .send(email)
        .await
        .expect("lettre delivers");
    assert!(response.is_positive(), "{response:?}");

    let listed = messages(sink.http_addr).await;
    assert_eq!(listed.len(), 1);
    let summary = &listed[0];
    let id = summary["ID"].as_str().expect("ID");
    assert_eq!(summary["Subject"], "lettre round trip");
    assert_eq!(summary["MessageID"], "round-trip@contoso.com");
    assert_eq!(summary["From"]["Address"], "alice@contoso.com");
    assert_eq!(summary["From"]["Name"], "Alice");
    assert_eq!(summary["To"][0]["Address"], "bob@contoso.com");

    // lettre ends DATA with "\r\n.\r\n" whatever the message ends with, and the CRLF before the
    // dot belongs to the content (RFC 5321, 4.1.1.4), so the sink holds formatted + CRLF.
    let mut expected = formatted.clone();
    expected.extend_from_slice(b"\r\n");
    assert_eq!(raw(sink.http_addr, id).await, expected);
    assert_eq!(summary["Size"], expected.len());

    let envelope = get(sink.http_addr, &format!("/api/v1/message/{id}/envelope")).await;
    let envelope = envelope.json();
    assert_eq!(envelope["MailFrom"], "alice@contoso.com");
    let rcpt: BTreeSet<&str> = envelope["RcptTo"]
        .as_array()
        .expect("RcptTo")
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert_eq!(
        rcpt,
        BTreeSet::from(["bob@contoso.com", "audit@contoso.com"])
    );
    sink.handle.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn pipelined_commands_get_every_reply_in_order() {
    let sink = common::start(4096).await;
    let mut smtp = Smtp::connect(sink.smtp_addr).await;

    // One write, up to DATA (RFC 2920: DATA ends a group).
    smtp.send(
        b"EHLO client.test\r\nMAIL FROM:<a@contoso.com> SIZE=120 BODY=8BITMIME\r\n\
RCPT TO:<b@contoso.com>\r\nRCPT TO:<c@contoso.com>\r\nNOOP\r\nVRFY bob\r\nDATA\r\n",
    )
    .await;
    let replies = smtp.replies(7).await;
    let ehlo = &replies[0];
    assert_eq!(ehlo.code, 250);
    for keyword in ["SIZE 4096", "8BITMIME", "PIPELINING", "ENHANCEDSTATUSCODES"] {
        assert!(
            ehlo.lines.iter().any(|l| l == keyword),
            "{keyword}: {ehlo:?}"
        );
    }
    for absent in ["STARTTLS", "AUTH", "CHUNKING"] {
        assert!(
            !ehlo.lines.iter().any(|l| l.starts_with(absent)),
            "{ehlo:?}"
        );
    }
    let rest: Vec<String> = replies[1..].iter().map(common::Reply::last).collect();
    assert_eq!(
        rest,
        [
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "250 2.1.5 Ok",
            "250 2.0.0 Ok",
            "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery",
            "354 End data with <CR><LF>.<CR><LF>",
        ]
    );

    // The content, its end, and a whole second transaction in one write.
    smtp.send(
        b"Subject: first\r\n\r\none\r\n.\r\nRSET\r\nMAIL FROM:<>\r\nRCPT TO:<d@contoso.com>\r\n\
DATA\r\nSubject: second\r\n\r\ntwo\r\n.\r\nQUIT\r\n",
    )
    .await;
    let replies: Vec<String> = smtp
        .replies(7)
        .await
        .iter()
        .map(common::Reply::last)
        .collect();
    assert!(
        replies[0].starts_with("250 2.0.0 Ok: queued as "),
        "{replies:?}"
    );
    assert_eq!(
        replies[1..5],
        [
            "250 2.0.0 Ok",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "354 End data with <CR><LF>.<CR><LF>",
        ]
    );
    assert!(
        replies[5].starts_with("250 2.0.0 Ok: queued as "),
        "{replies:?}"
    );
    assert_eq!(replies[6], "221 2.0.0 Bye");
    smtp.expect_closed().await;

    let second = queued_id(&replies[5]);
    assert_eq!(
        raw(sink.http_addr, &second).await,
        b"Subject: second\r\n\r\ntwo\r\n"
    );
    let envelope = get(
        sink.http_addr,
        &format!("/api/v1/message/{second}/envelope"),
    )
    .await;
    assert_eq!(envelope.json()["MailFrom"], "", "null reverse-path");
    assert_eq!(envelope.json()["Helo"], "client.test");
    assert_eq!(messages(sink.http_addr).await.len(), 2);
}

#[tokio::test]
async fn dot_stuffing_round_trip() {
    let sink = common::start(4096).await;
    let mut smtp = Smtp::connect(sink.smtp_addr).await;
    // On the wire (stuffed) → what the sender meant. The first line starts with a dot too, which
    // only works if the CRLF of the DATA command counts as the start of a line.
    let wire: &[u8] =
        b"..first line starts with a dot\r\nSubject: dots\r\n\r\n..\r\n...\r\n.x\r\nmid . dot\r\n";
    let meant: &[u8] =
        b".first line starts with a dot\r\nSubject: dots\r\n\r\n.\r\n..\r\nx\r\nmid . dot\r\n";
    let reply = smtp.deliver("a@contoso.com", "b@contoso.com", wire).await;
    assert_eq!(raw(sink.http_addr, &queued_id(&reply)).await, meant);

    // The terminator split across writes, right between CR and LF.
    assert_eq!(
        smtp.command("MAIL FROM:<a@contoso.com>").await,
        "250 2.1.0 Ok"
    );
    assert_eq!(
        smtp.command("RCPT TO:<b@contoso.com>").await,
        "250 2.1.5 Ok"
    );
    assert_eq!(smtp.command("DATA").await.get(..3), Some("354"));
    smtp.send(b"Subject: split\r\n\r\nbody\r").await;
    smtp.send(b"\n.").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    smtp.send(b"\r").await;
    smtp.send(b"\n").await;
    let reply = smtp.reply().await.last();
    assert_eq!(
        raw(sink.http_addr, &queued_id(&reply)).await,
        b"Subject: split\r\n\r\nbody\r\n"
    );

    // An empty message: the dot straight after DATA.
    assert_eq!(
        smtp.command("MAIL FROM:<a@contoso.com>").await,
        "250 2.1.0 Ok"
    );
    assert_eq!(
        smtp.command("RCPT TO:<b@contoso.com>").await,
        "250 2.1.5 Ok"
    );
    assert_eq!(smtp.command("DATA").await.get(..3), Some("354"));
    let reply = smtp.command(".").await;
    assert_eq!(raw(sink.http_addr, &queued_id(&reply)).await, b"");
}

#[tokio::test]
async fn eight_bit_body_is_kept_exactly() {
    let sink = common::start(64 * 1024).await;
    let mut smtp = Smtp::connect(sink.smtp_addr).await;
    let mut content = b"Subject: bytes\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".to_vec();
    // Every byte value except CR and LF, in lines of 64, plus a lone CR and a lone LF inside a
    // line (bare CR/LF are not line ends for dot-stuffing).
    let all: Vec<u8> = (0u8..=255).filter(|b| *b != b'\r' && *b != b'\n').collect();
    for line in all.chunks(64) {
        content.extend_from_slice(line);
        content.extend_from_slice(b"\r\n");
    }
    content.extend_from_slice(b"bare\rCR and bare\nLF\r\n\xff\xfe\x80\r\n");

    assert_eq!(smtp.command("EHLO client.test").await.get(..3), Some("250"));
    assert_eq!(
        smtp.command("MAIL FROM:<a@contoso.com> BODY=8BITMIME")
            .await,
        "250 2.1.0 Ok"
    );
    assert_eq!(
        smtp.command("RCPT TO:<b@contoso.com>").await,
        "250 2.1.5 Ok"
    );
    assert_eq!(smtp.command("DATA").await.get(..3), Some("354"));
    smtp.send(&content).await;
    smtp.send(b".\r\n").await;
    let reply = smtp.reply().await.last();
    assert_eq!(raw(sink.http_addr, &queued_id(&reply)).await, content);
}

#[tokio::test]
async fn size_limit_at_mail_and_during_data() {
    let limit = 1000;
    let sink = common::start(limit).await;
    let mut smtp = Smtp::connect(sink.smtp_addr).await;
    let too_big = "552 5.3.4 Message size exceeds fixed maximum message size";
    assert_eq!(smtp.command("EHLO client.test").await.get(..3), Some("250"));

    // Declared too big: refused at MAIL, and the session is still usable.
    assert_eq!(
        smtp.command("MAIL FROM:<a@contoso.com> SIZE=1001").await,
        too_big
    );
    assert_eq!(
        smtp.command("MAIL FROM:<a@contoso.com> SIZE=1000").await,
        "250 2.1.0 Ok"
    );
    assert_eq!(
        smtp.command("RCPT TO:<b@contoso.com>").await,
        "250 2.1.5 Ok"
    );
    assert_eq!(smtp.command("DATA").await.get(..3), Some("354"));

    // Not declared honestly: 5000 bytes across several writes, read to the end, then refused.
    let line = [b'x'; 98];
    for _ in 0..50 {
        smtp.send(&line).await;
        smtp.send(b"\r\n").await;
    }
    // The final dot and a pipelined NOOP in one write: the 552 comes first, then the NOOP's.
    smtp.send(b".\r\nNOOP\r\n").await;
    let replies: Vec<String> = smtp
        .replies(2)
        .await
        .iter()
        .map(common::Reply::last)
        .collect();
    assert_eq!(replies, [too_big, "250 2.0.0 Ok"]);

    // The transaction is gone; a new one at exactly the limit goes through.
    assert_eq!(
        smtp.command("RCPT TO:<b@contoso.com>").await,
        "503 5.5.1 Error: need MAIL command"
    );
    let mut exact = b"Subject: exact\r\n\r\n".to_vec();
    exact.resize(limit - 2, b'y');
    exact.extend_from_slice(b"\r\n");
    assert_eq!(exact.len(), limit);
    let reply = smtp.deliver("a@contoso.com", "b@contoso.com", &exact).await;
    assert_eq!(raw(sink.http_addr, &queued_id(&reply)).await, exact);

    // One byte over the limit, sent in a single write with its terminator.
    let mut over = exact.clone();
    over.insert(0, b'z');
    let reply = smtp.deliver("a@contoso.com", "b@contoso.com", &over).await;
    assert_eq!(reply, too_big);
    assert_eq!(smtp.command("QUIT").await, "221 2.0.0 Bye");
    assert_eq!(messages(sink.http_addr).await.len(), 1);
}

#[tokio::test]
async fn twenty_clients_at_once_all_stored() {
    let sink = common::start(1024 * 1024).await;
    let port = sink.smtp_addr.port();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        tasks.spawn(async move {
            let email = Message::builder()
                .from(mailbox(&format!("sender{i}@contoso.com")))
                .to(mailbox("bob@contoso.com"))
                .subject(format!("concurrent {i}"))
                .body(format!("message number {i}\r\n"))
                .expect("message");
            lettre_transport(port).send(email).await
        });
    }
    let mut delivered = 0;
    while let Some(result) = tokio::time::timeout(WAIT, tasks.join_next())
        .await
        .expect("all clients finish in time")
    {
        let response = result.expect("task").expect("lettre delivers");
        assert!(response.is_positive(), "{response:?}");
        delivered += 1;
    }
    assert_eq!(delivered, 20);

    let subjects: BTreeSet<String> = messages(sink.http_addr)
        .await
        .iter()
        .filter_map(|m| m["Subject"].as_str().map(str::to_owned))
        .collect();
    let expected: BTreeSet<String> = (0..20).map(|i| format!("concurrent {i}")).collect();
    assert_eq!(subjects, expected);
}

#[tokio::test]
async fn malformed_commands_are_answered_and_the_session_survives() {
    let sink = common::start(4096).await;
    let mut smtp = Smtp::connect(sink.smtp_addr).await;
    let cases: &[(&[u8], &str)] = &[
        (
            b"HELLO there\r\n",
            "500 5.5.1 Error: command not recognized",
        ),
        (b"\r\n", "500 5.5.1 Error: command not recognized"),
        (
            b"\xff\xfe\x00garbage\r\n",
            "500 5.5.1 Error: command not recognized",
        ),
        (
            b"MAIL FROM:<a@contoso.com>\r\n",
            "503 5.5.1 Error: send EHLO or HELO first",
        ),
        (b"EHLO\r\n", "501 5.5.2 Syntax: EHLO domain"),
        (b"HELO client.test\r\n", "250 smtp-sink.lab"),
        (
            b"RCPT TO:<b@contoso.com>\r\n",
            "503 5.5.1 Error: need MAIL command",
        ),
        (b"DATA\r\n", "503 5.5.1 Error: need MAIL command"),
        (
            b"MAIL FROM:bob\r\n",
            "501 5.5.2 Syntax: MAIL FROM:<reverse-path> [parameters]",
        ),
        (
            b"MAIL FROM:<a@contoso.com> SIZE=lots\r\n",
            "501 5.5.4 Invalid value for parameter SIZE",
        ),
        (
            b"MAIL FROM:<a@contoso.com> BODY=9BIT\r\n",
            "501 5.5.4 Invalid value for parameter BODY",
        ),
        (
            b"MAIL FROM:<a@contoso.com> BODY=BINARYMIME\r\n",
            "504 5.5.4 BODY=BINARYMIME needs CHUNKING, which is not offered",
        ),
        (b"MAIL FROM:<a@contoso.com>\r\n", "250 2.1.0 Ok"),
        (
            b"MAIL FROM:<a@contoso.com>\r\n",
            "503 5.5.1 Error: nested MAIL command",
        ),
        (b"DATA\r\n", "503 5.5.1 Error: need RCPT command"),
        (b"RCPT TO:<>\r\n", "501 5.1.3 Bad recipient address syntax"),
        (
            b"RCPT TO:b@contoso.com\r\n",
            "501 5.5.2 Syntax: RCPT TO:<forward-path> [parameters]",
        ),
        (b"VRFY\r\n", "501 5.5.2 Syntax: VRFY string"),
        (
            b"STARTTLS\r\n",
            "502 5.5.1 STARTTLS is not offered: this lab sink speaks plain SMTP only",
        ),
        (
            b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
            "502 5.5.1 AUTH is not offered: this lab sink accepts mail without authentication",
        ),
        (b"EXPN staff\r\n", "502 5.5.1 EXPN is not implemented"),
        (
            b"BDAT 5 LAST\r\nHELLO",
            "502 5.5.1 CHUNKING is not offered, use DATA",
        ),
    ];
    for (input, expected) in cases {
        smtp.send(input).await;
        let reply = smtp.reply().await.last();
        assert_eq!(
            &reply,
            expected,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }

    // A line far beyond any limit, in one write and in pieces; each gets one 500, nothing more.
    let mut long = vec![b'A'; 20_000];
    long.extend_from_slice(b"\r\n");
    smtp.send(&long).await;
    assert_eq!(smtp.reply().await.code, 500);
    smtp.send(b"MAIL FROM:<").await;
    for _ in 0..10 {
        smtp.send(&[b'a'; 1000]).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    smtp.send(b"@contoso.com>\r\n").await;
    assert_eq!(smtp.reply().await.code, 500);

    // If any of the above had produced an extra reply, this would read it instead of the 250s.
    assert_eq!(smtp.command("NOOP").await, "250 2.0.0 Ok");
    assert_eq!(
        smtp.command("RCPT TO:<b@contoso.com>").await,
        "250 2.1.5 Ok"
    );
    assert_eq!(smtp.command("DATA").await.get(..3), Some("354"));
    smtp.send(b"Subject: after errors\r\n\r\nstill works\r\n.\r\n")
        .await;
    let reply = smtp.reply().await.last();
    assert_eq!(
        raw(sink.http_addr, &queued_id(&reply)).await,
        b"Subject: after errors\r\n\r\nstill works\r\n"
    );
}

#[tokio::test]
async fn idle_sessions_are_closed() {
    let config = smtp_sink::Config {
        idle_timeout: Duration::from_millis(300),
        ..smtp_sink::Config::default()
    };
    let sink = smtp_sink::start(config).await.expect("sink starts");
    let mut smtp = Smtp::connect(sink.smtp_addr).await;
    assert_eq!(smtp.command("EHLO client.test").await.get(..3), Some("250"));
    let reply = smtp.reply().await.last();
    assert_eq!(reply, "421 4.4.2 Idle timeout, closing connection");
    smtp.expect_closed().await;
}

#[tokio::test]
async fn shutdown_tells_open_sessions() {
    let sink = common::start(4096).await;
    let mut smtp = Smtp::connect(sink.smtp_addr).await;
    assert_eq!(smtp.command("EHLO client.test").await.get(..3), Some("250"));
    tokio::time::timeout(WAIT, sink.handle.shutdown())
        .await
        .expect("shutdown in time")
        .expect("clean shutdown");
    assert_eq!(
        smtp.reply().await.last(),
        "421 4.3.2 Service shutting down, closing connection"
    );
    smtp.expect_closed().await;
    assert!(
        tokio::net::TcpStream::connect(sink.smtp_addr)
            .await
            .is_err(),
        "the listener is closed"
    );
}
