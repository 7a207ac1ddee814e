//! Fuzzes the anatomy a snapshot shows: the MIME walk, every CMS structure it reads (SignedData,
//! EnvelopedData, AuthEnvelopedData, attributes, recipient infos) and the YAML writer. RFC 9216
//! Bob (RSA) is the reader, so inputs that are real messages for him reach the decrypted layers.
//! It must never panic, hang or allocate without bound; what it says is not judged here.
//!
//! Run: `cargo +nightly fuzz run anatomy` from harness/smime.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use smime::cms::Certificate;
use smime::cms::anatomy::describe;
use smime::key::PrivateKey;

fn bob() -> &'static (Certificate, PrivateKey) {
    static BOB: OnceLock<(Certificate, PrivateKey)> = OnceLock::new();
    BOB.get_or_init(|| {
        let cert = smime::certificate::parse_certificates(include_bytes!(
            "../../../../fixtures/vectors/rfc9216/bob.encrypt.crt"
        ))
        .expect("fixture certificate")
        .remove(0);
        let key = PrivateKey::from_pem_or_der(include_bytes!(
            "../../../../fixtures/vectors/rfc9216/bob.decrypt.key"
        ))
        .expect("fixture key");
        (cert, key)
    })
}

fuzz_target!(|data: &[u8]| {
    let (cert, key) = bob();
    let _ = describe(data, &[(cert, key)]).to_yaml();
    let _ = describe(data, &[]).to_yaml();
});
