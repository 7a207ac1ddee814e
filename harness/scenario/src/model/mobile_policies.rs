//! Step 5, `clients.mobile-policies` and `clients.mobile-policy-assignments`: more mobile device
//! mailbox policies than the built-in one, which of them is the default, and the mailboxes that
//! have a policy of their own.
//!
//! Which policy a mailbox follows (office-docs-powershell): "The IsDefault parameter specifies
//! whether this policy is the default mobile device mailbox policy. [...] The default value for
//! the built-in mobile device mailbox policy named Default is $true. The default value for new
//! mobile device mailbox policies that you create is $false. There can be only one default
//! policy." (New-/Set-MobileDeviceMailboxPolicy); "The ActiveSyncMailboxPolicy parameter
//! specifies the Exchange ActiveSync mailbox policy for the mailbox." (Set-CASMailbox). A
//! mailbox without an assignment follows the policy whose `IsDefault` is true, whatever its name.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Clients, MobilePolicy, SpannedMap};

/// One more mobile device mailbox policy (`New-MobileDeviceMailboxPolicy -Name <id>`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NamedMobilePolicy {
    /// Make this policy the default (`-IsDefault $true`): mailboxes without a policy of their own
    /// follow it, and the built-in policy named Default stops being the default. At most one
    /// policy of a scenario says so. Default false.
    #[serde(default = "super::values::unset")]
    #[schemars(with = "bool")]
    pub is_default: Spanned<bool>,
    /// The policy's S/MIME parameters, by their cmdlet names; left out: Exchange's defaults.
    #[serde(default)]
    pub settings: MobilePolicy,
}

/// The name of the policy every tenant has from the start.
pub const BUILTIN_MOBILE_POLICY: &str = "Default";

impl Clients {
    /// The name of the policy that is the default once the clients step ran: the one marked
    /// `is-default`, else the built-in `Default`.
    pub fn default_mobile_policy_name(&self) -> &str {
        self.mobile_policies
            .iter()
            .find(|(_, p)| p.is_default.value)
            .map(|(name, _)| name.value.as_str())
            .unwrap_or(BUILTIN_MOBILE_POLICY)
    }

    /// The name of the policy `user`'s mailbox follows: its assignment, else the default policy.
    pub fn mobile_policy_name_of(&self, user: &str) -> &str {
        self.mobile_policy_assignments
            .get(user)
            .map(|p| p.0.value.as_str())
            .unwrap_or_else(|| self.default_mobile_policy_name())
    }

    /// The S/MIME settings `user`'s phone follows (the built-in policy's are `mobile-policy`).
    /// A name no policy has (refused by validation) falls back to the built-in policy.
    pub fn mobile_policy_of(&self, user: &str) -> &MobilePolicy {
        let name = self.mobile_policy_name_of(user);
        self.mobile_policies
            .iter()
            .find(|(n, _)| n.value.as_str().eq_ignore_ascii_case(name))
            .map(|(_, p)| &p.settings)
            .unwrap_or(&self.mobile_policy)
    }
}

/// `clients.mobile-policies`: policy name → policy.
pub type MobilePolicies = SpannedMap<NamedMobilePolicy>;

/// `clients.mobile-policy-assignments`: user id → the name of the policy of the user's mailbox.
pub type MobilePolicyAssignments = SpannedMap<AssignedPolicy>;

/// The name of the policy a mailbox is given, where the scenario wrote it.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct AssignedPolicy(pub Spanned<String>);

impl JsonSchema for AssignedPolicy {
    fn schema_name() -> Cow<'static, str> {
        "AssignedPolicy".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "The name of a mobile device mailbox policy: `Default` or a name of `mobile-policies`.",
            "minLength": 1
        })
    }
}
