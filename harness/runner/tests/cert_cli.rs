//! `smime-lab cert check` end to end, on certificates made by the `openssl` command-line tool:
//! exit codes, the finding ids, JSON output, and that key material never reaches the output.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use test_support::pki::{ALICE, TestPki};

fn smime_lab(args: &[&str]) -> Output {
    let pki = TestPki::get();
    Command::new(env!("CARGO_BIN_EXE_smime-lab"))
        .args(args)
        .current_dir(pki.dir())
        .env_remove("NO_COLOR")
        .output()
        .expect("running smime-lab")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The ids in a `--json` report.
fn json_ids(out: &Output) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&out.stdout)));
    report["findings"]
        .as_array()
        .expect("a findings array")
        .iter()
        .map(|f| f["id"].as_str().expect("an id").to_owned())
        .collect()
}

#[test]
fn a_good_bundle_passes_with_exit_0() {
    let out = smime_lab(&[
        "cert",
        "check",
        "bundle.pem",
        "--key",
        "user.key",
        "--mailbox",
        ALICE,
    ]);
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("bundle.pem: alice@contoso.com"), "{stdout}");
    assert!(
        stdout.contains("0 errors, 0 warnings, 0 information: ok"),
        "{stdout}"
    );
    assert!(!stdout.contains('\x1b'), "colour on a pipe:\n{stdout}");
}

#[test]
fn chain_files_and_der_input_work_the_same() {
    let der = test_support::pki::openssl(
        TestPki::get().dir(),
        &["x509", "-in", "good.pem", "-outform", "DER"],
    )
    .stdout;
    let dir = tempfile::tempdir().unwrap();
    let der_path = dir.path().join("good.cer");
    std::fs::write(&der_path, der).unwrap();
    let out = smime_lab(&[
        "cert",
        "check",
        der_path.to_str().unwrap(),
        "--chain",
        "inter.pem",
        "--chain",
        "root.pem",
        "--key",
        "user.key",
        "--json",
    ]);
    assert_exit(&out, 0);
    assert_eq!(json_ids(&out), Vec::<String>::new());
}

#[test]
fn each_mistake_gives_its_id_and_exit_code() {
    // (certificate, extra arguments, the ids expected, exit status)
    let cases: &[(&str, &[&str], &[&str], i32)] = &[
        ("good.pem", &["--key", "wrong.key"], &["PKI-KEY-001"], 1),
        ("good.pem", &[], &["PKI-KEY-002"], 0),
        ("no_ski.pem", &["--key", "user.key"], &["PKI-SKI-001"], 1),
        ("wrong_eku.pem", &["--key", "user.key"], &["PKI-EKU-001"], 1),
        ("no_eku.pem", &["--key", "user.key"], &["PKI-EKU-002"], 0),
        ("wrong_ku.pem", &["--key", "user.key"], &["PKI-KU-001"], 1),
        ("san_bob.pem", &["--key", "user.key"], &["PKI-SAN-002"], 1),
        ("no_san.pem", &["--key", "user.key"], &["PKI-SAN-001"], 1),
        ("expiring.pem", &["--key", "user.key"], &["PKI-VAL-003"], 0),
        (
            "good.pem",
            &["--key", "user.key", "--now", "2099-01-01T00:00:00Z"],
            &["PKI-CHN-007", "PKI-CHN-007", "PKI-VAL-001"],
            1,
        ),
        ("sha1.pem", &["--key", "user.key"], &["PKI-ALG-004"], 1),
        (
            "rsa1024.pem",
            &["--key", "rsa1024.key"],
            &["PKI-ALG-001"],
            1,
        ),
        ("from_root.pem", &["--key", "user.key"], &["PKI-CHN-004"], 0),
        ("tampered.pem", &["--key", "user.key"], &["PKI-CHN-003"], 1),
        ("ldap_crl.pem", &["--key", "user.key"], &["PKI-CRL-002"], 0),
        ("no_crl.pem", &["--key", "user.key"], &["PKI-CRL-001"], 1),
    ];
    for (cert, extra, expected, code) in cases {
        let mut args = vec!["cert", "check", cert, "--chain", "chain.pem"];
        args.extend_from_slice(&["--mailbox", ALICE, "--json"]);
        args.extend_from_slice(extra);
        let out = smime_lab(&args);
        assert_exit(&out, *code);
        let mut ids = json_ids(&out);
        ids.sort();
        assert_eq!(ids, *expected, "{cert} {extra:?} (ids sorted)");
    }
}

#[test]
fn a_missing_intermediate_and_the_ecdsa_chains() {
    let out = smime_lab(&[
        "cert", "check", "good.pem", "--chain", "root.pem", "--key", "user.key", "--json",
    ]);
    assert_exit(&out, 1);
    assert_eq!(json_ids(&out), ["PKI-CHN-001"]);
    for bits in ["256", "384"] {
        let (user, chain, key) = (
            format!("ec{bits}_user.pem"),
            format!("ec{bits}_chain.pem"),
            format!("ec{bits}_user.key"),
        );
        let out = smime_lab(&[
            "cert",
            "check",
            &user,
            "--chain",
            &chain,
            "--key",
            &key,
            "--mailbox",
            ALICE,
        ]);
        assert_exit(&out, 0);
        assert!(text(&out.stdout).contains(&format!("ECDSA P-{bits}")));
    }
}

#[test]
fn human_output_groups_findings_with_remedies_and_a_summary() {
    let out = smime_lab(&["cert", "check", "no_ski.pem", "--chain", "chain.pem"]);
    assert_exit(&out, 1);
    let stdout = text(&out.stdout);
    let errors = stdout.find("\nerrors:\n").expect("an errors group");
    let info = stdout
        .find("\ninformation:\n")
        .expect("an information group");
    assert!(errors < info, "{stdout}");
    assert!(stdout.contains(
        "  PKI-SKI-001 error: certificate for alice@contoso.com has no Subject Key Identifier \
         (required by \"Configure S/MIME in Exchange Online\", step 1)\n      fix: reissue it"
    ));
    assert!(
        stdout.ends_with(
            "1 error, 0 warnings, 1 information: not fit for S/MIME in Exchange Online\n"
        ),
        "{stdout}"
    );
}

#[test]
fn a_ca_certificate_is_reported_not_crashed_on() {
    let out = smime_lab(&[
        "cert",
        "check",
        "inter.pem",
        "--chain",
        "root.pem",
        "--json",
    ]);
    assert_exit(&out, 0);
    assert!(json_ids(&out).contains(&"PKI-PRF-001".to_owned()));
}

#[test]
fn unreadable_input_is_exit_2_and_names_the_file() {
    let out = smime_lab(&["cert", "check", "does-not-exist.pem"]);
    assert_exit(&out, 2);
    assert!(text(&out.stderr).contains("cannot read does-not-exist.pem"));

    // A configuration file is not a certificate: the message says which file and what is accepted.
    let out = smime_lab(&["cert", "check", "root.cnf"]);
    assert_exit(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("root.cnf: "), "{stderr}");
    assert!(
        stderr.contains("accepted: PEM (-----BEGIN CERTIFICATE-----") && stderr.contains(".sst"),
        "{stderr}"
    );

    let out = smime_lab(&["cert", "check", "good.pem", "--chain", "root.cnf"]);
    assert_exit(&out, 2);
    assert!(text(&out.stderr).contains("root.cnf: "));

    let out = smime_lab(&["cert", "check", "good.pem", "--key", "good.pem"]);
    assert_exit(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("good.pem: not a private key"), "{stderr}");

    let out = smime_lab(&["cert", "check", "good.pem", "--now", "yesterday"]);
    assert_exit(&out, 2);
    assert!(text(&out.stderr).contains("RFC 3339"));
}

#[test]
fn key_material_never_appears_in_the_output() {
    let pki = TestPki::get();
    let mut secrets: Vec<String> = Vec::new();
    for key in ["user.key", "wrong.key", "ec256_user.key"] {
        let pem = String::from_utf8(pki.read(key)).unwrap();
        secrets.extend(
            pem.lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                .map(str::to_owned),
        );
    }
    assert!(secrets.len() > 20);
    let runs: &[&[&str]] = &[
        &[
            "cert",
            "check",
            "good.pem",
            "--key",
            "user.key",
            "--chain",
            "chain.pem",
        ],
        &["cert", "check", "good.pem", "--key", "wrong.key", "--json"],
        &["cert", "check", "good.pem", "--key", "ec256_user.key"],
        &[
            "cert",
            "check",
            "good.pem",
            "--key",
            "ec256_user.key",
            "--json",
        ],
        // A key given where the certificate belongs: an error that must not echo the key.
        &["cert", "check", "user.key"],
        &["cert", "check", "ec256_user.key", "--json"],
    ];
    for args in runs {
        let out = smime_lab(args);
        let all = text(&out.stdout) + &text(&out.stderr);
        for secret in &secrets {
            assert!(
                !all.contains(secret.as_str()),
                "{args:?} printed key material"
            );
        }
        assert!(!all.contains("PRIVATE KEY-----"), "{args:?}");
    }
}

/// The committed lab PKI: its PKCS#12 files and CA certificates exercise the other input formats.
fn lab_fixture(name: &str) -> String {
    test_support::fixture(&format!("pki/default/{name}"))
        .to_str()
        .expect("UTF-8 path")
        .to_owned()
}

#[test]
fn a_pkcs12_identity_with_an_sst_chain_passes() {
    // The virtual certificate collection an admin imports is an SST: the same file must serve as
    // the chain here. Written with our writer, read back through the CLI's input layer.
    let dir = tempfile::tempdir().unwrap();
    let sst = dir.path().join("collection.sst");
    let cas: Vec<Vec<u8>> = ["root.crt.pem", "issuing.crt.pem"]
        .iter()
        .map(|f| {
            let pem = std::fs::read(lab_fixture(f)).unwrap();
            let cert = smime::certificate::parse_certificates(&pem)
                .unwrap()
                .remove(0);
            der::Encode::to_der(&cert).unwrap()
        })
        .collect();
    std::fs::write(&sst, smime::sst::write_sst(&cas).unwrap()).unwrap();

    let p12 = lab_fixture("alice.p12");
    let args = [
        "cert",
        "check",
        &p12,
        "--password",
        "smime-lab",
        "--chain",
        sst.to_str().unwrap(),
        "--mailbox",
        "alice@contoso.com",
        "--now",
        "2026-06-01T00:00:00Z",
        "--json",
    ];
    let out = smime_lab(&args);
    assert_exit(&out, 0);
    let ids = json_ids(&out);
    // The key came from the PKCS#12 file, and the chain from the SST, so neither is "not supplied".
    assert!(!ids.iter().any(|id| id == "PKI-KEY-002"), "{ids:?}");
    assert!(!ids.iter().any(|id| id == "PKI-CHN-002"), "{ids:?}");

    // The wrong password is unreadable input (exit 2), and says so.
    let mut wrong = args;
    wrong[4] = "not-the-password";
    let out = smime_lab(&wrong);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("password"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_pkcs12_of_a_revoked_user_with_an_expired_clock_fails_with_exit_1() {
    let p12 = lab_fixture("eve.legacy.p12");
    let chain = lab_fixture("issuing.crt.pem");
    let root = lab_fixture("root.crt.pem");
    let out = smime_lab(&[
        "cert",
        "check",
        &p12,
        "--password",
        "smime-lab",
        "--chain",
        &chain,
        "--chain",
        &root,
        "--now",
        "2031-01-01T00:00:00Z",
        "--json",
    ]);
    assert_exit(&out, 1);
    assert!(json_ids(&out).iter().any(|id| id == "PKI-VAL-001"));
}
