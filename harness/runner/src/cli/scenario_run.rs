//! `smime-lab scenario run`: the main job. Loads every scenario file named (a broken one stops
//! the run before any lab starts, with its file, line and column), selects by `--filter`,
//! `--tag` and `--partition`, runs the selection with `--jobs` scenarios at a time (each in a
//! lab of its own), and reports: a line per finished scenario and a summary on the terminal,
//! `report.json`, JUnit XML and one HTML page.
//!
//! Each job is a thread with its own single-threaded tokio runtime and its own lab: a slow PKI
//! issue in one does not stall another's lab, and the executor's futures need not be `Send`. A
//! job keeps its lab between its scenarios and resets it for each (`execute::reuse`: directory
//! emptied, tenant reset, sink emptied, pki-web's files replaced, faulted services started
//! again), or starts a new one when the next scenario's lab differs or the reset fails;
//! `--fresh-labs` starts a new lab for every scenario. A scenario whose executor panics is
//! reported as `error` and the run goes on.
//!
//! Exit codes ([`runner::exit`]): 0 every selected scenario passed; 1 one failed (a finding);
//! 2 a usage error, a file that cannot be read or is not a valid scenario, or reports that cannot
//! be written; 3 none failed but one could not run (outcome `error`); 130 interrupted.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::Context as _;
use runner::execute::{self, RunOptions};
use runner::report::model::{Outcome, RunReport, ScenarioReport};
use runner::report::{html, junit, terminal};
use scenario::{LoadedScenario, Partition, Selection};

use super::output::{PUBLIC, write_atomically};
use super::scenario::{expand, load_files};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files or directories of them (default: scenarios/).
    #[arg(value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// Where the lab runs: auto (containers when a Docker engine answers and the images are
    /// built, else local), containers, local.
    #[arg(long, default_value = "auto", value_parser = parse_runtime)]
    runtime: lab::RuntimeChoice,
    /// Scenarios run at the same time, each in a lab of its own.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Start a new lab for every scenario instead of resetting the job's lab between its
    /// scenarios (slower; the isolation is the same).
    #[arg(long)]
    fresh_labs: bool,
    /// Only scenarios whose name contains TEXT (repeatable: any of them).
    #[arg(long = "filter", value_name = "TEXT")]
    filters: Vec<String>,
    /// Only scenarios with this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Run the K-th of N slices (CI matrices): scenarios sorted by name, the i-th goes to slice
    /// i mod N + 1. Applies after --filter and --tag.
    #[arg(long, value_name = "K/N")]
    partition: Option<Partition>,
    /// Output directory: one directory per scenario, report.json, and by default the JUnit and
    /// HTML reports.
    #[arg(long, value_name = "DIR", default_value = "target/smime-lab/run")]
    out: PathBuf,
    /// JUnit XML report [default: <out>/junit.xml].
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// HTML report, one self-contained file [default: <out>/report.html].
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Where message snapshots live (`cargo insta review` reviews them).
    #[arg(long, value_name = "DIR", default_value = "scenarios/snapshots")]
    snapshots: PathBuf,
    /// Print the run's report as JSON on standard output (the summary goes to standard error).
    #[arg(long)]
    json: bool,
    /// Print the selected scenarios (name and file) and stop: nothing is run, no lab starts.
    #[arg(long)]
    list: bool,
    /// Vendor mode: run the conformance profile with the certificates of the bundle in DIR
    /// (`vendor.yaml`, the CA chain, users' PKCS#12 files; see fixtures/vendor/README.md)
    /// instead of scenario files.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["paths", "filters", "tags", "partition", "list"])]
    vendor: Option<PathBuf>,
    /// Rollout preflight: rehearse the organisation in DIR (`preflight.yaml`: the SST, the
    /// directory's LDIF export, settings, CRLs) instead of scenario files; the same as
    /// `smime-lab preflight DIR` with reports under --out.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["paths", "filters", "tags", "partition", "list", "vendor"])]
    preflight: Option<PathBuf>,
    #[command(flatten)]
    keys: super::key_cache::Options,
}

pub(super) fn parse_runtime(text: &str) -> Result<lab::RuntimeChoice, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a runtime: auto, containers or local"))
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &args.vendor {
        return run_vendor(dir, args);
    }
    if let Some(dir) = &args.preflight {
        return super::preflight::run_dir(dir, args.runtime, &args.out, args.json);
    }
    let inputs = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    let mut files = expand(&inputs)?;
    // A file named twice (a directory and a file in it) runs once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));

    let loaded = load_files(&files, false);
    if loaded.invalid > 0 || loaded.unreadable > 0 {
        eprintln!(
            "nothing was run: {} of {} scenario file{} cannot be used (see above; `smime-lab \
             scenario check` checks files without running them)",
            loaded.invalid + loaded.unreadable,
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        );
        // Not a finding: nothing ran. The file must be fixed first, as with a usage error.
        return Ok(ExitCode::from(runner::exit::USAGE));
    }
    let scenarios = loaded.scenarios;
    refuse_duplicate_names(&scenarios)?;

    let selection = Selection {
        filters: args.filters.clone(),
        tags: args.tags.clone(),
        partition: args.partition,
    };
    let total = scenarios.len();
    let selected = selection.select(scenarios);
    if args.list {
        return list(&selected, args.json);
    }
    if selected.is_empty() {
        anyhow::bail!(
            "no scenario is selected (of {total}): check --filter, --tag and --partition \
             (`--list` shows the selection)"
        );
    }

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output directory {}", args.out.display()))?;
    remove_earlier_reports(args)?;
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let runtime = match tokio.block_on(check_machine(args.runtime)) {
        Ok(runtime) => runtime,
        Err(reason) => {
            let reports = selected
                .iter()
                .map(|s| error_report(s, format!("not run: {reason}"), 0))
                .collect();
            return not_run(reports, None, &reason, args);
        }
    };
    eprintln!(
        "running {} scenario{} ({} at a time) on the {} runtime{}",
        selected.len(),
        if selected.len() == 1 { "" } else { "s" },
        args.jobs
            .min(u16::try_from(selected.len()).unwrap_or(u16::MAX)),
        runtime_name(runtime),
        args.partition
            .map(|p| format!(", partition {p}"))
            .unwrap_or_default()
    );

    watch_for_interrupts(runtime);
    let started = Instant::now();
    let reports = run_all(&selected, args, runtime);
    stop_if_interrupted();
    let mut report = RunReport {
        runtime: runtime_name(runtime).to_owned(),
        partition: args.partition.map(|p| (p.index, p.count)),
        vendor: None,
        scenarios: reports,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        ledger_link: None,
    };
    write_reports(&mut report, args)?;
    print_summary(&report, "", args)
}

/// Prints the summary (and `extra`, in the same stream): on stdout, or on stderr with the JSON
/// report on stdout under `--json`. The exit code is [`runner::exit::for_run`]'s.
fn print_summary(report: &RunReport, extra: &str, args: &Args) -> anyhow::Result<ExitCode> {
    let colour = if args.json {
        terminal::stderr_wants_colour()
    } else {
        terminal::stdout_wants_colour()
    };
    let summary = format!("{}{extra}", terminal::summary(report, colour));
    if args.json {
        eprint!("\n{summary}");
        let json = serde_json::to_string_pretty(report).context("serialising the report")?;
        print_stdout(&format!("{json}\n"))?;
    } else {
        print_stdout(&format!("\n{summary}"))?;
    }
    Ok(ExitCode::from(runner::exit::for_run(report)))
}

/// Vendor mode: the bundle is read and checked before any lab starts (a mistake in it is exit
/// 2 naming the file and field), then the profile runs like one scenario.
fn run_vendor(dir: &std::path::Path, args: &Args) -> anyhow::Result<ExitCode> {
    let now = time::OffsetDateTime::now_utc();
    let bundle = runner::vendor::VendorBundle::read(dir, now)
        .with_context(|| format!("the vendor bundle in {} cannot be used", dir.display()))?;
    let checks = runner::vendor::profile::certificate_checks(&bundle);
    let plan = runner::vendor::profile::plan(&bundle)
        .with_context(|| format!("the vendor bundle in {}", dir.display()))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output directory {}", args.out.display()))?;
    remove_earlier_reports(args)?;
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let about = execute::ScenarioAbout {
        name: runner::vendor::profile::PROFILE_NAME.to_owned(),
        file: dir.join(runner::vendor::bundle::DESCRIPTION_FILE).display().to_string(),
        summary: format!("{}: the five steps and mail on every client with the vendor's certificates", bundle.vendor),
        source: "smime-lab vendor conformance profile (\"Configure S/MIME in Exchange Online\", steps 1-5)".to_owned(),
        tags: vec!["vendor".to_owned()],
        // The vendor profile's checks are the catalogue's, not ledger rows.
        ledger: Vec::new(),
    };
    let runtime = match tokio.block_on(check_machine(args.runtime)) {
        Ok(runtime) => runtime,
        Err(reason) => {
            let scenario = ScenarioReport {
                name: about.name,
                file: about.file,
                summary: about.summary,
                source: about.source,
                tags: about.tags,
                ledger: about.ledger,
                outcome: Outcome::Error,
                error: Some(format!("not run: {reason}")),
                steps: Vec::new(),
                duration_ms: 0,
                not_emulated: Vec::new(),
                lab: None,
            };
            return not_run(vec![scenario], Some(dir), &reason, args);
        }
    };
    eprintln!(
        "running the vendor conformance profile for {} ({} user{}) on the {} runtime",
        bundle.vendor,
        bundle.users.len(),
        if bundle.users.len() == 1 { "" } else { "s" },
        runtime_name(runtime)
    );
    let options = RunOptions {
        runtime,
        out_dir: args.out.join(runner::vendor::profile::PROFILE_NAME),
        snapshot_dir: args.snapshots.clone(),
        binaries: lab::Binaries::default(),
        keys: std::sync::Arc::new(smime::key::Generated),
    };
    watch_for_interrupts(runtime);
    let started = Instant::now();
    let scenario = tokio.block_on(execute::run_plan(about, &plan, checks, &options));
    stop_if_interrupted();
    let mut report = RunReport {
        runtime: runtime_name(runtime).to_owned(),
        partition: None,
        vendor: Some(dir.display().to_string()),
        scenarios: vec![scenario],
        duration_ms: elapsed_ms(started),
        ledger_link: None,
    };
    write_reports(&mut report, args)?;
    print_summary(&report, &runner::vendor::summary(&report), args)
}

/// Names become directories and snapshot prefixes: two files with one name would overwrite
/// each other's output.
fn refuse_duplicate_names(scenarios: &[LoadedScenario]) -> anyhow::Result<()> {
    let mut by_name: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for scenario in scenarios {
        by_name
            .entry(scenario.name())
            .or_default()
            .push(scenario.file.as_str());
    }
    if let Some((name, files)) = by_name.iter().find(|(_, files)| files.len() > 1) {
        anyhow::bail!(
            "two scenario files are named `{name}`: {}. Names must be unique in a run (they \
             name the output directories and snapshots): rename one, or run them separately",
            files.join(" and ")
        );
    }
    Ok(())
}

fn list(selected: &[LoadedScenario], as_json: bool) -> anyhow::Result<ExitCode> {
    let text = if as_json {
        let entries: Vec<serde_json::Value> = selected
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name(),
                    "file": s.file,
                    "tags": s.scenario.tags.iter().map(|t| t.value.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect();
        format!(
            "{}\n",
            serde_json::to_string_pretty(&entries).context("serialising the list")?
        )
    } else {
        let width = selected.iter().map(|s| s.name().len()).max().unwrap_or(0);
        selected
            .iter()
            .map(|s| format!("{:<width$}  {}\n", s.name(), s.file))
            .collect()
    };
    if selected.is_empty() {
        eprintln!("no scenario is selected");
    }
    print_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // `| head` closing the pipe is the reader's choice, not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

/// Set once a signal has arrived; the process is about to exit 130.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// After an interruption, waits for the watcher to exit the process instead of going on to write
/// reports from scenarios that failed only because their labs were removed.
fn stop_if_interrupted() {
    while INTERRUPTED.load(Ordering::SeqCst) {
        std::thread::park_timeout(std::time::Duration::from_secs(1));
    }
}

/// On Ctrl-C or SIGTERM (Ctrl-Break on Windows): removes this run's labs (containers and networks, or local service
/// processes and their directories) and exits 130.
///
/// The scenarios run on worker threads in the middle of their steps; rather than thread a
/// cancellation through every step, the process ends here, so the labs' `Drop` never runs: the
/// lab crate removes what this process owns instead.
pub(super) fn watch_for_interrupts(runtime: lab::RuntimeChoice) {
    let (ready, installed) = mpsc::channel::<Result<(), String>>();
    let spawned = std::thread::Builder::new()
        .name("interrupts".to_owned())
        .spawn(move || {
            let tokio = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(tokio) => tokio,
                Err(e) => {
                    let _ = ready.send(Err(e.to_string()));
                    return;
                }
            };
            tokio.block_on(async {
                // The handlers are installed when `install` returns, before the run starts.
                let mut signals = match Signals::install() {
                    Ok(signals) => signals,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                let signal = signals.next().await;
                // From here the main thread neither prints nor writes reports: the scenarios
                // whose labs are being removed fail, and their results are not results.
                INTERRUPTED.store(true, Ordering::SeqCst);
                eprintln!("\ninterrupted ({signal}): no report is written");
                if runtime == lab::RuntimeChoice::Local {
                    let (killed, removed) = stop_own_local_services().await;
                    eprintln!(
                        "stopped {killed} local service process{} and removed {removed} lab \
                         director{}",
                        if killed == 1 { "" } else { "es" },
                        if removed == 1 { "y" } else { "ies" }
                    );
                }
                if runtime == lab::RuntimeChoice::Containers {
                    match remove_own_containers().await {
                        Ok(runs) => eprintln!(
                            "removed the containers and networks of {} lab{}",
                            runs.len(),
                            if runs.len() == 1 { "" } else { "s" }
                        ),
                        Err(e) => eprintln!(
                            "could not remove this run's containers ({e}): the next lab started \
                             on this host removes them, or run `cargo xtask lab down`"
                        ),
                    }
                }
                std::process::exit(i32::from(runner::exit::INTERRUPTED));
            });
        });
    let outcome = match spawned {
        Ok(_) => installed
            .recv()
            .unwrap_or_else(|_| Err("the watcher thread ended".to_owned())),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = outcome {
        eprintln!("warning: Ctrl-C will not clean up this run's labs: {e}");
    }
}

/// The signals that interrupt a run: Ctrl-C and SIGTERM on Unix, Ctrl-C and Ctrl-Break on
/// Windows (where the offline commands are what admins run, and a lab is not started).
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The name of the first signal that arrives.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "Ctrl-C",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

#[cfg(windows)]
struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
    ctrl_break: tokio::signal::windows::CtrlBreak,
}

#[cfg(windows)]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
            ctrl_break: tokio::signal::windows::ctrl_break()?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.ctrl_c.recv() => "Ctrl-C",
            _ = self.ctrl_break.recv() => "Ctrl-Break",
        }
    }
}

/// Removes this process's labs until two passes a moment apart find none: the workers keep
/// running while this happens, and a container or network whose creation was in flight during
/// one pass is there for the next. Returns the run ids removed.
async fn remove_own_containers() -> Result<std::collections::BTreeSet<String>, lab::LabError> {
    let mut removed = std::collections::BTreeSet::new();
    let mut quiet_passes = 0;
    // Bounded: a worker cannot create labs faster than they are removed for long, since each
    // lab start waits for its services, but the exit must not hang on it.
    for _ in 0..20 {
        let runs = lab::Containers.clean_up_this_process().await?;
        if runs.is_empty() {
            quiet_passes += 1;
            if quiet_passes == 2 {
                break;
            }
        } else {
            quiet_passes = 0;
            removed.extend(runs);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    Ok(removed)
}

/// Kills this process's local services and removes their directories until a pass a moment
/// after the last finds none (a lab start in flight may spawn one more service). Returns the
/// processes killed and directories removed.
async fn stop_own_local_services() -> (usize, usize) {
    let (mut killed, mut removed) = (0, 0);
    for _ in 0..20 {
        let (k, r) = lab::Local.clean_up_this_process();
        if k == 0 && r == 0 {
            break;
        }
        killed += k;
        removed += r;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (killed, removed)
}

/// The machine examined once before any lab starts (`lab::doctor`, what `smime-lab doctor`
/// prints): the runtime the run uses (`auto` decided once for the whole run, so every scenario
/// runs on the same runtime and the report can say which), or why none can run here.
pub(super) async fn check_machine(
    choice: lab::RuntimeChoice,
) -> Result<lab::RuntimeChoice, String> {
    let doctor = lab::doctor::Doctor::examine(&lab::LabConfig::default()).await;
    let (kind, why) = doctor.runnable(choice)?;
    if choice == lab::RuntimeChoice::Auto {
        eprintln!("using the {kind} runtime ({why})");
    }
    Ok(match kind {
        lab::RuntimeKind::Containers => lab::RuntimeChoice::Containers,
        lab::RuntimeKind::Local => lab::RuntimeChoice::Local,
    })
}

/// No lab can start here: said once, with where to look, before any lab starts; the reports
/// are written with every scenario `error` (CI keeps its artefacts), and the exit code is 3.
fn not_run(
    scenarios: Vec<ScenarioReport>,
    vendor: Option<&Path>,
    reason: &str,
    args: &Args,
) -> anyhow::Result<ExitCode> {
    let mut report = RunReport {
        runtime: runtime_name(args.runtime).to_owned(),
        partition: args.partition.map(|p| (p.index, p.count)),
        vendor: vendor.map(|d| d.display().to_string()),
        scenarios,
        duration_ms: 0,
        ledger_link: None,
    };
    write_reports(&mut report, args)?;
    let text = format!(
        "nothing was run: {reason}\n`smime-lab doctor` lists what this machine has and lacks \
         for each runtime, with the command that installs each.\n"
    );
    if args.json {
        eprint!("{text}");
        let json = serde_json::to_string_pretty(&report).context("serialising the report")?;
        print_stdout(&format!("{json}\n"))?;
    } else {
        print_stdout(&text)?;
    }
    Ok(ExitCode::from(runner::exit::COULD_NOT_RUN))
}

pub(super) fn runtime_name(choice: lab::RuntimeChoice) -> &'static str {
    match choice {
        lab::RuntimeChoice::Containers => "containers",
        lab::RuntimeChoice::Local => "local",
        lab::RuntimeChoice::Auto => "auto",
    }
}

enum Event {
    Started(usize),
    Finished(usize, Box<ScenarioReport>),
}

/// Runs the scenarios `--jobs` at a time and returns their reports in the order given.
fn run_all(
    selected: &[LoadedScenario],
    args: &Args,
    runtime: lab::RuntimeChoice,
) -> Vec<ScenarioReport> {
    let next = AtomicUsize::new(0);
    let jobs = usize::from(args.jobs).clamp(1, selected.len().max(1));
    let mut reports: Vec<Option<ScenarioReport>> = vec![None; selected.len()];
    let mut progress = terminal::Progress::on_stderr(selected.len());
    std::thread::scope(|scope| {
        let (events, received) = mpsc::channel::<Event>();
        for _ in 0..jobs {
            let events = events.clone();
            let next = &next;
            scope.spawn(move || worker(selected, args, runtime, next, &events));
        }
        drop(events);
        // Ends when every worker has dropped its sender, i.e. every scenario is done.
        for event in received {
            match event {
                Event::Started(i) => progress.started(selected[i].name()),
                Event::Finished(i, report) => {
                    if !INTERRUPTED.load(Ordering::SeqCst) {
                        progress.finished(&report);
                    }
                    reports[i] = Some(*report);
                }
            }
        }
    });
    progress.finish();
    reports
        .into_iter()
        .zip(selected)
        .map(|(report, scenario)| {
            // Only a worker thread that died outside the executor leaves a hole.
            report.unwrap_or_else(|| error_report(scenario, "the scenario was not run".into(), 0))
        })
        .collect()
}

fn worker(
    selected: &[LoadedScenario],
    args: &Args,
    runtime: lab::RuntimeChoice,
    next: &AtomicUsize,
    events: &mpsc::Sender<Event>,
) {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let mut labs = if args.fresh_labs {
        execute::reuse::Labs::fresh_each_time()
    } else {
        execute::reuse::Labs::reused()
    };
    let keys = args.keys.source();
    // An interrupted run starts no further scenario (their labs would only be removed again).
    while !INTERRUPTED.load(Ordering::SeqCst) {
        let i = next.fetch_add(1, Ordering::SeqCst);
        let Some(scenario) = selected.get(i) else {
            break;
        };
        let _ = events.send(Event::Started(i));
        let started = Instant::now();
        let report = match &tokio {
            Ok(tokio) => {
                let options = RunOptions {
                    runtime,
                    out_dir: args.out.join(scenario.name()),
                    snapshot_dir: args.snapshots.clone(),
                    binaries: lab::Binaries::default(),
                    keys: keys.clone(),
                };
                let run = std::panic::AssertUnwindSafe(|| {
                    tokio.block_on(execute::run_scenario_in(scenario, &options, &mut labs))
                });
                std::panic::catch_unwind(run).unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "no message".to_owned());
                    error_report(
                        scenario,
                        format!("the harness panicked running this scenario (a bug: please report it): {what}"),
                        elapsed_ms(started),
                    )
                })
            }
            Err(e) => error_report(
                scenario,
                format!("cannot start an async runtime for this scenario: {e}"),
                elapsed_ms(started),
            ),
        };
        let _ = events.send(Event::Finished(i, Box::new(report)));
    }
    if let Ok(tokio) = &tokio
        && let Err(e) = tokio.block_on(labs.close())
    {
        eprintln!(
            "warning: a lab did not stop cleanly (its services may still run; `cargo xtask lab down` cleans up): {e}"
        );
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The report of a scenario the harness could not run at all.
fn error_report(scenario: &LoadedScenario, error: String, duration_ms: u64) -> ScenarioReport {
    ScenarioReport {
        name: scenario.name().to_owned(),
        file: scenario.file.clone(),
        summary: scenario.scenario.summary.as_str().to_owned(),
        source: scenario.scenario.source.as_str().to_owned(),
        tags: scenario
            .scenario
            .tags
            .iter()
            .map(|t| t.value.as_str().to_owned())
            .collect(),
        ledger: runner::ledger::ids_for_scenario(scenario.name()),
        outcome: Outcome::Error,
        error: Some(error),
        steps: Vec::new(),
        duration_ms,
        not_emulated: Vec::new(),
        lab: None,
    }
}

/// report.json in the output directory, the JUnit XML and the HTML page where asked (by default
/// beside it); each written whole or not at all. The HTML page links to the fidelity ledger
/// (relative to its folder) when this binary's repository copy of it is there.
fn write_reports(report: &mut RunReport, args: &Args) -> anyhow::Result<()> {
    let [json_path, junit_path, html_path] = report_paths(args);
    create_parent(&html_path)?;
    report.ledger_link = html_path
        .parent()
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            }
        })
        .and_then(|dir| runner::ledger::link_from(dir, Path::new(runner::ledger::LEDGER_FILE)));
    let report = &*report;
    let json = serde_json::to_vec_pretty(report).context("serialising the report")?;
    let xml = junit::render(report).context("writing the JUnit XML")?;
    let page = html::render(report);
    for (path, bytes) in [
        (&json_path, json.as_slice()),
        (&junit_path, xml.as_bytes()),
        (&html_path, page.as_bytes()),
    ] {
        create_parent(path)?;
        write_atomically(path, bytes, PUBLIC)?;
    }
    eprintln!(
        "\nreports: {}, {}, {}",
        json_path.display(),
        junit_path.display(),
        html_path.display()
    );
    Ok(())
}

/// Where report.json, the JUnit XML and the HTML page go.
fn report_paths(args: &Args) -> [PathBuf; 3] {
    [
        args.out.join("report.json"),
        args.junit
            .clone()
            .unwrap_or_else(|| args.out.join("junit.xml")),
        args.html
            .clone()
            .unwrap_or_else(|| args.out.join("report.html")),
    ]
}

/// Removes the reports an earlier run left where this one writes, before any lab starts: a run
/// that is interrupted or cannot finish must not leave CI reading the last run's results as its
/// own.
fn remove_earlier_reports(args: &Args) -> anyhow::Result<()> {
    for path in report_paths(args) {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| {
                    format!("cannot remove the earlier run's report {}", path.display())
                });
            }
            _ => {}
        }
    }
    Ok(())
}

fn create_parent(path: &Path) -> anyhow::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display())),
        _ => Ok(()),
    }
}
