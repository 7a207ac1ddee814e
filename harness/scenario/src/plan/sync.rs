//! Step 3, `sync`: one action per Entra Connect cycle, the expectations on the last; and the
//! scheduler's later cycles ([`super::timeline`]).

use super::Action;
use crate::model::{LabOffset, SmimeOver15, SyncCycle, SyncOutcome, SyncStep};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRun {
    pub cycle: SyncCycle,
    pub legacy_rules: bool,
    /// The default rules' reading for more than 15 `userSMIMECertificate` values.
    pub smime_over_15: SmimeOver15,
    /// What each listed user must have become; on the last cycle of the step only.
    pub expect: Vec<(String, SyncOutcome)>,
    /// A cycle Entra Connect's scheduler runs on its own, every 30 minutes after the step's:
    /// when, on the lab clock. `None` for the step's cycles.
    pub scheduled: Option<LabOffset>,
}

/// The rule for more than 15 `userSMIMECertificate` values the step chose (the default if none).
fn smime_over_15(s: &SyncStep) -> SmimeOver15 {
    s.smime_over_15
        .as_ref()
        .map(|v| v.value)
        .unwrap_or_default()
}

/// The scheduler's delta cycle at `at`, under the rules the step chose.
pub(super) fn scheduled(s: &SyncStep, at: LabOffset) -> SyncRun {
    SyncRun {
        cycle: SyncCycle::Delta,
        legacy_rules: s.legacy_rules,
        smime_over_15: smime_over_15(s),
        expect: Vec::new(),
        scheduled: Some(at),
    }
}

pub(super) fn plan(s: &SyncStep, actions: &mut Vec<Action>) {
    let last = s.cycles.value.len().saturating_sub(1);
    for (i, cycle) in s.cycles.value.iter().enumerate() {
        actions.push(Action::Sync(SyncRun {
            cycle: *cycle,
            legacy_rules: s.legacy_rules,
            smime_over_15: smime_over_15(s),
            expect: if i == last {
                s.expect
                    .iter()
                    .map(|(user, outcome)| (user.value.as_str().to_owned(), *outcome))
                    .collect()
            } else {
                Vec::new()
            },
            scheduled: None,
        }));
    }
}
