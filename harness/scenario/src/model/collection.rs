//! Step 2, `virtual-collection`: the CA certificates exported to an SST and imported with
//! `Set-SmimeConfig -SMIMECertificateIssuingCA`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Id, zero};

/// How the virtual certificate collection is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CollectionEncoding {
    /// A serialized certificate store, as `Export-Certificate -Type SST` writes it.
    #[default]
    Sst,
    /// The store cut off in the middle of its first certificate, as after an interrupted copy:
    /// bytes that do not import.
    Truncated,
}

/// The error `Set-SmimeConfig -SMIMECertificateIssuingCA` answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CollectionError {
    /// A certificate in the store has expired ("Each certificate is checked, and if any
    /// certificates are expired, the operation will fail"); the error lists thumbprints.
    Expired,
    /// The store is larger than the 70000 bytes the parameter accepts.
    Oversize,
    /// "SMIMECertificateIssuingCA has wrong format": the bytes do not import.
    WrongFormat,
}

impl CollectionError {
    pub fn name(self) -> &'static str {
        match self {
            CollectionError::Expired => "expired",
            CollectionError::Oversize => "oversize",
            CollectionError::WrongFormat => "wrong-format",
        }
    }
}

/// Step 2: the virtual certificate collection.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VirtualCollection {
    /// The CA certificates exported to the store, by id (`root`, an intermediate's id), in this
    /// order. Default: every CA of the PKI, root first.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub sst: Option<Vec<Spanned<Id>>>,
    /// Unrelated, valid CA certificates added after those of `sst`, as when a whole Trusted Root
    /// store is exported. Each adds about 640 bytes: some 110 push the store past the 70000 bytes
    /// Set-SmimeConfig accepts. At most 1000.
    #[serde(default = "zero")]
    #[schemars(with = "u32", range(max = 1000))]
    pub filler: Spanned<u32>,
    /// How the bytes are sent. Default `sst`.
    #[serde(default)]
    pub encoding: CollectionEncoding,
    /// What the tenant must answer. Default: the import succeeds.
    #[serde(default)]
    pub expect: CollectionExpect,
}

/// The expected answer to the import.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CollectionExpect {
    /// The error the call must fail with. Absent: it must succeed.
    #[serde(default)]
    #[schemars(with = "Option<CollectionError>")]
    pub error: Option<Spanned<CollectionError>>,
    /// With `error: expired`: the CAs (ids from `sst`) whose thumbprints the error lists.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub thumbprints: Option<Vec<Spanned<Id>>>,
    /// On success: the CA (an id from `sst`) that expires first, whose NotAfter the tenant reports
    /// as `SMIMECertificatesExpiryDate` and whose thumbprint as
    /// `SMIMEExpiredCertificateThumbprint`.
    #[serde(default)]
    #[schemars(with = "Option<Id>")]
    pub earliest: Option<Spanned<Id>>,
}
