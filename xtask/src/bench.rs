//! `cargo xtask bench [--quick|--full] [--dev] [--only AREA]`: builds the workspace's binaries in release mode
//! (benchmarks measure optimised code; `--dev` reuses the dev build, which is what CI's
//! `--quick` run does to stay cheap) and runs `smime-lab-bench` (harness/bench), which prints the
//! table and writes `target/smime-lab/bench/bench.json` and `bench.svg`. The bench lives in its
//! own crate so that xtask links none of the runner: `cargo xtask --list` stays cheap.

use crate::{binaries, run_step};

#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Small sizes only (1k users, a few messages, three scenarios of one lab shape): CI runs
    /// this so the bench never rots; its figures are not the ones to quote.
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,
    /// Add 100k users to the default 1k and 10k.
    #[arg(long)]
    pub full: bool,
    /// Use the dev profile (already built by the tests) instead of release.
    #[arg(long)]
    pub dev: bool,
    /// Only these areas (repeatable: overhead, pipeline, directory, preflight, catalogue).
    #[arg(long = "only", value_name = "AREA")]
    pub only: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let profile = if args.dev {
        binaries::Profile::Dev
    } else {
        binaries::Profile::Release
    };
    let dir = binaries::build(profile)?;
    let mut bench = binaries::command(&dir, "smime-lab-bench");
    bench.args(["--profile", profile.name()]);
    if args.quick {
        bench.arg("--quick");
    }
    if args.full {
        bench.arg("--full");
    }
    for area in &args.only {
        bench.args(["--only", area]);
    }
    run_step(&mut bench)
}
