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

use serde::Serialize;
use smime::certificate::CertificateSummary;
use smime::cms::{Certificate, Layer, OpenedMessage, Revocation, Status, VerifyContext};
use time::OffsetDateTime;

use crate::cmdlets::smime_config::SmimeConfigData;
use crl::{FetchPolicy, HostMap};

mod request;
pub use request::{
    Identity, KDF_ITERATIONS_PER_REQUEST, MAX_IDENTITIES, PURPOSE_ENCRYPT, PURPOSE_SEND, Purpose,
    Request, RequestError, parse_request,
};
pub(crate) use request::{base64_field, object_fields, purpose_field, recipient_field};

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
    validate_with(request, settings, hosts, now, &mut Fetched::default())
}

/// The CRLs one request fetched, by distribution point as the certificates name it. A request
/// that judges many certificates ([`crate::batch`]) fetches each distribution point once, as a
/// message to many recipients is composed at one moment; a request of one certificate or message
/// starts empty, so it fetches as before.
#[derive(Default)]
pub struct Fetched(std::collections::HashMap<String, FetchedCrl>);

struct FetchedCrl {
    result: Result<Vec<u8>, String>,
    elapsed_ms: u64,
}

/// [`validate`] with the CRLs fetched so far in this request.
pub fn validate_with(
    request: &Request,
    settings: &Settings,
    hosts: &HostMap,
    now: OffsetDateTime,
    fetched: &mut Fetched,
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
                (hosts, &mut *fetched),
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
                (hosts, &mut *fetched),
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
    (hosts, fetched): (&HostMap, &mut Fetched),
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
    // What `crl::fetch_all` fetches: the http:// points, or (there is none) every point, each
    // reported as a scheme it does not fetch. Those this request has not fetched yet are
    // fetched together, under one retrieval timeout, as before.
    let wanted: Vec<&String> = if urls.iter().any(|u| u.starts_with("http://")) {
        urls.iter().filter(|u| u.starts_with("http://")).collect()
    } else {
        urls.iter().collect()
    };
    let missing: Vec<String> = wanted
        .iter()
        .filter(|u| !fetched.0.contains_key(u.as_str()))
        .map(|u| (*u).clone())
        .collect();
    if !missing.is_empty() {
        for fetch in crl::fetch_all(&missing, &policy) {
            let elapsed_ms = u64::try_from(fetch.elapsed.as_millis()).unwrap_or(u64::MAX);
            let result = fetch.result.map_err(|e| e.to_string());
            fetched
                .0
                .insert(fetch.url, FetchedCrl { result, elapsed_ms });
        }
    }
    let mut crls = Vec::new();
    let mut unreachable = Vec::new();
    let mut fetches = Vec::new();
    for url in wanted {
        let Some(fetch) = fetched.0.get(url) else {
            continue;
        };
        let error = match &fetch.result {
            Ok(der) => {
                crls.push(der.clone());
                None
            }
            Err(text) => {
                unreachable.push(text.clone());
                Some(text.clone())
            }
        };
        fetches.push(FetchReport {
            url: url.clone(),
            fetched: error.is_none(),
            error,
            elapsed_ms: fetch.elapsed_ms,
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
