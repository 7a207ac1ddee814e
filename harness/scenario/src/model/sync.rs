//! Step 3, `sync`: Entra Connect's cycles and what they made of each user.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{SpannedMap, unlocated};

/// An Entra Connect synchronization cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SyncCycle {
    /// A full import and synchronization of every object.
    Initial,
    /// Only what changed since the previous cycle.
    Delta,
}

/// What sync made of one user's certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SyncOutcome {
    /// The certificates reached the tenant.
    Exported,
    /// The export failed with LargeObject ("The provisioned object is too large. Trim the number
    /// of attribute values on this object."): more than 15 values under the legacy rules.
    LargeObject,
    /// Not exported: since build 1.1.524.0 the default rules do not export `userCertificate` and
    /// `userSMIMECertificate` when either has more than 15 values.
    Skipped,
}

impl SyncOutcome {
    pub fn name(self) -> &'static str {
        match self {
            SyncOutcome::Exported => "exported",
            SyncOutcome::LargeObject => "large-object",
            SyncOutcome::Skipped => "skipped",
        }
    }
}

/// What the default rules (Entra Connect 1.1.524.0 and later) do with more than 15
/// `userSMIMECertificate` values. Microsoft's "Handling LargeObject errors caused by
/// userCertificate attribute" says both: "the out-of-box synchronization rules have been
/// updated to not export attributes userCertificate and userSMIMECertificate if the attributes
/// have more than 15 values" (`skipped`, the default), while its limit ("a maximum limit of 15
/// certificate values on the userCertificate attribute") and its rule expression name
/// userCertificate only (`exported`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SmimeOver15 {
    /// Not exported: the tenant holds none of the values.
    #[default]
    Skipped,
    /// Exported as they are.
    Exported,
}

/// Step 3: sync the directory to the tenant.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SyncStep {
    /// The cycles to run, in order; the first must be `initial`. Default `[initial]`.
    #[serde(default = "initial_only")]
    #[schemars(with = "Vec<SyncCycle>")]
    pub cycles: Spanned<Vec<SyncCycle>>,
    /// Use the synchronization rules of Entra Connect before build 1.1.524.0, which export more
    /// than 15 values and get the LargeObject error, instead of skipping them. Default false.
    #[serde(default)]
    pub legacy_rules: bool,
    /// Which reading of Microsoft's page the default rules follow for more than 15
    /// `userSMIMECertificate` values: `skipped` (default) or `exported`. Not with
    /// `legacy-rules` (those rules guard neither attribute).
    #[serde(default)]
    #[schemars(with = "Option<SmimeOver15>")]
    pub smime_over_15: Option<Spanned<SmimeOver15>>,
    /// The state of each listed user after the last cycle, by user id. Users not listed are not
    /// checked.
    #[serde(default)]
    pub expect: SpannedMap<SyncOutcome>,
}

impl Default for SyncStep {
    fn default() -> Self {
        SyncStep {
            cycles: initial_only(),
            legacy_rules: false,
            smime_over_15: None,
            expect: SpannedMap::default(),
        }
    }
}

fn initial_only() -> Spanned<Vec<SyncCycle>> {
    unlocated(vec![SyncCycle::Initial])
}
