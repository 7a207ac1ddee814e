//! Tests of the description, the plan and the issued profile. Interop with peers (pkilint,
//! openssl) is in `tests/pki_peers.rs`.

use const_oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_EMAIL_PROTECTION};
use const_oid::db::rfc5912::{SHA_1_WITH_RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION};
use der::Decode;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};

use super::*;

type Usages = der::flagset::FlagSet<KeyUsages>;
type Crl509 = CertificateList<x509_cert::certificate::Rfc5280>;

const DEFAULT_LAB: &str = include_str!("../../../../fixtures/pki/default.yaml");

const HEAD: &str = "seed: test\nnow: 2026-01-01T00:00:00Z\ndomain: contoso.com\n";

fn built(yaml: &str) -> BuiltPki {
    let description = parse_description(yaml, "test.yaml").unwrap();
    build(&description).unwrap()
}

fn error(yaml: &str) -> String {
    match parse_description(yaml, "test.yaml").and_then(|d| build(&d)) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

fn cert(pki: &BuiltPki, id: &str) -> Certificate {
    Certificate::from_der(&pki.entity(id).unwrap().certificate).unwrap()
}

fn ext<'a, T: der::Decode<'a> + const_oid::AssociatedOid>(c: &'a Certificate) -> Option<(bool, T)> {
    c.tbs_certificate().get_extension::<T>().unwrap()
}

fn key_usage(c: &Certificate) -> (bool, Usages) {
    let (critical, ku) = ext::<KeyUsage>(c).unwrap();
    (critical, ku.0)
}

fn uris(names: &[GeneralName]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| match n {
            GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_default_lab_is_byte_identical_when_built_twice() {
    let a = built(DEFAULT_LAB);
    let b = built(DEFAULT_LAB);
    assert_eq!(a.entities.len(), 8);
    assert_eq!(a.crls.len(), 2);
    for (x, y) in a.entities.iter().zip(&b.entities) {
        assert_eq!(x.id, y.id);
        assert_eq!(x.certificate, y.certificate, "{} certificate differs", x.id);
        assert_eq!(
            x.key.to_pkcs8_der().unwrap(),
            y.key.to_pkcs8_der().unwrap(),
            "{} key differs",
            x.id
        );
    }
    for (x, y) in a.crls.iter().zip(&b.crls) {
        assert_eq!(x.der, y.der, "{} CRL differs", x.ca);
    }
}

#[test]
fn adding_a_user_changes_nobody_elses_certificate() {
    let before = built(DEFAULT_LAB);
    let after = built(&DEFAULT_LAB.replace(
        "\nrevoked: [eve]",
        "\n  zed: { key: ecdsa-p256 }\nrevoked: [eve]",
    ));
    assert!(after.entity("zed").is_some(), "test setup: zed missing");
    for entity in &before.entities {
        assert_eq!(
            Some(&entity.certificate),
            after.entity(&entity.id).map(|e| &e.certificate),
            "{} changed",
            entity.id
        );
    }
}

#[test]
fn default_lab_entities_roles_and_chains() {
    let pki = built(DEFAULT_LAB);
    let ids: Vec<&str> = pki.entities.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "root",
            "issuing",
            "alice",
            "bob-sign",
            "bob-encrypt",
            "carol",
            "dave",
            "eve"
        ]
    );
    let bob = pki.entity("bob-encrypt").unwrap();
    assert_eq!(bob.role, Role::Encryption);
    assert_eq!(bob.user.as_deref(), Some("bob"));
    assert_eq!(bob.mailbox.as_deref(), Some("bob@contoso.com"));
    let chain: Vec<&str> = pki.chain("alice").iter().map(|e| e.id.as_str()).collect();
    assert_eq!(chain, ["alice", "issuing", "root"]);
    assert!(pki.entity("eve").unwrap().revoked);
    assert!(!pki.entity("alice").unwrap().revoked);
    assert_eq!(pki.crl("issuing").unwrap().revoked, ["eve"]);
    assert!(pki.crl("root").unwrap().revoked.is_empty());
    assert_eq!(
        pki.crl("issuing").unwrap().url,
        "http://pki.contoso.com/crl/issuing.crl"
    );
    for entity in &pki.entities {
        let c = cert(&pki, &entity.id);
        let spki = SubjectPublicKeyInfoOwned::from_der(
            &der::Encode::to_der(c.tbs_certificate().subject_public_key_info()).unwrap(),
        )
        .unwrap();
        assert!(
            entity.key.matches(&spki),
            "{}: key does not match",
            entity.id
        );
    }
}

#[test]
fn user_certificates_follow_the_strict_mailbox_profile() {
    let pki = built(DEFAULT_LAB);
    let issuing = cert(&pki, "issuing");
    let (_, issuing_ski) = ext::<SubjectKeyIdentifier>(&issuing).unwrap();
    let now = time::macros::datetime!(2026-01-01 00:00 UTC);
    for (id, expected) in [
        (
            "alice",
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        ),
        (
            "carol",
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        ),
        (
            "dave",
            KeyUsages::DigitalSignature | KeyUsages::KeyAgreement,
        ),
        ("bob-sign", Usages::from(KeyUsages::DigitalSignature)),
        ("bob-encrypt", Usages::from(KeyUsages::KeyAgreement)),
    ] {
        let c = cert(&pki, id);
        let tbs = c.tbs_certificate();
        assert_eq!(key_usage(&c), (true, expected), "{id} key usage");
        let (_, eku) = ext::<ExtendedKeyUsage>(&c).unwrap();
        assert_eq!(eku.0, [ID_KP_EMAIL_PROTECTION], "{id} EKU");
        let (_, policies) = ext::<CertificatePolicies>(&c).unwrap();
        assert_eq!(policies.0.len(), 1);
        assert_eq!(
            policies.0[0].policy_identifier.to_string(),
            "2.23.140.1.5.1.3"
        );
        let mailbox = pki.entity(id).unwrap().mailbox.clone().unwrap();
        let (_, san) = ext::<SubjectAltName>(&c).unwrap();
        assert!(matches!(&san.0[..], [GeneralName::Rfc822Name(m)] if m.to_string() == mailbox));
        assert_eq!(tbs.subject().to_string(), format!("CN={mailbox}"));
        assert!(ext::<SubjectKeyIdentifier>(&c).is_some(), "{id} SKI");
        let (_, aki) = ext::<AuthorityKeyIdentifier>(&c).unwrap();
        assert_eq!(
            aki.key_identifier.as_ref(),
            Some(&issuing_ski.0),
            "{id} AKI"
        );
        let (_, crl_dp) = ext::<CrlDistributionPoints>(&c).unwrap();
        let Some(DistributionPointName::FullName(names)) = &crl_dp.0[0].distribution_point else {
            panic!("{id}: CRL DP without full name");
        };
        assert_eq!(uris(names), ["http://pki.contoso.com/crl/issuing.crl"]);
        let (_, aia) = ext::<AuthorityInfoAccessSyntax>(&c).unwrap();
        assert_eq!(
            uris(&[aia.0[0].access_location.clone()]),
            ["http://pki.contoso.com/aia/issuing.crt"]
        );
        assert!(
            ext::<BasicConstraints>(&c).is_none(),
            "{id} basicConstraints"
        );
        // The issuing CA is RSA: every user certificate is sha256WithRSAEncryption.
        assert_eq!(c.signature_algorithm().oid, SHA_256_WITH_RSA_ENCRYPTION);
        let serial = tbs.serial_number().as_bytes();
        assert_eq!(serial.len(), 16, "{id} serial length");
        assert!(serial[0] & 0x80 == 0, "{id} serial negative");
        let validity = tbs.validity();
        assert_eq!(
            validity.not_before.to_unix_duration().as_secs(),
            now.unix_timestamp() as u64
        );
        assert_eq!(
            validity.not_after.to_unix_duration().as_secs(),
            time::macros::datetime!(2026-12-31 23:59:59 UTC).unix_timestamp() as u64
        );
    }
}

#[test]
fn ca_certificates_have_ca_constraints_and_usages() {
    let pki = built(DEFAULT_LAB);
    let root = cert(&pki, "root");
    let issuing = cert(&pki, "issuing");
    let (critical, bc) = ext::<BasicConstraints>(&root).unwrap();
    assert!(critical && bc.ca && bc.path_len_constraint.is_none());
    let (critical, bc) = ext::<BasicConstraints>(&issuing).unwrap();
    assert!(critical && bc.ca);
    assert_eq!(bc.path_len_constraint, Some(0));
    for c in [&root, &issuing] {
        assert_eq!(
            key_usage(c),
            (true, KeyUsages::KeyCertSign | KeyUsages::CRLSign)
        );
        assert!(ext::<SubjectKeyIdentifier>(c).is_some());
    }
    assert_eq!(
        root.tbs_certificate().issuer(),
        root.tbs_certificate().subject()
    );
    assert_eq!(
        issuing.tbs_certificate().issuer(),
        root.tbs_certificate().subject()
    );
    assert_eq!(
        root.tbs_certificate().subject().to_string(),
        "CN=Contoso Root CA,O=Contoso"
    );
    let (_, eku) = ext::<ExtendedKeyUsage>(&issuing).unwrap();
    assert_eq!(eku.0, [ID_KP_EMAIL_PROTECTION]);
    // 10y and 5y are calendar years, inclusive of the last second.
    assert_eq!(
        root.tbs_certificate().validity().not_after.to_string(),
        "2035-12-31T23:59:59Z"
    );
    assert_eq!(
        issuing.tbs_certificate().validity().not_after.to_string(),
        "2030-12-31T23:59:59Z"
    );
}

#[test]
fn the_crl_lists_the_revoked_serial_and_names_its_signer() {
    let pki = built(DEFAULT_LAB);
    let crl = Crl509::from_der(&pki.crl("issuing").unwrap().der).unwrap();
    let tbs = &crl.tbs_cert_list;
    let issuing = cert(&pki, "issuing");
    assert_eq!(&tbs.issuer, issuing.tbs_certificate().subject());
    let revoked = tbs.revoked_certificates.as_ref().unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(
        revoked[0].serial_number,
        cert(&pki, "eve").tbs_certificate().serial_number().clone()
    );
    assert_eq!(tbs.this_update.to_string(), "2026-01-01T00:00:00Z");
    assert_eq!(
        tbs.next_update.map(|t| t.to_string()),
        Some("2026-01-08T00:00:00Z".to_owned())
    );
    let aki = tbs
        .crl_extensions
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER)
        .unwrap();
    let aki = AuthorityKeyIdentifier::from_der(aki.extn_value.as_bytes()).unwrap();
    let (_, ski) = ext::<SubjectKeyIdentifier>(&issuing).unwrap();
    // The CRL's AKI names the intermediate's own key, not the root's.
    assert_eq!(aki.key_identifier, Some(ski.0));
    let root_crl = Crl509::from_der(&pki.crl("root").unwrap().der).unwrap();
    assert!(root_crl.tbs_cert_list.revoked_certificates.is_none());
}

const FLAWED: &str = r#"
root: { subject: "CN=Flawed Root,O=Lab", key: ecdsa-p384 }
intermediates:
  issuing: { subject: "CN=Flawed Issuing,O=Lab", key: rsa-2048 }
users:
  weak: { key: rsa-1024, flaws: [no-ski, expired] }
  stale: { key: rsa-2048, flaws: [san-mismatch, sha1-signature, no-crl-dp, no-aia, not-yet-valid] }
  client: { key: ecdsa-p256, flaws: [no-email-protection-eku, issued-from-root] }
  split:
    sign: { key: rsa-2048, flaws: [wrong-key-usage] }
    encrypt: { key: rsa-2048, flaws: [wrong-key-usage] }
  ecsplit:
    sign: { key: ecdsa-p256, flaws: [wrong-key-usage] }
    encrypt: { key: ecdsa-p256 }
    non_repudiation: true
revoked: [split-encrypt, issuing]
"#;

#[test]
fn flaws_do_what_they_say() {
    let pki = built(&format!("{HEAD}{FLAWED}"));
    let now = time::macros::datetime!(2026-01-01 00:00 UTC).unix_timestamp() as u64;

    let weak = cert(&pki, "weak");
    assert!(ext::<SubjectKeyIdentifier>(&weak).is_none());
    assert!(
        weak.tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration()
            .as_secs()
            < now
    );
    assert_eq!(
        pki.entity("weak").unwrap().key.spec(),
        Some(KeySpec::Rsa1024)
    );

    let stale = cert(&pki, "stale");
    let (_, san) = ext::<SubjectAltName>(&stale).unwrap();
    assert!(
        matches!(&san.0[..], [GeneralName::Rfc822Name(m)] if m.to_string() == "stale.old@contoso.com")
    );
    assert_eq!(stale.signature_algorithm().oid, SHA_1_WITH_RSA_ENCRYPTION);
    assert_eq!(
        stale.tbs_certificate().signature().oid,
        SHA_1_WITH_RSA_ENCRYPTION
    );
    assert!(ext::<CrlDistributionPoints>(&stale).is_none());
    assert!(ext::<AuthorityInfoAccessSyntax>(&stale).is_none());
    assert!(
        stale
            .tbs_certificate()
            .validity()
            .not_before
            .to_unix_duration()
            .as_secs()
            > now
    );

    let client = cert(&pki, "client");
    let (_, eku) = ext::<ExtendedKeyUsage>(&client).unwrap();
    assert_eq!(eku.0, [ID_KP_CLIENT_AUTH]);
    assert_eq!(pki.entity("client").unwrap().issuer, "root");
    assert_eq!(
        client.tbs_certificate().issuer(),
        cert(&pki, "root").tbs_certificate().subject()
    );
    // The root is P-384: it signs with ecdsa-with-SHA384.
    assert_eq!(
        client.signature_algorithm().oid,
        const_oid::db::rfc5912::ECDSA_WITH_SHA_384
    );

    assert_eq!(
        key_usage(&cert(&pki, "split-sign")).1,
        Usages::from(KeyUsages::KeyEncipherment)
    );
    assert_eq!(
        key_usage(&cert(&pki, "split-encrypt")).1,
        Usages::from(KeyUsages::DigitalSignature)
    );
    assert_eq!(
        key_usage(&cert(&pki, "ecsplit-sign")).1,
        Usages::from(KeyUsages::KeyAgreement)
    );
    assert_eq!(
        key_usage(&cert(&pki, "ecsplit-encrypt")).1,
        Usages::from(KeyUsages::KeyAgreement)
    );

    assert_eq!(pki.crl("issuing").unwrap().revoked, ["split-encrypt"]);
    assert_eq!(pki.crl("root").unwrap().revoked, ["issuing"]);
}

#[test]
fn non_repudiation_is_added_to_signing_certificates() {
    let pki = built(&format!(
        "{HEAD}root: {{ subject: \"CN=R\", key: ecdsa-p256 }}\nusers:\n  a: {{ key: rsa-2048, non_repudiation: true }}\n  b: {{ sign: {{ key: ecdsa-p256 }}, encrypt: {{ key: ecdsa-p256 }}, non_repudiation: true }}\n"
    ));
    assert_eq!(
        key_usage(&cert(&pki, "a")).1,
        KeyUsages::DigitalSignature | KeyUsages::NonRepudiation | KeyUsages::KeyEncipherment
    );
    assert_eq!(
        key_usage(&cert(&pki, "b-sign")).1,
        KeyUsages::DigitalSignature | KeyUsages::NonRepudiation
    );
    assert_eq!(
        key_usage(&cert(&pki, "b-encrypt")).1,
        Usages::from(KeyUsages::KeyAgreement)
    );
    // Without intermediates, users default to the root.
    assert_eq!(pki.entity("a").unwrap().issuer, "root");
}

#[test]
fn stacked_intermediates_get_path_lengths_and_issue_in_order() {
    let pki = built(&format!(
        "{HEAD}root: {{ subject: \"CN=R\", key: ecdsa-p256 }}\nintermediates:\n  a-policy: {{ subject: \"CN=P\", key: ecdsa-p256 }}\n  z-issuing: {{ subject: \"CN=I\", key: ecdsa-p256, issuer: a-policy }}\n  b-leaf: {{ subject: \"CN=L\", key: ecdsa-p256, issuer: z-issuing }}\nusers:\n  u: {{ key: ecdsa-p256, issuer: b-leaf }}\n"
    ));
    let ids: Vec<&str> = pki.entities.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["root", "a-policy", "z-issuing", "b-leaf", "u"]);
    let path_len = |id: &str| {
        ext::<BasicConstraints>(&cert(&pki, id))
            .unwrap()
            .1
            .path_len_constraint
    };
    assert_eq!(path_len("a-policy"), Some(2));
    assert_eq!(path_len("z-issuing"), Some(1));
    assert_eq!(path_len("b-leaf"), Some(0));
    let chain: Vec<&str> = pki.chain("u").iter().map(|e| e.id.as_str()).collect();
    assert_eq!(chain, ["u", "b-leaf", "z-issuing", "a-policy", "root"]);
}

#[test]
fn yaml_errors_name_the_line_and_column() {
    let e = error(&format!(
        "{HEAD}root: {{ subject: \"CN=R\", key: rsa-2048, bogus: 1 }}\n"
    ));
    assert!(e.contains("line 4 column 41"), "{e}");
    assert!(e.contains("unknown field `bogus`"), "{e}");
    assert!(e.contains("test.yaml:4:41"), "{e}");
    assert!(!e.starts_with("error:"), "{e}");

    let e = error(
        "now: 2026-01-01T00:00:00Z\ndomain: contoso.com\nroot: { subject: \"CN=R\", key: rsa-2048 }\n",
    );
    assert!(e.contains("missing field `seed`"), "{e}");

    for (bad, says) in [
        ("valid: 10q", "unknown unit"),
        ("valid: 0d", "empty validity"),
        ("valid: y", "does not start with a number"),
        ("key: rsa-9999", "unknown variant `rsa-9999`"),
        ("subject: \"CN\"", "not an RFC 4514 distinguished name"),
    ] {
        let root = if bad.starts_with("key") {
            format!("root: {{ subject: \"CN=R\", {bad} }}\n")
        } else if bad.starts_with("subject") {
            format!("root: {{ {bad}, key: rsa-2048 }}\n")
        } else {
            format!("root: {{ subject: \"CN=R\", key: rsa-2048, {bad} }}\n")
        };
        let e = error(&format!("{HEAD}{root}"));
        assert!(e.contains(says), "{bad}: {e}");
        assert!(e.contains("line 4 column"), "{bad}: {e}");
    }

    for (head, says) in [
        (
            "seed: \"\"\nnow: 2026-01-01T00:00:00Z\ndomain: contoso.com\n",
            "seed is empty",
        ),
        (
            "seed: x\nnow: yesterday\ndomain: contoso.com\n",
            "not an RFC 3339 date-time",
        ),
        (
            "seed: x\nnow: 2026-01-01T00:00:00Z\ndomain: contoso com\n",
            "not a DNS domain name",
        ),
        (
            "seed: x\nnow: 2026-01-01T00:00:00Z\ndomain: c.com\ncrl_base_url: ftp://x\n",
            "not an http:// URL",
        ),
    ] {
        let e = error(&format!(
            "{head}root: {{ subject: \"CN=R\", key: rsa-2048 }}\n"
        ));
        assert!(e.contains(says), "{e}");
        assert!(e.contains("line "), "{e}");
    }
}

#[test]
fn inconsistent_descriptions_name_the_field_and_place() {
    let root = "root: { subject: \"CN=R\", key: ecdsa-p256 }\n";
    let one = "intermediates:\n  issuing: { subject: \"CN=I\", key: ecdsa-p256 }\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "users:\n  bob: { key: rsa-2048, sign: { key: ecdsa-p256 } }\n",
            "line 6, column 8: users.bob:",
            "exclude each other",
        ),
        (
            "users:\n  bob: { mailbox: b@contoso.com }\n",
            "users.bob:",
            "has no certificate",
        ),
        (
            "users:\n  bob: { key: rsa-2048, issuer: nope }\n",
            "line 6, column 33: users.bob.issuer:",
            "no CA has the id `nope`; known CAs: root",
        ),
        (
            "intermediates:\n  a: { subject: \"CN=A\", key: rsa-2048, issuer: b }\n  b: { subject: \"CN=B\", key: rsa-2048, issuer: a }\n",
            "intermediates.a.issuer:",
            "cycle (a -> b -> a)",
        ),
        (
            "intermediates:\n  a: { subject: \"CN=A\", key: rsa-2048, issuer: a }\n",
            "intermediates.a.issuer:",
            "cycle (a -> a)",
        ),
        (
            "intermediates:\n  a: { subject: \"CN=A\", key: rsa-2048, issuer: ghost }\n",
            "intermediates.a.issuer:",
            "no CA has the id `ghost`",
        ),
        (
            "intermediates:\n  root: { subject: \"CN=A\", key: rsa-2048 }\n",
            "intermediates.root:",
            "root CA's id",
        ),
        (
            "users:\n  Bob: { key: rsa-2048 }\n",
            "users.Bob:",
            "not a usable id",
        ),
        (
            "users:\n  ../x: { key: rsa-2048 }\n",
            "users.../x:",
            "not a usable id",
        ),
        (
            "users:\n  bob: { sign: { key: rsa-2048 } }\n  bob-sign: { key: rsa-2048 }\n",
            "users.bob-sign:",
            "taken twice",
        ),
        (
            "intermediates:\n  a: { subject: \"CN=A\", key: rsa-2048 }\n  b: { subject: \"CN=B\", key: rsa-2048 }\nusers:\n  u: { key: rsa-2048 }\n",
            "users.u:",
            "several intermediates (a, b)",
        ),
        (
            "users:\n  u: { key: rsa-2048, valid: 826d }\n",
            "users.u.valid:",
            "825 days",
        ),
        (
            "users:\n  u: { key: rsa-2048, valid: 3y }\n",
            "users.u.valid:",
            "825 days",
        ),
        (
            "users:\n  u: { key: rsa-2048, issuer: issuing, flaws: [issued-from-root] }\n",
            "users.u.issuer:",
            "contradicts",
        ),
        (
            "users:\n  u: { key: rsa-2048, flaws: [expired, not-yet-valid] }\n",
            "users.u.flaws:",
            "contradict",
        ),
        (
            "intermediates:\n  i: { subject: \"CN=I\", key: rsa-2048, flaws: [san-mismatch] }\n",
            "intermediates.i.flaws:",
            "does not apply",
        ),
        ("revoked: [ghost]\n", "revoked[0]:", "`ghost` is not a user"),
        ("revoked: [root]\n", "revoked[0]:", "cannot be revoked"),
        (
            "users:\n  u: { encrypt: { key: rsa-2048 }, non_repudiation: true }\n",
            "users.u.non_repudiation:",
            "signing usage",
        ),
    ];
    for (tail, field, says) in cases {
        let yaml = if tail.contains("issuer: issuing") {
            format!("{HEAD}{root}{one}{tail}")
        } else {
            format!("{HEAD}{root}{tail}")
        };
        let e = error(&yaml);
        assert!(e.contains(field), "expected {field:?} in: {e}");
        assert!(e.contains(says), "expected {says:?} in: {e}");
    }
}

#[test]
fn garbage_never_panics() {
    for yaml in [
        "",
        "[]",
        "seed: [1, 2]",
        ":\n:\n",
        "seed: x\nnow: 2026-01-01T00:00:00Z\ndomain: c.com\nroot: 5\n",
        "seed: x\nnow: 9999-12-31T23:59:59Z\ndomain: c.com\nroot: { subject: \"CN=R\", key: ecdsa-p256 }\n",
        "seed: x\nnow: 1971-01-01T00:00:00Z\ndomain: c.com\nroot: { subject: \"CN=R\", key: ecdsa-p256, flaws: [expired], valid: 100y }\n",
        "seed: x\nnow: 1950-01-01T00:00:00Z\ndomain: c.com\nroot: { subject: \"CN=R\", key: ecdsa-p256 }\n",
        "seed: x\nnow: 2026-01-01T00:00:00.5Z\ndomain: c.com\nroot: { subject: \"CN=R\", key: ecdsa-p256 }\n",
        "seed: x\nnow: 2026-01-01T00:00:00Z\ndomain: c.com\nroot: { subject: \"CN=R\", key: ecdsa-p256 }\nusers: { a: { key: rsa-2048, mailbox: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@c.com } }\n",
        "seed: x\nnow: 2026-01-01T00:00:00Z\ndomain: c.com\nroot: { subject: \"CN=R\", key: ecdsa-p256 }\nusers: { \"\": { key: rsa-2048 } }\n",
    ] {
        assert!(
            parse_description(yaml, "x")
                .and_then(|d| build(&d))
                .is_err(),
            "accepted {yaml:?}"
        );
    }
}

#[test]
fn odd_distinguished_names_are_errors_not_panics() {
    for subject in [
        "",
        "CN",
        "=",
        ",",
        "CN=#",
        "CN=#0",
        "CN=#zz",
        r"CN=\",
        r"CN=\4",
        r"CN=\\",
        "+",
        "CN=a+",
        "1.2=#zz",
        "CN=a,,O=b",
        "X=y",
        r#"CN=\""#,
        "CN=a\u{0}b",
    ] {
        let yaml = format!(
            "{HEAD}root: {{ subject: {}, key: ecdsa-p256 }}\n",
            serde_json::to_string(subject).unwrap()
        );
        // Whatever x509-cert makes of it, the answer is a value or an error, never a panic.
        let _ = parse_description(&yaml, "x").and_then(|d| build(&d));
    }
    assert!(
        error(&format!(
            "{HEAD}root: {{ subject: \"\", key: ecdsa-p256 }}\n"
        ))
        .contains("subject")
    );
}

/// Planning follows each issuer once and finds a taken id by lookup: a chain of 3,000
/// intermediates and 30,000 users are checked (a walk per intermediate was cubic in the chain,
/// the clash check quadratic in the users; 30,000 users in one description is near what the
/// YAML reader's 250,000-node budget lets a file hold), the chain keeps its order and path
/// lengths, and a clash or a cycle at the very end is still found.
#[test]
fn a_long_chain_and_thirty_thousand_users_plan() {
    const CHAIN: usize = 3_000;
    const USERS: usize = 30_000;
    let mut yaml =
        format!("{HEAD}root: {{ subject: \"CN=R\", key: ecdsa-p256 }}\nintermediates:\n");
    for n in 0..CHAIN {
        let issuer = match n {
            0 => String::new(),
            _ => format!(", issuer: c{:04}", n - 1),
        };
        yaml.push_str(&format!(
            "  c{n:04}: {{ subject: \"CN=C{n}\", key: ecdsa-p256{issuer} }}\n"
        ));
    }
    let with_users = |extra: &str| {
        let mut text = yaml.clone();
        text.push_str("users:\n");
        for n in 0..USERS {
            text.push_str(&format!(
                "  u{n:06}: {{ key: ecdsa-p256, issuer: c{:04} }}\n",
                CHAIN - 1
            ));
        }
        text.push_str(extra);
        text
    };
    let description = parse_description(&with_users(""), "test.yaml").unwrap();
    let planned = plan::plan(&description).unwrap();
    assert_eq!(planned.entities.len(), 1 + CHAIN + USERS);
    let chain: Vec<(&str, Option<u8>)> = planned.entities[1..=CHAIN]
        .iter()
        .map(|e| (e.id.as_str(), e.path_len))
        .collect();
    assert_eq!(chain[0].0, "c0000");
    assert_eq!(chain[CHAIN - 1], ("c2999", Some(0)));
    assert_eq!(chain[CHAIN - 2], ("c2998", Some(1)));
    assert_eq!(chain[CHAIN - 256], ("c2744", Some(255)));
    // Deeper than pathLenConstraint's u8 reaches: the figure stays at its largest.
    assert_eq!(chain[0].1, Some(u8::MAX));
    assert_eq!(planned.entities[CHAIN + 1].issuer, "c2999");

    let clash = with_users(&format!(
        "  c0001: {{ key: ecdsa-p256, issuer: c{:04} }}\n",
        CHAIN - 1
    ));
    let e = parse_description(&clash, "test.yaml")
        .and_then(|d| check(&d))
        .unwrap_err();
    assert!(
        e.to_string().contains("already an intermediate CA's id"),
        "{e}"
    );
    let twice = with_users(&format!(
        "  u{USERS:06}-sign: {{ key: ecdsa-p256, issuer: c{:04} }}\n  u{USERS:06}: {{ sign: {{ key: ecdsa-p256 }}, encrypt: {{ key: ecdsa-p256 }}, issuer: c{:04} }}\n",
        CHAIN - 1,
        CHAIN - 1
    ));
    let e = parse_description(&twice, "test.yaml")
        .and_then(|d| check(&d))
        .unwrap_err();
    assert!(e.to_string().contains("taken twice"), "{e}");

    // The chain closed into a cycle at its far end.
    let cycle = yaml.replacen(
        "c0000: { subject: \"CN=C0\", key: ecdsa-p256 }",
        &format!(
            "c0000: {{ subject: \"CN=C0\", key: ecdsa-p256, issuer: c{:04} }}",
            CHAIN - 1
        ),
        1,
    );
    let e = parse_description(&cycle, "test.yaml")
        .and_then(|d| check(&d))
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("intermediates.c0000.issuer"), "{text}");
    assert!(
        text.contains("go round in a cycle (c0000 -> c2999 -> c2998"),
        "{text}"
    );
}

#[test]
fn the_schema_documents_every_field() {
    let schema = serde_json::to_string(&description_schema()).unwrap();
    for text in [
        "Seed for every random choice",
        "The issuing clock",
        "Deliberate defects",
        "no-email-protection-eku",
        "additionalProperties",
        "crl_base_url",
    ] {
        assert!(schema.contains(text), "schema lacks {text:?}");
    }
}

#[test]
fn crl_version_is_per_ca_and_only_one_or_two() {
    let yaml = format!(
        "{HEAD}root: {{ subject: \"CN=R\", key: ecdsa-p256, crl_version: 2 }}\n\
         intermediates:\n  issuing: {{ subject: \"CN=I\", key: ecdsa-p256, crl_version: 1 }}\n\
         users:\n  eve: {{ key: ecdsa-p256 }}\nrevoked: [eve]\n"
    );
    let pki = built(&yaml);
    // RFC 5280 §5.1.2.1: v1 has no version field, so TBSCertList opens with the signature
    // AlgorithmIdentifier (a SEQUENCE); v2 opens with INTEGER 1.
    let tbs_start = |ca: &str| {
        let der = &pki.crl(ca).unwrap().der;
        let outer = der::asn1::AnyRef::try_from(der.as_slice()).unwrap();
        let tbs = first_tlv(outer.value());
        tbs.value()[..3].to_vec()
    };
    assert_eq!(tbs_start("issuing")[0], 0x30);
    assert_eq!(tbs_start("root"), [0x02, 0x01, 0x01]);
    assert_eq!(pki.crl("issuing").unwrap().revoked, ["eve"]);

    let e = error(&format!(
        "{HEAD}root: {{ subject: \"CN=R\", key: ecdsa-p256, crl_version: 3 }}\n"
    ));
    assert!(e.contains("crl_version 3 does not exist"), "{e}");
    assert!(e.contains("line 4"), "{e}");
}

/// The first TLV in `bytes` (the rest is left unread).
fn first_tlv(bytes: &[u8]) -> der::asn1::AnyRef<'_> {
    let mut reader = der::SliceReader::new(bytes).unwrap();
    der::Decode::decode(&mut reader).unwrap()
}
