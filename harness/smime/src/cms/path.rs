//! Certification path of the signer: rustls-webpki builds and checks it (anchors, intermediates
//! from the message, validity at `now`, extended key usage, CRLs); this module adds what webpki
//! leaves out for S/MIME — key usage of the signer, naming the weak algorithms webpki refuses,
//! and the CRL distribution points a caller must fetch.

use der::{Decode, Encode};
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{
    CertRevocationList, ExpirationPolicy, ExtendedKeyUsageValidator, KeyPurposeId,
    KeyPurposeIdIter, RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{CrlDistributionPoints, KeyUsage};

use super::address::certificate_mailboxes;
use super::algorithms::{oid_name, oids, rsa_public_key};
use super::crl::ParsedCrl;
use super::verdict::{SignerReport, Status, Verdict};
use super::verify::{VerifyContext, check_signer_key_size, check_signer_path};

/// Revocation checking, decided by the caller (this crate does no I/O).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Revocation {
    /// Not checked; the verdict says so in its reasons.
    #[default]
    NotChecked,
    /// Check the path against these DER CRLs. `unreachable` lists the distribution points the
    /// caller could not fetch: any entry makes the verdict `crl-unreachable`, as Exchange does.
    Crls {
        crls: Vec<Vec<u8>>,
        unreachable: Vec<String>,
    },
}

/// A CRL file or HTTP body as DER: PEM (`-----BEGIN X509 CRL-----`) is decoded, DER is taken as
/// is; either way it must parse as a CRL, version 1 or 2 (`cms::crl` says why v1 is legal).
pub fn crl_der(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let der = if bytes
        .get(start..)
        .is_some_and(|b| b.starts_with(b"-----BEGIN"))
    {
        let text = String::from_utf8_lossy(bytes.get(start..).unwrap_or_default()).into_owned();
        let (label, der) = der::pem::decode_vec(text.trim().as_bytes())
            .map_err(|e| format!("PEM does not decode: {e}"))?;
        if label != "X509 CRL" {
            return Err(format!("PEM label {label:?}, expected \"X509 CRL\""));
        }
        der
    } else {
        bytes.to_vec()
    };
    super::crl::parse(&der)?;
    Ok(der)
}

/// Checks a certificate on its own, as Outlook on the web checks the sender's certificate
/// before it signs (and, with `OWACheckCRLOnSend`, refuses to send when a CRL is offline): the
/// path from it to `ctx.anchors` at `ctx.now`, with `intermediates_der` (DER certificates, may be
/// empty: anchors need no intermediates), its key usage for signing, its key size, weak
/// algorithms on the path, and revocation as `ctx.revocation` says. `ctx.sender`, when given,
/// must be one of the certificate's mailboxes (`signer-mismatch` otherwise).
///
/// The verdict's `signer` and `certificates` describe the certificate, `chain` and
/// `crl_distribution_points` its path (check once without revocation to learn what to fetch,
/// then again with the CRLs, as for a message); the message fields stay empty. Never panics:
/// bytes that are not a certificate are `malformed`.
pub fn check_certificate(
    certificate_der: &[u8],
    intermediates_der: &[Vec<u8>],
    ctx: &VerifyContext,
) -> Verdict {
    check_certificate_for(
        certificate_der,
        intermediates_der,
        ctx,
        EndEntityUse::Signing,
    )
}

/// What the end-entity certificate of a path is checked for: its key usage (RFC 8550 §4.4.2)
/// and, for signing, its key size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndEntityUse {
    /// Signing mail: keyUsage digitalSignature or nonRepudiation; an RSA key below 2048 bits is
    /// `weak`.
    Signing,
    /// Encrypting mail to the certificate's holder: keyUsage keyEncipherment (RSA) or
    /// keyAgreement (EC). The key size is the sender's business, not the path's.
    Encryption,
}

/// [`check_certificate`] for a recipient's certificate before encrypting to it, as Outlook on
/// the web checks it: the same path to `ctx.anchors` (validity, emailProtection, weak
/// algorithms, revocation), with the key usage of an encryption certificate.
pub fn check_encryption_certificate(
    certificate_der: &[u8],
    intermediates_der: &[Vec<u8>],
    ctx: &VerifyContext,
) -> Verdict {
    check_certificate_for(
        certificate_der,
        intermediates_der,
        ctx,
        EndEntityUse::Encryption,
    )
}

fn check_certificate_for(
    certificate_der: &[u8],
    intermediates_der: &[Vec<u8>],
    ctx: &VerifyContext,
    usage: EndEntityUse,
) -> Verdict {
    let mut v = Verdict::new();
    let certificate = match Certificate::from_der(certificate_der) {
        Ok(c) => c,
        Err(e) => {
            v.fail(
                Status::Malformed,
                format!("the certificate is not a DER X.509 certificate: {e}"),
            );
            return v;
        }
    };
    let held = Held {
        cert: certificate,
        der: certificate_der.to_vec(),
    };
    let intermediates: Vec<Held> = intermediates_der
        .iter()
        .filter_map(|der| {
            Certificate::from_der(der).ok().map(|cert| Held {
                cert,
                der: der.clone(),
            })
        })
        .collect();
    let summary = crate::certificate::CertificateSummary::of_der(&held.cert, &held.der);
    let mailboxes = certificate_mailboxes(&held.cert);
    v.certificates = vec![summary.clone()];
    v.signer = Some(SignerReport {
        certificate: summary,
        mailboxes: mailboxes.clone(),
    });
    if usage == EndEntityUse::Signing {
        check_signer_key_size(&held.cert, &mut v);
    }
    check_signer_path(&held, &intermediates, ctx, usage, &mut v);
    if let Some(sender) = &ctx.sender {
        let wanted = sender.trim().to_ascii_lowercase();
        if !mailboxes.contains(&wanted) {
            v.fail(
                Status::SignerMismatch,
                format!(
                    "the certificate is issued to {}, not to {sender}",
                    if mailboxes.is_empty() {
                        "no mailbox".to_owned()
                    } else {
                        mailboxes.join(", ")
                    }
                ),
            );
        }
    }
    v
}

/// The text Exchange Online and OWA show when a CRL cannot be fetched.
pub const CRL_OFFLINE_TEXT: &str = "The online certificate revocation list (CRL) that the certificate chain relies on is currently offline";

/// What path validation found.
#[derive(Debug, Default)]
pub(crate) struct PathOutcome {
    /// The first problem, as a status and its reason.
    pub failure: Option<(Status, String)>,
    pub notes: Vec<String>,
    pub weak: Vec<String>,
    /// The validated path, signer first, anchor last.
    pub chain: Vec<Certificate>,
    pub crl_distribution_points: Vec<String>,
}

const EMAIL_PROTECTION: &[u8] = const_oid::db::rfc5280::ID_KP_EMAIL_PROTECTION.as_bytes();
const ANY_EKU: &[u8] = const_oid::db::rfc5280::ANY_EXTENDED_KEY_USAGE.as_bytes();

/// RFC 8550 §4.4.4: if extendedKeyUsage is present it must allow emailProtection (or
/// anyExtendedKeyUsage); absent means unrestricted. webpki applies the validator to every
/// certificate on the path, which is what RFC 5280 path processing wants for EKU-constrained CAs.
struct EmailProtection;

impl ExtendedKeyUsageValidator for EmailProtection {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let mut present = Vec::new();
        for purpose in iter {
            let purpose = purpose?;
            if purpose == KeyPurposeId::new(EMAIL_PROTECTION)
                || purpose == KeyPurposeId::new(ANY_EKU)
            {
                return Ok(());
            }
            present.push(purpose.to_decoded_oid());
        }
        if present.is_empty() {
            Ok(())
        } else {
            Err(webpki::Error::RequiredEkuNotFoundContext(
                webpki::RequiredEkuNotFoundContext {
                    required: webpki::KeyUsage::required_if_present(EMAIL_PROTECTION),
                    present,
                },
            ))
        }
    }
}

fn der_of(cert: &Certificate) -> Vec<u8> {
    cert.to_der().unwrap_or_default()
}

/// A certificate with the exact bytes it arrived as. Certificate signatures cover the original
/// encoding, and a decode/re-encode round trip can normalise what some CAs write (an explicit
/// `critical FALSE`, say), which would break the signature webpki checks.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    pub cert: Certificate,
    pub der: Vec<u8>,
}

/// Validates the path from `signer` to one of `anchors` at `now` (Unix seconds), with
/// `intermediates` (usually every certificate in the message).
pub(crate) fn validate(
    signer_held: &Held,
    intermediates_held: &[Held],
    anchors: &[Certificate],
    now: u64,
    revocation: &Revocation,
    usage: EndEntityUse,
) -> PathOutcome {
    let signer = &signer_held.cert;
    let intermediates: Vec<Certificate> =
        intermediates_held.iter().map(|h| h.cert.clone()).collect();
    let intermediates = intermediates.as_slice();
    let mut out = PathOutcome::default();
    match usage {
        EndEntityUse::Signing => check_signer_key_usage(signer, &mut out),
        EndEntityUse::Encryption => check_encryption_key_usage(signer, &mut out),
    }

    if anchors.is_empty() {
        out.failure = Some((
            Status::Untrusted,
            "no trust anchors were given: pass the issuing CA or root certificates (PEM, DER or the SST Exchange holds)".to_owned(),
        ));
        return out;
    }

    let signer_der = CertificateDer::from(signer_held.der.clone());
    let intermediate_ders: Vec<CertificateDer<'static>> = intermediates_held
        .iter()
        .map(|h| CertificateDer::from(h.der.clone()))
        .filter(|d| d.as_ref() != signer_der.as_ref())
        .collect();
    let anchor_ders: Vec<CertificateDer<'static>> = anchors
        .iter()
        .map(|c| CertificateDer::from(der_of(c)))
        .collect();
    let mut trust_anchors = Vec::new();
    let mut anchor_index = Vec::new();
    for (i, der) in anchor_ders.iter().enumerate() {
        match webpki::anchor_from_trusted_cert(der) {
            Ok(a) => {
                trust_anchors.push(a);
                anchor_index.push(i);
            }
            Err(e) => out.notes.push(format!(
                "trust anchor {} is not usable: {e:?}",
                anchors
                    .get(i)
                    .map(|c| c.tbs_certificate().subject().to_string())
                    .unwrap_or_default()
            )),
        }
    }

    let end_entity = match webpki::EndEntityCert::try_from(&signer_der) {
        Ok(ee) => ee,
        Err(e) => {
            out.failure = Some((
                Status::Untrusted,
                format!("the signer's certificate is not acceptable to the path validator: {e:?}"),
            ));
            return out;
        }
    };

    let mut owned_crls = Vec::new();
    let mut v1_crls = Vec::new();
    // Each CRL read, by its place among those given and its stated issuer.
    let mut crl_issuers: Vec<(usize, x509_cert::name::Name)> = Vec::new();
    let mut unreachable: Vec<String> = Vec::new();
    if let Revocation::Crls {
        crls,
        unreachable: u,
    } = revocation
    {
        unreachable.extend(u.iter().cloned());
        for (i, der) in crls.iter().enumerate() {
            match super::crl::parse(der) {
                Ok(parsed) => {
                    crl_issuers.push((i + 1, parsed.issuer().clone()));
                    match parsed {
                        ParsedCrl::V2(crl, _) => owned_crls.push(CertRevocationList::from(crl)),
                        // webpki reads v2 only; v1 CRLs are applied to the validated path below.
                        ParsedCrl::V1(crl) => v1_crls.push(crl),
                    }
                }
                Err(e) => unreachable.push(format!("CRL #{} given: {e}", i + 1)),
            }
        }
    }
    let crl_refs: Vec<&CertRevocationList<'_>> = owned_crls.iter().collect();
    let revocation_options = match revocation {
        Revocation::NotChecked => None,
        Revocation::Crls { .. } => RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
            b.with_depth(RevocationCheckDepth::Chain)
                // A certificate no given CRL covers is the caller's business: it fetches every
                // distribution point and reports the ones it could not reach as `unreachable`.
                .with_status_policy(UnknownStatusPolicy::Allow)
                .with_expiration_policy(ExpirationPolicy::Enforce)
                .build()
        }),
    };

    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now));
    let result = end_entity.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &trust_anchors,
        &intermediate_ders,
        time,
        EmailProtection,
        revocation_options,
        None,
    );

    match result {
        Ok(path) => {
            out.chain.push(signer.clone());
            for cert in path.intermediate_certificates() {
                if let Some(h) = intermediates_held
                    .iter()
                    .find(|h| h.der.as_slice() == cert.der().as_ref())
                {
                    out.chain.push(h.cert.clone());
                }
            }
            let anchor = path.anchor();
            if let Some(c) = trust_anchors
                .iter()
                .position(|a| {
                    a.subject == anchor.subject
                        && a.subject_public_key_info == anchor.subject_public_key_info
                })
                .and_then(|i| anchor_index.get(i))
                .and_then(|&i| anchors.get(i))
            {
                out.chain.push(c.clone());
            }
            // The anchor's own CRL distribution point is not consulted: it is trusted as given.
            let below_anchor = out.chain.len().saturating_sub(1);
            for cert in out.chain.iter().take(below_anchor) {
                for url in crl_distribution_points(cert) {
                    if !out.crl_distribution_points.contains(&url) {
                        out.crl_distribution_points.push(url);
                    }
                }
            }
            weak_scan(&out.chain, true, &mut out.weak);
            match revocation {
                Revocation::NotChecked => out.notes.push(
                    "revocation not checked: no CRLs were given and fetching was not requested"
                        .to_owned(),
                ),
                Revocation::Crls { .. } => {
                    let super::crl::V1Findings { revoked, unknown } =
                        super::crl::check_chain(&out.chain, &v1_crls, now);
                    let not_covered = uncovered_status(&out.chain, &crl_issuers);
                    note_crls_applying_to_nothing(&out.chain, &crl_issuers, &mut out.notes);
                    // A revocation is news whatever else is missing; then an unreachable CRL,
                    // then a v1 CRL that could not be believed or is stale, then a certificate
                    // no CRL applies to.
                    out.failure = revoked
                        .or_else(|| {
                            (!unreachable.is_empty()).then(|| {
                                (
                                    Status::CrlUnreachable,
                                    format!("{CRL_OFFLINE_TEXT} ({})", unreachable.join(", ")),
                                )
                            })
                        })
                        .or(unknown)
                        .or(not_covered)
                        .or(out.failure.take());
                }
            }
        }
        Err(e) => {
            let naive = naive_chain(signer, intermediates, anchors);
            let reaches_anchor = naive.last().is_some_and(|c| anchors.contains(c));
            let ends_in_anchor = reaches_anchor && naive.len() > 1;
            weak_scan(&naive, ends_in_anchor, &mut out.weak);
            // Only weaknesses of the certificates webpki verifies (issuer keys, certificate
            // signatures) explain a refused path; a weak signer key alone does not.
            let mut path_weak = Vec::new();
            if reaches_anchor {
                weak_scan(
                    naive.get(1..).unwrap_or_default(),
                    ends_in_anchor,
                    &mut path_weak,
                );
                if let Some(signer_sig) = signature_weakness(signer) {
                    path_weak.insert(0, signer_sig);
                }
            }
            out.failure = Some(classify_path_error(&e, &path_weak, &unreachable));
        }
    }
    out
}

/// The first certificate below the anchor that no CRL applies to, as an unknown revocation
/// status (`cms::crl::uncovered` says why that is not `valid`).
fn uncovered_status(
    chain: &[Certificate],
    crl_issuers: &[(usize, x509_cert::name::Name)],
) -> Option<(Status, String)> {
    let issuers: Vec<&x509_cert::name::Name> = crl_issuers.iter().map(|(_, n)| n).collect();
    let cert = super::crl::uncovered(chain, &issuers).into_iter().next()?;
    let tbs = cert.tbs_certificate();
    let subject = tbs.subject().to_string();
    let issuer = tbs.issuer().to_string();
    let why = if crl_distribution_points(cert).is_empty() {
        format!(
            "{subject} names no CRL distribution point and no CRL given is from its issuer {issuer}: its revocation status is unknown; give {issuer}'s CRL"
        )
    } else {
        format!(
            "no CRL given or fetched is from {issuer}, the issuer of {subject}: its revocation status is unknown (a CRL applies to the certificates whose issuer it names); give {issuer}'s CRL"
        )
    };
    Some((
        Status::CrlUnreachable,
        format!("{CRL_OFFLINE_TEXT} ({why})"),
    ))
}

/// A note for each CRL given whose issuer is no certificate's issuer on the path: it was read
/// and proved nothing (a damaged issuer name, or another CA's CRL).
fn note_crls_applying_to_nothing(
    chain: &[Certificate],
    crl_issuers: &[(usize, x509_cert::name::Name)],
    notes: &mut Vec<String>,
) {
    let below_anchor = chain.len().saturating_sub(1);
    for (number, name) in crl_issuers {
        if !chain
            .iter()
            .take(below_anchor)
            .any(|c| c.tbs_certificate().issuer() == name)
        {
            notes.push(format!(
                "CRL #{number} (issuer {}) applies to no certificate on the path: it was not used",
                crate::shown::quoted(&name.to_string())
            ));
        }
    }
}

fn classify_path_error(
    e: &webpki::Error,
    weak: &[String],
    unreachable: &[String],
) -> (Status, String) {
    use webpki::Error as E;
    let detail = short_error(e);
    match e {
        E::CertExpired { .. } => (
            Status::Expired,
            "a certificate on the signer's path has expired at the verification time".to_owned(),
        ),
        E::CertNotValidYet { .. } => (
            Status::NotYetValid,
            "a certificate on the signer's path is not valid yet at the verification time"
                .to_owned(),
        ),
        E::CertRevoked => (
            Status::Revoked,
            "a CRL lists the signer's certificate or one of its issuers as revoked".to_owned(),
        ),
        E::CrlExpired { .. } => (
            Status::CrlUnreachable,
            format!("{CRL_OFFLINE_TEXT} (the CRL given has passed its nextUpdate: fetch a fresh one)"),
        ),
        // A CRL that its issuer's key did not sign (or signed with an algorithm refused, or a
        // key not allowed to sign CRLs) proves nothing either way: the revocation status is
        // unknown, as for a v1 CRL in `cms::crl` (CERT_TRUST_REVOCATION_STATUS_UNKNOWN on Windows,
        // the CRL offline in Exchange).
        E::InvalidCrlSignatureForPublicKey
        | E::UnsupportedCrlSignatureAlgorithmContext(_)
        | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_)
        | E::IssuerNotCrlSigner => (
            Status::CrlUnreachable,
            format!(
                "{CRL_OFFLINE_TEXT} (a CRL given for the path cannot be believed: {detail}; it proves nothing about revocation)"
            ),
        ),
        E::UnknownRevocationStatus => (
            Status::CrlUnreachable,
            format!("{CRL_OFFLINE_TEXT} ({})", unreachable.join(", ")),
        ),
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | E::InvalidSignatureForPublicKey
        | E::UnknownIssuer
            if !weak.is_empty() =>
        {
            (
                Status::Weak,
                format!(
                    "the certificate chain uses algorithms the path validator refuses as too weak ({}) ({detail})",
                    weak.join("; ")
                ),
            )
        }
        E::UnknownIssuer => (
            Status::Untrusted,
            "the signer's certificate does not chain to any given trust anchor (intermediates are taken from the message; add the issuing CA to the anchors or the message)".to_owned(),
        ),
        E::RequiredEkuNotFoundContext(_) => (
            Status::Untrusted,
            "a certificate on the path has an extendedKeyUsage without emailProtection (RFC 8550 §4.4.4)".to_owned(),
        ),
        E::CaUsedAsEndEntity => (
            Status::Untrusted,
            "the signer's certificate is a CA certificate, not an end-entity one".to_owned(),
        ),
        _ => (
            Status::Untrusted,
            format!("the signer's certificate path does not validate: {detail}"),
        ),
    }
}

/// webpki's Debug output lists every supported algorithm; a person needs the one refused.
fn short_error(e: &webpki::Error) -> String {
    use webpki::Error as E;
    let alg = |id: &[u8]| -> String {
        // The identifier is the AlgorithmIdentifier's content: an OID TLV, then parameters.
        id.get(2..)
            .zip(id.get(1))
            .and_then(|(rest, &len)| rest.get(..usize::from(len)))
            .and_then(|oid| const_oid::ObjectIdentifier::from_bytes(oid).ok())
            .map(|oid| oid_name(&oid))
            .unwrap_or_else(|| hex::encode(id))
    };
    match e {
        E::UnsupportedSignatureAlgorithmContext(c) => {
            format!(
                "unsupported signature algorithm {}",
                alg(&c.signature_algorithm_id)
            )
        }
        E::UnsupportedSignatureAlgorithmForPublicKeyContext(c) => format!(
            "signature algorithm {} unsupported for that public key",
            alg(&c.signature_algorithm_id)
        ),
        other => format!("{other:?}"),
    }
}

/// RFC 8550 §4.4.2: a key usage extension, when present, must allow digitalSignature or
/// nonRepudiation for the certificate to sign mail. webpki does not check key usage of the
/// end entity, so this does.
fn check_signer_key_usage(signer: &Certificate, out: &mut PathOutcome) {
    match signer.tbs_certificate().get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => {
            if !ku.digital_signature() && !ku.non_repudiation() {
                out.failure = Some((
                    Status::Untrusted,
                    "the signer's certificate key usage allows neither digitalSignature nor nonRepudiation: it may not sign mail (RFC 8550 §4.4.2)".to_owned(),
                ));
            }
        }
        Ok(None) => {}
        Err(e) => {
            out.failure = Some((
                Status::Untrusted,
                format!("the signer's keyUsage extension does not decode: {e}"),
            ));
        }
    }
}

/// RFC 8550 §4.4.2 (key usage, paraphrased): a key usage extension, when present, must allow
/// what the key is used for; to encrypt mail to the holder that is keyEncipherment (key
/// transport, RSA) or keyAgreement (EC).
fn check_encryption_key_usage(certificate: &Certificate, out: &mut PathOutcome) {
    match certificate.tbs_certificate().get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => {
            if !ku.key_encipherment() && !ku.key_agreement() {
                out.failure = Some((
                    Status::Untrusted,
                    "the certificate's key usage allows neither keyEncipherment nor keyAgreement: mail cannot be encrypted to it (RFC 8550 §4.4.2)".to_owned(),
                ));
            }
        }
        Ok(None) => {}
        Err(e) => {
            out.failure = Some((
                Status::Untrusted,
                format!("the certificate's keyUsage extension does not decode: {e}"),
            ));
        }
    }
}

/// The URIs of a certificate's CRL distribution points.
pub fn crl_distribution_points(cert: &Certificate) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some((_, dps))) = cert
        .tbs_certificate()
        .get_extension::<CrlDistributionPoints>()
    {
        for dp in &dps.0 {
            if let Some(DistributionPointName::FullName(names)) = &dp.distribution_point {
                for name in names {
                    if let GeneralName::UniformResourceIdentifier(uri) = name {
                        out.push(uri.to_string());
                    }
                }
            }
        }
    }
    out
}

/// A chain by names only (subject = issuer), for explaining a failure webpki reports: the
/// certificates the signer most plausibly relies on.
fn naive_chain(
    signer: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
) -> Vec<Certificate> {
    let mut chain = vec![signer.clone()];
    let mut current = signer.clone();
    for _ in 0..8 {
        let issuer = current.tbs_certificate().issuer();
        if issuer == current.tbs_certificate().subject() {
            break;
        }
        let next = anchors
            .iter()
            .chain(intermediates.iter())
            .find(|c| c.tbs_certificate().subject() == issuer && *c != &current);
        match next {
            Some(n) => {
                chain.push(n.clone());
                if anchors.contains(n) {
                    break;
                }
                current = n.clone();
            }
            None => break,
        }
    }
    chain
}

fn signature_weakness(cert: &Certificate) -> Option<String> {
    let mut v = Vec::new();
    weak_scan(std::slice::from_ref(cert), false, &mut v);
    v.into_iter().find(|w| w.contains(" is signed with "))
}

/// Names weak algorithms on a chain (signer first). The last certificate's own signature is not
/// judged when it is the anchor (`ends_in_anchor`): anchors are trusted as given.
fn weak_scan(chain: &[Certificate], ends_in_anchor: bool, weak: &mut Vec<String>) {
    use const_oid::db::rfc5912;
    let n = chain.len();
    for (i, cert) in chain.iter().enumerate() {
        let subject = cert.tbs_certificate().subject().to_string();
        let spki = cert.tbs_certificate().subject_public_key_info();
        if spki.algorithm.oid == rfc5912::RSA_ENCRYPTION
            && let Some(key) = rsa_public_key(spki)
        {
            use rsa::traits::PublicKeyParts;
            let bits = key.n().bits();
            if bits < 2048 {
                push_unique(
                    weak,
                    format!("{subject} has an RSA-{bits} key (below 2048 bits)"),
                );
            }
        }
        if spki.algorithm.oid == rfc5912::ID_DSA {
            push_unique(weak, format!("{subject} has a DSA key"));
        }
        let is_anchor = ends_in_anchor && i + 1 == n;
        let self_signed = cert.tbs_certificate().issuer() == cert.tbs_certificate().subject();
        if !is_anchor && !self_signed {
            let alg = cert.signature_algorithm().oid;
            if alg == rfc5912::SHA_1_WITH_RSA_ENCRYPTION
                || alg == rfc5912::MD_5_WITH_RSA_ENCRYPTION
                || alg == oids::ECDSA_WITH_SHA_1
                || alg == rfc5912::DSA_WITH_SHA_1
            {
                push_unique(weak, format!("{subject} is signed with {}", oid_name(&alg)));
            }
        }
    }
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}
