//! Step 2: the virtual certificate collection, imported with
//! `Set-SmimeConfig -SMIMECertificateIssuingCA <bytes>` (base64 on the wire) and judged against
//! the scenario's expectation.
//!
//! - Success: `Get-SmimeConfig` must then hold the bytes exactly, and, when the scenario names
//!   the CA that expires first, `SMIMECertificatesExpiryDate` must be its NotAfter and
//!   `SMIMEExpiredCertificateThumbprint` its thumbprint.
//! - An expected refusal: the tenant's EXO error is classified by what Exchange says
//!   ([`classify`]) and compared; for `expired`, the thumbprints it lists must be exactly the
//!   expected ones. A refused import must change nothing: `Get-SmimeConfig` is read before and
//!   after.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::{Context, TenantApiError, fail, new_step};
use crate::report::model::{Outcome, Stage, StepReport};
use scenario::model::{CollectionEncoding, CollectionError};
use scenario::plan::{CollectionExpectation, ImportCollection};

/// Exchange's literal text for bytes that do not import.
pub const WRONG_FORMAT_TEXT: &str = "SMIMECertificateIssuingCA has wrong format";

/// How the tenant refused an import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Known {
        error: CollectionError,
        /// For `expired`: the thumbprints listed, upper case, in the order given.
        thumbprints: Vec<String>,
    },
    /// An error none of the scenario's kinds describe.
    Other,
}

/// One EXO error detail: `<ExCode>|<ExceptionType>|<text>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    pub code: String,
    pub exception: String,
    pub text: String,
}

pub fn parse_detail(detail: &str) -> Detail {
    let mut parts = detail.splitn(3, '|');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(code), Some(exception), Some(text)) => Detail {
            code: code.to_owned(),
            exception: exception.to_owned(),
            text: text.to_owned(),
        },
        _ => Detail {
            code: String::new(),
            exception: String::new(),
            text: detail.to_owned(),
        },
    }
}

/// What kind of refusal an EXO error is, from its details as Exchange words them:
/// `System.FormatException` / "SMIMECertificateIssuingCA has wrong format" (literal in the
/// task); the size limit of the SST file (70000 bytes); certificates that "have expired",
/// listed by thumbprint (40 hex digits, joined by `" , "`).
pub fn classify(message: &str, details: &[Detail]) -> Refusal {
    let texts: Vec<&str> = details
        .iter()
        .map(|d| d.text.as_str())
        .chain(std::iter::once(message))
        .collect();
    let any = |f: &dyn Fn(&str) -> bool| texts.iter().any(|t| f(t));
    if details
        .iter()
        .any(|d| d.exception == "System.FormatException")
        || any(&|t| t.contains(WRONG_FORMAT_TEXT))
    {
        return Refusal::Known {
            error: CollectionError::WrongFormat,
            thumbprints: Vec::new(),
        };
    }
    if any(&|t| t.to_ascii_lowercase().contains("size limit")) {
        return Refusal::Known {
            error: CollectionError::Oversize,
            thumbprints: Vec::new(),
        };
    }
    if any(&|t| t.to_ascii_lowercase().contains("expired")) {
        let thumbprints = texts
            .iter()
            .flat_map(|t| t.split(|c: char| !c.is_ascii_hexdigit()))
            .filter(|token| token.len() == 40)
            .map(|token| token.to_ascii_uppercase())
            .collect();
        return Refusal::Known {
            error: CollectionError::Expired,
            thumbprints,
        };
    }
    Refusal::Other
}

async fn get_config(ctx: &Context<'_>) -> Result<Value, TenantApiError> {
    let output = ctx.tenant.invoke("Get-SmimeConfig", Map::new()).await?;
    Ok(output.objects.into_iter().next().unwrap_or(Value::Null))
}

/// `2031-06-30T12:00:00.0000000+00:00` (the .NET round-trip form on the wire) → Unix seconds.
fn wire_datetime(text: &str) -> Option<i64> {
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(parsed.unix_timestamp())
}

/// Step 2.
pub async fn import(ctx: &mut Context<'_>, import: &ImportCollection) -> StepReport {
    let mut step = new_step(
        Stage::VirtualCollection,
        format!(
            "Set-SmimeConfig -SMIMECertificateIssuingCA ({} certificate{}, {} bytes{})",
            import.certificates.len(),
            if import.certificates.len() == 1 {
                ""
            } else {
                "s"
            },
            import.bytes.len(),
            match import.encoding {
                CollectionEncoding::Sst => "",
                CollectionEncoding::Truncated => ", truncated",
            }
        ),
    );
    step.expected = Some(match &import.expect {
        CollectionExpectation::Success { earliest: None } => "the import succeeds".to_owned(),
        CollectionExpectation::Success {
            earliest: Some(earliest),
        } => format!(
            "the import succeeds; {} ({}) expires first",
            earliest.id, earliest.thumbprint
        ),
        CollectionExpectation::Error { error, thumbprints } if thumbprints.is_empty() => {
            format!("the import fails: {}", error.name())
        }
        CollectionExpectation::Error { error, thumbprints } => format!(
            "the import fails: {}, listing {}",
            error.name(),
            thumbprints.join(", ")
        ),
    });
    let unreachable = |ctx: &Context<'_>, step: &mut StepReport, what: &str, e: &TenantApiError| {
        let (outcome, why) = match e {
            TenantApiError::Transport { .. } => {
                ctx.unreachable(lab::Service::Tenant, what, &e.to_string())
            }
            _ => (Outcome::Error, format!("{what}: {e}")),
        };
        fail(step, outcome, why);
    };

    let before = match get_config(ctx).await {
        Ok(config) => config,
        Err(e) => {
            unreachable(ctx, &mut step, "Get-SmimeConfig before the import", &e);
            return step;
        }
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(&import.bytes);
    let mut parameters = Map::new();
    parameters.insert("SMIMECertificateIssuingCA".into(), json!(encoded));
    let answer = ctx.tenant.invoke("Set-SmimeConfig", parameters).await;

    match (answer, &import.expect) {
        (Ok(output), CollectionExpectation::Success { earliest }) => {
            step.details
                .extend(output.warnings.iter().map(|w| format!("warning: {w}")));
            let after = match get_config(ctx).await {
                Ok(config) => config,
                Err(e) => {
                    unreachable(ctx, &mut step, "Get-SmimeConfig after the import", &e);
                    return step;
                }
            };
            if after["SMIMECertificateIssuingCA"].as_str() != Some(encoded.as_str()) {
                fail(
                    &mut step,
                    Outcome::Failed,
                    "Get-SmimeConfig does not hold the imported bytes in SMIMECertificateIssuingCA",
                );
            } else {
                step.details
                    .push("Get-SmimeConfig holds the imported store byte for byte".to_owned());
            }
            let expiry = after["SMIMECertificatesExpiryDate"].as_str().unwrap_or("");
            let thumbprint = after["SMIMEExpiredCertificateThumbprint"]
                .as_str()
                .unwrap_or("");
            step.details.push(format!(
                "SMIMECertificatesExpiryDate {expiry}, SMIMEExpiredCertificateThumbprint {thumbprint}"
            ));
            if let Some(earliest) = earliest {
                if wire_datetime(expiry) != Some(earliest.not_after.unix_timestamp()) {
                    fail(
                        &mut step,
                        Outcome::Failed,
                        format!(
                            "SMIMECertificatesExpiryDate is {expiry:?}, not {}'s NotAfter {}",
                            earliest.id,
                            smime::certificate::rfc3339(earliest.not_after)
                        ),
                    );
                }
                if !thumbprint.eq_ignore_ascii_case(&earliest.thumbprint) {
                    fail(
                        &mut step,
                        Outcome::Failed,
                        format!(
                            "SMIMEExpiredCertificateThumbprint is {thumbprint:?}, not {}'s {}",
                            earliest.id, earliest.thumbprint
                        ),
                    );
                }
            }
        }
        (Ok(_), CollectionExpectation::Error { error, .. }) => fail(
            &mut step,
            Outcome::Failed,
            format!(
                "the import succeeded; expected it to fail ({})",
                error.name()
            ),
        ),
        (
            Err(TenantApiError::Cmdlet {
                message, details, ..
            }),
            expect,
        ) => {
            let details: Vec<Detail> = details.iter().map(|d| parse_detail(d)).collect();
            let said = details
                .iter()
                .map(|d| format!("{}: {}", d.exception, d.text))
                .collect::<Vec<_>>()
                .join("; ");
            let said = if said.is_empty() {
                message.clone()
            } else {
                said
            };
            step.details.push(format!("the tenant answered: {said}"));
            let refusal = classify(&message, &details);
            match (expect, &refusal) {
                (CollectionExpectation::Success { .. }, _) => fail(
                    &mut step,
                    Outcome::Failed,
                    format!("the import was refused: {said}"),
                ),
                (_, Refusal::Other) => fail(
                    &mut step,
                    Outcome::Failed,
                    format!(
                        "the import was refused for a reason the scenario does not name: {said}"
                    ),
                ),
                (
                    CollectionExpectation::Error { error, thumbprints },
                    Refusal::Known {
                        error: got,
                        thumbprints: listed,
                    },
                ) => {
                    if got != error {
                        fail(
                            &mut step,
                            Outcome::Failed,
                            format!("refused as {}, not {}", got.name(), error.name()),
                        );
                    } else if *error == CollectionError::Expired {
                        let mut want: Vec<String> =
                            thumbprints.iter().map(|t| t.to_ascii_uppercase()).collect();
                        let mut have = listed.clone();
                        want.sort();
                        have.sort();
                        if want != have {
                            fail(
                                &mut step,
                                Outcome::Failed,
                                format!(
                                    "the error lists {}, the scenario expects {}",
                                    listed.join(", "),
                                    thumbprints.join(", ")
                                ),
                            );
                        }
                    }
                }
            }
            // A refused import changes nothing.
            match get_config(ctx).await {
                Ok(after)
                    if after["SMIMECertificateIssuingCA"]
                        == before["SMIMECertificateIssuingCA"] =>
                {
                    step.details
                        .push("Get-SmimeConfig: SMIMECertificateIssuingCA unchanged".to_owned());
                }
                Ok(_) => fail(
                    &mut step,
                    Outcome::Failed,
                    "the refused import changed SMIMECertificateIssuingCA",
                ),
                Err(e) => unreachable(ctx, &mut step, "Get-SmimeConfig after the refusal", &e),
            }
        }
        (Err(e), _) => unreachable(ctx, &mut step, "Set-SmimeConfig", &e),
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(lines: &[&str]) -> Vec<Detail> {
        lines.iter().map(|l| parse_detail(l)).collect()
    }

    #[test]
    fn the_tenant_s_texts_classify() {
        assert_eq!(
            classify(
                "Error executing cmdlet",
                &details(&["|System.FormatException|SMIMECertificateIssuingCA has wrong format"])
            ),
            Refusal::Known {
                error: CollectionError::WrongFormat,
                thumbprints: vec![]
            }
        );
        assert_eq!(
            classify(
                "Error executing cmdlet",
                &details(&[
                    "|System.InvalidOperationException|The SMIMECertificateIssuingCA data is 97312 bytes; the size limit of the SST file is 70000 bytes."
                ])
            ),
            Refusal::Known {
                error: CollectionError::Oversize,
                thumbprints: vec![]
            }
        );
        let a = "0123456789abcdef0123456789ABCDEF01234567";
        let b = "FEDCBA9876543210FEDCBA9876543210FEDCBA98";
        assert_eq!(
            classify(
                "Error executing cmdlet",
                &details(&[&format!(
                    "|System.InvalidOperationException|The following certificates in SMIMECertificateIssuingCA have expired: {a} , {b}"
                )])
            ),
            Refusal::Known {
                error: CollectionError::Expired,
                thumbprints: vec![a.to_ascii_uppercase(), b.to_owned()]
            }
        );
        assert_eq!(
            classify(
                "Error executing cmdlet",
                &details(&["Ex6F9304|X|not found"])
            ),
            Refusal::Other
        );
        assert_eq!(
            parse_detail("Ex1|T|a|b"),
            Detail {
                code: "Ex1".into(),
                exception: "T".into(),
                text: "a|b".into()
            }
        );
    }

    #[test]
    fn wire_dates() {
        assert_eq!(
            wire_datetime("2031-06-30T12:00:00.0000000+00:00"),
            Some(time::macros::datetime!(2031-06-30 12:00 UTC).unix_timestamp())
        );
        assert_eq!(wire_datetime("yesterday"), None);
    }
}
