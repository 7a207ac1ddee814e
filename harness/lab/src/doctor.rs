//! What this machine has and lacks for each runtime, item by item, each with the one command
//! that fixes it: `smime-lab doctor` prints it, and `smime-lab scenario run` (with it `cargo
//! xtask run-scenarios`) asks [`Doctor::runnable`] once before any lab starts, so that a missing
//! slapd is said once rather than once per scenario.
//!
//! The checks ask the same code the runtimes use ([`crate::binaries`], the OpenLDAP layout, the
//! engine connection and image labels), so the doctor cannot pass what a lab start would refuse.

use std::collections::BTreeSet;
use std::path::Path;

use crate::binaries::{self, MOCK_TENANT, SMTP_SINK};
use crate::images::{self, ImageRecipe};
use crate::slapd::SlapdLayout;
use crate::{LabConfig, LabError, RuntimeChoice, RuntimeKind, Service};

/// One thing a runtime needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What is checked: `slapd`, `Docker engine`, `image smime-lab-directory:bookworm`.
    pub name: String,
    /// Whether it is there and usable.
    pub ok: bool,
    /// Where it was found, or why it is not usable.
    pub detail: String,
    /// The one command (or action) that fixes it, when `ok` is false.
    pub fix: Option<String>,
    /// Needed to run (false: only to build images or worth knowing).
    pub required: bool,
}

impl Item {
    fn ok(name: impl Into<String>, detail: impl Into<String>) -> Item {
        Item {
            name: name.into(),
            ok: true,
            detail: detail.into().replace('\n', " "),
            fix: None,
            required: true,
        }
    }

    fn missing(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Item {
        Item {
            name: name.into(),
            ok: false,
            // One line per item: an engine's error may span several.
            detail: detail.into().replace('\n', " "),
            fix: Some(fix.into()),
            required: true,
        }
    }

    fn optional(mut self) -> Item {
        self.required = false;
        self
    }
}

/// Every runtime's items, and which one `auto` would pick.
#[derive(Debug, Clone)]
pub struct Doctor {
    pub local: Vec<Item>,
    pub containers: Vec<Item>,
    /// Building the images (`cargo xtask images`): not needed to run when they are current.
    pub image_build: Vec<Item>,
}

impl Doctor {
    /// Examines this machine for a lab of `config`'s services.
    pub async fn examine(config: &LabConfig) -> Doctor {
        Doctor {
            local: local_items(config),
            containers: container_items(config).await,
            image_build: image_build_items(),
        }
    }

    /// Whether a runtime has every required item.
    pub fn usable(&self, runtime: RuntimeKind) -> bool {
        let items = match runtime {
            RuntimeKind::Local => &self.local,
            RuntimeKind::Containers => &self.containers,
        };
        items.iter().all(|i| i.ok || !i.required)
    }

    /// The runtime a run asking for `choice` would use, and why; `Err` with the reason when it
    /// cannot run at all.
    pub fn runnable(&self, choice: RuntimeChoice) -> Result<(RuntimeKind, String), String> {
        let containers = self.usable(RuntimeKind::Containers);
        let local = self.usable(RuntimeKind::Local);
        match choice {
            RuntimeChoice::Containers if containers => Ok((
                RuntimeKind::Containers,
                "asked for (--runtime containers); the engine answers and the images are current"
                    .into(),
            )),
            RuntimeChoice::Containers => Err(format!(
                "the containers runtime was asked for but cannot run here: {}",
                self.first_problem(RuntimeKind::Containers)
            )),
            RuntimeChoice::Local if local => Ok((
                RuntimeKind::Local,
                "asked for (--runtime local); every program it runs is here".into(),
            )),
            RuntimeChoice::Local => Err(format!(
                "the local runtime was asked for but cannot run here: {}",
                self.first_problem(RuntimeKind::Local)
            )),
            RuntimeChoice::Auto if containers => Ok((
                RuntimeKind::Containers,
                "auto: the Docker engine answers and every image is present and current".into(),
            )),
            RuntimeChoice::Auto if local => Ok((
                RuntimeKind::Local,
                format!(
                    "auto: containers cannot run ({}), and every program of the local runtime is here",
                    self.first_problem(RuntimeKind::Containers)
                ),
            )),
            RuntimeChoice::Auto => Err(format!(
                "neither runtime can run here: containers: {}; local: {}",
                self.first_problem(RuntimeKind::Containers),
                self.first_problem(RuntimeKind::Local)
            )),
        }
    }

    fn first_problem(&self, runtime: RuntimeKind) -> String {
        let items = match runtime {
            RuntimeKind::Local => &self.local,
            RuntimeKind::Containers => &self.containers,
        };
        items
            .iter()
            .find(|i| i.required && !i.ok)
            .map(|i| match &i.fix {
                Some(fix) => format!("{}: {} (fix: {fix})", i.name, i.detail),
                None => format!("{}: {}", i.name, i.detail),
            })
            .unwrap_or_else(|| "nothing missing".into())
    }
}

const PEERS_INSTALL: &str = "cargo xtask peers --install";

fn own_binary(binary: binaries::OwnBinary, configured: Option<&Path>) -> Item {
    match binary.locate(configured) {
        Ok(path) => Item::ok(binary.name, path.display().to_string()),
        Err(e) => Item::missing(
            binary.name,
            e.to_string(),
            format!("cargo build -p {}", binary.package),
        ),
    }
}

fn own_binaries(config: &LabConfig) -> Vec<Item> {
    let mut items = Vec::new();
    if config.services.contains(&Service::Smtp) {
        items.push(own_binary(SMTP_SINK, config.binaries.smtp_sink.as_deref()));
    }
    if config.services.contains(&Service::Tenant) {
        items.push(own_binary(
            MOCK_TENANT,
            config.binaries.mock_tenant.as_deref(),
        ));
    }
    items
}

fn host_program(name: &str, env: &str, package: &str) -> Item {
    match binaries::host_program(name, env, package) {
        Ok(path) => Item::ok(name, path.display().to_string()),
        // The variable wins over PATH: a wrong one is fixed there.
        Err(e) if std::env::var_os(env).is_some() => Item::missing(
            name,
            e.to_string(),
            format!(
                "point {env} at {name}, or unset it to use the installed one (apt-get install {package})"
            ),
        ),
        Err(e) => Item::missing(
            name,
            e.to_string(),
            format!("apt-get install {package} (or {PEERS_INSTALL})"),
        ),
    }
}

/// The local runtime: the host's slapd (with slapadd and the OpenLDAP schema), nginx and `sh`,
/// our two binaries, and a loopback port to listen on.
fn local_items(config: &LabConfig) -> Vec<Item> {
    let mut items = Vec::new();
    if config.services.contains(&Service::Directory) {
        items.push(host_program("slapd", "SMIME_LAB_SLAPD", "slapd"));
        items.push(host_program("slapadd", "SMIME_LAB_SLAPADD", "slapd"));
        let dir = Path::new("/nonexistent-smime-lab-doctor");
        items.push(match SlapdLayout::host(dir, dir) {
            Ok(layout) => Item::ok("OpenLDAP schema", layout.schema_dir.display().to_string()),
            Err(e) => Item::missing(
                "OpenLDAP schema",
                e.to_string(),
                format!("apt-get install slapd ldap-utils (or {PEERS_INSTALL})"),
            ),
        });
        items.push(host_program("sh", "SMIME_LAB_SH", "dash"));
    }
    if config.services.contains(&Service::PkiWeb) {
        items.push(host_program("nginx", "SMIME_LAB_NGINX", "nginx"));
    }
    items.extend(own_binaries(config));
    items.push(loopback_ports());
    items
}

/// Every service listens on a port picked free on 127.0.0.1 at start: a port in use elsewhere
/// is never a conflict, but the loopback interface must take listeners.
fn loopback_ports() -> Item {
    match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => Item::ok(
            "loopback ports",
            format!(
                "127.0.0.1 takes listeners (e.g. {}); each service gets a free port, so ports in use elsewhere do not matter",
                addr.port()
            ),
        ),
        Err(e) => Item::missing(
            "loopback ports",
            format!("cannot listen on 127.0.0.1: {e}"),
            "bring the loopback interface up (`ip link set lo up`)",
        ),
    }
}

/// The containers runtime: an engine that answers, every image present and built from this
/// checkout's recipe, our two binaries (copied into the containers).
async fn container_items(config: &LabConfig) -> Vec<Item> {
    let mut items = Vec::new();
    let host = std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
    match crate::Containers.image_states(config).await {
        Err(e) => {
            items.push(Item::missing(
                "Docker engine",
                e.to_string(),
                if std::env::var_os("DOCKER_HOST").is_some() {
                    "start the engine DOCKER_HOST names, or unset DOCKER_HOST".to_owned()
                } else {
                    "install and start Docker (Debian: `apt-get install docker.io && service docker start`), or use --runtime local".to_owned()
                },
            ));
            for recipe in recipes(config) {
                items.push(Item::missing(
                    format!("image {}", recipe.reference()),
                    "not checked: no engine",
                    "cargo xtask images",
                ));
            }
        }
        Ok(states) => {
            items.push(Item::ok("Docker engine", host));
            for (recipe, state) in states {
                let name = format!("image {}", recipe.reference());
                items.push(match state {
                    Ok(()) => Item::ok(name, "present, built from this checkout's recipe"),
                    Err(e @ LabError::ImageOutdated { .. }) => {
                        Item::missing(name, format!("stale: {e}"), "cargo xtask images")
                    }
                    Err(e) => Item::missing(name, e.to_string(), "cargo xtask images"),
                });
            }
        }
    }
    items.extend(own_binaries(config));
    items
}

/// Each image the services need, once (when no engine answers to say it).
fn recipes(config: &LabConfig) -> Vec<ImageRecipe> {
    let mut seen = BTreeSet::new();
    config
        .services
        .iter()
        .map(|s| images::for_service(*s))
        .filter(|r| seen.insert(r.name))
        .collect()
}

/// What `cargo xtask images` needs: the docker CLI, mmdebstrap, and a mode for it (root, or
/// unshare for another user). Not needed to run a lab whose images are current.
fn image_build_items() -> Vec<Item> {
    let mut items = Vec::new();
    for (program, fix) in [
        (
            "docker",
            "install the Docker CLI (Debian: `apt-get install docker.io`)",
        ),
        ("mmdebstrap", "apt-get install mmdebstrap"),
    ] {
        items.push(
            match on_path(program) {
                Some(path) => Item::ok(program, path.display().to_string()),
                None => Item::missing(program, "not on PATH", fix),
            }
            .optional(),
        );
    }
    items.push(image_build_mode().optional());
    items
}

/// How mmdebstrap can run here: root mode as root, unshare mode for another user with
/// `newuidmap`/`newgidmap` and subordinate ids (what `cargo xtask images` picks the same way).
fn image_build_mode() -> Item {
    const NAME: &str = "mmdebstrap mode";
    let uid = match effective_uid() {
        Some(0) => return Item::ok(NAME, "root mode (running as root)"),
        Some(uid) => uid,
        None => {
            return Item::missing(
                NAME,
                "cannot tell the user (no `id` command)",
                "run `cargo xtask images` as root",
            );
        }
    };
    let user = std::env::var("USER").unwrap_or_default();
    let has_range = |file: &str| {
        std::fs::read_to_string(file).is_ok_and(|text| {
            text.lines()
                .any(|l| !user.is_empty() && l.split(':').next() == Some(user.as_str()))
        })
    };
    if on_path("newuidmap").is_none() || on_path("newgidmap").is_none() {
        Item::missing(
            NAME,
            format!("uid {uid}: the unshare mode needs newuidmap and newgidmap"),
            "apt-get install uidmap (as root), or run `cargo xtask images` as root",
        )
    } else if !has_range("/etc/subuid") || !has_range("/etc/subgid") {
        Item::missing(
            NAME,
            format!("uid {uid}: no subordinate ids for {user:?} in /etc/subuid and /etc/subgid"),
            format!(
                "as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}"
            ),
        )
    } else {
        Item::ok(
            NAME,
            format!("unshare mode (uid {uid}, newuidmap, subordinate ids for {user})"),
        )
    }
}

fn on_path(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The effective user id, from `id -u` (the workspace forbids the unsafe call to libc).
fn effective_uid() -> Option<u32> {
    let output = std::process::Command::new("id").arg("-u").output().ok()?;
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doctor(local_ok: bool, containers_ok: bool) -> Doctor {
        let item = |name: &str, ok: bool| Item {
            name: name.to_owned(),
            ok,
            detail: if ok { "here" } else { "gone" }.to_owned(),
            fix: (!ok).then(|| format!("install {name}")),
            required: true,
        };
        Doctor {
            local: vec![item("nginx", true), item("slapd", local_ok)],
            containers: vec![item("Docker engine", containers_ok)],
            // Never decides: building images is not running a lab.
            image_build: vec![item("mmdebstrap", false).optional()],
        }
    }

    #[test]
    fn auto_prefers_containers_then_local_then_says_why_neither() {
        let (kind, _) = doctor(true, true)
            .runnable(RuntimeChoice::Auto)
            .expect("runs");
        assert_eq!(kind, RuntimeKind::Containers);
        let (kind, why) = doctor(true, false)
            .runnable(RuntimeChoice::Auto)
            .expect("runs");
        assert_eq!(kind, RuntimeKind::Local);
        assert!(
            why.contains("Docker engine: gone (fix: install Docker engine)"),
            "{why}"
        );
        let reason = doctor(false, false)
            .runnable(RuntimeChoice::Auto)
            .expect_err("cannot run");
        assert_eq!(
            reason,
            "neither runtime can run here: containers: Docker engine: gone (fix: install Docker \
             engine); local: slapd: gone (fix: install slapd)"
        );
    }

    #[test]
    fn an_explicit_runtime_is_judged_alone() {
        let reason = doctor(false, true)
            .runnable(RuntimeChoice::Local)
            .expect_err("no slapd");
        assert!(
            reason.starts_with("the local runtime was asked for"),
            "{reason}"
        );
        let (kind, _) = doctor(false, true)
            .runnable(RuntimeChoice::Containers)
            .expect("containers run");
        assert_eq!(kind, RuntimeKind::Containers);
        assert!(
            doctor(true, false)
                .runnable(RuntimeChoice::Containers)
                .is_err()
        );
    }
}
