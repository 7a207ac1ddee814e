//! Windows registry files (`.reg`): write the policy as regedit exports it, read what an admin
//! imports.
//!
//! regedit writes `Windows Registry Editor Version 5.00` files in UTF-16LE with a byte-order mark
//! and CRLF line ends: the header, a blank line, then each key in brackets followed by its values
//! and a blank line. String data escapes `\` and `"` with a backslash; other types are
//! `dword:` eight hex digits or `hex(<type>):` comma-separated bytes, continued over lines ending
//! in `\`. `[-key]` deletes a key and `"name"=-` a value. The older `REGEDIT4` header means the
//! same syntax in the ANSI code page.

use smime::checks::Finding;
use smime::checks::catalogue::BRW_REG_HIVE;

use crate::model::{Parsed, Scope};
use crate::registry::{RegValue, Tree};
use crate::{Browser, Error, FORCELIST_POLICY};

pub const HEADER: &str = "Windows Registry Editor Version 5.00";
const HEADER_4: &str = "REGEDIT4";

/// The policy as regedit would export it, with `entry` as its one forcelist string: UTF-16LE
/// with a byte-order mark.
pub fn write(browser: Browser, entry: &str) -> Vec<u8> {
    let text = format!(
        "{HEADER}\r\n\r\n[HKEY_LOCAL_MACHINE\\{}\\{FORCELIST_POLICY}]\r\n\"1\"=\"{}\"\r\n\r\n",
        browser.registry_key(),
        escape(entry)
    );
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

pub(crate) fn has_header(text: &str) -> bool {
    text.starts_with(HEADER) || text.starts_with(HEADER_4)
}

fn utf16(bytes: &[u8], little_endian: bool, encoding: &'static str) -> Result<String, Error> {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|pair| match (pair, little_endian) {
            ([a, b], true) => u16::from_le_bytes([*a, *b]),
            ([a, b], false) => u16::from_be_bytes([*a, *b]),
            // An odd trailing byte cannot be a code unit: make it an unpaired surrogate so decoding
            // reports it.
            _ => 0xD800,
        })
        .collect();
    let mut text = String::with_capacity(units.len());
    for (index, decoded) in char::decode_utf16(units.iter().copied()).enumerate() {
        match decoded {
            Ok(c) => text.push(c),
            Err(_) => {
                return Err(Error::Encoding {
                    encoding,
                    offset: index.saturating_mul(2),
                });
            }
        }
    }
    Ok(text)
}

/// Text in the encodings a `.reg` or JSON file comes in: UTF-16LE or UTF-16BE with a byte-order
/// mark, UTF-16LE without one (recognised by its zero high bytes), UTF-8 with or without a mark.
pub(crate) fn decode_text(bytes: &[u8]) -> Result<String, Error> {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true, "UTF-16LE");
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false, "UTF-16BE");
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest, 3);
    }
    if let [first, 0, ..] = bytes
        && *first != 0
    {
        return utf16(bytes, true, "UTF-16LE");
    }
    utf8(bytes, 0)
}

fn utf8(bytes: &[u8], offset: usize) -> Result<String, Error> {
    String::from_utf8(bytes.to_vec()).map_err(|e| Error::Encoding {
        encoding: "UTF-8",
        offset: offset.saturating_add(e.utf8_error().valid_up_to()),
    })
}

fn reg_error(line: usize, message: impl Into<String>) -> Error {
    Error::Reg {
        line,
        message: message.into(),
    }
}

/// Logical lines: physical lines joined where one ends in `\` (hex data continues), each with the
/// number of its first physical line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let number = index + 1;
        let (start, mut buffer) = match pending.take() {
            Some((start, buffer)) => (start, buffer),
            None => (number, String::new()),
        };
        let continues = line.ends_with('\\') && !line.trim_start().starts_with('[');
        if continues {
            buffer.push_str(line.trim_end_matches('\\').trim_start());
            pending = Some((start, buffer));
        } else {
            buffer.push_str(if buffer.is_empty() {
                line
            } else {
                line.trim_start()
            });
            lines.push((start, buffer));
        }
    }
    if let Some(last) = pending {
        lines.push(last);
    }
    lines
}

/// Parse a quoted string at the start of `text`; return it and the rest after the closing quote.
fn quoted(text: &str, line: usize) -> Result<(String, &str), Error> {
    let Some(body) = text.strip_prefix('"') else {
        return Err(reg_error(line, "expected a quoted name or string"));
    };
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => return Err(reg_error(line, "a backslash ends the line inside a string")),
            },
            '"' => return Ok((out, body.get(index + 1..).unwrap_or(""))),
            other => out.push(other),
        }
    }
    Err(reg_error(line, "a string is not closed with \""))
}

fn hex_bytes(text: &str, line: usize) -> Result<Vec<u8>, Error> {
    text.split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| {
            u8::from_str_radix(b, 16)
                .map_err(|_| reg_error(line, format!("{b:?} is not a hex byte")))
        })
        .collect()
}

fn utf16_strings(bytes: &[u8]) -> Vec<String> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    String::from_utf16_lossy(&units)
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The data after `=`: `-` (delete), a string, `dword:`, `hex:` or `hex(<type>):`.
fn data(text: &str, line: usize) -> Result<Option<RegValue>, Error> {
    let text = text.trim();
    if text == "-" {
        return Ok(None);
    }
    if text.starts_with('"') {
        let (s, rest) = quoted(text, line)?;
        if !rest.trim().is_empty() && !rest.trim_start().starts_with(';') {
            return Err(reg_error(
                line,
                format!("unexpected {rest:?} after the string"),
            ));
        }
        return Ok(Some(RegValue::Sz(s)));
    }
    let lower = text.to_ascii_lowercase();
    if let Some(digits) = lower.strip_prefix("dword:") {
        return u32::from_str_radix(digits.trim(), 16)
            .map(|n| Some(RegValue::Dword(n)))
            .map_err(|_| reg_error(line, format!("dword:{digits} is not eight hex digits")));
    }
    let (kind, bytes) = if let Some(rest) = lower.strip_prefix("hex:") {
        (3, rest)
    } else if let Some(rest) = lower.strip_prefix("hex(") {
        let Some((kind, bytes)) = rest.split_once("):") else {
            return Err(reg_error(line, "hex( without a closing ):"));
        };
        let kind = u32::from_str_radix(kind, 16)
            .map_err(|_| reg_error(line, format!("hex({kind}) is not a registry type")))?;
        (kind, bytes)
    } else {
        return Err(reg_error(
            line,
            format!("{text:?} is not registry data (\"string\", dword:, hex:, hex(N): or -)"),
        ));
    };
    let bytes = hex_bytes(bytes, line)?;
    Ok(Some(match kind {
        1 => RegValue::Sz(utf16_strings(&bytes).join("")),
        2 => RegValue::ExpandSz(utf16_strings(&bytes).join("")),
        3 => RegValue::Binary(bytes),
        4 => match <[u8; 4]>::try_from(bytes.as_slice()) {
            Ok(b) => RegValue::Dword(u32::from_le_bytes(b)),
            Err(_) => RegValue::Other(4, bytes),
        },
        7 => RegValue::MultiSz(utf16_strings(&bytes)),
        0xb => match <[u8; 8]>::try_from(bytes.as_slice()) {
            Ok(b) => RegValue::Qword(u64::from_le_bytes(b)),
            Err(_) => RegValue::Other(0xb, bytes),
        },
        other => RegValue::Other(other, bytes),
    }))
}

/// Split `HKEY_...\rest` into a scope and the rest; abbreviations are understood but reported.
fn hive(path: &str, line: usize, findings: &mut Vec<Finding>) -> Result<(Scope, String), Error> {
    let (hive, rest) = path.split_once('\\').unwrap_or((path, ""));
    let upper = hive.to_ascii_uppercase();
    let (scope, full) = match upper.as_str() {
        "HKEY_LOCAL_MACHINE" | "HKLM" => (Scope::Machine, "HKEY_LOCAL_MACHINE"),
        "HKEY_CURRENT_USER" | "HKCU" => (Scope::User, "HKEY_CURRENT_USER"),
        "HKEY_USERS" | "HKU" => {
            // HKEY_USERS\<SID>\SOFTWARE\Policies\...: one user's hive.
            let (_sid, below) = rest.split_once('\\').unwrap_or((rest, ""));
            if upper != "HKEY_USERS" {
                findings.push(abbreviated(hive, "HKEY_USERS", line));
            }
            return Ok((Scope::User, below.to_owned()));
        }
        _ => {
            return Err(reg_error(
                line,
                format!(
                    "{hive:?} is not a registry hive: policy keys start with HKEY_LOCAL_MACHINE\\ or HKEY_CURRENT_USER\\"
                ),
            ));
        }
    };
    if upper != full {
        findings.push(abbreviated(hive, full, line));
    }
    Ok((scope, rest.to_owned()))
}

fn abbreviated(hive: &str, full: &str, line: usize) -> Finding {
    Finding::new(
        &BRW_REG_HIVE,
        format!("line {line}"),
        format!("line {line} writes the hive as {hive}; regedit imports only {full}"),
    )
}

/// Read a `.reg` file and replay it into the keys it leaves.
pub fn read(bytes: &[u8]) -> Result<Parsed, Error> {
    let text = decode_text(bytes)?;
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = logical_lines(text).into_iter();
    let header = lines
        .by_ref()
        .find(|(_, l)| !l.trim().is_empty())
        .map(|(_, l)| l);
    if !header.as_deref().is_some_and(|h| has_header(h.trim())) {
        return Err(reg_error(
            1,
            format!("the first line must be {HEADER:?} (or REGEDIT4)"),
        ));
    }
    let mut tree = Tree::default();
    let mut findings = Vec::new();
    let mut current: Option<(Scope, String)> = None;
    for (number, line) in lines {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') {
            continue;
        }
        if let Some(inner) = trimmed.strip_prefix('[') {
            let Some(path) = inner.strip_suffix(']') else {
                return Err(reg_error(number, "a key line must end with ]"));
            };
            if let Some(deleted) = path.strip_prefix('-') {
                let (scope, rest) = hive(deleted, number, &mut findings)?;
                tree.delete_key(scope, &rest);
                current = None;
            } else {
                let (scope, rest) = hive(path, number, &mut findings)?;
                tree.key_mut(scope, &rest);
                current = Some((scope, rest));
            }
            continue;
        }
        let Some((scope, path)) = current.as_ref() else {
            return Err(reg_error(number, "a value before any [key] line"));
        };
        let (name, rest) = if let Some(rest) = trimmed.strip_prefix('@') {
            (String::new(), rest)
        } else {
            quoted(trimmed, number)?
        };
        let Some(rest) = rest.trim_start().strip_prefix('=') else {
            return Err(reg_error(
                number,
                format!("expected = after the value name {name:?}"),
            ));
        };
        match data(rest, number)? {
            Some(value) => tree.set(*scope, path, &name, value),
            None => tree.delete_value(*scope, path, &name),
        }
    }
    let mut parsed = tree.into_parsed(true);
    findings.append(&mut parsed.findings);
    parsed.findings = findings;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_lines_join_hex_continuations() {
        let text = "A\r\n\"x\"=hex(7):61,00,\\\r\n  62,00\r\n[K\\]\r\n";
        let lines = logical_lines(text);
        assert_eq!(lines[1], (2, "\"x\"=hex(7):61,00,62,00".to_owned()));
        assert_eq!(lines[2], (4, "[K\\]".to_owned()));
    }

    #[test]
    fn data_forms() {
        assert_eq!(data("-", 1), Ok(None));
        assert_eq!(
            data(r#""a\\b\"c""#, 1),
            Ok(Some(RegValue::Sz("a\\b\"c".into())))
        );
        assert_eq!(data("dword:0000000a", 1), Ok(Some(RegValue::Dword(10))));
        assert_eq!(
            data("hex(7):61,00,00,00,62,00,00,00,00,00", 1),
            Ok(Some(RegValue::MultiSz(vec!["a".into(), "b".into()])))
        );
        assert_eq!(
            data("hex(2):61,00,00,00", 1),
            Ok(Some(RegValue::ExpandSz("a".into())))
        );
        assert!(data("dword:xyz", 3).is_err());
        assert!(data("hex(zz):00", 3).is_err());
        assert!(data("\"open", 3).is_err());
        assert!(data("word", 3).is_err());
    }

    #[test]
    fn decoding_reports_offsets() {
        assert_eq!(decode_text(b"ab").unwrap(), "ab");
        assert_eq!(decode_text(&[0xFF, 0xFE, b'a', 0]).unwrap(), "a");
        assert_eq!(decode_text(&[0xFE, 0xFF, 0, b'a']).unwrap(), "a");
        assert_eq!(
            decode_text(&[b'a', 0xFF]),
            Err(Error::Encoding {
                encoding: "UTF-8",
                offset: 1
            })
        );
        // Unpaired surrogate, then an odd trailing byte.
        assert!(decode_text(&[0xFF, 0xFE, 0x00, 0xD8]).is_err());
        assert!(decode_text(&[0xFF, 0xFE, b'a', 0, 1]).is_err());
    }
}
