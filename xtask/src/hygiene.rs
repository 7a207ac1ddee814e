//! Dependency hygiene and portability, steps of `cargo xtask ci`:
//!
//! - `cargo deny check` with `deny.toml`: licences, bans (duplicates, wildcards) and sources run
//!   offline against Cargo.lock. Advisories need RustSec's advisory database, which is fetched
//!   from GitHub: it is checked when a copy is already on this machine (cargo-deny's default
//!   place, `$CARGO_HOME/advisory-dbs`), and otherwise said to be unchecked, never passed.
//! - `cargo machete`: dependencies a crate declares and never names.
//! - `cargo check --target x86_64-pc-windows-gnu -p runner`: the offline commands build on
//!   Windows (the Unix-only parts are `cfg`-gated; the tidy test
//!   `unix_only_code_in_smime_lab_is_cfg_gated` holds that when the target cannot be had).
//!
//! Each tool is installed with `cargo install --locked` at a pinned version when missing.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{cargo, run_step};

/// (cargo subcommand, crate, version): what `ensure_tool` installs.
const CARGO_DENY: (&str, &str, &str) = ("deny", "cargo-deny", "0.20.2");
const CARGO_MACHETE: (&str, &str, &str) = ("machete", "cargo-machete", "0.9.2");
/// The Windows target the offline commands are checked for (no MSVC linker needed to check).
pub const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";

fn quiet(command: &mut Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `cargo <subcommand>` for a third-party tool, without the `CARGO_PKG_*` variables `cargo run`
/// gave xtask: cargo-machete reads `CARGO_PKG_NAME` as "run directly, not as a cargo
/// subcommand" and then takes its own subcommand name for a directory to scan.
fn tool(subcommand: &str) -> Command {
    let mut command = cargo();
    command.env_remove("CARGO_PKG_NAME").arg(subcommand);
    command
}

/// Installs `cargo <subcommand>` from crates.io when `cargo <subcommand> --version` fails.
fn ensure_tool((subcommand, package, version): (&str, &str, &str)) -> anyhow::Result<()> {
    if quiet(tool(subcommand).arg("--version")) {
        return Ok(());
    }
    eprintln!("ci: `cargo {subcommand}` is missing; installing {package} {version}");
    run_step(cargo().args(["install", "--locked", package, "--version", version]))
}

fn advisory_db() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    // cargo-deny clones the database into `advisory-dbs/advisory-db-<hash>/` (a lock file
    // beside it does not make a database).
    let dir = home.join("advisory-dbs");
    std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .any(|e| {
            e.file_name().to_string_lossy().starts_with("advisory-db-")
                && e.path().join("crates").is_dir()
        })
        .then_some(dir)
}

/// cargo-deny and cargo-machete.
pub fn dependencies() -> anyhow::Result<()> {
    ensure_tool(CARGO_DENY)?;
    // cargo-deny reads the metadata of every package in Cargo.lock, for every target (wasm's
    // bumpalo, Windows' crates): a machine that has only built for Linux lacks some, and
    // `--offline` then fails with "failed to download". crates.io is reachable; fetch them all.
    run_step(cargo().args(["fetch", "--locked"]))?;
    // Offline: cargo-deny would otherwise fetch the advisory database for any check.
    run_step(cargo().args([
        "deny",
        "--locked",
        "--offline",
        "check",
        "--hide-inclusion-graph",
        "licenses",
        "bans",
        "sources",
    ]))?;
    match advisory_db() {
        Some(dir) => {
            eprintln!(
                "ci: advisories checked against the copy in {} (not fetched: GitHub is not reachable from CI)",
                dir.display()
            );
            run_step(cargo().args([
                "deny",
                "--locked",
                "--offline",
                "check",
                "--hide-inclusion-graph",
                "advisories",
            ]))?;
        }
        None => eprintln!(
            "ci: advisories NOT checked: RustSec's advisory database is fetched from GitHub, \
             which this machine cannot reach; run `cargo deny check advisories` where it can"
        ),
    }
    ensure_tool(CARGO_MACHETE)?;
    run_step(&mut tool("machete"))
}

/// `cargo check` of the runner for Windows, adding the target with rustup when it can.
pub fn windows() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok()
        .is_some_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == WINDOWS_TARGET)
        });
    if !installed && !quiet(Command::new("rustup").args(["target", "add", WINDOWS_TARGET])) {
        eprintln!(
            "ci: the Windows check NOT run: `rustup target add {WINDOWS_TARGET}` failed here; \
             the tidy test `unix_only_code_in_smime_lab_is_cfg_gated` still holds the gating"
        );
        return Ok(());
    }
    // ring's build script compiles C for the target: MinGW's gcc (`cargo xtask peers
    // --install` brings it) is the C compiler; no linker runs for a check.
    run_step(cargo().args([
        "check",
        "--locked",
        "--target",
        WINDOWS_TARGET,
        "-p",
        "runner",
    ]))
}
