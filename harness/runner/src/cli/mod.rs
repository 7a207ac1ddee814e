//! Command-line dispatch. Every subcommand module exposes an `Args`/`Command` type for clap and a
//! `run` function returning `anyhow::Result<ExitCode>`.
//!
//! Exit codes are a contract that scripts rely on (`runner::exit`, shown by `--help`): 0 success,
//! 1 a finding (an error-severity check, an invalid signature, a failed scenario), 2 input that
//! could not be read or a usage error, 3 a scenario run that could not find out, 130 interrupted.
//! An `Err` from `run` is always exit 2, printed as `error: <what> ... <what to do>` with the full
//! context chain.

mod key_cache;
mod pkcs12;
mod pki;
mod preflight;
mod scenario;
mod scenario_run;
mod sst;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod browser_policy;
mod cert;
mod decrypt;
mod doctor;
mod encrypt;
mod input;
mod output;
mod protect;
mod report;
mod rng;
mod sign;
mod verify;

#[derive(Debug, Parser)]
#[command(
    name = "smime-lab",
    version,
    about = "S/MIME in Exchange Online, rehearsed end to end",
    after_help = runner::exit::HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Refuse any input (file, fifo, stdin) larger than SIZE (bytes, or 300K/300M/1G) [default:
    /// 256M for a message, 64M for other files]
    #[arg(long, global = true, value_name = "SIZE", value_parser = input::parse_size)]
    max_input_size: Option<u64>,
    /// Colour the output: auto = on a terminal unless NO_COLOR is set (CLICOLOR_FORCE forces it
    /// where the output is not a terminal)
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: runner::colour::When,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Microsoft serialized certificate stores (.sst) for Set-SmimeConfig: write, read.
    #[command(subcommand)]
    Sst(sst::Command),
    /// Inspect or create PKCS#12 (.p12/.pfx) files.
    Pkcs12(pkcs12::Args),
    /// The lab PKI: issue root, intermediates and user certificates from a YAML description.
    Pki(pki::Args),
    /// Certificate profile checks: SKI, key usage, EKU, email address, validity, chain, CRL, key.
    #[command(subcommand)]
    Cert(cert::Command),
    /// Encrypt a message to recipients' certificates (S/MIME enveloped-data).
    Encrypt(encrypt::EncryptArgs),
    /// Decrypt an S/MIME message with a recipient's certificate and key.
    Decrypt(decrypt::DecryptArgs),
    /// Step 4: the Edge/Chrome policy that installs Outlook on the web's S/MIME extension.
    #[command(subcommand)]
    BrowserPolicy(browser_policy::Command),
    /// What this machine has and lacks to run the lab (each runtime, item by item, with the
    /// command that installs each) and which runtime a run would use.
    Doctor(doctor::Args),
    /// Scenario files: check them, print their JSON Schema, show a run's plan, run them.
    #[command(subcommand)]
    Scenario(scenario::Command),
    /// Sign a message: clear (multipart/signed) or opaque (application/pkcs7-mime).
    Sign(sign::Args),
    /// Verify a signed message: signature, chain to the anchors, CRLs, signer = From.
    Verify(verify::Args),
    /// Sign and encrypt in one step: signed inside encrypted, as Outlook and Thunderbird send
    /// it, or triple-wrapped (RFC 2634).
    Protect(protect::Args),
    /// Rollout preflight: rehearse your organisation (SST, directory export, settings) and
    /// report which users will fail, at which step and why.
    Preflight(preflight::Args),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    runner::colour::set(cli.color);
    input::set_max_input_size(cli.max_input_size);
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Sst(command) => sst::run(command),
        Command::Pkcs12(args) => pkcs12::run(args),
        Command::Pki(args) => pki::run(args),
        Command::Cert(command) => cert::run(command),
        Command::Encrypt(args) => encrypt::run(args),
        Command::Decrypt(args) => decrypt::run(args),
        Command::BrowserPolicy(command) => browser_policy::run(command),
        Command::Doctor(args) => doctor::run(&args),
        Command::Scenario(command) => scenario::run(command),
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Protect(args) => protect::run(args),
        Command::Preflight(args) => preflight::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(runner::exit::USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    /// clap's own checks of the whole command line (unique argument and group ids, among
    /// them): a flattened option set that clashes panics at parse time, on every command.
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
