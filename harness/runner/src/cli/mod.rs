//! Command-line dispatch. Every subcommand module exposes an `Args`/`Command` type for clap and a
//! `run` function returning `anyhow::Result<ExitCode>`.
//!
//! Exit codes are a contract that scripts rely on: 0 success, 1 a finding (an error-severity check,
//! an invalid signature), 2 input that could not be read or a usage error. An `Err` from `run` is
//! always exit 2, printed as `error: <what> ... <what to do>` with the full context chain.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) mod crl_fetch;
mod sign;
mod verify;

#[derive(Debug, Parser)]
#[command(
    name = "smime-lab",
    version,
    about = "S/MIME in Exchange Online, rehearsed end to end"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign a message: clear (multipart/signed) or opaque (application/pkcs7-mime).
    Sign(sign::Args),
    /// Verify a signed message: signature, chain to the anchors, CRLs, signer = From.
    Verify(verify::Args),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
