//! The certificate checks against certificates made by OpenSSL (see `test_support::pki`): one test per
//! check, the good chains staying clean, and the catalogue covering every id that fires.

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};
use x509_cert::Certificate;

use super::*;
use crate::key::PrivateKey;
use test_support::pki::{ALICE, TestPki};

fn cert(file: &str) -> Certificate {
    let pki = TestPki::get();
    let file = if file.contains('.') {
        file.to_owned()
    } else {
        format!("{file}.pem")
    };
    let mut certs = crate::certificate::parse_certificates(&pki.read(&file))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(certs.len(), 1, "{file} holds one certificate");
    certs.remove(0)
}

fn key(name: &str) -> PrivateKey {
    PrivateKey::from_pem_or_der(&TestPki::get().read(&format!("{name}.key")))
        .unwrap_or_else(|e| panic!("{name}.key: {e}"))
}

/// One check run, described the way the tests vary it.
struct Case<'a> {
    cert: &'a str,
    chain: &'a [&'a str],
    key: Option<&'a str>,
    mailbox: Option<&'a str>,
    /// Offset from the real clock: the certificates are issued "now" by openssl.
    shift: Duration,
}

const CHAIN: &[&str] = &["inter", "root"];

fn case(cert: &str) -> Case<'_> {
    Case {
        cert,
        chain: CHAIN,
        key: Some("user"),
        mailbox: Some(ALICE),
        shift: Duration::ZERO,
    }
}

impl Case<'_> {
    fn run(&self) -> Report {
        let subject = cert(self.cert);
        let chain: Vec<Certificate> = self.chain.iter().map(|c| cert(c)).collect();
        let key = self.key.map(key);
        check_certificate(&CertificateUnderTest {
            cert: &subject,
            key: key.as_ref(),
            chain: &chain,
            mailbox: self.mailbox,
            now: OffsetDateTime::now_utc() + self.shift,
        })
    }
}

fn ids(report: &Report) -> BTreeSet<&'static str> {
    report.ids().into_iter().collect()
}

#[track_caller]
fn assert_ids(report: &Report, expected: &[&str]) {
    let want: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(
        ids(report),
        want,
        "findings:\n{}",
        report
            .findings
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_good_rsa_chain_has_no_findings() {
    let report = case("good").run();
    assert_ids(&report, &[]);
    assert!(!report.has_errors());
    assert_eq!(report.subject, ALICE);
    assert_eq!(report.certificate.emails, vec![ALICE.to_owned()]);
    assert_eq!(report.certificate.key, "RSA-2048");
    assert_eq!(report.certificate.thumbprint.len(), 40);
}

#[test]
fn the_good_ecdsa_chains_have_no_findings() {
    for (user, chain, key_name) in [
        ("ec256_user", ["ec256_inter", "ec256_root"], "ECDSA P-256"),
        ("ec384_user", ["ec384_inter", "ec384_root"], "ECDSA P-384"),
    ] {
        let report = Case {
            chain: &chain,
            key: Some(user),
            ..case(user)
        }
        .run();
        assert_ids(&report, &[]);
        assert_eq!(report.certificate.key, key_name);
    }
}

#[test]
fn rsa_pss_signatures_verify() {
    assert_ids(&case("pss").run(), &[]);
}

#[test]
fn key_not_supplied_is_information_only() {
    let report = Case {
        key: None,
        ..case("good")
    }
    .run();
    assert_ids(&report, &["PKI-KEY-002"]);
    assert!(!report.has_errors());
    assert_eq!(report.findings[0].severity, Severity::Info);
}

#[test]
fn a_key_that_is_not_the_certificates_is_an_error() {
    for wrong in ["wrong", "ec256_user"] {
        let report = Case {
            key: Some(wrong),
            ..case("good")
        }
        .run();
        assert_ids(&report, &["PKI-KEY-001"]);
        assert!(report.has_errors());
    }
}

#[test]
fn missing_ski_reads_as_the_design_says() {
    let report = case("no_ski").run();
    assert_ids(&report, &["PKI-SKI-001"]);
    let finding = &report.findings[0];
    assert_eq!(
        finding.to_string(),
        "PKI-SKI-001 error: certificate for alice@contoso.com has no Subject Key Identifier \
         (required by \"Configure S/MIME in Exchange Online\", step 1)"
    );
    assert!(finding.remedy.starts_with("reissue it from a template"));
    assert_eq!(finding.subject, ALICE);
}

#[test]
fn extended_key_usage() {
    assert_ids(&case("no_eku").run(), &["PKI-EKU-002"]);
    assert!(!case("no_eku").run().has_errors());
    let wrong = case("wrong_eku").run();
    assert_ids(&wrong, &["PKI-EKU-001"]);
    assert!(wrong.findings[0].message.contains("clientAuth"));
    assert_ids(&case("any_eku").run(), &["PKI-EKU-003"]);
    assert_ids(&case("bad_eku").run(), &["PKI-EXT-001", "PKI-EKU-002"]);
}

#[test]
fn key_usage_per_purpose() {
    let neither = case("wrong_ku").run();
    assert_ids(&neither, &["PKI-KU-001"]);
    assert!(neither.findings[0].message.contains("dataEncipherment"));
    assert_ids(&case("sign_only").run(), &["PKI-KU-002"]);
    assert_ids(&case("encrypt_only").run(), &["PKI-KU-003"]);
    assert_ids(&case("no_ku").run(), &["PKI-KU-005"]);
    // An EC key cannot do key transport: keyEncipherment is the wrong bit and leaves it sign-only.
    let ec = Case {
        chain: &["ec256_inter", "ec256_root"],
        key: Some("ec256_user"),
        ..case("ec_keyenc")
    }
    .run();
    assert_ids(&ec, &["PKI-KU-002", "PKI-KU-004"]);
}

#[test]
fn email_address_and_mailbox() {
    let mismatch = case("san_bob").run();
    assert_ids(&mismatch, &["PKI-SAN-002"]);
    assert!(mismatch.findings[0].message.contains("bob@contoso.com"));
    // Without a mailbox there is nothing to mismatch.
    assert_ids(
        &Case {
            mailbox: None,
            ..case("san_bob")
        }
        .run(),
        &[],
    );
    // Case does not matter in SMTP addresses as Exchange uses them.
    assert_ids(
        &Case {
            mailbox: Some("Alice@CONTOSO.com"),
            ..case("good")
        }
        .run(),
        &[],
    );
    assert_ids(&case("no_san").run(), &["PKI-SAN-001"]);
    let dn_only = case("no_san_with_dn_email").run();
    assert_ids(&dn_only, &["PKI-SAN-001"]);
    assert!(
        dn_only.findings[0]
            .message
            .contains("emailAddress attribute")
    );
}

#[test]
fn validity_at_now() {
    let expired = Case {
        shift: Duration::days(400),
        ..case("good")
    }
    .run();
    assert_ids(&expired, &["PKI-VAL-001"]);
    assert!(expired.findings[0].message.contains(" expired on 20"));
    let long_after = Case {
        shift: Duration::days(2000),
        ..case("good")
    }
    .run();
    assert_ids(&long_after, &["PKI-VAL-001", "PKI-CHN-007"]);
    let before = Case {
        shift: -Duration::days(2),
        ..case("good")
    }
    .run();
    // The CAs were made at the same moment, so they are not yet valid either.
    assert_ids(&before, &["PKI-VAL-002", "PKI-CHN-007"]);
    let soon = case("expiring").run();
    assert_ids(&soon, &["PKI-VAL-003"]);
    assert!(!soon.has_errors());
    assert_ids(
        &Case {
            shift: Duration::days(340),
            ..case("good")
        }
        .run(),
        &["PKI-VAL-003"],
    );
}

#[test]
fn weak_keys_and_hashes() {
    let sha1 = case("sha1").run();
    assert_ids(&sha1, &["PKI-ALG-004"]);
    assert!(sha1.findings[0].message.contains("SHA-1"));
    assert_ids(&case("md5").run(), &["PKI-ALG-004"]);
    let short = Case {
        key: Some("rsa1024"),
        ..case("rsa1024")
    }
    .run();
    assert_ids(&short, &["PKI-ALG-001"]);
    assert!(short.findings[0].message.contains("1024 bits"));
    assert_ids(
        &Case {
            key: None,
            ..case("ed25519_user")
        }
        .run(),
        &["PKI-ALG-002", "PKI-KEY-002", "PKI-KU-002"],
    );
    assert_ids(
        &Case {
            key: None,
            ..case("k256")
        }
        .run(),
        &["PKI-ALG-003", "PKI-KEY-002"],
    );
}

#[test]
fn chain_completeness() {
    assert_ids(
        &Case {
            chain: &[],
            ..case("good")
        }
        .run(),
        &["PKI-CHN-002"],
    );
    let missing = Case {
        chain: &["root"],
        ..case("good")
    }
    .run();
    assert_ids(&missing, &["PKI-CHN-001"]);
    assert!(missing.findings[0].message.contains("Lab Issuing CA"));
    // Order of the chain files does not matter, and the subject repeated in the chain is ignored.
    assert_ids(
        &Case {
            chain: &["root", "good", "inter"],
            ..case("good")
        }
        .run(),
        &[],
    );
}

#[test]
fn signatures_and_issuers() {
    let tampered = case("tampered.der").run();
    assert_ids(&tampered, &["PKI-CHN-003"]);
    assert!(tampered.findings[0].message.contains("Lab Issuing CA"));
    let from_root = Case {
        chain: &["root"],
        ..case("from_root")
    }
    .run();
    assert_ids(&from_root, &["PKI-CHN-004"]);
    let by_ee = Case {
        key: Some("wrong"),
        chain: &["good", "inter", "root"],
        ..case("by_ee")
    }
    .run();
    assert_ids(&by_ee, &["PKI-CHN-005"]);
    // Both the user certificate acting as a CA and the intermediate whose pathlen:0 it breaks.
    assert_eq!(by_ee.count(Severity::Error), 2);
    assert_ids(
        &Case {
            chain: &[],
            ..case("self_signed")
        }
        .run(),
        &["PKI-CHN-006"],
    );
    let eddsa = Case {
        chain: &["ed25519_root"],
        ..case("ed25519_signed")
    }
    .run();
    assert_ids(&eddsa, &["PKI-ALG-002", "PKI-CHN-004", "PKI-CHN-008"]);
}

#[test]
fn crl_distribution_points() {
    assert_ids(&case("no_crl").run(), &["PKI-CRL-001"]);
    let ldap = case("ldap_crl").run();
    assert_ids(&ldap, &["PKI-CRL-002"]);
    assert!(
        ldap.findings[0]
            .message
            .contains("ldap://dc01.contoso.local/")
    );
    let internal = case("internal_crl").run();
    assert_ids(&internal, &["PKI-CRL-003"]);
    assert!(internal.findings[0].message.contains("pki.contoso.local"));
}

#[test]
fn an_independent_validator_catches_what_the_profile_does_not() {
    // Name constraints are not one of the lab's checks; rustls-webpki enforces them.
    let report = Case {
        chain: &["nc_inter", "root"],
        ..case("nc_user")
    }
    .run();
    assert_ids(&report, &["PKI-CHN-009"]);
    assert!(
        report.findings[0]
            .message
            .contains("NameConstraintViolation")
    );
}

#[test]
fn a_ca_certificate_is_reported_not_crashed_on() {
    let report = Case {
        key: Some("inter"),
        chain: &["root"],
        mailbox: None,
        ..case("inter")
    }
    .run();
    assert_ids(&report, &["PKI-PRF-001"]);
    assert_eq!(report.subject, "Lab Issuing CA");
    assert!(
        report.findings[0]
            .message
            .starts_with("CA certificate \"Lab Issuing CA\" has")
    );
    let root = Case {
        key: None,
        chain: &[],
        mailbox: None,
        ..case("root")
    }
    .run();
    assert_ids(&root, &["PKI-PRF-001", "PKI-KEY-002"]);
}

#[test]
fn findings_are_ordered_errors_first_and_stable() {
    let run = || {
        Case {
            key: Some("wrong"),
            chain: &["root"],
            ..case("sign_only")
        }
        .run()
    };
    let report = run();
    let severities: Vec<Severity> = report.findings.iter().map(|f| f.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort();
    assert_eq!(severities, sorted);
    assert_eq!(
        report.ids(),
        vec!["PKI-KEY-001", "PKI-CHN-001", "PKI-KU-002"]
    );
    assert_eq!(report, run());
}

#[test]
fn every_finding_is_in_the_catalogue_and_every_pki_row_fires_somewhere() {
    let cases = [
        case("good"),
        Case {
            key: None,
            ..case("good")
        },
        Case {
            key: Some("wrong"),
            ..case("good")
        },
        case("no_ski"),
        case("no_eku"),
        case("wrong_eku"),
        case("any_eku"),
        case("bad_eku"),
        case("wrong_ku"),
        case("sign_only"),
        case("no_ku"),
        case("encrypt_only"),
        Case {
            chain: &["ec256_inter", "ec256_root"],
            key: Some("ec256_user"),
            ..case("ec_keyenc")
        },
        Case {
            mailbox: None,
            ..case("no_ku")
        },
        case("sign_only"),
        Case {
            key: None,
            ..case("ed25519_user")
        },
        Case {
            key: None,
            ..case("k256")
        },
        case("san_bob"),
        case("no_san"),
        Case {
            shift: Duration::days(2000),
            ..case("good")
        },
        Case {
            shift: -Duration::days(2),
            ..case("good")
        },
        case("expiring"),
        case("sha1"),
        case("rsa1024"),
        Case {
            chain: &["root"],
            ..case("good")
        },
        Case {
            chain: &[],
            ..case("good")
        },
        case("tampered.der"),
        Case {
            chain: &["root"],
            ..case("from_root")
        },
        Case {
            chain: &["good", "inter", "root"],
            ..case("by_ee")
        },
        Case {
            chain: &[],
            ..case("self_signed")
        },
        Case {
            chain: &["ed25519_root"],
            ..case("ed25519_signed")
        },
        Case {
            chain: &["nc_inter", "root"],
            ..case("nc_user")
        },
        case("no_crl"),
        case("ldap_crl"),
        case("internal_crl"),
        Case {
            chain: &["root"],
            ..case("inter")
        },
    ];
    let mut fired = BTreeSet::new();
    for c in &cases {
        for finding in c.run().findings {
            let row = lookup(finding.id)
                .unwrap_or_else(|| panic!("{} ({}) is not in the catalogue", finding.id, c.cert));
            assert_eq!(row.severity, finding.severity, "{}", finding.id);
            assert_eq!(row.remedy, finding.remedy, "{}", finding.id);
            fired.insert(finding.id);
        }
    }
    let never: Vec<&str> = CATALOGUE
        .iter()
        .map(|c| c.id)
        .filter(|id| id.starts_with("PKI-") && !fired.contains(id))
        .collect();
    assert!(never.is_empty(), "catalogue rows no test raises: {never:?}");
}

#[test]
fn a_report_serialises_to_json() {
    let report = Case {
        key: None,
        ..case("no_ski")
    }
    .run();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["subject"], ALICE);
    assert_eq!(json["findings"][0]["id"], "PKI-SKI-001");
    assert_eq!(json["findings"][0]["severity"], "error");
    assert_eq!(json["findings"][1]["severity"], "info");
    assert_eq!(json["certificate"]["emails"][0], ALICE);
}

#[test]
fn openssl_agrees_on_the_signatures() {
    // The peer's verdict on the same files: the chains the checks accept verify with
    // `openssl verify`, and the tampered certificate fails there too.
    let pki = TestPki::get();
    let dir = pki.dir();
    let verify = |untrusted: &str, root: &str, leaf: &str| {
        test_support::run_any(
            test_support::openssl()
                .args([
                    "verify",
                    "-purpose",
                    "smimesign",
                    "-CAfile",
                    root,
                    "-untrusted",
                    untrusted,
                    leaf,
                ])
                .current_dir(dir),
        )
    };
    for (leaf, inter, root) in [
        ("good.pem", "inter.pem", "root.pem"),
        ("pss.pem", "inter.pem", "root.pem"),
        ("ec256_user.pem", "ec256_inter.pem", "ec256_root.pem"),
        ("ec384_user.pem", "ec384_inter.pem", "ec384_root.pem"),
    ] {
        let out = verify(inter, root, leaf);
        assert!(
            out.status.success(),
            "openssl verify {leaf}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = verify("inter.pem", "root.pem", "tampered.pem");
    assert!(
        !out.status.success(),
        "openssl accepted the tampered certificate"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("signature failure")
            || String::from_utf8_lossy(&out.stderr).contains("signature failure")
    );
}

#[test]
fn signed_der_is_the_original_der() {
    // The re-assembled DER must be byte-for-byte what openssl wrote, or signatures would fail.
    for name in ["good", "ec384_user", "pss", "root"] {
        let pki = TestPki::get();
        let der = test_support::pki::openssl(
            pki.dir(),
            &["x509", "-in", &format!("{name}.pem"), "-outform", "DER"],
        )
        .stdout;
        let parsed = crate::certificate::parse_der(&der).unwrap();
        assert_eq!(super::facts::signed_der(&parsed).unwrap().certificate, der);
    }
}

#[test]
fn a_generalized_time_before_2050_still_verifies() {
    // RFC 5280 wants UTCTime for dates before 2050, but certificates with GeneralizedTime exist,
    // and x509-cert rewrites them when re-encoding. Make one (signed by openssl over the exact TBS
    // bytes) and check the signature still verifies, which needs the original bytes back.
    use der::asn1::{Any, BitString, GeneralizedTime};
    use der::{Decode, Encode};
    use x509_cert::time::Time;

    let pki = TestPki::get();
    let good = cert("good");
    let tbs = good.tbs_certificate();
    let mut elements = Vec::<Any>::from_der(&tbs.to_der().unwrap()).unwrap();
    let general = |t: Time| {
        let g = Time::GeneralTime(GeneralizedTime::from_date_time(t.to_date_time()));
        Any::from_der(&g.to_der().unwrap()).unwrap()
    };
    let validity = vec![
        general(tbs.validity().not_before),
        general(tbs.validity().not_after),
    ];
    // Version, serial, signature, issuer, then validity.
    elements[4] = Any::from_der(&validity.to_der().unwrap()).unwrap();
    let tbs_der = elements.to_der().unwrap();

    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("tbs.der"), &tbs_der).unwrap();
    let inter_key = pki.path("inter.key");
    test_support::pki::openssl(
        work.path(),
        &[
            "dgst",
            "-sha256",
            "-sign",
            inter_key.to_str().unwrap(),
            "-out",
            "sig.bin",
            "tbs.der",
        ],
    );
    let sig = std::fs::read(work.path().join("sig.bin")).unwrap();
    let original = vec![
        Any::from_der(&tbs_der).unwrap(),
        Any::from_der(&good.signature_algorithm().to_der().unwrap()).unwrap(),
        Any::from_der(&BitString::from_bytes(&sig).unwrap().to_der().unwrap()).unwrap(),
    ]
    .to_der()
    .unwrap();

    let parsed = crate::certificate::parse_der(&original).unwrap();
    assert_ne!(
        parsed.to_der().unwrap(),
        original,
        "x509-cert no longer rewrites the times"
    );
    assert_eq!(
        super::facts::signed_der(&parsed).unwrap().certificate,
        original
    );
    let chain = [cert("inter"), cert("root")];
    let user_key = key("user");
    let report = check_certificate(&CertificateUnderTest {
        cert: &parsed,
        key: Some(&user_key),
        chain: &chain,
        mailbox: Some(ALICE),
        now: OffsetDateTime::now_utc(),
    });
    assert!(!report.has("PKI-CHN-003"), "{:?}", report.ids());
}

#[test]
fn mutated_certificates_never_panic() {
    // Every byte of two real certificates flipped: whatever still parses must be checked without
    // a panic (the checks read extensions, keys and signatures from the input). The RSA one is
    // checked against its intermediate only, to keep the test quick; the ECDSA one with its root,
    // so that path validation runs too.
    let pki = TestPki::get();
    let chain = [cert("inter")];
    let ec_chain = [cert("ec384_inter"), cert("ec384_root")];
    let user_key = key("user");
    let mut checked = 0;
    for (name, chain) in [("good", &chain[..]), ("ec384_user", &ec_chain[..])] {
        let der = test_support::pki::openssl(
            pki.dir(),
            &["x509", "-in", &format!("{name}.pem"), "-outform", "DER"],
        )
        .stdout;
        for index in 0..der.len() {
            for flip in [0x01u8] {
                let mut mutated = der.clone();
                mutated[index] ^= flip;
                let Ok(parsed) = crate::certificate::parse_der(&mutated) else {
                    continue;
                };
                let report = check_certificate(&CertificateUnderTest {
                    cert: &parsed,
                    key: Some(&user_key),
                    chain,
                    mailbox: Some(ALICE),
                    now: OffsetDateTime::now_utc(),
                });
                assert!(!report.subject.is_empty());
                checked += 1;
            }
        }
    }
    // Most single-bit changes inside names, keys and signatures still parse.
    assert!(checked > 250, "only {checked} mutants parsed");
}
