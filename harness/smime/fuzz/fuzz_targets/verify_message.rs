//! Fuzz target: S/MIME verification of arbitrary bytes, as a whole message and as a bare CMS
//! object (with and without detached content). It must never panic, hang or allocate without
//! bound; the verdict itself is not judged here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smime::cms::{VerifyContext, verify_message, verify_signed_data};

fuzz_target!(|data: &[u8]| {
    // No anchors: path validation still runs (and fails) after the parsing and the signature
    // check, which is where input-dependent code lives. 2026-05-29.
    let ctx = VerifyContext::at_unix(Vec::new(), 1_780_000_000);
    let _ = verify_message(data, &ctx);
    let _ = verify_signed_data(data, None, &ctx);
    let _ = verify_signed_data(data, Some(b"Content-Type: text/plain\r\n\r\nx\r\n"), &ctx);
});
