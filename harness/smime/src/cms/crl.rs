//! CRLs as the verifier takes them: version 2 goes to rustls-webpki with the path, version 1 is
//! applied here, because webpki reads only v2 ("UnsupportedCrlVersion", or `BadDer` when the
//! version field is absent, as it is in every v1 CRL).
//!
//! A v1 CRL is legal: RFC 5280 §5.1.2.1 says of the version field "This optional field describes
//! the version of the encoded CRL. When extensions are used, as required by this profile, this
//! field MUST be present and MUST specify version 2". Without extensions the field is absent and
//! the CRL is v1. `openssl ca -gencrl` writes one whenever no `crl_extensions` is configured, and
//! many older CAs publish them. Windows' CryptoAPI reads both: its `CRL_INFO.dwVersion` is
//! "CRL_V1 version 1" or "CRL_V2 version 2" (learn.microsoft.com, wincrypt.h, CRL_INFO structure).
//!
//! A v1 CRL has by definition no extensions: no issuing distribution point, no delta CRLs, no
//! critical extensions, no entry reasons (so no certificateHold). What it can say is applied as
//! RFC 5280 §6.3.3 does for a complete CRL: the issuer name is the certificate's issuer, the
//! signature verifies with that issuer's key (whose keyUsage, if present, allows cRLSign), the
//! CRL is current at `now` (thisUpdate not after it, nextUpdate after it), and then the serial is
//! looked up.

use der::asn1::{AnyRef, BitString};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::certificate::TbsCertListAnyVersion;

use super::verdict::Status;
use crate::checks::signature::{self, Scheme};

/// The outer CertificateList with the TBS kept as its exact bytes: the signature covers them.
#[derive(Sequence)]
struct SignedList<'a> {
    tbs: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// A CRL as read: v2 for webpki (with its issuer name, for [`uncovered`]), v1 for
/// [`check_chain`].
pub(crate) enum ParsedCrl {
    V2(webpki::OwnedCertRevocationList, Name),
    V1(CrlV1),
}

impl ParsedCrl {
    /// The issuer name the CRL states (not yet believed: its signature is checked only against
    /// the certificate it applies to).
    pub(crate) fn issuer(&self) -> &Name {
        match self {
            Self::V2(_, issuer) => issuer,
            Self::V1(crl) => &crl.issuer,
        }
    }
}

/// A v1 CRL, decoded and not yet trusted: nothing here is believed before its signature is.
#[derive(Clone, Debug)]
pub(crate) struct CrlV1 {
    tbs_der: Vec<u8>,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
    issuer: Name,
    this_update: u64,
    next_update: Option<u64>,
    /// The revoked serial numbers, as their INTEGER content bytes.
    revoked: Vec<Vec<u8>>,
}

/// Reads a DER CRL of either version. The error says what is wrong in a reader's terms (the
/// caller adds which file or URL it came from).
pub(crate) fn parse(der: &[u8]) -> Result<ParsedCrl, String> {
    let outer = SignedList::from_der(der)
        .map_err(|e| {
            format!(
                "not a DER X.509 CRL (CertificateList: {e}); give the CRL as DER or as PEM (-----BEGIN X509 CRL-----)"
            )
        })?;
    let tbs_der = outer
        .tbs
        .to_der()
        .map_err(|e| format!("not a DER X.509 CRL (tbsCertList: {e})"))?;
    let tbs = TbsCertListAnyVersion::from_der(&tbs_der)
        .map_err(|e| format!("not a DER X.509 CRL (tbsCertList: {e})"))?;
    match tbs.version {
        Some(Version::V2) => webpki::OwnedCertRevocationList::from_der(der)
            .map(|crl| ParsedCrl::V2(crl, tbs.issuer))
            .map_err(|e| format!("a version 2 CRL the path validator refuses ({e:?})")),
        Some(other) => Err(format!(
            "CRL version field {} is neither absent (v1) nor v2 (RFC 5280 §5.1.2.1: \"if present, MUST be v2\")",
            other as u8
        )),
        None => v1(outer, tbs_der, tbs).map(ParsedCrl::V1),
    }
}

fn v1(
    outer: SignedList<'_>,
    tbs_der: Vec<u8>,
    tbs: TbsCertListAnyVersion,
) -> Result<CrlV1, String> {
    // RFC 5280 §5.1.2.7: crlExtensions "may only appear if the version is 2"; §5.3: "CRL entry
    // extensions ... if present, version MUST be v2". A v1 CRL that has them is malformed.
    if tbs.crl_extensions.is_some() {
        return Err(
            "the CRL has extensions but no version field: it must say version 2 (RFC 5280 §5.1.2.1)"
                .to_owned(),
        );
    }
    let revoked_certificates = tbs.revoked_certificates.unwrap_or_default();
    if revoked_certificates
        .iter()
        .any(|r| r.crl_entry_extensions.is_some())
    {
        return Err(
            "a CRL entry has extensions but the CRL has no version field: it must say version 2 (RFC 5280 §5.1.2.1)"
                .to_owned(),
        );
    }
    // RFC 5280 §5.1.2.2: "This field MUST contain the same algorithm identifier as the
    // signatureAlgorithm field in the sequence CertificateList".
    if tbs.signature != outer.signature_algorithm {
        return Err(
            "the CRL's inner and outer signature algorithms differ (RFC 5280 §5.1.2.2)".to_owned(),
        );
    }
    Ok(CrlV1 {
        tbs_der,
        algorithm: outer.signature_algorithm,
        signature: outer.signature,
        issuer: tbs.issuer,
        this_update: unix(&tbs.this_update),
        next_update: tbs.next_update.as_ref().map(unix),
        revoked: revoked_certificates
            .iter()
            .map(|r| r.serial_number.as_bytes().to_vec())
            .collect(),
    })
}

fn unix(time: &Time) -> u64 {
    time.to_unix_duration().as_secs()
}

/// What the v1 CRLs say about a validated path (signer first; each certificate's issuer follows
/// it; the last one is the anchor, which is trusted as given and not looked up).
///
/// A certificate no v1 CRL names by issuer is not judged here: the v2 CRLs (webpki) and the
/// caller's list of unreachable distribution points cover it. Of the v1 CRLs naming its issuer,
/// only those whose signature verifies with the issuer's key are believed: one of them that is
/// current and lists the serial makes it revoked; one that is current and does not list it
/// clears it; when every believable one is stale, or none is believable, its revocation status is
/// unknown, which is what Windows reports as CERT_TRUST_REVOCATION_STATUS_UNKNOWN ("The
/// revocation status of the certificate or one of the certificates in the certificate chain is
/// unknown", CERT_TRUST_STATUS) and Exchange as the CRL being offline (`Status::CrlUnreachable`).
///
/// The first revocation and the first unknown status are kept apart (a revoked certificate
/// outranks any unknown status, and the caller ranks both against unreachable CRLs).
pub(crate) fn check_chain(chain: &[Certificate], crls: &[CrlV1], now: u64) -> V1Findings {
    let mut revoked = None;
    let mut unknown = None;
    for pair in chain.windows(2) {
        let (Some(cert), Some(issuer)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        match judge(cert, issuer, crls, now) {
            Judgement::NotCovered | Judgement::Good => {}
            Judgement::Revoked(why) => {
                revoked.get_or_insert((Status::Revoked, why));
            }
            Judgement::Unknown(why) => {
                unknown.get_or_insert((Status::CrlUnreachable, why));
            }
        }
    }
    V1Findings { revoked, unknown }
}

/// What the v1 CRLs found on a path, first in path order; `None` when nothing.
#[derive(Debug, Default)]
pub(crate) struct V1Findings {
    /// `Status::Revoked` and why.
    pub revoked: Option<(Status, String)>,
    /// `Status::CrlUnreachable` and why: a stale, not yet current or unbelievable CRL.
    pub unknown: Option<(Status, String)>,
}

enum Judgement {
    NotCovered,
    Good,
    Revoked(String),
    Unknown(String),
}

fn judge(cert: &Certificate, issuer: &Certificate, crls: &[CrlV1], now: u64) -> Judgement {
    let tbs = cert.tbs_certificate();
    let subject = tbs.subject().to_string();
    let issuer_name = issuer.tbs_certificate().subject().to_string();
    let candidates: Vec<&CrlV1> = crls.iter().filter(|c| &c.issuer == tbs.issuer()).collect();
    if candidates.is_empty() {
        return Judgement::NotCovered;
    }
    let mut problems: Vec<String> = Vec::new();
    let mut current = Vec::new();
    for crl in candidates {
        if let Err(why) = believable(crl, issuer) {
            problems.push(why);
            continue;
        }
        if crl.this_update > now {
            problems.push(format!(
                "the v1 CRL of {issuer_name} is not valid yet: its thisUpdate is {}",
                timestamp(crl.this_update)
            ));
            continue;
        }
        // RFC 5280 §5.1.2.5: "Conforming CRL issuers MUST include the nextUpdate time in all
        // CRLs". A v1 CRL without one states no end, so it is taken as current; one with it is
        // stale from that instant on, as webpki judges v2 (`time >= next_update`).
        if let Some(next) = crl.next_update
            && now >= next
        {
            problems.push(format!(
                "the v1 CRL of {issuer_name} has passed its nextUpdate ({}): fetch a fresh one",
                timestamp(next)
            ));
            continue;
        }
        current.push(crl);
    }
    let serial = tbs.serial_number().as_bytes();
    if current
        .iter()
        .any(|crl| crl.revoked.iter().any(|s| s.as_slice() == serial))
    {
        return Judgement::Revoked(format!(
            "the v1 CRL of {issuer_name} lists {subject} as revoked"
        ));
    }
    if !current.is_empty() {
        return Judgement::Good;
    }
    Judgement::Unknown(format!(
        "{} ({})",
        super::path::CRL_OFFLINE_TEXT,
        problems.join("; ")
    ))
}

/// The certificates of a validated path (signer first, anchor last; the anchor is trusted as
/// given and not looked up) that no CRL applies to: no CRL of either version names their issuer.
///
/// With revocation checked, such a certificate's status is unknown, not good. Windows' chain
/// engine says so: when the revocation provider cannot check a certificate
/// (CRYPT_E_NO_REVOCATION_CHECK, "The revocation function was unable to check revocation for the
/// certificate", Certificate and trust return values) the chain carries
/// CERT_TRUST_REVOCATION_STATUS_UNKNOWN, which Exchange shows as the CRL being offline. It is
/// also rustls-webpki's default, `UnknownStatusPolicy::Deny` ("Treat unknown revocation status as
/// an error condition, yielding Error::UnknownRevocationStatus"); the path validator runs with
/// `Allow` only because v1 CRLs are applied outside it, and this check puts `Deny` back for the
/// path as a whole. A CRL whose issuer name was damaged (one flipped byte) applies to nothing, so
/// it cannot clear a certificate.
///
/// Coverage is by issuer name (RFC 5280 §6.3.3 (b): the CRL issuer matches the certificate's
/// issuer); a v2 CRL whose issuing distribution point narrows its scope is judged further by
/// webpki, which does not report a certificate outside that scope as unknown under `Allow` — a
/// gap this name check does not close.
pub(crate) fn uncovered<'a>(chain: &'a [Certificate], issuers: &[&Name]) -> Vec<&'a Certificate> {
    let below_anchor = chain.len().saturating_sub(1);
    chain
        .iter()
        .take(below_anchor)
        .filter(|cert| !issuers.contains(&cert.tbs_certificate().issuer()))
        .collect()
}

/// Whether the CRL is what `issuer` signed: its key verifies the signature with an algorithm the
/// path validator would also accept for a v2 CRL (no MD5 or SHA-1: rustls-webpki refuses those),
/// and its keyUsage, when present, allows cRLSign (RFC 5280 §4.2.1.3: "The cRLSign bit is
/// asserted when the subject public key is used for verifying signatures on certificate
/// revocation lists").
fn believable(crl: &CrlV1, issuer: &Certificate) -> Result<(), String> {
    let issuer_tbs = issuer.tbs_certificate();
    let name = issuer_tbs.subject().to_string();
    let scheme = Scheme::from_algorithm(&crl.algorithm);
    if scheme.hash().is_some_and(|h| h.is_weak()) {
        return Err(format!(
            "the v1 CRL naming {name} is signed with {}, which is too weak to prove anything",
            scheme.name()
        ));
    }
    match signature::verify(
        &crl.tbs_der,
        &crl.algorithm,
        &crl.signature,
        issuer_tbs.subject_public_key_info(),
    ) {
        signature::Verdict::Valid => {}
        signature::Verdict::Invalid(why) => {
            return Err(format!(
                "the v1 CRL naming {name} is not signed by that CA's key ({why}): it proves nothing"
            ));
        }
        signature::Verdict::Unsupported(what) => {
            return Err(format!(
                "the v1 CRL naming {name} is signed with {what}, which this verifier cannot check"
            ));
        }
    }
    match issuer_tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) if !ku.crl_sign() => Err(format!(
            "{name} may not sign CRLs: its keyUsage lacks cRLSign (RFC 5280 §4.2.1.3)"
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{name}'s keyUsage does not decode ({e})")),
    }
}

fn timestamp(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{unix} (Unix seconds)"))
}
