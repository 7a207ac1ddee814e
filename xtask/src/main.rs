//! `cargo xtask`: the project's automation, as plain Rust instead of shell scripts
//! (the rust-analyzer convention). Each subcommand lives in its own module.

mod bench;
mod binaries;
mod ci;
mod fixtures;
mod fuzz;
mod hygiene;
mod images;
mod lab_cli;
mod peers;
mod scenarios;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "smime-lab project automation")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// The test gate: formatting, clippy, every test against the real peers. What `.ci/run` calls.
    Ci(ci::Args),
    /// Install the independent peers the tests check against (OpenSSL, gpgsm, NSS, Python
    /// cryptography, pkilint), or report which are missing.
    Peers(peers::Args),
    /// Rebuild the deterministic lab PKI in fixtures/pki/default from fixtures/pki/default.yaml.
    Fixtures,
    /// Run the YAML scenarios against the lab: builds the binaries (and the images when
    /// containers may be used), then `smime-lab scenario run` with every argument given.
    RunScenarios(scenarios::Args),
    /// Build the lab's Docker images offline (mmdebstrap + docker import); skips current ones.
    Images(images::Args),
    /// Start (`up`), stop (`down`) or check (`status`) a lab with the default fixtures.
    Lab(lab_cli::Args),
    /// Measure the lab (message pipeline, directory at 1k/10k/100k users, catalogue, tooling
    /// overhead) beside anchors from the same run; writes target/smime-lab/bench/.
    Bench(bench::Args),
    /// Fuzz a parser of untrusted input (cargo-fuzz on the stable toolchain) with a corpus seeded
    /// from ../shared/vectors; `--record` writes the figures into docs/fuzzing.md.
    Fuzz(fuzz::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        // Passes smime-lab's exit code on: 1 (a scenario failed), 2 (usage) and 3 (could not
        // run) differ for CI. A build or image failure here is "could not run" too.
        Task::RunScenarios(args) => {
            return match scenarios::run(&args) {
                Ok(code) => code,
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::from(scenarios::COULD_NOT_RUN)
                }
            };
        }
        Task::Ci(args) => ci::run(&args),
        Task::Peers(args) => peers::run(&args),
        Task::Fixtures => fixtures::run(),
        Task::Images(args) => images::run(&args),
        Task::Lab(args) => lab_cli::run(&args),
        Task::Bench(args) => bench::run(&args),
        Task::Fuzz(args) => fuzz::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: xtask's manifest sits one level below it.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command from the project root, echoing it first, and fails naming it if it fails.
fn run_step(command: &mut Command) -> anyhow::Result<()> {
    command.current_dir(project_root());
    eprintln!("$ {}", describe(command));
    let status = command
        .status()
        .map_err(|e| anyhow::anyhow!("could not start `{}`: {e}", describe(command)))?;
    if !status.success() {
        anyhow::bail!("`{}` failed ({status})", describe(command));
    }
    Ok(())
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}
