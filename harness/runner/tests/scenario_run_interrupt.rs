//! Ctrl-C (SIGINT) and SIGTERM during `smime-lab scenario run --runtime containers`: the run
//! exits 130 and leaves no container, network or report behind.
//!
//! Needs the Docker engine and the lab's images (`cargo xtask images`), as CI has them.

use std::path::Path;
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

fn start_run(out: &Path) -> Child {
    let log = |name: &str| std::fs::File::create(out.join(name)).expect("log file");
    Command::new(BIN)
        .args(["scenario", "run", "--runtime", "containers", "--filter"])
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

fn interrupt_once_containers_exist(signal: &str, name: &str) {
    let out = tempfile::tempdir().expect("tempdir");
    // An earlier run's reports where this one writes: they must not outlive the interruption.
    std::fs::create_dir_all(out.path().join("run")).expect("mkdir");
    for name in ["report.json", "junit.xml", "report.html"] {
        std::fs::write(out.path().join("run").join(name), "an earlier run's").expect("write");
    }
    let mut child = start_run(out.path());
    let pid = child.id();
    let stderr = || std::fs::read_to_string(out.path().join("stderr")).unwrap_or_default();

    let started = Instant::now();
    loop {
        if !owned_by(pid).0.is_empty() {
            break;
        }
        if let Some(status) = child.try_wait().expect("wait") {
            panic!(
                "the run ended ({status}) before any container of it was seen:\n{}",
                stderr()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no container of the run after two minutes:\n{}",
            stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
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
    assert!(
        stderr.contains("removed the containers and networks of 1 lab"),
        "{stderr}"
    );
    let (containers, networks) = owned_by(pid);
    assert!(
        containers.is_empty() && networks.is_empty(),
        "left behind: containers {containers:?}, networks {networks:?}\n{stderr}"
    );
    for name in ["report.json", "junit.xml", "report.html"] {
        assert!(
            !out.path().join("run").join(name).exists(),
            "an interrupted run leaves no report, not even an earlier run's {name}"
        );
    }
}

#[test]
fn ctrl_c_removes_the_runs_containers_and_exits_130() {
    interrupt_once_containers_exist("-INT", "Ctrl-C");
}

#[test]
fn sigterm_removes_the_runs_containers_and_exits_130() {
    interrupt_once_containers_exist("-TERM", "SIGTERM");
}
