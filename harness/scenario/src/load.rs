//! Reading a scenario file: YAML to [`Scenario`], then [`super::validate`]. Every problem becomes
//! a [`Problem`] naming the file, line and column, rendered by miette with a snippet of the file.
//!
//! Two kinds of failure: the YAML does not have the scenario's shape (a syntax error, an unknown
//! key, a wrong type; serde-saphyr stops at the first), or it has the shape but its parts do not
//! fit together (an unknown user, a duplicate snapshot name; validation reports all of them).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde_saphyr::Location;
use smime::pki::PkiDescription;

use super::model::Scenario;

/// A scenario that loaded and validated, with what validation worked out.
#[derive(Clone, Debug)]
pub struct LoadedScenario {
    /// The file name as shown in messages.
    pub file: String,
    pub scenario: Scenario,
    /// The PKI description in effect: the scenario's own or the fixture's, with the organisation's
    /// mailbox addresses filled in for users whose description has none.
    pub pki: PkiDescription,
    /// The mail domain.
    pub domain: String,
    /// The organisation's users, in file order (a generated population's in its place).
    pub users: Vec<User>,
    /// The generated populations (`organisation.users` entries with `generate`), in file order.
    pub populations: Vec<GeneratedPopulation>,
}

/// A generated population as validation made it: its users are in [`LoadedScenario::users`]
/// and their certificates in [`LoadedScenario::pki`]; this says which users it made and which of
/// them got which flaws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedPopulation {
    /// The template, as written (`user{n:05}`).
    pub name: String,
    pub key: smime::key::KeySpec,
    /// Every user's id, in order.
    pub ids: Vec<String>,
    /// The users given flaws, with theirs.
    pub flawed: std::collections::BTreeMap<String, Vec<smime::pki::Flaw>>,
}

/// A mailbox of the organisation, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub mailbox: String,
    /// `proxyAddresses` beside the primary, as the scenario writes them (`smtp:a@b`, `x500:...`).
    pub proxy_addresses: Vec<String>,
    /// Ids of the user's certificates in the PKI (`alice`, or `bob-sign` and `bob-encrypt`);
    /// empty for a user without certificates.
    pub certificates: Vec<String>,
}

impl LoadedScenario {
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn name(&self) -> &str {
        self.scenario.name.value.as_str()
    }
}

/// Why a scenario file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] InvalidScenario),
}

/// A scenario file that was read but is not a usable scenario.
#[derive(Debug)]
pub struct InvalidScenario {
    pub file: String,
    text: String,
    kind: InvalidKind,
}

#[derive(Debug)]
enum InvalidKind {
    /// Not the scenario's shape; serde-saphyr's error carries its location.
    Yaml(Box<serde_saphyr::Error>),
    /// The right shape, but parts that do not fit together. Sorted by position, never empty.
    Problems(Vec<Problem>),
}

impl InvalidScenario {
    pub(crate) fn problems(file: &str, text: &str, mut problems: Vec<Problem>) -> Self {
        problems.sort_by_key(|p| (p.offset, p.message.clone()));
        problems.dedup_by(|a, b| a.offset == b.offset && a.message == b.message);
        InvalidScenario {
            file: file.to_owned(),
            text: text.to_owned(),
            kind: InvalidKind::Problems(problems),
        }
    }

    /// Each problem as `(line, column, message)`, in file order.
    pub fn locations(&self) -> Vec<(u64, u64, String)> {
        match &self.kind {
            InvalidKind::Yaml(error) => {
                let (line, column) = error
                    .location()
                    .filter(|l| *l != Location::UNKNOWN)
                    .map_or((0, 0), |l| (l.line(), l.column()));
                vec![(line, column, yaml_message(error))]
            }
            InvalidKind::Problems(problems) => problems
                .iter()
                .map(|p| (p.line, p.column, p.message.clone()))
                .collect(),
        }
    }

    /// How many problems were found.
    pub fn count(&self) -> usize {
        match &self.kind {
            InvalidKind::Yaml(_) => 1,
            InvalidKind::Problems(problems) => problems.len(),
        }
    }

    /// The problems as miette draws them: message, `[file:line:column]`, the lines around it
    /// with the place underlined, and what to do. `color` adds ANSI colours for a terminal.
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
        let mut out = String::new();
        match &self.kind {
            InvalidKind::Yaml(error) => {
                let options = serde_saphyr::render_options! {
                    source_name: Some(&self.file),
                    formatter: &smime::yaml::UsersTerms,
                };
                let report = serde_saphyr::miette::to_miette_report_with_options(
                    error, &self.text, &self.file, options,
                );
                if handler.render_report(&mut out, report.as_ref()).is_err() {
                    out = format!("{self}\n");
                }
                out = in_users_terms(&out);
            }
            InvalidKind::Problems(problems) => {
                let source = NamedSource::new(&self.file, self.text.clone());
                for problem in problems {
                    let view = ProblemView {
                        problem,
                        source: &source,
                    };
                    let mut one = String::new();
                    if handler.render_report(&mut one, &view).is_err() {
                        one = format!(
                            "{}:{}:{}: {}\n",
                            self.file, problem.line, problem.column, problem.message
                        );
                    }
                    out.push_str(&one);
                }
            }
        }
        out
    }
}

/// ripgrep-style: one `file:line:column: message` line per problem.
impl fmt::Display for InvalidScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (line, column, message) in self.locations() {
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(f, "{}:{line}:{column}: {message}", self.file)?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidScenario {}

fn yaml_message(error: &serde_saphyr::Error) -> String {
    let options = serde_saphyr::render_options! {
        snippets: serde_saphyr::SnippetMode::Off,
        formatter: &smime::yaml::UsersTerms,
    };
    let rendered = error.render_with_options(options);
    // The plain form is "line L column C: message"; the location is printed separately.
    let text = rendered.strip_prefix("error: ").unwrap_or(&rendered);
    let text = match text.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") => rest,
        _ => text,
    };
    in_users_terms(text.lines().next().unwrap_or_default().trim())
}

/// The YAML library's advice about its own options, rewritten as what to do in the file.
fn in_users_terms(message: &str) -> String {
    message.replace(
        ", set DuplicateKeyPolicy in Options if acceptable",
        " appears twice in this mapping: keep one of them",
    )
}

/// One thing wrong in a scenario, at a place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters.
    pub column: u64,
    pub message: String,
    /// The short text under the underlined place.
    pub label: String,
    /// What to do about it.
    pub help: Option<String>,
    /// Other places that explain it ("defined here").
    pub notes: Vec<Note>,
    offset: usize,
    len: usize,
}

/// A secondary place shown with a problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub line: u64,
    pub column: u64,
    pub label: String,
    offset: usize,
    len: usize,
}

impl Problem {
    pub fn help(&mut self, help: impl Into<String>) -> &mut Self {
        self.help = Some(help.into());
        self
    }

    /// Adds another place to the snippet; places the file has no position for are left out.
    pub fn note(&mut self, text: &str, at: &Location, label: impl Into<String>) -> &mut Self {
        if let Some(spot) = Spot::of(text, at) {
            self.notes.push(Note {
                line: spot.line,
                column: spot.column,
                label: label.into(),
                offset: spot.offset,
                len: spot.len,
            });
        }
        self
    }
}

/// Collects problems while validating one file.
pub(crate) struct Problems<'a> {
    text: &'a str,
    pub list: Vec<Problem>,
}

impl<'a> Problems<'a> {
    pub fn new(text: &'a str) -> Self {
        Problems {
            text,
            list: Vec::new(),
        }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// A problem at `at`; a location the parser did not record (a default value) falls back to
    /// `fallback`, then to the start of the file.
    pub fn at(
        &mut self,
        at: &Location,
        fallback: Option<&Location>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Problem {
        let spot = Spot::of(self.text, at)
            .or_else(|| fallback.and_then(|f| Spot::of(self.text, f)))
            .unwrap_or(Spot {
                line: 1,
                column: 1,
                offset: 0,
                len: 0,
            });
        self.push(spot, message.into(), label.into())
    }

    /// A problem at a line and column without a byte span (the PKI's own errors).
    pub fn at_line_column(
        &mut self,
        line: u64,
        column: u64,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Problem {
        let spot = Spot::from_line_column(self.text, line, column).unwrap_or(Spot {
            line: 1,
            column: 1,
            offset: 0,
            len: 0,
        });
        self.push(spot, message.into(), label.into())
    }

    fn push(&mut self, spot: Spot, message: String, label: String) -> &mut Problem {
        self.list.push(Problem {
            line: spot.line,
            column: spot.column,
            message,
            label,
            help: None,
            notes: Vec::new(),
            offset: spot.offset,
            len: spot.len,
        });
        let last = self.list.len() - 1;
        &mut self.list[last]
    }
}

/// A place in the file: line and column for people, byte offset and length for the snippet.
#[derive(Clone, Copy, Debug)]
struct Spot {
    line: u64,
    column: u64,
    offset: usize,
    len: usize,
}

impl Spot {
    fn of(text: &str, at: &Location) -> Option<Spot> {
        if *at == Location::UNKNOWN || at.line() == 0 {
            return None;
        }
        let span = at.span();
        let from_span = span
            .byte_offset()
            .and_then(|o| usize::try_from(o).ok())
            .filter(|o| *o <= text.len() && text.is_char_boundary(*o));
        let offset = match from_span {
            Some(offset) => offset,
            None => offset_of(text, at.line(), at.column())?,
        };
        let len = span
            .byte_len()
            .and_then(|l| usize::try_from(l).ok())
            .filter(|l| *l > 0 && offset.checked_add(*l).is_some_and(|end| end <= text.len()))
            .unwrap_or_else(|| token_len(text, offset));
        Some(Spot {
            line: at.line(),
            column: at.column(),
            offset,
            len,
        })
    }

    fn from_line_column(text: &str, line: u64, column: u64) -> Option<Spot> {
        let offset = offset_of(text, line, column)?;
        Some(Spot {
            line,
            column,
            offset,
            len: token_len(text, offset),
        })
    }
}

/// The byte offset of a 1-based line and character column.
fn offset_of(text: &str, line: u64, column: u64) -> Option<usize> {
    let line_index = usize::try_from(line.checked_sub(1)?).ok()?;
    let column_index = usize::try_from(column.checked_sub(1)?).ok()?;
    let mut start = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i == line_index {
            let within = l
                .char_indices()
                .nth(column_index)
                .map_or(l.trim_end_matches(['\n', '\r']).len(), |(o, _)| o);
            return start.checked_add(within);
        }
        start = start.checked_add(l.len())?;
    }
    None
}

/// The length of the YAML token at `offset`: a quoted string to its closing quote, a plain
/// scalar to the next separator. Used where the parser gave a position but no length (the start
/// of a block mapping), so that the snippet underlines a word rather than a single column.
fn token_len(text: &str, offset: usize) -> usize {
    let Some(rest) = text.get(offset..) else {
        return 0;
    };
    let line = rest.lines().next().unwrap_or_default();
    if let Some(quote) = line.chars().next().filter(|c| *c == '"' || *c == '\'') {
        return line[1..]
            .find(quote)
            .map_or(line.len(), |end| end.saturating_add(2));
    }
    line.find([' ', ',', '}', ']', '#', ':'])
        .filter(|end| *end > 0)
        .unwrap_or(line.len())
}

/// A problem with the file's text, as miette wants it.
struct ProblemView<'a> {
    problem: &'a Problem,
    source: &'a NamedSource<String>,
}

impl fmt::Debug for ProblemView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem.message)
    }
}

impl fmt::Display for ProblemView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem.message)
    }
}

impl std::error::Error for ProblemView<'_> {}

impl Diagnostic for ProblemView<'_> {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = LabeledSpan::new_primary_with_span(
            Some(self.problem.label.clone()),
            (self.problem.offset, self.problem.len),
        );
        let notes = self
            .problem
            .notes
            .iter()
            .map(|n| LabeledSpan::new_with_span(Some(n.label.clone()), (n.offset, n.len)));
        Some(Box::new(std::iter::once(primary).chain(notes)))
    }

    fn help(&self) -> Option<Box<dyn fmt::Display + '_>> {
        self.problem
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
}

/// Parses and validates a scenario. `file` names it in messages.
pub fn parse(text: &str, file: &str) -> Result<LoadedScenario, InvalidScenario> {
    let scenario: Scenario = serde_saphyr::from_str(text).map_err(|error| InvalidScenario {
        file: file.to_owned(),
        text: text.to_owned(),
        kind: InvalidKind::Yaml(Box::new(error)),
    })?;
    super::validate::validate(scenario, text, file)
}

/// Reads, parses and validates a scenario file; its `name` must be the file's name without
/// `.yaml`, so that a scenario can be found from its name in a report.
pub fn load(path: &Path) -> Result<LoadedScenario, ScenarioError> {
    let text =
        bounded_input::read_to_string(path, bounded_input::DEFAULT_LIMIT).map_err(|source| {
            ScenarioError::Read {
                path: path.to_owned(),
                source,
            }
        })?;
    let file = path.display().to_string();
    let loaded = parse(&text, &file)?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if loaded.name() != stem {
        let name = &loaded.scenario.name;
        let mut problems = Problems::new(&text);
        problems
            .at(
                &name.referenced,
                None,
                format!(
                    "the scenario is named `{}` but its file is `{}`",
                    name.value,
                    path.file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                ),
                "not the file's name",
            )
            .help(format!(
                "rename the file to {}.yaml or set `name: {stem}`: reports name scenarios, and people look for the file by that name",
                name.value
            ));
        return Err(InvalidScenario::problems(&file, &text, problems.list).into());
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_from_lines_and_columns() {
        let text = "a: 1\nbé: two\n";
        assert_eq!(offset_of(text, 1, 1), Some(0));
        assert_eq!(offset_of(text, 2, 1), Some(5));
        // Columns count characters: `é` is two bytes.
        assert_eq!(offset_of(text, 2, 5), Some(10));
        assert_eq!(offset_of(text, 3, 1), None);
        assert_eq!(offset_of(text, 0, 1), None);
        // A column past the end of the line lands at its end, not in the next line.
        assert_eq!(offset_of(text, 1, 40), Some(4));
    }

    #[test]
    fn tokens() {
        let text = "users: [alice, bob]\nname: \"quoted, text\" # c\n";
        assert_eq!(token_len(text, 8), 5);
        let quoted = text.find('"').unwrap_or_default();
        assert_eq!(
            &text[quoted..quoted + token_len(text, quoted)],
            "\"quoted, text\""
        );
        assert_eq!(token_len(text, text.len()), 0);
        assert_eq!(token_len(text, text.len() + 10), 0);
    }
}
