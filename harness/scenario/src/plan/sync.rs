//! Step 3, `sync`: one action per Entra Connect cycle, the expectations on the last.

use super::Action;
use crate::model::{SyncCycle, SyncOutcome, SyncStep};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRun {
    pub cycle: SyncCycle,
    pub legacy_rules: bool,
    /// What each listed user must have become; on the last cycle only.
    pub expect: Vec<(String, SyncOutcome)>,
}

pub(super) fn plan(s: &SyncStep, actions: &mut Vec<Action>) {
    let last = s.cycles.value.len().saturating_sub(1);
    for (i, cycle) in s.cycles.value.iter().enumerate() {
        actions.push(Action::Sync(SyncRun {
            cycle: *cycle,
            legacy_rules: s.legacy_rules,
            expect: if i == last {
                s.expect
                    .iter()
                    .map(|(user, outcome)| (user.value.as_str().to_owned(), *outcome))
                    .collect()
            } else {
                Vec::new()
            },
        }));
    }
}
