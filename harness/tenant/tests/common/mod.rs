//! Test support: a tenant served in-process on 127.0.0.1, a minimal blocking HTTP/1.1 client
//! (real sockets, no client library between the test and the wire), and the openssl peer.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tenant::{Clock, Tenant, TenantConfig};

pub const TENANT: &str = "contoso.onmicrosoft.com";
pub const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
pub const CLIENT_SECRET: &str = "lab-secret~value";

/// A response as it came off the socket.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The text a PowerShell user would read from an EXO error body.
    pub fn exo_message(&self) -> String {
        let body = self.json();
        let error = &body["error"];
        error["innererror"]["internalexception"]["message"]
            .as_str()
            .filter(|m| !m.starts_with("Exception of type"))
            .map(str::to_owned)
            .or_else(|| {
                error["details"][0]["message"]
                    .as_str()
                    .map(|m| m.splitn(3, '|').last().unwrap_or(m).to_owned())
            })
            .or_else(|| error["message"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Sends one HTTP/1.1 request and reads the whole response.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect to the tenant");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write request");
    stream.write_all(body).expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// A tenant served in-process.
pub struct Lab {
    pub addr: SocketAddr,
    pub tenant: Tenant,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Lab {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    pub fn start_with(configure: impl FnOnce(&mut TenantConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = TenantConfig::new(TENANT, CLIENT_ID, CLIENT_SECRET, dir.path());
        config.clock = Clock::Fixed(at("2030-01-01T00:00:00Z"));
        configure(&mut config);
        Self::serve(Tenant::open(config).expect("tenant opens"), dir)
    }

    fn serve(tenant: Tenant, dir: tempfile::TempDir) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = tenant.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                tenant::serve(listener, served, async {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
            });
        });
        Self {
            addr,
            tenant,
            dir,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn token(&self) -> String {
        let response = self.token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("scope", "https://outlook.office365.com/.default"),
        ]);
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        response.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub fn token_request(&self, form: &[(&str, &str)]) -> Response {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        http(
            self.addr,
            "POST",
            &format!("/{TENANT}/oauth2/v2.0/token"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
    }

    /// `InvokeCommand` with a fresh token.
    pub fn invoke(&self, cmdlet: &str, parameters: Value) -> Response {
        let token = self.token();
        self.invoke_with(&token, cmdlet, parameters, &[])
    }

    pub fn invoke_with(
        &self,
        token: &str,
        cmdlet: &str,
        parameters: Value,
        extra_headers: &[(&str, &str)],
    ) -> Response {
        let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}});
        let authorization = format!("Bearer {token}");
        let mut headers = vec![
            ("Authorization", authorization.as_str()),
            ("Content-Type", "application/json"),
        ];
        headers.extend_from_slice(extra_headers);
        http(
            self.addr,
            "POST",
            &format!("/adminapi/beta/{TENANT}/InvokeCommand"),
            &headers,
            body.to_string().as_bytes(),
        )
    }

    /// `InvokeCommand` that must succeed; returns the body.
    pub fn ok(&self, cmdlet: &str, parameters: Value) -> Value {
        let response = self.invoke(cmdlet, parameters);
        assert_eq!(
            response.status,
            200,
            "{cmdlet} failed: {}",
            String::from_utf8_lossy(&response.body)
        );
        response.json()
    }

    pub fn sync(&self, body: Value) -> Response {
        http(
            self.addr,
            "POST",
            &format!("/lab/sync/{TENANT}/export"),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    }

    pub fn get(&self, path: &str) -> Response {
        http(self.addr, "GET", path, &[], b"")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn at(text: &str) -> time::OffsetDateTime {
    tenant::clock::parse_rfc3339(text).expect("RFC 3339")
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `shared/vectors`, beside the repository root (walking up also finds it from a worktree).
pub fn vectors() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("shared/vectors"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "no shared/vectors above {}: put shared/ beside the repository",
                manifest.display()
            )
        })
}

/// A PEM certificate file of the shared vectors, as DER.
pub fn vector_der(relative: &str) -> Vec<u8> {
    let path = vectors().join(relative);
    let pem = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); shared/vectors must sit beside the repository",
            path.display()
        )
    });
    let (label, der) = der::pem::decode_vec(&pem).expect("PEM");
    assert_eq!(label, "CERTIFICATE");
    der
}

/// Runs openssl; a missing openssl fails the test with what to install.
pub fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run openssl ({e}): this test needs the OpenSSL CLI; install it (apt-get install -y openssl)")
        });
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A self-signed certificate made by openssl, as DER. `key` is `rsa:2048` or `ec`; `exts` are
/// `-addext` values; `days` its validity from now (real time).
pub fn openssl_cert(dir: &Path, name: &str, key: &str, days: u32, exts: &[&str]) -> Vec<u8> {
    let key_file = format!("{name}.key");
    let cert_file = format!("{name}.der");
    let subject = format!("/CN={name}");
    let days = days.to_string();
    let mut args: Vec<&str> = vec!["req", "-x509", "-nodes", "-subj", &subject, "-days", &days];
    let ec_params;
    if key == "ec" {
        ec_params = "ec:prime256v1.pem".to_owned();
        openssl(
            &["ecparam", "-name", "prime256v1", "-out", "prime256v1.pem"],
            dir,
        );
        args.extend_from_slice(&["-newkey", &ec_params]);
    } else {
        args.extend_from_slice(&["-newkey", key]);
    }
    args.extend_from_slice(&["-keyout", &key_file, "-outform", "DER", "-out", &cert_file]);
    for ext in exts {
        args.extend_from_slice(&["-addext", ext]);
    }
    openssl(&args, dir);
    std::fs::read(dir.join(&cert_file)).expect("openssl wrote the certificate")
}

/// The SHA-1 thumbprint as openssl prints it, without colons.
pub fn openssl_thumbprint(dir: &Path, der: &[u8]) -> String {
    let file = dir.join("thumb.der");
    std::fs::write(&file, der).expect("write");
    let out = openssl(
        &[
            "x509",
            "-inform",
            "DER",
            "-in",
            "thumb.der",
            "-noout",
            "-fingerprint",
            "-sha1",
        ],
        dir,
    );
    let text = String::from_utf8_lossy(&out);
    text.trim()
        .split('=')
        .nth(1)
        .expect("fingerprint line")
        .replace(':', "")
        .to_uppercase()
}
