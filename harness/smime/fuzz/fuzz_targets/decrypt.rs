//! Fuzzes the decrypt path: BER normalisation, ContentInfo/EnvelopedData/AuthEnvelopedData
//! decoding, recipient matching, key transport (RSA v1.5, OAEP), key agreement (ECDH), content
//! decryption, and the S/MIME layer (header split, multipart search, base64) in front of them.
//! Two fixed recipients (RFC 9216 Bob, RSA; the lab's P-256 fixture) let inputs that are real
//! messages for them reach the cryptography. Seeds: any `.p7m`/`.eml` from `../shared/vectors` and
//! the output of `smime-lab encrypt` to those two certificates.
//!
//! Run: `cargo +nightly fuzz run decrypt` from harness/smime.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use smime::cms::envelope::{Recipient, decrypt, decrypt_message};
use smime::key::PrivateKey;

fn recipients() -> &'static [(Recipient, PrivateKey); 2] {
    static RECIPIENTS: OnceLock<[(Recipient, PrivateKey); 2]> = OnceLock::new();
    RECIPIENTS.get_or_init(|| {
        let load = |cert: &[u8], key: &[u8]| {
            let cert = smime::certificate::parse_certificates(cert)
                .expect("fixture certificate")
                .remove(0);
            let key = PrivateKey::from_pem_or_der(key).expect("fixture key");
            (Recipient::new(cert), key)
        };
        [
            load(
                include_bytes!("../../../../fixtures/vectors/rfc9216/bob.encrypt.crt"),
                include_bytes!("../../../../fixtures/vectors/rfc9216/bob.decrypt.key"),
            ),
            load(
                include_bytes!("../../../../fixtures/envelope/p256-recipient.crt"),
                include_bytes!("../../../../fixtures/envelope/p256-recipient.key"),
            ),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    for (recipient, key) in recipients() {
        let cert = &recipient.certificate;
        match decrypt(data, cert, key) {
            Ok(d) => {
                // What a caller does next with a result must not panic either.
                let _ = (d.content_cipher.weakness(), d.key_management.to_string());
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
        if let Err(e) = decrypt_message(data, cert, key) {
            let _ = e.to_string();
        }
    }
});
