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
//! - A full cycle exports every object in scope: synced recipients missing from it are
//!   deleted. A delta cycle exports changes: attributes left out are unchanged, objects marked
//!   `"deleted": true` are deleted.
//! - An object is matched by `sourceAnchor`; an object new to the tenant whose address is a
//!   cloud-only recipient's is soft-matched to it, which then becomes directory-synced.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cmdlets::recipients::Recipient;
use crate::store::TenantData;

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
    pub objects: Vec<ExportObject>,
}

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
    pub cycle_number: u64,
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

/// Applies one export cycle to the tenant.
pub fn apply(
    data: &mut TenantData,
    request: &ExportRequest,
    now: OffsetDateTime,
) -> Result<ExportResult, SyncRequestError> {
    // Validate the whole request before touching anything.
    let mut decoded = Vec::with_capacity(request.objects.len());
    for (index, object) in request.objects.iter().enumerate() {
        let anchor = object.source_anchor.trim();
        if anchor.is_empty() {
            return Err(SyncRequestError::EmptyAnchor { index });
        }
        if request.objects[..index]
            .iter()
            .any(|o| o.source_anchor.trim() == anchor)
        {
            return Err(SyncRequestError::DuplicateAnchor {
                index,
                anchor: anchor.to_owned(),
            });
        }
        let known = data
            .recipients
            .iter()
            .any(|r| r.source_anchor.as_deref() == Some(anchor));
        let upn_ok = object
            .user_principal_name
            .as_deref()
            .is_some_and(|u| u.contains('@'));
        if !object.deleted && !upn_ok && (!known || request.cycle == Cycle::Full) {
            return Err(SyncRequestError::NeedsUpn {
                index,
                anchor: anchor.to_owned(),
            });
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

    let mut results = Vec::new();
    for (object, decoded) in request.objects.iter().zip(decoded) {
        results.push(apply_object(data, request, object, decoded, now));
    }

    if request.cycle == Cycle::Full {
        let exported: Vec<&str> = request
            .objects
            .iter()
            .filter(|o| !o.deleted)
            .map(|o| o.source_anchor.trim())
            .collect();
        let (kept, gone): (Vec<Recipient>, Vec<Recipient>) = std::mem::take(&mut data.recipients)
            .into_iter()
            .partition(|r| match (&r.source_anchor, r.is_dir_synced) {
                (Some(anchor), true) => exported.contains(&anchor.as_str()),
                _ => true,
            });
        data.recipients = kept;
        for recipient in gone {
            results.push(ObjectResult {
                source_anchor: recipient.source_anchor.clone().unwrap_or_default(),
                user_principal_name: Some(recipient.user_principal_name.clone()),
                action: Action::Delete,
                error: None,
                warnings: vec!["not in this full cycle's export: deleted".into()],
                exported: None,
            });
        }
    }

    data.sync_cycles = data.sync_cycles.saturating_add(1);
    Ok(ExportResult {
        cycle: request.cycle,
        rules: if request.legacy_rules {
            "legacy"
        } else {
            "1.1.524.0"
        },
        cycle_number: data.sync_cycles,
        objects: results,
    })
}

fn apply_object(
    data: &mut TenantData,
    request: &ExportRequest,
    object: &ExportObject,
    decoded: Decoded,
    now: OffsetDateTime,
) -> ObjectResult {
    let anchor = object.source_anchor.trim().to_owned();
    let mut result = ObjectResult {
        source_anchor: anchor.clone(),
        user_principal_name: object.user_principal_name.clone(),
        action: Action::None,
        error: None,
        warnings: Vec::new(),
        exported: None,
    };
    let existing = data
        .recipients
        .iter()
        .position(|r| r.source_anchor.as_deref() == Some(anchor.as_str()));

    if object.deleted {
        if let Some(index) = existing {
            data.recipients.remove(index);
            result.action = Action::Delete;
        } else {
            result
                .warnings
                .push("not in the tenant: nothing to delete".into());
        }
        return result;
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
                return result;
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

    let index = match existing {
        Some(index) => Some(index),
        None => {
            // Soft match: a cloud-only recipient with this address becomes the synced object.
            let soft = data.recipients.iter().position(|r| {
                !r.is_dir_synced
                    && (upn.is_some_and(|u| r.has_address(u))
                        || mail.is_some_and(|m| r.has_address(m)))
            });
            if soft.is_some() {
                result
                    .warnings
                    .push("soft-matched to an existing cloud-only recipient by address".into());
            }
            soft
        }
    };

    let index = match index {
        Some(index) => {
            result.action = Action::Update;
            index
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
            data.recipients.push(recipient);
            result.action = Action::Add;
            data.recipients.len().saturating_sub(1)
        }
    };
    let Some(recipient) = data.recipients.get_mut(index) else {
        return result;
    };
    let before = recipient.clone();
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
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        crate::clock::parse_rfc3339("2030-01-01T00:00:00Z").unwrap()
    }

    fn object(anchor: &str, certs: usize) -> ExportObject {
        ExportObject {
            source_anchor: anchor.into(),
            user_principal_name: Some(format!("{anchor}@contoso.com")),
            mail: None,
            display_name: None,
            user_certificate: Some(vec!["AQ==".into(); certs]),
            user_smime_certificate: None,
            deleted: false,
        }
    }

    fn request(cycle: Cycle, legacy_rules: bool, objects: Vec<ExportObject>) -> ExportRequest {
        ExportRequest {
            cycle,
            legacy_rules,
            objects,
        }
    }

    #[test]
    fn fifteen_pass_sixteen_are_nulled_or_refused() {
        let mut data = TenantData::new("contoso.onmicrosoft.com", now());
        let result = apply(
            &mut data,
            &request(Cycle::Full, false, vec![object("a", 15), object("b", 16)]),
            now(),
        )
        .unwrap();
        assert_eq!(result.objects[0].exported.unwrap().user_certificate, 15);
        assert_eq!(result.objects[1].action, Action::Add);
        assert_eq!(result.objects[1].exported.unwrap().user_certificate, 0);
        assert!(result.objects[1].warnings[0].contains("AuthoritativeNull"));

        let mut data = TenantData::new("contoso.onmicrosoft.com", now());
        let result = apply(
            &mut data,
            &request(Cycle::Full, true, vec![object("a", 15), object("b", 16)]),
            now(),
        )
        .unwrap();
        assert_eq!(result.objects[1].action, Action::Error);
        assert_eq!(
            result.objects[1].error.as_ref().unwrap().code,
            "LargeObject"
        );
        assert_eq!(data.recipients.len(), 1);
    }

    #[test]
    fn full_cycle_deletes_what_it_no_longer_exports_and_delta_keeps_attributes() {
        let mut data = TenantData::new("contoso.onmicrosoft.com", now());
        apply(
            &mut data,
            &request(Cycle::Full, false, vec![object("a", 1), object("b", 2)]),
            now(),
        )
        .unwrap();
        let mut delta = object("b", 0);
        delta.user_certificate = None;
        delta.display_name = Some("Bee".into());
        let result = apply(&mut data, &request(Cycle::Delta, false, vec![delta]), now()).unwrap();
        assert_eq!(result.objects[0].action, Action::Update);
        assert_eq!(result.objects[0].exported.unwrap().user_certificate, 2);
        let result = apply(
            &mut data,
            &request(Cycle::Full, false, vec![object("b", 2)]),
            now(),
        )
        .unwrap();
        assert!(
            result
                .objects
                .iter()
                .any(|o| o.action == Action::Delete && o.source_anchor == "a")
        );
        assert_eq!(data.recipients.len(), 1);
    }

    #[test]
    fn bad_requests_change_nothing() {
        let mut data = TenantData::new("contoso.onmicrosoft.com", now());
        let mut bad = object("a", 1);
        bad.user_certificate = Some(vec!["***".into()]);
        assert!(matches!(
            apply(
                &mut data,
                &request(Cycle::Full, false, vec![object("x", 1), bad]),
                now()
            ),
            Err(SyncRequestError::NotBase64 { index: 1, .. })
        ));
        assert!(data.recipients.is_empty());
        assert!(
            apply(
                &mut data,
                &request(Cycle::Full, false, vec![object("a", 1), object("a", 1)]),
                now()
            )
            .is_err()
        );
    }
}
