#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic: a failed expectation is a failed test

//! The rollout preflight end to end on the local lab, with material made outside the project:
//! certificates by OpenSSL's command line (`test_support::openssl_ca`), one directory export
//! written by `ldapsearch` from a slapd loaded by `ldapadd`, and one in `ldifde`'s layout (CRLF,
//! `dn:` first, `changetype: add`, folded at 78 columns, AD's attributes). Each seeded flaw is
//! found exactly once, under its check, and the clean users are ready with no finding.
//! Bad input (a broken line, a user without mail, a value that is not DER, an oversize entry)
//! is refused or reported naming the DN and the line, through the `smime-lab` binary.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use base64::Engine as _;
use runner::preflight::report::{PreflightReport, Verdict};
use runner::preflight::{Preflight, directory, run};
use test_support::openssl_ca::{Ca, Key, Profile, ROOT_EXTENSIONS, user_extensions};

mod common;

const CRL_URL: &str = "http://pki.contoso.com/crl/issuing.crl";
const INTERNAL_CRL_URL: &str = "http://pki.corp.local/crl/issuing.crl";
/// Days after today the preflight judges at: certificates valid one day have expired by then.
const AHEAD_DAYS: i64 = 10;

struct Org {
    dir: tempfile::TempDir,
    /// User → DER certificates.
    certs: BTreeMap<&'static str, Vec<Vec<u8>>>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The PKI: a root and an issuing CA (the collection), a second issuing CA left out of it, and
/// the users' certificates, each with its flaw.
fn make_org() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let common::preflight_pki::Pki {
        root,
        issuing,
        other,
    } = common::preflight_pki::make(dir.path());
    let mut serial = 8192u64;
    let mut issue = |ca: &Ca, name: &str, days: u32, cdp: &str| {
        serial += 1;
        let mail = format!("{}@contoso.com", name.split('-').next().unwrap());
        ca.issue(
            name,
            &Profile::new(
                format!("/CN={name}/emailAddress={mail}"),
                Key::Ec("P-256".into()),
            )
            .days(days)
            .serial(serial)
            .extensions(user_extensions(&mail, "digitalSignature,keyAgreement"))
            .extensions([format!("crlDistributionPoints=URI:{cdp}")]),
        )
    };
    let mut certs: BTreeMap<&'static str, Vec<Vec<u8>>> = BTreeMap::new();
    // peggy.old: Peggy's old address, a secondary proxy address of hers in the ldifde export.
    for clean in [
        "alice",
        "bob",
        "carol",
        "oscar",
        "mallory",
        "judy",
        "peggy.old",
    ] {
        certs.insert(clean, vec![issue(&issuing, clean, 365, CRL_URL).cert_der()]);
    }
    certs.insert("dave", vec![issue(&other, "dave", 365, CRL_URL).cert_der()]);
    certs.insert("erin", vec![issue(&issuing, "erin", 1, CRL_URL).cert_der()]);
    certs.insert(
        "frank",
        vec![issue(&issuing, "frank", 60, CRL_URL).cert_der()],
    );
    let grace = issue(&issuing, "grace", 365, CRL_URL);
    issuing.revoke(&grace);
    certs.insert("grace", vec![grace.cert_der()]);
    certs.insert(
        "heidi",
        vec![issue(&issuing, "heidi", 365, INTERNAL_CRL_URL).cert_der()],
    );
    let ivan = (0..16)
        .map(|k| issue(&issuing, &format!("ivan-{k:02}"), 365, CRL_URL).cert_der())
        .collect();
    certs.insert("ivan", ivan);
    common::preflight_pki::Pki {
        root,
        issuing,
        other,
    }
    .write_collection_and_crl(dir.path());
    Org { dir, certs }
}

fn description(org: &Org, directory: &str) {
    let now = time::OffsetDateTime::now_utc() + time::Duration::days(AHEAD_DAYS);
    let now = now
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let yaml = format!(
        "organisation: Contoso\ntenant: contoso.onmicrosoft.com\nsst: collection.pem\ndirectory: {directory}\n\
crls: [issuing.crl]\ninternet-reachable: [pki.contoso.com]\nnow: {now}\nhorizon: 90d\n"
    );
    std::fs::write(org.dir.path().join("preflight.yaml"), yaml).unwrap();
}

/// Loads users into a slapd with `ldapadd` and exports them with `ldapsearch` (its default
/// extended LDIF: comments, `version: 1`, folded at 76, the result trailer).
async fn ldapsearch_export(org: &Org, users: &[&str]) -> Vec<u8> {
    let config = lab::LabConfig::default().only([lab::Service::Directory]);
    let running = lab::start(&config, lab::RuntimeChoice::Local)
        .await
        .unwrap();
    let endpoint = running.endpoints().directory().unwrap().clone();
    let password = org.dir.path().join("password");
    {
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create_new(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        file.open(&password)
            .unwrap()
            .write_all(endpoint.password.as_bytes())
            .unwrap();
    }
    let mut ldif = String::new();
    for user in users {
        ldif.push_str(&format!(
            "dn: cn={user},{0}\nobjectClass: inetOrgPerson\ncn: {user}\nsn: {user}\nmail: {user}@contoso.com\n",
            endpoint.suffix
        ));
        for der in &org.certs[user] {
            ldif.push_str(&format!("userCertificate;binary:: {}\n", b64(der)));
        }
        ldif.push('\n');
    }
    let tool = |program: &str| {
        let mut command = Command::new(test_support::require_tool(program, "ldap-utils"));
        command
            .args(["-x", "-H", &endpoint.url, "-D", &endpoint.bind_dn, "-y"])
            .arg(&password);
        command
    };
    let mut add = tool("ldapadd")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(ldif.as_bytes())
        .unwrap();
    assert!(add.wait().unwrap().success(), "ldapadd");
    let out = tool("ldapsearch")
        .args([
            "-b",
            &endpoint.suffix,
            "(objectClass=*)",
            "cn",
            "mail",
            "objectClass",
            "userCertificate;binary",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    running.stop().await.unwrap();
    out.stdout
}

/// An export in ldifde's layout: CRLF, `changetype: add`, lines folded at 78 columns, AD's
/// attributes (objectGUID, proxyAddresses, userPrincipalName).
/// An entry to export: its DN and its values in order.
type LdifEntry = (String, Vec<(String, Vec<u8>)>);

fn ldifde_export(entries: &[LdifEntry]) -> Vec<u8> {
    let mut out = String::new();
    for (dn, attributes) in entries {
        let mut lines = vec![format!("dn: {dn}"), "changetype: add".to_owned()];
        for (name, value) in attributes {
            match std::str::from_utf8(value) {
                Ok(text)
                    if text.is_ascii() && !name.starts_with("user") && name != "objectGUID" =>
                {
                    lines.push(format!("{name}: {text}"))
                }
                _ => lines.push(format!("{name}:: {}", b64(value))),
            }
        }
        for line in lines {
            let mut rest = line.as_str();
            let mut first = true;
            while !rest.is_empty() {
                let width = if first { 78 } else { 77 };
                let (head, tail) = rest.split_at(rest.len().min(width));
                out.push_str(if first { "" } else { " " });
                out.push_str(head);
                out.push_str("\r\n");
                rest = tail;
                first = false;
            }
        }
        out.push_str("\r\n");
    }
    out.into_bytes()
}

async fn preflight(org: &Org) -> PreflightReport {
    let pre = Preflight::read(org.dir.path(), time::OffsetDateTime::now_utc()).unwrap();
    let file = std::fs::File::open(&pre.directory_path).unwrap();
    let export = directory::read_export(std::io::BufReader::new(file)).unwrap();
    run::run(&pre, export, lab::RuntimeChoice::Local)
        .await
        .unwrap()
}

/// User (local part of the mail, or the DN's first RDN value) → its finding IDs.
fn findings_by_user(report: &PreflightReport) -> BTreeMap<String, Vec<&'static str>> {
    report
        .users
        .iter()
        .map(|u| {
            let name = match &u.mail {
                Some(mail) => mail.split('@').next().unwrap().to_owned(),
                None => u.dn.split([',', '=']).nth(1).unwrap().to_ascii_lowercase(),
            };
            (name, u.findings.iter().map(|f| f.id).collect())
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn an_ldapsearch_export_finds_each_seeded_flaw_once() {
    let org = make_org();
    let users = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
    ];
    let export = ldapsearch_export(&org, &users).await;
    let text = String::from_utf8_lossy(&export);
    assert!(
        text.contains("# search result") && text.contains("\n "),
        "ldapsearch's own layout:\n{text}"
    );
    std::fs::write(org.dir.path().join("users.ldif"), &export).unwrap();
    description(&org, "users.ldif");
    // The mobile policies as `Get-MobileDeviceMailboxPolicy | ConvertTo-Json -EnumsAsStrings`
    // writes them (other properties included): the built-in one requires encryption, a second
    // one is made the default and signs with MD5 on hardware keys only.
    std::fs::write(
        org.dir.path().join("mobile-policies.json"),
        r#"[
  {"Name": "Default", "IsDefault": false, "PasswordEnabled": false,
   "RequireEncryptedSMIMEMessages": true, "RequireSignedSMIMEAlgorithm": "SHA1"},
  {"Name": "Phones", "IsDefault": true, "RequireSignedSMIMEAlgorithm": "MD5",
   "AllowSMIMESoftCerts": false, "RequireEncryptionSMIMEAlgorithm": "TripleDES"}
]"#,
    )
    .unwrap();
    let yaml = org.dir.path().join("preflight.yaml");
    let mut text = std::fs::read_to_string(&yaml).unwrap();
    text.push_str("mobile-policies: mobile-policies.json\n");
    std::fs::write(&yaml, text).unwrap();
    let report = preflight(&org).await;

    // Each policy's findings are what the scenarios' phone does under it; erin (no certificate
    // found) and ivan (not synced) are the two users a phone that must encrypt cannot send to.
    let policies: Vec<(&str, bool, Vec<&str>)> = report
        .mobile_policies
        .iter()
        .map(|p| {
            assert!(p.imported, "{p:?} {:?}", report.notes);
            (
                p.name.as_str(),
                p.is_default,
                p.findings.iter().map(|f| f.id).collect(),
            )
        })
        .collect();
    assert_eq!(
        policies,
        vec![
            ("Default", false, vec!["PRE-MOB-003"]),
            ("Phones", true, vec!["PRE-MOB-001", "PRE-MOB-002"]),
        ]
    );
    assert!(
        report.mobile_policies[0].findings[0]
            .detail
            .contains("the 2 user(s)"),
        "{:?}",
        report.mobile_policies[0].findings
    );

    let found = findings_by_user(&report);
    let expected: BTreeMap<String, Vec<&str>> = [
        ("alice", vec![]),
        ("bob", vec![]),
        ("carol", vec![]),
        ("dave", vec!["PRE-SST-003"]),
        ("erin", vec!["PRE-LOOK-001"]),
        ("frank", vec!["PRE-EXP-001"]),
        ("grace", vec!["PRE-OWA-001"]),
        ("heidi", vec!["PRE-CRL-001"]),
        ("ivan", vec!["PRE-SYNC-001"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(found, expected, "{:#?}", report.users);
    let verdict = |name: &str| {
        report
            .users
            .iter()
            .find(|u| u.mail.as_deref() == Some(&format!("{name}@contoso.com")))
            .map(|u| (u.verdict, u.fails_at_step))
            .unwrap()
    };
    assert_eq!(verdict("alice"), (Verdict::Ready, None));
    assert_eq!(verdict("dave"), (Verdict::Failing, Some(2)));
    assert_eq!(verdict("ivan"), (Verdict::Failing, Some(3)));
    assert_eq!(verdict("erin"), (Verdict::Failing, Some(5)));
    assert_eq!(verdict("frank"), (Verdict::Warning, None));
    let grace = report
        .users
        .iter()
        .find(|u| u.dn.starts_with("cn=grace"))
        .unwrap();
    assert!(
        grace.findings[0].detail.starts_with("revoked"),
        "{:?}",
        grace.findings
    );
    assert!(report.sst.imported);
    assert!(report.sst.findings.is_empty(), "{:?}", report.sst.findings);
    assert_eq!(report.totals.other_entries, 1, "the suffix's own entry");
    assert_eq!(
        (
            report.totals.ready,
            report.totals.warning,
            report.totals.failing
        ),
        (3, 2, 4)
    );
    assert!(report.has_failures());
    // The timeline holds frank's month; erin's certificate has expired and is not in it.
    assert_eq!(
        report.timeline.values().sum::<usize>(),
        7,
        "{:?}",
        report.timeline
    );

    let html = runner::preflight::report::html(&report);
    assert!(html.contains("<svg") && html.contains("PRE-SST-003"));
    assert!(html.contains("Mobile device mailbox policies") && html.contains("PRE-MOB-001"));
    let junit = runner::preflight::report::junit(&report).unwrap();
    // Nine users and two policies.
    assert_eq!(junit.matches("<testcase").count(), 11);
    assert_eq!(junit.matches("<failure").count(), 4);
}

#[tokio::test(flavor = "current_thread")]
async fn an_ldifde_export_with_ad_attributes() {
    let org = make_org();
    let user = |cn: &str, attributes: Vec<(&str, Vec<u8>)>| {
        let mut all = vec![
            ("objectClass".to_owned(), b"top".to_vec()),
            ("objectClass".to_owned(), b"user".to_vec()),
            ("cn".to_owned(), cn.as_bytes().to_vec()),
        ];
        all.extend(attributes.into_iter().map(|(n, v)| (n.to_owned(), v)));
        (format!("CN={cn},OU=Staff,DC=contoso,DC=com"), all)
    };
    let guid = |n: u8| vec![n; 16];
    let entries = vec![
        (
            "OU=Staff,DC=contoso,DC=com".to_owned(),
            vec![("objectClass".to_owned(), b"organizationalUnit".to_vec())],
        ),
        user(
            "Oscar",
            vec![
                ("objectGUID", guid(1)),
                ("proxyAddresses", b"smtp:oscar.old@contoso.com".to_vec()),
                ("proxyAddresses", b"SMTP:oscar@contoso.com".to_vec()),
                ("userPrincipalName", b"oscar@contoso.com".to_vec()),
                ("userCertificate", org.certs["oscar"][0].clone()),
            ],
        ),
        user(
            "Mallory",
            vec![
                ("objectGUID", guid(2)),
                ("mail", b"mallory@contoso.com".to_vec()),
                ("userCertificate", b"not a certificate".to_vec()),
                ("userCertificate", org.certs["mallory"][0].clone()),
            ],
        ),
        // Her certificate names peggy.old@contoso.com, a secondary proxy address of hers.
        user(
            "Peggy",
            vec![
                ("objectGUID", guid(4)),
                ("mail", b"peggy@contoso.com".to_vec()),
                ("proxyAddresses", b"SMTP:peggy@contoso.com".to_vec()),
                ("proxyAddresses", b"smtp:peggy.old@contoso.com".to_vec()),
                ("userCertificate", org.certs["peggy.old"][0].clone()),
            ],
        ),
        user(
            "Judy",
            vec![
                ("objectGUID", guid(3)),
                ("userPrincipalName", b"judy@contoso.com".to_vec()),
                ("userCertificate", org.certs["judy"][0].clone()),
            ],
        ),
    ];
    let export = ldifde_export(&entries);
    assert!(export.windows(3).any(|w| w == b"\r\n "), "folded");
    std::fs::write(org.dir.path().join("users.ldf"), &export).unwrap();
    description(&org, "users.ldf");
    let report = preflight(&org).await;
    let found = findings_by_user(&report);
    let expected: BTreeMap<String, Vec<&str>> = [
        ("judy", vec!["PRE-DIR-001"]),
        ("mallory", vec!["PRE-DIR-002"]),
        ("oscar", vec![]),
        ("peggy", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(found, expected, "{:#?}", report.users);
    let mallory = report
        .users
        .iter()
        .find(|u| u.dn.starts_with("CN=Mallory"))
        .unwrap();
    assert_eq!(
        mallory.verdict,
        Verdict::Warning,
        "its other certificate is used"
    );
    assert!(
        mallory.findings[0].detail.starts_with("line "),
        "{:?}",
        mallory.findings
    );
    let judy = report
        .users
        .iter()
        .find(|u| u.dn.starts_with("CN=Judy"))
        .unwrap();
    assert!(
        judy.findings[0].detail.contains("CN=Judy,OU=Staff"),
        "{:?}",
        judy.findings
    );
    assert_eq!(report.totals.other_entries, 1);

    // OWAUseSecondaryProxiesWhenFindingCertificates $false: Outlook on the web holds Peggy's
    // certificate to her primary SMTP address only, and she cannot be encrypted to.
    std::fs::write(
        org.dir.path().join("smime-config.json"),
        r#"{"OWAUseSecondaryProxiesWhenFindingCertificates": false}"#,
    )
    .unwrap();
    let yaml = org.dir.path().join("preflight.yaml");
    let mut text = std::fs::read_to_string(&yaml).unwrap();
    text.push_str("smime-config: smime-config.json\n");
    std::fs::write(&yaml, text).unwrap();
    let report = preflight(&org).await;
    let found = findings_by_user(&report);
    assert_eq!(found["peggy"], ["PRE-OWA-003"], "{:#?}", report.users);
    assert_eq!(found["oscar"], Vec::<&str>::new());
    let peggy = report
        .users
        .iter()
        .find(|u| u.dn.starts_with("CN=Peggy"))
        .unwrap();
    assert_eq!(peggy.verdict, Verdict::Failing);
    assert!(
        peggy.findings[0].detail.contains("peggy.old@contoso.com"),
        "{:?}",
        peggy.findings
    );
}

/// `smime-lab preflight` on bad input: exit 2, the message names the file, line and DN; no lab.
#[test]
fn bad_input_is_refused_naming_the_line_and_dn() {
    let org = make_org_light();
    let run = |ldif: &[u8]| {
        std::fs::write(org.path().join("users.ldif"), ldif).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_smime-lab"))
            .args(["preflight", "--runtime", "local", "--out"])
            .arg(org.path().join("out"))
            .arg(org.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) =
        run(b"dn: cn=alice,dc=contoso,dc=com\nmail: alice@contoso.com\nuserCertificate:: MIIB!!\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("users.ldif:3:") && err.contains("cn=alice,dc=contoso,dc=com"),
        "{err}"
    );
    let (code, err) = run(b"dn: cn=bob,dc=contoso,dc=com\nmail bob@contoso.com\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(":2:") && err.contains("cn=bob"), "{err}");
    // An entry larger than the reader's cap (a runaway value): named, not read into memory.
    let mut huge = b"dn: cn=carol,dc=contoso,dc=com\nuserCertificate:: ".to_vec();
    huge.extend(std::iter::repeat_n(b'A', 2 << 20));
    huge.push(b'\n');
    let (code, err) = run(&huge);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(":2:") && err.contains("cn=carol") && err.contains("longer than"),
        "{err}"
    );
    // A description with a typo: miette's drawing names the file and line.
    std::fs::write(
        org.path().join("preflight.yaml"),
        "sst: collection.pem\ndirectory: users.ldif\nhorizn: 90d\n",
    )
    .unwrap();
    let (code, err) = run(b"dn: cn=a,dc=c\nmail: a@c\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("preflight.yaml") && err.contains("horizn"),
        "{err}"
    );
}

/// A directory with a collection and a description only (no lab is reached).
fn make_org_light() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::self_signed(
        dir.path(),
        "root",
        &Profile::new("/CN=Root", Key::Ec("P-256".into())).extensions(ROOT_EXTENSIONS),
    );
    std::fs::copy(&root.issued.cert, dir.path().join("collection.pem")).unwrap();
    std::fs::write(
        dir.path().join("preflight.yaml"),
        "sst: collection.pem\ndirectory: users.ldif\n",
    )
    .unwrap();
    dir
}
