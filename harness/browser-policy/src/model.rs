//! The format-neutral picture of a policy file: which policy values it sets, for which browser, at
//! which scope and level, as the browser itself would read them. Each format's reader produces
//! this; the rules judge only this.

use serde::Serialize;
use smime::checks::Finding;

use crate::Browser;

/// Machine policy applies to every user of the device; user policy to one user's profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Machine,
    User,
    /// The file does not say (a Registry.pol away from its GPO folder, a bare property list).
    Unknown,
}

/// Mandatory policy is enforced; recommended policy is only a default the user may change, and
/// `ExtensionInstallForcelist` cannot be recommended at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Mandatory,
    Recommended,
}

/// One policy value a file sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The browser that reads this location, or `None` when the file does not say (a Linux JSON
    /// policy checked without its path) or no browser reads it.
    pub browser: Option<Browser>,
    /// False when no browser reads this location (a `BRW-LOC-001` finding says why).
    pub read: bool,
    /// Where in the file, in the file's own terms: a registry path, a payload, a folder.
    pub location: String,
    pub scope: Scope,
    pub level: Level,
    /// The policy name, in its canonical spelling when the format is case-insensitive.
    pub policy: String,
    /// The value converted the way the browser converts it (a registry list key becomes an array
    /// of its numbered values; a JSON-in-a-string registry value is parsed).
    pub value: serde_json::Value,
}

/// What a format reader hands the rules: the settings, and findings only the reader can see
/// (an abbreviated hive name, a list entry with a non-numeric name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub settings: Vec<Setting>,
    pub findings: Vec<Finding>,
}

/// The extension policies the rules know, by canonical name.
pub const KNOWN_POLICIES: &[&str] = &[
    crate::FORCELIST_POLICY,
    "ExtensionInstallAllowlist",
    "ExtensionInstallWhitelist",
    "ExtensionInstallBlocklist",
    "ExtensionInstallBlacklist",
    "ExtensionSettings",
];

/// The canonical spelling of a known policy name, matched without regard to case (the Windows
/// registry ignores case; JSON and property lists do not, and their readers do not call this).
pub fn canonical_policy(name: &str) -> Option<&'static str> {
    KNOWN_POLICIES
        .iter()
        .copied()
        .find(|known| known.eq_ignore_ascii_case(name))
}
