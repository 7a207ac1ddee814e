//! The catalogue and the tooling around it: `cargo xtask run-scenarios --list` on an unchanged
//! tree (anchor: `smime-lab scenario run --list` alone, the work without cargo), the whole
//! catalogue's wall time (anchor: the sum of the scenarios' own durations in report.json), and a
//! lab's time to ready with the four services a scenario starts (anchor: the directory alone).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::report::Figure;

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root).stdin(Stdio::null());
    command
}

/// Runs `command`, returning its stdout and wall time; an error naming `what` if it fails.
fn timed_output(mut command: Command, what: &str) -> anyhow::Result<(String, f64)> {
    let start = Instant::now();
    let output = command
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    let seconds = start.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok((
        String::from_utf8_lossy(&output.stdout).into_owned(),
        seconds,
    ))
}

/// `cargo xtask run-scenarios --list`, twice (the first may build); the second's wall time and
/// the names it listed.
pub fn list_overhead(root: &Path) -> (Figure, Vec<String>) {
    let list = || {
        let mut command = cargo(root);
        command.args(["xtask", "run-scenarios", "--list"]);
        timed_output(command, "`cargo xtask run-scenarios --list`")
    };
    let result = list().and_then(|_| list());
    let names: Vec<String> = match &result {
        // `<name>  <file>` per line.
        Ok((stdout, _)) => stdout
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_owned)
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut alone = Command::new(root.join("target/debug/smime-lab"));
    alone
        .args(["scenario", "run", "--list"])
        .current_dir(root)
        .stdin(Stdio::null());
    let anchor = timed_output(alone, "`smime-lab scenario run --list`").map(|(_, s)| s);
    let figure = Figure::new(
        "overhead",
        "`cargo xtask run-scenarios --list`, unchanged tree",
        "s",
        result.map(|(_, s)| s),
    )
    .anchor("`smime-lab scenario run --list` alone", "s", anchor)
    .goal("<= 3 s");
    (figure, names)
}

/// The catalogue (`filter`: only scenarios whose name contains it) on the local runtime, through
/// `cargo xtask run-scenarios`; wall time, and the mean scenario duration from report.json.
/// Which scenarios the catalogue row runs.
pub enum Selection {
    /// The whole catalogue, as `cargo xtask run-scenarios` runs it.
    All,
    /// The scenarios whose name contains `filter`, in one job.
    OneJob { filter: String },
}

impl Selection {
    /// `--quick`: the three `OWABCCEncryptedEmailForking` scenarios, which share one lab shape
    /// (one new lab, two reused), or the first scenario's name if the catalogue has lost them.
    pub fn quick(scenarios: &[String]) -> Self {
        const SAME_SHAPE: &str = "owa-bcc-forking-";
        let filter = if scenarios.iter().filter(|s| s.contains(SAME_SHAPE)).count() >= 2 {
            SAME_SHAPE.to_owned()
        } else {
            scenarios.first().cloned().unwrap_or_default()
        };
        Selection::OneJob { filter }
    }
}

pub fn catalogue(root: &Path, out: &Path, selection: &Selection, count: usize) -> Vec<Figure> {
    let filter = match selection {
        Selection::All => None,
        Selection::OneJob { filter } => Some(filter.as_str()),
    };
    let name = match filter {
        Some(f) => format!("catalogue, scenarios matching `{f}`, one job"),
        None => format!("whole catalogue ({count} scenarios), warm"),
    };
    let mut command = cargo(root);
    command
        .args(["xtask", "run-scenarios", "--runtime", "local", "--out"])
        .arg(out);
    if let Some(f) = filter {
        // One job: the scenarios run one after the other in one lab, so all but the first are
        // reused labs (with two jobs and three scenarios, a run can have only one reuse or none).
        command.args(["--filter", f, "--jobs", "1"]);
    }
    let start = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("cannot run `cargo xtask run-scenarios`");
    let wall = start.elapsed().as_secs_f64();
    let report = status.and_then(|status| {
        // 1 is "a scenario failed": the timing stands, the failure is reported beside it.
        if !matches!(status.code(), Some(0 | 1)) {
            bail!("`cargo xtask run-scenarios` failed ({status})");
        }
        let path = out.join("report.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let report: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        Ok(report)
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => return vec![Figure::new("catalogue", &name, "s", Err(e))],
    };
    let scenarios = report["scenarios"].as_array().cloned().unwrap_or_default();
    let failed: Vec<String> = scenarios
        .iter()
        .filter(|s| s["outcome"] != "passed")
        .map(|s| s["name"].as_str().unwrap_or("?").to_owned())
        .collect();
    let durations: Vec<f64> = scenarios
        .iter()
        .filter_map(|s| s["duration_ms"].as_f64())
        .map(|ms| ms / 1000.0)
        .collect();
    let sum: f64 = durations.iter().sum();
    let wall = if failed.is_empty() {
        Ok(wall)
    } else {
        Err(anyhow::anyhow!(
            "{} scenario(s) did not pass, so the time is not a catalogue run's: {}",
            failed.len(),
            failed.join(", ")
        ))
    };
    let mean = if durations.is_empty() {
        Err(anyhow::anyhow!("report.json lists no scenario durations"))
    } else {
        Ok(sum / durations.len() as f64)
    };
    // Each scenario's lab: reused (reset) or new, and its time to ready (report.json `lab`).
    let ready: Vec<(bool, f64)> = scenarios
        .iter()
        .filter_map(|s| {
            let lab = &s["lab"];
            Some((lab["reused"].as_bool()?, lab["ready_ms"].as_f64()? / 1000.0))
        })
        .collect();
    let reused: Vec<f64> = ready.iter().filter(|(r, _)| *r).map(|(_, s)| *s).collect();
    let fresh: Vec<f64> = ready.iter().filter(|(r, _)| !*r).map(|(_, s)| *s).collect();
    let mean_of = |values: &[f64], what: &str| {
        if values.is_empty() {
            Err(anyhow::anyhow!("no scenario of the run had a {what} lab"))
        } else {
            Ok(values.iter().sum::<f64>() / values.len() as f64)
        }
    };
    vec![
        Figure::new("catalogue", &name, "s", wall)
            .anchor("sum of the scenarios' durations", "s", Ok(sum))
            .goal(if filter.is_none() { "<= 20 s" } else { "" }),
        Figure::new("catalogue", "mean scenario duration", "s", mean),
        Figure::new(
            "catalogue",
            &format!(
                "lab ready per scenario in the run, reused ({} of {})",
                reused.len(),
                ready.len()
            ),
            "s",
            mean_of(&reused, "reused"),
        )
        .anchor(
            &format!("new labs in the run ({})", fresh.len()),
            "s",
            mean_of(&fresh, "new"),
        )
        .goal("<= 0.5 s"),
    ]
}

/// A lab with the four services a scenario starts (local runtime, the default PKI on pki-web),
/// from start to ready, mean of `times`; the anchor starts the directory alone. Then the same lab
/// kept and reset for a next scenario (`runner::execute::reuse::reset`: directory emptied,
/// tenant reset, sink emptied, pki-web's files replaced), mean of `times`, beside the fresh start.
pub async fn lab_ready(pki: &Path, times: usize) -> Vec<Figure> {
    async fn mean(config: &lab::LabConfig, times: usize) -> anyhow::Result<f64> {
        let mut total = 0.0;
        for _ in 0..times {
            let start = Instant::now();
            let lab = lab::start(config, lab::RuntimeChoice::Local)
                .await
                .context("starting a local lab")?;
            total += start.elapsed().as_secs_f64();
            lab.stop().await.context("stopping the lab")?;
        }
        Ok(total / times.max(1) as f64)
    }
    let mut config = lab::LabConfig::default();
    let full = match lab::PkiWebContent::from_pki_dir(pki) {
        Ok(content) => {
            config.pki_web = content;
            config.tenant.crl_hosts = vec!["pki.contoso.com".into()];
            mean(&config, times).await
        }
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", pki.display())),
    };
    let directory_only = lab::LabConfig::default().only([lab::Service::Directory]);
    let fresh = full
        .as_ref()
        .map(|s| *s)
        .map_err(|e| anyhow::anyhow!("{e}"));
    let reused = match lab::PkiWebContent::from_pki_dir(pki) {
        Ok(_) => reset_mean(&config, times).await,
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", pki.display())),
    };
    vec![
        Figure::new(
            "catalogue",
            "lab ready (4 services, local), fresh per scenario",
            "s",
            full,
        )
        .anchor(
            "directory (slapd) alone",
            "s",
            mean(&directory_only, times).await,
        ),
        Figure::new(
            "catalogue",
            "lab ready (4 services, local), reused: reset for the next scenario",
            "s",
            reused,
        )
        .anchor("the same lab started fresh", "s", fresh)
        .goal("<= 0.5 s (reused)"),
    ]
}

/// One lab started, then reset `times` times as a worker resets it between scenarios; the mean
/// reset time.
async fn reset_mean(config: &lab::LabConfig, times: usize) -> anyhow::Result<f64> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let mut lab = lab::start(config, lab::RuntimeChoice::Local)
        .await
        .context("starting a local lab")?;
    let mut total = 0.0;
    let mut outcome = Ok(());
    for _ in 0..times.max(1) {
        let start = Instant::now();
        if let Err(e) = runner::execute::reuse::reset(&mut lab, config, &http).await {
            outcome = Err(anyhow::anyhow!("resetting the lab: {e}"));
            break;
        }
        total += start.elapsed().as_secs_f64();
    }
    lab.stop().await.context("stopping the lab")?;
    outcome.map(|()| total / times.max(1) as f64)
}
