//! The tenant's state and its data directory: an SQLite database (`tenant.sqlite3`) in WAL mode
//! with `synchronous=FULL`, so every acknowledged change is in the fsynced write-ahead log before
//! the answer goes out, and a tenant killed at any moment (even the machine losing power)
//! restarts with everything it said yes to. FULL rather than NORMAL: with WAL, NORMAL would
//! survive a kill -9 too (the log is in the page cache), but not a power cut before the next
//! checkpoint, and the lab promised "on disk" before the answer; one fsync per transaction is
//! cheap now that a sync batch of 1,000 objects is one transaction.
//!
//! Recipients are rows ([`recipient_table`]), each written on its own with its index entries
//! (every address, the source anchor, every identity form), so a change costs the same with 10
//! mailboxes as with 100,000. The rest of the state (S/MIME configuration, mobile device
//! mailbox policies, the sync cycle count) is small and kept as one JSON document in the `meta`
//! table, also in memory for reads.
//!
//! Earlier mock-tenants kept everything in `state.json`. That file is refused with a clear error,
//! not imported: the lab creates a fresh data directory per run, so there is nothing worth
//! migrating.

pub mod recipient_table;

use std::fs;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::cmdlets::mobile_policy::MobilePolicy;
use crate::cmdlets::smime_config::SmimeConfigData;
pub use recipient_table::{RecipientId, Recipients, RecipientsMut};

/// Version of the database layout (1 was `state.json`).
pub const FORMAT: u32 = 2;
/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "tenant.sqlite3";
/// File name of the state of mock-tenants before the database (refused, see the module doc).
pub const LEGACY_STATE_FILE: &str = "state.json";

/// Everything the tenant knows besides its recipients (those are rows: [`Recipients`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantData {
    pub format: u32,
    /// The tenant's name (`contoso.onmicrosoft.com`); a data directory belongs to one tenant.
    pub tenant: String,
    pub smime_config: SmimeConfigData,
    pub mobile_policies: Vec<MobilePolicy>,
    /// How many sync export cycles were applied.
    #[serde(default)]
    pub sync_cycles: u64,
}

impl TenantData {
    /// A new tenant: default S/MIME configuration, the built-in `Default` mobile device mailbox
    /// policy (and no recipients).
    pub fn new(tenant: &str, created: time::OffsetDateTime) -> Self {
        Self {
            format: FORMAT,
            tenant: tenant.to_owned(),
            smime_config: SmimeConfigData::default(),
            mobile_policies: vec![MobilePolicy::builtin_default(tenant, created)],
            sync_cycles: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is the state file of an older mock-tenant, which kept its state in JSON; this \
         one keeps it in {DATABASE_FILE} and does not import the old file: use a fresh \
         --data-dir (the lab makes one per run)"
    )]
    LegacyState { path: PathBuf },
    #[error(
        "{path} is not a mock-tenant database ({source}); move it away or pick another \
         --data-dir"
    )]
    NotADatabase {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{path} has state format {found}, this mock-tenant reads format {FORMAT}; use a fresh \
         --data-dir"
    )]
    Format { path: PathBuf, found: String },
    #[error(
        "{path} belongs to tenant '{found}', not '{expected}'; use another --data-dir per tenant"
    )]
    OtherTenant {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("the tenant database {path} failed: {source}; the change was not applied")]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the tenant database {path} holds a {what} that does not read back ({detail}); use a fresh --data-dir"
    )]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        detail: String,
    },
    #[error("cannot serialise the tenant state: {0}")]
    Serialise(#[source] serde_json::Error),
}

/// The tables. `recipient_keys` is the index of every way a recipient is found: `kind` 0 is an
/// email address (ASCII case folded, as SMTP addresses compare), 1 an identity form (Unicode
/// lower case, as `identity_matches` compares).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recipients (
    id INTEGER PRIMARY KEY,
    name_key TEXT NOT NULL,
    guid TEXT NOT NULL,
    source_anchor TEXT,
    is_dir_synced INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recipients_by_name ON recipients (name_key, guid);
CREATE UNIQUE INDEX IF NOT EXISTS recipients_by_anchor ON recipients (source_anchor);
CREATE TABLE IF NOT EXISTS recipient_keys (
    kind INTEGER NOT NULL,
    key TEXT NOT NULL,
    recipient INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS recipient_keys_by_key ON recipient_keys (kind, key);
CREATE INDEX IF NOT EXISTS recipient_keys_by_recipient ON recipient_keys (recipient);
CREATE TABLE IF NOT EXISTS full_cycle_exported (
    cycle_id TEXT NOT NULL,
    source_anchor TEXT NOT NULL,
    PRIMARY KEY (cycle_id, source_anchor)
) WITHOUT ROWID;
";

/// What a reading cmdlet sees: the settings, and the recipients to query.
pub struct View<'a> {
    pub settings: &'a TenantData,
    pub recipients: Recipients<'a>,
}

impl Deref for View<'_> {
    type Target = TenantData;
    fn deref(&self) -> &TenantData {
        self.settings
    }
}

/// What a changing cmdlet works on, inside one transaction: a copy of the settings (saved if it
/// changed) and the recipients (each write part of the transaction).
pub struct Change<'a> {
    pub settings: &'a mut TenantData,
    pub recipients: RecipientsMut<'a>,
}

impl Deref for Change<'_> {
    type Target = TenantData;
    fn deref(&self) -> &TenantData {
        self.settings
    }
}

impl DerefMut for Change<'_> {
    fn deref_mut(&mut self) -> &mut TenantData {
        self.settings
    }
}

#[derive(Debug)]
struct Inner {
    connection: Connection,
    settings: TenantData,
}

/// The state, guarded, with its database. One connection: SQLite serialises writers anyway, and
/// an indexed read takes microseconds, far below an HTTP request's cost.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    inner: Mutex<Inner>,
}

impl Store {
    /// Opens the data directory (creating it), opening its database if there is one, else
    /// creating it with `fresh` as the settings.
    pub fn open(dir: &Path, tenant: &str, fresh: TenantData) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let legacy = dir.join(LEGACY_STATE_FILE);
        if legacy.exists() {
            return Err(StoreError::LegacyState { path: legacy });
        }
        let path = dir.join(DATABASE_FILE);
        let not_a_database = |source| StoreError::NotADatabase {
            path: path.clone(),
            source,
        };
        let mut connection = Connection::open(&path).map_err(not_a_database)?;
        // The first statement reads the file header: a file that is not SQLite fails here.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(not_a_database)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(not_a_database)?;
        connection.execute_batch(SCHEMA).map_err(not_a_database)?;
        let db = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
        let stored: Option<String> = connection
            .query_row("SELECT value FROM meta WHERE key = 'settings'", [], |row| {
                row.get(0)
            })
            .optional()
            .map_err(db)?;
        let settings = match stored {
            Some(text) => {
                let format = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("format").and_then(serde_json::Value::as_u64));
                if format != Some(u64::from(FORMAT)) {
                    return Err(StoreError::Format {
                        path,
                        found: format.map_or_else(|| "unknown".into(), |f| f.to_string()),
                    });
                }
                let settings: TenantData =
                    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                        path: path.clone(),
                        what: "settings document",
                        detail: e.to_string(),
                    })?;
                if !settings.tenant.eq_ignore_ascii_case(tenant) {
                    return Err(StoreError::OtherTenant {
                        path,
                        found: settings.tenant,
                        expected: tenant.to_owned(),
                    });
                }
                settings
            }
            None => {
                let tx = connection.transaction().map_err(db)?;
                write_settings(&tx, &fresh, &path)?;
                tx.commit().map_err(db)?;
                fresh
            }
        };
        Ok(Self {
            path,
            inner: Mutex::new(Inner {
                connection,
                settings,
            }),
        })
    }

    /// The path of the database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock unwinds through the open transaction, which rolls back,
        // and the settings are replaced only after a commit: the data inside is consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the state.
    pub fn read<T>(&self, f: impl FnOnce(&View<'_>) -> T) -> T {
        let guard = self.lock();
        let view = View {
            settings: &guard.settings,
            recipients: Recipients::new(&guard.connection, &self.path),
        };
        f(&view)
    }

    /// Changes the state in one transaction: `f` works on a copy of the settings and on the
    /// recipients; if it succeeds, the transaction (with the settings, if they changed) is
    /// committed and only then does the copy become the state. If `f` or the commit fails,
    /// nothing changed.
    pub fn update<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Change<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.transaction(f, true)
    }

    /// Runs `f` like [`Store::update`] and rolls everything back (`-WhatIf`).
    pub fn dry_run<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Change<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.transaction(f, false)
    }

    fn transaction<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Change<'_>) -> Result<T, E>,
        commit: bool,
    ) -> Result<T, E> {
        let db = |source| StoreError::Database {
            path: self.path.clone(),
            source,
        };
        let mut guard = self.lock();
        let Inner {
            connection,
            settings,
        } = &mut *guard;
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let mut copy = settings.clone();
        let result = {
            let mut change = Change {
                settings: &mut copy,
                recipients: RecipientsMut::new(&tx, &self.path),
            };
            f(&mut change)?
        };
        if !commit {
            tx.rollback().map_err(db)?;
            return Ok(result);
        }
        if copy != *settings {
            write_settings(&tx, &copy, &self.path)?;
        }
        tx.commit().map_err(db)?;
        *settings = copy;
        Ok(result)
    }
}

impl Store {
    /// Empties the tenant for the next scenario of a reused lab: every recipient, every index
    /// entry and every unfinished full sync cycle is deleted and the settings become `fresh`, in
    /// one transaction (committed before this returns, like every change). A failure changes
    /// nothing.
    pub fn reset(&self, fresh: TenantData) -> Result<(), StoreError> {
        let db = |source| StoreError::Database {
            path: self.path.clone(),
            source,
        };
        let mut guard = self.lock();
        let Inner {
            connection,
            settings,
        } = &mut *guard;
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        tx.execute_batch(
            "DELETE FROM recipient_keys; DELETE FROM recipients; DELETE FROM full_cycle_exported;",
        )
        .map_err(db)?;
        write_settings(&tx, &fresh, &self.path)?;
        tx.commit().map_err(db)?;
        *settings = fresh;
        Ok(())
    }
}

fn write_settings(
    connection: &Connection,
    settings: &TenantData,
    path: &Path,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(settings).map_err(StoreError::Serialise)?;
    connection
        .execute(
            "INSERT INTO meta (key, value) VALUES ('settings', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [text],
        )
        .map_err(|source| StoreError::Database {
            path: path.to_owned(),
            source,
        })?;
    Ok(())
}

/// Serde helpers: bytes as base64, timestamps as RFC 3339.
pub mod serde_helpers {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    fn b64() -> base64::engine::GeneralPurpose {
        base64::engine::general_purpose::STANDARD
    }

    pub mod bytes_list {
        use super::*;
        use serde::ser::SerializeSeq as _;

        pub fn serialize<S: Serializer>(values: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(values.len()))?;
            for value in values {
                seq.serialize_element(&b64().encode(value))?;
            }
            seq.end()
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
            let texts = Vec::<String>::deserialize(d)?;
            texts
                .iter()
                .map(|t| b64().decode(t).map_err(serde::de::Error::custom))
                .collect()
        }
    }

    pub mod bytes_opt {
        use super::*;

        pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match value {
                Some(bytes) => s.serialize_some(&b64().encode(bytes)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|t| b64().decode(t).map_err(serde::de::Error::custom))
                .transpose()
        }
    }

    pub mod time_rfc3339 {
        use super::*;

        pub fn serialize<S: Serializer>(at: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&smime::certificate::rfc3339(*at))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
            let text = String::deserialize(d)?;
            crate::clock::parse_rfc3339(&text).map_err(serde::de::Error::custom)
        }
    }

    pub mod time_rfc3339_opt {
        use super::*;

        pub fn serialize<S: Serializer>(
            at: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => s.serialize_some(&smime::certificate::rfc3339(*at)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|t| crate::clock::parse_rfc3339(&t).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> time::OffsetDateTime {
        crate::clock::parse_rfc3339("2030-01-01T00:00:00Z").unwrap()
    }

    const TENANT: &str = "contoso.onmicrosoft.com";

    fn open(dir: &Path, tenant: &str) -> Result<Store, StoreError> {
        Store::open(dir, tenant, TenantData::new(tenant, at()))
    }

    #[test]
    fn state_survives_reopen_and_failed_updates_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), TENANT).unwrap();
        store
            .update(|d| {
                d.sync_cycles = 7;
                d.recipients
                    .insert(&crate::cmdlets::recipients::Recipient::new(
                        TENANT,
                        "alice@contoso.com",
                        "alice@contoso.com",
                        None,
                        at(),
                    ))?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let failed: Result<(), StoreError> = store.update(|d| {
            d.sync_cycles = 99;
            d.recipients
                .insert(&crate::cmdlets::recipients::Recipient::new(
                    TENANT,
                    "bob@contoso.com",
                    "bob@contoso.com",
                    None,
                    at(),
                ))?;
            Err(StoreError::LegacyState {
                path: PathBuf::new(),
            })
        });
        assert!(failed.is_err());
        assert_eq!(store.read(|d| d.sync_cycles), 7);
        assert_eq!(store.read(|d| d.recipients.count()).unwrap(), 1);
        // -WhatIf: the change is seen inside and gone afterwards.
        let inside = store
            .dry_run(|d| {
                d.sync_cycles = 8;
                let (id, _) = d.recipients.by_address("ALICE@contoso.com")?.unwrap();
                d.recipients.delete(id)?;
                d.recipients.count()
            })
            .unwrap();
        assert_eq!(inside, 0);
        assert_eq!(store.read(|d| d.sync_cycles), 7);
        drop(store);

        let reopened = open(dir.path(), TENANT).unwrap();
        assert_eq!(reopened.read(|d| d.sync_cycles), 7);
        let alice = reopened
            .read(|d| d.recipients.by_address("alice@contoso.com"))
            .unwrap()
            .unwrap();
        assert_eq!(alice.1.alias, "alice");
        assert!(
            reopened
                .read(|d| d.recipients.by_address("bob@contoso.com"))
                .unwrap()
                .is_none()
        );
        drop(reopened);
        assert!(matches!(
            open(dir.path(), "fabrikam.onmicrosoft.com"),
            Err(StoreError::OtherTenant { .. })
        ));
    }

    #[test]
    fn reset_empties_everything_and_lasts() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), TENANT).unwrap();
        store
            .update(|d| {
                d.sync_cycles = 3;
                d.smime_config
                    .settings
                    .insert("OWASignAllDefault".into(), serde_json::Value::Bool(true));
                let alice = crate::cmdlets::recipients::Recipient::new(
                    TENANT,
                    "alice@contoso.com",
                    "alice@contoso.com",
                    None,
                    at(),
                );
                d.recipients.insert(&alice)?;
                d.recipients
                    .record_full_cycle_export("cycle-1", ["anchor-a"])?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let later = crate::clock::parse_rfc3339("2031-02-03T00:00:00Z").unwrap();
        store.reset(TenantData::new(TENANT, later)).unwrap();
        let check = |store: &Store| {
            assert_eq!(store.read(|d| d.sync_cycles), 0);
            assert_eq!(
                store.read(|d| d.smime_config.clone()),
                SmimeConfigData::default()
            );
            assert_eq!(store.read(|d| d.recipients.count()).unwrap(), 0);
            assert!(
                store
                    .read(|d| d.recipients.by_address("alice@contoso.com"))
                    .unwrap()
                    .is_none()
            );
        };
        check(&store);
        drop(store);
        let store = open(dir.path(), TENANT).unwrap();
        check(&store);
        // The unfinished full cycle was forgotten too: a synced recipient added now is one the
        // cycle did not export.
        store
            .update(|d| {
                let mut bob = crate::cmdlets::recipients::Recipient::new(
                    TENANT,
                    "bob@contoso.com",
                    "bob@contoso.com",
                    None,
                    later,
                );
                bob.source_anchor = Some("anchor-a".into());
                bob.is_dir_synced = true;
                d.recipients.insert(&bob)?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let missing = store
            .read(|d| d.recipients.synced_missing_from_cycle("cycle-1"))
            .unwrap();
        assert_eq!(missing.len(), 1);
    }

    #[test]
    fn garbage_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(DATABASE_FILE),
            b"{not a database, and long enough to have a header of a hundred bytes or more: \
              ................................................................}",
        )
        .unwrap();
        let err = open(dir.path(), "t").unwrap_err();
        assert!(
            err.to_string().contains("is not a mock-tenant database"),
            "{err}"
        );
    }

    #[test]
    fn an_old_state_file_is_refused_not_imported() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(LEGACY_STATE_FILE), b"{\"format\":1}").unwrap();
        let err = open(dir.path(), "t").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("state.json") && text.contains("older mock-tenant"),
            "{text}"
        );
        assert!(text.contains("use a fresh --data-dir"), "{text}");
        assert!(!dir.path().join(DATABASE_FILE).exists());
    }
}
