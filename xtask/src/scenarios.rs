//! `cargo xtask run-scenarios`: the main job. Today it does the offline half: every scenario in
//! scenarios/ is loaded, validated (file:line:column on any mistake) and planned (PKI issued, SST
//! built, policies generated). Executing the plans against the lab services is not built yet
//! (issue 6); until it is, this says so and fails rather than pretend that anything was tested.

use crate::{cargo, run_step};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files or folders (default: scenarios/).
    paths: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let paths = if args.paths.is_empty() {
        vec!["scenarios".to_owned()]
    } else {
        args.paths.clone()
    };
    run_step(
        cargo()
            .args(["run", "--quiet", "-p", "runner", "--bin", "smime-lab", "--"])
            .args(["scenario", "check"])
            .args(&paths),
    )?;
    anyhow::bail!(
        "the scenarios above are valid, but running them against the lab is not built yet: no \
         message was sent and nothing was verified.\n\
         See one scenario's plan with `cargo run -q -p runner --bin smime-lab -- scenario plan \
         scenarios/rsa-happy-path.yaml`; `cargo xtask ci` runs every test."
    )
}
