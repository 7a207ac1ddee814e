//! `smime-lab-bench`, what `cargo xtask bench` runs (in release mode unless told otherwise):
//! the lab's speed, each figure beside an anchor measured in the same run, printed as a table
//! and written to `<out>/bench.json` and `<out>/bench.svg` (default out:
//! `target/smime-lab/bench`). Nothing here asserts a time: a measurement that goes wrong (a
//! message that does not verify, a user missing after sync) is an error row and exit code 1.
//!
//! Areas: `pipeline` (messages through sign, encrypt, SMTP, fetch, decrypt, verify),
//! `organisation` (directory publish, sync and lookups at 1k/10k/100k users), `preflight` (the
//! rollout preflight end to end at 10k/100k users; 1k with --quick), `catalogue`
//! (the scenario catalogue, the lab's time to ready, `cargo xtask run-scenarios --list`).

mod catalogue;
mod organisation;
mod pipeline;
mod preflight;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

use report::{BenchReport, Figure};

#[derive(Debug, Parser)]
#[command(
    name = "smime-lab-bench",
    about = "The lab's benchmarks, beside anchors"
)]
struct Args {
    /// Small sizes only (1k users, a few messages, three scenarios of one lab shape): keeps the
    /// bench from rotting in CI; its figures are not the ones to quote.
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// Add 100k users to the default 1k and 10k.
    #[arg(long)]
    full: bool,
    /// Where bench.json and bench.svg go.
    #[arg(long, default_value = "target/smime-lab/bench")]
    out: PathBuf,
    /// The cargo profile this binary was built in, recorded in bench.json.
    #[arg(long, default_value = "release")]
    profile: String,
    /// Only these areas (repeatable): the others are not measured, and bench.json holds only
    /// these rows.
    #[arg(long = "only", value_name = "AREA", value_enum)]
    only: Vec<Area>,
}

/// The bench's areas, as the table's first column names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Area {
    Overhead,
    Pipeline,
    Directory,
    Preflight,
    Catalogue,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The repository root: this crate's manifest sits two levels below it.
fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(args: &Args) -> anyhow::Result<bool> {
    // reqwest is built without a default crypto provider (see DEPENDENCIES.md).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = project_root();
    let out = if args.out.is_absolute() {
        args.out.clone()
    } else {
        root.join(&args.out)
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let pki = root.join("fixtures/pki/default");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mode = if args.quick {
        "quick"
    } else if args.full {
        "full"
    } else {
        "default"
    };
    let sizes: &[usize] = match mode {
        "quick" => &[1_000],
        "full" => &[1_000, 10_000, 100_000],
        _ => &[1_000, 10_000],
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let mut figures: Vec<Figure> = Vec::new();

    let wants = |area: Area| args.only.is_empty() || args.only.contains(&area);

    // The catalogue's names are needed by its area even when the overhead row is not.
    let mut scenarios = Vec::new();
    if wants(Area::Overhead) || wants(Area::Catalogue) {
        eprintln!("bench: `cargo xtask run-scenarios --list` on an unchanged tree");
        let (overhead, names) = catalogue::list_overhead(&root);
        scenarios = names;
        if wants(Area::Overhead) {
            figures.push(overhead);
        }
    }

    if wants(Area::Pipeline) {
        eprintln!("bench: the message pipeline on {cores} core(s)");
        let per_worker = if args.quick { 10 } else { 200 };
        let openssl_per_worker = if args.quick { 2 } else { 20 };
        figures.extend(runtime.block_on(pipeline_figures(
            &pki,
            cores,
            per_worker,
            openssl_per_worker,
        )));
    }

    if wants(Area::Directory) {
        for &size in sizes {
            eprintln!("bench: the directory with {size} users");
            figures.extend(runtime.block_on(organisation::measure(size, &pki)));
        }
    }
    if wants(Area::Preflight) {
        for &size in sizes.iter().filter(|&&s| s >= 10_000 || args.quick) {
            eprintln!("bench: the rollout preflight with {size} users");
            figures.extend(runtime.block_on(preflight::measure(size, &pki)));
        }
    }

    if wants(Area::Catalogue) {
        eprintln!("bench: the lab's time to ready");
        figures
            .extend(runtime.block_on(catalogue::lab_ready(&pki, if args.quick { 1 } else { 5 })));

        eprintln!("bench: the scenario catalogue (local runtime)");
        let catalogue_out = out.join("catalogue");
        // --quick runs a few scenarios of one lab shape in one job, so that the run has a new lab
        // and reused ones (the row this mode exists to keep exercised); CI's own catalogue run is
        // the rest.
        let selection = if args.quick {
            catalogue::Selection::quick(&scenarios)
        } else {
            catalogue::Selection::All
        };
        figures.extend(catalogue::catalogue(
            &root,
            &catalogue_out,
            &selection,
            scenarios.len(),
        ));
    }

    let report = BenchReport {
        date: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        cores,
        mode: mode.into(),
        profile: args.profile.clone(),
        figures,
    };
    print!("{}", report::table(&report));
    let json = out.join("bench.json");
    std::fs::write(&json, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("cannot write {}", json.display()))?;
    let svg = out.join("bench.svg");
    std::fs::write(&svg, report::chart(&report))
        .with_context(|| format!("cannot write {}", svg.display()))?;
    eprintln!("bench: wrote {} and {}", json.display(), svg.display());
    let failed = report
        .figures
        .iter()
        .any(|f| f.error.is_some() || f.anchor.as_ref().is_some_and(|a| a.error.is_some()));
    Ok(!failed)
}

/// The pipeline's messages/s, once beside the OpenSSL CLI and once beside the RSA bound; each
/// stage's time per message beside a worker's wall time per message (same run); our own RSA
/// bound beside OpenSSL's, and its cost per message beside the same wall time.
async fn pipeline_figures(
    pki: &std::path::Path,
    cores: usize,
    per_worker: usize,
    openssl_per_worker: usize,
) -> Vec<Figure> {
    let name = format!("sign+encrypt, SMTP, fetch, decrypt+verify ({cores} workers)");
    let keys = match pipeline::Keys::load(pki) {
        Ok(keys) => keys,
        Err(e) => return vec![Figure::new("pipeline", &name, "msg/s", Err(e))],
    };
    let config = lab::LabConfig::default().only([lab::Service::Smtp]);
    let measured = match lab::start(&config, lab::RuntimeChoice::Local).await {
        Err(e) => Err(anyhow::Error::new(e).context("starting the smtp-sink")),
        Ok(lab) => {
            let result = match lab.endpoints().smtp() {
                Ok(smtp) => {
                    let smtp = smtp.clone();
                    let keys = &keys;
                    tokio::task::block_in_place(|| pipeline::run(keys, &smtp, cores, per_worker))
                }
                Err(e) => Err(e.into()),
            };
            let _ = lab.stop().await;
            result
        }
    };
    // A figure (or its error) for each row that shows it.
    let copy = |f: &dyn Fn(&pipeline::Run) -> f64| match &measured {
        Ok(run) => Ok(f(run)),
        Err(e) => Err(anyhow::anyhow!("{e:#}")),
    };
    let again = |result: &anyhow::Result<f64>| match result {
        Ok(v) => Ok(*v),
        Err(e) => Err(anyhow::anyhow!("{e:#}")),
    };
    let openssl = pipeline::openssl_messages_per_second(&keys, cores, openssl_per_worker);
    let bound = pipeline::rsa_bound_messages_per_second(cores, 2);
    let own = pipeline::own_rsa_pairs_per_second(&keys, cores, per_worker);
    let wall = "a worker's wall time per message (same run)";
    let mut figures = vec![
        Figure::new(
            "pipeline",
            &name,
            "msg/s",
            copy(&|r| r.messages_per_second()),
        )
        .anchor("`openssl cms` processes, 4 steps", "msg/s", openssl)
        .goal(">= 500 msg/s and >= 18x the anchor"),
        Figure::new(
            "pipeline",
            &name,
            "msg/s",
            copy(&|r| r.messages_per_second()),
        )
        .anchor(
            "RSA bound: openssl speed private ops/s / 2",
            "msg/s",
            again(&bound),
        )
        .goal(">= 1/3 of the anchor"),
    ];
    for (i, (stage, _)) in pipeline::Stages::default().named().into_iter().enumerate() {
        let spent = move |r: &pipeline::Run| r.ms_per_message(r.stages.named()[i].1);
        figures.push(
            Figure::new(
                "pipeline",
                &format!("per message: {stage}"),
                "ms",
                copy(&spent),
            )
            .anchor(wall, "ms", copy(&|r| r.wall_ms_per_message())),
        );
    }
    figures.push(
        Figure::new(
            "pipeline",
            &format!("our RSA alone (rsa crate): sign + decrypt pairs/s ({cores} workers)"),
            "msg/s",
            again(&own),
        )
        .anchor("RSA bound: openssl speed private ops/s / 2", "msg/s", bound),
    );
    figures.push(
        Figure::new(
            "pipeline",
            "per message: our RSA work (one sign + one decrypt, one worker)",
            "ms",
            own.map(|pairs| 1000.0 * cores as f64 / pairs),
        )
        .anchor(wall, "ms", copy(&|r| r.wall_ms_per_message())),
    );
    figures
}
