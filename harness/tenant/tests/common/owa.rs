//! The lab PKI (`fixtures/pki/default`: root, issuing CA, alice, carol, eve revoked) for Outlook
//! on the web's validation, and a small CRL server of the tests that the tenant reaches through
//! its CRL host map.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crl::HostMap;
use serde_json::{Value, json};
use smime::cms::Certificate;
use tenant::Clock;

use super::{Lab, at, b64};

/// The PKI's `now`; the tenant clock is set a little later on the same day (CRLs are fresh until
/// 2026-01-08, certificates valid until the end of 2026).
pub const PKI_NOW: &str = "2026-01-01T00:00:00Z";
pub const TENANT_NOW: &str = "2026-01-01T12:00:00Z";
pub const P12_PASSWORD: &str = "smime-lab";
pub const ISSUING_CRL: &str = "http://pki.contoso.com/crl/issuing.crl";

pub fn pki(name: &str) -> Vec<u8> {
    test_support::read(test_support::fixture(&format!("pki/default/{name}")))
}

pub fn certificate_der(name: &str) -> Vec<u8> {
    let pem = pki(&format!("{name}.crt.pem"));
    let (label, der) = der::pem::decode_vec(&pem).expect("PEM");
    assert_eq!(label, "CERTIFICATE");
    der
}

pub fn certificate(name: &str) -> Certificate {
    smime::certificate::parse_der(&certificate_der(name)).expect("certificate")
}

/// A CRL server of the test: `/crl/<ca>.crl` from the fixtures, 404 otherwise; or, `silent`,
/// one that accepts connections and never answers. It records the request lines.
pub struct CrlServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CrlServer {
    pub fn start(silent: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopping) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if silent {
                    held.push(stream);
                } else {
                    serve(stream, &seen);
                }
            }
        });
        Self {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// The host map entry that sends pki.contoso.com here.
    pub fn hosts(&self) -> HostMap {
        HostMap::from_specs([format!("pki.contoso.com={}", self.addr)]).expect("host map")
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests").clone()
    }
}

fn serve(mut stream: TcpStream, seen: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request).into_owned();
    let line = text.lines().next().unwrap_or_default().to_owned();
    seen.lock().expect("requests").push(line.clone());
    let path = line.split_whitespace().nth(1).unwrap_or_default();
    let file = path
        .strip_prefix("/crl/")
        .filter(|name| ["issuing.crl", "root.crl"].contains(name));
    let answer = match file {
        Some(name) => {
            let body = pki(name);
            let mut answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            answer.extend_from_slice(&body);
            answer
        }
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
    };
    let _ = stream.write_all(&answer);
}

impl Drop for CrlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A host map to a port nothing listens on: the CRL server is down.
pub fn down_hosts() -> HostMap {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    HostMap::from_specs([format!("pki.contoso.com={addr}")]).expect("host map")
}

/// A tenant at the lab clock with `hosts` as its CRL host map.
pub fn tenant_with(hosts: HostMap) -> Lab {
    Lab::start_with(|config| {
        config.clock = Clock::Fixed(at(TENANT_NOW));
        config.crl_hosts = hosts;
    })
}

/// Set-SmimeConfig with the lab's SST (root and issuing CA) and `settings`.
pub fn configure(lab: &Lab, settings: Value) {
    let sst =
        smime::sst::write_sst(&[certificate_der("root"), certificate_der("issuing")]).expect("SST");
    let mut parameters = settings;
    parameters["SMIMECertificateIssuingCA"] = json!(b64(&sst));
    lab.ok("Set-SmimeConfig", parameters);
}
