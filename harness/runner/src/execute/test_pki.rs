//! The default lab PKI for the executor's unit tests, issued once per test binary (RSA-3072 keys
//! take seconds to derive).

use std::sync::OnceLock;

pub(crate) fn default_pki() -> &'static smime::pki::BuiltPki {
    static PKI: OnceLock<smime::pki::BuiltPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let description = smime::pki::parse_description(
            scenario::model::PkiFixture::Default.yaml(),
            "fixtures/pki/default.yaml",
        )
        .expect("the default fixture's description");
        smime::pki::build(&description).expect("the default PKI builds")
    })
}
