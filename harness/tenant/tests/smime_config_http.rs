//! `Get-/Set-SmimeConfig` over HTTP: defaults, the virtual certificate collection import
//! (good, oversize, wrong format, expired, cleared), algorithm strings, and how Exchange refuses
//! bad parameters. Certificates come from RFC 9216 and from the openssl CLI; thumbprints are
//! checked against openssl's.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

fn config(lab: &Lab) -> Value {
    let body = lab.ok("Get-SmimeConfig", json!({}));
    body["value"][0].clone()
}

#[test]
fn defaults_are_exchanges() {
    let lab = Lab::start();
    let body = lab.ok("Get-SmimeConfig", json!({}));
    assert!(body["@odata.context"].as_str().unwrap().ends_with(
        "/adminapi/beta/contoso.onmicrosoft.com/$metadata#Collection(Exchange.GenericHashTable)"
    ));
    assert_eq!(body["@adminapi.warnings"], json!([]));
    let c = &body["value"][0];
    let expected = json!({
        "OWAAllowUserChoiceOfSigningCertificate": false,
        "OWAAlwaysEncrypt": false,
        "OWAAlwaysSign": false,
        "OWABCCEncryptedEmailForking": 0,
        "OWACheckCRLOnSend": false,
        "OWAClearSign": true,
        "OWACopyRecipientHeaders": false,
        "OWACRLConnectionTimeout": 60000,
        "OWACRLRetrievalTimeout": 10000,
        "OWADisableCRLCheck": false,
        "OWADLExpansionTimeout": 60000,
        "OWAEncryptionAlgorithms": "6610",
        "OWAEncryptTemporaryBuffers": true,
        "OWAForceSMIMEClientUpgrade": true,
        "OWAIncludeCertificateChainAndRootCertificate": false,
        "OWAIncludeCertificateChainWithoutRootCertificate": false,
        "OWAIncludeSMIMECapabilitiesInMessage": false,
        "OWAOnlyUseSmartCard": false,
        "OWASenderCertificateAttributesToDisplay": "",
        "OWASignedEmailCertificateInclusion": true,
        "OWASigningAlgorithms": "8004",
        "OWATripleWrapSignedEncryptedMail": false,
        "OWAUseKeyIdentifier": false,
        "OWAUseSecondaryProxiesWhenFindingCertificates": true,
        "SMIMECertificateIssuingCA": null,
        "SMIMECertificatesExpiryDate": null,
        "SMIMEExpiredCertificateThumbprint": "",
    });
    for (name, value) in expected.as_object().unwrap() {
        assert_eq!(&c[name], value, "{name}");
    }
}

#[test]
fn a_good_store_imports_and_reports_the_earliest_expiry() {
    let lab = Lab::start();
    let work = tempfile::tempdir().unwrap();
    let rfc9216_ca = vector_der("rfc9216/ca.rsa.crt");
    // Valid for 20 years from today: expires before the RFC 9216 CA (2052).
    let issuing = openssl_cert(
        work.path(),
        "Contoso Issuing CA",
        "rsa:2048",
        7300,
        &[
            "basicConstraints=critical,CA:TRUE",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    let sst = smime::sst::write_sst(&[&rfc9216_ca, &issuing]).unwrap();
    let response = lab.invoke(
        "Set-SmimeConfig",
        json!({"SMIMECertificateIssuingCA": b64(&sst), "OWAClearSign": false}),
    );
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.json()["value"], json!([]));

    let c = config(&lab);
    assert_eq!(
        c["SMIMECertificateIssuingCA"],
        b64(&sst),
        "stored byte for byte"
    );
    assert_eq!(c["OWAClearSign"], false);
    assert_eq!(
        c["SMIMEExpiredCertificateThumbprint"],
        openssl_thumbprint(work.path(), &issuing),
        "thumbprint of the earliest-expiring certificate, as openssl computes it"
    );
    let not_after =
        smime::certificate::not_after(&smime::certificate::parse_der(&issuing).unwrap());
    assert_eq!(
        c["SMIMECertificatesExpiryDate"],
        tenant::clock::dotnet_datetime(not_after)
    );
    assert_eq!(
        c["SMIMECertificatesExpiryDate@data.type"],
        "System.DateTime"
    );

    // A byte array as ConvertTo-Json writes it (numbers) is the same import.
    let as_numbers: Vec<Value> = sst.iter().map(|b| json!(b)).collect();
    lab.ok(
        "Set-SmimeConfig",
        json!({"SMIMECertificateIssuingCA": as_numbers}),
    );
    assert_eq!(config(&lab)["SMIMECertificateIssuingCA"], b64(&sst));
}

#[test]
fn a_pkcs7_bundle_from_openssl_imports_too() {
    let lab = Lab::start();
    let work = tempfile::tempdir().unwrap();
    let issuing = openssl_cert(
        work.path(),
        "P7 CA",
        "rsa:2048",
        7300,
        &["basicConstraints=critical,CA:TRUE"],
    );
    std::fs::write(work.path().join("ca.der"), &issuing).unwrap();
    openssl(
        &["x509", "-inform", "DER", "-in", "ca.der", "-out", "ca.pem"],
        work.path(),
    );
    let p7b = openssl(
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "ca.pem",
            "-outform",
            "DER",
        ],
        work.path(),
    );
    lab.ok(
        "Set-SmimeConfig",
        json!({"SMIMECertificateIssuingCA": b64(&p7b)}),
    );
    assert_eq!(
        config(&lab)["SMIMEExpiredCertificateThumbprint"],
        openssl_thumbprint(work.path(), &issuing)
    );
}

#[test]
fn oversize_and_wrong_format_are_refused_and_change_nothing() {
    let lab = Lab::start();
    let big = vec![0u8; 70001];
    let response = lab.invoke(
        "Set-SmimeConfig",
        json!({"SMIMECertificateIssuingCA": b64(&big), "OWAAlwaysSign": true}),
    );
    assert_eq!(response.status, 400);
    let body = response.json();
    assert_eq!(body["error"]["code"], "BadRequest");
    let details = body["error"]["details"][0]["message"].as_str().unwrap();
    assert!(
        details.starts_with("|System.InvalidOperationException|"),
        "{details}"
    );
    assert!(details.contains("70000"), "{details}");
    assert_eq!(
        config(&lab)["OWAAlwaysSign"],
        false,
        "nothing of a failed call is applied"
    );

    let response = lab.invoke(
        "Set-SmimeConfig",
        json!({"SMIMECertificateIssuingCA": b64(b"this is no certificate store")}),
    );
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["error"]["details"][0]["message"],
        "|System.FormatException|SMIMECertificateIssuingCA has wrong format"
    );
    assert_eq!(config(&lab)["SMIMECertificateIssuingCA"], Value::Null);
}

#[test]
fn an_expired_certificate_fails_the_whole_call_listing_thumbprints() {
    // RFC 9216's CA expires in September 2052; the tenant lives in 2053.
    let lab = Lab::start_with(|c| c.clock = tenant::Clock::Fixed(at("2053-01-01T00:00:00Z")));
    let work = tempfile::tempdir().unwrap();
    let rfc9216_ca = vector_der("rfc9216/ca.rsa.crt");
    let alice = vector_der("rfc9216/alice.sign.crt");
    let long_lived = openssl_cert(
        work.path(),
        "Long CA",
        "rsa:2048",
        36500,
        &["basicConstraints=critical,CA:TRUE"],
    );
    let sst = smime::sst::write_sst(&[&rfc9216_ca, &long_lived, &alice]).unwrap();
    let response = lab.invoke(
        "Set-SmimeConfig",
        json!({"SMIMECertificateIssuingCA": b64(&sst)}),
    );
    assert_eq!(response.status, 400);
    let message = response.exo_message();
    let expected = format!(
        "{} , {}",
        openssl_thumbprint(work.path(), &rfc9216_ca),
        openssl_thumbprint(work.path(), &alice)
    );
    assert!(message.ends_with(&expected), "{message}");
    assert!(!message.contains(&openssl_thumbprint(work.path(), &long_lived)));
    assert_eq!(config(&lab)["SMIMECertificateIssuingCA"], Value::Null);
}

#[test]
fn an_empty_array_clears_all_three() {
    let lab = Lab::start();
    let sst = smime::sst::write_sst(&[vector_der("rfc9216/ca.rsa.crt")]).unwrap();
    lab.ok(
        "Set-SmimeConfig",
        json!({"SMIMECertificateIssuingCA": b64(&sst)}),
    );
    assert_ne!(config(&lab)["SMIMEExpiredCertificateThumbprint"], "");
    lab.ok("Set-SmimeConfig", json!({"SMIMECertificateIssuingCA": []}));
    let c = config(&lab);
    assert_eq!(c["SMIMECertificateIssuingCA"], Value::Null);
    assert_eq!(c["SMIMECertificatesExpiryDate"], Value::Null);
    assert_eq!(c["SMIMEExpiredCertificateThumbprint"], "");
    // $null clears as well.
    lab.ok(
        "Set-SmimeConfig",
        json!({"SMIMECertificateIssuingCA": b64(&sst)}),
    );
    lab.ok(
        "Set-SmimeConfig",
        json!({"SMIMECertificateIssuingCA": null}),
    );
    assert_eq!(config(&lab)["SMIMECertificateIssuingCA"], Value::Null);
}

#[test]
fn algorithm_strings_are_checked_as_capi_alg_ids() {
    let lab = Lab::start();
    let body = lab.ok("Set-SmimeConfig", json!({"OWAEncryptionAlgorithms": "6610;660E;6602:128", "OWASigningAlgorithms": "800C;8004"}));
    assert_eq!(body["@adminapi.warnings"], json!([]));
    assert_eq!(config(&lab)["OWASigningAlgorithms"], "800C;8004");

    // Exchange stores a malformed list; the tenant says what Outlook on the web will do.
    let body = lab.ok(
        "Set-SmimeConfig",
        json!({"OWAEncryptionAlgorithms": "AES256"}),
    );
    let warning = body["@adminapi.warnings"][0].as_str().unwrap();
    assert!(warning.contains("not a hexadecimal ALG_ID"), "{warning}");
    assert!(warning.contains("6610"), "{warning}");
    assert_eq!(config(&lab)["OWAEncryptionAlgorithms"], "AES256");
    let body = lab.ok("Set-SmimeConfig", json!({"OWASigningAlgorithms": "6610"}));
    assert!(
        body["@adminapi.warnings"][0]
            .as_str()
            .unwrap()
            .contains("not a signing algorithm")
    );
    // $null puts the default back.
    lab.ok("Set-SmimeConfig", json!({"OWAEncryptionAlgorithms": null}));
    assert_eq!(config(&lab)["OWAEncryptionAlgorithms"], "6610");

    let strict = Lab::start_with(|c| c.strict_algorithms = true);
    let response = strict.invoke(
        "Set-SmimeConfig",
        json!({"OWAEncryptionAlgorithms": "6602:100"}),
    );
    assert_eq!(response.status, 400);
    assert!(
        response.exo_message().contains("key length"),
        "{}",
        response.exo_message()
    );
    assert_eq!(
        strict.ok("Get-SmimeConfig", json!({}))["value"][0]["OWAEncryptionAlgorithms"],
        "6610"
    );
}

#[test]
fn bad_parameters_are_refused_the_way_exchange_refuses_them() {
    let lab = Lab::start();
    let response = lab.invoke("Set-SmimeConfig", json!({"OWAClearSign": "yes"}));
    assert_eq!(response.status, 400);
    let body = response.json();
    assert_eq!(body["error"]["message"], "Invalid Operation");
    assert_eq!(
        body["error"]["innererror"]["internalexception"]["type"],
        "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException"
    );
    assert_eq!(
        response.exo_message(),
        "Cannot process argument transformation on parameter 'OWAClearSign'. Cannot convert value \
         \"System.String\" to type \"System.Boolean\". Boolean parameters accept only Boolean \
         values and numbers, such as $True, $False, 1 or 0."
    );

    let response = lab.invoke(
        "Set-SmimeConfig",
        json!({"OWACRLRetrievalTimeout": 4294967296u64}),
    );
    assert_eq!(response.status, 400);
    assert!(
        response
            .exo_message()
            .contains("Value was either too large or too small for a UInt32.")
    );

    let response = lab.invoke(
        "Set-SmimeConfig",
        json!({"OWABogus": true, "owaclearsign": false}),
    );
    assert_eq!(response.status, 400);
    let body = response.json();
    assert_eq!(
        body["error"]["details"][0]["message"],
        "|Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException|Parameter \
         set cannot be resolved using the specified named parameters. Invalid cmdlet parameters \
         specified. OWABogus"
    );
    assert_eq!(config(&lab)["OWAClearSign"], true);

    // Names are not case-sensitive, cmdlet names neither.
    lab.ok("set-smimeconfig", json!({"owaclearsign": false}));
    assert_eq!(config(&lab)["OWAClearSign"], false);

    // An unknown cmdlet: 403 and NUL bytes, as Exchange Online answers.
    let response = lab.invoke("Set-SmimeConfiguration", json!({}));
    assert_eq!(response.status, 403);
    assert!(!response.body.is_empty() && response.body.iter().all(|b| *b == 0));
    assert!(
        response
            .header("X-Mock-Tenant-Reason")
            .unwrap()
            .contains("Set-SmimeConfiguration")
    );

    // Not JSON: 400 in the error shape, never a panic.
    let token = lab.token();
    let auth = format!("Bearer {token}");
    for body in [
        &b"{not json"[..],
        b"",
        b"[]",
        br#"{"CmdletInput":{}}"#,
        b"\xff\xfe",
    ] {
        let response = http(
            lab.addr,
            "POST",
            &format!("/adminapi/beta/{TENANT}/InvokeCommand"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        );
        assert_eq!(response.status, 400, "{body:?}");
        assert_eq!(response.json()["error"]["code"], "BadRequest");
    }

    // -WhatIf changes nothing.
    lab.ok(
        "Set-SmimeConfig",
        json!({"OWAAlwaysEncrypt": true, "WhatIf": true}),
    );
    assert_eq!(config(&lab)["OWAAlwaysEncrypt"], false);
}
