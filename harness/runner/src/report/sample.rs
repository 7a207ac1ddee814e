//! A hand-built [`RunReport`] for the renderers' tests: one scenario of each outcome, a message
//! with recipients and its anatomy, a refusal, a scenario that never started, and one whose every
//! string is hostile (markup, quotes, a CDATA terminator, terminal escapes) so that each renderer
//! proves it escapes.

use super::model::{
    CheckFinding, MessageReport, Outcome, RecipientReport, RunReport, ScenarioReport, Stage,
    StepReport,
};

pub(crate) const HOSTILE_NAME: &str = "<script>alert(\"name\")</script>";

fn step(stage: Stage, title: &str, outcome: Outcome, duration_ms: u64) -> StepReport {
    StepReport {
        stage,
        title: title.to_owned(),
        outcome,
        expected: None,
        actual: None,
        details: Vec::new(),
        checks: Vec::new(),
        message: None,
        artifacts: Vec::new(),
        duration_ms,
    }
}

const ANATOMY: &str = "\
content-type: application/pkcs7-mime; smime-type=enveloped-data
enveloped-data:
  recipients:
    - key-transport: rsaes-oaep
      identifier: { issuer: \"CN=Contoso Issuing CA\", serial: \"1003\" }
  content-encryption: aes-256-cbc
  inner:
    content-type: multipart/signed; protocol=\"application/pkcs7-signature\"
    signed-data:
      digest: sha-256
      signers:
        - identifier: { ski: 3f2a9c }
          signature: sha256:9e1c4b7a
";

fn happy_path() -> ScenarioReport {
    let mut setup = step(
        Stage::Setup,
        "lab: directory, tenant, smtp, pki-web",
        Outcome::Passed,
        2_100,
    );
    setup
        .details
        .push("runtime local, directory dc=contoso,dc=com".to_owned());
    let mut publish = step(
        Stage::Publish,
        "publish alice: userSMIMECertificate (1 value)",
        Outcome::Passed,
        40,
    );
    publish.expected = Some("published".to_owned());
    let mut message = step(
        Stage::Messages,
        "message 1: alice → bob via owa, signed + encrypted",
        Outcome::Passed,
        310,
    );
    message.expected = Some("delivered, valid, decrypted".to_owned());
    message.artifacts = vec![
        "rsa-happy-path/message-1.eml".to_owned(),
        "rsa-happy-path/message-1.anatomy.yaml".to_owned(),
    ];
    message.message = Some(MessageReport {
        number: 1,
        from: "alice@contoso.com".to_owned(),
        to: vec!["bob@contoso.com".to_owned()],
        client: "owa".to_owned(),
        protection: "signed+encrypted".to_owned(),
        refused: None,
        recipients: vec![RecipientReport {
            mailbox: "bob@contoso.com".to_owned(),
            delivered: true,
            verdict: Some("valid".to_owned()),
            reasons: Vec::new(),
            decrypted: Some(true),
            weak: false,
        }],
        anatomy: Some(ANATOMY.to_owned()),
        snapshot: Some("alice-to-bob".to_owned()),
    });
    ScenarioReport {
        name: "rsa-happy-path".to_owned(),
        file: "scenarios/rsa-happy-path.yaml".to_owned(),
        summary: "Root + issuing CA, RSA-2048 users, all five steps.".to_owned(),
        source: "Configure S/MIME in Exchange Online, steps 1-5".to_owned(),
        tags: vec!["happy-path".to_owned(), "rsa".to_owned()],
        ledger: vec!["FID-VAL-INTERMEDIATE".to_owned()],
        outcome: Outcome::Passed,
        error: None,
        steps: vec![setup, publish, message],
        duration_ms: 3_250,
        not_emulated: Vec::new(),
        lab: None,
    }
}

fn expired_ca() -> ScenarioReport {
    let setup = step(Stage::Setup, "lab: tenant, pki-web", Outcome::Passed, 1_200);
    let mut import = step(
        Stage::VirtualCollection,
        "Set-SmimeConfig -SMIMECertificateIssuingCA (3 certificates, 2 412 bytes)",
        Outcome::Failed,
        85,
    );
    import.expected = Some("the import fails: expired, listing 1 thumbprint".to_owned());
    import.actual = Some("the import succeeded".to_owned());
    import.details = vec![
        "SMIMECertificatesExpiryDate 2025-06-30T00:00:00Z".to_owned(),
        "tenant answered 200 with 1 value".to_owned(),
    ];
    import.checks = vec![CheckFinding {
        id: "PKI-VAL-002".to_owned(),
        severity: "error".to_owned(),
        message: "certificate CN=Contoso Root CA expired on 2025-06-30".to_owned(),
    }];
    let mut refused = step(
        Stage::Messages,
        "message 2: bob → alice via mobile, plain",
        Outcome::Passed,
        12,
    );
    refused.expected = Some("refused: RequireSignedSMIMEMessages".to_owned());
    refused.message = Some(MessageReport {
        number: 2,
        from: "bob@contoso.com".to_owned(),
        to: vec!["alice@contoso.com".to_owned()],
        client: "mobile".to_owned(),
        protection: "plain".to_owned(),
        refused: Some("RequireSignedSMIMEMessages".to_owned()),
        recipients: Vec::new(),
        anatomy: None,
        snapshot: None,
    });
    ScenarioReport {
        name: "expired-ca-in-sst".to_owned(),
        file: "scenarios/expired-ca-in-sst.yaml".to_owned(),
        summary: "An expired root in the virtual certificate collection.".to_owned(),
        source: "Set-SmimeConfig, SMIMECertificateIssuingCA".to_owned(),
        tags: vec!["sst".to_owned()],
        ledger: vec!["FID-VCC-EXPIRED".to_owned()],
        outcome: Outcome::Failed,
        error: None,
        steps: vec![setup, import, refused],
        duration_ms: 1_400,
        not_emulated: vec!["set but not emulated: OWABCCEncryptedEmailForking: the lab sends one message whose RecipientInfos hold every To, Cc and Bcc recipient".to_owned()],
        lab: None,
    }
}

fn never_started() -> ScenarioReport {
    ScenarioReport {
        name: "crl-server-down".to_owned(),
        file: "scenarios/crl-server-down.yaml".to_owned(),
        summary: "pki-web stops before the messages.".to_owned(),
        source: "OWA: the CRL is offline".to_owned(),
        tags: vec!["crl".to_owned(), "fault".to_owned()],
        ledger: vec!["FID-VAL-CRL-OFFLINE".to_owned()],
        outcome: Outcome::Error,
        error: Some(
            "the lab did not start: slapd exited with status 1 (see its log: /tmp/lab/slapd.log)"
                .to_owned(),
        ),
        steps: Vec::new(),
        duration_ms: 65_000,
        not_emulated: Vec::new(),
        lab: None,
    }
}

fn hostile() -> ScenarioReport {
    let mut publish = step(
        Stage::Publish,
        "publish \"eve\" <eve@contoso.com> & 'friends'",
        Outcome::Passed,
        30,
    );
    publish.details = vec!["value <b>bold</b> & \"quoted\"".to_owned()];
    let mut message = step(
        Stage::Messages,
        "message 1: <img src=x onerror=alert(1)> → eve",
        Outcome::Failed,
        200,
    );
    message.expected = Some("verdict \"valid\" & <decrypted>".to_owned());
    message.actual = Some("verdict <untrusted> ]]> \u{1b}[31mred\u{1b}[0m".to_owned());
    message.checks = vec![CheckFinding {
        id: "MSG-<X>-001".to_owned(),
        severity: "warning".to_owned(),
        message: "a check's message with </td></tr></table> in it".to_owned(),
    }];
    message.message = Some(MessageReport {
        number: 1,
        from: "mallory@contoso.com".to_owned(),
        to: vec!["\"eve\" <eve@contoso.com>".to_owned()],
        client: "outlook".to_owned(),
        protection: "clear-signed".to_owned(),
        refused: None,
        recipients: vec![RecipientReport {
            mailbox: "\"eve\" <eve@contoso.com>".to_owned(),
            delivered: true,
            verdict: Some("untrusted".to_owned()),
            reasons: vec!["no path to a trusted root: <CN=Evil & Co>".to_owned()],
            decrypted: None,
            weak: true,
        }],
        anatomy: Some("subject: \"</pre><script>alert('anatomy')</script>\"\n".to_owned()),
        snapshot: Some("x\"><script>".to_owned()),
    });
    let mut sync = step(Stage::Sync, "sync initial: <export>", Outcome::Error, 5_000);
    sync.actual = Some("connection reset by peer: 'tenant' & \"directory\"".to_owned());
    ScenarioReport {
        name: HOSTILE_NAME.to_owned(),
        file: "scenarios/<evil>&\"quoted\".yaml".to_owned(),
        summary: "<i>summary</i> with \"quotes\" & 'apostrophes'".to_owned(),
        source: "<a href=\"https://evil.example/\">source</a>".to_owned(),
        tags: vec!["<tag>".to_owned(), "a\"b".to_owned()],
        ledger: vec!["FID-<x>\"&'".to_owned()],
        outcome: Outcome::Error,
        error: None,
        steps: vec![publish, message, sync],
        duration_ms: 5_230,
        not_emulated: Vec::new(),
        lab: None,
    }
}

/// Where a run from `target/smime-lab/run` finds the ledger.
pub(crate) const SAMPLE_LEDGER_LINK: &str = "../../../harness/tenant/FIDELITY.md";

/// Four scenarios: passed, failed, error (never started), error (hostile strings, one step of
/// each outcome). 10 step test cases in JUnit terms, 2 failures, 2 errors.
pub(crate) fn run_report() -> RunReport {
    RunReport {
        runtime: "local".to_owned(),
        partition: Some((2, 4)),
        vendor: None,
        scenarios: vec![happy_path(), expired_ca(), never_started(), hostile()],
        duration_ms: 75_100,
        ledger_link: Some(SAMPLE_LEDGER_LINK.to_owned()),
    }
}

fn certificate_check(mailbox: &str, file: &str, checks: Vec<CheckFinding>) -> StepReport {
    let errors = checks.iter().filter(|c| c.severity == "error").count();
    let mut check = step(
        Stage::Setup,
        &format!("certificate checks: {mailbox} ({file})"),
        if errors == 0 {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        0,
    );
    check.expected = Some("no error-severity finding".to_owned());
    check.actual = (errors > 0).then(|| format!("{errors} error(s)"));
    check.details = vec![format!("CN={mailbox} · SHA-1 3F2A9C")];
    check.checks = checks;
    check
}

fn vendor_message(
    number: usize,
    client: &str,
    from: &str,
    to: &str,
    outcome: Outcome,
) -> StepReport {
    let mut sent = step(
        Stage::Messages,
        &format!("message {number}: {from} → {to} via {client}, signed + encrypted"),
        outcome,
        300,
    );
    sent.expected = Some("delivered, valid, decrypted".to_owned());
    if outcome != Outcome::Passed {
        sent.actual = Some("verdict untrusted".to_owned());
    }
    sent.message = Some(MessageReport {
        number,
        from: from.to_owned(),
        to: vec![to.to_owned()],
        client: client.to_owned(),
        protection: "signed+encrypted".to_owned(),
        refused: None,
        recipients: Vec::new(),
        anatomy: None,
        snapshot: None,
    });
    sent
}

/// A vendor run: two certificates (one with an error finding, one with a warning), the five
/// steps, and a message each way on each client, one of which failed.
pub(crate) fn vendor_report() -> RunReport {
    let mut steps = vec![
        step(
            Stage::Setup,
            "lab: directory, tenant, smtp, pki-web",
            Outcome::Passed,
            2_000,
        ),
        certificate_check(
            "alice@fabrikam.example",
            "alice.p12",
            vec![CheckFinding {
                id: "PKI-VAL-003".to_owned(),
                severity: "warning".to_owned(),
                message: "the certificate expires in 12 days".to_owned(),
            }],
        ),
        certificate_check(
            "bob@fabrikam.example",
            "bob.p12",
            vec![CheckFinding {
                id: "PKI-SKI-001".to_owned(),
                severity: "error".to_owned(),
                message: "no Subject Key Identifier".to_owned(),
            }],
        ),
        step(
            Stage::Publish,
            "publish alice: userSMIMECertificate (1 value)",
            Outcome::Passed,
            40,
        ),
        step(
            Stage::Publish,
            "publish bob: userSMIMECertificate (1 value)",
            Outcome::Passed,
            40,
        ),
        step(
            Stage::VirtualCollection,
            "Set-SmimeConfig -SMIMECertificateIssuingCA (2 certificates, 2 412 bytes)",
            Outcome::Passed,
            80,
        ),
        step(Stage::Sync, "sync initial: 2 users", Outcome::Passed, 120),
        step(
            Stage::BrowserPolicy,
            "policy edge registry-pol",
            Outcome::Passed,
            5,
        ),
        step(Stage::Clients, "Set-OwaMailboxPolicy", Outcome::Passed, 30),
    ];
    let mut number = 0;
    for client in ["outlook", "owa", "mobile"] {
        for (from, to) in [
            ("alice@fabrikam.example", "bob@fabrikam.example"),
            ("bob@fabrikam.example", "alice@fabrikam.example"),
        ] {
            number += 1;
            let outcome = if client == "mobile" && from.starts_with("bob") {
                Outcome::Failed
            } else {
                Outcome::Passed
            };
            steps.push(vendor_message(number, client, from, to, outcome));
        }
    }
    RunReport {
        runtime: "containers".to_owned(),
        partition: None,
        vendor: Some("fixtures/vendor/example".to_owned()),
        scenarios: vec![ScenarioReport {
            name: "vendor-conformance".to_owned(),
            file: "fixtures/vendor/example/vendor.yaml".to_owned(),
            summary: "The conformance profile on Fabrikam's bundle.".to_owned(),
            source: "Configure S/MIME in Exchange Online, steps 1-5".to_owned(),
            tags: vec!["vendor".to_owned()],
            ledger: Vec::new(),
            outcome: Outcome::Failed,
            error: None,
            steps,
            duration_ms: 41_000,
            not_emulated: Vec::new(),
            lab: None,
        }],
        duration_ms: 41_500,
        ledger_link: None,
    }
}
