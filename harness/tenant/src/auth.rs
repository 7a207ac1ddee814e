//! Tokens: the Microsoft identity platform's client-credentials grant
//! (`POST /{tenant}/oauth2/v2.0/token`) for the one app the tenant is configured with, and the
//! bearer check every admin API call goes through.
//!
//! Tokens are JWTs with the claims Entra puts in an app-only Exchange Online token (`aud`
//! `https://outlook.office365.com`, `tid`, `appid`, `roles: ["Exchange.ManageAsApp"]`), signed
//! with HS256 under a key derived from the client secret rather than Entra's RS256 keys: clients
//! treat the token as opaque, and a restarted tenant with the same secret still accepts the
//! tokens it issued. Error answers carry Entra's `AADSTS` codes and texts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Digest as _;
use time::OffsetDateTime;

/// Lifetime of an access token, as Entra reports it (`expires_in`).
pub const TOKEN_LIFETIME_SECONDS: i64 = 3599;
/// The Exchange Online resource.
pub const EXCHANGE_RESOURCE: &str = "https://outlook.office365.com";
/// Resources the token endpoint knows besides Exchange Online (a token for them is issued, and
/// refused by the admin API, as happens when a script asks for a Graph token by mistake).
const OTHER_RESOURCES: &[&str] = &["https://graph.microsoft.com"];
/// The app role an app-only Exchange Online token carries.
pub const MANAGE_AS_APP: &str = "Exchange.ManageAsApp";

/// Exchange Online's `WWW-Authenticate` challenge.
pub const CHALLENGE: &str = "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\", \
     trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", token_types=\"app_asserted_user_v1 \
     service_asserted_app_v1\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\"";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The app registration the tenant accepts.
#[derive(Debug)]
pub struct Credentials {
    /// `contoso.onmicrosoft.com`.
    pub tenant: String,
    /// The tenant's GUID (deterministic from its name).
    pub tenant_id: String,
    pub client_id: String,
    client_secret: String,
    signing_key: [u8; 32],
    issued: AtomicU64,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub appid: String,
    pub appidacr: String,
    pub oid: String,
    pub sub: String,
    pub tid: String,
    pub roles: Vec<String>,
    pub uti: String,
    pub ver: String,
}

/// The token endpoint's success answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub token_type: String,
    pub expires_in: i64,
    pub ext_expires_in: i64,
    pub access_token: String,
}

/// An Entra error: HTTP status, OAuth error code, AADSTS number and text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("AADSTS{aadsts}: {description}")]
pub struct TokenError {
    pub status: StatusCode,
    pub error: &'static str,
    pub aadsts: u32,
    pub description: String,
    pub now: i64,
}

impl TokenError {
    fn new(status: StatusCode, error: &'static str, aadsts: u32, description: String) -> Self {
        Self {
            status,
            error,
            aadsts,
            description,
            now: 0,
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let timestamp = OffsetDateTime::from_unix_timestamp(self.now)
            .map(|t| smime::certificate::rfc3339(t).replace('T', " "))
            .unwrap_or_default();
        let trace_id = crate::ids::guid("trace", &format!("{}:{}", self.now, self.aadsts));
        let correlation_id =
            crate::ids::guid("correlation", &format!("{}:{}", self.now, self.aadsts));
        let body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.aadsts, self.description
            ),
            "error_codes": [self.aadsts],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.aadsts),
        });
        (self.status, axum::Json(body)).into_response()
    }
}

/// Why an admin call was refused: 401, or 403 for a valid token without the app role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("no Authorization header; get a token from /{{tenant}}/oauth2/v2.0/token first")]
    Missing,
    #[error("the Authorization header is not 'Bearer <token>'")]
    NotBearer,
    #[error("the bearer token is not a token this tenant issued")]
    Invalid,
    #[error("the token's audience is '{0}', the admin API takes tokens for {EXCHANGE_RESOURCE}")]
    WrongAudience(String),
    #[error("the token was issued for tenant '{0}', not this one")]
    WrongTenant(String),
    #[error("the token expired at {0} (tenant clock)")]
    Expired(String),
    #[error("the token is not valid before {0} (tenant clock)")]
    NotYetValid(String),
    #[error("the token lacks the app role {MANAGE_AS_APP}")]
    NoRole,
}

impl IntoResponse for AuthFailure {
    fn into_response(self) -> Response {
        if self == AuthFailure::NoRole {
            // A token Exchange Online accepts as a token but that carries no right to run
            // cmdlets is answered like a cmdlet the caller may not run: 403 with a body of NUL
            // bytes (the live capture `wire::ExoError::UnknownCmdlet` renders; Microsoft
            // documents no body for this case).
            return crate::wire::ExoError::Forbidden(self.to_string()).into_response();
        }
        let challenge = if self == AuthFailure::Missing {
            CHALLENGE.to_owned()
        } else {
            format!("{CHALLENGE}, error=\"invalid_token\"")
        };
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        // Not Exchange's (its 401 body is empty): says which check failed.
        if let Ok(value) = HeaderValue::from_str(&self.to_string()) {
            headers.insert("X-Mock-Tenant-Reason", value);
        }
        response
    }
}

impl Credentials {
    pub fn new(tenant: &str, client_id: &str, client_secret: &str) -> Self {
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"mock-tenant token signing key\0");
        hasher.update(tenant.to_ascii_lowercase().as_bytes());
        hasher.update(b"\0");
        hasher.update(client_secret.as_bytes());
        let mut signing_key = [0u8; 32];
        for (out, byte) in signing_key.iter_mut().zip(hasher.finalize().iter()) {
            *out = *byte;
        }
        Self {
            tenant: tenant.to_owned(),
            tenant_id: crate::ids::guid("tenant", tenant),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            signing_key,
            issued: AtomicU64::new(0),
        }
    }

    /// Whether a path segment names this tenant (by name or GUID).
    pub fn is_tenant(&self, segment: &str) -> bool {
        segment.eq_ignore_ascii_case(&self.tenant) || segment.eq_ignore_ascii_case(&self.tenant_id)
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; 32 bytes cannot fail.
        HmacSha256::new_from_slice(&self.signing_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }

    /// The client-credentials grant. `tenant` is the path segment, `form` the request body.
    pub fn issue(
        &self,
        tenant: &str,
        form: &HashMap<String, String>,
        now: OffsetDateTime,
    ) -> Result<TokenResponse, TokenError> {
        let stamp = |mut e: TokenError| {
            e.now = now.unix_timestamp();
            e
        };
        let missing = |name: &str| {
            stamp(TokenError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                format!("The request body must contain the following parameter: '{name}'."),
            ))
        };
        if !self.is_tenant(tenant) {
            return Err(stamp(TokenError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90002,
                format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant \
                     ID and are signing into the correct cloud."
                ),
            )));
        }
        let field = |name: &str| form.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
        let grant_type = field("grant_type").ok_or_else(|| missing("grant_type"))?;
        if grant_type != "client_credentials" {
            return Err(stamp(TokenError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                format!(
                    "The app requested an unsupported grant type '{grant_type}'. This tenant \
                     issues tokens only for 'client_credentials'."
                ),
            )));
        }
        let client_id = field("client_id").ok_or_else(|| missing("client_id"))?;
        if !client_id.eq_ignore_ascii_case(&self.client_id) {
            return Err(stamp(TokenError::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory \
                     '{}'. This can happen if the application has not been installed by the \
                     administrator of the tenant or consented to by any user in the tenant. You \
                     may have sent your authentication request to the wrong tenant.",
                    self.tenant
                ),
            )));
        }
        let secret = form.get("client_secret").map(String::as_str).unwrap_or("");
        if secret.is_empty() {
            return Err(stamp(TokenError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or \
                 'client_secret'."
                    .into(),
            )));
        }
        if !constant_time_eq(secret.as_bytes(), self.client_secret.as_bytes()) {
            return Err(stamp(TokenError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request \
                     is the client secret value, not the client secret ID, for a secret added to \
                     app '{}'.",
                    self.client_id
                ),
            )));
        }
        let scope = field("scope").ok_or_else(|| missing("scope"))?;
        let Some(resource) = scope.strip_suffix("/.default") else {
            return Err(stamp(TokenError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                1002012,
                format!(
                    "The provided value for scope {scope} is not valid. Client credential flows \
                     must have a scope value with /.default suffixed to the resource identifier \
                     (application ID URI)."
                ),
            )));
        };
        let resource = resource.trim_end_matches('/');
        let audience = if resource.eq_ignore_ascii_case(EXCHANGE_RESOURCE) {
            EXCHANGE_RESOURCE
        } else if let Some(other) = OTHER_RESOURCES
            .iter()
            .find(|r| r.eq_ignore_ascii_case(resource))
        {
            other
        } else {
            return Err(stamp(TokenError::new(
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                500011,
                format!(
                    "The resource principal named {resource} was not found in the tenant named \
                     {}. This can happen if the application has not been installed by the \
                     administrator of the tenant or consented to by any user in the tenant. You \
                     might have sent your authentication request to the wrong tenant.",
                    self.tenant
                ),
            )));
        };

        let iat = now.unix_timestamp();
        let serial = self.issued.fetch_add(1, Ordering::Relaxed);
        let service_principal = crate::ids::guid("service-principal", &self.client_id);
        let claims = Claims {
            aud: audience.to_owned(),
            iss: format!("https://sts.windows.net/{}/", self.tenant_id),
            iat,
            // Entra back-dates nbf by five minutes for clock skew.
            nbf: iat.saturating_sub(300),
            exp: iat.saturating_add(TOKEN_LIFETIME_SECONDS),
            appid: self.client_id.clone(),
            appidacr: "1".into(),
            oid: service_principal.clone(),
            sub: service_principal,
            tid: self.tenant_id.clone(),
            roles: vec![MANAGE_AS_APP.into()],
            uti: crate::ids::guid("uti", &format!("{iat}:{serial}")),
            ver: "1.0".into(),
        };
        Ok(TokenResponse {
            token_type: "Bearer".into(),
            expires_in: TOKEN_LIFETIME_SECONDS,
            ext_expires_in: TOKEN_LIFETIME_SECONDS,
            access_token: self.sign(&claims),
        })
    }

    fn sign(&self, claims: &Claims) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
        let payload = b64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = b64.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Checks an `Authorization` header value for an admin API call.
    pub fn validate(
        &self,
        authorization: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Claims, AuthFailure> {
        let value = authorization.ok_or(AuthFailure::Missing)?.trim();
        let (scheme, token) = value.split_once(' ').ok_or(AuthFailure::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("Bearer") {
            return Err(AuthFailure::NotBearer);
        }
        let token = token.trim();
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthFailure::Invalid);
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let signature = b64.decode(signature).map_err(|_| AuthFailure::Invalid)?;
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| AuthFailure::Invalid)?;
        let claims: Claims = b64
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(AuthFailure::Invalid)?;
        if claims.aud != EXCHANGE_RESOURCE {
            return Err(AuthFailure::WrongAudience(claims.aud));
        }
        if !claims.tid.eq_ignore_ascii_case(&self.tenant_id) {
            return Err(AuthFailure::WrongTenant(claims.tid));
        }
        let at = |t: i64| {
            OffsetDateTime::from_unix_timestamp(t)
                .map(smime::certificate::rfc3339)
                .unwrap_or_else(|_| t.to_string())
        };
        let now = now.unix_timestamp();
        if now >= claims.exp {
            return Err(AuthFailure::Expired(at(claims.exp)));
        }
        if now < claims.nbf {
            return Err(AuthFailure::NotYetValid(at(claims.nbf)));
        }
        if !claims.roles.iter().any(|r| r == MANAGE_AS_APP) {
            return Err(AuthFailure::NoRole);
        }
        Ok(claims)
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Compare digests so neither the length nor the first differing byte leaks through timing.
    sha2::Sha256::digest(a) == sha2::Sha256::digest(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new("contoso.onmicrosoft.com", "app-1", "s3cret")
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn good_form() -> HashMap<String, String> {
        form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app-1"),
            ("client_secret", "s3cret"),
            ("scope", "https://outlook.office365.com/.default"),
        ])
    }

    fn now() -> OffsetDateTime {
        crate::clock::parse_rfc3339("2030-01-01T00:00:00Z").unwrap()
    }

    #[test]
    fn issued_tokens_validate_until_they_expire() {
        let c = creds();
        let token = c
            .issue("contoso.onmicrosoft.com", &good_form(), now())
            .unwrap();
        assert_eq!(token.expires_in, 3599);
        let header = format!("Bearer {}", token.access_token);
        let claims = c.validate(Some(&header), now()).unwrap();
        assert_eq!(claims.roles, vec![MANAGE_AS_APP.to_owned()]);
        let later = now() + time::Duration::seconds(3599);
        assert!(matches!(
            c.validate(Some(&header), later),
            Err(AuthFailure::Expired(_))
        ));
        // Another secret means another key: the token is not ours.
        let other = Credentials::new("contoso.onmicrosoft.com", "app-1", "other");
        assert_eq!(
            other.validate(Some(&header), now()),
            Err(AuthFailure::Invalid)
        );
    }

    #[test]
    fn token_endpoint_errors_carry_entra_codes() {
        let c = creds();
        let mut f = good_form();
        f.insert("client_secret".into(), "wrong".into());
        assert_eq!(
            c.issue("contoso.onmicrosoft.com", &f, now())
                .unwrap_err()
                .aadsts,
            7000215
        );
        assert_eq!(
            c.issue("fabrikam.onmicrosoft.com", &good_form(), now())
                .unwrap_err()
                .aadsts,
            90002
        );
        let mut f = good_form();
        f.insert(
            "scope".into(),
            "https://outlook.office365.com/Exchange.ManageAsApp".into(),
        );
        assert_eq!(
            c.issue("contoso.onmicrosoft.com", &f, now())
                .unwrap_err()
                .aadsts,
            1002012
        );
        let mut f = good_form();
        f.remove("grant_type");
        assert_eq!(
            c.issue("contoso.onmicrosoft.com", &f, now())
                .unwrap_err()
                .aadsts,
            900144
        );
        let mut f = good_form();
        f.insert("client_id".into(), "someone-else".into());
        assert_eq!(
            c.issue("contoso.onmicrosoft.com", &f, now())
                .unwrap_err()
                .aadsts,
            700016
        );
    }

    #[test]
    fn graph_tokens_are_issued_but_refused_by_the_admin_api() {
        let c = creds();
        let mut f = good_form();
        f.insert(
            "scope".into(),
            "https://graph.microsoft.com/.default".into(),
        );
        let token = c.issue(&c.tenant_id.clone(), &f, now()).unwrap();
        let header = format!("Bearer {}", token.access_token);
        assert!(matches!(
            c.validate(Some(&header), now()),
            Err(AuthFailure::WrongAudience(_))
        ));
    }

    #[test]
    fn a_token_without_the_app_role_is_403_with_exchanges_nul_body() {
        let c = creds();
        let token = c
            .issue("contoso.onmicrosoft.com", &good_form(), now())
            .unwrap();
        let header = format!("Bearer {}", token.access_token);
        let mut claims = c.validate(Some(&header), now()).unwrap();
        claims.roles.clear();
        let header = format!("Bearer {}", c.sign(&claims));
        let failure = c.validate(Some(&header), now()).unwrap_err();
        assert_eq!(failure, AuthFailure::NoRole);
        let response = failure.into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
        let reason = response.headers().get("X-Mock-Tenant-Reason").unwrap();
        assert!(reason.to_str().unwrap().contains(MANAGE_AS_APP));
        // The other failures stay 401.
        assert_eq!(
            AuthFailure::Invalid.into_response().status(),
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn garbage_headers_are_refused_without_panicking() {
        let c = creds();
        for header in [
            "",
            "Basic abc",
            "Bearer",
            "Bearer a.b",
            "Bearer a.b.c",
            "Bearer ....",
            "Bearer ✓.✓.✓",
        ] {
            assert!(c.validate(Some(header), now()).is_err(), "{header}");
        }
        assert_eq!(c.validate(None, now()), Err(AuthFailure::Missing));
    }
}
