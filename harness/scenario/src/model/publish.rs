//! Step 1, `publish`: the users' certificates on their directory objects.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Id, SpannedMap, zero};

/// The directory attribute(s) a certificate is published in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub enum PublishAttribute {
    /// `userSMIMECertificate`, which Outlook reads first.
    #[serde(rename = "userSMIMECertificate")]
    UserSmimeCertificate,
    /// `userCertificate` (what AD CS autoenrollment fills), limited to 15 values by Entra ID.
    #[serde(rename = "userCertificate")]
    UserCertificate,
    /// Both attributes, the same certificates in each.
    #[default]
    #[serde(rename = "both")]
    Both,
}

impl PublishAttribute {
    pub fn name(self) -> &'static str {
        match self {
            PublishAttribute::UserSmimeCertificate => "userSMIMECertificate",
            PublishAttribute::UserCertificate => "userCertificate",
            PublishAttribute::Both => "both",
        }
    }
}

/// Step 1: publish the users' certificates in the directory. Every user with certificates gets all
/// of them published, unless `users` says otherwise.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Publish {
    /// Where the certificates go ("Publish the user's certificate in their on-premises Active
    /// Directory account in the UserSMIMECertificate and/or UserCertificate attributes"). Default
    /// `both`.
    #[serde(default)]
    pub attribute: PublishAttribute,
    /// Settings for single users, by user id.
    #[serde(default)]
    pub users: SpannedMap<PublishUser>,
}

/// How one user's certificates are published.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PublishUser {
    /// The attribute for this user, instead of the step's.
    #[serde(default)]
    #[schemars(with = "Option<PublishAttribute>")]
    pub attribute: Option<Spanned<PublishAttribute>>,
    /// The certificates to publish, by certificate id (`alice`, `bob-sign`, `bob-encrypt`).
    /// Default: all of this user's. `[]` publishes none.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub certificates: Option<Vec<Spanned<Id>>>,
    /// The exact values of this user's `userSMIMECertificate`, by certificate id. With this or
    /// `userCertificate`, each attribute gets exactly the certificates listed (rehearsing what
    /// Outlook does when the two attributes differ), and `attribute` and `certificates` are not
    /// given.
    #[serde(rename = "userSMIMECertificate", default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub user_smime_certificate: Option<Vec<Spanned<Id>>>,
    /// The exact values of this user's `userCertificate`, by certificate id (see
    /// `userSMIMECertificate`).
    #[serde(rename = "userCertificate", default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub user_certificate: Option<Vec<Spanned<Id>>>,
    /// Earlier certificates of the same mailbox published beside the current ones, as renewals
    /// pile up on a directory object: each one expired, ECDSA P-256, from the user's issuing CA.
    /// 15 of them plus the current certificate are the 16 values Entra ID refuses. At most 100.
    #[serde(default = "zero")]
    #[schemars(with = "u32", range(max = 100))]
    pub extra_certificates: Spanned<u32>,
    /// `userSMIMECertificate` as Outlook's "Publish to GAL" writes it: one PKCS#7 SignedData
    /// value signed with `sign`'s key, carrying `sign`, `encrypt` and their intermediates, whose
    /// encryption key preference attributes name `encrypt`. Replaces what `attribute`,
    /// `certificates` or `userSMIMECertificate` would put in that attribute; `userCertificate`
    /// is published as those say.
    #[serde(default)]
    #[schemars(with = "Option<OutlookGal>")]
    pub outlook_gal: Option<Spanned<OutlookGal>>,
    /// Publish this user's certificates later, at this time on the lab clock (`+10m` after the
    /// scenario's start) instead of in step 1, as when a user enrolls after the rollout. Entra
    /// Connect takes them to the tenant in its first cycle after that time.
    #[serde(default)]
    #[schemars(with = "Option<super::LabOffset>")]
    pub at: Option<Spanned<super::LabOffset>>,
}

/// The certificates of an Outlook "Publish to GAL" value, by certificate id.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OutlookGal {
    /// The certificate whose key signs the value (Outlook's signing certificate).
    #[schemars(with = "Id")]
    pub sign: Spanned<Id>,
    /// The certificate the value names as the one to encrypt to.
    #[schemars(with = "Id")]
    pub encrypt: Spanned<Id>,
}
