//! The tenant's OWA-style validation call (CONTRACTS §1), as the runner makes it:
//! `POST {tenant}/lab/owa/{tenant}/validate` with a received message and the reader's
//! identities (a), or with the sender's certificate before sending (b). The tenant is the one
//! place that judges S/MIME the way Exchange Online does; the runner only reads its answer.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::devices::InstalledIdentity;
use super::tenant_api::{TenantApi, TenantApiError, batch_results};
use scenario::plan::PKCS12_PASSWORD;

/// How long one validation may take: the tenant's CRL fetches are bounded by
/// `OWACRLRetrievalTimeout` (10 s by default), plus room for a slow machine.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The tenant's judgement of a received message.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageValidation {
    /// `smime::cms::verdict::Status` name: `valid`, `untrusted`, `not-signed`, ...
    pub status: String,
    pub reasons: Vec<String>,
    pub weak: bool,
    /// `Some` when the message has an envelope: whether every envelope was opened.
    pub decrypted: Option<bool>,
    /// The answer as sent, for reports.
    pub answer: Value,
}

/// The tenant's check of a certificate before sending.
#[derive(Clone, Debug, PartialEq)]
pub struct CertificateValidation {
    pub status: String,
    pub reasons: Vec<String>,
    /// False when `OWACheckCRLOnSend` is true and a CRL could not be fetched; for a
    /// recipient's certificate also when it does not validate or is not the recipient's.
    pub send_allowed: bool,
    /// A recipient's certificate that names none of the addresses it may be matched against
    /// (the tenant's `address.reason`); `None` when it is the recipient's or none was named.
    pub not_the_recipients: Option<String>,
    pub answer: Value,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn path(tenant: &TenantApi) -> String {
    format!("/lab/owa/{}/validate", tenant.endpoint().tenant)
}

/// A PKCS#12 file the reader decrypts with, and its password.
#[derive(Clone, Copy)]
pub struct Decryption<'a> {
    pub pkcs12: &'a [u8],
    pub password: &'a str,
}

/// Contract §1 a): the delivered message, with every identity the reader has installed.
pub async fn validate_message(
    tenant: &TenantApi,
    message: &[u8],
    identities: &[&InstalledIdentity],
) -> Result<MessageValidation, TenantApiError> {
    let decryption: Vec<Decryption<'_>> = identities
        .iter()
        .map(|i| Decryption {
            pkcs12: &i.pkcs12,
            password: PKCS12_PASSWORD,
        })
        .collect();
    validate_message_with(tenant, message, &decryption).await
}

/// [`validate_message`] with PKCS#12 files of any password (a preflight's admin-given files).
pub async fn validate_message_with(
    tenant: &TenantApi,
    message: &[u8],
    decryption: &[Decryption<'_>],
) -> Result<MessageValidation, TenantApiError> {
    let decryption: Vec<Value> = decryption
        .iter()
        .map(|d| json!({ "pkcs12": b64(d.pkcs12), "password": d.password }))
        .collect();
    let mut body = json!({ "message": b64(message) });
    if !decryption.is_empty() {
        body["decryption"] = Value::Array(decryption);
    }
    call(
        tenant,
        "OWA validation of a received message",
        &body,
        read_message_answer,
    )
    .await
}

/// POSTs `body` to the validation endpoint and reads the answer with `read`; an answer `read`
/// cannot make sense of is a protocol error naming `what`.
async fn call<T>(
    tenant: &TenantApi,
    what: &str,
    body: &Value,
    read: fn(Value) -> Result<T, String>,
) -> Result<T, TenantApiError> {
    let answer = tenant
        .lab_call(
            what,
            reqwest::Method::POST,
            &path(tenant),
            Some(body),
            Some(TIMEOUT),
        )
        .await?;
    read(answer).map_err(|why| TenantApiError::Protocol {
        what: what.to_owned(),
        status: 200,
        body: why,
    })
}

/// Reads answer a): `status`, `reasons`, `weak`, and from `opened.layers` whether the envelopes
/// were opened.
pub fn read_message_answer(answer: Value) -> Result<MessageValidation, String> {
    let (status, reasons, weak) = common(&answer)?;
    let envelopes: Vec<bool> = answer["opened"]["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|layer| layer["kind"] == "encrypted")
        .map(|layer| layer["decrypted"].as_bool().unwrap_or(false))
        .collect();
    let decrypted = if envelopes.is_empty() {
        // Without layers, the status still says whether an envelope stayed shut.
        match status.as_str() {
            "encrypted" | "cannot-decrypt" => Some(false),
            _ => None,
        }
    } else {
        Some(envelopes.iter().all(|d| *d))
    };
    Ok(MessageValidation {
        status,
        reasons,
        weak,
        decrypted,
        answer,
    })
}

/// Contract §1 b): the sender's certificate, as OWA checks it before sending.
pub async fn validate_certificate(
    tenant: &TenantApi,
    certificate_der: &[u8],
) -> Result<CertificateValidation, TenantApiError> {
    let body = json!({ "certificate": b64(certificate_der), "purpose": "send" });
    call(
        tenant,
        "OWA check of the sender's certificate before sending",
        &body,
        read_certificate_answer,
    )
    .await
}

/// A recipient's certificate, as OWA checks it before encrypting to it (`purpose: encrypt`):
/// `send_allowed` is whether OWA encrypts to it. `recipient` is the address it is for: the
/// tenant holds the certificate to that recipient's addresses (primary SMTP address, and proxy
/// addresses under `OWAUseSecondaryProxiesWhenFindingCertificates`).
pub async fn validate_recipient_certificate(
    tenant: &TenantApi,
    certificate_der: &[u8],
    recipient: &str,
) -> Result<CertificateValidation, TenantApiError> {
    let body = json!({
        "certificate": b64(certificate_der),
        "purpose": "encrypt",
        "recipient": recipient,
    });
    call(
        tenant,
        "OWA check of a recipient's certificate before encrypting",
        &body,
        read_certificate_answer,
    )
    .await
}

/// Certificates a request of [`validate_recipient_certificates`]: under the tenant's limit of
/// 1,000.
pub const CERTIFICATES_PER_REQUEST: usize = 500;

/// [`validate_recipient_certificate`] for many recipients, each certificate with the address it
/// is for (`POST
/// /lab/owa/{tenant}/validate/certificates`): one judgement per certificate, in order, each what
/// the one-certificate call answers; the tenant reads its settings and fetches each CRL once a
/// request.
pub async fn validate_recipient_certificates(
    tenant: &TenantApi,
    certificates: &[(&[u8], &str)],
) -> Result<Vec<CertificateValidation>, TenantApiError> {
    let what = "OWA check of recipients' certificates before encrypting";
    let path = format!("{}/certificates", path(tenant));
    let mut judged = Vec::with_capacity(certificates.len());
    for chunk in certificates.chunks(CERTIFICATES_PER_REQUEST) {
        let encoded: Vec<String> = chunk.iter().map(|(der, _)| b64(der)).collect();
        let recipients: Vec<&str> = chunk.iter().map(|(_, recipient)| *recipient).collect();
        let body =
            json!({ "certificates": encoded, "recipients": recipients, "purpose": "encrypt" });
        let answer = tenant
            .lab_call(
                what,
                reqwest::Method::POST,
                &path,
                Some(&body),
                Some(TIMEOUT),
            )
            .await?;
        let protocol = |why: String| TenantApiError::Protocol {
            what: what.to_owned(),
            status: 200,
            body: why,
        };
        let results = batch_results(answer, what, chunk.len())?;
        for result in results {
            judged.push(read_certificate_answer(result).map_err(protocol)?);
        }
    }
    Ok(judged)
}

/// Reads answer b).
pub fn read_certificate_answer(answer: Value) -> Result<CertificateValidation, String> {
    let (status, reasons, _) = common(&answer)?;
    let send_allowed = answer["sendAllowed"]
        .as_bool()
        .ok_or_else(|| format!("no boolean sendAllowed in {answer}"))?;
    let not_the_recipients =
        (answer["address"]["isRecipients"].as_bool() == Some(false)).then(|| {
            answer["address"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        });
    Ok(CertificateValidation {
        status,
        reasons,
        send_allowed,
        not_the_recipients,
        answer,
    })
}

fn common(answer: &Value) -> Result<(String, Vec<String>, bool), String> {
    let status = answer["status"]
        .as_str()
        .ok_or_else(|| format!("no status in {answer}"))?
        .to_owned();
    let reasons = answer["reasons"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let weak = answer["weak"].as_bool().unwrap_or(false);
    Ok((status, reasons, weak))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_answer() {
        let answer = json!({
            "status": "valid", "reasons": ["revocation checked"], "weak": true,
            "opened": { "status": "valid", "layers": [
                { "kind": "encrypted", "decrypted": true, "authenticated": false },
                { "kind": "signed", "verdict": { "status": "valid" } }
            ]},
            "crl": { "check": "checked", "fetches": [] }
        });
        let read = read_message_answer(answer).expect("reads");
        assert_eq!(read.status, "valid");
        assert_eq!(read.reasons, vec!["revocation checked"]);
        assert!(read.weak);
        assert_eq!(read.decrypted, Some(true));

        let shut = read_message_answer(json!({
            "status": "cannot-decrypt", "reasons": [], "weak": false,
            "opened": { "layers": [{ "kind": "encrypted", "decrypted": false }] }
        }))
        .expect("reads");
        assert_eq!(shut.decrypted, Some(false));
        let signed_only = read_message_answer(json!({
            "status": "untrusted", "reasons": ["no anchor"], "weak": false,
            "opened": { "layers": [{ "kind": "signed" }] }
        }))
        .expect("reads");
        assert_eq!(signed_only.decrypted, None);
        let no_layers =
            read_message_answer(json!({ "status": "encrypted", "reasons": [] })).expect("reads");
        assert_eq!(no_layers.decrypted, Some(false));
        assert!(read_message_answer(json!({ "error": "x" })).is_err());
    }

    #[test]
    fn a_certificate_answer() {
        let read = read_certificate_answer(json!({
            "status": "crl-unreachable", "reasons": ["offline"], "weak": false, "sendAllowed": false
        }))
        .expect("reads");
        assert!(!read.send_allowed);
        assert_eq!(read.status, "crl-unreachable");
        assert_eq!(read.not_the_recipients, None);
        let stranger = read_certificate_answer(json!({
            "status": "valid", "reasons": ["issued to x@y.z"], "weak": false, "sendAllowed": false,
            "address": { "matched": "none", "isRecipients": false, "reason": "issued to x@y.z" }
        }))
        .expect("reads");
        assert_eq!(
            stranger.not_the_recipients.as_deref(),
            Some("issued to x@y.z")
        );
        assert!(read_certificate_answer(json!({ "status": "valid", "reasons": [] })).is_err());
    }
}
