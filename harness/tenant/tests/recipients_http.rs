//! Recipients over HTTP: the sync import (15 vs 16 certificates, both rule sets), Get-Mailbox /
//! Get-Recipient with their certificates, Set-Mailbox on cloud-only and synced users, paging
//! with @odata.nextLink, ResultSize, $select, and Outlook's certificate lookup order.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

fn distinct_certs(dir: &std::path::Path, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            b64(&openssl_cert(
                dir,
                &format!("user{i}"),
                "ec",
                3650,
                &["extendedKeyUsage=emailProtection"],
            ))
        })
        .collect()
}

fn path_of(link: &str) -> String {
    let after_scheme = link.split_once("://").map(|(_, rest)| rest).unwrap_or(link);
    after_scheme[after_scheme.find('/').unwrap()..].to_owned()
}

#[test]
fn sync_takes_fifteen_certificates_and_handles_sixteen_by_the_rules() {
    let lab = Lab::start();
    let work = tempfile::tempdir().unwrap();
    let certs = distinct_certs(work.path(), 16);
    let fifteen = &certs[..15];

    let response = lab.sync(json!({
        "cycle": "full",
        "objects": [
            {"sourceAnchor": "QUxJQ0U=", "userPrincipalName": "alice@contoso.com", "displayName": "Alice", "userCertificate": fifteen},
            {"sourceAnchor": "Qk9C", "userPrincipalName": "bob@contoso.com", "userCertificate": certs, "userSMIMECertificate": [certs[0]]},
        ]
    }));
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let result = response.json();
    assert_eq!(result["rules"], "1.1.524.0");
    assert_eq!(result["objects"][0]["action"], "add");
    assert_eq!(result["objects"][0]["exported"]["userCertificate"], 15);
    assert_eq!(result["objects"][1]["action"], "add");
    assert_eq!(result["objects"][1]["exported"]["userCertificate"], 0);
    assert_eq!(result["objects"][1]["exported"]["userSMIMECertificate"], 1);
    assert!(
        result["objects"][1]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("AuthoritativeNull")
    );

    let alice = &lab.ok("Get-Mailbox", json!({"Identity": "alice@contoso.com"}))["value"][0];
    assert_eq!(alice["UserCertificate"].as_array().unwrap().len(), 15);
    assert_eq!(alice["UserCertificate@odata.type"], "#Collection(String)");
    assert_eq!(alice["UserCertificate"][0], certs[0]);
    assert_eq!(alice["IsDirSynced"], true);
    assert_eq!(alice["DisplayName"], "Alice");
    let bob = &lab.ok("Get-Recipient", json!({"Identity": "bob"}))["value"][0];
    assert_eq!(bob["UserCertificate"], json!([]));
    assert_eq!(bob["UserSMimeCertificate"], json!([certs[0]]));

    // Before 1.1.524.0: LargeObject, and nothing of that object is exported.
    let legacy = Lab::start();
    let response = legacy.sync(json!({
        "cycle": "full",
        "legacyRules": true,
        "objects": [
            {"sourceAnchor": "QUxJQ0U=", "userPrincipalName": "alice@contoso.com", "userCertificate": fifteen},
            {"sourceAnchor": "Qk9C", "userPrincipalName": "bob@contoso.com", "userCertificate": certs},
        ]
    }));
    assert_eq!(response.status, 200);
    let result = response.json();
    assert_eq!(result["rules"], "legacy");
    assert_eq!(result["objects"][0]["action"], "add");
    assert_eq!(result["objects"][1]["action"], "error");
    assert_eq!(result["objects"][1]["error"]["code"], "LargeObject");
    assert_eq!(
        result["objects"][1]["error"]["message"],
        "The provisioned object is too large. Trim the number of attribute values on this \
         object. The operation will be retried in the next synchronization cycle."
    );
    let response = legacy.invoke("Get-Mailbox", json!({"Identity": "bob@contoso.com"}));
    assert_eq!(response.status, 404);

    // Malformed exports change nothing.
    let response = lab.sync(json!({"cycle": "delta", "objects": [{"sourceAnchor": "Qk9C", "userCertificate": ["not base64!"]}]}));
    assert_eq!(response.status, 400);
    assert!(
        response.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("userCertificate[0]")
    );
    let response = lab.sync(json!({"cycle": "weekly", "objects": []}));
    assert_eq!(response.status, 400);
    let response = lab.lab("POST", &format!("/lab/sync/{TENANT}/export"), b"{{");
    assert_eq!(response.status, 400);
}

#[test]
fn set_mailbox_changes_cloud_only_users_and_refuses_synced_ones() {
    let lab = Lab::start_with(|c| c.users = vec!["carol@contoso.com".into()]);
    let alice = vector_der("rfc9216/alice.encrypt.crt");
    lab.ok(
        "Set-Mailbox",
        json!({"Identity": "carol", "UserCertificate": [b64(&alice)]}),
    );
    let carol = &lab.ok("Get-Mailbox", json!({"Identity": "carol@contoso.com"}))["value"][0];
    assert_eq!(carol["UserCertificate"], json!([b64(&alice)]));
    assert_eq!(carol["IsDirSynced"], false);
    lab.ok("Set-Mailbox", json!({"Identity": "carol", "UserCertificate": {"Remove": [b64(&alice)]}, "UserSMimeCertificate": {"Add": [b64(&alice)]}}));
    let carol = &lab.ok("Get-Mailbox", json!({"Identity": "carol"}))["value"][0];
    assert_eq!(carol["UserCertificate"], json!([]));
    assert_eq!(carol["UserSMimeCertificate"], json!([b64(&alice)]));

    lab.sync(json!({"cycle": "delta", "objects": [{"sourceAnchor": "REFWRQ==", "userPrincipalName": "dave@contoso.com"}]}));
    let response = lab.invoke(
        "Set-Mailbox",
        json!({"Identity": "dave@contoso.com", "UserCertificate": [b64(&alice)]}),
    );
    assert_eq!(response.status, 400);
    assert_eq!(
        response.exo_message(),
        "The operation on mailbox \"dave\" failed because it's out of the current user's write \
         scope. The action 'Set-Mailbox', 'UserCertificate', can't be performed on the object \
         'dave' because the object is being synchronized from your on-premises organization. \
         This action should be performed on the object in your on-premises organization."
    );
    let response = lab.invoke(
        "Set-Mailbox",
        json!({"Identity": "nobody", "UserCertificate": []}),
    );
    assert_eq!(response.status, 404);
    let response = lab.invoke(
        "Set-Mailbox",
        json!({"Identity": "*@contoso.com", "UserCertificate": []}),
    );
    assert_eq!(response.status, 400);
    assert!(response.exo_message().contains("matches multiple entries"));
}

#[test]
fn output_pages_through_next_links_and_result_size_warns() {
    let users: Vec<String> = ["erin", "alice", "dave", "bob", "carol"]
        .iter()
        .map(|u| format!("{u}@contoso.com"))
        .collect();
    let lab = Lab::start_with(|c| c.users = users.clone());
    let token = lab.token();
    let auth = format!("Bearer {token}");

    let first = lab.invoke_with(
        &token,
        "Get-Recipient",
        json!({}),
        &[("Prefer", "odata.maxpagesize=2")],
    );
    assert_eq!(first.status, 200);
    assert!(
        first
            .header("Content-Type")
            .unwrap()
            .starts_with("application/json;odata.metadata=minimal")
    );
    let mut body = first.json();
    let mut names: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        names.extend(
            body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["Name"].as_str().unwrap().to_owned()),
        );
        let Some(link) = body["@odata.nextLink"].as_str() else {
            break;
        };
        assert!(link.contains("InvokeCommand?%24skiptoken="), "{link}");
        // Clients follow the link with GET, or POST the original body again: both work.
        let (method, payload): (&str, &[u8]) = if pages % 2 == 1 {
            ("GET", b"")
        } else {
            ("POST", b"{\"ignored\":true}")
        };
        let next = http(
            lab.addr,
            method,
            &path_of(link),
            &[("Authorization", &auth)],
            payload,
        );
        assert_eq!(next.status, 200, "{}", String::from_utf8_lossy(&next.body));
        body = next.json();
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["alice", "bob", "carol", "dave", "erin"]);

    // The server page size applies without a Prefer header.
    let small = Lab::start_with(|c| {
        c.users = users.clone();
        c.page_size = 4;
    });
    let body = small.ok("Get-Mailbox", json!({"ResultSize": "Unlimited"}));
    assert_eq!(body["value"].as_array().unwrap().len(), 4);
    assert!(body["@odata.nextLink"].is_string());

    // ResultSize cuts, and says so.
    let body = lab.ok("Get-Mailbox", json!({"ResultSize": 3}));
    assert_eq!(body["value"].as_array().unwrap().len(), 3);
    assert_eq!(
        body["@adminapi.warnings"],
        json!([
            "There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter."
        ])
    );
    assert!(body.get("@odata.nextLink").is_none());
    let body = lab.ok("Get-Mailbox", json!({}));
    assert_eq!(body["@adminapi.warnings"], json!([]));

    // $select keeps the named properties.
    let selected = http(
        lab.addr,
        "POST",
        &format!("/adminapi/beta/{TENANT}/InvokeCommand?%24select=Name,UserCertificate"),
        &[("Authorization", &auth)],
        json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": "alice"}}})
            .to_string()
            .as_bytes(),
    );
    let record = &selected.json()["value"][0];
    let mut keys: Vec<&str> = record
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["Name", "UserCertificate", "UserCertificate@odata.type"]
    );

    // A link that is not ours, or too old, is refused as Exchange refuses it.
    let bad = http(
        lab.addr,
        "GET",
        &format!("/adminapi/beta/{TENANT}/InvokeCommand?%24skiptoken=garbage"),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.exo_message(),
        "Expired or Invalid pagination request. Default Expiry time is 00:30:00"
    );
    let link = lab
        .invoke_with(
            &token,
            "Get-Recipient",
            json!({}),
            &[("Prefer", "odata.maxpagesize=2")],
        )
        .json()["@odata.nextLink"]
        .as_str()
        .unwrap()
        .to_owned();
    lab.tenant
        .clock()
        .set(tenant::Clock::Fixed(at("2030-01-01T00:31:00Z")));
    let stale = http(
        lab.addr,
        "GET",
        &path_of(&link),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(stale.status, 400);
    // A GET without a token of either kind.
    let get = http(
        lab.addr,
        "GET",
        &format!("/adminapi/beta/{TENANT}/InvokeCommand"),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(get.status, 400);
}

fn lookup(lab: &Lab, address: &str, purpose: &str) -> Value {
    let response = lab.get(&format!(
        "/lab/recipients/{address}/certificate?purpose={purpose}"
    ));
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    response.json()
}

#[test]
fn lookup_follows_outlooks_order() {
    let lab = Lab::start();
    let work = tempfile::tempdir().unwrap();
    // Expired by the tenant clock (2030): valid one day from today.
    let expired = openssl_cert(
        work.path(),
        "old",
        "rsa:2048",
        1,
        &[
            "extendedKeyUsage=emailProtection",
            "keyUsage=critical,digitalSignature,keyEncipherment",
        ],
    );
    let client_auth = openssl_cert(
        work.path(),
        "tls",
        "ec",
        3650,
        &[
            "extendedKeyUsage=clientAuth",
            "keyUsage=critical,digitalSignature,keyAgreement",
        ],
    );
    let ec_sign_only = openssl_cert(
        work.path(),
        "ecsign",
        "ec",
        3650,
        &[
            "extendedKeyUsage=emailProtection",
            "keyUsage=critical,digitalSignature",
        ],
    );
    let ec_encrypt = openssl_cert(
        work.path(),
        "ecenc",
        "ec",
        3650,
        &[
            "extendedKeyUsage=emailProtection",
            "keyUsage=critical,keyAgreement",
        ],
    );
    let alice_sign = vector_der("rfc9216/alice.sign.crt");
    let alice_encrypt = vector_der("rfc9216/alice.encrypt.crt");

    lab.sync(json!({"cycle": "full", "objects": [
        {"sourceAnchor": "Qk9C", "userPrincipalName": "bob@contoso.com",
         "userCertificate": [b64(&expired), b64(&alice_sign), b64(&alice_encrypt)]},
        {"sourceAnchor": "RUNF", "userPrincipalName": "ec@contoso.com",
         "userCertificate": [b64(&client_auth), b64(&ec_sign_only), b64(&ec_encrypt)]},
        {"sourceAnchor": "U01JTUU=", "userPrincipalName": "smime@contoso.com",
         "userCertificate": [b64(&alice_encrypt)], "userSMIMECertificate": [b64(&alice_sign)]},
        {"sourceAnchor": "Tk9ORQ==", "userPrincipalName": "none@contoso.com", "userCertificate": [b64(&expired)]},
    ]}));

    let encrypt = lookup(&lab, "bob@contoso.com", "encrypt");
    assert_eq!(encrypt["found"], true);
    assert_eq!(encrypt["chosen"]["attribute"], "userCertificate");
    assert_eq!(encrypt["chosen"]["index"], 2);
    assert_eq!(encrypt["chosen"]["certificate"], b64(&alice_encrypt));
    assert_eq!(
        encrypt["chosen"]["thumbprint"],
        openssl_thumbprint(work.path(), &alice_encrypt)
    );
    assert!(
        encrypt["candidates"][0]["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("expired")
    );
    assert_eq!(
        encrypt["candidates"][1]["reasons"],
        json!(["key usage lacks keyEncipherment"])
    );

    let sign = lookup(&lab, "bob@contoso.com", "sign");
    assert_eq!(sign["chosen"]["index"], 1);
    assert!(
        sign["candidates"][2]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("earlier userCertificate")
    );

    let ec = lookup(&lab, "ec@contoso.com", "encrypt");
    assert_eq!(ec["chosen"]["index"], 2);
    assert_eq!(
        ec["candidates"][0]["reasons"],
        json!(["extended key usage lacks emailProtection"])
    );
    assert_eq!(
        ec["candidates"][1]["reasons"],
        json!(["key usage lacks keyAgreement (needed to encrypt to an EC key)"])
    );
    assert_eq!(lookup(&lab, "ec@contoso.com", "sign")["chosen"]["index"], 1);

    let smime = lookup(&lab, "smime@contoso.com", "encrypt");
    assert_eq!(smime["chosen"]["attribute"], "userSMIMECertificate");
    assert_eq!(smime["chosen"]["index"], 0);
    assert!(
        smime["candidates"][1]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("userSMIMECertificate is published")
    );

    let none = lookup(&lab, "none@contoso.com", "encrypt");
    assert_eq!(none["found"], false);
    assert_eq!(none["chosen"], Value::Null);
    // The same certificate was fine "yesterday".
    let earlier = lab.get(
        "/lab/recipients/none@contoso.com/certificate?purpose=encrypt&now=2000-01-01T00:00:00Z",
    );
    assert!(
        earlier.json()["candidates"][0]["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("not valid yet")
    );

    assert_eq!(
        lab.get("/lab/recipients/nobody@contoso.com/certificate")
            .status,
        404
    );
    assert_eq!(
        lab.get("/lab/recipients/bob@contoso.com/certificate?purpose=decrypt")
            .status,
        400
    );
    assert_eq!(
        lab.get("/lab/recipients/bob@contoso.com/certificate?now=yesterday")
            .status,
        400
    );
}
