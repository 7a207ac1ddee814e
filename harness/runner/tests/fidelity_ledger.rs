//! The fidelity ledger names only things that exist: every `path::item` a file with that item
//! declared in it, every scenario a file in `scenarios/` with that name, every ID once. A row
//! whose code or scenario was renamed or deleted fails here, not silently in a report.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use runner::ledger::{self, CodeRef};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `source` declares `item` (a function, type, constant, static, module or trait).
fn declares(source: &str, item: &str) -> bool {
    const KINDS: [&str; 8] = [
        "fn", "struct", "enum", "const", "static", "type", "trait", "mod",
    ];
    source.lines().any(|line| {
        let words: Vec<&str> = line
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        words
            .windows(2)
            .any(|pair| KINDS.contains(&pair[0]) && pair[1] == item)
    })
}

fn check_code(row: &str, reference: &CodeRef, problems: &mut Vec<String>) {
    let file = repository().join(&reference.path);
    match std::fs::read_to_string(&file) {
        Ok(source) if declares(&source, &reference.item) => {}
        Ok(_) => problems.push(format!(
            "{row}: {} declares no item named `{}`",
            reference.path, reference.item
        )),
        Err(e) => problems.push(format!("{row}: {} cannot be read: {e}", reference.path)),
    }
}

#[test]
fn every_row_names_code_and_scenarios_that_exist() {
    let text = std::fs::read_to_string(repository().join(ledger::LEDGER_PATH)).unwrap();
    assert_eq!(
        text,
        ledger::LEDGER,
        "the embedded ledger is the committed one"
    );
    let rows = ledger::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(rows.len() >= 20, "the ledger lost its rows: {}", rows.len());
    let mut problems = Vec::new();
    for row in &rows {
        for reference in row.implemented.iter().chain(&row.tests) {
            check_code(&row.id, reference, &mut problems);
        }
        for scenario in &row.scenarios {
            let file = repository()
                .join("scenarios")
                .join(format!("{scenario}.yaml"));
            match std::fs::read_to_string(&file) {
                Ok(yaml)
                    if yaml
                        .lines()
                        .any(|l| l.trim() == format!("name: {scenario}")) => {}
                Ok(_) => problems.push(format!(
                    "{}: scenarios/{scenario}.yaml is not named {scenario}",
                    row.id
                )),
                Err(_) => {
                    problems.push(format!("{}: no scenario scenarios/{scenario}.yaml", row.id))
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_declaration_check_can_fail() {
    assert!(declares("pub fn apply_object(x: u8) {}", "apply_object"));
    assert!(declares("pub const MAX: usize = 15;", "MAX"));
    assert!(!declares(
        "let apply_object = 1; // fn apply",
        "apply_object"
    ));
    let mut problems = Vec::new();
    check_code(
        "FID-X",
        &CodeRef {
            path: "harness/tenant/src/sync.rs".into(),
            item: "no_such_item".into(),
        },
        &mut problems,
    );
    check_code(
        "FID-Y",
        &CodeRef {
            path: "harness/tenant/src/no_such_file.rs".into(),
            item: "apply".into(),
        },
        &mut problems,
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[test]
fn the_sections_for_other_work_exist() {
    for heading in ["## Mobile", "## Outlook on the web"] {
        assert!(
            ledger::LEDGER.lines().any(|l| l.trim() == heading),
            "{heading} is missing"
        );
    }
}
