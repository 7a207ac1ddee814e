//! Fuzzes what the mock tenant makes of a request body before and while it acts on it: the
//! `InvokeCommand` envelope (`wire::InvokeRequest`), the cmdlet's name, parameter binding as
//! Exchange does it (`cmdlets::params`: case, types, `Byte[]` as base64 or numbers, switches,
//! unknown and not-modelled parameters) and the cmdlet itself against an empty tenant — writes
//! run as `-WhatIf`, so the store is rolled back and every input sees the same tenant — then the
//! paging token the output carries, signed and read back; the Entra Connect export body
//! (`sync::ExportRequest`); the OWA validation body (`validation::parse_request`); a
//! `$skiptoken` (`wire::SkipToken::decode`). It must never panic, hang or allocate without bound.
//! Seeds: `corpus/tenant_request/` (the request shapes the lab sends).
//!
//! The tenant's store lives in `$SMIME_LAB_FUZZ_SCRATCH` (a folder `cargo xtask fuzz` makes and
//! removes), else in the system's temporary folder.
//!
//! Run: `cargo xtask fuzz tenant_request --time 60`.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tenant::cmdlets::{self, Invocation, Run, TenantContext};
use tenant::store::{Store, TenantData};
use tenant::wire::{InvokeRequest, PageLinkKey, SkipToken};

const TENANT: &str = "contoso.onmicrosoft.com";
/// 2026-05-29, as the other targets.
const NOW: i64 = 1_780_000_000;

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let base = std::env::var_os("SMIME_LAB_FUZZ_SCRATCH")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("tenant-request-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store::open(&dir, TENANT, TenantData::new(TENANT, now())).unwrap()
    })
}

fn key() -> &'static PageLinkKey {
    static KEY: OnceLock<PageLinkKey> = OnceLock::new();
    KEY.get_or_init(|| PageLinkKey::new([7; 32]))
}

fn invoke(request: InvokeRequest) {
    let name = request.cmdlet_input.cmdlet_name;
    let mut parameters = request.cmdlet_input.parameters.unwrap_or_default();
    if let Some(cmdlet) = cmdlets::find(&name)
        && matches!(cmdlet.run, Run::Write(_))
    {
        parameters.retain(|k, _| !k.eq_ignore_ascii_case("WhatIf"));
        parameters.insert("WhatIf".to_owned(), Value::Bool(true));
    }
    let ctx = TenantContext {
        tenant: TENANT.to_owned(),
        now: now(),
        strict_algorithms: false,
    };
    let invocation = Invocation {
        cmdlet: name,
        parameters,
        select: None,
        offset: 0,
        page_size: 2,
        issued: NOW,
    };
    match cmdlets::invoke(store(), &ctx, &invocation) {
        Ok(output) => {
            if let Some(next) = output.next {
                // The link the tenant would hand out must read back (JSON numbers may lose
                // precision on the way, so the content is not compared).
                let token = next.encode(key()).unwrap();
                assert!(SkipToken::decode(&token, key()).is_some());
            }
        }
        Err(error) => {
            let _ = error.to_json();
            let _ = error.user_message();
            let _ = error.status();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<InvokeRequest>(data) {
        invoke(request);
    }
    let _ = serde_json::from_slice::<tenant::sync::ExportRequest>(data);
    if let Err(error) = tenant::validation::parse_request(data) {
        let _ = error.to_string();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = SkipToken::decode(text, key());
    }
});
