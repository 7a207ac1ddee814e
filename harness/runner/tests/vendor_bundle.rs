//! Vendor mode, offline half: a bundle made by OpenSSL reads, its certificates pass the
//! catalogue's checks, and the profile's plan uses the vendor's certificates at every step;
//! mistakes in a bundle are errors naming the file and field.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::openssl_bundle;
use runner::report::model::Outcome;
use runner::vendor::{BundleError, VendorBundle, profile};
use scenario::plan::Action;

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn bundle(users: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    openssl_bundle::make(dir.path(), users);
    dir
}

#[test]
fn an_openssl_bundle_reads_and_passes_the_certificate_checks() {
    let dir = bundle(&["alice", "bob"]);
    let bundle = VendorBundle::read(dir.path(), now()).expect("the bundle reads");
    assert_eq!(bundle.domain, "fabrikam.example");
    assert_eq!(bundle.tenant, "fabrikam.onmicrosoft.com");
    assert_eq!(bundle.ca_certificates.len(), 2);
    assert_eq!(bundle.crls.len(), 2);
    let ids: Vec<&str> = bundle.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["alice", "bob"]);

    let checks = profile::certificate_checks(&bundle);
    assert_eq!(checks.len(), 2);
    for step in &checks {
        assert_eq!(
            step.outcome,
            Outcome::Passed,
            "{}: {:#?}",
            step.title,
            step.checks
        );
    }
}

#[test]
fn the_profile_plans_the_five_steps_with_the_vendors_certificates() {
    let dir = bundle(&["alice", "bob"]);
    let bundle = VendorBundle::read(dir.path(), now()).expect("the bundle reads");
    let plan = profile::plan(&bundle).expect("a plan");
    assert_eq!(plan.tenant, "fabrikam.onmicrosoft.com");

    let Some(Action::ServePki(serve)) = plan.actions.first() else {
        panic!("the plan starts by serving the CRLs");
    };
    assert_eq!(
        serve.crls,
        [
            (openssl_bundle::CRL_URL.to_owned(), "issuing.crl".to_owned()),
            (
                openssl_bundle::ROOT_CRL_URL.to_owned(),
                "root.crl".to_owned()
            )
        ]
    );
    let import = plan
        .actions
        .iter()
        .find_map(|a| match a {
            Action::ImportCollection(i) => Some(i),
            _ => None,
        })
        .expect("step 2");
    let sst = smime::sst::read_sst(&import.bytes).expect("the SST reads back");
    assert_eq!(sst.certificate_ders().count(), 2);

    let published: Vec<_> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Publish(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(published.len(), 4, "both attributes for both users");
    let alice_der = std::fs::read(dir.path().join("alice.pem")).expect("alice.pem");
    let alice_der = smime::certificate::parse_certificates(&alice_der).expect("pem")[0].clone();
    let alice_der = der::Encode::to_der(&alice_der).expect("der");
    assert!(
        published
            .iter()
            .any(|p| p.user == "alice" && p.certificates[0].der == alice_der),
        "alice's own certificate is published"
    );
    let sends = plan
        .actions
        .iter()
        .filter(|a| matches!(a, Action::Send(_)))
        .count();
    assert_eq!(sends, 8, "each user to the next on each of four clients");
    let installs = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::InstallIdentity(i) => Some(i),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(installs.len(), 8);
    for install in installs {
        for (_, p12) in &install.identities {
            let contents = smime::pkcs12::read_pkcs12(p12, scenario::plan::PKCS12_PASSWORD)
                .expect("re-packaged with the lab password");
            assert!(contents.private_key_pkcs8_der.is_some());
        }
    }
}

fn expect_error(dir: &std::path::Path) -> String {
    match VendorBundle::read(dir, now()) {
        Ok(_) => panic!("the bundle should not read"),
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains(openssl_bundle::PASSWORD), "{text}");
            text
        }
    }
}

#[test]
fn a_wrong_password_names_the_file_and_the_field() {
    let dir = bundle(&["alice"]);
    let yaml = std::fs::read_to_string(dir.path().join("vendor.yaml")).unwrap();
    std::fs::write(
        dir.path().join("vendor.yaml"),
        yaml.replace(openssl_bundle::PASSWORD, "not-it"),
    )
    .unwrap();
    let text = expect_error(dir.path());
    assert!(text.contains("alice.p12"), "{text}");
    assert!(text.contains("password"), "{text}");
}

#[test]
fn mistakes_in_vendor_yaml_are_reported_with_the_field() {
    let dir = bundle(&["alice"]);
    let path = dir.path().join("vendor.yaml");
    let original = std::fs::read_to_string(&path).unwrap();

    std::fs::write(
        &path,
        original.replace("ca: chain.pem", "ca: ../etc/passwd"),
    )
    .unwrap();
    let text = expect_error(dir.path());
    assert!(
        text.contains("ca") && text.contains("inside the bundle"),
        "{text}"
    );

    std::fs::write(&path, original.replace("ca: chain.pem", "ca: missing.pem")).unwrap();
    let text = expect_error(dir.path());
    assert!(text.contains("missing.pem"), "{text}");

    std::fs::write(&path, format!("{original}colour: blue\n")).unwrap();
    let text = expect_error(dir.path());
    assert!(
        text.contains("vendor.yaml") && text.contains("colour"),
        "{text}"
    );

    std::fs::write(&path, original.replace("alice@fabrikam.example", "alice")).unwrap();
    let text = expect_error(dir.path());
    assert!(text.contains("users[0].mailbox"), "{text}");

    std::fs::write(&path, original.replace("ca: chain.pem", "ca: alice.p12")).unwrap();
    assert!(matches!(
        VendorBundle::read(dir.path(), now()),
        Err(BundleError::File { .. })
    ));
}
