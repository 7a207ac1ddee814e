//! The independent peers the tests check our output against, and the environment tests find them in.
//!
//! Debian's packages give OpenSSL, gpgsm, NSS `cmsutil`, Chromium (run headless by the
//! browser-policy tests) and samba's Python bindings (its Registry.pol parser); PyPI gives `cryptography`, `pkilint`,
//! `jsonschema` (which checks the scenario schema) and `schemathesis` (which tests the tenant's API
//! from its OpenAPI document), installed in a venv under target/ so that nothing outside the
//! checkout changes. crates.io gives `cargo-fuzz` (`cargo xtask fuzz` and CI's fuzz smoke).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{project_root, run_step};

const APT_PACKAGES: &[&str] = &[
    "openssl",
    "gpgsm",
    "gpg-agent",
    "libnss3-tools",
    "python3-venv",
    "chromium",
    "python3-samba",
    // The lab's local runtime (slapd, nginx) and `cargo xtask images` (mmdebstrap).
    "slapd",
    "ldap-utils",
    "nginx",
    "mmdebstrap",
    // `cargo xtask ci`'s Windows check of the runner: ring's build script compiles C for the
    // target with MinGW's gcc.
    "gcc-mingw-w64-x86-64",
];
/// Pinned so that a new release cannot change what "the peer accepts" between two CI runs.
const PYTHON_PACKAGES: &[&str] = &[
    "cryptography==50.0.2",
    "pkilint==0.13.3",
    "jsonschema==4.26.0",
    "schemathesis==4.32.5",
];
/// The Python modules the tests import from the venv.
const PYTHON_MODULES: &str = "cryptography, pkilint, jsonschema, schemathesis";
/// `cargo install` of the fuzzing driver, pinned like the Python peers.
const CARGO_FUZZ: &[&str] = &["install", "cargo-fuzz", "--version", "0.13.2", "--locked"];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Install what is missing (apt-get needs root) instead of only reporting it.
    #[arg(long)]
    pub install: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    if args.install {
        install()?;
    }
    let missing = missing();
    if missing.is_empty() {
        eprintln!("peers: all present (python: {})", venv_python().display());
        Ok(())
    } else {
        anyhow::bail!(
            "missing test peers: {}\nrun `cargo xtask peers --install` (as root, it uses apt-get and pip)",
            missing.join(", ")
        )
    }
}

pub fn venv_dir() -> PathBuf {
    project_root().join("target/peers/venv")
}

pub fn venv_python() -> PathBuf {
    venv_dir().join("bin/python")
}

/// Environment for test processes: the venv's scripts (pkilint's `lint_cabf_smime_cert`) first on
/// PATH, and `SMIME_LAB_PYTHON` naming the interpreter with `cryptography`.
pub fn test_environment() -> Vec<(String, String)> {
    let path = std::env::var("PATH").unwrap_or_default();
    vec![
        (
            "PATH".into(),
            format!("{}:{path}", venv_dir().join("bin").display()),
        ),
        (
            "SMIME_LAB_PYTHON".into(),
            venv_python().display().to_string(),
        ),
    ]
}

fn missing() -> Vec<String> {
    let mut missing = Vec::new();
    for (program, arg, package) in [
        ("openssl", "version", "openssl"),
        ("gpgsm", "--version", "gpgsm"),
        ("cmsutil", "-h", "libnss3-tools"),
        ("certutil", "-H", "libnss3-tools"),
    ] {
        let found = Command::new(program)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            missing.push(format!("{program} (apt package {package})"));
        }
    }
    let python_ok = Command::new(venv_python())
        .args(["-c", &format!("import {PYTHON_MODULES}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !python_ok {
        missing.push(format!(
            "python {PYTHON_MODULES} in {}",
            venv_dir().display()
        ));
    }
    if !has_cargo_fuzz() {
        missing.push("cargo-fuzz (`cargo install cargo-fuzz --locked`)".to_owned());
    }
    missing
}

fn install() -> anyhow::Result<()> {
    let need_apt = APT_PACKAGES.iter().any(|p| {
        !Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", p])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
    });
    if need_apt {
        run_step(Command::new("apt-get").arg("update").arg("-qq"))?;
        run_step(
            Command::new("apt-get")
                .args(["install", "-y", "-qq", "--no-install-recommends"])
                .args(APT_PACKAGES)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        // Installing slapd and nginx may start system daemons on ports 389 and 80; the lab runs
        // its own on other ports and needs neither. Best effort: there may be no init system.
        for daemon in ["slapd", "nginx"] {
            let _ = Command::new("service")
                .args([daemon, "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    if !venv_python().exists() {
        run_step(
            Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(venv_dir()),
        )?;
    }
    run_step(
        Command::new(venv_python())
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PYTHON_PACKAGES),
    )?;
    if !has_cargo_fuzz() {
        run_step(crate::cargo().args(CARGO_FUZZ))?;
    }
    Ok(())
}

/// Whether `cargo fuzz` runs.
pub fn has_cargo_fuzz() -> bool {
    crate::cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
