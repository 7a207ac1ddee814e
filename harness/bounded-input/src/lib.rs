//! Reading inputs with a size cap. `std::fs::read` trusts the file's length; a device
//! (`/dev/zero`), a fifo or standard input has none, and reading one grows the process until the
//! machine runs out of memory. Every reader of user input goes through [`read`] /
//! [`read_to_string`] / [`read_from`] instead: at most `limit` bytes are ever held, and one byte
//! more is an error of kind [`std::io::ErrorKind::FileTooLarge`] that says how large the cap is.
//!
//! Errors are plain `std::io::Error`s so that callers keep their own error types (the scenario
//! loader's `ScenarioError::Read`, the vendor bundle's `BundleError::Read`) and only swap the call.

use std::io::{self, Read};
use std::path::Path;

/// The cap for a file the user hands over (certificates, keys, PKCS#12, CRLs, stores, policies,
/// scenario and vendor YAML): 64 MiB, hundreds of times the largest real one (a store of every
/// Windows root is about 1 MiB; Microsoft's largest public CRLs are a few MiB).
pub const DEFAULT_LIMIT: u64 = 64 * MIB;

/// The cap for a mail message: Microsoft's "Exchange Online limits" page gives 150 MB as the
/// largest message size limit an admin can set, and notes that Base64 encoding grows a message by
/// about a third, which a message already in MIME form has gone through; 256 MiB holds the
/// largest Exchange Online accepts with room to spare.
pub const MESSAGE_LIMIT: u64 = 256 * MIB;

const MIB: u64 = 1024 * 1024;

/// `limit` in the largest unit that shows it exactly enough for a person (`64 MiB`, `1000 bytes`).
pub fn describe_size(limit: u64) -> String {
    if limit >= MIB && limit.is_multiple_of(MIB) {
        format!("{} MiB", limit / MIB)
    } else if limit >= 1024 && limit.is_multiple_of(1024) {
        format!("{} KiB", limit / 1024)
    } else if limit == 1 {
        "1 byte".to_owned()
    } else {
        format!("{limit} bytes")
    }
}

/// The error for an input over `limit`; `what` names it ("standard input", a path).
pub fn too_large(what: &str, limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "{what} is larger than {}, the most read from one input: is it the right file? (a device such as /dev/zero never ends)",
            describe_size(limit)
        ),
    )
}

/// Reads everything `reader` gives, up to `limit` bytes; more is [`too_large`] naming `what`.
/// Memory is bounded by `limit` + 1 whatever the reader is.
pub fn read_from(reader: impl Read, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(too_large(what, limit));
    }
    Ok(bytes)
}

/// Reads the file at `path` (a regular file, a device, a fifo) up to `limit` bytes. A directory
/// is refused by name rather than with the platform's "Is a directory". Errors do not repeat the
/// path: every caller puts it in front ("cannot read PATH: it is larger than ...").
pub fn read(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a folder, not a file",
        ));
    }
    read_from(file, limit, "it")
}

/// [`read`], then UTF-8: invalid text is an error naming the byte offset.
pub fn read_to_string(path: &Path, limit: u64) -> io::Result<String> {
    let bytes = read(path, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (byte {} is not part of a UTF-8 character): save it as UTF-8",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_one_byte_more() {
        assert_eq!(read_from(&b"abcd"[..], 4, "x").unwrap(), b"abcd");
        let error = read_from(&b"abcde"[..], 4, "in.bin").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
        assert!(
            error.to_string().contains("in.bin is larger than 4 bytes"),
            "{error}"
        );
    }

    #[test]
    fn an_endless_reader_stops_at_the_limit() {
        let error = read_from(io::repeat(0), 1024, "standard input").unwrap_err();
        assert!(error.to_string().contains("larger than 1 KiB"), "{error}");
    }

    #[test]
    fn dev_zero_is_refused_with_bounded_memory() {
        let error = read(Path::new("/dev/zero"), 4096).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
        assert!(
            error.to_string().contains("it is larger than 4 KiB"),
            "{error}"
        );
    }

    #[test]
    fn a_folder_and_bad_utf8_are_named() {
        let dir = std::env::temp_dir();
        assert!(read(&dir, 10).unwrap_err().to_string().contains("folder"));
        let file = dir.join(format!("bounded-input-{}.txt", std::process::id()));
        std::fs::write(&file, b"ab\xffc").unwrap();
        let error = read_to_string(&file, 10).unwrap_err();
        std::fs::remove_file(&file).unwrap();
        assert!(error.to_string().contains("byte 2"), "{error}");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(describe_size(DEFAULT_LIMIT), "64 MiB");
        assert_eq!(describe_size(MESSAGE_LIMIT), "256 MiB");
        assert_eq!(describe_size(3072), "3 KiB");
        assert_eq!(describe_size(1000), "1000 bytes");
    }
}
