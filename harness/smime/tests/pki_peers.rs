//! The lab PKI against tools nobody here wrote: pkilint (S/MIME Baseline Requirements, RFC 5280)
//! and OpenSSL (chain building, purposes, CRLs). A missing tool fails the test with what to install.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use smime::pki::{self, BuiltPki, Role};
use test_support::{openssl_path, pkilint, run_any};

const DEFAULT_LAB: &str = include_str!("../../../fixtures/pki/default.yaml");

/// The default lab's clock is 2026-01-01T00:00:00Z; check one day later, so that the tests do not
/// start failing when the lab's one-year user certificates expire in real time.
const AT_TIME: &str = "1767312000";

fn build(yaml: &str) -> BuiltPki {
    let description = pki::parse_description(yaml, "test.yaml").expect("description parses");
    pki::build(&description).expect("lab builds")
}

fn run(program: &Path, args: &[&str]) -> Output {
    run_any(Command::new(program).args(args))
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Writes every certificate as `<id>.pem` and every CRL as `<ca>.crl` (DER).
fn write_out(pki: &BuiltPki, dir: &Path) {
    for entity in &pki.entities {
        std::fs::write(
            dir.join(format!("{}.pem", entity.id)),
            entity.certificate_pem().unwrap(),
        )
        .unwrap();
    }
    for crl in &pki.crls {
        std::fs::write(dir.join(format!("{}.crl", crl.ca)), &crl.der).unwrap();
    }
}

fn path(dir: &Path, file: &str) -> String {
    dir.join(file).to_string_lossy().into_owned()
}

#[test]
fn default_lab_user_certificates_pass_pkilint_mailbox_strict() {
    let linter = pkilint("lint_cabf_smime_cert");
    let pki = build(DEFAULT_LAB);
    let dir = tempfile::tempdir().unwrap();
    write_out(&pki, dir.path());
    let users: Vec<_> = pki.entities.iter().filter(|e| !e.role.is_ca()).collect();
    assert_eq!(users.len(), 6);
    for user in users {
        let file = path(dir.path(), &format!("{}.pem", user.id));
        let output = run(
            &linter,
            &["lint", "-t", "MAILBOX-STRICT", "-s", "WARNING", &file],
        );
        assert!(
            output.status.success() && output.stdout.trim_ascii().is_empty(),
            "pkilint MAILBOX-STRICT findings for {}:\n{}",
            user.id,
            text(&output)
        );
    }
}

#[test]
fn pkilint_reports_the_flaws_it_knows() {
    let linter = pkilint("lint_cabf_smime_cert");
    let pki = build(
        "seed: flawed\nnow: 2026-01-01T00:00:00Z\ndomain: contoso.com\n\
         root: { subject: \"CN=Root,O=Lab\", key: ecdsa-p256 }\n\
         users:\n  weak: { key: rsa-1024 }\n  client: { key: rsa-2048, flaws: [no-email-protection-eku, sha1-signature] }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    write_out(&pki, dir.path());
    for (id, finding) in [
        ("weak", "cabf.rsa_modulus_invalid_length"),
        ("client", "cabf.smime.emailprotection_eku_missing"),
        (
            "client",
            "cabf.smime.prohibited_signature_algorithm_encoding",
        ),
    ] {
        let file = path(dir.path(), &format!("{id}.pem"));
        let output = run(
            &linter,
            &["lint", "-t", "MAILBOX-STRICT", "-s", "WARNING", &file],
        );
        assert!(!output.status.success(), "{id} passed pkilint");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(finding),
            "{id}: expected {finding}:\n{}",
            text(&output)
        );
    }
}

#[test]
fn default_lab_cas_chains_and_crls_pass_pkilint_rfc5280() {
    let pki = build(DEFAULT_LAB);
    let dir = tempfile::tempdir().unwrap();
    write_out(&pki, dir.path());
    let cert_linter = pkilint("lint_pkix_cert");
    for ca in ["root", "issuing"] {
        let output = run(
            &cert_linter,
            &[
                "lint",
                "-s",
                "WARNING",
                &path(dir.path(), &format!("{ca}.pem")),
            ],
        );
        assert!(
            output.status.success() && output.stdout.trim_ascii().is_empty(),
            "pkilint RFC 5280 findings for {ca}:\n{}",
            text(&output)
        );
    }
    let chain_linter = pkilint("lint_pkix_signer_signee_cert_chain");
    for entity in pki.entities.iter().filter(|e| e.role != Role::Root) {
        let output = run(
            &chain_linter,
            &[
                "lint",
                "-s",
                "WARNING",
                &path(dir.path(), &format!("{}.pem", entity.issuer)),
                &path(dir.path(), &format!("{}.pem", entity.id)),
            ],
        );
        assert!(
            output.status.success() && output.stdout.trim_ascii().is_empty(),
            "pkilint issuer/subject findings for {} -> {}:\n{}",
            entity.issuer,
            entity.id,
            text(&output)
        );
    }
    let crl_linter = pkilint("lint_crl");
    for crl in &pki.crls {
        let output = run(
            &crl_linter,
            &[
                "lint",
                "-t",
                "CRL",
                "-p",
                "BR",
                "-s",
                "WARNING",
                &path(dir.path(), &format!("{}.crl", crl.ca)),
            ],
        );
        assert!(
            output.status.success() && output.stdout.trim_ascii().is_empty(),
            "pkilint CRL findings for {}:\n{}",
            crl.ca,
            text(&output)
        );
    }
}

fn verify(openssl: &Path, dir: &Path, purpose: &str, id: &str, extra: &[&str]) -> Output {
    let (root, issuing, file) = (
        path(dir, "root.pem"),
        path(dir, "issuing.pem"),
        path(dir, &format!("{id}.pem")),
    );
    let mut args = vec![
        "verify",
        "-attime",
        AT_TIME,
        "-CAfile",
        &root,
        "-untrusted",
        &issuing,
        "-purpose",
        purpose,
    ];
    args.extend_from_slice(extra);
    args.push(&file);
    run(openssl, &args)
}

#[test]
fn openssl_verifies_every_chain_for_its_purpose() {
    let openssl = openssl_path();
    let pki = build(DEFAULT_LAB);
    let dir = tempfile::tempdir().unwrap();
    write_out(&pki, dir.path());
    for user in pki.entities.iter().filter(|e| !e.role.is_ca()) {
        let key_is_rsa = user.key.spec().is_some_and(|s| s.is_rsa());
        let can_sign = matches!(user.role, Role::DualUse | Role::Signing);
        let output = verify(&openssl, dir.path(), "smimesign", &user.id, &[]);
        assert_eq!(
            output.status.success(),
            can_sign,
            "openssl -purpose smimesign for {}:\n{}",
            user.id,
            text(&output)
        );
        // OpenSSL's smimeencrypt purpose demands keyEncipherment, which an EC key (keyAgreement,
        // RFC 5753) never has: for EC the chain is checked with purpose `any` instead.
        let purpose = if key_is_rsa { "smimeencrypt" } else { "any" };
        let can_encrypt = matches!(user.role, Role::DualUse | Role::Encryption);
        if can_encrypt {
            let output = verify(&openssl, dir.path(), purpose, &user.id, &[]);
            assert!(
                output.status.success(),
                "openssl -purpose {purpose} for {}:\n{}",
                user.id,
                text(&output)
            );
        }
    }
    // The check can fail: outside the validity period, and a signing-only certificate refused
    // for encryption.
    let output = run(
        &openssl,
        &[
            "verify",
            "-attime",
            "1893456000", // 2030-01-01, after the users' certificates expired
            "-CAfile",
            &path(dir.path(), "root.pem"),
            "-untrusted",
            &path(dir.path(), "issuing.pem"),
            &path(dir.path(), "alice.pem"),
        ],
    );
    assert!(!output.status.success(), "expired alice accepted");
    assert!(
        !verify(&openssl, dir.path(), "smimeencrypt", "bob-sign", &[])
            .status
            .success()
    );
}

#[test]
fn openssl_reads_every_crl_and_refuses_the_revoked_user() {
    let openssl = openssl_path();
    let pki = build(DEFAULT_LAB);
    let dir = tempfile::tempdir().unwrap();
    write_out(&pki, dir.path());
    let mut pem_crls = String::new();
    for crl in &pki.crls {
        let output = run(
            &openssl,
            &[
                "crl",
                "-inform",
                "DER",
                "-in",
                &path(dir.path(), &format!("{}.crl", crl.ca)),
                "-text",
            ],
        );
        assert!(output.status.success(), "{}: {}", crl.ca, text(&output));
        let shown = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            shown.contains("Last Update: Jan  1 00:00:00 2026 GMT"),
            "{shown}"
        );
        assert!(
            shown.contains("Next Update: Jan  8 00:00:00 2026 GMT"),
            "{shown}"
        );
        for revoked in &crl.revoked {
            let entity = pki.entity(revoked).unwrap();
            let serial = x509_serial_hex(&entity.certificate);
            assert!(
                shown.contains(&format!("Serial Number: {serial}")),
                "{} CRL does not list {revoked} ({serial}):\n{shown}",
                crl.ca
            );
        }
        if crl.revoked.is_empty() {
            assert!(shown.contains("No Revoked Certificates"), "{shown}");
        }
        let begin = shown.find("-----BEGIN X509 CRL-----").unwrap();
        pem_crls.push_str(&shown[begin..]);
    }
    assert_eq!(pki.crl("issuing").unwrap().revoked, ["eve"]);
    let crl_file = path(dir.path(), "crls.pem");
    std::fs::write(&crl_file, pem_crls).unwrap();
    let crl_args = ["-crl_check_all", "-CRLfile", crl_file.as_str()];
    let eve = verify(&openssl, dir.path(), "smimesign", "eve", &crl_args);
    assert!(!eve.status.success(), "revoked eve accepted");
    assert!(text(&eve).contains("certificate revoked"), "{}", text(&eve));
    let alice = verify(&openssl, dir.path(), "smimesign", "alice", &crl_args);
    assert!(alice.status.success(), "{}", text(&alice));
}

/// The serial number as openssl prints it in a CRL: upper-case hex, no separators.
fn x509_serial_hex(certificate: &[u8]) -> String {
    let parsed = smime::certificate::parse_der(certificate).unwrap();
    hex::encode_upper(parsed.tbs_certificate().serial_number().as_bytes())
}

/// `crl_version: 1` on a CA: OpenSSL reads the CRL as version 1 without extensions, verifies its
/// signature with the CA's key, and refuses the revoked user with it (OpenSSL applies v1 CRLs
/// too; the CRL is what `openssl ca -gencrl` writes without `crl_extensions`).
#[test]
fn a_v1_crl_from_the_lab_is_read_verified_and_applied_by_openssl() {
    let openssl = openssl_path();
    let yaml = DEFAULT_LAB.replace(
        "issuer: root, valid: 5y }",
        "issuer: root, valid: 5y, crl_version: 1 }",
    );
    assert_ne!(
        yaml, DEFAULT_LAB,
        "the default lab's issuing CA line changed"
    );
    let pki = build(&yaml);
    let dir = tempfile::tempdir().unwrap();
    write_out(&pki, dir.path());
    let crl = path(dir.path(), "issuing.crl");
    let shown = run(&openssl, &["crl", "-inform", "DER", "-in", &crl, "-text"]);
    assert!(shown.status.success(), "{}", text(&shown));
    let shown_text = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown_text.contains("Version 1 (0x0)"), "{shown_text}");
    assert!(!shown_text.contains("CRL extensions"), "{shown_text}");
    let eve_serial = x509_serial_hex(&pki.entity("eve").unwrap().certificate);
    assert!(
        shown_text.contains(&format!("Serial Number: {eve_serial}")),
        "{shown_text}"
    );
    let checked = run(
        &openssl,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            &crl,
            "-noout",
            "-CAfile",
            &path(dir.path(), "issuing.pem"),
        ],
    );
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(text(&checked).contains("verify OK"), "{}", text(&checked));
    // The root's CRL stays v2 (the knob is per CA).
    let root = run(
        &openssl,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            &path(dir.path(), "root.crl"),
            "-text",
        ],
    );
    assert!(
        String::from_utf8_lossy(&root.stdout).contains("Version 2 (0x1)"),
        "{}",
        text(&root)
    );

    let pem = run(
        &openssl,
        &["crl", "-inform", "DER", "-in", &crl, "-outform", "PEM"],
    );
    assert!(pem.status.success(), "{}", text(&pem));
    let crl_file = path(dir.path(), "issuing-crl.pem");
    std::fs::write(&crl_file, &pem.stdout).unwrap();
    let crl_args = ["-crl_check", "-CRLfile", crl_file.as_str()];
    let eve = verify(&openssl, dir.path(), "smimesign", "eve", &crl_args);
    assert!(!eve.status.success(), "revoked eve accepted");
    assert!(text(&eve).contains("certificate revoked"), "{}", text(&eve));
    let alice = verify(&openssl, dir.path(), "smimesign", "alice", &crl_args);
    assert!(alice.status.success(), "{}", text(&alice));
}
