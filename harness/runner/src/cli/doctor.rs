//! `smime-lab doctor`: what this machine has and lacks for each runtime, item by item, with the
//! one command that installs each, and which runtime a run would use and why. The items are
//! `lab::doctor`'s, the ones `smime-lab scenario run` asks before any lab starts.
//!
//! Exit codes ([`runner::exit`]): 0 the runtime asked for (by default `auto`) can run here; 3
//! (could not run) it cannot. What only building images needs (`cargo xtask images`: docker CLI,
//! mmdebstrap, root) is shown but never decides the code.

use std::process::ExitCode;

use anyhow::Context as _;
use lab::doctor::{Doctor, Item};
use runner::colour::{BOLD, GREEN, RED, YELLOW, paint};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The runtime to judge: auto (what `scenario run` picks by default), containers, local.
    #[arg(long, default_value = "auto", value_parser = parse_runtime)]
    runtime: lab::RuntimeChoice,
    /// Print the findings as JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_runtime(text: &str) -> Result<lab::RuntimeChoice, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a runtime: auto, containers or local"))
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let doctor = tokio.block_on(Doctor::examine(&lab::LabConfig::default()));
    let verdict = doctor.runnable(args.runtime);
    let text = if args.json {
        let json = serde_json::json!({
            "runtime": verdict.as_ref().ok().map(|(kind, _)| kind.to_string()),
            "why": match &verdict {
                Ok((_, why)) => why.clone(),
                Err(reason) => reason.clone(),
            },
            "local": items_json(&doctor.local),
            "containers": items_json(&doctor.containers),
            "image_build": items_json(&doctor.image_build),
        });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&json).context("serialising the findings")?
        )
    } else {
        render(&doctor, &verdict, runner::colour::stdout())
    };
    super::scenario_run::print_stdout(&text)?;
    Ok(match verdict {
        Ok(_) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(runner::exit::COULD_NOT_RUN),
    })
}

fn items_json(items: &[Item]) -> serde_json::Value {
    items
        .iter()
        .map(|i| {
            serde_json::json!({
                "name": i.name,
                "ok": i.ok,
                "required": i.required,
                "detail": i.detail,
                "fix": i.fix,
            })
        })
        .collect()
}

fn render(
    doctor: &Doctor,
    verdict: &Result<(lab::RuntimeKind, String), String>,
    colour: bool,
) -> String {
    let mut out = String::new();
    match verdict {
        Ok((kind, why)) => {
            out.push_str(&format!(
                "{} the {kind} runtime: {why}\n",
                paint("runs on", GREEN, colour)
            ));
        }
        Err(reason) => {
            out.push_str(&format!("{} {reason}\n", paint("cannot run:", RED, colour)));
        }
    }
    let sections = [
        (
            "local runtime (slapd, nginx and our binaries as child processes)",
            &doctor.local,
            Some(doctor.usable(lab::RuntimeKind::Local)),
        ),
        (
            "containers runtime (Docker, images from `cargo xtask images`)",
            &doctor.containers,
            Some(doctor.usable(lab::RuntimeKind::Containers)),
        ),
        (
            "building the images (`cargo xtask images`; not needed while they are current)",
            &doctor.image_build,
            None,
        ),
    ];
    let width = sections
        .iter()
        .flat_map(|(_, items, _)| items.iter())
        .map(|i| i.name.chars().count())
        .max()
        .unwrap_or(0);
    for (title, items, usable) in sections {
        let state = match usable {
            Some(true) => format!(" {}", paint("ready", GREEN, colour)),
            Some(false) => format!(" {}", paint("not ready", RED, colour)),
            None => String::new(),
        };
        out.push_str(&format!("\n{}{state}\n", paint(title, BOLD, colour)));
        for item in items {
            let (mark, style) = match (item.ok, item.required) {
                (true, _) => ("ok     ", GREEN),
                (false, true) => ("MISSING", RED),
                (false, false) => ("missing", YELLOW),
            };
            let name = format!("{:<width$}", item.name);
            out.push_str(&format!(
                "  {} {name}  {}\n",
                paint(mark, style, colour),
                item.detail
            ));
            if let Some(fix) = &item.fix
                && !item.ok
            {
                out.push_str(&format!("          {:<width$}  fix: {fix}\n", ""));
            }
        }
    }
    out
}
