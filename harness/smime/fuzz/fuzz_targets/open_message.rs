//! Fuzzes layered opening: the classification of each layer, the walk from signatures into
//! envelopes and back, the depth bound and the summing-up of verdicts. RFC 9216 Bob (RSA) is the
//! recipient, so inputs that are real messages for him (`sign_then_encrypt`, `triple_wrap`, or
//! `smime-lab protect --to bob.encrypt.crt`) reach the inner layers. It must never panic, hang or
//! allocate without bound; the verdict itself is not judged here.
//!
//! Run: `cargo +nightly fuzz run open_message` from harness/smime.

#![no_main]

#[path = "common/bob.rs"]
mod common_bob;

use common_bob::bob;
use libfuzzer_sys::fuzz_target;
use smime::cms::{VerifyContext, open_message};

fuzz_target!(|data: &[u8]| {
    // No anchors, 2026-05-29: the paths fail after everything input-dependent has run.
    let ctx = VerifyContext::at_unix(Vec::new(), 1_780_000_000);
    let (cert, key) = bob();
    let opened = open_message(data, &ctx, Some((cert, key)));
    let _ = opened.to_text();
    let _ = open_message(data, &ctx, None);
});
