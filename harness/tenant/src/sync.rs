//! The Entra Connect export, emulated: `POST /lab/sync/{tenant}/export` takes the objects one
//! sync cycle exports and applies them to the tenant's recipients. This endpoint is the lab's,
//! not Microsoft's; what it reproduces is what Entra ID does with the export.
//!
//! - Entra ID refuses an object whose `userCertificate` has more than 15 values with the
//!   `LargeObject` export error ("The provisioned object is too large. Trim the number of
//!   attribute values on this object."), and then none of that object's changes are exported
//!   until it is fixed.
//! - Since Entra Connect build 1.1.524.0 the out-of-box rules export `userCertificate` and
//!   `userSMIMECertificate` as `AuthoritativeNull` (so the tenant holds none of them) when the
//!   attribute has more than 15 values, which avoids the error. Microsoft's documented rule
//!   expression works per attribute:
//!   `IIF(IsNullOrEmpty([userCertificate]), NULL, IIF((Count([userCertificate])> 15),AuthoritativeNull,[userCertificate]))`.
//!   These rules are the default here; `"legacyRules": true` reproduces older builds.
//! - More than 15 `userSMIMECertificate` values: Microsoft's page says two things. Its
//!   mitigation text: "In Microsoft Entra Connect build 1.1.524.0, the out-of-box
//!   synchronization rules have been updated to not export attributes userCertificate and
//!   userSMIMECertificate if the attributes have more than 15 values." Its limit and its rule:
//!   "Microsoft Entra ID enforces a maximum limit of 15 certificate values on the
//!   userCertificate attribute", and the documented rule ("Implementing sync rule to limit
//!   export of userCertificate attribute") has "Target Attribute | userCertificate" only. The
//!   default here follows the first sentence, the one about the out-of-box rules (the tenant
//!   holds none of the values); `"userSMIMECertificateOver15": "export"` follows the second
//!   reading (the values are exported as they are, since no limit is documented for them).
//! - A full cycle exports every object in scope: synced recipients missing from it are
//!   deleted. A delta cycle exports changes: attributes left out are unchanged, objects marked
//!   `"deleted": true` are deleted.
//! - One cycle may come in several requests (batches, as Entra Connect exports in batches):
//!   each names the cycle in `cycleId` and all but the last say `"final": false`. The tenant
//!   remembers which anchors a full cycle's batches exported and deletes the missing synced
//!   recipients when the final batch arrives; a request without `cycleId` is a whole cycle. A
//!   batch of another cycle abandons an unfinished one. Each batch is one transaction.
//! - `proxyAddresses` travel as the directory holds them; the tenant keeps them on the recipient
//!   (`EmailAddresses`), and Outlook on the web's certificate finding reads them
//!   ([`crate::recipient_address`]).
//! - An object is matched by `sourceAnchor`; an object new to the tenant whose address is a
//!   cloud-only recipient's is soft-matched to it, which then becomes directory-synced.

use std::collections::HashSet;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cmdlets::recipients::Recipient;
use crate::store::{Change, StoreError};

/// Most values Entra ID takes on `userCertificate`.
pub const MAX_CERTIFICATE_VALUES: usize = 15;

/// Entra ID's LargeObject export error text.
pub const LARGE_OBJECT_MESSAGE: &str = "The provisioned object is too large. Trim the number of \
     attribute values on this object. The operation will be retried in the next synchronization \
     cycle.";

/// A sync cycle's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cycle {
    Full,
    Delta,
}

/// The request body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportRequest {
    pub cycle: Cycle,
    /// Rules of Entra Connect builds before 1.1.524.0 (no 15-value guard).
    #[serde(default)]
    pub legacy_rules: bool,
    /// What the 1.1.524.0 rules do with more than 15 `userSMIMECertificate` values (the two
    /// readings of Microsoft's page, see the module documentation). Default `skip`.
    #[serde(default, rename = "userSMIMECertificateOver15")]
    pub smime_over_limit: SmimeOverLimit,
    /// Names the cycle this batch belongs to; needed when the cycle spans several requests.
    #[serde(default)]
    pub cycle_id: Option<String>,
    /// Whether this is the cycle's last batch (default: a request is a whole cycle).
    #[serde(default = "last_batch_by_default", rename = "final")]
    pub last_batch: bool,
    pub objects: Vec<ExportObject>,
}

/// What the 1.1.524.0 rules do with more than 15 `userSMIMECertificate` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmimeOverLimit {
    /// "the out-of-box synchronization rules have been updated to not export attributes
    /// userCertificate and userSMIMECertificate if the attributes have more than 15 values"
    #[default]
    Skip,
    /// The documented limit and rule expression name userCertificate only: the values go out.
    Export,
}

fn last_batch_by_default() -> bool {
    true
}

/// Longest `cycleId` taken (it is stored with every anchor of a full cycle).
pub const MAX_CYCLE_ID_CHARS: usize = 128;

/// One exported user.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportObject {
    pub source_anchor: String,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Base64 DER values. Absent in a delta cycle: unchanged.
    #[serde(default)]
    pub user_certificate: Option<Vec<String>>,
    #[serde(default, rename = "userSMIMECertificate")]
    pub user_smime_certificate: Option<Vec<String>>,
    /// `proxyAddresses` as the directory holds them (`SMTP:primary`, `smtp:secondary`,
    /// `x500:...`). Absent in a delta cycle: unchanged; in a full cycle: none.
    #[serde(default)]
    pub proxy_addresses: Option<Vec<String>>,
    #[serde(default)]
    pub deleted: bool,
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Add,
    Update,
    Delete,
    None,
    Error,
}

/// An export error reported for an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportError {
    /// `LargeObject`.
    pub code: &'static str,
    pub message: String,
}

/// The per-object result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectResult {
    pub source_anchor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ExportError>,
    pub warnings: Vec<String>,
    /// How many values each attribute holds in the tenant after the export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported: Option<ExportedCounts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedCounts {
    pub user_certificate: usize,
    #[serde(rename = "userSMIMECertificate")]
    pub user_smime_certificate: usize,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    pub cycle: Cycle,
    /// `"1.1.524.0"` or `"legacy"`.
    pub rules: &'static str,
    /// The cycle's number (the same for every batch of a cycle); counted when it ends.
    pub cycle_number: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle_id: Option<String>,
    /// Whether this batch ended its cycle (a full cycle's deletions are in its `objects`).
    #[serde(rename = "final")]
    pub last_batch: bool,
    pub objects: Vec<ObjectResult>,
}

/// Why the request as a whole is refused (nothing applied).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncRequestError {
    #[error("objects[{index}]: sourceAnchor is empty; every exported object needs its anchor")]
    EmptyAnchor { index: usize },
    #[error("objects[{index}] ({anchor}): sourceAnchor appears more than once in this export")]
    DuplicateAnchor { index: usize, anchor: String },
    #[error(
        "objects[{index}] ({anchor}): userPrincipalName is required when the object is new to \
         the tenant (and in a full cycle), and must contain '@'"
    )]
    NeedsUpn { index: usize, anchor: String },
    #[error("objects[{index}] ({anchor}): {attribute}[{value}] is not base64")]
    NotBase64 {
        index: usize,
        anchor: String,
        attribute: &'static str,
        value: usize,
    },
    #[error(
        "\"final\": false needs a cycleId naming the cycle, so that the tenant knows which \
         batches make one cycle; send the same cycleId with every batch and \"final\": true \
         with the last"
    )]
    BatchWithoutCycleId,
    #[error("cycleId is empty or longer than {MAX_CYCLE_ID_CHARS} characters")]
    BadCycleId,
}

/// Why an export was not applied (nothing of it was).
#[derive(Debug, thiserror::Error)]
pub enum SyncFailure {
    #[error(transparent)]
    Request(#[from] SyncRequestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn decode_values(
    index: usize,
    anchor: &str,
    attribute: &'static str,
    values: &[String],
) -> Result<Vec<Vec<u8>>, SyncRequestError> {
    values
        .iter()
        .enumerate()
        .map(|(value, text)| {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| SyncRequestError::NotBase64 {
                    index,
                    anchor: anchor.to_owned(),
                    attribute,
                    value,
                })
        })
        .collect()
}

/// An object's decoded attributes.
struct Decoded {
    user_certificate: Option<Vec<Vec<u8>>>,
    user_smime_certificate: Option<Vec<Vec<u8>>>,
}

/// Applies one export request (a whole cycle, or one batch of one) to the tenant.
pub fn apply(
    data: &mut Change<'_>,
    request: &ExportRequest,
    now: OffsetDateTime,
) -> Result<ExportResult, SyncFailure> {
    if let Some(id) = &request.cycle_id
        && (id.trim().is_empty() || id.chars().count() > MAX_CYCLE_ID_CHARS)
    {
        return Err(SyncRequestError::BadCycleId.into());
    }
    if !request.last_batch && request.cycle_id.is_none() {
        return Err(SyncRequestError::BatchWithoutCycleId.into());
    }
    // Validate the whole request before touching anything.
    let mut decoded = Vec::with_capacity(request.objects.len());
    let mut anchors: HashSet<&str> = HashSet::with_capacity(request.objects.len());
    for (index, object) in request.objects.iter().enumerate() {
        let anchor = object.source_anchor.trim();
        if anchor.is_empty() {
            return Err(SyncRequestError::EmptyAnchor { index }.into());
        }
        if !anchors.insert(anchor) {
            return Err(SyncRequestError::DuplicateAnchor {
                index,
                anchor: anchor.to_owned(),
            }
            .into());
        }
        let upn_ok = object
            .user_principal_name
            .as_deref()
            .is_some_and(|u| u.contains('@'));
        if !object.deleted
            && !upn_ok
            && (request.cycle == Cycle::Full || data.recipients.by_anchor(anchor)?.is_none())
        {
            return Err(SyncRequestError::NeedsUpn {
                index,
                anchor: anchor.to_owned(),
            }
            .into());
        }
        decoded.push(Decoded {
            user_certificate: object
                .user_certificate
                .as_deref()
                .map(|v| decode_values(index, anchor, "userCertificate", v))
                .transpose()?,
            user_smime_certificate: object
                .user_smime_certificate
                .as_deref()
                .map(|v| decode_values(index, anchor, "userSMIMECertificate", v))
                .transpose()?,
        });
    }

    let mut results = Vec::with_capacity(request.objects.len());
    for (object, decoded) in request.objects.iter().zip(decoded) {
        results.push(apply_object(data, request, object, decoded, now)?);
    }

    if request.cycle == Cycle::Full {
        // A request without cycleId is a cycle of its own; "" cannot be a cycleId.
        let cycle_id = request.cycle_id.as_deref().map(str::trim).unwrap_or("");
        data.recipients.record_full_cycle_export(
            cycle_id,
            request
                .objects
                .iter()
                .filter(|o| !o.deleted)
                .map(|o| o.source_anchor.trim()),
        )?;
        if request.last_batch {
            for (id, recipient) in data.recipients.synced_missing_from_cycle(cycle_id)? {
                data.recipients.delete(id)?;
                results.push(ObjectResult {
                    source_anchor: recipient.source_anchor.clone().unwrap_or_default(),
                    user_principal_name: Some(recipient.user_principal_name.clone()),
                    action: Action::Delete,
                    error: None,
                    warnings: vec!["not in this full cycle's export: deleted".into()],
                    exported: None,
                });
            }
            data.recipients.finish_full_cycle(cycle_id)?;
        }
    }

    if request.last_batch {
        data.sync_cycles = data.sync_cycles.saturating_add(1);
    }
    Ok(ExportResult {
        cycle: request.cycle,
        rules: match (request.legacy_rules, request.smime_over_limit) {
            (true, _) => "legacy",
            (false, SmimeOverLimit::Skip) => "1.1.524.0",
            (false, SmimeOverLimit::Export) => "1.1.524.0, userSMIMECertificate over 15 exported",
        },
        cycle_number: if request.last_batch {
            data.sync_cycles
        } else {
            data.sync_cycles.saturating_add(1)
        },
        cycle_id: request.cycle_id.clone(),
        last_batch: request.last_batch,
        objects: results,
    })
}

fn apply_object(
    data: &mut Change<'_>,
    request: &ExportRequest,
    object: &ExportObject,
    decoded: Decoded,
    now: OffsetDateTime,
) -> Result<ObjectResult, StoreError> {
    let anchor = object.source_anchor.trim().to_owned();
    let mut result = ObjectResult {
        source_anchor: anchor.clone(),
        user_principal_name: object.user_principal_name.clone(),
        action: Action::None,
        error: None,
        warnings: Vec::new(),
        exported: None,
    };
    let existing = data.recipients.by_anchor(&anchor)?;

    if object.deleted {
        if let Some((id, _)) = existing {
            data.recipients.delete(id)?;
            result.action = Action::Delete;
        } else {
            result
                .warnings
                .push("not in the tenant: nothing to delete".into());
        }
        return Ok(result);
    }

    // In a full cycle every attribute is exported; absent means empty.
    let full = request.cycle == Cycle::Full;
    let mut user_certificate = decoded.user_certificate.or_else(|| full.then(Vec::new));
    let mut user_smime_certificate = decoded
        .user_smime_certificate
        .or_else(|| full.then(Vec::new));

    for (attribute, values) in [
        ("userCertificate", &mut user_certificate),
        ("userSMIMECertificate", &mut user_smime_certificate),
    ] {
        let Some(count) = values.as_ref().map(Vec::len) else {
            continue;
        };
        if count <= MAX_CERTIFICATE_VALUES {
            continue;
        }
        if attribute == "userSMIMECertificate"
            && !request.legacy_rules
            && request.smime_over_limit == SmimeOverLimit::Export
        {
            result.warnings.push(format!(
                "userSMIMECertificate has {count} values (more than {MAX_CERTIFICATE_VALUES}): \
                 exported, as the documented rule expression guards userCertificate only \
                 (userSMIMECertificateOver15: export)"
            ));
            continue;
        }
        if request.legacy_rules {
            if attribute == "userCertificate" {
                result.action = Action::Error;
                result.error = Some(ExportError {
                    code: "LargeObject",
                    message: LARGE_OBJECT_MESSAGE.into(),
                });
                result.warnings.push(format!(
                    "userCertificate has {count} values; Entra ID takes at most \
                     {MAX_CERTIFICATE_VALUES}. No change to this object is exported until \
                     values are removed on premises (or Entra Connect is upgraded to 1.1.524.0 \
                     or later)."
                ));
                return Ok(result);
            }
        } else {
            result.warnings.push(format!(
                "{attribute} has {count} values (more than {MAX_CERTIFICATE_VALUES}): the \
                 1.1.524.0 out-of-box rule exports it as AuthoritativeNull, so the tenant holds \
                 none of its certificates"
            ));
            *values = Some(Vec::new());
        }
    }

    let upn = object.user_principal_name.as_deref().map(str::trim);
    let mail = object
        .mail
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .or(upn);

    let found = match existing {
        Some(found) => Some(found),
        None => {
            // Soft match: a cloud-only recipient with this address becomes the synced object.
            let soft = match (upn, mail) {
                (None, None) => None,
                (first, second) => data.recipients.cloud_only_by_address(
                    first.or(second).unwrap_or_default(),
                    second.or(first).unwrap_or_default(),
                )?,
            };
            if soft.is_some() {
                result
                    .warnings
                    .push("soft-matched to an existing cloud-only recipient by address".into());
            }
            soft
        }
    };

    let (id, mut recipient) = match found {
        Some((id, recipient)) => {
            result.action = Action::Update;
            (Some(id), recipient)
        }
        None => {
            let upn = upn.unwrap_or_default();
            let mut recipient = Recipient::new(
                &data.tenant,
                upn,
                mail.unwrap_or(upn),
                object.display_name.as_deref(),
                now,
            );
            recipient.external_directory_object_id = crate::ids::guid(
                "directory-object",
                &format!("{}/anchor/{anchor}", data.tenant),
            );
            result.action = Action::Add;
            (None, recipient)
        }
    };
    let before = recipient.clone();
    let recipient = &mut recipient;
    recipient.source_anchor = Some(anchor);
    recipient.is_dir_synced = true;
    if let Some(upn) = upn.filter(|u| !u.is_empty()) {
        recipient.user_principal_name = upn.to_owned();
    }
    if let Some(mail) = mail {
        recipient.primary_smtp_address = mail.to_owned();
    }
    if let Some(name) = object
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        recipient.display_name = name.to_owned();
    }
    if let Some(values) = user_certificate {
        recipient.user_certificate = values;
    }
    if let Some(values) = user_smime_certificate {
        recipient.user_smime_certificate = values;
    }
    if let Some(values) = object
        .proxy_addresses
        .clone()
        .or_else(|| full.then(Vec::new))
    {
        recipient.proxy_addresses = values.iter().map(|v| v.trim().to_owned()).collect();
    }
    if result.action == Action::Update {
        if *recipient == before {
            result.action = Action::None;
        } else {
            recipient.when_changed = now;
        }
    }
    result.exported = Some(ExportedCounts {
        user_certificate: recipient.user_certificate.len(),
        user_smime_certificate: recipient.user_smime_certificate.len(),
    });
    match id {
        None => {
            data.recipients.insert(recipient)?;
        }
        Some(id) if *recipient != before => data.recipients.update(id, recipient)?,
        Some(_) => {}
    }
    Ok(result)
}

#[cfg(test)]
mod tests;
