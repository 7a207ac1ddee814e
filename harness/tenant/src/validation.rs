//! `POST /lab/owa/{tenant}/validate`: how Outlook on the web judges S/MIME, as a lab endpoint
//! (not Microsoft's), so that every client the lab emulates is judged by one validation path.
//!
//! Three requests: a received message (`{"message": base64, "decryption": [{"pkcs12",
//! "password"}]}`; OWA's S/MIME control decrypts on the client, so the reader's identities come
//! with the request), the sender's own certificate before sending (`{"certificate": base64 DER,
//! "purpose": "send"}`), or a recipient's certificate before encrypting to it (`"purpose":
//! "encrypt"`, with `"recipient"`: the address it is for). "Set up virtual certificate collection to validate S/MIME": "a virtual
//! certificate collection that will be used to validate S/MIME certificates ... The SST file
//! contains all the root and intermediate certificates that are used when validating an S/MIME
//! certificate" and "In Exchange Online only the SST will be used for validation": a recipient
//! whose issuing CA is not in the SST does not validate, and OWA does not encrypt to it.
//! Intermediates are not fetched from AIA here (the request carries none): a recipient's path
//! needs its CAs in the SST (known difference, FIDELITY.md).
//!
//! The judgement is `smime::cms`'s with what the tenant holds: the anchors are the certificates
//! of the stored `SMIMECertificateIssuingCA` (none stored: nothing is trusted), `now` is the
//! tenant clock, and revocation follows the stored `Set-SmimeConfig` settings:
//! `OWADisableCRLCheck` (no fetch at all), `OWACRLConnectionTimeout` (ms, each connection) and
//! `OWACRLRetrievalTimeout` (ms, every CRL of one validation together). A first pass without
//! revocation validates the paths and names their CRL distribution points; they are fetched
//! through the tenant's CRL host map ([`crl`]) and a second pass checks against them. A
//! CRL not fetched in time makes the verdict `crl-unreachable` with Exchange's text
//! ([`smime::cms::path::CRL_OFFLINE_TEXT`]). For a certificate, `OWACheckCRLOnSend` decides
//! whether an unreachable CRL stops the send (`sendAllowed`). A recipient's certificate must also
//! be the recipient's: it names their primary SMTP address or, under
//! `OWAUseSecondaryProxiesWhenFindingCertificates`, one of their proxy addresses
//! ([`crate::recipient_address`], the answer's `address`).
//!
//! Everything here is blocking (PKCS#12 key derivation, CRL downloads): the server runs it on
//! the blocking pool.

use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};
use smime::certificate::CertificateSummary;
use smime::cms::{Certificate, Layer, OpenedMessage, Revocation, Status, VerifyContext};
use smime::key::PrivateKey;
use smime::pkcs12::{KdfBudget, Pkcs12Error};
use time::OffsetDateTime;

use crate::cmdlets::smime_config::SmimeConfigData;
use crl::{FetchPolicy, HostMap};

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
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            exceeds_limit: false,
        }
    }

    fn limit(field: impl Into<String>, message: impl Into<String>) -> Self {
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

/// Parses a request body. JSON `null` counts as an absent field.
pub fn parse_request(body: &[u8]) -> Result<Request, RequestError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| RequestError::new("body", format!("not JSON ({e}); {SHAPE}")))?;
    let Value::Object(map) = value else {
        return Err(RequestError::new(
            "body",
            format!("not a JSON object; {SHAPE}"),
        ));
    };
    let map: Map<String, Value> = map.into_iter().filter(|(_, v)| !v.is_null()).collect();
    if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(RequestError::new(
            unknown.clone(),
            format!("unknown field; the fields are {}", FIELDS.join(", ")),
        ));
    }
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
            let purpose = match map.get("purpose") {
                Some(Value::String(p)) if p == PURPOSE_SEND => Purpose::Send,
                Some(Value::String(p)) if p == PURPOSE_ENCRYPT => Purpose::Encrypt,
                None => {
                    return Err(RequestError::new(
                        "purpose",
                        format!(
                            "missing: a certificate is checked for \"{PURPOSE_SEND}\" (the sender's) or \"{PURPOSE_ENCRYPT}\" (a recipient's)"
                        ),
                    ));
                }
                Some(other) => {
                    return Err(RequestError::new(
                        "purpose",
                        format!(
                            "{other} is not a purpose; give \"{PURPOSE_SEND}\" (the sender's certificate) or \"{PURPOSE_ENCRYPT}\" (a recipient's)"
                        ),
                    ));
                }
            };
            let recipient = match (map.get("recipient"), purpose) {
                (None, _) => None,
                (Some(Value::String(address)), Purpose::Encrypt) => Some(address.trim().to_owned()),
                (Some(_), _) => {
                    return Err(RequestError::new(
                        "recipient",
                        format!(
                            "goes with \"purpose\": \"{PURPOSE_ENCRYPT}\", as the recipient's email address (a string)"
                        ),
                    ));
                }
            };
            Ok(Request::Certificate {
                certificate: der,
                purpose,
                recipient,
            })
        }
    }
}

/// A base64 string (line breaks and spaces are ignored).
fn base64_field(field: &str, value: &Value) -> Result<Vec<u8>, RequestError> {
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

/// What the stored `Set-SmimeConfig` settings make of a validation.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The certificates of `SMIMECertificateIssuingCA`.
    pub anchors: Vec<Certificate>,
    /// Why there are no anchors, said in the answer's reasons.
    pub anchor_note: Option<String>,
    /// `OWADisableCRLCheck`.
    pub disable_crl_check: bool,
    /// `OWACheckCRLOnSend`.
    pub check_crl_on_send: bool,
    /// `OWACRLConnectionTimeout`.
    pub connection_timeout: Duration,
    /// `OWACRLRetrievalTimeout`.
    pub retrieval_timeout: Duration,
    /// The certificates published in the directory for a received message's sender (its From
    /// address), found by the server before validating ([`published_certificates`]): a signature
    /// whose signer's certificate the message does not carry is checked with these
    /// (`OWASignedEmailCertificateInclusion` `$false`: "Recipients need to retrieve the
    /// certificate from a directory, or from the sender."). Empty for a certificate request.
    pub directory: Vec<Certificate>,
    /// `OWAUseSecondaryProxiesWhenFindingCertificates` (default `$true`).
    pub use_secondary_proxies: bool,
    /// The addresses of the recipient a certificate request names, found by the server (an
    /// address the tenant does not know: that address alone).
    pub recipient: Option<crate::recipient_address::Addresses>,
}

impl Settings {
    pub fn from_config(config: &SmimeConfigData) -> Self {
        let flag = |name: &str| {
            config
                .effective(name)
                .and_then(|v| v.as_bool())
                .unwrap_or(false)
        };
        let millis = |name: &str, default: u64| {
            Duration::from_millis(
                config
                    .effective(name)
                    .and_then(|v| v.as_u64())
                    .unwrap_or(default),
            )
        };
        let (anchors, anchor_note) = match config.issuing_ca.as_deref() {
            None => (
                Vec::new(),
                Some(
                    "no SMIMECertificateIssuingCA is stored, so no certificate is trusted: import the CAs with Set-SmimeConfig -SMIMECertificateIssuingCA"
                        .to_owned(),
                ),
            ),
            Some(bytes) => match smime::sst::read_certificate_collection(bytes) {
                Ok(collection) => (
                    collection
                        .certificates
                        .into_iter()
                        .map(|c| c.certificate)
                        .collect(),
                    None,
                ),
                // Set-SmimeConfig refused such bytes; a state file edited by hand can have them.
                Err(e) => (
                    Vec::new(),
                    Some(format!(
                        "the stored SMIMECertificateIssuingCA does not read ({e}), so no certificate is trusted"
                    )),
                ),
            },
        };
        Self {
            anchors,
            anchor_note,
            disable_crl_check: flag("OWADisableCRLCheck"),
            check_crl_on_send: flag("OWACheckCRLOnSend"),
            connection_timeout: millis("OWACRLConnectionTimeout", 60_000),
            retrieval_timeout: millis("OWACRLRetrievalTimeout", 10_000),
            directory: Vec::new(),
            use_secondary_proxies: config
                .effective(crate::recipient_address::SETTING)
                .and_then(|v| v.as_bool())
                .unwrap_or(true),
            recipient: None,
        }
    }
}

/// Every certificate published for a recipient: the values of `userSMIMECertificate` (each a
/// PKCS#7 or a certificate) and of `userCertificate`, in that order; values that do not read
/// are left out (the lookup reports them).
pub fn published_certificates(
    recipient: &crate::cmdlets::recipients::Recipient,
) -> Vec<Certificate> {
    let smime_values = recipient.user_smime_certificate.iter().flat_map(|value| {
        smime::sst::read_certificate_collection(value)
            .map(|c| c.certificates.into_iter().map(|c| c.certificate).collect())
            .unwrap_or_else(|_| Vec::new())
    });
    let plain_values = recipient
        .user_certificate
        .iter()
        .filter_map(|der| smime::certificate::parse_der(der).ok());
    smime_values.chain(plain_values).collect()
}

/// The answer (200).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    pub status: Status,
    pub reasons: Vec<String>,
    pub weak: bool,
    /// A message: the opened message (the overall verdict flat, and `layers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened: Option<OpenedMessage>,
    /// A certificate: its summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateSummary>,
    /// A certificate: whether OWA sends with it (false only when `OWACheckCRLOnSend` is true and
    /// a CRL is unreachable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_allowed: Option<bool>,
    /// A recipient's certificate: whether it is the recipient's (their primary SMTP address, or
    /// a proxy address under `OWAUseSecondaryProxiesWhenFindingCertificates`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<crate::recipient_address::AddressCheck>,
    pub crl: CrlReport,
}

/// What was done about revocation.
#[derive(Debug, Serialize)]
pub struct CrlReport {
    pub check: CrlCheck,
    /// Each distribution point fetched (or given up on), in order.
    pub fetches: Vec<FetchReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrlCheck {
    /// Distribution points were fetched and the path checked against them.
    Checked,
    /// `OWADisableCRLCheck` is true: nothing fetched, revocation not checked.
    Disabled,
    /// Nothing to fetch: no path was validated (untrusted, malformed, encrypted...) or no
    /// certificate on it names a distribution point.
    NoneNeeded,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchReport {
    /// As the certificate names it (before the host map).
    pub url: String,
    pub fetched: bool,
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// Judges a request at `now` with the tenant's settings and CRL host map.
pub fn validate(
    request: &Request,
    settings: &Settings,
    hosts: &HostMap,
    now: OffsetDateTime,
) -> Validation {
    let context = |revocation: Revocation| {
        let mut ctx = VerifyContext::new(settings.anchors.clone(), now);
        ctx.revocation = revocation;
        ctx.directory = settings.directory.clone();
        ctx
    };
    let mut validation = match request {
        Request::Message {
            message,
            decryption,
        } => {
            let (identity, first) =
                open_as_reader(message, &context(Revocation::NotChecked), decryption);
            let key = identity.map(|i| (&i.certificate, &i.key));
            let (opened, crl) = with_revocation(
                first,
                settings,
                hosts,
                |opened: &OpenedMessage| message_points(opened),
                |revocation| smime::cms::open_message(message, &context(revocation), key),
            );
            Validation {
                status: opened.verdict.status,
                reasons: opened.verdict.reasons.clone(),
                weak: opened.verdict.weak,
                opened: Some(opened),
                certificate: None,
                send_allowed: None,
                address: None,
                crl,
            }
        }
        Request::Certificate {
            certificate,
            purpose,
            ..
        } => {
            let check = |revocation| match purpose {
                Purpose::Send => {
                    smime::cms::path::check_certificate(certificate, &[], &context(revocation))
                }
                Purpose::Encrypt => smime::cms::path::check_encryption_certificate(
                    certificate,
                    &[],
                    &context(revocation),
                ),
            };
            let first = check(Revocation::NotChecked);
            let (verdict, crl) = with_revocation(
                first,
                settings,
                hosts,
                |v: &smime::cms::Verdict| {
                    (!v.chain.is_empty()).then(|| v.crl_distribution_points.clone())
                },
                check,
            );
            // OWACheckCRLOnSend: "$true: When the CRL distribution point is inaccessible,
            // Outlook on the web displays a warning dialog box and prevents signed or encrypted
            // messages from being sent." It names no certificate, so it holds for the
            // recipients' as for the sender's.
            let crl_stops = settings.check_crl_on_send && verdict.status == Status::CrlUnreachable;
            let mut send_allowed = match purpose {
                Purpose::Send => !crl_stops,
                Purpose::Encrypt => {
                    !crl_stops && matches!(verdict.status, Status::Valid | Status::CrlUnreachable)
                }
            };
            let mut reasons = verdict.reasons;
            // Whose certificate it is (Set-SmimeConfig -OWAUseSecondaryProxiesWhenFindingCertificates).
            let address = match (&settings.recipient, purpose) {
                (Some(recipient), Purpose::Encrypt) => crate::recipient_address::hold(
                    certificate,
                    recipient,
                    settings.use_secondary_proxies,
                    (&mut send_allowed, &mut reasons),
                ),
                _ => None,
            };
            Validation {
                status: verdict.status,
                weak: verdict.weak,
                certificate: verdict.signer.as_ref().map(|s| s.certificate.clone()),
                reasons,
                opened: None,
                send_allowed: Some(send_allowed),
                address,
                crl,
            }
        }
    };
    if let Some(note) = &settings.anchor_note {
        validation.reasons.push(note.clone());
    }
    validation
}

/// Opens the message as its reader: with the first identity that opens every envelope, else
/// (none does) the first identity, whose verdict then says why (`cannot-decrypt`).
fn open_as_reader<'a>(
    message: &[u8],
    ctx: &VerifyContext,
    identities: &'a [Identity],
) -> (Option<&'a Identity>, OpenedMessage) {
    let mut first_try = None;
    for identity in identities {
        let opened =
            smime::cms::open_message(message, ctx, Some((&identity.certificate, &identity.key)));
        let all_open = !opened
            .layers
            .iter()
            .any(|l| matches!(l, Layer::Encrypted(e) if !e.decrypted));
        if all_open {
            return (Some(identity), opened);
        }
        first_try.get_or_insert((identity, opened));
    }
    match first_try {
        Some((identity, opened)) => (Some(identity), opened),
        None => (None, smime::cms::open_message(message, ctx, None)),
    }
}

/// The distribution points of every signed layer whose path validated; `None` when no path
/// did (nothing to check revocation of).
fn message_points(opened: &OpenedMessage) -> Option<Vec<String>> {
    let mut urls: Vec<String> = Vec::new();
    let mut any_path = false;
    for layer in &opened.layers {
        if let Layer::Signed { verdict } = layer
            && !verdict.chain.is_empty()
        {
            any_path = true;
            for url in &verdict.crl_distribution_points {
                if !urls.contains(url) {
                    urls.push(url.clone());
                }
            }
        }
    }
    any_path.then_some(urls)
}

/// The second pass: fetch what the first named (unless CRL checking is off) and judge again.
fn with_revocation<T>(
    first: T,
    settings: &Settings,
    hosts: &HostMap,
    points: impl Fn(&T) -> Option<Vec<String>>,
    judge: impl Fn(Revocation) -> T,
) -> (T, CrlReport) {
    if settings.disable_crl_check {
        return (
            first,
            CrlReport {
                check: CrlCheck::Disabled,
                fetches: Vec::new(),
            },
        );
    }
    let Some(urls) = points(&first) else {
        return (
            first,
            CrlReport {
                check: CrlCheck::NoneNeeded,
                fetches: Vec::new(),
            },
        );
    };
    let policy = FetchPolicy {
        connection_timeout: settings.connection_timeout,
        retrieval_timeout: Some(settings.retrieval_timeout),
        hosts: hosts.clone(),
    };
    let mut crls = Vec::new();
    let mut unreachable = Vec::new();
    let mut fetches = Vec::new();
    for fetch in crl::fetch_all(&urls, &policy) {
        let error = match fetch.result {
            Ok(der) => {
                crls.push(der);
                None
            }
            Err(e) => {
                let text = e.to_string();
                unreachable.push(text.clone());
                Some(text)
            }
        };
        fetches.push(FetchReport {
            url: fetch.url,
            fetched: error.is_none(),
            error,
            elapsed_ms: u64::try_from(fetch.elapsed.as_millis()).unwrap_or(u64::MAX),
        });
    }
    let check = if urls.is_empty() {
        CrlCheck::NoneNeeded
    } else {
        CrlCheck::Checked
    };
    (
        judge(Revocation::Crls { crls, unreachable }),
        CrlReport { check, fetches },
    )
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
