//! `cms::path::check_certificate`: a certificate judged on its own (Outlook on the web's check
//! of the sender's certificate before sending), against the lab PKI in `fixtures/pki/default`
//! (root, issuing CA, alice, eve revoked on the issuing CA's CRL) at the lab clock.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use smime::cms::path::{CRL_OFFLINE_TEXT, check_certificate, crl_der};
use smime::cms::{Certificate, Revocation, Status, VerifyContext};

/// The fixture PKI's clock; its end-entity certificates expire at the end of 2026 and the
/// issuing CA's CRL's nextUpdate is 2026-01-08.
const NOW: time::OffsetDateTime = time::macros::datetime!(2026-01-01 12:00 UTC);

fn pem_der(name: &str) -> Vec<u8> {
    let pem = test_support::read(test_support::fixture(&format!(
        "pki/default/{name}.crt.pem"
    )));
    let (label, der) = der::pem::decode_vec(&pem).expect("PEM");
    assert_eq!(label, "CERTIFICATE");
    der
}

fn certificate(name: &str) -> Certificate {
    smime::certificate::parse_der(&pem_der(name)).expect("certificate")
}

fn crl(name: &str) -> Vec<u8> {
    crl_der(&test_support::read(test_support::fixture(&format!(
        "pki/default/{name}.crl"
    ))))
    .expect("CRL")
}

/// Anchors as Exchange holds them after the lab's Set-SmimeConfig: root and issuing CA.
fn context(revocation: Revocation) -> VerifyContext {
    let mut ctx = VerifyContext::new(vec![certificate("root"), certificate("issuing")], NOW);
    ctx.revocation = revocation;
    ctx
}

fn crls() -> Revocation {
    Revocation::Crls {
        crls: vec![crl("issuing"), crl("root")],
        unreachable: Vec::new(),
    }
}

#[test]
fn alice_is_valid_with_the_crls_and_names_what_to_fetch() {
    let first = check_certificate(&pem_der("alice"), &[], &context(Revocation::NotChecked));
    assert_eq!(first.status, Status::Valid, "{:?}", first.reasons);
    assert!(
        first
            .reasons
            .iter()
            .any(|r| r.contains("revocation not checked")),
        "{:?}",
        first.reasons
    );
    // The issuing CA is an anchor: only alice's own distribution point is below it.
    assert_eq!(
        first.crl_distribution_points,
        ["http://pki.contoso.com/crl/issuing.crl"]
    );
    let signer = first.signer.as_ref().expect("signer");
    assert_eq!(signer.mailboxes, ["alice@contoso.com"]);
    assert_eq!(signer.certificate.subject, "CN=alice@contoso.com");
    assert_eq!(first.chain.len(), 2, "{:?}", first.chain);

    let second = check_certificate(&pem_der("alice"), &[], &context(crls()));
    assert_eq!(second.status, Status::Valid, "{:?}", second.reasons);
    assert!(!second.weak);
}

#[test]
fn eve_is_revoked() {
    let verdict = check_certificate(&pem_der("eve"), &[], &context(crls()));
    assert_eq!(verdict.status, Status::Revoked, "{:?}", verdict.reasons);
}

#[test]
fn an_unreachable_crl_is_exchanges_offline_text() {
    let revocation = Revocation::Crls {
        crls: Vec::new(),
        unreachable: vec!["http://pki.contoso.com/crl/issuing.crl: cannot connect".into()],
    };
    let verdict = check_certificate(&pem_der("alice"), &[], &context(revocation));
    assert_eq!(verdict.status, Status::CrlUnreachable);
    assert!(
        verdict.reasons[0].starts_with(CRL_OFFLINE_TEXT),
        "{:?}",
        verdict.reasons
    );
}

#[test]
fn an_intermediate_given_adds_its_distribution_point() {
    let mut ctx = context(Revocation::NotChecked);
    ctx.anchors = vec![certificate("root")];
    let alone = check_certificate(&pem_der("alice"), &[], &ctx);
    assert_eq!(alone.status, Status::Untrusted, "{:?}", alone.reasons);
    let verdict = check_certificate(&pem_der("alice"), &[pem_der("issuing")], &ctx);
    assert_eq!(verdict.status, Status::Valid, "{:?}", verdict.reasons);
    assert_eq!(
        verdict.crl_distribution_points,
        [
            "http://pki.contoso.com/crl/issuing.crl",
            "http://pki.contoso.com/crl/root.crl"
        ]
    );
}

#[test]
fn no_anchors_garbage_expiry_and_the_wrong_sender() {
    let mut ctx = context(Revocation::NotChecked);
    ctx.anchors.clear();
    assert_eq!(
        check_certificate(&pem_der("alice"), &[], &ctx).status,
        Status::Untrusted
    );

    let garbage = check_certificate(b"\x30\x03\x02\x01\x00", &[], &context(crls()));
    assert_eq!(garbage.status, Status::Malformed);
    assert!(garbage.signer.is_none());

    let mut later = context(Revocation::NotChecked);
    later.now = time::macros::datetime!(2027-01-01 00:00 UTC);
    assert_eq!(
        check_certificate(&pem_der("alice"), &[], &later).status,
        Status::Expired
    );

    let mut ctx = context(Revocation::NotChecked);
    ctx.sender = Some("Alice@Contoso.com".into());
    assert_eq!(
        check_certificate(&pem_der("alice"), &[], &ctx).status,
        Status::Valid
    );
    ctx.sender = Some("bob@contoso.com".into());
    let verdict = check_certificate(&pem_der("alice"), &[], &ctx);
    assert_eq!(verdict.status, Status::SignerMismatch);
    assert!(verdict.reasons[0].contains("alice@contoso.com"));
}
