//! A generated population's own check, after the sync step: every user's certificate as
//! Outlook's lookup finds it in the tenant, judged by the certificate checks. The users the
//! scenario gave flaws must be the ones flagged (or passed over by the lookup), every other user
//! found and clean; the report sums the users up instead of a row each.

use std::collections::{BTreeMap, HashMap};

use smime::pki::Flaw;

use super::Action;
use crate::load::LoadedScenario;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PopulationCheck {
    /// The population's template (`user{n:05}`).
    pub name: String,
    /// Every user: id and mailbox, in order.
    pub users: Vec<(String, String)>,
    /// The users given flaws, with theirs.
    pub flawed: BTreeMap<String, Vec<Flaw>>,
}

pub(super) fn plan(loaded: &LoadedScenario, actions: &mut Vec<Action>) {
    let mailboxes: HashMap<&str, &str> = loaded
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.mailbox.as_str()))
        .collect();
    for population in &loaded.populations {
        actions.push(Action::CheckPopulation(Box::new(PopulationCheck {
            name: population.name.clone(),
            users: population
                .ids
                .iter()
                .map(|id| {
                    let mailbox = mailboxes
                        .get(id.as_str())
                        .map_or_else(|| format!("{id}@{}", loaded.domain), |m| (*m).to_owned());
                    (id.clone(), mailbox)
                })
                .collect(),
            flawed: population.flawed.clone(),
        })));
    }
}
