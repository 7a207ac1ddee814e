//! Fetching CRLs from their distribution points: a small blocking HTTP/1.0 GET over
//! `std::net::TcpStream` with a per-connection time limit, an optional overall deadline shared by
//! every CRL of one validation, and a host map that sends `pki.contoso.com` to the lab's pki-web.
//!
//! Why no HTTP client crate: CRL distribution points are plain `http://` by design (RFC 5280
//! §4.2.1.13: the CRL is signed, TLS would add a circular dependency on revocation), a CRL is
//! one GET of a static file, and one blocking fetch with exactly the limits Exchange's settings
//! describe serves both `smime-lab verify` (no async runtime) and the tenant (its blocking pool);
//! the tenant has no HTTP client among its dependencies. HTTP/1.0 with `Connection: close` means
//! no chunked encoding and no keep-alive to handle.
//!
//! The limits are Exchange's two OWA settings: `OWACRLConnectionTimeout` bounds connecting and
//! every read or write of one download ([`FetchPolicy::connection_timeout`]), and
//! `OWACRLRetrievalTimeout` bounds all downloads of one validation together
//! ([`FetchPolicy::retrieval_timeout`]). `smime-lab verify` uses the first only (`--crl-timeout`).
//! Host name resolution is the system's and has no time limit of its own; the lab maps CRL hosts
//! to IP addresses or to container names its network's DNS answers at once.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
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
    #[error("{url}: no answer within {}", human(*.limit))]
    Timeout { url: String, limit: Duration },
    #[error(
        "{url}: not fetched within the CRL retrieval time limit of {} (all CRLs of one validation together)",
        human(*.limit)
    )]
    Deadline { url: String, limit: Duration },
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

/// `10 s` for whole seconds (what `--crl-timeout` gives), `300 ms` otherwise.
fn human(limit: Duration) -> String {
    if limit.subsec_nanos() == 0 && limit.as_secs() > 0 {
        format!("{} s", limit.as_secs())
    } else {
        format!("{} ms", limit.as_millis())
    }
}

/// Where CRL host names really are: `pki.contoso.com` → `127.0.0.1:8080`. A mapped URL keeps
/// its path; its authority (host and port) is replaced. Names match without regard to case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostMap {
    /// Lower-case host name, `host:port`.
    entries: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum HostMapError {
    #[error("CRL host '{0}': expected NAME=HOST:PORT, e.g. pki.contoso.com=127.0.0.1:8080")]
    Syntax(String),
    #[error("CRL host name '{0}' may only contain letters, digits, '.' and '-'")]
    Name(String),
    #[error(
        "CRL host target '{0}' must be HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:8080 or pki-web:80"
    )]
    Target(String),
}

impl HostMap {
    /// Parses `NAME=HOST:PORT` entries (the `--crl-host` values).
    pub fn from_specs<S: AsRef<str>>(
        specs: impl IntoIterator<Item = S>,
    ) -> Result<Self, HostMapError> {
        let mut map = HostMap::default();
        for spec in specs {
            let spec = spec.as_ref();
            let (name, target) = spec
                .split_once('=')
                .ok_or_else(|| HostMapError::Syntax(spec.to_owned()))?;
            map.insert(name, target)?;
        }
        Ok(map)
    }

    /// Maps `name` to `target` (`host:port`), replacing an earlier entry for the same name.
    pub fn insert(&mut self, name: &str, target: &str) -> Result<(), HostMapError> {
        let name = name.trim();
        let target = target.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        {
            return Err(HostMapError::Name(name.to_owned()));
        }
        let target_ok = target.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !target_ok {
            return Err(HostMapError::Target(target.to_owned()));
        }
        let name = name.to_ascii_lowercase();
        self.entries.retain(|(n, _)| *n != name);
        self.entries.push((name, target.to_owned()));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries as given, `(name, host:port)`.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// `url` with its authority replaced when its host is mapped; `None` when it is not (or the
    /// URL is not `http://`).
    pub fn rewrite(&self, url: &str) -> Option<String> {
        let rest = url.strip_prefix("http://")?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split_once(']').map(|(h, _)| h)?,
            None => authority
                .rsplit_once(':')
                .map_or(authority, |(host, _)| host),
        };
        let (_, target) = self
            .entries
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(host))?;
        Some(format!("http://{target}{path}"))
    }
}

/// How one validation fetches its CRLs.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Connecting, and each read or write, of one download (`OWACRLConnectionTimeout`).
    pub connection_timeout: Duration,
    /// Every download of one [`fetch_all`] together (`OWACRLRetrievalTimeout`); `None`: no
    /// overall limit.
    pub retrieval_timeout: Option<Duration>,
    pub hosts: HostMap,
}

impl FetchPolicy {
    /// A per-connection limit only, no host map (`smime-lab verify --crl-timeout`).
    pub fn per_connection(timeout: Duration) -> Self {
        Self {
            connection_timeout: timeout,
            retrieval_timeout: None,
            hosts: HostMap::default(),
        }
    }
}

/// One distribution point's download.
#[derive(Debug)]
pub struct CrlFetch {
    /// The URL as the certificate names it (before the host map).
    pub url: String,
    /// The CRL as DER.
    pub result: Result<Vec<u8>, FetchError>,
    pub elapsed: Duration,
}

/// Fetches every `http://` distribution point of `urls` in order, all within the policy's
/// retrieval time limit. Other schemes (`ldap://`) are left out when an `http://` URL is there,
/// since this fetcher speaks HTTP only; when none is, each of them is a [`FetchError::Scheme`]
/// (unreachable, as far as the caller can tell).
pub fn fetch_all(urls: &[String], policy: &FetchPolicy) -> Vec<CrlFetch> {
    let started = Instant::now();
    let limits = Limits {
        connection: policy.connection_timeout,
        deadline: policy.retrieval_timeout.map(|t| (started + t, t)),
        hosts: &policy.hosts,
    };
    let http: Vec<&String> = urls.iter().filter(|u| u.starts_with("http://")).collect();
    if http.is_empty() {
        return urls
            .iter()
            .map(|url| CrlFetch {
                url: url.clone(),
                result: Err(FetchError::Scheme { url: url.clone() }),
                elapsed: Duration::ZERO,
            })
            .collect();
    }
    http.into_iter()
        .map(|url| {
            let began = Instant::now();
            let result =
                fetch_body(url, &limits).and_then(|(final_url, body)| decode_crl(&final_url, body));
            CrlFetch {
                url: url.clone(),
                result,
                elapsed: began.elapsed(),
            }
        })
        .collect()
}

/// The limits of one download.
struct Limits<'a> {
    connection: Duration,
    /// The overall deadline and the limit it came from (for the error text).
    deadline: Option<(Instant, Duration)>,
    hosts: &'a HostMap,
}

impl Limits<'_> {
    /// How long the next step may take: the connection limit, or less when the overall deadline
    /// is nearer; an error when nothing is left.
    fn step(&self, url: &str, request_deadline: Instant) -> Result<Duration, FetchError> {
        let now = Instant::now();
        if let Some((deadline, limit)) = self.deadline
            && now >= deadline
        {
            return Err(FetchError::Deadline {
                url: url.to_owned(),
                limit,
            });
        }
        if now >= request_deadline {
            return Err(self.timed_out(url));
        }
        let mut step = self.connection.min(request_deadline - now);
        if let Some((deadline, _)) = self.deadline {
            step = step.min(deadline - now);
        }
        Ok(step.max(Duration::from_millis(1)))
    }

    /// The error for a step that ran out of time: the overall deadline's when it has passed.
    fn timed_out(&self, url: &str) -> FetchError {
        match self.deadline {
            Some((deadline, limit)) if Instant::now() >= deadline => FetchError::Deadline {
                url: url.to_owned(),
                limit,
            },
            _ => FetchError::Timeout {
                url: url.to_owned(),
                limit: self.connection,
            },
        }
    }
}

/// The addresses of `target`'s host, within the time the limits leave for one step.
///
/// The standard library's resolver (getaddrinfo) takes no time limit, and a name whose DNS server
/// does not answer blocks for as long as the system resolver retries (tens of seconds). The
/// lookup therefore runs on its own thread; when the step's time is up the fetch ends with a
/// time-out and the thread is left to finish its lookup and exit on its own.
fn resolve(
    target: &Target,
    url: &str,
    limits: &Limits<'_>,
    request_deadline: Instant,
) -> Result<Vec<SocketAddr>, FetchError> {
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let step = limits.step(url, request_deadline)?;
    let (sender, receiver) = std::sync::mpsc::channel();
    let host = (target.host.clone(), target.port);
    std::thread::Builder::new()
        .name("crl-resolve".to_owned())
        .spawn(move || {
            let found = host
                .to_socket_addrs()
                .map(|addrs| addrs.collect::<Vec<_>>());
            // The receiver is gone when the fetch gave up waiting; nothing to tell then.
            let _ = sender.send(found);
        })
        .map_err(|source| FetchError::Connect {
            url: url.to_owned(),
            source,
        })?;
    match receiver.recv_timeout(step) {
        Ok(found) => found.map_err(|source| FetchError::Connect {
            url: url.to_owned(),
            source,
        }),
        Err(_) => Err(limits.timed_out(url)),
    }
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
/// `timeout`, and each request by three times it. No host map, no overall deadline.
pub fn fetch_crl(url: &str, timeout: Duration) -> Result<Vec<u8>, FetchError> {
    let hosts = HostMap::default();
    let limits = Limits {
        connection: timeout,
        deadline: None,
        hosts: &hosts,
    };
    let (final_url, body) = fetch_body(url, &limits)?;
    decode_crl(&final_url, body)
}

/// GETs `url` (through the host map), following up to three redirects; returns the final URL
/// fetched and the body.
fn fetch_body(url: &str, limits: &Limits<'_>) -> Result<(String, Vec<u8>), FetchError> {
    let mut current = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        if let Some(mapped) = limits.hosts.rewrite(&current) {
            current = mapped;
        }
        match get(&current, limits)? {
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

fn get(url: &str, limits: &Limits<'_>) -> Result<Answer, FetchError> {
    let target = parse_url(url)?;
    let request_deadline = Instant::now() + limits.connection * 3;
    let addrs = resolve(&target, url, limits, request_deadline)?;
    let mut last_error = None;
    let mut stream = None;
    for addr in addrs {
        let step = limits.step(url, request_deadline)?;
        match TcpStream::connect_timeout(&addr, step) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let mut stream = stream.ok_or_else(|| match last_error {
        Some(e) if e.kind() == std::io::ErrorKind::TimedOut => limits.timed_out(url),
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
            limits.timed_out(url)
        } else {
            FetchError::Io {
                url: url.to_owned(),
                source,
            }
        }
    };
    let step = limits.step(url, request_deadline)?;
    stream.set_write_timeout(Some(step)).map_err(io)?;
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
        // Each read may wait the connection limit, but never past either deadline.
        let step = limits.step(url, request_deadline)?;
        stream.set_read_timeout(Some(step)).map_err(io)?;
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
        let hosts = HostMap::default();
        let limits = Limits {
            connection: Duration::from_secs(5),
            deadline: None,
            hosts: &hosts,
        };
        assert_eq!(fetch_body(&url, &limits).unwrap().1, body);
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

    #[test]
    fn timeouts_read_in_the_unit_they_were_given_in() {
        let err = FetchError::Timeout {
            url: "http://x/a.crl".into(),
            limit: Duration::from_secs(10),
        };
        assert_eq!(err.to_string(), "http://x/a.crl: no answer within 10 s");
        let err = FetchError::Deadline {
            url: "http://x/a.crl".into(),
            limit: Duration::from_millis(250),
        };
        assert!(err.to_string().contains("time limit of 250 ms"), "{err}");
    }

    #[test]
    fn the_host_map_replaces_the_authority_and_keeps_the_path() {
        let map =
            HostMap::from_specs(["pki.contoso.com=127.0.0.1:8080", "other.example=pki-web:80"])
                .unwrap();
        assert_eq!(
            map.rewrite("http://pki.contoso.com/crl/issuing.crl")
                .as_deref(),
            Some("http://127.0.0.1:8080/crl/issuing.crl")
        );
        assert_eq!(
            map.rewrite("http://PKI.Contoso.com:81/crl/root.crl?x")
                .as_deref(),
            Some("http://127.0.0.1:8080/crl/root.crl?x")
        );
        assert_eq!(
            map.rewrite("http://other.example").as_deref(),
            Some("http://pki-web:80/")
        );
        assert_eq!(map.rewrite("http://pki.contoso.com.evil/crl/a.crl"), None);
        assert_eq!(map.rewrite("ldap://pki.contoso.com/cn=crl"), None);
        for bad in [
            "pki.contoso.com",
            "=127.0.0.1:80",
            "pki contoso=127.0.0.1:80",
            "pki.contoso.com=127.0.0.1",
            "pki.contoso.com=127.0.0.1:0",
            "pki.contoso.com=:80",
            "pki.contoso.com=a/b:80",
        ] {
            assert!(HostMap::from_specs([bad]).is_err(), "{bad}");
        }
        // A later entry for the same name wins.
        let map = HostMap::from_specs(["a.example=h:1", "A.example=h:2"]).unwrap();
        assert_eq!(map.entries(), [("a.example".to_owned(), "h:2".to_owned())]);
    }

    #[test]
    fn fetch_all_goes_through_the_host_map() {
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/pki/default/issuing.crl"
        ))
        .unwrap();
        let mut answer = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
        answer.extend_from_slice(&body);
        let (url, server) = serve_once(answer);
        let authority = url
            .trim_start_matches("http://")
            .trim_end_matches("/ca.crl")
            .to_owned();
        let policy = FetchPolicy {
            connection_timeout: Duration::from_secs(5),
            retrieval_timeout: Some(Duration::from_secs(5)),
            hosts: HostMap::from_specs([format!("pki.contoso.com={authority}")]).unwrap(),
        };
        let urls = vec![
            "http://pki.contoso.com/crl/issuing.crl".to_owned(),
            "ldap://pki.contoso.com/cn=issuing".to_owned(),
        ];
        let fetches = fetch_all(&urls, &policy);
        // The ldap:// point is left out: an http:// one is there.
        assert_eq!(fetches.len(), 1);
        assert_eq!(fetches[0].url, urls[0]);
        assert_eq!(fetches[0].result.as_ref().unwrap(), &body);
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /crl/issuing.crl HTTP/1.0\r\n"),
            "{request}"
        );

        let only_ldap = fetch_all(&urls[1..], &policy);
        assert!(matches!(
            only_ldap[0].result,
            Err(FetchError::Scheme { .. })
        ));
    }

    #[test]
    fn the_retrieval_limit_covers_every_crl_together() {
        // Two silent servers; each connection may wait 5 s, all of them together 400 ms.
        let mut urls = Vec::new();
        let mut servers = Vec::new();
        for _ in 0..2 {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            urls.push(format!(
                "http://127.0.0.1:{}/ca.crl",
                listener.local_addr().unwrap().port()
            ));
            servers.push(thread::spawn(move || {
                let accepted = listener.accept();
                thread::sleep(Duration::from_millis(1500));
                drop(accepted);
            }));
        }
        let policy = FetchPolicy {
            connection_timeout: Duration::from_secs(5),
            retrieval_timeout: Some(Duration::from_millis(400)),
            hosts: HostMap::default(),
        };
        let started = Instant::now();
        let fetches = fetch_all(&urls, &policy);
        assert!(started.elapsed() < Duration::from_millis(1400));
        assert_eq!(fetches.len(), 2);
        for fetch in &fetches {
            assert!(
                matches!(fetch.result, Err(FetchError::Deadline { .. })),
                "{:?}",
                fetch.result
            );
        }
        drop(servers);
    }
}
