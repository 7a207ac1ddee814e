//! `smime-lab browser-policy`: write the policy that makes Edge or Chrome force-install Outlook on
//! the web's S/MIME extension (step 4), in the form an admin deploys, and check the files admins
//! bring (the catalogue's `BRW-*` rows).

use super::output::{PUBLIC, write_all_or_none, write_atomically};
use super::report::{paint, plural};
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use browser_policy::{Artifact, Browser, CheckOptions, CheckReport, Format};
use clap::{Subcommand, ValueEnum};
use smime::checks::{Finding, Severity};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the ExtensionInstallForcelist policy for a browser, in one format (to a file or
    /// stdout) or in all four (into a folder).
    Generate(GenerateArgs),
    /// Check a policy file (.reg, Registry.pol, .mobileconfig or JSON; detected by content).
    /// Exit status: 0 no error-severity finding, 1 at least one, 2 unreadable input.
    Check(CheckArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BrowserArg {
    Edge,
    Chrome,
    Chromium,
}

impl From<BrowserArg> for Browser {
    fn from(b: BrowserArg) -> Self {
        match b {
            BrowserArg::Edge => Browser::Edge,
            BrowserArg::Chrome => Browser::Chrome,
            BrowserArg::Chromium => Browser::Chromium,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// Windows registry file for regedit / reg import (UTF-16LE, HKEY_LOCAL_MACHINE).
    Reg,
    /// Group Policy Registry.pol for a GPO's Machine folder.
    Pol,
    /// macOS configuration profile for MDM.
    Mobileconfig,
    /// Linux policy file for the browser's policies/managed folder.
    LinuxJson,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Reg => Format::Reg,
            FormatArg::Pol => Format::Pol,
            FormatArg::Mobileconfig => Format::Mobileconfig,
            FormatArg::LinuxJson => Format::LinuxJson,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The browser to configure.
    #[arg(long, value_enum)]
    browser: BrowserArg,
    /// The form to write. Without it, all four are written into the folder given with -o.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Where to write: a file with --format (default stdout), a folder without it.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,
    /// Label that makes the profile's PayloadUUIDs deterministic: the same seed, the same bytes.
    #[arg(long, default_value = "smime-lab", value_name = "LABEL")]
    seed: String,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The policy file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Where the file is or will be installed, when that differs from FILE: a Linux JSON policy's
    /// folder decides browser and level, a Registry.pol's GPO folder (Machine/User) its scope.
    #[arg(long, value_name = "INSTALL_PATH")]
    path: Option<String>,
    /// The browser you mean to configure: a policy written for another one is an error.
    #[arg(long, value_enum)]
    browser: Option<BrowserArg>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Generate(args) => generate(&args),
        Command::Check(args) => check(&args),
    }
}

fn install_note(artifact: &Artifact) -> String {
    let browser = artifact.browser;
    match artifact.format {
        Format::Reg => format!(
            "import as administrator: reg import {} (sets HKEY_LOCAL_MACHINE\\{}\\ExtensionInstallForcelist)",
            artifact.path_hint,
            browser.registry_key()
        ),
        Format::Pol => "copy to \\\\<domain>\\SYSVOL\\<domain>\\Policies\\{GPO-GUID}\\Machine\\Registry.pol (it replaces that GPO's machine registry settings; merge with the Group Policy editor if the GPO has others)".to_owned(),
        Format::Mobileconfig => format!(
            "upload to your MDM as a custom profile ({} payload, device scope)",
            browser.macos_domain()
        ),
        Format::LinuxJson => format!(
            "install as {} (root, mode 0644); if another file in that folder sets ExtensionInstallForcelist, merge the entries into one file",
            artifact.path_hint
        ),
    }
}

fn generate(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let browser = Browser::from(args.browser);
    let Some(format) = args.format.map(Format::from) else {
        let Some(dir) = args.output.as_deref() else {
            anyhow::bail!(
                "without --format, pass a folder with -o to write all four forms into (or pick one with --format reg|pol|mobileconfig|linux-json)"
            );
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
        // All four or none: a folder holding a .reg but no .pol would be half a deployment.
        let mut files = Vec::new();
        let mut notes = Vec::new();
        for format in Format::ALL {
            let artifact = browser_policy::generate(browser, format, &args.seed);
            let name = match format {
                Format::Pol => "Registry.pol".to_owned(),
                Format::LinuxJson => format!("{}-managed-policy.json", browser.slug()),
                _ => artifact.path_hint.clone(),
            };
            let path = dir.join(name);
            notes.push(format!(
                "{}: {}\n  {}",
                path.display(),
                format,
                install_note(&artifact)
            ));
            files.push((path, artifact.bytes, PUBLIC));
        }
        write_all_or_none(&files)?;
        for note in notes {
            eprintln!("{note}");
        }
        eprintln!(
            "note: Edge and Chrome apply this policy only on domain- or Entra-joined (macOS: MDM-enrolled) devices"
        );
        return Ok(ExitCode::SUCCESS);
    };
    let artifact = browser_policy::generate(browser, format, &args.seed);
    match args.output.as_deref() {
        Some(path) => write_atomically(path, &artifact.bytes, PUBLIC)?,
        None => {
            let stdout = std::io::stdout();
            let binary = matches!(format, Format::Pol | Format::Reg);
            if binary && stdout.is_terminal() {
                anyhow::bail!(
                    "{} is binary (UTF-16LE or PReg): write it to a file with -o {}",
                    format,
                    artifact.path_hint.rsplit('/').next().unwrap_or("FILE")
                );
            }
            let mut out = stdout.lock();
            if let Err(e) = out.write_all(&artifact.bytes).and_then(|()| out.flush())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e).context("writing the policy to stdout");
            }
        }
    }
    eprintln!("{}: {}", format, install_note(&artifact));
    eprintln!(
        "note: Edge and Chrome apply this policy only on domain- or Entra-joined (macOS: MDM-enrolled) devices"
    );
    Ok(ExitCode::SUCCESS)
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let bytes = super::input::read_file(&args.file)?;
    let file_path = args.file.to_string_lossy();
    let path = args.path.as_deref().unwrap_or(&file_path);
    let report = browser_policy::check_artifact(
        &bytes,
        &CheckOptions {
            path: Some(path),
            browser: args.browser.map(Browser::from),
        },
    )
    .with_context(|| {
        format!(
            "{}: not a readable browser policy file",
            args.file.display()
        )
    })?;

    let json = serde_json::json!({
        "file": args.file.display().to_string(),
        "report": report,
    });
    super::report::emit(
        args.json,
        &json,
        |colour| render(&args.file, &report, colour),
        report.has_errors(),
    )
}

/// The human report: what the file sets, the findings by severity (remedy indented below), a
/// one-line verdict.
fn render(file: &Path, report: &CheckReport, colour: bool) -> String {
    let mut text = format!("{}: {}\n", file.display(), report.format);
    for s in &report.settings {
        let browser = s.browser.map_or("browser not known", Browser::name);
        let entries = s.value.as_array().map_or_else(
            || "not a list".to_owned(),
            |a| match a.len() {
                1 => "1 entry".to_owned(),
                n => format!("{n} entries"),
            },
        );
        text.push_str(&format!(
            "  {}  {}  {browser}, {} {}, {entries}\n",
            s.location,
            s.policy,
            serde_json::to_value(s.scope)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            serde_json::to_value(s.level)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        ));
    }
    for (severity, heading) in [
        (Severity::Error, "errors"),
        (Severity::Warning, "warnings"),
        (Severity::Info, "information"),
    ] {
        let group: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .collect();
        if group.is_empty() {
            continue;
        }
        text.push_str(&format!("\n{heading}:\n"));
        for finding in group {
            let line = finding.to_string();
            let head_len = finding.id.len() + 1 + severity.as_str().len();
            let (head, rest) = line.split_at(head_len.min(line.len()));
            text.push_str(&format!(
                "  {}{rest}\n      fix: {}\n",
                paint(head, severity, colour),
                finding.remedy
            ));
        }
    }
    let (errors, warnings) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
    );
    let verdict = if errors > 0 {
        paint(
            "Outlook on the web will not get its S/MIME extension",
            Severity::Error,
            colour,
        )
    } else if warnings > 0 {
        "works, with warnings".to_owned()
    } else {
        "ok".to_owned()
    };
    text.push_str(&format!(
        "\n{}, {}: {verdict}\n",
        plural(errors, "error"),
        plural(warnings, "warning")
    ));
    text
}
