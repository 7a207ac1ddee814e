//! The tenant's trust boundary over HTTP, each case a probe that once got through: page links
//! that cannot be forged into writes or made immortal, authentication before the body is read,
//! links that never name the request's `Host`, and the lab secret on every `/lab` endpoint.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

const USERS: [&str; 5] = [
    "alice@contoso.com",
    "bob@contoso.com",
    "carol@contoso.com",
    "dave@contoso.com",
    "erin@contoso.com",
];

fn lab_with_users(configure: impl FnOnce(&mut tenant::TenantConfig)) -> Lab {
    Lab::start_with(|c| {
        c.users = USERS.iter().map(|u| (*u).to_owned()).collect();
        configure(c);
    })
}

/// The first page of `Get-Recipient` two at a time; its `@odata.nextLink`.
fn first_link(lab: &Lab, token: &str) -> String {
    let first = lab.invoke_with(
        token,
        "Get-Recipient",
        json!({}),
        &[("Prefer", "odata.maxpagesize=2")],
    );
    assert_eq!(first.status, 200, "{}", first.text());
    first.json()["@odata.nextLink"]
        .as_str()
        .expect("a next link")
        .to_owned()
}

fn path_of(link: &str) -> String {
    let after_scheme = link.split_once("://").map_or(link, |(_, rest)| rest);
    after_scheme[after_scheme.find('/').expect("a path")..].to_owned()
}

fn follow(lab: &Lab, token: &str, path: &str) -> Response {
    http(
        lab.addr,
        "GET",
        path,
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
}

fn skiptoken_path(skiptoken: &str) -> String {
    format!("/adminapi/beta/{TENANT}/InvokeCommand?%24skiptoken={skiptoken}")
}

const PAGINATION_REFUSED: &str =
    "Expired or Invalid pagination request. Default Expiry time is 00:30:00";

#[test]
fn forged_page_links_run_nothing_and_change_nothing() {
    let lab = lab_with_users(|_| {});
    let token = lab.token();
    let link = first_link(&lab, &token);
    let skiptoken = link.split("skiptoken=").nth(1).expect("a skiptoken");
    let (payload, signature) = skiptoken.split_once('.').expect("payload.signature");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let state: Value = serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
    assert_eq!(state["c"], "Get-Recipient");

    // The probe: the cursor rewritten into a write, and one that never expires.
    let mut write = state.clone();
    write["c"] = json!("Set-SmimeConfig");
    write["p"] = json!({"OWAAlwaysEncrypt": true});
    write["o"] = json!(0);
    let mut immortal = state.clone();
    immortal["t"] = json!(i64::MAX / 2);
    for forged in [write, immortal] {
        let forged_payload = b64.encode(serde_json::to_vec(&forged).unwrap());
        for candidate in [
            format!("{forged_payload}.{signature}"),
            // The unsigned shape tokens had before.
            forged_payload.clone(),
        ] {
            let response = follow(&lab, &token, &skiptoken_path(&candidate));
            assert_eq!(response.status, 400, "{}", response.text());
            assert_eq!(response.exo_message(), PAGINATION_REFUSED);
        }
    }
    let config = lab.ok("Get-SmimeConfig", json!({}));
    assert_eq!(config["value"][0]["OWAAlwaysEncrypt"], false);

    // The genuine link still works.
    assert_eq!(follow(&lab, &token, &path_of(&link)).status, 200);
}

#[test]
fn page_links_live_as_long_as_configured_and_not_before_their_time() {
    let lab = lab_with_users(|c| c.page_link_lifetime_seconds = 60);
    let token = lab.token();
    let link = first_link(&lab, &token);
    let clock = lab.tenant.clock();
    clock.set(tenant::Clock::Fixed(at("2030-01-01T00:01:00Z")));
    assert_eq!(follow(&lab, &token, &path_of(&link)).status, 200);
    clock.set(tenant::Clock::Fixed(at("2030-01-01T00:01:01Z")));
    let stale = follow(&lab, &token, &path_of(&link));
    assert_eq!(stale.status, 400);
    assert_eq!(stale.exo_message(), PAGINATION_REFUSED);
    // A link from "the future" (the clock was set back) is no link either.
    clock.set(tenant::Clock::Fixed(at("2029-12-31T23:59:00Z")));
    assert_eq!(follow(&lab, &token, &path_of(&link)).status, 400);

    // The default is the 30 minutes the service's refusal names.
    let lab = lab_with_users(|_| {});
    let token = lab.token();
    let link = first_link(&lab, &token);
    lab.tenant
        .clock()
        .set(tenant::Clock::Fixed(at("2030-01-01T00:30:00Z")));
    assert_eq!(follow(&lab, &token, &path_of(&link)).status, 200);
}

#[test]
fn links_name_the_configured_url_whatever_the_host_header_says() {
    let lab = lab_with_users(|_| {});
    let token = lab.token();
    let body = json!({"CmdletInput": {"CmdletName": "Get-Recipient"}}).to_string();
    let request = format!(
        "POST /adminapi/beta/{TENANT}/InvokeCommand HTTP/1.1\r\nHost: evil.example\r\n\
         Connection: close\r\nAuthorization: Bearer {token}\r\nPrefer: odata.maxpagesize=2\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = test_support::http::raw(lab.addr, request.as_bytes());
    assert_eq!(response.status, 200, "{}", response.text());
    let page = response.json();
    let origin = format!("http://{}/", lab.addr);
    for field in ["@odata.nextLink", "@odata.context"] {
        let link = page[field].as_str().expect(field);
        assert!(link.starts_with(&origin), "{field}: {link}");
        assert!(!link.contains("evil.example"), "{field}: {link}");
    }
}

/// A request announcing a 50 MB body of which only the first KiB arrives: an answer at all
/// shows the server did not wait to read the body.
fn announced_50mb(path: &str, headers: &str) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: tenant\r\nConnection: close\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        50 * 1024 * 1024
    )
    .into_bytes();
    request.extend_from_slice(&[b' '; 1024]);
    request
}

#[test]
fn strangers_get_401_before_their_body_is_read_and_callers_get_413() {
    let lab = Lab::start();
    let token = lab.token();
    let invoke = format!("/adminapi/beta/{TENANT}/InvokeCommand");
    let sync = format!("/lab/sync/{TENANT}/export");

    let stranger = test_support::http::raw(lab.addr, &announced_50mb(&invoke, ""));
    assert_eq!(stranger.status, 401, "{}", stranger.text());
    assert!(stranger.header("WWW-Authenticate").is_some());
    let stranger = test_support::http::raw(lab.addr, &announced_50mb(&sync, ""));
    assert_eq!(stranger.status, 401, "{}", stranger.text());

    // An authenticated caller's body is read, up to the limit: one byte over is 413.
    let over_limit = vec![b' '; tenant::server::BODY_LIMIT + 1];
    let bearer = format!("Bearer {token}");
    let caller = http(
        lab.addr,
        "POST",
        &invoke,
        &[("Authorization", &bearer)],
        &over_limit,
    );
    assert_eq!(caller.status, 413, "{}", caller.text());
    let lab_caller = lab.lab("POST", &sync, &over_limit);
    assert_eq!(lab_caller.status, 413, "{}", lab_caller.text());
}

#[test]
fn every_lab_endpoint_wants_the_lab_secret() {
    let lab = Lab::start_with(|c| c.users = vec!["alice@contoso.com".into()]);
    let calls = [
        ("GET", "/lab/clock".to_owned(), String::new()),
        (
            "PUT",
            "/lab/clock".to_owned(),
            json!({"now": "2030-06-01T00:00:00Z"}).to_string(),
        ),
        (
            "GET",
            "/lab/recipients/alice@contoso.com/certificate".to_owned(),
            String::new(),
        ),
        (
            "POST",
            format!("/lab/sync/{TENANT}/export"),
            json!({"cycle": "delta", "objects": []}).to_string(),
        ),
        (
            "POST",
            format!("/lab/owa/{TENANT}/validate"),
            json!({"message": "eA=="}).to_string(),
        ),
        (
            "POST",
            format!("/lab/reset/{TENANT}"),
            json!({"now": "2030-06-01T00:00:00Z"}).to_string(),
        ),
    ];
    let bearer = format!("Bearer {}", lab.token());
    for (method, path, body) in &calls {
        // No secret, a wrong one, and a bearer token instead: 401, and nothing happened.
        for headers in [
            vec![],
            vec![("X-Lab-Secret", "guess")],
            vec![("Authorization", bearer.as_str())],
        ] {
            let response = http(lab.addr, method, path, &headers, body.as_bytes());
            assert_eq!(response.status, 401, "{method} {path} {headers:?}");
            let error = &response.json()["error"];
            assert_eq!(error["code"], "LabSecretRequired");
            assert!(
                error["message"].as_str().unwrap().contains("X-Lab-Secret"),
                "{error}"
            );
            assert!(
                !response.text().contains(LAB_SECRET),
                "the secret is never echoed"
            );
        }
        let response = lab.lab(method, path, body.as_bytes());
        assert_ne!(response.status, 401, "{method} {path}: {}", response.text());
    }
    // The clock moved only when the secret came with the PUT.
    assert_eq!(lab.get("/lab/clock").json()["now"], "2030-06-01T00:00:00Z");
    // The public documents stay public.
    for path in ["/health", "/openapi.json"] {
        assert_eq!(http(lab.addr, "GET", path, &[], b"").status, 200, "{path}");
    }
}

#[test]
fn an_in_process_tenant_without_a_configured_lab_secret_makes_a_random_one() {
    let lab = Lab::start_with(|c| c.lab_secret = None);
    let secret = lab.tenant.lab_secret().to_owned();
    assert!(secret.len() >= 32, "{secret}");
    assert_ne!(secret, LAB_SECRET);
    let refused = lab.get("/lab/clock");
    assert_eq!(refused.status, 401);
    let allowed = http(
        lab.addr,
        "GET",
        "/lab/clock",
        &[("X-Lab-Secret", &secret)],
        b"",
    );
    assert_eq!(allowed.status, 200);
}
