//! Command-line dispatch. Every subcommand module exposes an `Args`/`Command` type for clap and a
//! `run` function returning `anyhow::Result<ExitCode>`.
//!
//! Exit codes are a contract that scripts rely on: 0 success, 1 a finding (an error-severity check,
//! an invalid signature), 2 input that could not be read or a usage error. An `Err` from `run` is
//! always exit 2, printed as `error: <what> ... <what to do>` with the full context chain.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod decrypt;
mod encrypt;

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
    /// Encrypt a message to recipients' certificates (S/MIME enveloped-data).
    Encrypt(encrypt::EncryptArgs),
    /// Decrypt an S/MIME message with a recipient's certificate and key.
    Decrypt(decrypt::DecryptArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Encrypt(args) => encrypt::run(args),
        Command::Decrypt(args) => decrypt::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
