//! A run as one self-contained HTML page a person opens in a browser, from a CI artefact or a
//! laptop without network: the style sheet is inline, there is no script, no font, no image and
//! no link leaving the page (only `#` anchors) but one: each scenario's fidelity ledger IDs link
//! to `harness/tenant/FIDELITY.md`, relative to the page, when the run found the ledger. Collapsing uses `<details>`: scenarios and steps
//! that did not pass are open, the rest closed.
//!
//! Layout: the run's facts and counts; the matrices ([`super::html_matrix`]: scenarios × steps,
//! and in vendor mode checks × certificates and clients × messages), every cell linking to its
//! step; a summary table linking to each scenario; per scenario its facts and steps (each step
//! with an `id` the matrices link to); per step expected/actual, details, conformance checks, artefacts and,
//! for a message, the recipients' verdicts and the message's anatomy YAML in a `<pre>`.
//!
//! Every string from the report goes through [`escape`], attribute values included (ids are
//! generated from positions, never from names). The model holds no secrets; escaping is not a
//! matter of trust in it but of keeping the page a page.

use std::fmt::Write as _;

use super::model::{CheckFinding, MessageReport, Outcome, RunReport, ScenarioReport, StepReport};
use super::{StepCounts, format_duration, html_matrix};

/// `text` with the five characters HTML gives meaning to replaced by references, so that it is
/// text in an element and in a quoted attribute alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than newline and tab are not allowed in HTML text.
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
:root { color-scheme: light dark; --pass: #1a7f37; --fail: #cf222e; --error: #9a6700; --muted: #6e7781; }
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: 0.25rem; }
h2 { font-size: 1.15rem; margin: 1.2rem 0 0.3rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { text-align: left; padding: 0.2rem 0.7rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.passed { color: var(--pass); } .failed { color: var(--fail); } .error { color: var(--error); }
.outcome { font-weight: 600; text-transform: uppercase; font-size: 0.85em; }
.muted { color: var(--muted); }
details { margin: 0.4rem 0; }
details.scenario { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.4rem 0.8rem; }
details.step { margin-left: 1rem; }
summary { cursor: pointer; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.1rem 1rem; margin: 0.4rem 0; }
dt { font-weight: 600; } dd { margin: 0; }
pre { background: rgba(127,127,127,0.1); padding: 0.6rem; overflow-x: auto; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.9em; }
";

fn outcome_span(outcome: Outcome) -> String {
    let name = outcome.name();
    format!("<span class=\"outcome {name}\">{name}</span>")
}

/// The whole page.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let title = format!(
        "smime-lab run: {} passed, {} failed, {} error",
        report.count(Outcome::Passed),
        report.count(Outcome::Failed),
        report.count(Outcome::Error)
    );
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&title));
    let _ = writeln!(
        out,
        "<style>\n{STYLE}{}</style>\n</head>\n<body>",
        html_matrix::STYLE
    );
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    write_run_facts(&mut out, report);
    html_matrix::write_scenario_matrix(&mut out, report);
    if report.vendor.is_some() {
        html_matrix::write_vendor_matrices(&mut out, report);
    }
    out.push_str("<h2 id=\"scenarios\">Scenarios</h2>\n");
    write_summary_table(&mut out, report);
    for (i, scenario) in report.scenarios.iter().enumerate() {
        write_scenario(
            &mut out,
            i.saturating_add(1),
            scenario,
            report.ledger_link.as_deref(),
        );
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn write_run_facts(out: &mut String, report: &RunReport) {
    out.push_str("<dl>\n");
    let verdict = if report.passed() {
        Outcome::Passed
    } else if report.count(Outcome::Error) > 0 {
        Outcome::Error
    } else {
        Outcome::Failed
    };
    let _ = writeln!(out, "<dt>outcome</dt><dd>{}</dd>", outcome_span(verdict));
    let _ = writeln!(out, "<dt>scenarios</dt><dd>{}</dd>", report.scenarios.len());
    let _ = writeln!(out, "<dt>runtime</dt><dd>{}</dd>", escape(&report.runtime));
    if let Some((k, n)) = report.partition {
        let _ = writeln!(out, "<dt>partition</dt><dd>{k}/{n}</dd>");
    }
    if let Some(vendor) = &report.vendor {
        let _ = writeln!(
            out,
            "<dt>vendor</dt><dd><code>{}</code></dd>",
            escape(vendor)
        );
    }
    let _ = writeln!(
        out,
        "<dt>duration</dt><dd>{}</dd>",
        format_duration(report.duration_ms)
    );
    out.push_str("</dl>\n");
}

fn write_summary_table(out: &mut String, report: &RunReport) {
    out.push_str(
        "<table class=\"summary\">\n<thead><tr><th>scenario</th><th>outcome</th>\
         <th>passed</th><th>failed</th><th>error</th><th>duration</th></tr></thead>\n<tbody>\n",
    );
    for (i, scenario) in report.scenarios.iter().enumerate() {
        let counts = StepCounts::of(scenario);
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#scenario-{}\">{}</a></td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            i.saturating_add(1),
            escape(&scenario.name),
            outcome_span(scenario.outcome),
            counts.passed,
            counts.failed,
            counts.error,
            format_duration(scenario.duration_ms)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn open_unless_passed(outcome: Outcome) -> &'static str {
    if outcome == Outcome::Passed {
        ""
    } else {
        " open"
    }
}

fn write_scenario(
    out: &mut String,
    number: usize,
    scenario: &ScenarioReport,
    ledger_link: Option<&str>,
) {
    let _ = writeln!(
        out,
        "<details class=\"scenario\" id=\"scenario-{number}\"{}>",
        open_unless_passed(scenario.outcome)
    );
    let _ = writeln!(
        out,
        "<summary>{} <strong>{}</strong> <span class=\"muted\">{}</span></summary>",
        outcome_span(scenario.outcome),
        escape(&scenario.name),
        format_duration(scenario.duration_ms)
    );
    out.push_str("<dl>\n");
    let _ = writeln!(
        out,
        "<dt>file</dt><dd><code>{}</code></dd>",
        escape(&scenario.file)
    );
    let _ = writeln!(
        out,
        "<dt>summary</dt><dd>{}</dd>",
        escape(&scenario.summary)
    );
    let _ = writeln!(out, "<dt>source</dt><dd>{}</dd>", escape(&scenario.source));
    if !scenario.tags.is_empty() {
        let tags: Vec<String> = scenario
            .tags
            .iter()
            .map(|t| format!("<code>{}</code>", escape(t)))
            .collect();
        let _ = writeln!(out, "<dt>tags</dt><dd>{}</dd>", tags.join(" "));
    }
    if !scenario.ledger.is_empty() {
        // The rows of the fidelity ledger this scenario proves: a failure here is a documented
        // behaviour the lab or the rollout got wrong, and the row says which sentence.
        let ids: Vec<String> = scenario
            .ledger
            .iter()
            .map(|id| match ledger_link {
                Some(link) => format!(
                    "<a href=\"{}\"><code>{}</code></a>",
                    escape(link),
                    escape(id)
                ),
                None => format!("<code>{}</code>", escape(id)),
            })
            .collect();
        let _ = writeln!(out, "<dt>fidelity ledger</dt><dd>{}</dd>", ids.join(" "));
    }
    for line in &scenario.not_emulated {
        let _ = writeln!(out, "<dt>not emulated</dt><dd>{}</dd>", escape(line));
    }
    if let Some(error) = &scenario.error {
        let _ = writeln!(
            out,
            "<dt>error</dt><dd class=\"error\">{}</dd>",
            escape(error)
        );
    }
    out.push_str("</dl>\n");
    for (i, step) in scenario.steps.iter().enumerate() {
        write_step(out, number, i.saturating_add(1), step);
    }
    out.push_str("</details>\n");
}

fn write_step(out: &mut String, scenario: usize, number: usize, step: &StepReport) {
    let _ = writeln!(
        out,
        "<details class=\"step\"{}>",
        open_unless_passed(step.outcome)
    );
    let _ = writeln!(
        out,
        "<summary>{} {number}. <span class=\"muted\">{}</span> {} <span class=\"muted\">{}</span></summary>",
        outcome_span(step.outcome),
        step.stage.name(),
        escape(&step.title),
        format_duration(step.duration_ms)
    );
    // The matrices' links land here, inside the step's closed content: following one makes the
    // browser open the `<details>` around it (a link to the `<details>` itself would not).
    let _ = writeln!(
        out,
        "<span class=\"anchor\" id=\"{}\"></span>",
        html_matrix::step_anchor(scenario, number)
    );
    if step.expected.is_some() || step.actual.is_some() {
        out.push_str("<dl>\n");
        if let Some(expected) = &step.expected {
            let _ = writeln!(out, "<dt>expected</dt><dd>{}</dd>", escape(expected));
        }
        if let Some(actual) = &step.actual {
            let _ = writeln!(out, "<dt>actual</dt><dd>{}</dd>", escape(actual));
        }
        out.push_str("</dl>\n");
    }
    if !step.details.is_empty() {
        out.push_str("<ul>\n");
        for detail in &step.details {
            let _ = writeln!(out, "<li>{}</li>", escape(detail));
        }
        out.push_str("</ul>\n");
    }
    if !step.checks.is_empty() {
        write_checks(out, &step.checks);
    }
    if let Some(message) = &step.message {
        write_message(out, message);
    }
    if !step.artifacts.is_empty() {
        // Shown as paths, not links: the page may be read far from the run's output directory.
        let artifacts: Vec<String> = step
            .artifacts
            .iter()
            .map(|a| format!("<code>{}</code>", escape(a)))
            .collect();
        let _ = writeln!(
            out,
            "<p class=\"muted\">files (in the run's output directory): {}</p>",
            artifacts.join(", ")
        );
    }
    out.push_str("</details>\n");
}

fn write_checks(out: &mut String, checks: &[CheckFinding]) {
    out.push_str(
        "<table class=\"checks\">\n<thead><tr><th>check</th><th>severity</th><th>message</th></tr></thead>\n<tbody>\n",
    );
    for check in checks {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&check.id),
            escape(&check.severity),
            escape(&check.message)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn write_message(out: &mut String, message: &MessageReport) {
    out.push_str("<dl>\n");
    let _ = writeln!(
        out,
        "<dt>message</dt><dd>{} from {} to {}</dd>",
        message.number,
        escape(&message.from),
        escape(&message.to.join(", "))
    );
    let _ = writeln!(
        out,
        "<dt>client</dt><dd>{}, {}</dd>",
        escape(&message.client),
        escape(&message.protection)
    );
    if let Some(reason) = &message.refused {
        let _ = writeln!(out, "<dt>refused</dt><dd>{}</dd>", escape(reason));
    }
    if let Some(snapshot) = &message.snapshot {
        let _ = writeln!(
            out,
            "<dt>snapshot</dt><dd><code>{}</code></dd>",
            escape(snapshot)
        );
    }
    out.push_str("</dl>\n");
    if !message.recipients.is_empty() {
        out.push_str(
            "<table class=\"recipients\">\n<thead><tr><th>recipient</th><th>delivered</th>\
             <th>verdict</th><th>decrypted</th><th>weak</th><th>reasons</th></tr></thead>\n<tbody>\n",
        );
        for recipient in &message.recipients {
            let reasons: Vec<String> = recipient.reasons.iter().map(|r| escape(r)).collect();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&recipient.mailbox),
                if recipient.delivered { "yes" } else { "no" },
                escape(recipient.verdict.as_deref().unwrap_or("none")),
                match recipient.decrypted {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "n/a",
                },
                if recipient.weak { "yes" } else { "no" },
                reasons.join("<br>")
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    if let Some(anatomy) = &message.anatomy {
        let _ = writeln!(
            out,
            "<details class=\"anatomy\"><summary>anatomy</summary>\n<pre>{}</pre>\n</details>",
            escape(anatomy)
        );
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::report::sample;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&sample::run_report()));
    }

    #[test]
    fn escape_covers_text_and_attributes() {
        assert_eq!(
            escape("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1b}[31mb\nc"), "a\\u{1b}[31mb\nc");
    }

    /// Parsed by an independent HTML parser (Python's html.parser): elements balance, nothing
    /// is loaded from or linked to outside the page, no script element exists, and the hostile
    /// strings come back as text.
    #[test]
    fn self_contained_balanced_and_escaped() {
        let html = render(&sample::run_report());
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = test_support::write(dir.path(), "report.html", html.as_bytes());
        let script = r#"
import json, sys
from html.parser import HTMLParser
VOID = {"meta", "br", "link", "img", "input", "hr", "col", "source"}
class Check(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.tags, self.refs, self.text = [], [], set(), [], []
    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("href", "src", "srcset", "action", "data", "poster") or name.startswith("on"):
                self.refs.append([tag, name, value])
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append("unbalanced </%s> with open %s" % (tag, self.stack[-3:]))
        else:
            self.stack.pop()
    def handle_data(self, data):
        self.text.append(data)
check = Check()
check.feed(open(sys.argv[1], encoding="utf-8").read())
check.close()
print(json.dumps({
    "problems": check.problems,
    "open": check.stack,
    "tags": sorted(check.tags),
    "refs": check.refs,
    "text": "".join(check.text),
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
        assert_eq!(parsed["problems"], serde_json::json!([]), "{parsed:#}");
        assert_eq!(parsed["open"], serde_json::json!([]), "{parsed:#}");

        let tags: Vec<&str> = parsed["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter_map(|t| t.as_str())
            .collect();
        for forbidden in ["script", "link", "img", "iframe", "object", "embed", "base"] {
            assert!(!tags.contains(&forbidden), "<{forbidden}> in {tags:?}");
        }
        for reference in parsed["refs"].as_array().expect("refs") {
            assert_eq!(reference[0], "a", "{reference}");
            assert_eq!(reference[1], "href", "{reference}");
            assert!(
                reference[2].as_str().is_some_and(|v| v.starts_with("#scenario-")
                    || v == sample::SAMPLE_LEDGER_LINK),
                "a reference leaving the page: {reference}"
            );
        }
        // No CSS fetches either.
        assert!(!html.contains("url("), "a CSS url()");
        assert!(!html.contains("@import"), "a CSS @import");

        // The hostile strings are text a person reads, exactly as they were.
        let text = parsed["text"].as_str().expect("text");
        for hostile in [
            sample::HOSTILE_NAME,
            "FID-<x>\"&'",
            "<img src=x onerror=alert(1)>",
            "subject: \"</pre><script>alert('anatomy')</script>\"",
            "\"eve\" <eve@contoso.com>",
            "<a href=\"https://evil.example/\">source</a>",
            "a check's message with </td></tr></table> in it",
            "x\"><script>",
        ] {
            assert!(text.contains(hostile), "{hostile} not in the page's text");
        }
        // And the anatomy of the happy path is shown whole in a <pre>.
        assert!(
            html.contains("<pre>content-type: application/pkcs7-mime; smime-type=enveloped-data\n")
        );
    }
}
