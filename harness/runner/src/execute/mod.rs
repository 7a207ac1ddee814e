//! Running a [`Plan`] against a lab: the five steps and the messages, each action's outcome
//! compared with what the scenario expects, into a [`ScenarioReport`].
//!
//! Data flows as the design says, one way: [`lab_setup`] turns the plan into a lab
//! ([`lab::LabConfig`]: directory suffix, tenant, clock, the CRLs and CA certificates pki-web
//! serves); then each [`Action`] in order:
//!
//! | action | module | talks to |
//! |---|---|---|
//! | `ServePki`, `CreateUsers` | [`setup`] | pki-web (HTTP), directory (LDAP), tenant (first sync) |
//! | `Fault` | [`setup`] | the lab runtime (stop/start a service) |
//! | `Publish` (step 1) | [`directory`] | slapd over LDAP (ldap3) |
//! | `ImportCollection` (step 2) | [`collection`] | tenant: `Set-SmimeConfig -SMIMECertificateIssuingCA` |
//! | `Sync` (step 3) | [`sync`] | directory (read) → tenant `/lab/sync/{tenant}/export` |
//! | `CheckPopulation` (after step 3) | [`population`] | tenant: Outlook's lookup of each generated user |
//! | `BrowserPolicy` (step 4) | [`policy`] | files in the run's output directory, `browser_policy::check_artifact` |
//! | `Cmdlet` (step 5) | [`cmdlets`] | tenant: `Set-SmimeConfig`, `Set-`/`New-MobileDeviceMailboxPolicy`, `Set-CASMailbox` |
//! | `InstallIdentity` (step 5) | [`devices`] | none: the PKCS#12 file is read into the client's store |
//! | `Clock` (an `at:` later than the clock) | [`clock`] | tenant: `PUT /lab/clock`; `Context::now` |
//! | `Send` | [`clients`] (settings, compose, refuse) → [`mail`] (SMTP → sink) → [`receive`] ([`validation`] by the tenant) | tenant, smtp, sink |
//!
//! Every action yields one [`StepReport`]; the scenario's outcome is the worst of them. The
//! per-user steps of a generated population's users (one `Publish` each) are summed up into one
//! step per population and kind ([`population::PerUser`]): the count that passed, and the users
//! that did not with why.
//!
//! # Outcomes
//!
//! - `passed`: what happened is what the scenario expects.
//! - `failed`: the services answered, and not as the scenario expects. A request to a service
//!   the scenario itself has taken down (a `services:` fault in progress, [`Context::down`]) is
//!   such an answer: the step did not do its job, because of the fault.
//! - `error`: the harness could not find out: a service that should answer did not, the lab did
//!   not serve what it was configured with, or an action panicked (a bug; the run goes on and the
//!   lab is still stopped).
//!
//! # What runs after a step that did not pass
//!
//! Steps are independent unless they cannot run: every action runs, in order, whatever the
//! outcome of the ones before, with one exception. When `CreateUsers` did not pass, the actions
//! that need the users' directory objects and mailboxes (`Publish`, `Sync`, `Send`) are reported
//! as `error` ("not run") instead of producing failures that only repeat the first problem.
//! Everything else (the import, browser policies, cmdlets, faults, installing identities) does
//! not depend on the users and runs. A failed publish does not stop sync: sync exports what the
//! directory holds, and its expectations say whether that is what the scenario wanted.
//!
//! # The lab's lifetime
//!
//! [`run_scenario`] starts a lab of its own, runs the actions with each one's panics caught, and
//! always calls [`lab::RunningLab::stop`] (`Drop` would clean up too, but `stop` reports what
//! went wrong). [`run_scenario_in`] takes the lab from a worker's [`reuse::Labs`] instead: the
//! lab kept from the scenario before, reset (directory emptied, tenant reset, sink emptied,
//! pki-web's files replaced), or a new one when it cannot be; afterwards the services the
//! scenario left down are started again and the lab is kept for the next. The scenario's output
//! directory is emptied first (only if it is one an earlier run made, marked by
//! [`OUT_DIR_MARKER`]).

pub mod clients;
mod clock;
mod cmdlets;
pub(crate) mod collection;
pub mod devices;
pub mod directory;
pub mod lab_setup;
pub mod lookup;
pub mod mail;
mod policy;
pub mod population;
pub mod receive;
pub mod reuse;
mod setup;
pub mod snapshot;
pub mod sync;
pub mod tenant_api;
#[cfg(test)]
mod test_pki;
mod translate;
pub mod validation;

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use lab::{Endpoints, RunningLab};

use crate::report::model::{LabUse, Outcome, ScenarioReport, Stage, StepReport};
use scenario::LoadedScenario;
use scenario::plan::{Action, Plan};

pub use tenant_api::{TenantApi, TenantApiError};

/// Everything an action needs: the plan, where the services are, and what earlier actions left
/// behind (identities installed on devices, what sync exported, which services are down).
pub struct Context<'a> {
    pub plan: &'a Plan,
    /// The lab clock: the plan's `now` until an `Action::Clock` moves it (`at:` in the
    /// scenario). Clients look recipients up at it and date their messages with it.
    pub now: time::OffsetDateTime,
    pub endpoints: Endpoints,
    pub tenant: TenantApi,
    pub http: reqwest::Client,
    /// The scenario's output directory: policy files, sync answers, messages as sent, anatomy
    /// YAML.
    /// Where the message snapshots live (`scenarios/snapshots/`).
    pub snapshot_dir: PathBuf,
    pub out_dir: PathBuf,
    /// Identities installed on clients by step 5.
    pub devices: devices::Devices,
    /// Each message as it reached each recipient's mailbox, by message number and user id: what
    /// a reply (`reply-to`) is written from.
    pub received: std::collections::BTreeMap<(usize, String), Vec<u8>>,
    /// Services the scenario has taken down and not yet repaired (its `services:` faults). A
    /// request to one of these failing is the scenario's doing: report the step `failed` saying
    /// so, not `error`.
    pub down: BTreeSet<lab::Service>,
    /// What the Entra Connect emulation remembers between cycles (what was exported, which
    /// exports failed and are retried).
    pub sync: sync::SyncState,
    /// The directory session step 1's publishes share (a generated population publishes a
    /// thousand users one by one); dropped at every fault, so that no session outlives a
    /// restarted directory.
    pub directory: Option<directory::Directory>,
}

impl Context<'_> {
    /// The outcome and words for a request to `service` that got no answer: `failed` while the
    /// scenario holds the service down, else `error`.
    pub fn unreachable(&self, service: lab::Service, what: &str, error: &str) -> (Outcome, String) {
        if self.down.contains(&service) {
            (
                Outcome::Failed,
                format!("{what}: {service} is down (the scenario's fault is in progress): {error}"),
            )
        } else {
            (Outcome::Error, format!("{what}: {error}"))
        }
    }
}

/// How to run one scenario.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub runtime: lab::RuntimeChoice,
    /// Where this scenario's files go (`<out>/<scenario>/`): created, emptied first.
    pub out_dir: PathBuf,
    /// Where snapshots live (`scenarios/snapshots/`).
    pub snapshot_dir: PathBuf,
    /// The lab's programs (our binaries; slapd and nginx for the local runtime).
    pub binaries: lab::Binaries,
    /// Where planning gets the PKI's keys: `smime::key::Generated`, or `smime-lab scenario
    /// run`'s key cache (the same keys, remembered between runs).
    pub keys: std::sync::Arc<dyn smime::key::KeySource + Send + Sync>,
}

/// The file that marks a directory as a scenario's output directory, so that a later run may
/// empty it. A directory without it that holds anything is never emptied.
pub const OUT_DIR_MARKER: &str = ".smime-lab-scenario-output";

/// How long one HTTP request to a lab service may take. Generous: a sync export of sixteen
/// certificates on a loaded CI machine still takes well under a second.
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);
const HTTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one scenario from its file to its report: plans it, starts a lab of its own, runs every
/// action, stops the lab (also on failure). Never panics and never returns `Err`: a scenario that
/// cannot run is a report with outcome `error` saying why.
pub async fn run_scenario(loaded: &LoadedScenario, options: &RunOptions) -> ScenarioReport {
    let mut labs = reuse::Labs::fresh_each_time();
    run_scenario_in(loaded, options, &mut labs).await
}

/// [`run_scenario`] with the lab from `labs`: with [`reuse::Labs::reused`], the lab of the
/// scenario before, reset, and kept afterwards for the next one.
pub async fn run_scenario_in(
    loaded: &LoadedScenario,
    options: &RunOptions,
    labs: &mut reuse::Labs,
) -> ScenarioReport {
    let about = ScenarioAbout::of(loaded);
    match scenario::plan_with(loaded, &*options.keys) {
        Ok(plan) => run_plan_in(about, &plan, Vec::new(), options, labs).await,
        Err(e) => about.report(
            Outcome::Error,
            Some(format!("the plan failed: {e}")),
            Vec::new(),
            0,
            Vec::new(),
            None,
        ),
    }
}

/// What a report says of the scenario besides its steps: its name, file and description.
#[derive(Clone, Debug)]
pub struct ScenarioAbout {
    pub name: String,
    pub file: String,
    pub summary: String,
    pub source: String,
    pub tags: Vec<String>,
    /// The fidelity ledger's rows the scenario proves.
    pub ledger: Vec<String>,
}

/// The settings of a plan that the lab accepts but does not emulate, said in its report.
fn not_emulated(plan: &Plan) -> Vec<String> {
    let mut said = Vec::new();
    for action in &plan.actions {
        if let Action::Cmdlet(call) = action
            && call.cmdlet == "Set-SmimeConfig"
        {
            for name in call.parameters.keys() {
                if let Some(why) = clients::owa::not_emulated(name) {
                    said.push(format!("set but not emulated: {name}: {why}"));
                }
            }
        }
    }
    said
}

impl ScenarioAbout {
    pub fn of(loaded: &LoadedScenario) -> Self {
        ScenarioAbout {
            name: loaded.name().to_owned(),
            file: loaded.file.clone(),
            summary: loaded.scenario.summary.as_str().to_owned(),
            source: loaded.scenario.source.as_str().to_owned(),
            tags: loaded
                .scenario
                .tags
                .iter()
                .map(|t| t.value.as_str().to_owned())
                .collect(),
            ledger: crate::ledger::ids_for_scenario(loaded.name()),
        }
    }

    fn report(
        self,
        outcome: Outcome,
        error: Option<String>,
        steps: Vec<StepReport>,
        duration_ms: u64,
        not_emulated: Vec<String>,
        lab: Option<LabUse>,
    ) -> ScenarioReport {
        ScenarioReport {
            name: self.name,
            file: self.file,
            summary: self.summary,
            source: self.source,
            tags: self.tags,
            ledger: self.ledger,
            outcome,
            error,
            steps,
            duration_ms,
            not_emulated,
            lab,
        }
    }
}

/// Runs a plan made elsewhere (a scenario's, or vendor mode's profile) in a lab of its own.
/// `offline` are steps already judged without a lab (vendor mode's certificate checks): they
/// come first in the report and count towards its outcome.
pub async fn run_plan(
    about: ScenarioAbout,
    plan: &Plan,
    offline: Vec<StepReport>,
    options: &RunOptions,
) -> ScenarioReport {
    let mut labs = reuse::Labs::fresh_each_time();
    run_plan_in(about, plan, offline, options, &mut labs).await
}

/// [`run_plan`] with the lab from `labs` (see [`run_scenario_in`]).
pub async fn run_plan_in(
    about: ScenarioAbout,
    plan: &Plan,
    offline: Vec<StepReport>,
    options: &RunOptions,
    labs: &mut reuse::Labs,
) -> ScenarioReport {
    let started = Instant::now();
    let mut steps = offline;
    let mut lab_use = None;
    let result = run(plan, options, labs, &mut steps, &mut lab_use).await;
    let (outcome, error) = match result {
        Ok(()) => (
            steps
                .iter()
                .fold(Outcome::Passed, |worst, step| worst.worst(step.outcome)),
            None,
        ),
        Err(why) => (Outcome::Error, Some(why)),
    };
    about.report(
        outcome,
        error,
        steps,
        millis(started.elapsed()),
        not_emulated(plan),
        lab_use,
    )
}

/// Lab, actions, stop. `Err` is why the plan could not run at all; the steps that did run are
/// in `steps` either way.
async fn run(
    plan: &Plan,
    options: &RunOptions,
    labs: &mut reuse::Labs,
    steps: &mut Vec<StepReport>,
    lab_use: &mut Option<LabUse>,
) -> Result<(), String> {
    prepare_out_dir(&options.out_dir)?;
    let config = lab_setup::lab_config(plan, options).map_err(|e| e.to_string())?;
    let http = http_client()?;
    let acquired = labs.acquire(&config, options.runtime, &http).await?;
    *lab_use = Some(LabUse {
        reused: acquired.reused,
        ready_ms: millis(acquired.ready),
        not_reused: acquired.not_reused,
    });
    let mut lab = acquired.lab;
    let endpoints = lab.endpoints().clone();
    let tenant = match endpoints.tenant() {
        Ok(endpoint) => TenantApi::new(http.clone(), endpoint.clone()),
        Err(e) => {
            let _ = lab.stop().await;
            return Err(format!("the lab has no tenant: {e}"));
        }
    };
    let mut ctx = Context {
        plan,
        now: plan.now,
        endpoints,
        tenant,
        http,
        out_dir: options.out_dir.clone(),
        snapshot_dir: options.snapshot_dir.clone(),
        devices: devices::Devices::default(),
        received: std::collections::BTreeMap::new(),
        down: BTreeSet::new(),
        sync: sync::SyncState::default(),
        directory: None,
    };

    let mut users_ready = true;
    // A generated population's per-user steps are summed up, not listed one by one.
    let mut per_user = population::PerUser::new(plan);
    for action in &plan.actions {
        if matches!(action, Action::Fault(_)) {
            ctx.directory = None;
        }
        let started = Instant::now();
        let mut step = if !users_ready && needs_users(action) {
            not_run(action)
        } else {
            let outcome = AssertUnwindSafe(run_action(&mut ctx, &mut lab, action))
                .catch_unwind()
                .await;
            outcome.unwrap_or_else(|panic| panicked(action, panic.as_ref()))
        };
        if matches!(action, Action::CreateUsers(_)) && step.outcome != Outcome::Passed {
            users_ready = false;
        }
        step.duration_ms = millis(started.elapsed());
        match action {
            Action::Publish(values) => per_user.add(Some(&values.user), "publish", step, steps),
            _ => per_user.add(None, "", step, steps),
        }
    }
    per_user.flush(steps);

    if let Some(directory) = ctx.directory.take() {
        directory.close().await;
    }
    let down = std::mem::take(&mut ctx.down);
    if let Err(e) = labs.release(lab, &config, &down).await {
        let mut step = new_step(Stage::Setup, "stop the lab");
        step.outcome = Outcome::Error;
        step.actual = Some(format!(
            "the lab did not stop cleanly (its services may still run; `cargo xtask lab down` cleans up): {e}"
        ));
        steps.push(step);
    }
    Ok(())
}

/// One action, dispatched to its module.
async fn run_action(ctx: &mut Context<'_>, lab: &mut RunningLab, action: &Action) -> StepReport {
    match action {
        Action::ServePki(serve) => setup::serve_pki(ctx, serve).await,
        Action::CreateUsers(users) => setup::create_users(ctx, users).await,
        Action::Fault(change) => setup::fault(ctx, lab, change).await,
        Action::Publish(values) => directory::publish(ctx, values).await,
        Action::ImportCollection(import) => collection::import(ctx, import).await,
        Action::Sync(run) => sync::cycle(ctx, run).await,
        Action::CheckPopulation(check) => population::check(ctx, check).await,
        Action::BrowserPolicy(artifact) => policy::write_and_check(ctx, artifact),
        Action::Cmdlet(call) => cmdlets::run(ctx, call).await,
        Action::InstallIdentity(install) => devices::install(ctx, install),
        Action::Send(message) => clients::send(ctx, message).await,
        Action::Clock(at) => clock::advance(ctx, *at).await,
    }
}

/// The actions that cannot run without the users' directory objects and mailboxes.
fn needs_users(action: &Action) -> bool {
    matches!(
        action,
        Action::Publish(_) | Action::Sync(_) | Action::CheckPopulation(_) | Action::Send(_)
    )
}

fn not_run(action: &Action) -> StepReport {
    let mut step = new_step(translate::report_stage(action), action.to_string());
    step.outcome = Outcome::Error;
    step.actual = Some(
        "not run: the users' directory objects and mailboxes were not created (see the setup step)"
            .to_owned(),
    );
    step
}

fn panicked(action: &Action, panic: &(dyn std::any::Any + Send)) -> StepReport {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    let mut step = new_step(translate::report_stage(action), action.to_string());
    step.outcome = Outcome::Error;
    step.actual = Some(format!(
        "the harness panicked in this step (a bug in smime-lab: please report it): {message}"
    ));
    step
}

/// A report for a step that has passed so far: each module sets what it finds.
pub(crate) fn new_step(stage: Stage, title: impl Into<String>) -> StepReport {
    StepReport {
        stage,
        title: title.into(),
        outcome: Outcome::Passed,
        expected: None,
        actual: None,
        details: Vec::new(),
        checks: Vec::new(),
        message: None,
        artifacts: Vec::new(),
        duration_ms: 0,
    }
}

/// Marks a step with a worse outcome and says why; the first reason given stays first.
pub(crate) fn fail(step: &mut StepReport, outcome: Outcome, why: impl Into<String>) {
    step.outcome = step.outcome.worst(outcome);
    let why = why.into();
    step.actual = Some(match step.actual.take() {
        Some(before) => format!("{before}; {why}"),
        None => why,
    });
}

fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// The one HTTP client the executor and its tests talk to the lab with (timeouts included).
pub fn http_client() -> Result<reqwest::Client, String> {
    // reqwest is built without a crypto provider (DEPENDENCIES.md): install ring's once, even
    // for plain HTTP, or building a client panics. A second install fails harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(HTTP_CONNECT_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Creates the output directory, or empties one an earlier run made. A directory that holds
/// anything but is not marked as a scenario's output is left alone: an error says so.
fn prepare_out_dir(dir: &Path) -> Result<(), String> {
    let marker = dir.join(OUT_DIR_MARKER);
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            let empty = entries.next().is_none();
            if !empty && !marker.exists() {
                return Err(format!(
                    "{} already holds files that no smime-lab run wrote (no {OUT_DIR_MARKER}): \
                     choose another output directory or empty it yourself",
                    dir.display()
                ));
            }
            std::fs::remove_dir_all(dir)
                .map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(
        &marker,
        "This directory is a smime-lab scenario's output; the next run of the scenario empties it.\n",
    )
    .map_err(|e| format!("cannot write {}: {e}", marker.display()))
}

/// Writes one artifact below the output directory (0644: nothing the runner writes here is
/// secret) and returns its path relative to it, for [`StepReport::artifacts`].
pub(crate) fn write_artifact(
    out_dir: &Path,
    relative: &str,
    bytes: &[u8],
) -> Result<String, String> {
    let path = out_dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(relative.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_dir_is_made_emptied_when_ours_and_refused_otherwise() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("scenario");
        prepare_out_dir(&dir).expect("created");
        assert!(dir.join(OUT_DIR_MARKER).is_file());
        std::fs::write(dir.join("old.txt"), b"x").expect("write");
        prepare_out_dir(&dir).expect("emptied");
        assert!(!dir.join("old.txt").exists());

        let foreign = root.path().join("foreign");
        std::fs::create_dir_all(&foreign).expect("mkdir");
        std::fs::write(foreign.join("keep.txt"), b"x").expect("write");
        let error = prepare_out_dir(&foreign).expect_err("refused");
        assert!(error.contains("no smime-lab run wrote"), "{error}");
        assert!(foreign.join("keep.txt").exists());

        // An empty directory is fine.
        let empty = root.path().join("empty");
        std::fs::create_dir_all(&empty).expect("mkdir");
        prepare_out_dir(&empty).expect("taken");
    }

    #[test]
    fn fail_keeps_the_worst_outcome_and_every_reason() {
        let mut step = new_step(Stage::Sync, "t");
        fail(&mut step, Outcome::Error, "first");
        fail(&mut step, Outcome::Failed, "second");
        assert_eq!(step.outcome, Outcome::Error);
        assert_eq!(step.actual.as_deref(), Some("first; second"));
    }
}
