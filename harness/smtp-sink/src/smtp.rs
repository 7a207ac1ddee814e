//! The SMTP side: one task per connection, requests parsed by `smtp-proto`, replies gathered per
//! read and written together, which is what makes PIPELINING work (RFC 2920).
//!
//! Offered: EHLO/HELO, MAIL (SIZE=, BODY=7BIT/8BITMIME), RCPT, DATA, RSET, NOOP, QUIT, VRFY (252).
//! Not offered: AUTH, STARTTLS, CHUNKING/BDAT — the sink is for a lab on loopback or a lab network.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use smtp_proto::request::receiver::{
    DataReceiver, DummyDataReceiver, DummyLineReceiver, RequestReceiver,
};
use smtp_proto::{
    EXT_8BIT_MIME, EXT_ENHANCED_STATUS_CODES, EXT_PIPELINING, EXT_SIZE, EhloResponse,
    MAIL_BODY_BINARYMIME, MailFrom, RcptTo, Request, Response,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::store::{Delivery, Store};

/// What every session needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub hostname: String,
    pub max_message_size: usize,
    pub idle_timeout: Duration,
    pub max_recipients: usize,
}

const READ_BUFFER: usize = 64 * 1024;

/// How long shutdown waits for open sessions before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Accepts until shutdown, then waits for the sessions (each answers `421` and closes).
pub(crate) async fn serve(
    listener: TcpListener,
    settings: Arc<Settings>,
    store: Store,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            () = crate::shutdown_requested(&mut shutdown) => break,
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let session = Session::new(settings.clone(), store.clone(), peer);
                    sessions.spawn(session.run(stream, shutdown.clone()));
                }
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning on the same error.
                    tracing::warn!("smtp accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    // Sessions answer 421 and close at once, unless a client is not reading its replies: give
    // those a moment, then drop them rather than hold up the shutdown for an idle timeout.
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("closing {} stuck SMTP session(s)", sessions.len());
        sessions.shutdown().await;
    }
}

/// Where the byte stream from the client is going.
enum Phase {
    Command(RequestReceiver),
    /// DATA content, collected up to the size limit.
    Data(DataReceiver, Vec<u8>),
    /// DATA content past the size limit: read to the final dot, then `552`.
    DataTooBig(DummyDataReceiver),
    /// The rest of a command line the parser gave up on.
    SkipLine(DummyLineReceiver),
    /// A BDAT chunk we did not offer to take.
    SkipBdat(DummyDataReceiver),
}

struct Transaction {
    mail_from: String,
    rcpt_to: Vec<String>,
}

struct Session {
    settings: Arc<Settings>,
    store: Store,
    peer: SocketAddr,
    helo: Option<String>,
    transaction: Option<Transaction>,
    phase: Phase,
    /// Replies not yet written.
    out: Vec<u8>,
    closing: bool,
}

impl Session {
    fn new(settings: Arc<Settings>, store: Store, peer: SocketAddr) -> Self {
        Self {
            settings,
            store,
            peer,
            helo: None,
            transaction: None,
            phase: Phase::Command(RequestReceiver::default()),
            out: Vec::new(),
            closing: false,
        }
    }

    async fn run(mut self, mut stream: TcpStream, mut shutdown: watch::Receiver<bool>) {
        tracing::debug!(peer = %self.peer, "smtp session opened");
        // The greeting carries no enhanced status code (RFC 2034, section 3).
        self.out.extend_from_slice(
            format!("220 {} ESMTP smtp-sink\r\n", self.settings.hostname).as_bytes(),
        );
        let mut buffer = vec![0u8; READ_BUFFER];
        loop {
            if !self.flush(&mut stream).await || self.closing {
                break;
            }
            let read = tokio::select! {
                read = tokio::time::timeout(self.settings.idle_timeout, stream.read(&mut buffer)) => read,
                () = crate::shutdown_requested(&mut shutdown) => {
                    self.reply(421, [4, 3, 2], "Service shutting down, closing connection");
                    self.closing = true;
                    continue;
                }
            };
            match read {
                Err(_elapsed) => {
                    self.reply(421, [4, 4, 2], "Idle timeout, closing connection");
                    self.closing = true;
                }
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => match buffer.get(..n) {
                    Some(bytes) => self.ingest(bytes).await,
                    None => break,
                },
            }
        }
        tracing::debug!(peer = %self.peer, "smtp session closed");
    }

    /// Writes pending replies; a client that stops reading them is dropped after the idle timeout.
    async fn flush(&mut self, stream: &mut TcpStream) -> bool {
        if self.out.is_empty() {
            return true;
        }
        let written =
            tokio::time::timeout(self.settings.idle_timeout, stream.write_all(&self.out)).await;
        self.out.clear();
        matches!(written, Ok(Ok(())))
    }

    /// Feeds one read's worth of bytes through the phases until they are used up.
    async fn ingest(&mut self, bytes: &[u8]) {
        let mut iter = bytes.iter();
        while !self.closing {
            match &mut self.phase {
                Phase::Command(receiver) => {
                    let before = iter.as_slice();
                    let parsed = receiver.ingest(&mut iter).map(Request::into_owned);
                    match parsed {
                        Ok(request) => self.handle(request),
                        Err(smtp_proto::Error::NeedsMoreData { .. }) => break,
                        Err(error) => {
                            self.parse_error(error);
                            // The parser stops at the offending byte on some errors; skip the
                            // rest of that line so it is answered once, not read as new commands.
                            // This also guarantees progress if nothing was consumed.
                            let consumed = before.len().saturating_sub(iter.as_slice().len());
                            if before.get(..consumed).and_then(<[u8]>::last) != Some(&b'\n') {
                                self.phase = Phase::SkipLine(DummyLineReceiver::default());
                            }
                        }
                    }
                }
                Phase::Data(receiver, body) => {
                    let done = receiver.ingest(&mut iter, body);
                    if body.len() > self.settings.max_message_size {
                        let rest = DummyDataReceiver::new_data(receiver);
                        self.phase = if done {
                            self.message_too_big();
                            Phase::Command(RequestReceiver::default())
                        } else {
                            Phase::DataTooBig(rest)
                        };
                    } else if done {
                        let body = std::mem::take(body);
                        self.phase = Phase::Command(RequestReceiver::default());
                        self.deliver(body).await;
                    } else {
                        break;
                    }
                }
                Phase::DataTooBig(receiver) => {
                    if !receiver.ingest(&mut iter) {
                        break;
                    }
                    self.phase = Phase::Command(RequestReceiver::default());
                    self.message_too_big();
                }
                Phase::SkipLine(receiver) => {
                    if !receiver.ingest(&mut iter) {
                        break;
                    }
                    self.phase = Phase::Command(RequestReceiver::default());
                }
                Phase::SkipBdat(receiver) => {
                    if !receiver.ingest(&mut iter) {
                        break;
                    }
                    self.phase = Phase::Command(RequestReceiver::default());
                    self.reply(502, [5, 5, 1], "CHUNKING is not offered, use DATA");
                }
            }
        }
    }

    fn handle(&mut self, request: Request<String>) {
        match request {
            Request::Ehlo { host } => {
                self.helo = Some(host);
                self.transaction = None;
                let mut ehlo = EhloResponse::new(self.settings.hostname.as_str());
                ehlo.capabilities =
                    EXT_SIZE | EXT_8BIT_MIME | EXT_PIPELINING | EXT_ENHANCED_STATUS_CODES;
                ehlo.size = self.settings.max_message_size;
                // Writing into a Vec cannot fail.
                let _ = ehlo.write(&mut self.out);
            }
            Request::Helo { host } => {
                self.helo = Some(host);
                self.transaction = None;
                self.out
                    .extend_from_slice(format!("250 {}\r\n", self.settings.hostname).as_bytes());
            }
            Request::Mail { from } => self.mail(from),
            Request::Rcpt { to } => self.rcpt(to),
            Request::Data => self.data(),
            Request::Rset => {
                self.transaction = None;
                self.reply(250, [2, 0, 0], "Ok");
            }
            Request::Noop { .. } => self.reply(250, [2, 0, 0], "Ok"),
            Request::Quit => {
                self.reply(221, [2, 0, 0], "Bye");
                self.closing = true;
            }
            Request::Vrfy { .. } => self.reply(
                252,
                [2, 5, 2],
                "Cannot VRFY user, but will accept message and attempt delivery",
            ),
            Request::Bdat { chunk_size, .. } => {
                // Swallow the chunk so its bytes are not read as commands; answered after it.
                self.phase = Phase::SkipBdat(DummyDataReceiver::new_bdat(chunk_size));
            }
            Request::StartTls => self.reply(
                502,
                [5, 5, 1],
                "STARTTLS is not offered: this lab sink speaks plain SMTP only",
            ),
            Request::Auth { .. } => self.reply(
                502,
                [5, 5, 1],
                "AUTH is not offered: this lab sink accepts mail without authentication",
            ),
            other => {
                let text = format!("{} is not implemented", other.name());
                self.reply(502, [5, 5, 1], &text);
            }
        }
    }

    fn mail(&mut self, from: MailFrom<String>) {
        if self.helo.is_none() {
            return self.reply(503, [5, 5, 1], "Error: send EHLO or HELO first");
        }
        if self.transaction.is_some() {
            return self.reply(503, [5, 5, 1], "Error: nested MAIL command");
        }
        if from.flags & MAIL_BODY_BINARYMIME != 0 {
            return self.reply(
                504,
                [5, 5, 4],
                "BODY=BINARYMIME needs CHUNKING, which is not offered",
            );
        }
        if from.size > self.settings.max_message_size {
            return self.message_too_big();
        }
        self.transaction = Some(Transaction {
            mail_from: from.address,
            rcpt_to: Vec::new(),
        });
        self.reply(250, [2, 1, 0], "Ok");
    }

    fn rcpt(&mut self, to: RcptTo<String>) {
        let max = self.settings.max_recipients;
        let Some(transaction) = &mut self.transaction else {
            return self.reply(503, [5, 5, 1], "Error: need MAIL command");
        };
        if to.address.is_empty() {
            return self.reply(501, [5, 1, 3], "Bad recipient address syntax");
        }
        if transaction.rcpt_to.len() >= max {
            return self.reply(452, [4, 5, 3], "Too many recipients");
        }
        transaction.rcpt_to.push(to.address);
        self.reply(250, [2, 1, 5], "Ok");
    }

    fn data(&mut self) {
        match &self.transaction {
            None => self.reply(503, [5, 5, 1], "Error: need MAIL command"),
            Some(t) if t.rcpt_to.is_empty() => {
                self.reply(503, [5, 5, 1], "Error: need RCPT command");
            }
            Some(_) => {
                // smtp-proto's DataReceiver only recognises "." at the start of a line after it has
                // seen a CRLF; the CRLF ending the DATA command counts (RFC 5321, 4.1.1.4), so
                // prime it with one. Otherwise an empty message or a first line starting with "."
                // would be misread.
                let mut receiver = DataReceiver::new();
                let mut primed = Vec::new();
                receiver.ingest(&mut b"\r\n".iter(), &mut primed);
                self.phase = Phase::Data(receiver, Vec::new());
                // 354 is intermediate: no enhanced status code (RFC 2034, section 3).
                self.out
                    .extend_from_slice(b"354 End data with <CR><LF>.<CR><LF>\r\n");
            }
        }
    }

    async fn deliver(&mut self, raw: Vec<u8>) {
        let Some(transaction) = self.transaction.take() else {
            return self.reply(503, [5, 5, 1], "Error: need MAIL command");
        };
        let delivery = Delivery {
            helo: self.helo.clone().unwrap_or_default(),
            mail_from: transaction.mail_from,
            rcpt_to: transaction.rcpt_to,
            raw,
        };
        match self.store.insert(delivery).await {
            Ok(message) => {
                tracing::info!(
                    peer = %self.peer,
                    id = message.id(),
                    size = message.envelope.size,
                    "message stored"
                );
                let text = format!("Ok: queued as {}", message.id());
                self.reply(250, [2, 0, 0], &text);
            }
            Err(e) => {
                tracing::error!(peer = %self.peer, "storing a message failed: {e}");
                self.reply(
                    451,
                    [4, 3, 0],
                    "Error: could not store the message, see the sink's log",
                );
            }
        }
    }

    fn message_too_big(&mut self) {
        self.transaction = None;
        self.reply(
            552,
            [5, 3, 4],
            "Message size exceeds fixed maximum message size",
        );
    }

    fn parse_error(&mut self, error: smtp_proto::Error) {
        use smtp_proto::Error as E;
        match error {
            E::NeedsMoreData { .. } => {}
            E::UnknownCommand | E::InvalidResponse { .. } => {
                self.reply(500, [5, 5, 1], "Error: command not recognized");
            }
            E::ResponseTooLong => self.reply(500, [5, 5, 2], "Error: line too long"),
            E::InvalidSenderAddress => self.reply(501, [5, 1, 7], "Bad sender address syntax"),
            E::InvalidRecipientAddress => {
                self.reply(501, [5, 1, 3], "Bad recipient address syntax");
            }
            E::SyntaxError { syntax } => {
                let text = format!("Syntax: {syntax}");
                self.reply(501, [5, 5, 2], &text);
            }
            E::InvalidParameter { param } => {
                let text = format!("Invalid value for parameter {param}");
                self.reply(501, [5, 5, 4], &text);
            }
            E::UnsupportedParameter { param } => {
                // RFC 5321, 4.1.1.11: 555 is the code for an unrecognised MAIL/RCPT parameter.
                let text = format!("Unsupported parameter {}", printable(&param));
                self.reply(555, [5, 5, 4], &text);
            }
        }
    }

    fn reply(&mut self, code: u16, esc: [u8; 3], text: &str) {
        let [class, subject, detail] = esc;
        // Writing into a Vec cannot fail.
        let _ = Response::new(code, class, subject, detail, text).write(&mut self.out);
    }
}

/// Client text echoed in a reply: no CR/LF (that would forge reply lines), bounded length.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random sessions stitched from SMTP fragments and junk, fed in odd
    /// pieces: nothing panics, and every reply line stays well-formed (`NNN` then space or dash),
    /// whatever the client sent.
    #[tokio::test]
    async fn arbitrary_input_never_panics_or_breaks_reply_framing() {
        let settings = Arc::new(Settings {
            hostname: "sink.test".into(),
            max_message_size: 256,
            idle_timeout: Duration::from_secs(1),
            max_recipients: 2,
        });
        let store = Store::open(None).expect("store");
        let long = vec![b'A'; 5000];
        // Whole commands, so that transactions actually happen...
        let commands: &[&[u8]] = &[
            b"EHLO x\r\n",
            b"MAIL FROM:<a@b.test>\r\n",
            b"MAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME\r\n",
            b"MAIL FROM:<a@b.test> SIZE=99999\r\n",
            b"RCPT TO:<c@d.test>\r\n",
            b"DATA\r\n",
            b"Subject: s\r\n\r\nbody\r\n",
            b"\r\n.\r\n",
            b"RSET\r\n",
        ];
        // ...and fragments and junk that cut across them.
        let junk: &[&[u8]] = &[
            b"MAIL FROM:<",
            b" SIZE=",
            b"99999999999999999999999",
            b" X-UNKNOWN=\r\x01\n",
            b".",
            b"..",
            b"\r",
            b"\n",
            b" ",
            b"\xff\x00",
            b"BDAT 3",
            b" LAST",
            b"AUTH PLAIN",
            b"\"",
            b"<>",
            b"VRFY \r\n",
            &long,
        ];
        let mut codes = std::collections::BTreeSet::new();
        let mut seed: u64 = 0x5eed_1234;
        let mut next = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(seed >> 33).expect("fits")
        };
        for _ in 0..300 {
            let mut session = Session::new(
                settings.clone(),
                store.clone(),
                SocketAddr::from(([127, 0, 0, 1], 1)),
            );
            for _ in 0..60 {
                let piece = if next() % 4 == 0 {
                    junk[next() % junk.len()]
                } else {
                    commands[next() % commands.len()]
                };
                session.ingest(piece).await;
                let out = std::mem::take(&mut session.out);
                let text = String::from_utf8(out).expect("replies are UTF-8");
                for line in text.split_terminator("\r\n") {
                    let b = line.as_bytes();
                    assert!(
                        b.len() >= 4
                            && b[..3].iter().all(u8::is_ascii_digit)
                            && (b[3] == b' ' || b[3] == b'-'),
                        "malformed reply line {line:?}"
                    );
                    assert!(!line.contains('\r') && !line.contains('\n'));
                    codes.insert(line[..3].to_owned());
                }
            }
        }
        // The walk must reach the interesting states, or it proves little.
        for code in ["250", "354", "500", "501", "503", "552"] {
            assert!(codes.contains(code), "never saw {code}: {codes:?}");
        }
        assert!(!store.is_empty(), "no message was ever delivered");
    }
}
