//! The ExchangeOnlineManagement V3 wire format: the `InvokeCommand` request envelope, the OData
//! success envelope with its paging link, and the error envelopes Exchange Online answers with.
//!
//! Every shape here is transcribed from responses captured from the live service (quoted in the
//! comments), not from documentation: Microsoft documents none of this. Where the live text is
//! not public, the reconstruction is marked as such.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The body of `POST /adminapi/beta/{tenant}/InvokeCommand`:
/// `{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"alice"}}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct InvokeRequest {
    #[serde(rename = "CmdletInput")]
    pub cmdlet_input: CmdletInput,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CmdletInput {
    #[serde(rename = "CmdletName")]
    pub cmdlet_name: String,
    /// Absent and `null` both mean "no parameters", as the module sends either.
    #[serde(rename = "Parameters", default)]
    pub parameters: Option<Map<String, Value>>,
}

/// The `Content-Type` Exchange Online answers with (captured from a live `Get-Mailbox`).
pub const ODATA_CONTENT_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// The OData entity set every cmdlet result is typed as on the wire.
pub const GENERIC_COLLECTION: &str = "Collection(Exchange.GenericHashTable)";

/// How long a `$skiptoken` stays valid; the service's own text says "Default Expiry time is
/// 00:30:00".
pub const SKIPTOKEN_LIFETIME_SECONDS: i64 = 30 * 60;

/// One page of cmdlet output.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Base URL of this service (`http://127.0.0.1:1234`), used for `@odata.context` and
    /// `@odata.nextLink`.
    pub base_url: String,
    pub tenant: String,
    pub values: Vec<Value>,
    pub warnings: Vec<String>,
    /// The opaque `$skiptoken` of the next page, if there is one.
    pub next_skiptoken: Option<String>,
}

impl Page {
    /// The JSON body, e.g.
    /// `{"@odata.context":"https://outlook.office.com/adminapi/beta/contoso.onmicrosoft.com/$metadata#Collection(Exchange.GenericHashTable)","adminapi.warnings@odata.type":"#Collection(String)","@adminapi.warnings":[],"value":[...]}`.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert(
            "@odata.context".into(),
            Value::String(format!(
                "{}/adminapi/beta/{}/$metadata#{}",
                self.base_url, self.tenant, GENERIC_COLLECTION
            )),
        );
        body.insert(
            "adminapi.warnings@odata.type".into(),
            Value::String("#Collection(String)".into()),
        );
        body.insert(
            "@adminapi.warnings".into(),
            Value::Array(self.warnings.iter().cloned().map(Value::String).collect()),
        );
        if let Some(token) = &self.next_skiptoken {
            body.insert(
                "@odata.nextLink".into(),
                Value::String(format!(
                    "{}/adminapi/beta/{}/InvokeCommand?%24skiptoken={}",
                    self.base_url, self.tenant, token
                )),
            );
        }
        body.insert("value".into(), Value::Array(self.values.clone()));
        Value::Object(body)
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        odata_json(StatusCode::OK, &self.to_json())
    }
}

/// A JSON response with the OData content type and `OData-Version: 4.0`, as the service sends.
pub fn odata_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(ODATA_CONTENT_TYPE),
    );
    headers.insert("OData-Version", HeaderValue::from_static("4.0"));
    response
}

/// The state a `$skiptoken` carries, so that following `@odata.nextLink` (by GET, or by POST
/// with any body, as clients differ) re-runs the same query from the next offset. The token is
/// `base64url(JSON).base64url(HMAC-SHA-256)` under a per-process [`PageLinkKey`]: a client
/// cannot forge one (to run another cmdlet, or to make a link that never expires), and a
/// restarted tenant refuses the links it handed out before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkipToken {
    #[serde(rename = "c")]
    pub cmdlet: String,
    #[serde(rename = "p")]
    pub parameters: Map<String, Value>,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Vec<String>>,
    #[serde(rename = "o")]
    pub offset: usize,
    #[serde(rename = "n")]
    pub page_size: usize,
    /// Unix seconds (tenant clock) when the first page was served.
    #[serde(rename = "t")]
    pub issued: i64,
}

/// The key `$skiptoken`s are signed with.
#[derive(Clone)]
pub struct PageLinkKey([u8; 32]);

impl PageLinkKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(key)
    }

    fn mac(&self) -> Option<hmac::Hmac<sha2::Sha256>> {
        <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&self.0).ok()
    }
}

impl std::fmt::Debug for PageLinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageLinkKey(..)")
    }
}

impl SkipToken {
    /// The signed token; `None` only if the state does not serialize.
    pub fn encode(&self, key: &PageLinkKey) -> Option<String> {
        use hmac::Mac as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = b64.encode(serde_json::to_vec(self).ok()?);
        let mut mac = key.mac()?;
        mac.update(payload.as_bytes());
        let signature = b64.encode(mac.finalize().into_bytes());
        Some(format!("{payload}.{signature}"))
    }

    /// `None` for anything that is not a token signed under `key`.
    pub fn decode(token: &str, key: &PageLinkKey) -> Option<Self> {
        use hmac::Mac as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (payload, signature) = token.trim().split_once('.')?;
        let mut mac = key.mac()?;
        mac.update(payload.as_bytes());
        // `verify_slice` compares in constant time.
        mac.verify_slice(&b64.decode(signature).ok()?).ok()?;
        serde_json::from_slice(&b64.decode(payload).ok()?).ok()
    }
}

/// The .NET exception types that appear in error envelopes.
pub mod exception {
    pub const MANAGEMENT_OBJECT_NOT_FOUND: &str =
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException";
    pub const MANAGEMENT_OBJECT_AMBIGUOUS: &str =
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException";
    pub const AMBIGUOUS_PARAMETER_SET: &str =
        "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException";
    pub const PARAMETER_TRANSFORMATION: &str =
        "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException";
    pub const PARAMETER_BINDING: &str = "System.Management.Automation.ParameterBindingException";
    pub const INVALID_OPERATION: &str = "System.InvalidOperationException";
    pub const FORMAT: &str = "System.FormatException";
    pub const OBJECT_ALREADY_EXISTS: &str =
        "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException";
    pub const AD_SCOPE: &str = "Microsoft.Exchange.Data.Directory.ADScopeException";
    pub const ODATA_SERVICE: &str = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException";
    pub const DIRECT_INVOKE: &str =
        "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException";
    /// Refusals that are this mock's own (a parameter it does not model, strict algorithm
    /// checking): named so nobody mistakes them for Exchange's.
    pub const MOCK_NOT_MODELLED: &str = "MockTenant.ParameterNotModelledException";
    pub const MOCK_STRICT: &str = "MockTenant.StrictValidationException";
}

/// Exchange's error code for `ManagementObjectNotFoundException`, as it prefixes the message
/// (`Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|...`).
pub const EX_NOT_FOUND: &str = "Ex6F9304";

/// How many NUL bytes the 403 for an unknown or unauthorized cmdlet carries. The live service
/// answers with "a long run of NUL bytes" (not JSON at all); the exact length is not public.
pub const UNKNOWN_CMDLET_BODY_LEN: usize = 4096;

/// Why a request failed, rendered in Exchange Online's shapes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExoError {
    /// A cmdlet ran and wrote a terminating error (`WriteError` in the task). Rendered as the
    /// live `Remove-Mailbox` failure was captured:
    /// `{"error":{"code":"NotFound","message":"Error executing cmdlet","details":[{"code":"Client","target":"","message":"Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object '...' couldn't be found on '...'."}],"innererror":{...}}}`.
    #[error("{exception}: {message}")]
    Cmdlet {
        status: StatusCode,
        /// `NotFound`, `BadRequest` ...
        code: &'static str,
        /// Exchange's `ExNNNNNN` code, empty for plain .NET exceptions.
        ex_code: &'static str,
        exception: &'static str,
        message: String,
    },
    /// Parameters the cmdlet does not have. Live capture of `Get-QuarantineMessage
    /// -BogusParameter 1`: HTTP 400, `AmbiguousParameterSetException`, "Parameter set cannot be
    /// resolved using the specified named parameters. Invalid cmdlet parameters specified.
    /// BogusParameter".
    #[error("unknown parameters: {}", .0.join(", "))]
    UnknownParameters(Vec<String>),
    /// A value that does not convert to the parameter's type. Live capture of an invalid enum:
    /// HTTP 400, no `details`, the text in `innererror.internalexception`, type
    /// `ParameterTransformationException`.
    #[error("{message}")]
    Binding {
        exception: &'static str,
        message: String,
    },
    /// A cmdlet the tenant does not have (or the caller may not run). Live: HTTP 403 with a body
    /// of NUL bytes, not JSON.
    #[error("unknown cmdlet '{0}'")]
    UnknownCmdlet(String),
    /// A valid token that may not run cmdlets (no `Exchange.ManageAsApp` role): answered as the
    /// live 403 above, NUL bytes and all.
    #[error("{0}")]
    Forbidden(String),
    /// The request itself is malformed (not JSON, no `CmdletInput`).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A `$skiptoken` that is not ours or has expired. Live text.
    #[error("Expired or Invalid pagination request. Default Expiry time is 00:30:00")]
    InvalidPagination,
    /// The tenant could not save the change; nothing was changed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ExoError {
    /// `ManagementObjectNotFoundException`, as Exchange words it.
    pub fn not_found(identity: &str, server: &str) -> Self {
        Self::Cmdlet {
            status: StatusCode::NOT_FOUND,
            code: "NotFound",
            ex_code: EX_NOT_FOUND,
            exception: exception::MANAGEMENT_OBJECT_NOT_FOUND,
            message: format!(
                "The operation couldn't be performed because object '{identity}' couldn't be \
                 found on '{server}'."
            ),
        }
    }

    /// `ManagementObjectAmbiguousException`, as Exchange words it.
    pub fn ambiguous(identity: &str) -> Self {
        Self::Cmdlet {
            status: StatusCode::BAD_REQUEST,
            code: "BadRequest",
            ex_code: "",
            exception: exception::MANAGEMENT_OBJECT_AMBIGUOUS,
            message: format!(
                "The operation couldn't be performed because '{identity}' matches multiple \
                 entries."
            ),
        }
    }

    /// A task error with HTTP 400 and a plain .NET exception type.
    pub fn task(exception: &'static str, message: impl Into<String>) -> Self {
        Self::Cmdlet {
            status: StatusCode::BAD_REQUEST,
            code: "BadRequest",
            ex_code: "",
            exception,
            message: message.into(),
        }
    }

    /// A `ParameterTransformationException`.
    pub fn transformation(message: impl Into<String>) -> Self {
        Self::Binding {
            exception: exception::PARAMETER_TRANSFORMATION,
            message: message.into(),
        }
    }

    /// The text a PowerShell user would read (`$_.Exception.Message`).
    pub fn user_message(&self) -> String {
        match self {
            Self::Cmdlet { message, .. } | Self::Binding { message, .. } => message.clone(),
            Self::UnknownParameters(names) => unknown_parameters_message(names),
            other => other.to_string(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Cmdlet { status, .. } => *status,
            Self::UnknownCmdlet(_) | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The JSON body; `None` for the 403 whose body is not JSON.
    pub fn to_json(&self) -> Option<Value> {
        let warnings = |error: &mut Map<String, Value>| {
            error.insert(
                "adminapi.warnings@odata.type".into(),
                Value::String("#Collection(String)".into()),
            );
            error.insert("@adminapi.warnings".into(), Value::Array(Vec::new()));
        };
        match self {
            Self::Cmdlet {
                code,
                ex_code,
                exception,
                message,
                ..
            } => {
                let mut error = Map::new();
                error.insert("code".into(), json!(code));
                error.insert("message".into(), json!("Error executing cmdlet"));
                error.insert(
                    "details".into(),
                    json!([{
                        "code": "Client",
                        "target": "",
                        "message": format!("{ex_code}|{exception}|{message}"),
                    }]),
                );
                error.insert(
                    "innererror".into(),
                    json!({
                        "message": "Error executing cmdlet",
                        "type": exception::ODATA_SERVICE,
                        "stacktrace": "",
                        "internalexception": {
                            "message": format!(
                                "Exception of type '{}' was thrown.",
                                exception::DIRECT_INVOKE
                            ),
                            "type": exception::DIRECT_INVOKE,
                            "stacktrace": "",
                        },
                    }),
                );
                warnings(&mut error);
                Some(json!({ "error": error }))
            }
            Self::UnknownParameters(names) => {
                let text = unknown_parameters_message(names);
                Some(json!({"error": {
                    "code": "BadRequest",
                    "message": "Invalid Operation",
                    "details": [{
                        "code": "Client",
                        "target": "",
                        "message": format!("|{}|{text}", exception::AMBIGUOUS_PARAMETER_SET),
                    }],
                    "innererror": {
                        "message": "Invalid Operation",
                        "type": exception::ODATA_SERVICE,
                        "stacktrace": "",
                        "internalexception": {
                            "message": text,
                            "type": exception::AMBIGUOUS_PARAMETER_SET,
                            "stacktrace": "",
                        },
                    },
                }}))
            }
            Self::Binding { exception, message } => {
                let mut error = Map::new();
                error.insert("code".into(), json!("BadRequest"));
                error.insert("message".into(), json!("Invalid Operation"));
                error.insert(
                    "innererror".into(),
                    json!({
                        "message": "Invalid Operation",
                        "type": exception::ODATA_SERVICE,
                        "stacktrace": "",
                        "internalexception": {
                            "message": message,
                            "type": exception,
                            "stacktrace": "",
                        },
                    }),
                );
                warnings(&mut error);
                Some(json!({ "error": error }))
            }
            Self::UnknownCmdlet(_) | Self::Forbidden(_) => None,
            Self::BadRequest(text) => Some(json!({"error": {
                "code": "BadRequest",
                "message": text,
            }})),
            Self::InvalidPagination => Some(json!({"error": {
                "code": "BadRequest",
                "message": "Invalid Operation",
                "innererror": {
                    "message": "Invalid Operation",
                    "type": exception::ODATA_SERVICE,
                    "stacktrace": "",
                    "internalexception": {
                        "message": self.to_string(),
                        "type": exception::ODATA_SERVICE,
                        "stacktrace": "",
                    },
                },
            }})),
            Self::Internal(text) => Some(json!({"error": {
                "code": "InternalServerError",
                "message": text,
            }})),
        }
    }
}

fn unknown_parameters_message(names: &[String]) -> String {
    format!(
        "Parameter set cannot be resolved using the specified named parameters. Invalid cmdlet \
         parameters specified. {}",
        names.join(",")
    )
}

impl IntoResponse for ExoError {
    fn into_response(self) -> Response {
        match self.to_json() {
            Some(body) => odata_json(self.status(), &body),
            None => {
                let mut response =
                    (self.status(), vec![0u8; UNKNOWN_CMDLET_BODY_LEN]).into_response();
                // Not Exchange's: the live 403 says nothing, which makes a typo in a cmdlet name
                // very hard to find. The body stays faithful; this header says why.
                if let Ok(reason) = HeaderValue::from_str(&format!(
                    "{} (Exchange Online answers an unknown or unauthorized cmdlet with 403 \
                     and a body of NUL bytes)",
                    crate::server::loggable(&self.to_string())
                )) {
                    response
                        .headers_mut()
                        .insert("X-Mock-Tenant-Reason", reason);
                }
                response
            }
        }
    }
}

/// `odata.maxpagesize=N` from `Prefer` or `X-Prefer` (the module sends the latter).
pub(crate) fn preferred_page_size(headers: &axum::http::HeaderMap) -> Option<usize> {
    ["prefer", "x-prefer"]
        .iter()
        .filter_map(|name| headers.get(*name))
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|part| {
            let (key, value) = part.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("odata.maxpagesize")
                .then(|| value.trim().trim_matches('"').parse::<usize>().ok())
                .flatten()
        })
        .find(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_header_page_size() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("Prefer", "odata.maxpagesize=2".parse().unwrap());
        assert_eq!(preferred_page_size(&headers), Some(2));
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "X-Prefer",
            "odata.include-annotations=\"*\", odata.maxpagesize=5"
                .parse()
                .unwrap(),
        );
        assert_eq!(preferred_page_size(&headers), Some(5));
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("Prefer", "odata.maxpagesize=zero".parse().unwrap());
        assert_eq!(preferred_page_size(&headers), None);
    }

    #[test]
    fn unknown_parameter_body_matches_the_live_capture() {
        let body = ExoError::UnknownParameters(vec!["BogusParameter".into()])
            .to_json()
            .unwrap();
        assert_eq!(
            body["error"]["details"][0]["message"],
            "|Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException|\
             Parameter set cannot be resolved using the specified named parameters. Invalid \
             cmdlet parameters specified. BogusParameter"
        );
        assert_eq!(body["error"]["message"], "Invalid Operation");
    }

    #[test]
    fn not_found_details_carry_the_ex_code() {
        let body = ExoError::not_found("x@contoso.com", "DC1")
            .to_json()
            .unwrap();
        let details = body["error"]["details"][0]["message"].as_str().unwrap();
        assert!(details.starts_with(
            "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|"
        ));
        assert_eq!(body["error"]["code"], "NotFound");
    }

    #[test]
    fn skiptoken_round_trips_and_forgeries_are_refused() {
        let key = PageLinkKey::new([7; 32]);
        let token = SkipToken {
            cmdlet: "Get-Mailbox".into(),
            parameters: Map::new(),
            select: None,
            offset: 2,
            page_size: 2,
            issued: 5,
        };
        let encoded = token.encode(&key).unwrap();
        assert_eq!(SkipToken::decode(&encoded, &key), Some(token.clone()));
        // Another process's key.
        assert_eq!(
            SkipToken::decode(&encoded, &PageLinkKey::new([8; 32])),
            None
        );
        // The state changed under the old signature: another cmdlet, a later time.
        let (_, signature) = encoded.split_once('.').unwrap();
        for forged in [
            SkipToken {
                cmdlet: "Set-SmimeConfig".into(),
                ..token.clone()
            },
            SkipToken {
                issued: i64::MAX,
                ..token.clone()
            },
        ] {
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::to_vec(&forged).unwrap());
            assert_eq!(
                SkipToken::decode(&format!("{payload}.{signature}"), &key),
                None
            );
            // The unsigned form of before is refused too.
            assert_eq!(SkipToken::decode(&payload, &key), None);
        }
        for garbage in ["%%%", "e30", "e30.", ".", "e30.%%%"] {
            assert_eq!(SkipToken::decode(garbage, &key), None, "{garbage}");
        }
    }
}
