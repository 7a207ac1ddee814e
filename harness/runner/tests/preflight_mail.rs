#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic: a failed expectation is a failed test

//! The preflight's step 5 as mail (issue 14): signing with the users' own PKCS#12 files and a
//! sample of encrypted messages, on the local lab, with every certificate and PKCS#12 file made
//! by OpenSSL's command line (`openssl pkcs12 -export`, as an admin exports identities). Each
//! seeded flaw comes out under its check, the clean users are ready, and neither the password
//! nor a key byte appears in any report.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::Value;
use test_support::openssl_ca::{Ca, Issued, Key, Profile, ROOT_EXTENSIONS, user_extensions};

mod common;

const CRL_URL: &str = "http://pki.contoso.com/crl/issuing.crl";
const PASSWORD: &str = "Pr3flight-only-in-memory";
const PASSWORD_ENV: &str = "SMIME_LAB_TEST_PREFLIGHT_PKCS12";

fn ec() -> Key {
    Key::Ec("P-256".into())
}

fn user(ca: &Ca, name: &str, mail: &str, key_usage: &str, serial: u64) -> Issued {
    ca.issue(
        name,
        &Profile::new(format!("/CN={name}/emailAddress={mail}"), ec())
            .days(365)
            .serial(serial)
            .extensions(user_extensions(mail, key_usage))
            .extensions([format!("crlDistributionPoints=URI:{CRL_URL}")]),
    )
}

/// `openssl pkcs12 -export` of `issued` with its issuing CA, to `keys/<file>`.
fn export(dir: &Path, issued: &Issued, ca: &Ca, file: &str, password: &str) {
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    test_support::run_ok(test_support::openssl().args([
        "pkcs12",
        "-export",
        "-inkey",
        issued.key.to_str().unwrap(),
        "-in",
        issued.cert.to_str().unwrap(),
        "-certfile",
        ca.issued.cert.to_str().unwrap(),
        "-passout",
        &format!("pass:{password}"),
        "-out",
        dir.join("keys").join(file).to_str().unwrap(),
    ]));
}

fn entry(name: &str, certificate: &[u8]) -> String {
    format!(
        "dn: CN={name},OU=Staff,DC=contoso,DC=com\nobjectClass: user\ncn: {name}\nmail: {name}@contoso.com\nuserCertificate:: {}\n\n",
        base64::engine::general_purpose::STANDARD.encode(certificate)
    )
}

/// The organisation: every user publishes an issuing-CA certificate; the PKCS#12 files are
/// alice's (clean), carol's (exported with another password), dave's (an identity from a CA
/// outside the collection, not the one he publishes), erin's (a key-agreement-only certificate,
/// which may not sign) and one of a mailbox nobody has. bob gives none.
fn make_org() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pki = common::preflight_pki::make(dir.path());
    let (issuing, other) = (&pki.issuing, &pki.other);
    let both = "digitalSignature,keyAgreement";
    let mut ldif = String::from("version: 1\n\n");
    let mut serial = 9000;
    for name in ["alice", "bob", "carol", "dave"] {
        serial += 1;
        let issued = user(issuing, name, &format!("{name}@contoso.com"), both, serial);
        ldif.push_str(&entry(name, &issued.cert_der()));
        match name {
            "alice" => export(dir.path(), &issued, issuing, "alice.pfx", PASSWORD),
            "carol" => export(dir.path(), &issued, issuing, "carol.p12", "another"),
            _ => {}
        }
    }
    let erin = user(issuing, "erin", "erin@contoso.com", "keyAgreement", 9100);
    ldif.push_str(&entry("erin", &erin.cert_der()));
    export(dir.path(), &erin, issuing, "erin.p12", PASSWORD);
    let dave_elsewhere = user(other, "dave-other", "dave@contoso.com", both, 9200);
    export(dir.path(), &dave_elsewhere, other, "dave.p12", PASSWORD);
    let nobody = user(issuing, "nobody", "nobody@contoso.com", both, 9300);
    export(dir.path(), &nobody, issuing, "nobody.p12", PASSWORD);
    std::fs::write(dir.path().join("users.ldif"), ldif).unwrap();
    pki.write_collection_and_crl(dir.path());
    let now = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    std::fs::write(
        dir.path().join("preflight.yaml"),
        format!(
            "sst: collection.pem\ndirectory: users.ldif\ncrls: [issuing.crl]\n\
internet-reachable: [pki.contoso.com]\nnow: {now}\n\
pkcs12: {{ dir: keys, password-env: {PASSWORD_ENV} }}\nmail-sample: 10\n"
        ),
    )
    .unwrap();
    dir
}

/// `smime-lab preflight DIR --json` with the password in the environment, as an admin runs it:
/// the exit code, the report, and every other thing it wrote (summary, JUnit, HTML).
fn preflight(dir: &Path) -> (i32, Value, Vec<String>) {
    let out = dir.join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_smime-lab"))
        .args(["preflight", "--runtime", "local", "--json", "--out"])
        .arg(&out)
        .arg(dir)
        .env(PASSWORD_ENV, PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8(run.stdout).unwrap();
    let stderr = String::from_utf8(run.stderr).unwrap();
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {stdout}\nstderr: {stderr}"));
    let mut shown = vec![stdout, stderr];
    for file in ["report.json", "junit.xml", "report.html"] {
        shown.push(std::fs::read_to_string(out.join(file)).unwrap());
    }
    (run.status.code().unwrap_or(-1), report, shown)
}

fn ids(findings: &Value) -> Vec<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn signing_and_a_sample_of_encrypted_mail_find_each_seeded_flaw() {
    let org = make_org();
    let (code, report, shown) = preflight(org.path());
    assert_eq!(code, 1, "two users fail: {report:#}");

    let by_user: BTreeMap<String, (String, Vec<String>)> = report["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["mail"].as_str().unwrap().to_owned(),
                (
                    u["verdict"].as_str().unwrap().to_owned(),
                    ids(&u["findings"]),
                ),
            )
        })
        .collect();
    let expected: BTreeMap<String, (String, Vec<String>)> = [
        ("alice", "ready", vec![]),
        ("bob", "ready", vec![]),
        ("carol", "ready", vec![]),
        // His file holds another identity: its signature chains to a CA outside the collection,
        // and it cannot open mail encrypted to the certificate he publishes.
        ("dave", "failing", vec!["PRE-SIG-002", "PRE-MAIL-001"]),
        ("erin", "failing", vec!["PRE-SIG-001"]),
    ]
    .into_iter()
    .map(|(n, v, f)| {
        (
            format!("{n}@contoso.com"),
            (v.to_owned(), f.into_iter().map(String::from).collect()),
        )
    })
    .collect();
    assert_eq!(by_user, expected, "{:#}", report["users"]);

    // The files: each under its user, or with its own finding.
    let files: BTreeMap<String, (Option<String>, Vec<String>)> = report["key_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let file = k["file"].as_str().unwrap();
            (
                Path::new(file)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                (k["user"].as_str().map(String::from), ids(&k["findings"])),
            )
        })
        .collect();
    let user = |n: &str| Some(format!("{n}@contoso.com"));
    let none: Vec<String> = Vec::new();
    assert_eq!(
        files,
        BTreeMap::from([
            ("alice.pfx".to_owned(), (user("alice"), none.clone())),
            (
                "carol.p12".to_owned(),
                (None, vec!["PRE-KEY-001".to_owned()])
            ),
            ("dave.p12".to_owned(), (user("dave"), none.clone())),
            ("erin.p12".to_owned(), (user("erin"), none.clone())),
            (
                "nobody.p12".to_owned(),
                (None, vec!["PRE-KEY-002".to_owned()])
            ),
        ])
    );
    let signing = |file: &str| {
        report["key_files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["file"].as_str().unwrap().ends_with(file))
            .and_then(|k| k["signing"].as_str())
            .map(String::from)
    };
    assert!(
        signing("alice.pfx").unwrap().ends_with("shows it valid"),
        "{report:#}"
    );
    assert!(
        signing("dave.p12").unwrap().contains("untrusted"),
        "{report:#}"
    );

    // The sample: every user Outlook on the web encrypts to, from alice (whose signing passed),
    // opened where the recipient's own file was given.
    let sample = report["sample"].as_array().unwrap();
    assert_eq!(sample.len(), 5, "{sample:#?}");
    for message in sample {
        let to = message["to"].as_str().unwrap();
        assert_eq!(message["from"], "alice@contoso.com");
        assert_eq!(message["protection"], "signed+encrypted");
        assert_eq!(
            message["passed"].as_bool().unwrap(),
            to != "dave@contoso.com",
            "{message:#}"
        );
        let outcome = message["outcome"].as_str().unwrap();
        match to {
            "alice@contoso.com" | "erin@contoso.com" => {
                assert!(outcome.contains(": valid"), "{outcome}")
            }
            "bob@contoso.com" | "carol@contoso.com" => {
                assert!(outcome.contains("not opened"), "{outcome}")
            }
            _ => assert!(outcome.contains("does not open it"), "{outcome}"),
        }
    }

    // The totals count the files' findings; nothing shows the password or a key.
    let count = |id: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .map(|f| f["count"].as_u64().unwrap())
    };
    assert_eq!(count("PRE-KEY-001"), Some(1));
    assert_eq!(count("PRE-KEY-002"), Some(1));
    assert_eq!(count("PRE-SIG-001"), Some(1));
    assert_eq!(count("PRE-SIG-002"), Some(1));
    assert_eq!(count("PRE-MAIL-001"), Some(1));
    for text in &shown {
        assert!(!text.contains(PASSWORD), "the password is shown");
        assert!(!text.contains("PRIVATE KEY"));
    }
    assert!(shown[4].contains("Sample of encrypted mail"));
    assert!(
        shown[1].contains("sample of encrypted mail: 4 of 5 passed"),
        "{}",
        shown[1]
    );
}

/// What `pkcs12:` takes is checked before a lab starts: exit 2 naming the field.
#[test]
fn a_pkcs12_field_that_cannot_be_used_is_refused_before_the_lab() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::self_signed(
        dir.path(),
        "root",
        &Profile::new("/CN=Root", ec()).extensions(ROOT_EXTENSIONS),
    );
    std::fs::copy(&root.issued.cert, dir.path().join("collection.pem")).unwrap();
    std::fs::write(
        dir.path().join("users.ldif"),
        "dn: cn=a,dc=contoso,dc=com\nmail: a@contoso.com\n\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let run = |pkcs12: &str| {
        std::fs::write(
            dir.path().join("preflight.yaml"),
            format!("sst: collection.pem\ndirectory: users.ldif\npkcs12: {pkcs12}\n"),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_smime-lab"))
            .args(["preflight", "--runtime", "local", "--out"])
            .arg(dir.path().join("out"))
            .arg(dir.path())
            .env_remove(PASSWORD_ENV)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (field, expected) in [
        (
            format!("{{ dir: empty, password-env: {PASSWORD_ENV} }}"),
            format!("pkcs12.password-env: the environment variable {PASSWORD_ENV} is not set"),
        ),
        (
            "{ dir: empty, password: a, password-env: B }".to_owned(),
            "pkcs12: give exactly one of `password-env`".to_owned(),
        ),
        (
            "{ dir: missing, password: a }".to_owned(),
            "pkcs12.dir:".to_owned(),
        ),
        (
            "{ dir: empty, password: a }".to_owned(),
            "holds no .p12 or .pfx file".to_owned(),
        ),
    ] {
        let (code, err) = run(&field);
        assert_eq!(code, Some(2), "{field}: {err}");
        assert!(err.contains(&expected), "{field}: {err}");
        assert!(!dir.path().join("out").join("report.json").exists());
    }
}
