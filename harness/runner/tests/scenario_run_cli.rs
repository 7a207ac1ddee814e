//! `smime-lab scenario run`, the parts that need no lab: which scenarios a run takes (`--list`
//! shows it without running), usage errors (exit 2), and a broken scenario stopping the run
//! before any lab starts (exit 1, file:line:column).

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_smime-lab");

fn run(args: &[&OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(test_support::repo_root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run smime-lab")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `scenario run --list --json <extra>` over scenarios/: (name, tags) of each selected.
fn listed(extra: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut args: Vec<&OsStr> = vec![
        "scenario".as_ref(),
        "run".as_ref(),
        "--list".as_ref(),
        "--json".as_ref(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{extra:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let entries: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("--list --json prints a JSON array");
    entries
        .iter()
        .map(|e| {
            let name = e["name"].as_str().expect("name").to_owned();
            let file = e["file"].as_str().expect("file");
            assert_eq!(file, format!("scenarios/{name}.yaml"));
            let tags = e["tags"]
                .as_array()
                .expect("tags")
                .iter()
                .map(|t| t.as_str().expect("tag").to_owned())
                .collect();
            (name, tags)
        })
        .collect()
}

fn names(entries: &[(String, Vec<String>)]) -> Vec<String> {
    entries.iter().map(|(n, _)| n.clone()).collect()
}

fn scenario_files() -> BTreeSet<String> {
    std::fs::read_dir(test_support::repo_root().join("scenarios"))
        .expect("scenarios/")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".yaml").map(str::to_owned)
        })
        .collect()
}

#[test]
fn without_options_every_scenario_is_selected_in_name_order() {
    let all = names(&listed(&[]));
    let files = scenario_files();
    assert_eq!(all.len(), 39, "{all:?}");
    assert_eq!(all.iter().cloned().collect::<BTreeSet<_>>(), files);
    // A directory is taken in file name order (`browser-policy-typo.yaml` before
    // `browser-policy.yaml`), and the report keeps that order.
    let mut sorted: Vec<String> = all.iter().map(|n| format!("{n}.yaml")).collect();
    sorted.sort();
    let in_file_order: Vec<String> = all.iter().map(|n| format!("{n}.yaml")).collect();
    assert_eq!(in_file_order, sorted);

    // The plain listing: one scenario a line, name then file.
    let out = run(&["scenario".as_ref(), "run".as_ref(), "--list".as_ref()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 39);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("rsa-happy-path ")
                && l.ends_with(" scenarios/rsa-happy-path.yaml")),
        "{stdout}"
    );
}

#[test]
fn partitions_are_disjoint_cover_everything_and_are_balanced() {
    let all: BTreeSet<String> = names(&listed(&[])).into_iter().collect();
    for count in [1u32, 3, 4] {
        let mut union = BTreeSet::new();
        let mut sizes = Vec::new();
        for index in 1..=count {
            let partition = format!("{index}/{count}");
            let part = names(&listed(&["--partition", &partition]));
            sizes.push(part.len());
            for name in part {
                assert!(
                    union.insert(name.clone()),
                    "{name} is in two partitions of {count}"
                );
            }
        }
        assert_eq!(union, all, "the partitions of {count} cover every scenario");
        let (min, max) = (sizes.iter().min(), sizes.iter().max());
        assert!(
            max.zip(min).is_some_and(|(max, min)| max - min <= 1),
            "{count}: {sizes:?}"
        );
    }
    // Stable by name whatever order the files come in: the first of four holds the 1st, 5th,
    // 9th ... scenario by name.
    let sorted: Vec<String> = all.iter().cloned().collect();
    let expected: Vec<String> = sorted.iter().step_by(4).cloned().collect();
    let mut reversed: Vec<String> = sorted
        .iter()
        .rev()
        .map(|n| format!("scenarios/{n}.yaml"))
        .collect();
    reversed.splice(0..0, ["--partition".to_owned(), "1/4".to_owned()]);
    let refs: Vec<&str> = reversed.iter().map(String::as_str).collect();
    let mut first = names(&listed(&refs));
    first.sort();
    assert_eq!(first, expected);
}

#[test]
fn filters_take_any_substring_of_the_name() {
    let all = names(&listed(&[]));
    let happy = names(&listed(&["--filter", "happy"]));
    let expected: Vec<String> = all
        .iter()
        .filter(|n| n.contains("happy"))
        .cloned()
        .collect();
    assert_eq!(happy, expected);
    assert!(happy.contains(&"rsa-happy-path".to_owned()), "{happy:?}");
    assert!(happy.len() < all.len());

    let either = names(&listed(&["--filter", "happy", "--filter", "sst"]));
    let expected: Vec<String> = all
        .iter()
        .filter(|n| n.contains("happy") || n.contains("sst"))
        .cloned()
        .collect();
    assert_eq!(either, expected);
    assert!(either.len() > happy.len());
}

#[test]
fn tags_take_any_and_combine_with_filters() {
    let all = listed(&[]);
    let wanted = |tags: &[&str]| -> Vec<String> {
        all.iter()
            .filter(|(_, t)| t.iter().any(|t| tags.contains(&t.as_str())))
            .map(|(n, _)| n.clone())
            .collect()
    };
    let sst = names(&listed(&["--tag", "sst"]));
    assert_eq!(sst, wanted(&["sst"]));
    assert!(sst.contains(&"sst-oversize".to_owned()), "{sst:?}");
    assert!(!sst.contains(&"rsa-happy-path".to_owned()), "{sst:?}");

    let either = names(&listed(&["--tag", "sst", "--tag", "mobile-policy"]));
    assert_eq!(either, wanted(&["sst", "mobile-policy"]));
    assert!(either.len() > sst.len());

    // A filter and a tag: both must hold.
    let both = names(&listed(&["--tag", "sst", "--filter", "oversize"]));
    assert_eq!(both, ["sst-oversize"]);
}

#[test]
fn a_bad_partition_is_a_usage_error() {
    for (bad, why) in [
        ("0/4", "K counts from 1"),
        ("5/4", "K is greater than N"),
        ("1/0", "N is 0"),
        ("half", "there is no `/`"),
    ] {
        let out = run(&[
            "scenario".as_ref(),
            "run".as_ref(),
            "--list".as_ref(),
            "--partition".as_ref(),
            bad.as_ref(),
        ]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains(why), "{bad}: {stderr}");
        assert!(stderr.contains("1 ≤ K ≤ N"), "{bad}: {stderr}");
        assert!(out.stdout.is_empty(), "{bad}");
    }
}

#[test]
fn other_usage_errors_exit_2() {
    let cases: [&[&str]; 3] = [
        &["--runtime", "kubernetes"],
        &["--jobs", "0"],
        &["--filter", "no-scenario-is-called-this"],
    ];
    for extra in cases {
        let mut args: Vec<&OsStr> = vec!["scenario".as_ref(), "run".as_ref()];
        args.extend(extra.iter().map(OsStr::new));
        let out = run(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(!stderr.is_empty(), "{extra:?}");
    }
    let out = run(&[
        "scenario".as_ref(),
        "run".as_ref(),
        "--filter".as_ref(),
        "no-scenario-is-called-this".as_ref(),
    ]);
    assert!(
        text(&out.stderr).contains("no scenario is selected (of 39)"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&[
        "scenario".as_ref(),
        "run".as_ref(),
        "--runtime".as_ref(),
        "kubernetes".as_ref(),
    ]);
    assert!(
        text(&out.stderr).contains("auto, containers or local"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_broken_scenario_stops_the_run_before_any_lab_with_file_line_and_column() {
    let broken = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/broken-scenarios/unknown-user-in-message.yaml");
    let good = test_support::repo_root().join("scenarios/rsa-happy-path.yaml");
    let out_dir = tempfile::tempdir().expect("temporary directory");
    let run_dir = out_dir.path().join("run");
    let out = run(&[
        "scenario".as_ref(),
        "run".as_ref(),
        "--runtime".as_ref(),
        "local".as_ref(),
        "--out".as_ref(),
        run_dir.as_os_str(),
        good.as_os_str(),
        broken.as_os_str(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:10:25]", broken.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("recipient `carrol` is not a user"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing was run: 1 of 2 scenario files cannot be used"),
        "{stderr}"
    );
    // Not one lab started, not one file written.
    assert!(!run_dir.exists(), "{stderr}");
    assert!(!stderr.contains("at a time) on the"), "{stderr}");

    // --list refuses too: a matrix must not silently drop a scenario.
    let out = run(&[
        "scenario".as_ref(),
        "run".as_ref(),
        "--list".as_ref(),
        broken.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unreadable_file_exits_2() {
    let out = run(&[
        "scenario".as_ref(),
        "run".as_ref(),
        "--list".as_ref(),
        "no/such/scenario.yaml".as_ref(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read no/such/scenario.yaml"),
        "{stderr}"
    );
}

#[test]
fn two_files_with_one_name_are_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let original = test_support::read(test_support::repo_root().join("scenarios/no-ski.yaml"));
    for sub in ["a", "b"] {
        let folder = dir.path().join(sub);
        std::fs::create_dir_all(&folder).expect("folder");
        test_support::write(&folder, "no-ski.yaml", &original);
    }
    let out = run(&[
        "scenario".as_ref(),
        "run".as_ref(),
        "--list".as_ref(),
        dir.path().join("a").as_os_str(),
        dir.path().join("b").as_os_str(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("two scenario files are named `no-ski`"),
        "{stderr}"
    );
}
