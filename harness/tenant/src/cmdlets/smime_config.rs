//! `Get-SmimeConfig` / `Set-SmimeConfig`: the tenant's S/MIME settings for Outlook on the web
//! and the virtual certificate collection (`SMIMECertificateIssuingCA`).
//!
//! Defaults and the import checks follow the decompiled Exchange task (`SetSmimeConfig`) and
//! data object (`SmimeConfigurationContainer`): settings live as "set or not" values, an unset
//! one reads as its default; the SST import refuses more than 70000 bytes, bytes .NET's
//! `X509Certificate2Collection.Import` would not take ("SMIMECertificateIssuingCA has wrong
//! format"), and any certificate whose NotAfter is before now, listing the thumbprints joined by
//! `" , "`. On success `SMIMECertificatesExpiryDate` is the earliest NotAfter and
//! `SMIMEExpiredCertificateThumbprint` the thumbprint of that certificate; an empty or null
//! array clears all three. A store with no certificate at all is kept and leaves the two
//! derived values as they were, as the Exchange code does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::params::{Bound, BoundParameters, ParamSpec, ParamType};
use super::{Cmdlet, CmdletOutput, Run, TenantContext, Window, record};
use crate::capi_alg::{self, AlgorithmKind};
use crate::store::{Change, View};
use crate::wire::{ExoError, exception};

/// Largest SST `Set-SmimeConfig` takes (`SSTFileSizeLimit` in the task).
pub const SST_SIZE_LIMIT: usize = 70000;

/// The text Exchange writes for bytes that do not import (literal in the task).
pub const WRONG_FORMAT: &str = "SMIMECertificateIssuingCA has wrong format";

/// A setting's type and default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    Bool(bool),
    UInt32(u32),
    Str(&'static str),
}

/// The settings `Set-SmimeConfig` takes and `Get-SmimeConfig` shows, with the defaults the
/// data object returns when a setting was never set.
pub const SETTINGS: &[(&str, Default)] = &[
    (
        "OWAAllowUserChoiceOfSigningCertificate",
        Default::Bool(false),
    ),
    ("OWAAlwaysEncrypt", Default::Bool(false)),
    ("OWAAlwaysSign", Default::Bool(false)),
    ("OWABCCEncryptedEmailForking", Default::UInt32(0)),
    ("OWACheckCRLOnSend", Default::Bool(false)),
    ("OWAClearSign", Default::Bool(true)),
    ("OWACopyRecipientHeaders", Default::Bool(false)),
    ("OWACRLConnectionTimeout", Default::UInt32(60000)),
    ("OWACRLRetrievalTimeout", Default::UInt32(10000)),
    ("OWADisableCRLCheck", Default::Bool(false)),
    ("OWADLExpansionTimeout", Default::UInt32(60000)),
    ("OWAEncryptionAlgorithms", Default::Str("6610")),
    ("OWAEncryptTemporaryBuffers", Default::Bool(true)),
    ("OWAForceSMIMEClientUpgrade", Default::Bool(true)),
    (
        "OWAIncludeCertificateChainAndRootCertificate",
        Default::Bool(false),
    ),
    (
        "OWAIncludeCertificateChainWithoutRootCertificate",
        Default::Bool(false),
    ),
    ("OWAIncludeSMIMECapabilitiesInMessage", Default::Bool(false)),
    ("OWAOnlyUseSmartCard", Default::Bool(false)),
    ("OWASenderCertificateAttributesToDisplay", Default::Str("")),
    ("OWASignedEmailCertificateInclusion", Default::Bool(true)),
    ("OWASigningAlgorithms", Default::Str("8004")),
    ("OWATripleWrapSignedEncryptedMail", Default::Bool(false)),
    ("OWAUseKeyIdentifier", Default::Bool(false)),
    (
        "OWAUseSecondaryProxiesWhenFindingCertificates",
        Default::Bool(true),
    ),
    // Exchange Online only (new Outlook for Windows). The documentation's parameter block says
    // "Default value: True" and, on the next line, "None"; True is taken.
    ("NoSignOnReply", Default::Bool(true)),
];

const SET_PARAMS: &[ParamSpec] = &[
    ParamSpec::new("Identity", ParamType::Identity),
    ParamSpec::new("OWAAllowUserChoiceOfSigningCertificate", ParamType::Bool),
    ParamSpec::new("OWAAlwaysEncrypt", ParamType::Bool),
    ParamSpec::new("OWAAlwaysSign", ParamType::Bool),
    ParamSpec::new("OWABCCEncryptedEmailForking", ParamType::UInt32),
    ParamSpec::new("OWACheckCRLOnSend", ParamType::Bool),
    ParamSpec::new("OWAClearSign", ParamType::Bool),
    ParamSpec::new("OWACopyRecipientHeaders", ParamType::Bool),
    ParamSpec::new("OWACRLConnectionTimeout", ParamType::UInt32),
    ParamSpec::new("OWACRLRetrievalTimeout", ParamType::UInt32),
    ParamSpec::new("OWADisableCRLCheck", ParamType::Bool),
    ParamSpec::new("OWADLExpansionTimeout", ParamType::UInt32),
    ParamSpec::new("OWAEncryptionAlgorithms", ParamType::String),
    ParamSpec::new("OWAEncryptTemporaryBuffers", ParamType::Bool),
    ParamSpec::new("OWAForceSMIMEClientUpgrade", ParamType::Bool),
    ParamSpec::new(
        "OWAIncludeCertificateChainAndRootCertificate",
        ParamType::Bool,
    ),
    ParamSpec::new(
        "OWAIncludeCertificateChainWithoutRootCertificate",
        ParamType::Bool,
    ),
    ParamSpec::new("OWAIncludeSMIMECapabilitiesInMessage", ParamType::Bool),
    ParamSpec::new("OWAOnlyUseSmartCard", ParamType::Bool),
    ParamSpec::new("OWASenderCertificateAttributesToDisplay", ParamType::String),
    ParamSpec::new("OWASignedEmailCertificateInclusion", ParamType::Bool),
    ParamSpec::new("OWASigningAlgorithms", ParamType::String),
    ParamSpec::new("OWATripleWrapSignedEncryptedMail", ParamType::Bool),
    ParamSpec::new("OWAUseKeyIdentifier", ParamType::Bool),
    ParamSpec::new(
        "OWAUseSecondaryProxiesWhenFindingCertificates",
        ParamType::Bool,
    ),
    ParamSpec::new("NoSignOnReply", ParamType::Bool),
    ParamSpec::new("SMIMECertificateIssuingCA", ParamType::Bytes),
];

const GET_PARAMS: &[ParamSpec] = &[ParamSpec::new("Identity", ParamType::Identity)];

pub static GET: Cmdlet = Cmdlet {
    name: "Get-SmimeConfig",
    params: GET_PARAMS,
    not_modelled: &[],
    run: Run::Read(get),
};

pub static SET: Cmdlet = Cmdlet {
    name: "Set-SmimeConfig",
    params: SET_PARAMS,
    not_modelled: &[],
    run: Run::Write(set),
};

/// The stored configuration: only what was set, as Exchange's configuration XML holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, std::default::Default)]
pub struct SmimeConfigData {
    /// Settings that were set, by name: JSON booleans, numbers and strings.
    pub settings: BTreeMap<String, Value>,
    /// The imported store, byte for byte as given.
    #[serde(with = "crate::store::serde_helpers::bytes_opt", default)]
    pub issuing_ca: Option<Vec<u8>>,
    #[serde(with = "crate::store::serde_helpers::time_rfc3339_opt", default)]
    pub certificates_expiry_date: Option<OffsetDateTime>,
    #[serde(default)]
    pub expired_certificate_thumbprint: String,
    #[serde(with = "crate::store::serde_helpers::time_rfc3339_opt", default)]
    pub when_changed: Option<OffsetDateTime>,
}

impl SmimeConfigData {
    /// The effective value of a setting (what `Get-SmimeConfig` shows).
    pub fn effective(&self, name: &str) -> Option<Value> {
        let (_, default) = SETTINGS.iter().find(|(n, _)| *n == name)?;
        let stored = self.settings.get(name);
        Some(match (default, stored) {
            // Strings read through IsNullOrWhiteSpace: blank means the default.
            (Default::Str(d), Some(Value::String(s))) if s.trim().is_empty() => json!(d),
            (_, Some(v)) => v.clone(),
            (Default::Bool(b), None) => json!(b),
            (Default::UInt32(n), None) => json!(n),
            (Default::Str(s), None) => json!(s),
        })
    }
}

fn get(
    ctx: &TenantContext,
    data: &View<'_>,
    _bound: &BoundParameters,
    _window: Window,
) -> Result<CmdletOutput, ExoError> {
    Ok(CmdletOutput {
        values: vec![to_record(ctx, &data.smime_config)],
        warnings: Vec::new(),
        paged_total: None,
    })
}

fn to_record(ctx: &TenantContext, config: &SmimeConfigData) -> Value {
    use base64::Engine as _;
    let mut map = Map::new();
    for (name, _) in SETTINGS {
        if let Some(value) = config.effective(name) {
            map.insert((*name).to_owned(), value);
        }
    }
    map.insert(
        "SMIMECertificateIssuingCA".into(),
        config
            .issuing_ca
            .as_ref()
            .map(|b| Value::String(base64::engine::general_purpose::STANDARD.encode(b)))
            .unwrap_or(Value::Null),
    );
    record::datetime(
        &mut map,
        "SMIMECertificatesExpiryDate",
        config.certificates_expiry_date,
    );
    map.insert(
        "SMIMEExpiredCertificateThumbprint".into(),
        json!(config.expired_certificate_thumbprint),
    );
    // The object's own identity. Exchange keeps the configuration in a container of the
    // tenant's configuration unit; its exact name is not public.
    map.insert("Name".into(), json!("SmimeConfiguration"));
    map.insert("Identity".into(), json!("SmimeConfiguration"));
    map.insert("Id".into(), json!("SmimeConfiguration"));
    record::guid(
        &mut map,
        "Guid",
        &crate::ids::guid("smime-config", &ctx.tenant),
    );
    map.insert("OrganizationId".into(), json!(ctx.tenant));
    record::datetime(&mut map, "WhenChanged", config.when_changed);
    map.insert("IsValid".into(), json!(true));
    map.insert("ObjectState".into(), json!("Unchanged"));
    Value::Object(map)
}

fn set(
    ctx: &TenantContext,
    data: &mut Change<'_>,
    bound: &BoundParameters,
) -> Result<CmdletOutput, ExoError> {
    let config = &mut data.smime_config;
    let mut warnings = Vec::new();

    // The task handles the store first (PrepareDataObject) and stops at its first error, so a
    // bad store leaves every other parameter of the call unapplied too.
    if let Some(Bound::Bytes(bytes)) = bound.get("SMIMECertificateIssuingCA") {
        import_issuing_ca(ctx.now, config, bytes.as_deref())?;
    }

    for (name, value) in bound.iter() {
        let Some((setting, _)) = SETTINGS.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        match value {
            Bound::Bool(b) => {
                config.settings.insert((*setting).to_owned(), json!(b));
            }
            Bound::UInt32(n) => {
                config.settings.insert((*setting).to_owned(), json!(n));
            }
            Bound::String(Some(s)) => {
                config.settings.insert((*setting).to_owned(), json!(s));
            }
            // $null removes the element: the setting reads as its default again.
            Bound::String(None) => {
                config.settings.remove(*setting);
            }
            _ => {}
        }
    }

    for kind in [AlgorithmKind::Encryption, AlgorithmKind::Signing] {
        let Some(Bound::String(Some(text))) = bound.get(kind.parameter()) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        if let Err(problem) = capi_alg::parse(kind, text) {
            if ctx.strict_algorithms {
                return Err(ExoError::task(
                    exception::MOCK_STRICT,
                    format!(
                        "{problem} (refused because mock-tenant runs with --strict-algorithms)"
                    ),
                ));
            }
            warnings.push(format!(
                "mock-tenant: {problem}. Exchange stores the value unchanged; Outlook on the web \
                 ignores a malformed list and uses {}.",
                kind.default_value()
            ));
        }
    }

    config.when_changed = Some(ctx.now);
    Ok(CmdletOutput {
        values: Vec::new(),
        warnings,
        paged_total: None,
    })
}

/// The facts of one imported certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedCertificate {
    pub thumbprint: String,
    pub subject: String,
    pub not_after: OffsetDateTime,
}

/// Reads a virtual certificate collection as `Set-SmimeConfig` would import it.
pub fn read_collection(bytes: &[u8]) -> Result<Vec<ImportedCertificate>, ExoError> {
    let collection = smime::sst::read_certificate_collection(bytes)
        .map_err(|_| ExoError::task(exception::FORMAT, WRONG_FORMAT))?;
    Ok(collection
        .certificates
        .iter()
        .map(|c| ImportedCertificate {
            thumbprint: smime::certificate::sha1_thumbprint(&c.der),
            subject: smime::certificate::subject_string(&c.certificate),
            not_after: smime::certificate::not_after(&c.certificate),
        })
        .collect())
}

fn import_issuing_ca(
    now: OffsetDateTime,
    config: &mut SmimeConfigData,
    bytes: Option<&[u8]>,
) -> Result<(), ExoError> {
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        config.issuing_ca = None;
        config.certificates_expiry_date = None;
        config.expired_certificate_thumbprint = String::new();
        return Ok(());
    };
    if bytes.len() > SST_SIZE_LIMIT {
        // Resource string SSTFileSizeExceedLimit, formatted with 70000; its wording is not
        // public, this one is reconstructed.
        return Err(ExoError::task(
            exception::INVALID_OPERATION,
            format!(
                "The SMIMECertificateIssuingCA data is {} bytes; the size limit of the SST file \
                 is {SST_SIZE_LIMIT} bytes.",
                bytes.len()
            ),
        ));
    }
    let certificates = read_collection(bytes)?;
    let expired: Vec<&str> = certificates
        .iter()
        .filter(|c| c.not_after < now)
        .map(|c| c.thumbprint.as_str())
        .collect();
    if !expired.is_empty() {
        // Resource string ExpiryCertMessage, formatted with the thumbprints joined by " , " as
        // the task joins them; the surrounding wording is reconstructed.
        return Err(ExoError::task(
            exception::INVALID_OPERATION,
            format!(
                "The following certificates in SMIMECertificateIssuingCA have expired: {}",
                expired.join(" , ")
            ),
        ));
    }
    config.issuing_ca = Some(bytes.to_vec());
    // The first certificate with the earliest NotAfter wins (strictly earlier replaces).
    let mut earliest: Option<&ImportedCertificate> = None;
    for certificate in &certificates {
        if earliest.is_none_or(|e| certificate.not_after < e.not_after) {
            earliest = Some(certificate);
        }
    }
    if let Some(earliest) = earliest {
        config.certificates_expiry_date = Some(earliest.not_after);
        config.expired_certificate_thumbprint = earliest.thumbprint.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_a_parameter_of_its_type() {
        for (name, default) in SETTINGS {
            let spec = SET_PARAMS
                .iter()
                .find(|s| s.name == *name)
                .unwrap_or_else(|| panic!("{name} has no parameter"));
            let ok = matches!(
                (default, spec.ty),
                (Default::Bool(_), ParamType::Bool)
                    | (Default::UInt32(_), ParamType::UInt32)
                    | (Default::Str(_), ParamType::String)
            );
            assert!(ok, "{name}: default and parameter type disagree");
        }
    }

    #[test]
    fn defaults_match_the_data_object() {
        let config = SmimeConfigData::default();
        assert_eq!(config.effective("OWAClearSign"), Some(json!(true)));
        assert_eq!(
            config.effective("OWAEncryptionAlgorithms"),
            Some(json!("6610"))
        );
        assert_eq!(
            config.effective("OWASigningAlgorithms"),
            Some(json!("8004"))
        );
        assert_eq!(
            config.effective("OWACRLConnectionTimeout"),
            Some(json!(60000))
        );
        assert_eq!(
            config.effective("OWACRLRetrievalTimeout"),
            Some(json!(10000))
        );
        assert_eq!(
            config.effective("OWAUseSecondaryProxiesWhenFindingCertificates"),
            Some(json!(true))
        );
        assert_eq!(config.effective("Nope"), None);
    }

    #[test]
    fn blank_strings_read_as_default_and_garbage_stores_do_not_import() {
        let mut config = SmimeConfigData::default();
        config
            .settings
            .insert("OWAEncryptionAlgorithms".into(), json!("  "));
        assert_eq!(
            config.effective("OWAEncryptionAlgorithms"),
            Some(json!("6610"))
        );
        let now = crate::clock::parse_rfc3339("2030-01-01T00:00:00Z").unwrap();
        let err = import_issuing_ca(now, &mut config, Some(b"not a store")).unwrap_err();
        assert_eq!(err.user_message(), WRONG_FORMAT);
        let err =
            import_issuing_ca(now, &mut config, Some(&[0u8; SST_SIZE_LIMIT + 1])).unwrap_err();
        assert!(err.user_message().contains("70000"));
        assert_eq!(config.issuing_ca, None);
    }
}
