//! `smime-lab sst write` and `smime-lab sst read`, run as a user runs them.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

use test_support::{fixture, repo_root, vector, vector_path};

const BIN: &str = env!("CARGO_BIN_EXE_smime-lab");

fn tiny() -> PathBuf {
    fixture("sst/tiny-124.der")
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run smime-lab")
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn write_tiny_certificate_gives_the_156_byte_golden_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tiny.sst");
    let output = run(&[os("sst"), os("write"), os("-o"), os(&out), os(&tiny())]);
    assert!(output.status.success(), "{}", stderr(&output));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes.len(), 156);
    let cert = std::fs::read(tiny()).unwrap();
    let expected = [
        &b"\x00\x00\x00\x00CERT\x20\x00\x00\x00\x01\x00\x00\x00\x7c\x00\x00\x00"[..],
        &cert,
        &[0u8; 12],
    ]
    .concat();
    assert_eq!(bytes, expected);
    assert!(
        stdout(&output).contains("1 certificate, 156 bytes"),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains("single DER certificate"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn write_from_pem_bundle_and_der_then_read_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    // A PEM file holding two certificates, plus a DER one and a repeat.
    let bundle = dir.path().join("cas.pem");
    let rsa = vector("rfc9216/ca.rsa.crt");
    let ed = vector("rfc9216/ca.25519.crt");
    std::fs::write(&bundle, [rsa.clone(), ed].concat()).unwrap();
    let out = dir.path().join("issuing-ca.sst");

    let output = run(&[
        os("sst"),
        os("write"),
        os("--output"),
        os(&out),
        os(&bundle),
        os(&tiny()),
        os(&vector_path("rfc9216/ca.rsa.crt")),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("3 certificates"),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains("already in the store"),
        "{}",
        stderr(&output)
    );

    let output = run(&[os("sst"), os("read"), os(&out)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("Microsoft serialized certificate store (SST), 3 certificates"),
        "{text}"
    );
    assert!(text.contains("C4C7D3DF10C5C9F8D2341D8C69B730D6EBBE9EDD  2052-09-27T06:54:18Z  CN=Sample LAMPS RSA Certification Authority,OU=LAMPS WG,O=IETF"), "{text}");
    assert!(
        text.contains("BF9FE73DCB3681D2BE3778B8DE0838EA7985FA6B  2035-01-01T00:00:00Z  CN=a"),
        "{text}"
    );

    let output = run(&[os("sst"), os("read"), os(&out), os("--json")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["format"], "sst");
    let certs = json["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 3);
    assert_eq!(
        certs[0]["thumbprint"],
        "C4C7D3DF10C5C9F8D2341D8C69B730D6EBBE9EDD"
    );
    assert_eq!(certs[0]["not_after"], "2052-09-27T06:54:18Z");
    assert_eq!(
        certs[1]["subject"],
        "CN=Sample LAMPS Ed25519 Certification Authority,OU=LAMPS WG,O=IETF"
    );
    assert_eq!(certs[2]["subject"], "CN=a");
    assert_eq!(json["crl_count"], 0);
    assert_eq!(json["property_ids"], serde_json::json!([]));
}

#[test]
fn read_reports_properties_crl_and_ctl() {
    let seed = repo_root().join("harness/smime/fuzz/corpus/sst_read/valid-props-crl.sst");
    let output = run(&[os("sst"), os("read"), os(&seed)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("note: 2 property entries skipped: 0x03 (SHA-1 hash), 0x0B (friendly name)"),
        "{text}"
    );
    assert!(text.contains("note: 1 CRL entry at byte offset"), "{text}");
    assert!(text.contains("note: 1 CTL entry at byte offset"), "{text}");

    let output = run(&[os("sst"), os("read"), os("--json"), os(&seed)]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["property_ids"], serde_json::json!([3, 11]));
    assert_eq!(json["crl_count"], 1);
    assert_eq!(json["ctl_count"], 1);
}

#[test]
fn read_names_format_of_a_pkcs7() {
    let seed = repo_root().join("harness/smime/fuzz/corpus/sst_read/valid-p7b-one.pem");
    let output = run(&[os("sst"), os("read"), os(&seed)]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("PKCS#7 certificates (.p7b), PEM-armored, 1 certificate"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn malformed_store_exits_2_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("cut.sst");
    let good = {
        let out = dir.path().join("good.sst");
        let o = run(&[os("sst"), os("write"), os("-o"), os(&out), os(&tiny())]);
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read(out).unwrap()
    };
    std::fs::write(&bad, &good[..144]).unwrap();
    let output = run(&[os("sst"), os("read"), os(&bad)]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("cut.sst"), "{err}");
    assert!(err.contains("missing end marker"), "{err}");
    assert!(err.contains("byte offset 144"), "{err}");
}

#[test]
fn failed_write_leaves_existing_output_untouched_and_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("store.sst");
    std::fs::write(&out, b"previous contents").unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(
        &junk,
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();

    let output = run(&[
        os("sst"),
        os("write"),
        os("-o"),
        os(&out),
        os(&tiny()),
        os(&junk),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("junk.pem"), "{err}");
    assert!(err.contains("no certificate in this PEM file"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous contents");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn missing_input_and_unwritable_output_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&[
        os("sst"),
        os("write"),
        os("-o"),
        os(&dir.path().join("x.sst")),
        os(&dir.path().join("nope.pem")),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("nope.pem"), "{}", stderr(&output));

    let output = run(&[
        os("sst"),
        os("write"),
        os("-o"),
        os(&dir.path().join("no-such-dir/x.sst")),
        os(&tiny()),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no-such-dir"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn usage_errors_exit_2() {
    let output = run(&[os("sst"), os("write"), os("-o"), os("x.sst")]);
    assert_eq!(output.status.code(), Some(2));
    let output = run(&[os("sst"), os("read")]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn an_empty_store_as_a_certificate_input_is_refused_not_a_panic() {
    // An SST with no certificate is a valid file, but no certificate to sign, encrypt or check
    // with: every command that takes certificates must say so (exit 2), never panic.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.sst");
    std::fs::write(&empty, smime::sst::write_sst(&[] as &[Vec<u8>]).unwrap()).unwrap();
    let empty = empty.to_str().unwrap();
    let eml = dir.path().join("m.eml");
    std::fs::write(&eml, "From: a@b.c\r\n\r\nx\r\n").unwrap();
    let eml = eml.to_str().unwrap();
    for args in [
        vec!["cert", "check", empty],
        vec!["encrypt", "--to", empty, eml],
        vec!["sign", "--cert", empty, "--key", empty, eml],
        vec!["verify", "--anchors", empty, "--no-crl-fetch", eml],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_smime-lab"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("holds no certificate"),
            "{args:?}: {stderr}"
        );
    }
}
