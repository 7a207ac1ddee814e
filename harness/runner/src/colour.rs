//! Colour on the command line, decided in one place: `--color auto|always|never` (global), then
//! the conventions anstream follows (`NO_COLOR` set to anything turns colour off,
//! `CLICOLOR_FORCE` turns it on where the stream is not a terminal, `CLICOLOR=0` off), then
//! whether the stream is a terminal. Renderers take the answer as a flag and paint with
//! [`paint`]; nothing else in the runner writes an escape sequence.

use std::io::IsTerminal;

pub use anstyle::{AnsiColor, Style};

/// `--color`'s values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum When {
    /// Colour on a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it elsewhere).
    #[default]
    Auto,
    /// Always colour, whatever the stream and the environment say.
    Always,
    /// Never colour.
    Never,
}

/// Records the command line's choice for the whole process (before anything prints).
pub fn set(when: When) {
    let choice = match when {
        When::Auto => anstream::ColorChoice::Auto,
        When::Always => anstream::ColorChoice::Always,
        When::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

fn wants<S: anstream::stream::RawStream + IsTerminal>(stream: &S) -> bool {
    anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never
}

/// Whether what goes to standard output is coloured.
pub fn stdout() -> bool {
    wants(&std::io::stdout())
}

/// Whether what goes to standard error is coloured.
pub fn stderr() -> bool {
    wants(&std::io::stderr())
}

/// `text` in `style` when `colour`, else as it is.
pub fn paint(text: &str, style: Style, colour: bool) -> String {
    if colour {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

pub const BOLD: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();
pub const GREEN: Style = AnsiColor::Green.on_default();
pub const RED: Style = AnsiColor::Red.on_default();
pub const YELLOW: Style = AnsiColor::Yellow.on_default();
pub const BOLD_RED: Style = AnsiColor::Red.on_default().bold();
pub const BOLD_YELLOW: Style = AnsiColor::Yellow.on_default().bold();
pub const CYAN: Style = AnsiColor::Cyan.on_default();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_wraps_in_the_style_and_resets() {
        assert_eq!(paint("FAIL", RED, true), "\u{1b}[31mFAIL\u{1b}[0m");
        assert_eq!(paint("FAIL", RED, false), "FAIL");
        assert_eq!(paint("x", BOLD_RED, true), "\u{1b}[1m\u{1b}[31mx\u{1b}[0m");
    }
}
