//! `smime-lab verify --crl` with CRLs made by OpenSSL's command line, both versions: `openssl ca
//! -gencrl` without CRL extensions writes a version 1 CRL (RFC 5280 §5.1.2.1: the version field
//! "MUST be v2" only "When extensions are used"), with `-crlexts` a version 2 one. Each is read as
//! PEM and as DER, proves a revocation, clears a good certificate, proves nothing when signed by
//! another key, and is stale after its nextUpdate (Exchange's "CRL offline" verdict); a file that
//! is no CRL at all is refused naming the file.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use test_support::openssl_ca::{Ca, CrlOptions, CrlVersion, Issued, Key, Profile, user_extensions};
use test_support::{openssl, run_ok};

const BIN: &str = env!("CARGO_BIN_EXE_smime-lab");
const CA_SUBJECT: &str = "/O=smime-lab tests/CN=CRL Versions CA";

fn smime_lab(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn status_of(out: &Output) -> String {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["status"].as_str().unwrap().to_owned()
}

/// A CA made by OpenSSL's command line in `dir` (`test_support::openssl_ca`), an impostor with
/// the CA's name and another key, two users (`revoked`, `good`) signed by the CA, and the
/// messages each user signed with `smime-lab sign`.
struct Lab {
    dir: tempfile::TempDir,
    ca: Ca,
    impostor: Issued,
    users: Vec<Issued>,
}

impl Lab {
    fn p(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca_profile = Profile::new(CA_SUBJECT, Key::Rsa(2048)).extensions([
            "basicConstraints=critical,CA:TRUE",
            "keyUsage=critical,keyCertSign,cRLSign",
            "subjectKeyIdentifier=hash",
        ]);
        let ca = Ca::self_signed(d, "ca", &ca_profile);
        let impostor = Ca::self_signed(d, "impostor", &ca_profile).issued;
        let mut lab = Lab {
            dir,
            ca,
            impostor,
            users: Vec::new(),
        };
        for (serial, user) in [(0x2000, "revoked"), (0x2001, "good")] {
            let issued = lab.user(user, serial);
            lab.users.push(issued);
        }
        lab
    }

    fn issued(&self, user: &str) -> &Issued {
        self.users.iter().find(|u| u.name == user).unwrap()
    }

    fn user(&self, user: &str, serial: u64) -> Issued {
        let mailbox = format!("{user}@example.test");
        let mut extensions = user_extensions(&mailbox, "digitalSignature,keyEncipherment");
        extensions.push("crlDistributionPoints=URI:http://127.0.0.1:9/versions.crl".to_owned());
        let issued = self.ca.issue(
            user,
            &Profile::new(format!("/O=smime-lab tests/CN={mailbox}"), Key::Rsa(2048))
                .serial(serial)
                .extensions(extensions),
        );
        let message = format!(
            "From: {mailbox}\nTo: bob@example.test\nSubject: CRL versions\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <{user}@example.test>\nContent-Type: text/plain; charset=utf-8\n\nSigned by {user}.\n"
        );
        let input = self.p(&format!("{user}.eml"));
        std::fs::write(&input, message).unwrap();
        let signed = smime_lab(&[
            "sign",
            "--cert",
            issued.cert.to_str().unwrap(),
            "--key",
            issued.key.to_str().unwrap(),
            &input,
        ]);
        assert!(
            signed.status.success(),
            "{}",
            String::from_utf8_lossy(&signed.stderr)
        );
        std::fs::write(self.p(&format!("{user}.signed.eml")), &signed.stdout).unwrap();
        issued
    }

    /// `openssl ca -gencrl` as it stands, signed by `signer` (`ca` or `impostor`), version 1 or
    /// 2, with `dates` (`thisUpdate`, `nextUpdate`) if given; written as `<name>.pem` and
    /// `<name>.der`.
    fn gencrl(&self, name: &str, version: u8, signer: &str, dates: Option<(&str, &str)>) {
        let options = CrlOptions {
            version: if version == 1 {
                CrlVersion::V1
            } else {
                CrlVersion::V2
            },
            this_update: dates.map(|(this, _)| this.to_owned()),
            next_update: dates.map(|(_, next)| next.to_owned()),
            signed_by: (signer == "impostor").then_some(&self.impostor),
        };
        let pem = self
            .ca
            .write_crl_as(&format!("{name}.pem"), false, &options);
        let pem = pem.to_str().unwrap();
        let der = self.p(&format!("{name}.der"));
        run_ok(openssl().args(["crl", "-in", pem, "-outform", "DER", "-out", &der]));
        // The version is what the spec says it is, read back by OpenSSL itself.
        let text = run_ok(openssl().args(["crl", "-in", pem, "-noout", "-text"]));
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        let expected = if version == 1 {
            "Version 1 (0x0)"
        } else {
            "Version 2 (0x1)"
        };
        assert!(text.contains(expected), "{name}: {text}");
    }

    /// `smime-lab verify` of `user`'s message with the given CRL files only, at `now` (RFC 3339,
    /// or the real clock): exit code, status, stdout + stderr.
    fn verify(
        &self,
        user: &str,
        crls: &[String],
        now: Option<&str>,
    ) -> (Option<i32>, String, String) {
        let anchors = self.p("ca.pem");
        let message = self.p(&format!("{user}.signed.eml"));
        let mut args = vec!["verify", "--anchors", &anchors, "--json", "--no-crl-fetch"];
        for crl in crls {
            args.extend(["--crl", crl.as_str()]);
        }
        if let Some(now) = now {
            args.extend(["--now", now]);
        }
        args.push(&message);
        let out = smime_lab(&args);
        let all = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), status_of(&out), all)
    }
}

fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
fn v1_and_v2_crls_from_openssl_are_applied_alike() {
    let lab = Lab::new();
    lab.ca.revoke(lab.issued("revoked"));
    for version in [1, 2] {
        lab.gencrl(&format!("v{version}"), version, "ca", None);
        lab.gencrl(&format!("v{version}-impostor"), version, "impostor", None);
        for form in ["pem", "der"] {
            let crl = vec![lab.p(&format!("v{version}.{form}"))];
            let case = format!("v{version} {form}");

            let (code, status, all) = lab.verify("revoked", &crl, None);
            assert_eq!(
                (code, status.as_str()),
                (Some(1), "revoked"),
                "{case}: {all}"
            );
            let (code, status, all) = lab.verify("good", &crl, None);
            assert_eq!((code, status.as_str()), (Some(0), "valid"), "{case}: {all}");

            // After nextUpdate (30 days) and before the certificates expire (365 days): stale,
            // which Exchange reports as the CRL being offline.
            let later = in_days(40);
            for user in ["revoked", "good"] {
                let (code, status, all) = lab.verify(user, &crl, Some(&later));
                assert_eq!(
                    (code, status.as_str()),
                    (Some(1), "crl-unreachable"),
                    "{case} {user} at {later}: {all}"
                );
                assert!(all.contains("nextUpdate"), "{case}: {all}");
                assert!(
                    all.contains("The online certificate revocation list (CRL) that the certificate chain relies on is currently offline"),
                    "{case}: {all}"
                );
            }
        }
        // Same issuer name, another key: the CRL lists the revoked serial but proves nothing,
        // for the revoked user and the good one alike.
        let forged = vec![lab.p(&format!("v{version}-impostor.der"))];
        for user in ["revoked", "good"] {
            let (code, status, all) = lab.verify(user, &forged, None);
            assert_eq!(
                (code, status.as_str()),
                (Some(1), "crl-unreachable"),
                "v{version} impostor, {user}: {all}"
            );
            assert!(all.contains("proves nothing"), "v{version}: {all}");
        }
    }
    // Dates set by OpenSSL itself, judged at the real clock: a CRL whose nextUpdate has passed
    // is stale; one whose thisUpdate is still ahead is not current either.
    let stamp = |days: i64| {
        let at = time::OffsetDateTime::now_utc() + time::Duration::days(days);
        format!(
            "{:04}{:02}{:02}000000Z",
            at.year(),
            u8::from(at.month()),
            at.day()
        )
    };
    let (ten_ago, yesterday, in_two, in_thirty) = (stamp(-10), stamp(-1), stamp(2), stamp(30));
    for version in [1, 2] {
        let stale = format!("v{version}-stale");
        lab.gencrl(&stale, version, "ca", Some((&ten_ago, &yesterday)));
        let (code, status, all) = lab.verify("good", &[lab.p(&format!("{stale}.der"))], None);
        assert_eq!(
            (code, status.as_str()),
            (Some(1), "crl-unreachable"),
            "{stale}: {all}"
        );
        assert!(all.contains("nextUpdate"), "{stale}: {all}");
    }
    lab.gencrl("v1-future", 1, "ca", Some((&in_two, &in_thirty)));
    let (code, status, all) = lab.verify("revoked", &[lab.p("v1-future.pem")], None);
    assert_eq!(
        (code, status.as_str()),
        (Some(1), "crl-unreachable"),
        "{all}"
    );
    assert!(all.contains("thisUpdate"), "{all}");

    // A forged v1 CRL beside the genuine one does not hide what the genuine one says.
    let both = vec![lab.p("v1-impostor.der"), lab.p("v1.pem")];
    let (code, status, all) = lab.verify("revoked", &both, None);
    assert_eq!((code, status.as_str()), (Some(1), "revoked"), "{all}");
    let (code, status, all) = lab.verify("good", &both, None);
    assert_eq!((code, status.as_str()), (Some(0), "valid"), "{all}");
}

#[test]
fn a_file_that_is_no_crl_is_refused_naming_it() {
    let lab = Lab::new();
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "garbage.der",
            b"\x30\x03\x02\x01\x00",
            "not a certificate revocation list",
        ),
        (
            "garbage.pem",
            b"-----BEGIN X509 CRL-----\nMAMCAQA=\n-----END X509 CRL-----\n",
            "not a certificate revocation list",
        ),
        (
            "certificate.pem",
            &std::fs::read(lab.p("ca.pem")).unwrap(),
            "not a certificate revocation list",
        ),
    ];
    for (name, bytes, says) in cases {
        let file = lab.p(name);
        std::fs::write(&file, bytes).unwrap();
        let out = smime_lab(&[
            "verify",
            "--anchors",
            &lab.p("ca.pem"),
            "--no-crl-fetch",
            "--crl",
            &file,
            &lab.p("good.signed.eml"),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(&file), "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}
