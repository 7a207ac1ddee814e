//! `smtp-sink`: the lab's mail flow. An SMTP server that accepts every message and stores it byte
//! for byte with its envelope, and an HTTP API in Mailpit's shape to read, search and delete them.
//!
//! It stands in for the transport between the sending client and the receiving client, so the lab
//! can check what actually went over the wire (S/MIME structure, headers, 8-bit bodies) without a
//! real mail server. The SMTP behaviour is below; the HTTP routes are in [`http`], the search
//! subset in [`search`].
//!
//! # SMTP
//!
//! Built on `smtp-proto`'s request parser. EHLO advertises `SIZE <limit>`, `8BITMIME`,
//! `PIPELINING` and `ENHANCEDSTATUSCODES`; the commands are EHLO/HELO, MAIL (with `SIZE=` and
//! `BODY=7BIT|8BITMIME`; other known ESMTP parameters are parsed and ignored), RCPT, DATA, RSET,
//! NOOP, QUIT and VRFY (`252`). A message is stored as the DATA content after dot-unstuffing,
//! without the final `.` line, and the `250` reply names its ID (`250 2.0.0 Ok: queued as <ID>`).
//! A `SIZE=` over the limit is refused at MAIL, and DATA that grows past it is read to its end and
//! refused, both with `552 5.3.4`. Malformed commands get `500`/`501` (`555` for an unknown
//! parameter) and the session goes on. Idle sessions are closed with `421 4.4.2`.
//!
//! **No AUTH, no STARTTLS**: anyone who can reach the port can deliver, in clear text. Bind it to
//! loopback or a lab network only; it is a test instrument, not a mail server.
//!
//! # Persistence
//!
//! In memory, and with a data directory also as `<ID>.eml` (the bytes) plus `<ID>.json` (the
//! [`Envelope`]), each written atomically (temporary file, fsync, rename) before the `250`, so a
//! restarted sink serves the same messages. `--no-fsync` (what the lab passes: its directory is
//! thrown away) leaves the flush out: a killed sink keeps every acknowledged message, a crashed
//! machine may lose the last ones. Messages stay in memory until deleted (no eviction):
//! the lab deletes them between scenarios.

pub mod http;
pub mod mail;
pub mod search;
pub mod smtp;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use store::{Envelope, Store, StoredMessage};

/// How to run a sink. [`Config::default`] binds both servers to `127.0.0.1:0` (any free port).
#[derive(Debug, Clone)]
pub struct Config {
    pub smtp_addr: SocketAddr,
    pub http_addr: SocketAddr,
    /// Largest message accepted, in bytes (after dot-unstuffing). Advertised as `SIZE`.
    pub max_message_size: usize,
    /// Keep messages in this directory too, and load them from it at start.
    pub data_dir: Option<PathBuf>,
    /// Flush each file of the data directory to the disk before the `250` (default). Without,
    /// a message still survives the sink being killed, not the machine crashing
    /// ([`Store::open_with`]).
    pub fsync: bool,
    /// The name in the greeting and the EHLO reply.
    pub hostname: String,
    /// A session that sends nothing (or reads none of its replies) for this long is closed.
    pub idle_timeout: Duration,
    /// Recipients per message; more get `452 4.5.3`. RFC 5321 asks for at least 100.
    pub max_recipients: usize,
}

impl Default for Config {
    fn default() -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            smtp_addr: loopback,
            http_addr: loopback,
            max_message_size: 10 * 1024 * 1024,
            data_dir: None,
            fsync: true,
            hostname: "smtp-sink.lab".to_owned(),
            // RFC 5321, 4.5.3.2.7: a server should wait at least 5 minutes for the next command.
            idle_timeout: Duration::from_secs(300),
            max_recipients: 1000,
        }
    }
}

/// Why the sink could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot listen for {service} on {addr}: {source} (is the port in use? pass port 0 for any free port)"
    )]
    Bind {
        service: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("data directory: {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "data directory: {path}: {reason} (remove this file and its .eml/.json partner to start without that message)"
    )]
    CorruptFile { path: PathBuf, reason: String },
    #[error("the HTTP server stopped: {0}")]
    Http(std::io::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

/// A started sink: where it listens, and the handle that stops it.
#[derive(Debug)]
pub struct RunningSink {
    pub smtp_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub handle: SinkHandle,
}

/// How long shutdown waits for in-flight HTTP requests.
const HTTP_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Stops the sink. Dropping it leaves the sink running until the Tokio runtime ends.
#[derive(Debug)]
pub struct SinkHandle {
    shutdown: watch::Sender<bool>,
    smtp: JoinHandle<()>,
    http: JoinHandle<Result<(), Error>>,
}

impl SinkHandle {
    /// Stops accepting, tells open SMTP sessions `421 4.3.2` and closes them, lets in-flight HTTP
    /// requests finish, and waits for all of it.
    pub async fn shutdown(self) -> Result<(), Error> {
        // Ignoring the error is right: it only means every receiver is already gone.
        let _ = self.shutdown.send(true);
        let smtp = self.smtp.await;
        // axum waits for in-flight requests; a client stalled mid-request must not hold the
        // shutdown forever.
        let mut http = self.http;
        let http = match tokio::time::timeout(HTTP_SHUTDOWN_GRACE, &mut http).await {
            Ok(joined) => joined,
            Err(_elapsed) => {
                tracing::warn!("closing stalled HTTP connections");
                http.abort();
                return Ok(());
            }
        };
        smtp.map_err(|e| Error::Internal(format!("SMTP server task: {e}")))?;
        http.map_err(|e| Error::Internal(format!("HTTP server task: {e}")))?
    }
}

/// Opens the store (loading the data directory, if any), binds both listeners and starts serving.
/// When this returns, both ports accept connections.
pub async fn start(config: Config) -> Result<RunningSink, Error> {
    let fsync = config.fsync;
    let store = match config.data_dir.clone() {
        Some(dir) => tokio::task::spawn_blocking(move || Store::open_with(Some(&dir), fsync))
            .await
            .map_err(|e| Error::Internal(format!("loading the data directory: {e}")))??,
        None => Store::open(None)?,
    };
    let bind = |service: &'static str, addr: SocketAddr| async move {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                service,
                addr,
                source,
            })?;
        let local = listener.local_addr().map_err(|source| Error::Bind {
            service,
            addr,
            source,
        })?;
        Ok::<_, Error>((listener, local))
    };
    let (smtp_listener, smtp_addr) = bind("SMTP", config.smtp_addr).await?;
    let (http_listener, http_addr) = bind("HTTP", config.http_addr).await?;

    let (shutdown, _) = watch::channel(false);
    let settings = Arc::new(smtp::Settings {
        hostname: config.hostname,
        max_message_size: config.max_message_size,
        idle_timeout: config.idle_timeout,
        max_recipients: config.max_recipients,
    });
    let smtp = tokio::spawn(smtp::serve(
        smtp_listener,
        settings,
        store.clone(),
        shutdown.subscribe(),
    ));
    let mut http_shutdown = shutdown.subscribe();
    let http = tokio::spawn(async move {
        axum::serve(http_listener, http::router(store))
            .with_graceful_shutdown(async move { shutdown_requested(&mut http_shutdown).await })
            .await
            .map_err(Error::Http)
    });
    tracing::info!(%smtp_addr, %http_addr, "smtp-sink listening");
    Ok(RunningSink {
        smtp_addr,
        http_addr,
        handle: SinkHandle {
            shutdown,
            smtp,
            http,
        },
    })
}

/// Resolves once shutdown is requested; never, if the handle was dropped without asking.
async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}
