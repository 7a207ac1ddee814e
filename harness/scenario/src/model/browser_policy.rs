//! Step 4, `browser-policy`: the `ExtensionInstallForcelist` policy for Outlook on the web.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::unlocated;

/// A browser that runs Outlook on the web.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Browser {
    /// Microsoft Edge (Chromium).
    Edge,
    /// Google Chrome.
    Chrome,
}

impl Browser {
    pub fn name(self) -> &'static str {
        match self {
            Browser::Edge => "edge",
            Browser::Chrome => "chrome",
        }
    }
}

/// How a browser policy is delivered.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyFormat {
    /// A Windows registry file (`.reg`) for `HKLM\SOFTWARE\Policies\...`, what Group Policy writes.
    Reg,
    /// A managed-policy JSON file, as Linux reads from `/etc/opt/<browser>/policies/managed/`.
    Json,
    /// A macOS configuration profile (`.mobileconfig`, an XML property list) whose payload is the
    /// browser's preference domain, as MDM installs it: a bare preferences plist does not take
    /// effect on its own.
    Plist,
}

impl PolicyFormat {
    pub fn name(self) -> &'static str {
        match self {
            PolicyFormat::Reg => "reg",
            PolicyFormat::Json => "json",
            PolicyFormat::Plist => "plist",
        }
    }
}

/// Step 4: the browser policy that installs the S/MIME extension for Outlook on the web.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BrowserPolicy {
    /// The browsers to produce the policy for. Default `[edge, chrome]`.
    #[serde(default = "all_browsers")]
    #[schemars(with = "Vec<Browser>")]
    pub browsers: Spanned<Vec<Browser>>,
    /// The forms to produce it in. Default `[reg]`.
    #[serde(default = "reg_only")]
    #[schemars(with = "Vec<PolicyFormat>")]
    pub formats: Spanned<Vec<PolicyFormat>>,
    /// The `ExtensionInstallForcelist` entry to deploy. Default: the documented
    /// `maafgiompdekodanheihhgilkjchcakm;https://outlook.office.com/owa/SmimeCrxUpdate.ashx`; give
    /// another to rehearse a mistyped policy.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub value: Option<Spanned<String>>,
    /// What the check of the produced policy must find. Default: the value is the documented one.
    #[serde(default)]
    pub expect: BrowserPolicyExpect,
}

impl Default for BrowserPolicy {
    fn default() -> Self {
        BrowserPolicy {
            browsers: all_browsers(),
            formats: reg_only(),
            value: None,
            expect: BrowserPolicyExpect::default(),
        }
    }
}

fn all_browsers() -> Spanned<Vec<Browser>> {
    unlocated(vec![Browser::Edge, Browser::Chrome])
}

fn reg_only() -> Spanned<Vec<PolicyFormat>> {
    unlocated(vec![PolicyFormat::Reg])
}

/// The expected result of checking the browser policy.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BrowserPolicyExpect {
    /// The policy's value is exactly the documented one. Default true.
    #[serde(default = "yes")]
    pub valid: bool,
}

impl Default for BrowserPolicyExpect {
    fn default() -> Self {
        BrowserPolicyExpect { valid: true }
    }
}

fn yes() -> bool {
    true
}
