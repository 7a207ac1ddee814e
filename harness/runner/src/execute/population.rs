//! Generated populations (`organisation.users` entries with `generate`): their own check, and
//! the report's sums of their per-user steps.
//!
//! - [`check`] (`CheckPopulation`, after sync): each user's certificate as Outlook's lookup
//!   finds it in the tenant (`execute::lookup`: the one-address lookup, many addresses a
//!   request; purpose encrypt), judged
//!   by the certificate checks (`smime::checks`, against the plan's CAs, at the plan's `now`).
//!   A user without a flaw must be found with no error-severity finding; a user the scenario gave
//!   a flaw must be flagged by a check or passed over by the lookup. One step for the population:
//!   the counts, and the users it failed for.
//! - [`PerUser`]: the executor's other per-user steps of a population's users (one `Publish` per
//!   user) folded into one step each: how many passed, and which users did not and why.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use futures_util::StreamExt as _;
use smime::checks::Severity;

use super::{Context, fail, new_step};
use crate::report::model::{Outcome, Stage, StepReport};
use scenario::plan::PopulationCheck;

/// Lookup requests (each of `lookup::ADDRESSES_PER_REQUEST` users) in flight at once.
const REQUESTS_AT_ONCE: usize = 4;
/// Failing users named in a step (the rest are counted).
const NAMED: usize = 20;

/// What the lab showed of one user.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// Found, no error-severity finding.
    Clean,
    /// Found, with these error-severity check ids.
    Flagged(Vec<String>),
    /// The lookup passed over every value.
    NotFound,
    /// The lookup did not answer.
    Unanswered(String),
}

/// Looks up every user of the population and checks what was found (see the module comment).
pub async fn check(ctx: &mut Context<'_>, population: &PopulationCheck) -> StepReport {
    let flawed = population.flawed.len();
    let mut step = new_step(
        Stage::Sync,
        format!(
            "population {}: {} users looked up and checked",
            population.name,
            population.users.len()
        ),
    );
    let mut by_flaw: BTreeMap<&str, usize> = BTreeMap::new();
    for flaws in population.flawed.values() {
        for flaw in flaws {
            *by_flaw.entry(flaw.name()).or_default() += 1;
        }
    }
    step.expected = Some(format!(
        "{} users found with a clean certificate; the {flawed} given flaws ({}) flagged by a check or passed over",
        population.users.len() - flawed,
        by_flaw
            .iter()
            .map(|(flaw, n)| format!("{flaw}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let cas = super::clients::plan_cas(ctx);
    let now = ctx.now;
    let tenant = &ctx.tenant;
    let cas = &cas;
    let chunks: Vec<Vec<String>> = population
        .users
        .chunks(super::lookup::ADDRESSES_PER_REQUEST)
        .map(|chunk| chunk.iter().map(|(_, mailbox)| mailbox.clone()).collect())
        .collect();
    let answered: Vec<(usize, Vec<Seen>)> = futures_util::stream::iter(chunks.iter().enumerate())
        .map(|(i, mailboxes)| async move {
            let seen = match super::lookup::encryption_certificates(tenant, mailboxes, None).await {
                Err(e) => vec![Seen::Unanswered(e.to_string()); mailboxes.len()],
                Ok(answers) => answers
                    .iter()
                    .zip(mailboxes)
                    .map(|(found, mailbox)| match found["error"].as_str() {
                        Some(error) => Seen::Unanswered(format!(
                            "{error}: {}",
                            found["message"].as_str().unwrap_or_default()
                        )),
                        None => judge(found, mailbox, cas, now),
                    })
                    .collect(),
            };
            (i, seen)
        })
        .buffer_unordered(REQUESTS_AT_ONCE)
        .collect()
        .await;
    let seen: Vec<Seen> = {
        let mut ordered = answered;
        ordered.sort_by_key(|(i, _)| *i);
        ordered.into_iter().flat_map(|(_, s)| s).collect()
    };

    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut checks: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrong: Vec<String> = Vec::new();
    let mut unanswered = 0;
    for ((id, _), seen) in population.users.iter().zip(&seen) {
        let given = population.flawed.get(id);
        let as_expected = match (seen, given) {
            (Seen::Clean, None) | (Seen::Flagged(_) | Seen::NotFound, Some(_)) => true,
            (Seen::Unanswered(_), _) => {
                unanswered += 1;
                false
            }
            _ => false,
        };
        *counts
            .entry(match seen {
                Seen::Clean => "found, clean",
                Seen::Flagged(_) => "found, flagged",
                Seen::NotFound => "passed over by the lookup",
                Seen::Unanswered(_) => "no answer",
            })
            .or_default() += 1;
        if let Seen::Flagged(ids) = seen {
            for check in ids {
                *checks.entry(check.clone()).or_default() += 1;
            }
        }
        if !as_expected {
            let flaws = given.map_or_else(
                || "no flaw".to_owned(),
                |f| f.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "),
            );
            wrong.push(format!("{id} ({flaws}): {}", describe(seen)));
        }
    }
    for (what, n) in &counts {
        step.details.push(format!("{what}: {n}"));
    }
    for (check, n) in &checks {
        step.details.push(format!("{check}: {n} users"));
    }
    if !wrong.is_empty() {
        let outcome = if unanswered > 0 {
            Outcome::Error
        } else {
            Outcome::Failed
        };
        fail(
            &mut step,
            outcome,
            format!(
                "{} of {} users not as expected: {}",
                wrong.len(),
                population.users.len(),
                named(&wrong)
            ),
        );
        step.details.extend(wrong.into_iter().take(NAMED));
    } else {
        step.actual = Some(format!("all {} users as expected", population.users.len()));
    }
    step
}

/// A lookup's answer judged: the chosen certificate's error-severity findings.
fn judge(
    found: &serde_json::Value,
    mailbox: &str,
    cas: &[x509_cert::Certificate],
    now: time::OffsetDateTime,
) -> Seen {
    if found["found"] != serde_json::Value::Bool(true) {
        return Seen::NotFound;
    }
    let der = found["chosen"]["certificate"]
        .as_str()
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok());
    let Some(certificate) = der.and_then(|der| smime::certificate::parse_der(&der).ok()) else {
        return Seen::Unanswered(
            "the lookup's chosen certificate is not base64 DER of a certificate".to_owned(),
        );
    };
    let report = smime::checks::check_certificate(&smime::checks::CertificateUnderTest {
        cert: &certificate,
        key: None,
        chain: cas,
        mailbox: Some(mailbox),
        now,
    });
    let mut errors: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.id.to_owned())
        .collect();
    errors.sort();
    errors.dedup();
    if errors.is_empty() {
        Seen::Clean
    } else {
        Seen::Flagged(errors)
    }
}

fn describe(seen: &Seen) -> String {
    match seen {
        Seen::Clean => "found with a clean certificate".to_owned(),
        Seen::Flagged(ids) => format!("flagged by {}", ids.join(", ")),
        Seen::NotFound => "the lookup passed over every value".to_owned(),
        Seen::Unanswered(why) => format!("no answer: {why}"),
    }
}

/// The first [`NAMED`] entries, then how many more.
fn named(entries: &[String]) -> String {
    let first: Vec<&str> = entries.iter().take(NAMED).map(String::as_str).collect();
    match entries.len().saturating_sub(NAMED) {
        0 => first.join("; "),
        more => format!("{}; and {more} more", first.join("; ")),
    }
}

/// Folds the per-user steps of generated users into one step per run of the same kind: `user`
/// of each step says whose it is (a population's user or not); consecutive steps of one
/// population and one kind become one.
#[derive(Default)]
pub struct PerUser {
    /// The population (template) of each generated user.
    population_of: HashMap<String, String>,
    open: Option<Open>,
}

/// A sum in progress.
struct Open {
    key: (String, Stage, String),
    /// Steps summed (a user may have several: one per attribute).
    steps: usize,
    users: std::collections::HashSet<String>,
    outcome: Outcome,
    passed: usize,
    failing: Vec<String>,
    duration_ms: u64,
    example: StepReport,
}

impl PerUser {
    pub fn new(plan: &scenario::plan::Plan) -> Self {
        let mut population_of = HashMap::new();
        for population in &plan.populations {
            for id in &population.ids {
                population_of.insert(id.clone(), population.name.clone());
            }
        }
        Self {
            population_of,
            open: None,
        }
    }

    /// Whether `user` belongs to a generated population.
    pub fn is_generated(&self, user: &str) -> bool {
        self.population_of.contains_key(user)
    }

    /// Adds one step: held when it is a generated user's (`user`, and `kind` naming what the
    /// step does, e.g. `publish userSMIMECertificate`); any finished sum and any other step are
    /// pushed to `steps`.
    pub fn add(
        &mut self,
        user: Option<&str>,
        kind: &str,
        step: StepReport,
        steps: &mut Vec<StepReport>,
    ) {
        let population = user.and_then(|u| self.population_of.get(u).cloned());
        let Some(population) = population else {
            self.flush(steps);
            steps.push(step);
            return;
        };
        let key = (population, step.stage, kind.to_owned());
        if self.open.as_ref().is_some_and(|open| open.key != key) {
            self.flush(steps);
        }
        let open = self.open.get_or_insert_with(|| Open {
            key,
            steps: 0,
            users: std::collections::HashSet::new(),
            outcome: Outcome::Passed,
            passed: 0,
            failing: Vec::new(),
            duration_ms: 0,
            example: step.clone(),
        });
        open.steps += 1;
        open.users.insert(user.unwrap_or_default().to_owned());
        open.duration_ms += step.duration_ms;
        open.outcome = open.outcome.worst(step.outcome);
        if step.outcome == Outcome::Passed {
            open.passed += 1;
        } else {
            open.failing.push(format!(
                "{} ({}): {}",
                step.title,
                step.outcome.name(),
                step.actual.as_deref().unwrap_or("no reason given")
            ));
        }
    }

    /// Pushes the sum in progress, if any.
    pub fn flush(&mut self, steps: &mut Vec<StepReport>) {
        let Some(open) = self.open.take() else {
            return;
        };
        let (population, stage, kind) = open.key;
        let users = open.users.len();
        let mut step = new_step(
            stage,
            format!(
                "{kind}: {users} users of population {population} ({} steps)",
                open.steps
            ),
        );
        step.expected = Some(format!(
            "for each user: {}",
            open.example.expected.as_deref().unwrap_or("passes")
        ));
        step.outcome = open.outcome;
        step.duration_ms = open.duration_ms;
        step.details
            .push(format!("passed: {} of {} steps", open.passed, open.steps));
        if open.failing.is_empty() {
            step.actual = Some(format!("all {} steps of {users} users passed", open.steps));
        } else {
            step.actual = Some(format!(
                "{} of {} steps did not pass: {}",
                open.failing.len(),
                open.steps,
                named(&open.failing)
            ));
            step.details
                .extend(open.failing.iter().take(NAMED).cloned());
        }
        steps.push(step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_with(ids: &[&str]) -> scenario::plan::Plan {
        let path = test_support::repo_root().join("scenarios/rsa-happy-path.yaml");
        let loaded = scenario::load(&path).expect("loads");
        let mut plan = scenario::plan(&loaded).expect("plans");
        plan.populations = vec![scenario::GeneratedPopulation {
            name: "user{n:05}".into(),
            key: smime::key::KeySpec::EcdsaP256,
            ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            flawed: BTreeMap::new(),
        }];
        plan
    }

    fn step(title: &str, outcome: Outcome, why: Option<&str>) -> StepReport {
        let mut step = new_step(Stage::Publish, title);
        step.expected = Some("the attribute holds the certificate".into());
        step.outcome = outcome;
        step.actual = why.map(str::to_owned);
        step.duration_ms = 2;
        step
    }

    /// Ten thousand users' steps become one, with the counts and the failing users named.
    #[test]
    fn ten_thousand_steps_become_one_with_the_failing_users() {
        let ids: Vec<String> = (1..=10_000).map(|n| format!("user{n:05}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let plan = plan_with(&refs);
        let mut per_user = PerUser::new(&plan);
        let mut steps = Vec::new();
        per_user.add(
            Some("alice"),
            "publish",
            step("alice", Outcome::Passed, None),
            &mut steps,
        );
        for (i, id) in ids.iter().enumerate() {
            let failed = i % 1000 == 7;
            let s = if failed {
                step(id, Outcome::Failed, Some("the directory refused"))
            } else {
                step(id, Outcome::Passed, None)
            };
            per_user.add(Some(id), "publish", s, &mut steps);
        }
        per_user.add(
            None,
            "sync",
            step("sync", Outcome::Passed, None),
            &mut steps,
        );
        per_user.flush(&mut steps);
        assert_eq!(steps.len(), 3, "{steps:#?}");
        let sum = &steps[1];
        assert_eq!(
            sum.title,
            "publish: 10000 users of population user{n:05} (10000 steps)"
        );
        assert_eq!(sum.outcome, Outcome::Failed);
        assert_eq!(sum.duration_ms, 20_000);
        assert_eq!(sum.details[0], "passed: 9990 of 10000 steps");
        let actual = sum.actual.as_deref().expect("actual");
        assert!(
            actual.starts_with(
                "10 of 10000 steps did not pass: user00008 (failed): the directory refused; user01008"
            ),
            "{actual}"
        );
        assert_eq!(sum.details.len(), 11, "the count and the ten users");
        assert_eq!(steps[2].title, "sync");
    }

    #[test]
    fn a_population_that_passes_says_so_and_names_no_one() {
        let plan = plan_with(&["user00001", "user00002"]);
        let mut per_user = PerUser::new(&plan);
        let mut steps = Vec::new();
        for id in ["user00001", "user00002"] {
            per_user.add(
                Some(id),
                "publish",
                step(id, Outcome::Passed, None),
                &mut steps,
            );
        }
        per_user.flush(&mut steps);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].outcome, Outcome::Passed);
        assert_eq!(
            steps[0].actual.as_deref(),
            Some("all 2 steps of 2 users passed")
        );
    }

    #[test]
    fn long_lists_are_cut_and_counted() {
        let entries: Vec<String> = (0..25).map(|i| format!("u{i}")).collect();
        let text = named(&entries);
        assert!(text.ends_with("u19; and 5 more"), "{text}");
    }
}
