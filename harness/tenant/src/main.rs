//! `mock-tenant`: runs the mock Exchange Online tenant on a local port and prints one JSON line,
//! `{"http":"127.0.0.1:NNNN"}`, once it accepts connections.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

use tenant::{Clock, Tenant, TenantConfig};

/// The mock Exchange Online tenant of smime-lab.
#[derive(Debug, Parser)]
#[command(name = "mock-tenant", version)]
struct Args {
    /// Address to listen on; port 0 picks a free one (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// The tenant's name, e.g. contoso.onmicrosoft.com.
    #[arg(long)]
    tenant: String,
    /// The app registration's client id the token endpoint accepts.
    #[arg(long)]
    client_id: String,
    /// Its client secret; or set MOCK_TENANT_CLIENT_SECRET to keep it out of the process list.
    #[arg(long)]
    client_secret: Option<String>,
    /// Directory that keeps the tenant's state across restarts.
    #[arg(long)]
    data_dir: PathBuf,
    /// Fix the tenant clock at this RFC 3339 time (default: system time).
    #[arg(long)]
    now: Option<String>,
    /// Most objects per page of cmdlet output.
    #[arg(long, default_value_t = tenant::server::DEFAULT_PAGE_SIZE)]
    page_size: usize,
    /// Cloud-only mailboxes to create if missing, comma-separated (alice@contoso.com,...).
    #[arg(long, value_delimiter = ',')]
    users: Vec<String>,
    /// Refuse malformed OWAEncryptionAlgorithms / OWASigningAlgorithms (Exchange accepts them
    /// and Outlook on the web falls back to the default).
    #[arg(long)]
    strict_algorithms: bool,
    /// Fetch CRLs of this host from HOST:PORT instead (repeatable), e.g.
    /// pki.contoso.com=127.0.0.1:8080: the URL's host and port are replaced, the path kept.
    #[arg(long, value_name = "NAME=HOST:PORT")]
    crl_host: Vec<String>,
    /// The secret the /lab endpoints want in the X-Lab-Secret header; or set
    /// MOCK_TENANT_LAB_SECRET to keep it out of the process list.
    #[arg(long)]
    lab_secret: Option<String>,
    /// The root URL of the links the tenant hands out (@odata.nextLink), as clients reach it,
    /// e.g. http://tenant:80 (default: http:// and the address it listens on).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Seconds an @odata.nextLink stays valid (Exchange Online's refusal says "Default Expiry
    /// time is 00:30:00").
    #[arg(long, value_name = "SECONDS", default_value_t = tenant::wire::SKIPTOKEN_LIFETIME_SECONDS)]
    page_link_lifetime: i64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mock-tenant: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let client_secret = match args.client_secret {
        Some(secret) => secret,
        None => std::env::var("MOCK_TENANT_CLIENT_SECRET")
            .context("no client secret: pass --client-secret or set MOCK_TENANT_CLIENT_SECRET")?,
    };
    let lab_secret = match args.lab_secret.clone() {
        Some(secret) => secret,
        None => std::env::var("MOCK_TENANT_LAB_SECRET").context(
            "no lab secret: pass --lab-secret or set MOCK_TENANT_LAB_SECRET (any string; the /lab \
             endpoints want it in the X-Lab-Secret header)",
        )?,
    };
    let clock = match &args.now {
        Some(text) => Clock::Fixed(tenant::clock::parse_rfc3339(text).with_context(|| {
            format!("--now '{text}' is not an RFC 3339 time; e.g. 2030-01-01T00:00:00Z")
        })?),
        None => Clock::System,
    };
    anyhow::ensure!(args.page_size > 0, "--page-size must be at least 1");
    let mut config =
        TenantConfig::new(&args.tenant, &args.client_id, client_secret, &args.data_dir);
    config.clock = clock;
    config.page_size = args.page_size;
    config.strict_algorithms = args.strict_algorithms;
    config.users = args
        .users
        .iter()
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .collect();
    config.crl_hosts = crl::HostMap::from_specs(&args.crl_host).context("--crl-host")?;
    config.lab_secret = Some(lab_secret);
    config.page_link_lifetime_seconds = args.page_link_lifetime;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr().context("no local address")?;
        config.public_url = args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let tenant = Tenant::open(config)
            .with_context(|| format!("cannot open the tenant in {}", args.data_dir.display()))?;
        let mut stdout = std::io::stdout();
        writeln!(
            stdout,
            "{}",
            serde_json::json!({ "http": address.to_string() })
        )
        .and_then(|()| stdout.flush())
        .context("cannot write the ready line to stdout")?;
        tracing::info!(%address, tenant = tenant.tenant(), "mock-tenant ready");
        tenant::serve(listener, tenant, shutdown_signal())
            .await
            .context("the HTTP server stopped")
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
