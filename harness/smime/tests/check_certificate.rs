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

/// The default lab with the issuing CA publishing a version 1 CRL (`crl_version: 1`), built in
/// memory: its certificates and both CRLs as DER.
fn v1_lab() -> smime::pki::BuiltPki {
    let yaml = std::fs::read_to_string(test_support::fixture("pki/default.yaml")).unwrap();
    let yaml = yaml.replace(
        "issuer: root, valid: 5y }",
        "issuer: root, valid: 5y, crl_version: 1 }",
    );
    let description = smime::pki::parse_description(&yaml, "default.yaml").expect("parses");
    smime::pki::build(&description).expect("builds")
}

fn lab_context(pki: &smime::pki::BuiltPki, crls: Vec<Vec<u8>>) -> VerifyContext {
    let anchor = |id: &str| smime::certificate::parse_der(&pki.entity(id).unwrap().certificate);
    let mut ctx = VerifyContext::new(
        vec![anchor("root").unwrap(), anchor("issuing").unwrap()],
        NOW,
    );
    ctx.revocation = Revocation::Crls {
        crls,
        unreachable: Vec::new(),
    };
    ctx
}

/// RFC 5280 §5.1.2.1: the version field "MUST be v2" when extensions are used; the lab's v1 CRL
/// has neither, and is applied like a v2 one: eve revoked, alice valid, stale after nextUpdate.
#[test]
fn a_v1_crl_revokes_clears_and_goes_stale() {
    let pki = v1_lab();
    let issuing_crl = pki.crl("issuing").unwrap().der.clone();
    // The lab's v1 CRL really is v1: TBSCertList starts with the signature algorithm, no INTEGER.
    let tbs_first_tag = {
        let outer = der::asn1::AnyRef::try_from(issuing_crl.as_slice()).unwrap();
        let tbs = first_tlv(outer.value());
        tbs.value()[0]
    };
    assert_eq!(tbs_first_tag, 0x30, "version field present in the v1 CRL");
    // PEM and DER both read.
    let pem = der::pem::encode_string("X509 CRL", der::pem::LineEnding::LF, &issuing_crl).unwrap();
    assert_eq!(crl_der(pem.as_bytes()).unwrap(), issuing_crl);
    assert_eq!(crl_der(&issuing_crl).unwrap(), issuing_crl);

    let crls = vec![issuing_crl.clone(), pki.crl("root").unwrap().der.clone()];
    let der_of = |id: &str| pki.entity(id).unwrap().certificate.clone();
    let eve = check_certificate(&der_of("eve"), &[], &lab_context(&pki, crls.clone()));
    assert_eq!(eve.status, Status::Revoked, "{:?}", eve.reasons);
    let alice = check_certificate(&der_of("alice"), &[], &lab_context(&pki, crls.clone()));
    assert_eq!(alice.status, Status::Valid, "{:?}", alice.reasons);

    // nextUpdate is 2026-01-08: from then on the CRL is stale, for eve as for alice.
    for id in ["eve", "alice"] {
        let mut ctx = lab_context(&pki, crls.clone());
        ctx.now = time::macros::datetime!(2026-01-08 00:00 UTC);
        let stale = check_certificate(&der_of(id), &[], &ctx);
        assert_eq!(
            stale.status,
            Status::CrlUnreachable,
            "{id}: {:?}",
            stale.reasons
        );
        assert!(
            stale.reasons[0].starts_with(CRL_OFFLINE_TEXT),
            "{:?}",
            stale.reasons
        );
        assert!(
            stale.reasons[0].contains("nextUpdate"),
            "{:?}",
            stale.reasons
        );
    }
}

/// A v1 CRL whose signature is broken proves nothing: eve's and alice's status is unknown,
/// reported as Exchange reports a CRL it cannot use; the genuine CRL given beside it decides.
#[test]
fn a_v1_crl_with_a_broken_signature_proves_nothing() {
    let pki = v1_lab();
    let mut forged = pki.crl("issuing").unwrap().der.clone();
    let last = forged.len() - 1;
    forged[last] ^= 0x01;
    let der_of = |id: &str| pki.entity(id).unwrap().certificate.clone();
    for id in ["eve", "alice"] {
        let verdict = check_certificate(&der_of(id), &[], &lab_context(&pki, vec![forged.clone()]));
        assert_eq!(
            verdict.status,
            Status::CrlUnreachable,
            "{id}: {:?}",
            verdict.reasons
        );
        assert!(
            verdict.reasons[0].contains("proves nothing"),
            "{:?}",
            verdict.reasons
        );
    }
    // The genuine CRL beside it still decides.
    let both = vec![forged, pki.crl("issuing").unwrap().der.clone()];
    let eve = check_certificate(&der_of("eve"), &[], &lab_context(&pki, both));
    assert_eq!(eve.status, Status::Revoked, "{:?}", eve.reasons);
}

/// A CRL without a version field but with extensions breaks RFC 5280 §5.1.2.1 and is refused
/// with that reason; truncated bytes are refused too, never a panic.
#[test]
fn malformed_crls_are_refused_with_a_reason() {
    let v2 = crl("issuing");
    // Drop the version INTEGER (02 01 01) from the v2 CRL's TBSCertList and fix both lengths.
    let outer = der::asn1::AnyRef::try_from(v2.as_slice()).unwrap();
    let tbs = first_tlv(outer.value());
    let tbs_len = tbs.value().len();
    assert_eq!(&tbs.value()[..3], [0x02, 0x01, 0x01]);
    let unversioned_tbs = der::asn1::AnyRef::new(der::Tag::Sequence, &tbs.value()[3..]).unwrap();
    let mut body = der::Encode::to_der(&unversioned_tbs).unwrap();
    let tbs_total = der::Encode::encoded_len(&tbs).unwrap();
    let rest = &outer.value()[usize::try_from(tbs_total).unwrap()..];
    body.extend_from_slice(rest);
    let unversioned =
        der::Encode::to_der(&der::asn1::AnyRef::new(der::Tag::Sequence, &body).unwrap()).unwrap();
    assert!(tbs_len > 3);
    let refused = crl_der(&unversioned).unwrap_err();
    assert!(
        refused.contains("extensions but no version field"),
        "{refused}"
    );

    for cut in [1, v2.len() / 2, v2.len() - 1] {
        let refused = crl_der(&v2[..cut]).unwrap_err();
        assert!(
            refused.starts_with("not a DER X.509 CRL"),
            "{cut}: {refused}"
        );
    }
}

/// The first TLV in `bytes` (the rest is left unread).
fn first_tlv(bytes: &[u8]) -> der::asn1::AnyRef<'_> {
    let mut reader = der::SliceReader::new(bytes).unwrap();
    der::Decode::decode(&mut reader).unwrap()
}

/// A CRL proves something only about the certificates whose issuer it names. One with a flipped
/// byte in its issuer name (v2 and v1 alike) applies to nothing: alice's revocation status is then
/// unknown (Windows: CERT_TRUST_REVOCATION_STATUS_UNKNOWN; rustls-webpki's default
/// `UnknownStatusPolicy::Deny`), reported as Exchange reports a CRL it cannot use, never `valid`;
/// the verdict says which CRL applied to nothing. The genuine CRL beside it decides.
#[test]
fn a_crl_that_applies_to_no_certificate_leaves_the_status_unknown() {
    let v1 = v1_lab().crl("issuing").unwrap().der.clone();
    for (version, genuine) in [("v2", crl("issuing")), ("v1", v1)] {
        let at = genuine
            .windows(b"Contoso Issuing CA".len())
            .position(|w| w == b"Contoso Issuing CA")
            .unwrap();
        let mut flipped = genuine.clone();
        flipped[at + "Contoso ".len()] ^= 0x02;
        crl_der(&flipped).expect("still a well-formed CRL");
        let alone = Revocation::Crls {
            crls: vec![flipped.clone()],
            unreachable: Vec::new(),
        };
        let verdict = check_certificate(&pem_der("alice"), &[], &context(alone));
        assert_eq!(
            verdict.status,
            Status::CrlUnreachable,
            "{version}: {:?}",
            verdict.reasons
        );
        let all = verdict.reasons.join("\n");
        assert!(all.starts_with(CRL_OFFLINE_TEXT), "{version}: {all}");
        assert!(
            all.contains("its revocation status is unknown"),
            "{version}: {all}"
        );
        assert!(
            all.contains("CRL #1 (issuer \"CN=Contoso Kssuing CA,O=Contoso\") applies to no certificate on the path"),
            "{version}: {all}"
        );
        let both = Revocation::Crls {
            crls: vec![flipped, genuine],
            unreachable: Vec::new(),
        };
        let alice = check_certificate(&pem_der("alice"), &[], &context(both.clone()));
        assert_eq!(
            alice.status,
            Status::Valid,
            "{version}: {:?}",
            alice.reasons
        );
        let eve = check_certificate(&pem_der("eve"), &[], &context(both));
        assert_eq!(eve.status, Status::Revoked, "{version}: {:?}", eve.reasons);
    }
}

/// Every certificate below the anchor needs a CRL: with only the root as anchor, the issuing
/// CA's certificate is on the path, and the issuing CA's own CRL does not cover it (the root
/// issued it). Without the root's CRL its status is unknown; with it, alice is valid.
#[test]
fn every_certificate_below_the_anchor_needs_its_issuers_crl() {
    let mut ctx = context(Revocation::Crls {
        crls: vec![crl("issuing")],
        unreachable: Vec::new(),
    });
    ctx.anchors = vec![certificate("root")];
    let intermediates = [pem_der("issuing")];
    let verdict = check_certificate(&pem_der("alice"), &intermediates, &ctx);
    assert_eq!(
        verdict.status,
        Status::CrlUnreachable,
        "{:?}",
        verdict.reasons
    );
    assert!(
        verdict.reasons[0].contains("no CRL given or fetched is from CN=Contoso Root CA"),
        "{:?}",
        verdict.reasons
    );
    ctx.revocation = crls();
    let verdict = check_certificate(&pem_der("alice"), &intermediates, &ctx);
    assert_eq!(verdict.status, Status::Valid, "{:?}", verdict.reasons);
}
