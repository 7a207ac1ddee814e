//! The JSON Schema of scenario files, generated from the types in [`super::model`] (their doc
//! comments become its descriptions), so that editors complete and check the YAML. Scenario files
//! point at it with `# yaml-language-server: $schema=../target/smime-lab/scenario.schema.json`.

use super::model::Scenario;

/// Where `smime-lab scenario schema -o` writes the schema by default, relative to the repository
/// root: the path every scenario file's first line names.
pub const SCHEMA_PATH: &str = "target/smime-lab/scenario.schema.json";

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
