//! Printing a findings report the same way for every command that judges something (`cert check`,
//! `browser-policy check`): JSON or text, coloured as `runner::colour` decides (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`),
//! a closed pipe (`| head`) is not a failure, exit 1 when any finding is an error.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use smime::checks::Severity;

/// Writes `json` (with `--json`) or the text `render(colour)` returns to stdout, and maps
/// `has_errors` to the exit code.
pub fn emit(
    as_json: bool,
    json: &impl serde::Serialize,
    render: impl FnOnce(bool) -> String,
    has_errors: bool,
) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let written = if as_json {
        serde_json::to_writer_pretty(&mut out, json)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        let colour = runner::colour::stdout();
        out.write_all(render(colour).as_bytes())
    };
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e).context("writing the report to stdout");
    }
    Ok(if has_errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn paint(text: &str, severity: Severity, colour: bool) -> String {
    use runner::colour::{BOLD_RED, BOLD_YELLOW, CYAN};
    let style = match severity {
        Severity::Error => BOLD_RED,
        Severity::Warning => BOLD_YELLOW,
        Severity::Info => CYAN,
    };
    runner::colour::paint(text, style, colour)
}

pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
