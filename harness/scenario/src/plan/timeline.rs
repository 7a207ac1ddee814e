//! The lab clock after step 5: messages sent `at` a time, users published late, and Entra
//! Connect's scheduler running a delta cycle every 30 minutes after the sync step ("By default
//! every 30 minutes a synchronization cycle is run.", "Microsoft Entra Connect Sync: Scheduler").
//! Everything that falls before a message happens before it, in time order; at the same instant a
//! publication comes before a cycle and a cycle before a message (the lab's cycle takes no time).
//!
//! The scheduler's cycles are on a 30-minute grid from the sync step (t = 0). Only the cycles
//! that follow a directory change are planned: a delta cycle after no change exports nothing, and
//! a week of them would bury the report.

use super::{Action, sync};
use crate::model::{LabOffset, SYNC_CYCLE_INTERVAL_SECONDS, SyncStep};

/// What is still to happen, and the time the plan has reached.
pub(super) struct Timeline<'a> {
    now: LabOffset,
    /// Late publications, in time order (stable for equal times).
    late: Vec<(LabOffset, Action)>,
    /// The sync step, when the scenario has one: its scheduler runs the later cycles.
    sync: Option<&'a SyncStep>,
    /// The scheduled cycle that will export a change not exported yet.
    due: Option<LabOffset>,
}

/// The first cycle of the scheduler's grid at or after `at` (the grid's t = 0 is the sync step's
/// own cycle, which ran before any later publication).
fn cycle_at_or_after(at: LabOffset) -> LabOffset {
    let interval = SYNC_CYCLE_INTERVAL_SECONDS;
    let cycles = at.seconds().div_ceil(interval).max(1);
    LabOffset::from_seconds(cycles.saturating_mul(interval))
}

impl<'a> Timeline<'a> {
    pub(super) fn new(mut late: Vec<(LabOffset, Action)>, sync: Option<&'a SyncStep>) -> Self {
        late.sort_by_key(|(at, _)| *at);
        Timeline {
            now: LabOffset::START,
            late,
            sync,
            due: None,
        }
    }

    /// Moves the clock to `target`, pushing what happens on the way: a clock action whenever the
    /// time moves, the publications and scheduled cycles due by then.
    pub(super) fn advance_to(&mut self, target: LabOffset, actions: &mut Vec<Action>) {
        loop {
            let publication = self
                .late
                .first()
                .map(|(at, _)| *at)
                .filter(|at| *at <= target);
            let cycle = self.due.filter(|at| *at <= target);
            let (at, is_publication) = match (publication, cycle) {
                (Some(p), Some(c)) if p <= c => (p, true),
                (Some(p), None) => (p, true),
                (_, Some(c)) => (c, false),
                (None, None) => break,
            };
            self.move_clock(at, actions);
            if is_publication {
                if !self.late.is_empty() {
                    let (_, action) = self.late.remove(0);
                    actions.push(action);
                }
                if self.sync.is_some() && self.due.is_none() {
                    self.due = Some(cycle_at_or_after(at));
                }
            } else if let Some(step) = self.sync {
                actions.push(Action::Sync(sync::scheduled(step, at)));
                self.due = None;
            }
        }
        self.move_clock(target, actions);
    }

    fn move_clock(&mut self, at: LabOffset, actions: &mut Vec<Action>) {
        if at > self.now {
            self.now = at;
            actions.push(Action::Clock(at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_fall_on_the_30_minute_grid() {
        let at = |m: u64| LabOffset::from_seconds(m * 60);
        assert_eq!(cycle_at_or_after(at(0)), at(30));
        assert_eq!(cycle_at_or_after(at(10)), at(30));
        assert_eq!(cycle_at_or_after(at(30)), at(30));
        assert_eq!(
            cycle_at_or_after(LabOffset::from_seconds(30 * 60 + 1)),
            at(60)
        );
        assert_eq!(cycle_at_or_after(at(24 * 60)), at(24 * 60));
    }
}
