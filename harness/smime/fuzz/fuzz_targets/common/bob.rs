//! RFC 9216 Bob (RSA), the reader the fuzz targets decrypt as: inputs that are real messages for
//! him reach the layers inside an envelope. Parsed once per process.

use std::sync::OnceLock;

use smime::cms::Certificate;
use smime::key::PrivateKey;

pub fn bob() -> &'static (Certificate, PrivateKey) {
    static BOB: OnceLock<(Certificate, PrivateKey)> = OnceLock::new();
    BOB.get_or_init(|| {
        let cert = smime::certificate::parse_certificates(include_bytes!(
            "../../../../../fixtures/vectors/rfc9216/bob.encrypt.crt"
        ))
        .expect("fixture certificate")
        .remove(0);
        let key = PrivateKey::from_pem_or_der(include_bytes!(
            "../../../../../fixtures/vectors/rfc9216/bob.decrypt.key"
        ))
        .expect("fixture key");
        (cert, key)
    })
}
