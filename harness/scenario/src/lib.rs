//! Scenario files: the YAML format ([`model`]), reading it with errors that name file, line and
//! column ([`load`]), the checks of how its parts refer to each other ([`validate`]), its JSON
//! Schema ([`schema`]), the ordered list of actions a run takes ([`plan`]) and which scenarios a
//! run takes ([`select`]: filters, tags, CI partitions).
//!
//! ```text
//! scenarios/<name>.yaml --load--> Scenario --validate--> LoadedScenario --plan--> Plan
//! ```

pub mod load;
pub mod model;
pub mod plan;
pub mod schema;
pub mod select;
pub mod validate;

pub use load::{InvalidScenario, LoadedScenario, Problem, ScenarioError, User, load, parse};
pub use model::Scenario;
pub use plan::{Action, Plan, PlanError, plan};
pub use select::{Partition, Selection};
