//! Many recipients in one request (lab endpoints, not Microsoft's): the preflight and generated
//! populations ask about every user of an organisation, and one HTTP request per user and step
//! was most of a 100,000-user rehearsal.
//!
//! - `POST /lab/recipients/certificates` `{"addresses": [...], "purpose": "encrypt"|"sign",
//!   "now"?}`: Outlook's lookup ([`lookup::lookup`]) of each address, in order; an address no
//!   recipient has answers `{"recipient", "found": false, "error": "RecipientNotFound"}` where
//!   the one-address route answers 404.
//! - `POST /lab/owa/{tenant}/validate/certificates` `{"certificates": [base64 DER...],
//!   "recipients"?: [address...], "purpose": "send"|"encrypt"}`: Outlook on the web's check of
//!   each certificate (for the recipient at the same place, as the one-certificate route's
//!   `recipient`)
//!   ([`validation::validate_with`]), in order, with the settings read once and each CRL
//!   distribution point fetched once for the whole request ([`validation::Fetched`]).
//!
//! Each answer item is what the one-item route answers for that item: the judgement is the same
//! code, only the transport is shared. At most [`MAX_ITEMS`] items a request.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::lookup::{self, Purpose as LookupPurpose};
use crate::recipient_address::Addresses;
use crate::server::{Tenant, lab_error, request_refused, task_failed, wrong_lab_tenant};
use crate::validation::{self, Fetched, Purpose, RequestError, Settings};

/// Most addresses or certificates one request may carry: 1,000 certificates are about 2 MB of
/// JSON and a second or two of validation.
pub const MAX_ITEMS: usize = 1000;

/// The array in `field`: present, and at most [`MAX_ITEMS`] long.
fn items<'a>(map: &'a Map<String, Value>, field: &str) -> Result<&'a [Value], RequestError> {
    match map.get(field) {
        None => Err(RequestError::new(field, "missing")),
        Some(Value::Array(items)) if items.len() > MAX_ITEMS => Err(RequestError::limit(
            field,
            format!(
                "{} items; a request may carry at most {MAX_ITEMS}: send them in several requests",
                items.len()
            ),
        )),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(RequestError::new(field, "must be an array")),
    }
}

/// A lookup batch, parsed.
pub struct LookupBatch {
    pub addresses: Vec<String>,
    pub purpose: LookupPurpose,
    pub now: Option<time::OffsetDateTime>,
}

const LOOKUP_SHAPE: &str =
    "expected {\"addresses\": [\"user@example.com\", ...], \"purpose\": \"encrypt\" or \"sign\"}";

pub fn parse_lookups(body: &[u8]) -> Result<LookupBatch, RequestError> {
    let map = validation::object_fields(body, &["addresses", "purpose", "now"], LOOKUP_SHAPE)?;
    let addresses = items(&map, "addresses")?
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(a) => Ok(a.clone()),
            _ => Err(RequestError::new(
                format!("addresses[{i}]"),
                "must be a string (an SMTP address)",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let purpose = match map.get("purpose") {
        None => LookupPurpose::Encrypt,
        Some(Value::String(text)) => LookupPurpose::parse(text).ok_or_else(|| {
            RequestError::new(
                "purpose",
                format!("'{text}' is neither 'encrypt' nor 'sign'"),
            )
        })?,
        Some(_) => return Err(RequestError::new("purpose", "must be a string")),
    };
    let now = match map.get("now") {
        None => None,
        Some(Value::String(text)) => Some(crate::clock::parse_rfc3339(text).map_err(|e| {
            RequestError::new(
                "now",
                format!("'{text}' is not an RFC 3339 time ({e}); e.g. 2030-01-01T00:00:00Z"),
            )
        })?),
        Some(_) => return Err(RequestError::new("now", "must be an RFC 3339 string")),
    };
    Ok(LookupBatch {
        addresses,
        purpose,
        now,
    })
}

const VALIDATE_SHAPE: &str = "expected {\"certificates\": [\"<base64 DER>\", ...], \"recipients\": [\"<address>\", ...] (with encrypt), \"purpose\": \"send\" or \"encrypt\"}";

/// A validation batch, parsed: each certificate (a readable DER certificate) with the recipient
/// it is for, when `recipients` names one, and their purpose.
pub struct ValidationBatch {
    pub certificates: Vec<(Vec<u8>, Option<String>)>,
    pub purpose: Purpose,
}

pub fn parse_validations(body: &[u8]) -> Result<ValidationBatch, RequestError> {
    let map = validation::object_fields(
        body,
        &["certificates", "recipients", "purpose"],
        VALIDATE_SHAPE,
    )?;
    let certificates = items(&map, "certificates")?;
    let purpose = validation::purpose_field(&map)?;
    let recipients = match map.get("recipients") {
        None => None,
        Some(_) => {
            let recipients = items(&map, "recipients")?;
            if recipients.len() != certificates.len() {
                return Err(RequestError::new(
                    "recipients",
                    format!(
                        "{} recipients for {} certificates: give one address a certificate, in the same order",
                        recipients.len(),
                        certificates.len()
                    ),
                ));
            }
            Some(recipients)
        }
    };
    let certificates = certificates
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let field = format!("certificates[{i}]");
            let der = validation::base64_field(&field, v)?;
            smime::certificate::parse_der(&der).map_err(|e| {
                RequestError::new(field, format!("not a DER X.509 certificate ({e})"))
            })?;
            let recipient = validation::recipient_field(
                recipients.map(|r| &r[i]),
                &format!("recipients[{i}]"),
                purpose,
            )?;
            Ok((der, recipient))
        })
        .collect::<Result<Vec<_>, RequestError>>()?;
    Ok(ValidationBatch {
        certificates,
        purpose,
    })
}

/// `POST /lab/recipients/certificates`. The store is read on the blocking pool: a thousand
/// lookups are a thousand queries.
pub async fn certificate_lookups(State(tenant): State<Tenant>, body: Bytes) -> Response {
    let batch = match parse_lookups(&body) {
        Ok(b) => b,
        Err(e) => return request_refused(&e, "lab batch"),
    };
    let worker = tenant.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let now = batch.now.unwrap_or_else(|| worker.clock().now());
        let found = worker.store().read(|data| {
            batch
                .addresses
                .iter()
                .map(|a| data.recipients.by_address(a).map(|r| r.map(|(_, r)| r)))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let results: Vec<Value> = batch
            .addresses
            .iter()
            .zip(found)
            .map(|(address, recipient)| match recipient {
                Some(recipient) => {
                    serde_json::to_value(lookup::lookup(&recipient, batch.purpose, now))
                        .unwrap_or(Value::Null)
                }
                None => json!({
                    "recipient": address,
                    "found": false,
                    "error": "RecipientNotFound",
                    "message": format!("no recipient has the address '{address}'"),
                }),
            })
            .collect();
        Ok::<_, crate::store::StoreError>(results)
    })
    .await;
    match outcome {
        Ok(Ok(results)) => axum::Json(json!({ "results": results })).into_response(),
        Ok(Err(e)) => lab_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            e.to_string(),
        ),
        Err(e) => task_failed(&e, "batch"),
    }
}

/// `POST /lab/owa/{tenant}/validate/certificates`.
pub async fn validate_certificates(
    State(tenant): State<Tenant>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    if let Some(wrong) = wrong_lab_tenant(&tenant, path) {
        return wrong;
    }
    let worker = tenant.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let batch = parse_validations(&body)?;
        let (mut settings, addresses) = worker.store().read(|data| {
            let addresses: Vec<Option<Addresses>> = batch
                .certificates
                .iter()
                .map(|(_, recipient)| {
                    recipient
                        .as_ref()
                        .map(|address| Addresses::of(&data.recipients, address))
                })
                .collect();
            (Settings::from_config(&data.smime_config), addresses)
        });
        let now = worker.clock().now();
        let hosts = worker.crl_hosts();
        let mut fetched = Fetched::default();
        let results: Vec<validation::Validation> = batch
            .certificates
            .into_iter()
            .zip(addresses)
            .map(|((certificate, recipient), addresses)| {
                settings.recipient = addresses;
                let request = validation::Request::Certificate {
                    certificate,
                    purpose: batch.purpose,
                    recipient,
                };
                validation::validate_with(&request, &settings, hosts, now, &mut fetched)
            })
            .collect();
        Ok::<_, RequestError>(results)
    })
    .await;
    match outcome {
        Ok(Ok(results)) => {
            let mut statuses: HashMap<String, usize> = HashMap::new();
            for r in &results {
                *statuses.entry(r.status.to_string()).or_default() += 1;
            }
            tracing::info!(
                certificates = results.len(),
                ?statuses,
                "OWA validation batch"
            );
            axum::Json(json!({ "results": results })).into_response()
        }
        Ok(Err(e)) => request_refused(&e, "lab batch"),
        Err(e) => task_failed(&e, "batch"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup_refused(body: &str) -> RequestError {
        match parse_lookups(body.as_bytes()) {
            Ok(_) => panic!("{body} was accepted"),
            Err(e) => e,
        }
    }

    fn validate_refused(body: &str) -> RequestError {
        match parse_validations(body.as_bytes()) {
            Ok(_) => panic!("{body} was accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn bad_batches_name_their_field() {
        assert_eq!(lookup_refused("[]").field, "body");
        assert_eq!(lookup_refused("{}").field, "addresses");
        assert_eq!(lookup_refused(r#"{"addresses":"a@b"}"#).field, "addresses");
        assert_eq!(lookup_refused(r#"{"addresses":[7]}"#).field, "addresses[0]");
        assert_eq!(
            lookup_refused(r#"{"addresses":[],"purpose":"read"}"#).field,
            "purpose"
        );
        assert_eq!(
            lookup_refused(r#"{"addresses":[],"now":"yesterday"}"#).field,
            "now"
        );
        assert_eq!(lookup_refused(r#"{"addresses":[],"x":1}"#).field, "x");
        assert_eq!(validate_refused("{}").field, "certificates");
        assert_eq!(
            validate_refused(r#"{"certificates":["QUJD"],"purpose":"encrypt"}"#).field,
            "certificates[0]"
        );
        assert_eq!(
            validate_refused(r#"{"certificates":[],"purpose":"read"}"#).field,
            "purpose"
        );
        assert_eq!(validate_refused(r#"{"certificates":[]}"#).field, "purpose");
        assert_eq!(
            validate_refused(r#"{"certificates":[],"recipients":["a@b"],"purpose":"encrypt"}"#)
                .field,
            "recipients"
        );
    }

    #[test]
    fn a_batch_over_the_limit_is_refused_as_such() {
        let addresses: Vec<String> = (0..=MAX_ITEMS).map(|i| format!("u{i}@x")).collect();
        let body = json!({ "addresses": addresses }).to_string();
        let e = lookup_refused(&body);
        assert!(e.exceeds_limit, "{e}");
        assert_eq!(e.field, "addresses");
        let certificates = vec!["QUJD"; MAX_ITEMS + 1];
        let body = json!({ "certificates": certificates, "purpose": "encrypt" }).to_string();
        assert!(validate_refused(&body).exceeds_limit);
    }

    #[test]
    fn an_empty_batch_is_fine() {
        let batch = parse_lookups(br#"{"addresses":[]}"#).expect("empty lookups");
        assert!(batch.addresses.is_empty());
        assert_eq!(batch.purpose, LookupPurpose::Encrypt);
        let batch = parse_validations(br#"{"certificates":[],"purpose":"send"}"#).expect("empty");
        assert!(batch.certificates.is_empty());
        assert_eq!(batch.purpose, Purpose::Send);
    }
}
