//! The mock Exchange Online tenant that admins' scripts and the lab talk to (binary
//! `mock-tenant`). Fidelity matters: it is what users test against.
//!
//! # What it serves
//!
//! - `POST /{tenant}/oauth2/v2.0/token`: the client-credentials grant for the one app registration
//!   the tenant is started with, answering as the Microsoft identity platform does (including its
//!   `AADSTS` errors). See [`auth`].
//! - `POST /adminapi/beta/{tenant}/InvokeCommand`: the ExchangeOnlineManagement V3 module's
//!   transport. Body `{"CmdletInput":{"CmdletName":"Set-SmimeConfig","Parameters":{...}}}`,
//!   `Authorization: Bearer ...`; answers
//!   `{"@odata.context":...,"@adminapi.warnings":[],"value":[...]}`, pages with
//!   `@odata.nextLink` (`Prefer: odata.maxpagesize=N`, server page size 1000 by default), errors
//!   `{"error":{"code","message","details":[{"message":"<ExCode>|<ExceptionType>|<text>"}]}}`.
//!   Cmdlets: `Get-/Set-SmimeConfig`, `Get-/New-/Set-/Remove-MobileDeviceMailboxPolicy`,
//!   `Get-Mailbox`, `Get-Recipient`, `Set-Mailbox` (certificates). See [`wire`] and
//!   [`cmdlets`].
//! - Lab endpoints, which are ours and not Microsoft's: `POST /lab/sync/{tenant}/export` (the
//!   Entra Connect export, [`sync`]), `GET /lab/recipients/{address}/certificate` (Outlook's
//!   certificate lookup, [`lookup`]), `POST /lab/owa/{tenant}/validate` (Outlook on the web's
//!   judgement of a received message, of the sender's certificate, or of a recipient's
//!   certificate held to the recipient's addresses ([`recipient_address`]), with CRLs fetched as
//!   the stored `Set-SmimeConfig` says, [`validation`]), both for many items a request
//!   (`POST /lab/recipients/certificates`, `POST /lab/owa/{tenant}/validate/certificates`,
//!   [`batch`]), `GET|PUT /lab/clock` and
//!   `POST /lab/reset/{tenant}` (a reused lab's next scenario, [`reset`]). They stand for
//!   machinery (Entra Connect, Outlook's directory lookup, OWA's client control) that
//!   authenticates by other means, so they take no bearer token but the lab secret in
//!   `X-Lab-Secret` (`--lab-secret` or `MOCK_TENANT_LAB_SECRET`, generated per run by the lab):
//!   on the containers runtime the tenant sits on a shared network. CRL hosts are mapped to the
//!   lab's pki-web with `--crl-host pki.contoso.com=HOST:PORT` (the `crl` crate fetches).
//!
//! # The boundary
//!
//! Authentication (bearer token on the admin API, lab secret on `/lab`) runs before a body is
//! read, so a stranger gets 401 whatever size it announces. `@odata.nextLink`s are built from
//! `--public-url` (never the `Host` header) and carry a `$skiptoken` signed with a per-process
//! key, valid `--page-link-lifetime` seconds (default 1800) for the reading cmdlet that made it.
//! A valid token without the `Exchange.ManageAsApp` role gets 403 with NUL bytes. Logged request
//! fields are cut to 200 characters. OWA validation takes at most
//! [`validation::MAX_IDENTITIES`] identities and [`validation::KDF_ITERATIONS_PER_REQUEST`]
//! key-derivation iterations per request.
//! - `GET /health`, `GET /openapi.json` ([`openapi`]).
//!
//! # Wire facts, and where they come from
//!
//! Microsoft documents the cmdlets, not their REST transport. The shapes here are transcribed
//! from live responses published by people who captured them (error bodies, the
//! `Collection(Exchange.GenericHashTable)` context, `#Collection(String)` annotations, the 403
//! with a NUL-byte body for an unknown cmdlet, "Expired or Invalid pagination request"), and the
//! `Set-SmimeConfig` behaviour from the decompiled Exchange task. **`Byte[]` parameters
//! (`SMIMECertificateIssuingCA`, `UserCertificate`) travel as base64 strings: this is not
//! documented by Microsoft.** A JSON array of numbers (what `ConvertTo-Json` makes of a
//! `byte[]`) is taken too.
//!
//! Over REST, Exchange Online refuses an unknown parameter with `AmbiguousParameterSetException`
//! ("Parameter set cannot be resolved using the specified named parameters. Invalid cmdlet
//! parameters specified. X"); the text "A parameter cannot be found that matches parameter name
//! 'X'." is what the module's client-side proxy functions say before a request is sent.
//!
//! Texts that are reconstructed because the original is not public are marked where they are
//! built (the SST size and expiry messages, removing the default mobile policy). Refusals that
//! are the mock's own (`MockTenant.*` exception types: a documented parameter the mock does not
//! model, `--strict-algorithms`) say so. Where Exchange's answer says nothing useful (the 401's
//! empty body, the 403's NUL bytes), an `X-Mock-Tenant-Reason` header says what was wrong; the
//! body stays faithful.
//!
//! # State
//!
//! Everything lives in `--data-dir/tenant.sqlite3`, an SQLite database (WAL, `synchronous=FULL`)
//! committed before each answer, recipients as indexed rows ([`store`]); the clock is the system's or fixed ([`clock`]), so certificate expiry is
//! reproducible.

// The OpenAPI document is one `serde_json::json!` literal, deeper than the default limit allows.
#![recursion_limit = "256"]

pub mod auth;
pub mod batch;
pub mod capi_alg;
pub mod clock;
pub mod cmdlets;
pub mod ids;
pub mod lookup;
pub mod openapi;
pub mod recipient_address;
pub mod reset;
pub mod server;
pub mod store;
pub mod sync;
pub mod validation;
pub mod wire;

pub use clock::{Clock, SharedClock};
pub use server::{OpenError, Tenant, TenantConfig, serve};
