#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic: a failed expectation is a failed test
//! `POST /lab/reset/{tenant}`: what one scenario left in a reused lab's tenant is gone for the
//! next (recipients, S/MIME configuration, mobile policies, sync cycles, the clock, page links),
//! and a bad reset changes nothing.

mod common;

use common::*;
use serde_json::json;

fn reset(lab: &Lab, body: &str) -> Response {
    lab.lab("POST", &format!("/lab/reset/{TENANT}"), body.as_bytes())
}

/// Everything a scenario can leave in the tenant, then a reset: the tenant is as a new one.
#[test]
fn a_reset_tenant_is_a_new_tenant() {
    let fresh = Lab::start();
    let before_anything = (
        fresh.ok("Get-SmimeConfig", json!({}))["value"].clone(),
        fresh.ok("Get-MobileDeviceMailboxPolicy", json!({}))["value"].clone(),
    );
    drop(fresh);

    let lab = Lab::start_with(|c| {
        c.users = ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]
            .map(str::to_owned)
            .to_vec()
    });
    lab.ok(
        "Set-SmimeConfig",
        json!({"OWAAlwaysEncrypt": true, "OWACheckCRLOnSend": true}),
    );
    lab.ok(
        "New-MobileDeviceMailboxPolicy",
        json!({"Name": "Strict", "RequireSignedSMIMEMessages": true}),
    );
    let synced = lab.sync(json!({
        "cycle": "full", "cycleId": "c1", "final": false,
        "objects": [{"sourceAnchor": "REFWRQ==", "userPrincipalName": "dave@contoso.com"}]
    }));
    assert_eq!(synced.status, 200, "{}", synced.text());
    let token = lab.token();
    let page = lab.invoke_with(
        &token,
        "Get-Recipient",
        json!({}),
        &[("Prefer", "odata.maxpagesize=2")],
    );
    let link = page.json()["@odata.nextLink"]
        .as_str()
        .expect("a next link")
        .to_owned();
    let link_path = link[link.find("/adminapi").expect("admin path")..].to_owned();

    let answer = reset(&lab, r#"{"now": "2031-06-01T12:00:00Z"}"#);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["now"], "2031-06-01T12:00:00Z");
    assert_eq!(answer.json()["recipients"], 0);

    // A new token: the clock moved by a year and a half, which expired the old one.
    assert_eq!(
        lab.ok("Get-Recipient", json!({}))["value"],
        json!([]),
        "no recipient is left"
    );
    assert_eq!(
        lab.ok("Get-SmimeConfig", json!({}))["value"],
        before_anything.0,
        "the S/MIME configuration is the default again"
    );
    let policies = lab.ok("Get-MobileDeviceMailboxPolicy", json!({}))["value"].clone();
    assert_eq!(policies.as_array().map(Vec::len), Some(1), "{policies}");
    assert_eq!(policies[0]["Name"], before_anything.1[0]["Name"]);
    assert_eq!(policies[0]["IsDefault"], true);
    assert_eq!(lab.get("/lab/clock").json()["now"], "2031-06-01T12:00:00Z");
    assert_eq!(lab.get("/lab/clock").json()["fixed"], true);
    assert_eq!(
        lab.get("/lab/recipients/alice@contoso.com/certificate")
            .status,
        404
    );
    // The page link of before the reset is refused, even with a valid token.
    let followed = http(
        lab.addr,
        "GET",
        &link_path,
        &[("Authorization", &format!("Bearer {}", lab.token()))],
        b"",
    );
    assert_eq!(followed.status, 400, "{}", followed.text());
    // The unfinished full cycle is forgotten: a new full cycle exporting nothing deletes
    // nothing it did not see (there is nothing), and dave is not there.
    let empty = lab.sync(json!({"cycle": "full", "cycleId": "c1", "final": true, "objects": []}));
    assert_eq!(empty.status, 200, "{}", empty.text());
    assert_eq!(lab.ok("Get-Recipient", json!({}))["value"], json!([]));

    // The state lasts: a tenant opened on the same data directory is empty too.
    let dir = lab.dir.path().to_owned();
    let store = lab.tenant.store();
    assert_eq!(store.read(|d| d.recipients.count()).unwrap(), 0);
    drop(lab);
    let reopened = tenant::store::Store::open(
        &dir,
        TENANT,
        tenant::store::TenantData::new(TENANT, at("2030-01-01T00:00:00Z")),
    )
    .unwrap();
    assert_eq!(reopened.read(|d| d.recipients.count()).unwrap(), 0);
}

#[test]
fn a_reset_to_system_time_and_bad_resets() {
    let lab = Lab::start_with(|c| c.users = vec!["alice@contoso.com".into()]);
    // Bad bodies and another tenant: refused, and nothing changed.
    for body in ["", "{}", r#"{"now": "tomorrow"}"#, r#"{"now": 5}"#] {
        let answer = reset(&lab, body);
        assert_eq!(answer.status, 400, "{body}: {}", answer.text());
        assert!(answer.text().contains("now"), "{}", answer.text());
    }
    let other = lab.lab(
        "POST",
        "/lab/reset/fabrikam.onmicrosoft.com",
        br#"{"now": null}"#,
    );
    assert_eq!(other.status, 404, "{}", other.text());
    assert_eq!(
        lab.ok("Get-Recipient", json!({}))["value"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(lab.get("/lab/clock").json()["now"], "2030-01-01T00:00:00Z");

    let answer = reset(&lab, r#"{"now": null}"#);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["fixed"], false);
    assert_eq!(lab.get("/lab/clock").json()["fixed"], false);
}
