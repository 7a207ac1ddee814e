//! `cargo xtask fixtures`: rebuild the committed fixtures from their descriptions. The rebuild is
//! byte-identical, so `git status` after it shows exactly what a description change did, and the
//! runner's tests fail when someone forgets to run it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Each lab PKI description and the directory its build is committed to (relative to the
/// workspace root).
const PKI_LABS: &[(&str, &str)] = &[("fixtures/pki/default.yaml", "fixtures/pki/default")];

pub fn run() -> anyhow::Result<()> {
    let root = workspace_root()?;
    // Inside `cargo xtask`, CARGO names the cargo that is running us.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for (description, out) in PKI_LABS {
        let status = Command::new(&cargo)
            .current_dir(&root)
            .args(["run", "--quiet", "-p", "runner", "--bin", "smime-lab", "--"])
            .args(["pki", "build", description, "--out", out])
            .status()
            .with_context(|| format!("cannot run cargo to build {out}"))?;
        if !status.success() {
            bail!("smime-lab pki build {description} --out {out} failed ({status})");
        }
    }
    Ok(())
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask is not inside the workspace")
}
