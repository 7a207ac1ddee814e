//! Just enough MIME (RFC 2045, 2046, 5322) for S/MIME: header fields, Content-Type, multipart
//! splitting with exact byte ranges, transfer encodings, and line-ending canonicalisation.
//!
//! Why not `mail-parser` (which is in the workspace)? It is built to Postel's law — "make a best
//! effort to parse non-conformant messages" — and flattens the tree into text/html/attachment
//! lists. A signature verifier needs the opposite: the exact bytes of the first body part of a
//! multipart/signed (delimiter CRLF excluded), and a refusal of every ambiguity an attacker can use
//! (two Content-Type fields, a missing close delimiter, a boundary that never appears). Those are a
//! few hundred lines, and owning them keeps the byte ranges and the strictness in one place.

use std::borrow::Cow;

use base64::Engine;

/// Deeper nesting than this is refused: no real client nests S/MIME that deep, and recursion on
/// attacker-controlled input needs a bound.
pub const MAX_DEPTH: usize = 16;
/// More parts than this in one message are refused, for the same reason.
pub const MAX_PARTS: usize = 2000;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MimeError {
    #[error(
        "line at byte {offset} in the header block is not a header field (no `name:`); a MIME entity is header fields, an empty line, then the body"
    )]
    NotAHeader { offset: usize },
    #[error("the header block starts with a folded continuation line at byte {offset}")]
    LeadingContinuation { offset: usize },
    #[error(
        "{count} `{name}` header fields: exactly one is allowed, and two are a known way to show one thing and verify another"
    )]
    DuplicateHeader { name: String, count: usize },
    #[error("Content-Type {value:?} is not `type/subtype; name=value...`: {why}")]
    ContentType { value: String, why: String },
    #[error("multipart entity without a boundary parameter")]
    NoBoundary,
    #[error("boundary {boundary:?} never appears as a delimiter line (--{boundary}) in the body")]
    NoDelimiter { boundary: String },
    #[error(
        "multipart body with boundary {boundary:?} has no close delimiter (--{boundary}--): truncated or malformed"
    )]
    NoCloseDelimiter { boundary: String },
    #[error("MIME structure nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("more than {MAX_PARTS} MIME parts")]
    TooManyParts,
    #[error(
        "Content-Transfer-Encoding {0:?} is not one of 7bit, 8bit, binary, base64, quoted-printable"
    )]
    UnknownEncoding(String),
    #[error("the base64 body is not valid base64: {0}")]
    Base64(String),
}

/// One header field, as bytes of the entity it came from.
#[derive(Clone, Debug)]
pub struct HeaderField<'a> {
    /// The field name as written (no surrounding whitespace).
    pub name: &'a [u8],
    /// The whole field: name, colon, value, folded lines and the final line terminator.
    pub raw: &'a [u8],
    /// The value after the colon, still folded, without the final line terminator.
    pub value: &'a [u8],
}

impl HeaderField<'_> {
    pub fn name_is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The value unfolded (line breaks removed) and trimmed, 8-bit bytes replaced lossily.
    pub fn unfolded(&self) -> String {
        let bytes: Vec<u8> = self
            .value
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        String::from_utf8_lossy(&bytes).trim().to_owned()
    }
}

/// A MIME entity (a message or a body part): header fields and a body, borrowed from the input.
#[derive(Clone, Debug)]
pub struct Entity<'a> {
    /// The whole entity, headers and body.
    pub raw: &'a [u8],
    pub headers: Vec<HeaderField<'a>>,
    /// Where the body starts in `raw` (after the empty line).
    pub body_offset: usize,
}

/// A line of input: `[start, content_end)` is the text, `[content_end, end)` the terminator
/// (CRLF, LF, or nothing on the last line).
#[derive(Clone, Copy, Debug)]
struct Line {
    start: usize,
    content_end: usize,
    end: usize,
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = Line> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= bytes.len() {
            return None;
        }
        let start = pos;
        let rest = bytes.get(start..)?;
        let (content_end, end) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let lf = start + i;
                let content_end = if lf > start && bytes.get(lf - 1) == Some(&b'\r') {
                    lf - 1
                } else {
                    lf
                };
                (content_end, lf + 1)
            }
            None => (bytes.len(), bytes.len()),
        };
        pos = end;
        Some(Line {
            start,
            content_end,
            end,
        })
    })
}

impl<'a> Entity<'a> {
    /// Parses the header block. An entity that starts with an empty line has no header fields
    /// (a body part defaulting to text/plain); one without an empty line has no body.
    pub fn parse(raw: &'a [u8]) -> Result<Self, MimeError> {
        let mut headers: Vec<HeaderField<'a>> = Vec::new();
        let mut body_offset = raw.len();
        // (name, start, colon) of the field being read, finished when the next one starts.
        let mut current: Option<(usize, usize, usize)> = None;
        let mut current_end = 0;
        let finish = |headers: &mut Vec<HeaderField<'a>>,
                      current: Option<(usize, usize, usize)>,
                      value_end: usize,
                      raw_end: usize| {
            if let Some((name_end, start, colon)) = current {
                headers.push(HeaderField {
                    name: trim(raw.get(start..name_end).unwrap_or_default()),
                    raw: raw.get(start..raw_end).unwrap_or_default(),
                    value: raw.get(colon + 1..value_end).unwrap_or_default(),
                });
            }
        };
        let mut value_end = 0;
        for (index, line) in lines(raw).enumerate() {
            let text = raw.get(line.start..line.content_end).unwrap_or_default();
            // An mbox "From " separator is never a header field; files saved from mail stores
            // sometimes start with one.
            if index == 0 && is_mbox_separator(text) {
                continue;
            }
            if text.is_empty() {
                finish(&mut headers, current.take(), value_end, current_end);
                body_offset = line.end;
                return Ok(Entity {
                    raw,
                    headers,
                    body_offset,
                });
            }
            if text.first().is_some_and(|&b| b == b' ' || b == b'\t') {
                if current.is_none() {
                    return Err(MimeError::LeadingContinuation { offset: line.start });
                }
                value_end = line.content_end;
                current_end = line.end;
                continue;
            }
            let colon = text
                .iter()
                .position(|&b| b == b':')
                .ok_or(MimeError::NotAHeader { offset: line.start })?;
            let name = trim(text.get(..colon).unwrap_or_default());
            if name.is_empty() || !name.iter().all(|&b| (33..=126).contains(&b)) {
                return Err(MimeError::NotAHeader { offset: line.start });
            }
            finish(&mut headers, current.take(), value_end, current_end);
            current = Some((line.start + colon, line.start, line.start + colon));
            value_end = line.content_end;
            current_end = line.end;
        }
        finish(&mut headers, current, value_end, current_end);
        if body_offset > raw.len() {
            body_offset = raw.len();
        }
        Ok(Entity {
            raw,
            headers,
            body_offset,
        })
    }

    pub fn body(&self) -> &'a [u8] {
        self.raw.get(self.body_offset..).unwrap_or_default()
    }

    /// The header block including the empty line that ends it.
    pub fn header_block(&self) -> &'a [u8] {
        self.raw.get(..self.body_offset).unwrap_or_default()
    }

    pub fn headers_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s HeaderField<'a>> + 's {
        self.headers.iter().filter(move |h| h.name_is(name))
    }

    /// The one field called `name`; two or more are an error.
    pub fn single_header<'s>(
        &'s self,
        name: &'s str,
    ) -> Result<Option<&'s HeaderField<'a>>, MimeError> {
        let mut found = self.headers_named(name);
        let first = found.next();
        let more = found.count();
        if more > 0 {
            return Err(MimeError::DuplicateHeader {
                name: name.to_owned(),
                count: more + 1,
            });
        }
        Ok(first)
    }

    /// Content-Type, defaulting to `text/plain; charset=us-ascii` (RFC 2045 §5.2).
    pub fn content_type(&self) -> Result<ContentType, MimeError> {
        match self.single_header("Content-Type")? {
            Some(field) => ContentType::parse(&field.unfolded()),
            None => Ok(ContentType {
                essence: "text/plain".to_owned(),
                params: vec![("charset".to_owned(), "us-ascii".to_owned())],
            }),
        }
    }

    pub fn transfer_encoding(&self) -> Result<TransferEncoding, MimeError> {
        match self.single_header("Content-Transfer-Encoding")? {
            None => Ok(TransferEncoding::SevenBit),
            Some(field) => TransferEncoding::parse(&field.unfolded()),
        }
    }

    /// The body with its transfer encoding undone.
    pub fn decoded_body(&self) -> Result<Cow<'a, [u8]>, MimeError> {
        let body = self.body();
        Ok(match self.transfer_encoding()? {
            TransferEncoding::Base64 => Cow::Owned(decode_base64(body)?),
            TransferEncoding::QuotedPrintable => Cow::Owned(decode_quoted_printable(body)),
            _ => Cow::Borrowed(body),
        })
    }
}

/// `From sender@example Mon Jan  1 00:00:00 2024` (an mbox separator), as opposed to a `From:`
/// or obsolete `From :` header field.
fn is_mbox_separator(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let before_colon = rest.split(|&b| b == b':').next().unwrap_or_default();
    !trim(before_colon).is_empty()
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// A parsed Content-Type: lower-case `type/subtype` and its parameters (names lower-case, values
/// as written, quotes removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType {
    pub essence: String,
    pub params: Vec<(String, String)>,
}

impl ContentType {
    pub fn parse(value: &str) -> Result<Self, MimeError> {
        let err = |why: &str| MimeError::ContentType {
            value: value.to_owned(),
            why: why.to_owned(),
        };
        let mut s = Scanner::new(value);
        s.skip_cfws();
        let main = s.token().ok_or_else(|| err("no media type"))?;
        if !s.eat(b'/') {
            return Err(err("no `/subtype`"));
        }
        let sub = s.token().ok_or_else(|| err("no subtype"))?;
        let mut params: Vec<(String, String)> = Vec::new();
        loop {
            s.skip_cfws();
            if s.at_end() {
                break;
            }
            if !s.eat(b';') {
                return Err(err("text after the media type that is not `; name=value`"));
            }
            s.skip_cfws();
            if s.at_end() {
                break; // a trailing `;` is common and harmless
            }
            let name = s.token().ok_or_else(|| err("a parameter without a name"))?;
            s.skip_cfws();
            if !s.eat(b'=') {
                return Err(err("a parameter without `=`"));
            }
            s.skip_cfws();
            let v = if s.peek() == Some(b'"') {
                s.quoted_string()
                    .ok_or_else(|| err("an unterminated quoted string"))?
            } else {
                s.token()
                    .ok_or_else(|| err("a parameter without a value"))?
                    .to_owned()
            };
            let name = name.to_ascii_lowercase();
            if params.iter().any(|(n, _)| *n == name) {
                return Err(err("the same parameter twice"));
            }
            params.push((name, v));
        }
        Ok(ContentType {
            essence: format!("{}/{}", main.to_ascii_lowercase(), sub.to_ascii_lowercase()),
            params,
        })
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_multipart(&self) -> bool {
        self.essence.starts_with("multipart/")
    }

    pub fn is(&self, essence: &str) -> bool {
        self.essence.eq_ignore_ascii_case(essence)
    }
}

/// A small cursor over a header value for RFC 2045 tokens, quoted strings and comments.
struct Scanner<'s> {
    s: &'s str,
    pos: usize,
}

impl<'s> Scanner<'s> {
    fn new(s: &'s str) -> Self {
        Scanner { s, pos: 0 }
    }
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn skip_cfws(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.pos += 1,
                Some(b'(') => self.skip_comment(),
                _ => return,
            }
        }
    }
    fn skip_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                b'\\' => self.pos += 1,
                _ => {}
            }
        }
    }
    /// An RFC 2045 token: printable ASCII except SPACE and tspecials.
    fn token(&mut self) -> Option<&'s str> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b <= b' ' || b >= 127 || b"()<>@,;:\\\"/[]?=".contains(&b) {
                break;
            }
            self.pos += 1;
        }
        (self.pos > start)
            .then(|| self.s.get(start..self.pos))
            .flatten()
    }
    fn quoted_string(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let next = self.peek()?;
                    self.pos += 1;
                    out.push(next);
                }
                _ => out.push(b),
            }
        }
        None
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferEncoding {
    SevenBit,
    EightBit,
    Binary,
    Base64,
    QuotedPrintable,
}

impl TransferEncoding {
    pub fn parse(value: &str) -> Result<Self, MimeError> {
        let v = value.trim();
        Ok(match v.to_ascii_lowercase().as_str() {
            "7bit" => TransferEncoding::SevenBit,
            "8bit" => TransferEncoding::EightBit,
            "binary" => TransferEncoding::Binary,
            "base64" => TransferEncoding::Base64,
            "quoted-printable" => TransferEncoding::QuotedPrintable,
            _ => return Err(MimeError::UnknownEncoding(v.to_owned())),
        })
    }
}

/// The pieces of a multipart body. Each part runs from after its delimiter line to before the
/// line break that precedes the next delimiter (RFC 2046 §5.1.1: that line break belongs to the
/// delimiter, not to the part).
#[derive(Clone, Debug)]
pub struct Multipart<'a> {
    pub preamble: &'a [u8],
    pub parts: Vec<&'a [u8]>,
    pub epilogue: &'a [u8],
}

/// Splits a multipart body at `boundary`. Strict: there must be at least one delimiter and a
/// close delimiter; text after the boundary on a delimiter line (other than `--` and white space)
/// makes it an ordinary line.
pub fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Result<Multipart<'a>, MimeError> {
    let dash_boundary: Vec<u8> = [b"--".as_slice(), boundary.as_bytes()].concat();
    let mut preamble: Option<&'a [u8]> = None;
    let mut parts = Vec::new();
    let mut part_start: Option<usize> = None;
    let mut prev_content_end = 0usize;
    for line in lines(body) {
        let text = body.get(line.start..line.content_end).unwrap_or_default();
        let kind = delimiter_kind(text, &dash_boundary);
        if let Some(close) = kind {
            // The line break before this delimiter belongs to the delimiter.
            let end_of_previous = if line.start == 0 { 0 } else { prev_content_end };
            match part_start {
                None => preamble = Some(body.get(..end_of_previous).unwrap_or_default()),
                Some(start) => {
                    let end = end_of_previous.max(start);
                    parts.push(body.get(start..end).unwrap_or_default());
                    if parts.len() > MAX_PARTS {
                        return Err(MimeError::TooManyParts);
                    }
                }
            }
            if close {
                return Ok(Multipart {
                    preamble: preamble.unwrap_or_default(),
                    parts,
                    epilogue: body.get(line.end..).unwrap_or_default(),
                });
            }
            part_start = Some(line.end);
        }
        prev_content_end = line.content_end;
    }
    if part_start.is_none() {
        Err(MimeError::NoDelimiter {
            boundary: boundary.to_owned(),
        })
    } else {
        Err(MimeError::NoCloseDelimiter {
            boundary: boundary.to_owned(),
        })
    }
}

/// `Some(false)` for a delimiter line, `Some(true)` for the close delimiter, `None` otherwise.
fn delimiter_kind(line: &[u8], dash_boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(dash_boundary)?;
    let (close, rest) = match rest.strip_prefix(b"--") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    rest.iter()
        .all(|&b| b == b' ' || b == b'\t')
        .then_some(close)
}

/// Canonical line endings (RFC 5751 §3.1.1, RFC 8551 §3.1.1): every bare LF becomes CRLF.
/// Mail stores and test files often keep LF only; the signer hashed CRLF.
pub fn to_crlf(bytes: &[u8]) -> Cow<'_, [u8]> {
    let needs = bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || bytes.get(i - 1) != Some(&b'\r')));
    if !needs {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32 + 2);
    let mut prev = 0u8;
    for &b in bytes {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    Cow::Owned(out)
}

fn base64_engine() -> base64::engine::GeneralPurpose {
    // Senders differ on padding; the bytes decide, not the padding.
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

/// Decodes a base64 body, ignoring line breaks and other white space.
pub fn decode_base64(body: &[u8]) -> Result<Vec<u8>, MimeError> {
    let clean: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64_engine()
        .decode(&clean)
        .map_err(|e| MimeError::Base64(e.to_string()))
}

/// Base64 in 76-column lines, each ended by CRLF (RFC 2045 §6.8).
pub fn encode_base64_lines(data: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Decodes quoted-printable leniently (an `=` not followed by two hex digits stays as is).
pub fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        if b == b'=' {
            match (body.get(i + 1), body.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => {
                    i += 3;
                    continue;
                }
                (Some(b'\n'), _) => {
                    i += 2;
                    continue;
                }
                (Some(&h), Some(&l)) => {
                    if let (Some(h), Some(l)) = (hex_val(h), hex_val(l)) {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Quoted-printable (RFC 2045 §6.7) of text whose line breaks are CRLF: hard line breaks kept,
/// lines soft-broken before 76 columns, trailing white space and a leading `From ` or `.` encoded
/// so that no mail transport has a reason to touch the signed bytes (RFC 8551 §3.1.2).
pub fn encode_quoted_printable(text: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(text.len() + text.len() / 8);
    let crlf = to_crlf(text);
    let mut first = true;
    for line in crlf.split(|&b| b == b'\n') {
        if !first {
            out.extend_from_slice(b"\r\n");
        }
        first = false;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut col = 0usize;
        let n = line.len();
        for (i, &b) in line.iter().enumerate() {
            let last = i + 1 == n;
            let at_start = col == 0;
            let literal = match b {
                b'=' => false,
                b' ' | b'\t' => !last,
                b'F' if at_start && line.get(i..i + 5) == Some(b"From ") => false,
                b'.' if at_start => false,
                33..=126 => true,
                _ => false,
            };
            let width = if literal { 1 } else { 3 };
            // Keep room for the soft break `=` within 76 columns.
            if col + width > 75 {
                out.extend_from_slice(b"=\r\n");
                col = 0;
            }
            if literal {
                out.push(b);
            } else {
                out.push(b'=');
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
            col += width;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_fold_and_body_split() {
        let raw = b"From: a@b\r\nSubject: one\r\n two\r\nContent-Type: text/plain;\r\n\tcharset=utf-8\r\n\r\nbody\r\n";
        let e = Entity::parse(raw).unwrap();
        assert_eq!(e.headers.len(), 3);
        assert_eq!(e.headers[1].unfolded(), "one two");
        assert_eq!(e.body(), b"body\r\n");
        assert_eq!(e.content_type().unwrap().param("charset"), Some("utf-8"));
        assert_eq!(e.headers[1].raw, b"Subject: one\r\n two\r\n");
    }

    #[test]
    fn an_mbox_separator_line_is_skipped() {
        let e = Entity::parse(b"From alice@example.com Mon Jan  1 00:00:00 2024\nFrom: a@b\n\nx")
            .unwrap();
        assert_eq!(e.headers.len(), 1);
        assert!(e.headers[0].name_is("From"));
        let e = Entity::parse(b"From : a@b\n\nx").unwrap();
        assert_eq!(e.headers[0].unfolded(), "a@b");
    }

    #[test]
    fn bad_headers_are_errors() {
        assert!(matches!(
            Entity::parse(b"no colon here\r\n\r\nx"),
            Err(MimeError::NotAHeader { offset: 0 })
        ));
        assert!(matches!(
            Entity::parse(b" folded\r\n\r\n"),
            Err(MimeError::LeadingContinuation { .. })
        ));
        let two = Entity::parse(b"Content-Type: a/b\r\nContent-type: c/d\r\n\r\n").unwrap();
        assert!(matches!(
            two.content_type(),
            Err(MimeError::DuplicateHeader { count: 2, .. })
        ));
    }

    #[test]
    fn content_type_parameters() {
        let ct = ContentType::parse(
            "Multipart/Signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"a\\\"b\" (comment);",
        )
        .unwrap();
        assert_eq!(ct.essence, "multipart/signed");
        assert_eq!(ct.param("PROTOCOL"), Some("application/pkcs7-signature"));
        assert_eq!(ct.param("boundary"), Some("a\"b"));
        assert!(ContentType::parse("text").is_err());
        assert!(ContentType::parse("text/plain; a=1; A=2").is_err());
        assert!(ContentType::parse("text/plain; a=\"open").is_err());
    }

    #[test]
    fn multipart_exact_ranges() {
        let body = b"preamble\r\n--b\r\npart one\r\n\r\n--b \r\nContent-Type: x/y\r\n\r\ntwo\r\n--b--\r\nepilogue";
        let m = split_multipart(body, "b").unwrap();
        assert_eq!(m.preamble, b"preamble");
        assert_eq!(
            m.parts,
            vec![&b"part one\r\n"[..], &b"Content-Type: x/y\r\n\r\ntwo"[..]]
        );
        assert_eq!(m.epilogue, b"epilogue");
        // LF-only files split the same way.
        let m = split_multipart(b"--b\npart\n--b--\n", "b").unwrap();
        assert_eq!(m.parts, vec![&b"part"[..]]);
        // A boundary with extra text is not a delimiter.
        assert!(matches!(
            split_multipart(b"--bx\r\n", "b"),
            Err(MimeError::NoDelimiter { .. })
        ));
        assert!(matches!(
            split_multipart(b"--b\r\npart\r\n", "b"),
            Err(MimeError::NoCloseDelimiter { .. })
        ));
    }

    #[test]
    fn crlf_canonicalisation() {
        assert_eq!(&*to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert!(matches!(to_crlf(b"a\r\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn quoted_printable_round_trip_and_shape() {
        let text = "Grüße aus Köln = schön \r\nFrom here\r\n.\r\n".repeat(5);
        let qp = encode_quoted_printable(text.as_bytes());
        assert!(qp.iter().all(|&b| b < 128));
        for line in qp.split(|&b| b == b'\n') {
            assert!(line.len() <= 77, "{:?}", String::from_utf8_lossy(line));
            assert!(!line.starts_with(b"From "));
        }
        assert_eq!(decode_quoted_printable(&qp), text.as_bytes());
        let long = "x".repeat(200);
        let qp = encode_quoted_printable(long.as_bytes());
        assert_eq!(decode_quoted_printable(&qp), long.as_bytes());
    }

    #[test]
    fn base64_lines_are_76_columns_crlf() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let b64 = encode_base64_lines(&data);
        for line in b64.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            assert!(line.ends_with(b"\r"));
            assert!(line.len() <= 77);
        }
        assert_eq!(decode_base64(&b64).unwrap(), data);
        assert!(decode_base64(b"!!!!").is_err());
    }
}
