//! Encryption and decryption tests: round trips, peers' vectors, refusals.

use cms::content_info::ContentInfo;
use cms::enveloped_data::{
    EnvelopedData, KeyAgreeRecipientIdentifier, RecipientIdentifier, RecipientInfo, RecipientInfos,
};
use der::{Any, Decode};

use super::*;
use crate::key::PrivateKey;
use rand_core::Rng as _;

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/",
            $path
        ))
    };
}

struct Party {
    cert: Certificate,
    key: PrivateKey,
}

fn party(cert: &[u8], key: &[u8]) -> Party {
    Party {
        cert: crate::certificate::parse_certificates(cert)
            .unwrap()
            .remove(0),
        key: PrivateKey::from_pem_or_der(key).unwrap(),
    }
}

fn bob() -> Party {
    party(
        fixture!("vectors/rfc9216/bob.encrypt.crt"),
        fixture!("vectors/rfc9216/bob.decrypt.key"),
    )
}

fn alice() -> Party {
    party(
        fixture!("vectors/rfc9216/alice.encrypt.crt"),
        fixture!("vectors/rfc9216/alice.decrypt.key"),
    )
}

fn ec() -> Party {
    party(
        fixture!("envelope/p256-recipient.crt"),
        fixture!("envelope/p256-recipient.key"),
    )
}

const CONTENT: &[u8] = b"Content-Type: text/plain\r\n\r\nround trip\r\n";

fn encrypt_to(parties: &[&Party], options: &EncryptOptions, seed: &str) -> Vec<u8> {
    let recipients: Vec<Recipient> = parties
        .iter()
        .map(|p| Recipient::new(p.cert.clone()))
        .collect();
    encrypt(CONTENT, &recipients, options, &mut crate::rng::seeded(seed)).unwrap()
}

#[test]
fn every_combination_round_trips() {
    let (bob, ec) = (bob(), ec());
    for cipher in ContentCipher::ALL {
        for padding in [
            RsaPadding::Pkcs1v15,
            RsaPadding::Oaep(OaepHash::Sha1),
            RsaPadding::Oaep(OaepHash::Sha512),
        ] {
            for recipient_id in [
                RecipientIdType::IssuerAndSerialNumber,
                RecipientIdType::SubjectKeyIdentifier,
            ] {
                let options = EncryptOptions {
                    cipher,
                    rsa_padding: padding,
                    recipient_id,
                    also_to_sender: None,
                };
                // EC recipients need a content key that AES key wrap can carry.
                let with_ec = cipher.key_len() >= 16;
                let parties: Vec<&Party> = if with_ec { vec![&bob, &ec] } else { vec![&bob] };
                let der = encrypt_to(&parties, &options, "round-trip");
                for p in parties {
                    let d = decrypt(&der, &p.cert, &p.key).unwrap();
                    assert_eq!(d.content, CONTENT);
                    assert_eq!(d.content_cipher, cipher);
                    assert_eq!(d.weak, cipher.is_weak());
                    assert_eq!(d.authenticated, cipher.is_aead());
                    assert_eq!(
                        d.recipient_matched_by,
                        if recipient_id == RecipientIdType::IssuerAndSerialNumber {
                            RecipientMatch::IssuerSerial
                        } else {
                            RecipientMatch::Ski
                        }
                    );
                }
            }
        }
    }
    let short_key = EncryptOptions {
        cipher: ContentCipher::Rc2Cbc40,
        ..EncryptOptions::default()
    };
    let err = encrypt(
        CONTENT,
        &[Recipient::new(ec.cert.clone())],
        &short_key,
        &mut crate::rng::seeded("x"),
    )
    .unwrap_err();
    assert!(
        matches!(err, EncryptError::UnsupportedCombination { .. }),
        "{err}"
    );
    assert!(matches!(
        encrypt(
            CONTENT,
            &[],
            &EncryptOptions::default(),
            &mut crate::rng::seeded("x")
        ),
        Err(EncryptError::NoRecipients)
    ));
}

/// Re-addresses every RecipientInfo of an EnvelopedData to `to`, keeping the encrypted keys:
/// a message that claims to be for `to` but was encrypted to someone else's key.
fn readdress(der: &[u8], to: &Certificate) -> Vec<u8> {
    let ci = ContentInfo::from_der(der).unwrap();
    let mut ed = EnvelopedData::from_der(&ci.content.to_der().unwrap()).unwrap();
    let infos: Vec<RecipientInfo> = ed
        .recip_infos
        .0
        .iter()
        .cloned()
        .map(|ri| match ri {
            RecipientInfo::Ktri(mut ktri) => {
                ktri.rid = RecipientIdentifier::IssuerAndSerialNumber(issuer_and_serial(to));
                RecipientInfo::Ktri(ktri)
            }
            RecipientInfo::Kari(mut kari) => {
                for rek in &mut kari.recipient_enc_keys {
                    rek.rid =
                        KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(issuer_and_serial(to));
                }
                RecipientInfo::Kari(kari)
            }
            other => other,
        })
        .collect();
    ed.recip_infos = RecipientInfos::try_from(infos).unwrap();
    ContentInfo {
        content_type: ci.content_type,
        content: Any::from_der(&ed.to_der().unwrap()).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[test]
fn a_message_encrypted_to_another_key_never_decrypts_to_garbage() {
    let (alice, bob) = (alice(), bob());
    for (i, padding) in [RsaPadding::Pkcs1v15, RsaPadding::Oaep(OaepHash::Sha256)]
        .into_iter()
        .enumerate()
    {
        for cipher in [ContentCipher::Aes256Cbc, ContentCipher::DesEde3Cbc] {
            let options = EncryptOptions {
                cipher,
                rsa_padding: padding,
                ..EncryptOptions::default()
            };
            let der = encrypt_to(&[&alice], &options, &format!("forged-{i}"));
            let forged = readdress(&der, &bob.cert);
            let err = decrypt(&forged, &bob.cert, &bob.key).unwrap_err();
            assert!(
                matches!(
                    err,
                    DecryptError::KeyDecryption { .. } | DecryptError::ContentDecryption { .. }
                ),
                "{padding:?} {cipher}: {err}"
            );
        }
    }
    // Key agreement with a substituted ephemeral key: the derived KEK is wrong, and the AES
    // key unwrap integrity check says so.
    let ec = ec();
    let der = encrypt_to(&[&ec], &EncryptOptions::default(), "ec");
    assert!(decrypt(&der, &ec.cert, &ec.key).is_ok());
    let ci = ContentInfo::from_der(&der).unwrap();
    let mut ed = EnvelopedData::from_der(&ci.content.to_der().unwrap()).unwrap();
    let other = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
    let infos: Vec<RecipientInfo> = ed
        .recip_infos
        .0
        .iter()
        .cloned()
        .map(|ri| match ri {
            RecipientInfo::Kari(mut kari) => {
                kari.originator = cms::enveloped_data::OriginatorIdentifierOrKey::OriginatorKey(
                    cms::enveloped_data::OriginatorPublicKey {
                        algorithm: spki::AlgorithmIdentifierOwned {
                            oid: rfc5912::ID_EC_PUBLIC_KEY,
                            parameters: None,
                        },
                        public_key: der::asn1::BitString::from_bytes(
                            &other.public_key().to_sec1_bytes(),
                        )
                        .unwrap(),
                    },
                );
                RecipientInfo::Kari(kari)
            }
            other => other,
        })
        .collect();
    ed.recip_infos = RecipientInfos::try_from(infos).unwrap();
    let forged = ContentInfo {
        content_type: ci.content_type,
        content: Any::from_der(&ed.to_der().unwrap()).unwrap(),
    }
    .to_der()
    .unwrap();
    assert!(matches!(
        decrypt(&forged, &ec.cert, &ec.key),
        Err(DecryptError::KeyDecryption { .. })
    ));
}

#[test]
fn tampered_gcm_content_fails_authentication() {
    let bob = bob();
    let options = EncryptOptions {
        cipher: ContentCipher::Aes128Gcm,
        ..EncryptOptions::default()
    };
    let der = encrypt_to(&[&bob], &options, "gcm");
    // The ciphertext is the last OCTET STRING before the 16-byte mac; flip a byte just before
    // the mac's own header.
    let mut tampered = der.clone();
    let at = tampered.len() - 16 - 2 - 1;
    tampered[at] ^= 0x01;
    assert!(matches!(
        decrypt(&tampered, &bob.cert, &bob.key),
        Err(DecryptError::AuthenticationFailed)
    ));
}

/// Bounded, deterministic mutation of valid messages (ours and one from NSS): every result
/// is Ok or a typed error; a panic fails the test. `fuzz/fuzz_targets/decrypt.rs` does the
/// same without bounds.
#[test]
fn mutated_messages_never_panic() {
    let (bob, ec) = (bob(), ec());
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for cipher in [
        ContentCipher::Aes128Cbc,
        ContentCipher::Aes256Gcm,
        ContentCipher::Rc2Cbc40,
    ] {
        let options = EncryptOptions {
            cipher,
            recipient_id: RecipientIdType::SubjectKeyIdentifier,
            ..EncryptOptions::default()
        };
        let parties: Vec<&Party> = if cipher.key_len() >= 16 {
            vec![&bob, &ec]
        } else {
            vec![&bob]
        };
        seeds.push(encrypt_to(&parties, &options, "mutation"));
    }
    let message = message::encrypt_message(
        b"Subject: m\r\n\r\nbody\r\n",
        &[Recipient::new(bob.cert.clone())],
        &EncryptOptions::default(),
        &mut crate::rng::seeded("mutation-message"),
    )
    .unwrap();
    seeds.push(message);
    // A BER (indefinite-length) message from Thunderbird/NSS, for the BER normaliser.
    let nss = test_support::vector("thunderbird-nss/alice.env.eml");
    seeds.push(message::find_p7m(&nss, 0).unwrap().unwrap());
    seeds.push(nss);

    let mut rng = crate::rng::seeded("mutations");
    let mut outcomes = [0usize; 2];
    for seed in &seeds {
        for _ in 0..300 {
            let mut m = seed.clone();
            let len = m.len().max(1);
            match rng.next_u32() % 5 {
                0 => {
                    let i = rng.next_u32() as usize % len;
                    if let Some(b) = m.get_mut(i) {
                        *b ^= 1 << (rng.next_u32() % 8);
                    }
                }
                1 => m.truncate(rng.next_u32() as usize % len),
                2 => {
                    let i = rng.next_u32() as usize % len;
                    if let Some(b) = m.get_mut(i) {
                        *b = [0x00, 0x80, 0xff, 0x30, 0xa0][rng.next_u32() as usize % 5];
                    }
                }
                3 => {
                    let i = rng.next_u32() as usize % len;
                    m.insert(i.min(m.len()), rng.next_u32() as u8);
                }
                _ => {
                    let i = rng.next_u32() as usize % len;
                    if i < m.len() {
                        m.remove(i);
                    }
                }
            }
            for p in [&bob, &ec] {
                let r = decrypt(&m, &p.cert, &p.key);
                outcomes[usize::from(r.is_ok())] += 1;
                if let Err(e) = r {
                    let _ = e.to_string();
                }
                let _ = message::decrypt_message(&m, &p.cert, &p.key);
            }
        }
    }
    // Most mutations must be caught; some (a flipped bit in an IV's last block, a changed
    // serial we do not read) legitimately still decrypt.
    assert!(outcomes[0] > outcomes[1], "{outcomes:?}");
}
