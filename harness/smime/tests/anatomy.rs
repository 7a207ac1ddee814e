//! Snapshots of message anatomies (`smime::cms::anatomy`): one per kind of message the lab
//! sends, built deterministically from the lab PKI in `fixtures/pki/default` (clock 2026-01-01,
//! every random choice from `smime::rng::seeded`), and one Thunderbird/NSS message from the
//! shared vectors. Each is described twice (byte-identical YAML) and checked for key material
//! and body text, which a snapshot must never carry.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use smime::cms::anatomy::{Anatomy, describe};
use smime::cms::envelope::{
    ContentCipher, EncryptOptions, OaepHash, Recipient, RecipientIdType, RsaPadding,
    encrypt_message,
};
use smime::cms::{SignOptions, SignedForm, Signer, sign_message, sign_then_encrypt, triple_wrap};
use smime::key::PrivateKey;
use test_support::{fixture, read, vector};
use x509_cert::Certificate;

/// The lab's clock for these messages.
const NOW: time::OffsetDateTime = time::macros::datetime!(2026-01-01 00:00 UTC);

/// A word that appears only in the message bodies: it must never reach a snapshot, even when
/// the body was decrypted.
const BODY_MARKER: &str = "Quokka-7f3a";

struct Identity {
    certificate: Certificate,
    key: PrivateKey,
    /// The PEM file as committed, to search the YAML for.
    key_pem: String,
}

fn lab(name: &str) -> Identity {
    let cert_path = fixture(&format!("pki/default/{name}.crt.pem"));
    let key_path = fixture(&format!("pki/default/{name}.key.pem"));
    let key_pem = String::from_utf8(read(&key_path)).unwrap();
    Identity {
        certificate: smime::certificate::parse_certificates(&read(&cert_path))
            .unwrap()
            .remove(0),
        key: PrivateKey::from_pem_or_der(key_pem.as_bytes()).unwrap(),
        key_pem,
    }
}

fn issuing_ca() -> Certificate {
    smime::certificate::parse_certificates(&read(fixture("pki/default/issuing.crt.pem")))
        .unwrap()
        .remove(0)
}

fn alice_signer() -> Signer {
    let alice = lab("alice");
    Signer {
        certificate: alice.certificate,
        key: alice.key,
        chain: vec![issuing_ca()],
        encryption_certificate: None,
    }
}

fn bob_signer() -> Signer {
    let bob = lab("bob-sign");
    Signer {
        certificate: bob.certificate,
        key: bob.key,
        chain: vec![issuing_ca()],
        encryption_certificate: Some(lab("bob-encrypt").certificate),
    }
}

/// A message as a client hands it to S/MIME: outer fields as the contracts fix them (Date = the
/// clock, Message-ID `<scenario>.<n>@<domain>`), an 8-bit body.
fn message(from: &str, to: &str, n: u32) -> Vec<u8> {
    format!(
        "From: {from}\r\n\
To: {to}\r\n\
Subject: Quarterly figures\r\n\
Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
Message-ID: <anatomy.{n}@contoso.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Grüße, the figures are in: {BODY_MARKER}.\r\n"
    )
    .into_bytes()
}

fn alice_to_bob(n: u32) -> Vec<u8> {
    message("alice@contoso.com", "bob@contoso.com", n)
}

fn bob_to_alice(n: u32) -> Vec<u8> {
    message("bob@contoso.com", "alice@contoso.com", n)
}

fn options(form: SignedForm) -> SignOptions {
    SignOptions {
        form,
        ..SignOptions::new(NOW)
    }
}

/// Builds a message twice from the same seed (the bytes must not differ, or no snapshot could
/// be stable), describes it twice (the YAML must not differ), checks that no secret leaked, and
/// returns the YAML.
fn anatomy_of(
    build: impl Fn(&mut rand_chacha::ChaCha20Rng) -> Vec<u8>,
    seed: &str,
    readers: &[&Identity],
) -> String {
    let first = build(&mut smime::rng::seeded(seed));
    let again = build(&mut smime::rng::seeded(seed));
    assert_eq!(first, again, "{seed}: the message is not deterministic");
    let decryption: Vec<(&Certificate, &PrivateKey)> =
        readers.iter().map(|r| (&r.certificate, &r.key)).collect();
    let yaml = describe(&first, &decryption).to_yaml();
    assert_eq!(
        yaml,
        describe(&first, &decryption).to_yaml(),
        "{seed}: the same message gave two different anatomies"
    );
    assert_no_secrets(&yaml, seed);
    yaml
}

/// No private key (any PEM line, any 12-byte window of the PKCS#8 DER in hex or base64) and no
/// body text in the YAML.
fn assert_no_secrets(yaml: &str, what: &str) {
    use base64::Engine;
    assert!(
        !yaml.contains(BODY_MARKER),
        "{what}: body text in the anatomy"
    );
    assert!(
        !yaml.contains("PRIVATE KEY"),
        "{what}: a PEM key in the anatomy"
    );
    for name in ["alice", "bob-sign", "bob-encrypt", "carol", "dave", "eve"] {
        let identity = lab(name);
        for line in identity.key_pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(
                !yaml.contains(line),
                "{what}: a line of {name}'s PEM key is in the anatomy"
            );
        }
        let der = identity.key.to_pkcs8_der().unwrap();
        let hex = hex::encode(&der);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        for window in (0..hex.len().saturating_sub(24)).step_by(2) {
            assert!(
                !yaml.contains(&hex[window..window + 24]),
                "{what}: {name}'s PKCS#8 (hex) is in the anatomy"
            );
        }
        for window in (0..b64.len().saturating_sub(16)).step_by(4) {
            assert!(
                !yaml.contains(&b64[window..window + 16]),
                "{what}: {name}'s PKCS#8 (base64) is in the anatomy"
            );
        }
    }
}

#[test]
fn clear_signed_rsa() {
    let yaml = anatomy_of(
        |rng| {
            sign_message(
                &alice_to_bob(1),
                &alice_signer(),
                &options(SignedForm::ClearSigned),
                rng,
            )
            .unwrap()
        },
        "anatomy/clear-signed-rsa",
        &[],
    );
    insta::assert_snapshot!("clear_signed_rsa", yaml);
}

#[test]
fn opaque_signed_rsa() {
    let yaml = anatomy_of(
        |rng| {
            sign_message(
                &alice_to_bob(2),
                &alice_signer(),
                &options(SignedForm::OpaqueSigned),
                rng,
            )
            .unwrap()
        },
        "anatomy/opaque-signed-rsa",
        &[],
    );
    insta::assert_snapshot!("opaque_signed_rsa", yaml);
}

#[test]
fn clear_signed_ecdsa_with_separate_encryption_certificate() {
    let yaml = anatomy_of(
        |rng| {
            sign_message(
                &bob_to_alice(3),
                &bob_signer(),
                &options(SignedForm::ClearSigned),
                rng,
            )
            .unwrap()
        },
        "anatomy/clear-signed-ecdsa",
        &[],
    );
    insta::assert_snapshot!("clear_signed_ecdsa", yaml);
}

fn encrypted_to(to: &Identity, options: EncryptOptions, n: u32, seed: &str) -> String {
    let recipient = Recipient::new(to.certificate.clone());
    anatomy_of(
        |rng| {
            encrypt_message(
                &bob_to_alice(n),
                std::slice::from_ref(&recipient),
                &options,
                rng,
            )
            .unwrap()
        },
        seed,
        &[to],
    )
}

#[test]
fn encrypted_rsa_issuer_and_serial() {
    let yaml = encrypted_to(
        &lab("alice"),
        EncryptOptions::default(),
        4,
        "anatomy/encrypted-rsa-ias",
    );
    insta::assert_snapshot!("encrypted_rsa_issuer_and_serial", yaml);
}

#[test]
fn encrypted_rsa_oaep_subject_key_identifier() {
    let yaml = encrypted_to(
        &lab("alice"),
        EncryptOptions {
            rsa_padding: RsaPadding::Oaep(OaepHash::Sha256),
            recipient_id: RecipientIdType::SubjectKeyIdentifier,
            ..EncryptOptions::default()
        },
        5,
        "anatomy/encrypted-rsa-oaep-ski",
    );
    insta::assert_snapshot!("encrypted_rsa_oaep_ski", yaml);
}

#[test]
fn encrypted_ecdh_p256() {
    let yaml = encrypted_to(
        &lab("bob-encrypt"),
        EncryptOptions::default(),
        6,
        "anatomy/encrypted-ecdh-p256",
    );
    insta::assert_snapshot!("encrypted_ecdh_p256", yaml);
}

#[test]
fn auth_enveloped_aes_gcm() {
    let yaml = encrypted_to(
        &lab("alice"),
        EncryptOptions {
            cipher: ContentCipher::Aes128Gcm,
            ..EncryptOptions::default()
        },
        7,
        "anatomy/auth-enveloped-gcm",
    );
    insta::assert_snapshot!("auth_enveloped_aes_gcm", yaml);
}

#[test]
fn enveloped_3des() {
    let yaml = encrypted_to(
        &lab("alice"),
        EncryptOptions {
            cipher: ContentCipher::DesEde3Cbc,
            ..EncryptOptions::default()
        },
        8,
        "anatomy/enveloped-3des",
    );
    insta::assert_snapshot!("enveloped_3des", yaml);
}

#[test]
fn sign_then_encrypt_as_outlook_sends_it() {
    let bob = lab("bob-encrypt");
    let alice = lab("alice");
    let recipients = [Recipient::new(bob.certificate.clone())];
    // Outlook encrypts to the sender too, so the sender can read Sent Items.
    let encrypt = EncryptOptions {
        also_to_sender: Some(alice.certificate.clone()),
        ..EncryptOptions::default()
    };
    let build = |rng: &mut rand_chacha::ChaCha20Rng| {
        sign_then_encrypt(
            &alice_to_bob(9),
            &alice_signer(),
            &options(SignedForm::OpaqueSigned),
            &recipients,
            &encrypt,
            rng,
        )
        .unwrap()
    };
    let yaml = anatomy_of(build, "anatomy/sign-then-encrypt", &[&bob]);
    insta::assert_snapshot!("sign_then_encrypt", yaml);

    // Without a key the envelope is described and says why it stayed closed; with a key that
    // is not a recipient's (carol), the decryptor's own reason is shown.
    let message = build(&mut smime::rng::seeded("anatomy/sign-then-encrypt"));
    let locked = describe(&message, &[]);
    assert_eq!(
        locked.layers,
        ["enveloped-data (AES-256-CBC, not decrypted)"]
    );
    assert!(
        locked
            .to_yaml()
            .contains("not-decrypted: no decryption identity was given")
    );
    let carol = lab("carol");
    let wrong = describe(&message, &[(&carol.certificate, &carol.key)]).to_yaml();
    assert!(
        wrong.contains("not-decrypted: \"this message is not encrypted to"),
        "{wrong}"
    );
    // The first identity that is a recipient opens it, whatever comes before.
    let both = describe(
        &message,
        &[
            (&carol.certificate, &carol.key),
            (&bob.certificate, &bob.key),
        ],
    );
    assert_eq!(
        both.layers,
        [
            "enveloped-data (AES-256-CBC, decrypted)",
            "opaque-signed (SHA-256)"
        ]
    );
}

#[test]
fn recipient_identifiers_name_exactly_the_certificates_encrypted_to() {
    let bob = lab("bob-encrypt");
    let alice = lab("alice");
    let carol = lab("carol");
    let dave = lab("dave");
    let recipients = [
        Recipient::new(bob.certificate.clone()),
        Recipient::new(dave.certificate.clone()),
    ];
    for recipient_id in [
        RecipientIdType::IssuerAndSerialNumber,
        RecipientIdType::SubjectKeyIdentifier,
    ] {
        let encrypt = EncryptOptions {
            recipient_id,
            also_to_sender: Some(alice.certificate.clone()),
            ..EncryptOptions::default()
        };
        // Bob's P-256 key agrees (kari), Dave's P-384 too, Alice's RSA key transports (ktri).
        let message = sign_then_encrypt(
            &alice_to_bob(11),
            &alice_signer(),
            &options(SignedForm::ClearSigned),
            &recipients,
            &encrypt,
            &mut smime::rng::seeded("anatomy/recipient-identifiers"),
        )
        .unwrap();
        // Read from the bytes with no key, and again through the opened envelope.
        for identities in [vec![], vec![(&bob.certificate, &bob.key)]] {
            let anatomy = describe(&message, &identities);
            let ids = anatomy.recipient_identifiers();
            assert_eq!(ids.len(), 3, "{recipient_id:?}: {ids:?}");
            for named in [&bob, &dave, &alice] {
                assert!(
                    ids.iter().any(|id| id.names(&named.certificate)),
                    "{recipient_id:?}: {ids:?}"
                );
            }
            assert!(!ids.iter().any(|id| id.names(&carol.certificate)));
            // The signature inside is seen only through the opened envelope: it carries Alice's
            // certificate and the issuing CA (the chain without the root).
            let thumbprint = |c: &Certificate| {
                smime::certificate::sha1_thumbprint(&der::Encode::to_der(c).unwrap())
            };
            let carried = anatomy.carried_thumbprints();
            if identities.is_empty() {
                assert!(carried.is_empty(), "{carried:?}");
            } else {
                assert_eq!(
                    carried,
                    [thumbprint(&alice.certificate), thumbprint(&issuing_ca())],
                    "{recipient_id:?}"
                );
            }
        }
    }
    // A signed message names no recipient.
    let signed = sign_message(
        &alice_to_bob(12),
        &alice_signer(),
        &options(SignedForm::OpaqueSigned),
        &mut smime::rng::seeded("anatomy/recipient-identifiers"),
    )
    .unwrap();
    assert!(describe(&signed, &[]).recipient_identifiers().is_empty());
}

#[test]
fn triple_wrapped() {
    let bob = lab("bob-encrypt");
    let recipients = [Recipient::new(bob.certificate.clone())];
    let yaml = anatomy_of(
        |rng| {
            triple_wrap(
                &alice_to_bob(10),
                &alice_signer(),
                &options(SignedForm::ClearSigned),
                &recipients,
                &EncryptOptions::default(),
                rng,
            )
            .unwrap()
        },
        "anatomy/triple-wrap",
        &[&bob],
    );
    insta::assert_snapshot!("triple_wrapped", yaml);
}

/// Thunderbird (NSS) sends BER with indefinite lengths; the anatomy reads it through the same
/// normaliser as the decryptor. Material: mozilla comm-central mailnews/test/data/smime
/// (MPL-2.0), read from the shared vectors.
#[test]
fn thunderbird_nss_opaque_signed_then_enveloped() {
    let contents = smime::pkcs12::read_pkcs12(&vector("thunderbird-nss/Bob.p12"), "nss").unwrap();
    let key = PrivateKey::from_pkcs8_der(contents.private_key_pkcs8_der.as_ref().unwrap()).unwrap();
    let cert = smime::certificate::parse_der(&contents.certificates[0]).unwrap();
    let message = vector("thunderbird-nss/alice.sig.SHA256.opaque.env.eml");
    let anatomy = describe(&message, &[(&cert, &key)]);
    let yaml = anatomy.to_yaml();
    assert_eq!(yaml, describe(&message, &[(&cert, &key)]).to_yaml());
    assert_eq!(
        anatomy.layers,
        [
            "enveloped-data (AES-128-CBC, decrypted)",
            "opaque-signed (SHA-256)"
        ],
        "{yaml}"
    );
    let key_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(key.to_pkcs8_der().unwrap())
    };
    for window in (0..key_b64.len().saturating_sub(16)).step_by(4) {
        assert!(!yaml.contains(&key_b64[window..window + 16]));
    }
    insta::assert_snapshot!("thunderbird_nss_opaque_signed_then_enveloped", yaml);
}

/// What a runner shows for a broken message: an error at the node where reading stopped, the
/// rest still described.
#[test]
fn a_truncated_envelope_is_described_up_to_the_break() {
    let alice = lab("alice");
    let message = encrypt_message(
        &bob_to_alice(11),
        &[Recipient::new(alice.certificate.clone())],
        &EncryptOptions::default(),
        &mut smime::rng::seeded("anatomy/truncated"),
    )
    .unwrap();
    let cut = &message[..message.len() - 200];
    let anatomy: Anatomy = describe(cut, &[(&alice.certificate, &alice.key)]);
    let yaml = anatomy.to_yaml();
    assert_eq!(
        anatomy.message.content_type.as_deref(),
        Some("application/pkcs7-mime")
    );
    assert!(anatomy.message.headers.is_some(), "{yaml}");
    let cms = anatomy.message.cms.as_ref().unwrap();
    assert!(cms.error.is_some(), "{yaml}");
    assert_eq!(anatomy.layers, ["unreadable CMS"]);
}

/// Bounded, seeded mutation of every kind of message above, with the keys that open them:
/// `describe` and `to_yaml` never panic (`fuzz/fuzz_targets/anatomy.rs` does the same without
/// bounds), and nothing secret appears whatever the mutation.
#[test]
fn mutated_messages_never_panic() {
    use rand_core::Rng;
    let alice = lab("alice");
    let bob = lab("bob-encrypt");
    let mut rng = smime::rng::seeded("anatomy/mutations");
    let seeds = [
        sign_message(
            &alice_to_bob(1),
            &alice_signer(),
            &options(SignedForm::ClearSigned),
            &mut rng,
        )
        .unwrap(),
        triple_wrap(
            &alice_to_bob(2),
            &alice_signer(),
            &options(SignedForm::OpaqueSigned),
            &[Recipient::new(bob.certificate.clone())],
            &EncryptOptions {
                cipher: ContentCipher::Aes256Gcm,
                ..EncryptOptions::default()
            },
            &mut rng,
        )
        .unwrap(),
        vector("thunderbird-nss/alice.dsig.SHA256.multipart.eml"),
    ];
    let readers = [
        (&alice.certificate, &alice.key),
        (&bob.certificate, &bob.key),
    ];
    for seed in &seeds {
        for _ in 0..120 {
            let mut m = seed.clone();
            let len = m.len().max(1);
            let at = usize::try_from(rng.next_u32()).unwrap_or(0) % len;
            match rng.next_u32() % 4 {
                0 => {
                    if let Some(b) = m.get_mut(at) {
                        *b ^= 1 << (rng.next_u32() % 8);
                    }
                }
                1 => m.truncate(at),
                2 => {
                    m.remove(at.min(m.len().saturating_sub(1)));
                }
                _ => {
                    // A base64 character swapped keeps the body decodable, so the mutation
                    // reaches the DER.
                    if let Some(b) = m.get_mut(at) {
                        *b = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                            [(rng.next_u32() % 64) as usize];
                    }
                }
            }
            let yaml = describe(&m, &readers).to_yaml();
            assert!(!yaml.contains(BODY_MARKER));
        }
    }
}
