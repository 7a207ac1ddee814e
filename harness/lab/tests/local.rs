//! The local runtime: the host's slapd and nginx and our binaries as child processes. Needs
//! slapd, ldap-utils and nginx installed (`cargo xtask peers --install`) and our binaries built
//! (`cargo build -p smtp-sink -p tenant`, done by `cargo test --workspace`); a missing one fails
//! the test with that hint.

mod common;

use lab::{RuntimeChoice, Service};

const RUNTIME: RuntimeChoice = RuntimeChoice::Local;

#[tokio::test]
async fn directory_stores_binary_certificate_attributes() -> anyhow::Result<()> {
    let lab = common::start(RUNTIME, &[Service::Directory]).await?;
    let result = common::directory_round_trip(&lab).await;
    lab.stop().await?;
    result
}

#[tokio::test]
async fn directory_restart_keeps_address_and_data() -> anyhow::Result<()> {
    let mut lab = common::start(RUNTIME, &[Service::Directory]).await?;
    let result = common::directory_restart_keeps_data(&mut lab).await;
    lab.stop().await?;
    result
}

#[tokio::test]
async fn smtp_stores_and_serves_messages() -> anyhow::Result<()> {
    let lab = common::start(RUNTIME, &[Service::Smtp]).await?;
    let result = common::smtp_round_trip(&lab).await;
    lab.stop().await?;
    result
}

#[tokio::test]
async fn tenant_answers_admin_calls() -> anyhow::Result<()> {
    let lab = common::start(RUNTIME, &[Service::Tenant]).await?;
    let result = common::tenant_answers_admin_calls(&lab).await;
    lab.stop().await?;
    result
}

/// The tenant's OWA validation fetches CRLs from pki-web through `tenant.crl_hosts`, and says
/// the CRL is offline when pki-web is stopped.
#[tokio::test]
async fn owa_validation_fetches_crls_from_pki_web() -> anyhow::Result<()> {
    let mut lab = common::start_with(RUNTIME, &common::owa_config()?).await?;
    let result = common::owa_validation_follows_pki_web(&mut lab).await;
    lab.stop().await?;
    result
}

#[tokio::test]
async fn pki_web_serves_crls_and_can_go_down() -> anyhow::Result<()> {
    let mut lab = common::start(RUNTIME, &[Service::PkiWeb]).await?;
    let result = common::pki_web_and_crl_down(&mut lab).await;
    lab.stop().await?;
    result
}

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
