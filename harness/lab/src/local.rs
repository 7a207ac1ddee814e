//! The local runtime: every service a child process on 127.0.0.1, all files in one temporary
//! directory (`smime-lab-<run id>-*` under the system temp dir) removed when the lab stops.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use tokio::process::Command;

use crate::binaries::{self, MOCK_TENANT, SMTP_SINK};
use crate::endpoints::{
    DirectoryEndpoint, Endpoints, PkiWebEndpoint, SmtpEndpoint, TenantEndpoint,
};
use crate::process::{Ready, Supervised};
use crate::slapd::{self, SlapdLayout};
use crate::{
    Credentials, HostResources, LabConfig, LabError, PkiWebContent, RunningLab, RunningServices,
    Runtime, RuntimeKind, Service, TenantConfig, nginx,
};

/// How long one service may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at a port we picked, in case another process took it between pick and bind.
const PORT_ATTEMPTS: usize = 3;

/// The local-process runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

impl Runtime for Local {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Local
    }

    fn start<'a>(&'a self, config: &'a LabConfig) -> BoxFuture<'a, Result<RunningLab, LabError>> {
        Box::pin(async move {
            config.validate()?;
            let lab = LocalLab::start(config).await?;
            Ok(RunningLab::new(Box::new(lab)))
        })
    }
}

impl Local {
    /// Kills every local service this process started and removes the labs' directories: what an
    /// interrupted owner (Ctrl-C, SIGTERM) calls before `std::process::exit`, since its labs'
    /// `Drop` will not run. Returns (processes killed, directories removed); what was cleaned up
    /// is forgotten, so a second call handles only labs started since.
    pub fn clean_up_this_process(&self) -> (usize, usize) {
        let killed = crate::process::kill_all_of_this_process();
        let dirs: Vec<PathBuf> = LIVE_DIRS
            .lock()
            .map(|mut live| std::mem::take(&mut *live).into_iter().collect())
            .unwrap_or_default();
        let removed = dirs
            .iter()
            .filter(|dir| std::fs::remove_dir_all(dir).is_ok())
            .count();
        (killed, removed)
    }
}

/// The directories of this process's local labs that have not been removed yet (see
/// [`Local::clean_up_this_process`]).
static LIVE_DIRS: std::sync::Mutex<std::collections::BTreeSet<PathBuf>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

fn forget_dir(dir: &Path) {
    if let Ok(mut live) = LIVE_DIRS.lock() {
        live.remove(dir);
    }
}

struct LocalLab {
    // Declared before `dir`: the processes die before their directory is removed.
    services: BTreeMap<Service, LocalService>,
    endpoints: Endpoints,
    dir: Option<tempfile::TempDir>,
}

struct LocalService {
    service: Service,
    dir: PathBuf,
    spec: Spec,
    running: Option<Supervised>,
}

enum Spec {
    Directory {
        sh: PathBuf,
        slapd: PathBuf,
        slapadd: PathBuf,
        layout: SlapdLayout,
        port: u16,
    },
    Smtp {
        program: PathBuf,
        max_size: usize,
        /// 0 until the first start has picked them.
        smtp: u16,
        http: u16,
    },
    Tenant {
        program: PathBuf,
        config: TenantConfig,
        /// `--crl-host` values: each CRL host name to pki-web's address.
        crl_hosts: Vec<String>,
        client_id: String,
        client_secret: String,
        lab_secret: String,
        port: u16,
    },
    PkiWeb {
        nginx: PathBuf,
        docroot: PathBuf,
        probe_path: String,
        port: u16,
    },
}

impl LocalLab {
    async fn start(config: &LabConfig) -> Result<Self, LabError> {
        let run_id = crate::new_run_id();
        let dir = tempfile::Builder::new()
            .prefix(&format!("smime-lab-{run_id}-"))
            .tempdir()
            .map_err(|e| {
                LabError::io(
                    "cannot create a temporary directory in",
                    std::env::temp_dir(),
                    e,
                )
            })?;
        check_plain_path(dir.path())?;
        if let Ok(mut live) = LIVE_DIRS.lock() {
            live.insert(dir.path().to_owned());
        }
        let credentials = Credentials::for_config(config);
        let mut lab = LocalLab {
            services: BTreeMap::new(),
            endpoints: Endpoints {
                run_id,
                runtime: RuntimeKind::Local,
                directory: None,
                smtp: None,
                tenant: None,
                pki_web: None,
            },
            dir: Some(dir),
        };
        match lab.start_all(config, &credentials).await {
            Ok(()) => Ok(lab),
            Err(error) => {
                // Best effort: the error that matters is the first one.
                let _ = lab.shutdown().await;
                Err(error)
            }
        }
    }

    fn root(&self) -> Result<&Path, LabError> {
        self.dir
            .as_ref()
            .map(tempfile::TempDir::path)
            .ok_or_else(|| LabError::Other("the lab was stopped".into()))
    }

    async fn start_all(
        &mut self,
        config: &LabConfig,
        credentials: &Credentials,
    ) -> Result<(), LabError> {
        let root = self.root()?.to_owned();
        for service in start_order(&config.services) {
            let dir = root.join(service.name());
            std::fs::create_dir_all(&dir).map_err(|e| LabError::io("cannot create", &dir, e))?;
            let pki_web_port = self
                .services
                .get(&Service::PkiWeb)
                .and_then(|s| match s.spec {
                    Spec::PkiWeb { port, .. } => Some(port),
                    _ => None,
                });
            let spec = prepare(service, &dir, config, credentials, pki_web_port)?;
            let mut local = LocalService {
                service,
                dir,
                spec,
                running: None,
            };
            local.launch_first().await?;
            self.services.insert(service, local);
        }
        for local in self.services.values() {
            local.describe(&mut self.endpoints, config, credentials);
        }
        Ok(())
    }

    async fn shutdown(&mut self) -> Result<(), LabError> {
        let mut first_error = None;
        for local in self.services.values_mut() {
            if let Some(running) = local.running.take()
                && let Err(e) = running.kill().await
            {
                first_error.get_or_insert(e);
            }
        }
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_owned();
            forget_dir(&path);
            if let Err(e) = dir.close() {
                first_error.get_or_insert(LabError::io("cannot remove", path, e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for LocalLab {
    fn drop(&mut self) {
        // The services' `Drop` kills them, and the directory's removes it.
        if let Some(dir) = &self.dir {
            forget_dir(dir.path());
        }
    }
}

/// slapd.conf and nginx.conf take paths unquoted: keep the temporary directory's path plain.
fn check_plain_path(path: &Path) -> Result<(), LabError> {
    let plain = path.to_str().is_some_and(|s| {
        s.chars().all(|c| {
            c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | ';' | '#' | '{' | '}')
        })
    });
    if plain {
        Ok(())
    } else {
        Err(LabError::Config(format!(
            "the temporary directory {} has spaces, quotes or other characters slapd.conf and nginx.conf cannot take: set TMPDIR to a plain path",
            path.display()
        )))
    }
}

/// The order services start in: the configured one, except that pki-web comes before the tenant,
/// which is told pki-web's port for its CRL host map (a port that stays across restarts).
fn start_order(services: &std::collections::BTreeSet<Service>) -> Vec<Service> {
    let mut order: Vec<Service> = services.iter().copied().collect();
    if let (Some(tenant), Some(pki_web)) = (
        order.iter().position(|s| *s == Service::Tenant),
        order.iter().position(|s| *s == Service::PkiWeb),
    ) && pki_web > tenant
    {
        let moved = order.remove(pki_web);
        order.insert(tenant, moved);
    }
    order
}

/// Writes a service's files and finds its programs. `pki_web_port` is pki-web's, when it has
/// started already.
fn prepare(
    service: Service,
    dir: &Path,
    config: &LabConfig,
    credentials: &Credentials,
    pki_web_port: Option<u16>,
) -> Result<Spec, LabError> {
    Ok(match service {
        Service::Directory => {
            let slapd = binaries::host_program("slapd", "SMIME_LAB_SLAPD", "slapd")?;
            let slapadd = binaries::host_program("slapadd", "SMIME_LAB_SLAPADD", "slapd")?;
            let sh = binaries::host_program("sh", "SMIME_LAB_SH", "dash")?;
            let layout = SlapdLayout::host(dir, &dir.join("db"))?;
            write_private(
                &layout.conf_file(),
                slapd::slapd_conf(&layout, &config.directory, &credentials.directory_password)
                    .as_bytes(),
            )?;
            write_private(
                &layout.base_ldif(),
                slapd::base_ldif(&config.directory)?.as_bytes(),
            )?;
            Spec::Directory {
                sh,
                slapd,
                slapadd,
                layout,
                port: free_port()?,
            }
        }
        Service::Smtp => {
            let data = dir.join("data");
            std::fs::create_dir_all(&data).map_err(|e| LabError::io("cannot create", &data, e))?;
            Spec::Smtp {
                program: SMTP_SINK.locate(config.binaries.smtp_sink.as_deref())?,
                max_size: config.smtp.max_message_size,
                smtp: 0,
                http: 0,
            }
        }
        Service::Tenant => {
            let data = dir.join("data");
            std::fs::create_dir_all(&data).map_err(|e| LabError::io("cannot create", &data, e))?;
            let mut crl_hosts = match (config.tenant.crl_hosts.as_slice(), pki_web_port) {
                ([], _) => Vec::new(),
                (hosts, Some(port)) => hosts
                    .iter()
                    .map(|host| format!("{host}=127.0.0.1:{port}"))
                    .collect(),
                (_, None) => {
                    return Err(LabError::Config(
                        "tenant.crl_hosts are mapped to pki-web, which has not started".into(),
                    ));
                }
            };
            crl_hosts.extend(
                config
                    .tenant
                    .unreachable_crl_hosts
                    .iter()
                    .map(|host| format!("{host}=127.0.0.1:{}", crate::config::UNREACHABLE_PORT)),
            );
            Spec::Tenant {
                program: MOCK_TENANT.locate(config.binaries.mock_tenant.as_deref())?,
                config: config.tenant.clone(),
                crl_hosts,
                client_id: credentials.client_id.clone(),
                client_secret: credentials.client_secret.clone(),
                lab_secret: credentials.lab_secret.clone(),
                port: 0,
            }
        }
        Service::PkiWeb => {
            let nginx = binaries::host_program("nginx", "SMIME_LAB_NGINX", "nginx")?;
            let docroot = dir.join("root");
            write_docroot(&docroot, &config.pki_web)?;
            let tmp = dir.join("tmp");
            std::fs::create_dir_all(&tmp).map_err(|e| LabError::io("cannot create", &tmp, e))?;
            Spec::PkiWeb {
                nginx,
                docroot,
                probe_path: config.pki_web.probe_path(),
                port: free_port()?,
            }
        }
    })
}

/// pki-web's files below `docroot` (created).
fn write_docroot(docroot: &Path, content: &PkiWebContent) -> Result<(), LabError> {
    std::fs::create_dir_all(docroot).map_err(|e| LabError::io("cannot create", docroot, e))?;
    for (path, bytes) in content.files() {
        let target = docroot.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| LabError::io("cannot create", parent, e))?;
        }
        std::fs::write(&target, bytes).map_err(|e| LabError::io("cannot write", &target, e))?;
    }
    Ok(())
}

/// Removes a directory tree; one that is not there is fine.
fn remove_tree(dir: &Path) -> Result<(), LabError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(LabError::io("cannot remove", dir, e))
        }
        _ => Ok(()),
    }
}

/// Configuration holding passwords: readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), LabError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| LabError::io("cannot create", path, e))?;
    file.write_all(bytes)
        .map_err(|e| LabError::io("cannot write", path, e))
}

/// A port free on 127.0.0.1 right now, for programs that cannot report the one they bound.
fn free_port() -> Result<u16, LabError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| LabError::Other(format!("cannot find a free port on 127.0.0.1: {e}")))
}

/// The `{"smtp":..,"http":..}` / `{"http":..}` line our binaries print when ready.
#[derive(Debug, Deserialize)]
struct ReadyLine {
    smtp: Option<String>,
    http: Option<String>,
}

fn port_of(address: Option<&str>) -> Option<u16> {
    address?
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.port())
}

impl LocalService {
    /// The first start: ports we picked may have been taken meanwhile, so pick again.
    async fn launch_first(&mut self) -> Result<(), LabError> {
        let mut attempt = 1;
        loop {
            match self.launch().await {
                Err(LabError::Exited { output, .. })
                    if attempt < PORT_ATTEMPTS && output.contains("in use") =>
                {
                    attempt += 1;
                    match &mut self.spec {
                        Spec::Directory { port, .. } | Spec::PkiWeb { port, .. } => {
                            *port = free_port()?
                        }
                        Spec::Smtp { .. } | Spec::Tenant { .. } => {
                            return Err(LabError::Other(format!(
                                "{}: port in use although it picked its own: {output}",
                                self.service
                            )));
                        }
                    }
                }
                other => return other,
            }
        }
    }

    async fn launch(&mut self) -> Result<(), LabError> {
        if let Some(running) = &mut self.running {
            if !running.has_exited() {
                return Ok(());
            }
            // It died on its own (crashed, or killed from outside the lab): start it again.
            self.running = None;
        }
        let log = self.dir.join(format!("{}.log", self.service.name()));
        let service = self.service;
        let (running, ()) = match &mut self.spec {
            Spec::Directory {
                sh,
                slapd,
                slapadd,
                layout,
                port,
            } => {
                let script = slapd::start_script(
                    layout,
                    slapd,
                    slapadd,
                    &format!("ldap://127.0.0.1:{port}/"),
                );
                let mut command = Command::new(&*sh);
                command.arg("-c").arg(script);
                let mut matcher = |line: &str| line.contains(slapd::READY_LINE).then_some(());
                let started = tokio::time::Instant::now();
                let (running, ()) = Supervised::start(
                    service,
                    command,
                    &log,
                    Ready::Line(&mut matcher),
                    READY_TIMEOUT,
                )
                .await?;
                // slapd prints its line just before its listener thread calls listen().
                let host_port = format!("127.0.0.1:{port}");
                while !crate::probe::server_alive(&host_port).await {
                    if started.elapsed() > READY_TIMEOUT {
                        let output = running.tail();
                        let _ = running.kill().await;
                        return Err(LabError::NotReady {
                            service,
                            waited: READY_TIMEOUT,
                            detail: format!("it said it started but {host_port} does not answer"),
                            output,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                (running, ())
            }
            Spec::Smtp {
                program,
                max_size,
                smtp,
                http,
            } => {
                let mut command = Command::new(&*program);
                command
                    .arg("--smtp")
                    .arg(format!("127.0.0.1:{smtp}"))
                    .arg("--http")
                    .arg(format!("127.0.0.1:{http}"))
                    .arg("--max-size")
                    .arg(max_size.to_string())
                    .arg("--data-dir")
                    .arg(self.dir.join("data"))
                    // The lab's directory is thrown away: a message must survive the sink being
                    // killed (it does without a flush), not the machine crashing.
                    .arg("--no-fsync")
                    .arg("--hostname")
                    .arg("smtp-sink.lab");
                let mut matcher = |line: &str| {
                    let ready: ReadyLine = serde_json::from_str(line).ok()?;
                    Some((
                        port_of(ready.smtp.as_deref())?,
                        port_of(ready.http.as_deref())?,
                    ))
                };
                let (running, (smtp_port, http_port)) = Supervised::start(
                    service,
                    command,
                    &log,
                    Ready::Line(&mut matcher),
                    READY_TIMEOUT,
                )
                .await?;
                *smtp = smtp_port;
                *http = http_port;
                (running, ())
            }
            Spec::Tenant {
                program,
                config,
                crl_hosts,
                client_id,
                client_secret,
                lab_secret,
                port,
            } => {
                let mut command = Command::new(&*program);
                command
                    .arg("--listen")
                    .arg(format!("127.0.0.1:{port}"))
                    .arg("--tenant")
                    .arg(&config.tenant)
                    .arg("--client-id")
                    .arg(&*client_id)
                    .arg("--data-dir")
                    .arg(self.dir.join("data"))
                    // The secret goes through the environment, not the process list.
                    .env("MOCK_TENANT_CLIENT_SECRET", &*client_secret)
                    .env("MOCK_TENANT_LAB_SECRET", &*lab_secret);
                if let Some(now) = &config.now {
                    command.arg("--now").arg(now);
                }
                if !config.users.is_empty() {
                    command.arg("--users").arg(config.users.join(","));
                }
                for entry in crl_hosts.iter() {
                    command.arg("--crl-host").arg(entry);
                }
                let mut matcher = |line: &str| {
                    let ready: ReadyLine = serde_json::from_str(line).ok()?;
                    port_of(ready.http.as_deref())
                };
                let (running, bound) = Supervised::start(
                    service,
                    command,
                    &log,
                    Ready::Line(&mut matcher),
                    READY_TIMEOUT,
                )
                .await?;
                *port = bound;
                (running, ())
            }
            Spec::PkiWeb {
                nginx,
                docroot,
                probe_path,
                port,
            } => {
                let conf = self.dir.join("nginx.conf");
                std::fs::write(
                    &conf,
                    nginx::nginx_conf(&self.dir, docroot, &format!("127.0.0.1:{port}")),
                )
                .map_err(|e| LabError::io("cannot write", &conf, e))?;
                let mut command = Command::new(&*nginx);
                command
                    .arg("-p")
                    .arg(&self.dir)
                    .arg("-c")
                    .arg(&conf)
                    // Before the configuration is read, nginx would log to its compiled-in path.
                    .arg("-e")
                    .arg("stderr");
                let host_port = format!("127.0.0.1:{port}");
                Supervised::start(
                    service,
                    command,
                    &log,
                    Ready::Http {
                        host_port: &host_port,
                        path: probe_path,
                        value: (),
                    },
                    READY_TIMEOUT,
                )
                .await?
            }
        };
        self.running = Some(running);
        Ok(())
    }

    fn describe(&self, endpoints: &mut Endpoints, config: &LabConfig, credentials: &Credentials) {
        match &self.spec {
            Spec::Directory { port, .. } => {
                let url = format!("ldap://127.0.0.1:{port}");
                endpoints.directory = Some(DirectoryEndpoint {
                    lab_url: url.clone(),
                    url,
                    suffix: config.directory.suffix.clone(),
                    bind_dn: config.directory.admin_dn(),
                    password: credentials.directory_password.clone(),
                });
            }
            Spec::Smtp { smtp, http, .. } => {
                let smtp = std::net::SocketAddr::from(([127, 0, 0, 1], *smtp));
                let http_url = format!("http://127.0.0.1:{http}");
                endpoints.smtp = Some(SmtpEndpoint {
                    smtp,
                    lab_smtp: smtp.to_string(),
                    lab_http_url: http_url.clone(),
                    http_url,
                });
            }
            Spec::Tenant {
                config,
                client_id,
                client_secret,
                lab_secret,
                port,
                ..
            } => {
                let url = format!("http://127.0.0.1:{port}");
                endpoints.tenant = Some(TenantEndpoint {
                    lab_url: url.clone(),
                    url,
                    tenant: config.tenant.clone(),
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    lab_secret: lab_secret.clone(),
                });
            }
            Spec::PkiWeb { port, .. } => {
                let url = format!("http://127.0.0.1:{port}");
                endpoints.pki_web = Some(PkiWebEndpoint {
                    lab_url: url.clone(),
                    url,
                });
            }
        }
    }
}

impl RunningServices for LocalLab {
    fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    fn stop_service(&mut self, service: Service) -> BoxFuture<'_, Result<(), LabError>> {
        Box::pin(async move {
            let local = self
                .services
                .get_mut(&service)
                .ok_or(LabError::NotInLab(service))?;
            match local.running.take() {
                Some(running) => running.kill().await,
                None => Ok(()),
            }
        })
    }

    fn start_service(&mut self, service: Service) -> BoxFuture<'_, Result<(), LabError>> {
        Box::pin(async move {
            let local = self
                .services
                .get_mut(&service)
                .ok_or(LabError::NotInLab(service))?;
            local.launch().await
        })
    }

    fn stop(&mut self) -> BoxFuture<'_, Result<(), LabError>> {
        Box::pin(self.shutdown())
    }

    fn replace_pki_web<'a>(
        &'a mut self,
        content: &'a PkiWebContent,
    ) -> BoxFuture<'a, Result<(), LabError>> {
        Box::pin(async move {
            let local = self
                .services
                .get_mut(&Service::PkiWeb)
                .ok_or(LabError::NotInLab(Service::PkiWeb))?;
            let Spec::PkiWeb {
                docroot,
                probe_path,
                ..
            } = &mut local.spec
            else {
                return Err(LabError::NotInLab(Service::PkiWeb));
            };
            // nginx opens each file per request: the new tree is built beside the old one and
            // swapped in by renames, so no request sees a half-written file.
            let fresh = docroot.with_extension("new");
            let old = docroot.with_extension("old");
            for leftover in [&fresh, &old] {
                remove_tree(leftover)?;
            }
            write_docroot(&fresh, content)?;
            std::fs::rename(&*docroot, &old)
                .map_err(|e| LabError::io("cannot move aside", &*docroot, e))?;
            std::fs::rename(&fresh, &*docroot)
                .map_err(|e| LabError::io("cannot move into place", &fresh, e))?;
            remove_tree(&old)?;
            *probe_path = content.probe_path();
            Ok(())
        })
    }

    fn host_resources(&self) -> HostResources {
        HostResources {
            processes: self
                .services
                .values()
                .filter_map(|local| local.running.as_ref().and_then(Supervised::pid))
                .collect(),
            directory: self.dir.as_ref().map(|d| d.path().to_owned()),
            ..HostResources::default()
        }
    }

    fn logs_hint(&self, service: Service) -> String {
        match self.services.get(&service) {
            Some(local) => local
                .dir
                .join(format!("{}.log", service.name()))
                .display()
                .to_string(),
            None => format!("({service} is not part of this lab)"),
        }
    }
}
