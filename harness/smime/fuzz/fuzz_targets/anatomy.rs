//! Fuzzes the anatomy a snapshot shows: the MIME walk, every CMS structure it reads (SignedData,
//! EnvelopedData, AuthEnvelopedData, attributes, recipient infos) and the YAML writer. RFC 9216
//! Bob (RSA) is the reader, so inputs that are real messages for him reach the decrypted layers.
//! It must never panic, hang or allocate without bound; what it says is not judged here.
//!
//! Run: `cargo +nightly fuzz run anatomy` from harness/smime.

#![no_main]

#[path = "common/bob.rs"]
mod common_bob;

use common_bob::bob;
use libfuzzer_sys::fuzz_target;
use smime::cms::anatomy::describe;

fuzz_target!(|data: &[u8]| {
    let (cert, key) = bob();
    let _ = describe(data, &[(cert, key)]).to_yaml();
    let _ = describe(data, &[]).to_yaml();
});
