//! The search subset behind `GET /api/v1/search?query=`: a few of Mailpit's filters over headers
//! and the envelope.
//!
//! A query is whitespace-separated terms, all of which must match (AND), case-insensitively, as
//! substrings:
//!
//! | term | matches |
//! |---|---|
//! | `from:x` | the `From` header's name or address, or the envelope `MAIL FROM` |
//! | `to:x` | a `To` or `Cc` header name or address, or an envelope `RCPT TO` |
//! | `subject:x` | the decoded `Subject` |
//! | `x` | any header field (name or unfolded raw value), or the decoded subject, from or to |
//!
//! A term may be quoted (`subject:"two words"`, `"two words"`), and negated with a leading `-` or
//! `!`. Other Mailpit filters (`tag:`, `is:`, `before:`, ...) are refused with a message rather
//! than silently read as free text. Bodies are not searched.

use crate::store::StoredMessage;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    From,
    To,
    Subject,
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    field: Field,
    /// Lower-cased.
    needle: String,
    negated: bool,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    terms: Vec<Term>,
}

/// Why a query was refused; the text goes back to the HTTP client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("Error: no search query")]
    Empty,
    #[error(
        "Error: unsupported search filter `{0}:`; this sink supports from:, to:, subject: and free text over headers"
    )]
    UnsupportedFilter(String),
}

impl Query {
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let mut terms = Vec::new();
        for raw in tokens(text) {
            let (negated, body) = match raw.strip_prefix(['-', '!']) {
                Some(rest) if !rest.is_empty() => (true, rest),
                _ => (false, raw.as_str()),
            };
            let (field, value) = match body.split_once(':') {
                Some((key, value)) if is_filter_name(key) => {
                    let field = match key.to_ascii_lowercase().as_str() {
                        "from" => Field::From,
                        "to" => Field::To,
                        "subject" => Field::Subject,
                        _ => return Err(QueryError::UnsupportedFilter(key.to_owned())),
                    };
                    (field, value)
                }
                _ => (Field::Any, body),
            };
            terms.push(Term {
                field,
                needle: value.to_lowercase(),
                negated,
            });
        }
        if terms.is_empty() {
            return Err(QueryError::Empty);
        }
        Ok(Self { terms })
    }

    pub fn matches(&self, message: &StoredMessage) -> bool {
        self.terms
            .iter()
            .all(|term| term.negated != term_matches(term, message))
    }
}

/// `from`, `message-id`, `reply-to`: letters and hyphens. `10:30` is free text, not a filter.
fn is_filter_name(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
}

fn term_matches(term: &Term, message: &StoredMessage) -> bool {
    let hit = |hay: &str| hay.to_lowercase().contains(&term.needle);
    let summary = &message.summary;
    let envelope = &message.envelope;
    let from =
        || summary.from.iter().any(|m| hit(&m.name) || hit(&m.address)) || hit(&envelope.mail_from);
    let to = || {
        summary
            .to
            .iter()
            .chain(&summary.cc)
            .any(|m| hit(&m.name) || hit(&m.address))
            || envelope.rcpt_to.iter().any(|r| hit(r))
    };
    match term.field {
        Field::From => from(),
        Field::To => to(),
        Field::Subject => hit(&summary.subject),
        Field::Any => {
            hit(&summary.subject)
                || from()
                || to()
                || summary.headers.iter().any(|(n, v)| hit(n) || hit(v))
        }
    }
}

/// Splits on whitespace outside double quotes and drops the quotes.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut started = false;
    for c in text.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                started = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if started {
                    out.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                current.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(current);
    }
    out.retain(|t| !t.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::Summary;
    use crate::store::Envelope;
    use std::sync::Arc;

    fn message(raw: &[u8], mail_from: &str, rcpt: &[&str]) -> StoredMessage {
        StoredMessage {
            envelope: Envelope {
                id: "x".into(),
                received: String::new(),
                helo: String::new(),
                mail_from: mail_from.into(),
                rcpt_to: rcpt.iter().map(|r| (*r).to_owned()).collect(),
                size: raw.len(),
            },
            received: time::OffsetDateTime::UNIX_EPOCH,
            raw: Arc::from(raw),
            summary: Arc::new(Summary::parse(raw)),
        }
    }

    #[test]
    fn tokens_respect_quotes() {
        assert_eq!(
            tokens(r#"subject:"two words"  -to:bob "a b""#),
            ["subject:two words", "-to:bob", "a b"]
        );
    }

    #[test]
    fn filters_and_free_text() {
        let m = message(
            b"From: Alice <alice@contoso.com>\r\nTo: Bob <bob@contoso.com>\r\nSubject: Quarterly Report\r\nX-Tag: blue\r\n\r\nbody\r\n",
            "bounce@contoso.com",
            &["bob@contoso.com", "hidden@contoso.com"],
        );
        let yes = |q: &str| Query::parse(q).expect(q).matches(&m);
        assert!(yes("from:alice"));
        assert!(yes("from:bounce@"));
        assert!(yes("to:hidden"));
        assert!(yes("subject:\"quarterly report\""));
        assert!(yes("blue"));
        assert!(yes("x-tag"));
        assert!(yes("-from:carol"));
        assert!(!yes("from:bob"));
        assert!(!yes("body"));
        assert!(!yes("subject:report !alice"));
        // Not a filter name, so free text (and absent), rather than refused.
        assert!(!yes("10:30"));
    }

    #[test]
    fn refusals() {
        assert_eq!(Query::parse("  "), Err(QueryError::Empty));
        assert_eq!(
            Query::parse("tag:x"),
            Err(QueryError::UnsupportedFilter("tag".into()))
        );
    }
}
