//! Step 4, `browser-policy`: one policy file per browser and format, written by the one writer of
//! policy files, [`browser_policy::generate_entry`].

use super::Action;
use crate::model::{Browser, BrowserPolicy, PolicyFormat};

/// The Microsoft S/MIME extension's id in the Chrome Web Store.
pub const EXTENSION_ID: &str = browser_policy::OWA_SMIME_EXTENSION_ID;
/// Where browsers fetch the extension ("Configure S/MIME in Exchange Online", step 4).
pub const EXTENSION_UPDATE_URL: &str = browser_policy::OWA_SMIME_UPDATE_URL;
/// The `ExtensionInstallForcelist` value the documentation gives, exactly.
pub const FORCELIST_VALUE: &str = browser_policy::OWA_SMIME_EXTENSION_FORCELIST_VALUE;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyArtifact {
    pub browser: Browser,
    pub format: PolicyFormat,
    /// Where the policy lives on a managed machine: a registry key or a file path.
    pub location: String,
    /// The file the runner writes (`edge.reg`, `chrome.json`, `edge.mobileconfig`).
    pub file_name: String,
    /// The file's bytes, as [`browser_policy::generate_entry`] writes them (a `.reg` file is
    /// UTF-16LE, as regedit writes it).
    pub content: Vec<u8>,
    /// The path the policy checker is told the file is installed at (a Linux JSON file's folder
    /// decides which browser reads it), from the same writer.
    pub check_path: String,
    /// The `ExtensionInstallForcelist` entry in it.
    pub value: String,
    /// Whether the entry is exactly [`FORCELIST_VALUE`].
    pub documented: bool,
    /// Whether the scenario expects it to be.
    pub expect_valid: bool,
}

pub(super) fn plan(p: &BrowserPolicy, scenario: &str, actions: &mut Vec<Action>) {
    let value = p
        .value
        .as_ref()
        .map_or(FORCELIST_VALUE, |v| v.value.as_str());
    for browser in &p.browsers.value {
        for format in &p.formats.value {
            actions.push(Action::BrowserPolicy(policy_artifact(
                *browser,
                *format,
                value,
                p.expect.valid,
                scenario,
            )));
        }
    }
}

/// The policy file for one browser in one format, written by the one writer of policy files,
/// [`browser_policy::generate_entry`], with `value` as its forcelist entry (the documented one,
/// or the typo a scenario rehearses). `seed` keeps a configuration profile's PayloadUUIDs stable.
pub fn policy_artifact(
    browser: Browser,
    format: PolicyFormat,
    value: &str,
    expect_valid: bool,
    seed: &str,
) -> PolicyArtifact {
    let target = policy_browser(browser);
    let artifact = browser_policy::generate_entry(target, policy_format(format), seed, value);
    let (location, extension) = match format {
        PolicyFormat::Reg => (
            format!(
                "HKEY_LOCAL_MACHINE\\{}\\{}",
                target.registry_key(),
                browser_policy::FORCELIST_POLICY
            ),
            "reg",
        ),
        // The file's place decides whether the browser reads it, and as mandatory policy.
        PolicyFormat::Json => (artifact.path_hint.clone(), "json"),
        // A configuration profile is installed through MDM from anywhere; what it makes is the
        // managed preferences of the browser's domain.
        PolicyFormat::Plist => (
            format!(
                "/Library/Managed Preferences/{}.plist",
                target.macos_domain()
            ),
            "mobileconfig",
        ),
    };
    PolicyArtifact {
        browser,
        format,
        location,
        file_name: format!("{}.{extension}", browser.name()),
        content: artifact.bytes,
        check_path: artifact.path_hint,
        value: value.to_owned(),
        documented: value == FORCELIST_VALUE,
        expect_valid,
    }
}

fn policy_browser(browser: Browser) -> browser_policy::Browser {
    match browser {
        Browser::Edge => browser_policy::Browser::Edge,
        Browser::Chrome => browser_policy::Browser::Chrome,
    }
}

fn policy_format(format: PolicyFormat) -> browser_policy::Format {
    match format {
        PolicyFormat::Reg => browser_policy::Format::Reg,
        PolicyFormat::Json => browser_policy::Format::LinuxJson,
        PolicyFormat::Plist => browser_policy::Format::Mobileconfig,
    }
}

impl PolicyArtifact {
    /// The browser-policy crate's name for the artifact's browser.
    pub fn target_browser(&self) -> browser_policy::Browser {
        policy_browser(self.browser)
    }
}
