//! The From address of a message and the mailboxes of a certificate, for the check that the
//! signer is the sender (RFC 8550 §3, RFC 8551 §2.5).
//!
//! Only the addr-spec counts: a display name that looks like an address (`"ceo@corp" <eve@evil>`)
//! is a known spoofing trick, so display names, comments and groups are parsed and dropped.

use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

/// One mailbox of an address list: the addr-spec (lower-cased) and the display name as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub address: String,
    pub display_name: String,
}

impl Mailbox {
    /// Addresses that appear inside the display name (`"ceo@corp" <eve@evil>`), lower-cased,
    /// other than the mailbox's own: a reader may take them for the sender.
    pub fn addresses_in_display_name(&self) -> Vec<String> {
        self.display_name
            .split(|c: char| c.is_whitespace() || "\"'<>,;()[]".contains(c))
            .map(|t| {
                t.trim_matches(|c: char| ".:".contains(c))
                    .to_ascii_lowercase()
            })
            .filter(|t| looks_like_addr_spec(t) && *t != self.address)
            .collect()
    }
}

/// The sender of a message: the first addr-spec of its first From field, lower-cased; `None`
/// when the message does not parse or has no readable From. What a reader's client looks the
/// sender up by (the certificates published for them, a reply's recipient).
pub fn from_address(message: &[u8]) -> Option<String> {
    let entity = super::mime::Entity::parse(message).ok()?;
    let from = entity.headers_named("From").next()?;
    mailboxes(&String::from_utf8_lossy(from.value))
        .into_iter()
        .next()
}

/// The addr-specs of a mailbox-list header value (From, Sender, Reply-To), lower-cased, in
/// order. Display names, comments, route prefixes and group names are dropped.
pub fn mailboxes(value: &str) -> Vec<String> {
    parse_mailboxes(value)
        .into_iter()
        .map(|m| m.address)
        .collect()
}

/// Parses a mailbox-list, keeping display names.
pub fn parse_mailboxes(value: &str) -> Vec<Mailbox> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut angle: Option<String> = None;
    let mut chars = value.chars().peekable();
    let flush = |current: &mut String, angle: &mut Option<String>, out: &mut Vec<Mailbox>| {
        let (spec, display_name) = match angle.take() {
            Some(a) => (a, current.trim().to_owned()),
            None => (current.trim().to_owned(), String::new()),
        };
        current.clear();
        let spec = strip_route(spec.trim());
        if looks_like_addr_spec(&spec) {
            out.push(Mailbox {
                address: spec.to_ascii_lowercase(),
                display_name,
            });
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                // A quoted string: in a display name it is dropped with the name; in a local part
                // it is kept verbatim.
                let mut quoted = String::from('"');
                while let Some(q) = chars.next() {
                    quoted.push(q);
                    if q == '\\' {
                        if let Some(n) = chars.next() {
                            quoted.push(n);
                        }
                    } else if q == '"' {
                        break;
                    }
                }
                current.push_str(&quoted);
            }
            '(' => {
                let mut depth = 1usize;
                while let Some(q) = chars.next() {
                    match q {
                        '\\' => {
                            chars.next();
                        }
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                current.push(' ');
            }
            '<' => {
                let mut inner = String::new();
                for q in chars.by_ref() {
                    if q == '>' {
                        break;
                    }
                    inner.push(q);
                }
                // A second angle-addr in one mailbox is malformed; keep the first, and the
                // mailbox still counts once.
                if angle.is_none() {
                    angle = Some(inner);
                }
            }
            ':' if angle.is_none() => {
                // A group name: what came before is the group's display name.
                current.clear();
            }
            ',' | ';' => flush(&mut current, &mut angle, &mut out),
            _ => current.push(c),
        }
    }
    flush(&mut current, &mut angle, &mut out);
    out
}

/// Drops an obsolete source route (`@a,@b:user@host`).
fn strip_route(spec: &str) -> String {
    match spec.rfind(':') {
        Some(i) if spec.starts_with('@') => spec.get(i + 1..).unwrap_or_default().to_owned(),
        _ => spec.to_owned(),
    }
}

fn looks_like_addr_spec(a: &str) -> bool {
    match a.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains(char::is_whitespace)
                && (local.starts_with('"') || !local.contains(char::is_whitespace))
        }
        None => false,
    }
}

/// The e-mail addresses a certificate is issued to: rfc822Name entries of subjectAltName and,
/// for older certificates, emailAddress attributes of the subject (RFC 8550 §3). Lower-cased.
pub fn certificate_mailboxes(cert: &Certificate) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some((_, san))) = cert.tbs_certificate().get_extension::<SubjectAltName>() {
        for name in &san.0 {
            if let GeneralName::Rfc822Name(m) = name {
                out.push(m.to_string().to_ascii_lowercase());
            }
        }
    }
    for atv in cert.tbs_certificate().subject().iter() {
        if atv.oid == const_oid::db::rfc3280::EMAIL_ADDRESS
            && let Some(s) = super::verdict::attribute_value_string(&atv.value)
        {
            let s = s.to_ascii_lowercase();
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{from_address, mailboxes};

    #[test]
    fn from_address_is_the_first_mailbox_of_the_first_from() {
        assert_eq!(
            from_address(
                b"To: x@example.com\r\nFrom: \"Bob\" <Bob@Contoso.com>, c@d.e\r\n\r\nbody"
            ),
            Some("bob@contoso.com".to_owned())
        );
        assert_eq!(from_address(b"To: x@example.com\r\n\r\nbody"), None);
        assert_eq!(from_address(b"\x00 not mail"), None);
    }

    #[test]
    fn display_names_never_count() {
        assert_eq!(
            mailboxes("Alice <alice@example.com>"),
            ["alice@example.com"]
        );
        assert_eq!(
            mailboxes("\"manager@corp.de\" <eve@evil.example>"),
            ["eve@evil.example"]
        );
        assert_eq!(
            mailboxes("manager@corp.de (the boss) <eve@evil.example>"),
            ["eve@evil.example"]
        );
        assert_eq!(mailboxes("Bob@Example.COM"), ["bob@example.com"]);
        assert_eq!(
            mailboxes("a@x.example, \"Last, First\" <b@y.example>"),
            ["a@x.example", "b@y.example"]
        );
        assert_eq!(
            mailboxes("team: a@x.example, b@y.example;"),
            ["a@x.example", "b@y.example"]
        );
        assert!(mailboxes("Manager").is_empty());
        assert!(mailboxes("").is_empty());
        assert!(mailboxes("<>").is_empty());
        assert_eq!(mailboxes("<@relay.example:c@z.example>"), ["c@z.example"]);
    }

    #[test]
    fn addresses_hidden_in_display_names_are_found() {
        let m = super::parse_mailboxes("manager@corp.de                 . <eve@corp.de>");
        assert_eq!(m[0].address, "eve@corp.de");
        assert_eq!(m[0].addresses_in_display_name(), ["manager@corp.de"]);
        let m = super::parse_mailboxes("\"Eve (eve@corp.de)\" <eve@corp.de>");
        assert!(m[0].addresses_in_display_name().is_empty());
        let m = super::parse_mailboxes("The Manager <eve@corp.de>");
        assert!(m[0].addresses_in_display_name().is_empty());
    }
}
