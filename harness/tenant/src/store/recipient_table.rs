//! The recipients as rows of the tenant database, with the indexes every lookup uses: by email
//! address (primary SMTP address and UPN, the addresses a recipient has in this model), by source
//! anchor, by each identity form `Get-Mailbox -Identity` takes, and in listing order (name, then
//! GUID). Nothing here loads every recipient to answer for one, and a page of a listing loads
//! only that page's rows.
//!
//! Each row keeps the whole [`Recipient`] as JSON (`record`); the columns beside it are what the
//! indexes need. `recipient_keys` holds the lookup keys, rewritten with the row.

use std::collections::HashSet;
use std::ops::Deref;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, params};

use super::StoreError;
use crate::cmdlets::identity_matches;
use crate::cmdlets::recipients::Recipient;

/// A recipient's row: stable while the recipient exists; rows are numbered in creation order,
/// which is the order "the first recipient with this address" refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecipientId(i64);

const ADDRESS: i64 = 0;
const IDENTITY: i64 = 1;

/// The email address key: SMTP addresses compare without regard to ASCII case
/// ([`Recipient::has_address`]).
fn address_key(address: &str) -> String {
    address.trim().to_ascii_lowercase()
}

/// The identity key: `identity_matches` compares the lower-cased forms.
fn identity_key(identity: &str) -> String {
    identity.to_lowercase()
}

fn keys(recipient: &Recipient) -> Vec<(i64, String)> {
    let mut keys: Vec<(i64, String)> = Vec::with_capacity(8);
    for address in [
        &recipient.primary_smtp_address,
        &recipient.user_principal_name,
    ] {
        keys.push((ADDRESS, address_key(address)));
    }
    // The same candidates as `Recipient::matches`.
    for identity in [
        &recipient.alias,
        &recipient.display_name,
        &recipient.user_principal_name,
        &recipient.primary_smtp_address,
        &recipient.guid,
        &recipient.external_directory_object_id,
    ] {
        keys.push((IDENTITY, identity_key(identity)));
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Read access to the recipients.
#[derive(Clone, Copy)]
pub struct Recipients<'a> {
    connection: &'a Connection,
    path: &'a Path,
}

impl<'a> Recipients<'a> {
    pub(super) fn new(connection: &'a Connection, path: &'a Path) -> Self {
        Self { connection, path }
    }

    fn db(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Database {
            path: self.path.to_owned(),
            source,
        }
    }

    fn decode(&self, text: &str) -> Result<Recipient, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
            path: self.path.to_owned(),
            what: "recipient",
            detail: e.to_string(),
        })
    }

    /// One row (with its id) from a query whose columns are `id, record`.
    fn one(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Option<(RecipientId, Recipient)>, StoreError> {
        let row = self
            .connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_row(params, |row| {
                        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                    })
                    .optional()
            })
            .map_err(|e| self.db(e))?;
        row.map(|(id, text)| Ok((RecipientId(id), self.decode(&text)?)))
            .transpose()
    }

    /// How many recipients the tenant has.
    pub fn count(&self) -> Result<usize, StoreError> {
        let count: i64 = self
            .connection
            .query_row("SELECT count(*) FROM recipients", [], |row| row.get(0))
            .map_err(|e| self.db(e))?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// The first recipient (in creation order) with this email address.
    pub fn by_address(
        &self,
        address: &str,
    ) -> Result<Option<(RecipientId, Recipient)>, StoreError> {
        self.one(
            "SELECT r.id, r.record FROM recipient_keys k JOIN recipients r ON r.id = k.recipient \
             WHERE k.kind = ?1 AND k.key = ?2 ORDER BY r.id LIMIT 1",
            params![ADDRESS, address_key(address)],
        )
    }

    /// The first cloud-only recipient (in creation order) with one of these addresses: the
    /// candidate of Entra Connect's soft match.
    pub fn cloud_only_by_address(
        &self,
        first: &str,
        second: &str,
    ) -> Result<Option<(RecipientId, Recipient)>, StoreError> {
        self.one(
            "SELECT r.id, r.record FROM recipient_keys k JOIN recipients r ON r.id = k.recipient \
             WHERE k.kind = ?1 AND k.key IN (?2, ?3) AND r.is_dir_synced = 0 \
             ORDER BY r.id LIMIT 1",
            params![ADDRESS, address_key(first), address_key(second)],
        )
    }

    /// The recipient synced with this source anchor.
    pub fn by_anchor(&self, anchor: &str) -> Result<Option<(RecipientId, Recipient)>, StoreError> {
        self.one(
            "SELECT id, record FROM recipients WHERE source_anchor = ?1",
            [anchor],
        )
    }

    /// The recipients an identity names (any form, `*` wildcards), in listing order. Without a
    /// wildcard this is one index lookup; a wildcard after a literal prefix reads the index range
    /// of that prefix; only a leading `*` reads every key.
    pub fn matching(&self, identity: &str) -> Result<Vec<RecipientId>, StoreError> {
        let identity = identity.trim();
        let map = |e| self.db(e);
        let Some(star) = identity.find('*') else {
            let mut statement = self
                .connection
                .prepare_cached(
                    "SELECT DISTINCT r.id, r.name_key, r.guid FROM recipient_keys k \
                     JOIN recipients r ON r.id = k.recipient WHERE k.kind = ?1 AND k.key = ?2 \
                     ORDER BY r.name_key, r.guid",
                )
                .map_err(map)?;
            let ids = statement
                .query_map(params![IDENTITY, identity_key(identity)], |row| {
                    row.get::<_, i64>(0)
                })
                .map_err(map)?
                .map(|id| id.map(RecipientId))
                .collect::<Result<Vec<_>, _>>()
                .map_err(map)?;
            return Ok(ids);
        };
        // Keys in index order from the literal prefix on, until one no longer starts with it.
        let prefix = identity_key(identity.get(..star).unwrap_or_default());
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT recipient, key FROM recipient_keys WHERE kind = ?1 AND key >= ?2 \
                 ORDER BY kind, key",
            )
            .map_err(map)?;
        let mut matched: HashSet<i64> = HashSet::new();
        let mut rows = statement.query(params![IDENTITY, prefix]).map_err(map)?;
        while let Some(row) = rows.next().map_err(map)? {
            let key: String = row.get(1).map_err(map)?;
            if !key.starts_with(&prefix) {
                break;
            }
            let id: i64 = row.get(0).map_err(map)?;
            if !matched.contains(&id) && identity_matches(identity, &[&key]) {
                matched.insert(id);
            }
        }
        drop(rows);
        if matched.is_empty() {
            return Ok(Vec::new());
        }
        let mut statement = self
            .connection
            .prepare_cached("SELECT id FROM recipients ORDER BY name_key, guid")
            .map_err(map)?;
        let ids = statement
            .query_map([], |row| row.get::<_, i64>(0))
            .map_err(map)?
            .filter(|id| id.as_ref().map_or(true, |id| matched.contains(id)))
            .map(|id| id.map(RecipientId))
            .collect::<Result<Vec<_>, _>>()
            .map_err(map)?;
        Ok(ids)
    }

    /// The recipients with these ids, in the order given.
    pub fn get(&self, ids: &[RecipientId]) -> Result<Vec<Recipient>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let (_, recipient) = self
                .one("SELECT id, record FROM recipients WHERE id = ?1", [id.0])?
                .ok_or_else(|| StoreError::Corrupt {
                    path: self.path.to_owned(),
                    what: "recipient index entry",
                    detail: format!("row {} is gone", id.0),
                })?;
            found.push(recipient);
        }
        Ok(found)
    }

    /// `limit` recipients from `offset` on, in listing order (name, then GUID).
    pub fn page(&self, offset: usize, limit: usize) -> Result<Vec<Recipient>, StoreError> {
        let map = |e| self.db(e);
        let as_sql = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT record FROM recipients ORDER BY name_key, guid LIMIT ?1 OFFSET ?2",
            )
            .map_err(map)?;
        let texts = statement
            .query_map(params![as_sql(limit), as_sql(offset)], |row| {
                row.get::<_, String>(0)
            })
            .map_err(map)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(map)?;
        texts.iter().map(|text| self.decode(text)).collect()
    }

    /// The directory-synced recipients the full cycle `cycle_id` did not export (so far), in
    /// creation order.
    pub fn synced_missing_from_cycle(
        &self,
        cycle_id: &str,
    ) -> Result<Vec<(RecipientId, Recipient)>, StoreError> {
        let map = |e| self.db(e);
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT id, record FROM recipients WHERE is_dir_synced = 1 \
                 AND source_anchor IS NOT NULL AND source_anchor NOT IN \
                 (SELECT source_anchor FROM full_cycle_exported WHERE cycle_id = ?1) \
                 ORDER BY id",
            )
            .map_err(map)?;
        let rows = statement
            .query_map([cycle_id], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(map)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(map)?;
        rows.into_iter()
            .map(|(id, text)| Ok((RecipientId(id), self.decode(&text)?)))
            .collect()
    }
}

/// Read and write access to the recipients, inside a [`super::Store::update`] transaction.
pub struct RecipientsMut<'a> {
    read: Recipients<'a>,
}

impl<'a> Deref for RecipientsMut<'a> {
    type Target = Recipients<'a>;
    fn deref(&self) -> &Recipients<'a> {
        &self.read
    }
}

impl<'a> RecipientsMut<'a> {
    pub(super) fn new(connection: &'a Connection, path: &'a Path) -> Self {
        Self {
            read: Recipients::new(connection, path),
        }
    }

    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize, StoreError> {
        self.read
            .connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
            .map_err(|e| self.read.db(e))
    }

    fn write_keys(&self, id: RecipientId, recipient: &Recipient) -> Result<(), StoreError> {
        self.execute("DELETE FROM recipient_keys WHERE recipient = ?1", [id.0])?;
        for (kind, key) in keys(recipient) {
            self.execute(
                "INSERT INTO recipient_keys (kind, key, recipient) VALUES (?1, ?2, ?3)",
                params![kind, key, id.0],
            )?;
        }
        Ok(())
    }

    fn columns(recipient: &Recipient) -> Result<(String, String), StoreError> {
        let record = serde_json::to_string(recipient).map_err(StoreError::Serialise)?;
        Ok((recipient.name().to_lowercase(), record))
    }

    /// Adds a recipient.
    pub fn insert(&self, recipient: &Recipient) -> Result<RecipientId, StoreError> {
        let (name_key, record) = Self::columns(recipient)?;
        self.execute(
            "INSERT INTO recipients (name_key, guid, source_anchor, is_dir_synced, record) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                name_key,
                recipient.guid,
                recipient.source_anchor,
                recipient.is_dir_synced,
                record
            ],
        )?;
        let id = RecipientId(self.read.connection.last_insert_rowid());
        self.write_keys(id, recipient)?;
        Ok(id)
    }

    /// Replaces a recipient.
    pub fn update(&self, id: RecipientId, recipient: &Recipient) -> Result<(), StoreError> {
        let (name_key, record) = Self::columns(recipient)?;
        self.execute(
            "UPDATE recipients SET name_key = ?1, guid = ?2, source_anchor = ?3, \
             is_dir_synced = ?4, record = ?5 WHERE id = ?6",
            params![
                name_key,
                recipient.guid,
                recipient.source_anchor,
                recipient.is_dir_synced,
                record,
                id.0
            ],
        )?;
        self.write_keys(id, recipient)
    }

    /// Removes a recipient.
    pub fn delete(&self, id: RecipientId) -> Result<(), StoreError> {
        self.execute("DELETE FROM recipient_keys WHERE recipient = ?1", [id.0])?;
        self.execute("DELETE FROM recipients WHERE id = ?1", [id.0])?;
        Ok(())
    }

    /// Remembers that the full cycle `cycle_id` exported these anchors. A batch of another
    /// cycle abandons what an unfinished one remembered: that cycle never reaches its end, so
    /// its deletions never happen (as when a Full Synchronization run is stopped).
    pub fn record_full_cycle_export<'s>(
        &self,
        cycle_id: &str,
        anchors: impl IntoIterator<Item = &'s str>,
    ) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM full_cycle_exported WHERE cycle_id <> ?1",
            [cycle_id],
        )?;
        for anchor in anchors {
            self.execute(
                "INSERT OR IGNORE INTO full_cycle_exported (cycle_id, source_anchor) \
                 VALUES (?1, ?2)",
                [cycle_id, anchor],
            )?;
        }
        Ok(())
    }

    /// Forgets what the full cycle `cycle_id` exported (it ended).
    pub fn finish_full_cycle(&self, cycle_id: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM full_cycle_exported WHERE cycle_id = ?1",
            [cycle_id],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Store, TenantData};
    use crate::cmdlets::recipients::Recipient;

    const TENANT: &str = "contoso.onmicrosoft.com";

    /// The index answers exactly what `Recipient::matches` (Exchange's identity forms, with
    /// wildcards) answers over every recipient, in listing order.
    #[test]
    fn index_lookups_agree_with_a_scan() {
        let now = crate::clock::parse_rfc3339("2030-01-01T00:00:00Z").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), TENANT, TenantData::new(TENANT, now)).unwrap();
        let people = [
            ("alice@contoso.com", "Alice Liddell"),
            ("Bob@Contoso.com", "Bob"),
            ("bobby@contoso.com", "Bob"),
            ("Émile@contoso.com", "Émile Zola"),
            ("carol@fabrikam.com", "Carol"),
        ];
        let all: Vec<Recipient> = people
            .iter()
            .map(|(upn, name)| Recipient::new(TENANT, upn, upn, Some(name), now))
            .collect();
        store
            .update(|d| {
                for r in &all {
                    d.recipients.insert(r)?;
                }
                Ok::<_, super::StoreError>(())
            })
            .unwrap();
        let mut sorted = all.clone();
        sorted.sort_by(|a, b| {
            (a.name().to_lowercase(), &a.guid).cmp(&(b.name().to_lowercase(), &b.guid))
        });
        let identities = [
            "alice",
            "ALICE",
            " alice ",
            "Bob",
            "bob@contoso.com",
            "bob*",
            "*@contoso.com",
            "*",
            "émile",
            "ÉMILE ZOLA",
            "c*@fab*",
            "nobody",
            "",
            &all[0].guid,
            &all[4].external_directory_object_id.to_uppercase(),
        ];
        for identity in identities {
            let ids = store.read(|d| d.recipients.matching(identity)).unwrap();
            let found = store.read(|d| d.recipients.get(&ids)).unwrap();
            let scanned: Vec<Recipient> = sorted
                .iter()
                .filter(|r| r.matches(identity))
                .cloned()
                .collect();
            assert_eq!(found, scanned, "identity {identity:?}");
        }
        for address in [
            "ALICE@contoso.com",
            "bob@contoso.com",
            " carol@FABRIKAM.com",
        ] {
            let by_index = store
                .read(|d| d.recipients.by_address(address))
                .unwrap()
                .map(|(_, r)| r);
            let scanned = all.iter().find(|r| r.has_address(address)).cloned();
            assert_eq!(by_index, scanned, "address {address:?}");
        }
    }
}
