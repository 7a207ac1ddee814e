//! The HTTP API, a subset of Mailpit's API v1 with the same paths, field names and status codes,
//! so tools written for Mailpit read this sink too.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/v1/messages?start=&limit=` | `{"total","count","messages_count","start","messages":[summary]}`, newest first, limit 50 by default |
//! | `GET /api/v1/search?query=&start=&limit=` | the same shape over the matches; see [`crate::search`] for the query subset |
//! | `GET /api/v1/message/{ID}/raw` | the stored bytes exactly, `text/plain; charset=utf-8` |
//! | `GET /api/v1/message/{ID}/headers` | `{"Header-Name":["value",...]}`, keys Go-canonical and sorted, as Mailpit |
//! | `GET /api/v1/message/{ID}/envelope` | not in Mailpit: the SMTP envelope (`ID`, `Received`, `Helo`, `MailFrom`, `RcptTo`, `Size`) |
//! | `GET /api/v1/delivered?message-id=` | not in Mailpit: the newest message whose Message-ID (without angle brackets) is exactly that, in one answer: `{"ID","Envelope":{envelope},"Raw":"<the stored bytes, base64>"}`; `404` when none is stored, `400` without `message-id`. The lab reads a message back with it in one request instead of search, raw and envelope |
//! | `DELETE /api/v1/messages` | body `{"IDs":[...]}` deletes those; an empty or absent body, or `"IDs":[]`, deletes all |
//! | `GET /livez` | `200 ok` |
//!
//! `{ID}` may be `latest`. A summary is `{"ID","MessageID","From":{"Name","Address"}|null,"To":[..],
//! "Cc":[..],"Subject","Created","Size","Snippet"}`. Unknown IDs are `404 Not found`; bad input is
//! `400` with a plain-text reason. Unlike Mailpit, a DELETE body that is not JSON is refused (400)
//! rather than taken as "delete everything".

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::mail::Mailbox;
use crate::search;
use crate::store::{Store, StoredMessage};

pub(crate) fn router(store: Store) -> Router {
    Router::new()
        .route("/livez", get(|| async { "ok" }))
        .route("/api/v1/messages", get(list).delete(delete))
        .route("/api/v1/search", get(search))
        .route("/api/v1/message/{id}/raw", get(raw))
        .route("/api/v1/message/{id}/headers", get(headers))
        .route("/api/v1/message/{id}/envelope", get(envelope))
        .route("/api/v1/delivered", get(delivered))
        .with_state(store)
}

#[derive(Debug, Deserialize)]
struct Page {
    start: Option<usize>,
    limit: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    query: Option<String>,
    start: Option<usize>,
    limit: Option<usize>,
}

const DEFAULT_LIMIT: usize = 50;

#[derive(Debug, Serialize)]
struct MessagesSummary {
    /// Messages in the mailbox.
    total: usize,
    /// Messages in this page (Mailpit keeps it for compatibility).
    count: usize,
    /// Messages matching the query (all of them for a plain list).
    messages_count: usize,
    start: usize,
    messages: Vec<MessageSummary>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct MessageSummary {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "MessageID")]
    message_id: String,
    from: Option<Mailbox>,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    subject: String,
    /// When the sink received it, RFC 3339.
    created: String,
    size: usize,
    snippet: String,
}

impl From<&StoredMessage> for MessageSummary {
    fn from(m: &StoredMessage) -> Self {
        Self {
            id: m.id().to_owned(),
            message_id: m.summary.message_id.clone(),
            from: m.summary.from.clone(),
            to: m.summary.to.clone(),
            cc: m.summary.cc.clone(),
            subject: m.summary.subject.clone(),
            created: m.envelope.received.clone(),
            size: m.envelope.size,
            snippet: m.summary.snippet.clone(),
        }
    }
}

fn page(
    total: usize,
    matching: Vec<StoredMessage>,
    start: Option<usize>,
    limit: Option<usize>,
) -> MessagesSummary {
    let start = start.unwrap_or(0);
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    let messages: Vec<MessageSummary> = matching
        .iter()
        .skip(start)
        .take(limit)
        .map(MessageSummary::from)
        .collect();
    MessagesSummary {
        total,
        count: messages.len(),
        messages_count: matching.len(),
        start,
        messages,
    }
}

async fn list(State(store): State<Store>, Query(p): Query<Page>) -> Response {
    let all = store.list();
    axum::Json(page(all.len(), all, p.start, p.limit)).into_response()
}

async fn search(State(store): State<Store>, Query(p): Query<SearchParams>) -> Response {
    let query = match search::Query::parse(p.query.as_deref().unwrap_or_default()) {
        Ok(query) => query,
        Err(e) => return bad_request(e.to_string()),
    };
    let all = store.list();
    let total = all.len();
    let matching = all.into_iter().filter(|m| query.matches(m)).collect();
    axum::Json(page(total, matching, p.start, p.limit)).into_response()
}

fn find(store: &Store, id: &str) -> Option<StoredMessage> {
    if id == "latest" {
        store.latest()
    } else {
        store.get(id)
    }
}

async fn raw(State(store): State<Store>, Path(id): Path<String>) -> Response {
    match find(&store, &id) {
        Some(m) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            Bytes::from_owner(m.raw),
        )
            .into_response(),
        None => not_found(),
    }
}

async fn headers(State(store): State<Store>, Path(id): Path<String>) -> Response {
    let Some(m) = find(&store, &id) else {
        return not_found();
    };
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in &m.summary.headers {
        map.entry(name).or_default().push(value);
    }
    axum::Json(map).into_response()
}

async fn envelope(State(store): State<Store>, Path(id): Path<String>) -> Response {
    match find(&store, &id) {
        Some(m) => axum::Json(m.envelope).into_response(),
        None => not_found(),
    }
}

#[derive(Debug, Deserialize)]
struct DeliveredParams {
    #[serde(rename = "message-id")]
    message_id: Option<String>,
}

/// What `/api/v1/delivered` answers: one message, its envelope and its bytes.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Delivered {
    #[serde(rename = "ID")]
    id: String,
    envelope: crate::store::Envelope,
    /// The stored bytes, base64 (standard alphabet, padded): a message may hold any octet.
    raw: String,
}

async fn delivered(State(store): State<Store>, Query(p): Query<DeliveredParams>) -> Response {
    let Some(message_id) = p.message_id.filter(|id| !id.is_empty()) else {
        return bad_request("Error: the message-id parameter is required".into());
    };
    let bare = message_id.trim_start_matches('<').trim_end_matches('>');
    match store.by_message_id(bare) {
        Some(m) => axum::Json(Delivered {
            id: m.id().to_owned(),
            raw: base64::engine::general_purpose::STANDARD.encode(&m.raw),
            envelope: m.envelope,
        })
        .into_response(),
        None => not_found(),
    }
}

#[derive(Debug, Deserialize)]
struct DeleteRequest {
    #[serde(rename = "IDs", default)]
    ids: Vec<String>,
}

async fn delete(State(store): State<Store>, body: Bytes) -> Response {
    let ids = if body.trim_ascii().is_empty() {
        Vec::new()
    } else {
        match serde_json::from_slice::<DeleteRequest>(&body) {
            Ok(request) => request.ids,
            Err(e) => {
                return bad_request(format!(
                    "Error: the body must be {{\"IDs\":[...]}} (or empty to delete all): {e}"
                ));
            }
        }
    };
    let result = if ids.is_empty() {
        store.delete(None).await
    } else {
        store.delete(Some(&ids)).await
    };
    match result {
        Ok(_) => "ok".into_response(),
        Err(e) => {
            tracing::error!("deleting messages failed: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
        }
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found").into_response()
}

fn bad_request(text: String) -> Response {
    (StatusCode::BAD_REQUEST, text).into_response()
}
