//! `mobile-policies:`, the admin's `Get-MobileDeviceMailboxPolicy | ConvertTo-Json`: each policy's
//! S/MIME parameters are imported into the lab's tenant with `New-MobileDeviceMailboxPolicy` (or
//! `Set-MobileDeviceMailboxPolicy -Identity Default` for the built-in one), so that the tenant
//! refuses what Exchange refuses; then read back with `Get-MobileDeviceMailboxPolicy` and read by
//! the scenarios' own Exchange ActiveSync phone
//! ([`crate::execute::clients::mobile::MobileSettings::from_policy`]). The findings are what that
//! phone does under the policy, each traced to its ledger row:
//!
//! | policy says | the phone | check |
//! |---|---|---|
//! | `RequireSignedSMIMEAlgorithm` MD5 | signs with MD5, which recipients' clients call weak | `PRE-MOB-001` |
//! | `AllowSMIMESoftCerts` false | cannot sign with a key installed from a PKCS#12 file | `PRE-MOB-002` |
//! | `RequireEncryptedSMIMEMessages` true | refuses to send to a recipient it finds no certificate for | `PRE-MOB-003` |
//!
//! Which mailbox follows which policy is not in a directory export: `Set-CASMailbox
//! -ActiveSyncMailboxPolicy` assignments live in Exchange Online. The policy whose `IsDefault` is
//! true applies to every mailbox not given another (FID-MOB-ISDEFAULT); the report says which one
//! that is, and counts users against every policy alike.

use serde_json::{Map, Value, json};

use super::checks::{self, Finding};
use crate::execute::clients::mobile::MobileSettings;
use crate::execute::{TenantApi, TenantApiError};
use scenario::model::MobileSigningAlgorithm;

/// The S/MIME parameters of a mobile device mailbox policy (MS-ASPROV 2.2.2), as
/// `Set-MobileDeviceMailboxPolicy` names them: the ones imported; every other property of the
/// admin's file is not.
pub const SMIME_PARAMETERS: [&str; 6] = [
    "RequireSignedSMIMEMessages",
    "RequireEncryptedSMIMEMessages",
    "RequireSignedSMIMEAlgorithm",
    "RequireEncryptionSMIMEAlgorithm",
    "AllowSMIMEEncryptionAlgorithmNegotiation",
    "AllowSMIMESoftCerts",
];

/// The name of the policy every tenant has.
const BUILT_IN: &str = "Default";

/// One policy of the admin's file.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyInput {
    pub name: String,
    pub is_default: bool,
    /// The S/MIME parameters the file gives (null ones left out), in [`SMIME_PARAMETERS`] order.
    pub parameters: Vec<(String, Value)>,
}

/// Reads `Get-MobileDeviceMailboxPolicy | ConvertTo-Json` (one object, or an array of them).
/// An error says what is wrong in the admin's terms; the caller names the file.
pub fn read_policies(text: &str) -> Result<Vec<PolicyInput>, String> {
    let text = text.trim_start_matches('\u{feff}').trim();
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "not the JSON of `Get-MobileDeviceMailboxPolicy | ConvertTo-Json`: {e} (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let objects = match value {
        Value::Array(list) => list,
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(
                "expected a JSON object or an array of them (`Get-MobileDeviceMailboxPolicy | ConvertTo-Json`)"
                    .into(),
            );
        }
    };
    if objects.is_empty() {
        return Err("holds no policy: a tenant always has at least its Default policy".into());
    }
    let mut policies: Vec<PolicyInput> = Vec::with_capacity(objects.len());
    for (index, object) in objects.iter().enumerate() {
        let at = format!("policy {} of {}", index + 1, objects.len());
        let Value::Object(map) = object else {
            return Err(format!("{at}: not a JSON object"));
        };
        let name = match map.get("Name") {
            Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_owned(),
            _ => return Err(format!("{at}: has no Name")),
        };
        if policies.iter().any(|p| p.name.eq_ignore_ascii_case(&name)) {
            return Err(format!("{at}: a second policy named {name}"));
        }
        let is_default = match map.get("IsDefault") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(format!(
                    "{at} ({name}): IsDefault is {other}, not true or false"
                ));
            }
        };
        let mut parameters = Vec::new();
        for parameter in SMIME_PARAMETERS {
            match map.get(parameter) {
                None | Some(Value::Null) => {}
                Some(value @ (Value::Bool(_) | Value::String(_))) => {
                    parameters.push((parameter.to_owned(), value.clone()));
                }
                Some(Value::Number(n)) => {
                    // What the number means is .NET's enumeration, which no page documents: the
                    // lab does not guess it.
                    return Err(format!(
                        "{at} ({name}): {parameter} is the number {n}, not a name: ConvertTo-Json wrote the \
                         enumeration's value; write the file with `ConvertTo-Json -EnumsAsStrings` \
                         (PowerShell 7) so that it says SHA1, MD5, TripleDES, ..."
                    ));
                }
                Some(other) => {
                    return Err(format!(
                        "{at} ({name}): {parameter} is {other}, not a single value"
                    ));
                }
            }
        }
        policies.push(PolicyInput {
            name,
            is_default,
            parameters,
        });
    }
    if policies.iter().filter(|p| p.is_default).count() > 1 {
        return Err(
            "more than one policy has IsDefault true: Exchange keeps exactly one default policy"
                .into(),
        );
    }
    Ok(policies)
}

/// One policy in the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PolicyReport {
    pub name: String,
    /// The policy new mailboxes, and every mailbox not given another, follow.
    pub is_default: bool,
    /// Whether the tenant took the policy (`New-`/`Set-MobileDeviceMailboxPolicy`).
    pub imported: bool,
    /// The S/MIME parameters as the tenant reads them back (its defaults where the file gives
    /// none), `Name: value`.
    pub settings: Vec<String>,
    pub findings: Vec<Finding>,
}

/// Imports the policies, reads them back and judges each. `cannot_encrypt_to` is how many users
/// Outlook's lookup finds no certificate to encrypt to (what a phone that must encrypt cannot
/// send to). A refusal of the tenant is the policy's `imported: false` and a note; a tenant that
/// does not answer is the error.
pub async fn rehearse(
    tenant: &TenantApi,
    policies: &[PolicyInput],
    cannot_encrypt_to: usize,
    notes: &mut Vec<String>,
) -> Result<Vec<PolicyReport>, TenantApiError> {
    let mut imported = Vec::with_capacity(policies.len());
    for policy in policies {
        let mut parameters: Map<String, Value> = policy.parameters.iter().cloned().collect();
        let cmdlet = if policy.name.eq_ignore_ascii_case(BUILT_IN) {
            parameters.insert("Identity".into(), json!(BUILT_IN));
            "Set-MobileDeviceMailboxPolicy"
        } else {
            parameters.insert("Name".into(), json!(policy.name));
            "New-MobileDeviceMailboxPolicy"
        };
        if policy.is_default {
            parameters.insert("IsDefault".into(), json!(true));
        }
        match tenant.invoke(cmdlet, parameters).await {
            Ok(_) => imported.push(true),
            Err(TenantApiError::Cmdlet { message, .. }) => {
                notes.push(format!(
                    "mobile-policies: {cmdlet} refused the policy {}: {message}",
                    policy.name
                ));
                imported.push(false);
            }
            Err(e) => return Err(e),
        }
    }
    let read_back = tenant
        .invoke("Get-MobileDeviceMailboxPolicy", Map::new())
        .await?
        .objects;
    let mut reports = Vec::with_capacity(policies.len());
    for (policy, imported) in policies.iter().zip(imported) {
        let Some(object) = read_back
            .iter()
            // Names are matched as Exchange matches identities: without regard to case.
            .find(|o| {
                o["Name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&policy.name))
            })
        else {
            reports.push(PolicyReport {
                name: policy.name.clone(),
                is_default: policy.is_default,
                imported,
                settings: Vec::new(),
                findings: Vec::new(),
            });
            continue;
        };
        let settings = SMIME_PARAMETERS
            .iter()
            .map(|p| format!("{p}: {}", shown(&object[*p])))
            .collect();
        let findings = match MobileSettings::from_policy(object) {
            Ok(phone) => judge(&policy.name, &phone, cannot_encrypt_to),
            Err(why) => {
                notes.push(format!("mobile-policies: {}: {why}", policy.name));
                Vec::new()
            }
        };
        reports.push(PolicyReport {
            name: policy.name.clone(),
            is_default: object["IsDefault"].as_bool().unwrap_or(policy.is_default),
            imported,
            settings,
            findings,
        });
    }
    Ok(reports)
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What the phone does under one policy's settings, as findings.
fn judge(name: &str, phone: &MobileSettings, cannot_encrypt_to: usize) -> Vec<Finding> {
    let mut findings = Vec::new();
    if phone.signing_algorithm == MobileSigningAlgorithm::MD5 {
        findings.push(Finding::new(
            &checks::MOBILE_MD5,
            format!("{name}: RequireSignedSMIMEAlgorithm is MD5"),
        ));
    }
    if !phone.allow_soft_certs {
        findings.push(Finding::new(
            &checks::MOBILE_NO_SOFT_CERTS,
            format!(
                "{name}: AllowSMIMESoftCerts is false; a certificate installed from a PKCS#12 file cannot sign (a smart card or derived credential can)"
            ),
        ));
    }
    if phone.require_encrypted && cannot_encrypt_to > 0 {
        findings.push(Finding::new(
            &checks::MOBILE_MUST_ENCRYPT,
            format!(
                "{name}: RequireEncryptedSMIMEMessages is true; its devices cannot send to the {cannot_encrypt_to} user(s) Outlook's lookup finds no certificate for"
            ),
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_read_from_convert_to_json() {
        let text = r#"[
          {"Name":"Default","IsDefault":false,"RequireSignedSMIMEAlgorithm":"SHA1",
           "AllowSMIMESoftCerts":true,"PasswordEnabled":false,"RequireEncryptedSMIMEMessages":null},
          {"Name":"Phones","IsDefault":true,"RequireSignedSMIMEAlgorithm":"MD5","AllowSMIMESoftCerts":false}
        ]"#;
        let policies = read_policies(text).unwrap();
        assert_eq!(policies.len(), 2);
        assert_eq!(
            policies[0].parameters,
            vec![
                ("RequireSignedSMIMEAlgorithm".to_owned(), json!("SHA1")),
                ("AllowSMIMESoftCerts".to_owned(), json!(true)),
            ]
        );
        assert!(policies[1].is_default && !policies[0].is_default);
        // One object, as ConvertTo-Json writes a single policy.
        assert_eq!(read_policies(r#"{"Name":"Default"}"#).unwrap().len(), 1);
    }

    #[test]
    fn what_cannot_be_a_policy_list_is_said_in_the_admins_terms() {
        let error = |text: &str| read_policies(text).unwrap_err();
        assert!(error("[]").contains("no policy"));
        assert!(error("{").contains("ConvertTo-Json"));
        assert!(error(r#"[{"IsDefault":true}]"#).contains("policy 1 of 1: has no Name"));
        assert!(
            error(r#"{"Name":"A","RequireSignedSMIMEAlgorithm":1}"#).contains("-EnumsAsStrings")
        );
        assert!(error(r#"[{"Name":"A"},{"Name":"a"}]"#).contains("a second policy named a"));
        assert!(
            error(r#"[{"Name":"A","IsDefault":true},{"Name":"B","IsDefault":true}]"#)
                .contains("exactly one default")
        );
    }

    #[test]
    fn each_setting_the_phone_enforces_is_one_finding() {
        let ids = |phone: &MobileSettings, n: usize| -> Vec<&str> {
            judge("P", phone, n).iter().map(|f| f.id).collect()
        };
        assert!(ids(&MobileSettings::default(), 5).is_empty());
        let strict = MobileSettings {
            require_encrypted: true,
            signing_algorithm: MobileSigningAlgorithm::MD5,
            allow_soft_certs: false,
            ..MobileSettings::default()
        };
        assert_eq!(
            ids(&strict, 2),
            vec![
                checks::MOBILE_MD5.id,
                checks::MOBILE_NO_SOFT_CERTS.id,
                checks::MOBILE_MUST_ENCRYPT.id
            ]
        );
        // Every user can be encrypted to: requiring encryption stops no one.
        assert_eq!(ids(&strict, 0).len(), 2);
    }
}
