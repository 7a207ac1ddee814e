//! Fuzzes layered opening: the classification of each layer, the walk from signatures into
//! envelopes and back, the depth bound and the summing-up of verdicts. RFC 9216 Bob (RSA) is the
//! recipient, so inputs that are real messages for him (`sign_then_encrypt`, `triple_wrap`, or
//! `smime-lab protect --to bob.encrypt.crt`) reach the inner layers. It must never panic, hang or
//! allocate without bound; the verdict itself is not judged here.
//!
//! Run: `cargo +nightly fuzz run open_message` from harness/smime.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use smime::cms::{Certificate, VerifyContext, open_message};
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
    // No anchors, 2026-05-29: the paths fail after everything input-dependent has run.
    let ctx = VerifyContext::at_unix(Vec::new(), 1_780_000_000);
    let (cert, key) = bob();
    let opened = open_message(data, &ctx, Some((cert, key)));
    let _ = opened.to_text();
    let _ = open_message(data, &ctx, None);
});
