//! What the HTTP API shows of a message's headers: the Mailpit-style summary fields and the header
//! map, read once with `mail-parser` when the message is stored.

use serde::Serialize;

/// Mailpit's `{"Name","Address"}` (Go's `net/mail.Address`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mailbox {
    pub name: String,
    pub address: String,
}

/// The parts of a message the list, search and headers endpoints need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `Message-ID` without the angle brackets, or empty.
    pub message_id: String,
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Decoded (RFC 2047) subject, or empty.
    pub subject: String,
    /// Up to 250 characters of the first text (or HTML-as-text) body, whitespace collapsed, as
    /// Mailpit does. Empty for S/MIME enveloped or opaque-signed messages: their body is CMS.
    pub snippet: String,
    /// Top-level header fields in message order: Go-canonical name, unfolded raw value.
    pub headers: Vec<(String, String)>,
}

const SNIPPET_CHARS: usize = 250;

impl Summary {
    /// Never fails: what cannot be parsed is left empty, and the raw bytes stay authoritative.
    pub fn parse(raw: &[u8]) -> Self {
        let Some(message) = mail_parser::MessageParser::default().parse(raw) else {
            return Self::default();
        };
        let mailboxes = |address: Option<&mail_parser::Address<'_>>| -> Vec<Mailbox> {
            address
                .map(|a| {
                    a.iter()
                        .map(|addr| Mailbox {
                            name: addr.name().unwrap_or_default().to_owned(),
                            address: addr.address().unwrap_or_default().to_owned(),
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let headers = message
            .headers()
            .iter()
            .map(|h| {
                let name = raw_slice(raw, h.offset_field, h.offset_start)
                    .and_then(|field| field.strip_suffix(b":"))
                    .map(|n| String::from_utf8_lossy(n).trim().to_owned())
                    .unwrap_or_else(|| h.name().to_owned());
                let value = raw_slice(raw, h.offset_start, h.offset_end)
                    .map(unfold)
                    .unwrap_or_default();
                (canonical_key(&name), value)
            })
            .collect();
        Self {
            message_id: message.message_id().unwrap_or_default().to_owned(),
            from: mailboxes(message.from()).into_iter().next(),
            to: mailboxes(message.to()),
            cc: mailboxes(message.cc()),
            subject: message.subject().unwrap_or_default().to_owned(),
            snippet: message
                .body_preview(SNIPPET_CHARS * 4)
                .map(|text| snippet(&text))
                .unwrap_or_default(),
            headers,
        }
    }
}

fn raw_slice(raw: &[u8], start: u32, end: u32) -> Option<&[u8]> {
    raw.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
}

/// Joins folded lines the way Go's `textproto` does (which is what Mailpit returns): each line
/// trimmed, joined with one space. Bytes that are not UTF-8 (8-bit headers) become U+FFFD.
fn unfold(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .split('\n')
        .map(|line| line.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r'))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: `message-id` → `Message-Id`. Keys with characters
/// outside the token set are returned unchanged, as Go does.
pub fn canonical_key(name: &str) -> String {
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(is_token) {
        return name.to_owned();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

fn snippet(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(SNIPPET_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_canonical_keys() {
        assert_eq!(canonical_key("message-id"), "Message-Id");
        assert_eq!(canonical_key("MIME-Version"), "Mime-Version");
        assert_eq!(canonical_key("X-MS-Exchange"), "X-Ms-Exchange");
        assert_eq!(canonical_key("bad key"), "bad key");
    }

    #[test]
    fn summary_of_a_plain_message() {
        let raw = b"From: Alice <alice@contoso.com>\r\nTo: bob@contoso.com, \"Carol C\" <carol@contoso.com>\r\n\
Subject: =?utf-8?q?caf=C3=A9?=\r\nMessage-ID: <m1@contoso.com>\r\nX-Folded: one\r\n  two\r\n\r\nHello\r\n   world\r\n";
        let s = Summary::parse(raw);
        assert_eq!(s.message_id, "m1@contoso.com");
        assert_eq!(
            s.from,
            Some(Mailbox {
                name: "Alice".into(),
                address: "alice@contoso.com".into()
            })
        );
        assert_eq!(s.to.len(), 2);
        assert_eq!(s.to[1].name, "Carol C");
        assert_eq!(s.subject, "café");
        assert_eq!(s.snippet, "Hello world");
        assert!(s.headers.contains(&("X-Folded".into(), "one two".into())));
        assert!(
            s.headers
                .contains(&("Message-Id".into(), "<m1@contoso.com>".into()))
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for raw in [
            &b""[..],
            b"\r\n",
            b":\r\n",
            b"\xff\xfe: \xff\r\n\r\n",
            b"From",
        ] {
            let _ = Summary::parse(raw);
        }
    }
}
