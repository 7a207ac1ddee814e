//! The rollout preflight at organisation size: an LDIF export of N users with two certificates
//! each (the fixture PKI's, as in `organisation`), the fixture collection and CRLs, then
//! `runner::preflight` end to end on a local lab (the LDIF streamed, slapd written, Set-SmimeConfig,
//! one Entra Connect cycle, Outlook's lookup and OWA's check of every user, the report). The
//! figure is the wall time of `read_export` + `run`; beside it the peak RSS (`VmHWM`) of this
//! process from the moment the organisation's files are written (reset through
//! `/proc/self/clear_refs`), which holds the export and the report (the lab's processes are
//! stopped by `run`).
//! Every user shares the same two certificates, issued to alice@contoso.com and
//! carol@contoso.com (issuing 200,000 certificates would measure the PKI). The first user is
//! alice, publishing her own certificate only, and must come out ready; every other user must
//! come out with one finding,
//! PRE-OWA-003 (the certificate Outlook's lookup chose names someone else, so Outlook on the web
//! will not encrypt to them), which the preflight raises only after the certificate's path and
//! CRL validated; anything else makes the row an error.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};
use base64::Engine as _;

use crate::report::Figure;

fn der(pki: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = pki.join(name);
    let pem = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let certificate = smime::certificate::parse_certificates(&pem)
        .with_context(|| format!("{}: not a certificate", path.display()))?
        .into_iter()
        .next()
        .with_context(|| format!("{} holds no certificate", path.display()))?;
    der::Encode::to_der(&certificate).context("encoding a certificate")
}

/// This process's peak resident memory in MB.
fn own_peak_rss_mb() -> anyhow::Result<f64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .context("/proc/self/status has no VmHWM")
}

/// Writes the preflight directory for `size` users. `now` is within the fixture CRLs' validity
/// (2026-01-01 to 2026-01-08): at a later time they are stale, every certificate's revocation
/// status is unknown, and the preflight rightly reports PRE-OWA-002 for every user.
fn write_org(dir: &Path, pki: &Path, size: usize) -> anyhow::Result<()> {
    let values = [der(pki, "alice.crt.pem")?, der(pki, "carol.crt.pem")?];
    let encoded: Vec<String> = values
        .iter()
        .map(|v| base64::engine::general_purpose::STANDARD.encode(v))
        .collect();
    let mut ldif = String::with_capacity(size * 3_000);
    ldif.push_str("version: 1\n\n");
    for n in 0..size {
        let mail = match n {
            0 => "alice@contoso.com".to_owned(),
            _ => format!("user{n:06}@contoso.com"),
        };
        let _ = write!(
            ldif,
            "dn: cn=user{n:06},ou=Staff,dc=contoso,dc=com\nobjectClass: inetOrgPerson\ncn: user{n:06}\nmail: {mail}\n"
        );
        // Alice publishes only her own certificate: the directory keeps a multi-valued
        // attribute's values in no fixed order (the LDAP client sends them as a set), so with
        // both values her lookup would take carol's in some runs.
        let values = if n == 0 { &encoded[..1] } else { &encoded[..] };
        for value in values {
            let _ = writeln!(ldif, "userCertificate;binary:: {value}");
        }
        ldif.push('\n');
    }
    std::fs::write(dir.join("users.ldif"), ldif).context("writing the LDIF")?;
    let chain = [
        std::fs::read(pki.join("root.crt.pem")).context("root.crt.pem")?,
        std::fs::read(pki.join("issuing.crt.pem")).context("issuing.crt.pem")?,
    ]
    .concat();
    std::fs::write(dir.join("collection.pem"), chain).context("writing the collection")?;
    for crl in ["issuing.crl", "root.crl"] {
        std::fs::copy(pki.join(crl), dir.join(crl)).with_context(|| format!("copying {crl}"))?;
    }
    std::fs::write(
        dir.join("preflight.yaml"),
        "organisation: bench\nsst: collection.pem\ndirectory: users.ldif\ncrls: [issuing.crl, root.crl]\n\
internet-reachable: [pki.contoso.com]\nnow: 2026-01-02T00:00:00Z\nhorizon: 0d\n",
    )
    .context("writing preflight.yaml")?;
    Ok(())
}

/// The wall time, and the report's own time per part of the rehearsal.
type Timed = (f64, Vec<(&'static str, u64)>);

async fn end_to_end(dir: &Path, size: usize) -> anyhow::Result<Timed> {
    let pre = runner::preflight::Preflight::read(dir, time::OffsetDateTime::now_utc())?;
    let started = Instant::now();
    let file = std::fs::File::open(&pre.directory_path).context("opening the LDIF")?;
    let export = runner::preflight::directory::read_export(std::io::BufReader::new(file))?;
    let report = runner::preflight::run::run(&pre, export, lab::RuntimeChoice::Local)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let findings: Vec<(&str, usize)> = report.findings.iter().map(|f| (f.id, f.count)).collect();
    let ready = report.totals.ready;
    let expected = vec![(
        runner::preflight::checks::NOT_THE_RECIPIENTS.id,
        size.saturating_sub(1),
    )];
    if report.totals.users != size || ready != 1 || findings != expected {
        bail!(
            "{} of {size} users read, {ready} ready (expected 1, alice), findings {findings:?} \
             (expected {expected:?})",
            report.totals.users,
        );
    }
    Ok((seconds, report.phases_ms))
}

/// The preflight's figures for one organisation size.
pub async fn measure(size: usize, pki: &Path) -> Vec<Figure> {
    let fig = |name: &str, unit: &str, value: anyhow::Result<f64>| {
        Figure::new("preflight", name, unit, value).size(size as u64)
    };
    let work = match tempfile::tempdir().context("creating a temporary directory") {
        Ok(work) => work,
        Err(e) => return vec![fig("preflight end to end", "s", Err(e))],
    };
    // The peak so far belongs to the bench's earlier areas and to writing the organisation's
    // files (the LDIF is built in memory): start the preflight's own count afresh once they are
    // written (`5` resets VmHWM, Linux 4.0 and later).
    let timed = match write_org(work.path(), pki, size) {
        Ok(()) => {
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            end_to_end(work.path(), size).await
        }
        Err(e) => Err(e),
    };
    let big = size >= 100_000;
    let (seconds, phases) = match timed {
        Ok((seconds, phases)) => (Ok(seconds), phases),
        Err(e) => (Err(e), Vec::new()),
    };
    let rate = match &seconds {
        Ok(s) => Ok(size as f64 / s),
        Err(_) => Err(anyhow::anyhow!("see the row above")),
    };
    let mut time = fig("preflight end to end (read, lab, report)", "s", seconds);
    let mut rss = fig(
        "peak RSS, the preflight's own process",
        "MB",
        own_peak_rss_mb(),
    );
    if big {
        time = time.goal("<= 120 s");
        rss = rss.goal("<= 1024 MB");
    }
    let mut figures = vec![time, fig("preflight rate", "users/s", rate), rss];
    figures.extend(
        phases
            .into_iter()
            .map(|(phase, ms)| fig(&format!("  of which {phase}"), "s", Ok(ms as f64 / 1000.0))),
    );
    figures
}
