//! Each lab service driven through its own protocol by a client nobody here wrote: `ldap3` for
//! the directory, `lettre` for SMTP, `reqwest` for the sink's HTTP API, pki-web and the tenant.
//! `tests/local.rs` and `tests/containers.rs` run the same checks on each runtime: each invokes
//! [`runtime_tests!`] once with its runtime, and adds the checks only that runtime has.

#![allow(dead_code)] // each test binary uses its own runtime's subset

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use lab::{LabConfig, PkiWebContent, RunningLab, RuntimeChoice, Service};

pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/pki/default"
    ))
}

/// A lab of `services` with the default fixtures on pki-web and alice's mailbox in the tenant.
pub fn config(services: &[Service]) -> anyhow::Result<LabConfig> {
    let mut config = LabConfig::default().only(services.iter().copied());
    config.pki_web = PkiWebContent::from_pki_dir(&fixtures())?;
    config.tenant.users = vec!["alice@contoso.com".into()];
    Ok(config)
}

pub async fn start(runtime: RuntimeChoice, services: &[Service]) -> anyhow::Result<RunningLab> {
    start_with(runtime, &config(services)?).await
}

pub async fn start_with(runtime: RuntimeChoice, config: &LabConfig) -> anyhow::Result<RunningLab> {
    lab::start(config, runtime).await.with_context(|| {
        format!(
            "starting a {runtime:?} lab with {:?}",
            config.services.iter().collect::<Vec<_>>()
        )
    })
}

/// Defines the checks every runtime passes, one `#[tokio::test]` each, against `$runtime` (a
/// `lab::RuntimeChoice`). Every test starts its own lab and stops it whatever the check found.
macro_rules! runtime_tests {
    ($runtime:expr) => {
        #[tokio::test]
        async fn directory_stores_binary_certificate_attributes() -> anyhow::Result<()> {
            let lab = $crate::common::start($runtime, &[lab::Service::Directory]).await?;
            let result = $crate::common::directory_round_trip(&lab).await;
            lab.stop().await?;
            result
        }

        #[tokio::test]
        async fn directory_restart_keeps_address_and_data() -> anyhow::Result<()> {
            let mut lab = $crate::common::start($runtime, &[lab::Service::Directory]).await?;
            let result = $crate::common::directory_restart_keeps_data(&mut lab).await;
            lab.stop().await?;
            result
        }

        #[tokio::test]
        async fn smtp_stores_and_serves_messages() -> anyhow::Result<()> {
            let lab = $crate::common::start($runtime, &[lab::Service::Smtp]).await?;
            let result = $crate::common::smtp_round_trip(&lab).await;
            lab.stop().await?;
            result
        }

        #[tokio::test]
        async fn tenant_answers_admin_calls() -> anyhow::Result<()> {
            let lab = $crate::common::start($runtime, &[lab::Service::Tenant]).await?;
            let result = $crate::common::tenant_answers_admin_calls(&lab).await;
            lab.stop().await?;
            result
        }

        /// The tenant's OWA validation fetches CRLs from pki-web through `tenant.crl_hosts`,
        /// and says the CRL is offline when pki-web is stopped.
        #[tokio::test]
        async fn owa_validation_fetches_crls_from_pki_web() -> anyhow::Result<()> {
            let config = $crate::common::owa_config()?;
            let mut lab = $crate::common::start_with($runtime, &config).await?;
            let result = $crate::common::owa_validation_follows_pki_web(&mut lab).await;
            lab.stop().await?;
            result
        }

        #[tokio::test]
        async fn pki_web_content_is_replaced_whole() -> anyhow::Result<()> {
            let mut lab = $crate::common::start($runtime, &[lab::Service::PkiWeb]).await?;
            let result = $crate::common::pki_web_replaced(&mut lab).await;
            lab.stop().await?;
            result
        }

        #[tokio::test]
        async fn pki_web_serves_crls_and_can_go_down() -> anyhow::Result<()> {
            let mut lab = $crate::common::start($runtime, &[lab::Service::PkiWeb]).await?;
            let result = $crate::common::pki_web_and_crl_down(&mut lab).await;
            lab.stop().await?;
            result
        }
    };
}
pub(crate) use runtime_tests;

fn http() -> anyhow::Result<reqwest::Client> {
    // reqwest is built without a default crypto provider; plain HTTP still wants one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?)
}

fn der_of_pem_certificate(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let pem = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::STANDARD.decode(body)?)
}

/// Adds a person with a certificate in `userCertificate;binary` (it must be a valid
/// certificate: alice's, DER) and arbitrary bytes in `userSMIMECertificate`, reads both back,
/// and checks slapd refuses a `userCertificate;binary` that is not a certificate.
pub async fn directory_round_trip(lab: &RunningLab) -> anyhow::Result<()> {
    let directory = lab.endpoints().directory()?.clone();
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&directory.url)
        .await
        .with_context(|| format!("connecting to {}", directory.url))?;
    ldap3::drive!(conn);

    // Like AD: nothing without a bind.
    let anonymous = ldap
        .search(
            &directory.suffix,
            ldap3::Scope::Base,
            "(objectClass=*)",
            vec!["*"],
        )
        .await?;
    ensure!(
        anonymous.0.is_empty(),
        "an anonymous search saw {} entries",
        anonymous.0.len()
    );

    ldap.simple_bind(&directory.bind_dn, &directory.password)
        .await?
        .success()
        .context("admin bind")?;
    ldap.simple_bind(&directory.bind_dn, "wrong")
        .await?
        .success()
        .err()
        .context("a wrong password must not bind")?;
    ldap.simple_bind(&directory.bind_dn, &directory.password)
        .await?
        .success()?;

    let certificate = der_of_pem_certificate(&fixtures().join("alice.crt.pem"))?;
    // Not UTF-8, with a NUL: userSMIMECertificate is an octet string to slapd.
    let smime_blob: Vec<u8> = vec![0x30, 0x80, 0x00, 0xff, 0xfe, 0x06, 0x09, 0x2a];
    let dn = format!("cn=alice,{}", directory.suffix);
    let set = |v: &[u8]| HashSet::from([v.to_vec()]);
    ldap.add(
        &dn,
        vec![
            (
                b"objectClass".to_vec(),
                HashSet::from([b"inetOrgPerson".to_vec()]),
            ),
            (b"cn".to_vec(), set(b"alice")),
            (b"sn".to_vec(), set(b"Alice")),
            (b"mail".to_vec(), set(b"alice@contoso.com")),
            (b"userCertificate;binary".to_vec(), set(&certificate)),
            (b"userSMIMECertificate".to_vec(), set(&smime_blob)),
        ],
    )
    .await?
    .success()
    .context("adding alice")?;

    let (entries, result) = ldap
        .search(
            &directory.suffix,
            ldap3::Scope::Subtree,
            "(mail=alice@contoso.com)",
            vec!["userCertificate;binary", "userSMIMECertificate"],
        )
        .await?
        .success()?;
    ensure!(result.rc == 0, "search rc {}", result.rc);
    ensure!(entries.len() == 1, "found {} entries", entries.len());
    let entry = ldap3::SearchEntry::construct(entries.into_iter().next().context("one entry")?);
    ensure!(entry.dn == dn, "dn {}", entry.dn);
    // ldap3 puts an attribute with any non-UTF-8 value in bin_attrs, others in attrs.
    let values = |name: &str| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (key, values) in &entry.bin_attrs {
            if key.eq_ignore_ascii_case(name) {
                out.extend(values.iter().cloned());
            }
        }
        for (key, values) in &entry.attrs {
            if key.eq_ignore_ascii_case(name) {
                out.extend(values.iter().map(|v| v.clone().into_bytes()));
            }
        }
        out
    };
    ensure!(
        values("userCertificate;binary") == vec![certificate.clone()],
        "userCertificate;binary came back as {:?}",
        entry.bin_attrs.keys().collect::<Vec<_>>()
    );
    ensure!(
        values("userSMIMECertificate") == vec![smime_blob],
        "userSMIMECertificate did not come back byte for byte"
    );

    // slapd checks certificate syntax: garbage under userCertificate;binary is refused.
    let refused = ldap
        .add(
            &format!("cn=mallory,{}", directory.suffix),
            vec![
                (
                    b"objectClass".to_vec(),
                    HashSet::from([b"inetOrgPerson".to_vec()]),
                ),
                (b"cn".to_vec(), set(b"mallory")),
                (b"sn".to_vec(), set(b"Mallory")),
                (
                    b"userCertificate;binary".to_vec(),
                    set(b"not a certificate"),
                ),
            ],
        )
        .await?;
    ensure!(
        refused.rc == 21,
        "a non-certificate userCertificate;binary gave rc {} ({}), expected 21 invalidAttributeSyntax",
        refused.rc,
        refused.text
    );
    ldap.unbind().await?;
    Ok(())
}

/// One message through SMTP (lettre), fetched back over the sink's HTTP API byte for byte.
pub async fn smtp_round_trip(lab: &RunningLab) -> anyhow::Result<()> {
    use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
    let smtp = lab.endpoints().smtp()?.clone();
    let transport =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.smtp.ip().to_string())
            .port(smtp.smtp.port())
            .timeout(Some(Duration::from_secs(10)))
            .build();
    let subject = format!("lab test {}", lab.endpoints().run_id);
    let message = Message::builder()
        .from("alice@contoso.com".parse()?)
        .to("bob@contoso.com".parse()?)
        .subject(&subject)
        .body(String::from("Hello from the lab test.\r\n"))?;
    let raw_sent = message.formatted();
    let response = transport.send(message).await.context("sending over SMTP")?;
    ensure!(response.is_positive(), "SMTP answered {response:?}");

    let client = http()?;
    let list: serde_json::Value = client
        .get(format!("{}/api/v1/messages", smtp.http_url))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let summary = list["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["Subject"] == subject.as_str()))
        .with_context(|| format!("no message with subject {subject:?} in {list}"))?;
    let id = summary["ID"].as_str().context("message ID")?;
    let raw = client
        .get(format!("{}/api/v1/message/{id}/raw", smtp.http_url))
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    // lettre ends DATA with CRLF . CRLF whatever the message ends with, and that first CRLF
    // belongs to the content (RFC 5321, 4.1.1.4): the sink holds the formatted bytes + CRLF.
    let mut expected = raw_sent.clone();
    expected.extend_from_slice(b"\r\n");
    ensure!(
        raw.as_ref() == expected.as_slice(),
        "stored message differs from what was sent:\n{}\n---\n{}",
        String::from_utf8_lossy(&raw),
        String::from_utf8_lossy(&raw_sent)
    );
    let envelope: serde_json::Value = client
        .get(format!("{}/api/v1/message/{id}/envelope", smtp.http_url))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    ensure!(
        envelope["MailFrom"] == "alice@contoso.com" && envelope["RcptTo"][0] == "bob@contoso.com",
        "envelope {envelope}"
    );
    Ok(())
}

async fn fetch(client: &reqwest::Client, url: &str) -> anyhow::Result<(String, Vec<u8>)> {
    let response = client.get(url).send().await?.error_for_status()?;
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((content_type, response.bytes().await?.to_vec()))
}

/// The CRL and AIA certificate over HTTP, then pki-web stopped (connection refused: "the CRL
/// server is down"), then started again on the same URL.
/// A reused lab's next scenario: pki-web serves the new files and nothing of the old ones,
/// also after a restart (whose readiness probe fetches the new content's first CRL).
pub async fn pki_web_replaced(lab: &mut RunningLab) -> anyhow::Result<()> {
    let url = lab.endpoints().pki_web()?.url.clone();
    let client = http()?;
    let (_, before) = fetch(&client, &format!("{url}/crl/issuing.crl")).await?;
    ensure!(!before.is_empty(), "the fixtures' CRL is served first");
    let mut next = PkiWebContent::default();
    next.insert("crl/other-ca.crl", b"the next scenario's CRL".to_vec())?;
    next.insert("aia/other-ca.crt", b"its CA certificate".to_vec())?;
    lab.replace_pki_web(&next).await?;
    for round in ["replaced", "restarted"] {
        for (path, bytes) in next.files() {
            let (_, served) = fetch(&client, &format!("{url}/{path}")).await?;
            ensure!(&served == bytes, "{round}: {path} is not the new content");
        }
        for gone in [
            "crl/issuing.crl",
            "crl/root.crl",
            "aia/issuing.crt",
            "aia/root.crt",
        ] {
            let status = client.get(format!("{url}/{gone}")).send().await?.status();
            ensure!(status == 404, "{round}: the old {gone} answered {status}");
        }
        lab.stop_service(Service::PkiWeb).await?;
        lab.start_service(Service::PkiWeb).await?;
    }
    Ok(())
}

pub async fn pki_web_and_crl_down(lab: &mut RunningLab) -> anyhow::Result<()> {
    let url = lab.endpoints().pki_web()?.url.clone();
    let client = http()?;
    let crl_url = format!("{url}/crl/issuing.crl");
    let (content_type, crl) = fetch(&client, &crl_url).await?;
    ensure!(
        crl == std::fs::read(fixtures().join("issuing.crl"))?,
        "the served CRL differs from fixtures/pki/default/issuing.crl"
    );
    ensure!(
        content_type == "application/pkix-crl",
        "CRL content type {content_type}"
    );
    let (content_type, aia) = fetch(&client, &format!("{url}/aia/issuing.crt")).await?;
    ensure!(
        aia == der_of_pem_certificate(&fixtures().join("issuing.crt.pem"))?,
        "the AIA certificate is not issuing.crt.pem in DER"
    );
    ensure!(
        content_type == "application/pkix-cert",
        "AIA content type {content_type}"
    );
    let missing = client.get(format!("{url}/crl/nope.crl")).send().await?;
    ensure!(
        missing.status() == 404,
        "a missing CRL answered {}",
        missing.status()
    );

    lab.stop_service(Service::PkiWeb).await?;
    match client.get(&crl_url).send().await {
        Ok(response) => bail!("pki-web is stopped but answered {}", response.status()),
        Err(e) if e.is_connect() => {}
        Err(e) => bail!("expected a refused connection, got {e}"),
    }
    let host_port = url.trim_start_matches("http://");
    match tokio::net::TcpStream::connect(host_port).await {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
        other => bail!("expected ECONNREFUSED from the stopped pki-web, got {other:?}"),
    }
    // Stopping twice is fine.
    lab.stop_service(Service::PkiWeb).await?;

    lab.start_service(Service::PkiWeb).await?;
    ensure!(lab.endpoints().pki_web()?.url == url, "pki-web moved");
    let (_, again) = fetch(&client, &crl_url).await?;
    ensure!(again == crl, "the CRL changed across a restart");
    Ok(())
}

/// A restarted directory keeps its address and its entries.
pub async fn directory_restart_keeps_data(lab: &mut RunningLab) -> anyhow::Result<()> {
    let directory = lab.endpoints().directory()?.clone();
    let connect = || async {
        let (conn, mut ldap) = ldap3::LdapConnAsync::new(&directory.url).await?;
        ldap3::drive!(conn);
        ldap.simple_bind(&directory.bind_dn, &directory.password)
            .await?
            .success()?;
        anyhow::Ok(ldap)
    };
    let mut ldap = connect().await?;
    let dn = format!("ou=people,{}", directory.suffix);
    ldap.add(
        &dn,
        vec![
            ("objectClass", HashSet::from(["organizationalUnit"])),
            ("ou", HashSet::from(["people"])),
        ],
    )
    .await?
    .success()?;
    let _ = ldap.unbind().await;
    lab.stop_service(Service::Directory).await?;
    ensure!(
        ldap3::LdapConnAsync::new(&directory.url).await.is_err(),
        "the stopped directory still accepts connections"
    );
    lab.start_service(Service::Directory).await?;
    let mut ldap = connect().await?;
    let (entries, _) = ldap
        .search(&dn, ldap3::Scope::Base, "(objectClass=*)", vec!["ou"])
        .await?
        .success()?;
    ensure!(entries.len() == 1, "ou=people is gone after a restart");
    Ok(())
}

/// The tenant: health, a client-credentials token, and one `InvokeCommand` (`Get-SmimeConfig`
/// answers Exchange's defaults; without a token the call is 401).
pub async fn tenant_answers_admin_calls(lab: &RunningLab) -> anyhow::Result<()> {
    let tenant = lab.endpoints().tenant()?.clone();
    let client = http()?;
    let health = client.get(format!("{}/health", tenant.url)).send().await?;
    ensure!(
        health.status() == 200,
        "GET /health answered {}",
        health.status()
    );

    let access_token = tenant_token(&client, &tenant).await?;
    let access_token = access_token.as_str();

    let invoke = format!(
        "{}/adminapi/beta/{}/InvokeCommand",
        tenant.url, tenant.tenant
    );
    let body = serde_json::json!({
        "CmdletInput": { "CmdletName": "Get-SmimeConfig", "Parameters": {} }
    });
    let unauthenticated = client.post(&invoke).json(&body).send().await?;
    ensure!(
        unauthenticated.status() == 401,
        "InvokeCommand without a token answered {}",
        unauthenticated.status()
    );
    let config: serde_json::Value = client
        .post(&invoke)
        .bearer_auth(access_token)
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    ensure!(
        config["value"][0]["OWAEncryptionAlgorithms"] == "6610",
        "Get-SmimeConfig answered {config}"
    );
    let mailbox: serde_json::Value = client
        .post(&invoke)
        .bearer_auth(access_token)
        .json(&serde_json::json!({
            "CmdletInput": { "CmdletName": "Get-Mailbox", "Parameters": { "Identity": "alice@contoso.com" } }
        }))
        .send()
        .await?
        .error_for_status()
        .context("Get-Mailbox alice@contoso.com (created by --users)")?
        .json()
        .await?;
    ensure!(
        mailbox["value"].as_array().is_some_and(|v| v.len() == 1),
        "Get-Mailbox answered {mailbox}"
    );
    Ok(())
}

/// A client-credentials token from the lab's tenant.
async fn tenant_token(
    client: &reqwest::Client,
    tenant: &lab::TenantEndpoint,
) -> anyhow::Result<String> {
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Foutlook.office365.com%2F.default",
        tenant.client_id, tenant.client_secret
    );
    let token: serde_json::Value = client
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            tenant.url, tenant.tenant
        ))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form)
        .send()
        .await?
        .error_for_status()
        .context("the token endpoint refused the lab's client credentials")?
        .json()
        .await?;
    Ok(token["access_token"]
        .as_str()
        .context("no access_token")?
        .to_owned())
}

/// The tenant and pki-web of the default PKI at its clock, the tenant fetching
/// `pki.contoso.com`'s CRLs from pki-web.
pub fn owa_config() -> anyhow::Result<LabConfig> {
    let mut config = config(&[Service::Tenant, Service::PkiWeb])?;
    config.tenant.now = Some("2026-01-01T12:00:00Z".into());
    config.tenant.crl_hosts = vec!["pki.contoso.com".into()];
    Ok(config)
}

/// A message alice signed at the PKI's clock, with the issuing CA in it.
fn alice_signed_message() -> anyhow::Result<Vec<u8>> {
    let certificate = |name: &str| -> anyhow::Result<smime::cms::Certificate> {
        Ok(smime::certificate::parse_der(&der_of_pem_certificate(
            &fixtures().join(format!("{name}.crt.pem")),
        )?)?)
    };
    let signer = smime::cms::Signer {
        certificate: certificate("alice")?,
        key: smime::key::PrivateKey::from_pem_or_der(&std::fs::read(
            fixtures().join("alice.key.pem"),
        )?)?,
        chain: vec![certificate("issuing")?],
        encryption_certificate: None,
    };
    let message = b"From: alice@contoso.com\r\nTo: bob@contoso.com\r\nSubject: lab OWA check\r\n\
        Date: Thu, 01 Jan 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\nSigned in the lab.\r\n";
    let mut rng = smime::rng::seeded("lab-tests/owa/alice");
    Ok(smime::cms::sign_message(
        message,
        &signer,
        &smime::cms::SignOptions::new(time::macros::datetime!(2026-01-01 00:00 UTC)),
        &mut rng,
    )?)
}

/// Imports the lab's SST through InvokeCommand, then has the tenant validate alice's signed
/// message: valid with pki-web up (the CRL fetched through the `crl_hosts` map), the CRL offline
/// once pki-web is stopped, valid again once it is back on the same address.
pub async fn owa_validation_follows_pki_web(lab: &mut RunningLab) -> anyhow::Result<()> {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let tenant = lab.endpoints().tenant()?.clone();
    let client = http()?;
    let token = tenant_token(&client, &tenant).await?;
    let sst = smime::sst::write_sst(&[
        der_of_pem_certificate(&fixtures().join("root.crt.pem"))?,
        der_of_pem_certificate(&fixtures().join("issuing.crt.pem"))?,
    ])?;
    client
        .post(format!(
            "{}/adminapi/beta/{}/InvokeCommand",
            tenant.url, tenant.tenant
        ))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "CmdletInput": {
                "CmdletName": "Set-SmimeConfig",
                "Parameters": { "SMIMECertificateIssuingCA": b64(&sst) }
            }
        }))
        .send()
        .await?
        .error_for_status()
        .context("Set-SmimeConfig -SMIMECertificateIssuingCA")?;

    let request = serde_json::json!({ "message": b64(&alice_signed_message()?) });
    let validate = || async {
        let response = client
            .post(format!("{}/lab/owa/{}/validate", tenant.url, tenant.tenant))
            .header("X-Lab-Secret", &tenant.lab_secret)
            .json(&request)
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        ensure!(status == 200, "validate answered {status}: {body}");
        anyhow::Ok(body)
    };

    let body = validate().await?;
    ensure!(body["status"] == "valid", "with pki-web up: {body:#}");
    let fetch = &body["crl"]["fetches"][0];
    ensure!(
        fetch["url"] == "http://pki.contoso.com/crl/issuing.crl" && fetch["fetched"] == true,
        "the CRL was not fetched from pki-web: {body:#}"
    );

    lab.stop_service(Service::PkiWeb).await?;
    let body = validate().await?;
    ensure!(
        body["status"] == "crl-unreachable",
        "with pki-web stopped: {body:#}"
    );
    ensure!(
        body["reasons"][0].as_str().is_some_and(|r| r.contains(
            "The online certificate revocation list (CRL) that the certificate chain relies on is currently offline"
        )),
        "not Exchange's text: {body:#}"
    );
    ensure!(body["crl"]["fetches"][0]["fetched"] == false, "{body:#}");

    lab.start_service(Service::PkiWeb).await?;
    let body = validate().await?;
    ensure!(body["status"] == "valid", "with pki-web back: {body:#}");
    Ok(())
}
