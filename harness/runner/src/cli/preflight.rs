//! `smime-lab preflight DIR` (and `smime-lab scenario run --preflight DIR`, which `cargo xtask
//! run-scenarios --preflight DIR` reaches): the organisation's own material rehearsed on a lab
//! (`runner::preflight`). The description and its files are read before any lab starts; the
//! directory export is streamed. Writes `report.json`, `junit.xml` and `report.html` under
//! `--out` and prints the summary.
//!
//! Exit codes ([`runner::exit`]): 0 every user ready (warnings allowed); 1 a user fails or the
//! collection is refused (a finding); 2 the description, a file it names or the LDIF cannot be
//! used (the message names the file, field or line and DN); 3 the lab could not be run;
//! 130 interrupted.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use runner::preflight::{self, Preflight};

use super::output::{PUBLIC, write_atomically};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The preflight directory: preflight.yaml and the files it names (see fixtures/preflight/).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Where the lab runs: auto (containers when a Docker engine answers and the images are
    /// built, else local), containers, local.
    #[arg(long, default_value = "auto", value_parser = super::scenario_run::parse_runtime)]
    runtime: lab::RuntimeChoice,
    /// Output directory for report.json, junit.xml and report.html.
    #[arg(long, value_name = "DIR", default_value = "target/smime-lab/preflight")]
    out: PathBuf,
    /// Print the report as JSON on standard output (the summary goes to standard error).
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    run_dir(&args.dir, args.runtime, &args.out, args.json)
}

/// The whole command; `scenario run --preflight` calls it too.
pub fn run_dir(
    dir: &Path,
    runtime: lab::RuntimeChoice,
    out: &Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let pre = Preflight::read(dir, time::OffsetDateTime::now_utc())
        .with_context(|| format!("the preflight directory {} cannot be used", dir.display()))?;
    let file = std::fs::File::open(&pre.directory_path)
        .with_context(|| format!("cannot read {}", pre.directory_path.display()))?;
    let export = preflight::directory::read_export(BufReader::new(file)).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}: {e}\n  nothing was run: fix the export (or export again with `ldifde -f FILE` or `ldapsearch -LLL`)",
            pre.directory_path.display(),
            e.line()
        )
    })?;
    if export.users.is_empty() {
        anyhow::bail!(
            "{}: holds no user entry ({} other entries): export the users (objectClass user or inetOrgPerson)",
            pre.directory_path.display(),
            export.other_entries
        );
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let runtime = match tokio.block_on(super::scenario_run::check_machine(runtime)) {
        Ok(runtime) => runtime,
        Err(reason) => {
            eprintln!(
                "error: nothing was run: {reason}\n`smime-lab doctor` lists what this machine has and lacks for each runtime, with the command that installs each."
            );
            return Ok(ExitCode::from(runner::exit::COULD_NOT_RUN));
        }
    };
    eprintln!(
        "preflight of {}: {} users from {} on the {} runtime",
        pre.organisation,
        export.users.len(),
        pre.directory_path.display(),
        super::scenario_run::runtime_name(runtime)
    );
    super::scenario_run::watch_for_interrupts(runtime);
    let report = match tokio.block_on(preflight::run::run(&pre, export, runtime)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: the preflight could not run: {e}");
            return Ok(ExitCode::from(runner::exit::COULD_NOT_RUN));
        }
    };
    let paths = [
        out.join("report.json"),
        out.join("junit.xml"),
        out.join("report.html"),
    ];
    let json_bytes = serde_json::to_vec_pretty(&report).context("serialising the report")?;
    let xml = preflight::report::junit(&report).context("writing the JUnit XML")?;
    let page = preflight::report::html(&report);
    for (path, bytes) in paths
        .iter()
        .zip([json_bytes.as_slice(), xml.as_bytes(), page.as_bytes()])
    {
        write_atomically(path, bytes, PUBLIC)?;
    }
    let summary = preflight::report::terminal(&report);
    let reports = format!(
        "reports: {}, {}, {}",
        paths[0].display(),
        paths[1].display(),
        paths[2].display()
    );
    if json {
        eprint!("{summary}\n{reports}\n");
        println!("{}", String::from_utf8_lossy(&json_bytes));
    } else {
        print!("{summary}\n{reports}\n");
    }
    Ok(ExitCode::from(if report.has_failures() {
        runner::exit::FINDING
    } else {
        runner::exit::PASSED
    }))
}
