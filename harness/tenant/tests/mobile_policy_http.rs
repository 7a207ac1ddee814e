//! Mobile device mailbox policies over HTTP: the built-in Default policy, the six S/MIME
//! settings by name and by EAS ordinal, PowerShell's refusal texts, IsDefault, rename, remove.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

fn policy(lab: &Lab, identity: &str) -> Value {
    lab.ok(
        "Get-MobileDeviceMailboxPolicy",
        json!({"Identity": identity}),
    )["value"][0]
        .clone()
}

#[test]
fn the_default_policy_exists_with_the_documented_smime_defaults() {
    let lab = Lab::start();
    let body = lab.ok("Get-MobileDeviceMailboxPolicy", json!({}));
    let all = body["value"].as_array().unwrap();
    assert_eq!(all.len(), 1);
    let default = &all[0];
    assert_eq!(default["Name"], "Default");
    assert_eq!(default["Identity"], "Default");
    assert_eq!(default["IsDefault"], true);
    assert_eq!(default["RequireSignedSMIMEMessages"], false);
    assert_eq!(default["RequireEncryptedSMIMEMessages"], false);
    assert_eq!(default["RequireSignedSMIMEAlgorithm"], "SHA1");
    assert_eq!(default["RequireEncryptionSMIMEAlgorithm"], "TripleDES");
    assert_eq!(
        default["AllowSMIMEEncryptionAlgorithmNegotiation"],
        "AllowAnyAlgorithmNegotiation"
    );
    assert_eq!(default["AllowSMIMESoftCerts"], true);
}

#[test]
fn enum_settings_bind_by_name_or_ordinal() {
    let lab = Lab::start();
    let created = lab.ok(
        "New-MobileDeviceMailboxPolicy",
        json!({
            "Name": "Strict",
            "RequireSignedSMIMEMessages": true,
            "RequireSignedSMIMEAlgorithm": "md5",
            "RequireEncryptionSMIMEAlgorithm": 2,
            "AllowSMIMEEncryptionAlgorithmNegotiation": "1",
            "AllowSMIMESoftCerts": false,
        }),
    );
    let p = &created["value"][0];
    assert_eq!(p["Name"], "Strict");
    assert_eq!(p["IsDefault"], false);
    assert_eq!(p["RequireSignedSMIMEMessages"], true);
    assert_eq!(p["RequireSignedSMIMEAlgorithm"], "MD5");
    assert_eq!(p["RequireEncryptionSMIMEAlgorithm"], "RC2128bit");
    assert_eq!(
        p["AllowSMIMEEncryptionAlgorithmNegotiation"],
        "OnlyStrongAlgorithmNegotiation"
    );
    assert_eq!(p["AllowSMIMESoftCerts"], false);

    lab.ok(
        "Set-MobileDeviceMailboxPolicy",
        json!({"Identity": "strict", "RequireEncryptionSMIMEAlgorithm": "RC240bit", "AllowSMIMEEncryptionAlgorithmNegotiation": 0}),
    );
    let p = policy(&lab, "Strict");
    assert_eq!(p["RequireEncryptionSMIMEAlgorithm"], "RC240bit");
    assert_eq!(
        p["AllowSMIMEEncryptionAlgorithmNegotiation"],
        "BlockNegotiation"
    );
    assert_eq!(
        p["RequireSignedSMIMEAlgorithm"], "MD5",
        "untouched settings stay"
    );
}

#[test]
fn invalid_values_are_refused_with_powershells_text() {
    let lab = Lab::start();
    let cases = [
        (
            "RequireSignedSMIMEAlgorithm",
            json!("SHA256"),
            "Cannot process argument transformation on parameter 'RequireSignedSMIMEAlgorithm'. \
             Cannot convert value \"SHA256\" to type \
             \"Microsoft.Exchange.Data.Directory.SystemConfiguration.SignedSMIMEAlgorithmType\". \
             Error: \"Unable to match the identifier name SHA256 to a valid enumerator name. \
             Specify one of the following enumerator names and try again: SHA1, MD5\"",
        ),
        (
            "RequireEncryptionSMIMEAlgorithm",
            json!(9),
            "Cannot process argument transformation on parameter 'RequireEncryptionSMIMEAlgorithm'. \
             Cannot convert value \"9\" to type \
             \"Microsoft.Exchange.Data.Directory.SystemConfiguration.EncryptionSMIMEAlgorithmType\". \
             Error: \"Unable to match the identifier name 9 to a valid enumerator name. Specify \
             one of the following enumerator names and try again: TripleDES, DES, RC2128bit, \
             RC264bit, RC240bit\"",
        ),
        (
            "AllowSMIMEEncryptionAlgorithmNegotiation",
            json!("AllowAll"),
            "Cannot process argument transformation on parameter \
             'AllowSMIMEEncryptionAlgorithmNegotiation'. Cannot convert value \"AllowAll\" to type \
             \"Microsoft.Exchange.Data.Directory.SystemConfiguration.SMIMEEncryptionAlgorithmNegotiationType\". \
             Error: \"Unable to match the identifier name AllowAll to a valid enumerator name. \
             Specify one of the following enumerator names and try again: BlockNegotiation, \
             OnlyStrongAlgorithmNegotiation, AllowAnyAlgorithmNegotiation\"",
        ),
        (
            "AllowSMIMESoftCerts",
            json!("false"),
            "Cannot process argument transformation on parameter 'AllowSMIMESoftCerts'. Cannot \
             convert value \"System.String\" to type \"System.Boolean\". Boolean parameters accept \
             only Boolean values and numbers, such as $True, $False, 1 or 0.",
        ),
    ];
    for (name, value, text) in cases {
        let response = lab.invoke(
            "Set-MobileDeviceMailboxPolicy",
            json!({"Identity": "Default", name: value}),
        );
        assert_eq!(response.status, 400, "{name}");
        assert_eq!(response.exo_message(), text, "{name}");
    }
    let p = policy(&lab, "Default");
    assert_eq!(p["RequireSignedSMIMEAlgorithm"], "SHA1");
    assert_eq!(p["AllowSMIMESoftCerts"], true);

    // A documented parameter the mock does not model says so.
    let response = lab.invoke(
        "New-MobileDeviceMailboxPolicy",
        json!({"Name": "X", "MaxAttachmentSize": "10MB"}),
    );
    assert_eq!(response.status, 400);
    assert!(response.exo_message().contains("does not model"));
    // Mandatory Name.
    let response = lab.invoke(
        "New-MobileDeviceMailboxPolicy",
        json!({"AllowSMIMESoftCerts": true}),
    );
    assert_eq!(response.status, 400);
    assert_eq!(
        response.exo_message(),
        "Cannot process command because of one or more missing mandatory parameters: Name."
    );
}

#[test]
fn is_default_moves_and_the_default_cannot_be_removed() {
    let lab = Lab::start();
    lab.ok(
        "New-MobileDeviceMailboxPolicy",
        json!({"Name": "Sales", "IsDefault": true}),
    );
    assert_eq!(policy(&lab, "Sales")["IsDefault"], true);
    assert_eq!(policy(&lab, "Default")["IsDefault"], false);

    let response = lab.invoke("New-MobileDeviceMailboxPolicy", json!({"Name": "sales"}));
    assert_eq!(response.status, 400);
    assert!(response.exo_message().contains("already exists"));

    let response = lab.invoke(
        "Remove-MobileDeviceMailboxPolicy",
        json!({"Identity": "Sales"}),
    );
    assert_eq!(response.status, 400);
    assert!(response.exo_message().contains("default"));

    lab.ok(
        "Set-MobileDeviceMailboxPolicy",
        json!({"Identity": "Default", "IsDefault": true}),
    );
    lab.ok(
        "Set-MobileDeviceMailboxPolicy",
        json!({"Identity": "Sales", "Name": "Field Sales"}),
    );
    lab.ok(
        "Remove-MobileDeviceMailboxPolicy",
        json!({"Identity": "Field Sales", "Confirm": false}),
    );

    let response = lab.invoke(
        "Get-MobileDeviceMailboxPolicy",
        json!({"Identity": "Field Sales"}),
    );
    assert_eq!(response.status, 404);
    let body = response.json();
    assert_eq!(body["error"]["code"], "NotFound");
    let details = body["error"]["details"][0]["message"].as_str().unwrap();
    assert!(
        details.starts_with(
            "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The \
         operation couldn't be performed because object 'Field Sales' couldn't be found on '"
        ),
        "{details}"
    );
}

fn cas(lab: &Lab, identity: &str) -> Value {
    lab.ok("Get-CASMailbox", json!({"Identity": identity}))["value"][0].clone()
}

/// Set-CASMailbox -ActiveSyncMailboxPolicy: "The value $null also changes the value of the
/// ActiveSyncMailboxPolicyIsDefaulted property to True. If you specify the value Default for the
/// ActiveSyncMailboxPolicy parameter, the value of the ActiveSyncMailboxPolicyIsDefaulted
/// property remains False." A defaulted mailbox follows whichever policy is the default.
#[test]
fn a_mailbox_follows_the_is_default_policy_until_it_is_given_its_own() {
    let lab =
        Lab::start_with(|c| c.users = vec!["alice@contoso.com".into(), "carol@contoso.com".into()]);
    let alice = cas(&lab, "alice@contoso.com");
    assert_eq!(alice["ActiveSyncMailboxPolicy"], "Default");
    assert_eq!(alice["ActiveSyncMailboxPolicyIsDefaulted"], true);
    assert_eq!(alice["PrimarySmtpAddress"], "alice@contoso.com");

    lab.ok("New-MobileDeviceMailboxPolicy", json!({"Name": "Strict"}));
    lab.ok(
        "New-MobileDeviceMailboxPolicy",
        json!({"Name": "Field", "IsDefault": true}),
    );
    lab.ok(
        "Set-CASMailbox",
        json!({"Identity": "carol@contoso.com", "ActiveSyncMailboxPolicy": "strict"}),
    );
    // Alice follows the new default, not the policy named Default; Carol keeps hers.
    let alice = cas(&lab, "alice");
    assert_eq!(alice["ActiveSyncMailboxPolicy"], "Field");
    assert_eq!(alice["ActiveSyncMailboxPolicyIsDefaulted"], true);
    let carol = cas(&lab, "carol");
    assert_eq!(carol["ActiveSyncMailboxPolicy"], "Strict");
    assert_eq!(carol["ActiveSyncMailboxPolicyIsDefaulted"], false);

    lab.ok(
        "Set-MobileDeviceMailboxPolicy",
        json!({"Identity": "Strict", "IsDefault": true}),
    );
    assert_eq!(cas(&lab, "alice")["ActiveSyncMailboxPolicy"], "Strict");
    assert_eq!(policy(&lab, "Field")["IsDefault"], false);

    // Named Default: not defaulted, and it stays on Default when the flag moves.
    lab.ok(
        "Set-CASMailbox",
        json!({"Identity": "alice", "ActiveSyncMailboxPolicy": "Default"}),
    );
    let alice = cas(&lab, "alice");
    assert_eq!(alice["ActiveSyncMailboxPolicy"], "Default");
    assert_eq!(alice["ActiveSyncMailboxPolicyIsDefaulted"], false);

    // $null: back to the default policy.
    lab.ok(
        "Set-CASMailbox",
        json!({"Identity": "alice", "ActiveSyncMailboxPolicy": null}),
    );
    let alice = cas(&lab, "alice");
    assert_eq!(alice["ActiveSyncMailboxPolicy"], "Strict");
    assert_eq!(alice["ActiveSyncMailboxPolicyIsDefaulted"], true);

    // A policy that does not exist, and a mailbox that does not.
    let response = lab.invoke(
        "Set-CASMailbox",
        json!({"Identity": "alice", "ActiveSyncMailboxPolicy": "Nope"}),
    );
    assert_eq!(response.status, 404);
    assert!(
        response.exo_message().contains("'Nope' couldn't be found"),
        "{}",
        response.exo_message()
    );
    let response = lab.invoke(
        "Set-CASMailbox",
        json!({"Identity": "zoe", "ActiveSyncMailboxPolicy": "Strict"}),
    );
    assert_eq!(response.status, 404);

    // The flag is moved, not taken off: one policy is always the default.
    let response = lab.invoke(
        "Set-MobileDeviceMailboxPolicy",
        json!({"Identity": "Strict", "IsDefault": false}),
    );
    assert_eq!(response.status, 400);
    assert!(response.exo_message().contains("is the default policy"));
    let defaults: Vec<Value> = lab.ok("Get-MobileDeviceMailboxPolicy", json!({}))["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["IsDefault"] == true)
        .map(|p| p["Name"].clone())
        .collect();
    assert_eq!(defaults, vec![json!("Strict")]);
}

/// Remove-MobileDeviceMailboxPolicy: "If any users are assigned to the policy when you remove
/// it, the Remove-MobileDeviceMailboxPolicy cmdlet fails."
#[test]
fn a_policy_assigned_to_a_mailbox_cannot_be_removed() {
    let lab = Lab::start_with(|c| c.users = vec!["carol@contoso.com".into()]);
    lab.ok("New-MobileDeviceMailboxPolicy", json!({"Name": "Strict"}));
    lab.ok(
        "Set-CASMailbox",
        json!({"Identity": "carol", "ActiveSyncMailboxPolicy": "Strict"}),
    );
    let response = lab.invoke(
        "Remove-MobileDeviceMailboxPolicy",
        json!({"Identity": "Strict"}),
    );
    assert_eq!(response.status, 400);
    assert!(
        response
            .exo_message()
            .contains("1 mailbox(es) are assigned"),
        "{}",
        response.exo_message()
    );
    assert_eq!(cas(&lab, "carol")["ActiveSyncMailboxPolicy"], "Strict");

    // Given back to the default, the policy has no user left and goes.
    lab.ok(
        "Set-CASMailbox",
        json!({"Identity": "carol", "ActiveSyncMailboxPolicy": null}),
    );
    lab.ok(
        "Remove-MobileDeviceMailboxPolicy",
        json!({"Identity": "Strict"}),
    );
    assert_eq!(cas(&lab, "carol")["ActiveSyncMailboxPolicy"], "Default");
}
