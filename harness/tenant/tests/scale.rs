//! The tenant at a real tenant's size, without LDAP: 100,000 users exported in batches of 1,000
//! (one full cycle), every one of them found by address as Outlook finds a recipient, listed
//! completely through OData pages in Exchange's order, found by identity; then a second full
//! cycle in batches that leaves 1,000 users out deletes exactly those, at its end.
//!
//! No timings are asserted (speed is measured by `cargo xtask bench`); the test must merely
//! finish, which it could not in reasonable time while the store rewrote a JSON file per change.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::{Value, json};

const USERS: usize = 100_000;
const BATCH: usize = 1_000;

fn anchor(n: usize) -> String {
    format!("anchor-{n:06}")
}

fn address(n: usize) -> String {
    format!("user{n:06}@contoso.com")
}

fn object(n: usize) -> Value {
    json!({
        "sourceAnchor": anchor(n),
        "userPrincipalName": address(n),
        "mail": address(n),
        "displayName": format!("User {n:06}"),
        "userCertificate": [b64(format!("certificate of {n}").as_bytes())],
    })
}

/// One full cycle in batches of `BATCH`, exporting the users `numbers` yields; returns the
/// anchors the final batch reported deleted.
fn full_cycle(lab: &Lab, cycle_id: &str, numbers: &[usize]) -> Vec<String> {
    let batches: Vec<&[usize]> = numbers.chunks(BATCH).collect();
    let mut deleted = Vec::new();
    for (index, batch) in batches.iter().enumerate() {
        let last = index + 1 == batches.len();
        let response = lab.sync(json!({
            "cycle": "full",
            "cycleId": cycle_id,
            "final": last,
            "objects": batch.iter().map(|n| object(*n)).collect::<Vec<_>>(),
        }));
        assert_eq!(response.status, 200, "batch {index}: {}", response.text());
        let body = response.json();
        assert_eq!(body["final"], last);
        for result in body["objects"].as_array().unwrap() {
            if result["action"] == "delete" {
                assert!(last, "only the final batch deletes: {result}");
                deleted.push(result["sourceAnchor"].as_str().unwrap().to_owned());
            }
        }
    }
    deleted
}

fn path_of(link: &str) -> String {
    let rest = link.split_once("://").map_or(link, |(_, rest)| rest);
    rest.find('/')
        .map_or("/".to_owned(), |i| rest[i..].to_owned())
}

#[test]
fn a_hundred_thousand_users_export_in_batches_and_are_each_found() {
    let lab = Lab::start();
    let everyone: Vec<usize> = (0..USERS).collect();
    assert!(full_cycle(&lab, "first", &everyone).is_empty());

    // Outlook's lookup of every recipient, by address, in any case.
    for n in 0..USERS {
        let wanted = if n % 2 == 0 {
            address(n)
        } else {
            address(n).to_uppercase()
        };
        let response = lab.get(&format!("/lab/recipients/{wanted}/certificate"));
        assert_eq!(response.status, 200, "{wanted}: {}", response.text());
        assert_eq!(response.json()["recipient"], address(n));
    }
    let missing = lab.get("/lab/recipients/nobody@contoso.com/certificate");
    assert_eq!(missing.status, 404);

    // Get-Mailbox -ResultSize Unlimited, every page, in Exchange's order (by name).
    let token = lab.token();
    let auth = format!("Bearer {token}");
    let first = lab.invoke_with(
        &token,
        "Get-Mailbox",
        json!({"ResultSize": "Unlimited"}),
        &[("Prefer", "odata.maxpagesize=1000")],
    );
    assert_eq!(first.status, 200, "{}", first.text());
    let mut body = first.json();
    let mut names = Vec::with_capacity(USERS);
    loop {
        let page = body["value"].as_array().unwrap();
        assert!(page.len() <= 1000);
        names.extend(page.iter().map(|v| v["Name"].as_str().unwrap().to_owned()));
        let Some(link) = body["@odata.nextLink"].as_str() else {
            break;
        };
        let next = http(
            lab.addr,
            "GET",
            &path_of(link),
            &[("Authorization", &auth)],
            b"",
        );
        assert_eq!(next.status, 200, "{}", next.text());
        body = next.json();
    }
    let expected: Vec<String> = (0..USERS).map(|n| format!("user{n:06}")).collect();
    assert_eq!(names, expected);

    // The default ResultSize cuts at 1000 with Exchange's warning.
    let cut = lab.ok("Get-Recipient", json!({}));
    assert_eq!(cut["value"].as_array().unwrap().len(), 1000);
    assert!(
        cut["@adminapi.warnings"]
            .to_string()
            .contains("only the first 1000"),
        "{cut}"
    );

    // By identity: each form is an index lookup; a prefix wildcard reads its range.
    for identity in ["user054321", "User 054321", "USER054321@contoso.com"] {
        let one = lab.ok("Get-Mailbox", json!({"Identity": identity}));
        let value = one["value"].as_array().unwrap();
        assert_eq!(value.len(), 1, "{identity}");
        assert_eq!(value[0]["SourceAnchor"], anchor(54_321));
    }
    let some = lab.ok(
        "Get-Mailbox",
        json!({"Identity": "user05432*", "ResultSize": "Unlimited"}),
    );
    let names: Vec<&str> = some["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Name"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (54_320..54_330).map(|n| format!("user{n:06}")).collect();
    assert_eq!(names, expected);

    // A second full cycle without every 100th user deletes exactly those, at its end.
    let kept: Vec<usize> = (0..USERS).filter(|n| n % 100 != 7).collect();
    let deleted: HashSet<String> = full_cycle(&lab, "second", &kept).into_iter().collect();
    let expected: HashSet<String> = (0..USERS).filter(|n| n % 100 == 7).map(anchor).collect();
    assert_eq!(deleted.len(), USERS / 100);
    assert_eq!(deleted, expected);
    for n in [7, 507, 99_907] {
        let gone = lab.get(&format!("/lab/recipients/{}/certificate", address(n)));
        assert_eq!(gone.status, 404);
    }
    let kept_one = lab.get(&format!("/lab/recipients/{}/certificate", address(8)));
    assert_eq!(kept_one.status, 200);
}
