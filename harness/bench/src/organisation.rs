//! The directory at organisation size: publish N users with two certificates each (step 1), one
//! full Entra Connect cycle, one delta cycle with 1% of the users changed (step 3), and Outlook's
//! certificate lookup of every recipient, on a local lab (slapd + mock-tenant), whose processes'
//! peak RSS (`VmHWM`) is read from /proc at the end.
//!
//! Anchors, against the same slapd in the same run: `ldapadd` of an LDIF holding the same
//! entries (under `ou=anchor`), and a paged `ldapsearch` (`-E pr=500`) reading them back.
//!
//! The runner's functions are used through [`Org`] only: its directory client for publishing,
//! and `runner::execute::sync::run_cycle` for both cycles, the same code a scenario's sync step
//! and the preflight run (the directory read in pages, the export in batches).

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use futures_util::StreamExt as _;
use runner::execute::TenantApi;
use runner::execute::directory::{Directory, source_anchor};
use runner::execute::sync::{Cycle, ExportRules, SyncState, run_cycle};
use scenario::plan::DirectoryAttribute;

use crate::report::Figure;

/// Parallel LDAP connections while publishing, and lookup requests in flight: enough to keep two cores
/// busy without measuring connection set-up.
const PARALLEL: usize = 4;
/// The scenario name the source anchors derive from.
const ANCHOR_LABEL: &str = "bench";

/// The certificates every user gets (two at first, the second and a third after the delta's
/// change): fixture certificates, DER. Real organisations have one pair per user; the tenant
/// and slapd treat the bytes alike, and issuing 200 000 certificates would measure the PKI.
struct Certificates([Vec<u8>; 3]);

impl Certificates {
    fn load(pki: &Path) -> anyhow::Result<Self> {
        let one = |name: &str| -> anyhow::Result<Vec<u8>> {
            let path = pki.join(name);
            let pem =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let certificate = smime::certificate::parse_certificates(&pem)
                .with_context(|| format!("{}: not a certificate", path.display()))?
                .into_iter()
                .next()
                .with_context(|| format!("{} holds no certificate", path.display()))?;
            der::Encode::to_der(&certificate).context("encoding a certificate")
        };
        Ok(Certificates([
            one("alice.crt.pem")?,
            one("carol.crt.pem")?,
            one("eve.crt.pem")?,
        ]))
    }
}

fn user_id(n: usize) -> String {
    format!("user{n:06}")
}

fn mail(n: usize) -> String {
    format!("{}@contoso.com", user_id(n))
}

/// The runner's directory and tenant clients, as the bench uses them.
struct Org {
    directory: lab::DirectoryEndpoint,
    tenant: TenantApi,
}

impl Org {
    /// Step 1 for users `range`: the object, then its `userCertificate` values, on one connection.
    async fn publish(
        &self,
        range: std::ops::Range<usize>,
        values: &[Vec<u8>],
    ) -> anyhow::Result<()> {
        let mut directory = Directory::connect(&self.directory).await?;
        for n in range {
            let id = user_id(n);
            let dn = directory
                .add_user(&id, &mail(n), &source_anchor(ANCHOR_LABEL, &id))
                .await?;
            directory
                .replace(&dn, DirectoryAttribute::UserCertificate, values)
                .await?;
        }
        directory.close().await;
        Ok(())
    }

    async fn replace_certificates(&self, dns: &[String], values: &[Vec<u8>]) -> anyhow::Result<()> {
        let mut directory = Directory::connect(&self.directory).await?;
        for dn in dns {
            directory
                .replace(dn, DirectoryAttribute::UserCertificate, values)
                .await?;
        }
        directory.close().await;
        Ok(())
    }

    /// One Entra Connect cycle; an error unless the tenant took exactly `expected` objects.
    async fn cycle(
        &self,
        state: &mut SyncState,
        cycle: Cycle,
        expected: usize,
    ) -> anyhow::Result<()> {
        let result = run_cycle(
            &self.tenant,
            &self.directory,
            state,
            cycle,
            ExportRules::default(),
        )
        .await?;
        if let Some(refused) = result.objects.iter().find(|o| o.action == "error") {
            bail!("the tenant refused an export: {}", refused.line);
        }
        if result.objects.len() != expected {
            bail!(
                "the {cycle:?} cycle exported {} users, expected {expected}",
                result.objects.len()
            );
        }
        Ok(())
    }

    /// Outlook's lookup of these recipients' encryption certificates in one request
    /// (`runner::execute::lookup`, as the preflight and generated populations look up an
    /// organisation); an error unless every one is found.
    async fn lookup(&self, addresses: &[String]) -> anyhow::Result<()> {
        let answers =
            runner::execute::lookup::encryption_certificates(&self.tenant, addresses, None).await?;
        for (address, answer) in addresses.iter().zip(&answers) {
            if answer["found"] != serde_json::Value::Bool(true) {
                bail!("the lookup of {address} found no certificate: {answer}");
            }
        }
        Ok(())
    }
}

/// What the anchors need to talk to slapd: its URL, the bind DN and a 0600 password file (so
/// the password is on no command line).
struct LdapTools<'a> {
    url: &'a str,
    bind_dn: &'a str,
    password_file: &'a Path,
}

impl LdapTools<'_> {
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .args(["-x", "-H", self.url, "-D", self.bind_dn, "-y"])
            .arg(self.password_file)
            .stdin(Stdio::null());
        command
    }
}

/// The LDIF `ldapadd` gets: `ou=anchor` and the same N entries below it.
fn anchor_ldif(suffix: &str, size: usize, values: &[Vec<u8>]) -> String {
    let mut ldif =
        format!("dn: ou=anchor,{suffix}\nobjectClass: organizationalUnit\nou: anchor\n\n");
    for n in 0..size {
        let id = user_id(n);
        ldif.push_str(&format!(
            "dn: cn={id},ou=anchor,{suffix}\nobjectClass: inetOrgPerson\ncn: {id}\nsn: {id}\n\
             displayName: {id}\nmail: {}\nemployeeNumber: {}\n",
            mail(n),
            source_anchor(ANCHOR_LABEL, &id)
        ));
        for value in values {
            ldif.push_str("userCertificate;binary:: ");
            ldif.push_str(&base64::engine::general_purpose::STANDARD.encode(value));
            ldif.push('\n');
        }
        ldif.push('\n');
    }
    ldif
}

/// Runs an LDAP tool to the end; its wall time in seconds.
fn run_tool(mut command: Command, what: &str) -> anyhow::Result<f64> {
    let start = Instant::now();
    let output = command
        .stdout(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {what} (Debian package `ldap-utils`)"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(start.elapsed().as_secs_f64())
}

/// The paged read of the anchor entries; an error unless it returns all `size` of them.
fn paged_search(tools: &LdapTools<'_>, suffix: &str, size: usize) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut command = tools.command("ldapsearch");
    command
        .args(["-LLL", "-E", "pr=500/noprompt", "-b"])
        .arg(format!("ou=anchor,{suffix}"))
        .args([
            "(objectClass=inetOrgPerson)",
            "cn",
            "mail",
            "displayName",
            "employeeNumber",
            "userCertificate;binary",
            "userSMIMECertificate",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command
        .spawn()
        .context("cannot run ldapsearch (Debian package `ldap-utils`)")?;
    let stdout = child.stdout.take().context("ldapsearch's output")?;
    // Counted while streaming: 100 000 entries are hundreds of megabytes of LDIF.
    let mut entries = 0usize;
    for line in BufReader::new(stdout).split(b'\n') {
        if line
            .context("reading ldapsearch's output")?
            .starts_with(b"dn: ")
        {
            entries += 1;
        }
    }
    let status = child.wait().context("waiting for ldapsearch")?;
    let seconds = start.elapsed().as_secs_f64();
    if !status.success() || entries != size {
        bail!("the paged ldapsearch returned {entries} of {size} entries ({status})");
    }
    Ok(seconds)
}

/// Peak resident memory (`VmHWM`) in MB of the lab's process named `comm`.
fn peak_rss_mb(lab: &lab::RunningLab, comm: &str) -> anyhow::Result<f64> {
    for pid in lab.host_resources().processes {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if name.trim() != comm {
            continue;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("cannot read /proc/{pid}/status"))?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .with_context(|| format!("/proc/{pid}/status has no VmHWM"))?;
        return Ok(kb / 1024.0);
    }
    bail!("no {comm} process among the lab's")
}

/// Times `work`, returning seconds.
async fn timed<F: std::future::Future<Output = anyhow::Result<()>>>(
    work: F,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    work.await?;
    Ok(start.elapsed().as_secs_f64())
}

/// Every figure for one organisation size, on a lab of its own.
pub async fn measure(size: usize, pki: &Path) -> Vec<Figure> {
    match measure_inner(size, pki).await {
        Ok(figures) => figures,
        Err(e) => vec![Figure::new("directory", "lab", "s", Err(e)).size(size as u64)],
    }
}

async fn measure_inner(size: usize, pki: &Path) -> anyhow::Result<Vec<Figure>> {
    let certificates = Certificates::load(pki)?;
    let first = certificates.0[..2].to_vec();
    let changed = certificates.0[1..].to_vec();
    let mut config =
        lab::LabConfig::default().only([lab::Service::Directory, lab::Service::Tenant]);
    // Inside the fixture certificates' validity, so that lookups find valid certificates.
    config.tenant.now = Some("2026-06-01T00:00:00Z".into());
    // The local runtime: the processes' peak RSS is read from /proc.
    let lab = lab::start(&config, lab::RuntimeChoice::Local)
        .await
        .context("starting a local lab (slapd + mock-tenant)")?;
    let endpoints = lab.endpoints().clone();
    let directory = endpoints.directory()?.clone();
    let http = reqwest::Client::builder()
        .build()
        .context("building an HTTP client")?;
    let org = Org {
        directory: directory.clone(),
        tenant: TenantApi::new(http, endpoints.tenant()?.clone()),
    };
    let mut figures = Vec::new();
    let fig = |name: &str, unit: &str, value: anyhow::Result<f64>| {
        Figure::new("directory", name, unit, value).size(size as u64)
    };

    // The anchors' password file and LDIF.
    let work = tempfile::tempdir().context("creating a temporary directory")?;
    let password_file = work.path().join("password");
    {
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create_new(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        file.open(&password_file)
            .and_then(|mut f| f.write_all(directory.password.as_bytes()))
            .context("writing the directory password file")?;
    }
    let ldif = work.path().join("anchor.ldif");
    std::fs::write(&ldif, anchor_ldif(&directory.suffix, size, &first))
        .context("writing the anchor LDIF")?;
    let tools = LdapTools {
        url: &directory.url,
        bind_dn: &directory.bind_dn,
        password_file: &password_file,
    };

    // Our work first, on a directory holding only our users; the anchors after it, below
    // `ou=anchor` in the same slapd (a subtree our reads never see).
    let chunk = size.div_ceil(PARALLEL).max(1);
    let publish = timed(async {
        let tasks: Vec<_> = (0..size)
            .step_by(chunk)
            .map(|from| org.publish(from..(from + chunk).min(size), &first))
            .collect();
        for result in futures_util::future::join_all(tasks).await {
            result?;
        }
        Ok(())
    })
    .await;

    let mut state = SyncState::default();
    let full = match &publish {
        Err(_) => Err(anyhow::anyhow!("not run: publishing failed")),
        Ok(_) => timed(org.cycle(&mut state, Cycle::Full, size)).await,
    };

    // 1% changed, then one delta cycle (timed: the read, the selection, the export).
    let changed_dns: Vec<String> = (0..size)
        .step_by(100)
        .map(|n| runner::execute::directory::user_dn(&directory.suffix, &user_id(n)))
        .collect();
    let delta = match &full {
        Err(_) => Err(anyhow::anyhow!("not run: the full cycle failed")),
        Ok(_) => match org.replace_certificates(&changed_dns, &changed).await {
            Err(e) => Err(e.context("changing 1% of the users")),
            Ok(()) => timed(org.cycle(&mut state, Cycle::Delta, changed_dns.len())).await,
        },
    };

    // Outlook's lookup of every recipient.
    let lookups = match &full {
        Err(_) => Err(anyhow::anyhow!("not run: the full cycle failed")),
        Ok(_) => {
            timed(async {
                let addresses: Vec<String> = (0..size).map(mail).collect();
                let mut requests = futures_util::stream::iter(
                    addresses.chunks(runner::execute::lookup::ADDRESSES_PER_REQUEST),
                )
                .map(|chunk| org.lookup(chunk))
                .buffer_unordered(PARALLEL);
                while let Some(result) = requests.next().await {
                    result?;
                }
                Ok(())
            })
            .await
        }
    };

    // The anchors.
    let mut command = tools.command("ldapadd");
    command.arg("-f").arg(&ldif);
    let ldapadd = run_tool(command, "ldapadd");
    let paged = match &ldapadd {
        Ok(_) => paged_search(&tools, &directory.suffix, size),
        Err(_) => Err(anyhow::anyhow!("not run: ldapadd failed")),
    };
    let again = |r: &anyhow::Result<f64>| match r {
        Ok(v) => Ok(*v),
        Err(e) => Err(anyhow::anyhow!("{e:#}")),
    };
    let rate = |seconds: &anyhow::Result<f64>| again(seconds).map(|s| size as f64 / s);
    let total = match (&publish, &full, &lookups) {
        (Ok(p), Ok(f), Ok(l)) => Ok(p + f + l),
        _ => Err(anyhow::anyhow!("a part failed (see its row)")),
    };
    let big = size >= 100_000;

    figures.push(fig("publish", "s", again(&publish)).anchor(
        "ldapadd, same LDIF",
        "s",
        again(&ldapadd),
    ));
    figures.push(fig("publish rate", "users/s", rate(&publish)).anchor(
        "ldapadd, same LDIF",
        "users/s",
        rate(&ldapadd),
    ));
    figures.push(fig("full sync", "s", again(&full)).anchor(
        "ldapsearch, paged",
        "s",
        again(&paged),
    ));
    figures.push(
        fig("full sync rate", "users/s", rate(&full))
            .anchor("ldapsearch, paged", "users/s", rate(&paged))
            .goal(">= 50% of the anchor"),
    );
    figures.push(fig("delta sync, 1% changed", "s", delta).anchor(
        "ldapsearch, paged",
        "s",
        again(&paged),
    ));
    figures.push(
        fig("lookup of every recipient", "s", again(&lookups)).anchor(
            "ldapsearch, paged",
            "s",
            again(&paged),
        ),
    );
    let mut total = fig("publish + full sync + lookups", "s", total).anchor(
        "ldapadd + ldapsearch",
        "s",
        match (&ldapadd, &paged) {
            (Ok(a), Ok(b)) => Ok(a + b),
            _ => Err(anyhow::anyhow!("an anchor failed (see its row)")),
        },
    );
    let mut rss = fig(
        "peak RSS, mock-tenant",
        "MB",
        peak_rss_mb(&lab, "mock-tenant"),
    )
    .anchor("peak RSS, slapd", "MB", peak_rss_mb(&lab, "slapd"));
    if big {
        total = total.goal("<= 60 s");
        rss = rss.goal("<= 500 MB");
    }
    figures.push(total);
    figures.push(rss);
    lab.stop().await.context("stopping the lab")?;
    Ok(figures)
}
