//! The JSON Schema of scenario files, generated from the types in [`super::model`] (their doc
//! comments become its descriptions), so that editors complete and check the YAML. Scenario files
//! point at it with `# yaml-language-server: $schema=scenario.schema.json`: the schema is committed
//! beside them (`scenarios/scenario.schema.json`), so an editor finds it in a fresh clone, and a
//! runner test fails when the committed file differs from what these types generate.

use super::model::Scenario;

/// Where the schema is committed, relative to the repository root: the file every scenario file's
/// first line names (`$schema=scenario.schema.json`, relative to the scenario file).
pub const SCHEMA_PATH: &str = "scenarios/scenario.schema.json";

/// The command that rewrites the committed schema, from the repository root (printed by the test
/// that fails when it is stale).
pub const REGENERATE: &str =
    "cargo run -p runner -- scenario schema -o scenarios/scenario.schema.json";

/// The schema (JSON Schema draft 2020-12).
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(Scenario)
}

/// The schema as pretty-printed JSON with a final newline.
pub fn schema_json() -> String {
    let mut json = serde_json::to_string_pretty(&schema())
        // A `Schema` is a JSON value; serialising one cannot fail.
        .unwrap_or_else(|_| "{}".to_owned());
    json.push('\n');
    json
}
