//! The local runtime: the host's slapd and nginx and our binaries as child processes. Needs
//! slapd, ldap-utils and nginx installed (`cargo xtask peers --install`) and our binaries built
//! (`cargo build -p smtp-sink -p tenant`, done by `cargo test --workspace`); a missing one fails
//! the test with that hint.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use lab::{RuntimeChoice, Service};

const RUNTIME: RuntimeChoice = RuntimeChoice::Local;

common::runtime_tests!(RUNTIME);

/// The whole lab at once; dropping it (an error, a panic) kills its processes and removes its
/// directory.
#[tokio::test]
async fn drop_kills_everything() -> anyhow::Result<()> {
    let lab = common::start(RUNTIME, &Service::ALL).await?;
    anyhow::ensure!(lab.host_resources().processes.len() == 4);
    let listeners = lab.endpoints().listeners();
    let log = std::path::PathBuf::from(lab.logs_hint(Service::Directory));
    anyhow::ensure!(log.is_file(), "no log at {}", log.display());
    drop(lab);
    for (service, address) in listeners {
        // SIGKILL is sent on drop; give the kernel a moment to close the sockets.
        let mut refused = false;
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(&address).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        anyhow::ensure!(refused, "{service} still listens on {address} after drop");
    }
    anyhow::ensure!(!log.exists(), "{} survived the drop", log.display());
    Ok(())
}
