//! Test helpers: a raw SMTP client that reads whole replies, and the sink's HTTP API through
//! `test_support`'s raw HTTP/1.1 client. Both are written from the RFCs rather than reusing the
//! sink's code, and every wait is bounded.

#![allow(dead_code)] // each test binary uses a different part

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const WAIT: Duration = Duration::from_secs(20);

pub async fn start(max_message_size: usize) -> smtp_sink::RunningSink {
    let config = smtp_sink::Config {
        max_message_size,
        ..smtp_sink::Config::default()
    };
    smtp_sink::start(config).await.expect("sink starts")
}

/// One SMTP reply: its code and the text of each line after the code and separator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// `"250 2.1.0 Ok"` for a one-line reply, the last line for a multi-line one.
    pub fn last(&self) -> String {
        format!(
            "{} {}",
            self.code,
            self.lines.last().map(String::as_str).unwrap_or("")
        )
    }
}

pub struct Smtp {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl Smtp {
    /// Connects and reads the 220 greeting.
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let mut smtp = Self {
            stream,
            pending: Vec::new(),
        };
        let greeting = smtp.reply().await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        smtp
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        tokio::time::timeout(WAIT, self.stream.write_all(bytes))
            .await
            .expect("write in time")
            .expect("write");
    }

    /// Reads one complete reply (RFC 5321, 4.2.1: `NNN-` continues, `NNN ` ends).
    pub async fn reply(&mut self) -> Reply {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await;
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("not a reply line: {line:?}"));
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if !more {
                return Reply { code, lines };
            }
        }
    }

    pub async fn replies(&mut self, n: usize) -> Vec<Reply> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.reply().await);
        }
        out
    }

    /// Sends one command line and returns the last line of its reply as `"NNN text"`.
    pub async fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await.last()
    }

    /// EHLO + MAIL + RCPT + DATA + content + final dot; returns the reply to the content.
    pub async fn deliver(&mut self, from: &str, to: &str, content: &[u8]) -> String {
        assert_eq!(self.command("EHLO client.test").await.get(..3), Some("250"));
        assert_eq!(
            self.command(&format!("MAIL FROM:<{from}>")).await,
            "250 2.1.0 Ok"
        );
        assert_eq!(
            self.command(&format!("RCPT TO:<{to}>")).await,
            "250 2.1.5 Ok"
        );
        assert_eq!(self.command("DATA").await.get(..3), Some("354"));
        self.send(content).await;
        self.send(b".\r\n").await;
        self.reply().await.last()
    }

    /// Waits for the server to close the connection, failing if it sends more or stays open.
    pub async fn expect_closed(&mut self) {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(WAIT, self.stream.read(&mut buf))
            .await
            .expect("server closes in time")
            .unwrap_or(0);
        assert!(
            self.pending.is_empty() && n == 0,
            "expected EOF, got {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
    }

    async fn line(&mut self) -> String {
        loop {
            if let Some(pos) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.pending.drain(..pos + 2).collect();
                return String::from_utf8(line[..pos].to_vec()).expect("reply is UTF-8");
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut buf))
                .await
                .expect("reply in time")
                .expect("read");
            assert!(
                n > 0,
                "connection closed; unread: {:?}",
                String::from_utf8_lossy(&self.pending)
            );
            self.pending.extend_from_slice(&buf[..n]);
        }
    }
}

pub use test_support::http::Response as HttpResponse;

/// One request on a fresh connection (`Connection: close`), read to EOF. The blocking client runs
/// on tokio's blocking pool, so the sink, served by this test's runtime, keeps answering.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> HttpResponse {
    let (method, path, body) = (method.to_owned(), path.to_owned(), body.to_vec());
    let exchange = tokio::task::spawn_blocking(move || {
        test_support::http::request(addr, &method, &path, &[], &body)
    });
    let response = tokio::time::timeout(WAIT, exchange)
        .await
        .expect("HTTP answer in time")
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    // The sink's answers all have a known length (the client checks the body against it).
    assert!(
        response.header("content-length").is_some(),
        "Content-Length present"
    );
    response
}

pub async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    http(addr, "GET", path, b"").await
}

/// `GET /api/v1/messages`, returning the `messages` array.
pub async fn messages(http_addr: SocketAddr) -> Vec<serde_json::Value> {
    let response = get(http_addr, "/api/v1/messages?limit=1000").await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()["messages"]
        .as_array()
        .expect("messages array")
        .clone()
}

/// The stored bytes of one message.
pub async fn raw(http_addr: SocketAddr, id: &str) -> Vec<u8> {
    let response = get(http_addr, &format!("/api/v1/message/{id}/raw")).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.body
}

/// The ID in `250 2.0.0 Ok: queued as <ID>`.
pub fn queued_id(reply: &str) -> String {
    reply
        .strip_prefix("250 2.0.0 Ok: queued as ")
        .unwrap_or_else(|| panic!("not a queued reply: {reply:?}"))
        .to_owned()
}
