//! The `smtp-sink` binary: starts the sink, prints where it listens as one JSON line on stdout, and
//! runs until SIGTERM or Ctrl-C.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

/// SMTP server that stores every message, with an HTTP API in Mailpit's shape. No AUTH, no
/// STARTTLS: for loopback or a lab network only.
#[derive(Debug, Parser)]
#[command(name = "smtp-sink", version)]
struct Args {
    /// SMTP listen address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:2525")]
    smtp: SocketAddr,
    /// HTTP API listen address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8025")]
    http: SocketAddr,
    /// Largest message accepted, in bytes.
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    max_size: usize,
    /// Also keep messages here as <ID>.eml + <ID>.json, and load them at start.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Do not flush each message's files to the disk before answering 250: a message still
    /// survives the sink being killed (the kernel holds it), not the machine crashing. For a
    /// throwaway data directory (the lab's).
    #[arg(long)]
    no_fsync: bool,
    /// Name used in the SMTP greeting and EHLO reply.
    #[arg(long, default_value = "smtp-sink.lab")]
    hostname: String,
    /// Close SMTP sessions idle for this many seconds.
    #[arg(long, default_value_t = 300)]
    idle_timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        // stdout carries the one JSON line a parent process reads; logs go to stderr, coloured
        // only for a person at a terminal (the lab captures them into files).
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("smtp-sink: cannot start the Tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smtp-sink: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let data_dir = args.data_dir.clone();
    let sink = smtp_sink::start(smtp_sink::Config {
        smtp_addr: args.smtp,
        http_addr: args.http,
        max_message_size: args.max_size,
        data_dir: args.data_dir,
        fsync: !args.no_fsync,
        hostname: args.hostname,
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
        ..smtp_sink::Config::default()
    })
    .await
    .with_context(|| match &data_dir {
        Some(dir) => format!("starting the sink (data directory {})", dir.display()),
        None => "starting the sink".to_owned(),
    })?;

    let ready = serde_json::json!({
        "smtp": sink.smtp_addr.to_string(),
        "http": sink.http_addr.to_string(),
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{ready}").context("writing the ready line to stdout")?;
    stdout.flush().context("flushing stdout")?;
    drop(stdout);

    shutdown_signal().await?;
    tracing::info!("shutting down");
    sink.handle.shutdown().await.context("shutting down")
}

async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        tokio::select! {
            _ = term.recv() => Ok(()),
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")
    }
}
