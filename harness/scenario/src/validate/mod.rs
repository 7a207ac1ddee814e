//! Cross-field checks: how the parts of a scenario refer to each other. Every id a scenario uses
//! (users, CA and certificate ids, snapshot names, steps) is checked against what the scenario
//! defines, and settings that contradict each other (a refused message that is also delivered)
//! are caught before anything runs. All problems are collected, not just the first.
//!
//! Decided here and documented in the format: the organisation's `domain` defaults to the PKI's and
//! must equal it when given; a PKI user without a `mailbox` gets the organisation's address for it.
//!
//! One module per part of the format, as in [`crate::model`]: each adds its checks to the shared
//! [`references::Checker`].

mod browser_policy;
mod clients;
mod collection;
mod messages;
mod mobile_policies;
mod organisation;
mod publish;
mod references;
mod services;
mod sync;
#[cfg(test)]
mod tests;
mod timeline;

use serde_saphyr::Location;
use smime::pki::{PkiDescription, PkiError};

use crate::load::{InvalidScenario, LoadedScenario, Problems};
use crate::model::{PkiSection, Scenario, Steps};
use references::{Checker, Ids};

/// Most extra certificates one user may get; enough for any value-count rule, small enough to
/// issue quickly.
pub const MAX_EXTRA_CERTIFICATES: u32 = 100;
/// Most filler CA certificates in a store: 1000 is far past the 70000-byte limit.
pub const MAX_FILLER: u32 = 1000;

/// The id the `n`-th (1-based) extra certificate of `user` gets in the PKI.
pub fn extra_certificate_id(user: &str, n: u32) -> String {
    format!("{user}.previous-{n:02}")
}

pub(crate) fn validate(
    scenario: Scenario,
    text: &str,
    file: &str,
) -> Result<LoadedScenario, InvalidScenario> {
    let mut problems = Problems::new(text);
    let pki_at = scenario.pki.referenced;

    // The PKI in effect.
    let mut pki: PkiDescription = match &scenario.pki.value {
        PkiSection::Description(description) => (**description).clone(),
        PkiSection::Fixture(fixture) => {
            match smime::pki::parse_description(fixture.yaml(), fixture.path()) {
                Ok(description) => description,
                Err(e) => {
                    // Only a broken commit gets here; a test loads every fixture.
                    problems.at(
                        &pki_at,
                        None,
                        format!("the fixture `{}` does not parse: {e}", fixture.name()),
                        "this fixture",
                    );
                    return Err(InvalidScenario::problems(file, text, problems.list));
                }
            }
        }
    };
    let inline = matches!(scenario.pki.value, PkiSection::Description(_));

    // Domain: default from the PKI; when given, the same.
    let domain = pki.domain.as_str().to_owned();
    if let Some(given) = &scenario.organisation.domain
        && !given.value.as_str().eq_ignore_ascii_case(&domain)
    {
        problems
            .at(
                &given.referenced,
                None,
                format!(
                    "the organisation's domain `{}` is not the PKI's `{domain}`",
                    given.value.as_str()
                ),
                "differs from pki.domain",
            )
            .help(format!(
                "certificates are issued for <user>@{domain}: leave `domain` out to use the PKI's, or change the PKI's domain"
            ));
    }

    // Users: the organisation's, with the PKI's certificates under the same id.
    let mut organisation =
        organisation::resolve_users(&scenario, &mut pki, inline, &domain, text, &mut problems);
    if organisation.users.is_empty() {
        problems.at(
            &pki_at,
            None,
            "the organisation has no users",
            "no mailboxes to configure",
        );
    }
    organisation::assign_certificates(&mut organisation, &pki);
    if inline {
        organisation::check_every_pki_user_owned(&organisation, &pki, &pki_at, &mut problems);
    }
    check_pki(&pki, inline, &pki_at, &mut problems);
    let users = organisation.users;
    let populations = organisation.populations;

    let ids = Ids::new(&pki, &users);
    let mut checker = Checker {
        problems,
        ids: &ids,
    };
    checker.tags(&scenario);
    checker.steps(&scenario.steps);
    checker.messages(&scenario);
    checker.timeline(&scenario);
    checker.services(&scenario);
    let problems = checker.problems;

    if problems.list.is_empty() {
        Ok(LoadedScenario {
            file: file.to_owned(),
            scenario,
            pki,
            domain,
            users,
            populations,
        })
    } else {
        Err(InvalidScenario::problems(file, text, problems.list))
    }
}

/// How the PKI's own parts fit together (issuers, revocations, flaws): the PKI's check.
fn check_pki(pki: &PkiDescription, inline: bool, pki_at: &Location, problems: &mut Problems<'_>) {
    if let Err(e) = smime::pki::check(pki) {
        match e {
            PkiError::Invalid {
                field,
                line: Some(line),
                column,
                message,
            } if inline => {
                problems.at_line_column(
                    line,
                    column.unwrap_or(1),
                    format!("pki: {field}: {message}"),
                    "rejected by the PKI's check",
                );
            }
            other => {
                problems.at(pki_at, None, format!("pki: {other}"), "in this PKI");
            }
        }
    }
}

impl Checker<'_> {
    /// The five steps, in the order they run.
    fn steps(&mut self, steps: &Steps) {
        if let Some(step) = &steps.publish {
            self.publish(step);
        }
        if let Some(step) = &steps.virtual_collection {
            self.collection(step);
        }
        if let Some(step) = &steps.sync {
            self.sync(step);
        }
        if let Some(step) = &steps.browser_policy {
            self.browser_policy(step);
        }
        if let Some(step) = &steps.clients {
            self.clients(step);
            self.mobile_policies(step);
        }
    }
}
