//! The validation endpoint's request body, parsed and checked: every error names its field (a
//! JSON path such as `decryption[0].pkcs12`) and what is wrong, and the work a request may ask
//! for (identities, key-derivation iterations) is bounded.

use base64::Engine as _;
use serde_json::{Map, Value};
use smime::cms::Certificate;
use smime::key::PrivateKey;
use smime::pkcs12::{KdfBudget, Pkcs12Error};

/// The request's fields; anything else is refused.
const FIELDS: [&str; 5] = [
    "message",
    "decryption",
    "certificate",
    "purpose",
    "recipient",
];

/// The sender's certificate, checked before signing or sending.
pub const PURPOSE_SEND: &str = "send";
/// A recipient's certificate, checked before encrypting to it.
pub const PURPOSE_ENCRYPT: &str = "encrypt";

/// What a certificate is checked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The sender's own (`"send"`): only `OWACheckCRLOnSend` with an unreachable CRL stops it.
    Send,
    /// A recipient's (`"encrypt"`): OWA encrypts only to a certificate whose path to the
    /// virtual certificate collection validates (and, with `OWACheckCRLOnSend`, whose CRL was
    /// reachable).
    Encrypt,
}

/// A request, parsed and checked.
pub enum Request {
    /// A received message and the reader's identities (possibly none).
    Message {
        message: Vec<u8>,
        decryption: Vec<Identity>,
    },
    /// A certificate (DER): the sender's before sending, or a recipient's before encrypting.
    Certificate {
        certificate: Vec<u8>,
        purpose: Purpose,
        /// For `encrypt`: the recipient's address, whose addresses the certificate is held to
        /// ([`crate::recipient_address`]). Absent: the path alone is judged.
        recipient: Option<String>,
    },
}

/// A reader's certificate and private key, from a PKCS#12 file.
pub struct Identity {
    pub certificate: Certificate,
    pub key: PrivateKey,
}

/// A bad request: the field (a JSON path such as `decryption[0].pkcs12`, or `body`) and what is
/// wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RequestError {
    pub field: String,
    pub message: String,
    /// The request is well-formed but asks for more work than [`MAX_IDENTITIES`] or
    /// [`KDF_ITERATIONS_PER_REQUEST`] allow.
    pub exceeds_limit: bool,
}

impl RequestError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            exceeds_limit: false,
        }
    }

    pub(crate) fn limit(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            exceeds_limit: true,
            ..Self::new(field, message)
        }
    }
}

/// Most PKCS#12 identities one request may bring (a reader with a certificate per device and a
/// few renewals stays well below).
pub const MAX_IDENTITIES: usize = 16;

/// Most key-derivation iterations (PBKDF2 and the PKCS#12 KDF, summed over every MAC and
/// encrypted part of every identity) one request may cost: each identity may ask for up to
/// 10 000 000 per derivation, and one such file costs seconds of CPU. Files as Windows, OpenSSL 3
/// and NSS write them (2 000-10 000 iterations, three derivations) cost 6 000-30 000 each; a
/// file at the 600 000 some tools now use costs under 2 000 000.
pub const KDF_ITERATIONS_PER_REQUEST: u64 = 4_000_000;

const SHAPE: &str = "expected {\"message\": \"<base64 RFC 5322 message>\", \"decryption\": [{\"pkcs12\": \"<base64>\", \"password\": \"...\"}]} or {\"certificate\": \"<base64 DER>\", \"purpose\": \"send\" or \"encrypt\", \"recipient\": \"<address, with encrypt>\"}";

/// The fields of a JSON object body, `null` counted as absent; a field outside `fields` is
/// refused by name. `shape` (what a good body looks like) ends each refusal of the body itself.
/// The one preamble of every lab request body: this route's and [`crate::batch`]'s.
pub(crate) fn object_fields(
    body: &[u8],
    fields: &[&str],
    shape: &str,
) -> Result<Map<String, Value>, RequestError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| RequestError::new("body", format!("not JSON ({e}); {shape}")))?;
    let Value::Object(map) = value else {
        return Err(RequestError::new(
            "body",
            format!("not a JSON object; {shape}"),
        ));
    };
    let map: Map<String, Value> = map.into_iter().filter(|(_, v)| !v.is_null()).collect();
    if let Some(unknown) = map.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(RequestError::new(
            unknown.clone(),
            format!("unknown field; the fields are {}", fields.join(", ")),
        ));
    }
    Ok(map)
}

/// Parses a request body. JSON `null` counts as an absent field.
pub fn parse_request(body: &[u8]) -> Result<Request, RequestError> {
    let map = object_fields(body, &FIELDS, SHAPE)?;
    match (map.get("message"), map.get("certificate")) {
        (Some(_), Some(_)) => Err(RequestError::new(
            "certificate",
            "give either message (a received message) or certificate (the sender's, before sending), not both",
        )),
        (None, None) => Err(RequestError::new(
            "message",
            format!("missing: give message or certificate; {SHAPE}"),
        )),
        (Some(message), None) => {
            if let Some(field) = ["purpose", "recipient"]
                .into_iter()
                .find(|f| map.contains_key(*f))
            {
                return Err(RequestError::new(
                    field,
                    "goes with certificate; a message is judged as received",
                ));
            }
            let message = base64_field("message", message)?;
            if message.is_empty() {
                return Err(RequestError::new(
                    "message",
                    "empty: give the whole message as delivered",
                ));
            }
            let decryption = match map.get("decryption") {
                None => Vec::new(),
                Some(Value::Array(items)) if items.len() > MAX_IDENTITIES => {
                    return Err(RequestError::limit(
                        "decryption",
                        format!(
                            "{} identities; a request may bring at most {MAX_IDENTITIES}: send \
                             the reader's identities for this message only",
                            items.len()
                        ),
                    ));
                }
                Some(Value::Array(items)) => {
                    let budget = KdfBudget::new(KDF_ITERATIONS_PER_REQUEST);
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| identity(i, item, &budget))
                        .collect::<Result<_, _>>()?
                }
                Some(_) => {
                    return Err(RequestError::new(
                        "decryption",
                        "must be an array of {\"pkcs12\": \"<base64>\", \"password\": \"...\"}",
                    ));
                }
            };
            Ok(Request::Message {
                message,
                decryption,
            })
        }
        (None, Some(certificate)) => {
            if map.contains_key("decryption") {
                return Err(RequestError::new(
                    "decryption",
                    "goes with message; a certificate check decrypts nothing",
                ));
            }
            let der = base64_field("certificate", certificate)?;
            smime::certificate::parse_der(&der).map_err(|e| {
                RequestError::new("certificate", format!("not a DER X.509 certificate ({e})"))
            })?;
            let purpose = purpose_field(&map)?;
            Ok(Request::Certificate {
                certificate: der,
                purpose,
                recipient: recipient_field(map.get("recipient"), "recipient", purpose)?,
            })
        }
    }
}

/// The recipient a certificate is checked for (`field`, a string), which goes with
/// `"purpose": "encrypt"` only.
pub(crate) fn recipient_field(
    value: Option<&Value>,
    field: &str,
    purpose: Purpose,
) -> Result<Option<String>, RequestError> {
    match (value, purpose) {
        (None, _) => Ok(None),
        (Some(Value::String(address)), Purpose::Encrypt) => Ok(Some(address.trim().to_owned())),
        (Some(_), _) => Err(RequestError::new(
            field,
            format!(
                "goes with \"purpose\": \"{PURPOSE_ENCRYPT}\", as the recipient's email address (a string)"
            ),
        )),
    }
}

/// The `purpose` of a certificate check.
pub(crate) fn purpose_field(map: &Map<String, Value>) -> Result<Purpose, RequestError> {
    match map.get("purpose") {
        Some(Value::String(p)) if p == PURPOSE_SEND => Ok(Purpose::Send),
        Some(Value::String(p)) if p == PURPOSE_ENCRYPT => Ok(Purpose::Encrypt),
        None => Err(RequestError::new(
            "purpose",
            format!(
                "missing: a certificate is checked for \"{PURPOSE_SEND}\" (the sender's) or \"{PURPOSE_ENCRYPT}\" (a recipient's)"
            ),
        )),
        Some(other) => Err(RequestError::new(
            "purpose",
            format!(
                "{other} is not a purpose; give \"{PURPOSE_SEND}\" (the sender's certificate) or \"{PURPOSE_ENCRYPT}\" (a recipient's)"
            ),
        )),
    }
}

/// A base64 string (line breaks and spaces are ignored).
pub(crate) fn base64_field(field: &str, value: &Value) -> Result<Vec<u8>, RequestError> {
    let Value::String(text) = value else {
        return Err(RequestError::new(field, "must be a base64 string"));
    };
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| RequestError::new(field, format!("not base64 ({e})")))
}

/// `decryption[i]`: a PKCS#12 file that opens with its password and holds a key and the
/// certificate it belongs to.
fn identity(index: usize, item: &Value, budget: &KdfBudget) -> Result<Identity, RequestError> {
    let base = format!("decryption[{index}]");
    let Value::Object(map) = item else {
        return Err(RequestError::new(
            base,
            "must be {\"pkcs12\": \"<base64>\", \"password\": \"...\"}",
        ));
    };
    if let Some(unknown) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "pkcs12" | "password"))
    {
        return Err(RequestError::new(
            format!("{base}.{unknown}"),
            "unknown field; an identity has pkcs12 and password",
        ));
    }
    let pkcs12_field = format!("{base}.pkcs12");
    let bytes = match map.get("pkcs12") {
        Some(value) => base64_field(&pkcs12_field, value)?,
        None => return Err(RequestError::new(pkcs12_field, "missing")),
    };
    let password = match map.get("password") {
        Some(Value::String(p)) => p.as_str(),
        Some(_) => {
            return Err(RequestError::new(
                format!("{base}.password"),
                "must be a string (\"\" for none)",
            ));
        }
        None => {
            return Err(RequestError::new(
                format!("{base}.password"),
                "missing: give the PKCS#12 password (\"\" for none)",
            ));
        }
    };
    let contents = smime::pkcs12::read_pkcs12_within(&bytes, password, budget).map_err(|e| {
        if matches!(e, Pkcs12Error::KdfBudgetExceeded { .. }) {
            RequestError::limit(
                &pkcs12_field,
                format!(
                    "exceeds the request's key-derivation limit of {KDF_ITERATIONS_PER_REQUEST} \
                     iterations over all its identities ({e}); export the identity with fewer \
                     iterations or send fewer identities"
                ),
            )
        } else {
            RequestError::new(&pkcs12_field, format!("does not open ({e})"))
        }
    })?;
    let Some(key_der) = contents.private_key_pkcs8_der.as_deref() else {
        return Err(RequestError::new(
            pkcs12_field,
            "holds no private key: export the identity with its key",
        ));
    };
    let key = PrivateKey::from_pkcs8_der(key_der).map_err(|e| {
        RequestError::new(
            &pkcs12_field,
            format!("its private key does not read ({e})"),
        )
    })?;
    // `read_pkcs12` puts the key's certificate first when it can tell which one it is.
    let Some(certificate) = contents
        .certificates
        .first()
        .and_then(|der| smime::certificate::parse_der(der).ok())
    else {
        return Err(RequestError::new(
            pkcs12_field,
            "holds no readable certificate: export the identity with its certificate",
        ));
    };
    if !key.matches(certificate.tbs_certificate().subject_public_key_info()) {
        return Err(RequestError::new(
            pkcs12_field,
            "its private key belongs to none of its certificates",
        ));
    }
    Ok(Identity { certificate, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> RequestError {
        match parse_request(body.as_bytes()) {
            Ok(_) => panic!("{body} was accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn bad_requests_name_their_field() {
        assert_eq!(refused("[1]").field, "body");
        assert_eq!(refused("not json").field, "body");
        assert_eq!(refused("{}").field, "message");
        assert_eq!(refused(r#"{"message":"QUJD","extra":1}"#).field, "extra");
        assert_eq!(refused(r#"{"message":"%%%"}"#).field, "message");
        assert_eq!(refused(r#"{"message":7}"#).field, "message");
        assert_eq!(refused(r#"{"message":""}"#).field, "message");
        assert_eq!(
            refused(r#"{"message":"QUJD","certificate":"QUJD"}"#).field,
            "certificate"
        );
        assert_eq!(
            refused(r#"{"message":"QUJD","purpose":"send"}"#).field,
            "purpose"
        );
        assert_eq!(
            refused(r#"{"message":"QUJD","decryption":{}}"#).field,
            "decryption"
        );
        assert_eq!(
            refused(r#"{"message":"QUJD","decryption":[{"pkcs12":"QUJD"}]}"#).field,
            "decryption[0].password"
        );
        assert_eq!(
            refused(
                r#"{"message":"QUJD","decryption":[{"pkcs12":"QUJD","password":"x","pin":1}]}"#
            )
            .field,
            "decryption[0].pin"
        );
        assert_eq!(
            refused(r#"{"message":"QUJD","decryption":[{"pkcs12":"QUJD","password":"x"}]}"#).field,
            "decryption[0].pkcs12"
        );
        assert_eq!(
            refused(r#"{"certificate":"QUJD","purpose":"send"}"#).field,
            "certificate"
        );
        // null is absent.
        assert!(matches!(
            parse_request(br#"{"message":"QUJD","decryption":null,"certificate":null}"#),
            Ok(Request::Message { .. })
        ));
    }
}
