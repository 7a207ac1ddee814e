//! The message store: every accepted message, byte for byte, with its envelope, in memory and
//! optionally mirrored to a directory (`<ID>.eml` + `<ID>.json`) so a restarted sink keeps it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Error;
use crate::mail::Summary;

/// What the SMTP transaction said about a message, as opposed to what its headers say.
///
/// This is also the `<ID>.json` file written beside `<ID>.eml` in the data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    #[serde(rename = "ID")]
    pub id: String,
    /// RFC 3339, UTC.
    pub received: String,
    /// The EHLO/HELO name the client gave.
    pub helo: String,
    /// The reverse-path of `MAIL FROM`; empty for the null sender `<>`.
    pub mail_from: String,
    /// Every `RCPT TO` forward-path, in the order given.
    pub rcpt_to: Vec<String>,
    /// Length of the stored message in bytes.
    pub size: usize,
}

/// One stored message. Cheap to clone (the bytes are shared).
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub envelope: Envelope,
    pub received: OffsetDateTime,
    /// The DATA content after dot-unstuffing, without the terminating `.` line.
    pub raw: Arc<[u8]>,
    pub summary: Arc<Summary>,
}

impl StoredMessage {
    pub fn id(&self) -> &str {
        &self.envelope.id
    }
}

/// The transaction facts the SMTP session hands over with the bytes.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub helo: String,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub raw: Vec<u8>,
}

/// Shared handle on the store; clones see the same messages.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Oldest first; listing walks it backwards.
    messages: RwLock<Vec<StoredMessage>>,
    data_dir: Option<PathBuf>,
    /// Whether each file is flushed to the disk (fsync) before its rename; see [`Store::open_with`].
    fsync: bool,
    sequence: AtomicU16,
}

impl Store {
    /// An empty in-memory store, or one loaded from (and mirrored to) `data_dir`, each file
    /// flushed to the disk before the `250`.
    pub fn open(data_dir: Option<&Path>) -> Result<Self, Error> {
        Self::open_with(data_dir, true)
    }

    /// [`Store::open`], choosing whether each file is flushed to the disk (`fsync`) before its
    /// rename. Either way a message is written whole (temporary file, rename) before the `250`,
    /// so it survives the sink being killed: the kernel holds the file. Without the flush only a
    /// crash of the machine itself could lose the last messages, which is what a lab's throwaway
    /// directory can afford: two fsyncs per message (~4 ms each on the bench's disk) were most
    /// of a message's SMTP time.
    pub fn open_with(data_dir: Option<&Path>, fsync: bool) -> Result<Self, Error> {
        let messages = match data_dir {
            Some(dir) => load_dir(dir)?,
            None => Vec::new(),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                messages: RwLock::new(messages),
                data_dir: data_dir.map(Path::to_path_buf),
                fsync,
                sequence: AtomicU16::new(0),
            }),
        })
    }

    /// Stores a message and returns its ID. With a data directory, the files are on disk before
    /// this returns, so the `250` the client then gets means the message survives a restart.
    pub async fn insert(&self, delivery: Delivery) -> Result<StoredMessage, Error> {
        let received = OffsetDateTime::now_utc();
        let received_text = received
            .format(&Rfc3339)
            .map_err(|e| Error::Internal(format!("formatting the received time: {e}")))?;
        let raw: Arc<[u8]> = Arc::from(delivery.raw);
        let summary = Arc::new(Summary::parse(&raw));
        let mut message = StoredMessage {
            envelope: Envelope {
                id: String::new(),
                received: received_text,
                helo: delivery.helo,
                mail_from: delivery.mail_from,
                rcpt_to: delivery.rcpt_to,
                size: raw.len(),
            },
            received,
            raw,
            summary,
        };
        message.envelope.id = self.fresh_id(received);

        if let Some(dir) = &self.inner.data_dir {
            let dir = dir.clone();
            let on_disk = message.clone();
            let fsync = self.inner.fsync;
            tokio::task::spawn_blocking(move || write_message(&dir, &on_disk, fsync))
                .await
                .map_err(|e| Error::Internal(format!("message writer task: {e}")))??;
        }

        self.write_lock().push(message.clone());
        Ok(message)
    }

    /// Newest first.
    pub fn list(&self) -> Vec<StoredMessage> {
        self.read_lock().iter().rev().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read_lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, id: &str) -> Option<StoredMessage> {
        self.read_lock().iter().find(|m| m.id() == id).cloned()
    }

    /// The newest message whose Message-ID (without angle brackets) is `message_id`, exactly.
    pub fn by_message_id(&self, message_id: &str) -> Option<StoredMessage> {
        self.read_lock()
            .iter()
            .rev()
            .find(|m| m.summary.message_id == message_id)
            .cloned()
    }

    pub fn latest(&self) -> Option<StoredMessage> {
        self.read_lock().last().cloned()
    }

    /// Deletes the given IDs (unknown ones are ignored), or everything when `ids` is `None`.
    /// Returns how many were deleted.
    pub async fn delete(&self, ids: Option<&[String]>) -> Result<usize, Error> {
        let removed: Vec<StoredMessage> = {
            let mut messages = self.write_lock();
            let (gone, kept) = messages
                .drain(..)
                .partition(|m| ids.is_none_or(|ids| ids.iter().any(|id| id == m.id())));
            *messages = kept;
            gone
        };
        let count = removed.len();
        if let Some(dir) = &self.inner.data_dir {
            let dir = dir.clone();
            let ids: Vec<String> = removed.iter().map(|m| m.id().to_owned()).collect();
            tokio::task::spawn_blocking(move || remove_files(&dir, &ids))
                .await
                .map_err(|e| Error::Internal(format!("message remover task: {e}")))??;
        }
        Ok(count)
    }

    /// Hex of the receive time in nanoseconds plus a sequence number: sorts by arrival, is safe as
    /// a file name, and stays unique across restarts (checked against what is stored).
    fn fresh_id(&self, received: OffsetDateTime) -> String {
        let nanos = u128::try_from(received.unix_timestamp_nanos()).unwrap_or(0);
        let messages = self.read_lock();
        loop {
            let seq = self.inner.sequence.fetch_add(1, Ordering::Relaxed);
            let id = format!("{nanos:016x}{seq:04x}");
            if !messages.iter().any(|m| m.id() == id) {
                return id;
            }
        }
    }

    // A panic while holding the lock cannot leave the Vec half-modified (every mutation is a
    // single assignment or push), so a poisoned lock is still safe to use.
    fn read_lock(&self) -> std::sync::RwLockReadGuard<'_, Vec<StoredMessage>> {
        self.inner
            .messages
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write_lock(&self) -> std::sync::RwLockWriteGuard<'_, Vec<StoredMessage>> {
        self.inner
            .messages
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// IDs become file names: allow only what `fresh_id` produces (and a little more for hand-made
/// files), never a path separator or a leading dot.
fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn write_message(dir: &Path, message: &StoredMessage, fsync: bool) -> Result<(), Error> {
    let id = message.id();
    let json = serde_json::to_vec_pretty(&message.envelope)
        .map_err(|e| Error::Internal(format!("encoding the envelope of {id}: {e}")))?;
    // The .eml first: the .json is the commit marker, so a crash in between leaves an orphan .eml
    // that loading ignores rather than an envelope without its message.
    write_atomic(dir, &format!("{id}.eml"), &message.raw, fsync)?;
    write_atomic(dir, &format!("{id}.json"), &json, fsync)
}

/// Write to a dot-file in the same directory, flush to disk (when `fsync`), then rename over the
/// final name, so a reader (or a restarted sink) sees either nothing or the whole file.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8], fsync: bool) -> Result<(), Error> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let io_err = |source| Error::DataDir {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::File::create(&tmp).map_err(io_err)?;
    file.write_all(bytes).map_err(io_err)?;
    if fsync {
        file.sync_all().map_err(io_err)?;
    }
    drop(file);
    std::fs::rename(&tmp, &path).map_err(io_err)
}

fn remove_files(dir: &Path, ids: &[String]) -> Result<(), Error> {
    for id in ids {
        // The .json first, mirroring `write_message`: a crash in between leaves an ignored orphan.
        for ext in ["json", "eml"] {
            let path = dir.join(format!("{id}.{ext}"));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::DataDir { path, source }),
            }
        }
    }
    Ok(())
}

fn load_dir(dir: &Path) -> Result<Vec<StoredMessage>, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::DataDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let entries = std::fs::read_dir(dir).map_err(|source| Error::DataDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut messages = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::DataDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        if !is_valid_id(id) {
            continue;
        }
        messages.push(load_message(dir, id)?);
    }
    messages.sort_by(|a, b| (a.received, a.id()).cmp(&(b.received, b.id())));
    Ok(messages)
}

fn load_message(dir: &Path, id: &str) -> Result<StoredMessage, Error> {
    let json_path = dir.join(format!("{id}.json"));
    let eml_path = dir.join(format!("{id}.eml"));
    let corrupt = |path: &Path, reason: String| Error::CorruptFile {
        path: path.to_path_buf(),
        reason,
    };
    let json = std::fs::read(&json_path).map_err(|source| Error::DataDir {
        path: json_path.clone(),
        source,
    })?;
    let envelope: Envelope = serde_json::from_slice(&json)
        .map_err(|e| corrupt(&json_path, format!("not an envelope: {e}")))?;
    if envelope.id != id {
        return Err(corrupt(
            &json_path,
            format!("its ID is {:?}, its file name says {id:?}", envelope.id),
        ));
    }
    let received = OffsetDateTime::parse(&envelope.received, &Rfc3339).map_err(|e| {
        corrupt(
            &json_path,
            format!("Received {:?} is not RFC 3339: {e}", envelope.received),
        )
    })?;
    let raw = std::fs::read(&eml_path).map_err(|source| Error::DataDir {
        path: eml_path.clone(),
        source,
    })?;
    if raw.len() != envelope.size {
        return Err(corrupt(
            &eml_path,
            format!(
                "{} bytes, but {id}.json says Size {}",
                raw.len(),
                envelope.size
            ),
        ));
    }
    let raw: Arc<[u8]> = Arc::from(raw);
    Ok(StoredMessage {
        summary: Arc::new(Summary::parse(&raw)),
        envelope,
        received,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(body: &[u8]) -> Delivery {
        Delivery {
            helo: "client.test".into(),
            mail_from: "a@example.test".into(),
            rcpt_to: vec!["b@example.test".into()],
            raw: body.to_vec(),
        }
    }

    #[test]
    fn ids_are_file_name_safe() {
        assert!(is_valid_id("0123abcdef"));
        for bad in ["", "../x", ".hidden", "a/b", "a b", "a\\b"] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn data_dir_round_trip_and_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(Some(dir.path())).expect("open");
        let first = store.insert(delivery(b"Subject: one\r\n\r\nx\r\n")).await;
        let first = first.expect("insert");
        let second = store
            .insert(delivery(b"Subject: two\r\n\r\n\xff\r\n"))
            .await;
        let second = second.expect("insert");
        assert_ne!(first.id(), second.id());

        let reopened = Store::open(Some(dir.path())).expect("reopen");
        let ids: Vec<String> = reopened.list().iter().map(|m| m.id().to_owned()).collect();
        assert_eq!(ids, [second.id(), first.id()]);
        assert_eq!(
            reopened.get(second.id()).expect("second").raw,
            second.raw.clone()
        );

        let deleted = reopened.delete(Some(&[first.id().to_owned()])).await;
        assert_eq!(deleted.expect("delete"), 1);
        assert!(!dir.path().join(format!("{}.eml", first.id())).exists());
        assert_eq!(Store::open(Some(dir.path())).expect("again").len(), 1);
    }

    #[tokio::test]
    async fn without_fsync_a_message_is_still_on_disk_before_insert_returns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_with(Some(dir.path()), false).expect("open");
        let stored = store
            .insert(delivery(b"Subject: one\r\n\r\nx\r\n"))
            .await
            .expect("insert");
        let reopened = Store::open(Some(dir.path())).expect("reopen");
        assert_eq!(reopened.get(stored.id()).expect("stored").raw, stored.raw);
    }

    #[test]
    fn a_corrupt_envelope_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("abc.json"), b"{").expect("write");
        let err = Store::open(Some(dir.path())).expect_err("must fail");
        assert!(err.to_string().contains("abc.json"), "{err}");
    }
}
