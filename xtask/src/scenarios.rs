//! `cargo xtask run-scenarios [OPTIONS] [FILES|DIRS...]`: the main job. Builds what a run
//! needs (`smime-lab`, `mock-tenant`, `smtp-sink`), builds the lab's Docker images when the run
//! may use containers, then hands every argument unchanged to `smime-lab scenario run` and exits
//! with its code (`runner::exit`: 0 all passed, 1 a scenario failed, 2 usage or an invalid file,
//! 3 could not run, 130 interrupted). When the build or the images fail, or `smime-lab` is killed,
//! nothing was found out: [`COULD_NOT_RUN`].
//!
//! Before the run, `smime-lab doctor --runtime <the same>` prints what the machine has and lacks;
//! when it says no runtime can run (exit 3), nothing is run and the exit code is 3.
//!
//! Forwarding verbatim keeps one definition of the options: `cargo xtask run-scenarios --help`
//! prints `smime-lab scenario run --help`. Only `--runtime` and `--list` are looked at here.

use std::process::ExitCode;

/// `runner::exit::COULD_NOT_RUN` (xtask does not link the runner): the run could not find out.
pub const COULD_NOT_RUN: u8 = 3;

#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// Everything `smime-lab scenario run` takes (see `cargo xtask run-scenarios --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// What the forwarded arguments ask of the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Auto,
    Containers,
    Local,
}

impl Runtime {
    fn name(self) -> &'static str {
        match self {
            Runtime::Auto => "auto",
            Runtime::Containers => "containers",
            Runtime::Local => "local",
        }
    }
}

/// `--runtime X` or `--runtime=X` (the last one wins, as clap takes it); anything unknown is
/// left for `smime-lab` to refuse.
fn requested_runtime(args: &[String]) -> Runtime {
    let mut runtime = Runtime::Auto;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let value = if arg == "--runtime" {
            iter.next().map(String::as_str)
        } else {
            arg.strip_prefix("--runtime=")
        };
        match value {
            Some("containers" | "docker") => runtime = Runtime::Containers,
            Some("local") => runtime = Runtime::Local,
            Some(_) => runtime = Runtime::Auto,
            None => {}
        }
    }
    runtime
}

/// Nothing runs: no images needed.
fn runs_nothing(args: &[String]) -> bool {
    args.iter()
        .any(|a| a == "--list" || a == "--help" || a == "-h")
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let binaries = crate::binaries::build(crate::binaries::Profile::Dev)?;
    if !runs_nothing(&args.args) {
        match requested_runtime(&args.args) {
            Runtime::Local => {}
            Runtime::Containers => crate::images::run(&crate::images::Args::default())?,
            Runtime::Auto => match crate::images::docker_answers() {
                // The run falls back to the local runtime if the images cannot be built here
                // (no root, no mirror): say why, and let it.
                Ok(()) => {
                    if let Err(e) = crate::images::run(&crate::images::Args::default()) {
                        eprintln!(
                            "run-scenarios: the lab images could not be built ({e:#}); \
                             the run uses the local runtime unless they already exist"
                        );
                    }
                }
                Err(e) => eprintln!("run-scenarios: no containers ({e:#}): local runtime"),
            },
        }
    }
    // The machine examined before any lab starts: which runtime and why, what is missing and
    // the command that installs it (`smime-lab doctor`, the same check `scenario run` makes).
    if !runs_nothing(&args.args) {
        let mut doctor = crate::binaries::command(&binaries, "smime-lab");
        doctor.args(["doctor", "--runtime", requested_runtime(&args.args).name()]);
        // On standard error: standard output is the run's (`--json` prints the report there).
        doctor.stdout(std::process::Stdio::from(std::io::stderr()));
        eprintln!("$ {}", crate::describe(&doctor));
        let status = doctor
            .status()
            .map_err(|e| anyhow::anyhow!("could not start `{}`: {e}", crate::describe(&doctor)))?;
        if !status.success() {
            eprintln!(
                "run-scenarios: this machine cannot run the lab (see above): nothing was run"
            );
            return Ok(ExitCode::from(COULD_NOT_RUN));
        }
    }
    // The binary just built, run directly: `cargo run -p runner` would resolve another feature
    // set (see binaries.rs). The lab finds mock-tenant and smtp-sink beside it.
    let mut command = crate::binaries::command(&binaries, "smime-lab");
    command.args(["scenario", "run"]).args(&args.args);
    eprintln!("$ {}", crate::describe(&command));
    let status = command
        .status()
        .map_err(|e| anyhow::anyhow!("could not start `{}`: {e}", crate::describe(&command)))?;
    Ok(match status.code() {
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(COULD_NOT_RUN)),
        // Killed by a signal (not one it handles: those exit 130): nothing was found out.
        None => ExitCode::from(COULD_NOT_RUN),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_runtime_is_read_from_the_forwarded_arguments() {
        assert_eq!(requested_runtime(&args(&[])), Runtime::Auto);
        assert_eq!(
            requested_runtime(&args(&["--runtime", "local", "scenarios"])),
            Runtime::Local
        );
        assert_eq!(
            requested_runtime(&args(&["--runtime=containers"])),
            Runtime::Containers
        );
        assert_eq!(
            requested_runtime(&args(&["--runtime", "local", "--runtime", "auto"])),
            Runtime::Auto
        );
        // A file named like a runtime is not a runtime.
        assert_eq!(
            requested_runtime(&args(&["local", "--filter", "local"])),
            Runtime::Auto
        );
        assert!(runs_nothing(&args(&["--partition", "1/4", "--list"])));
        assert!(!runs_nothing(&args(&["--partition", "1/4"])));
    }
}
