//! Ctrl-C (SIGINT) and SIGTERM during `smime-lab scenario run`: the run exits 130 and leaves no
//! container, network, local service process, lab directory or report behind. The signal goes to
//! smime-lab alone (not to its process group, as a terminal's Ctrl-C would), so its children are
//! gone only because it removed them.
//!
//! Needs the Docker engine and the lab's images (`cargo xtask images`), and slapd and nginx for
//! the local runtime (`cargo xtask peers --install`), as CI has them.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_smime-lab");
const OWNER_PID_LABEL: &str = "org.smime-lab.owner-pid";

/// `docker <args>`'s standard output, split into lines.
fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs (the containers runtime needs an engine)");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The ids of the containers and networks whose owner is `pid`.
fn owned_by(pid: u32) -> (Vec<String>, Vec<String>) {
    let filter = format!("label={OWNER_PID_LABEL}={pid}");
    (
        docker_lines(&["ps", "-a", "-q", "--filter", &filter]),
        docker_lines(&["network", "ls", "-q", "--filter", &filter]),
    )
}

/// The pids whose parent is `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let after = &stat[stat.rfind(')')? + 1..];
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

/// The lab directory a local service runs in, from its command line
/// (`<temp>/smime-lab-<run>-<random>/...`).
fn lab_directory_of(pid: u32) -> Option<PathBuf> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let prefix = std::env::temp_dir().join("smime-lab-");
    let needle = prefix.to_str()?;
    String::from_utf8_lossy(&cmdline)
        .split('\0')
        .find_map(|arg| {
            let path = &arg[arg.find(needle)?..];
            let end = path[needle.len()..]
                .find('/')
                .map_or(path.len(), |i| needle.len() + i);
            Some(PathBuf::from(&path[..end]))
        })
}

fn start_run(out: &Path, runtime: &str) -> Child {
    let log = |name: &str| std::fs::File::create(out.join(name)).expect("log file");
    Command::new(BIN)
        .args(["scenario", "run", "--runtime", runtime, "--filter"])
        .arg("rsa-happy-path")
        .arg("--out")
        .arg(out.join("run"))
        .current_dir(test_support::repo_root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log("stdout"))
        .stderr(log("stderr"))
        .spawn()
        .expect("start smime-lab")
}

/// What a running lab of the run left to look for after the signal.
enum Lab {
    Containers,
    Local { services: Vec<u32>, dir: PathBuf },
}

fn interrupt_once_the_lab_runs(runtime: &str, signal: &str, name: &str) {
    let out = tempfile::tempdir().expect("tempdir");
    // An earlier run's reports where this one writes: they must not outlive the interruption.
    std::fs::create_dir_all(out.path().join("run")).expect("mkdir");
    for report in ["report.json", "junit.xml", "report.html"] {
        std::fs::write(out.path().join("run").join(report), "an earlier run's").expect("write");
    }
    let mut child = start_run(out.path(), runtime);
    let pid = child.id();
    let stderr = || std::fs::read_to_string(out.path().join("stderr")).unwrap_or_default();

    // Containers: one of the run's exists. Local: a service runs in a known lab directory.
    let started = Instant::now();
    let mut lab = loop {
        if runtime == "containers" {
            if !owned_by(pid).0.is_empty() {
                break Lab::Containers;
            }
        } else {
            let services = children_of(pid);
            if let Some(dir) = services.iter().find_map(|s| lab_directory_of(*s)) {
                break Lab::Local { services, dir };
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            panic!(
                "the run ended ({status}) before its lab was seen:\n{}",
                stderr()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no lab of the run after two minutes:\n{}",
            stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    };

    // Every service started by now, not only the first one seen.
    if let Lab::Local { services, .. } = &mut lab {
        services.extend(children_of(pid));
        services.sort_unstable();
        services.dedup();
    }
    let sent = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let status = child.wait().expect("wait");
    let stderr = stderr();
    assert_eq!(status.code(), Some(130), "{signal}: {status}\n{stderr}");
    assert!(
        stderr.contains(&format!("interrupted ({name}): no report is written")),
        "{stderr}"
    );
    match lab {
        Lab::Containers => {
            assert!(
                stderr.contains("removed the containers and networks of 1 lab"),
                "{stderr}"
            );
            let (containers, networks) = owned_by(pid);
            assert!(
                containers.is_empty() && networks.is_empty(),
                "left behind: containers {containers:?}, networks {networks:?}\n{stderr}"
            );
        }
        Lab::Local { services, dir } => {
            assert!(stderr.contains("local service process"), "{stderr}");
            // Killed processes are reaped by init once their parent is gone: give it a moment.
            let gone = |pid: &u32| !Path::new(&format!("/proc/{pid}")).exists();
            let waited = Instant::now();
            while !services.iter().all(gone) && waited.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let running: Vec<&u32> = services.iter().filter(|p| !gone(p)).collect();
            assert!(
                running.is_empty(),
                "services left running: {running:?}\n{stderr}"
            );
            assert!(!dir.exists(), "{} left behind\n{stderr}", dir.display());
        }
    }
    for report in ["report.json", "junit.xml", "report.html"] {
        assert!(
            !out.path().join("run").join(report).exists(),
            "an interrupted run leaves no report, not even an earlier run's {report}"
        );
    }
}

#[test]
fn ctrl_c_removes_the_runs_containers_and_exits_130() {
    interrupt_once_the_lab_runs("containers", "-INT", "Ctrl-C");
}

#[test]
fn sigterm_removes_the_runs_containers_and_exits_130() {
    interrupt_once_the_lab_runs("containers", "-TERM", "SIGTERM");
}

#[test]
fn ctrl_c_stops_the_local_services_and_removes_their_directory() {
    interrupt_once_the_lab_runs("local", "-INT", "Ctrl-C");
}

#[test]
fn sigterm_stops_the_local_services_and_removes_their_directory() {
    interrupt_once_the_lab_runs("local", "-TERM", "SIGTERM");
}
