//! `POST /lab/owa/{tenant}/validate` over HTTP with the lab PKI (`fixtures/pki/default`: root,
//! issuing CA, alice, carol, eve revoked): messages signed here at the PKI's clock, CRLs served by
//! a small HTTP server of the tests (`common::owa`) that the tenant reaches through its CRL host map, and the
//! Set-SmimeConfig settings that change the outcome (OWADisableCRLCheck, OWACRLConnectionTimeout,
//! OWACRLRetrievalTimeout, OWACheckCRLOnSend).

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use crl::HostMap;

use common::owa::*;
use common::*;
use serde_json::{Value, json};
use smime::cms::envelope::{EncryptOptions, Recipient};
use smime::cms::path::CRL_OFFLINE_TEXT;
use smime::cms::{SignOptions, Signer};

fn signer(name: &str) -> Signer {
    Signer {
        certificate: certificate(name),
        key: smime::key::PrivateKey::from_pem_or_der(&pki(&format!("{name}.key.pem")))
            .expect("key"),
        chain: vec![certificate("issuing")],
        encryption_certificate: None,
    }
}

fn plain_message(from: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: carol@contoso.com\r\nSubject: quarterly figures\r\n\
         Date: Thu, 01 Jan 2026 09:00:00 +0000\r\nMessage-ID: <owa-validation.1@contoso.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         The figures are in.\r\n"
    )
    .into_bytes()
}

/// A clear-signed message from `name`@contoso.com, signed at the PKI's clock.
fn signed_by(name: &str) -> Vec<u8> {
    let mut rng = smime::rng::seeded(&format!("owa-validation/{name}/signed"));
    smime::cms::sign_message(
        &plain_message(&format!("{name}@contoso.com")),
        &signer(name),
        &SignOptions::new(at(PKI_NOW)),
        &mut rng,
    )
    .expect("sign")
}

/// Signed by alice, then encrypted to carol (as Outlook sends).
fn alice_to_carol_encrypted() -> Vec<u8> {
    let mut rng = smime::rng::seeded("owa-validation/alice/encrypted");
    smime::cms::sign_then_encrypt(
        &plain_message("alice@contoso.com"),
        &signer("alice"),
        &SignOptions::new(at(PKI_NOW)),
        &[Recipient::new(certificate("carol"))],
        &EncryptOptions::default(),
        &mut rng,
    )
    .expect("sign and encrypt")
}

fn validate_raw(lab: &Lab, body: &[u8]) -> Response {
    http(
        lab.addr,
        "POST",
        &format!("/lab/owa/{TENANT}/validate"),
        &[
            ("Content-Type", "application/json"),
            ("X-Lab-Secret", LAB_SECRET),
        ],
        body,
    )
}

/// A validation that must answer 200; returns the body.
fn validate(lab: &Lab, body: Value) -> Value {
    let response = validate_raw(lab, body.to_string().as_bytes());
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

fn message_request(message: &[u8]) -> Value {
    json!({ "message": b64(message) })
}

fn identity(name: &str) -> Value {
    json!({ "pkcs12": b64(&pki(&format!("{name}.p12"))), "password": P12_PASSWORD })
}

#[test]
fn alice_is_valid_with_the_crl_fetched_through_the_host_map() {
    let server = CrlServer::start(false);
    let lab = tenant_with(server.hosts());
    configure(&lab, json!({}));
    // The runner sends a bearer token; it is accepted, not required.
    let response = http(
        lab.addr,
        "POST",
        &format!("/lab/owa/{TENANT}/validate"),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer anything"),
            ("X-Lab-Secret", LAB_SECRET),
        ],
        message_request(&signed_by("alice")).to_string().as_bytes(),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    assert_eq!(body["status"], "valid", "{body:#}");
    assert_eq!(body["weak"], false);
    assert_eq!(body["opened"]["status"], "valid");
    assert_eq!(body["opened"]["layers"][0]["kind"], "signed");
    assert_eq!(
        body["opened"]["signer"]["mailboxes"],
        json!(["alice@contoso.com"])
    );
    assert!(body.get("certificate").is_none() && body.get("sendAllowed").is_none());
    assert_eq!(body["crl"]["check"], "checked");
    let fetches = body["crl"]["fetches"].as_array().expect("fetches");
    assert_eq!(fetches.len(), 1, "{body:#}");
    assert_eq!(fetches[0]["url"], ISSUING_CRL);
    assert_eq!(fetches[0]["fetched"], true);
    assert_eq!(fetches[0]["error"], Value::Null);
    assert!(fetches[0]["elapsedMs"].is_u64());
    assert_eq!(server.requests(), ["GET /crl/issuing.crl HTTP/1.0"]);
}

#[test]
fn eve_is_revoked() {
    let server = CrlServer::start(false);
    let lab = tenant_with(server.hosts());
    configure(&lab, json!({}));
    let body = validate(&lab, message_request(&signed_by("eve")));
    assert_eq!(body["status"], "revoked", "{body:#}");
    assert_eq!(body["crl"]["fetches"][0]["fetched"], true);
}

#[test]
fn a_crl_server_that_is_down_is_exchanges_offline_crl() {
    let lab = tenant_with(down_hosts());
    configure(&lab, json!({}));
    let body = validate(&lab, message_request(&signed_by("alice")));
    assert_eq!(body["status"], "crl-unreachable", "{body:#}");
    let reason = body["reasons"][0].as_str().expect("a reason");
    assert!(reason.contains(CRL_OFFLINE_TEXT), "{reason}");
    let fetch = &body["crl"]["fetches"][0];
    assert_eq!(fetch["url"], ISSUING_CRL);
    assert_eq!(fetch["fetched"], false);
    assert!(
        fetch["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot connect")),
        "{fetch}"
    );
}

#[test]
fn owa_disable_crl_check_fetches_nothing() {
    let lab = tenant_with(down_hosts());
    configure(&lab, json!({"OWADisableCRLCheck": true}));
    let body = validate(&lab, message_request(&signed_by("alice")));
    assert_eq!(body["status"], "valid", "{body:#}");
    assert_eq!(body["crl"]["check"], "disabled");
    assert_eq!(body["crl"]["fetches"], json!([]));
    // Even eve passes: revocation is not checked at all.
    let body = validate(&lab, message_request(&signed_by("eve")));
    assert_eq!(body["status"], "valid", "{body:#}");
}

#[test]
fn a_silent_crl_server_ends_at_the_retrieval_timeout() {
    let server = CrlServer::start(true);
    let lab = tenant_with(server.hosts());
    // Each connection may wait the default 60 s; all CRLs together 300 ms.
    configure(&lab, json!({"OWACRLRetrievalTimeout": 300}));
    let body = validate(&lab, message_request(&signed_by("alice")));
    assert_eq!(body["status"], "crl-unreachable", "{body:#}");
    let error = body["crl"]["fetches"][0]["error"].as_str().expect("error");
    assert!(error.contains("retrieval time limit of 300 ms"), "{error}");
}

#[test]
fn a_silent_crl_server_ends_at_the_connection_timeout() {
    let server = CrlServer::start(true);
    let lab = tenant_with(server.hosts());
    configure(&lab, json!({"OWACRLConnectionTimeout": 200}));
    let body = validate(&lab, message_request(&signed_by("alice")));
    assert_eq!(body["status"], "crl-unreachable", "{body:#}");
    let error = body["crl"]["fetches"][0]["error"].as_str().expect("error");
    assert!(error.contains("no answer within 200 ms"), "{error}");
}

#[test]
fn without_an_imported_sst_nothing_is_trusted() {
    let server = CrlServer::start(false);
    let lab = tenant_with(server.hosts());
    let body = validate(&lab, message_request(&signed_by("alice")));
    assert_eq!(body["status"], "untrusted", "{body:#}");
    assert_eq!(body["crl"]["check"], "none-needed");
    assert!(
        body["reasons"]
            .as_array()
            .expect("reasons")
            .iter()
            .any(|r| r
                .as_str()
                .is_some_and(|r| r.contains("SMIMECertificateIssuingCA"))),
        "{body:#}"
    );
    assert!(server.requests().is_empty());
}

#[test]
fn an_encrypted_message_opens_with_the_readers_identity() {
    let server = CrlServer::start(false);
    let lab = tenant_with(server.hosts());
    configure(&lab, json!({}));
    let message = alice_to_carol_encrypted();

    // alice's identity is not a recipient; carol's is, and is the one used.
    let body = validate(
        &lab,
        json!({
            "message": b64(&message),
            "decryption": [identity("alice"), identity("carol")]
        }),
    );
    assert_eq!(body["status"], "valid", "{body:#}");
    let layers = body["opened"]["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 2, "{body:#}");
    assert_eq!(layers[0]["kind"], "encrypted");
    assert_eq!(layers[0]["decrypted"], true);
    assert_eq!(layers[1]["kind"], "signed");
    assert_eq!(body["crl"]["fetches"][0]["url"], ISSUING_CRL);

    let body = validate(&lab, message_request(&message));
    assert_eq!(body["status"], "encrypted", "{body:#}");
    assert_eq!(body["crl"]["check"], "none-needed");

    let body = validate(
        &lab,
        json!({ "message": b64(&message), "decryption": [identity("alice")] }),
    );
    assert_eq!(body["status"], "cannot-decrypt", "{body:#}");
}

fn send_request(name: &str) -> Value {
    json!({ "certificate": b64(&certificate_der(name)), "purpose": "send" })
}

#[test]
fn sending_with_the_crl_offline_depends_on_owa_check_crl_on_send() {
    let lab = tenant_with(down_hosts());
    configure(&lab, json!({"OWACheckCRLOnSend": true}));
    let body = validate(&lab, send_request("alice"));
    assert_eq!(body["status"], "crl-unreachable", "{body:#}");
    assert_eq!(body["sendAllowed"], false);
    assert_eq!(body["certificate"]["subject"], "CN=alice@contoso.com");
    assert!(body.get("opened").is_none());

    configure(&lab, json!({"OWACheckCRLOnSend": false}));
    let body = validate(&lab, send_request("alice"));
    assert_eq!(body["status"], "crl-unreachable", "{body:#}");
    assert_eq!(body["sendAllowed"], true);
}

#[test]
fn sending_with_the_crl_online() {
    let server = CrlServer::start(false);
    let lab = tenant_with(server.hosts());
    configure(&lab, json!({"OWACheckCRLOnSend": true}));
    let body = validate(&lab, send_request("alice"));
    assert_eq!(body["status"], "valid", "{body:#}");
    assert_eq!(body["sendAllowed"], true);
    assert_eq!(body["crl"]["check"], "checked");
    let body = validate(&lab, send_request("eve"));
    assert_eq!(body["status"], "revoked", "{body:#}");
}

fn encrypt_request(name: &str) -> Value {
    json!({ "certificate": b64(&certificate_der(name)), "purpose": "encrypt" })
}

/// "In Exchange Online only the SST will be used for validation": a recipient's certificate is
/// encrypted to only when its path to the SST validates and it is not revoked.
#[test]
fn a_recipients_certificate_is_encrypted_to_only_when_it_validates() {
    let server = CrlServer::start(false);
    let lab = tenant_with(server.hosts());
    configure(&lab, json!({}));
    let body = validate(&lab, encrypt_request("carol"));
    assert_eq!(body["status"], "valid", "{body:#}");
    assert_eq!(body["sendAllowed"], true);
    assert_eq!(body["crl"]["check"], "checked");
    assert_eq!(body["certificate"]["subject"], "CN=carol@contoso.com");
    let body = validate(&lab, encrypt_request("eve"));
    assert_eq!(body["status"], "revoked", "{body:#}");
    assert_eq!(body["sendAllowed"], false);

    // Only the root in the SST: carol's issuing CA is missing, so she cannot be encrypted to.
    let root_only = smime::sst::write_sst(&[certificate_der("root")]).expect("SST");
    lab.ok(
        "Set-SmimeConfig",
        json!({ "SMIMECertificateIssuingCA": b64(&root_only) }),
    );
    let body = validate(&lab, encrypt_request("carol"));
    assert_eq!(body["status"], "untrusted", "{body:#}");
    assert_eq!(body["sendAllowed"], false);
    // The sender's own check does not care about trust, only the CRL.
    let body = validate(&lab, send_request("carol"));
    assert_eq!(body["status"], "untrusted", "{body:#}");
    assert_eq!(body["sendAllowed"], true);
}

/// Set-SmimeConfig -OWAUseSecondaryProxiesWhenFindingCertificates: a recipient's certificate
/// must name their primary SMTP address or, when the setting is $true (the default), one of
/// their proxy addresses. Dave's secondary proxy is carol@contoso.com, which carol's certificate
/// names; his x500: address is no mail address.
#[test]
fn a_recipients_certificate_must_name_their_primary_or_under_the_setting_a_proxy_address() {
    let server = CrlServer::start(false);
    let lab = tenant_with(server.hosts());
    configure(&lab, json!({}));
    let synced = lab.sync(json!({"cycle": "full", "objects": [{
        "sourceAnchor": "ZGF2ZQ==", "userPrincipalName": "dave@contoso.com",
        "proxyAddresses": ["SMTP:dave@contoso.com", "smtp:Carol@Contoso.com", "x500:/o=Contoso/cn=alice@contoso.com"]
    }]}));
    assert_eq!(synced.status, 200, "{}", synced.text());
    let for_recipient = |name: &str, recipient: &str| {
        let mut request = encrypt_request(name);
        request["recipient"] = json!(recipient);
        validate(&lab, request)
    };
    let body = for_recipient("carol", "dave@contoso.com");
    assert_eq!(body["status"], "valid", "{body:#}");
    assert_eq!(body["sendAllowed"], true, "{body:#}");
    assert_eq!(body["address"]["matched"], "proxy");
    assert_eq!(body["address"]["address"], "Carol@Contoso.com");
    let body = for_recipient("alice", "dave@contoso.com");
    assert_eq!(
        body["sendAllowed"], false,
        "x500: is not an SMTP proxy: {body:#}"
    );
    assert_eq!(body["address"]["matched"], "none");
    // The primary address matches whatever the setting; a recipient the tenant does not know
    // has the address it was named by and no proxies.
    let body = for_recipient("carol", "CAROL@contoso.com");
    assert_eq!(body["address"]["matched"], "primary", "{body:#}");
    assert_eq!(body["sendAllowed"], true);

    configure(
        &lab,
        json!({"OWAUseSecondaryProxiesWhenFindingCertificates": false}),
    );
    let body = for_recipient("carol", "dave@contoso.com");
    assert_eq!(body["status"], "valid", "{body:#}");
    assert_eq!(body["sendAllowed"], false, "{body:#}");
    assert_eq!(body["address"]["useSecondaryProxies"], false);
    let first = body["reasons"][0].as_str().unwrap_or_default();
    assert!(first.contains("is $false"), "{first}");
    let body = for_recipient("carol", "carol@contoso.com");
    assert_eq!(body["sendAllowed"], true, "{body:#}");
    // Without a recipient the path alone is judged, as before.
    let body = validate(&lab, encrypt_request("carol"));
    assert_eq!(body["sendAllowed"], true, "{body:#}");
    assert!(body.get("address").is_none(), "{body:#}");
}

#[test]
fn encrypting_with_the_recipients_crl_offline_depends_on_owa_check_crl_on_send() {
    let lab = tenant_with(down_hosts());
    configure(&lab, json!({"OWACheckCRLOnSend": true}));
    let body = validate(&lab, encrypt_request("carol"));
    assert_eq!(body["status"], "crl-unreachable", "{body:#}");
    assert_eq!(body["sendAllowed"], false);
    configure(&lab, json!({"OWACheckCRLOnSend": false}));
    let body = validate(&lab, encrypt_request("carol"));
    assert_eq!(body["status"], "crl-unreachable", "{body:#}");
    assert_eq!(body["sendAllowed"], true);
}

#[test]
fn bad_requests_are_400_naming_the_field() {
    let lab = tenant_with(down_hosts());
    configure(&lab, json!({}));
    let wrong_password = json!({
        "message": b64(&signed_by("alice")),
        "decryption": [{ "pkcs12": b64(&pki("carol.p12")), "password": "wrong" }]
    });
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"\x00 not json".to_vec(), "body:"),
        (br#"{"message": "not base64!"}"#.to_vec(), "message:"),
        (br#"{}"#.to_vec(), "message:"),
        (
            json!({"message": "QUJD", "certificate": "QUJD", "purpose": "send"})
                .to_string()
                .into_bytes(),
            "certificate:",
        ),
        (br#"{"message": "QUJD", "sender": "x"}"#.to_vec(), "sender:"),
        (
            json!({"certificate": b64(&certificate_der("carol")), "purpose": "send", "recipient": "a@b.c"})
                .to_string()
                .into_bytes(),
            "recipient:",
        ),
        (
            wrong_password.to_string().into_bytes(),
            "decryption[0].pkcs12:",
        ),
        (
            json!({"certificate": b64(&certificate_der("alice"))})
                .to_string()
                .into_bytes(),
            "purpose:",
        ),
        (
            json!({"certificate": b64(&certificate_der("alice")), "purpose": "sign"})
                .to_string()
                .into_bytes(),
            "purpose:",
        ),
        (
            json!({"certificate": b64(b"not DER"), "purpose": "send"})
                .to_string()
                .into_bytes(),
            "certificate:",
        ),
    ];
    for (body, field) in cases {
        let response = validate_raw(&lab, &body);
        assert_eq!(response.status, 400, "{}", response.text());
        let json = response.json();
        assert_eq!(json["error"]["code"], "BadRequest");
        let message = json["error"]["message"].as_str().expect("message");
        assert!(message.starts_with(field), "{field}: {message}");
    }
    let other = http(
        lab.addr,
        "POST",
        "/lab/owa/fabrikam.onmicrosoft.com/validate",
        &[("X-Lab-Secret", LAB_SECRET)],
        message_request(b"x").to_string().as_bytes(),
    );
    assert_eq!(other.status, 404);
    assert_eq!(other.json()["error"]["code"], "TenantNotFound");
}

/// `p12` (DER, password integrity) with its MAC's iteration count replaced: the count is outside
/// the MAC, so the file still reads up to the point where the MAC is computed.
fn with_mac_iterations(p12: &[u8], iterations: u32) -> Vec<u8> {
    /// Tag, content start, content end of the TLV at `at`.
    fn element(bytes: &[u8], at: usize) -> (u8, usize, usize) {
        let first = bytes[at + 1];
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            let len = bytes[at + 2..at + 2 + n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + n)
        };
        (bytes[at], at + header, at + header + len)
    }
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend_from_slice(&bytes);
        }
        out.extend_from_slice(content);
        out
    }
    let (_, start, end) = element(p12, 0);
    let mut children = Vec::new();
    let mut at = start;
    while at < end {
        let (_, _, child_end) = element(p12, at);
        children.push(&p12[at..child_end]);
        at = child_end;
    }
    let [version, auth_safe, mac_data] = children[..] else {
        panic!("a PFX with a MAC has three parts");
    };
    let (_, mac_start, mac_end) = element(mac_data, 0);
    let (_, _, digest_end) = element(mac_data, mac_start);
    let (_, _, salt_end) = element(mac_data, digest_end);
    assert_eq!(
        element(mac_data, salt_end).2,
        mac_end,
        "iterations end MacData"
    );
    // Minimal two's-complement INTEGER content, as DER wants it.
    let mut count: Vec<u8> = iterations
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    if count.first().is_none_or(|b| b & 0x80 != 0) {
        count.insert(0, 0);
    }
    let mut mac_content = mac_data[mac_start..salt_end].to_vec();
    mac_content.extend(tlv(0x02, &count));
    let mut pfx = version.to_vec();
    pfx.extend_from_slice(auth_safe);
    pfx.extend(tlv(0x30, &mac_content));
    tlv(0x30, &pfx)
}

#[test]
fn identities_and_key_derivation_per_request_are_bounded() {
    let lab = tenant_with(HostMap::default());
    configure(&lab, json!({"OWADisableCRLCheck": true}));
    let message = signed_by("alice");

    // One identity too many: refused before any file is opened.
    let many = vec![identity("alice"); tenant::validation::MAX_IDENTITIES + 1];
    let response = validate_raw(
        &lab,
        json!({ "message": b64(&message), "decryption": many })
            .to_string()
            .as_bytes(),
    );
    assert_eq!(response.status, 400, "{}", response.text());
    let error = &response.json()["error"];
    assert_eq!(error["code"], "LimitExceeded");
    let text = error["message"].as_str().unwrap();
    assert!(
        text.starts_with("decryption: 17 identities") && text.contains("at most 16"),
        "{text}"
    );
    // As many as allowed is fine (each lab file costs 3 x 2048 iterations).
    let allowed = vec![identity("alice"); tenant::validation::MAX_IDENTITIES];
    let body = validate(
        &lab,
        json!({ "message": b64(&message), "decryption": allowed }),
    );
    assert_eq!(body["status"], "valid", "{body:#}");

    // A file whose MAC alone asks for more than the request may spend (and less than the
    // per-file ceiling): refused before the derivation runs, naming the field and the limit.
    let greedy = with_mac_iterations(&pki("alice.p12"), 5_000_000);
    let response = validate_raw(
        &lab,
        json!({
            "message": b64(&message),
            "decryption": [identity("alice"), { "pkcs12": b64(&greedy), "password": P12_PASSWORD }]
        })
        .to_string()
        .as_bytes(),
    );
    assert_eq!(response.status, 400, "{}", response.text());
    let error = &response.json()["error"];
    assert_eq!(error["code"], "LimitExceeded");
    let text = error["message"].as_str().unwrap();
    assert!(
        text.starts_with(
            "decryption[1].pkcs12: exceeds the request's key-derivation limit of 4000000"
        ),
        "{text}"
    );
    // The patch itself is sound: with the file's own count it gives back the file.
    assert_eq!(
        with_mac_iterations(&pki("alice.p12"), 2048),
        pki("alice.p12")
    );
}

/// OWASignedEmailCertificateInclusion `$false`: "Recipients need to retrieve the certificate
/// from a directory, or from the sender." A signature whose signer's certificate the message
/// does not carry is checked with the certificates published for its From address.
#[test]
fn a_signers_certificate_the_message_does_not_carry_is_taken_from_the_directory() {
    let lab = tenant_with(down_hosts());
    configure(&lab, json!({ "OWADisableCRLCheck": true }));
    let mut options = SignOptions::new(at(PKI_NOW));
    options.own_certificates = smime::cms::OwnCertificates::Neither;
    let message = smime::cms::sign_message(
        &plain_message("alice@contoso.com"),
        &signer("alice"),
        &options,
        &mut smime::rng::seeded("owa-validation/alice/uncarried"),
    )
    .expect("sign");
    // Alice is not in the directory yet: nothing to check the signature with.
    let before = validate(&lab, message_request(&message));
    assert_eq!(before["status"], "untrusted", "{before}");
    assert!(
        before["reasons"].to_string().contains("not in the message"),
        "{before}"
    );
    // Entra Connect exports her with her certificate: her From address finds it.
    let response = lab.sync(json!({
        "cycle": "full",
        "objects": [{
            "sourceAnchor": "QUxJQ0U=",
            "userPrincipalName": "alice@contoso.com",
            "userCertificate": [b64(&certificate_der("alice"))],
        }]
    }));
    assert_eq!(response.status, 200, "{}", response.text());
    let after = validate(&lab, message_request(&message));
    assert_eq!(after["status"], "valid", "{after}");
    // Carol's published certificate does not vouch for a message whose From is Alice.
    let from_carol = smime::cms::sign_message(
        &plain_message("carol@contoso.com"),
        &signer("alice"),
        &options,
        &mut smime::rng::seeded("owa-validation/alice/uncarried"),
    )
    .expect("sign");
    let wrong = validate(&lab, message_request(&from_carol));
    assert_eq!(wrong["status"], "untrusted", "{wrong}");
}
