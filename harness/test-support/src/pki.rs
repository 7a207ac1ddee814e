//! Test certificates made by the `openssl` command-line tool, an independent peer: a good
//! root → intermediate → user chain with every extension Exchange Online and the S/MIME BR want,
//! ECDSA P-256 and P-384 chains, and one certificate per mistake the checks must catch.
//!
//! The one OpenSSL-made test PKI of the workspace (`smime`'s certificate-check tests, `runner`'s
//! `cert` CLI tests). Everything is generated once per test process into a temporary directory. A missing `openssl` fails the test, saying what to
//! install: a test that cannot run must not pass.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const ALICE: &str = "alice@contoso.com";

/// The directory holding the generated files. Names: `<name>.pem` certificates, `<name>.key` keys.
pub struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    /// The shared fixture set, generated on first use.
    pub fn get() -> &'static TestPki {
        static PKI: OnceLock<TestPki> = OnceLock::new();
        PKI.get_or_init(generate)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    pub fn read(&self, file: &str) -> Vec<u8> {
        let path = self.path(file);
        fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }
}

/// Runs `openssl` in `dir`, panicking with its output (or with install advice) on failure.
pub fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    crate::run_ok(crate::openssl().args(args).current_dir(dir))
}

/// Extension lines of the good user certificate; variants replace or drop single lines.
const USER_EXTENSIONS: &[(&str, &str)] = &[
    ("basicConstraints", "critical, CA:FALSE"),
    ("keyUsage", "critical, digitalSignature, keyEncipherment"),
    ("extendedKeyUsage", "emailProtection"),
    ("subjectAltName", "email:alice@contoso.com"),
    ("subjectKeyIdentifier", "hash"),
    ("authorityKeyIdentifier", "keyid:always"),
    (
        "crlDistributionPoints",
        "URI:http://crl.lab.example/issuing.crl",
    ),
];

const EC_USER_KU: &str = "critical, digitalSignature, keyAgreement";

/// A user-certificate variant: its section name and the lines that differ from the good one
/// (`None` drops the line).
struct Variant {
    name: &'static str,
    changes: &'static [(&'static str, Option<&'static str>)],
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "good",
        changes: &[],
    },
    Variant {
        name: "no_ski",
        changes: &[("subjectKeyIdentifier", Some("none"))],
    },
    Variant {
        name: "no_eku",
        changes: &[("extendedKeyUsage", None)],
    },
    Variant {
        name: "wrong_eku",
        changes: &[("extendedKeyUsage", Some("clientAuth"))],
    },
    Variant {
        name: "any_eku",
        changes: &[(
            "extendedKeyUsage",
            Some("emailProtection, anyExtendedKeyUsage"),
        )],
    },
    Variant {
        name: "wrong_ku",
        changes: &[("keyUsage", Some("critical, dataEncipherment"))],
    },
    Variant {
        name: "sign_only",
        changes: &[("keyUsage", Some("critical, digitalSignature"))],
    },
    Variant {
        name: "encrypt_only",
        changes: &[("keyUsage", Some("critical, keyEncipherment"))],
    },
    Variant {
        name: "no_ku",
        changes: &[("keyUsage", None)],
    },
    Variant {
        name: "san_bob",
        changes: &[("subjectAltName", Some("email:bob@contoso.com"))],
    },
    Variant {
        name: "no_san",
        changes: &[("subjectAltName", None)],
    },
    Variant {
        name: "no_crl",
        changes: &[("crlDistributionPoints", None)],
    },
    Variant {
        name: "ldap_crl",
        changes: &[(
            "crlDistributionPoints",
            Some("URI:ldap://dc01.contoso.local/CN=Lab%20Issuing%20CA?certificateRevocationList"),
        )],
    },
    Variant {
        name: "internal_crl",
        changes: &[(
            "crlDistributionPoints",
            Some("URI:http://pki.contoso.local/issuing.crl"),
        )],
    },
    Variant {
        name: "self_signed",
        changes: &[("authorityKeyIdentifier", None)],
    },
    Variant {
        name: "bad_eku",
        changes: &[
            ("extendedKeyUsage", None),
            // An OCTET STRING where the EKU's SEQUENCE belongs: a malformed extension.
            ("2.5.29.37", Some("DER:0403010203")),
        ],
    },
    Variant {
        name: "ec_user",
        changes: &[("keyUsage", Some(EC_USER_KU))],
    },
    Variant {
        name: "ec_keyenc",
        changes: &[(
            "keyUsage",
            Some("critical, digitalSignature, keyEncipherment"),
        )],
    },
];

fn config() -> String {
    let mut cnf = String::from(
        "[req]\ndistinguished_name = dn\n[dn]\n\n\
         [root]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n\
         subjectKeyIdentifier = hash\n\n\
         [inter]\nbasicConstraints = critical, CA:TRUE, pathlen:0\n\
         keyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n\
         authorityKeyIdentifier = keyid:always\n\
         crlDistributionPoints = URI:http://crl.lab.example/root.crl\n\n\
         [nc_inter]\nbasicConstraints = critical, CA:TRUE, pathlen:0\n\
         keyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n\
         authorityKeyIdentifier = keyid:always\n\
         crlDistributionPoints = URI:http://crl.lab.example/root.crl\n\
         nameConstraints = critical, permitted;email:fabrikam.com\n\n",
    );
    for variant in VARIANTS {
        cnf.push_str(&format!("[{}]\n", variant.name));
        for (key, value) in USER_EXTENSIONS {
            let value = match variant.changes.iter().find(|(k, _)| k == key) {
                Some((_, replacement)) => *replacement,
                None => Some(*value),
            };
            if let Some(value) = value {
                cnf.push_str(&format!("{key} = {value}\n"));
            }
        }
        for (key, value) in variant.changes {
            if let (false, Some(value)) = (USER_EXTENSIONS.iter().any(|(k, _)| k == key), value) {
                cnf.push_str(&format!("{key} = {value}\n"));
            }
        }
        cnf.push('\n');
    }
    cnf
}

fn rsa_key(dir: &Path, name: &str, bits: u32) {
    let bits = format!("rsa_keygen_bits:{bits}");
    let out = format!("{name}.key");
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            &bits,
            "-out",
            &out,
        ],
    );
}

fn ec_key(dir: &Path, name: &str, curve: &str) {
    let curve = format!("ec_paramgen_curve:{curve}");
    let out = format!("{name}.key");
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            &curve,
            "-out",
            &out,
        ],
    );
}

fn self_signed(dir: &Path, name: &str, key: &str, subject: &str, section: &str, digest: &str) {
    let (key, out) = (format!("{key}.key"), format!("{name}.pem"));
    let digest = format!("-{digest}");
    let mut args = vec![
        "req",
        "-x509",
        "-new",
        "-key",
        &key,
        "-subj",
        subject,
        "-days",
        "3650",
        "-config",
        "pki.cnf",
        "-extensions",
        section,
        "-set_serial",
        "1",
        "-out",
        &out,
    ];
    // EdDSA takes no separate digest; openssl refuses one.
    if digest != "-" {
        args.push(&digest);
    }
    openssl(dir, &args);
}

struct Issue<'a> {
    name: &'a str,
    key: &'a str,
    subject: &'a str,
    ca: &'a str,
    section: &'a str,
    digest: &'a str,
    days: &'a str,
    extra: &'a [&'a str],
}

fn issue(dir: &Path, serial: &mut u32, i: Issue<'_>) {
    *serial += 1;
    let csr = format!("{}.csr", i.name);
    let key = format!("{}.key", i.key);
    openssl(
        dir,
        &[
            "req", "-new", "-key", &key, "-subj", i.subject, "-config", "pki.cnf", "-out", &csr,
        ],
    );
    let (ca, ca_key) = (format!("{}.pem", i.ca), format!("{}.key", i.ca_key()));
    let (out, serial, digest) = (
        format!("{}.pem", i.name),
        serial.to_string(),
        format!("-{}", i.digest),
    );
    let mut args = vec![
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-set_serial",
        &serial,
        "-days",
        i.days,
        "-extfile",
        "pki.cnf",
        "-extensions",
        i.section,
        "-out",
        &out,
    ];
    if digest != "-" {
        args.push(&digest);
    }
    args.extend_from_slice(i.extra);
    openssl(dir, &args);
}

impl Issue<'_> {
    /// The issuer's key file: named after the CA certificate, except a user certificate used as a
    /// (bogus) issuer, whose key is the shared user key.
    fn ca_key(&self) -> &str {
        match self.ca {
            "good" => "user",
            "nc_inter" => "inter",
            other => other,
        }
    }
}

fn generate() -> TestPki {
    let dir = tempfile::tempdir().expect("a temporary directory for the test PKI");
    let d = dir.path();
    fs::write(d.join("pki.cnf"), config()).expect("writing pki.cnf");

    rsa_key(d, "root", 3072);
    rsa_key(d, "inter", 2048);
    rsa_key(d, "user", 2048);
    rsa_key(d, "wrong", 2048);
    rsa_key(d, "rsa1024", 1024);
    ec_key(d, "ec256_root", "P-256");
    ec_key(d, "ec256_inter", "P-256");
    ec_key(d, "ec256_user", "P-256");
    ec_key(d, "ec384_root", "P-384");
    ec_key(d, "ec384_inter", "P-384");
    ec_key(d, "ec384_user", "P-384");
    ec_key(d, "k256", "secp256k1");
    for name in ["ed25519_root", "ed25519_user"] {
        openssl(
            d,
            &[
                "genpkey",
                "-algorithm",
                "ED25519",
                "-out",
                &format!("{name}.key"),
            ],
        );
    }

    let mut serial = 100;
    let s = &mut serial;
    self_signed(
        d,
        "root",
        "root",
        "/O=smime-lab tests/CN=Lab Root CA",
        "root",
        "sha256",
    );
    let alice = "/O=smime-lab tests/CN=Alice Example";
    let user = |name, section| Issue {
        name,
        key: "user",
        subject: alice,
        ca: "inter",
        section,
        digest: "sha256",
        days: "365",
        extra: &[],
    };
    issue(
        d,
        s,
        Issue {
            name: "inter",
            key: "inter",
            subject: "/O=smime-lab tests/CN=Lab Issuing CA",
            ca: "root",
            section: "inter",
            days: "1825",
            ..user("", "")
        },
    );
    for variant in VARIANTS {
        match variant.name {
            "self_signed" | "ec_user" | "ec_keyenc" => {}
            name => issue(d, s, user(name, name)),
        }
    }
    issue(
        d,
        s,
        Issue {
            subject: "/O=smime-lab tests/CN=Alice Example/emailAddress=alice@contoso.com",
            ..user("no_san_with_dn_email", "no_san")
        },
    );
    issue(
        d,
        s,
        Issue {
            days: "10",
            ..user("expiring", "good")
        },
    );
    issue(
        d,
        s,
        Issue {
            ca: "root",
            ..user("from_root", "good")
        },
    );
    issue(
        d,
        s,
        Issue {
            digest: "sha1",
            ..user("sha1", "good")
        },
    );
    issue(
        d,
        s,
        Issue {
            digest: "md5",
            ..user("md5", "good")
        },
    );
    issue(
        d,
        s,
        Issue {
            extra: &[
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
            ],
            ..user("pss", "good")
        },
    );
    issue(
        d,
        s,
        Issue {
            key: "rsa1024",
            ..user("rsa1024", "good")
        },
    );
    issue(
        d,
        s,
        Issue {
            key: "wrong",
            ca: "good",
            ..user("by_ee", "good")
        },
    );
    self_signed(d, "self_signed", "user", alice, "self_signed", "sha256");
    issue(
        d,
        s,
        Issue {
            key: "ed25519_user",
            ..user("ed25519_user", "sign_only")
        },
    );
    issue(
        d,
        s,
        Issue {
            key: "k256",
            ..user("k256", "ec_user")
        },
    );
    self_signed(
        d,
        "ed25519_root",
        "ed25519_root",
        "/O=smime-lab tests/CN=Lab Ed25519 Root CA",
        "root",
        "",
    );
    issue(
        d,
        s,
        Issue {
            ca: "ed25519_root",
            digest: "",
            ..user("ed25519_signed", "good")
        },
    );
    issue(
        d,
        s,
        Issue {
            name: "nc_inter",
            key: "inter",
            subject: "/O=smime-lab tests/CN=Lab Constrained CA",
            ca: "root",
            section: "nc_inter",
            days: "1825",
            ..user("", "")
        },
    );
    issue(
        d,
        s,
        Issue {
            ca: "nc_inter",
            ..user("nc_user", "good")
        },
    );

    for (bits, digest) in [("256", "sha256"), ("384", "sha384")] {
        let root = format!("ec{bits}_root");
        let inter = format!("ec{bits}_inter");
        let user_key = format!("ec{bits}_user");
        let root_subject = format!("/O=smime-lab tests/CN=Lab EC P-{bits} Root CA");
        self_signed(d, &root, &root, &root_subject, "root", digest);
        let inter_subject = format!("/O=smime-lab tests/CN=Lab EC P-{bits} Issuing CA");
        issue(
            d,
            s,
            Issue {
                name: &inter,
                key: &inter,
                subject: &inter_subject,
                ca: &root,
                section: "inter",
                digest,
                days: "1825",
                extra: &[],
            },
        );
        issue(
            d,
            s,
            Issue {
                name: &user_key,
                key: &user_key,
                subject: alice,
                ca: &inter,
                section: "ec_user",
                digest,
                days: "365",
                extra: &[],
            },
        );
    }
    issue(
        d,
        s,
        Issue {
            name: "ec_keyenc",
            key: "ec256_user",
            subject: alice,
            ca: "ec256_inter",
            section: "ec_keyenc",
            digest: "sha256",
            days: "365",
            extra: &[],
        },
    );

    // A good certificate with one bit of its signature flipped: the last byte of the DER is the
    // last byte of the RSA signature.
    let mut der = openssl(d, &["x509", "-in", "good.pem", "-outform", "DER"]).stdout;
    if let Some(last) = der.last_mut() {
        *last ^= 0x01;
    }
    fs::write(d.join("tampered.der"), der).expect("writing tampered.der");
    openssl(
        d,
        &[
            "x509",
            "-inform",
            "DER",
            "-in",
            "tampered.der",
            "-out",
            "tampered.pem",
        ],
    );

    // Bundles as people pass them: the user certificate first, then its chain.
    let cat = |files: &[&str]| -> Vec<u8> {
        files
            .iter()
            .flat_map(|f| fs::read(d.join(f)).expect("reading a generated certificate"))
            .collect()
    };
    fs::write(d.join("chain.pem"), cat(&["inter.pem", "root.pem"])).expect("writing chain.pem");
    fs::write(
        d.join("bundle.pem"),
        cat(&["good.pem", "inter.pem", "root.pem"]),
    )
    .expect("writing bundle.pem");
    fs::write(
        d.join("ec256_chain.pem"),
        cat(&["ec256_inter.pem", "ec256_root.pem"]),
    )
    .expect("writing ec256_chain.pem");
    fs::write(
        d.join("ec384_chain.pem"),
        cat(&["ec384_inter.pem", "ec384_root.pem"]),
    )
    .expect("writing ec384_chain.pem");
    TestPki { dir }
}
