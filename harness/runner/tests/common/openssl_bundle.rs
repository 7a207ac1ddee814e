//! A vendor bundle made entirely by OpenSSL's command line, as a CA vendor would hand one over:
//! a root and an issuing CA, RSA users with S/MIME certificates, the issuing CA's CRL, PKCS#12
//! files exported by `openssl pkcs12 -export` with OpenSSL 3's defaults, and `vendor.yaml`.
//! Nothing of smime-lab's own PKI code is involved: that is the point of the test.

use std::path::Path;
use std::process::Command;

use test_support::{openssl, run_ok};

pub const PASSWORD: &str = "Fabrikam-p12!";
pub const CRL_URL: &str = "http://crl.fabrikam.example/issuing.crl";
pub const ROOT_CRL_URL: &str = "http://crl.fabrikam.example/root.crl";

fn run(dir: &Path, args: &[&str]) {
    let mut command: Command = openssl();
    command.current_dir(dir).args(args);
    run_ok(&mut command);
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write bundle file");
}

/// Makes the bundle in `dir` for `users` (local parts at fabrikam.example) and returns nothing:
/// the directory then holds vendor.yaml, chain.pem, issuing.crl (DER), root.crl (PEM) and `<user>.p12`.
pub fn make(dir: &Path, users: &[&str]) {
    write(
        dir,
        "ca.ext",
        &format!(
            "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\ncrlDistributionPoints=URI:{ROOT_CRL_URL}\n"
        ),
    );
    write(
        dir,
        "ca.cnf",
        "[ca]\ndefault_ca=issuing\n[issuing]\ndatabase=index.txt\ncertificate=issuing.pem\nprivate_key=issuing.key\ndefault_md=sha256\ndefault_crl_days=30\ncrl_extensions=crl_ext\n[root]\ndatabase=root-index.txt\ncertificate=root.pem\nprivate_key=root.key\ndefault_md=sha256\ndefault_crl_days=30\ncrl_extensions=crl_ext\n[crl_ext]\nauthorityKeyIdentifier=keyid\n",
    );
    write(dir, "index.txt", "");
    write(dir, "root-index.txt", "");
    run(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:3072",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            "3650",
            "-subj",
            "/CN=Fabrikam Root CA/O=Fabrikam",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectKeyIdentifier=hash",
        ],
    );
    run(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "issuing.key",
            "-out",
            "issuing.csr",
            "-subj",
            "/CN=Fabrikam Issuing CA/O=Fabrikam",
        ],
    );
    run(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "issuing.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-set_serial",
            "4096",
            "-out",
            "issuing.pem",
            "-days",
            "1825",
            "-sha256",
            "-extfile",
            "ca.ext",
        ],
    );
    issue_crl(dir);
    run(
        dir,
        &[
            "ca", "-config", "ca.cnf", "-name", "root", "-gencrl", "-out", "root.crl",
        ],
    );
    let root = std::fs::read_to_string(dir.join("root.pem")).expect("root.pem");
    let issuing = std::fs::read_to_string(dir.join("issuing.pem")).expect("issuing.pem");
    write(dir, "chain.pem", &format!("{root}{issuing}"));

    let mut yaml = String::from(
        "vendor: Fabrikam Issuing Services\ntenant: fabrikam.onmicrosoft.com\nca: chain.pem\ncrls: [issuing.crl, root.crl]\nusers:\n",
    );
    for (n, user) in users.iter().enumerate() {
        let mailbox = format!("{user}@fabrikam.example");
        write(
            dir,
            &format!("{user}.ext"),
            &format!(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:{mailbox}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\ncrlDistributionPoints=URI:{CRL_URL}\ncertificatePolicies=2.23.140.1.5.2.1\n"
            ),
        );
        run(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{user}.key"),
                "-out",
                &format!("{user}.csr"),
                "-subj",
                &format!("/CN={user}/emailAddress={mailbox}"),
            ],
        );
        run(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{user}.csr"),
                "-CA",
                "issuing.pem",
                "-CAkey",
                "issuing.key",
                "-set_serial",
                &format!("{}", 8192 + n),
                "-out",
                &format!("{user}.pem"),
                "-days",
                "365",
                "-sha256",
                "-extfile",
                &format!("{user}.ext"),
            ],
        );
        run(
            dir,
            &[
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
            ],
        );
        yaml.push_str(&format!(
            "  - {{ mailbox: {mailbox}, pkcs12: {user}.p12, password: \"{PASSWORD}\" }}\n"
        ));
    }
    write(dir, "vendor.yaml", &yaml);
}

/// Writes the issuing CA's CRL as it stands (`openssl ca -gencrl`) to issuing.crl, as DER.
fn issue_crl(dir: &Path) {
    run(
        dir,
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-gencrl",
            "-out",
            "issuing.crl.pem",
        ],
    );
    run(
        dir,
        &[
            "crl",
            "-in",
            "issuing.crl.pem",
            "-outform",
            "DER",
            "-out",
            "issuing.crl",
        ],
    );
}

/// Revokes `user`'s certificate in the issuing CA's CRL (`openssl ca -revoke`, then a new CRL),
/// as a vendor would after a key compromise.
pub fn revoke(dir: &Path, user: &str) {
    run(
        dir,
        &["ca", "-config", "ca.cnf", "-revoke", &format!("{user}.pem")],
    );
    issue_crl(dir);
}
