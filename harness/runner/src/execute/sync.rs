//! Step 3, Entra Connect emulated: each cycle reads the users' objects and certificate attributes
//! from the directory over LDAP and exports them to the tenant (`POST
//! /lab/sync/{tenant}/export`), which applies Entra ID's rules (at most 15 `userCertificate`
//! values; since build 1.1.524.0 an attribute with more is exported as AuthoritativeNull). Data
//! flows one way: directory → tenant, never back.
//!
//! What Entra Connect does between cycles is kept in [`SyncState`]:
//! - a **full** cycle (the scenario's `initial`) exports every object in scope;
//! - a **delta** cycle exports the objects whose attributes changed since their last accepted
//!   export, objects new to the connector, and objects whose last export failed (Entra Connect
//!   retries a failed export in every cycle until the object is fixed).
//!
//! After every cycle the tenant's recipients are read with `Get-Mailbox` and `Get-Recipient`:
//! each must be directory-synced and hold, in `UserCertificate` and `UserSMimeCertificate`,
//! exactly what the export's outcome implies (all the directory's values when exported; none of
//! a withheld attribute's; after a LargeObject error, what the last accepted export left).
//!
//! A user's sync outcome ([`SyncOutcome`]) is how its **last export** ended, which a later delta
//! cycle that does not export it leaves standing: `large-object` (the tenant's LargeObject
//! error), `skipped` (an attribute with more than 15 values was withheld), `exported` (every
//! value reached the tenant). The scenario's expectations are judged on the last cycle.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine as _;
use serde_json::{Value, json};

use super::directory::{Directory, DirectoryError, DirectoryUser, Values};
use super::{Context, TenantApi, TenantApiError, fail, new_step, write_artifact};
use crate::report::model::{Outcome, Stage, StepReport};
use scenario::model::{SmimeOver15, SyncCycle, SyncOutcome};
use scenario::plan::SyncRun;

/// Which synchronization rules a cycle exports under.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportRules {
    /// Entra Connect before build 1.1.524.0: no guard, LargeObject from Entra ID.
    pub legacy: bool,
    /// The 1.1.524.0 rules' reading for more than 15 `userSMIMECertificate` values (Microsoft's
    /// page says two things; see `scenario::model::SmimeOver15`).
    pub smime_over_15: SmimeOver15,
}

impl ExportRules {
    fn of(run: &SyncRun) -> Self {
        ExportRules {
            legacy: run.legacy_rules,
            smime_over_15: run.smime_over_15,
        }
    }

    /// How the report names them.
    fn name(self) -> &'static str {
        match (self.legacy, self.smime_over_15) {
            (true, _) => "legacy",
            (false, SmimeOver15::Skipped) => "1.1.524.0",
            (false, SmimeOver15::Exported) => "1.1.524.0, userSMIMECertificate over 15 exported",
        }
    }
}

/// Most values Entra ID takes on `userCertificate` (and the out-of-box rules on either
/// attribute).
pub const MAX_CERTIFICATE_VALUES: usize = 15;

/// Objects per export request. Entra Connect exports to Entra ID in batches too; one request
/// per cycle would make a 100,000-user cycle one huge body and one huge transaction. The
/// batches of a cycle share a `cycleId`, and the last says `"final": true`, so that the tenant
/// deletes what a full cycle left out only once it has seen every batch.
pub const EXPORT_BATCH: usize = 1000;

/// A cycle's kind on the export wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cycle {
    Full,
    Delta,
}

impl Cycle {
    fn wire(self) -> &'static str {
        match self {
            Cycle::Full => "full",
            Cycle::Delta => "delta",
        }
    }
}

/// What the emulation remembers between cycles.
#[derive(Clone, Debug, Default)]
pub struct SyncState {
    /// By source anchor: the last export the tenant accepted.
    accepted: BTreeMap<String, Accepted>,
    /// Anchors whose last export failed; every later cycle retries them.
    pending: BTreeSet<String>,
    /// By user id: how the user's last export ended.
    standing: BTreeMap<String, Standing>,
    /// Cycles run, the first export (creating the mailboxes) included.
    cycles: u32,
    /// Cycles started, finished or not: names each attempt's batches uniquely (`cycleId`), so
    /// that a cycle retried after a failed batch never continues the failed attempt.
    attempts: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Accepted {
    /// The directory's object as exported.
    exported: Exported,
    /// What the tenant must hold after it: `(UserCertificate, UserSMimeCertificate)`.
    tenant: (Values, Values),
}

/// The attributes an export carries, as the directory held them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Exported {
    mail: String,
    display_name: String,
    user_certificate: Values,
    user_smime_certificate: Values,
}

impl Exported {
    fn of(user: &DirectoryUser) -> Self {
        Self {
            mail: user.mail.clone(),
            display_name: user.display_name.clone(),
            user_certificate: Values::of(&user.user_certificate),
            user_smime_certificate: Values::of(&user.user_smime_certificate),
        }
    }
}

/// How a user's last export ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    Outcome(SyncOutcome),
    /// An export error other than LargeObject.
    Refused {
        code: String,
    },
}

impl Standing {
    fn describe(&self) -> String {
        match self {
            Standing::Outcome(o) => o.name().to_owned(),
            Standing::Refused { code } => format!("export error {code}"),
        }
    }
}

/// One exported object's result.
#[derive(Clone, Debug)]
pub struct ObjectResult {
    pub user: String,
    /// `add`, `update`, `none`, `error`.
    pub action: String,
    pub standing: Standing,
    pub line: String,
}

/// What one cycle did.
#[derive(Clone, Debug)]
pub struct CycleResult {
    pub number: u32,
    pub directory: Vec<DirectoryUser>,
    pub objects: Vec<ObjectResult>,
    /// Facts for the report (objects left out, deletions, warnings).
    pub notes: Vec<String>,
    /// The tenant's answer, as written to the output directory.
    pub answer: Value,
}

/// Why a cycle did not complete.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error("Entra Connect's import from the directory stopped: {0}")]
    Directory(#[from] DirectoryError),
    #[error("the export to the tenant failed: {0}")]
    Tenant(#[from] TenantApiError),
    #[error("the tenant's export answer is not what the lab's sync endpoint documents: {0}")]
    Answer(String),
}

impl CycleError {
    /// The service that did not answer, if that is what happened.
    fn unreachable_service(&self) -> Option<lab::Service> {
        match self {
            CycleError::Directory(e) if !e.answered() => Some(lab::Service::Directory),
            CycleError::Tenant(TenantApiError::Transport { .. }) => Some(lab::Service::Tenant),
            _ => None,
        }
    }
}

impl SyncState {
    /// Whether a cycle exports the user's object: a full cycle exports everything; a delta
    /// cycle what is new, changed since its last accepted export, or failed last time.
    fn exports(&self, user: &DirectoryUser, cycle: Cycle) -> bool {
        let changed = self
            .accepted
            .get(&user.anchor)
            .is_none_or(|a| a.exported != Exported::of(user));
        cycle == Cycle::Full || changed || self.pending.contains(&user.anchor)
    }
}

/// Runs one export cycle: directory read, the objects the cycle exports, the tenant's answer,
/// the state updated.
pub async fn export(
    ctx: &mut Context<'_>,
    cycle: Cycle,
    rules: ExportRules,
) -> Result<CycleResult, CycleError> {
    let endpoint = ctx
        .endpoints
        .directory()
        .map_err(|e| CycleError::Answer(e.to_string()))?
        .clone();
    run_cycle(&ctx.tenant, &endpoint, &mut ctx.sync, cycle, rules).await
}

/// One Entra Connect cycle without a scenario around it (what [`export`] runs; a benchmark
/// calls it directly): the directory read in pages, the objects the cycle exports sent in
/// batches of [`EXPORT_BATCH`], each batch's results recorded in `state` as it is answered (so a
/// failure part-way leaves `state` knowing what the tenant accepted).
pub async fn run_cycle(
    tenant: &TenantApi,
    endpoint: &lab::DirectoryEndpoint,
    state: &mut SyncState,
    cycle: Cycle,
    rules: ExportRules,
) -> Result<CycleResult, CycleError> {
    let mut directory = Directory::connect(endpoint).await?;
    let users = directory.users().await?;
    directory.close().await;

    let mut notes = Vec::new();
    let mut exported_users: Vec<&DirectoryUser> = Vec::new();
    for user in &users {
        if user.anchor.is_empty() || user.mail.is_empty() {
            notes.push(format!(
                "{}: not in sync scope (no source anchor or no mail)",
                user.dn
            ));
            continue;
        }
        if !state.exports(user, cycle) {
            notes.push(format!(
                "{}: unchanged since its last export: not exported by this delta cycle",
                user.id
            ));
            continue;
        }
        exported_users.push(user);
    }

    state.attempts = state.attempts.saturating_add(1);
    let cycle_id = format!("{}-{}", cycle.wire(), state.attempts);
    let path = format!("/lab/sync/{}/export", tenant.endpoint().tenant);
    // An empty cycle is still one (final) request: a full cycle that exports nothing deletes
    // every synced recipient.
    let batches: Vec<&[&DirectoryUser]> = if exported_users.is_empty() {
        vec![&[]]
    } else {
        exported_users.chunks(EXPORT_BATCH).collect()
    };
    let count = batches.len();
    let mut outcomes = Vec::new();
    let mut all_results = Vec::new();
    let mut answer = Value::Null;
    for (index, batch_users) in batches.into_iter().enumerate() {
        // Each batch's JSON is made as it is sent: 100,000 users' objects at once are gigabytes.
        let batch: Vec<Value> = batch_users
            .iter()
            .map(|user| {
                json!({
                    "sourceAnchor": user.anchor,
                    "userPrincipalName": user.mail,
                    "mail": user.mail,
                    "displayName": user.display_name,
                    "userCertificate": Values::base64(&user.user_certificate),
                    "userSMIMECertificate": Values::base64(&user.user_smime_certificate),
                    "proxyAddresses": user.proxy_addresses,
                })
            })
            .collect();
        let body = json!({
            "cycle": cycle.wire(),
            "legacyRules": rules.legacy,
            "userSMIMECertificateOver15": match rules.smime_over_15 {
                SmimeOver15::Skipped => "skip",
                SmimeOver15::Exported => "export",
            },
            "cycleId": cycle_id,
            "final": index + 1 == count,
            "objects": batch,
        });
        answer = tenant
            .lab_call(
                "sync export",
                reqwest::Method::POST,
                &path,
                Some(&body),
                None,
            )
            .await?;
        let results = answer["objects"]
            .as_array_mut()
            .map(std::mem::take)
            .ok_or_else(|| CycleError::Answer(format!("no `objects` array in {answer}")))?;
        let by_anchor: HashMap<&str, &Value> = results
            .iter()
            .filter_map(|r| r["sourceAnchor"].as_str().map(|a| (a, r)))
            .collect();
        for user in batch_users {
            let result = by_anchor.get(user.anchor.as_str()).ok_or_else(|| {
                CycleError::Answer(format!(
                    "no result for {} (source anchor {})",
                    user.id, user.anchor
                ))
            })?;
            outcomes.push(apply_result(state, user, result, rules)?);
        }
        for result in &results {
            if result["action"].as_str() == Some("delete") {
                notes.push(format!(
                    "the tenant deleted {} (source anchor {}): {}",
                    result["userPrincipalName"].as_str().unwrap_or("?"),
                    result["sourceAnchor"].as_str().unwrap_or("?"),
                    warnings(result).join("; ")
                ));
            }
        }
        all_results.extend(results);
    }
    state.cycles = state.cycles.saturating_add(1);
    // The artifact: the final batch's answer with every batch's objects.
    answer["objects"] = Value::Array(all_results);
    answer["batches"] = json!(count);
    Ok(CycleResult {
        number: state.cycles,
        directory: users,
        objects: outcomes,
        notes,
        answer,
    })
}

fn warnings(result: &Value) -> Vec<String> {
    result["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w.as_str().map(str::to_owned))
        .collect()
}

/// Judges one object's result and records it.
fn apply_result(
    state: &mut SyncState,
    user: &DirectoryUser,
    result: &Value,
    rules: ExportRules,
) -> Result<ObjectResult, CycleError> {
    let action = result["action"]
        .as_str()
        .ok_or_else(|| CycleError::Answer(format!("{}: no `action` in {result}", user.id)))?
        .to_owned();
    let counts = (
        user.user_certificate.len(),
        user.user_smime_certificate.len(),
    );
    let mut line = format!(
        "{}: {action}; the directory holds {} userCertificate and {} userSMIMECertificate value{}",
        user.id,
        counts.0,
        counts.1,
        if counts.1 == 1 { "" } else { "s" }
    );
    let standing = if action == "error" {
        let code = result["error"]["code"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned();
        let message = result["error"]["message"].as_str().unwrap_or_default();
        line.push_str(&format!("; export error {code}: {message}"));
        state.pending.insert(user.anchor.clone());
        if code == "LargeObject" {
            Standing::Outcome(SyncOutcome::LargeObject)
        } else {
            Standing::Refused { code }
        }
    } else {
        let exported = &result["exported"];
        let held = |name: &str| exported[name].as_u64().map(|n| n as usize);
        let (Some(held_uc), Some(held_us)) =
            (held("userCertificate"), held("userSMIMECertificate"))
        else {
            return Err(CycleError::Answer(format!(
                "{}: no `exported` counts in {result}",
                user.id
            )));
        };
        line.push_str(&format!("; the tenant holds {held_uc} and {held_us}"));
        // An attribute over the limit that the tenant holds none of was withheld by the rules.
        let withheld_uc = counts.0 > MAX_CERTIFICATE_VALUES && held_uc == 0;
        let withheld_us = counts.1 > MAX_CERTIFICATE_VALUES && held_us == 0;
        for (withheld, name) in [
            (withheld_uc, "userCertificate"),
            (withheld_us, "userSMIMECertificate"),
        ] {
            if withheld {
                line.push_str(&format!(
                    "; {name} withheld ({} rules: more than {MAX_CERTIFICATE_VALUES} values)",
                    rules.name()
                ));
            }
        }
        state.pending.remove(&user.anchor);
        let exported = Exported::of(user);
        let none = Values::of(&[]);
        state.accepted.insert(
            user.anchor.clone(),
            Accepted {
                tenant: (
                    if withheld_uc {
                        none
                    } else {
                        exported.user_certificate
                    },
                    if withheld_us {
                        none
                    } else {
                        exported.user_smime_certificate
                    },
                ),
                exported,
            },
        );
        if withheld_uc || withheld_us {
            Standing::Outcome(SyncOutcome::Skipped)
        } else {
            Standing::Outcome(SyncOutcome::Exported)
        }
    };
    for warning in warnings(result) {
        line.push_str(&format!("; warning: {warning}"));
    }
    state.standing.insert(user.id.clone(), standing.clone());
    Ok(ObjectResult {
        user: user.id.clone(),
        action,
        standing,
        line,
    })
}

/// A recipient's certificates as the tenant shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantRecipient {
    pub is_dir_synced: bool,
    pub user_certificate: Values,
    pub user_smime_certificate: Values,
}

/// Every recipient `cmdlet` (`Get-Mailbox` or `Get-Recipient`) lists with `-ResultSize
/// Unlimited` (all pages), by primary SMTP address in lower case.
pub async fn tenant_recipients(
    tenant: &TenantApi,
    cmdlet: &str,
) -> Result<HashMap<String, TenantRecipient>, TenantApiError> {
    let mut parameters = serde_json::Map::new();
    parameters.insert("ResultSize".into(), json!("Unlimited"));
    let mut found = HashMap::new();
    // Page by page: the JSON of a 100,000-user tenant never sits in memory at once.
    tenant
        .invoke_by_page(cmdlet, parameters, |page| {
            read_recipients(cmdlet, &page, &mut found)
        })
        .await?;
    Ok(found)
}

fn read_recipients(
    cmdlet: &str,
    page: &[Value],
    found: &mut HashMap<String, TenantRecipient>,
) -> Result<(), TenantApiError> {
    for object in page {
        let address = object["PrimarySmtpAddress"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        let decode = |name: &str| -> Result<Vec<Vec<u8>>, TenantApiError> {
            object[name]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| {
                    v.as_str()
                        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                        .ok_or_else(|| TenantApiError::Protocol {
                            what: format!("{cmdlet} {address}"),
                            status: 200,
                            body: format!("{name} holds a value that is not base64: {v}"),
                        })
                })
                .collect()
        };
        let recipient = TenantRecipient {
            is_dir_synced: object["IsDirSynced"].as_bool().unwrap_or(false),
            user_certificate: Values::of(&decode("UserCertificate")?),
            user_smime_certificate: Values::of(&decode("UserSMimeCertificate")?),
        };
        found.insert(address, recipient);
    }
    Ok(())
}

/// Reads every directory user's recipient with `Get-Mailbox` and `Get-Recipient` and compares
/// it with what the accepted exports imply. Returns the facts and the mismatches.
pub async fn check_tenant(
    ctx: &Context<'_>,
    users: &[DirectoryUser],
) -> Result<(Vec<String>, Vec<String>), TenantApiError> {
    check_recipients(&ctx.tenant, &ctx.sync, users).await
}

/// [`check_tenant`] without a scenario: each cmdlet lists the tenant once (paged), then every
/// user is judged against the listing.
pub async fn check_recipients(
    tenant: &TenantApi,
    state: &SyncState,
    users: &[DirectoryUser],
) -> Result<(Vec<String>, Vec<String>), TenantApiError> {
    let (mut facts, mut mismatches) = (Vec::new(), Vec::new());
    let mailboxes = tenant_recipients(tenant, "Get-Mailbox").await?;
    let recipients = tenant_recipients(tenant, "Get-Recipient").await?;
    for user in users.iter().filter(|u| !u.anchor.is_empty()) {
        let expected = state.accepted.get(&user.anchor).map(|a| &a.tenant);
        for (cmdlet, listing) in [("Get-Mailbox", &mailboxes), ("Get-Recipient", &recipients)] {
            let found = listing.get(&user.mail.to_lowercase());
            match (found, expected) {
                (None, None) => facts.push(format!(
                    "{cmdlet} {}: no recipient, as no export of it was accepted",
                    user.mail
                )),
                (None, Some(_)) => mismatches.push(format!(
                    "{cmdlet} {}: no such recipient, though its export was accepted",
                    user.mail
                )),
                (Some(_), None) => mismatches.push(format!(
                    "{cmdlet} {}: the tenant has a recipient no accepted export made",
                    user.mail
                )),
                (Some(found), Some((uc, us))) => {
                    let line = format!(
                        "{cmdlet} {}: IsDirSynced {}, {} UserCertificate and {} UserSMimeCertificate value(s)",
                        user.mail,
                        found.is_dir_synced,
                        found.user_certificate.len(),
                        found.user_smime_certificate.len()
                    );
                    if !found.is_dir_synced {
                        mismatches.push(format!(
                            "{line}: a synced user's recipient must be directory-synced"
                        ));
                    } else if found.user_certificate != *uc || found.user_smime_certificate != *us {
                        mismatches.push(format!(
                            "{line}, but the export implies {} and {} (the directory's values, less any withheld)",
                            uc.len(),
                            us.len()
                        ));
                    } else if cmdlet == "Get-Mailbox" {
                        facts.push(format!("{line}, as the export implies"));
                    }
                }
            }
        }
    }
    Ok((facts, mismatches))
}

/// Step 3: one cycle of the scenario's sync, judged.
pub async fn cycle(ctx: &mut Context<'_>, run: &SyncRun) -> StepReport {
    let cycle = match run.cycle {
        SyncCycle::Initial => Cycle::Full,
        SyncCycle::Delta => Cycle::Delta,
    };
    let mut step = new_step(
        Stage::Sync,
        format!(
            "sync: {} cycle{}",
            match run.cycle {
                SyncCycle::Initial => "initial (full)",
                SyncCycle::Delta => "delta",
            },
            match (run.legacy_rules, run.smime_over_15) {
                (true, _) => ", rules before 1.1.524.0",
                (false, SmimeOver15::Skipped) => "",
                (false, SmimeOver15::Exported) => ", userSMIMECertificate over 15 exported",
            }
        ),
    );
    if let Some(at) = run.scheduled {
        // "By default every 30 minutes a synchronization cycle is run." (Entra Connect Sync:
        // Scheduler)
        step.title = format!("{}, scheduled at {at} (every 30 minutes)", step.title);
    }
    if !run.expect.is_empty() {
        step.expected = Some(
            run.expect
                .iter()
                .map(|(user, outcome)| format!("{user} {}", outcome.name()))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    let result = match export(ctx, cycle, ExportRules::of(run)).await {
        Ok(result) => result,
        Err(e) => {
            let (outcome, why) = match e.unreachable_service() {
                Some(service) => ctx.unreachable(service, "sync", &e.to_string()),
                None => (Outcome::Error, e.to_string()),
            };
            fail(&mut step, outcome, why);
            return step;
        }
    };
    let refused = result
        .objects
        .iter()
        .filter(|o| o.action == "error")
        .count();
    step.title = format!(
        "{} (cycle {}): {} object{} exported{}",
        step.title,
        result.number,
        result.objects.len(),
        if result.objects.len() == 1 { "" } else { "s" },
        if refused > 0 {
            format!(", {refused} refused")
        } else {
            String::new()
        }
    );
    step.details
        .extend(result.objects.iter().map(|o| o.line.clone()));
    step.details.extend(result.notes.iter().cloned());
    let answer = serde_json::to_vec_pretty(&result.answer).unwrap_or_default();
    match write_artifact(
        &ctx.out_dir,
        &format!("sync/cycle-{}-{}.json", result.number, cycle.wire()),
        &answer,
    ) {
        Ok(path) => step.artifacts.push(path),
        Err(e) => fail(&mut step, Outcome::Error, e),
    }

    match check_tenant(ctx, &result.directory).await {
        Ok((facts, mismatches)) => {
            step.details.extend(facts);
            for mismatch in mismatches {
                fail(&mut step, Outcome::Failed, mismatch);
            }
        }
        Err(e) => {
            let (outcome, why) = match &e {
                TenantApiError::Transport { .. } => ctx.unreachable(
                    lab::Service::Tenant,
                    "reading the recipients",
                    &e.to_string(),
                ),
                _ => (Outcome::Error, format!("reading the recipients: {e}")),
            };
            fail(&mut step, outcome, why);
        }
    }

    for (user, expected) in &run.expect {
        match ctx.sync.standing.get(user) {
            Some(Standing::Outcome(o)) if o == expected => {}
            Some(other) => fail(
                &mut step,
                Outcome::Failed,
                format!(
                    "{user}: expected {}, its last export ended {}",
                    expected.name(),
                    other.describe()
                ),
            ),
            None => fail(
                &mut step,
                Outcome::Failed,
                format!(
                    "{user}: expected {}, but it was never exported",
                    expected.name()
                ),
            ),
        }
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEGACY: ExportRules = ExportRules {
        legacy: true,
        smime_over_15: SmimeOver15::Skipped,
    };

    fn user(certificates: usize) -> DirectoryUser {
        DirectoryUser {
            dn: "cn=alice,dc=contoso,dc=com".into(),
            id: "alice".into(),
            mail: "alice@contoso.com".into(),
            display_name: "alice".into(),
            anchor: "QUJD".into(),
            user_certificate: (0..certificates).map(|n| vec![n as u8]).collect(),
            user_smime_certificate: vec![vec![0xff]],
            proxy_addresses: Vec::new(),
        }
    }

    fn accepted(state: &mut SyncState, user: &DirectoryUser, held: (usize, usize)) -> ObjectResult {
        let result = json!({
            "sourceAnchor": user.anchor, "action": "update", "warnings": [],
            "exported": { "userCertificate": held.0, "userSMIMECertificate": held.1 }
        });
        apply_result(state, user, &result, ExportRules::default()).expect("judged")
    }

    #[test]
    fn outcomes_from_the_tenant_s_answer() {
        let mut state = SyncState::default();
        let alice = user(3);
        let o = accepted(&mut state, &alice, (3, 1));
        assert_eq!(o.standing, Standing::Outcome(SyncOutcome::Exported));
        assert_eq!(state.accepted[&alice.anchor].tenant.0.len(), 3);

        // Sixteen values, none held: withheld by the 1.1.524.0 rules.
        let sixteen = user(16);
        let o = accepted(&mut state, &sixteen, (0, 1));
        assert_eq!(o.standing, Standing::Outcome(SyncOutcome::Skipped));
        assert!(o.line.contains("userCertificate withheld"), "{}", o.line);
        assert!(state.accepted[&sixteen.anchor].tenant.0.is_empty());
        assert_eq!(
            state.accepted[&sixteen.anchor].tenant.1,
            Values::of(&[vec![0xff]])
        );

        // LargeObject: the tenant keeps the last accepted values; retried by the next delta.
        let refused = json!({
            "sourceAnchor": sixteen.anchor, "action": "error", "warnings": [],
            "error": { "code": "LargeObject", "message": "The provisioned object is too large." }
        });
        let o = apply_result(&mut state, &sixteen, &refused, LEGACY).expect("judged");
        assert_eq!(o.standing, Standing::Outcome(SyncOutcome::LargeObject));
        assert!(state.pending.contains(&sixteen.anchor));
        assert!(state.accepted[&sixteen.anchor].tenant.0.is_empty());
        assert!(
            state.exports(&sixteen, Cycle::Delta),
            "a failed export is retried"
        );

        let odd =
            json!({ "sourceAnchor": "QUJD", "action": "error", "error": { "code": "Other" } });
        let o = apply_result(&mut state, &sixteen, &odd, LEGACY).expect("judged");
        assert_eq!(
            o.standing,
            Standing::Refused {
                code: "Other".into()
            }
        );

        let broken = json!({ "sourceAnchor": "QUJD", "action": "add" });
        assert!(apply_result(&mut state, &alice, &broken, ExportRules::default()).is_err());
    }

    #[test]
    fn delta_cycles_export_what_changed() {
        let mut state = SyncState::default();
        let alice = user(1);
        assert!(state.exports(&alice, Cycle::Delta), "new to the connector");
        accepted(&mut state, &alice, (1, 1));
        assert!(!state.exports(&alice, Cycle::Delta), "unchanged");
        assert!(state.exports(&alice, Cycle::Full));
        // The directory returns values in any order: a reordering is no change.
        let mut reordered = user(2);
        accepted(&mut state, &reordered, (2, 1));
        reordered.user_certificate.reverse();
        assert!(!state.exports(&reordered, Cycle::Delta));
        reordered.user_certificate.push(vec![9]);
        assert!(state.exports(&reordered, Cycle::Delta), "a value added");
    }
}
