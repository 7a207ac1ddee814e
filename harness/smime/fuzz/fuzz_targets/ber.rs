//! Fuzzes `smime::ber`, the one BER-to-DER normaliser in front of every PKCS#12 and
//! (Auth)EnvelopedData reader: never a panic, and whatever is accepted is DER that normalising
//! again leaves unchanged. `src/ber/tests.rs` runs a bounded, seeded version of this in CI.
//!
//! Run: `cargo +nightly fuzz run ber` from harness/smime.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for normalise in [smime::ber::to_der, smime::ber::cms_to_der] {
        if let Ok(der) = normalise(data) {
            assert_eq!(smime::ber::to_der(&der), Ok(der));
        }
    }
});
