//! A run as a person watches it: one line per finished scenario while it runs ([`Progress`]),
//! then a summary table and every failure with what was expected, what happened and the file
//! ([`summary`]).
//!
//! On a terminal the lines scroll above an indicatif bar naming the scenarios still running; in
//! CI or a pipe they are plain lines, one per scenario, so a log reads the same. Colour is the
//! caller's decision (`runner::colour`); the text functions here take it as a flag.
//! Strings from the report are printed with control characters escaped: a scenario's text must
//! not move the cursor or recolour the terminal.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::model::{Outcome, RunReport, ScenarioReport, StepReport};
use super::{StepCounts, format_duration};

use crate::colour::{BOLD, DIM, GREEN, RED, Style, YELLOW, paint};

/// Whether standard error takes colour (`runner::colour`: `--color`, `NO_COLOR`,
/// `CLICOLOR_FORCE`, a terminal).
pub fn stderr_wants_colour() -> bool {
    crate::colour::stderr()
}

/// Whether standard output takes colour (`runner::colour`).
pub fn stdout_wants_colour() -> bool {
    crate::colour::stdout()
}

/// The label of an outcome in progress lines and failure headings.
fn label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "PASS",
        Outcome::Failed => "FAIL",
        Outcome::Error => "ERROR",
    }
}

fn outcome_style(outcome: Outcome) -> Style {
    match outcome {
        Outcome::Passed => GREEN,
        Outcome::Failed => RED,
        Outcome::Error => YELLOW,
    }
}

/// `text` with control characters (escape sequences, carriage returns, newlines) written as
/// `\u{..}` escapes, so that it stays on its line and cannot drive the terminal.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `text` after `first` (the label and its indentation), one terminal line per line of
/// `text`, continuation lines indented to `indent` spaces. Each line goes through [`printable`],
/// so a snapshot diff or a multi-line detail reads as lines while a stray `\r` or escape sequence
/// is still shown, not obeyed.
fn write_lines(out: &mut String, first: &str, indent: usize, text: &str) {
    write_lines_coloured(out, first, indent, text, false);
}

/// [`write_lines`], and when `colour` and `text` is a unified diff (a snapshot's, from
/// `similar`), its removed lines red, its added lines green and its hunk headers dim.
fn write_lines_coloured(out: &mut String, first: &str, indent: usize, text: &str, colour: bool) {
    let diff = colour && text.contains("\n@@ ");
    // A trailing newline (a diff ends with one) would print as an empty indented line.
    let mut lines = text.strip_suffix('\n').unwrap_or(text).split('\n');
    let head = lines.next().unwrap_or_default();
    let _ = writeln!(out, "{first}{}", printable(head));
    let pad = " ".repeat(indent);
    for line in lines {
        let shown = printable(line);
        let style = match line.as_bytes().first() {
            _ if !diff || line.starts_with("---") || line.starts_with("+++") => None,
            Some(b'-') => Some(RED),
            Some(b'+') => Some(GREEN),
            Some(b'@') => Some(DIM),
            _ => None,
        };
        match style {
            Some(style) => {
                let _ = writeln!(out, "{pad}{}", paint(&shown, style, true));
            }
            None => {
                let _ = writeln!(out, "{pad}{shown}");
            }
        }
    }
}

/// `text` padded with spaces to `width` characters (by `char`, which is right for the names and
/// words in a report).
fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(len)))
}

fn pad_left(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{}{text}", " ".repeat(width.saturating_sub(len)))
}

/// The line printed when a scenario finishes: `[ 3/37] PASS  rsa-happy-path (3.2s)`.
pub fn progress_line(done: usize, total: usize, scenario: &ScenarioReport, colour: bool) -> String {
    let width = total.to_string().len();
    let outcome = paint(
        &pad(label(scenario.outcome), 5),
        outcome_style(scenario.outcome),
        colour,
    );
    let duration = paint(
        &format!("({})", format_duration(scenario.duration_ms)),
        DIM,
        colour,
    );
    format!(
        "[{done:>width$}/{total}] {outcome} {} {duration}",
        printable(&scenario.name)
    )
}

/// Progress while a run goes on, on standard error.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
    colour: bool,
    running: Vec<String>,
}

impl Progress {
    /// An indicatif bar when standard error is a terminal, plain lines otherwise.
    pub fn on_stderr(total: usize) -> Self {
        let interactive = std::io::stderr().is_terminal();
        let bar = interactive.then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(u64::try_from(total).unwrap_or(u64::MAX)),
                ProgressDrawTarget::stderr(),
            );
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} [{pos}/{len}] {elapsed_precise} {wide_msg}")
            {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            total,
            done: 0,
            colour: stderr_wants_colour(),
            running: Vec::new(),
        }
    }

    /// A scenario's lab is starting.
    pub fn started(&mut self, name: &str) {
        self.running.push(printable(name));
        self.show_running();
    }

    /// A scenario finished: its line is printed (above the bar on a terminal).
    pub fn finished(&mut self, scenario: &ScenarioReport) {
        self.done = self.done.saturating_add(1);
        let printed = printable(&scenario.name);
        if let Some(at) = self.running.iter().position(|n| *n == printed) {
            self.running.remove(at);
        }
        let line = progress_line(self.done, self.total, scenario, self.colour);
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.inc(1);
            }
            None => eprintln!("{line}"),
        }
        self.show_running();
    }

    fn show_running(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("running: {}", self.running.join(", ")));
        }
    }

    /// The run is over: the bar goes away, the lines stay.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The summary after a run: a table of every scenario (outcome, steps passed/failed/error,
/// duration), the totals, then each scenario that did not pass with its failing steps' expected
/// and actual results and its file.
pub fn summary(report: &RunReport, colour: bool) -> String {
    let mut out = String::new();
    let headings = [
        "scenario", "outcome", "passed", "failed", "error", "duration",
    ];
    let rows: Vec<(Outcome, [String; 6])> = report
        .scenarios
        .iter()
        .map(|s| {
            let counts = StepCounts::of(s);
            (
                s.outcome,
                [
                    printable(&s.name),
                    s.outcome.name().to_owned(),
                    counts.passed.to_string(),
                    counts.failed.to_string(),
                    counts.error.to_string(),
                    format_duration(s.duration_ms),
                ],
            )
        })
        .collect();
    let mut widths = headings.map(str::len);
    for (_, row) in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    // Names and words left-aligned, numbers right-aligned, as a reader scans them.
    let cell = |i: usize, text: &str| {
        if i < 2 {
            pad(text, widths[i])
        } else {
            pad_left(text, widths[i])
        }
    };
    let heading: Vec<String> = headings
        .iter()
        .enumerate()
        .map(|(i, h)| cell(i, h))
        .collect();
    let _ = writeln!(
        out,
        "{}",
        paint(heading.join("  ").trim_end(), BOLD, colour)
    );
    for (outcome, row) in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let padded = cell(i, text);
                if i == 1 {
                    paint(&padded, outcome_style(*outcome), colour)
                } else {
                    padded
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let _ = writeln!(out);
    let total = report.scenarios.len();
    let mut context = vec![format!("runtime {}", printable(&report.runtime))];
    if let Some((k, n)) = report.partition {
        context.push(format!("partition {k}/{n}"));
    }
    if let Some(vendor) = &report.vendor {
        context.push(format!("vendor {}", printable(vendor)));
    }
    let totals = format!(
        "{total} scenario{}: {} passed, {} failed, {} error in {} ({})",
        if total == 1 { "" } else { "s" },
        report.count(Outcome::Passed),
        report.count(Outcome::Failed),
        report.count(Outcome::Error),
        format_duration(report.duration_ms),
        context.join(", ")
    );
    let verdict = if report.passed() {
        Outcome::Passed
    } else if report.count(Outcome::Error) > 0 {
        Outcome::Error
    } else {
        Outcome::Failed
    };
    let _ = writeln!(out, "{}", paint(&totals, outcome_style(verdict), colour));

    let unemulated: Vec<&ScenarioReport> = report
        .scenarios
        .iter()
        .filter(|s| !s.not_emulated.is_empty())
        .collect();
    if !unemulated.is_empty() {
        let _ = writeln!(out, "\n{}", paint("Set but not emulated", BOLD, colour));
        for scenario in unemulated {
            let _ = writeln!(out, "{}", printable(&scenario.name));
            for line in &scenario.not_emulated {
                write_lines(&mut out, "  ", 4, line);
            }
        }
    }
    let failing: Vec<&ScenarioReport> = report
        .scenarios
        .iter()
        .filter(|s| s.outcome != Outcome::Passed)
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\n{}", paint("Not passed", BOLD, colour));
        for scenario in failing {
            write_failure(&mut out, scenario, colour);
        }
    }
    out
}

fn write_failure(out: &mut String, scenario: &ScenarioReport, colour: bool) {
    let _ = writeln!(
        out,
        "\n{} {} ({})",
        paint(
            label(scenario.outcome),
            outcome_style(scenario.outcome),
            colour
        ),
        paint(&printable(&scenario.name), BOLD, colour),
        printable(&scenario.file)
    );
    if let Some(error) = &scenario.error {
        write_lines(out, "  ", 4, error);
    }
    for (i, step) in scenario.steps.iter().enumerate() {
        if step.outcome != Outcome::Passed {
            write_step(out, i.saturating_add(1), step, colour);
        }
    }
}

fn write_step(out: &mut String, number: usize, step: &StepReport, colour: bool) {
    let _ = writeln!(
        out,
        "  {} step {number} {}: {}",
        paint(label(step.outcome), outcome_style(step.outcome), colour),
        step.stage.name(),
        printable(&step.title)
    );
    if let Some(expected) = &step.expected {
        write_lines(out, "      expected: ", 16, expected);
    }
    if let Some(actual) = &step.actual {
        write_lines_coloured(out, "      actual:   ", 16, actual, colour);
    }
    for detail in &step.details {
        write_lines(out, "      - ", 8, detail);
    }
    for check in &step.checks {
        let _ = writeln!(
            out,
            "      {} {}: {}",
            printable(&check.id),
            printable(&check.severity),
            printable(&check.message)
        );
    }
    if let Some(message) = &step.message {
        if let Some(reason) = &message.refused {
            let _ = writeln!(out, "      refused by the client: {}", printable(reason));
        }
        for recipient in &message.recipients {
            let mut facts = vec![if recipient.delivered {
                "delivered".to_owned()
            } else {
                "not delivered".to_owned()
            }];
            if let Some(verdict) = &recipient.verdict {
                facts.push(format!("verdict {}", printable(verdict)));
            }
            match recipient.decrypted {
                Some(true) => facts.push("decrypted".to_owned()),
                Some(false) => facts.push("could not decrypt".to_owned()),
                None => {}
            }
            if recipient.weak {
                facts.push("weak algorithms".to_owned());
            }
            let _ = writeln!(
                out,
                "      {}: {}",
                printable(&recipient.mailbox),
                facts.join(", ")
            );
            for reason in &recipient.reasons {
                write_lines(out, "        ", 10, reason);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn summary_without_colour() {
        let report = sample::run_report();
        let text = summary(&report, false);
        assert!(!text.contains('\u{1b}'), "no escape sequences: {text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn summary_with_colour_paints_outcomes() {
        let report = sample::run_report();
        let text = summary(&report, true);
        assert!(text.contains(&format!("{GREEN}passed")), "{text}");
        assert!(text.contains(&format!("{RED}FAIL{RED:#}")), "{text}");
        // The hostile report's own escape sequence is shown, not obeyed.
        assert!(text.contains("\\u{1b}[31mred"), "{text}");
        assert!(!text.contains("\u{1b}[31mred"), "{text}");
    }

    #[test]
    fn progress_lines() {
        let report = sample::run_report();
        let lines: Vec<String> = report
            .scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| progress_line(i + 1, 37, s, false))
            .collect();
        insta::assert_snapshot!(lines.join("\n"));
    }

    #[test]
    fn multi_line_text_is_printed_as_indented_lines_each_escaped() {
        let mut out = String::new();
        write_lines(
            &mut out,
            "      actual:   ",
            16,
            "differs:\n-old line\r\n+new \u{1b}[2J line\n",
        );
        assert_eq!(
            out,
            "      actual:   differs:\n                -old line\\u{d}\n                +new \\u{1b}[2J line\n"
        );
    }

    #[test]
    fn a_snapshot_diff_is_coloured_line_by_line_only_with_colour() {
        let diff =
            "differs:\n--- committed\n+++ this run\n@@ -1,2 +1,2 @@\n-old\n+new \u{1b}[2J\n same\n";
        let mut plain = String::new();
        write_lines_coloured(&mut plain, "  ", 2, diff, false);
        assert!(!plain.contains('\u{1b}'), "{plain}");
        let mut coloured = String::new();
        write_lines_coloured(&mut coloured, "  ", 2, diff, true);
        assert!(
            coloured.contains(&format!("  {RED}-old{RED:#}\n")),
            "{coloured}"
        );
        assert!(
            coloured.contains(&format!("  {GREEN}+new \\u{{1b}}[2J{GREEN:#}\n")),
            "{coloured}"
        );
        assert!(coloured.contains("  --- committed\n"), "{coloured}");
        assert!(coloured.contains("   same\n"), "{coloured}");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\u{1b}[2Jb\r\nc"), "a\\u{1b}[2Jb\\u{d}\\u{a}c");
        assert_eq!(printable("alice → bob"), "alice → bob");
    }
}
