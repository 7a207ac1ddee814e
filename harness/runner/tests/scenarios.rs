//! Scenario files: every file of the catalogue (`scenarios/` at the repository root) loads and
//! validates; every file under `tests/data/broken-scenarios/` fails at the line and column its
//! `# expect: LINE:COLUMN: message` lines give, and its rendered diagnostics are snapshot-tested;
//! the generated JSON Schema is valid JSON Schema and accepts the catalogue, checked by Python's
//! `jsonschema` (a validator nobody here wrote).

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use scenario::{self, ScenarioError};

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn catalogue() -> Vec<PathBuf> {
    yaml_files(&test_support::repo_root().join("scenarios"))
}

/// Relative to the package, so that snapshots do not depend on where the repository is.
const BROKEN: &str = "tests/data/broken-scenarios";

/// The committed schema sits beside the scenario files (`scenario::schema::SCHEMA_PATH`).
const SCHEMA_LINE: &str = "# yaml-language-server: $schema=scenario.schema.json";

#[test]
fn every_catalogue_scenario_loads_and_validates() {
    let files = catalogue();
    assert!(
        files.len() >= 25,
        "the catalogue has {} scenarios; it must keep at least 25",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.lines().next() != Some(SCHEMA_LINE) {
            failures.push(format!(
                "{}: the first line must be `{SCHEMA_LINE}`",
                file.display()
            ));
        }
        match scenario::load(file) {
            Ok(loaded) => {
                // A source nobody can look up is no source.
                let source = loaded.scenario.source.as_str();
                if source.len() < 40 {
                    failures.push(format!(
                        "{}: `source` is too short to name a document and a sentence: {source:?}",
                        file.display()
                    ));
                }
            }
            Err(ScenarioError::Invalid(e)) => failures.push(e.render(false)),
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_catalogue_covers_the_issue() {
    // Issue 6 lists the situations the catalogue must rehearse; each is a file here.
    let required = [
        "rsa-happy-path",
        "ecdsa-happy-path",
        "separate-signing-and-encryption",
        "smime-attribute-preferred",
        "no-ski",
        "expired-ca-in-sst",
        "sst-oversize",
        "intermediate-missing-from-sst",
        "crl-server-down",
        "revoked-certificate",
        "sixteen-certificates",
        "require-encrypted-mobile",
        "mobile-tripledes-required",
        "soft-certs-not-allowed",
        "owa-opaque-signing",
        "owa-triple-wrap",
        "owa-key-identifier",
        "owa-certificate-chain-inclusion",
        "from-signer-mismatch",
        "issued-from-root",
        "san-mismatch",
        "sha1-signed-intermediate",
        "rsa-1024-user",
        "owa-aes128-only",
        "mobile-md5-signing",
        "sixteen-certificates-legacy-rules",
    ];
    let names: Vec<String> = catalogue()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|r| !names.iter().any(|n| n == r))
        .collect();
    assert!(missing.is_empty(), "missing scenarios: {missing:?}");
}

/// `# expect: LINE:COLUMN: message fragment` lines at the top of a broken file.
fn expectations(text: &str) -> Vec<(u64, u64, String)> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|rest| {
            let mut parts = rest.splitn(3, ':');
            let line = parts.next().and_then(|p| p.trim().parse().ok());
            let column = parts.next().and_then(|p| p.trim().parse().ok());
            let message = parts.next().map(|m| m.trim().to_owned());
            match (line, column, message) {
                (Some(line), Some(column), Some(message)) => (line, column, message),
                _ => panic!("malformed expectation {rest:?}: write `# expect: LINE:COLUMN: text`"),
            }
        })
        .collect()
}

#[test]
fn broken_scenarios_fail_at_their_line_and_column() {
    let files = yaml_files(Path::new(BROKEN));
    assert!(files.len() >= 20, "only {} broken scenarios", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let expected = expectations(&text);
        assert!(
            !expected.is_empty(),
            "{}: give the expected place as `# expect: LINE:COLUMN: message`",
            file.display()
        );
        let error = match scenario::load(&file) {
            Ok(_) => panic!("{} loaded, but it is broken", file.display()),
            Err(ScenarioError::Invalid(e)) => e,
            Err(e) => panic!("{}: {e}", file.display()),
        };
        let found = error.locations();
        assert_eq!(
            found.len(),
            expected.len(),
            "{}: expected {} problems, found:\n{error}",
            file.display(),
            expected.len()
        );
        for (line, column, fragment) in &expected {
            assert!(
                found
                    .iter()
                    .any(|(l, c, m)| l == line && c == column && m.contains(fragment.as_str())),
                "{}: no problem at {line}:{column} saying {fragment:?}; found:\n{error}",
                file.display()
            );
        }
        // The one-line form names file, line and column like a compiler.
        let (line, column, _) = &expected[0];
        let prefix = format!("{}:{line}:{column}: ", file.display());
        assert!(
            error.to_string().contains(&prefix),
            "{error} does not contain {prefix}"
        );
        let rendered = error.render(false);
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        insta::assert_snapshot!(format!("broken-{stem}"), rendered);
    }
}

const JSONSCHEMA_HINT: &str = "install it with `cargo xtask peers --install`, or `pip install jsonschema` into the Python that SMIME_LAB_PYTHON names";

/// Validates JSON documents against the schema with Python's jsonschema; prints one line per
/// document: `ok <name>` or `invalid <name>: <first error>`.
const VALIDATE: &str = r#"
import json, sys
try:
    import jsonschema
except ModuleNotFoundError:
    print("NO-JSONSCHEMA")
    sys.exit(3)
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for path in sys.argv[2:]:
    errors = sorted(validator.iter_errors(json.load(open(path))), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        print("invalid %s: %s at %s" % (path, e.message.replace("\n", " ")[:200], list(e.path)))
    else:
        print("ok %s" % path)
"#;

/// A YAML file as the JSON document an editor's schema check sees.
fn as_json(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let value: serde_json::Value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", file.display()));
    serde_json::to_string(&value).unwrap_or_default()
}

#[test]
fn the_schema_is_valid_and_accepts_the_catalogue() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let schema_path = dir.path().join("scenario.schema.json");
    std::fs::write(&schema_path, scenario::schema::schema_json()).expect("write the schema");

    // The catalogue must pass; these broken files have a shape error the schema must catch too
    // (otherwise the schema would accept anything).
    let rejected = [
        "unknown-top-level-key",
        "unknown-smime-config-parameter",
        "unknown-mobile-algorithm",
        "missing-source",
        "bad-user-id",
        "wrong-type",
        "unknown-fixture",
        "unknown-algorithm-id",
        "fixture-with-other-keys",
        "pki-unknown-key",
    ];
    let mut documents: Vec<(PathBuf, bool)> = Vec::new();
    for (i, file) in catalogue().iter().enumerate() {
        let json = dir.path().join(format!("catalogue-{i}.json"));
        std::fs::write(&json, as_json(file)).expect("write a document");
        documents.push((json, true));
    }
    for name in rejected {
        let file = Path::new(BROKEN).join(format!("{name}.yaml"));
        let json = dir.path().join(format!("broken-{name}.json"));
        std::fs::write(&json, as_json(&file)).expect("write a document");
        documents.push((json, false));
    }

    let python = test_support::python_with("jsonschema");
    let mut command = Command::new(&python);
    command.arg("-c").arg(VALIDATE).arg(&schema_path);
    command.args(documents.iter().map(|(p, _)| p));
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {JSONSCHEMA_HINT}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stdout.contains("NO-JSONSCHEMA"),
        "{} has no `jsonschema` module: {JSONSCHEMA_HINT}",
        python.display()
    );
    assert!(
        output.status.success(),
        "jsonschema failed (is the schema itself valid?):\n{stdout}\n{stderr}"
    );
    for (path, should_pass) in &documents {
        let shown = path.display().to_string();
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1).map(|p| p.trim_end_matches(':')) == Some(&shown))
            .unwrap_or_else(|| panic!("no verdict for {shown}:\n{stdout}"));
        if *should_pass {
            assert!(
                line.starts_with("ok "),
                "the schema refuses a catalogue file: {line}"
            );
        } else {
            assert!(
                line.starts_with("invalid "),
                "the schema accepts a broken file: {line}"
            );
        }
    }
}

#[test]
fn the_readme_lists_every_scenario() {
    let readme = std::fs::read_to_string(test_support::repo_root().join("scenarios/README.md"))
        .expect("scenarios/README.md");
    let missing: Vec<String> = catalogue()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|name| !readme.contains(&format!("[`{name}`]({name}.yaml)")))
        .collect();
    assert!(
        missing.is_empty(),
        "add these to the catalogue table of scenarios/README.md: {missing:?}"
    );
}

/// Whatever the bytes, parsing ends in a scenario or a diagnostic, never a panic: every catalogue
/// file cut at many places, and with characters that YAML treats specially written over it.
#[test]
fn damaged_files_never_panic() {
    let replacements = [
        "",
        ":",
        "{",
        "]",
        "- ",
        "&a ",
        "*a",
        "!!binary ",
        "\t",
        "'",
        "\u{feff}",
    ];
    let mut parsed = 0usize;
    for file in catalogue() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let boundaries: Vec<usize> = (0..=text.len())
            .step_by(23)
            .filter(|i| text.is_char_boundary(*i))
            .collect();
        for (n, cut) in boundaries.iter().enumerate() {
            let damaged_prefix = &text[..*cut];
            let _ = scenario::parse(damaged_prefix, "cut.yaml").map_err(|e| e.render(false));
            let replacement = replacements[n % replacements.len()];
            let end = text[*cut..]
                .char_indices()
                .nth(3)
                .map_or(text.len(), |(i, _)| cut + i);
            let damaged = format!("{}{replacement}{}", &text[..*cut], &text[end..]);
            let _ = scenario::parse(&damaged, "damaged.yaml").map_err(|e| e.render(false));
            parsed += 2;
        }
    }
    assert!(parsed > 1000, "only {parsed} damaged files were tried");
}

/// Every key a person can write has a description in the schema (from its doc comment), so that
/// an editor can show what it means.
#[test]
fn every_key_is_documented_in_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&scenario::schema::schema_json()).expect("JSON");
    let mut undocumented = Vec::new();
    let mut objects: Vec<(String, &serde_json::Value)> = vec![("(root)".to_owned(), &schema)];
    if let Some(defs) = schema["$defs"].as_object() {
        objects.extend(defs.iter().map(|(name, def)| (name.clone(), def)));
    }
    for (name, object) in objects {
        if let Some(properties) = object["properties"].as_object() {
            for (key, property) in properties {
                let described = property["description"]
                    .as_str()
                    .is_some_and(|d| !d.trim().is_empty());
                if !described {
                    undocumented.push(format!("{name}.{key}"));
                }
            }
        }
    }
    assert!(undocumented.is_empty(), "undocumented: {undocumented:#?}");
}
