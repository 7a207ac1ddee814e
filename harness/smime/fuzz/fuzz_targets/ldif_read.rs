//! Fuzzes the LDIF reader (the rollout preflight's input) with small limits, so that the limit
//! paths are reached too. Seeds: `corpus/ldif_read/` (an ldapsearch and an ldifde export) and
//! the `.ldif`/`.ldf` files of ../shared/vectors.
//!
//! Run: `cargo xtask fuzz ldif_read --time 60`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ldif::Limits {
        line: 512,
        entry: 4096,
        values: 64,
    };
    let mut entries = 0usize;
    for entry in ldif::Reader::with_limits(data, limits) {
        match entry {
            Ok(entry) => {
                entries += 1;
                assert!(!entry.dn.trim().is_empty());
                assert!(entry.values.len() <= limits.values);
                let _ = entry.first_text("mail");
            }
            Err(e) => {
                assert!(e.line() >= 1);
                let _ = e.to_string();
            }
        }
    }
    // An entry needs at least its `dn:` line: never more entries than lines.
    assert!(entries <= data.split(|&b| b == b'\n').count());
});
