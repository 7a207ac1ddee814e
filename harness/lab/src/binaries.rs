//! Finding the programs the lab runs: our own binaries (`smtp-sink`, `mock-tenant`) and, for the
//! local runtime, the host's `slapd`, `slapadd` and `nginx`.
//!
//! Our binaries, in this order:
//! 1. the path in [`crate::Binaries`] (a caller that just built them);
//! 2. the environment variable `SMIME_LAB_SMTP_SINK` / `SMIME_LAB_MOCK_TENANT`;
//! 3. `SMIME_LAB_BIN_DIR/<name>`;
//! 4. the Cargo target directory of the running executable: a test binary runs from
//!    `target/<profile>/deps/`, `cargo xtask` from `target/<profile>/`, and `cargo test` or
//!    `cargo build` of the workspace puts every binary in `target/<profile>/`.
//!
//! Nothing here builds them (a nested `cargo build` from inside `cargo test` would wait on the
//! lock the outer one holds): build with `cargo build -p smtp-sink -p tenant` first, which
//! `cargo test --workspace` and `cargo xtask lab up` do.
//!
//! Host programs: `SMIME_LAB_SLAPD` / `SMIME_LAB_SLAPADD` / `SMIME_LAB_NGINX`, else `PATH`, else
//! `/usr/sbin` (Debian installs slapd and nginx there, outside a normal user's PATH).

use std::path::{Path, PathBuf};

use crate::LabError;

/// One of our own binaries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OwnBinary {
    pub name: &'static str,
    pub env: &'static str,
    pub package: &'static str,
}

pub(crate) const SMTP_SINK: OwnBinary = OwnBinary {
    name: "smtp-sink",
    env: "SMIME_LAB_SMTP_SINK",
    package: "smtp-sink",
};

pub(crate) const MOCK_TENANT: OwnBinary = OwnBinary {
    name: "mock-tenant",
    env: "SMIME_LAB_MOCK_TENANT",
    package: "tenant",
};

impl OwnBinary {
    pub fn locate(self, configured: Option<&Path>) -> Result<PathBuf, LabError> {
        let mut tried = Vec::new();
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(path) = configured {
            candidates.push(path.to_owned());
        }
        if let Some(path) = std::env::var_os(self.env) {
            candidates.push(PathBuf::from(path));
        }
        if let Some(dir) = std::env::var_os("SMIME_LAB_BIN_DIR") {
            candidates.push(PathBuf::from(dir).join(self.name));
        }
        if let Ok(exe) = std::env::current_exe() {
            // target/<profile>/deps/<test> or target/<profile>/<bin>: look in both parents.
            for dir in exe.ancestors().skip(1).take(2) {
                candidates.push(dir.join(self.name));
            }
        }
        for candidate in candidates {
            if candidate.is_file() {
                return Ok(candidate);
            }
            tried.push(candidate.display().to_string());
        }
        Err(LabError::ProgramMissing {
            program: self.name.into(),
            hint: format!(
                "build it with `cargo build -p {}` (or set {} to its path); looked in: {}",
                self.package,
                self.env,
                tried.join(", ")
            ),
        })
    }
}

/// A program of the host, for the local runtime.
pub(crate) fn host_program(name: &str, env: &str, package: &str) -> Result<PathBuf, LabError> {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        return Err(LabError::ProgramMissing {
            program: name.into(),
            hint: format!("{env} names {}, which is not a file", path.display()),
        });
    }
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| LabError::ProgramMissing {
            program: name.into(),
            hint: format!(
                "the local runtime runs the host's {name}: install it (Debian: `apt-get install {package}`, or `cargo xtask peers --install`), set {env}, or use the Docker runtime"
            ),
        })
}
