//! Fetching CRLs from their distribution points: a small blocking HTTP/1.0 GET over
//! `std::net::TcpStream` with connect, read and overall time limits.
//!
//! Why no HTTP client crate: CRL distribution points are plain `http://` by design (RFC 5280
//! §4.2.1.13: the CRL is signed, TLS would add a circular dependency on revocation), a CRL is
//! one GET of a static file, and the runner has no HTTP client among its dependencies. HTTP/1.0
//! with `Connection: close` means no chunked encoding and no keep-alive to handle.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Larger CRLs than this are refused (the largest public CRLs are tens of MB).
const MAX_CRL_BYTES: usize = 64 * 1024 * 1024;
const MAX_REDIRECTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: only http:// distribution points are fetched (RFC 5280 §4.2.1.13)")]
    Scheme { url: String },
    #[error("{url}: not a URL this fetcher understands ({why})")]
    Url { url: String, why: String },
    #[error("{url}: cannot connect: {source}")]
    Connect {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{url}: no answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("{url}: {source}")]
    Io {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: String },
    #[error("{url}: the answer is not HTTP")]
    NotHttp { url: String },
    #[error("{url}: more than {MAX_CRL_BYTES} bytes")]
    TooLarge { url: String },
    #[error("{url}: more than {MAX_REDIRECTS} redirects")]
    Redirects { url: String },
    #[error("{url}: the answer is not a CRL: {why}")]
    NotCrl { url: String, why: String },
}

struct Target {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, FetchError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| FetchError::Scheme {
            url: url.to_owned(),
        })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let bad = |why: &str| FetchError::Url {
        url: url.to_owned(),
        why: why.to_owned(),
    };
    if authority.contains('@') {
        return Err(bad("credentials in the URL"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed [IPv6]"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad("bad port"))?,
            None => 80,
        };
        (h.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad("bad port"))?),
            None => (authority.to_owned(), 80),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let path = path.split('#').next().unwrap_or("/");
    if path.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(bad("white space or control characters in the path"));
    }
    Ok(Target {
        host,
        port,
        path: path.to_owned(),
    })
}

/// GETs `url` and returns the CRL as DER (a PEM answer is decoded). Every step is bounded by
/// `timeout`, and each request by three times it.
pub fn fetch_crl(url: &str, timeout: Duration) -> Result<Vec<u8>, FetchError> {
    let (final_url, body) = fetch_body(url, timeout)?;
    decode_crl(&final_url, body)
}

/// GETs `url`, following up to three redirects; returns the final URL and the body.
fn fetch_body(url: &str, timeout: Duration) -> Result<(String, Vec<u8>), FetchError> {
    let mut current = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        match get(&current, timeout)? {
            Answer::Body(body) => return Ok((current, body)),
            Answer::Redirect(location) => current = location,
        }
    }
    Err(FetchError::Redirects {
        url: url.to_owned(),
    })
}

enum Answer {
    Body(Vec<u8>),
    Redirect(String),
}

fn get(url: &str, timeout: Duration) -> Result<Answer, FetchError> {
    let target = parse_url(url)?;
    let deadline = Instant::now() + timeout * 3;
    let timed_out = || FetchError::Timeout {
        url: url.to_owned(),
        seconds: timeout.as_secs().max(1),
    };
    let addrs: Vec<_> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|source| FetchError::Connect {
            url: url.to_owned(),
            source,
        })?
        .collect();
    let mut last_error = None;
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let mut stream = stream.ok_or_else(|| match last_error {
        Some(e) if e.kind() == std::io::ErrorKind::TimedOut => timed_out(),
        Some(source) => FetchError::Connect {
            url: url.to_owned(),
            source,
        },
        None => FetchError::Connect {
            url: url.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        },
    })?;
    let io = |source: std::io::Error| {
        if matches!(
            source.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            timed_out()
        } else {
            FetchError::Io {
                url: url.to_owned(),
                source,
            }
        }
    };
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let host_header = if target.port == 80 {
        target.host.clone()
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {host_header}\r\nUser-Agent: smime-lab\r\nAccept: application/pkix-crl, */*\r\nConnection: close\r\n\r\n",
        target.path
    );
    stream.write_all(request.as_bytes()).map_err(io)?;

    let mut response = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        if Instant::now() > deadline {
            return Err(timed_out());
        }
        let n = stream.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(buf.get(..n).unwrap_or_default());
        if response.len() > MAX_CRL_BYTES {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
            });
        }
    }

    let not_http = || FetchError::NotHttp {
        url: url.to_owned(),
    };
    let header_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            response
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        })
        .ok_or_else(not_http)?;
    let head = String::from_utf8_lossy(response.get(..header_end.0).unwrap_or_default());
    let mut lines = head.lines();
    let status_line = lines.next().ok_or_else(not_http)?;
    let mut parts = status_line.split_whitespace();
    if !parts.next().is_some_and(|p| p.starts_with("HTTP/")) {
        return Err(not_http());
    }
    let status = parts.next().ok_or_else(not_http)?.to_owned();
    if matches!(status.as_str(), "301" | "302" | "303" | "307" | "308") {
        let location = lines
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("location")
                    .then(|| value.trim().to_owned())
            })
            .ok_or_else(|| FetchError::Status {
                url: url.to_owned(),
                status: format!("{status} without Location"),
            })?;
        let next = if location.starts_with('/') {
            format!("http://{host_header}{location}")
        } else {
            location
        };
        return Ok(Answer::Redirect(next));
    }
    if status != "200" {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: status_line.to_owned(),
        });
    }
    Ok(Answer::Body(
        response.get(header_end.1..).unwrap_or_default().to_vec(),
    ))
}

/// A CRL body as DER: servers publish DER (`application/pkix-crl`), some PEM.
fn decode_crl(source: &str, body: Vec<u8>) -> Result<Vec<u8>, FetchError> {
    smime::cms::path::crl_der(&body).map_err(|why| FetchError::NotCrl {
        url: source.to_owned(),
        why,
    })
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    /// Serves one connection with `answer` (after reading the request) and returns the URL.
    fn serve_once(answer: Vec<u8>) -> (String, thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            s.write_all(&answer).unwrap();
            String::from_utf8_lossy(&req).into_owned()
        });
        (format!("http://127.0.0.1:{port}/ca.crl"), handle)
    }

    #[test]
    fn fetches_der_over_http_1_0() {
        let body = b"\x30\x03\x02\x01\x00".to_vec();
        let mut answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\n\r\n".to_vec();
        answer.extend_from_slice(&body);
        let (url, server) = serve_once(answer);
        assert_eq!(fetch_body(&url, Duration::from_secs(5)).unwrap().1, body);
        let request = server.join().unwrap();
        assert!(request.starts_with("GET /ca.crl HTTP/1.0\r\n"), "{request}");
        assert!(request.contains("\r\nHost: 127.0.0.1:"));
    }

    #[test]
    fn follows_a_redirect_and_refuses_what_is_not_a_crl() {
        let (target, server2) = serve_once(b"HTTP/1.0 200 OK\r\n\r\nnot a CRL".to_vec());
        let (url, server1) =
            serve_once(format!("HTTP/1.0 302 Found\r\nLocation: {target}\r\n\r\n").into_bytes());
        let err = fetch_crl(&url, Duration::from_secs(5)).unwrap_err();
        assert!(
            matches!(&err, FetchError::NotCrl { url, .. } if *url == target),
            "{err}"
        );
        server1.join().unwrap();
        server2.join().unwrap();
    }

    #[test]
    fn http_errors_are_reported() {
        let (url, server) = serve_once(b"HTTP/1.0 404 Not Found\r\n\r\nnope".to_vec());
        let err = fetch_crl(&url, Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, FetchError::Status { .. }), "{err}");
        assert!(err.to_string().contains("404"));
        server.join().unwrap();
        assert!(matches!(
            fetch_crl("ldap://ldap.example/cn=crl", Duration::from_secs(1)),
            Err(FetchError::Scheme { .. })
        ));
        assert!(matches!(
            fetch_crl("http://[::1/x", Duration::from_secs(1)),
            Err(FetchError::Url { .. })
        ));
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = fetch_crl(
            &format!("http://127.0.0.1:{port}/ca.crl"),
            Duration::from_secs(2),
        )
        .unwrap_err();
        assert!(matches!(err, FetchError::Connect { .. }), "{err}");
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accept and hold the connection without answering.
        let server = thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            thread::sleep(Duration::from_millis(1500));
            drop(s);
        });
        let started = Instant::now();
        let err = fetch_crl(
            &format!("http://127.0.0.1:{port}/ca.crl"),
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(matches!(err, FetchError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_millis(1400));
        server.join().unwrap();
    }
}
