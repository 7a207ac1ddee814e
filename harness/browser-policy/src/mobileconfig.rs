//! macOS configuration profiles (`.mobileconfig`): write one that sets the policy, read what an
//! admin deploys through MDM.
//!
//! A profile is a property list: a `Configuration` dictionary whose `PayloadContent` array holds
//! payloads. Edge and Chrome read a payload whose `PayloadType` is their preference domain
//! (`com.microsoft.Edge`, `com.google.Chrome`) as mandatory policy, its keys being policy names.
//! The older custom-settings form, `com.apple.ManagedClient.preferences`, nests the domain and a
//! frequency: `Forced` is mandatory, `Set-Once` and `Often` are only recommended. `PayloadScope`
//! `System` installs for the device; `User`, the default, for one user.

use std::io::Cursor;

use plist::stream::{Event, Reader};
use serde_json::{Map, Value};
use sha1::{Digest as _, Sha1};
use smime::checks::Finding;
use smime::checks::catalogue::BRW_LOCATION_UNREAD;

use crate::model::{Level, Parsed, Scope, Setting, canonical_policy};
use crate::{Browser, Error, FORCELIST_POLICY};

/// Deeper than any profile needs; bounds the work and the stack on hostile input.
const MAX_DEPTH: usize = 32;

/// RFC 9562 name-based UUID, version 5 (SHA-1), in the upper case Apple's tools write. The
/// namespace is RFC 9562's URL namespace; the name is a URN naming the seed and the role.
pub fn uuid_v5(name: &str) -> String {
    const NAMESPACE_URL: [u8; 16] = [
        0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30,
        0xc8,
    ];
    uuid_v5_in(NAMESPACE_URL, name)
}

fn uuid_v5_in(namespace: [u8; 16], name: &str) -> String {
    let digest = Sha1::new()
        .chain_update(namespace)
        .chain_update(name.as_bytes())
        .finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn payload_uuid(seed: &str, browser: Browser, role: &str) -> String {
    uuid_v5(&format!(
        "urn:smime-lab:browser-policy:{seed}:{}:{role}",
        browser.slug()
    ))
}

fn dict(entries: Vec<(&str, plist::Value)>) -> plist::Value {
    let mut d = plist::Dictionary::new();
    for (k, v) in entries {
        d.insert(k.to_owned(), v);
    }
    // Apple's tools write keys sorted; so do we, so the output does not depend on code order.
    d.sort_keys();
    plist::Value::Dictionary(d)
}

/// A System-scope profile with one payload for the browser's preference domain.
/// `entry` is its one forcelist string.
pub fn write(browser: Browser, seed: &str, entry: &str) -> Vec<u8> {
    let identifier = format!("com.smime-lab.owa-smime-extension.{}", browser.slug());
    let payload = dict(vec![
        (FORCELIST_POLICY, plist::Value::Array(vec![entry.into()])),
        ("PayloadDisplayName", format!("{browser} policy").into()),
        ("PayloadIdentifier", format!("{identifier}.policy").into()),
        ("PayloadType", browser.macos_domain().into()),
        ("PayloadUUID", payload_uuid(seed, browser, "payload").into()),
        ("PayloadVersion", 1.into()),
    ]);
    let profile = dict(vec![
        ("PayloadContent", plist::Value::Array(vec![payload])),
        (
            "PayloadDescription",
            format!(
                "Force-installs the S/MIME extension of Outlook on the web in {browser} (\"Configure S/MIME in Exchange Online\", step 4). Takes effect only on MDM-enrolled Macs."
            )
            .into(),
        ),
        (
            "PayloadDisplayName",
            format!("Outlook on the web S/MIME extension for {browser}").into(),
        ),
        ("PayloadIdentifier", identifier.into()),
        ("PayloadScope", "System".into()),
        ("PayloadType", "Configuration".into()),
        ("PayloadUUID", payload_uuid(seed, browser, "profile").into()),
        ("PayloadVersion", 1.into()),
    ]);
    let mut out = Vec::new();
    // Writing into a Vec cannot fail for I/O reasons, and every value here is serialisable.
    if profile.to_writer_xml(&mut out).is_err() {
        out.clear();
    }
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out
}

fn plist_error(message: impl Into<String>) -> Error {
    Error::Plist {
        message: message.into(),
    }
}

/// The plist reader's error in the admin's words. Its `Display` is the name of its error kind
/// and a place (`UnclosedXmlElement (line 1, column 60)`), or an I/O error's `Debug` for a damaged
/// binary plist: the kind becomes words, the place is kept, library types never show.
fn describe_plist_error(error: &plist::Error) -> String {
    let text = error.to_string();
    let (kind, place) = match text.split_once(" (") {
        Some((kind, place)) => (kind, place.trim_end_matches(')')),
        None => (text.as_str(), ""),
    };
    let what = if error.is_eof() {
        "the file ends before the property list does".to_owned()
    } else if kind.starts_with("Io(") {
        "a binary property list whose tables point outside the file (damaged or truncated)"
            .to_owned()
    } else if !kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        let mut words = String::new();
        for c in kind.chars() {
            if c.is_ascii_uppercase() && !words.is_empty() {
                words.push(' ');
            }
            words.push(c.to_ascii_lowercase());
        }
        words
    } else {
        "it does not parse as a property list".to_owned()
    };
    if place.is_empty() || place.contains('{') {
        what
    } else {
        format!("{what} ({place})")
    }
}

/// Build a JSON value from plist events, refusing nesting deeper than [`MAX_DEPTH`].
fn to_json(bytes: &[u8]) -> Result<Value, Error> {
    enum Frame {
        Array(Vec<Value>),
        Dict(Map<String, Value>, Option<String>),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    for event in Reader::new(Cursor::new(bytes)) {
        let event = event.map_err(|e| plist_error(describe_plist_error(&e)))?;
        let value = match event {
            Event::StartArray(_) | Event::StartDictionary(_) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(plist_error(format!(
                        "nested deeper than {MAX_DEPTH} levels; no configuration profile is"
                    )));
                }
                stack.push(if matches!(event, Event::StartArray(_)) {
                    Frame::Array(Vec::new())
                } else {
                    Frame::Dict(Map::new(), None)
                });
                continue;
            }
            Event::EndCollection => match stack.pop() {
                Some(Frame::Array(items)) => Value::Array(items),
                Some(Frame::Dict(map, None)) => Value::Object(map),
                Some(Frame::Dict(_, Some(key))) => {
                    return Err(plist_error(format!("key {key:?} has no value")));
                }
                None => return Err(plist_error("a collection closes that never opened")),
            },
            Event::Boolean(b) => Value::Bool(b),
            Event::Integer(i) => match (i.as_signed(), i.as_unsigned()) {
                (Some(n), _) => Value::from(n),
                (None, Some(n)) => Value::from(n),
                (None, None) => Value::Null,
            },
            Event::Real(r) => serde_json::Number::from_f64(r).map_or(Value::Null, Value::Number),
            Event::String(s) => Value::String(s.into_owned()),
            // Dates and data have no JSON form; no policy the rules read holds them.
            Event::Date(d) => Value::String(d.to_xml_format()),
            Event::Data(_) | Event::Uid(_) => Value::Null,
            // The event enum is non-exhaustive.
            _ => Value::Null,
        };
        match stack.last_mut() {
            Some(Frame::Array(items)) => items.push(value),
            Some(Frame::Dict(map, pending)) => match pending.take() {
                Some(key) => {
                    map.insert(key, value);
                }
                None => match value {
                    Value::String(key) => *pending = Some(key),
                    _ => return Err(plist_error("a dictionary key is not a string")),
                },
            },
            None => {
                if root.replace(value).is_some() {
                    return Err(plist_error("more than one top-level value"));
                }
            }
        }
    }
    root.ok_or_else(|| plist_error("the property list holds no value"))
}

fn browser_for_domain(domain: &str) -> Option<Browser> {
    Browser::ALL
        .into_iter()
        .find(|b| b.macos_domain() == domain)
}

/// Policy keys of one preference domain's settings.
fn push_policies(
    settings: &Map<String, Value>,
    browser: Option<Browser>,
    location: &str,
    scope: Scope,
    level: Level,
    parsed: &mut Parsed,
) {
    for (name, value) in settings {
        // Property-list keys are case-sensitive: only the exact name is a policy.
        if canonical_policy(name) == Some(name.as_str()) {
            parsed.settings.push(Setting {
                browser,
                read: browser.is_some(),
                location: location.to_owned(),
                scope,
                level,
                policy: name.clone(),
                value: value.clone(),
            });
        }
    }
}

fn has_policy(settings: &Map<String, Value>) -> bool {
    settings.keys().any(|k| canonical_policy(k).is_some())
}

/// A domain that is meant for a browser but is not the one it reads.
fn unread_domain(domain: &str, location: &str, parsed: &mut Parsed) {
    let lower = domain.to_ascii_lowercase();
    let hint = Browser::ALL
        .into_iter()
        .find(|b| b.macos_domain().eq_ignore_ascii_case(domain))
        .map(|b| format!("{} reads {} (case matters)", b.name(), b.macos_domain()))
        .unwrap_or_else(|| {
            if lower.contains("edge") {
                "Edge reads the domain com.microsoft.Edge".to_owned()
            } else {
                "Chrome reads the domain com.google.Chrome, Edge com.microsoft.Edge".to_owned()
            }
        });
    parsed.findings.push(Finding::new(
        &BRW_LOCATION_UNREAD,
        location,
        format!("no browser reads the preference domain {domain:?}: {hint}"),
    ));
}

/// Read a configuration profile (XML or binary property list).
pub fn read(bytes: &[u8]) -> Result<Parsed, Error> {
    let root = to_json(bytes)?;
    let Some(root) = root.as_object() else {
        return Err(plist_error("the top level is not a dictionary"));
    };
    let Some(content) = root.get("PayloadContent").and_then(Value::as_array) else {
        return Err(plist_error(
            "no PayloadContent array: this is not a configuration profile (a bare preferences plist is installed by MDM, not by itself)",
        ));
    };
    let scope = match root.get("PayloadScope").and_then(Value::as_str) {
        Some("System") => Scope::Machine,
        // Apple: "User" is the default.
        _ => Scope::User,
    };
    let mut parsed = Parsed::default();
    for (index, payload) in content.iter().enumerate() {
        let Some(payload) = payload.as_object() else {
            continue;
        };
        let kind = payload
            .get("PayloadType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let location = format!("PayloadContent[{index}] {kind}");
        if kind == "com.apple.ManagedClient.preferences" {
            managed_client(payload, &location, scope, &mut parsed);
            continue;
        }
        let browser = browser_for_domain(kind);
        if browser.is_none() {
            if !has_policy(payload) {
                continue;
            }
            unread_domain(kind, &location, &mut parsed);
        }
        push_policies(
            payload,
            browser,
            &location,
            scope,
            Level::Mandatory,
            &mut parsed,
        );
    }
    Ok(parsed)
}

/// `com.apple.ManagedClient.preferences`: `PayloadContent` → domain → frequency → list of
/// `{ mcx_preference_settings: { policies } }`.
fn managed_client(payload: &Map<String, Value>, location: &str, scope: Scope, parsed: &mut Parsed) {
    let Some(domains) = payload.get("PayloadContent").and_then(Value::as_object) else {
        return;
    };
    for (domain, frequencies) in domains {
        let Some(frequencies) = frequencies.as_object() else {
            continue;
        };
        let browser = browser_for_domain(domain);
        let mut reported = false;
        for (frequency, entries) in frequencies {
            let level = match frequency.as_str() {
                "Forced" => Level::Mandatory,
                "Set-Once" | "Often" => Level::Recommended,
                _ => continue,
            };
            for entry in entries.as_array().into_iter().flatten() {
                let Some(settings) = entry
                    .get("mcx_preference_settings")
                    .and_then(Value::as_object)
                else {
                    continue;
                };
                let here = format!("{location} › {domain} › {frequency}");
                if browser.is_none() && has_policy(settings) && !reported {
                    unread_domain(domain, &here, parsed);
                    reported = true;
                }
                push_policies(settings, browser, &here, scope, level, parsed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v5_matches_rfc_9562_example() {
        // RFC 9562 appendix A.4: UUIDv5 of "www.example.com" in the DNS namespace.
        const NAMESPACE_DNS: [u8; 16] = [
            0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4,
            0x30, 0xc8,
        ];
        assert_eq!(
            uuid_v5_in(NAMESPACE_DNS, "www.example.com"),
            "2ED6657D-E927-568B-95E1-2665A8AEA6A2"
        );
        let u = uuid_v5("urn:x");
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "5");
        assert!(matches!(&u[19..20], "8" | "9" | "A" | "B"));
        assert_eq!(uuid_v5("urn:x"), u);
        assert_ne!(uuid_v5("urn:y"), u);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut xml = String::from("<?xml version=\"1.0\"?><plist version=\"1.0\">");
        xml.push_str(&"<array>".repeat(10_000));
        xml.push_str(&"</array>".repeat(10_000));
        xml.push_str("</plist>");
        assert!(matches!(
            to_json(xml.as_bytes()),
            Err(Error::Plist { message }) if message.contains("nested")
        ));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for input in [
            &b"<?xml version=\"1.0\"?><plist><dict><key>a</key></dict></plist>"[..],
            b"<plist><dict><key>a</key>",
            b"<plist><string>x</string><string>y</string></plist>",
            b"bplist00\xff\xff",
            b"<plist version=\"1.0\"><array/></plist>",
        ] {
            assert!(read(input).is_err(), "{:?}", String::from_utf8_lossy(input));
        }
    }
}
