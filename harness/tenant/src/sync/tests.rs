use super::*;
use crate::store::{Store, TenantData};

const TENANT: &str = "contoso.onmicrosoft.com";

fn now() -> OffsetDateTime {
    crate::clock::parse_rfc3339("2030-01-01T00:00:00Z").unwrap()
}

fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), TENANT, TenantData::new(TENANT, now())).unwrap();
    (dir, store)
}

fn run(store: &Store, request: &ExportRequest) -> Result<ExportResult, SyncFailure> {
    store.update(|data| apply(data, request, now()))
}

fn count(store: &Store) -> usize {
    store.read(|d| d.recipients.count()).unwrap()
}

fn object(anchor: &str, certs: usize) -> ExportObject {
    ExportObject {
        source_anchor: anchor.into(),
        user_principal_name: Some(format!("{anchor}@contoso.com")),
        mail: None,
        display_name: None,
        user_certificate: Some(vec!["AQ==".into(); certs]),
        user_smime_certificate: None,
        proxy_addresses: None,
        deleted: false,
    }
}

fn request(cycle: Cycle, legacy_rules: bool, objects: Vec<ExportObject>) -> ExportRequest {
    ExportRequest {
        cycle,
        legacy_rules,
        smime_over_limit: SmimeOverLimit::Skip,
        cycle_id: None,
        last_batch: true,
        objects,
    }
}

fn batch(cycle_id: &str, last_batch: bool, objects: Vec<ExportObject>) -> ExportRequest {
    ExportRequest {
        cycle_id: Some(cycle_id.into()),
        last_batch,
        ..request(Cycle::Full, false, objects)
    }
}

#[test]
fn fifteen_pass_sixteen_are_nulled_or_refused() {
    let (_dir, store) = new_store();
    let result = run(
        &store,
        &request(Cycle::Full, false, vec![object("a", 15), object("b", 16)]),
    )
    .unwrap();
    assert_eq!(result.objects[0].exported.unwrap().user_certificate, 15);
    assert_eq!(result.objects[1].action, Action::Add);
    assert_eq!(result.objects[1].exported.unwrap().user_certificate, 0);
    assert!(result.objects[1].warnings[0].contains("AuthoritativeNull"));

    let (_dir, store) = new_store();
    let result = run(
        &store,
        &request(Cycle::Full, true, vec![object("a", 15), object("b", 16)]),
    )
    .unwrap();
    assert_eq!(result.objects[1].action, Action::Error);
    assert_eq!(
        result.objects[1].error.as_ref().unwrap().code,
        "LargeObject"
    );
    assert_eq!(count(&store), 1);
}

/// Sixteen userSMIMECertificate values: withheld by default (the page's sentence on the
/// out-of-box rules), exported under the other reading (its limit and rule name
/// userCertificate only), and never a LargeObject error.
#[test]
fn sixteen_smime_values_follow_the_chosen_reading() {
    let smime_only = |anchor: &str| ExportObject {
        user_certificate: None,
        user_smime_certificate: Some(vec!["AQ==".into(); 16]),
        ..object(anchor, 0)
    };
    let (_dir, store) = new_store();
    let result = run(&store, &request(Cycle::Full, false, vec![smime_only("a")])).unwrap();
    assert_eq!(result.rules, "1.1.524.0");
    assert_eq!(result.objects[0].action, Action::Add);
    assert_eq!(
        result.objects[0].exported.unwrap().user_smime_certificate,
        0
    );
    assert!(result.objects[0].warnings[0].contains("AuthoritativeNull"));

    let (_dir, store) = new_store();
    let export = ExportRequest {
        smime_over_limit: SmimeOverLimit::Export,
        ..request(Cycle::Full, false, vec![smime_only("a")])
    };
    let result = run(&store, &export).unwrap();
    assert_eq!(
        result.objects[0].exported.unwrap().user_smime_certificate,
        16
    );
    assert!(result.objects[0].warnings[0].contains("guards userCertificate only"));

    // userCertificate over the limit is withheld under either reading.
    let (_dir, store) = new_store();
    let export = ExportRequest {
        smime_over_limit: SmimeOverLimit::Export,
        ..request(Cycle::Full, false, vec![object("b", 16)])
    };
    let result = run(&store, &export).unwrap();
    assert_eq!(result.objects[0].exported.unwrap().user_certificate, 0);

    // The legacy rules have no guard: 16 userSMIMECertificate values go out, no error.
    let (_dir, store) = new_store();
    let result = run(&store, &request(Cycle::Full, true, vec![smime_only("c")])).unwrap();
    assert_eq!(result.objects[0].action, Action::Add);
    assert_eq!(
        result.objects[0].exported.unwrap().user_smime_certificate,
        16
    );
}

#[test]
fn full_cycle_deletes_what_it_no_longer_exports_and_delta_keeps_attributes() {
    let (_dir, store) = new_store();
    run(
        &store,
        &request(Cycle::Full, false, vec![object("a", 1), object("b", 2)]),
    )
    .unwrap();
    let mut delta = object("b", 0);
    delta.user_certificate = None;
    delta.display_name = Some("Bee".into());
    let result = run(&store, &request(Cycle::Delta, false, vec![delta])).unwrap();
    assert_eq!(result.objects[0].action, Action::Update);
    assert_eq!(result.objects[0].exported.unwrap().user_certificate, 2);
    let result = run(&store, &request(Cycle::Full, false, vec![object("b", 2)])).unwrap();
    assert!(
        result
            .objects
            .iter()
            .any(|o| o.action == Action::Delete && o.source_anchor == "a")
    );
    assert_eq!(count(&store), 1);
    assert_eq!(result.cycle_number, 3);
}

#[test]
fn a_full_cycle_in_batches_deletes_only_at_its_end_and_counts_once() {
    let (_dir, store) = new_store();
    run(
        &store,
        &request(
            Cycle::Full,
            false,
            vec![object("a", 1), object("b", 1), object("c", 1)],
        ),
    )
    .unwrap();
    // Cycle 2 exports a, then c (b is gone from the directory), in two batches.
    let first = run(&store, &batch("cycle-2", false, vec![object("a", 1)])).unwrap();
    assert!(!first.last_batch);
    assert_eq!(first.cycle_number, 2);
    assert!(first.objects.iter().all(|o| o.action != Action::Delete));
    assert_eq!(
        count(&store),
        3,
        "nothing is deleted before the final batch"
    );
    let last = run(&store, &batch("cycle-2", true, vec![object("c", 1)])).unwrap();
    assert_eq!(last.cycle_number, 2);
    let deleted: Vec<&str> = last
        .objects
        .iter()
        .filter(|o| o.action == Action::Delete)
        .map(|o| o.source_anchor.as_str())
        .collect();
    assert_eq!(deleted, ["b"], "a (an earlier batch) and c stay");
    assert_eq!(count(&store), 2);

    // An unfinished cycle is abandoned by the next one: its batches delete nothing.
    run(&store, &batch("cycle-3", false, vec![object("a", 1)])).unwrap();
    let result = run(
        &store,
        &batch("cycle-4", true, vec![object("a", 1), object("c", 1)]),
    )
    .unwrap();
    assert!(result.objects.iter().all(|o| o.action != Action::Delete));
    assert_eq!(result.cycle_number, 3);
    assert_eq!(count(&store), 2);
}

#[test]
fn a_failed_batch_is_not_remembered() {
    let (_dir, store) = new_store();
    run(
        &store,
        &request(Cycle::Full, false, vec![object("a", 1), object("b", 1)]),
    )
    .unwrap();
    let mut bad = object("b", 1);
    bad.user_certificate = Some(vec!["***".into()]);
    assert!(run(&store, &batch("c", false, vec![bad])).is_err());
    run(&store, &batch("c", false, vec![object("a", 1)])).unwrap();
    let last = run(&store, &batch("c", true, vec![])).unwrap();
    assert_eq!(
        last.objects
            .iter()
            .filter(|o| o.action == Action::Delete)
            .map(|o| o.source_anchor.as_str())
            .collect::<Vec<_>>(),
        ["b"],
        "b's batch failed, so the cycle never exported b"
    );
}

#[test]
fn a_batch_that_is_not_final_needs_a_cycle_id() {
    let (_dir, store) = new_store();
    let mut lone = request(Cycle::Full, false, vec![object("a", 1)]);
    lone.last_batch = false;
    let err = run(&store, &lone).unwrap_err();
    assert!(err.to_string().contains("needs a cycleId"), "{err}");
    lone.cycle_id = Some(" ".into());
    assert!(matches!(
        run(&store, &lone),
        Err(SyncFailure::Request(SyncRequestError::BadCycleId))
    ));
    assert_eq!(count(&store), 0);
}

#[test]
fn soft_match_takes_the_cloud_only_recipient() {
    let (_dir, store) = new_store();
    store
        .update(|d| {
            d.recipients.insert(&Recipient::new(
                TENANT,
                "a@contoso.com",
                "a@contoso.com",
                None,
                now(),
            ))
        })
        .unwrap();
    let result = run(&store, &request(Cycle::Full, false, vec![object("a", 1)])).unwrap();
    assert_eq!(result.objects[0].action, Action::Update);
    assert!(result.objects[0].warnings[0].contains("soft-matched"));
    let (_, synced) = store
        .read(|d| d.recipients.by_anchor("a"))
        .unwrap()
        .unwrap();
    assert!(synced.is_dir_synced);
    assert_eq!(count(&store), 1);
}

#[test]
fn bad_requests_change_nothing() {
    let (_dir, store) = new_store();
    let mut bad = object("a", 1);
    bad.user_certificate = Some(vec!["***".into()]);
    assert!(matches!(
        run(
            &store,
            &request(Cycle::Full, false, vec![object("x", 1), bad])
        ),
        Err(SyncFailure::Request(SyncRequestError::NotBase64 {
            index: 1,
            ..
        }))
    ));
    assert_eq!(count(&store), 0);
    assert!(
        run(
            &store,
            &request(Cycle::Full, false, vec![object("a", 1), object("a", 1)])
        )
        .is_err()
    );
    assert_eq!(store.read(|d| d.sync_cycles), 0);
}

#[test]
fn proxy_addresses_are_kept_as_exported_and_a_delta_without_them_keeps_them() {
    let (_dir, store) = new_store();
    let with_proxies = ExportObject {
        proxy_addresses: Some(vec![
            "SMTP:a@contoso.com".into(),
            " smtp:a.old@contoso.com ".into(),
            "x500:/o=Contoso/cn=a".into(),
        ]),
        ..object("a", 1)
    };
    run(&store, &request(Cycle::Full, false, vec![with_proxies])).unwrap();
    let stored = || {
        store
            .read(|d| d.recipients.by_address("a@contoso.com"))
            .unwrap()
            .unwrap()
            .1
    };
    let expected = vec![
        "SMTP:a@contoso.com".to_owned(),
        "smtp:a.old@contoso.com".to_owned(),
        "x500:/o=Contoso/cn=a".to_owned(),
    ];
    assert_eq!(stored().proxy_addresses, expected);
    let record = stored().mailbox_record("contoso.onmicrosoft.com");
    assert_eq!(
        record["EmailAddresses"],
        serde_json::json!([
            "SMTP:a@contoso.com",
            "smtp:a.old@contoso.com",
            "x500:/o=Contoso/cn=a"
        ])
    );
    // A delta that leaves the attribute out changes nothing; a full cycle without it clears it.
    run(&store, &request(Cycle::Delta, false, vec![object("a", 1)])).unwrap();
    assert_eq!(stored().proxy_addresses, expected);
    run(&store, &request(Cycle::Full, false, vec![object("a", 1)])).unwrap();
    assert!(stored().proxy_addresses.is_empty());
}
