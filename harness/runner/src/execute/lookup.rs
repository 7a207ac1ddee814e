//! Outlook's lookup of many recipients at once (`POST /lab/recipients/certificates`, the
//! tenant's `batch` module): each answer is what `/lab/recipients/{address}/certificate` says for
//! that address, an unknown address answering `found: false` with an `error`. For a whole
//! organisation (a generated population, the preflight); a message's few recipients are looked
//! up one by one where the message is made (`clients::lookup`).

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::tenant_api::{TenantApi, TenantApiError, batch_results};

/// Addresses a request: under the tenant's limit of 1,000, small enough that a slow request
/// holds up little.
pub const ADDRESSES_PER_REQUEST: usize = 500;

/// Each address's encryption-certificate lookup, in order; `now` defaults to the tenant clock.
/// At most [`ADDRESSES_PER_REQUEST`] are sent at once; callers run several calls side by side.
pub async fn encryption_certificates(
    tenant: &TenantApi,
    addresses: &[String],
    now: Option<OffsetDateTime>,
) -> Result<Vec<Value>, TenantApiError> {
    let mut answers = Vec::with_capacity(addresses.len());
    for chunk in addresses.chunks(ADDRESSES_PER_REQUEST) {
        let mut body = json!({ "addresses": chunk, "purpose": "encrypt" });
        if let Some(now) = now {
            body["now"] = json!(smime::certificate::rfc3339(now));
        }
        let what = "Outlook's lookup of many recipients";
        let answer = tenant
            .lab_call(
                what,
                reqwest::Method::POST,
                "/lab/recipients/certificates",
                Some(&body),
                None,
            )
            .await?;
        answers.extend(batch_results(answer, what, chunk.len())?);
    }
    Ok(answers)
}
