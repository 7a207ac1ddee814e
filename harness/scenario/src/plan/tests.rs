use super::*;
use crate::load::{LoadedScenario, parse};
use crate::model::{Browser, CollectionError, MailClient, PolicyFormat, SyncOutcome, Verdict};
use smime::pkcs12::Pkcs12Profile;
use smime::pki::Flaw;

fn catalogue(name: &str) -> LoadedScenario {
    let path = test_support::repo_root().join(format!("scenarios/{name}.yaml"));
    let text = String::from_utf8(test_support::read(&path))
        .unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()));
    parse(&text, &path.to_string_lossy()).unwrap_or_else(|e| panic!("{}", e.render(false)))
}

fn plan_of(name: &str) -> Plan {
    plan(&catalogue(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// A one-word name per action, to compare orders.
fn kinds(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|a| match a {
            Action::ServePki(_) => "serve-pki".to_owned(),
            Action::CreateUsers(_) => "create-users".to_owned(),
            Action::Fault(f) => format!(
                "{}-{}",
                if f.start { "start" } else { "end" },
                f.service.name()
            ),
            Action::Publish(p) => format!("publish-{}-{}", p.user, p.attribute.ldap_name()),
            Action::ImportCollection(_) => "import".to_owned(),
            Action::Sync(_) => "sync".to_owned(),
            Action::CheckPopulation(c) => format!("check-population-{}", c.name),
            Action::BrowserPolicy(p) => format!("policy-{}", p.file_name),
            Action::Cmdlet(c) => c.cmdlet.to_owned(),
            Action::InstallIdentity(i) => format!("install-{}-{}", i.user, i.client.name()),
            Action::Send(m) => format!("send-{}", m.number),
            Action::Clock(at) => format!("clock-{at}"),
        })
        .collect()
}

fn der(plan: &Plan, id: &str) -> Vec<u8> {
    plan.pki
        .entity(id)
        .map(|e| e.certificate.clone())
        .unwrap_or_else(|| panic!("no certificate {id}"))
}

fn import(plan: &Plan) -> &ImportCollection {
    plan.actions
        .iter()
        .find_map(|a| match a {
            Action::ImportCollection(i) => Some(i),
            _ => None,
        })
        .expect("an import")
}

fn publishes(plan: &Plan) -> Vec<&PublishValues> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::Publish(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn cmdlet<'a>(plan: &'a Plan, name: &str) -> &'a CmdletCall {
    plan.actions
        .iter()
        .find_map(|a| match a {
            Action::Cmdlet(c) if c.cmdlet == name => Some(c),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn happy_path_follows_the_flow_with_the_offline_parts_resolved() {
    let plan = plan_of("rsa-happy-path");
    let clients = ["outlook", "owa", "mobile", "outlook-mobile"];
    let mut expected: Vec<String> = vec![
        "serve-pki".into(),
        "create-users".into(),
        "publish-alice-userSMIMECertificate".into(),
        "publish-carol-userSMIMECertificate".into(),
        "import".into(),
        "sync".into(),
        "sync".into(),
        "policy-edge.reg".into(),
        "policy-chrome.reg".into(),
        "Set-SmimeConfig".into(),
    ];
    for user in ["alice", "carol"] {
        expected.extend(clients.iter().map(|c| format!("install-{user}-{c}")));
    }
    expected.extend(["send-1".into(), "send-2".into(), "send-3".into()]);
    assert_eq!(kinds(&plan), expected);
    assert_eq!(plan.tenant, "contoso.onmicrosoft.com");
    assert_eq!(plan.domain, "contoso.com");
    assert_eq!(plan.now, time::macros::datetime!(2026-01-01 0:00 UTC));

    // The SST is the store smime::sst writes for root and issuing CA, and reads back.
    let import = import(&plan);
    let (root, issuing) = (der(&plan, "root"), der(&plan, "issuing"));
    assert_eq!(
        import.bytes,
        smime::sst::write_sst(&[&root, &issuing]).expect("store")
    );
    let store = smime::sst::read_sst(&import.bytes).expect("the store reads back");
    let read: Vec<&[u8]> = store.certificate_ders().collect();
    assert_eq!(read, vec![root.as_slice(), issuing.as_slice()]);
    assert!(!import.oversize());
    match &import.expect {
        CollectionExpectation::Success {
            earliest: Some(earliest),
        } => {
            assert_eq!(earliest.id, "issuing");
            assert_eq!(earliest.thumbprint, sha1_thumbprint(&issuing));
            assert!(earliest.not_after > plan.now);
        }
        other => panic!("expected success naming issuing, got {other:?}"),
    }

    // Set-SmimeConfig parameters in wire form, by their cmdlet names.
    assert_eq!(
        serde_json::Value::Object(cmdlet(&plan, "Set-SmimeConfig").parameters.clone()),
        serde_json::json!({ "OWAEncryptionAlgorithms": "6610", "OWASigningAlgorithms": "800C" })
    );

    // The PKCS#12 file alice installs holds her certificate, her key and the issuing CA.
    let install = plan
        .actions
        .iter()
        .find_map(|a| match a {
            Action::InstallIdentity(i) if i.user == "alice" && i.client == MailClient::Owa => {
                Some(i)
            }
            _ => None,
        })
        .expect("alice's identity in Outlook on the web");
    assert_eq!(install.profile, Pkcs12Profile::Modern);
    let [(id, p12)] = install.identities.as_slice() else {
        panic!("one identity expected");
    };
    assert_eq!(id, "alice");
    let contents = smime::pkcs12::read_pkcs12(p12, PKCS12_PASSWORD).expect("the file reads");
    assert_eq!(contents.certificates.first(), Some(&der(&plan, "alice")));
    assert!(contents.certificates.contains(&issuing));
    assert!(contents.private_key_pkcs8_der.is_some());

    let Some(Action::Send(first)) = plan.actions.iter().find(|a| matches!(a, Action::Send(_)))
    else {
        panic!("no message");
    };
    assert_eq!(first.from.mailbox, "alice@contoso.com");
    assert_eq!(first.to[0].mailbox, "carol@contoso.com");
    assert!(first.request.sign && first.request.encrypt);
    assert_eq!(first.subject, "rsa-happy-path #1");
    assert_eq!(first.expect.verdict, Some(Verdict::Valid));
    assert!(first.expect.delivered && !first.expect.refused);
    assert_eq!(first.snapshot.as_deref(), Some("alice-to-carol-owa"));
}

#[test]
fn plans_are_byte_stable() {
    let (a, b) = (plan_of("owa-key-identifier"), plan_of("owa-key-identifier"));
    assert_eq!(import(&a).bytes, import(&b).bytes);
    let p12 = |plan: &Plan| -> Vec<Vec<u8>> {
        plan.actions
            .iter()
            .filter_map(|a| match a {
                Action::InstallIdentity(i) => Some(i.identities.iter().map(|(_, p)| p.clone())),
                _ => None,
            })
            .flatten()
            .collect()
    };
    assert_eq!(p12(&a), p12(&b));
}

#[test]
fn the_default_fixture_is_the_committed_pki() {
    let plan = plan_of("separate-signing-and-encryption");
    for id in ["root", "issuing", "alice", "bob-sign", "bob-encrypt"] {
        let path = test_support::fixture(&format!("pki/default/{id}.crt.pem"));
        let pem = test_support::read(&path);
        let committed = smime::certificate::parse_certificates(&pem).expect("a certificate");
        let committed = der::Encode::to_der(&committed[0]).expect("DER");
        assert_eq!(
            der(&plan, id),
            committed,
            "{id} differs from {}",
            path.display()
        );
    }
}

#[test]
fn sixteen_values_with_expired_renewals() {
    let plan = plan_of("sixteen-certificates");
    let alice: Vec<&PublishValues> = publishes(&plan)
        .into_iter()
        .filter(|p| p.user == "alice")
        .collect();
    assert_eq!(alice.len(), 2, "both attributes");
    for values in &alice {
        assert_eq!(values.certificates.len(), 16);
        assert_eq!(values.certificates[0].id, "alice");
        let mut thumbprints: Vec<&str> = values
            .certificates
            .iter()
            .map(|c| c.thumbprint.as_str())
            .collect();
        thumbprints.sort();
        thumbprints.dedup();
        assert_eq!(thumbprints.len(), 16, "LDAP refuses duplicate values");
        for extra in &values.certificates[1..] {
            assert!(extra.not_after < plan.now, "{} is not expired", extra.id);
            let entity = plan.pki.entity(&extra.id).expect("issued");
            assert_eq!(entity.mailbox.as_deref(), Some("alice@contoso.com"));
            assert_eq!(entity.issuer, "issuing");
            assert_eq!(entity.flaws, vec![Flaw::Expired]);
        }
    }
    let syncs: Vec<&SyncRun> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Sync(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(syncs.len(), 2);
    assert!(syncs[0].expect.is_empty());
    assert_eq!(
        syncs[1].expect,
        vec![
            ("alice".to_owned(), SyncOutcome::Skipped),
            ("carol".to_owned(), SyncOutcome::Exported)
        ]
    );
}

#[test]
fn each_attribute_gets_its_own_list() {
    let plan = plan_of("smime-attribute-preferred");
    let alice: Vec<(DirectoryAttribute, Vec<&str>)> = publishes(&plan)
        .into_iter()
        .filter(|p| p.user == "alice")
        .map(|p| {
            (
                p.attribute,
                p.certificates.iter().map(|c| c.id.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        alice,
        vec![
            (DirectoryAttribute::UserSmimeCertificate, vec!["alice"]),
            (DirectoryAttribute::UserCertificate, vec!["alice-laptop"]),
        ]
    );
    assert_eq!(
        kinds(&plan)
            .iter()
            .filter(|k| k.starts_with("install"))
            .collect::<Vec<_>>(),
        vec!["install-alice-outlook", "install-carol-outlook"]
    );
}

#[test]
fn an_oversize_store_is_a_real_store_over_the_limit() {
    let plan = plan_of("sst-oversize");
    let import = import(&plan);
    assert!(
        import.bytes.len() > MAX_COLLECTION_BYTES,
        "{}",
        import.bytes.len()
    );
    assert!(import.oversize());
    let store = smime::sst::read_sst(&import.bytes).expect("a well-formed store");
    assert_eq!(store.certificate_ders().count(), 152);
    assert_eq!(import.certificates.len(), 152);
    assert_eq!(
        import.expect,
        CollectionExpectation::Error {
            error: CollectionError::Oversize,
            thumbprints: Vec::new()
        }
    );
    // Fillers are valid CA certificates, so size is the only thing wrong with the store.
    let filler = smime::certificate::parse_der(&import.certificates[2].der).expect("parses");
    assert!(smime::certificate::not_after(&filler) > plan.now);
}

#[test]
fn a_truncated_store_does_not_read() {
    let plan = plan_of("sst-wrong-format");
    let import = import(&plan);
    let ders: Vec<&[u8]> = import
        .certificates
        .iter()
        .map(|c| c.der.as_slice())
        .collect();
    let whole = smime::sst::write_sst(&ders).expect("store");
    assert!(import.bytes.len() < whole.len());
    assert!(whole.starts_with(&import.bytes));
    assert!(smime::sst::read_sst(&import.bytes).is_err());
}

#[test]
fn an_expired_ca_is_expected_by_thumbprint() {
    let plan = plan_of("expired-ca-in-sst");
    let retired = der(&plan, "retired");
    assert_eq!(
        import(&plan).expect,
        CollectionExpectation::Error {
            error: CollectionError::Expired,
            thumbprints: vec![sha1_thumbprint(&retired)]
        }
    );
    let certificate = smime::certificate::parse_der(&retired).expect("parses");
    assert!(smime::certificate::not_after(&certificate) < plan.now);
}

#[test]
fn mobile_policy_parameters_in_wire_form() {
    let plan = plan_of("mobile-tripledes-required");
    assert_eq!(
        serde_json::Value::Object(
            cmdlet(&plan, "Set-MobileDeviceMailboxPolicy")
                .parameters
                .clone()
        ),
        serde_json::json!({
            "Identity": "Default",
            "RequireEncryptionSMIMEAlgorithm": "TripleDES",
            "AllowSMIMEEncryptionAlgorithmNegotiation": "BlockNegotiation"
        })
    );
}

#[test]
fn faults_start_and_end_at_their_stages() {
    let text = r#"
name: faults
summary: Faults around the steps.
source: a test of the plan's fault schedule
organisation: { tenant: contoso.onmicrosoft.com, users: [alice, carol] }
pki: { fixture: default }
steps:
  publish: {}
  virtual-collection: {}
  sync: {}
  clients: { devices: [] }
messages:
  - { from: alice, to: [carol], client: outlook }
services:
  - { service: directory, fault: down, at: sync, until: clients }
  - { service: pki-web, fault: down, at: messages }
"#;
    let loaded = parse(text, "faults.yaml").unwrap_or_else(|e| panic!("{}", e.render(false)));
    let plan = plan(&loaded).expect("plan");
    assert_eq!(
        kinds(&plan),
        vec![
            "serve-pki",
            "create-users",
            "publish-alice-userSMIMECertificate",
            "publish-alice-userCertificate",
            "publish-carol-userSMIMECertificate",
            "publish-carol-userCertificate",
            "import",
            "start-directory",
            "sync",
            "end-directory",
            "start-pki-web",
            "send-1",
        ]
    );
}

#[test]
fn browser_policy_files() {
    assert_eq!(
        FORCELIST_VALUE,
        format!("{EXTENSION_ID};{EXTENSION_UPDATE_URL}")
    );
    // One writer: the artifact is browser_policy's, byte for byte.
    let reg = policy_artifact(Browser::Edge, PolicyFormat::Reg, FORCELIST_VALUE, true, "s");
    assert_eq!(
        reg.content,
        ::browser_policy::generate(
            ::browser_policy::Browser::Edge,
            ::browser_policy::Format::Reg,
            "s"
        )
        .bytes
    );
    assert_eq!(
        reg.location,
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Edge\\ExtensionInstallForcelist"
    );
    assert_eq!(reg.file_name, "edge.reg");
    assert!(reg.documented);

    let json = policy_artifact(
        Browser::Chrome,
        PolicyFormat::Json,
        FORCELIST_VALUE,
        true,
        "s",
    );
    assert_eq!(
        json.location,
        "/etc/opt/chrome/policies/managed/smime-owa-extension.json"
    );
    let parsed: serde_json::Value = serde_json::from_slice(&json.content).expect("JSON");
    assert_eq!(
        parsed,
        serde_json::json!({ "ExtensionInstallForcelist": [FORCELIST_VALUE] })
    );

    let plist = policy_artifact(
        Browser::Edge,
        PolicyFormat::Plist,
        FORCELIST_VALUE,
        true,
        "s",
    );
    assert_eq!(
        plist.location,
        "/Library/Managed Preferences/com.microsoft.Edge.plist"
    );
    assert_eq!(plist.file_name, "edge.mobileconfig");
    let text = String::from_utf8(plist.content.clone()).expect("XML");
    assert!(text.contains(&format!("<string>{FORCELIST_VALUE}</string>")));

    // A value with characters each format must escape is written as given, and the checker
    // reads back exactly that value.
    let odd = r#"a"b\c<d>&e"#;
    for format in [PolicyFormat::Reg, PolicyFormat::Json, PolicyFormat::Plist] {
        let artifact = policy_artifact(Browser::Chrome, format, odd, false, "s");
        assert!(!artifact.documented);
        let report = ::browser_policy::check_artifact(
            &artifact.content,
            &::browser_policy::CheckOptions {
                path: Some(&artifact.check_path),
                browser: Some(artifact.target_browser()),
            },
        )
        .expect("reads");
        assert_eq!(
            report.settings[0].value,
            serde_json::json!([odd]),
            "{format:?}"
        );
        assert!(report.has_errors());
    }

    let typo = plan_of("browser-policy-typo");
    let artifacts: Vec<&PolicyArtifact> = typo
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::BrowserPolicy(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(artifacts.len(), 6);
    assert!(artifacts.iter().all(|a| !a.documented && !a.expect_valid));
}

/// The catalogue's population: a thousand users published one by one, and their check after
/// sync, with the flawed users' certificates really flawed.
#[test]
fn a_generated_population_is_planned_user_by_user() {
    let plan = plan_of("generated-population");
    let created = plan
        .actions
        .iter()
        .find_map(|a| match a {
            Action::CreateUsers(users) => Some(users.len()),
            _ => None,
        })
        .expect("users are created");
    assert_eq!(created, 1001);
    // Both attributes by default: two publishes a user.
    assert_eq!(publishes(&plan).len(), 2002);
    let kinds = kinds(&plan);
    let sync = kinds.iter().rposition(|k| k == "sync").expect("sync");
    assert_eq!(kinds[sync + 1], "check-population-user{n:04}");
    let Some(Action::CheckPopulation(check)) = plan.actions.get(sync + 1) else {
        panic!("the check follows the last sync");
    };
    assert_eq!(check.users.len(), 1000);
    assert_eq!(
        check.users[41],
        ("user0042".to_owned(), "user0042@contoso.com".to_owned())
    );
    assert_eq!(
        check.flawed.len(),
        15,
        "10 without SKI, 5 expired (none both, by chance or not)"
    );
    // id-ce-subjectKeyIdentifier (RFC 5280, 4.2.1.2).
    let ski = "2.5.29.14";
    for (id, _) in &check.users {
        let certificate = smime::certificate::parse_der(&der(&plan, id)).expect("a certificate");
        let has_ski = certificate
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .any(|e| e.extn_id.to_string() == ski);
        let flaws = check.flawed.get(id);
        assert_eq!(
            has_ski,
            !flaws.is_some_and(|f| f.contains(&Flaw::NoSki)),
            "{id}: {flaws:?}"
        );
    }
}

/// Ten thousand generated users load, validate and plan (a size, not a time: no timed
/// assertion), each with a certificate of its own.
#[test]
fn ten_thousand_generated_users_plan() {
    let text = "name: t\nsummary: s\nsource: a test\norganisation:\n  tenant: contoso.onmicrosoft.com\n  users:\n    - { generate: 10000, name: \"user{n:05}\", key: ecdsa-p256, flaws: { no-ski: 1% } }\npki:\n  seed: ten-thousand\n  now: 2026-01-01T00:00:00Z\n  domain: contoso.com\n  root: { subject: \"CN=R\", key: ecdsa-p256 }\n  intermediates:\n    issuing: { subject: \"CN=I\", key: ecdsa-p256 }\nsteps: { publish: {}, sync: {} }\n";
    let loaded = parse(text, "t.yaml").unwrap_or_else(|e| panic!("{}", e.render(false)));
    let plan = plan(&loaded).unwrap_or_else(|e| panic!("{e}"));
    // Both attributes by default: two publishes a user.
    assert_eq!(publishes(&plan).len(), 20_000);
    assert_eq!(plan.populations[0].ids.len(), 10_000);
    assert_eq!(plan.populations[0].flawed.len(), 100);
    let thumbprints: std::collections::HashSet<&str> = publishes(&plan)
        .iter()
        .map(|p| p.certificates[0].thumbprint.as_str())
        .collect();
    assert_eq!(thumbprints.len(), 10_000, "a certificate each");
}

/// Carol's certificates are published at +10m; messages at +20m and +35m. Entra Connect's
/// scheduler runs a delta cycle at +30m, between them; the clock moves before each event.
#[test]
fn late_publications_and_scheduled_cycles_fall_between_the_messages() {
    let plan = plan_of("sync-every-30-minutes");
    let tail: Vec<String> = kinds(&plan)
        .into_iter()
        .skip_while(|k| !k.starts_with("install-"))
        .filter(|k| !k.starts_with("install-"))
        .collect();
    assert_eq!(
        tail,
        [
            "clock-+10m",
            "publish-carol-userSMIMECertificate",
            "publish-carol-userCertificate",
            "clock-+20m",
            "send-1",
            "clock-+30m",
            "sync",
            "clock-+35m",
            "send-2",
        ]
    );
    let scheduled: Vec<Option<crate::model::LabOffset>> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Sync(run) => Some(run.scheduled),
            _ => None,
        })
        .collect();
    assert_eq!(
        scheduled,
        [None, Some(crate::model::LabOffset::from_seconds(30 * 60))]
    );
}

/// The built-in policy is set by name, the new one made the default, Carol's mailbox given
/// `Default` by name.
#[test]
fn mobile_policies_and_assignments_become_cmdlets() {
    let plan = plan_of("mobile-policy-assignment");
    let calls: Vec<serde_json::Value> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Cmdlet(c) => Some(serde_json::json!({
                "cmdlet": c.cmdlet,
                "parameters": serde_json::Value::Object(c.parameters.clone()),
            })),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            serde_json::json!({ "cmdlet": "Set-MobileDeviceMailboxPolicy",
                "parameters": { "Identity": "Default", "RequireSignedSMIMEMessages": true } }),
            serde_json::json!({ "cmdlet": "New-MobileDeviceMailboxPolicy",
                "parameters": { "Name": "field", "IsDefault": true, "RequireEncryptedSMIMEMessages": true } }),
            serde_json::json!({ "cmdlet": "Set-CASMailbox",
                "parameters": { "Identity": "carol@contoso.com", "ActiveSyncMailboxPolicy": "Default" } }),
        ]
    );
}

/// One userSMIMECertificate value, a SignedData whose preference names alice-laptop; the
/// userCertificate side is not asked for.
#[test]
fn an_outlook_gal_value_is_one_signed_data_naming_the_encryption_certificate() {
    let plan = plan_of("outlook-gal-encryption-preference");
    let published: Vec<&PublishValues> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Publish(p) if p.user == "alice" => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(published.len(), 1);
    let value = published[0].pkcs7.as_ref().expect("a PKCS#7 value");
    let ids: Vec<&str> = published[0]
        .certificates
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids, ["alice", "alice-laptop"]);
    let collection = smime::sst::read_certificate_collection(value).expect("reads");
    let certificates: Vec<_> = collection
        .certificates
        .iter()
        .map(|c| c.certificate.clone())
        .collect();
    let preferred = smime::cms::attributes::preferred_encryption_certificate(value, &certificates)
        .expect("names one");
    assert_eq!(
        collection.certificates[preferred].der,
        der(&plan, "alice-laptop")
    );
    // The scenario proves the preference only if the first certificate fit to encrypt to is the
    // other one: alice's comes first in the value (DER order of the SET).
    assert_eq!(collection.certificates[0].der, der(&plan, "alice"));
    // Byte-stable.
    assert_eq!(
        plan_of("outlook-gal-encryption-preference")
            .actions
            .iter()
            .find_map(|a| match a {
                Action::Publish(p) if p.user == "alice" => p.pkcs7.clone(),
                _ => None,
            })
            .as_deref(),
        Some(value.as_slice())
    );
}
