//! Tidy tests: the architecture map (`harness/ARCHITECTURE.md`) held against the code, the way
//! rust-analyzer's `xtask/src/tidy.rs` holds its docs. Each test fails naming what drifted and
//! what to do. They read files and `cargo metadata`; they build nothing.
//!
//! - Every repository path the map names in backticks exists.
//! - Every workspace crate's workspace dependencies are exactly the ones the map's crate table
//!   lists, and that table follows the stated flow (no crate depends on one listed after it).
//! - `smime` does no I/O: no file, network, process or clock access in its source.
//! - No source file outside tests is over 800 lines without a reason written at its top.
//! - Unix-only code in what `smime-lab` links is behind `#[cfg(unix)]`, so the offline commands
//!   build on Windows and macOS (`cargo xtask ci` also cross-checks for Windows when the target
//!   can be installed).

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use crate::project_root;

    const MAP: &str = "harness/ARCHITECTURE.md";
    /// Folders a path in the map may start with.
    const ROOTS: &[&str] = &[
        "harness/",
        "xtask/",
        "scenarios/",
        "fixtures/",
        "docker/",
        ".config/",
        ".ci/",
        "docs/",
    ];
    /// A file over this many lines needs a reason at its top.
    const LONG_FILE: usize = 800;
    /// The words that give that reason, within the file's first lines.
    const LONG_FILE_MARKER: &str = "long file:";

    fn read(path: &str) -> String {
        let full = project_root().join(path);
        std::fs::read_to_string(&full)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
    }

    /// Every `code span` of a Markdown text.
    fn code_spans(text: &str) -> Vec<&str> {
        let mut spans = Vec::new();
        let mut in_fence = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
                continue;
            }
            if in_fence {
                continue;
            }
            let mut rest = line;
            while let Some(start) = rest.find('`') {
                let after = &rest[start + 1..];
                let Some(end) = after.find('`') else { break };
                spans.push(&after[..end]);
                rest = &after[end + 1..];
            }
        }
        spans
    }

    #[test]
    fn every_path_the_map_names_exists() {
        let map = read(MAP);
        let missing: Vec<&str> = code_spans(&map)
            .into_iter()
            .filter(|span| ROOTS.iter().any(|root| span.starts_with(root)))
            // `harness/runner/tests/*.rs`-style globs and `{a,b}` alternatives are prose.
            .filter(|span| !span.contains(['*', '{', ' ', '<']))
            .filter(|span| !project_root().join(span.trim_end_matches('/')).exists())
            .collect();
        assert!(
            missing.is_empty(),
            "{MAP} names paths that do not exist: {missing:?}\n\
             Update the map to where the code lives now (it is the first thing a new \
             maintainer reads)."
        );
    }

    /// The workspace's crates and, for each, the workspace crates it depends on (normal and
    /// build dependencies; dev-dependencies are for tests and may reach anywhere).
    fn workspace_dependencies() -> BTreeMap<String, BTreeSet<String>> {
        let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(project_root())
            .output()
            .expect("cargo metadata runs");
        assert!(output.status.success(), "cargo metadata failed");
        let metadata: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
        let packages = metadata["packages"].as_array().expect("packages");
        let names: BTreeSet<String> = packages
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        packages
            .iter()
            .map(|package| {
                let name = package["name"].as_str().unwrap_or_default().to_owned();
                let deps = package["dependencies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|d| d["kind"].as_str() != Some("dev"))
                    .filter_map(|d| d["name"].as_str())
                    .filter(|d| names.contains(*d))
                    .map(str::to_owned)
                    .collect();
                (name, deps)
            })
            .collect()
    }

    /// The map's crate table, in its order: `| `harness/NAME` | job | `a`, `b` |` rows whose
    /// last column names the workspace crates the crate depends on (`—` for none).
    fn crate_table(map: &str) -> Vec<(String, BTreeSet<String>)> {
        let section = map
            .split("\n## ")
            .find(|s| s.starts_with("Crates"))
            .expect("the map has a `## Crates` section");
        section
            .lines()
            .filter(|line| line.starts_with("| `"))
            .map(|line| {
                let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
                let path = cells[0].trim().trim_matches('`');
                let name = path.rsplit('/').next().unwrap_or(path).to_owned();
                let deps = cells
                    .last()
                    .map(|c| code_spans(c).into_iter().map(str::to_owned).collect())
                    .unwrap_or_default();
                (name, deps)
            })
            .collect()
    }

    #[test]
    fn crate_dependencies_follow_the_map_and_its_flow() {
        let map = read(MAP);
        let table = crate_table(&map);
        let actual = workspace_dependencies();
        let listed: BTreeSet<&String> = table.iter().map(|(name, _)| name).collect();
        let unlisted: Vec<&String> = actual.keys().filter(|n| !listed.contains(n)).collect();
        assert!(
            unlisted.is_empty(),
            "crates missing from the `## Crates` table of {MAP}: {unlisted:?}"
        );
        let mut seen = BTreeSet::new();
        for (name, stated) in &table {
            let Some(real) = actual.get(name) else {
                panic!("{MAP} lists crate `{name}`, which is not in the workspace");
            };
            assert_eq!(
                real, stated,
                "crate `{name}`: its Cargo.toml depends on workspace crates {real:?}, the map \
                 says {stated:?}. Either the dependency breaks the stated flow (remove it) or \
                 the map is out of date (update the row in {MAP})."
            );
            let later: Vec<&String> = real.iter().filter(|d| !seen.contains(*d)).collect();
            assert!(
                later.is_empty(),
                "crate `{name}` depends on {later:?}, listed after it in {MAP}: data flows \
                 one way, so a crate only depends on crates above it in the table"
            );
            seen.insert(name.clone());
        }
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("target") {
                    rust_files(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn smime_does_no_io() {
        let mut files = Vec::new();
        rust_files(&project_root().join("harness/smime/src"), &mut files);
        // What would reach outside the caller's bytes: files, sockets, processes, the clock,
        // the environment. Tests inside src/ may read fixtures.
        const FORBIDDEN: &[&str] = &[
            "std::fs",
            // std::net's sockets and name resolution; its address types (IpAddr) are plain data.
            "TcpStream",
            "TcpListener",
            "UdpSocket",
            "ToSocketAddrs",
            "std::process",
            "std::env",
            "SystemTime::now",
            "OffsetDateTime::now",
            "Instant::now",
            "File::open",
        ];
        let mut found = Vec::new();
        for file in files {
            let name = file.to_string_lossy();
            if name.ends_with("tests.rs") || name.contains("/tests/") || name.contains("test_") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            // Unit tests at the bottom of a file (`#[cfg(test)] mod tests`) are not the library.
            let library = text.split("#[cfg(test)]").next().unwrap_or_default();
            for word in FORBIDDEN {
                if library.contains(word) {
                    found.push(format!("{}: {word}", file.display()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "smime does no I/O (callers pass bytes and a `now`), but: {found:#?}"
        );
    }

    /// The crates `smime-lab` links (runner and its workspace dependencies).
    const RUNNER_CRATES: &[&str] = &[
        "harness/smime/src",
        "harness/bounded-input/src",
        "harness/browser-policy/src",
        "harness/crl/src",
        "harness/scenario/src",
        "harness/lab/src",
        "harness/runner/src",
    ];
    /// Paths that exist only on Unix.
    const UNIX_ONLY: &[&str] = &["::unix::", "os::fd::", "tokio::signal::unix"];

    /// The lines of `text` (before its `#[cfg(test)]` part) that use a Unix-only path outside
    /// an item gated by `cfg(unix)`. An item starts at a line that is not indented; its
    /// attributes are the `#[...]` lines right above it; a `cfg(unix)` anywhere from those
    /// attributes down to the line (a gated statement or block inside a function) counts.
    fn ungated_unix_lines(text: &str) -> Vec<(usize, String)> {
        let library = text.split("#[cfg(test)]").next().unwrap_or_default();
        let lines: Vec<&str> = library.lines().collect();
        let gate = |line: &str| {
            let line = line.trim();
            line.starts_with("#[cfg(") && line.contains("unix") && !line.contains("not(unix")
        };
        let mut found = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if !UNIX_ONLY.iter().any(|path| code.contains(path)) {
                continue;
            }
            // The enclosing item's first line, then its attributes above it.
            let mut start = n;
            while start > 0 && (lines[start].starts_with([' ', '\t']) || lines[start].is_empty()) {
                start -= 1;
            }
            while start > 0 && lines[start - 1].starts_with("#[") {
                start -= 1;
            }
            if !lines[start..=n].iter().any(|l| gate(l)) {
                found.push((n + 1, line.trim().to_owned()));
            }
        }
        found
    }

    #[test]
    fn the_ungated_unix_check_finds_what_it_should() {
        let gated_item = "#[cfg(unix)]\nfn f() {\n    use std::os::unix::fs::PermissionsExt;\n}\n";
        assert!(ungated_unix_lines(gated_item).is_empty());
        let gated_statement = "fn f() {\n    #[cfg(unix)]\n    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);\n}\n";
        assert!(ungated_unix_lines(gated_statement).is_empty());
        let ungated = "fn f() {\n    use tokio::signal::unix::signal;\n}\n";
        assert_eq!(
            ungated_unix_lines(ungated),
            vec![(2, "use tokio::signal::unix::signal;".to_owned())]
        );
        let wrong_gate =
            "#[cfg(not(unix))]\nfn f() {\n    use std::os::unix::fs::PermissionsExt;\n}\n";
        assert_eq!(ungated_unix_lines(wrong_gate).len(), 1);
        let in_tests =
            "fn f() {}\n#[cfg(test)]\nmod tests {\n    use std::os::unix::fs::PermissionsExt;\n}\n";
        assert!(ungated_unix_lines(in_tests).is_empty());
    }

    #[test]
    fn unix_only_code_in_smime_lab_is_cfg_gated() {
        let root = project_root();
        let mut problems = Vec::new();
        for dir in RUNNER_CRATES {
            let mut files = Vec::new();
            rust_files(&root.join(dir), &mut files);
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                for (line, code) in ungated_unix_lines(&text) {
                    problems.push(format!(
                        "{}:{line}: {code}",
                        file.strip_prefix(&root).unwrap_or(&file).display()
                    ));
                }
            }
        }
        assert!(
            problems.is_empty(),
            "Unix-only code outside `#[cfg(unix)]` in what smime-lab links: {problems:#?}\n\
             Gate it (`#[cfg(unix)]`, with a `#[cfg(not(unix))]` or `#[cfg(windows)]` \
             counterpart) so that the offline commands build on Windows and macOS."
        );
    }

    #[test]
    fn no_source_file_is_long_without_a_reason() {
        let root = project_root();
        let mut files = Vec::new();
        for dir in ["harness", "xtask/src"] {
            rust_files(&root.join(dir), &mut files);
        }
        let long: Vec<String> = files
            .iter()
            .filter(|f| {
                let name = f.to_string_lossy();
                // Tests and fuzz targets are exempt: a table of cases is long by nature.
                !(name.contains("/tests/")
                    || name.ends_with("/tests.rs")
                    || name.contains("/fuzz/")
                    || name.contains("test_pki")
                    || name.contains("test-support"))
            })
            .filter_map(|f| {
                let text = std::fs::read_to_string(f).ok()?;
                let lines = text.lines().count();
                let head: String = text.lines().take(30).collect::<Vec<_>>().join("\n");
                (lines > LONG_FILE && !head.to_lowercase().contains(LONG_FILE_MARKER)).then(|| {
                    format!(
                        "{} ({lines} lines)",
                        f.strip_prefix(&root).unwrap_or(f).display()
                    )
                })
            })
            .collect();
        assert!(
            long.is_empty(),
            "files over {LONG_FILE} lines without a reason at their top: {long:#?}\n\
             Split them where their parts are named, or say why they are one file in a comment \
             containing `{LONG_FILE_MARKER}` within the first 30 lines."
        );
    }
}
