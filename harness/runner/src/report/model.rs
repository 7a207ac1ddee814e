//! What a scenario run found, as data: the one structure the terminal summary, the JUnit XML and
//! the HTML report are all rendered from (`report::{terminal, junit, html}`), and what
//! `--json` writes. The executor (`crate::execute`) fills it; renderers never look at the lab.
//!
//! Nothing here holds a secret: no private key, no password, no decrypted body. Certificates
//! appear as subjects and thumbprints, signatures and keys as short digests (the anatomy).

use serde::{Deserialize, Serialize};

/// A whole `smime-lab scenario run` (or `cargo xtask run-scenarios`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// `local` or `containers`.
    pub runtime: String,
    /// `Some((k, n))` with `--partition k/n`: this run holds the k-th of n slices.
    pub partition: Option<(u32, u32)>,
    /// Vendor mode: the bundle's directory.
    pub vendor: Option<String>,
    /// In the order the files were given (name order for a directory), whatever order they ran.
    pub scenarios: Vec<ScenarioReport>,
    /// Wall-clock time of the whole run.
    pub duration_ms: u64,
    /// Where the fidelity ledger is, as a link from the HTML report's folder (relative when
    /// both are on one file system), when the report writer found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_link: Option<String>,
}

impl RunReport {
    /// Passed only when every scenario passed (and there was at least one).
    pub fn passed(&self) -> bool {
        !self.scenarios.is_empty() && self.scenarios.iter().all(|s| s.outcome == Outcome::Passed)
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.scenarios
            .iter()
            .filter(|s| s.outcome == outcome)
            .count()
    }
}

/// How a scenario, a step or a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// What happened is what the scenario expects.
    Passed,
    /// Something happened that the scenario does not expect: the finding a run exists for.
    Failed,
    /// The harness could not find out (a service did not start, a request broke off): neither
    /// pass nor fail, and never counted as either.
    Error,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
        }
    }

    /// The worse of two: error over failed over passed.
    pub fn worst(self, other: Outcome) -> Outcome {
        use Outcome::*;
        match (self, other) {
            (Error, _) | (_, Error) => Error,
            (Failed, _) | (_, Failed) => Failed,
            _ => Passed,
        }
    }
}

/// One scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub name: String,
    /// The file, as given on the command line (relative paths stay relative).
    pub file: String,
    pub summary: String,
    pub source: String,
    pub tags: Vec<String>,
    /// The IDs of the fidelity ledger's rows this scenario proves (`harness/tenant/FIDELITY.md`):
    /// when it fails, these are the documented behaviours the lab (or the setup) got wrong.
    #[serde(default)]
    pub ledger: Vec<String>,
    /// The worst outcome of its steps, or `error` when `error` is set.
    pub outcome: Outcome,
    /// Why the scenario could not run at all (the lab did not start, the plan failed).
    pub error: Option<String>,
    pub steps: Vec<StepReport>,
    pub duration_ms: u64,
    /// Settings the scenario sets that the lab accepts but does not emulate, each as "set but
    /// not emulated: <parameter>: <why>" (a scenario relying on one proves nothing about it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_emulated: Vec<String>,
    /// The lab the scenario ran in: reused from the scenario before (reset) or new, and how
    /// long it took to be ready. `None` when no lab was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<LabUse>,
}

/// How a scenario got its lab (`smime-lab scenario run` keeps one lab per worker and resets
/// it between scenarios: `runner::execute::reuse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabUse {
    /// A kept lab, reset for this scenario (else one started for it).
    pub reused: bool,
    /// From asking for the lab to the lab ready for the first step, in milliseconds.
    pub ready_ms: u64,
    /// Why the job's kept lab was not reused (a reset that failed, a service that did not start
    /// again after the scenario before): the scenario got a new lab instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_reused: Option<String>,
}

/// Where in the five steps a step report belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// The lab and the PKI: services started, CRLs served, users created.
    Setup,
    /// Step 1.
    Publish,
    /// Step 2.
    VirtualCollection,
    /// Step 3.
    Sync,
    /// Step 4.
    BrowserPolicy,
    /// Step 5.
    Clients,
    /// The messages after the steps.
    Messages,
    /// A service fault starting or ending.
    Fault,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Setup => "setup",
            Stage::Publish => "publish",
            Stage::VirtualCollection => "virtual-collection",
            Stage::Sync => "sync",
            Stage::BrowserPolicy => "browser-policy",
            Stage::Clients => "clients",
            Stage::Messages => "messages",
            Stage::Fault => "fault",
        }
    }
}

/// One action of the plan, as run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub stage: Stage,
    /// One line naming what was done: `publish alice: userSMIMECertificate (1 value)`,
    /// `Set-SmimeConfig -SMIMECertificateIssuingCA (2 certificates, 2 412 bytes)`,
    /// `message 2: carol → alice via outlook, signed + encrypted`.
    pub title: String,
    pub outcome: Outcome,
    /// What the scenario expects, in words (`the import fails: expired, listing 1 thumbprint`).
    pub expected: Option<String>,
    /// What happened, in words, when it differs or is worth showing.
    pub actual: Option<String>,
    /// Facts a person reading the report wants (the tenant's answer, the chosen certificate).
    pub details: Vec<String>,
    /// Conformance check ids found on the way (`PKI-SKI-001`), with their message.
    pub checks: Vec<CheckFinding>,
    /// For a message: what each recipient saw.
    pub message: Option<MessageReport>,
    /// Files written for this step, relative to the run's output directory (policy files, the
    /// message as sent, its anatomy).
    pub artifacts: Vec<String>,
    pub duration_ms: u64,
}

/// A catalogue check that fired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckFinding {
    pub id: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    pub message: String,
}

/// A message, as sent and as received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageReport {
    pub number: usize,
    pub from: String,
    pub to: Vec<String>,
    /// `outlook`, `owa` or `mobile`.
    pub client: String,
    /// How the client protected it: `clear-signed`, `opaque-signed`, `encrypted`,
    /// `signed+encrypted`, `triple-wrapped`, `plain`.
    pub protection: String,
    /// The client refused to send it, with the setting or reason name.
    pub refused: Option<String>,
    pub recipients: Vec<RecipientReport>,
    /// The message's anatomy as YAML (the snapshot's content), when it was sent.
    pub anatomy: Option<String>,
    /// The snapshot's name, when the scenario names one.
    pub snapshot: Option<String>,
}

/// What one recipient's client made of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientReport {
    pub mailbox: String,
    pub delivered: bool,
    /// The verdict's status (`valid`, `untrusted`, `not-signed`, ...).
    pub verdict: Option<String>,
    pub reasons: Vec<String>,
    /// `Some` when the message was encrypted: whether this recipient could decrypt it.
    pub decrypted: Option<bool>,
    pub weak: bool,
}
