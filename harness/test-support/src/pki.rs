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

use crate::openssl_ca::{Ca, Issued, Key, Profile, generate_key};

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
/// The certificates themselves are made by [`crate::openssl_ca`], the one builder.
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

/// The extension lines of a user-certificate variant, in `openssl`'s configuration syntax.
fn variant_extensions(variant: &Variant) -> Vec<String> {
    let mut lines = Vec::new();
    for (key, value) in USER_EXTENSIONS {
        let value = match variant.changes.iter().find(|(k, _)| k == key) {
            Some((_, replacement)) => *replacement,
            None => Some(*value),
        };
        if let Some(value) = value {
            lines.push(format!("{key} = {value}"));
        }
    }
    for (key, value) in variant.changes {
        if let (false, Some(value)) = (USER_EXTENSIONS.iter().any(|(k, _)| k == key), value) {
            lines.push(format!("{key} = {value}"));
        }
    }
    lines
}

fn variant(name: &str) -> &'static Variant {
    VARIANTS
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no certificate variant {name}"))
}

const ROOT_EXTENSIONS: [&str; 3] = [
    "basicConstraints = critical, CA:TRUE",
    "keyUsage = critical, keyCertSign, cRLSign",
    "subjectKeyIdentifier = hash",
];

const INTER_EXTENSIONS: [&str; 5] = [
    "basicConstraints = critical, CA:TRUE, pathlen:0",
    "keyUsage = critical, keyCertSign, cRLSign",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid:always",
    "crlDistributionPoints = URI:http://crl.lab.example/root.crl",
];

const ALICE_SUBJECT: &str = "/O=smime-lab tests/CN=Alice Example";

/// Serial numbers in order of issue, as the fixtures have always had them (101, 102, …).
struct Serials(u64);

impl Serials {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

fn generate() -> TestPki {
    let dir = tempfile::tempdir().expect("a temporary directory for the test PKI");
    let d = dir.path();
    let key = |name: &str, kind: Key| generate_key(d, name, &kind);
    let (root_key, inter_key, user_key) = (
        key("root", Key::Rsa(3072)),
        key("inter", Key::Rsa(2048)),
        key("user", Key::Rsa(2048)),
    );
    let (wrong_key, rsa1024_key, k256_key) = (
        key("wrong", Key::Rsa(2048)),
        key("rsa1024", Key::Rsa(1024)),
        key("k256", Key::Ec("secp256k1".into())),
    );
    let (ed25519_root_key, ed25519_user_key) = (
        key("ed25519_root", Key::Ed25519),
        key("ed25519_user", Key::Ed25519),
    );

    let mut serials = Serials(100);
    let s = &mut serials;
    // A self-signed certificate with exactly these extensions, serial 1, ten years.
    let self_signed = |name: &str, key: &Key, subject: &str, extensions: &[String]| {
        Ca::self_signed(
            d,
            name,
            &Profile::new(subject, key.clone())
                .days(3650)
                .serial(1)
                .exact_extensions()
                .extensions(extensions),
        )
    };
    let strings = |lines: &[&str]| lines.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    // Alice's certificate of `variant` with the shared user key, for a year.
    let alice = |s: &mut Serials, variant_name: &str| {
        Profile::new(ALICE_SUBJECT, user_key.clone())
            .days(365)
            .serial(s.next())
            .extensions(variant_extensions(variant(variant_name)))
    };

    let root = self_signed(
        "root",
        &root_key,
        "/O=smime-lab tests/CN=Lab Root CA",
        &strings(&ROOT_EXTENSIONS),
    );
    let inter = root.issue_ca(
        "inter",
        &Profile::new("/O=smime-lab tests/CN=Lab Issuing CA", inter_key.clone())
            .days(1825)
            .serial(s.next())
            .extensions(INTER_EXTENSIONS),
    );
    for variant in VARIANTS {
        match variant.name {
            "self_signed" | "ec_user" | "ec_keyenc" => {}
            name => {
                inter.issue(name, &alice(s, name));
            }
        }
    }
    inter.issue(
        "no_san_with_dn_email",
        &Profile {
            subject: format!("{ALICE_SUBJECT}/emailAddress=alice@contoso.com"),
            ..alice(s, "no_san")
        },
    );
    inter.issue("expiring", &alice(s, "good").days(10));
    root.issue("from_root", &alice(s, "good"));
    inter.issue("sha1", &alice(s, "good").digest("sha1"));
    inter.issue("md5", &alice(s, "good").digest("md5"));
    inter.issue(
        "pss",
        &alice(s, "good")
            .sign_option("rsa_padding_mode:pss")
            .sign_option("rsa_pss_saltlen:32"),
    );
    inter.issue(
        "rsa1024",
        &Profile {
            key: rsa1024_key,
            ..alice(s, "good")
        },
    );
    // Signed by the good user certificate, which is no CA.
    let good = Issued {
        name: "good".into(),
        cert: d.join("good.pem"),
        key: d.join("user.key"),
    };
    Ca::acting(d, good).issue(
        "by_ee",
        &Profile {
            key: wrong_key,
            ..alice(s, "good")
        },
    );
    self_signed(
        "self_signed",
        &user_key,
        ALICE_SUBJECT,
        &variant_extensions(variant("self_signed")),
    );
    inter.issue(
        "ed25519_user",
        &Profile {
            key: ed25519_user_key,
            ..alice(s, "sign_only")
        },
    );
    inter.issue(
        "k256",
        &Profile {
            key: k256_key,
            extensions: variant_extensions(variant("ec_user")),
            ..alice(s, "good")
        },
    );
    let ed25519_root = Ca::self_signed(
        d,
        "ed25519_root",
        &Profile::new(
            "/O=smime-lab tests/CN=Lab Ed25519 Root CA",
            ed25519_root_key,
        )
        .days(3650)
        .serial(1)
        .no_digest()
        .exact_extensions()
        .extensions(ROOT_EXTENSIONS),
    );
    ed25519_root.issue("ed25519_signed", &alice(s, "good").no_digest());
    let mut nc_extensions = strings(&INTER_EXTENSIONS);
    nc_extensions.push("nameConstraints = critical, permitted;email:fabrikam.com".into());
    let nc_inter = root.issue_ca(
        "nc_inter",
        &Profile::new("/O=smime-lab tests/CN=Lab Constrained CA", inter_key)
            .days(1825)
            .serial(s.next())
            .extensions(nc_extensions),
    );
    nc_inter.issue("nc_user", &alice(s, "good"));

    for (bits, digest) in [("256", "sha256"), ("384", "sha384")] {
        let curve = format!("P-{bits}");
        let root_key = key(&format!("ec{bits}_root"), Key::Ec(curve.clone()));
        let inter_key = key(&format!("ec{bits}_inter"), Key::Ec(curve.clone()));
        let user_key = key(&format!("ec{bits}_user"), Key::Ec(curve));
        let root = Ca::self_signed(
            d,
            &format!("ec{bits}_root"),
            &Profile::new(
                format!("/O=smime-lab tests/CN=Lab EC P-{bits} Root CA"),
                root_key,
            )
            .days(3650)
            .serial(1)
            .digest(digest)
            .exact_extensions()
            .extensions(ROOT_EXTENSIONS),
        );
        let inter = root.issue_ca(
            &format!("ec{bits}_inter"),
            &Profile::new(
                format!("/O=smime-lab tests/CN=Lab EC P-{bits} Issuing CA"),
                inter_key,
            )
            .days(1825)
            .serial(s.next())
            .digest(digest)
            .extensions(INTER_EXTENSIONS),
        );
        inter.issue(
            &format!("ec{bits}_user"),
            &Profile {
                key: user_key,
                extensions: variant_extensions(variant("ec_user")),
                ..alice(s, "good").digest(digest)
            },
        );
    }
    Ca::existing(d, "ec256_inter").issue(
        "ec_keyenc",
        &Profile {
            key: Key::File(d.join("ec256_user.key")),
            ..alice(s, "ec_keyenc")
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
