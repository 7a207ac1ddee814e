//! Signing a MIME message: canonicalise it (CRLF, 8-bit bodies re-encoded), build SignedData with
//! Outlook's signed attributes, and wrap it clear-signed (multipart/signed) or opaque-signed
//! (application/pkcs7-mime). Given `now` and a seeded generator the output is byte-identical.

use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode, Tag};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use super::algorithms::{self, DigestAlgorithm, RsaPadding};
use super::attributes::{self, AttributeSpec, Capability};
use super::mime::{self, Entity, HeaderField, MimeError, TransferEncoding};
use crate::key::PrivateKey;

/// Who signs: the certificate, its key, and the issuers to include.
#[derive(Clone, Debug)]
pub struct Signer {
    pub certificate: Certificate,
    pub key: PrivateKey,
    /// Issuers of `certificate`, nearest first; may end with the self-signed root.
    pub chain: Vec<Certificate>,
    /// The certificate others should encrypt to, named in the key preference attributes.
    /// `None` means the signing certificate itself (a dual-use certificate).
    pub encryption_certificate: Option<Certificate>,
}

/// Clear-signed or opaque-signed.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum SignedForm {
    /// multipart/signed with a detached application/pkcs7-signature: readable without S/MIME.
    #[default]
    ClearSigned,
    /// application/pkcs7-mime; smime-type=signed-data: the content inside the CMS object, as
    /// Outlook sends when "clear sign" is off.
    OpaqueSigned,
}

/// Which certificates go into SignedData.certificates.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum CertificateInclusion {
    /// The signer's certificate only: the receiver must find the intermediates itself.
    #[serde(rename = "signer")]
    SignerOnly,
    /// The signer and its intermediates, no self-signed root (what clients do).
    #[default]
    Chain,
    /// The signer, the intermediates and the root.
    ChainWithRoot,
}

/// Which of the signer's own certificates go into SignedData.certificates (the chain is
/// [`CertificateInclusion`]'s).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum OwnCertificates {
    /// The signing certificate (what every client sends).
    #[default]
    Signing,
    /// The signing certificate and, when it is another one, the encryption certificate
    /// ([`Signer::encryption_certificate`]): a reader can then encrypt a reply from the message
    /// alone (Outlook on the web's `OWASignedEmailCertificateInclusion` `$true`).
    SigningAndEncryption,
    /// Neither: a reader finds them in a directory (`OWASignedEmailCertificateInclusion`
    /// `$false`).
    Neither,
}

/// Everything a signature depends on besides the message and the signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignOptions {
    /// The signingTime attribute; the lab never reads a clock of its own.
    pub now: time::OffsetDateTime,
    pub digest: DigestAlgorithm,
    pub rsa_padding: RsaPadding,
    pub form: SignedForm,
    pub include: CertificateInclusion,
    /// The signer's own certificates carried.
    pub own_certificates: OwnCertificates,
    /// smimeCapabilities in order of preference; empty leaves the attribute out.
    pub capabilities: Vec<Capability>,
    pub signing_time: bool,
    /// The S/MIME encryption key preference attribute (1.2.840.113549.1.9.16.2.11).
    pub encryption_key_preference: bool,
    /// Microsoft's 1.3.6.1.4.1.311.16.4 beside it, as Outlook and Thunderbird write.
    pub microsoft_key_preference: bool,
}

impl SignOptions {
    /// What Outlook on current defaults writes, but with SHA-256: clear-signed, chain without
    /// root, AES-first capabilities, every Outlook attribute.
    pub fn new(now: time::OffsetDateTime) -> Self {
        SignOptions {
            now,
            digest: DigestAlgorithm::Sha256,
            rsa_padding: RsaPadding::Pkcs1v15,
            form: SignedForm::ClearSigned,
            include: CertificateInclusion::Chain,
            own_certificates: OwnCertificates::Signing,
            capabilities: Capability::DEFAULT.to_vec(),
            signing_time: true,
            encryption_key_preference: true,
            microsoft_key_preference: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the message to sign is not a MIME entity (header fields, an empty line, a body): {0}")]
    Mime(#[from] MimeError),
    #[error(
        "the private key does not belong to the certificate {subject}: pass the key of that certificate (or the certificate of that key)"
    )]
    KeyMismatch { subject: String },
    #[error("cannot sign with {what}: {why}")]
    Algorithm { what: String, why: String },
    #[error("could not encode the CMS structure: {0}")]
    Encode(#[from] der::Error),
}

/// Signs `mime_entity` (a message: header fields, an empty line, a body) and returns the whole
/// signed message. The header fields that are not `Content-*` (From, To, Subject, Date,
/// Message-ID...) stay on the outer message, as clients do; the `Content-*` fields go with the
/// body into the signed part.
pub fn sign_message<R: CryptoRng + ?Sized>(
    mime_entity: &[u8],
    signer: &Signer,
    options: &SignOptions,
    rng: &mut R,
) -> Result<Vec<u8>, SignError> {
    let entity = Entity::parse(mime_entity)?;
    let outer: Vec<&[u8]> = entity
        .headers
        .iter()
        .filter(|h| !is_content_header(h.name) && !h.name_is("MIME-Version"))
        .map(|h| h.raw)
        .collect();
    let content_headers: Vec<&HeaderField<'_>> = entity
        .headers
        .iter()
        .filter(|h| is_content_header(h.name))
        .collect();
    let inner = canonical_entity(&entity, content_headers, 0)?;

    let mut out = Vec::with_capacity(inner.len() * 2 + 4096);
    for raw in outer {
        out.extend_from_slice(&mime::to_crlf(raw));
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    match options.form {
        SignedForm::ClearSigned => {
            let boundary = boundary(rng, &inner);
            let cms = sign_content(&inner, true, signer, options, rng)?;
            out.extend_from_slice(
                format!(
                    "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\
                     \tmicalg={}; boundary=\"{boundary}\"\r\n\r\n\
                     This is a cryptographically signed message in MIME format.\r\n\r\n\
                     --{boundary}\r\n",
                    options.digest.micalg()
                )
                .as_bytes(),
            );
            out.extend_from_slice(&inner);
            out.extend_from_slice(
                format!(
                    "\r\n--{boundary}\r\n\
                     Content-Type: application/pkcs7-signature; name=smime.p7s\r\n\
                     Content-Transfer-Encoding: base64\r\n\
                     Content-Disposition: attachment; filename=smime.p7s\r\n\
                     Content-Description: S/MIME Cryptographic Signature\r\n\r\n"
                )
                .as_bytes(),
            );
            out.extend_from_slice(&mime::encode_base64_lines(&cms));
            out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        }
        SignedForm::OpaqueSigned => {
            let cms = sign_content(&inner, false, signer, options, rng)?;
            out.extend_from_slice(
                b"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n\
                  Content-Transfer-Encoding: base64\r\n\
                  Content-Disposition: attachment; filename=smime.p7m\r\n\
                  Content-Description: S/MIME Cryptographic Signature\r\n\r\n",
            );
            out.extend_from_slice(&mime::encode_base64_lines(&cms));
        }
    }
    Ok(out)
}

/// Signs `content` (already canonical) and returns a DER ContentInfo holding SignedData, with
/// the content inside (`detached = false`) or not.
pub fn sign_content<R: CryptoRng + ?Sized>(
    content: &[u8],
    detached: bool,
    signer: &Signer,
    options: &SignOptions,
    rng: &mut R,
) -> Result<Vec<u8>, SignError> {
    let cert = &signer.certificate;
    if !signer
        .key
        .matches(cert.tbs_certificate().subject_public_key_info())
    {
        return Err(SignError::KeyMismatch {
            subject: cert.tbs_certificate().subject().to_string(),
        });
    }
    let digest = options.digest.digest(content);
    let encryption_certificate = if options.encryption_key_preference {
        Some(signer.encryption_certificate.as_ref().unwrap_or(cert))
    } else {
        None
    };
    let spec = AttributeSpec {
        signing_time: options.signing_time.then_some(options.now),
        capabilities: &options.capabilities,
        encryption_certificate,
        microsoft_key_preference: options.microsoft_key_preference,
    };
    let signed_attrs = attributes::build(rfc5911::ID_DATA, &digest, &spec)?;
    let (signature_algorithm, signature) = algorithms::sign(
        &signer.key,
        options.rsa_padding,
        options.digest,
        &signed_attrs.to_der()?,
        rng,
    )
    .map_err(|why| SignError::Algorithm {
        what: format!("{} and {}", signer.key.algorithm_name(), options.digest),
        why,
    })?;

    let digest_alg = options.digest.algorithm_identifier();
    let signer_info = SignerInfo {
        // Version 1 goes with issuerAndSerialNumber (RFC 5652 §5.3), which every client reads.
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(attributes::issuer_and_serial(cert)),
        digest_alg: digest_alg.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm,
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };

    let mut certs = match options.own_certificates {
        OwnCertificates::Signing => vec![cert.clone()],
        OwnCertificates::SigningAndEncryption => std::iter::once(cert.clone())
            .chain(
                signer
                    .encryption_certificate
                    .iter()
                    .filter(|e| *e != cert)
                    .cloned(),
            )
            .collect(),
        OwnCertificates::Neither => Vec::new(),
    };
    for c in &signer.chain {
        let self_signed = c.tbs_certificate().issuer() == c.tbs_certificate().subject();
        let wanted = match options.include {
            CertificateInclusion::SignerOnly => false,
            CertificateInclusion::Chain => !self_signed,
            CertificateInclusion::ChainWithRoot => true,
        };
        if wanted && !certs.contains(c) {
            certs.push(c.clone());
        }
    }
    // RFC 5652 §5.1: certificates is OPTIONAL; an empty set is left out rather than written.
    let certificates = if certs.is_empty() {
        None
    } else {
        Some(CertificateSet::try_from(
            certs
                .into_iter()
                .map(CertificateChoices::Certificate)
                .collect::<Vec<_>>(),
        )?)
    };

    let econtent = if detached {
        None
    } else {
        Some(Any::new(Tag::OctetString, content)?)
    };
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![digest_alg])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: rfc5911::ID_DATA,
            econtent,
        },
        certificates,
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info])?,
    };
    let content_info = ContentInfo {
        content_type: rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    };
    Ok(content_info.to_der()?)
}

fn is_content_header(name: &[u8]) -> bool {
    name.len() > 8
        && name
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"content-"))
}

/// A boundary from the generator that does not occur in the content. `=_` cannot appear in
/// quoted-printable or base64 text, so a collision needs literal text.
fn boundary<R: CryptoRng + ?Sized>(rng: &mut R, content: &[u8]) -> String {
    loop {
        let mut bytes = [0u8; 12];
        rng.fill_bytes(&mut bytes);
        let b = format!("----=_smime-lab_{}", hex::encode(bytes));
        if !content.windows(b.len()).any(|w| w == b.as_bytes()) {
            return b;
        }
    }
}

fn has_8bit_or_long_lines(body: &[u8]) -> bool {
    body.iter().any(|&b| b >= 0x80 || b == 0)
        || body.split(|&b| b == b'\n').any(|line| line.len() > 998)
}

/// Returns `entity` (restricted to `headers`) as canonical bytes: CRLF line endings, and every
/// leaf that is 8-bit, binary or has over-long lines re-encoded (text as quoted-printable,
/// anything else as base64), recursively through multiparts and message/rfc822, because mail
/// transport may convert 8-bit content and break the signature (RFC 8551 §3.1).
fn canonical_entity(
    entity: &Entity<'_>,
    headers: Vec<&HeaderField<'_>>,
    depth: usize,
) -> Result<Vec<u8>, SignError> {
    if depth > mime::MAX_DEPTH {
        return Err(MimeError::TooDeep.into());
    }
    let content_type = entity.content_type()?;
    let encoding = entity.transfer_encoding()?;
    let has_content_type = entity.single_header("Content-Type")?.is_some();
    let body = entity.body();

    let mut head: Vec<u8> = Vec::new();
    let mut new_body: Vec<u8> = Vec::new();
    let mut new_encoding: Option<&str> = None;

    if content_type.is_multipart() {
        let boundary = content_type
            .param("boundary")
            .ok_or(MimeError::NoBoundary)?;
        let parts = mime::split_multipart(body, boundary)?;
        if !parts.preamble.is_empty() {
            new_body.extend_from_slice(&mime::to_crlf(parts.preamble));
            new_body.extend_from_slice(b"\r\n");
        }
        for part in &parts.parts {
            let part_entity = Entity::parse(part)?;
            let part_headers: Vec<&HeaderField<'_>> = part_entity.headers.iter().collect();
            new_body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            new_body.extend_from_slice(&canonical_entity(&part_entity, part_headers, depth + 1)?);
            new_body.extend_from_slice(b"\r\n");
        }
        new_body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        new_body.extend_from_slice(&mime::to_crlf(parts.epilogue));
    } else if content_type.is("message/rfc822") {
        let inner = Entity::parse(body)?;
        let inner_headers: Vec<&HeaderField<'_>> = inner.headers.iter().collect();
        new_body = canonical_entity(&inner, inner_headers, depth + 1)?;
    } else {
        let raw_transfer = matches!(
            encoding,
            TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary
        );
        if raw_transfer && (has_8bit_or_long_lines(body) || encoding == TransferEncoding::Binary) {
            if content_type.essence.starts_with("text/") {
                new_body = mime::encode_quoted_printable(body);
                new_encoding = Some("quoted-printable");
            } else {
                new_body = mime::encode_base64_lines(body);
                new_encoding = Some("base64");
            }
        } else {
            new_body = mime::to_crlf(body).into_owned();
        }
    }

    for field in &headers {
        if new_encoding.is_some() && field.name_is("Content-Transfer-Encoding") {
            continue;
        }
        head.extend_from_slice(&mime::to_crlf(field.raw));
        if !head.ends_with(b"\r\n") {
            head.extend_from_slice(b"\r\n");
        }
    }
    if !has_content_type {
        let charset = if new_encoding.is_some() {
            "utf-8"
        } else {
            "us-ascii"
        };
        head.extend_from_slice(
            format!("Content-Type: text/plain; charset={charset}\r\n").as_bytes(),
        );
    }
    if let Some(cte) = new_encoding {
        head.extend_from_slice(format!("Content-Transfer-Encoding: {cte}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(&new_body);
    Ok(head)
}

/// The canonical form of a MIME entity as the signer hashes it (exposed for snapshots and for
/// tests that compare with other implementations).
pub fn canonicalize(mime_entity: &[u8]) -> Result<Vec<u8>, SignError> {
    let entity = Entity::parse(mime_entity)?;
    let headers: Vec<&HeaderField<'_>> = entity.headers.iter().collect();
    canonical_entity(&entity, headers, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_bit_text_becomes_quoted_printable_and_crlf() {
        let input = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße\nzweite Zeile\n";
        let out = canonicalize(input.as_bytes()).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains("Content-Transfer-Encoding: quoted-printable\r\n"));
        assert!(!text.contains("8bit"));
        assert!(text.contains("Gr=C3=BC=C3=9Fe\r\n"));
        assert!(out.iter().all(|&b| b < 128));
        assert!(!text.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn binary_attachment_becomes_base64_inside_multipart() {
        let input = b"Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nhello\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n\x00\xff\x10\n--b--\n";
        let out = canonicalize(input).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("Content-Transfer-Encoding: base64\r\n\r\nAP8Q\r\n"),
            "{text}"
        );
        assert!(text.contains("--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n"));
        assert!(text.ends_with("--b--\r\n"));
    }

    #[test]
    fn seven_bit_text_is_only_line_ending_canonicalised() {
        let out = canonicalize(b"Content-Type: text/plain\n\nplain text\n").unwrap();
        assert_eq!(out, b"Content-Type: text/plain\r\n\r\nplain text\r\n");
    }

    #[test]
    fn no_content_type_gets_the_default_spelled_out() {
        let out = canonicalize(b"Subject: x\n\nhi\n").unwrap();
        assert!(
            out.starts_with(b"Subject: x\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
        );
    }
}
