//! The lab's control of the tenant's state between scenarios: `GET`/`PUT /lab/clock` (the
//! tenant clock) and `POST /lab/reset/{tenant}` (the tenant made as new, for the next scenario
//! of a reused lab). Neither is an Exchange Online behaviour: they stand for what a real test
//! tenant gets by other means (time passing; a new tenant per test run). Both want the lab
//! secret, like every `/lab` route.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::server::{Tenant, lab_error, wrong_lab_tenant};
use crate::store::StoreError;

/// Why a reset did not happen (the tenant is unchanged).
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no randomness from the operating system for the new page-link key: {0}")]
    NoRandomness(String),
}

const CLOCK_SHAPE: &str =
    "expected {\"now\": \"2030-01-01T00:00:00Z\"} (fixed) or {\"now\": null} (system)";

/// The clock a `{"now": ...}` body asks for, or what is wrong with the body.
fn requested_clock(body: &[u8]) -> Result<Clock, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("{CLOCK_SHAPE}: {e}"))?;
    match value.get("now") {
        Some(Value::Null) => Ok(Clock::System),
        Some(Value::String(text)) => crate::clock::parse_rfc3339(text)
            .map(Clock::Fixed)
            .map_err(|e| format!("now '{text}' is not an RFC 3339 time: {e}")),
        _ => Err(CLOCK_SHAPE.to_owned()),
    }
}

fn bad_request(message: String) -> Response {
    lab_error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

pub(crate) async fn get_clock(State(tenant): State<Tenant>) -> Response {
    let clock = tenant.clock().get();
    axum::Json(json!({
        "now": smime::certificate::rfc3339(clock.now()),
        "fixed": matches!(clock, Clock::Fixed(_)),
    }))
    .into_response()
}

pub(crate) async fn put_clock(State(tenant): State<Tenant>, body: Bytes) -> Response {
    match requested_clock(&body) {
        Ok(clock) => {
            tenant.clock().set(clock);
            get_clock(State(tenant)).await
        }
        Err(why) => bad_request(why),
    }
}

/// `POST /lab/reset/{tenant}` with `{"now": ...}` as for the clock: every recipient, the S/MIME
/// configuration, the mobile policies and the sync cycles are gone, the clock is the one asked
/// for, page links handed out before are refused. Answers like `GET /lab/clock`, plus
/// `"recipients": 0`.
pub(crate) async fn reset(
    State(tenant): State<Tenant>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    if let Some(wrong) = wrong_lab_tenant(&tenant, path) {
        return wrong;
    }
    let clock = match requested_clock(&body) {
        Ok(clock) => clock,
        Err(why) => return bad_request(why),
    };
    let worker = tenant.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        worker.reset(clock)?;
        worker
            .store()
            .read(|data| data.recipients.count())
            .map_err(ResetError::from)
    })
    .await;
    match outcome {
        Ok(Ok(recipients)) => {
            tracing::info!("tenant reset for the next scenario");
            let clock = tenant.clock().get();
            axum::Json(json!({
                "now": smime::certificate::rfc3339(clock.now()),
                "fixed": matches!(clock, Clock::Fixed(_)),
                "recipients": recipients,
            }))
            .into_response()
        }
        Ok(Err(e)) => lab_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("the tenant was not reset: {e}"),
        ),
        Err(e) => lab_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("the reset did not finish: {e}"),
        ),
    }
}
