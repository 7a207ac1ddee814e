//! A run as JUnit XML, the format Jenkins, GitLab and GitHub test-report actions read: one
//! `<testsuite>` per scenario, one `<testcase>` per step, `classname` = the scenario's file.
//!
//! A failed step is a `<failure>`, a step the harness could not carry out an `<error>` (the
//! model's distinction, which JUnit has too); both carry the expectation in `message` and
//! expected/actual/details/checks in their text. A scenario that could not run at all (its lab
//! did not start) gets one test case, `scenario`, with the `<error>`, so that CI counts it
//! rather than showing an empty suite. Each suite's properties say its tags, source and the
//! runtime. quick-junit writes the XML (escaping, dropping characters XML 1.0 cannot hold);
//! no timestamps are written, so the same report gives the same bytes.

use std::time::Duration;

use quick_junit::{
    NonSuccessKind, Property, Report, SerializeError, TestCase, TestCaseStatus, TestSuite,
};

use super::model::{Outcome, RunReport, ScenarioReport, StepReport};

/// The report as JUnit XML.
pub fn render(report: &RunReport) -> Result<String, SerializeError> {
    let mut junit = Report::new("smime-lab");
    junit.set_time(Duration::from_millis(report.duration_ms));
    for scenario in &report.scenarios {
        junit.add_test_suite(suite(report, scenario));
    }
    junit.to_string()
}

fn suite(report: &RunReport, scenario: &ScenarioReport) -> TestSuite {
    let mut suite = TestSuite::new(scenario.name.as_str());
    suite.set_time(Duration::from_millis(scenario.duration_ms));
    suite.add_property(Property::new("file", scenario.file.as_str()));
    suite.add_property(Property::new("tags", scenario.tags.join(",")));
    suite.add_property(Property::new("source", scenario.source.as_str()));
    suite.add_property(Property::new("runtime", report.runtime.as_str()));
    for line in &scenario.not_emulated {
        suite.add_property(Property::new("not-emulated", line.as_str()));
    }
    if let Some((k, n)) = report.partition {
        suite.add_property(Property::new("partition", format!("{k}/{n}")));
    }
    if let Some(vendor) = &report.vendor {
        suite.add_property(Property::new("vendor", vendor.as_str()));
    }
    if let Some(error) = &scenario.error {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(first_line(error));
        status.set_type("scenario");
        status.set_description(error.as_str());
        let mut case = TestCase::new("scenario", status);
        case.set_classname(scenario.file.as_str());
        suite.add_test_case(case);
    }
    // Step titles may repeat (two messages alike); the number keeps test case names unique.
    let width = scenario.steps.len().to_string().len();
    for (i, step) in scenario.steps.iter().enumerate() {
        let name = format!(
            "{:0width$} {}: {}",
            i.saturating_add(1),
            step.stage.name(),
            step.title
        );
        let mut case = TestCase::new(name, status(step));
        case.set_classname(scenario.file.as_str());
        case.set_time(Duration::from_millis(step.duration_ms));
        suite.add_test_case(case);
    }
    suite
}

fn status(step: &StepReport) -> TestCaseStatus {
    let kind = match step.outcome {
        Outcome::Passed => return TestCaseStatus::success(),
        Outcome::Failed => NonSuccessKind::Failure,
        Outcome::Error => NonSuccessKind::Error,
    };
    let mut status = TestCaseStatus::non_success(kind);
    let message = match (&step.expected, &step.actual) {
        (Some(expected), Some(actual)) => format!("expected {expected}; actual {actual}"),
        (None, Some(actual)) => actual.clone(),
        (Some(expected), None) => format!("expected {expected}"),
        (None, None) => format!("{}: {}", step.stage.name(), step.outcome.name()),
    };
    status.set_message(first_line(&message));
    status.set_type(step.stage.name());
    status.set_description(description(step));
    status
}

/// The text of a failure or error element: everything a person needs without the HTML report.
fn description(step: &StepReport) -> String {
    let mut lines = Vec::new();
    if let Some(expected) = &step.expected {
        lines.push(format!("expected: {expected}"));
    }
    if let Some(actual) = &step.actual {
        lines.push(format!("actual:   {actual}"));
    }
    lines.extend(step.details.iter().map(|d| format!("- {d}")));
    lines.extend(
        step.checks
            .iter()
            .map(|c| format!("{} {}: {}", c.id, c.severity, c.message)),
    );
    if let Some(message) = &step.message {
        if let Some(reason) = &message.refused {
            lines.push(format!("refused by the client: {reason}"));
        }
        for recipient in &message.recipients {
            lines.push(format!(
                "{}: delivered {}, verdict {}, decrypted {}, weak {}{}",
                recipient.mailbox,
                recipient.delivered,
                recipient.verdict.as_deref().unwrap_or("none"),
                match recipient.decrypted {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "n/a",
                },
                recipient.weak,
                if recipient.reasons.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", recipient.reasons.join("; "))
                }
            ));
        }
    }
    lines.extend(step.artifacts.iter().map(|a| format!("artifact: {a}")));
    lines.join("\n")
}

/// Attribute values hold one line: parsers turn newlines in attributes into spaces anyway.
fn first_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    if lines.next().is_some() {
        format!("{first} …")
    } else {
        first.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::report::sample;

    #[test]
    fn snapshot() {
        let xml = render(&sample::run_report()).expect("serialise");
        insta::assert_snapshot!(xml);
    }

    /// Parsed by an independent XML parser (Python's), with the counts CI shows and the shape
    /// the JUnit schema Jenkins and GitLab read requires.
    #[test]
    fn parses_and_counts_match() {
        let report = sample::run_report();
        let xml = render(&report).expect("serialise");
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = test_support::write(dir.path(), "junit.xml", xml.as_bytes());
        let script = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = []
for suite in root:
    assert suite.tag == "testsuite", suite.tag
    for attribute in ("name", "tests", "failures", "errors", "skipped", "time"):
        assert attribute in suite.attrib, (attribute, suite.attrib)
    cases = suite.findall("testcase")
    for case in cases:
        assert case.get("name") and case.get("classname"), case.attrib
        float(case.get("time", "0"))
    names = [c.get("name") for c in cases]
    assert len(names) == len(set(names)), names
    suites.append({
        "name": suite.get("name"),
        "tests": int(suite.get("tests")),
        "failures": int(suite.get("failures")),
        "errors": int(suite.get("errors")),
        "cases": len(cases),
        "failure_elements": len(suite.findall("testcase/failure")),
        "error_elements": len(suite.findall("testcase/error")),
        "classnames": sorted({c.get("classname") for c in cases}),
        "properties": {p.get("name"): p.get("value") for p in suite.findall("properties/property")},
        "texts": [e.text for e in suite.iter() if e.tag in ("failure", "error")],
        "messages": [e.get("message") for e in suite.iter() if e.tag in ("failure", "error")],
    })
print(json.dumps({
    "tests": int(root.get("tests")),
    "failures": int(root.get("failures")),
    "errors": int(root.get("errors")),
    "suites": suites,
}))
"#;
        let output = test_support::run_ok(
            Command::new(test_support::python())
                .arg("-c")
                .arg(script)
                .arg(&path),
        );
        let parsed: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("the script's JSON");

        assert_eq!(parsed["tests"], 10, "{parsed:#}");
        assert_eq!(parsed["failures"], 2, "{parsed:#}");
        assert_eq!(parsed["errors"], 2, "{parsed:#}");
        let suites = parsed["suites"].as_array().expect("suites");
        assert_eq!(suites.len(), report.scenarios.len());
        for (suite, scenario) in suites.iter().zip(&report.scenarios) {
            assert_eq!(suite["name"], scenario.name.as_str());
            assert_eq!(suite["tests"], suite["cases"]);
            assert_eq!(suite["failures"], suite["failure_elements"]);
            assert_eq!(suite["errors"], suite["error_elements"]);
            assert_eq!(suite["classnames"], serde_json::json!([scenario.file]));
            assert_eq!(suite["properties"]["tags"], scenario.tags.join(","));
            assert_eq!(suite["properties"]["runtime"], "local");
            assert_eq!(suite["properties"]["partition"], "2/4");
        }
        // The scenario that never started is one error, not an empty suite.
        assert_eq!(suites[2]["tests"], 1);
        assert_eq!(suites[2]["errors"], 1);
        // The failure carries expected and actual, as the model has them.
        let texts = suites[1]["texts"][0].as_str().expect("failure text");
        assert!(
            texts.contains("expected: the import fails: expired, listing 1 thumbprint"),
            "{texts}"
        );
        assert!(texts.contains("actual:   the import succeeded"), "{texts}");
        assert!(texts.contains("PKI-VAL-002 error"), "{texts}");
        // Hostile strings come back as the text they were, minus what XML cannot hold (the
        // terminal escape sequence goes whole, not only its ESC).
        assert_eq!(suites[3]["name"], sample::HOSTILE_NAME);
        let hostile = suites[3]["texts"][0].as_str().expect("failure text");
        assert!(
            hostile.contains("actual:   verdict <untrusted> ]]> red"),
            "{hostile}"
        );
        assert_eq!(
            suites[3]["messages"][0],
            "expected verdict \"valid\" & <decrypted>; actual verdict <untrusted> ]]> red"
        );
    }
}
