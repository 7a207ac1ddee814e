//! A throw-away GnuPG home for gpgsm, whose agent is stopped when the test ends, pass or fail.

use std::path::Path;
use std::process::Command;

/// A temporary `GNUPGHOME`. Dropping it kills the daemons gpgsm started in it.
pub struct GnupgHome {
    dir: tempfile::TempDir,
}

impl GnupgHome {
    /// A fresh home directly under /tmp (gpg-agent's socket path must stay short), mode 0700
    /// (GnuPG warns about and may refuse others), with loopback pinentry allowed so that a
    /// passphrase can come from standard input instead of a dialog.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("gh")
            .tempdir_in("/tmp")
            .unwrap_or_else(|e| panic!("cannot make a GnuPG home under /tmp: {e}"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .unwrap_or_else(|e| panic!("chmod 0700 {}: {e}", dir.path().display()));
        }
        crate::write(dir.path(), "gpg-agent.conf", b"allow-loopback-pinentry\n");
        GnupgHome { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `gpgsm --batch` in this home; a missing gpgsm fails the test with what to install.
    pub fn gpgsm(&self) -> Command {
        let mut gpgsm = crate::command("gpgsm", "gpgsm");
        gpgsm.env("GNUPGHOME", self.path()).arg("--batch");
        gpgsm
    }
}

impl Default for GnupgHome {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        // Best effort: a leftover agent only costs a process, and a failing test must keep its
        // own panic message.
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.path())
            .args(["--kill", "all"])
            .output();
    }
}
