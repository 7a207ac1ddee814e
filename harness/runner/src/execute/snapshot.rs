//! Snapshots of message anatomy: the YAML [`smime::cms::anatomy`] gives for a message a scenario
//! names (`snapshot: alice-to-bob`), compared with the committed
//! `scenarios/snapshots/<scenario>__<name>.snap`.
//!
//! The files are insta's: the same header (`source`, `expression`) and body, so that
//! `cargo insta review` shows a pending `<scenario>__<name>.snap.new` beside the old snapshot
//! and accepts or rejects it like any other. `INSTA_UPDATE` means what it means to insta:
//!
//! | `INSTA_UPDATE` | on a mismatch or a missing snapshot |
//! |---|---|
//! | unset or `auto` | write `.snap.new` and fail; in CI (`CI` set, not `0`/`false`) write nothing and fail |
//! | `new` | write `.snap.new` and fail |
//! | `always`, `1`, `force` | write the `.snap` and pass (`force` also rewrites a matching one) |
//! | `unseen` | write the `.snap` when there is none and pass; else like `new` |
//! | `no` | write nothing and fail |
//!
//! The failure is an `Err` whose text is a unified diff (old snapshot against the new anatomy)
//! and what to do next. `INSTA_FORCE_PASS` is not honoured: a scenario run must not pass a
//! snapshot it did not match.
//!
//! Why not call `insta::assert_snapshot!` with [`insta::Settings`] (snapshot path, no module
//! prefix) inside `catch_unwind`? Tried: it works, but insta then prints its diff and hints to
//! stdout in the middle of the runner's output, the default panic hook prints a panic and a
//! backtrace to stderr for every mismatch, the panic message carries no diff ("snapshot
//! assertion for 'x' failed in line 13"), the file's `source` names this Rust file instead of
//! the scenario, and insta runs `cargo metadata` to find the workspace. So the comparison is
//! done here: insta's own public reader ([`insta::Snapshot::from_file`]) reads the old
//! snapshot and normalises its text, the new text is normalised the same way (trailing white
//! space trimmed, CRLF as LF), and the few lines of the file format are written here.

use std::path::{Path, PathBuf};

/// Compares `anatomy_yaml` with `<snapshot_dir>/<scenario>__<name>.snap`, writing the `.snap`
/// or a pending `.snap.new` as `INSTA_UPDATE` and `CI` say (module documentation). `Ok` when the
/// snapshot matches (or was written in place); `Err` with a unified diff and what to do next
/// otherwise. Never panics.
pub fn check(
    snapshot_dir: &Path,
    scenario: &str,
    name: &str,
    anatomy_yaml: &str,
) -> Result<(), String> {
    let update = UpdateMode::from_env()?;
    check_with(snapshot_dir, scenario, name, anatomy_yaml, update)
}

/// What to do with a snapshot that does not match, from `INSTA_UPDATE` and `CI`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UpdateMode {
    /// Write a pending `.snap.new` for `cargo insta review`.
    NewFile,
    /// Write the `.snap` itself; `force` also rewrites one that matches.
    InPlace { force: bool },
    /// The `.snap` when there is none, else a `.snap.new`.
    Unseen,
    /// Write nothing. `ci` says why, for the message.
    NoUpdate { ci: bool },
}

impl UpdateMode {
    fn from_env() -> Result<Self, String> {
        let update = std::env::var("INSTA_UPDATE").ok();
        let ci = is_ci(
            std::env::var("CI").ok().as_deref(),
            std::env::var_os("TF_BUILD").is_some(),
        );
        Self::parse(update.as_deref(), ci)
    }

    fn parse(update: Option<&str>, ci: bool) -> Result<Self, String> {
        Ok(match update.unwrap_or("") {
            "" | "auto" if ci => UpdateMode::NoUpdate { ci: true },
            "" | "auto" | "new" => UpdateMode::NewFile,
            "always" | "1" => UpdateMode::InPlace { force: false },
            "force" => UpdateMode::InPlace { force: true },
            "unseen" => UpdateMode::Unseen,
            "no" => UpdateMode::NoUpdate { ci: false },
            other => {
                return Err(format!(
                    "INSTA_UPDATE={other:?} is not one of auto, new, always, force, unseen, no: unset it, or see `cargo insta --help`"
                ));
            }
        })
    }
}

/// insta's rule for "running in CI": `CI` set to anything but empty, `0` or `false`; or, with no
/// `CI`, Azure Pipelines' `TF_BUILD`.
fn is_ci(ci: Option<&str>, tf_build: bool) -> bool {
    match ci {
        Some("" | "0" | "false") => false,
        Some(_) => true,
        None => tf_build,
    }
}

fn check_with(
    snapshot_dir: &Path,
    scenario: &str,
    name: &str,
    anatomy_yaml: &str,
    update: UpdateMode,
) -> Result<(), String> {
    for (what, value) in [("scenario", scenario), ("snapshot", name)] {
        // They become one file name; ids in scenario files are checked already, this is the
        // last guard against a path that escapes the directory.
        if value.is_empty()
            || value.contains(['/', '\\'])
            || value.starts_with('.')
            || value.contains("__")
        {
            return Err(format!(
                "{what} name {value:?} cannot be part of a snapshot file name: use letters, digits, `-`, `_` and `.` (not leading, no `__`)"
            ));
        }
    }
    let file = snapshot_dir.join(format!("{scenario}__{name}.snap"));
    let pending = pending_path(&file);
    let shown = display_path(&file);
    let new = normalize(anatomy_yaml);

    let old = read_old(&file)?;
    if let Some(old) = &old
        && *old == new
    {
        if update == (UpdateMode::InPlace { force: true }) {
            write(&file, &snapshot_file(snapshot_dir, scenario, name, &new))?;
        }
        // A pending snapshot from an earlier mismatch is stale now (insta removes it too).
        remove_stale(&pending)?;
        return Ok(());
    }

    let diff = unified_diff(old.as_deref().unwrap_or(""), &new, &shown);
    let what = match &old {
        Some(_) => format!("the anatomy of message `{name}` differs from snapshot {shown}"),
        None => format!("message `{name}` has no snapshot yet ({shown} does not exist)"),
    };
    let contents = snapshot_file(snapshot_dir, scenario, name, &new);
    let write_new = |advice: &str| -> Result<(), String> {
        write(&pending, &contents)?;
        Err(format!(
            "{what}; the new one is in {}: {advice}\n{diff}",
            display_path(&pending)
        ))
    };
    match update {
        UpdateMode::InPlace { .. } => {
            write(&file, &contents)?;
            remove_stale(&pending)
        }
        UpdateMode::Unseen if old.is_none() => {
            write(&file, &contents)?;
            remove_stale(&pending)
        }
        UpdateMode::NewFile | UpdateMode::Unseen => write_new(
            "read it, then accept or reject it with `cargo insta review` (or rerun with INSTA_UPDATE=always to accept every new anatomy unseen)",
        ),
        UpdateMode::NoUpdate { ci: true } => Err(format!(
            "{what}; in CI snapshots are never written: run the scenario locally, review the new snapshot with `cargo insta review` and commit it\n{diff}"
        )),
        UpdateMode::NoUpdate { ci: false } => Err(format!(
            "{what}; INSTA_UPDATE=no, so nothing was written: unset it to get a .snap.new for `cargo insta review`\n{diff}"
        )),
    }
}

/// The old snapshot's text as insta normalises it, `None` when there is no file.
fn read_old(file: &Path) -> Result<Option<String>, String> {
    if !file.exists() {
        return Ok(None);
    }
    // insta's reader is third-party code on a file anyone can edit: a panic in it must not
    // escape into the scenario run.
    let read =
        std::panic::catch_unwind(|| insta::Snapshot::from_file(file).map_err(|e| e.to_string()));
    let snapshot = match read {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(format!(
                "{} is not an insta snapshot ({e}): delete it and rerun to get a fresh one to review",
                display_path(file)
            ));
        }
        Err(_) => {
            return Err(format!(
                "{} could not be read as an insta snapshot: delete it and rerun to get a fresh one to review",
                display_path(file)
            ));
        }
    };
    match snapshot.as_text() {
        Some(text) => Ok(Some(text.to_string())),
        None => Err(format!(
            "{} is a binary snapshot, not an anatomy: delete it and rerun",
            display_path(file)
        )),
    }
}

/// insta's normalisation of a file snapshot: trailing white space trimmed, CRLF as LF.
fn normalize(text: &str) -> String {
    text.trim_end().replace("\r\n", "\n")
}

fn pending_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// The path as a person finds it: relative to the working directory when it is below it.
fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// The file: insta's metadata block (`source` is the scenario file, which review shows), then
/// the snapshot text and one newline, as insta writes it.
fn snapshot_file(snapshot_dir: &Path, scenario: &str, name: &str, text: &str) -> String {
    // Snapshots live in `<scenarios>/snapshots/`, the scenario files in `<scenarios>/`.
    let scenarios = snapshot_dir.parent().and_then(Path::file_name).map_or_else(
        || "scenarios".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    format!(
        "---\nsource: {}\nexpression: {}\n---\n{text}\n",
        yaml_scalar(&format!("{scenarios}/{scenario}.yaml")),
        yaml_scalar(&format!("anatomy of message {name}")),
    )
}

/// A YAML scalar for the metadata block: plain when that is unambiguous, else double-quoted
/// (a JSON string is a valid YAML double-quoted scalar).
fn yaml_scalar(value: &str) -> String {
    let plain = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " /._-".contains(c))
        && !value.ends_with(' ');
    if plain {
        value.to_owned()
    } else {
        serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_owned())
    }
}

/// Writes through a temporary file in the same directory and a rename, so that a reviewer or
/// a parallel run never sees half a snapshot.
fn write(path: &Path, contents: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| {
        format!(
            "cannot create the snapshot folder {}: {e}",
            display_path(dir)
        )
    })?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", display_path(dir)))?;
    std::io::Write::write_all(&mut temp, contents.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", display_path(path)))?;
    // A temporary file is private (0600); a snapshot is a committed file like any other.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| format!("cannot write {}: {e}", display_path(path)))?;
    }
    temp.persist(path)
        .map_err(|e| format!("cannot write {}: {}", display_path(path), e.error))?;
    Ok(())
}

fn remove_stale(pending: &Path) -> Result<(), String> {
    match std::fs::remove_file(pending) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!(
            "cannot remove the stale pending snapshot {}: {e}",
            display_path(pending)
        )),
    }
}

/// How long the line diff may search for the smallest edit; past it `similar` falls back to a
/// coarser (still correct) diff, so a huge anatomy cannot stall a run.
const DIFF_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);
/// Unchanged lines shown around each change.
const CONTEXT: usize = 3;

/// A unified diff (`---`/`+++`, `@@ -a,b +c,d @@` hunks, three lines of context) by `similar`,
/// the diff library insta itself uses.
fn unified_diff(old: &str, new: &str, label: &str) -> String {
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .deadline(std::time::Instant::now() + DIFF_DEADLINE)
        .diff_lines(old, new);
    let mut out = diff
        .unified_diff()
        .context_radius(CONTEXT)
        .header(label, &format!("{label} (new)"))
        .to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str =
        "layers:\n- clear-signed (SHA-256)\nmessage:\n  content-type: multipart/signed\n";

    /// A temporary folder laid out as the repository is: `scenarios/snapshots/` inside it.
    struct Layout {
        _root: tempfile::TempDir,
        snapshots: PathBuf,
    }

    impl Layout {
        fn path(&self) -> &Path {
            &self.snapshots
        }
    }

    fn dir() -> Layout {
        let root = tempfile::tempdir().unwrap();
        let snapshots = root.path().join("scenarios/snapshots");
        Layout {
            _root: root,
            snapshots,
        }
    }

    fn snap(dir: &Path) -> PathBuf {
        dir.join("rsa-happy-path__alice-to-bob.snap")
    }

    fn run(dir: &Path, yaml: &str, mode: UpdateMode) -> Result<(), String> {
        check_with(dir, "rsa-happy-path", "alice-to-bob", yaml, mode)
    }

    #[test]
    fn a_matching_snapshot_passes_and_clears_a_stale_pending_one() {
        let d = dir();
        let snapshots = d.path().to_path_buf();
        // The folder is created on the first write.
        run(&snapshots, YAML, UpdateMode::InPlace { force: false }).unwrap();
        let written = std::fs::read_to_string(snap(&snapshots)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(snap(&snapshots))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o777,
                0o644,
                "a snapshot is an ordinary committed file"
            );
        }
        assert_eq!(
            written,
            format!(
                "---\nsource: scenarios/rsa-happy-path.yaml\nexpression: anatomy of message alice-to-bob\n---\n{YAML}"
            )
        );
        std::fs::write(pending_path(&snap(&snapshots)), "stale").unwrap();
        for mode in [
            UpdateMode::NewFile,
            UpdateMode::NoUpdate { ci: true },
            UpdateMode::NoUpdate { ci: false },
            UpdateMode::Unseen,
        ] {
            run(&snapshots, YAML, mode).unwrap();
            // Trailing white space and CRLF do not count, as in insta.
            run(
                &snapshots,
                &format!("{}\n\n", YAML.replace('\n', "\r\n")),
                mode,
            )
            .unwrap();
        }
        assert!(!pending_path(&snap(&snapshots)).exists());
        assert_eq!(std::fs::read_to_string(snap(&snapshots)).unwrap(), written);
    }

    #[test]
    fn a_mismatch_writes_a_pending_snapshot_insta_reads_and_errs_with_a_diff() {
        let d = dir();
        run(d.path(), YAML, UpdateMode::InPlace { force: false }).unwrap();
        let changed = YAML.replace("SHA-256", "SHA-1");
        let err = run(d.path(), &changed, UpdateMode::NewFile).unwrap_err();
        assert!(err.contains("differs from snapshot"), "{err}");
        assert!(err.contains("cargo insta review"), "{err}");
        assert!(err.contains("@@ -1,4 +1,4 @@"), "{err}");
        assert!(
            err.contains("\n-- clear-signed (SHA-256)\n+- clear-signed (SHA-1)\n"),
            "{err}"
        );
        assert!(err.contains("\n layers:\n"), "{err}");
        // The .snap is untouched; the .snap.new is what cargo insta review will offer, and insta
        // itself reads it back with the new text.
        assert!(
            std::fs::read_to_string(snap(d.path()))
                .unwrap()
                .contains("SHA-256")
        );
        let pending = insta::Snapshot::from_file(&pending_path(&snap(d.path()))).unwrap();
        assert_eq!(pending.as_text().unwrap().to_string(), normalize(&changed));
        assert_eq!(
            pending.metadata().source(),
            Some("scenarios/rsa-happy-path.yaml")
        );
        assert_eq!(
            pending.metadata().expression(),
            Some("anatomy of message alice-to-bob")
        );
    }

    #[test]
    fn in_ci_or_with_insta_update_no_nothing_is_written() {
        let d = dir();
        run(d.path(), YAML, UpdateMode::InPlace { force: false }).unwrap();
        let before = std::fs::read_to_string(snap(d.path())).unwrap();
        let changed = YAML.replace("multipart/signed", "application/pkcs7-mime");
        let ci = run(d.path(), &changed, UpdateMode::NoUpdate { ci: true }).unwrap_err();
        assert!(ci.contains("in CI snapshots are never written"), "{ci}");
        assert!(
            ci.contains("+  content-type: application/pkcs7-mime"),
            "{ci}"
        );
        let no = run(d.path(), &changed, UpdateMode::NoUpdate { ci: false }).unwrap_err();
        assert!(no.contains("INSTA_UPDATE=no"), "{no}");
        assert!(!pending_path(&snap(d.path())).exists());
        assert_eq!(std::fs::read_to_string(snap(d.path())).unwrap(), before);
    }

    #[test]
    fn a_missing_snapshot_says_how_to_review_it() {
        let d = dir();
        let err = run(d.path(), YAML, UpdateMode::NewFile).unwrap_err();
        assert!(err.contains("has no snapshot yet"), "{err}");
        assert!(err.contains("cargo insta review"), "{err}");
        assert!(err.contains("INSTA_UPDATE=always"), "{err}");
        assert!(err.contains("+- clear-signed (SHA-256)"), "{err}");
        assert!(!snap(d.path()).exists());
        assert!(pending_path(&snap(d.path())).exists());

        let ci = dir();
        let err = run(ci.path(), YAML, UpdateMode::NoUpdate { ci: true }).unwrap_err();
        assert!(
            err.contains("has no snapshot yet") && err.contains("CI"),
            "{err}"
        );
        assert!(!ci.path().exists(), "nothing may be written in CI");

        // `unseen` accepts a first snapshot, but not a change to an existing one.
        let unseen = dir();
        run(unseen.path(), YAML, UpdateMode::Unseen).unwrap();
        assert!(snap(unseen.path()).exists());
        assert!(run(unseen.path(), "other: 1\n", UpdateMode::Unseen).is_err());
        assert!(pending_path(&snap(unseen.path())).exists());
    }

    #[test]
    fn insta_update_and_ci_are_read_as_insta_reads_them() {
        assert_eq!(UpdateMode::parse(None, false), Ok(UpdateMode::NewFile));
        assert_eq!(
            UpdateMode::parse(Some("auto"), true),
            Ok(UpdateMode::NoUpdate { ci: true })
        );
        assert_eq!(
            UpdateMode::parse(None, true),
            Ok(UpdateMode::NoUpdate { ci: true })
        );
        // An explicit choice wins over CI, as in insta.
        assert_eq!(
            UpdateMode::parse(Some("always"), true),
            Ok(UpdateMode::InPlace { force: false })
        );
        assert_eq!(
            UpdateMode::parse(Some("new"), true),
            Ok(UpdateMode::NewFile)
        );
        assert_eq!(
            UpdateMode::parse(Some("no"), false),
            Ok(UpdateMode::NoUpdate { ci: false })
        );
        assert!(
            UpdateMode::parse(Some("yes"), false)
                .unwrap_err()
                .contains("INSTA_UPDATE")
        );
        assert!(is_ci(Some("true"), false));
        assert!(!is_ci(Some("false"), true));
        assert!(!is_ci(Some("0"), false));
        assert!(is_ci(None, true));
        assert!(!is_ci(None, false));
    }

    #[test]
    fn bad_names_and_unreadable_files_are_errors_never_panics() {
        let d = dir();
        for (scenario, name) in [
            ("../x", "a"),
            ("a", "b/c"),
            ("", "a"),
            ("a", ".hidden"),
            ("a__b", "c"),
        ] {
            let r = check_with(
                d.path(),
                scenario,
                name,
                YAML,
                UpdateMode::InPlace { force: false },
            );
            assert!(
                r.unwrap_err()
                    .contains("cannot be part of a snapshot file name")
            );
        }
        // Not UTF-8, and a metadata block that is not YAML: errors naming the file.
        std::fs::create_dir_all(d.path()).unwrap();
        std::fs::write(snap(d.path()), b"---\nsource: [\n---\n\xff\xfe").unwrap();
        let err = run(d.path(), YAML, UpdateMode::NewFile).unwrap_err();
        assert!(err.contains("rsa-happy-path__alice-to-bob.snap"), "{err}");
        assert!(err.contains("delete it"), "{err}");
        // A folder where the snapshot should be written.
        let blocked = dir();
        std::fs::create_dir_all(snap(blocked.path())).unwrap();
        let err = run(blocked.path(), YAML, UpdateMode::InPlace { force: false }).unwrap_err();
        assert!(!err.is_empty());
    }

    #[test]
    fn the_diff_numbers_hunks_and_keeps_far_changes_apart() {
        let old: Vec<String> = (1..=30).map(|i| format!("line {i}")).collect();
        let mut new = old.clone();
        new[1] = "changed 2".into();
        new.remove(25);
        let diff = unified_diff(&old.join("\n"), &new.join("\n"), "x.snap");
        assert!(diff.starts_with("--- x.snap\n+++ x.snap (new)\n"), "{diff}");
        assert!(
            diff.contains("@@ -1,5 +1,5 @@\n line 1\n-line 2\n+changed 2\n line 3\n"),
            "{diff}"
        );
        assert!(diff.contains("@@ -23,7 +23,6 @@\n"), "{diff}");
        assert!(diff.contains("\n-line 26\n"), "{diff}");
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
        // Against nothing: every line added.
        let all = unified_diff("", "a\nb", "y");
        assert!(all.contains("@@ -0,0 +1,2 @@\n+a\n+b\n"), "{all}");
    }
}
