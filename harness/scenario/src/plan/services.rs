//! `services`: when each fault starts and ends among the actions.

use serde_saphyr::Spanned;

use super::Action;
use crate::model::{Fault, Service, ServiceFault, Stage};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultChange {
    pub service: Service,
    pub fault: Fault,
    /// True when the fault starts, false when it is repaired.
    pub start: bool,
}

/// When faults start and end.
pub(super) struct FaultSchedule {
    /// `(service, fault, at, until)`.
    faults: Vec<(Service, Fault, Stage, Option<Stage>)>,
}

impl FaultSchedule {
    pub(super) fn new(faults: &[Spanned<ServiceFault>]) -> Self {
        FaultSchedule {
            faults: faults
                .iter()
                .map(|f| {
                    let f = &f.value;
                    (
                        f.service,
                        f.fault,
                        f.at.value,
                        f.until.as_ref().map(|u| u.value),
                    )
                })
                .collect(),
        }
    }

    /// Repairs the faults that end here, then starts those that begin here.
    pub(super) fn enter(&self, stage: Stage, actions: &mut Vec<Action>) {
        for (service, fault, _, until) in &self.faults {
            if *until == Some(stage) {
                actions.push(Action::Fault(FaultChange {
                    service: *service,
                    fault: *fault,
                    start: false,
                }));
            }
        }
        for (service, fault, at, _) in &self.faults {
            if *at == stage {
                actions.push(Action::Fault(FaultChange {
                    service: *service,
                    fault: *fault,
                    start: true,
                }));
            }
        }
    }
}
