//! `services`: each fault starts and ends at stages the scenario has, in order, and faults of one
//! service do not overlap.

use serde_saphyr::Spanned;

use super::references::Checker;
use crate::model::{Scenario, ServiceFault, Stage};

impl Checker<'_> {
    pub(super) fn services(&mut self, scenario: &Scenario) {
        let present = |stage: Stage| -> bool {
            let steps = &scenario.steps;
            match stage {
                Stage::Publish => steps.publish.is_some(),
                Stage::VirtualCollection => steps.virtual_collection.is_some(),
                Stage::Sync => steps.sync.is_some(),
                Stage::BrowserPolicy => steps.browser_policy.is_some(),
                Stage::Clients => steps.clients.is_some(),
                Stage::Messages => !scenario.messages.is_empty(),
            }
        };
        let mut spans: Vec<(&Spanned<ServiceFault>, Stage, Option<Stage>)> = Vec::new();
        for fault in &scenario.services {
            let f = &fault.value;
            let mut stages = vec![&f.at];
            stages.extend(f.until.as_ref());
            for stage in stages {
                if !present(stage.value) {
                    self.problems
                        .at(
                            &stage.referenced,
                            Some(&fault.referenced),
                            format!("`{}` does not happen in this scenario", stage.value.name()),
                            "no such stage here",
                        )
                        .help("name a step the scenario has, or `messages`");
                }
            }
            if let Some(until) = &f.until
                && until.value <= f.at.value
            {
                self.problems
                    .at(
                        &until.referenced,
                        Some(&fault.referenced),
                        format!(
                            "the fault ends before `{}` but starts only before `{}`",
                            until.value.name(),
                            f.at.value.name()
                        ),
                        "not after `at`",
                    )
                    .help("`until` names a later stage than `at`");
            }
            for (other, at, until) in &spans {
                let overlap = other.value.service == f.service
                    && until.is_none_or(|u| f.at.value < u)
                    && f.until.as_ref().is_none_or(|u| *at < u.value);
                if overlap {
                    let text = self.text();
                    self.problems
                        .at(
                            &fault.referenced,
                            None,
                            format!("two faults of `{}` overlap", f.service.name()),
                            "second fault",
                        )
                        .note(text, &other.referenced, "first fault")
                        .help("give the first one an `until` before the second's `at`");
                }
            }
            spans.push((fault, f.at.value, f.until.as_ref().map(|u| u.value)));
        }
    }
}
