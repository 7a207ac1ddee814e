//! Linux managed-policy JSON: write the file, read an admin's, and tell from its folder which
//! browser reads it and whether as mandatory or recommended policy.
//!
//! Each browser reads every file in a fixed folder: Chrome `/etc/opt/chrome/policies/managed`,
//! Edge `/etc/opt/edge/policies/managed`, Debian's Chromium `/etc/chromium/policies/managed`
//! (Ubuntu's `chromium-browser` `/etc/chromium-browser/policies/managed`). The sibling
//! `recommended` folder holds recommended policy, which `ExtensionInstallForcelist` cannot be.
//! Each file is one JSON object of policy names to values; when two files set the same policy,
//! only one file's value counts, so the forcelist belongs in one file.

use serde_json::Value;
use smime::checks::Finding;
use smime::checks::catalogue::{BRW_LOCATION_UNREAD, BRW_SCOPE_UNKNOWN};

use crate::model::{Level, Parsed, Scope, Setting, canonical_policy};
use crate::{Browser, Error, FORCELIST_POLICY};

/// The policy file, pretty-printed with a final newline.
pub fn write(entry: &str) -> Vec<u8> {
    let value = serde_json::json!({ FORCELIST_POLICY: [entry] });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text.into_bytes()
}

/// Folders a browser reads, with the browser and level.
fn folders() -> Vec<(String, Browser, Level)> {
    let mut out = Vec::new();
    for browser in Browser::ALL {
        let managed = browser.linux_managed_dir();
        out.push((managed.to_owned(), browser, Level::Mandatory));
        if let Some(base) = managed.strip_suffix("/managed") {
            out.push((format!("{base}/recommended"), browser, Level::Recommended));
        }
    }
    out.push((
        "/etc/chromium-browser/policies/managed".into(),
        Browser::Chromium,
        Level::Mandatory,
    ));
    out.push((
        "/etc/chromium-browser/policies/recommended".into(),
        Browser::Chromium,
        Level::Recommended,
    ));
    out
}

/// Folders admins use that no browser reads, with the right one.
const WRONG_FOLDERS: &[(&str, &str)] = &[
    (
        "/etc/opt/google/chrome",
        "Chrome reads /etc/opt/chrome/policies/managed",
    ),
    (
        "/etc/opt/microsoft/edge",
        "Edge reads /etc/opt/edge/policies/managed",
    ),
    (
        "/etc/opt/microsoft/msedge",
        "Edge reads /etc/opt/edge/policies/managed",
    ),
    (
        "/opt/google/chrome",
        "Chrome reads /etc/opt/chrome/policies/managed",
    ),
    (
        "/opt/microsoft/msedge",
        "Edge reads /etc/opt/edge/policies/managed",
    ),
    (
        "/etc/opt/chrome/policies/",
        "only the managed and recommended folders are read",
    ),
    (
        "/etc/opt/edge/policies/",
        "only the managed and recommended folders are read",
    ),
    (
        "/etc/chromium/policies/",
        "only the managed and recommended folders are read",
    ),
];

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Read a JSON policy file; `path` (where it is or will be installed) decides browser and level.
pub fn read(bytes: &[u8], path: Option<&str>) -> Result<Parsed, Error> {
    let text = crate::reg::decode_text(bytes)?;
    let value: Value =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| Error::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
    let Some(object) = value.as_object() else {
        return Err(Error::Json {
            line: 1,
            column: 1,
            message: "the top level must be an object of policy names, {\"ExtensionInstallForcelist\": [...]}".into(),
        });
    };
    let mut parsed = Parsed::default();
    let has_policy = object.keys().any(|k| canonical_policy(k).is_some());
    let known = path.and_then(|path| {
        let dir = parent(path).trim_end_matches('/');
        folders().into_iter().find(|(folder, _, _)| dir == folder)
    });
    // A path in a system folder that no browser reads is a mistake; anywhere else the file is a
    // working copy not installed yet, and its folder says nothing.
    let wrong =
        path.filter(|p| known.is_none() && (p.starts_with("/etc/") || p.starts_with("/opt/")));
    let (browser, level, read, location) = if let Some((folder, browser, level)) = known {
        (Some(browser), level, true, folder)
    } else if let Some(path) = wrong {
        let why = WRONG_FOLDERS
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix))
            .map_or(
                "Chrome reads /etc/opt/chrome/policies/managed, Edge /etc/opt/edge/policies/managed, Chromium /etc/chromium/policies/managed",
                |(_, why)| why,
            );
        let dir = parent(path);
        let location = if dir.is_empty() { path } else { dir };
        if has_policy {
            parsed.findings.push(Finding::new(
                &BRW_LOCATION_UNREAD,
                location,
                format!("no browser reads policy files in {location}: {why}"),
            ));
        }
        (None, Level::Mandatory, false, location.to_owned())
    } else {
        if has_policy {
            parsed.findings.push(Finding::new(
                &BRW_SCOPE_UNKNOWN,
                "JSON policy",
                "a JSON policy's browser and level depend on the folder it is installed in, which was not given; assuming a managed (mandatory) folder",
            ));
        }
        (None, Level::Mandatory, true, "JSON policy".to_owned())
    };
    for (name, value) in object {
        // JSON policy names are case-sensitive.
        if canonical_policy(name) == Some(name.as_str()) {
            parsed.settings.push(Setting {
                browser,
                read,
                location: location.clone(),
                // Files under /etc apply to every user of the machine.
                scope: Scope::Machine,
                level,
                policy: name.clone(),
                value: value.clone(),
            });
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OWA_SMIME_EXTENSION_FORCELIST_VALUE;

    #[test]
    fn written_file_reads_back() {
        let parsed = read(
            &write(OWA_SMIME_EXTENSION_FORCELIST_VALUE),
            Some("/etc/opt/edge/policies/managed/x.json"),
        )
        .unwrap();
        assert!(parsed.findings.is_empty());
        assert_eq!(parsed.settings.len(), 1);
        assert_eq!(parsed.settings[0].browser, Some(Browser::Edge));
        assert_eq!(parsed.settings[0].level, Level::Mandatory);
    }

    #[test]
    fn folders_decide_browser_and_level() {
        let at = |p| {
            read(&write(OWA_SMIME_EXTENSION_FORCELIST_VALUE), Some(p))
                .unwrap()
                .settings[0]
                .clone()
        };
        assert_eq!(
            at("/etc/opt/chrome/policies/recommended/a.json").level,
            Level::Recommended
        );
        assert_eq!(
            at("/etc/chromium/policies/managed/a.json").browser,
            Some(Browser::Chromium)
        );
        let unread = read(
            &write(OWA_SMIME_EXTENSION_FORCELIST_VALUE),
            Some("/etc/opt/google/chrome/policies/managed/a.json"),
        )
        .unwrap();
        assert_eq!(unread.findings[0].id, "BRW-LOC-001");
        assert!(!unread.settings[0].read);
    }

    #[test]
    fn json_errors_name_line_and_column() {
        assert!(matches!(
            read(b"{\n  \"a\": [1,\n}", None),
            Err(Error::Json { line: 3, .. })
        ));
        assert!(matches!(read(b"[1]", None), Err(Error::Json { .. })));
        // serde_json's recursion limit keeps a hostile file from exhausting the stack.
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(read(deep.as_bytes(), None).is_err());
    }
}
