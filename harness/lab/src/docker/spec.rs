//! What each service's container is made of: image, command, environment, ports, the files
//! and directories copied in, and how it says it is ready.

use super::lab::DockerLab;
use super::portable;
use super::ready::ReadyCheck;
use crate::binaries::{MOCK_TENANT, SMTP_SINK};
use crate::images::{self, ImageRecipe};
use crate::slapd::{self, SlapdLayout};
use crate::{LabError, Service, nginx};

/// One file to copy into a container before it starts.
/// Where pki-web's nginx serves files from, in its container.
pub(super) const PKI_DOCROOT: &str = "/srv/pki";

pub(super) struct FileIn {
    pub(super) path: String,
    pub(super) bytes: Vec<u8>,
    pub(super) mode: u32,
}

/// What a service's container is made of.
pub(super) struct ContainerSpec {
    pub(super) image: ImageRecipe,
    pub(super) cmd: Vec<String>,
    pub(super) env: Vec<String>,
    pub(super) ports: Vec<u16>,
    pub(super) files: Vec<FileIn>,
    pub(super) dirs: Vec<String>,
    pub(super) ready: ReadyCheck,
}

impl DockerLab {
    /// The container for one service.
    pub(super) fn spec(&self, service: Service) -> Result<ContainerSpec, LabError> {
        let config = &self.config;
        Ok(match service {
            Service::Directory => {
                let layout = SlapdLayout::debian(
                    std::path::Path::new("/etc/smime-lab"),
                    std::path::Path::new("/var/lib/smime-lab/db"),
                );
                let conf = slapd::slapd_conf(
                    &layout,
                    &config.directory,
                    &self.credentials.directory_password,
                );
                let script = slapd::start_script(
                    &layout,
                    std::path::Path::new("/usr/sbin/slapd"),
                    std::path::Path::new("/usr/sbin/slapadd"),
                    "ldap:///",
                );
                ContainerSpec {
                    image: images::DIRECTORY,
                    cmd: vec!["/bin/sh".into(), "-c".into(), script],
                    env: Vec::new(),
                    ports: vec![389],
                    files: vec![
                        FileIn {
                            path: layout.conf_file().display().to_string(),
                            bytes: conf.into_bytes(),
                            mode: 0o600,
                        },
                        FileIn {
                            path: layout.base_ldif().display().to_string(),
                            bytes: slapd::base_ldif(&config.directory)?.into_bytes(),
                            mode: 0o600,
                        },
                    ],
                    dirs: vec!["/var/lib/smime-lab/db".into()],
                    ready: ReadyCheck::Line {
                        needle: slapd::READY_LINE,
                        // slapd prints its line just before it listens.
                        alive: Some(389),
                    },
                }
            }
            Service::Smtp => {
                let program = SMTP_SINK.locate(config.binaries.smtp_sink.as_deref())?;
                let bytes = std::fs::read(&program)
                    .map_err(|e| LabError::io("cannot read", &program, e))?;
                portable::check(&program, &bytes, self.engine.arch.as_deref())?;
                ContainerSpec {
                    image: images::BASE,
                    cmd: [
                        "/usr/local/bin/smtp-sink",
                        "--smtp",
                        "0.0.0.0:25",
                        "--http",
                        "0.0.0.0:8025",
                        "--data-dir",
                        "/var/lib/smtp-sink",
                        // As in the local runtime: a throwaway directory (local.rs says why).
                        "--no-fsync",
                        "--hostname",
                        "smtp-sink.lab",
                        "--max-size",
                    ]
                    .into_iter()
                    .map(str::to_owned)
                    .chain([config.smtp.max_message_size.to_string()])
                    .collect(),
                    env: Vec::new(),
                    ports: vec![25, 8025],
                    files: vec![FileIn {
                        path: "/usr/local/bin/smtp-sink".into(),
                        bytes,
                        mode: 0o755,
                    }],
                    dirs: vec!["/var/lib/smtp-sink".into()],
                    ready: ReadyCheck::Line {
                        needle: "\"smtp\"",
                        alive: None,
                    },
                }
            }
            Service::Tenant => {
                let program = MOCK_TENANT.locate(config.binaries.mock_tenant.as_deref())?;
                let bytes = std::fs::read(&program)
                    .map_err(|e| LabError::io("cannot read", &program, e))?;
                portable::check(&program, &bytes, self.engine.arch.as_deref())?;
                let mut cmd: Vec<String> = [
                    "/usr/local/bin/mock-tenant",
                    "--listen",
                    "0.0.0.0:80",
                    "--data-dir",
                    "/var/lib/mock-tenant",
                    "--tenant",
                ]
                .into_iter()
                .map(str::to_owned)
                .collect();
                cmd.push(config.tenant.tenant.clone());
                // Links it hands out name it as the lab network does; the runner follows their
                // path on the address it reaches the tenant at.
                cmd.push("--public-url".into());
                cmd.push(format!("http://{}", Service::Tenant.name()));
                cmd.push("--client-id".into());
                cmd.push(self.credentials.client_id.clone());
                if let Some(now) = &config.tenant.now {
                    cmd.push("--now".into());
                    cmd.push(now.clone());
                }
                if !config.tenant.users.is_empty() {
                    cmd.push("--users".into());
                    cmd.push(config.tenant.users.join(","));
                }
                // pki-web by its name on the run's network; resolved when a CRL is fetched, so
                // the start order does not matter.
                for host in &config.tenant.crl_hosts {
                    cmd.push("--crl-host".into());
                    cmd.push(format!("{host}={}:80", Service::PkiWeb.name()));
                }
                // A port pki-web does not listen on: refused at once, like a host out of reach.
                for host in &config.tenant.unreachable_crl_hosts {
                    cmd.push("--crl-host".into());
                    cmd.push(format!(
                        "{host}={}:{}",
                        Service::PkiWeb.name(),
                        crate::config::UNREACHABLE_PORT
                    ));
                }
                ContainerSpec {
                    image: images::BASE,
                    cmd,
                    env: vec![
                        format!(
                            "MOCK_TENANT_CLIENT_SECRET={}",
                            self.credentials.client_secret
                        ),
                        format!("MOCK_TENANT_LAB_SECRET={}", self.credentials.lab_secret),
                    ],
                    ports: vec![80],
                    files: vec![FileIn {
                        path: "/usr/local/bin/mock-tenant".into(),
                        bytes,
                        mode: 0o755,
                    }],
                    dirs: vec!["/var/lib/mock-tenant".into()],
                    ready: ReadyCheck::Line {
                        needle: "\"http\"",
                        alive: None,
                    },
                }
            }
            Service::PkiWeb => {
                let prefix = std::path::Path::new("/var/lib/smime-lab/nginx");
                let docroot = std::path::Path::new(PKI_DOCROOT);
                let conf = nginx::nginx_conf(prefix, docroot, "80");
                let mut files = vec![FileIn {
                    path: "/etc/smime-lab/nginx.conf".into(),
                    bytes: conf.into_bytes(),
                    mode: 0o644,
                }];
                files.extend(config.pki_web.files().iter().map(|(path, bytes)| FileIn {
                    path: docroot.join(path).display().to_string(),
                    bytes: bytes.clone(),
                    mode: 0o644,
                }));
                ContainerSpec {
                    image: images::PKI_WEB,
                    cmd: [
                        "nginx",
                        "-p",
                        "/var/lib/smime-lab/nginx/",
                        "-c",
                        "/etc/smime-lab/nginx.conf",
                        "-e",
                        "stderr",
                    ]
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                    env: Vec::new(),
                    ports: vec![80],
                    files,
                    dirs: vec![PKI_DOCROOT.into(), "/var/lib/smime-lab/nginx/tmp".into()],
                    ready: ReadyCheck::Http {
                        container_port: 80,
                        path: config.pki_web.probe_path(),
                    },
                }
            }
        })
    }
}
