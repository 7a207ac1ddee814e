//! The anatomy of a message, for snapshots: its MIME tree (content types with their S/MIME
//! parameters, transfer encodings, a few header fields) and, for every S/MIME layer, the CMS
//! structure (SignedData, EnvelopedData, AuthEnvelopedData: versions, algorithms, identifiers,
//! signed attributes, certificates carried). With a recipient's certificate and key the envelope
//! is opened by [`super::envelope::decrypt`], the same code [`super::open_message`] uses, and
//! what is inside is described in turn.
//!
//! A snapshot is committed to the repository and read in review, so the description is
//! byte-stable (the same message gives the same YAML, fields in a fixed order) and never carries
//! a secret or a message's text: bodies, signatures, message digests, IVs and nonces appear as
//! their length and the first 8 hex digits of their SHA-256 (`57 bytes, sha256:1a2b3c4d…`),
//! keys not at all. It judges nothing: the verdict is [`super::open_message`]'s job.
//!
//! The parsers are the verifier's and the decryptor's own ([`super::mime`],
//! [`super::verify`]'s BER-tolerant SignedData, [`super::envelope`]'s BER normaliser), so a
//! snapshot shows the structure they judged. Bad input never panics: whatever cannot be read
//! becomes an `error:` entry at the node where reading stopped, and the rest is still described.

mod model;
mod structures;

pub use model::*;

use ::cms::content_info::ContentInfo;
use const_oid::db::{rfc5911, rfc6268};
use der::asn1::OctetString;
use der::{Decode, Tag, Tagged};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use self::structures::{
    attribute_names, carried_certificate, describe_crl, digest_name, envelope_anatomy, signer,
    version,
};
use super::algorithms::oid_name;
use super::envelope::{self, Envelope};
use super::mime::{self, ContentType, Entity, MimeError};
use super::open::MAX_LAYERS;
use super::verify::{SignedDataBer, decode_signed_data};
use crate::key::PrivateKey;

/// Describes `message` (header fields, an empty line, a body). `decryption` are the reader's
/// certificates and keys: each envelope is opened with the first that is one of its recipients.
/// Never panics: what cannot be read is an `error` where reading stopped.
pub fn describe(message: &[u8], decryption: &[(&Certificate, &PrivateKey)]) -> Anatomy {
    let mut walker = Walker {
        decryption,
        layers: Vec::new(),
    };
    let message = walker.entity(message, 0, 0);
    Anatomy {
        layers: walker.layers,
        message,
    }
}

/// Length and the first 8 hex digits of SHA-256: enough to see that two values differ, nothing
/// of the value itself.
pub(crate) fn redacted(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!(
        "{} bytes, sha256:{}…",
        bytes.len(),
        hex::encode(digest.get(..4).unwrap_or_default())
    )
}

fn error_part(e: impl std::fmt::Display) -> Part {
    Part {
        error: Some(e.to_string()),
        ..Part::default()
    }
}

/// The walk: which identities may decrypt, and the layers met so far.
struct Walker<'a> {
    decryption: &'a [(&'a Certificate, &'a PrivateKey)],
    layers: Vec<String>,
}

impl Walker<'_> {
    /// Describes one entity. `mime_depth` bounds the MIME nesting ([`mime::MAX_DEPTH`]),
    /// `layers` the S/MIME nesting ([`MAX_LAYERS`], as [`super::open_message`] does).
    fn entity(&mut self, raw: &[u8], mime_depth: usize, layers: usize) -> Part {
        if mime_depth > mime::MAX_DEPTH {
            return error_part(MimeError::TooDeep);
        }
        let entity = match Entity::parse(raw) {
            Ok(e) => e,
            Err(e) => return error_part(format!("not a MIME entity: {e}")),
        };
        let mut part = Part {
            headers: headers(&entity),
            ..Part::default()
        };
        let ct = match entity.content_type() {
            Ok(ct) => ct,
            Err(e) => {
                part.error = Some(e.to_string());
                return part;
            }
        };
        part.content_type = Some(ct.essence.clone());
        // Without a Content-Type field the type is RFC 2045's default; its default charset
        // parameter is not shown, as it is not in the message.
        if entity.headers_named("Content-Type").next().is_some() {
            part.parameters = parameters(&ct);
        }
        match single_value(&entity, "Content-Transfer-Encoding") {
            Ok(v) => part.transfer_encoding = v.map(|v| v.to_ascii_lowercase()),
            Err(e) => {
                part.error = Some(e.to_string());
                return part;
            }
        }
        match single_value(&entity, "Content-Disposition") {
            Ok(v) => part.disposition = v,
            Err(e) => {
                part.error = Some(e.to_string());
                return part;
            }
        }

        if ct.is_multipart() {
            self.multipart(&entity, &ct, &mut part, mime_depth, layers);
            return part;
        }
        let decoded = match entity.decoded_body() {
            Ok(d) => d,
            Err(e) => {
                part.error = Some(e.to_string());
                return part;
            }
        };
        match cms_role(&ct, &entity) {
            Some(CmsRole::Signature) => {
                // The layer is the multipart/signed around it, counted there.
                part.cms = Some(Box::new(self.cms(&decoded, mime_depth, layers)));
            }
            Some(CmsRole::Layer) => {
                if layers >= MAX_LAYERS {
                    part.error = Some(too_many_layers());
                    return part;
                }
                let slot = self.layers.len();
                self.layers.push(String::new());
                let cms = self.cms(&decoded, mime_depth, layers + 1);
                if let Some(label) = self.layers.get_mut(slot) {
                    *label = layer_label(&cms, false);
                }
                part.cms = Some(Box::new(cms));
            }
            None if ct.is("message/rfc822") => {
                part.message = Some(Box::new(self.entity(&decoded, mime_depth + 1, layers)));
            }
            None => part.body = Some(format!("{}, {}", ct.essence, redacted(&decoded))),
        }
        part
    }

    fn multipart(
        &mut self,
        entity: &Entity<'_>,
        ct: &ContentType,
        part: &mut Part,
        mime_depth: usize,
        layers: usize,
    ) {
        let Some(boundary) = ct.param("boundary") else {
            part.error = Some(MimeError::NoBoundary.to_string());
            return;
        };
        let multipart = match mime::split_multipart(entity.body(), boundary) {
            Ok(m) => m,
            Err(e) => {
                part.error = Some(e.to_string());
                return;
            }
        };
        let not_blank = |bytes: &[u8]| bytes.iter().any(|b| !b.is_ascii_whitespace());
        if not_blank(multipart.preamble) {
            part.preamble = Some(redacted(multipart.preamble));
        }
        if not_blank(multipart.epilogue) {
            part.epilogue = Some(redacted(multipart.epilogue));
        }
        let signed = ct.is("multipart/signed");
        if signed && layers >= MAX_LAYERS {
            part.error = Some(too_many_layers());
            return;
        }
        let slot = self.layers.len();
        let inner_layers = if signed {
            self.layers.push(String::new());
            layers + 1
        } else {
            layers
        };
        part.parts = multipart
            .parts
            .iter()
            .map(|p| self.entity(p, mime_depth + 1, inner_layers))
            .collect();
        if signed {
            // The signature is the second part; its digest names the layer.
            let label = match part.parts.get(1).and_then(|p| p.cms.as_deref()) {
                Some(cms) if cms.signed_data.is_some() || cms.error.is_some() => {
                    layer_label(cms, true)
                }
                _ => "clear-signed (no signature part)".to_owned(),
            };
            if let Some(l) = self.layers.get_mut(slot) {
                *l = label;
            }
        }
    }

    /// Describes a DER/BER ContentInfo. `layers` already counts this object's layer.
    fn cms(&mut self, der: &[u8], mime_depth: usize, layers: usize) -> Cms {
        let ci = match ContentInfo::from_ber(der) {
            Ok(ci) => ci,
            Err(e) => {
                return Cms {
                    error: Some(format!("the CMS object does not decode (ContentInfo): {e}")),
                    ..Cms::default()
                };
            }
        };
        let mut cms = Cms {
            content_type: Some(oid_name(&ci.content_type)),
            ..Cms::default()
        };
        if ci.content_type == rfc5911::ID_SIGNED_DATA {
            match decode_signed_data(&ci) {
                Ok(sd) => cms.signed_data = Some(self.signed_data(&sd, mime_depth, layers)),
                Err(e) => cms.error = Some(format!("the SignedData does not decode: {e}")),
            }
        } else if ci.content_type == rfc5911::ID_ENVELOPED_DATA
            || ci.content_type == rfc6268::ID_CT_AUTH_ENVELOPED_DATA
        {
            match envelope::parse_envelope(der) {
                Ok(Envelope::Enveloped(ed)) => {
                    let mut e = envelope_anatomy(
                        ed.version,
                        ed.originator_info.as_ref(),
                        &ed.recip_infos,
                        &ed.encrypted_content,
                        ed.unprotected_attrs.as_ref(),
                    );
                    self.open(der, &mut e, mime_depth, layers);
                    cms.enveloped_data = Some(e);
                }
                Ok(Envelope::AuthEnveloped(aed)) => {
                    let mut e = envelope_anatomy(
                        aed.version,
                        aed.originator_info.as_ref(),
                        &aed.recip_infos,
                        &aed.auth_encrypted_content_info,
                        aed.unauth_attrs.as_ref(),
                    );
                    e.authenticated_attributes = attribute_names(aed.auth_attrs.as_ref());
                    e.mac = Some(format!("{} bytes", aed.mac.as_bytes().len()));
                    self.open(der, &mut e, mime_depth, layers);
                    cms.auth_enveloped_data = Some(e);
                }
                Err(e) => cms.error = Some(e.to_string()),
            }
        }
        cms
    }

    fn signed_data(&mut self, sd: &SignedDataBer, mime_depth: usize, layers: usize) -> SignedData {
        let encap = &sd.encap_content_info;
        let econtent = encap.econtent.as_ref().map(OctetString::as_bytes);
        let mut certificates = Vec::new();
        let mut other_certificates = Vec::new();
        for choice in sd.certificates.iter().flat_map(|set| set.iter()) {
            if choice.tag() == Tag::Sequence {
                certificates.push(carried_certificate(choice));
            } else {
                other_certificates.push(format!("{} ({})", choice.tag(), redacted(choice.value())));
            }
        }
        let crls = sd
            .crls
            .iter()
            .flat_map(|set| set.iter())
            .map(describe_crl)
            .collect();
        let content = match econtent {
            Some(bytes) if encap.econtent_type == rfc5911::ID_DATA => {
                Some(Box::new(self.entity(bytes, mime_depth + 1, layers)))
            }
            _ => None,
        };
        SignedData {
            version: version(sd.version),
            digest_algorithms: sd.digest_algorithms.iter().map(digest_name).collect(),
            encapsulated_content: Encapsulated {
                content_type: oid_name(&encap.econtent_type),
                detached: econtent.is_none(),
                length: econtent.map(redacted),
            },
            certificates,
            other_certificates,
            crls,
            signer_infos: sd.signer_infos.0.iter().map(signer).collect(),
            content,
        }
    }

    /// Opens the envelope with the first identity that is a recipient, with the decryptor
    /// [`super::open_message`] uses, and describes what is inside.
    fn open(&mut self, der: &[u8], e: &mut EnvelopeAnatomy, mime_depth: usize, layers: usize) {
        if self.decryption.is_empty() {
            e.not_decrypted = Some("no decryption identity was given".to_owned());
            return;
        }
        let mut first_error: Option<envelope::DecryptError> = None;
        for (cert, key) in self.decryption {
            match envelope::decrypt(der, cert, key) {
                Ok(d) => {
                    e.decrypted = Some(Decryption {
                        by: cert.tbs_certificate().subject().to_string(),
                        recipient_matched_by: match d.recipient_matched_by {
                            envelope::RecipientMatch::IssuerSerial => "issuer-and-serial",
                            envelope::RecipientMatch::Ski => "subject-key-identifier",
                        }
                        .to_owned(),
                        key_management: d.key_management.to_string(),
                        content: Box::new(self.entity(&d.content, mime_depth + 1, layers)),
                    });
                    return;
                }
                Err(err) => {
                    // "Not a recipient" is the least informative answer: keep looking for a
                    // better one (the recipient whose key failed says why).
                    let replace = match &first_error {
                        None => true,
                        Some(envelope::DecryptError::NotARecipient { .. }) => {
                            !matches!(err, envelope::DecryptError::NotARecipient { .. })
                        }
                        Some(_) => false,
                    };
                    if replace {
                        first_error = Some(err);
                    }
                }
            }
        }
        e.not_decrypted = first_error.map(|err| err.to_string());
    }
}

/// How an entity's body is CMS.
enum CmsRole {
    /// The detached signature of a multipart/signed.
    Signature,
    /// An application/pkcs7-mime layer (signed-data, enveloped-data, authEnveloped-data,
    /// certs-only).
    Layer,
}

/// The media types S/MIME uses for CMS, and an octet-stream named like one (some clients and
/// gateways send that).
fn cms_role(ct: &ContentType, entity: &Entity<'_>) -> Option<CmsRole> {
    if ct.is("application/pkcs7-signature") || ct.is("application/x-pkcs7-signature") {
        return Some(CmsRole::Signature);
    }
    if ct.is("application/pkcs7-mime") || ct.is("application/x-pkcs7-mime") {
        return Some(CmsRole::Layer);
    }
    if ct.is("application/octet-stream") {
        // Content-Disposition has Content-Type's parameter syntax (RFC 2183), so it is parsed
        // as one behind a placeholder type.
        let filename = single_value(entity, "Content-Disposition")
            .ok()
            .flatten()
            .and_then(|d| ContentType::parse(&format!("x/{d}")).ok())
            .and_then(|d| d.param("filename").map(str::to_owned))
            .or_else(|| ct.param("name").map(str::to_owned))
            .unwrap_or_default()
            .to_ascii_lowercase();
        if filename.ends_with(".p7s") {
            return Some(CmsRole::Signature);
        }
        if filename.ends_with(".p7m") {
            return Some(CmsRole::Layer);
        }
    }
    None
}

fn too_many_layers() -> String {
    format!(
        "more than {MAX_LAYERS} nested S/MIME layers: clients nest at most three (sign, encrypt, sign), so this is not followed"
    )
}

/// The one-line summary of a CMS layer for [`Anatomy::layers`]. `clear` says the object is the
/// detached signature of a multipart/signed.
fn layer_label(cms: &Cms, clear: bool) -> String {
    if let Some(sd) = &cms.signed_data {
        let digests: Vec<&str> = sd
            .signer_infos
            .iter()
            .map(|s| s.digest_algorithm.as_str())
            .collect();
        let signers = match digests.as_slice() {
            [] => "no signers".to_owned(),
            [one] => (*one).to_owned(),
            many => format!("{} signers: {}", many.len(), many.join(", ")),
        };
        return match (clear, digests.is_empty()) {
            (true, _) => format!("clear-signed ({signers})"),
            (false, true) => "certs-only (no signers)".to_owned(),
            (false, false) => format!("opaque-signed ({signers})"),
        };
    }
    let envelope = |name: &str, e: &EnvelopeAnatomy| {
        let cipher = e
            .content_encryption
            .cipher
            .clone()
            .unwrap_or_else(|| e.content_encryption.algorithm.clone());
        let weak = if e.content_encryption.weak.is_some() {
            ", weak"
        } else {
            ""
        };
        let state = if e.decrypted.is_some() {
            "decrypted"
        } else {
            "not decrypted"
        };
        format!("{name} ({cipher}{weak}, {state})")
    };
    if let Some(e) = &cms.enveloped_data {
        return envelope("enveloped-data", e);
    }
    if let Some(e) = &cms.auth_enveloped_data {
        return envelope("authEnveloped-data", e);
    }
    match (&cms.content_type, &cms.error) {
        (_, Some(_)) if clear => "clear-signed (unreadable signature)".to_owned(),
        (_, Some(_)) => "unreadable CMS".to_owned(),
        (Some(t), None) => t.clone(),
        (None, None) => "CMS".to_owned(),
    }
}

fn headers(entity: &Entity<'_>) -> Option<Headers> {
    let field = |name: &str| -> Option<FieldValue> {
        let mut values: Vec<String> = entity.headers_named(name).map(|h| h.unfolded()).collect();
        match values.len() {
            0 => None,
            1 => values.pop().map(FieldValue::One),
            _ => Some(FieldValue::Many(values)),
        }
    };
    let h = Headers {
        from: field("From"),
        to: field("To"),
        cc: field("Cc"),
        subject: field("Subject"),
        date: field("Date"),
        message_id: field("Message-ID"),
        mime_version: field("MIME-Version"),
    };
    (h != Headers::default()).then_some(h)
}

fn single_value(entity: &Entity<'_>, name: &str) -> Result<Option<String>, MimeError> {
    Ok(entity.single_header(name)?.map(|h| h.unfolded()))
}

fn parameters(ct: &ContentType) -> Option<Parameters> {
    let get = |name: &str| ct.param(name).map(str::to_owned);
    let p = Parameters {
        smime_type: get("smime-type"),
        protocol: get("protocol"),
        micalg: get("micalg"),
        name: get("name"),
        charset: get("charset"),
    };
    (p != Parameters::default()).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_shows_length_and_a_short_digest_only() {
        let r = redacted(b"secret text");
        assert!(r.starts_with("11 bytes, sha256:"), "{r}");
        assert!(r.ends_with('…'));
        assert!(!r.contains("secret"));
        // 8 hex digits between the prefix and the ellipsis.
        let hex = r
            .trim_start_matches("11 bytes, sha256:")
            .trim_end_matches('…');
        assert_eq!(hex.len(), 8);
    }

    #[test]
    fn garbage_is_an_error_node_not_a_panic() {
        for input in [
            &b"\x00\x01\x02 not mail"[..],
            b" leading continuation\r\n\r\n",
            b"Content-Type: multipart/signed; boundary=x\r\n\r\nno delimiter",
            b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIIB",
        ] {
            let a = describe(input, &[]);
            let yaml = a.to_yaml();
            assert!(yaml.contains("error:"), "{yaml}");
        }
    }

    #[test]
    fn an_octet_stream_named_p7m_is_read_as_cms() {
        for disposition in [
            "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n",
            "",
        ] {
            let message = format!(
                "Content-Type: application/octet-stream; name=smime.p7m\r\n{disposition}Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n"
            );
            let a = describe(message.as_bytes(), &[]);
            assert_eq!(a.layers, ["unreadable CMS"], "{}", a.to_yaml());
            assert!(a.message.cms.is_some_and(|c| c.error.is_some()));
        }
        let other = describe(
            b"Content-Type: application/octet-stream; name=report.pdf\r\n\r\nxyz",
            &[],
        );
        assert!(other.layers.is_empty());
        assert!(other.message.body.is_some());
    }

    #[test]
    fn a_plain_message_has_no_layers_and_a_redacted_body() {
        let a = describe(
            b"From: a@example.com\r\nSubject: hi\r\nMIME-Version: 1.0\r\n\r\nhello world\r\n",
            &[],
        );
        assert!(a.layers.is_empty());
        let yaml = a.to_yaml();
        assert!(
            yaml.contains("body: text/plain, 13 bytes, sha256:"),
            "{yaml}"
        );
        assert!(!yaml.contains("hello"), "{yaml}");
        // A version number stays a string for every YAML reader.
        assert!(yaml.contains("mime-version: \"1.0\""), "{yaml}");
    }
}
