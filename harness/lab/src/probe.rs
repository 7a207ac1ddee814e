//! Readiness probes from the host: "does this HTTP URL answer 200?" and "does this port accept
//! connections?".
//!
//! The HTTP probe is a one-request HTTP/1.0 exchange written here rather than a client library:
//! it needs no TLS, no redirects and no body, and a library client (reqwest with rustls) would
//! make the lab install a process-wide crypto provider just to ask for a status code.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The status code of `GET path` on `host_port`, or why there was none.
pub(crate) async fn http_status(host_port: &str, path: &str) -> Result<u16, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(host_port)
            .await
            .map_err(|e| format!("connect {host_port}: {e}"))?;
        let request =
            format!("GET {path} HTTP/1.0\r\nHost: {host_port}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("send to {host_port}: {e}"))?;
        let mut head = Vec::new();
        let mut buf = [0u8; 256];
        // The status line is all we need; stop reading once we have it.
        while !head.contains(&b'\n') && head.len() < 4096 {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("read from {host_port}: {e}"))?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        parse_status(&head).ok_or_else(|| {
            format!(
                "no HTTP status line from {host_port} (got {:?})",
                String::from_utf8_lossy(&head)
            )
        })
    };
    tokio::time::timeout(PROBE_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer from {host_port} within {PROBE_TIMEOUT:?}"
            ))
        })
}

fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    parts.next()?.parse().ok()
}

/// Whether a server answers on `host_port`: the connection is accepted and then either sends
/// something (a banner) or waits for the client (LDAP). A connection refused, or closed at once
/// — what Docker's port proxy does while nothing listens inside the container — is not.
pub(crate) async fn server_alive(host_port: &str) -> bool {
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(PROBE_TIMEOUT, TcpStream::connect(host_port)).await
    else {
        return false;
    };
    let mut byte = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut byte)).await {
        Err(_) => true,
        Ok(Ok(n)) => n > 0,
        Ok(Err(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(parse_status(b"HTTP/1.0 404 Not Found\r\nX: y"), Some(404));
        assert_eq!(parse_status(b""), None);
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 abc"), None);
    }
}
