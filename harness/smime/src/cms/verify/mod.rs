//! Verifying a signed message: find the signature in the MIME structure (strictly: only a
//! signature that covers the whole message can be valid; this module), then check it
//! ([`signed_data`]: the CMS signature, the signed attributes, the signer's path and revocation,
//! and that the signer is the From address).
//! No I/O: CRLs and anchors come in through [`VerifyContext`].

mod signed_data;

use signed_data::verify_cms;
pub(crate) use signed_data::{
    SignedDataBer, check_signer_key_size, check_signer_path, decode_signed_data,
};

use x509_cert::Certificate;

use super::address::{mailboxes, parse_mailboxes};
use super::algorithms::DigestAlgorithm;
use super::mime::{self, ContentType, Entity};
pub use super::path::Revocation;
use super::verdict::{MimeNode, Packaging, PartRole, Status, Verdict};

/// What a verification depends on besides the message.
#[derive(Clone, Debug)]
pub struct VerifyContext {
    /// Trust anchors (Exchange: the certificates of the SST given to Set-SmimeConfig).
    pub anchors: Vec<Certificate>,
    /// When to judge validity; the lab never reads a clock of its own.
    pub now: time::OffsetDateTime,
    pub revocation: Revocation,
    /// The sender to compare the signer with when the entity has no From field of its own,
    /// e.g. the inner entity of a decrypted message (the From is on the outer one).
    pub sender: Option<String>,
    /// Certificates the verifier found outside the message: those published in the directory
    /// for the sender. A signature whose signer's certificate the message does not carry is
    /// checked with the one here that the SignerIdentifier names ("Recipients need to retrieve
    /// the certificate from a directory, or from the sender", Set-SmimeConfig
    /// -OWASignedEmailCertificateInclusion). Empty: only the message's certificates count.
    pub directory: Vec<Certificate>,
}

impl VerifyContext {
    pub fn new(anchors: Vec<Certificate>, now: time::OffsetDateTime) -> Self {
        VerifyContext {
            anchors,
            now,
            revocation: Revocation::NotChecked,
            sender: None,
            directory: Vec::new(),
        }
    }

    /// A context at `unix_seconds` (for callers without the `time` crate, such as fuzz targets).
    pub fn at_unix(anchors: Vec<Certificate>, unix_seconds: i64) -> Self {
        let now = time::OffsetDateTime::from_unix_timestamp(unix_seconds)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        Self::new(anchors, now)
    }

    fn now_unix(&self) -> u64 {
        u64::try_from(self.now.unix_timestamp()).unwrap_or(0)
    }
}

/// The From addresses to hold the signer to, or why there is no single one.
#[derive(Default)]
struct Sender {
    addresses: Vec<String>,
    problem: Option<String>,
    /// False for a bare CMS object, which has no From: the check is skipped with a note.
    required: bool,
    /// Addresses a reader may also take for the sender: in the From display name, in Sender,
    /// in Reply-To (field name, address). Each must be the signer's too (Johnny I2/I3 attacks).
    also_shown: Vec<(&'static str, String)>,
}

/// Verifies a whole message (header fields, an empty line, a body). Never panics; anything that
/// is not a valid signature from the From address gets a status other than `valid`.
pub fn verify_message(message: &[u8], ctx: &VerifyContext) -> Verdict {
    verify_layer(message, ctx, false).0
}

/// [`verify_message`], also returning the content the signature covers (the first part of
/// multipart/signed, the eContent of an opaque signature) when the message is S/MIME signed at
/// the top and that content could be taken out, whatever the verdict. `layered` says the caller
/// ([`super::open`]) goes on into that content, so it is not worth a note that only the outer
/// signature was verified.
pub(crate) fn verify_layer(
    message: &[u8],
    ctx: &VerifyContext,
    layered: bool,
) -> (Verdict, Option<Vec<u8>>) {
    let mut v = Verdict::new();
    let entity = match Entity::parse(message) {
        Ok(e) => e,
        Err(e) => {
            v.fail(
                Status::Malformed,
                format!("the message does not parse: {e}"),
            );
            return (v, None);
        }
    };
    let sender = sender_of(&entity, ctx);
    v.from = sender.addresses.clone();

    let mut nodes = Vec::new();
    collect_tree(&entity, "root", 0, &mut nodes);

    let content_type = match entity.content_type() {
        Ok(ct) => ct,
        Err(e) => {
            v.fail(Status::Malformed, e.to_string());
            v.mime_tree = assign_roles(nodes, None, None);
            return (v, None);
        }
    };
    if is_smime_container(&content_type) {
        let content = verify_entity(
            &entity,
            &content_type,
            "root",
            &sender,
            ctx,
            &mut v,
            &mut nodes,
            layered,
        );
        return (v, content);
    }

    // Not signed at the top. A signed part somewhere inside is the classic wrapping attack
    // (prepended text, a signed part as an attachment): report it, never as valid.
    match find_nested_signed(&entity, "root", 0) {
        Some((path, raw)) => {
            let mut inner = Verdict::new();
            inner.from = sender.addresses.clone();
            match Entity::parse(raw).and_then(|e| e.content_type().map(|ct| (e, ct))) {
                Ok((nested, ct)) => {
                    let mut inner_nodes = Vec::new();
                    verify_entity(
                        &nested,
                        &ct,
                        &path,
                        &sender,
                        ctx,
                        &mut inner,
                        &mut inner_nodes,
                        false,
                    );
                }
                Err(e) => inner.fail(Status::Malformed, e.to_string()),
            }
            let inner_status = inner.status;
            v = inner;
            v.override_status(
                Status::PartiallySigned,
                format!(
                    "only the part at {path} is signed ({}); the message around it (other parts, text before or after, the headers of the wrapper) is not covered by any signature",
                    if inner_status == Status::Valid {
                        "its signature alone would verify".to_owned()
                    } else {
                        format!("and that signature is itself {inner_status}")
                    }
                ),
            );
            let signed_prefix = format!("{path}.1");
            v.mime_tree = assign_nested_roles(nodes, &path, &signed_prefix, &v);
        }
        None => {
            v.fail(
                Status::NotSigned,
                format!(
                    "the message is {}, not multipart/signed or application/pkcs7-mime: it carries no S/MIME signature",
                    content_type.essence
                ),
            );
            v.mime_tree = assign_roles(nodes, None, None);
        }
    }
    (v, None)
}

fn is_smime_container(ct: &ContentType) -> bool {
    ct.is("multipart/signed") || is_pkcs7_mime(ct)
}

fn is_pkcs7_mime(ct: &ContentType) -> bool {
    ct.is("application/pkcs7-mime") || ct.is("application/x-pkcs7-mime")
}

fn is_pkcs7_signature(ct: &ContentType) -> bool {
    ct.is("application/pkcs7-signature") || ct.is("application/x-pkcs7-signature")
}

fn sender_of(entity: &Entity<'_>, ctx: &VerifyContext) -> Sender {
    let froms: Vec<_> = entity.headers_named("From").collect();
    let mut sender = match froms.as_slice() {
        [] => match &ctx.sender {
            Some(s) => Sender {
                addresses: mailboxes(s),
                required: true,
                ..Sender::default()
            },
            None => Sender {
                problem: Some(
                    "the message has no From field: there is no sender the signer could be"
                        .to_owned(),
                ),
                required: true,
                ..Sender::default()
            },
        },
        [one] => {
            let parsed = parse_mailboxes(&one.unfolded());
            let addresses: Vec<String> = parsed.iter().map(|m| m.address.clone()).collect();
            let problem = match addresses.len() {
                0 => Some(format!(
                    "the From field {:?} holds no address (only a display name or nothing)",
                    one.unfolded()
                )),
                1 => None,
                n => Some(format!(
                    "the From field lists {n} addresses ({}): one signature cannot vouch for several senders",
                    addresses.join(", ")
                )),
            };
            let also_shown = parsed
                .iter()
                .flat_map(|m| m.addresses_in_display_name())
                .map(|a| ("the From display name", a))
                .collect();
            Sender {
                addresses,
                problem,
                required: true,
                also_shown,
            }
        }
        many => {
            let addresses: Vec<String> =
                many.iter().flat_map(|f| mailboxes(&f.unfolded())).collect();
            Sender {
                problem: Some(format!(
                    "{} From fields ({}): a message has exactly one (RFC 5322 §3.6), and clients disagree on which to show",
                    many.len(),
                    addresses.join(", ")
                )),
                addresses,
                required: true,
                ..Sender::default()
            }
        }
    };
    for (field, label) in [("Sender", "the Sender field"), ("Reply-To", "Reply-To")] {
        for h in entity.headers_named(field) {
            for m in parse_mailboxes(&h.unfolded()) {
                for a in m.addresses_in_display_name() {
                    sender.also_shown.push((label, a));
                }
                sender.also_shown.push((label, m.address));
            }
        }
    }
    sender
}

/// Verifies an entity whose Content-Type is multipart/signed or application/pkcs7-mime; returns
/// the signed content when it could be taken out.
#[allow(clippy::too_many_arguments)] // private plumbing; a struct would only rename them
fn verify_entity(
    entity: &Entity<'_>,
    ct: &ContentType,
    path: &str,
    sender: &Sender,
    ctx: &VerifyContext,
    v: &mut Verdict,
    nodes: &mut Vec<(String, String)>,
    layered: bool,
) -> Option<Vec<u8>> {
    if ct.is("multipart/signed") {
        v.packaging = Some(Packaging::ClearSigned);
        let signed_part = child_path(path, 1);
        v.signed_part = Some(signed_part.clone());
        let signature_part = child_path(path, 2);
        let content = verify_clear_signed(entity, ct, sender, ctx, v);
        let taken = std::mem::take(nodes);
        v.mime_tree = assign_roles(taken, Some(&signed_part), Some(&signature_part));
        content
    } else {
        v.packaging = Some(Packaging::OpaqueSigned);
        let inner_path = format!("{path}/p7m");
        let content = verify_opaque(entity, ct, sender, ctx, v);
        if let Some(content) = &content {
            v.signed_part = Some(inner_path.clone());
            if let Ok(inner) = Entity::parse(content) {
                collect_tree(&inner, &inner_path, 1, nodes);
                if !layered
                    && let Ok(inner_ct) = inner.content_type()
                    && (is_smime_container(&inner_ct))
                {
                    v.note(format!(
                        "the signed content is itself S/MIME ({}): only the outer signature was verified",
                        inner_ct.essence
                    ));
                }
            } else {
                v.note("the signed content is not a MIME entity: a mail client cannot display it");
            }
        }
        let taken = std::mem::take(nodes);
        let mut tree = assign_roles(taken, Some(&inner_path), None);
        if let Some(root) = tree.iter_mut().find(|n| n.path == path) {
            root.role = PartRole::SignedData;
        }
        v.mime_tree = tree;
        content
    }
}

/// Verifies multipart/signed; returns the first part (the signed entity) once the structure
/// is sound enough to say which bytes were signed.
fn verify_clear_signed(
    entity: &Entity<'_>,
    ct: &ContentType,
    sender: &Sender,
    ctx: &VerifyContext,
    v: &mut Verdict,
) -> Option<Vec<u8>> {
    let protocol = ct.param("protocol").unwrap_or_default();
    if !protocol.eq_ignore_ascii_case("application/pkcs7-signature")
        && !protocol.eq_ignore_ascii_case("application/x-pkcs7-signature")
    {
        let status = if protocol.eq_ignore_ascii_case("application/pgp-signature") {
            Status::Unsupported
        } else {
            Status::Malformed
        };
        v.fail(
            status,
            format!(
                "multipart/signed with protocol {protocol:?}: S/MIME uses application/pkcs7-signature"
            ),
        );
        return None;
    }
    let Some(boundary) = ct.param("boundary") else {
        v.fail(Status::Malformed, "multipart/signed without a boundary");
        return None;
    };
    let parts = match mime::split_multipart(entity.body(), boundary) {
        Ok(p) => p,
        Err(e) => {
            v.fail(Status::Malformed, format!("multipart/signed: {e}"));
            return None;
        }
    };
    let [content, signature] = parts.parts.as_slice() else {
        v.fail(
            Status::Malformed,
            format!(
                "multipart/signed has {} body parts; RFC 1847 wants exactly two (the content, then the signature)",
                parts.parts.len()
            ),
        );
        return None;
    };
    let signature_entity = match Entity::parse(signature) {
        Ok(e) => e,
        Err(e) => {
            v.fail(Status::Malformed, format!("the signature part: {e}"));
            return None;
        }
    };
    match signature_entity.content_type() {
        Ok(sct) if is_pkcs7_signature(&sct) => {}
        Ok(sct) => {
            v.fail(
                Status::Malformed,
                format!(
                    "the second part of multipart/signed is {}, not application/pkcs7-signature",
                    sct.essence
                ),
            );
            return None;
        }
        Err(e) => {
            v.fail(Status::Malformed, format!("the signature part: {e}"));
            return None;
        }
    }
    let der = match signature_entity.decoded_body() {
        Ok(d) => d,
        Err(e) => {
            v.fail(Status::Malformed, format!("the signature part: {e}"));
            return None;
        }
    };
    // The exact bytes of the first part, with the line breaks the signer hashed (CRLF).
    let signed = mime::to_crlf(content);
    verify_cms(&der, Some(&signed), sender, ctx, v);
    if let (Some(micalg), Some(digest)) = (ct.param("micalg"), &v.digest_algorithm)
        && let Some(d) = micalg
            .split(',')
            .find_map(|m| m.trim().parse::<DigestAlgorithm>().ok())
        && d.name() != digest
    {
        v.note(format!(
            "micalg={micalg} disagrees with the signature's digest {digest} (harmless: the digest algorithm in the signature counts)"
        ));
    }
    Some(signed.into_owned())
}

/// Verifies an application/pkcs7-mime entity; returns the signed content when there is one.
fn verify_opaque(
    entity: &Entity<'_>,
    ct: &ContentType,
    sender: &Sender,
    ctx: &VerifyContext,
    v: &mut Verdict,
) -> Option<Vec<u8>> {
    let smime_type = ct
        .param("smime-type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if smime_type == "enveloped-data" || smime_type == "authenveloped-data" {
        v.fail(
            Status::Encrypted,
            format!(
                "the message is encrypted ({smime_type}): decrypt it, then verify the inner entity (with the outer From as the sender)"
            ),
        );
        return None;
    }
    if smime_type == "certs-only" {
        v.fail(
            Status::NotSigned,
            "application/pkcs7-mime; smime-type=certs-only carries certificates, not a signature",
        );
        return None;
    }
    let der = match entity.decoded_body() {
        Ok(d) => d,
        Err(e) => {
            v.fail(Status::Malformed, format!("the pkcs7-mime body: {e}"));
            return None;
        }
    };
    verify_cms(&der, None, sender, ctx, v)
}

/// Verifies a bare DER/BER CMS ContentInfo (RFC 4134 examples, objects from other tools).
/// `detached_content` is the content of a detached signature. There is no From address: the
/// signer's mailboxes are reported and `ctx.sender`, when given, is checked against them.
pub fn verify_signed_data(
    cms: &[u8],
    detached_content: Option<&[u8]>,
    ctx: &VerifyContext,
) -> Verdict {
    let mut v = Verdict::new();
    v.packaging = Some(Packaging::Cms);
    let sender = match &ctx.sender {
        Some(s) => {
            let addresses = mailboxes(s);
            let problem = (addresses.len() != 1)
                .then(|| format!("the sender {s:?} given is not exactly one address"));
            Sender {
                addresses,
                problem,
                required: true,
                ..Sender::default()
            }
        }
        None => Sender::default(),
    };
    v.from = sender.addresses.clone();
    verify_cms(cms, detached_content, &sender, ctx, &mut v);
    v
}

fn child_path(parent: &str, index: usize) -> String {
    if parent == "root" {
        index.to_string()
    } else {
        format!("{parent}.{index}")
    }
}

/// Collects (path, content type) for every entity, walking multiparts (not into
/// message/rfc822: a forwarded message is one leaf).
fn collect_tree(entity: &Entity<'_>, path: &str, depth: usize, out: &mut Vec<(String, String)>) {
    if depth > mime::MAX_DEPTH || out.len() > mime::MAX_PARTS {
        return;
    }
    let ct = entity.content_type();
    let essence = match &ct {
        Ok(c) => c.essence.clone(),
        Err(_) => "(unparsable Content-Type)".to_owned(),
    };
    out.push((path.to_owned(), essence));
    let Ok(ct) = ct else { return };
    if !ct.is_multipart() {
        return;
    }
    let Some(boundary) = ct.param("boundary") else {
        return;
    };
    let Ok(parts) = mime::split_multipart(entity.body(), boundary) else {
        return;
    };
    for (i, part) in parts.parts.iter().enumerate() {
        if let Ok(e) = Entity::parse(part) {
            collect_tree(&e, &child_path(path, i + 1), depth + 1, out);
        }
    }
}

/// The first multipart/signed or pkcs7-mime part below `entity`, depth-first.
fn find_nested_signed<'a>(
    entity: &Entity<'a>,
    path: &str,
    depth: usize,
) -> Option<(String, &'a [u8])> {
    if depth > mime::MAX_DEPTH {
        return None;
    }
    let ct = entity.content_type().ok()?;
    if !ct.is_multipart() {
        return None;
    }
    let boundary = ct.param("boundary")?;
    let parts = mime::split_multipart(entity.body(), boundary).ok()?;
    for (i, part) in parts.parts.iter().enumerate() {
        let Ok(e) = Entity::parse(part) else { continue };
        let p = child_path(path, i + 1);
        if let Ok(pct) = e.content_type()
            && is_smime_container(&pct)
        {
            return Some((p, part));
        }
        if let Some(found) = find_nested_signed(&e, &p, depth + 1) {
            return Some(found);
        }
    }
    None
}

fn is_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('/'))
}

fn assign_roles(
    nodes: Vec<(String, String)>,
    signed: Option<&str>,
    signature: Option<&str>,
) -> Vec<MimeNode> {
    nodes
        .into_iter()
        .map(|(path, content_type)| {
            let role = if signed.is_some_and(|s| is_under(&path, s)) {
                PartRole::SignedContent
            } else if signature.is_some_and(|s| path == s) {
                PartRole::Signature
            } else if content_type.starts_with("multipart/") {
                PartRole::Container
            } else {
                PartRole::Unsigned
            };
            MimeNode {
                path,
                content_type,
                role,
            }
        })
        .collect()
}

fn assign_nested_roles(
    nodes: Vec<(String, String)>,
    nested: &str,
    signed_prefix: &str,
    v: &Verdict,
) -> Vec<MimeNode> {
    let signature = match v.packaging {
        Some(Packaging::ClearSigned) => Some(child_path(nested, 2)),
        _ => None,
    };
    let signed = match v.packaging {
        Some(Packaging::ClearSigned) => signed_prefix.to_owned(),
        _ => nested.to_owned(),
    };
    let mut tree = assign_roles(nodes, Some(&signed), signature.as_deref());
    if let Some(n) = tree.iter_mut().find(|n| n.path == nested) {
        n.role = match v.packaging {
            Some(Packaging::OpaqueSigned) => PartRole::SignedData,
            _ => PartRole::Container,
        };
    }
    tree
}

#[cfg(test)]
mod tests {
    use rand_core::Rng;

    use super::*;
    use test_support::vector;

    fn context() -> VerifyContext {
        let anchors =
            crate::certificate::parse_certificates(&vector("thunderbird-nss/TestCA.pem")).unwrap();
        VerifyContext::at_unix(anchors, 1_780_000_000)
    }

    /// Deterministic, bounded mutation of real messages: bit flips, deletions, insertions,
    /// truncations and chunk duplications, on the MIME text and (re-wrapped) on the DER. Nothing
    /// may panic; mutations of the signature bytes must never verify.
    #[test]
    fn mutated_messages_never_panic() {
        let ctx = context();
        let originals = [
            vector("thunderbird-nss/alice.dsig.SHA256.multipart.eml"),
            vector("thunderbird-nss/alice.sig.SHA256.opaque.eml"),
            vector("johnny-fired-smime/01-cms__c1_eContent-confusion__eContent_confusion.eml"),
            vector("rfc4134/4.8.eml"),
        ];
        assert_eq!(verify_message(&originals[0], &ctx).status, Status::Valid);
        let mut rng = crate::rng::seeded("cms-verify-mutation");
        for original in &originals {
            for _ in 0..150 {
                let mut m = original.clone();
                mutate(&mut m, &mut rng);
                let _ = verify_message(&m, &ctx);
            }
        }
        // The same on the CMS object, so that mutations reach the ASN.1 and crypto code.
        let entity = Entity::parse(&originals[1]).unwrap();
        let der = entity.decoded_body().unwrap().into_owned();
        let header = entity.header_block().to_vec();
        for round in 0..400 {
            let mut d = der.clone();
            mutate(&mut d, &mut rng);
            let _ = verify_signed_data(&d, None, &ctx);
            let _ = verify_signed_data(&d, Some(b"content"), &ctx);
            if round % 4 == 0 {
                let mut message = header.clone();
                message.extend_from_slice(&mime::encode_base64_lines(&d));
                let _ = verify_message(&message, &ctx);
            }
        }
        // Any change to the RSA signature value (the last 256 bytes before the end-of-contents
        // octets of this BER object) is never valid.
        let sig_end = der.len() - 10;
        for i in 0..64usize {
            let mut d = der.clone();
            let at = sig_end - 1 - (i * 3) % 250;
            d[at] ^= 1 << (i % 8);
            let v = verify_signed_data(&d, None, &ctx);
            assert_ne!(v.status, Status::Valid, "flip at {at}");
        }
    }

    fn pick(rng: &mut impl Rng, n: usize) -> usize {
        usize::try_from(rng.next_u32()).unwrap_or(0) % n.max(1)
    }

    fn mutate(m: &mut Vec<u8>, rng: &mut impl Rng) {
        if m.is_empty() {
            m.push(0);
            return;
        }
        for _ in 0..1 + pick(rng, 4) {
            let len = m.len().max(1);
            match pick(rng, 6) {
                0 => {
                    let i = pick(rng, len).min(m.len().saturating_sub(1));
                    let bit = pick(rng, 8);
                    if let Some(b) = m.get_mut(i) {
                        *b ^= 1 << bit;
                    }
                }
                1 => {
                    let i = pick(rng, len).min(m.len());
                    let n = pick(rng, 16).min(m.len() - i);
                    m.drain(i..i + n);
                }
                2 => {
                    let i = pick(rng, len).min(m.len());
                    let byte = [0u8, 0x80, 0xff, b'\n', b'-', 0x30][pick(rng, 6)];
                    m.insert(i, byte);
                }
                3 => m.truncate(pick(rng, len)),
                4 => {
                    let i = pick(rng, len).min(m.len());
                    let n = pick(rng, 64).min(m.len() - i);
                    let chunk = m[i..i + n].to_vec();
                    let at = pick(rng, m.len()).min(m.len());
                    m.splice(at..at, chunk);
                }
                _ => {
                    // Length bytes are where ASN.1 parsers break: set one to a large value.
                    let i = pick(rng, len).min(m.len().saturating_sub(1));
                    let value = [0x84, 0x83, 0x82, 0x81, 0x80, 0x7f][pick(rng, 6)];
                    if let Some(b) = m.get_mut(i) {
                        *b = value;
                    }
                }
            }
        }
    }
}
