//! `cargo xtask fixtures`: rebuild the committed fixtures from their descriptions. The rebuild is
//! byte-identical, so `git status` after it shows exactly what a description change did, and the
//! runner's tests fail when someone forgets to run it.

use crate::run_step;

/// Each lab PKI description and the directory its build is committed to (relative to the
/// workspace root).
const PKI_LABS: &[(&str, &str)] = &[("fixtures/pki/default.yaml", "fixtures/pki/default")];

pub fn run() -> anyhow::Result<()> {
    let binaries = crate::binaries::build(crate::binaries::Profile::Dev)?;
    for (description, out) in PKI_LABS {
        run_step(crate::binaries::command(&binaries, "smime-lab").args([
            "pki",
            "build",
            description,
            "--out",
            out,
        ]))?;
    }
    Ok(())
}
