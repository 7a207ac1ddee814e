//! The fidelity ledger (`harness/tenant/FIDELITY.md`), read: one row per emulated behaviour with
//! its stable ID, the documentation sentence, where it is implemented and the scenarios that
//! prove it. The runner embeds the file at build time so that every report can name the rows of
//! the scenarios it ran (`ScenarioReport::ledger`) without finding the repository at run time;
//! the test `tests/fidelity_ledger.rs` holds every row to files, items and scenarios that exist.
//!
//! A row is a Markdown table line whose first cell is an ID starting `FID-`; columns are
//! ID | Source | Implemented in | Proven by | Known difference. Backticked tokens in the two
//! middle columns are the references: `path::item` (a file from the repository root, then an
//! item declared in it) or, in "Proven by", a bare scenario name.

use std::collections::BTreeSet;
use std::path::{Component, Path};

/// The ledger as committed, from the repository root.
pub const LEDGER_PATH: &str = "harness/tenant/FIDELITY.md";

/// The ledger's text, as this binary was built with it.
pub const LEDGER: &str = include_str!("../../tenant/FIDELITY.md");

/// Where the ledger is on the machine that built this binary (the repository's copy).
pub const LEDGER_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tenant/FIDELITY.md");

/// A reference to code: a file and an item declared in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRef {
    /// From the repository root.
    pub path: String,
    /// The last `::` segment: the item's name (`fn`, `struct`, `const`, …).
    pub item: String,
}

/// One row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    /// The `## ` heading the row is under.
    pub section: String,
    /// 1-based line in the file.
    pub line: usize,
    pub source: String,
    pub implemented: Vec<CodeRef>,
    pub scenarios: Vec<String>,
    pub tests: Vec<CodeRef>,
    pub known_difference: String,
}

/// Why the ledger does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "{LEDGER_PATH} line {line}: row {id} has {found} cells; a row needs 5 (ID | Source | Implemented in | Proven by | Known difference)"
    )]
    Cells {
        line: usize,
        id: String,
        found: usize,
    },
    #[error("{LEDGER_PATH} line {line}: `{token}` is not `path::item`")]
    BadCodeRef { line: usize, token: String },
    #[error("{LEDGER_PATH} line {line}: {id} is also the ID of the row on line {first}")]
    DuplicateId {
        line: usize,
        id: String,
        first: usize,
    },
    #[error("{LEDGER_PATH} line {line}: {id} {what} is empty")]
    Empty {
        line: usize,
        id: String,
        what: &'static str,
    },
}

/// Every row of `text`, in file order.
pub fn parse(text: &str) -> Result<Vec<Row>, LedgerError> {
    let mut rows: Vec<Row> = Vec::new();
    let mut section = String::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index.saturating_add(1);
        let trimmed = raw.trim();
        if let Some(heading) = trimmed.strip_prefix("## ") {
            heading.trim().clone_into(&mut section);
            continue;
        }
        let Some(inner) = trimmed.strip_prefix('|').and_then(|t| t.strip_suffix('|')) else {
            continue;
        };
        let cells: Vec<&str> = inner.split('|').map(str::trim).collect();
        let Some(id) = cells.first().filter(|c| c.starts_with("FID-")) else {
            continue;
        };
        let id = (*id).to_owned();
        let [_, source, implemented, proven, known] = cells.as_slice() else {
            return Err(LedgerError::Cells {
                line,
                id,
                found: cells.len(),
            });
        };
        if let Some(first) = rows.iter().find(|r| r.id == id) {
            return Err(LedgerError::DuplicateId {
                line,
                id,
                first: first.line,
            });
        }
        let implemented = backticked(implemented)
            .map(|token| code_ref(line, token))
            .collect::<Result<Vec<_>, _>>()?;
        let mut scenarios = Vec::new();
        let mut tests = Vec::new();
        for token in backticked(proven) {
            if token.contains('/') {
                tests.push(code_ref(line, token)?);
            } else {
                scenarios.push(token.to_owned());
            }
        }
        for (what, empty) in [
            ("source", source.is_empty()),
            ("\"Implemented in\"", implemented.is_empty()),
            ("\"Proven by\"", scenarios.is_empty() && tests.is_empty()),
        ] {
            if empty {
                return Err(LedgerError::Empty { line, id, what });
            }
        }
        rows.push(Row {
            id,
            section: section.clone(),
            line,
            source: (*source).to_owned(),
            implemented,
            scenarios,
            tests,
            known_difference: (*known).to_owned(),
        });
    }
    Ok(rows)
}

/// The IDs of the rows that name `scenario` as their proof, sorted. An unreadable ledger names
/// none (the ledger test fails on it; a report is not the place to stop).
pub fn ids_for_scenario(scenario: &str) -> Vec<String> {
    parse(LEDGER)
        .unwrap_or_default()
        .into_iter()
        .filter(|row| row.scenarios.iter().any(|s| s == scenario))
        .map(|row| row.id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A link from the folder `dir` to `file` for an HTML page in `dir`: relative (`../..`) with `/`
/// separators when both resolve on one file system root, `None` when either does not exist.
pub fn link_from(dir: &Path, file: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let file = file.canonicalize().ok()?;
    let from: Vec<Component<'_>> = dir.components().collect();
    let to: Vec<Component<'_>> = file.components().collect();
    if from.first() != to.first() {
        return None;
    }
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = from.iter().skip(common).map(|_| "..".to_owned()).collect();
    for component in to.iter().skip(common) {
        parts.push(component.as_os_str().to_str()?.to_owned());
    }
    Some(parts.join("/"))
}

/// The text between each pair of backticks.
fn backticked(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('`').skip(1).step_by(2).map(str::trim)
}

fn code_ref(line: usize, token: &str) -> Result<CodeRef, LedgerError> {
    let bad = || LedgerError::BadCodeRef {
        line,
        token: token.to_owned(),
    };
    let (path, item) = token.split_once("::").ok_or_else(bad)?;
    let item = item.rsplit("::").next().unwrap_or(item);
    if path.is_empty() || item.is_empty() || !path.ends_with(".rs") {
        return Err(bad());
    }
    Ok(CodeRef {
        path: path.to_owned(),
        item: item.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_with_their_references_and_section() {
        let text = "# x\n## Sync\n| ID | a | b | c | d |\n|---|---|---|---|---|\n\
            | FID-A | \"quote\" | `a/b.rs::f`<br>`c/d.rs::m::g` | `one`<br>`t/x.rs::test` | |\n";
        let rows = parse(text).unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.id, "FID-A");
        assert_eq!(row.section, "Sync");
        assert_eq!(row.line, 5);
        assert_eq!(row.implemented[1].item, "g");
        assert_eq!(row.scenarios, vec!["one".to_owned()]);
        assert_eq!(row.tests[0].path, "t/x.rs");
    }

    #[test]
    fn malformed_rows_say_which_line() {
        let dup = "| FID-A | s | `a.rs::f` | `x` | |\n| FID-A | s | `a.rs::f` | `x` | |\n";
        assert_eq!(
            parse(dup).unwrap_err(),
            LedgerError::DuplicateId {
                line: 2,
                id: "FID-A".into(),
                first: 1
            }
        );
        let short = "| FID-A | s | `a.rs::f` |\n";
        assert!(matches!(
            parse(short),
            Err(LedgerError::Cells { line: 1, .. })
        ));
        let bad = "| FID-A | s | `a.rs` | `x` | |\n";
        assert!(matches!(
            parse(bad),
            Err(LedgerError::BadCodeRef { line: 1, .. })
        ));
        let unproven = "| FID-A | s | `a.rs::f` | none | |\n";
        assert!(matches!(parse(unproven), Err(LedgerError::Empty { .. })));
    }

    #[test]
    fn links_are_relative_to_the_page() {
        let root = tempfile::tempdir().unwrap();
        let page_dir = root.path().join("target/run");
        let ledger = root.path().join("harness/tenant/FIDELITY.md");
        std::fs::create_dir_all(&page_dir).unwrap();
        std::fs::create_dir_all(ledger.parent().unwrap()).unwrap();
        std::fs::write(&ledger, "x").unwrap();
        assert_eq!(
            link_from(&page_dir, &ledger).as_deref(),
            Some("../../harness/tenant/FIDELITY.md")
        );
        assert_eq!(link_from(&page_dir, &root.path().join("missing.md")), None);
    }

    #[test]
    fn the_committed_ledger_reads_and_names_scenarios() {
        let rows = parse(LEDGER).unwrap();
        assert!(rows.iter().any(|r| r.id == "FID-SYNC-OOB-NULL"));
        assert!(ids_for_scenario("sixteen-certificates").contains(&"FID-SYNC-OOB-NULL".into()));
        assert!(ids_for_scenario("no-such-scenario").is_empty());
    }
}
