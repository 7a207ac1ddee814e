//! `cargo xtask images`: builds the lab's Docker images offline. No registry is reachable, so
//! nothing is pulled: each image is a Debian bookworm minbase root filesystem made by
//! `mmdebstrap` from the host's Debian mirror, with the recipe's packages (`docker/<image>/packages`),
//! tarred and `docker import`ed with its labels, command and environment.
//!
//! An image whose inputs (recipe hash + apt sources) match its `org.smime-lab.inputs` label is
//! not rebuilt; `--rebuild` forces it. Downloaded `.deb`s are kept in
//! `target/smime-lab/images/apt-cache`, so a rebuild mostly unpacks. Needs the `docker` CLI with
//! access to the engine, and `mmdebstrap` (installed with apt-get when missing and running as
//! root). As root (what CI runs as) mmdebstrap runs in its root mode; as any other user in its
//! unshare mode, which needs `newuidmap` (Debian package `uidmap`) and subordinate ids for the
//! user in /etc/subuid and /etc/subgid (Debian's `adduser` gives every new user a range). The
//! tarball is the same either way: its files belong to root inside it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context as _;
use lab::images::{self, ImageRecipe};

use crate::{project_root, run_step};

#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Build even images whose inputs did not change.
    #[arg(long)]
    pub rebuild: bool,
    /// Apt sources to build from (deb822 `.sources` or one-line `sources.list`); default: the
    /// host's. Only their mirror URIs are used; the suite is always bookworm.
    #[arg(long, env = "SMIME_LAB_APT_SOURCES")]
    pub apt_sources: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    docker_answers()?;
    ensure_mmdebstrap()?;
    let mode = mmdebstrap_mode()?;
    let work = project_root().join("target/smime-lab/images");
    let cache = work.join("apt-cache");
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let host_sources = match &args.apt_sources {
        Some(path) => path.clone(),
        None => default_sources()?,
    };
    let text = std::fs::read_to_string(&host_sources)
        .with_context(|| format!("reading apt sources {}", host_sources.display()))?;
    let sources = bookworm_sources(&text);
    let sources_path = work.join("sources.list");
    std::fs::write(&sources_path, &sources)
        .with_context(|| format!("writing {}", sources_path.display()))?;
    eprintln!(
        "images: Debian {} from {} (mirrors from {})",
        images::SUITE,
        sources_path.display(),
        host_sources.display()
    );
    for recipe in images::ALL {
        let inputs = recipe.inputs_hash(&format!("{sources}\n{}", SHAPING_ARGS.join("\n")));
        let reference = recipe.reference();
        if !args.rebuild
            && image_label(&reference, images::INPUTS_LABEL).as_deref() == Some(&inputs)
        {
            eprintln!(
                "images: {reference} is up to date (inputs {})",
                short(&inputs)
            );
            continue;
        }
        let step = Instant::now();
        eprintln!(
            "images: building {reference}: minbase + [{}] ({})",
            recipe.packages().join(", "),
            recipe.recipe_path
        );
        let previous = image_id(&reference);
        build(&recipe, &inputs, mode, &sources_path, &cache, &work)?;
        // The superseded image would linger untagged; a container still using it keeps it.
        if let Some(old) = previous
            && image_id(&reference).as_ref() != Some(&old)
        {
            let _ = Command::new("docker")
                .args(["image", "rm", &old])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        eprintln!(
            "images: {reference} built in {:.0}s (inputs {})",
            step.elapsed().as_secs_f64(),
            short(&inputs)
        );
    }
    eprintln!("images: done in {:.0}s", started.elapsed().as_secs_f64());
    Ok(())
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

pub(crate) fn docker_answers() -> anyhow::Result<()> {
    let output = Command::new("docker")
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .output()
        .context(
            "cannot run `docker`: install the Docker CLI (Debian: apt-get install docker.io)",
        )?;
    anyhow::ensure!(
        output.status.success(),
        "the Docker engine does not answer (`docker version`: {}): start it or set DOCKER_HOST",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// Whether this process runs as root (mmdebstrap's root mode), read from /proc.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// mmdebstrap's mode: root as root; unshare otherwise, which needs `newuidmap` and the user's
/// subordinate ids (checked here, so that the error says what to install rather than
/// mmdebstrap's "unable to pick chroot mode").
fn mmdebstrap_mode() -> anyhow::Result<&'static str> {
    if running_as_root() {
        return Ok("root");
    }
    anyhow::ensure!(
        found_on_path("newuidmap") && found_on_path("newgidmap"),
        "building images without root uses mmdebstrap's unshare mode, which needs newuidmap and \
         newgidmap: install the Debian package uidmap (apt-get install uidmap), or run `cargo \
         xtask images` as root"
    );
    let user = std::env::var("USER").unwrap_or_default();
    let has_range = |file: &str| {
        std::fs::read_to_string(file).is_ok_and(|text| {
            text.lines()
                .any(|l| !user.is_empty() && l.split(':').next() == Some(user.as_str()))
        })
    };
    anyhow::ensure!(
        has_range("/etc/subuid") && has_range("/etc/subgid"),
        "building images without root uses mmdebstrap's unshare mode, which needs subordinate \
         ids for {user:?} in /etc/subuid and /etc/subgid (as root: `usermod --add-subuids \
         100000-165535 --add-subgids 100000-165535 {user}`), or run `cargo xtask images` as root"
    );
    Ok("unshare")
}

/// Whether `program` is an executable file in a `PATH` directory (newuidmap has no `--version`).
fn found_on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn ensure_mmdebstrap() -> anyhow::Result<()> {
    if found("mmdebstrap") {
        return Ok(());
    }
    anyhow::ensure!(
        running_as_root(),
        "mmdebstrap is missing: install it (apt-get install mmdebstrap, as root), then run `cargo \
         xtask images` again"
    );
    eprintln!("images: mmdebstrap is missing; installing it with apt-get");
    run_step(
        Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "mmdebstrap",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .context("installing mmdebstrap (needs root; or `apt-get install mmdebstrap` yourself)")
}

fn found(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn default_sources() -> anyhow::Result<PathBuf> {
    [
        "/etc/apt/sources.list.d/debian.sources",
        "/etc/apt/sources.list",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .context(
        "no /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list: pass --apt-sources",
    )
}

/// bookworm, bookworm-updates and bookworm-security from the mirrors the host's apt sources
/// name (so a local mirror or proxy is used), whatever suite the host itself runs.
fn bookworm_sources(text: &str) -> String {
    let mut main = None;
    let mut security = None;
    let mut note = |uri: &str, suite: &str| {
        let is_security = suite.contains("security") || uri.contains("security");
        let slot = if is_security {
            &mut security
        } else {
            &mut main
        };
        if slot.is_none() {
            *slot = Some(uri.trim_end_matches('/').to_owned());
        }
    };
    // deb822: blocks of "Field: value" lines.
    for block in text.split("\n\n") {
        let field = |name: &str| {
            block.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        };
        let types = field("Types").unwrap_or_default();
        if !types.split_whitespace().any(|t| t == "deb") {
            continue;
        }
        let suites = field("Suites").unwrap_or_default();
        for uri in field("URIs").unwrap_or_default().split_whitespace() {
            for suite in suites.split_whitespace() {
                note(uri, suite);
            }
        }
    }
    // One-line form: deb [options] URI suite components...
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("deb") {
            continue;
        }
        let mut rest: Vec<&str> = words.collect();
        if rest.first().is_some_and(|w| w.starts_with('[')) {
            let end = rest.iter().position(|w| w.ends_with(']')).unwrap_or(0);
            rest.drain(..=end);
        }
        if let [uri, suite, ..] = rest.as_slice() {
            note(uri, suite);
        }
    }
    let main = main.unwrap_or_else(|| "http://deb.debian.org/debian".into());
    let security = security.unwrap_or_else(|| "http://deb.debian.org/debian-security".into());
    let suite = images::SUITE;
    format!(
        "deb {main} {suite} main\ndeb {main} {suite}-updates main\ndeb {security} {suite}-security main\n"
    )
}

/// A label of a local image, or `None` when the image is not there.
fn image_label(reference: &str, label: &str) -> Option<String> {
    let output = Command::new("docker")
        .args(["image", "inspect", "--format"])
        .arg(format!("{{{{ index .Config.Labels \"{label}\" }}}}"))
        .arg(reference)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The mmdebstrap options that shape an image's content: part of its inputs hash, so changing
/// one rebuilds every image.
const SHAPING_ARGS: &[&str] = &[
    "--variant=minbase",
    "--aptopt=APT::Install-Recommends \"false\"",
    "--aptopt=Acquire::Languages \"none\"",
    // A throwaway root filesystem: dpkg's fsyncs only cost time.
    "--dpkgopt=force-unsafe-io",
    // Documentation and translations are half of a minbase and nobody reads them in a lab.
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
];

fn image_id(reference: &str) -> Option<String> {
    let output = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", reference])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|id| !id.is_empty())
}

fn build(
    recipe: &ImageRecipe,
    inputs: &str,
    mode: &str,
    sources: &Path,
    cache: &Path,
    work: &Path,
) -> anyhow::Result<()> {
    let tarball = work.join(format!("{}.tar", recipe.name));
    let mut mmdebstrap = Command::new("mmdebstrap");
    mmdebstrap
        .arg(format!("--mode={mode}"))
        .args(SHAPING_ARGS)
        // Keep downloaded packages between builds (mmdebstrap's documented cache recipe).
        .arg("--skip=download/empty")
        .arg("--skip=essential/unlink")
        .arg("--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/")
        .arg(format!(
            "--setup-hook=sync-in {} /var/cache/apt/archives/",
            cache.display()
        ))
        .arg(format!(
            "--customize-hook=sync-out /var/cache/apt/archives {}",
            cache.display()
        ));
    let packages = recipe.packages();
    if !packages.is_empty() {
        mmdebstrap.arg(format!("--include={}", packages.join(",")));
    }
    mmdebstrap.arg(images::SUITE).arg(&tarball).arg(sources);
    run_step(&mut mmdebstrap)?;

    let mut import = Command::new("docker");
    import.arg("import");
    for (key, value) in [
        (images::RECIPE_LABEL, recipe.recipe_hash()),
        (images::INPUTS_LABEL, inputs.to_owned()),
        (
            "org.opencontainers.image.description",
            recipe.description.to_owned(),
        ),
        ("org.opencontainers.image.title", recipe.name.to_owned()),
    ] {
        import
            .arg("--change")
            .arg(format!("LABEL {key}={}", json_string(&value)));
    }
    for env in recipe.env {
        import.arg("--change").arg(format!("ENV {env}"));
    }
    let cmd: Vec<String> = recipe.cmd.iter().map(|arg| json_string(arg)).collect();
    import
        .arg("--change")
        .arg(format!("CMD [{}]", cmd.join(", ")));
    import.arg(&tarball).arg(recipe.reference());
    let imported = run_step(&mut import);
    let _ = std::fs::remove_file(&tarball);
    imported
}

/// A JSON string literal, which Dockerfile instructions accept for values and exec-form lists.
fn json_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_from_deb822() {
        let host = "Types: deb\n# snapshot\nURIs: http://deb.debian.org/debian\nSuites: trixie trixie-updates\nComponents: main\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: trixie-security\nComponents: main\n";
        assert_eq!(
            bookworm_sources(host),
            "deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n"
        );
    }

    #[test]
    fn sources_from_one_line_form() {
        let host = "# local mirror\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.lan/debian/ bookworm main\ndeb-src http://x/ bookworm main\n";
        assert!(bookworm_sources(host).starts_with("deb http://mirror.lan/debian bookworm main\n"));
        assert!(
            bookworm_sources(host)
                .contains("deb http://deb.debian.org/debian-security bookworm-security main")
        );
    }

    #[test]
    fn json_strings() {
        assert_eq!(json_string("daemon off;"), "\"daemon off;\"");
        assert_eq!(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
