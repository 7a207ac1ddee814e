//! Where the commands' results go: a file written whole or not at all, with the mode its content
//! calls for, or standard output.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// For secrets: private keys, PKCS#12 files, decrypted mail.
pub(crate) const PRIVATE: u32 = 0o600;
/// For what is public by design: certificates, stores, signed and encrypted mail.
pub(crate) const PUBLIC: u32 = 0o644;

/// Writes `bytes` to a temporary file in the same directory as `path`, then renames it over
/// `path`: readers (Exchange tooling, a mail client) see the old file or the new one, never half
/// of one, and a failure leaves nothing behind. `tempfile` creates the temporary file 0600; it gets
/// `mode` only once written, so a secret is never readable by others, not even briefly.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    stage(path, bytes, mode)?
        .persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Writes several files all or none (the four forms of one browser policy): every file is first
/// written whole to a temporary file beside its destination, and a destination that cannot be
/// replaced (a folder of that name) is refused, before any is renamed into place. A failure
/// while staging leaves no file behind (the temporary files delete themselves on drop).
pub(crate) fn write_all_or_none(files: &[(PathBuf, Vec<u8>, u32)]) -> anyhow::Result<()> {
    let mut staged = Vec::new();
    for (path, bytes, mode) in files {
        if path.is_dir() {
            anyhow::bail!(
                "cannot write {}: a folder of that name is in the way (nothing was written)",
                path.display()
            );
        }
        staged.push((stage(path, bytes, *mode)?, path));
    }
    for (temp, path) in staged {
        temp.persist(path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// `bytes` in a temporary file in `path`'s folder with `mode`, ready to be renamed over `path`.
fn stage(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".smime-lab-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", temp.path().display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set permissions on {}", temp.path().display()))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    Ok(temp)
}

/// [`write_atomically`] to `output`, or standard output when there is none.
pub(crate) fn write_output(output: Option<&Path>, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    match output {
        Some(path) => write_atomically(path, bytes, mode),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .context("cannot write to standard output")
        }
    }
}
