//! Step 3, `sync`: the cycles, and outcomes that can happen under the chosen rules.

use std::collections::BTreeSet;

use serde_saphyr::Spanned;

use super::references::Checker;
use crate::model::{SyncCycle, SyncOutcome, SyncStep};

impl Checker<'_> {
    /// The cycles start with `initial`; each expected outcome is possible under the rules.
    pub(super) fn sync(&mut self, sync: &Spanned<SyncStep>) {
        let at = sync.referenced;
        let s = &sync.value;
        match s.cycles.value.first() {
            None => {
                self.problems
                    .at(&s.cycles.referenced, Some(&at), "no sync cycles", "empty")
                    .help("run at least `cycles: [initial]`");
            }
            Some(SyncCycle::Delta) => {
                self.problems
                    .at(
                        &s.cycles.referenced,
                        Some(&at),
                        "the first sync cycle is a delta, but a delta cycle needs an initial one before it",
                        "starts with delta",
                    )
                    .help("start with `initial`: `cycles: [initial, delta]`");
            }
            Some(SyncCycle::Initial) => {}
        }
        if s.legacy_rules
            && let Some(reading) = &s.smime_over_15
        {
            self.problems
                .at(
                    &reading.referenced,
                    Some(&at),
                    "`smime-over-15` chooses how the 1.1.524.0 rules treat more than 15 userSMIMECertificate values; the legacy rules guard neither attribute",
                    "not with `legacy-rules: true`",
                )
                .help("remove `smime-over-15`, or `legacy-rules: true`");
        }
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for (user, outcome) in s.expect.iter() {
            if !seen.insert(user.value.as_str()) {
                self.problems.at(
                    &user.referenced,
                    Some(&at),
                    format!("sync.expect has `{}` twice", user.value),
                    "again here",
                );
            }
            self.user(user, Some(&at), "sync.expect entry");
            let contradiction = match outcome {
                SyncOutcome::LargeObject if !s.legacy_rules => Some((
                    "LargeObject comes only from the legacy rules (Entra Connect before 1.1.524.0); the default rules skip such users",
                    "set `legacy-rules: true`, or expect `skipped`",
                )),
                SyncOutcome::Skipped if s.legacy_rules => Some((
                    "the legacy rules (before 1.1.524.0) export every value and get LargeObject; only the default rules skip",
                    "expect `large-object`, or remove `legacy-rules: true`",
                )),
                _ => None,
            };
            if let Some((message, help)) = contradiction {
                self.problems
                    .at(
                        &user.referenced,
                        Some(&at),
                        format!("`{}: {}`: {message}", user.value, outcome.name()),
                        "cannot happen with these rules",
                    )
                    .help(help);
            }
        }
    }
}
