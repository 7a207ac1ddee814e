//! The preflight tests' PKI, made by OpenSSL's command line: a root and an issuing CA (the
//! collection the admin gives Set-SmimeConfig), a second issuing CA left out of it.

use std::path::Path;

use test_support::openssl_ca::{Ca, ISSUING_CA_EXTENSIONS, Key, Profile, ROOT_EXTENSIONS};

pub struct Pki {
    pub root: Ca,
    /// In the collection.
    pub issuing: Ca,
    /// Not in the collection.
    pub other: Ca,
}

/// Makes the CAs under `dir/pki`.
pub fn make(dir: &Path) -> Pki {
    let pki = dir.join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    let ec = || Key::Ec("P-256".into());
    let root = Ca::self_signed(
        &pki,
        "root",
        &Profile::new("/CN=Contoso Root CA/O=Contoso", ec())
            .days(3650)
            .extensions(ROOT_EXTENSIONS)
            .extensions(["subjectKeyIdentifier=hash"]),
    );
    let issuing = root.issue_ca(
        "issuing",
        &Profile::new("/CN=Contoso Issuing CA/O=Contoso", ec())
            .days(1825)
            .serial(4096)
            .extensions(ISSUING_CA_EXTENSIONS),
    );
    let other = root.issue_ca(
        "other",
        &Profile::new("/CN=Contoso Other Issuing CA/O=Contoso", ec())
            .days(1825)
            .serial(4097)
            .extensions(ISSUING_CA_EXTENSIONS),
    );
    Pki {
        root,
        issuing,
        other,
    }
}

impl Pki {
    /// Writes `dir/collection.pem` (root and issuing CA) and the issuing CA's CRL as
    /// `dir/issuing.crl` (DER), with what it has revoked so far.
    pub fn write_collection_and_crl(&self, dir: &Path) {
        let crl = self.issuing.write_crl("issuing.crl", true);
        std::fs::copy(&crl, dir.join("issuing.crl")).unwrap();
        let chain = [
            std::fs::read_to_string(&self.root.issued.cert).unwrap(),
            std::fs::read_to_string(&self.issuing.issued.cert).unwrap(),
        ]
        .concat();
        std::fs::write(dir.join("collection.pem"), chain).unwrap();
    }
}
