//! Layered messages: opening one (peel signatures and envelopes outermost first, verify every
//! signature, sum the layers up in one verdict) and building one (sign then encrypt, as Outlook
//! and Thunderbird send by default; RFC 2634 triple wrapping: sign, encrypt, sign). No I/O.
//!
//! # The overall verdict
//!
//! [`OpenedMessage::verdict`] is `valid` only when every signed layer is valid and nothing stopped
//! the peeling. Precisely, walking the layers outermost first:
//!
//! - the first signed layer that is not valid decides the status, with its reasons prefixed by
//!   the layer (`layer 3 (clear-signed): ...`); later failures are listed after it;
//! - an envelope that cannot be opened decides next: `encrypted` when no certificate and key
//!   were given, `cannot-decrypt` when they do not open it (not a recipient, wrong key, content
//!   that does not decrypt), `malformed`/`unsupported` for a broken or exotic envelope;
//! - more than [`MAX_LAYERS`] layers is `malformed` (a nesting bomb; clients nest at most three);
//! - no signed layer at all is `not-signed` (or whatever [`verify_message`] says of the innermost
//!   entity, such as `partially-signed` for a signed part hidden in a multipart/mixed).
//!
//! Every signature is held to the From a reader sees: the outermost message's. The entity inside
//! an envelope or an opaque signature usually has no From of its own, so each inner layer is
//! verified as the message a client displays, the outer header fields (From, Sender, Reply-To,
//! ...) over the inner entity. An inner entity with a From of its own then shows two From fields,
//! which is never valid: a reader cannot tell which one the signature vouches for.
//!
//! `weak` is true when any layer is weak: a weak digest or key in any signature, or a legacy
//! content cipher (3DES, DES, RC2) in any envelope. The signer, algorithms and MIME anatomy in the
//! overall verdict are those of the innermost signed layer: the signature over what is read.

use cms::content_info::ContentInfo;
use const_oid::db::{rfc5911, rfc6268};
use der::Decode;
use rand_core::CryptoRng;
use serde::Serialize;
use x509_cert::Certificate;

use super::address::mailboxes;
use super::envelope::{
    self, ContentCipher, DecryptError, EncryptError, EncryptOptions, KeyManagement, Recipient,
    RecipientMatch, decrypted_message, encrypt_message,
};
use super::mime::Entity;
use super::sign::{SignError, SignOptions, Signer, sign_message};
use super::verdict::{Packaging, Status, Verdict};
use super::verify::{VerifyContext, verify_layer, verify_message};
use crate::key::PrivateKey;

/// The most layers [`open_message`] peels. Clients nest at most three (RFC 2634 triple
/// wrapping); anything deeper is refused as `malformed` rather than followed.
pub const MAX_LAYERS: usize = 8;

/// One layer of protection, outermost first in [`OpenedMessage::layers`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Layer {
    /// A signature, clear (multipart/signed) or opaque (application/pkcs7-mime signed-data), and
    /// its own verdict.
    Signed { verdict: Box<Verdict> },
    /// An envelope (enveloped-data or authEnveloped-data) and how it was opened, if it was.
    Encrypted(EncryptedLayer),
}

/// An envelope. The algorithm fields are `None` when it was not opened (no key, or the key did
/// not open it: the overall verdict says why).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EncryptedLayer {
    /// AuthEnvelopedData (AES-GCM, RFC 5083) rather than EnvelopedData.
    pub authenticated: bool,
    pub decrypted: bool,
    pub cipher: Option<ContentCipher>,
    pub key_management: Option<KeyManagement>,
    pub recipient_matched_by: Option<RecipientMatch>,
    /// The content cipher is a legacy one a mobile policy can demand (3DES, DES, RC2).
    pub weak: bool,
    pub weak_reason: Option<String>,
    /// One line for reports: cipher, key management, how we were named.
    pub description: String,
}

/// A message opened layer by layer.
#[derive(Clone, Debug, Serialize)]
pub struct OpenedMessage {
    /// The overall verdict (the rule is in the module documentation). Serialised flat, so a
    /// report has `status` at the top like a single [`Verdict`].
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Outermost first.
    pub layers: Vec<Layer>,
    /// The innermost entity reached: the plaintext a client shows once every layer is peeled
    /// (for a plain message, the message itself; when an envelope could not be opened, that
    /// envelope). Left out of JSON: a report must not carry the decrypted text into logs.
    #[serde(skip)]
    pub content: Vec<u8>,
}

impl OpenedMessage {
    pub fn is_valid(&self) -> bool {
        self.verdict.is_valid()
    }

    /// The overall verdict, then (when there is more than a single signature) one line per
    /// layer, for a terminal. The status stays on the first line, where scripts look.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = self.verdict.to_text();
        if matches!(self.layers.as_slice(), [] | [Layer::Signed { .. }]) {
            return s;
        }
        s.push_str("layers, outermost first:\n");
        for (i, layer) in self.layers.iter().enumerate() {
            let _ = match layer {
                Layer::Signed { verdict } => writeln!(
                    s,
                    "  {}. {}, {}{}",
                    i + 1,
                    packaging_name(verdict.packaging),
                    verdict.status,
                    verdict
                        .signer
                        .as_ref()
                        .map(|signer| format!(" (signer {})", signer.mailboxes.join(", ")))
                        .unwrap_or_default()
                ),
                Layer::Encrypted(e) => writeln!(s, "  {}. {}", i + 1, e.description),
            };
        }
        s
    }
}

/// Opens `message` (header fields, an empty line, a body) layer by layer: a signature is verified
/// and its content opened in turn, an envelope is decrypted with `decryption` (the recipient's
/// certificate and private key) and its plaintext opened in turn, anything else ends the walk.
/// Never panics; the overall verdict follows the rule in the module documentation.
pub fn open_message(
    message: &[u8],
    ctx: &VerifyContext,
    decryption: Option<(&Certificate, &PrivateKey)>,
) -> OpenedMessage {
    let mut layers: Vec<Layer> = Vec::new();
    // `current` is always a whole message: the outermost header fields over the entity reached,
    // which is what a client displays and what inner signatures are held to.
    let mut current = message.to_vec();
    let mut content = message.to_vec();
    let mut stop: Option<(Status, String)> = None;
    let mut innermost_unsigned: Option<Verdict> = None;

    loop {
        let wrapping = classify(&current);
        if !matches!(wrapping, Wrapping::Plain) && layers.len() >= MAX_LAYERS {
            stop = Some((
                Status::Malformed,
                format!(
                    "more than {MAX_LAYERS} nested S/MIME layers: clients nest at most three (sign, encrypt, sign), so this is refused rather than followed"
                ),
            ));
            break;
        }
        match wrapping {
            Wrapping::Plain => {
                if !layers.iter().any(|l| matches!(l, Layer::Signed { .. })) {
                    innermost_unsigned = Some(verify_message(&current, ctx));
                }
                break;
            }
            Wrapping::Signed => {
                let (verdict, inner) = verify_layer(&current, ctx, true);
                if verdict.status == Status::NotSigned {
                    // application/pkcs7-mime that is not a signature (certs-only, a CMS type
                    // other than signed-data): not a layer, the end of the walk.
                    if !layers.iter().any(|l| matches!(l, Layer::Signed { .. })) {
                        innermost_unsigned = Some(verdict);
                    }
                    break;
                }
                layers.push(Layer::Signed {
                    verdict: Box::new(verdict),
                });
                match inner {
                    Some(inner) => {
                        current = decrypted_message(&current, &inner);
                        content = inner;
                    }
                    // The layer's verdict says why its content could not be taken out.
                    None => break,
                }
            }
            Wrapping::Encrypted { der, authenticated } => {
                let label = layer_label(layers.len(), envelope_name(authenticated));
                let Some((cert, key)) = decryption else {
                    layers.push(Layer::Encrypted(unopened(authenticated)));
                    stop = Some((
                        Status::Encrypted,
                        format!(
                            "{label} is encrypted and no recipient certificate and key were given: decrypt it to verify what is inside"
                        ),
                    ));
                    break;
                };
                match envelope::decrypt(&der, cert, key) {
                    Ok(d) => {
                        let weak_reason = d.content_cipher.weakness().map(str::to_owned);
                        let description = format!(
                            "{}{}, {}, recipient matched by {}",
                            d.content_cipher.display_name(),
                            if d.authenticated {
                                " (authenticated)"
                            } else {
                                ""
                            },
                            d.key_management,
                            match d.recipient_matched_by {
                                RecipientMatch::IssuerSerial => "issuer and serial number",
                                RecipientMatch::Ski => "subject key identifier",
                            }
                        );
                        layers.push(Layer::Encrypted(EncryptedLayer {
                            authenticated: d.authenticated,
                            decrypted: true,
                            cipher: Some(d.content_cipher),
                            key_management: Some(d.key_management),
                            recipient_matched_by: Some(d.recipient_matched_by),
                            weak: d.weak,
                            weak_reason,
                            description,
                        }));
                        current = decrypted_message(&current, &d.content);
                        content = d.content;
                    }
                    Err(e) => {
                        layers.push(Layer::Encrypted(unopened(authenticated)));
                        stop = Some((decrypt_status(&e), format!("{label}: {e}")));
                        break;
                    }
                }
            }
        }
    }

    let verdict = sum_up(&layers, stop, innermost_unsigned, &current);
    OpenedMessage {
        verdict,
        layers,
        content,
    }
}

/// What the entity at the top of a message is.
enum Wrapping {
    Signed,
    Encrypted { der: Vec<u8>, authenticated: bool },
    Plain,
}

/// The CMS content type decides (it is what is really there); the smime-type parameter only
/// when the body does not decode. Anything [`verify_layer`] should judge (a broken
/// pkcs7-mime, a CMS type other than the envelopes) goes the signed way and gets its verdict.
fn classify(message: &[u8]) -> Wrapping {
    let Ok(entity) = Entity::parse(message) else {
        return Wrapping::Plain;
    };
    let Ok(ct) = entity.content_type() else {
        return Wrapping::Plain;
    };
    if ct.is("multipart/signed") {
        return Wrapping::Signed;
    }
    if !(ct.is("application/pkcs7-mime") || ct.is("application/x-pkcs7-mime")) {
        return Wrapping::Plain;
    }
    let Ok(der) = entity.decoded_body() else {
        return Wrapping::Signed;
    };
    let smime_type = ct
        .param("smime-type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let authenticated = match ContentInfo::from_ber(&der) {
        Ok(ci) if ci.content_type == rfc5911::ID_ENVELOPED_DATA => false,
        Ok(ci) if ci.content_type == rfc6268::ID_CT_AUTH_ENVELOPED_DATA => true,
        Ok(_) => return Wrapping::Signed,
        Err(_) if smime_type == "enveloped-data" => false,
        Err(_) if smime_type == "authenveloped-data" => true,
        Err(_) => return Wrapping::Signed,
    };
    Wrapping::Encrypted {
        der: der.into_owned(),
        authenticated,
    }
}

fn unopened(authenticated: bool) -> EncryptedLayer {
    EncryptedLayer {
        authenticated,
        decrypted: false,
        cipher: None,
        key_management: None,
        recipient_matched_by: None,
        weak: false,
        weak_reason: None,
        description: format!("{}, not decrypted", envelope_name(authenticated)),
    }
}

fn decrypt_status(e: &DecryptError) -> Status {
    match e {
        DecryptError::Malformed { .. }
        | DecryptError::NotSmime { .. }
        | DecryptError::NotEnveloped { .. }
        | DecryptError::NoContent => Status::Malformed,
        DecryptError::Unsupported { .. } => Status::Unsupported,
        DecryptError::KeyMismatch { .. }
        | DecryptError::NotARecipient { .. }
        | DecryptError::KeyDecryption { .. }
        | DecryptError::ContentDecryption { .. }
        | DecryptError::AuthenticationFailed => Status::CannotDecrypt,
    }
}

fn envelope_name(authenticated: bool) -> &'static str {
    if authenticated {
        "authEnveloped-data"
    } else {
        "enveloped-data"
    }
}

fn packaging_name(p: Option<Packaging>) -> &'static str {
    match p {
        Some(Packaging::ClearSigned) => "clear-signed",
        Some(Packaging::OpaqueSigned) => "opaque-signed",
        Some(Packaging::Cms) => "CMS signed-data",
        None => "signed",
    }
}

/// `layer 2 (enveloped-data)`: layers are numbered from 1, outermost first.
fn layer_label(index: usize, kind: &str) -> String {
    format!("layer {} ({kind})", index + 1)
}

fn describe(index: usize, layer: &Layer) -> String {
    match layer {
        Layer::Signed { verdict } => layer_label(index, packaging_name(verdict.packaging)),
        Layer::Encrypted(e) => layer_label(index, envelope_name(e.authenticated)),
    }
}

/// The overall verdict from the layers (the rule is in the module documentation). `message` is
/// the innermost whole message, for the From when nothing was signed.
fn sum_up(
    layers: &[Layer],
    stop: Option<(Status, String)>,
    innermost_unsigned: Option<Verdict>,
    message: &[u8],
) -> Verdict {
    let signed: Vec<(usize, &Verdict)> = layers
        .iter()
        .enumerate()
        .filter_map(|(i, l)| match l {
            Layer::Signed { verdict } => Some((i, verdict.as_ref())),
            Layer::Encrypted(_) => None,
        })
        .collect();
    let several = signed.len() > 1;

    let mut v = match (signed.last(), innermost_unsigned) {
        (Some((_, innermost)), _) => {
            let mut v = (*innermost).clone();
            v.clear_findings();
            v
        }
        (None, Some(unsigned)) => unsigned,
        (None, None) => {
            // Stopped at an envelope before any signature: the From is still worth reporting.
            let mut v = Verdict::new();
            v.from = from_addresses(message);
            v
        }
    };

    if signed.is_empty() {
        // `v` is either empty or the innermost entity's own verdict (never valid: a valid one
        // would have been a signed layer).
        let envelopes: Vec<String> = layers
            .iter()
            .enumerate()
            .map(|(i, l)| describe(i, l))
            .collect();
        if let Some((status, reason)) = stop {
            v.override_status(status, reason);
        } else if !envelopes.is_empty() {
            let status = v.status;
            v.override_status(
                status,
                format!(
                    "the message is encrypted ({}) but nothing inside is signed: the envelope says nothing about who wrote it",
                    envelopes.join(", ")
                ),
            );
        }
    } else {
        for (i, layer) in &signed {
            if layer.status == Status::Valid {
                continue;
            }
            let label = describe(*i, &layers[*i]);
            let failures = layer.failures();
            if failures.is_empty() {
                v.fail(layer.status, format!("{label}: {}", layer.status));
            }
            for reason in failures {
                v.fail(layer.status, format!("{label}: {reason}"));
            }
        }
        if let Some((status, reason)) = stop {
            v.fail(status, reason);
        }
        // Notes every signature shares ("revocation not checked") are said once; the others
        // name their layer.
        let notes_of = |layer: &Verdict| -> Vec<String> {
            layer
                .reasons
                .get(layer.failures().len()..)
                .unwrap_or(&[])
                .to_vec()
        };
        let mut said: Vec<String> = Vec::new();
        for (i, layer) in &signed {
            for note in notes_of(layer) {
                let shared = signed.iter().all(|(_, l)| notes_of(l).contains(&note));
                if !several || shared {
                    if !said.contains(&note) {
                        v.note(note.clone());
                        said.push(note);
                    }
                } else {
                    v.note(format!("{}: {note}", describe(*i, &layers[*i])));
                }
            }
        }
    }

    // Weakness is the OR of every layer.
    for (i, layer) in layers.iter().enumerate() {
        match layer {
            Layer::Signed { verdict } => {
                for why in &verdict.weak_reasons {
                    if several {
                        v.weak(format!("{}: {why}", describe(i, layer)));
                    } else {
                        v.weak(why.clone());
                    }
                }
                if verdict.weak && verdict.weak_reasons.is_empty() {
                    v.weak(format!("{}: weak", describe(i, layer)));
                }
            }
            Layer::Encrypted(e) => {
                if let (true, Some(cipher)) = (e.weak, e.cipher) {
                    v.weak(format!(
                        "the content is encrypted with {}: {}",
                        cipher.display_name(),
                        e.weak_reason.as_deref().unwrap_or("a legacy cipher")
                    ));
                }
            }
        }
    }

    if layers.len() > 1 {
        let summary: Vec<String> = layers
            .iter()
            .map(|l| match l {
                Layer::Signed { verdict } => {
                    format!("{} ({})", packaging_name(verdict.packaging), verdict.status)
                }
                Layer::Encrypted(e) => match e.cipher {
                    Some(c) => format!("{} ({})", envelope_name(e.authenticated), c),
                    None => format!("{} (not decrypted)", envelope_name(e.authenticated)),
                },
            })
            .collect();
        v.note(format!("layers, outermost first: {}", summary.join(" > ")));
    }
    v
}

/// The addr-specs of every From field of `message` (for a report; [`verify_message`] judges them).
fn from_addresses(message: &[u8]) -> Vec<String> {
    Entity::parse(message)
        .map(|e| {
            e.headers_named("From")
                .flat_map(|h| mailboxes(&h.unfolded()))
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum ProtectError {
    #[error("cannot sign: {0}")]
    Sign(#[from] SignError),
    #[error("cannot encrypt: {0}")]
    Encrypt(#[from] EncryptError),
}

/// Signs `message` and encrypts the signed message: what Outlook (opaque signature inside,
/// [`super::SignedForm::OpaqueSigned`]) and Thunderbird (multipart/signed inside) send when
/// both are on. The inner form follows `sign_options.form`. The outer header fields (From, To,
/// Subject, Date, Message-ID, threading) stay readable outside the envelope. Deterministic
/// given `sign_options.now` and `rng` (the signature draws first, then the envelope).
pub fn sign_then_encrypt<R: CryptoRng + ?Sized>(
    message: &[u8],
    signer: &Signer,
    sign_options: &SignOptions,
    recipients: &[Recipient],
    encrypt_options: &EncryptOptions,
    rng: &mut R,
) -> Result<Vec<u8>, ProtectError> {
    let signed = sign_message(message, signer, sign_options, rng)?;
    Ok(encrypt_message(&signed, recipients, encrypt_options, rng)?)
}

/// RFC 2634 triple wrapping: sign, encrypt, sign again. The outer signature (by the same signer,
/// with the same options) vouches for the envelope, e.g. to a gateway that cannot decrypt; the
/// inner one for the content. Deterministic given `sign_options.now` and `rng`.
pub fn triple_wrap<R: CryptoRng + ?Sized>(
    message: &[u8],
    signer: &Signer,
    sign_options: &SignOptions,
    recipients: &[Recipient],
    encrypt_options: &EncryptOptions,
    rng: &mut R,
) -> Result<Vec<u8>, ProtectError> {
    let encrypted = sign_then_encrypt(
        message,
        signer,
        sign_options,
        recipients,
        encrypt_options,
        rng,
    )?;
    Ok(sign_message(&encrypted, signer, sign_options, rng)?)
}
