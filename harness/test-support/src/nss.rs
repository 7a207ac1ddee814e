//! An NSS certificate database (the library inside Thunderbird and Firefox) for `certutil`,
//! `pk12util` and `cmsutil` from libnss3-tools.

use std::path::{Path, PathBuf};
use std::process::Command;

/// An NSS tool; a missing one fails the test with what to install.
pub fn tool(program: &str) -> Command {
    crate::command(program, "libnss3-tools")
}

/// A database with an empty password in `<dir>/nssdb`.
pub struct NssDb {
    dir: PathBuf,
}

impl NssDb {
    pub fn create(dir: &Path) -> Self {
        let db = NssDb {
            dir: dir.join("nssdb"),
        };
        std::fs::create_dir_all(&db.dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", db.dir.display()));
        crate::run_ok(tool("certutil").args(["-N", "-d", &db.arg(), "--empty-password"]));
        db
    }

    /// The value of the tools' `-d` option.
    pub fn arg(&self) -> String {
        format!("sql:{}", self.dir.display())
    }

    /// Trusts `certificate` as a CA for every purpose (`-t C,C,C`).
    pub fn trust_ca(&self, nickname: &str, certificate: &Path) {
        crate::run_ok(
            tool("certutil")
                .args(["-A", "-d", &self.arg(), "-n", nickname, "-t", "C,C,C", "-i"])
                .arg(certificate),
        );
    }

    /// Imports a PKCS#12 identity with `pk12util`.
    pub fn import_pkcs12(&self, file: &Path, password: &str) {
        crate::run_ok(tool("pk12util").arg("-i").arg(file).args([
            "-d",
            &self.arg(),
            "-W",
            password,
        ]));
    }
}
