//! The lab's batch endpoints over HTTP (`tenant::batch`): each item of a batch is answered as the
//! one-item route answers it, a batch fetches each CRL distribution point once, and a bad or
//! oversized batch is refused naming its field.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::owa::*;
use common::*;
use serde_json::{Value, json};

/// A validation answer without the fetch timings, which differ from run to run.
fn timeless(mut answer: Value) -> Value {
    if let Some(fetches) = answer["crl"]["fetches"].as_array_mut() {
        for fetch in fetches {
            fetch["elapsedMs"] = Value::Null;
        }
    }
    answer
}

fn post(lab: &Lab, path: &str, body: &Value) -> Response {
    lab.lab("POST", path, body.to_string().as_bytes())
}

#[test]
fn a_validation_batch_answers_each_certificate_as_the_one_certificate_route_and_fetches_once() {
    let server = CrlServer::start(false);
    let lab = tenant_with(server.hosts());
    configure(&lab, json!({}));
    let names = ["carol", "eve", "alice", "root", "carol"];
    let one_by_one: Vec<Value> = names
        .iter()
        .map(|name| {
            let body = json!({ "certificate": b64(&certificate_der(name)), "purpose": "encrypt" });
            let response = post(&lab, &format!("/lab/owa/{TENANT}/validate"), &body);
            assert_eq!(response.status, 200, "{}", response.text());
            timeless(response.json())
        })
        .collect();
    // carol, eve, alice and carol each fetched the issuing CA's CRL; the root's own
    // certificate names no distribution point.
    let fetched_one_by_one = server.requests().len();
    assert_eq!(fetched_one_by_one, 4, "{:?}", server.requests());

    let certificates: Vec<String> = names.iter().map(|n| b64(&certificate_der(n))).collect();
    let body = json!({ "certificates": certificates, "purpose": "encrypt" });
    let response = post(
        &lab,
        &format!("/lab/owa/{TENANT}/validate/certificates"),
        &body,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let results: Vec<Value> = response.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .cloned()
        .map(timeless)
        .collect();
    assert_eq!(results, one_by_one);
    assert_eq!(results[0]["status"], "valid");
    assert_eq!(results[1]["status"], "revoked");
    assert_eq!(results[1]["sendAllowed"], false);
    // One request, one fetch of the issuing CA's CRL, reported with every certificate it served.
    assert_eq!(
        server.requests().len(),
        fetched_one_by_one + 1,
        "{:?}",
        server.requests()
    );
}

#[test]
fn a_validation_batch_holds_each_certificate_to_its_recipient_as_the_one_certificate_route() {
    let server = CrlServer::start(false);
    let lab = tenant_with(server.hosts());
    configure(&lab, json!({}));
    let pairs = [
        ("carol", "carol@contoso.com"),
        ("carol", "someone.else@contoso.com"),
    ];
    let one_by_one: Vec<Value> = pairs
        .iter()
        .map(|(name, recipient)| {
            let body = json!({
                "certificate": b64(&certificate_der(name)),
                "purpose": "encrypt",
                "recipient": recipient,
            });
            let response = post(&lab, &format!("/lab/owa/{TENANT}/validate"), &body);
            assert_eq!(response.status, 200, "{}", response.text());
            timeless(response.json())
        })
        .collect();
    let body = json!({
        "certificates": pairs.iter().map(|(n, _)| b64(&certificate_der(n))).collect::<Vec<_>>(),
        "recipients": pairs.iter().map(|(_, r)| r).collect::<Vec<_>>(),
        "purpose": "encrypt",
    });
    let response = post(
        &lab,
        &format!("/lab/owa/{TENANT}/validate/certificates"),
        &body,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let results: Vec<Value> = response.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .cloned()
        .map(timeless)
        .collect();
    assert_eq!(results, one_by_one);
    assert_eq!(results[0]["sendAllowed"], true, "{:#}", results[0]);
    // Carol's certificate is not someone else's.
    assert_eq!(results[1]["sendAllowed"], false, "{:#}", results[1]);
    assert_eq!(results[1]["address"]["isRecipients"], false);
}

#[test]
fn a_validation_batch_with_the_crl_server_down_is_offline_for_every_certificate() {
    let lab = tenant_with(down_hosts());
    configure(&lab, json!({"OWACheckCRLOnSend": true}));
    let certificates: Vec<String> = ["carol", "alice"]
        .iter()
        .map(|n| b64(&certificate_der(n)))
        .collect();
    let body = json!({ "certificates": certificates, "purpose": "encrypt" });
    let response = post(
        &lab,
        &format!("/lab/owa/{TENANT}/validate/certificates"),
        &body,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    for result in response.json()["results"].as_array().expect("results") {
        assert_eq!(result["status"], "crl-unreachable", "{result:#}");
        assert_eq!(result["sendAllowed"], false);
        assert_eq!(result["crl"]["fetches"][0]["fetched"], false);
    }
}

#[test]
fn a_lookup_batch_answers_each_address_as_the_one_address_route() {
    let lab = Lab::start();
    let alice_sign = vector_der("rfc9216/alice.sign.crt");
    let alice_encrypt = vector_der("rfc9216/alice.encrypt.crt");
    lab.sync(json!({"cycle": "full", "objects": [
        {"sourceAnchor": "Qk9C", "userPrincipalName": "bob@contoso.com",
         "userCertificate": [b64(&alice_sign), b64(&alice_encrypt)]},
        {"sourceAnchor": "U01JTUU=", "userPrincipalName": "smime@contoso.com",
         "userCertificate": [b64(&alice_encrypt)], "userSMIMECertificate": [b64(&alice_sign)]},
        {"sourceAnchor": "Tk9ORQ==", "userPrincipalName": "none@contoso.com"},
    ]}));
    let addresses = ["bob@contoso.com", "smime@contoso.com", "none@contoso.com"];
    let now = "2024-06-01T00:00:00Z";
    for purpose in ["encrypt", "sign"] {
        let body = json!({
            "addresses": addresses.iter().chain(["nobody@contoso.com"].iter()).collect::<Vec<_>>(),
            "purpose": purpose,
            "now": now,
        });
        let response = post(&lab, "/lab/recipients/certificates", &body);
        assert_eq!(response.status, 200, "{}", response.text());
        let results = response.json()["results"]
            .as_array()
            .expect("results")
            .clone();
        assert_eq!(results.len(), 4);
        for (address, batched) in addresses.iter().zip(&results) {
            let single = lab.get(&format!(
                "/lab/recipients/{address}/certificate?purpose={purpose}&now={now}"
            ));
            assert_eq!(single.status, 200, "{}", single.text());
            assert_eq!(*batched, single.json(), "{address} {purpose}");
        }
        assert_eq!(results[0]["found"], true);
        assert_eq!(results[2]["found"], false);
        // The one-address route's 404, as an item.
        assert_eq!(
            lab.get("/lab/recipients/nobody@contoso.com/certificate")
                .status,
            404
        );
        assert_eq!(results[3]["found"], false);
        assert_eq!(results[3]["error"], "RecipientNotFound");
        assert_eq!(results[3]["recipient"], "nobody@contoso.com");
    }
}

#[test]
fn bad_and_oversized_batches_are_refused_naming_the_field() {
    let lab = Lab::start();
    let refused = |path: &str, body: Value| -> (String, String) {
        let response = post(&lab, path, &body);
        assert_eq!(response.status, 400, "{body}: {}", response.text());
        let error = response.json()["error"].clone();
        (
            error["code"].as_str().unwrap_or_default().to_owned(),
            error["message"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let validate = format!("/lab/owa/{TENANT}/validate/certificates");
    let (code, message) = refused(
        &validate,
        json!({"certificates": ["QUJD"], "purpose": "encrypt"}),
    );
    assert_eq!(code, "BadRequest");
    assert!(message.starts_with("certificates[0]: "), "{message}");
    let too_many = vec![b64(&certificate_der("carol")); tenant::batch::MAX_ITEMS + 1];
    let (code, message) = refused(
        &validate,
        json!({"certificates": too_many, "purpose": "encrypt"}),
    );
    assert_eq!(code, "LimitExceeded");
    assert!(message.starts_with("certificates: "), "{message}");
    let (code, message) = refused("/lab/recipients/certificates", json!({"addresses": [1]}));
    assert_eq!(code, "BadRequest");
    assert!(message.starts_with("addresses[0]: "), "{message}");
    // Without the lab secret: 401 before the body is read.
    let response = http(
        lab.addr,
        "POST",
        "/lab/recipients/certificates",
        &[("Content-Type", "application/json")],
        br#"{"addresses":[]}"#,
    );
    assert_eq!(response.status, 401);
}
