//! Test support: a tenant served in-process on 127.0.0.1, the EXO requests and error text, and
//! certificates made by the openssl peer. The raw HTTP client and the vectors come from
//! `test_support`.

#![allow(dead_code)] // Each test binary uses a different part of this module.

pub mod owa;

use std::net::SocketAddr;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Value, json};
use tenant::{Clock, Tenant, TenantConfig};

pub const TENANT: &str = "contoso.onmicrosoft.com";
pub const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
pub const CLIENT_SECRET: &str = "lab-secret~value";
/// What the `/lab` endpoints want in `X-Lab-Secret`.
pub const LAB_SECRET: &str = "lab-only~secret";

pub use test_support::http::{Response, request as http};

/// The text a PowerShell user would read from an EXO error body.
pub trait ExoMessage {
    fn exo_message(&self) -> String;
}

impl ExoMessage for Response {
    fn exo_message(&self) -> String {
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
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = TenantConfig::new(TENANT, CLIENT_ID, CLIENT_SECRET, dir.path());
        config.clock = Clock::Fixed(at("2030-01-01T00:00:00Z"));
        config.lab_secret = Some(LAB_SECRET.into());
        config.public_url = format!("http://{addr}");
        configure(&mut config);
        Self::serve(Tenant::open(config).expect("tenant opens"), dir, listener)
    }

    fn serve(tenant: Tenant, dir: tempfile::TempDir, listener: std::net::TcpListener) -> Self {
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
        self.lab(
            "POST",
            &format!("/lab/sync/{TENANT}/export"),
            body.to_string().as_bytes(),
        )
    }

    /// A lab endpoint with the lab secret.
    pub fn lab(&self, method: &str, path: &str, body: &[u8]) -> Response {
        http(
            self.addr,
            method,
            path,
            &[
                ("Content-Type", "application/json"),
                ("X-Lab-Secret", LAB_SECRET),
            ],
            body,
        )
    }

    /// `GET`, with the lab secret (other endpoints ignore it).
    pub fn get(&self, path: &str) -> Response {
        http(self.addr, "GET", path, &[("X-Lab-Secret", LAB_SECRET)], b"")
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

/// A PEM certificate file of the shared vectors, as DER.
pub fn vector_der(relative: &str) -> Vec<u8> {
    let pem = test_support::vector(relative);
    let (label, der) = der::pem::decode_vec(&pem).expect("PEM");
    assert_eq!(label, "CERTIFICATE");
    der
}

/// Runs openssl in `dir`; a missing openssl fails the test with what to install.
pub fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    test_support::run_ok(test_support::openssl().args(args).current_dir(dir)).stdout
}

/// A self-signed certificate made by openssl, as DER. `key` is `rsa:2048` or `ec` (P-256); `exts`
/// are extension lines; `days` its validity from now (real time).
pub fn openssl_cert(dir: &Path, name: &str, key: &str, days: u32, exts: &[&str]) -> Vec<u8> {
    use test_support::openssl_ca::{Ca, Key, Profile};
    let key = match key {
        "rsa:2048" => Key::Rsa(2048),
        "ec" => Key::Ec("prime256v1".to_owned()),
        other => panic!("no test key {other}: use rsa:2048 or ec"),
    };
    let profile = Profile::new(format!("/CN={name}"), key)
        .days(days)
        .extensions(exts);
    Ca::self_signed(dir, name, &profile).issued.cert_der()
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
