//! `smime-lab`: the command line. Each subcommand lives in its own module under `cli/`.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
