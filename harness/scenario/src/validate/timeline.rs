//! The lab clock: it only goes forward (a message's `at` is not before an earlier message's),
//! and a late publication (`publish.users.<id>.at`) comes before a message that could see it.

use serde_saphyr::Location;

use super::references::Checker;
use crate::model::{LabOffset, Scenario};

impl Checker<'_> {
    pub(super) fn timeline(&mut self, scenario: &Scenario) {
        let mut latest: Option<(LabOffset, Location)> = None;
        for message in &scenario.messages {
            let Some(at) = &message.value.at else {
                continue;
            };
            if let Some((before, first)) = latest
                && at.value < before
            {
                let text = self.text();
                self.problems
                    .at(
                        &at.referenced,
                        Some(&message.referenced),
                        format!(
                            "this message is sent at {} but an earlier one at {before}: the lab clock only goes forward",
                            at.value
                        ),
                        "earlier than the message before",
                    )
                    .note(text, &first, "the earlier message's time")
                    .help("put the messages in the order they are sent");
                continue;
            }
            latest = Some((at.value, at.referenced));
        }
        let last = latest.map_or(LabOffset::START, |(at, _)| at);
        let Some(publish) = &scenario.steps.publish else {
            return;
        };
        for (user, settings) in publish.value.users.iter() {
            let Some(at) = &settings.at else {
                continue;
            };
            if scenario.messages.is_empty() || at.value > last {
                self.problems
                    .at(
                        &at.referenced,
                        Some(&user.referenced),
                        format!(
                            "`{}` is published at {} but no message is sent then or later: nothing would see it",
                            user.value, at.value
                        ),
                        "after the last message",
                    )
                    .help("give a later message `at:` a time at or after this one, or publish in step 1 (leave `at` out)");
            }
        }
    }
}
