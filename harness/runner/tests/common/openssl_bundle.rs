//! A vendor bundle made entirely by OpenSSL's command line, as a CA vendor would hand one over:
//! a root and an issuing CA, RSA users with S/MIME certificates, the issuing CA's CRL, PKCS#12
//! files exported by `openssl pkcs12 -export` with OpenSSL 3's defaults, and `vendor.yaml`.
//! Nothing of smime-lab's own PKI code is involved (`test_support::openssl_ca` drives the
//! `openssl` binary): that is the point of the test.

use std::path::Path;

use test_support::openssl_ca::{
    Ca, ISSUING_CA_EXTENSIONS, Key, Profile, ROOT_EXTENSIONS, user_extensions,
};
use test_support::{openssl, run_ok};

pub const PASSWORD: &str = "Fabrikam-p12!";
pub const CRL_URL: &str = "http://crl.fabrikam.example/issuing.crl";
pub const ROOT_CRL_URL: &str = "http://crl.fabrikam.example/root.crl";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write bundle file");
}

/// Makes the bundle in `dir` for `users` (local parts at fabrikam.example) and returns nothing:
/// the directory then holds vendor.yaml, chain.pem, issuing.crl (DER), root.crl (PEM) and `<user>.p12`.
pub fn make(dir: &Path, users: &[&str]) {
    let root = Ca::self_signed(
        dir,
        "root",
        &Profile::new("/CN=Fabrikam Root CA/O=Fabrikam", Key::Rsa(3072))
            .days(3650)
            .extensions(ROOT_EXTENSIONS)
            .extensions(["subjectKeyIdentifier=hash"]),
    );
    let issuing = root.issue_ca(
        "issuing",
        &Profile::new("/CN=Fabrikam Issuing CA/O=Fabrikam", Key::Rsa(2048))
            .days(1825)
            .serial(4096)
            .extensions(ISSUING_CA_EXTENSIONS)
            .extensions([format!("crlDistributionPoints=URI:{ROOT_CRL_URL}")]),
    );
    issuing.write_crl("issuing.crl", true);
    root.write_crl("root.crl", false);
    let root_pem = std::fs::read_to_string(&root.issued.cert).expect("root.pem");
    let issuing_pem = std::fs::read_to_string(&issuing.issued.cert).expect("issuing.pem");
    write(dir, "chain.pem", &format!("{root_pem}{issuing_pem}"));

    let mut yaml = String::from(
        "vendor: Fabrikam Issuing Services\ntenant: fabrikam.onmicrosoft.com\nca: chain.pem\ncrls: [issuing.crl, root.crl]\nusers:\n",
    );
    for (n, user) in (0u64..).zip(users) {
        let mailbox = format!("{user}@fabrikam.example");
        issuing.issue(
            user,
            &Profile::new(format!("/CN={user}/emailAddress={mailbox}"), Key::Rsa(2048))
                .serial(8192 + n)
                .extensions(user_extensions(
                    &mailbox,
                    "digitalSignature,keyEncipherment",
                ))
                .extensions([
                    format!("crlDistributionPoints=URI:{CRL_URL}"),
                    "certificatePolicies=2.23.140.1.5.2.1".to_owned(),
                ]),
        );
        run_ok(openssl().current_dir(dir).args([
            "pkcs12",
            "-export",
            "-inkey",
            &format!("{user}.key"),
            "-in",
            &format!("{user}.pem"),
            "-certfile",
            "issuing.pem",
            "-name",
            user,
            "-out",
            &format!("{user}.p12"),
            "-passout",
            &format!("pass:{PASSWORD}"),
        ]));
        yaml.push_str(&format!(
            "  - {{ mailbox: {mailbox}, pkcs12: {user}.p12, password: \"{PASSWORD}\" }}\n"
        ));
    }
    write(dir, "vendor.yaml", &yaml);
}

/// Revokes `user`'s certificate in the issuing CA's CRL (`openssl ca -revoke`, then a new CRL),
/// as a vendor would after a key compromise.
pub fn revoke(dir: &Path, user: &str) {
    let issuing = Ca::existing(dir, "issuing");
    issuing.revoke(&Ca::existing(dir, user).issued);
    issuing.write_crl("issuing.crl", true);
}
