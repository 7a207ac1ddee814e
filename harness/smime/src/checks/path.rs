//! Building the certification path from a certificate up to a self-signed root, through the
//! certificates supplied as its chain, and verifying the signature on every link.
//!
//! Path building is deliberately simple and predictable: at each step take the supplied
//! certificates whose subject is the current issuer, prefer the one whose Subject Key Identifier
//! matches the Authority Key Identifier, and among those the first whose key verifies the signature.
//! Exchange Online's virtual certificate collection holds a handful of CAs, not a web of
//! cross-certificates, so backtracking over alternative paths would buy nothing but obscurity.

use x509_cert::Certificate;

use super::facts::Facts;
use super::signature::{self, Verdict};

/// Longer than any real S/MIME hierarchy; stops a pathological pool from looping.
pub(crate) const MAX_DEPTH: usize = 8;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PathEnd {
    /// The last certificate is self-issued: a root.
    Anchored,
    /// No chain was supplied and the certificate is not self-issued: nothing to build with.
    NotSupplied,
    /// No supplied certificate has the last certificate's issuer as its subject.
    MissingIssuer,
    /// The path grew past [`MAX_DEPTH`].
    TooLong,
}

#[derive(Debug)]
pub(crate) struct Path<'a> {
    /// The certificate under test first, then its issuer, and so on.
    pub certs: Vec<Facts<'a>>,
    /// `links[i]` is the signature on `certs[i]` checked with the key of `certs[i + 1]`.
    pub links: Vec<Verdict>,
    pub end: PathEnd,
}

impl Path<'_> {
    /// The root the path reached, if it reached one.
    pub(crate) fn anchor(&self) -> Option<&Facts<'_>> {
        match self.end {
            PathEnd::Anchored => self.certs.last(),
            _ => None,
        }
    }
}

pub(crate) fn build<'a>(subject: &'a Certificate, pool: &'a [Certificate]) -> Path<'a> {
    let mut path = Path {
        certs: vec![Facts::new(subject)],
        links: Vec::new(),
        end: PathEnd::Anchored,
    };
    while let Some(current) = path.certs.last() {
        if current.is_self_issued() {
            path.end = PathEnd::Anchored;
            break;
        }
        if path.certs.len() > MAX_DEPTH {
            path.end = PathEnd::TooLong;
            break;
        }
        let wanted = current.cert.tbs_certificate().issuer();
        let mut candidates: Vec<Facts<'a>> = pool
            .iter()
            .filter(|c| c.tbs_certificate().subject() == wanted)
            .filter(|c| !path.certs.iter().any(|f| f.cert == *c))
            .map(Facts::new)
            .collect();
        if candidates.is_empty() {
            path.end = if pool.is_empty() {
                PathEnd::NotSupplied
            } else {
                PathEnd::MissingIssuer
            };
            break;
        }
        // Key-identifier matches first (stable, so pool order decides among equals).
        candidates.sort_by_key(|c| match (&current.aki, &c.ski) {
            (Some(aki), Some(ski)) => aki != ski,
            _ => true,
        });
        let verdicts: Vec<Verdict> = candidates.iter().map(|c| verify_link(current, c)).collect();
        let pick = verdicts
            .iter()
            .position(|v| *v == Verdict::Valid)
            .unwrap_or(0);
        let issuer = candidates.swap_remove(pick);
        let verdict = verdicts
            .into_iter()
            .nth(pick)
            .unwrap_or(Verdict::Unsupported("no candidate".to_owned()));
        path.links.push(verdict);
        path.certs.push(issuer);
    }
    path
}

/// Checks the signature on `child` with `issuer`'s public key.
pub(crate) fn verify_link(child: &Facts<'_>, issuer: &Facts<'_>) -> Verdict {
    let cert = child.cert;
    // RFC 5280 §4.1.1.2: the algorithm inside the signed part must be the one outside it, or an
    // attacker could swap the outer one.
    if cert.tbs_certificate().signature() != cert.signature_algorithm() {
        return Verdict::Invalid(
            "the signature algorithm inside the signed part differs from the outer one".to_owned(),
        );
    }
    let Some(der) = &child.der else {
        return Verdict::Unsupported("the certificate could not be re-encoded".to_owned());
    };
    signature::verify(
        &der.tbs,
        cert.signature_algorithm(),
        cert.signature(),
        issuer.cert.tbs_certificate().subject_public_key_info(),
    )
}
