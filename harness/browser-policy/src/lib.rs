//! Step 4 of "Configure S/MIME in Exchange Online": the browser policy that makes Edge and Chrome
//! force-install Outlook on the web's S/MIME extension, in every form admins deploy it.
//!
//! [`generate`] writes the policy as a Windows registry file (`.reg`), a Group Policy
//! `Registry.pol`, a macOS configuration profile (`.mobileconfig`) or Linux managed-policy JSON;
//! [`check`] / [`check_artifact`] read any of those (format detected by content) and report what is
//! wrong with them as catalogue findings (`BRW-*` rows of [`smime::checks::catalogue`]). Pure: no
//! file system, no clock, no randomness of its own.
//!
//! One module per format ([`reg`], [`pol`], [`mobileconfig`], [`linux_json`]); each writes our
//! artifact and reads an admin's into the format-neutral [`model`], which [`rules`] judges.

pub mod linux_json;
pub mod mobileconfig;
pub mod model;
pub mod pol;
pub mod reg;
mod registry;
mod rules;

use std::fmt;

use serde::Serialize;
use smime::checks::{Finding, Severity};

pub use model::{Level, Scope, Setting};

/// The Outlook on the web S/MIME extension's ID, the same for Edge and Chrome.
pub const OWA_SMIME_EXTENSION_ID: &str = "maafgiompdekodanheihhgilkjchcakm";
/// Where the browser fetches the extension: Microsoft's update manifest, not a web store.
pub const OWA_SMIME_UPDATE_URL: &str = "https://outlook.office.com/owa/SmimeCrxUpdate.ashx";
/// The one `ExtensionInstallForcelist` entry step 4 asks for: `<id>;<update URL>`.
pub const OWA_SMIME_EXTENSION_FORCELIST_VALUE: &str =
    "maafgiompdekodanheihhgilkjchcakm;https://outlook.office.com/owa/SmimeCrxUpdate.ashx";

/// The policy's name in every browser and every format.
pub const FORCELIST_POLICY: &str = "ExtensionInstallForcelist";

/// A Chromium-based browser whose policy we write or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Browser {
    Edge,
    Chrome,
    /// Plain Chromium, as Debian ships it: what the lab proves the policy against.
    Chromium,
}

impl Browser {
    pub const ALL: [Browser; 3] = [Browser::Edge, Browser::Chrome, Browser::Chromium];

    pub fn name(self) -> &'static str {
        match self {
            Browser::Edge => "Microsoft Edge",
            Browser::Chrome => "Google Chrome",
            Browser::Chromium => "Chromium",
        }
    }

    /// Short lower-case name, as on the command line and in file names.
    pub fn slug(self) -> &'static str {
        match self {
            Browser::Edge => "edge",
            Browser::Chrome => "chrome",
            Browser::Chromium => "chromium",
        }
    }

    /// Windows policy key below HKLM/HKCU (the casing regedit shows for the key Group Policy
    /// creates).
    pub fn registry_key(self) -> &'static str {
        match self {
            Browser::Edge => r"SOFTWARE\Policies\Microsoft\Edge",
            Browser::Chrome => r"SOFTWARE\Policies\Google\Chrome",
            Browser::Chromium => r"SOFTWARE\Policies\Chromium",
        }
    }

    /// macOS preference domain, which is also the configuration profile's payload type.
    pub fn macos_domain(self) -> &'static str {
        match self {
            Browser::Edge => "com.microsoft.Edge",
            Browser::Chrome => "com.google.Chrome",
            Browser::Chromium => "org.chromium.Chromium",
        }
    }

    /// Linux folder of mandatory policy files.
    pub fn linux_managed_dir(self) -> &'static str {
        match self {
            Browser::Edge => "/etc/opt/edge/policies/managed",
            Browser::Chrome => "/etc/opt/chrome/policies/managed",
            Browser::Chromium => "/etc/chromium/policies/managed",
        }
    }
}

impl fmt::Display for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The forms an admin deploys the policy in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// A regedit file: `Windows Registry Editor Version 5.00`, UTF-16LE.
    Reg,
    /// A Group Policy `Registry.pol` (PReg).
    Pol,
    /// A macOS configuration profile (XML property list).
    Mobileconfig,
    /// A JSON file in the browser's Linux policy folder.
    LinuxJson,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::Reg,
        Format::Pol,
        Format::Mobileconfig,
        Format::LinuxJson,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Reg => "Windows registry file (.reg)",
            Format::Pol => "Group Policy Registry.pol (PReg)",
            Format::Mobileconfig => "macOS configuration profile (.mobileconfig)",
            Format::LinuxJson => "Linux managed-policy JSON",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Format::Reg => "reg",
            Format::Pol => "pol",
            Format::Mobileconfig => "mobileconfig",
            Format::LinuxJson => "linux-json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A generated policy file and where it belongs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub browser: Browser,
    pub format: Format,
    /// Where the file goes: an absolute Linux path, the GPO-relative `Machine/Registry.pol`, or a
    /// file name for the formats that are imported from anywhere (.reg, .mobileconfig).
    pub path_hint: String,
    pub bytes: Vec<u8>,
}

/// The policy for `browser` in `format`, with exactly the documented entry
/// ([`OWA_SMIME_EXTENSION_FORCELIST_VALUE`]). `seed` makes the identifiers that must be unique but
/// need not be random (a configuration profile's PayloadUUIDs) deterministic, so the same seed
/// gives the same bytes.
pub fn generate(browser: Browser, format: Format, seed: &str) -> Artifact {
    generate_entry(browser, format, seed, OWA_SMIME_EXTENSION_FORCELIST_VALUE)
}

/// The policy for `browser` in `format` with `entry` as its one `ExtensionInstallForcelist`
/// string, written exactly as given (escaped as the format needs): how a rehearsal reproduces an
/// admin's typo, which [`check`] then finds.
pub fn generate_entry(browser: Browser, format: Format, seed: &str, entry: &str) -> Artifact {
    let (path_hint, bytes) = match format {
        Format::Reg => (
            format!("smime-owa-extension-{}.reg", browser.slug()),
            reg::write(browser, entry),
        ),
        Format::Pol => (
            "Machine/Registry.pol".to_owned(),
            pol::write(browser, entry),
        ),
        Format::Mobileconfig => (
            format!("smime-owa-extension-{}.mobileconfig", browser.slug()),
            mobileconfig::write(browser, seed, entry),
        ),
        Format::LinuxJson => (
            format!("{}/smime-owa-extension.json", browser.linux_managed_dir()),
            linux_json::write(entry),
        ),
    };
    Artifact {
        browser,
        format,
        path_hint,
        bytes,
    }
}

/// Why a file could not be read as a policy artifact at all (as opposed to a policy with
/// findings). Each names where in the file it went wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("the file is empty: expected a .reg, Registry.pol, .mobileconfig or JSON policy file")]
    Empty,
    #[error(
        "it is {found}, not a browser policy file; expected a .reg file (`Windows Registry Editor Version 5.00`), a Registry.pol (`PReg`), a configuration profile (XML property list) or a JSON policy (`{{`)"
    )]
    UnknownFormat {
        /// What the file is, in words and never in its bytes: the wrong file may be a private
        /// key, and no byte of a key may reach a terminal or a log.
        found: &'static str,
    },
    #[error(
        "a signed configuration profile (CMS): unwrap it first, e.g. `openssl smime -verify -noverify -inform DER -in FILE -out profile.plist` or `security cms -D -i FILE`, and check the plist"
    )]
    SignedProfile,
    #[error(
        "text is not valid {encoding} at byte {offset}: save the file as UTF-16LE (as regedit does) or UTF-8"
    )]
    Encoding {
        encoding: &'static str,
        offset: usize,
    },
    #[error(".reg file, line {line}: {message}")]
    Reg { line: usize, message: String },
    #[error("Registry.pol, byte offset {offset}: {message}")]
    Pol { offset: usize, message: String },
    #[error("property list: {message}")]
    Plist { message: String },
    #[error("JSON, line {line} column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
}

/// What the checker is told beside the bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckOptions<'a> {
    /// Where the file is or will be installed. A Linux JSON policy's meaning depends on its folder
    /// (managed or recommended, which browser), a Registry.pol's on its GPO folder (Machine or
    /// User).
    pub path: Option<&'a str>,
    /// The browser the admin means to configure: a policy written for another browser is an error.
    pub browser: Option<Browser>,
}

/// What [`check_artifact`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub format: Format,
    /// Every browser policy value the file sets, as the browser would read it.
    pub settings: Vec<Setting>,
    /// Errors first, then warnings, then information.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Check an artifact whose path and intended browser are unknown.
pub fn check(bytes: &[u8]) -> Result<Vec<Finding>, Error> {
    check_artifact(bytes, &CheckOptions::default()).map(|report| report.findings)
}

/// Detect the format, read the file and apply the `BRW-*` checks.
pub fn check_artifact(bytes: &[u8], options: &CheckOptions<'_>) -> Result<CheckReport, Error> {
    let format = detect(bytes)?;
    let parsed = match format {
        Format::Reg => reg::read(bytes)?,
        Format::Pol => pol::read(bytes, options.path)?,
        Format::Mobileconfig => mobileconfig::read(bytes)?,
        Format::LinuxJson => linux_json::read(bytes, options.path)?,
    };
    let mut findings = parsed.findings;
    let reader_errors = findings.iter().any(|f| f.severity == Severity::Error);
    findings.extend(rules::judge(
        &parsed.settings,
        options.browser,
        reader_errors,
    ));
    // Stable: errors, warnings, information, each in the order raised.
    findings.sort_by_key(|f| f.severity);
    Ok(CheckReport {
        format,
        settings: parsed.settings,
        findings,
    })
}

/// Which format the bytes are in, by content alone (admins rename files).
pub fn detect(bytes: &[u8]) -> Result<Format, Error> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    if bytes.starts_with(pol::SIGNATURE) {
        return Ok(Format::Pol);
    }
    if bytes.starts_with(b"bplist00") {
        return Ok(Format::Mobileconfig);
    }
    // A signed profile is DER: SEQUENCE, indefinite or long-form length.
    if bytes.starts_with(&[0x30, 0x80]) || bytes.starts_with(&[0x30, 0x82]) {
        return Err(Error::SignedProfile);
    }
    // Binary garbage is an unknown format, not an encoding problem; a file that announces an
    // encoding (a byte-order mark) and breaks it is the latter.
    let text = match reg::decode_text(bytes) {
        Ok(text) => text,
        Err(e)
            if bytes.starts_with(&[0xFF, 0xFE])
                || bytes.starts_with(&[0xFE, 0xFF])
                || bytes.starts_with(&[0xEF, 0xBB, 0xBF]) =>
        {
            return Err(e);
        }
        Err(_) => {
            return Err(Error::UnknownFormat {
                found: "binary data",
            });
        }
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if reg::has_header(trimmed) {
        return Ok(Format::Reg);
    }
    if trimmed.starts_with("<?xml")
        || trimmed.starts_with("<!DOCTYPE")
        || trimmed.starts_with("<plist")
    {
        return Ok(Format::Mobileconfig);
    }
    if trimmed.starts_with('{') {
        return Ok(Format::LinuxJson);
    }
    Err(Error::UnknownFormat {
        found: describe_text(trimmed),
    })
}

/// Names the kind of text a file holds without quoting it: a PEM block's label is safe to name,
/// its body (perhaps a private key) is not.
fn describe_text(text: &str) -> &'static str {
    if text.starts_with("-----BEGIN") {
        if text.contains("PRIVATE KEY-----") {
            "a PEM private key (keep it to yourself: it was not printed)"
        } else if text.starts_with("-----BEGIN CERTIFICATE") {
            "a PEM certificate"
        } else {
            "a PEM file"
        }
    } else if text.starts_with("---") || text.starts_with("name:") {
        "text that looks like YAML"
    } else if text.starts_with('<') {
        "XML or HTML that is not a property list"
    } else {
        "text in none of these formats"
    }
}
