//! The `BRW-*` checks on the settings a file makes, whatever its format: is the S/MIME extension
//! force-installed, as mandatory machine policy, for the right browser, with exactly the right
//! entry, and does nothing else in the file undo it.

use serde_json::Value;
use smime::checks::Finding;
use smime::checks::catalogue::{
    BRW_ALLOWLIST, BRW_BLOCKLIST, BRW_FORCELIST_MISSING, BRW_FORCELIST_OK, BRW_ID_WRONG,
    BRW_JOINED_DEVICES, BRW_RECOMMENDED, BRW_SEPARATOR, BRW_SETTINGS_BLOCKED, BRW_URL_MISSING,
    BRW_URL_WRONG, BRW_USER_SCOPE, BRW_VALUE_TYPE, BRW_WRONG_BROWSER,
};

use crate::model::{Level, Scope, Setting};
use crate::{
    Browser, FORCELIST_POLICY, OWA_SMIME_EXTENSION_FORCELIST_VALUE, OWA_SMIME_EXTENSION_ID,
};

/// What one forcelist string says about the S/MIME extension.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry<'a> {
    /// Exactly the value step 4 asks for.
    Exact,
    /// Another extension: none of our business.
    Unrelated,
    /// The right ID and nothing else.
    IdOnly,
    /// The right ID, a semicolon, and the wrong URL.
    WrongUrl(&'a str),
    /// An ID and URL joined by something other than one semicolon.
    WrongSeparator { id: &'a str, separator: &'a str },
    /// The OWA update URL with another ID.
    WrongId(&'a str),
}

fn is_owa_url(url: &str) -> bool {
    url.to_ascii_lowercase().contains("smimecrxupdate")
}

/// Classify one `ExtensionInstallForcelist` string the way the browser splits it: at the first
/// `;`, ID before, update URL after, nothing trimmed.
pub(crate) fn classify(entry: &str) -> Entry<'_> {
    if entry == OWA_SMIME_EXTENSION_FORCELIST_VALUE {
        return Entry::Exact;
    }
    if let Some((id, url)) = entry.split_once(';') {
        if id == OWA_SMIME_EXTENSION_ID {
            return if url.is_empty() {
                Entry::IdOnly
            } else {
                Entry::WrongUrl(url)
            };
        }
        // `id,;url` or `id ;url`: a separator typed before the semicolon.
        if let Some(rest) = id.strip_prefix(OWA_SMIME_EXTENSION_ID) {
            // The separator typed, plus the semicolon after it (ASCII, so a char boundary).
            let end = OWA_SMIME_EXTENSION_ID.len() + rest.len() + 1;
            return Entry::WrongSeparator {
                id: OWA_SMIME_EXTENSION_ID,
                separator: entry.get(OWA_SMIME_EXTENSION_ID.len()..end).unwrap_or(rest),
            };
        }
        if is_owa_url(url) || id.eq_ignore_ascii_case(OWA_SMIME_EXTENSION_ID) {
            return Entry::WrongId(id);
        }
        return Entry::Unrelated;
    }
    if entry == OWA_SMIME_EXTENSION_ID {
        return Entry::IdOnly;
    }
    if entry.trim().eq_ignore_ascii_case(OWA_SMIME_EXTENSION_ID) {
        return Entry::WrongId(entry);
    }
    // No semicolon: look for the URL and whatever joins it to the ID.
    let lower = entry.to_ascii_lowercase();
    let url_start = lower.find("https://").or_else(|| lower.find("http://"));
    match url_start {
        Some(start) if start > 0 => {
            // `start` is where an ASCII pattern begins, so a char boundary.
            let head = entry.get(..start).unwrap_or("");
            let id_end = head
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(head.len());
            let (id, separator) = head.split_at(id_end);
            if id.is_empty() {
                return if is_owa_url(entry) {
                    Entry::WrongId(entry)
                } else {
                    Entry::Unrelated
                };
            }
            if separator.is_empty() {
                // `<id>https://...`: the separator was left out altogether.
                Entry::WrongSeparator { id, separator: "" }
            } else {
                Entry::WrongSeparator { id, separator }
            }
        }
        _ if is_owa_url(entry) => Entry::WrongId(entry),
        _ => Entry::Unrelated,
    }
}

fn describe_separator(separator: &str) -> String {
    match separator {
        "" => "nothing".to_owned(),
        "," => "a comma".to_owned(),
        " " => "a space".to_owned(),
        "\t" => "a tab".to_owned(),
        ":" => "a colon".to_owned(),
        "|" => "a vertical bar".to_owned(),
        other => format!("{other:?}"),
    }
}

/// What is wrong with an ID that was meant to be the S/MIME extension's.
fn describe_id(id: &str) -> String {
    if id.trim() != id {
        return format!("{id:?} has spaces around it");
    }
    if id.eq_ignore_ascii_case(OWA_SMIME_EXTENSION_ID) {
        return format!("{id:?} is not in lower case, and extension IDs are");
    }
    let valid = id.len() == 32 && id.bytes().all(|b| (b'a'..=b'p').contains(&b));
    if !valid {
        return format!(
            "{id:?} is not an extension ID at all (32 letters a-p); the browser reports \"Invalid extension ID\""
        );
    }
    let differing = id
        .bytes()
        .zip(OWA_SMIME_EXTENSION_ID.bytes())
        .filter(|(a, b)| a != b)
        .count();
    let letters = if differing == 1 { "letter" } else { "letters" };
    format!("{id:?} differs from {OWA_SMIME_EXTENSION_ID} in {differing} {letters}")
}

fn value_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a dictionary",
    }
}

/// The strings of a list value, or `None` when the value is not a list.
fn strings(value: &Value) -> Option<Vec<Option<&str>>> {
    value
        .as_array()
        .map(|items| items.iter().map(Value::as_str).collect())
}

fn mentions_owa(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains(OWA_SMIME_EXTENSION_ID) || is_owa_url(s),
        Value::Array(items) => items.iter().any(mentions_owa),
        _ => false,
    }
}

/// Apply every rule to the settings a file makes. `expected` is the browser the admin means to
/// configure, when known; `reader_errors` says whether reading the file already raised an error,
/// which then explains a missing forcelist better than `BRW-FL-001` would.
pub(crate) fn judge(
    settings: &[Setting],
    expected: Option<Browser>,
    reader_errors: bool,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut correct = Vec::new();
    for setting in settings {
        let location = &setting.location;
        match setting.policy.as_str() {
            FORCELIST_POLICY => forcelist(setting, &mut findings, &mut correct),
            "ExtensionInstallBlocklist" | "ExtensionInstallBlacklist" => {
                if let Some(items) = strings(&setting.value) {
                    for item in items.into_iter().flatten() {
                        if item == "*" || item == OWA_SMIME_EXTENSION_ID {
                            let what = if item == "*" {
                                "\"*\" (every extension)".to_owned()
                            } else {
                                "the S/MIME extension's ID".to_owned()
                            };
                            findings.push(Finding::new(
                                &BRW_BLOCKLIST,
                                location,
                                format!("{} lists {what}", setting.policy),
                            ));
                        }
                    }
                }
            }
            "ExtensionSettings" => extension_settings(setting, &mut findings),
            _ => {}
        }
        if setting.browser.is_some()
            && let Some(expected) = expected
            && setting.browser != Some(expected)
            && (setting.policy == FORCELIST_POLICY || mentions_owa(&setting.value))
        {
            findings.push(Finding::new(
                &BRW_WRONG_BROWSER,
                location,
                format!(
                    "{} at {location} is read by {}, not by {}",
                    setting.policy,
                    setting.browser.map_or("no browser", Browser::name),
                    expected.name()
                ),
            ));
        }
    }

    // An allowlist only matters when it stands in for the forcelist.
    if correct.is_empty() {
        for setting in settings {
            if matches!(
                setting.policy.as_str(),
                "ExtensionInstallAllowlist" | "ExtensionInstallWhitelist"
            ) && mentions_owa(&setting.value)
            {
                let old = if setting.policy == "ExtensionInstallWhitelist" {
                    " (the old name of ExtensionInstallAllowlist)"
                } else {
                    ""
                };
                findings.push(Finding::new(
                    &BRW_ALLOWLIST,
                    &setting.location,
                    format!(
                        "the S/MIME extension is in {}{old}, which permits it but installs nothing",
                        setting.policy
                    ),
                ));
            }
        }
    }

    let errors_so_far = reader_errors
        || findings
            .iter()
            .any(|f| f.severity == smime::checks::Severity::Error);
    if correct.is_empty() && !errors_so_far {
        let message = if settings.iter().any(|s| s.policy == FORCELIST_POLICY) {
            "ExtensionInstallForcelist is set but has no entry for the S/MIME extension".to_owned()
        } else if settings.is_empty() {
            "the file sets no browser policy at all".to_owned()
        } else {
            "the file does not set ExtensionInstallForcelist".to_owned()
        };
        findings.push(Finding::new(&BRW_FORCELIST_MISSING, "policy file", message));
    }
    for location in correct {
        findings.push(Finding::new(
            &BRW_FORCELIST_OK,
            location.clone(),
            format!("{location} holds {OWA_SMIME_EXTENSION_FORCELIST_VALUE}"),
        ));
    }
    findings.push(Finding::new(
        &BRW_JOINED_DEVICES,
        "policy file",
        "Edge and Chrome apply ExtensionInstallForcelist only on devices joined to a domain or to Microsoft Entra ID (macOS: MDM-enrolled)",
    ));
    findings
}

fn forcelist(setting: &Setting, findings: &mut Vec<Finding>, correct: &mut Vec<String>) {
    let location = &setting.location;
    let Some(items) = strings(&setting.value) else {
        // Chromium's own words for this case (its policy page shows "Expected list value.").
        let shown = match &setting.value {
            Value::String(s) => format!(" ({s:?})"),
            _ => String::new(),
        };
        findings.push(Finding::new(
            &BRW_VALUE_TYPE,
            location,
            format!(
                "{FORCELIST_POLICY} is {}{shown} where the browser expects a list (Chromium: \"Expected list value.\")",
                value_type(&setting.value)
            ),
        ));
        return;
    };
    let mut exact = false;
    let mut relevant = false;
    for (index, item) in items.iter().enumerate() {
        let Some(item) = item else {
            let got = setting.value.get(index).map_or("nothing", value_type);
            findings.push(Finding::new(
                &BRW_VALUE_TYPE,
                location,
                format!(
                    "entry {} of {FORCELIST_POLICY} is {got}, not a string",
                    index + 1
                ),
            ));
            continue;
        };
        let entry = classify(item);
        if entry != Entry::Unrelated {
            relevant = true;
        }
        match entry {
            Entry::Exact => exact = true,
            Entry::Unrelated => {}
            Entry::IdOnly => findings.push(Finding::new(
                &BRW_URL_MISSING,
                location,
                format!("entry {item:?} names the extension but no update URL"),
            )),
            Entry::WrongUrl(url) => {
                let why = if url.trim() != url {
                    "has spaces around it"
                } else if url.starts_with("http://") {
                    "uses http:// instead of https://"
                } else {
                    "is not Microsoft's update URL"
                };
                findings.push(Finding::new(
                    &BRW_URL_WRONG,
                    location,
                    format!("the update URL {url:?} {why}"),
                ));
            }
            Entry::WrongSeparator { id, separator } => {
                findings.push(Finding::new(
                    &BRW_SEPARATOR,
                    location,
                    format!(
                        "entry {item:?} joins ID and URL with {} instead of \";\", so the browser reads it all as one invalid ID",
                        describe_separator(separator)
                    ),
                ));
                if id != OWA_SMIME_EXTENSION_ID {
                    findings.push(Finding::new(
                        &BRW_ID_WRONG,
                        location,
                        format!("in entry {item:?}, {}", describe_id(id)),
                    ));
                }
            }
            Entry::WrongId(id) => findings.push(Finding::new(
                &BRW_ID_WRONG,
                location,
                format!("in entry {item:?}, {}", describe_id(id)),
            )),
        }
    }
    if setting.level == Level::Recommended {
        findings.push(Finding::new(
            &BRW_RECOMMENDED,
            location,
            format!("{FORCELIST_POLICY} is set as recommended policy at {location}; the browser ignores it there"),
        ));
    }
    if setting.scope == Scope::User && (exact || relevant) {
        findings.push(Finding::new(
            &BRW_USER_SCOPE,
            location,
            format!("{FORCELIST_POLICY} is set as user policy at {location}"),
        ));
    }
    if exact && setting.level == Level::Mandatory && setting.read {
        correct.push(location.clone());
    }
}

/// `ExtensionSettings` is a dictionary keyed by extension IDs (comma-separated lists allowed),
/// `update_url:` prefixes and `*`. An entry for the S/MIME extension whose installation_mode
/// blocks or removes it wins over the forcelist.
fn extension_settings(setting: &Setting, findings: &mut Vec<Finding>) {
    let Some(map) = setting.value.as_object() else {
        return;
    };
    for (key, entry) in map {
        let names_owa = key.split(',').any(|id| id.trim() == OWA_SMIME_EXTENSION_ID);
        if !names_owa {
            continue;
        }
        let mode = entry.get("installation_mode").and_then(Value::as_str);
        if let Some(mode @ ("blocked" | "removed")) = mode {
            findings.push(Finding::new(
                &BRW_SETTINGS_BLOCKED,
                &setting.location,
                format!(
                    "ExtensionSettings gives the S/MIME extension installation_mode \"{mode}\""
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = crate::OWA_SMIME_UPDATE_URL;

    #[test]
    fn classify_entries() {
        let id = OWA_SMIME_EXTENSION_ID;
        assert_eq!(classify(OWA_SMIME_EXTENSION_FORCELIST_VALUE), Entry::Exact);
        assert_eq!(classify(id), Entry::IdOnly);
        assert_eq!(classify(&format!("{id};")), Entry::IdOnly);
        assert_eq!(
            classify(&format!(
                "{id};http://outlook.office.com/owa/SmimeCrxUpdate.ashx"
            )),
            Entry::WrongUrl("http://outlook.office.com/owa/SmimeCrxUpdate.ashx")
        );
        assert_eq!(
            classify(&format!("{id}; {URL}")),
            Entry::WrongUrl(&format!(" {URL}"))
        );
        assert_eq!(
            classify(&format!("{id},{URL}")),
            Entry::WrongSeparator { id, separator: "," }
        );
        assert_eq!(
            classify(&format!("{id} {URL}")),
            Entry::WrongSeparator { id, separator: " " }
        );
        assert_eq!(
            classify(&format!("{id}{URL}")),
            Entry::WrongSeparator { id, separator: "" }
        );
        assert_eq!(
            classify(&format!("{id},;{URL}")),
            Entry::WrongSeparator {
                id,
                separator: ",;"
            }
        );
        assert_eq!(
            classify(&format!("MAAFGIOMPDEKODANHEIHHGILKJCHCAKM;{URL}")),
            Entry::WrongId("MAAFGIOMPDEKODANHEIHHGILKJCHCAKM")
        );
        assert_eq!(
            classify(&format!("maafgiompdekodanheihhgilkjchcakn;{URL}")),
            Entry::WrongId("maafgiompdekodanheihhgilkjchcakn")
        );
        assert_eq!(
            classify(
                "cjpalhdlnbpafiamejdnhcphjbkeiagm;https://clients2.google.com/service/update2/crx"
            ),
            Entry::Unrelated
        );
        assert_eq!(
            classify("cjpalhdlnbpafiamejdnhcphjbkeiagm"),
            Entry::Unrelated
        );
        assert_eq!(classify(""), Entry::Unrelated);
        // Multi-byte text never splits inside a character.
        assert_eq!(classify("é;ü"), Entry::Unrelated);
        assert_eq!(classify("éhttps://x"), Entry::Unrelated);
    }

    #[test]
    fn describe_ids() {
        assert!(describe_id("MAAFGIOMPDEKODANHEIHHGILKJCHCAKM").contains("lower case"));
        assert!(describe_id(" maafgiompdekodanheihhgilkjchcakm").contains("spaces"));
        assert!(describe_id("maafgiompdekodanheihhgilkjchcakn").contains("in 1 letter"));
        assert!(describe_id("xyz").contains("not an extension ID"));
    }
}
