//! Scenario files: the YAML format ([`model`]), reading it with errors that name file, line and
//! column ([`load`]), the checks of how its parts refer to each other ([`validate`]), its JSON
//! Schema ([`schema`]), the ordered list of actions a run takes ([`plan`]) and which scenarios a
//! run takes ([`select`]: filters, tags, CI partitions).
//!
//! ```text
//! scenarios/<name>.yaml --load--> Scenario --validate--> LoadedScenario --plan--> Plan
//! ```
//!
//! [`model`], [`validate`] and [`plan`] each have one module per part of the file (`publish`,
//! `collection`, `sync`, `browser_policy`, `clients`, `messages`, `services`, ...), mirroring the
//! runner's executor, so that a new setting of one step touches one folder. The crate does no I/O
//! beyond reading a scenario file and knows nothing of the lab that runs a plan.

pub mod load;
pub mod model;
pub mod plan;
pub mod schema;
pub mod select;
pub mod validate;

pub use load::{
    GeneratedPopulation, InvalidScenario, LoadedScenario, Problem, ScenarioError, User, load, parse,
};
pub use model::Scenario;
pub use plan::{Action, Plan, PlanError, plan, plan_with};
pub use select::{Partition, Selection};
