//! The mail flow: a message goes to the lab's SMTP sink on lettre's SMTP connection (`send`, the bytes as
//! the client made them, envelope recipients To + Cc + Bcc; `Session` for several messages on one
//! connection), and comes back through the sink's HTTP API (found by Message-ID with its bytes and
//! SMTP envelope, `fetch`; counted with the Mailpit-shaped search, `count`) so that what arrived
//! can be compared byte for byte with what was sent.

use std::time::Duration;

use base64::Engine as _;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use serde_json::Value;

use lab::SmtpEndpoint;

/// How long the sink may take to show a message it acknowledged (it stores before answering
/// `250`, so one look normally finds it).
const FETCH_ATTEMPTS: u32 = 50;
const FETCH_INTERVAL: Duration = Duration::from_millis(100);
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// What went wrong in the mail flow.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{address:?} is not a mail address lettre accepts: {why}")]
    Address { address: String, why: String },
    #[error("the SMTP sink at {server} did not take the message: {why}")]
    Smtp { server: String, why: String },
    #[error("the sink's API at {url} failed: {why}")]
    Api { url: String, why: String },
    #[error(
        "the sink acknowledged the message but does not show Message-ID {message_id} after {waited_ms} ms"
    )]
    NotStored { message_id: String, waited_ms: u64 },
}

/// A message as the sink stored it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The sink's id.
    pub id: String,
    pub raw: Vec<u8>,
    /// The SMTP envelope's recipients.
    pub rcpt_to: Vec<String>,
}

impl Delivered {
    /// The envelope named this mailbox (addresses compare case-insensitively).
    pub fn reached(&self, mailbox: &str) -> bool {
        self.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(mailbox))
    }
}

fn address(text: &str) -> Result<Address, MailError> {
    text.parse()
        .map_err(|e: lettre::address::AddressError| MailError::Address {
            address: text.to_owned(),
            why: e.to_string(),
        })
}

/// Sends `bytes` unchanged to the sink, from `from` to every address of `recipients`, in an SMTP
/// session of its own.
///
/// One session per message is what the scenarios' clients do, on purpose: Outlook, Outlook on
/// the web and the phones each submit a message in its own SMTP transaction as the user sends it,
/// so a scenario's message meets the sink as a real client's would (a refusal at connect, EHLO
/// or MAIL belongs to that message alone). Many messages from one sender in a row, as the bench
/// sends them, share one [`Session`] instead.
pub async fn send(
    smtp: &SmtpEndpoint,
    from: &str,
    recipients: &[String],
    bytes: &[u8],
) -> Result<(), MailError> {
    let mut session = Session::open(smtp).await?;
    session.send(from, recipients, bytes).await?;
    session.quit().await
}

/// One SMTP session to the sink that carries several messages, one transaction each (MAIL, RCPT,
/// DATA), as a mail server relaying a queue does. Every step is bounded by the same timeout as
/// [`send`]'s.
pub struct Session {
    connection: AsyncSmtpConnection,
    server: String,
}

impl Session {
    /// Connects (with `TCP_NODELAY`) and says EHLO.
    pub async fn open(smtp: &SmtpEndpoint) -> Result<Self, MailError> {
        let server = smtp.smtp.to_string();
        let smtp_error = |why: String| MailError::Smtp {
            server: server.clone(),
            why,
        };
        let connect = async {
            // Our own socket, for TCP_NODELAY: lettre writes the data and its `CRLF . CRLF` in
            // two writes, and with Nagle's algorithm the second waits for the sink's delayed ACK
            // (40 ms on Linux) on every message, which capped the lab at ~20 messages/s per worker.
            let stream = tokio::net::TcpStream::connect(smtp.smtp)
                .await
                .map_err(|e| smtp_error(format!("cannot connect: {e}")))?;
            stream
                .set_nodelay(true)
                .map_err(|e| smtp_error(format!("cannot set TCP_NODELAY: {e}")))?;
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &ClientId::default())
                .await
                .map_err(|e| smtp_error(e.to_string()))
        };
        let connection = within(&server, connect).await?;
        Ok(Session { connection, server })
    }

    /// One message: `bytes` unchanged, from `from` to every address of `recipients`.
    pub async fn send(
        &mut self,
        from: &str,
        recipients: &[String],
        bytes: &[u8],
    ) -> Result<(), MailError> {
        let to = recipients
            .iter()
            .map(|r| address(r))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(address(from)?), to).map_err(|e| MailError::Address {
            address: recipients.join(", "),
            why: e.to_string(),
        })?;
        let server = self.server.clone();
        let connection = &mut self.connection;
        within(&server, async {
            connection
                .send(&envelope, without_final_line_break(bytes))
                .await
                .map(|_| ())
                .map_err(|e| MailError::Smtp {
                    server: server.clone(),
                    why: e.to_string(),
                })
        })
        .await
    }

    /// QUIT, and the sink's answer to it.
    pub async fn quit(mut self) -> Result<(), MailError> {
        let server = self.server.clone();
        let connection = &mut self.connection;
        within(&server, async {
            connection
                .quit()
                .await
                .map(|_| ())
                .map_err(|e| MailError::Smtp {
                    server: server.clone(),
                    why: e.to_string(),
                })
        })
        .await
    }
}

/// `step` bounded by [`SMTP_TIMEOUT`].
async fn within<T>(
    server: &str,
    step: impl std::future::Future<Output = Result<T, MailError>>,
) -> Result<T, MailError> {
    tokio::time::timeout(SMTP_TIMEOUT, step)
        .await
        .unwrap_or_else(|_| {
            Err(MailError::Smtp {
                server: server.to_owned(),
                why: format!("no answer within {} s", SMTP_TIMEOUT.as_secs()),
            })
        })
}

/// lettre always ends the data with `CRLF . CRLF`, and RFC 5321 §4.1.1.4 counts that first CRLF
/// as the end of the last line: a message that already ends with CRLF would arrive with an empty
/// line more than was sent. Leaving its final CRLF to the terminator delivers the bytes exactly.
fn without_final_line_break(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\r\n").unwrap_or(bytes)
}

/// Finds the message whose Message-ID is `message_id` (with or without angle brackets) and
/// reads it back with its envelope, looking again briefly while the sink has not shown it yet.
/// One request per look: the sink's `/api/v1/delivered` (its own, beside the Mailpit-shaped
/// routes) answers the newest message with exactly that Message-ID, bytes and envelope together,
/// where search, raw and envelope took three.
pub async fn fetch(
    http: &reqwest::Client,
    smtp: &SmtpEndpoint,
    message_id: &str,
) -> Result<Delivered, MailError> {
    let bare = message_id.trim_start_matches('<').trim_end_matches('>');
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/v1/delivered", smtp.http_url),
        &[("message-id", bare)],
    )
    .map_err(|e| MailError::Api {
        url: smtp.http_url.clone(),
        why: e.to_string(),
    })?;
    let api = |why: String| MailError::Api {
        url: url.to_string(),
        why,
    };
    for attempt in 0..FETCH_ATTEMPTS {
        let response = http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| api(e.to_string()))?;
        if response.status() != reqwest::StatusCode::NOT_FOUND {
            if !response.status().is_success() {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                return Err(api(format!("HTTP {status}: {text}")));
            }
            let found: Value = response
                .json()
                .await
                .map_err(|e| api(format!("not JSON: {e}")))?;
            return delivered(&found).map_err(api);
        }
        if attempt + 1 < FETCH_ATTEMPTS {
            tokio::time::sleep(FETCH_INTERVAL).await;
        }
    }
    Err(MailError::NotStored {
        message_id: message_id.to_owned(),
        waited_ms: u64::from(FETCH_ATTEMPTS)
            * u64::try_from(FETCH_INTERVAL.as_millis()).unwrap_or(0),
    })
}

/// `/api/v1/delivered`'s answer: `{"ID","Envelope":{"RcptTo":[..],..},"Raw":"<base64>"}`.
fn delivered(found: &Value) -> Result<Delivered, String> {
    let id = found["ID"].as_str().ok_or("the answer has no ID")?;
    let raw = found["Raw"].as_str().ok_or("the answer has no Raw")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|e| format!("Raw is not base64: {e}"))?;
    let rcpt_to = found["Envelope"]["RcptTo"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    Ok(Delivered {
        id: id.to_owned(),
        raw,
        rcpt_to,
    })
}

/// How many messages the sink holds whose Message-ID (without angle brackets) `belongs`, among
/// those its search finds for `query`: what the sink received for one message sent as several
/// copies.
pub async fn count(
    http: &reqwest::Client,
    smtp: &SmtpEndpoint,
    query: &str,
    belongs: impl Fn(&str) -> bool,
) -> Result<u32, MailError> {
    let search = reqwest::Url::parse_with_params(
        &format!("{}/api/v1/search", smtp.http_url),
        &[("query", query), ("limit", "1000")],
    )
    .map_err(|e| MailError::Api {
        url: smtp.http_url.clone(),
        why: e.to_string(),
    })?;
    let found: Value = get_json(http, search.as_str()).await?;
    let n = found["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["MessageID"].as_str().is_some_and(&belongs))
        .count();
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

async fn get(http: &reqwest::Client, url: &str) -> Result<reqwest::Response, MailError> {
    let api = |why: String| MailError::Api {
        url: url.to_owned(),
        why,
    };
    let response = http.get(url).send().await.map_err(|e| api(e.to_string()))?;
    if !response.status().is_success() {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        return Err(api(format!("HTTP {status}: {text}")));
    }
    Ok(response)
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, MailError> {
    get(http, url)
        .await?
        .json()
        .await
        .map_err(|e| MailError::Api {
            url: url.to_owned(),
            why: format!("not JSON: {e}"),
        })
}

/// Where two byte strings first differ, for a report (`None` when equal).
pub fn first_difference(sent: &[u8], stored: &[u8]) -> Option<usize> {
    if sent == stored {
        return None;
    }
    Some(
        sent.iter()
            .zip(stored)
            .position(|(a, b)| a != b)
            .unwrap_or(sent.len().min(stored.len())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"abc", b"abcd"), Some(3));
        assert_eq!(first_difference(b"", b"x"), Some(0));
    }

    #[test]
    fn the_terminator_ends_the_last_line() {
        assert_eq!(without_final_line_break(b"a\r\nb\r\n"), b"a\r\nb");
        assert_eq!(without_final_line_break(b"a\r\nb"), b"a\r\nb");
        assert_eq!(without_final_line_break(b"a\r\n\r\n"), b"a\r\n");
    }

    #[test]
    fn reached_ignores_case() {
        let delivered = Delivered {
            id: "1".into(),
            raw: Vec::new(),
            rcpt_to: vec!["Carol@Contoso.com".into()],
        };
        assert!(delivered.reached("carol@contoso.com"));
        assert!(!delivered.reached("alice@contoso.com"));
    }
}
