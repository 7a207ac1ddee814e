//! Tokens over HTTP: the client-credentials grant, and the 401s every admin call without a
//! valid, unexpired bearer token gets.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;

#[test]
fn client_credentials_token_opens_the_admin_api() {
    let lab = Lab::start();
    let response = lab.token_request(&[
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("scope", "https://outlook.office365.com/.default"),
    ]);
    assert_eq!(response.status, 200);
    let body = response.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();
    // A JWT: three base64url parts.
    assert_eq!(token.split('.').count(), 3);

    let response = lab.invoke_with(token, "Get-SmimeConfig", json!({}), &[]);
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["value"].as_array().unwrap().len(), 1);

    // The tenant GUID works in place of its name, as it does with Entra.
    let by_id = http(
        lab.addr,
        "POST",
        &format!("/{}/oauth2/v2.0/token", lab.tenant.tenant_id()),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!(
            "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={}&scope={}",
            urlencode(CLIENT_SECRET),
            urlencode("https://outlook.office365.com/.default")
        )
        .as_bytes(),
    );
    assert_eq!(by_id.status, 200);
}

#[test]
fn admin_calls_without_a_valid_token_are_401_with_a_challenge() {
    let lab = Lab::start();
    let body = json!({"CmdletInput": {"CmdletName": "Get-SmimeConfig"}}).to_string();
    let path = format!("/adminapi/beta/{TENANT}/InvokeCommand");
    for authorization in [
        None,
        Some("Bearer not-a-token"),
        Some("Basic dXNlcjpwdw=="),
        Some("Bearer a.b.c"),
    ] {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(value) = authorization {
            headers.push(("Authorization", value));
        }
        let response = http(lab.addr, "POST", &path, &headers, body.as_bytes());
        assert_eq!(response.status, 401, "{authorization:?}");
        let challenge = response.header("WWW-Authenticate").expect("challenge");
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(response.header("X-Mock-Tenant-Reason").is_some());
    }
    // Bad JSON without a token is still 401: authentication comes first.
    let response = http(lab.addr, "POST", &path, &[], b"{oops");
    assert_eq!(response.status, 401);
}

#[test]
fn expired_tokens_and_graph_tokens_are_refused() {
    let lab = Lab::start();
    let token = lab.token();
    assert_eq!(
        lab.invoke_with(&token, "Get-SmimeConfig", json!({}), &[])
            .status,
        200
    );

    // An hour later (tenant clock) the token has expired.
    let moved = lab.lab("PUT", "/lab/clock", br#"{"now":"2030-01-01T01:00:00Z"}"#);
    assert_eq!(moved.status, 200);
    let response = lab.invoke_with(&token, "Get-SmimeConfig", json!({}), &[]);
    assert_eq!(response.status, 401);
    assert!(
        response
            .header("WWW-Authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    assert!(
        response
            .header("X-Mock-Tenant-Reason")
            .unwrap()
            .contains("expired")
    );

    // A Graph token is issued but is no token for Exchange Online.
    let graph = lab.token_request(&[
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("scope", "https://graph.microsoft.com/.default"),
    ]);
    assert_eq!(graph.status, 200);
    let graph_token = graph.json()["access_token"].as_str().unwrap().to_owned();
    let response = lab.invoke_with(&graph_token, "Get-SmimeConfig", json!({}), &[]);
    assert_eq!(response.status, 401);
    assert!(
        response
            .header("X-Mock-Tenant-Reason")
            .unwrap()
            .contains("audience")
    );
}

#[test]
fn token_endpoint_answers_like_entra() {
    let lab = Lab::start();
    type Form<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Form, u16, &str, u64)] = &[
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", "wrong"),
                ("scope", "https://outlook.office365.com/.default"),
            ],
            401,
            "invalid_client",
            7000215,
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", CLIENT_SECRET),
                ("scope", "https://outlook.office365.com/.default"),
            ],
            400,
            "unauthorized_client",
            700016,
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("scope", "https://outlook.office365.com/.default"),
            ],
            400,
            "unsupported_grant_type",
            70003,
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ],
            400,
            "invalid_request",
            900144,
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                (
                    "scope",
                    "https://outlook.office365.com/Exchange.ManageAsApp",
                ),
            ],
            400,
            "invalid_scope",
            1002012,
        ),
        (&[], 400, "invalid_request", 900144),
    ];
    for (form, status, error, code) in cases {
        let response = lab.token_request(form);
        assert_eq!(response.status, *status, "{form:?}");
        let body = response.json();
        assert_eq!(body["error"], *error, "{form:?}");
        assert_eq!(body["error_codes"][0], *code, "{form:?}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with(&format!("AADSTS{code}:"))
        );
    }
    // Unknown tenant.
    let response = http(
        lab.addr,
        "POST",
        "/fabrikam.onmicrosoft.com/oauth2/v2.0/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"grant_type=client_credentials",
    );
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error_codes"][0], 90002);
}
