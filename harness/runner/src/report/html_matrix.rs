//! The matrices at the top of the HTML report ([`super::html`]): what a person reads first.
//!
//! - Every run: scenarios × the five steps (with the lab's setup before them, the messages after
//!   them, and service faults when a scenario has any). A cell holds the worst outcome of the
//!   scenario's steps of that stage and how many passed; the messages' cell holds one mark per
//!   message. Every cell and mark links to the step it stands for (the first one with the worst
//!   outcome), whose `<details>` the browser opens on arrival.
//! - Vendor mode: the catalogue's certificate checks (`PKI-*`) × the vendor's certificates, and
//!   the clients × the messages they sent (sender → recipients).
//!
//! Pure CSS: a verdict is a symbol and a word in the cell's title as well as a colour, so the
//! matrix reads without colour and without script.

use std::fmt::Write as _;

use super::html::escape;
use super::model::{Outcome, RunReport, ScenarioReport, Stage, StepReport};

/// The style the matrices add to the page's.
pub(super) const STYLE: &str = "\
table.matrix th, table.matrix td { text-align: center; padding: 0.15rem 0.35rem; }
table.matrix th.row, table.matrix td.row { text-align: left; }
table.matrix thead th { font-weight: 600; font-size: 0.85em; vertical-align: bottom; }
a.cell { display: inline-block; min-width: 2.6rem; padding: 0.05rem 0.3rem; border-radius: 4px; text-decoration: none; font-variant-numeric: tabular-nums; font-size: 0.9em; }
a.cell.passed { background: rgba(26,127,55,0.15); }
a.cell.failed { background: rgba(207,34,46,0.18); font-weight: 600; }
a.cell.error { background: rgba(154,103,0,0.18); font-weight: 600; }
a.cell.mark { min-width: 1.6rem; margin: 0.05rem; }
td.none { color: var(--muted); }
.legend { font-size: 0.85em; }
";

/// The mark a verdict shows besides its colour.
fn symbol(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "\u{2713}",
        Outcome::Failed => "\u{2717}",
        Outcome::Error => "!",
    }
}

/// The anchor of a scenario's step in the details below the matrices (1-based numbers).
pub(super) fn step_anchor(scenario: usize, step: usize) -> String {
    format!("scenario-{scenario}-step-{step}")
}

/// The columns: setup, the five steps, the messages; faults only when a scenario has one.
fn columns(report: &RunReport) -> Vec<(Stage, &'static str, &'static str)> {
    let mut columns = vec![
        (Stage::Setup, "setup", "lab and PKI"),
        (
            Stage::Publish,
            "1 publish",
            "step 1: publish to the directory",
        ),
        (
            Stage::VirtualCollection,
            "2 collection",
            "step 2: the virtual certificate collection",
        ),
        (Stage::Sync, "3 sync", "step 3: Entra Connect"),
        (
            Stage::BrowserPolicy,
            "4 policy",
            "step 4: the browser policy",
        ),
        (
            Stage::Clients,
            "5 clients",
            "step 5: the clients' settings and identities",
        ),
    ];
    let faults = report
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .any(|s| s.stage == Stage::Fault);
    if faults {
        columns.push((Stage::Fault, "faults", "services stopped and started"));
    }
    columns.push((Stage::Messages, "messages", "the messages, one mark each"));
    columns
}

/// A link to one step, showing its verdict.
fn cell_link(scenario: usize, step: usize, outcome: Outcome, text: &str, title: &str) -> String {
    format!(
        "<a class=\"cell {name}\" href=\"#{anchor}\" title=\"{title}\">{symbol} {text}</a>",
        name = outcome.name(),
        anchor = step_anchor(scenario, step),
        title = escape(title),
        symbol = symbol(outcome),
        text = escape(text),
    )
}

/// Scenarios × steps.
pub(super) fn write_scenario_matrix(out: &mut String, report: &RunReport) {
    let columns = columns(report);
    out.push_str("<h2 id=\"matrix\">Scenarios \u{00d7} steps</h2>\n");
    out.push_str(
        "<p class=\"legend muted\">\u{2713} passed \u{00b7} \u{2717} failed (a finding) \u{00b7} \
         ! error (the harness could not find out) \u{00b7} \u{00b7} no such step. \
         A cell counts the passed steps; it links to the first with the worst verdict.</p>\n",
    );
    out.push_str("<table class=\"matrix scenarios\">\n<thead><tr><th class=\"row\">scenario</th>");
    for (_, header, title) in &columns {
        let _ = write!(
            out,
            "<th title=\"{}\">{}</th>",
            escape(title),
            escape(header)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (i, scenario) in report.scenarios.iter().enumerate() {
        let number = i.saturating_add(1);
        let _ = write!(
            out,
            "<tr><td class=\"row\"><a href=\"#scenario-{number}\">{}</a></td>",
            escape(&scenario.name)
        );
        for (stage, header, _) in &columns {
            out.push_str(&stage_cell(number, scenario, *stage, header));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn stage_cell(number: usize, scenario: &ScenarioReport, stage: Stage, header: &str) -> String {
    let steps: Vec<(usize, &StepReport)> = scenario
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (i.saturating_add(1), s))
        .filter(|(_, s)| s.stage == stage)
        .collect();
    if steps.is_empty() {
        // A scenario that never started: its error stands in the setup cell.
        if stage == Stage::Setup
            && let Some(error) = &scenario.error
        {
            return format!(
                "<td><a class=\"cell error\" href=\"#scenario-{number}\" title=\"{}\">! not run</a></td>",
                escape(error)
            );
        }
        return "<td class=\"none\" title=\"no such step\">\u{00b7}</td>".to_owned();
    }
    if stage == Stage::Messages {
        let marks: Vec<String> = steps
            .iter()
            .map(|(n, s)| {
                let label = s
                    .message
                    .as_ref()
                    .map_or_else(|| n.to_string(), |m| m.number.to_string());
                cell_link(
                    number,
                    *n,
                    s.outcome,
                    &label,
                    &format!("{}: {}", s.title, s.outcome.name()),
                )
                .replacen("class=\"cell ", "class=\"cell mark ", 1)
            })
            .collect();
        return format!("<td>{}</td>", marks.join(""));
    }
    let worst = steps
        .iter()
        .fold(Outcome::Passed, |w, (_, s)| w.worst(s.outcome));
    let passed = steps
        .iter()
        .filter(|(_, s)| s.outcome == Outcome::Passed)
        .count();
    let (target, first) = steps
        .iter()
        .find(|(_, s)| s.outcome == worst)
        .copied()
        .unwrap_or(steps[0]);
    let title = format!(
        "{header}: {passed} of {} step(s) passed; {} {}",
        steps.len(),
        first.title,
        first.outcome.name()
    );
    format!(
        "<td>{}</td>",
        cell_link(
            number,
            target,
            worst,
            &format!("{passed}/{}", steps.len()),
            &title
        )
    )
}

/// The certificate-check steps of a vendor run: (scenario number, step number, step).
fn certificate_steps(report: &RunReport) -> Vec<(usize, usize, &StepReport)> {
    let mut found = Vec::new();
    for (i, scenario) in report.scenarios.iter().enumerate() {
        for (j, step) in scenario.steps.iter().enumerate() {
            if crate::vendor::is_certificate_check(step) {
                found.push((i.saturating_add(1), j.saturating_add(1), step));
            }
        }
    }
    found
}

/// Vendor mode: checks × certificates, then clients × messages.
pub(super) fn write_vendor_matrices(out: &mut String, report: &RunReport) {
    write_check_matrix(out, report);
    write_client_matrix(out, report);
}

fn write_check_matrix(out: &mut String, report: &RunReport) {
    let certificates = certificate_steps(report);
    out.push_str("<h2 id=\"vendor-checks\">Certificate checks \u{00d7} certificates</h2>\n");
    if certificates.is_empty() {
        out.push_str("<p class=\"muted\">No certificate was checked.</p>\n");
        return;
    }
    // Every certificate check of the catalogue, so that a row of ticks says "checked, fine";
    // then any finding the catalogue does not list (none today), so nothing found is hidden.
    let mut rows: Vec<(String, String)> = smime::checks::CATALOGUE
        .iter()
        .filter(|c| c.id.starts_with("PKI-"))
        .map(|c| (c.id.to_owned(), c.title.to_owned()))
        .collect();
    for (_, _, step) in &certificates {
        for finding in &step.checks {
            if !rows.iter().any(|(id, _)| *id == finding.id) {
                rows.push((finding.id.clone(), String::new()));
            }
        }
    }
    out.push_str(
        "<p class=\"legend muted\">\u{2713} not raised \u{00b7} \u{2717} error \u{00b7} \
         ! warning \u{00b7} i information. Each mark links to the certificate's checks.</p>\n",
    );
    out.push_str("<table class=\"matrix checks\">\n<thead><tr><th class=\"row\">check</th>");
    for (_, _, step) in &certificates {
        let name = step
            .title
            .strip_prefix(crate::vendor::CERTIFICATE_CHECK_PREFIX)
            .unwrap_or(&step.title)
            .trim();
        let _ = write!(
            out,
            "<th title=\"{}\">{}</th>",
            escape(&step.details.join("; ")),
            escape(name)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (id, title) in &rows {
        let _ = write!(
            out,
            "<tr><td class=\"row\" title=\"{}\"><code>{}</code> {}</td>",
            escape(title),
            escape(id),
            escape(title)
        );
        for (scenario, step_number, step) in &certificates {
            let findings: Vec<_> = step.checks.iter().filter(|f| f.id == *id).collect();
            let anchor = step_anchor(*scenario, *step_number);
            match findings.first() {
                None => {
                    let _ = write!(
                        out,
                        "<td><a class=\"cell passed\" href=\"#{anchor}\" title=\"not raised\">\u{2713}</a></td>"
                    );
                }
                Some(first) => {
                    let (class, mark) = match first.severity.as_str() {
                        "error" => ("failed", "\u{2717}"),
                        "warning" => ("error", "!"),
                        _ => ("passed", "i"),
                    };
                    let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
                    let _ = write!(
                        out,
                        "<td><a class=\"cell {class}\" href=\"#{anchor}\" title=\"{}: {}\">{mark} {}</a></td>",
                        escape(&first.severity),
                        escape(&messages.join("; ")),
                        escape(&first.severity)
                    );
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn write_client_matrix(out: &mut String, report: &RunReport) {
    // (scenario number, step number, step, client, sender → recipients)
    let mut messages = Vec::new();
    for (i, scenario) in report.scenarios.iter().enumerate() {
        for (j, step) in scenario.steps.iter().enumerate() {
            if let Some(message) = &step.message {
                let pair = format!("{} \u{2192} {}", message.from, message.to.join(", "));
                messages.push((
                    i.saturating_add(1),
                    j.saturating_add(1),
                    step,
                    message.client.as_str(),
                    pair,
                ));
            }
        }
    }
    out.push_str("<h2 id=\"vendor-clients\">Clients \u{00d7} messages</h2>\n");
    if messages.is_empty() {
        out.push_str("<p class=\"muted\">No message was sent.</p>\n");
        return;
    }
    let mut clients: Vec<&str> = Vec::new();
    let mut pairs: Vec<&str> = Vec::new();
    for (_, _, _, client, pair) in &messages {
        if !clients.contains(client) {
            clients.push(client);
        }
        if !pairs.contains(&pair.as_str()) {
            pairs.push(pair);
        }
    }
    out.push_str("<table class=\"matrix clients\">\n<thead><tr><th class=\"row\">client</th>");
    for pair in &pairs {
        let _ = write!(out, "<th>{}</th>", escape(pair));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for client in &clients {
        let _ = write!(out, "<tr><td class=\"row\">{}</td>", escape(client));
        for pair in &pairs {
            let marks: Vec<String> = messages
                .iter()
                .filter(|(_, _, _, c, p)| c == client && p == pair)
                .map(|(scenario, n, step, _, _)| {
                    let number = step.message.as_ref().map_or(0, |m| m.number);
                    cell_link(
                        *scenario,
                        *n,
                        step.outcome,
                        &number.to_string(),
                        &format!("{}: {}", step.title, step.outcome.name()),
                    )
                    .replacen("class=\"cell ", "class=\"cell mark ", 1)
                })
                .collect();
            if marks.is_empty() {
                out.push_str("<td class=\"none\" title=\"no such message\">\u{00b7}</td>");
            } else {
                let _ = write!(out, "<td>{}</td>", marks.join(""));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}
