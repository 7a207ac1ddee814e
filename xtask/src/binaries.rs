//! The one way xtask builds the project's binaries (`smime-lab`, `mock-tenant`, `smtp-sink`, ...),
//! so that no two xtask commands resolve different feature sets and rebuild each other's work.
//!
//! Cargo unifies a dependency's features over the packages one invocation selects: `cargo build
//! -p smtp-sink` and `cargo build -p runner -p tenant -p smtp-sink` compile `tokio`, `ring` or
//! `clap` with different features, each invalidating what the other left in target/debug (issue
//! 13: `cargo xtask run-scenarios --list` took 75 s on an unchanged tree). `--workspace --bins`
//! selects every member, which is the feature set `cargo nextest run --workspace` and
//! `cargo build --workspace` resolve too, so a test run and a scenario run share their artefacts.
//! xtask itself builds in `target/xtask` (the `cargo xtask` alias in `.cargo/config.toml`), so its
//! own smaller feature set never touches these.
//!
//! `cargo xtask ci` proves it: [`check_unchanged_tree_builds_nothing`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use anyhow::Context as _;

use crate::{cargo, project_root, run_step};

/// A cargo profile the binaries are built in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Release,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Release => "release",
        }
    }

    /// The directory below the target directory that holds its binaries.
    fn dir(self) -> &'static str {
        match self {
            Profile::Dev => "debug",
            Profile::Release => "release",
        }
    }
}

/// Builds every binary of the workspace and returns the directory holding them.
pub fn build(profile: Profile) -> anyhow::Result<PathBuf> {
    run_step(cargo().args([
        "build",
        "--quiet",
        "--workspace",
        "--bins",
        "--profile",
        profile.name(),
    ]))?;
    Ok(target_dir()?.join(profile.dir()))
}

/// Cargo's target directory as Cargo resolves it (CARGO_TARGET_DIR, configuration, default).
pub fn target_dir() -> anyhow::Result<PathBuf> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(project_root())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run `cargo metadata`")?;
    anyhow::ensure!(
        output.status.success(),
        "`cargo metadata` failed ({})",
        output.status
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("`cargo metadata` printed no JSON")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("`cargo metadata` names no target_directory")
}

/// The CI step for issue 13: `cargo xtask run-scenarios --list` twice; the second run must not
/// compile anything. Cargo rewrites a crate's uplifted artefacts (binaries and `lib*.rlib` at the
/// top of `<target>/debug` and `<target>/xtask/debug`) exactly when it compiles that crate or
/// anything it depends on, so an unchanged modification time of every one of them means nothing
/// was compiled. The `.d` dep-info files beside them are left out: cargo rewrites those even for
/// a fresh build (seen on a clean clone, where only they changed). Prints the second run's wall time (measured, never asserted: speed
/// lives in `cargo xtask bench`).
pub fn check_unchanged_tree_builds_nothing() -> anyhow::Result<()> {
    let list_twice = || -> anyhow::Result<()> {
        let mut command = cargo();
        command
            .args(["xtask", "run-scenarios", "--list"])
            .stdout(Stdio::null());
        run_step(&mut command)
    };
    list_twice()?;
    let target = target_dir()?;
    let watched = [target.join("debug"), target.join("xtask").join("debug")];
    let before = artefact_times(&watched)?;
    let start = Instant::now();
    list_twice()?;
    let seconds = start.elapsed().as_secs_f64();
    let after = artefact_times(&watched)?;
    let rebuilt: Vec<String> = after
        .iter()
        .filter(|(path, time)| before.get(*path) != Some(*time))
        .map(|(path, _)| path.display().to_string())
        .collect();
    anyhow::ensure!(
        !rebuilt.is_empty() || !before.is_empty(),
        "no build artefacts found in {} or {}: the check cannot tell whether anything was compiled",
        watched[0].display(),
        watched[1].display()
    );
    if !rebuilt.is_empty() {
        anyhow::bail!(
            "a second `cargo xtask run-scenarios --list` on an unchanged tree compiled again \
             ({seconds:.1} s); rewritten: {}. Some cargo invocation resolves a different feature \
             set: build binaries only through xtask/src/binaries.rs",
            rebuilt.join(", ")
        );
    }
    eprintln!(
        "unchanged tree: the second `cargo xtask run-scenarios --list` compiled nothing ({seconds:.1} s)"
    );
    Ok(())
}

/// Modification time of every file directly in `dirs` (missing directories count as empty).
fn artefact_times(dirs: &[PathBuf]) -> anyhow::Result<BTreeMap<PathBuf, SystemTime>> {
    let mut times = BTreeMap::new();
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let metadata = entry
                .metadata()
                .with_context(|| format!("cannot stat {}", entry.path().display()))?;
            let dep_info = entry.path().extension().is_some_and(|e| e == "d");
            if metadata.is_file() && !dep_info {
                times.insert(entry.path(), metadata.modified()?);
            }
        }
    }
    Ok(times)
}

/// `Command` for a binary built by [`build`], run from the project root.
pub fn command(dir: &Path, name: &str) -> Command {
    let mut command = Command::new(dir.join(name));
    command.current_dir(project_root());
    command
}
