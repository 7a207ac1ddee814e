//! `smime-lab scenario`: the scenario files' JSON Schema, checking files without running them,
//! the plan a run would follow, and running them (`run`, in [`super::scenario_run`]).
//!
//! `check` exits 0 when every file is a valid scenario, 1 when one is not (each problem printed
//! with its file, line and column), 2 when a file cannot be read.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use scenario::{self, LoadedScenario, ScenarioError, schema};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the JSON Schema of scenario files (or of a vendor bundle's vendor.yaml), or write
    /// it to a file. Editors use it to complete and check the YAML; both are committed
    /// (scenarios/scenario.schema.json, fixtures/vendor/vendor.schema.json) and a test fails
    /// when they are stale.
    Schema {
        /// Which file format's schema.
        #[arg(long, value_enum, default_value_t = SchemaOf::Scenario)]
        of: SchemaOf,
        /// Write the schema here instead of printing it; parent directories are created.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Load and validate scenario files (or every .yaml in a directory) without running them.
    Check {
        /// Scenario files or directories of them.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Show the actions a run of one scenario takes, with the PKI issued and the SST written.
    Plan {
        /// The scenario file.
        file: PathBuf,
    },
    /// Run scenarios, each in a lab of its own: progress, a summary, report.json, JUnit XML and
    /// an HTML report. Exit 0 all passed, 1 one failed, 2 usage or an invalid file, 3 one could
    /// not run, 130 interrupted (see the exit codes below).
    #[command(after_help = runner::exit::HELP)]
    Run(Box<super::scenario_run::Args>),
}

/// The file formats with a JSON Schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaOf {
    /// A scenario file (scenarios/*.yaml).
    Scenario,
    /// A vendor bundle's vendor.yaml (`scenario run --vendor DIR`).
    Vendor,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Schema { of, output } => write_schema(of, output.as_deref()),
        Command::Check { files } => check(&files),
        Command::Plan { file } => plan(&file),
        Command::Run(args) => super::scenario_run::run(&args),
    }
}

fn write_schema(of: SchemaOf, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let json = match of {
        SchemaOf::Scenario => schema::schema_json(),
        SchemaOf::Vendor => runner::vendor::bundle::schema_json(),
    };
    write_generated(&json, output, "the schema")
}

/// Prints a generated file (a schema, a documentation page) or writes it to `output`, creating
/// its parent directories.
pub(super) fn write_generated(
    text: &str,
    output: Option<&Path>,
    what: &str,
) -> anyhow::Result<ExitCode> {
    let Some(output) = output else {
        std::io::stdout()
            .write_all(text.as_bytes())
            .with_context(|| format!("cannot write {what} to standard output"))?;
        return Ok(ExitCode::SUCCESS);
    };
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create the directory {}", parent.display()))?;
    // Written beside the target and renamed, so an editor never reads half a file.
    let mut temporary = tempfile::NamedTempFile::new_in(parent)
        .with_context(|| format!("cannot create a file in {}", parent.display()))?;
    temporary
        .write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", output.display()))?;
    temporary
        .persist(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    eprintln!("wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

/// The files named, with directories expanded to their `.yaml` files in name order.
pub(super) fn expand(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .with_context(|| format!("cannot list {}", input.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            found.sort();
            if found.is_empty() {
                anyhow::bail!("{}: no .yaml files in this directory", input.display());
            }
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

/// Whether diagnostics on standard error are coloured (`runner::colour`).
pub(super) fn color() -> bool {
    runner::colour::stderr()
}

/// Every file loaded, and what went wrong with those that did not load.
pub(super) struct Loaded {
    pub scenarios: Vec<LoadedScenario>,
    /// Files with problems (each printed with file, line and column as it was found).
    pub invalid: usize,
    /// Files that could not be read (each printed as it was found).
    pub unreadable: usize,
}

impl Loaded {
    /// The exit code a command that needs every file whole returns: 2 when a file could not be
    /// read, 1 when one is not a valid scenario, 0 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        if self.unreadable > 0 {
            ExitCode::from(2)
        } else if self.invalid > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// Loads each file; problems go to standard error as they are found (miette's rendering with
/// file, line and column), and with `list_each` an `ok`/`FAIL` line per file to standard output.
/// `scenario check` and `scenario run` share it, so a run refuses exactly what check refuses.
pub(super) fn load_files(files: &[PathBuf], list_each: bool) -> Loaded {
    let mut loaded = Loaded {
        scenarios: Vec::new(),
        invalid: 0,
        unreadable: 0,
    };
    for file in files {
        match scenario::load(file) {
            Ok(scenario) => {
                if list_each {
                    println!("ok    {} ({})", file.display(), scenario.name());
                }
                loaded.scenarios.push(scenario);
            }
            Err(ScenarioError::Invalid(e)) => {
                loaded.invalid += 1;
                eprint!("{}", e.render(color()));
                if list_each {
                    let count = e.count();
                    println!(
                        "FAIL  {} ({count} problem{})",
                        file.display(),
                        if count == 1 { "" } else { "s" }
                    );
                }
            }
            Err(e @ ScenarioError::Read { .. }) => {
                loaded.unreadable += 1;
                eprintln!("error: {e}");
            }
        }
    }
    loaded
}

fn check(inputs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let files = expand(inputs)?;
    let loaded = load_files(&files, true);
    println!(
        "{} scenario{} checked: {} valid, {} invalid{}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        loaded.scenarios.len(),
        loaded.invalid,
        if loaded.unreadable > 0 {
            format!(", {} unreadable", loaded.unreadable)
        } else {
            String::new()
        }
    );
    Ok(loaded.exit_code())
}

fn plan(file: &Path) -> anyhow::Result<ExitCode> {
    let loaded = match scenario::load(file) {
        Ok(loaded) => loaded,
        Err(ScenarioError::Invalid(e)) => {
            eprint!("{}", e.render(color()));
            return Ok(ExitCode::from(1));
        }
        // The message already holds its cause: as an error chain it would print twice.
        Err(e) => anyhow::bail!("{e}"),
    };
    let plan = scenario::plan(&loaded)?;
    println!(
        "{}: tenant {}, domain {}, clock {}",
        plan.scenario,
        plan.tenant,
        plan.domain,
        smime::certificate::rfc3339(plan.now)
    );
    for (i, action) in plan.actions.iter().enumerate() {
        println!("{:>3}. {action}", i.saturating_add(1));
    }
    Ok(ExitCode::SUCCESS)
}
