//! `smime-lab pki build`: the committed fixtures are what the command builds, files and modes are
//! right, and failures leave nothing half-written.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use test_support::{fixture, repo_root};

const BIN: &str = env!("CARGO_BIN_EXE_smime-lab");

fn smime_lab(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("smime-lab runs")
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).unwrap(),
            )
        })
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn rebuilding_the_default_lab_gives_the_committed_fixtures_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("default");
    let output = smime_lab(&[
        "pki",
        "build",
        "fixtures/pki/default.yaml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("8 certificates and 2 CRLs"), "{stdout}");

    let built = files(&out);
    let committed = files(&fixture("pki/default"));
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&built),
        names(&committed),
        "fixtures/pki/default is stale: run `cargo xtask fixtures`"
    );
    for (name, bytes) in &built {
        assert!(
            committed.get(name) == Some(bytes),
            "fixtures/pki/default/{name} differs from a rebuild: run `cargo xtask fixtures`"
        );
    }
    // 8 certificates with their keys, 2 CRLs, and two PKCS#12 files for each of the 6 user certificates.
    assert_eq!(built.len(), 30);

    // Each PKCS#12 file opens with the default password and holds that user's key, certificate
    // and issuing CA (not the root), in both profiles.
    for user in ["alice", "bob-sign", "bob-encrypt", "carol", "dave", "eve"] {
        let certificate =
            smime::certificate::parse_certificates(&built[&format!("{user}.crt.pem")])
                .unwrap()
                .remove(0);
        let key =
            smime::key::PrivateKey::from_pem_or_der(&built[&format!("{user}.key.pem")]).unwrap();
        for file in [format!("{user}.p12"), format!("{user}.legacy.p12")] {
            let contents = smime::pkcs12::read_pkcs12(&built[&file], "smime-lab")
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            let p12_key = smime::key::PrivateKey::from_pkcs8_der(
                contents.private_key_pkcs8_der.as_deref().expect("a key"),
            )
            .unwrap();
            assert!(
                p12_key.matches(certificate.tbs_certificate().subject_public_key_info()),
                "{file}"
            );
            assert_eq!(
                p12_key.to_pkcs8_der().unwrap(),
                key.to_pkcs8_der().unwrap(),
                "{file}: the same key as {user}.key.pem"
            );
            assert_eq!(contents.certificates.len(), 2, "{file}: user + issuing CA");
            assert!(
                smime::pkcs12::read_pkcs12(&built[&file], "wrong").is_err(),
                "{file}"
            );
        }
    }

    // Nothing but the output itself is left beside it.
    let beside: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["default"]);
}

#[cfg(unix)]
#[test]
fn private_keys_are_written_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("lab");
    let output = smime_lab(&[
        "pki",
        "build",
        "fixtures/pki/default.yaml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut keys = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        if name.ends_with(".key.pem") {
            keys += 1;
            assert_eq!(mode, 0o600, "{name} has mode {mode:o}");
        } else {
            // Public files follow the umask; they only have to be readable.
            assert!(mode & 0o400 != 0, "{name} has mode {mode:o}");
        }
    }
    assert_eq!(keys, 8);
    // No key material reaches the terminal.
    assert!(!String::from_utf8_lossy(&output.stdout).contains("PRIVATE KEY"));
}

#[test]
fn an_earlier_output_is_replaced_but_a_foreign_directory_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("lab");
    let out_arg = out.to_str().unwrap();
    let args = [
        "pki",
        "build",
        "fixtures/pki/default.yaml",
        "--out",
        out_arg,
    ];
    assert!(smime_lab(&args).status.success());

    // A leftover from an earlier description disappears on rebuild.
    std::fs::write(out.join("gone.crt.pem"), "old").unwrap();
    let output = smime_lab(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!out.join("gone.crt.pem").exists());
    assert_eq!(files(&out).len(), 30);

    // A directory holding anything else is refused, untouched, with exit code 2.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let output = smime_lab(&args);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("refusing to replace"), "{message}");
    assert!(message.contains("notes.txt"), "{message}");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(files(&out).len(), 31, "30 outputs + notes.txt, untouched");
}

#[test]
fn bad_descriptions_exit_2_naming_the_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("lab");
    let yaml = tmp.path().join("bad.yaml");
    std::fs::write(
        &yaml,
        "seed: x\nnow: 2026-01-01T00:00:00Z\ndomain: contoso.com\nroot: { subject: \"CN=R\", key: rsa-2048 }\nusers:\n  bob: { key: rsa-2048, issuer: ghost }\n",
    )
    .unwrap();
    let output = smime_lab(&[
        "pki",
        "build",
        yaml.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.starts_with("error: "), "{message}");
    assert!(
        message.contains("bad.yaml: line 6, column 33: users.bob.issuer: no CA has the id `ghost`"),
        "{message}"
    );
    assert!(!out.exists(), "output written despite the error");

    std::fs::write(&yaml, "seed: x\nnow: 2026-01-01T00:00:00Z\ndomain: contoso.com\nroot: { subject: \"CN=R\", key: rsa-2048, colour: red }\n").unwrap();
    let output = smime_lab(&[
        "pki",
        "build",
        yaml.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("unknown field `colour`"), "{message}");
    assert!(message.contains("bad.yaml:4:"), "{message}");

    let output = smime_lab(&[
        "pki",
        "build",
        "no/such.yaml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read no/such.yaml"),
        "{}",
        stderr(&output)
    );
    let beside: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(beside.len(), 1, "only bad.yaml may remain");
}
