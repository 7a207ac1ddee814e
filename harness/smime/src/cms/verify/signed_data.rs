//! The SignedData checks: decoding the BER SignedData, the CMS signature, the signed attributes,
//! the signer's key size, its path and revocation ([`crate::cms::path`]), and the signer's
//! mailboxes against the sender. [`super`] finds which signature in a message these run on.

use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{DigestAlgorithmIdentifiers, SignerIdentifier, SignerInfo, SignerInfos};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc6268};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence, Tag, Tagged};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use crate::cms::address::certificate_mailboxes;
use crate::cms::algorithms::{
    DigestAlgorithm, SignatureProblem, classify_signature, oid_name, rsa_public_key,
    verify_signature,
};
use crate::cms::attributes;

use crate::cms::path::{self, Held};
use crate::cms::verdict::{SignerReport, Status, Verdict, format_time, key_description};

use super::{Sender, VerifyContext};

/// `SignedData` as `cms` defines it, except that eContent is decoded as an OCTET STRING instead
/// of `Any`: `Any` forgets that a BER OCTET STRING was constructed (NSS and OpenSSL stream the
/// content as indefinite-length chunks), while `OctetString` in BER mode reassembles the chunks.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct SignedDataBer {
    pub(crate) version: CmsVersion,
    pub(crate) digest_algorithms: DigestAlgorithmIdentifiers,
    pub(crate) encap_content_info: EncapsulatedContentInfoBer,
    /// Kept as raw TLVs so each certificate's exact bytes reach the path validator; decoded
    /// one by one below.
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub(crate) certificates: Option<SetOfVec<Any>>,
    /// Not used (revocation comes from the caller), and kept opaque: x509-cert cannot decode
    /// version-1 CRLs, which RFC 4134's examples carry.
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub(crate) crls: Option<SetOfVec<Any>>,
    pub(crate) signer_infos: SignerInfos,
}

#[derive(Clone, Debug, Sequence)]
pub(crate) struct EncapsulatedContentInfoBer {
    pub(crate) econtent_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) econtent: Option<OctetString>,
}

/// The SignedData inside a ContentInfo whose type is id-signedData, read the BER-tolerant way
/// (see [`SignedDataBer`]). Shared with [`crate::cms::anatomy`], so that a snapshot shows exactly
/// the structure the verifier judged.
pub(crate) fn decode_signed_data(content_info: &ContentInfo) -> Result<SignedDataBer, String> {
    content_info
        .content
        .to_der()
        .map_err(|e| e.to_string())
        .and_then(|d| SignedDataBer::from_ber(&d).map_err(|e| e.to_string()))
}

/// The CMS part of verification. Returns the encapsulated content when there is one.
pub(super) fn verify_cms(
    der: &[u8],
    detached: Option<&[u8]>,
    sender: &Sender,
    ctx: &VerifyContext,
    v: &mut Verdict,
) -> Option<Vec<u8>> {
    let content_info = match ContentInfo::from_ber(der) {
        Ok(ci) => ci,
        Err(e) => {
            v.fail(
                Status::Malformed,
                format!("the CMS object does not decode (ContentInfo): {e}"),
            );
            return None;
        }
    };
    let ct = content_info.content_type;
    if ct == rfc5911::ID_ENVELOPED_DATA || ct == rfc6268::ID_CT_AUTH_ENVELOPED_DATA {
        v.fail(
            Status::Encrypted,
            "the CMS object is encrypted (enveloped-data): decrypt it first",
        );
        return None;
    }
    if ct != rfc5911::ID_SIGNED_DATA {
        v.fail(
            Status::NotSigned,
            format!("the CMS object is {}, not signed-data", oid_name(&ct)),
        );
        return None;
    }
    let signed_data = match decode_signed_data(&content_info) {
        Ok(sd) => sd,
        Err(e) => {
            v.fail(
                Status::Malformed,
                format!("the SignedData does not decode: {e}"),
            );
            return None;
        }
    };

    // Certificates proper (a SEQUENCE); attribute and other certificate formats are skipped.
    let certificates: Vec<Held> = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.iter())
        .filter(|any| any.tag() == Tag::Sequence)
        .filter_map(|any| {
            let der = any.to_der().ok()?;
            let cert = Certificate::from_der(&der)
                .or_else(|_| Certificate::from_ber(&der))
                .ok()?;
            Some(Held { cert, der })
        })
        .collect();
    v.certificates = certificates
        .iter()
        .map(|h| crate::certificate::CertificateSummary::of_der(&h.cert, &h.der))
        .collect();

    let signer_infos: Vec<&SignerInfo> = signed_data.signer_infos.0.iter().collect();
    let signer_info = match signer_infos.as_slice() {
        [] => {
            v.fail(
                Status::Malformed,
                "the SignedData has no signerInfos: nothing is signed, whatever a client may display",
            );
            return None;
        }
        [one] => *one,
        many => {
            v.fail(
                Status::Unsupported,
                format!(
                    "the SignedData has {} signerInfos: which signer counts is a policy this verifier does not guess (one invalid signer next to a valid one is a known spoofing trick)",
                    many.len()
                ),
            );
            return None;
        }
    };

    // The content the signature is over.
    let encap = &signed_data.encap_content_info;
    let econtent = encap.econtent.as_ref().map(|os| os.as_bytes().to_vec());
    let content: Vec<u8> = match (detached, &econtent) {
        (Some(d), Some(e)) if d == e.as_slice() => {
            // Python cryptography writes this for a non-detached S/MIME signature, and OpenSSL
            // accepts it. Harmless only because both copies are identical.
            v.note(
                "the detached signature also carries the content (eContent), identical to the first part: redundant, but what is shown is what was signed",
            );
            e.clone()
        }
        (Some(_), Some(_)) => {
            v.fail(
                Status::Malformed,
                "the detached signature of a multipart/signed message carries content of its own (eContent) that differs from the first part: what a reader sees is not what was signed (eContent confusion)",
            );
            return None;
        }
        (Some(d), None) => d.to_vec(),
        (None, Some(e)) => e.clone(),
        (None, None) => {
            v.fail(
                Status::Malformed,
                "the signature is detached (no eContent) but there is no content beside it: an opaque signed-data must carry its content",
            );
            return None;
        }
    };
    if encap.econtent_type != rfc5911::ID_DATA {
        v.fail(
            Status::Malformed,
            format!(
                "eContentType is {}; S/MIME signs id-data (RFC 8551 §3.5)",
                oid_name(&encap.econtent_type)
            ),
        );
        return None;
    }

    let Some(digest) = DigestAlgorithm::from_oid(&signer_info.digest_alg.oid) else {
        v.fail(
            Status::Unsupported,
            format!(
                "digest algorithm {} is not implemented",
                oid_name(&signer_info.digest_alg.oid)
            ),
        );
        return None;
    };
    v.digest_algorithm = Some(digest.name().to_owned());
    if digest.is_weak() {
        v.weak(format!("the message digest is {}", digest.name()));
    }
    // SHA-1 is still what Outlook on the web signs with by default (OWASigningAlgorithms 8004)
    // and what Exchange accepts, flagged; MD5 (what RequireSignedSMIMEAlgorithm MD5 makes a phone
    // use) has chosen-prefix collisions in seconds, and Windows' and OpenSSL's default policies
    // refuse MD5 signatures outright.
    if digest == DigestAlgorithm::Md5 {
        v.fail(
            Status::Weak,
            "the message digest is MD5, which no current client accepts for a signature (chosen-prefix collisions are practical)",
        );
    }
    if !signed_data
        .digest_algorithms
        .iter()
        .any(|a| a.oid == signer_info.digest_alg.oid)
    {
        v.note("the signer's digest algorithm is not listed in SignedData.digestAlgorithms");
    }

    let from_directory: Vec<Held> = ctx
        .directory
        .iter()
        .filter_map(|cert| {
            Some(Held {
                der: cert.to_der().ok()?,
                cert: cert.clone(),
            })
        })
        .collect();
    let signer_held = match find_signer(&signer_info.sid, &certificates) {
        Some(held) => held,
        None => match find_signer(&signer_info.sid, &from_directory) {
            Some(held) => {
                v.note(
                    "the signer's certificate is not in the message: it was taken from the directory (the certificates published for the sender)",
                );
                held
            }
            None => {
                v.fail(
                    Status::Untrusted,
                    if ctx.directory.is_empty() {
                        "the signer's certificate is not in the message: the signature cannot be checked (ask the sender to include it)"
                    } else {
                        "the signer's certificate is neither in the message nor among the certificates published for the sender: the signature cannot be checked (ask the sender to include it)"
                    },
                );
                return None;
            }
        },
    };
    let signer_cert = &signer_held.cert;
    v.signer = Some(SignerReport {
        certificate: crate::certificate::CertificateSummary::of_der(signer_cert, &signer_held.der),
        mailboxes: certificate_mailboxes(signer_cert),
    });

    let scheme = match classify_signature(&signer_info.signature_algorithm, digest) {
        Ok(s) => s,
        Err(p) => {
            v.signature_algorithm = Some(oid_name(&signer_info.signature_algorithm.oid));
            fail_signature_problem(v, p);
            return None;
        }
    };
    v.signature_algorithm = Some(format!(
        "{} ({})",
        scheme.describe(),
        key_description(signer_cert)
    ));

    let computed = digest.digest(&content);
    let message = match &signer_info.signed_attrs {
        Some(attrs) => {
            let inspected = attributes::inspect(attrs);
            v.signed_attributes = inspected.names.clone();
            v.smime_capabilities = inspected.capabilities.clone();
            v.signing_time = inspected.signing_time.as_ref().map(format_time);
            for p in &inspected.problems {
                v.fail(Status::Malformed, p.clone());
            }
            match inspected.content_type {
                Some(t) if t == encap.econtent_type => {}
                Some(t) => v.fail(
                    Status::InvalidSignature,
                    format!(
                        "the contentType attribute ({}) differs from eContentType ({})",
                        oid_name(&t),
                        oid_name(&encap.econtent_type)
                    ),
                ),
                None => v.fail(
                    Status::InvalidSignature,
                    "signed attributes without contentType (RFC 5652 §5.3 requires it)",
                ),
            }
            match &inspected.message_digest {
                Some(d) if *d == computed => {}
                Some(_) => v.fail(
                    Status::InvalidSignature,
                    "the messageDigest attribute does not match the content: the content was changed after signing",
                ),
                None => v.fail(
                    Status::InvalidSignature,
                    "signed attributes without messageDigest (RFC 5652 §5.3 requires it)",
                ),
            }
            match attrs.to_der() {
                Ok(d) => d,
                Err(e) => {
                    v.fail(
                        Status::Malformed,
                        format!("the signed attributes do not re-encode: {e}"),
                    );
                    return None;
                }
            }
        }
        None => content.clone(),
    };

    let spki = signer_cert.tbs_certificate().subject_public_key_info();
    match verify_signature(spki, scheme, &message, signer_info.signature.as_bytes()) {
        Ok(()) => {}
        Err(SignatureProblem::Invalid(why)) => v.fail(
            Status::InvalidSignature,
            format!("the signature does not verify with the signer's key ({why})"),
        ),
        Err(p) => {
            fail_signature_problem(v, p);
            return None;
        }
    }

    check_signer_key_size(signer_cert, v);
    check_signer_path(
        signer_held,
        &certificates,
        ctx,
        path::EndEntityUse::Signing,
        v,
    );

    let signer_mailboxes = certificate_mailboxes(signer_cert);
    if let Some(problem) = &sender.problem {
        v.fail(Status::SignerMismatch, problem.clone());
    } else if !sender.required {
        v.note(format!(
            "no From address to compare: the signer's certificate is issued to {}",
            if signer_mailboxes.is_empty() {
                "no e-mail address".to_owned()
            } else {
                signer_mailboxes.join(", ")
            }
        ));
    } else if let Some(from) = sender.addresses.first()
        && signer_mailboxes.contains(from)
    {
        // RFC 8550 §3 checks From (or Sender); a reader also trusts what else the headers show
        // as the sender. Each of those must be the signer too, or the signature vouches for
        // someone other than the person the reader believes wrote.
        for (field, address) in &sender.also_shown {
            if !signer_mailboxes.contains(address) {
                v.fail(
                    Status::SignerMismatch,
                    format!(
                        "{field} shows {address}, which the signer's certificate ({}) does not vouch for: a reader may take {address} for the sender",
                        signer_mailboxes.join(", ")
                    ),
                );
            }
        }
    } else if let Some(from) = sender.addresses.first() {
        v.fail(
            Status::SignerMismatch,
            format!(
                "the From address {from} is not in the signer's certificate, which is issued to {} (RFC 8550 §3: rfc822Name in subjectAltName or emailAddress in the subject)",
                if signer_mailboxes.is_empty() {
                    "no e-mail address".to_owned()
                } else {
                    signer_mailboxes.join(", ")
                }
            ),
        );
    }
    econtent
}

fn fail_signature_problem(v: &mut Verdict, p: SignatureProblem) {
    match p {
        SignatureProblem::Unsupported(why) => v.fail(Status::Unsupported, why),
        SignatureProblem::Malformed(why) => v.fail(Status::Malformed, why),
        SignatureProblem::Invalid(why) => v.fail(Status::InvalidSignature, why),
    }
}

/// An RSA signer key below 2048 bits makes the verdict `weak`.
pub(crate) fn check_signer_key_size(signer: &Certificate, v: &mut Verdict) {
    if let Some(bits) = rsa_bits(signer)
        && bits < 2048
    {
        v.weak(format!("the signer's key is RSA-{bits}"));
        v.fail(
            Status::Weak,
            format!(
                "the signer's key is RSA-{bits}, below the 2048 bits any current policy requires"
            ),
        );
    }
}

/// The signer's path ([`path::validate`]) into the verdict: its failure, notes, weaknesses,
/// chain and the CRL distribution points a caller fetches.
pub(crate) fn check_signer_path(
    signer: &Held,
    intermediates: &[Held],
    ctx: &VerifyContext,
    usage: path::EndEntityUse,
    v: &mut Verdict,
) {
    let outcome = path::validate(
        signer,
        intermediates,
        &ctx.anchors,
        ctx.now_unix(),
        &ctx.revocation,
        usage,
    );
    for w in &outcome.weak {
        v.weak(w.clone());
    }
    if let Some((status, reason)) = outcome.failure {
        v.fail(status, reason);
    }
    for n in outcome.notes {
        v.note(n);
    }
    v.chain = outcome
        .chain
        .iter()
        .map(|c| c.tbs_certificate().subject().to_string())
        .collect();
    v.crl_distribution_points = outcome.crl_distribution_points;
}

fn rsa_bits(cert: &Certificate) -> Option<u32> {
    use rsa::traits::PublicKeyParts;
    rsa_public_key(cert.tbs_certificate().subject_public_key_info()).map(|k| k.n().bits())
}

fn find_signer<'c>(sid: &SignerIdentifier, certs: &'c [Held]) -> Option<&'c Held> {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => certs.iter().find(|h| {
            h.cert.tbs_certificate().issuer() == &isn.issuer
                && h.cert.tbs_certificate().serial_number() == &isn.serial_number
        }),
        SignerIdentifier::SubjectKeyIdentifier(ski) => certs.iter().find(|h| {
            matches!(
                h.cert.tbs_certificate().get_extension::<SubjectKeyIdentifier>(),
                Ok(Some((_, k))) if k == *ski
            )
        }),
    }
}
