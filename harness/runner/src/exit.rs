//! The exit codes of `smime-lab`: a contract CI acts on, one home for it. A scenario run tells a
//! conformance finding (1: the lab answered, and not as the scenario expects) from a run that could
//! not find out (3: the lab did not start, a service broke off, the environment lacks a program),
//! so that CI can fail a build on the first and retry or page someone on the second.
//! `cargo xtask run-scenarios` passes these codes on unchanged and uses 3 itself when it cannot
//! build what the run needs.

use crate::report::model::{Outcome, RunReport};

/// Everything selected passed (or, for offline commands, the command succeeded).
pub const PASSED: u8 = 0;
/// A finding: a scenario failed, an error-severity certificate check, an invalid signature.
pub const FINDING: u8 = 1;
/// A usage error, an input that cannot be read, a scenario file or bundle that is not valid.
pub const USAGE: u8 = 2;
/// Could not run: no scenario failed, but at least one ended `error` because the harness could
/// not find out (lab, build or environment).
pub const COULD_NOT_RUN: u8 = 3;
/// Interrupted by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it); no report is written.
pub const INTERRUPTED: u8 = 130;

/// The exit codes as `--help` shows them (clap's `after_help`).
pub const HELP: &str = "\
Exit codes:
  0    every selected scenario passed (offline commands: success)
  1    a finding: a scenario failed, an error-severity check, an invalid signature
  2    usage error, unreadable input, or a scenario file / vendor bundle that is not valid
  3    could not run: no scenario failed, but one ended `error` (lab, build or environment)
  130  interrupted (Ctrl-C, SIGTERM): this run's labs are removed, no report is written";

/// A run's exit code: a finding outweighs a scenario that could not run (the finding stands
/// whatever the others would have shown); a run with nothing in it passed nothing.
pub fn for_run(report: &RunReport) -> u8 {
    if report.count(Outcome::Failed) > 0 {
        FINDING
    } else if report.count(Outcome::Error) > 0 || report.scenarios.is_empty() {
        COULD_NOT_RUN
    } else {
        PASSED
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::run_report;

    /// The sample run with only the scenarios of these outcomes.
    fn with(outcomes: &[Outcome]) -> RunReport {
        let mut report = run_report();
        report.scenarios.retain(|s| outcomes.contains(&s.outcome));
        report
    }

    #[test]
    fn a_run_exits_by_what_it_found() {
        // The sample holds a scenario of each outcome.
        for outcome in [Outcome::Passed, Outcome::Failed, Outcome::Error] {
            assert!(!with(&[outcome]).scenarios.is_empty(), "{outcome:?}");
        }
        assert_eq!(for_run(&with(&[Outcome::Passed])), PASSED);
        assert_eq!(for_run(&with(&[Outcome::Passed, Outcome::Failed])), FINDING);
        assert_eq!(
            for_run(&with(&[Outcome::Passed, Outcome::Error])),
            COULD_NOT_RUN
        );
        // A finding stands whatever the scenarios that could not run would have shown.
        assert_eq!(for_run(&with(&[Outcome::Failed, Outcome::Error])), FINDING);
        assert_eq!(for_run(&with(&[])), COULD_NOT_RUN);
    }

    #[test]
    fn the_codes_are_distinct_and_the_help_lists_each() {
        let codes = [PASSED, FINDING, USAGE, COULD_NOT_RUN, INTERRUPTED];
        let distinct: std::collections::BTreeSet<u8> = codes.into_iter().collect();
        assert_eq!(distinct.len(), codes.len());
        for code in codes {
            assert!(
                HELP.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "--help does not explain exit code {code}"
            );
        }
    }
}
