//! The MIME layer of encryption (RFC 8551 section 3.3): wrap a message's body in an
//! `application/pkcs7-mime` enveloped-data entity, and find and decrypt one.
//!
//! Deliberately small: only what encryption needs (header split and unfolding, one parameter
//! parser, multipart search for the decrypting side). The general MIME module lives with signing;
//! the two are to be unified.

use base64::Engine;

use super::{DecryptError, Decrypted, EncryptError, EncryptOptions, Recipient};
use crate::cms::mime;
use crate::key::PrivateKey;
use x509_cert::Certificate;

/// Headers that stay on the outside of an encrypted message. Everything else of the original
/// header block is either the content's own (`Content-*`, moved inside) or dropped (Bcc, trace
/// and client headers: the envelope is a new message body).
const OUTER_HEADERS: [&str; 10] = [
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
];

/// One header field: its name and its raw lines (folding kept), without the final line break.
#[derive(Debug, Clone)]
struct Header {
    name: String,
    raw: Vec<u8>,
}

impl Header {
    /// The unfolded value after the colon, trimmed.
    fn value(&self) -> String {
        let text = String::from_utf8_lossy(&self.raw);
        let value = text.split_once(':').map_or("", |(_, v)| v);
        value
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Splits a message into header fields and body. Accepts CRLF or bare LF line ends.
fn split(message: &[u8]) -> Result<(Vec<Header>, &[u8]), String> {
    let mut headers: Vec<Header> = Vec::new();
    let mut pos = 0;
    let mut line_number = 0;
    while pos < message.len() {
        let rest = message.get(pos..).unwrap_or_default();
        let line_len = rest
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = rest.get(..line_len).unwrap_or_default();
        line_number += 1;
        let content = trim_eol(line);
        pos += line_len;
        if content.is_empty() {
            return Ok((headers, message.get(pos..).unwrap_or_default()));
        }
        if content.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            let Some(last) = headers.last_mut() else {
                return Err(format!(
                    "line {line_number} is a continuation line before any header"
                ));
            };
            last.raw.extend_from_slice(b"\r\n");
            last.raw.extend_from_slice(content);
            continue;
        }
        let Some(colon) = content.iter().position(|b| *b == b':') else {
            return Err(format!(
                "line {line_number} is neither a header (\"Name: value\") nor the blank line that ends the headers"
            ));
        };
        let name = String::from_utf8_lossy(content.get(..colon).unwrap_or_default())
            .trim()
            .to_ascii_lowercase();
        headers.push(Header {
            name,
            raw: content.to_vec(),
        });
    }
    Ok((headers, &[]))
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The value of `name` in a header like `type/subtype; name=value; other="quoted"`.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|part| {
        let (k, v) = part.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case(name) {
            return None;
        }
        Some(v.trim().trim_matches('"').to_owned())
    })
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The inner MIME entity for `message`: its `Content-*` headers and body in canonical CRLF form.
/// A message without a Content-Type gets the RFC 2045 default spelled out, so the entity is
/// self-describing once it is separated from its outer headers.
fn inner_entity(headers: &[Header], body: &[u8]) -> Vec<u8> {
    let mut entity = Vec::new();
    let mut has_type = false;
    let mut has_cte = false;
    for h in headers.iter().filter(|h| h.name.starts_with("content-")) {
        has_type |= h.name == "content-type";
        has_cte |= h.name == "content-transfer-encoding";
        entity.extend_from_slice(&h.raw);
        entity.extend_from_slice(b"\r\n");
    }
    if !has_type {
        if body.is_ascii() {
            entity.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n");
        } else {
            entity.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
            if !has_cte {
                entity.extend_from_slice(b"Content-Transfer-Encoding: 8bit\r\n");
            }
        }
    }
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(&mime::to_crlf(body));
    entity
}

/// Encrypts a whole message: the result keeps the outer headers (From, To, Cc, Subject, Date,
/// Message-ID and threading headers) and replaces the body by an `application/pkcs7-mime`
/// entity with `smime-type=enveloped-data`, or `authEnveloped-data` for AES-GCM (RFC 8551 3.2.2).
pub fn encrypt_message<R: rand_core::CryptoRng + ?Sized>(
    message: &[u8],
    recipients: &[Recipient],
    options: &EncryptOptions,
    rng: &mut R,
) -> Result<Vec<u8>, EncryptError> {
    let (headers, body) = split(message).map_err(|what| EncryptError::Mime { what })?;
    let entity = inner_entity(&headers, body);
    let der = super::encrypt(&entity, recipients, options, rng)?;
    let smime_type = if options.cipher.is_aead() {
        "authEnveloped-data"
    } else {
        "enveloped-data"
    };
    let mut out = Vec::with_capacity(der.len() * 4 / 3 + 1024);
    for h in headers
        .iter()
        .filter(|h| OUTER_HEADERS.contains(&h.name.as_str()))
    {
        out.extend_from_slice(&h.raw);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(
        format!(
            "Content-Type: application/pkcs7-mime; smime-type={smime_type}; name=smime.p7m\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
    out.extend_from_slice(b"Content-Disposition: attachment; filename=smime.p7m\r\n");
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&mime::encode_base64_lines(&der));
    Ok(out)
}

/// Finds the `application/pkcs7-mime` (or `x-pkcs7-mime`, or an octet-stream named `*.p7m`)
/// entity of a message, at the top level or inside multiparts, and returns its decoded CMS bytes.
pub(crate) fn find_p7m(entity: &[u8], depth: usize) -> Result<Option<Vec<u8>>, DecryptError> {
    if depth > 16 {
        return Ok(None);
    }
    let (headers, body) = split(entity).map_err(|what| DecryptError::NotSmime { what })?;
    let header = |name: &str| headers.iter().find(|h| h.name == name).map(Header::value);
    let content_type = header("content-type").unwrap_or_default();
    let media = media_type(&content_type);
    let named_p7m = || {
        let filename = header("content-disposition")
            .and_then(|d| parameter(&d, "filename"))
            .or_else(|| parameter(&content_type, "name"))
            .unwrap_or_default();
        filename.to_ascii_lowercase().ends_with(".p7m")
    };
    if media == "application/pkcs7-mime"
        || media == "application/x-pkcs7-mime"
        || (media == "application/octet-stream" && named_p7m())
    {
        let encoding = header("content-transfer-encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if encoding == "base64" {
            let compact: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            let engine = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
            );
            return engine
                .decode(&compact)
                .map(Some)
                .map_err(|e| DecryptError::NotSmime {
                    what: format!("the {media} body is not valid base64: {e}"),
                });
        }
        return Ok(Some(body.to_vec()));
    }
    if media.starts_with("multipart/") {
        let Some(boundary) = parameter(&content_type, "boundary") else {
            return Err(DecryptError::NotSmime {
                what: format!("{media} without a boundary parameter"),
            });
        };
        for part in multipart_parts(body, &boundary) {
            if let Some(found) = find_p7m(part, depth + 1)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

/// The parts of a multipart body, without their delimiter lines.
fn multipart_parts<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut current_start: Option<usize> = None;
    let mut pos = 0;
    while pos < body.len() {
        let rest = body.get(pos..).unwrap_or_default();
        let line_len = rest
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = trim_eol(rest.get(..line_len).unwrap_or_default());
        let trimmed_end = line
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(&[][..], |i| line.get(..=i).unwrap_or_default());
        if trimmed_end.starts_with(delimiter.as_bytes()) {
            let after = trimmed_end.get(delimiter.len()..).unwrap_or_default();
            if after.is_empty() || after == b"--" {
                if let Some(start) = current_start {
                    // The line break before a delimiter belongs to the delimiter.
                    let part = body.get(start..pos).unwrap_or_default();
                    let part = part.strip_suffix(b"\n").unwrap_or(part);
                    parts.push(part.strip_suffix(b"\r").unwrap_or(part));
                }
                if after == b"--" {
                    return parts;
                }
                current_start = Some(pos + line_len);
            }
        }
        pos += line_len;
    }
    parts
}

/// Decrypts an S/MIME message: finds its `application/pkcs7-mime` part, decodes it and decrypts
/// it. `content` of the result is the inner MIME entity, as `openssl cms -decrypt` prints it.
pub fn decrypt_message(
    message: &[u8],
    cert: &Certificate,
    key: &PrivateKey,
) -> Result<Decrypted, DecryptError> {
    let der = find_p7m(message, 0)?.ok_or_else(|| DecryptError::NotSmime {
        what: "no application/pkcs7-mime part found (the message is not encrypted, or it is PGP)"
            .to_owned(),
    })?;
    super::decrypt(&der, cert, key)
}

/// The decrypted message a mail client shows: the original outer headers that are not about the
/// content (From, To, Subject, ...; no Content-*, no MIME-Version), `MIME-Version: 1.0`, then the
/// decrypted entity's own headers and body.
pub fn decrypted_message(original: &[u8], entity: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(original.len().min(8192) + entity.len());
    if let Ok((headers, _)) = split(original) {
        for h in headers
            .iter()
            .filter(|h| !h.name.starts_with("content-") && h.name != "mime-version")
        {
            out.extend_from_slice(&h.raw);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(entity);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_split_unfold_and_keep_folding() {
        let msg = b"From: a@example.com\nSubject: one\n two\nContent-Type: text/plain;\n charset=utf-8\n\nbody\nline2\n";
        let (headers, body) = split(msg).unwrap();
        assert_eq!(headers.len(), 3);
        assert_eq!(headers[1].value(), "one two");
        assert_eq!(body, b"body\nline2\n");
        let entity = inner_entity(&headers, body);
        assert_eq!(
            entity,
            b"Content-Type: text/plain;\r\n charset=utf-8\r\n\r\nbody\r\nline2\r\n"
        );
    }

    #[test]
    fn missing_content_type_is_spelled_out() {
        let (headers, body) = split(b"Subject: x\r\n\r\nhi\r\n").unwrap();
        assert_eq!(
            inner_entity(&headers, body),
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\nhi\r\n"
        );
    }

    #[test]
    fn garbage_headers_are_an_error() {
        assert!(split(b"this is not a header\n\nbody").is_err());
        assert!(split(b" continuation first\n\nbody").is_err());
    }

    #[test]
    fn base64_is_76_columns_with_crlf() {
        let lines = mime::encode_base64_lines(&[0u8; 200]);
        let text = String::from_utf8(lines).unwrap();
        assert!(text.split("\r\n").all(|l| l.len() <= 76));
        assert_eq!(text.split("\r\n").next().unwrap().len(), 76);
    }

    #[test]
    fn p7m_is_found_inside_a_multipart() {
        let msg = b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b1\r\nContent-Type: application/x-pkcs7-mime; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\nAw==\r\n--b1--\r\n";
        assert_eq!(find_p7m(msg, 0).unwrap(), Some(vec![0, 1, 2, 3]));
        assert_eq!(
            find_p7m(b"Content-Type: text/plain\r\n\r\nx", 0).unwrap(),
            None
        );
    }
}
