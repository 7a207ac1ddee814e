//! The tenant's state and its data directory: every acknowledged change is written to
//! `state.json` (temporary file, fsync, rename, fsync of the directory) before the answer goes
//! out, so a tenant killed at any moment restarts with everything it said yes to.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::cmdlets::mobile_policy::MobilePolicy;
use crate::cmdlets::recipients::Recipient;
use crate::cmdlets::smime_config::SmimeConfigData;

/// Version of the `state.json` layout.
pub const FORMAT: u32 = 1;
/// File name of the state inside the data directory.
pub const STATE_FILE: &str = "state.json";

/// Everything the tenant knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantData {
    pub format: u32,
    /// The tenant's name (`contoso.onmicrosoft.com`); a data directory belongs to one tenant.
    pub tenant: String,
    pub smime_config: SmimeConfigData,
    pub mobile_policies: Vec<MobilePolicy>,
    pub recipients: Vec<Recipient>,
    /// How many sync export cycles were applied.
    #[serde(default)]
    pub sync_cycles: u64,
}

impl TenantData {
    /// A new tenant: default S/MIME configuration, the built-in `Default` mobile device mailbox
    /// policy, no recipients.
    pub fn new(tenant: &str, created: time::OffsetDateTime) -> Self {
        Self {
            format: FORMAT,
            tenant: tenant.to_owned(),
            smime_config: SmimeConfigData::default(),
            mobile_policies: vec![MobilePolicy::builtin_default(tenant, created)],
            recipients: Vec::new(),
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
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a mock-tenant state file ({source}); move it away or pick another \
         --data-dir"
    )]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{path} has state format {found}, this mock-tenant reads format {FORMAT}; use a fresh \
         --data-dir"
    )]
    Format { path: PathBuf, found: u32 },
    #[error(
        "{path} belongs to tenant '{found}', not '{expected}'; use another --data-dir per tenant"
    )]
    OtherTenant {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("cannot save {path}: {source}; the change was not applied")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise the tenant state: {0}")]
    Serialise(#[source] serde_json::Error),
}

/// The state, guarded, with its file.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    data: Mutex<TenantData>,
}

impl Store {
    /// Opens the data directory (creating it), loading `state.json` if there is one, else
    /// starting from `fresh` and saving it at once.
    pub fn open(dir: &Path, tenant: &str, fresh: TenantData) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(STATE_FILE);
        let data = match fs::read(&path) {
            Ok(bytes) => {
                let data: TenantData =
                    serde_json::from_slice(&bytes).map_err(|source| StoreError::Parse {
                        path: path.clone(),
                        source,
                    })?;
                if data.format != FORMAT {
                    return Err(StoreError::Format {
                        path,
                        found: data.format,
                    });
                }
                if !data.tenant.eq_ignore_ascii_case(tenant) {
                    return Err(StoreError::OtherTenant {
                        path,
                        found: data.tenant,
                        expected: tenant.to_owned(),
                    });
                }
                data
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_atomic(&path, &serialise(&fresh)?)?;
                fresh
            }
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        Ok(Self {
            path,
            data: Mutex::new(data),
        })
    }

    /// The path of `state.json`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TenantData> {
        // A panic while holding the lock happens before the commit (the state is replaced only
        // after a successful save), so the data inside is always a saved, consistent state.
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the state.
    pub fn read<T>(&self, f: impl FnOnce(&TenantData) -> T) -> T {
        f(&self.lock())
    }

    /// Changes the state: `f` works on a copy; if it succeeds the copy is saved and only then
    /// becomes the state. If `f` fails or the save fails, nothing changed.
    pub fn update<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut TenantData) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut guard = self.lock();
        let mut copy = guard.clone();
        let result = f(&mut copy)?;
        if copy != *guard {
            write_atomic(&self.path, &serialise(&copy)?)?;
            *guard = copy;
        }
        Ok(result)
    }

    /// Runs `f` on a copy and throws the copy away (`-WhatIf`).
    pub fn dry_run<T, E>(&self, f: impl FnOnce(&mut TenantData) -> Result<T, E>) -> Result<T, E> {
        let mut copy = self.lock().clone();
        f(&mut copy)
    }
}

fn serialise(data: &TenantData) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec_pretty(data).map_err(StoreError::Serialise)
}

/// Writes `bytes` to `path` so that a reader (or a restart after a crash) sees either the old
/// file or the new one, never a mixture: write a temporary file beside it, fsync it, rename it
/// over the old one, fsync the directory so the rename itself is durable.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let io = |source| StoreError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut file = fs::File::create(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io(e)
    })?;
    // Directories cannot be opened for syncing on every platform; where they can, do it.
    if let Ok(dir) = fs::File::open(dir) {
        dir.sync_all().map_err(io)?;
    }
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

    #[test]
    fn state_survives_reopen_and_failed_updates_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path(),
            "contoso.onmicrosoft.com",
            TenantData::new("contoso.onmicrosoft.com", at()),
        )
        .unwrap();
        store
            .update(|d| {
                d.sync_cycles = 7;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let failed: Result<(), StoreError> = store.update(|d| {
            d.sync_cycles = 99;
            Err(StoreError::Format {
                path: PathBuf::new(),
                found: 0,
            })
        });
        assert!(failed.is_err());
        assert_eq!(store.read(|d| d.sync_cycles), 7);
        drop(store);

        let reopened = Store::open(
            dir.path(),
            "contoso.onmicrosoft.com",
            TenantData::new("contoso.onmicrosoft.com", at()),
        )
        .unwrap();
        assert_eq!(reopened.read(|d| d.sync_cycles), 7);
        assert!(matches!(
            Store::open(
                dir.path(),
                "fabrikam.onmicrosoft.com",
                TenantData::new("fabrikam.onmicrosoft.com", at())
            ),
            Err(StoreError::OtherTenant { .. })
        ));
    }

    #[test]
    fn garbage_state_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap();
        let err = Store::open(dir.path(), "t", TenantData::new("t", at())).unwrap_err();
        assert!(err.to_string().contains("is not a mock-tenant state file"));
    }
}
