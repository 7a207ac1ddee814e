//! `cargo xtask fuzz TARGET --time N`: the cargo-fuzz targets in `harness/smime/fuzz`, run on
//! the stable toolchain, with a corpus seeded from `../shared/vectors` and the repository.
//!
//! Why cargo-fuzz with `RUSTC_BOOTSTRAP=1` rather than cargo-afl: the targets were already
//! written for libFuzzer (`fuzz_target!`), libFuzzer runs in-process (no fork per input, so the
//! cheap parsers reach millions of executions a minute on one core), and its final statistics
//! give the execution count the record needs. The nightly flags cargo-fuzz passes (`-Z` for the
//! sanitizer coverage) are accepted by the stable compiler once `RUSTC_BOOTSTRAP=1` unlocks them;
//! nothing else about the build changes. The default sanitizer is `none`: every crate here
//! forbids `unsafe`, a finding is a panic (debug assertions are on, so an overflow panics too),
//! and AddressSanitizer would halve the executions; `--sanitizer address` is there for the
//! dependencies' unsafe code.
//!
//! Everything a run makes lives under `target/fuzz/`: `build/` (cargo's target directory),
//! `seeds/TARGET` (made anew each run), `corpus/TARGET` (kept between runs: it grows),
//! `artifacts/TARGET` (crashing inputs), `logs/TARGET.log` (libFuzzer's output). `--record`
//! writes the run's figures into `docs/fuzzing.md`. No vector is committed: the seeds are copied
//! from `shared/vectors` (found as the tests find it) at run time, so the licences that keep some
//! of them out of `fixtures/` are respected.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use crate::{cargo, describe, project_root};

/// Where the targets live (a cargo workspace of its own).
const FUZZ_DIR: &str = "harness/smime/fuzz";
/// The fuzzing record, rewritten between its markers by `--record`.
const RECORD: &str = "docs/fuzzing.md";
const RECORD_START: &str = "<!-- fuzz-record:start -->";
const RECORD_END: &str = "<!-- fuzz-record:end -->";
/// A seed larger than this is left out: libFuzzer's default `-max_len` follows the largest seed,
/// and a multi-megabyte message makes every mutation slow.
const MAX_SEED_BYTES: u64 = 256 * 1024;
/// How long one input may run before libFuzzer calls it a hang (a finding).
const INPUT_TIMEOUT_SECONDS: u64 = 10;
/// The CI smoke: seconds per target.
pub const SMOKE_SECONDS: u64 = 5;

/// One target and where its seeds come from.
struct Target {
    name: &'static str,
    /// What it reads, for `--list`.
    what: &'static str,
    /// File name endings taken from `../shared/vectors` (lower case).
    vector_endings: &'static [&'static str],
    /// Folders of the repository whose files are seeds (non-recursive).
    repo_dirs: &'static [&'static str],
}

const MESSAGES: &[&str] = &[
    ".eml", ".txt", ".p7m", ".p7s", ".msg", ".der", ".bin", ".cms",
];

const TARGETS: &[Target] = &[
    Target {
        name: "ber",
        what: "smime::ber, the BER-to-DER normaliser before PKCS#12 and EnvelopedData",
        vector_endings: &[
            ".p12", ".pfx", ".der", ".p7m", ".p7s", ".bin", ".cms", ".p7b",
        ],
        repo_dirs: &[],
    },
    Target {
        name: "sst_read",
        what: "certificate collections: SST, PKCS#7, DER, PEM",
        vector_endings: &[".crt", ".cer", ".pem", ".der", ".p7b", ".sst", ".crttest"],
        repo_dirs: &["harness/smime/fuzz/corpus/sst_read", "fixtures/pki/default"],
    },
    Target {
        name: "verify_message",
        what: "S/MIME signature verification of a message or a bare CMS object",
        vector_endings: MESSAGES,
        repo_dirs: &[],
    },
    Target {
        name: "decrypt",
        what: "EnvelopedData/AuthEnvelopedData and the S/MIME layer in front of them",
        vector_endings: MESSAGES,
        repo_dirs: &[],
    },
    Target {
        name: "open_message",
        what: "layered messages: signatures and envelopes, outermost first",
        vector_endings: MESSAGES,
        repo_dirs: &[],
    },
    Target {
        name: "anatomy",
        what: "the anatomy a snapshot shows (MIME walk, CMS structures, YAML)",
        vector_endings: MESSAGES,
        repo_dirs: &[],
    },
    Target {
        name: "scenario_load",
        what: "the scenario loader: YAML, model, validation, the rendered diagnostics",
        vector_endings: &[],
        repo_dirs: &["scenarios"],
    },
    Target {
        name: "tenant_request",
        what: "the mock tenant's request bodies: InvokeCommand, binding, cmdlets (-WhatIf), export, validation, $skiptoken",
        vector_endings: &[],
        repo_dirs: &["harness/smime/fuzz/corpus/tenant_request"],
    },
    Target {
        name: "ldif_read",
        what: "the LDIF reader the rollout preflight streams an ldifde or ldapsearch export with",
        vector_endings: &[".ldif", ".ldf"],
        repo_dirs: &["harness/smime/fuzz/corpus/ldif_read"],
    },
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The target (`--list` shows them), or `all` for each in turn.
    #[arg(required_unless_present = "list")]
    target: Option<String>,
    /// Seconds to fuzz each target.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    time: u64,
    /// Stop each target once it has run this many inputs (libFuzzer's `-runs`), even before
    /// `--time` is up: `--runs 10000000 --time 7200` is a record run that ends as soon as it
    /// has its volume.
    #[arg(long, value_name = "EXECUTIONS")]
    runs: Option<u64>,
    /// Write the run's figures into docs/fuzzing.md (one row per target, replaced).
    #[arg(long)]
    record: bool,
    /// libFuzzer's sanitizer: none (default, see the module documentation) or address.
    #[arg(long, default_value = "none", value_parser = ["none", "address"])]
    sanitizer: String,
    /// Start from the seeds only, forgetting the corpus earlier runs grew.
    #[arg(long)]
    fresh: bool,
    /// List the targets and exit.
    #[arg(long)]
    list: bool,
}

/// What one run found.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub target: String,
    pub seconds: u64,
    pub executions: u64,
    pub corpus: usize,
    pub seeds: usize,
    pub crashes: Vec<PathBuf>,
    pub peak_rss_mb: Option<u64>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    if args.list {
        for t in TARGETS {
            println!("{:<16} {}", t.name, t.what);
        }
        return Ok(());
    }
    let wanted = args.target.as_deref().unwrap_or("all");
    let targets: Vec<&Target> = if wanted == "all" {
        TARGETS.iter().collect()
    } else {
        vec![find(wanted)?]
    };
    ensure_cargo_fuzz()?;
    let mut outcomes = Vec::new();
    for target in targets {
        let outcome = fuzz(
            target,
            args.time,
            args.runs,
            &args.sanitizer,
            Mode::Grow { fresh: args.fresh },
        )?;
        print_outcome(&outcome);
        outcomes.push(outcome);
    }
    if args.record {
        record(&outcomes, &args.sanitizer)?;
        eprintln!("fuzz: recorded in {RECORD}");
    }
    findings(&outcomes)
}

/// The CI smoke: every target for [`SMOKE_SECONDS`] from its seeds alone (a corpus of its own,
/// emptied first, so that a run does not depend on the last one). Any crash fails.
pub fn smoke() -> anyhow::Result<()> {
    ensure_cargo_fuzz()?;
    let mut outcomes = Vec::new();
    for target in TARGETS {
        let outcome = fuzz(target, SMOKE_SECONDS, None, "none", Mode::Smoke)?;
        print_outcome(&outcome);
        outcomes.push(outcome);
    }
    findings(&outcomes)
}

fn findings(outcomes: &[Outcome]) -> anyhow::Result<()> {
    let crashed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.crashes.is_empty())
        .map(|o| {
            format!(
                "{}: {}",
                o.target,
                o.crashes
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "fuzzing found inputs that crash or hang:\n  {}\nreproduce with `RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir {FUZZ_DIR} -s none TARGET FILE`, \
             fix, and keep the input as a regression test",
            crashed.join("\n  ")
        )
    }
}

fn find(name: &str) -> anyhow::Result<&'static Target> {
    TARGETS.iter().find(|t| t.name == name).ok_or_else(|| {
        anyhow::anyhow!(
            "no fuzz target {name:?}: the targets are {} (or `all`)",
            TARGETS
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    if crate::peers::has_cargo_fuzz() {
        Ok(())
    } else {
        anyhow::bail!(
            "cargo-fuzz is not installed: run `cargo install cargo-fuzz --locked` (or `cargo xtask peers --install`)"
        )
    }
}

#[derive(Clone, Copy)]
enum Mode {
    /// A long run: the corpus in target/fuzz/corpus is kept and grows (emptied first if fresh).
    Grow { fresh: bool },
    /// The CI smoke: a corpus of its own, always emptied first.
    Smoke,
}

fn fuzz(
    target: &Target,
    seconds: u64,
    runs: Option<u64>,
    sanitizer: &str,
    mode: Mode,
) -> anyhow::Result<Outcome> {
    let root = project_root();
    let base = root.join("target/fuzz");
    let seeds_dir = base.join("seeds").join(target.name);
    let (corpus_dir, artifacts_dir, empty_corpus) = match mode {
        Mode::Grow { fresh } => (
            base.join("corpus").join(target.name),
            base.join("artifacts").join(target.name),
            fresh,
        ),
        Mode::Smoke => (
            base.join("smoke/corpus").join(target.name),
            base.join("smoke/artifacts").join(target.name),
            true,
        ),
    };
    let scratch = base
        .join("scratch")
        .join(format!("{}-{}", target.name, std::process::id()));
    let log = base.join("logs").join(format!("{}.log", target.name));
    if empty_corpus {
        remove_dir(&corpus_dir)?;
    }
    for dir in [&corpus_dir, &artifacts_dir, &scratch] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let seeds = seed(target, &root, &seeds_dir)?;
    let before = list_files(&artifacts_dir);

    let mut command = cargo();
    command
        .current_dir(&root)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", base.join("build"))
        .env("SMIME_LAB_FUZZ_SCRATCH", &scratch)
        .args([
            "fuzz",
            "run",
            "--fuzz-dir",
            FUZZ_DIR,
            "--sanitizer",
            sanitizer,
        ])
        .arg(target.name)
        .arg(&corpus_dir)
        .arg(&seeds_dir)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts_dir.display()));
    if let Some(runs) = runs {
        command.arg(format!("-runs={runs}"));
    }
    eprintln!("$ {}", describe(&command));
    let log_file =
        std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    command.stdout(Stdio::null()).stderr(log_file);
    let status = command
        .status()
        .with_context(|| format!("could not start `{}`", describe(&command)))?;
    remove_dir(&scratch)?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let crashes: Vec<PathBuf> = list_files(&artifacts_dir)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    let executions = stat(&text, "stat::number_of_executed_units:");
    if !status.success() && crashes.is_empty() {
        // A build failure, or libFuzzer refusing its arguments: nothing was fuzzed.
        anyhow::bail!(
            "`cargo fuzz run {}` failed ({status}) before finding anything; the end of {}:\n{}",
            target.name,
            log.display(),
            tail(&text, 30)
        );
    }
    let Some(executions) = executions else {
        anyhow::bail!(
            "`cargo fuzz run {}` ended without libFuzzer's final statistics; the end of {}:\n{}",
            target.name,
            log.display(),
            tail(&text, 30)
        );
    };
    Ok(Outcome {
        target: target.name.to_owned(),
        // libFuzzer's own count ("Done N runs in S second(s)"): the build is not fuzzing time.
        // A run that stopped on a finding prints no `Done` line; its executions over libFuzzer's
        // average rate are the time it fuzzed (the time asked for would overstate it).
        seconds: done_seconds(&text)
            .or_else(|| fuzzed_seconds(&text, executions))
            .unwrap_or(seconds),
        executions,
        corpus: list_files(&corpus_dir).len(),
        seeds,
        crashes,
        peak_rss_mb: stat(&text, "stat::peak_rss_mb:"),
    })
}

/// Fills `dir` anew with the target's seeds; returns how many.
fn seed(target: &Target, root: &Path, dir: &Path) -> anyhow::Result<usize> {
    remove_dir(dir)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut count = 0;
    let mut copy = |from: &Path, name: String| -> anyhow::Result<()> {
        if std::fs::metadata(from).is_ok_and(|m| m.is_file() && m.len() <= MAX_SEED_BYTES) {
            std::fs::copy(from, dir.join(&name))
                .with_context(|| format!("cannot copy seed {}", from.display()))?;
            count += 1;
        }
        Ok(())
    };
    for repo_dir in target.repo_dirs {
        for file in list_files(&root.join(repo_dir)) {
            let name = format!(
                "repo__{}",
                file.file_name().unwrap_or_default().to_string_lossy()
            );
            copy(&file, name)?;
        }
    }
    if !target.vector_endings.is_empty() {
        let Some(vectors) = vectors_dir(root) else {
            anyhow::bail!(
                "no shared/vectors beside the repository (or above it): put the shared/ folder \
                 there, or set SMIME_LAB_VECTORS to its vectors/ folder; {} is seeded from it",
                target.name
            );
        };
        for file in walk(&vectors) {
            let lower = file.to_string_lossy().to_ascii_lowercase();
            if target.vector_endings.iter().any(|e| lower.ends_with(e)) {
                let relative = file.strip_prefix(&vectors).unwrap_or(&file);
                let name = format!(
                    "vectors__{}",
                    relative.to_string_lossy().replace(['/', '\\'], "__")
                );
                copy(&file, name)?;
            }
        }
    }
    Ok(count)
}

/// `shared/vectors` as the tests find it (`test_support::vectors_dir`): `SMIME_LAB_VECTORS`, else
/// the first ancestor of the repository that holds `shared/vectors` (worktrees sit deeper).
fn vectors_dir(root: &Path) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SMIME_LAB_VECTORS") {
        return Some(PathBuf::from(dir)).filter(|d| d.is_dir());
    }
    root.ancestors()
        .map(|dir| dir.join("shared/vectors"))
        .find(|dir| dir.is_dir())
}

fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Every file under `dir`, depth-first, in a stable order.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn remove_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", dir.display())),
    }
}

/// The number after libFuzzer's `stat::NAME:` line.
fn stat(log: &str, key: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(key))
        .and_then(|v| v.trim().parse().ok())
}

/// The seconds of libFuzzer's closing `Done 123 runs in 2 second(s)` line.
fn done_seconds(log: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("Done "))
        .and_then(|rest| rest.split(" runs in ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The seconds a run that ended without a `Done` line fuzzed: its executions over libFuzzer's
/// `stat::average_exec_per_sec`.
fn fuzzed_seconds(log: &str, executions: u64) -> Option<u64> {
    stat(log, "stat::average_exec_per_sec:")
        .filter(|rate| *rate > 0)
        .map(|rate| executions / rate)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn print_outcome(o: &Outcome) {
    eprintln!(
        "fuzz: {}: {} executions in {} s ({}/s), corpus {} (from {} seeds), {} crash{}{}",
        o.target,
        o.executions,
        o.seconds,
        o.executions / o.seconds.max(1),
        o.corpus,
        o.seeds,
        o.crashes.len(),
        if o.crashes.len() == 1 { "" } else { "es" },
        o.peak_rss_mb
            .map(|m| format!(", peak RSS {m} MB"))
            .unwrap_or_default()
    );
}

/// Replaces each run target's row of the table between the markers of docs/fuzzing.md, keeping
/// the other rows, in the order of [`TARGETS`].
fn record(outcomes: &[Outcome], sanitizer: &str) -> anyhow::Result<()> {
    let path = project_root().join(RECORD);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}: it holds the fuzzing record",
            path.display()
        )
    })?;
    let (Some(start), Some(end)) = (text.find(RECORD_START), text.find(RECORD_END)) else {
        anyhow::bail!(
            "{} lacks the markers {RECORD_START} and {RECORD_END} around its record table",
            path.display()
        );
    };
    let inside = text
        .get(start + RECORD_START.len()..end)
        .unwrap_or_default();
    let mut rows: Vec<(String, String)> = inside
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let name = l.split('`').nth(1)?.to_owned();
            Some((name, l.to_owned()))
        })
        .collect();
    let date = today();
    for o in outcomes {
        let row = format!(
            "| `{}` | {date} | {} | {} | {} | {} | {} | {} | {sanitizer} |",
            o.target,
            o.seconds,
            group(o.executions),
            group(o.executions / o.seconds.max(1)),
            o.corpus,
            o.seeds,
            o.crashes.len(),
        );
        rows.retain(|(name, _)| name != &o.target);
        rows.push((o.target.clone(), row));
    }
    rows.sort_by_key(|(name, _)| {
        TARGETS
            .iter()
            .position(|t| t.name == name)
            .unwrap_or(usize::MAX)
    });
    let mut table = String::from(
        "\n| target | date (UTC) | seconds | executions | per second | corpus | seeds | crashes | sanitizer |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for (_, row) in rows {
        let _ = writeln!(table, "{row}");
    }
    let updated = format!(
        "{}{RECORD_START}{table}{}",
        text.get(..start).unwrap_or_default(),
        text.get(end..).unwrap_or_default()
    );
    std::fs::write(&path, updated).with_context(|| format!("cannot write {}", path.display()))
}

/// 12345678 as `12,345,678`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock (days to civil date, H. Hinnant's
/// algorithm).
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_and_numbers_read_as_libfuzzer_writes_them() {
        let log = "#1024 pulse\nDone 123 runs in 2 second(s)\nstat::number_of_executed_units: 12345678\nstat::peak_rss_mb:              97\n";
        assert_eq!(
            stat(log, "stat::number_of_executed_units:"),
            Some(12_345_678)
        );
        assert_eq!(stat(log, "stat::peak_rss_mb:"), Some(97));
        assert_eq!(stat(log, "stat::new_units_added:"), None);
        assert_eq!(done_seconds(log), Some(2));
        // A run stopped by a finding: no `Done` line, the time from the average rate.
        let stopped = "==26779== ERROR: libFuzzer: timeout after 13 seconds\nstat::number_of_executed_units: 703919\nstat::average_exec_per_sec:     895\n";
        assert_eq!(done_seconds(stopped), None);
        assert_eq!(fuzzed_seconds(stopped, 703_919), Some(786));
        assert_eq!(fuzzed_seconds("", 703_919), None);
        assert_eq!(group(12_345_678), "12,345,678");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        let date = today();
        assert_eq!(date.len(), 10, "{date}");
        assert!(date.as_str() >= "2026-01-01", "{date}");
    }

    #[test]
    fn every_target_is_in_the_fuzz_workspace_and_has_seeds() {
        let manifest =
            std::fs::read_to_string(project_root().join(FUZZ_DIR).join("Cargo.toml")).unwrap();
        for target in TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{}\"", target.name)),
                "{} is not a [[bin]] of {FUZZ_DIR}/Cargo.toml",
                target.name
            );
            assert!(
                !target.vector_endings.is_empty() || !target.repo_dirs.is_empty(),
                "{} has no seeds",
                target.name
            );
            for dir in target.repo_dirs {
                assert!(
                    !list_files(&project_root().join(dir)).is_empty(),
                    "{}: {dir} holds no seed",
                    target.name
                );
            }
        }
        // Every [[bin]] of the fuzz workspace is a target here.
        let bins = manifest.matches("[[bin]]").count();
        assert_eq!(
            bins,
            TARGETS.len(),
            "{FUZZ_DIR}/Cargo.toml has {bins} targets"
        );
    }
}
