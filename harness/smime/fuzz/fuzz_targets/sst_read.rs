//! Fuzzes format detection and every certificate-collection reader (SST, PKCS#7, DER, PEM) behind
//! `read_certificate_collection`. Seeds: `corpus/sst_read/` (valid-* and bad-* files).
//!
//! Run: `cargo +nightly fuzz run sst_read harness/smime/fuzz/corpus/sst_read` from harness/smime.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(collection) = smime::sst::read_certificate_collection(data) {
        // What the CLI does next with a collection must not panic either.
        for certificate in &collection.certificates {
            let _ = smime::certificate::sha1_thumbprint(&certificate.der);
            let _ = smime::certificate::subject_string(&certificate.certificate);
            let _ = smime::certificate::rfc3339(smime::certificate::not_after(
                &certificate.certificate,
            ));
        }
        for note in &collection.notes {
            let _ = note.to_string();
        }
        // Whatever was read can be written back as a store, and reads back the same.
        let sst =
            smime::sst::write_sst(&collection.ders()).expect("read certificates are writable");
        let again =
            smime::sst::read_certificate_collection(&sst).expect("a store we wrote must read back");
        assert_eq!(again.ders(), collection.ders());
    }
});
