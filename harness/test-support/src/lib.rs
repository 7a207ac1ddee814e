//! What every crate's tests share: where the third-party vectors and the fixtures are, and how to
//! find and run the peers nobody here wrote (OpenSSL, gpgsm, NSS, Python `cryptography`,
//! pkilint). Dev-only: a `[dev-dependencies]` entry, never published.
//!
//! A missing vector folder or peer panics with what to do: a test that cannot run must fail, never
//! pass silently. CI installs the peers with `cargo xtask peers --install` and `cargo xtask ci`
//! points the tests at them (`SMIME_LAB_PYTHON`, the venv's scripts on PATH).

// Test code through and through: failing loudly where it stands (unwrap, expect, panic with what
// to do) is what a test helper is for. The workspace denies these lints for non-test code only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The browser driver starts Chromium in a process group of its own (Unix only).
#[cfg(unix)]
pub mod chromium;
pub mod gnupg;
pub mod http;
pub mod nss;
pub mod openssl_ca;
pub mod pki;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

/// What installs every peer at once; each panic names it next to the single package.
const PEERS_HINT: &str = "`cargo xtask peers --install` installs every test peer";

/// The repository (or worktree) root. This crate sits at `harness/test-support`, and cargo
/// compiles it from the checkout under test, so its manifest directory says where that is.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or_else(|| panic!("{} is not harness/test-support", manifest.display()))
        .to_path_buf()
}

/// `shared/vectors`: `SMIME_LAB_VECTORS` if set, else the first ancestor of the repository root
/// that holds `shared/vectors` (the shared folder sits beside the main checkout; worktrees sit
/// deeper, so walking up finds it from both).
pub fn vectors_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SMIME_LAB_VECTORS") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.is_dir(),
            "SMIME_LAB_VECTORS={} is not a directory: point it at the shared/vectors folder",
            dir.display()
        );
        return dir;
    }
    let root = repo_root();
    root.ancestors()
        .map(|dir| dir.join("shared/vectors"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "no shared/vectors in {} or above it: put the shared/ folder beside the repository, \
                 or set SMIME_LAB_VECTORS to its vectors/ folder",
                root.display()
            )
        })
}

/// A file or folder of the shared vectors, which must exist.
pub fn vector_path(relative: &str) -> PathBuf {
    let path = vectors_dir().join(relative);
    assert!(
        path.exists(),
        "test vector {relative} is missing: no {} (is shared/vectors complete?)",
        path.display()
    );
    path
}

/// The bytes of a shared vector.
pub fn vector(relative: &str) -> Vec<u8> {
    read(vector_path(relative))
}

/// A path under the repository's `fixtures/`, which must exist.
pub fn fixture(relative: &str) -> PathBuf {
    let path = repo_root().join("fixtures").join(relative);
    assert!(
        path.exists(),
        "fixture {relative} is missing: no {} (`cargo xtask fixtures` rebuilds the lab PKI)",
        path.display()
    );
    path
}

/// Reads a file, failing the test with its name.
pub fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Writes `dir/name` and returns its path, failing the test with the name.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// Fails the test, saying what to install, unless the host has what the local lab runtime runs
/// (slapd, slapadd, nginx).
pub fn require_local_lab() {
    for (program, package) in [("slapd", "slapd"), ("slapadd", "slapd"), ("nginx", "nginx")] {
        let found =
            find_on_path(program).is_some() || Path::new("/usr/sbin").join(program).is_file();
        assert!(
            found,
            "the local lab runs the host's {program}: install it with `cargo xtask peers --install` (or apt-get install {package})"
        );
    }
}

/// An executable of that name on PATH.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// A peer tool on PATH, or a test failure saying which Debian package installs it.
pub fn require_tool(program: &str, apt_package: &str) -> PathBuf {
    find_on_path(program).unwrap_or_else(|| {
        panic!(
            "peer tool `{program}` is not installed (not on PATH): apt-get install -y {apt_package}; \
             {PEERS_HINT}"
        )
    })
}

/// A command for a peer tool on PATH (see [`require_tool`]).
pub fn command(program: &str, apt_package: &str) -> Command {
    Command::new(require_tool(program, apt_package))
}

/// The `openssl` command line (OpenSSL 3): `SMIME_LAB_OPENSSL` if set (a relative path is taken
/// from the repository root), else `openssl` on PATH. Fails the test unless `openssl version` runs.
pub fn openssl_path() -> PathBuf {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let openssl = match std::env::var_os("SMIME_LAB_OPENSSL") {
                Some(path) => resolve(path.into()),
                None => require_tool("openssl", "openssl"),
            };
            let version = Command::new(&openssl).arg("version").output();
            assert!(
                version.is_ok_and(|o| o.status.success()),
                "{} does not run: apt-get install -y openssl, or point SMIME_LAB_OPENSSL at one \
                 that does",
                openssl.display()
            );
            openssl
        })
        .clone()
}

/// A command for [`openssl_path`].
pub fn openssl() -> Command {
    Command::new(openssl_path())
}

/// `openssl <args>`: its standard output, or a test failure showing what it printed.
pub fn run_openssl(args: &[&str]) -> Vec<u8> {
    run_ok(openssl().args(args)).stdout
}

/// The Python with `cryptography`: `SMIME_LAB_PYTHON` if set (a relative path is taken from the
/// repository root), else `python3` on PATH. Fails the test when it cannot `import cryptography`.
pub fn python() -> PathBuf {
    python_with("cryptography")
}

/// The peers' Python (as [`python`]), which must be able to `import module`: the one venv that
/// `cargo xtask peers --install` makes holds every module the tests use.
pub fn python_with(module: &str) -> PathBuf {
    static CHECKED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    const HINT: &str = "run `cargo xtask peers --install` (a venv with the Python peers in \
                        target/peers/venv) and set SMIME_LAB_PYTHON=target/peers/venv/bin/python";
    let candidate = match std::env::var_os("SMIME_LAB_PYTHON") {
        Some(path) => resolve(path.into()),
        None => find_on_path("python3").unwrap_or_else(|| {
            panic!("no python3 on PATH and SMIME_LAB_PYTHON is not set: {HINT}")
        }),
    };
    let mut checked = CHECKED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !checked.iter().any(|m| m == module) {
        let check = Command::new(&candidate)
            .args(["-c", &format!("import {module}")])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} ({e}): {HINT}", candidate.display()));
        assert!(
            check.status.success(),
            "{} cannot `import {module}`: {HINT}\n{}",
            candidate.display(),
            String::from_utf8_lossy(&check.stderr)
        );
        checked.push(module.to_owned());
    }
    candidate
}

/// A pkilint program (`lint_cabf_smime_cert`, `lint_pkix_cert`, ...). They are installed side by
/// side, so they are found beside `lint_cabf_smime_cert`: `SMIME_LAB_PKILINT` (its path; relative
/// to the repository root) if set, else the one on PATH.
pub fn pkilint(program: &str) -> PathBuf {
    const HINT: &str = "run `cargo xtask peers --install` and put target/peers/venv/bin on PATH, \
                        or set SMIME_LAB_PKILINT to the path of lint_cabf_smime_cert";
    let smime_linter = match std::env::var_os("SMIME_LAB_PKILINT") {
        Some(path) => resolve(path.into()),
        None => find_on_path("lint_cabf_smime_cert").unwrap_or_else(|| {
            panic!("pkilint is not installed (lint_cabf_smime_cert is not on PATH): {HINT}")
        }),
    };
    assert!(
        smime_linter.is_file(),
        "pkilint not found at {} (from SMIME_LAB_PKILINT): {HINT}",
        smime_linter.display()
    );
    let found = smime_linter.with_file_name(program);
    assert!(
        found.is_file(),
        "{program} not found beside {}: reinstall pkilint ({HINT})",
        smime_linter.display()
    );
    found
}

/// A path from an environment variable: a bare name is looked up on PATH, a relative path is
/// taken from the repository root (tests run in their crate's directory, not the root).
fn resolve(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        path
    } else if path.components().count() == 1 {
        path.to_str().and_then(find_on_path).unwrap_or(path)
    } else {
        repo_root().join(path)
    }
}

/// Runs a command and returns its output whatever the exit status. A program that cannot be
/// started fails the test, naming it.
pub fn run_any(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| cannot_run(cmd, &e))
}

/// Runs a command, failing the test with its output when it does not succeed.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run_any(cmd);
    assert_success(cmd, &out);
    out
}

/// [`run_any`] with `input` on standard input (passphrases, content to sign).
pub fn run_any_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| cannot_run(cmd, &e));
    // Written from a thread: a peer that answers before it has read everything must not
    // deadlock the test on a full pipe.
    let stdin = child.stdin.take();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        if let Some(mut pipe) = stdin {
            // The peer may exit without reading all of it; its exit status says what went wrong.
            let _ = pipe.write_all(&input);
        }
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {cmd:?}: {e}"));
    let _ = writer.join();
    out
}

/// [`run_ok`] with `input` on standard input.
pub fn run_ok_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let out = run_any_with_stdin(cmd, input);
    assert_success(cmd, &out);
    out
}

#[track_caller]
fn assert_success(cmd: &Command, out: &Output) {
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cannot_run(cmd: &Command, error: &std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::NotFound {
        panic!(
            "cannot run {:?}: it is not installed; {PEERS_HINT}",
            cmd.get_program()
        )
    }
    panic!("cannot run {cmd:?}: {error}")
}
