//! `cargo xtask ci`: the whole test gate, in the order that fails fastest.

use std::process::Stdio;

use crate::{cargo, peers, run_step};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Install missing peers first (what `.ci/run` does on a fresh machine).
    #[arg(long)]
    install_peers: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    peers::run(&peers::Args {
        install: args.install_peers,
    })?;
    run_step(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run_step(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // Licences, bans, sources (and advisories when the database is here), unused dependencies,
    // and the offline commands built for Windows: cheap, before anything runs.
    crate::hygiene::dependencies()?;
    crate::hygiene::windows()?;
    // Doctests first: nextest does not run them, and the run should close on the summary of the
    // whole suite rather than on the doctests' short count.
    run_step(
        cargo()
            .args(["test", "--workspace", "--doc"])
            .envs(peers::test_environment()),
    )?;
    // Issue 13: an unchanged tree compiles nothing (cheap: the scenario run builds the same).
    crate::binaries::check_unchanged_tree_builds_nothing()?;
    crate::images::run(&crate::images::Args::default())?;
    // The main job itself: the whole scenario catalogue in the containers runtime, with the
    // committed snapshots (CI never writes one). The local runtime runs scenarios in the tests.
    // Before nextest, so that the run closes on the summary of the whole test suite.
    let scenarios = crate::scenarios::run(&crate::scenarios::Args {
        args: ["--runtime", "containers", "--out", "target/smime-lab/ci"]
            .map(String::from)
            .to_vec(),
    })?;
    if scenarios != std::process::ExitCode::SUCCESS {
        anyhow::bail!(
            "`cargo xtask run-scenarios --runtime containers` failed: see its summary above, and \
             target/smime-lab/ci/report.html"
        );
    }
    // The bench at its smallest, in the dev profile the tests share: it must keep running, and
    // no figure of it is asserted (speed is read from the table, never tested).
    crate::bench::run(&crate::bench::Args {
        quick: true,
        dev: true,
        ..Default::default()
    })?;
    // Issue 16: every fuzz target for a few seconds from its seeds (a crash fails the gate).
    crate::fuzz::smoke()?;
    let mut test = cargo();
    if nextest_available() {
        test.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        test.args(["test", "--workspace", "--no-fail-fast"]);
    }
    test.envs(peers::test_environment());
    run_step(&mut test)?;
    Ok(())
}

fn nextest_available() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
