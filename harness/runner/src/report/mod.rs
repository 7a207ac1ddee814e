//! What a scenario run found, for people and for CI: [`model`] is the data; the renderers turn
//! it into progress lines and a summary for a terminal ([`terminal`]), JUnit XML for CI
//! ([`junit`]) and one self-contained HTML page ([`html`]). Renderers are pure functions of a
//! [`model::RunReport`]: they never look at the lab, the clock or the environment (the caller
//! says whether to colour), which keeps them snapshot-testable.

pub mod html;
#[cfg(all(test, unix))]
mod html_chromium;
mod html_matrix;
pub mod junit;
pub mod model;
pub mod terminal;

#[cfg(test)]
pub(crate) mod sample;

use model::{Outcome, ScenarioReport};

/// A duration as people read it in a summary: `850ms`, `3.2s`, `2m03s`, `1h02m`.
pub fn format_duration(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms}ms"),
        1_000..=59_999 => format!("{}.{}s", ms / 1_000, (ms % 1_000) / 100),
        60_000..=3_599_999 => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1_000),
        _ => format!("{}h{:02}m", ms / 3_600_000, (ms % 3_600_000) / 60_000),
    }
}

/// How many of a scenario's steps ended passed, failed and error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepCounts {
    pub passed: usize,
    pub failed: usize,
    pub error: usize,
}

impl StepCounts {
    pub fn of(scenario: &ScenarioReport) -> Self {
        let mut counts = StepCounts::default();
        for step in &scenario.steps {
            match step.outcome {
                Outcome::Passed => counts.passed += 1,
                Outcome::Failed => counts.failed += 1,
                Outcome::Error => counts.error += 1,
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(format_duration(0), "0ms");
        assert_eq!(format_duration(999), "999ms");
        assert_eq!(format_duration(1_000), "1.0s");
        assert_eq!(format_duration(3_250), "3.2s");
        assert_eq!(format_duration(59_999), "59.9s");
        assert_eq!(format_duration(60_000), "1m00s");
        assert_eq!(format_duration(123_456), "2m03s");
        assert_eq!(format_duration(3_720_000), "1h02m");
    }
}
