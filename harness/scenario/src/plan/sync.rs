//! Step 3, `sync`: one action per Entra Connect cycle, the expectations on the last.

use super::Action;
use crate::model::{SmimeOver15, SyncCycle, SyncOutcome, SyncStep};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRun {
    pub cycle: SyncCycle,
    pub legacy_rules: bool,
    /// The default rules' reading for more than 15 `userSMIMECertificate` values.
    pub smime_over_15: SmimeOver15,
    /// What each listed user must have become; on the last cycle only.
    pub expect: Vec<(String, SyncOutcome)>,
}

pub(super) fn plan(s: &SyncStep, actions: &mut Vec<Action>) {
    let last = s.cycles.value.len().saturating_sub(1);
    for (i, cycle) in s.cycles.value.iter().enumerate() {
        actions.push(Action::Sync(SyncRun {
            cycle: *cycle,
            legacy_rules: s.legacy_rules,
            smime_over_15: s
                .smime_over_15
                .as_ref()
                .map(|v| v.value)
                .unwrap_or_default(),
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
