//! From a message's shape to its bytes: the RFC 5322 message a client writes, then the S/MIME
//! layers the engine (`smime::cms`) puts around it.
//!
//! Byte-stable for snapshots: `Date` is the plan's clock, `Message-ID` is
//! `<scenario>.<n>@<domain>`, and every random choice (content keys, IVs, OAEP/PSS randomness,
//! ECDH ephemeral keys, MIME boundaries) comes from one generator seeded with
//! `<scenario>/message-<n>/protect`, drawn in the engine's fixed order.

use base64::Engine as _;
use smime::cms::envelope::{EncryptOptions, Recipient};
use smime::cms::{SignOptions, Signer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;
use x509_cert::Certificate;

use super::shape::MessageShape;

/// The header fields a client writes. Bcc recipients are in the SMTP envelope only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headers {
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub date: OffsetDateTime,
    /// With its angle brackets.
    pub message_id: String,
}

/// `<scenario>.<n>@<domain>`, with angle brackets.
pub fn message_id(scenario: &str, number: usize, domain: &str) -> String {
    format!("<{scenario}.{number}@{domain}>")
}

/// The Message-ID of the `copy`-th further message one send became (Outlook on the web's Bcc
/// forking): `<scenario>.<n>.bcc-<copy>@<domain>`. The first keeps [`message_id`].
pub fn copy_message_id(scenario: &str, number: usize, copy: usize, domain: &str) -> String {
    format!("<{scenario}.{number}.bcc-{copy}@{domain}>")
}

/// Whether a stored Message-ID (without angle brackets) is message `number`'s or one of its
/// copies'.
pub fn is_message_or_copy(stored: &str, scenario: &str, number: usize, domain: &str) -> bool {
    let base = format!("{scenario}.{number}");
    let Some(local) = stored.strip_suffix(&format!("@{domain}")) else {
        return false;
    };
    local == base
        || local
            .strip_prefix(&format!("{base}.bcc-"))
            .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

/// The label of the message's random generator.
pub fn rng_label(scenario: &str, number: usize) -> String {
    format!("{scenario}/message-{number}/protect")
}

/// The plain message: header fields, then the body as `text/plain; charset=utf-8`, in CRLF.
/// ASCII text goes as 7bit; anything else, or a line over 998 octets, as base64.
pub fn plain_message(headers: &Headers, body: &str) -> Result<Vec<u8>, String> {
    let date = headers.date.format(&Rfc2822).map_err(|e| {
        format!(
            "the plan's clock {} has no RFC 5322 form: {e}",
            headers.date
        )
    })?;
    let mut out = String::new();
    out.push_str(&format!("From: {}\r\n", headers.from));
    if !headers.to.is_empty() {
        out.push_str(&format!("To: {}\r\n", headers.to.join(", ")));
    }
    if !headers.cc.is_empty() {
        out.push_str(&format!("Cc: {}\r\n", headers.cc.join(", ")));
    }
    out.push_str(&format!(
        "Subject: {}\r\n",
        encode_subject(&headers.subject)
    ));
    out.push_str(&format!("Date: {date}\r\n"));
    out.push_str(&format!("Message-ID: {}\r\n", headers.message_id));
    out.push_str("MIME-Version: 1.0\r\n");
    out.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    let text = crlf(body);
    let seven_bit = text.is_ascii()
        && text.split("\r\n").all(|line| line.len() <= 998)
        && !text.bytes().any(|b| b == 0);
    let mut bytes = if seven_bit {
        out.push_str("Content-Transfer-Encoding: 7bit\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(text.as_bytes());
        bytes
    } else {
        out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&smime::cms::mime::encode_base64_lines(text.as_bytes()));
        bytes
    };
    if !bytes.ends_with(b"\r\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    Ok(bytes)
}

/// Every line break as CRLF, and a final one.
fn crlf(text: &str) -> String {
    let mut out = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n");
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out
}

/// A subject as it may stand in a header: printable ASCII as is, anything else as RFC 2047
/// encoded words (UTF-8, base64), each at most 75 characters, folded.
fn encode_subject(subject: &str) -> String {
    let printable = subject.bytes().all(|b| (0x20..0x7f).contains(&b));
    if printable && !subject.contains("=?") {
        return subject.to_owned();
    }
    // 45 bytes of UTF-8 make 60 base64 characters: with `=?UTF-8?B?` and `?=`, 72.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in subject.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w.as_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// The keys the layers need.
pub struct Keys {
    /// Who signs, with the chain to include from.
    pub signer: Option<Signer>,
    /// The recipients' encryption certificates, in recipient order.
    pub recipients: Vec<Certificate>,
    /// The sender's own encryption certificate (added to the envelope when the shape says so).
    pub own: Option<Certificate>,
}

/// Puts the shape's layers around `plain`. Deterministic given `now` and `rng_label`.
pub fn protect(
    plain: &[u8],
    shape: &MessageShape,
    keys: &Keys,
    now: OffsetDateTime,
    rng_label: &str,
) -> Result<Vec<u8>, String> {
    let mut rng = smime::rng::seeded(rng_label);
    let sign_options = shape.sign.as_ref().map(|s| SignOptions {
        digest: s.digest.into(),
        form: s.form,
        include: s.include.into(),
        own_certificates: s.own_certificates,
        capabilities: s.capabilities.clone(),
        ..SignOptions::new(now)
    });
    let encrypt_options = shape.encrypt.as_ref().map(|e| EncryptOptions {
        cipher: e.cipher,
        rsa_padding: e.rsa_padding,
        recipient_id: e.recipient_id,
        also_to_sender: if e.to_self { keys.own.clone() } else { None },
    });
    let recipients: Vec<Recipient> = keys
        .recipients
        .iter()
        .cloned()
        .map(Recipient::new)
        .collect();
    let signer = || {
        keys.signer
            .as_ref()
            .ok_or_else(|| "a signed shape without a signer (a bug in the client)".to_owned())
    };
    match (sign_options, encrypt_options) {
        (None, None) => Ok(plain.to_vec()),
        (Some(sign), None) => smime::cms::sign_message(plain, signer()?, &sign, &mut rng)
            .map_err(|e| format!("cannot sign: {e}")),
        (None, Some(encrypt)) => {
            smime::cms::envelope::encrypt_message(plain, &recipients, &encrypt, &mut rng)
                .map_err(|e| format!("cannot encrypt: {e}"))
        }
        (Some(sign), Some(encrypt)) if shape.triple_wrap => {
            smime::cms::triple_wrap(plain, signer()?, &sign, &recipients, &encrypt, &mut rng)
                .map_err(|e| e.to_string())
        }
        (Some(sign), Some(encrypt)) => {
            smime::cms::sign_then_encrypt(plain, signer()?, &sign, &recipients, &encrypt, &mut rng)
                .map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(subject: &str) -> Headers {
        Headers {
            from: "alice@contoso.com".into(),
            to: vec!["carol@contoso.com".into(), "bob@contoso.com".into()],
            cc: vec!["dave@contoso.com".into()],
            subject: subject.into(),
            date: time::macros::datetime!(2026-01-01 0:00 UTC),
            message_id: message_id("rsa-happy-path", 2, "contoso.com"),
        }
    }

    #[test]
    fn a_plain_message_is_fixed_by_the_plan() {
        let plain = plain_message(&headers("rsa-happy-path #2"), "Hello\nthere").expect("writes");
        assert_eq!(
            String::from_utf8(plain).expect("ASCII"),
            "From: alice@contoso.com\r\n\
             To: carol@contoso.com, bob@contoso.com\r\n\
             Cc: dave@contoso.com\r\n\
             Subject: rsa-happy-path #2\r\n\
             Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
             Message-ID: <rsa-happy-path.2@contoso.com>\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 7bit\r\n\
             \r\n\
             Hello\r\n\
             there\r\n"
        );
    }

    #[test]
    fn protected_messages_are_byte_stable_per_label() {
        use crate::execute::clients::shape::{EncryptShape, MessageShape, SignShape};
        use scenario::model::{ChainInclusion, Digest};
        use smime::cms::SignedForm;
        use smime::cms::envelope::{ContentCipher, RecipientIdType, RsaPadding};

        let pki = crate::execute::test_pki::default_pki();
        let certificate = |id: &str| {
            smime::certificate::parse_der(&pki.entity(id).expect(id).certificate).expect("parses")
        };
        let keys = Keys {
            signer: Some(Signer {
                certificate: certificate("alice"),
                key: pki.entity("alice").expect("alice").key.clone(),
                chain: vec![certificate("issuing"), certificate("root")],
                encryption_certificate: None,
            }),
            recipients: vec![certificate("carol")],
            own: Some(certificate("alice")),
        };
        let shape = MessageShape {
            sign: Some(SignShape {
                digest: Digest::Sha256,
                form: SignedForm::ClearSigned,
                include: ChainInclusion::Chain,
                own_certificates: smime::cms::OwnCertificates::Signing,
                capabilities: Vec::new(),
            }),
            encrypt: Some(EncryptShape {
                cipher: ContentCipher::Aes256Cbc,
                rsa_padding: RsaPadding::Pkcs1v15,
                recipient_id: RecipientIdType::IssuerAndSerialNumber,
                to_self: true,
            }),
            triple_wrap: false,
            notes: Vec::new(),
        };
        let plain = plain_message(&headers("x"), "body").expect("writes");
        let now = time::macros::datetime!(2026-01-01 0:00 UTC);
        let label = rng_label("rsa-happy-path", 1);
        assert_eq!(label, "rsa-happy-path/message-1/protect");
        let once = protect(&plain, &shape, &keys, now, &label).expect("protects");
        let again = protect(&plain, &shape, &keys, now, &label).expect("protects");
        assert_eq!(once, again);
        let other =
            protect(&plain, &shape, &keys, now, &rng_label("rsa-happy-path", 2)).expect("protects");
        assert_ne!(once, other);
        // Both the recipient and the sender open it.
        for id in ["carol", "alice"] {
            let opened = smime::cms::envelope::decrypt_message(
                &once,
                &certificate(id),
                &pki.entity(id).expect(id).key,
            )
            .expect("decrypts");
            assert!(
                opened
                    .content
                    .starts_with(b"Content-Type: multipart/signed")
            );
        }
        let unsigned = MessageShape {
            sign: None,
            ..shape.clone()
        };
        let no_signer = Keys {
            signer: None,
            ..keys
        };
        assert!(protect(&plain, &unsigned, &no_signer, now, &label).is_ok());
        assert!(protect(&plain, &shape, &no_signer, now, &label).is_err());
    }

    #[test]
    fn copies_have_ids_of_their_own_that_name_the_message() {
        let first = message_id("s", 3, "contoso.com");
        let copy = copy_message_id("s", 3, 2, "contoso.com");
        assert_eq!(copy, "<s.3.bcc-2@contoso.com>");
        for id in [&first, &copy] {
            let bare = id.trim_start_matches('<').trim_end_matches('>');
            assert!(is_message_or_copy(bare, "s", 3, "contoso.com"), "{bare}");
            assert!(!is_message_or_copy(bare, "s", 30, "contoso.com"));
            assert!(!is_message_or_copy(bare, "s", 3, "fabrikam.com"));
        }
        assert!(!is_message_or_copy(
            "s.31@contoso.com",
            "s",
            3,
            "contoso.com"
        ));
        assert!(!is_message_or_copy(
            "s.3.bcc-@contoso.com",
            "s",
            3,
            "contoso.com"
        ));
    }

    #[test]
    fn non_ascii_is_encoded() {
        let plain = plain_message(&headers("Grüße aus Zürich"), "Grüße\r\n").expect("writes");
        let text = String::from_utf8(plain).expect("ASCII");
        assert!(text.is_ascii());
        assert!(
            text.contains("Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgWsO8cmljaA==?=\r\n"),
            "{text}"
        );
        assert!(text.contains("Content-Transfer-Encoding: base64\r\n\r\nR3LDvMOfZQ0K\r\n"));
        let long = "é".repeat(40);
        let folded = encode_subject(&long);
        assert_eq!(folded.matches("=?UTF-8?B?").count(), 2);
        assert!(folded.split("\r\n ").all(|w| w.len() <= 75));
        assert_eq!(
            encode_subject("a =?x?= trick")
                .matches("=?UTF-8?B?")
                .count(),
            1
        );
    }
}
