//! The HTTP side: routes, request parsing that never panics and never answers outside the
//! documented shapes, and the tenant handle that ties configuration, tokens, clock and state
//! together.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::auth::Credentials;
use crate::clock::{Clock, SharedClock};
use crate::cmdlets::recipients::Recipient;
use crate::cmdlets::{self, Invocation, Run, TenantContext};
use crate::lookup::{self, Purpose};
use crate::recipient_address::Addresses;
use crate::store::{Store, StoreError, TenantData};
use crate::sync::{self, ExportRequest, SyncFailure};
use crate::validation::{self, Settings};
use crate::wire::{
    self, ExoError, InvokeRequest, Page, PageLinkKey, SKIPTOKEN_LIFETIME_SECONDS, SkipToken,
};
use crl::HostMap;

/// The server's default page size, as Exchange Online's (`odata.maxpagesize=1000`).
pub const DEFAULT_PAGE_SIZE: usize = 1000;
/// Largest request body taken (a sync export of many users with many certificates). Read only
/// after the caller has authenticated (bearer token or lab secret): a stranger's body is never
/// read.
pub const BODY_LIMIT: usize = 32 * 1024 * 1024;
/// The header the lab-only endpoints (`/lab/...`) want the lab secret in.
pub const LAB_SECRET_HEADER: &str = "X-Lab-Secret";
/// How much of a request field the log keeps (the rest is counted, not written).
pub const LOG_FIELD_CHARS: usize = 200;

/// How to start a tenant.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// `contoso.onmicrosoft.com`.
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    pub data_dir: PathBuf,
    pub clock: Clock,
    /// Most objects per page; clients may ask for fewer with `Prefer: odata.maxpagesize=N`.
    pub page_size: usize,
    /// Refuse malformed `OWA*Algorithms` strings (Exchange accepts them).
    pub strict_algorithms: bool,
    /// Cloud-only mailboxes to create at start if missing (`alice@contoso.com`).
    pub users: Vec<String>,
    /// Where CRL distribution points' hosts really are (`pki.contoso.com` → the lab's pki-web),
    /// for `POST /lab/owa/{tenant}/validate`.
    pub crl_hosts: HostMap,
    /// What the lab-only endpoints (`/lab/...`) want in the `X-Lab-Secret` header. They stand for
    /// machinery that authenticates by other means (Entra Connect, OWA's client); on a shared
    /// network this secret keeps everyone else out. `None` makes a random one at open
    /// ([`Tenant::lab_secret`]).
    pub lab_secret: Option<String>,
    /// The root of every URL the tenant hands out (`@odata.nextLink`, `@odata.context`), e.g.
    /// `http://127.0.0.1:8080`: never the request's `Host` header, which a client following a
    /// link would otherwise send its bearer token to.
    pub public_url: String,
    /// How long an `@odata.nextLink` stays valid after its first page was served. Microsoft
    /// documents no lifetime; the service's own refusal says "Default Expiry time is 00:30:00",
    /// hence the default [`SKIPTOKEN_LIFETIME_SECONDS`].
    pub page_link_lifetime_seconds: i64,
}

impl TenantConfig {
    pub fn new(
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            data_dir: data_dir.into(),
            clock: Clock::System,
            page_size: DEFAULT_PAGE_SIZE,
            strict_algorithms: false,
            users: Vec::new(),
            crl_hosts: HostMap::default(),
            lab_secret: None,
            public_url: "http://localhost".into(),
            page_link_lifetime_seconds: SKIPTOKEN_LIFETIME_SECONDS,
        }
    }
}

/// Why a tenant could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("--tenant is empty; give the tenant's name, e.g. contoso.onmicrosoft.com")]
    NoTenant,
    #[error("--client-id and --client-secret must both be non-empty")]
    NoCredentials,
    #[error("--users entry '{0}' is not an email address")]
    BadUser(String),
    #[error("--lab-secret is empty; give any string and send it in the X-Lab-Secret header")]
    EmptyLabSecret,
    #[error("--public-url '{0}' is not an http(s) URL without a path, e.g. http://127.0.0.1:8080")]
    BadPublicUrl(String),
    #[error("--page-link-lifetime must be at least 1 second")]
    BadPageLinkLifetime,
    #[error("no randomness from the operating system for the tenant's secrets: {0}")]
    NoRandomness(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A running tenant's shared parts.
struct Inner {
    config: TenantConfig,
    credentials: Credentials,
    store: Store,
    clock: SharedClock,
    lab_secret: String,
    /// Signs `$skiptoken`s; random per process, so a restarted tenant refuses old links (as
    /// Exchange's expire), and new at each [`Tenant::reset`], so a link made for one scenario
    /// is refused in the next.
    page_links: std::sync::RwLock<PageLinkKey>,
}

/// A tenant: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Tenant {
    inner: Arc<Inner>,
}

impl Tenant {
    /// Opens (or creates) the tenant's data directory and seeds `users`.
    pub fn open(config: TenantConfig) -> Result<Self, OpenError> {
        let tenant = config.tenant.trim().to_owned();
        if tenant.is_empty() {
            return Err(OpenError::NoTenant);
        }
        if config.client_id.trim().is_empty() || config.client_secret.is_empty() {
            return Err(OpenError::NoCredentials);
        }
        for user in &config.users {
            if !user.contains('@') {
                return Err(OpenError::BadUser(user.clone()));
            }
        }
        if config.lab_secret.as_deref().is_some_and(str::is_empty) {
            return Err(OpenError::EmptyLabSecret);
        }
        if !is_base_url(config.public_url.trim().trim_end_matches('/')) {
            return Err(OpenError::BadPublicUrl(config.public_url.clone()));
        }
        if config.page_link_lifetime_seconds < 1 {
            return Err(OpenError::BadPageLinkLifetime);
        }
        let clock = SharedClock::new(config.clock);
        let now = clock.now();
        let store = Store::open(&config.data_dir, &tenant, TenantData::new(&tenant, now))?;
        store.update(|data| {
            for user in &config.users {
                let user = user.trim();
                if data.recipients.by_address(user)?.is_none() {
                    data.recipients
                        .insert(&Recipient::new(&tenant, user, user, None, now))?;
                }
            }
            Ok::<_, StoreError>(())
        })?;
        let credentials = Credentials::new(&tenant, config.client_id.trim(), &config.client_secret);
        let random = |bytes: &mut [u8]| {
            getrandom::fill(bytes).map_err(|e| OpenError::NoRandomness(e.to_string()))
        };
        let lab_secret = match &config.lab_secret {
            Some(secret) => secret.clone(),
            None => {
                let mut bytes = [0u8; 24];
                random(&mut bytes)?;
                hex::encode(bytes)
            }
        };
        let page_link_key = random_page_link_key().map_err(OpenError::NoRandomness)?;
        let public_url = config.public_url.trim().trim_end_matches('/').to_owned();
        Ok(Self {
            inner: Arc::new(Inner {
                config: TenantConfig {
                    tenant,
                    public_url,
                    ..config
                },
                credentials,
                store,
                clock,
                lab_secret,
                page_links: std::sync::RwLock::new(page_link_key),
            }),
        })
    }

    /// What the lab-only endpoints want in the `X-Lab-Secret` header.
    pub fn lab_secret(&self) -> &str {
        &self.inner.lab_secret
    }

    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Where CRL distribution point hosts are sent (`--crl-host`).
    pub fn crl_hosts(&self) -> &HostMap {
        &self.inner.config.crl_hosts
    }

    pub fn tenant(&self) -> &str {
        &self.inner.config.tenant
    }

    /// The key `$skiptoken`s are signed and checked with now.
    fn page_links(&self) -> PageLinkKey {
        self.inner
            .page_links
            .read()
            .map_or_else(|e| e.into_inner().clone(), |key| key.clone())
    }

    /// Makes the tenant as new for the next scenario of a reused lab (`POST /lab/reset`): no
    /// recipients, the default S/MIME configuration and mobile policies, no sync cycle, the
    /// clock set to `clock`, and a new key for page links (a link handed out before is refused).
    /// The configuration it was started with (name, app, lab secret, CRL hosts) stays.
    pub fn reset(&self, clock: Clock) -> Result<(), crate::reset::ResetError> {
        let key = random_page_link_key().map_err(crate::reset::ResetError::NoRandomness)?;
        self.store()
            .reset(TenantData::new(self.tenant(), clock.now()))?;
        self.clock().set(clock);
        *self
            .inner
            .page_links
            .write()
            .unwrap_or_else(|e| e.into_inner()) = key;
        Ok(())
    }

    /// The tenant's GUID (accepted wherever the name is).
    pub fn tenant_id(&self) -> &str {
        &self.inner.credentials.tenant_id
    }

    /// Every route. Authentication runs as a route layer, before any handler reads the body:
    /// a caller without a token (admin API) or the lab secret (`/lab/...`) gets 401 whatever it
    /// sends, and only then does the body limit apply (413).
    pub fn router(&self) -> Router {
        let admin = Router::new()
            .route(
                "/adminapi/beta/{tenant}/InvokeCommand",
                post(invoke_command).get(invoke_command),
            )
            .route_layer(middleware::from_fn_with_state(
                self.clone(),
                require_bearer_token,
            ));
        let lab = Router::new()
            .route("/lab/sync/{tenant}/export", post(sync_export))
            .route("/lab/owa/{tenant}/validate", post(owa_validate))
            .route(
                "/lab/owa/{tenant}/validate/certificates",
                post(crate::batch::validate_certificates),
            )
            .route(
                "/lab/recipients/{address}/certificate",
                get(certificate_lookup),
            )
            .route(
                "/lab/recipients/certificates",
                post(crate::batch::certificate_lookups),
            )
            .route(
                "/lab/clock",
                get(crate::reset::get_clock).put(crate::reset::put_clock),
            )
            .route("/lab/reset/{tenant}", post(crate::reset::reset))
            .route_layer(middleware::from_fn_with_state(
                self.clone(),
                require_lab_secret,
            ));
        Router::new()
            .route("/health", get(health))
            .route("/openapi.json", get(openapi))
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .merge(admin)
            .merge(lab)
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self.clone())
    }
}

/// A new random key for page links; the error is why the OS gave no randomness.
fn random_page_link_key() -> Result<PageLinkKey, String> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| e.to_string())?;
    Ok(PageLinkKey::new(key))
}

/// `http://host[:port]` or `https://...`, without a path, query or spaces.
fn is_base_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// A request field as the log keeps it: at most [`LOG_FIELD_CHARS`] characters, then how long it
/// really was. A caller's field never grows the log by more than this.
pub fn loggable(text: &str) -> String {
    match text.char_indices().nth(LOG_FIELD_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
    }
}

/// The admin API's gate: a bearer token this tenant issued, for Exchange, unexpired, with the
/// app role (401 or 403 as [`crate::auth::AuthFailure`] says), checked before the body is read.
async fn require_bearer_token(
    State(tenant): State<Tenant>,
    request: Request,
    next: Next,
) -> Response {
    let now = tenant.clock().now();
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match tenant.inner.credentials.validate(authorization, now) {
        Ok(_) => next.run(request).await,
        Err(failure) => {
            tracing::info!(failure = %loggable(&failure.to_string()), "admin call refused");
            failure.into_response()
        }
    }
}

/// The lab endpoints' gate: the lab secret in `X-Lab-Secret` (compared in constant time), else
/// 401 saying where the secret comes from, before the body is read.
async fn require_lab_secret(
    State(tenant): State<Tenant>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(LAB_SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if crate::auth::constant_time_eq(given, tenant.lab_secret().as_bytes()) {
        return next.run(request).await;
    }
    tracing::info!(path = %loggable(request.uri().path()), "lab call refused: no lab secret");
    lab_error(
        StatusCode::UNAUTHORIZED,
        "LabSecretRequired",
        format!(
            "the /lab endpoints want the lab secret in the {LAB_SECRET_HEADER} header \
             ({}); `cargo xtask lab up` prints it, the lab passes it to mock-tenant as \
             --lab-secret or MOCK_TENANT_LAB_SECRET",
            if given.is_empty() {
                "none was sent"
            } else {
                "the one sent is not this tenant's"
            }
        ),
    )
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tenant: Tenant,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, tenant.router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// The lab endpoints' error shape (ours, not Microsoft's).
pub(crate) fn lab_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response()
}

/// A lab request body refused: 400 with `LimitExceeded` where the body asked for more than a
/// request may (items, identities, KDF work), `BadRequest` otherwise. `what` names the endpoint
/// in the log, where the refusal is cut to a loggable length.
pub(crate) fn request_refused(e: &validation::RequestError, what: &str) -> Response {
    tracing::info!(error = %loggable(&e.to_string()), "{what} refused");
    let code = if e.exceeds_limit {
        "LimitExceeded"
    } else {
        "BadRequest"
    };
    lab_error(StatusCode::BAD_REQUEST, code, e.to_string())
}

/// The blocking task behind a lab endpoint failed (it panicked or was cancelled): 500.
pub(crate) fn task_failed(e: &tokio::task::JoinError, what: &str) -> Response {
    lab_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        format!("the {what} task failed: {e}"),
    )
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    lab_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!(
            "no endpoint {method} {}; the endpoints are listed at /openapi.json",
            uri.path()
        ),
    )
}

async fn health(State(tenant): State<Tenant>) -> Response {
    axum::Json(json!({"status": "ok", "tenant": tenant.tenant()})).into_response()
}

async fn openapi() -> Response {
    axum::Json(crate::openapi::document()).into_response()
}

async fn token(
    State(tenant): State<Tenant>,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let path_tenant = path.map(|Path(t)| t).unwrap_or_default();
    // A body that is not a form reads as an empty form: Entra then names the first missing field.
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let now = tenant.clock().now();
    match tenant.inner.credentials.issue(&path_tenant, &form, now) {
        Ok(token) => {
            tracing::info!(client_id = %loggable(&token_client(&form)), "token issued");
            let mut response = axum::Json(token).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store, no-cache"),
            );
            response
        }
        Err(error) => {
            tracing::info!(error = %loggable(&error.to_string()), "token refused");
            error.into_response()
        }
    }
}

fn token_client(form: &HashMap<String, String>) -> String {
    form.get("client_id").cloned().unwrap_or_default()
}

async fn invoke_command(
    State(tenant): State<Tenant>,
    method: Method,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The token was checked by `require_bearer_token` before the body was read.
    let now = tenant.clock().now();
    let path_tenant = path.map(|Path(t)| t).unwrap_or_default();
    if !tenant.inner.credentials.is_tenant(&path_tenant) {
        return crate::auth::AuthFailure::WrongTenant(path_tenant).into_response();
    }
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let lookup = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };

    let invocation = if let Some(token) = lookup("$skiptoken") {
        // Only a token this process signed, for a reading cmdlet, within its lifetime: a link
        // is a cursor into a read, never a way to run something else.
        let Some(token) = SkipToken::decode(&token, &tenant.page_links()) else {
            tracing::info!("page link refused: not signed by this tenant");
            return ExoError::InvalidPagination.into_response();
        };
        let age = now.unix_timestamp().saturating_sub(token.issued);
        let reads = cmdlets::find(&token.cmdlet).is_some_and(|c| matches!(c.run, Run::Read(_)));
        if !(0..=tenant.inner.config.page_link_lifetime_seconds).contains(&age) || !reads {
            tracing::info!(age, reads, "page link refused: expired or not a read");
            return ExoError::InvalidPagination.into_response();
        }
        Invocation {
            cmdlet: token.cmdlet,
            parameters: token.parameters,
            select: token.select,
            offset: token.offset,
            page_size: token.page_size,
            issued: token.issued,
        }
    } else {
        if method != Method::POST {
            return ExoError::BadRequest(
                "InvokeCommand takes a POST with {\"CmdletInput\":{\"CmdletName\":...,\
                 \"Parameters\":{...}}}; GET only follows an @odata.nextLink"
                    .into(),
            )
            .into_response();
        }
        let request: InvokeRequest = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return ExoError::BadRequest(format!(
                    "The request body is not a cmdlet invocation: {e}. Expected \
                     {{\"CmdletInput\":{{\"CmdletName\":\"Get-Mailbox\",\"Parameters\":{{...}}}}}}."
                ))
                .into_response();
            }
        };
        let page_size = wire::preferred_page_size(&headers)
            .map(|n| n.min(tenant.inner.config.page_size))
            .unwrap_or(tenant.inner.config.page_size);
        Invocation {
            cmdlet: request.cmdlet_input.cmdlet_name,
            parameters: request.cmdlet_input.parameters.unwrap_or_default(),
            select: lookup("$select").map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            }),
            offset: 0,
            page_size,
            issued: now.unix_timestamp(),
        }
    };

    let ctx = TenantContext {
        tenant: tenant.tenant().to_owned(),
        now,
        strict_algorithms: tenant.inner.config.strict_algorithms,
    };
    let cmdlet = invocation.cmdlet.clone();
    let worker = tenant.clone();
    let outcome =
        tokio::task::spawn_blocking(move || cmdlets::invoke(worker.store(), &ctx, &invocation))
            .await
            .unwrap_or_else(|e| Err(ExoError::Internal(format!("the cmdlet task failed: {e}"))));
    match outcome {
        Ok(output) => {
            tracing::info!(
                cmdlet = %loggable(&cmdlet),
                objects = output.values.len(),
                "cmdlet ran"
            );
            let next_skiptoken = match output.next.map(|t| t.encode(&tenant.page_links())) {
                None => None,
                Some(Some(token)) => Some(token),
                Some(None) => {
                    return ExoError::Internal("the page link could not be signed".into())
                        .into_response();
                }
            };
            Page {
                base_url: tenant.inner.config.public_url.clone(),
                tenant: path_tenant,
                values: output.values,
                warnings: output.warnings,
                next_skiptoken,
            }
            .into_response()
        }
        Err(error) => {
            tracing::info!(
                cmdlet = %loggable(&cmdlet),
                error = %loggable(&error.to_string()),
                "cmdlet failed"
            );
            error.into_response()
        }
    }
}

/// The lab endpoints' check of the tenant in their path: `Some` 404 naming both tenants when it
/// is another one (the admin API answers with its own WrongTenant error instead).
pub(crate) fn wrong_lab_tenant(
    tenant: &Tenant,
    path: Result<Path<String>, PathRejection>,
) -> Option<Response> {
    let path_tenant = path.map(|Path(t)| t).unwrap_or_default();
    (!tenant.inner.credentials.is_tenant(&path_tenant)).then(|| {
        lab_error(
            StatusCode::NOT_FOUND,
            "TenantNotFound",
            format!("this is tenant '{}', not '{path_tenant}'", tenant.tenant()),
        )
    })
}

async fn sync_export(
    State(tenant): State<Tenant>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    if let Some(wrong) = wrong_lab_tenant(&tenant, path) {
        return wrong;
    }
    let request: ExportRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return lab_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!(
                    "the body is not a sync export: {e}. Expected {{\"cycle\":\"full\"|\"delta\", \
                     \"legacyRules\":false, \"cycleId\":\"...\", \"final\":true, \"objects\":[{{\"sourceAnchor\":..., \
                     \"userPrincipalName\":..., \"userCertificate\":[base64 DER], ...}}]}}"
                ),
            );
        }
    };
    let now = tenant.clock().now();
    let worker = tenant.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        worker
            .store()
            .update(|data| sync::apply(data, &request, now))
    })
    .await;
    match outcome {
        Ok(Ok(result)) => {
            tracing::info!(
                objects = result.objects.len(),
                cycle = result.cycle_number,
                "sync export applied"
            );
            axum::Json(result).into_response()
        }
        Ok(Err(SyncFailure::Request(e))) => {
            lab_error(StatusCode::BAD_REQUEST, "BadRequest", e.to_string())
        }
        Ok(Err(SyncFailure::Store(e))) => lab_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            e.to_string(),
        ),
        Err(e) => lab_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("the sync task failed: {e}"),
        ),
    }
}

/// Outlook on the web's judgement of a received message or of the sender's certificate
/// ([`validation`]). A bearer token is accepted and not required, as on the other lab endpoints.
/// Parsing (PKCS#12 key derivation) and validation (CRL downloads) block: both run on the
/// blocking pool.
async fn owa_validate(
    State(tenant): State<Tenant>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Response {
    if let Some(wrong) = wrong_lab_tenant(&tenant, path) {
        return wrong;
    }
    let worker = tenant.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let request = validation::parse_request(&body)?;
        // A received message's sender's published certificates, for a signature that does not
        // carry its signer's certificate (OWASignedEmailCertificateInclusion $false).
        let (sender, named) = match &request {
            validation::Request::Message { message, .. } => {
                (smime::cms::address::from_address(message), None)
            }
            validation::Request::Certificate { recipient, .. } => (None, recipient.clone()),
        };
        let settings = worker.store().read(|data| {
            let mut settings = Settings::from_config(&data.smime_config);
            if let Some(address) = &sender
                && let Ok(Some((_, recipient))) = data.recipients.by_address(address)
            {
                settings.directory = validation::published_certificates(&recipient);
            }
            // A recipient's addresses, for OWAUseSecondaryProxiesWhenFindingCertificates.
            settings.recipient = named.map(|address| Addresses::of(&data.recipients, &address));
            settings
        });
        let now = worker.clock().now();
        Ok::<_, validation::RequestError>(validation::validate(
            &request,
            &settings,
            &worker.inner.config.crl_hosts,
            now,
        ))
    })
    .await;
    match outcome {
        Ok(Ok(result)) => {
            tracing::info!(
                status = %result.status,
                crl = ?result.crl.check,
                fetches = result.crl.fetches.len(),
                "OWA validation"
            );
            axum::Json(result).into_response()
        }
        Ok(Err(e)) => request_refused(&e, "OWA validation"),
        Err(e) => task_failed(&e, "validation"),
    }
}

async fn certificate_lookup(
    State(tenant): State<Tenant>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let address = path.map(|Path(a)| a).unwrap_or_default();
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let purpose = match query.get("purpose").map(String::as_str) {
        None => Purpose::Encrypt,
        Some(text) => match Purpose::parse(text) {
            Some(p) => p,
            None => {
                return lab_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("purpose '{text}' is neither 'encrypt' nor 'sign'"),
                );
            }
        },
    };
    let now = match query.get("now") {
        None => tenant.clock().now(),
        Some(text) => match crate::clock::parse_rfc3339(text) {
            Ok(at) => at,
            Err(e) => {
                return lab_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!(
                        "now '{text}' is not an RFC 3339 time ({e}); e.g. 2030-01-01T00:00:00Z"
                    ),
                );
            }
        },
    };
    let found = tenant
        .store()
        .read(|data| data.recipients.by_address(&address));
    match found {
        Ok(Some((_, recipient))) => {
            axum::Json(lookup::lookup(&recipient, purpose, now)).into_response()
        }
        Err(e) => lab_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            e.to_string(),
        ),
        Ok(None) => lab_error(
            StatusCode::NOT_FOUND,
            "RecipientNotFound",
            format!("no recipient has the address '{address}'"),
        ),
    }
}
