//! The conformance profile run on a vendor's bundle: the offline certificate checks (every
//! `PKI-*` row of the catalogue, per certificate), then the five steps with the vendor's
//! certificates instead of the lab's, and signed + encrypted mail between the vendor's users on
//! every client. The result is an ordinary [`Plan`], so the executor runs it exactly like a
//! scenario.

use smime::certificate::{parse_der, sha1_thumbprint};
use smime::checks::{CertificateUnderTest, Severity, check_certificate};
use smime::pki::{BuiltPki, Crl, Entity, Role};

use super::bundle::VendorBundle;
use crate::report::model::{CheckFinding, Outcome, Stage, StepReport};
use scenario::model::CollectionEncoding;
use scenario::model::{
    Browser, KeyStorage, MailClient, PolicyFormat, SmimeOver15, SyncCycle, SyncOutcome, Verdict,
};
use scenario::plan::{
    self, Action, CertificateRef, CmdletCall, CollectionExpectation, DirectoryAttribute,
    ImportCollection, InstallIdentity, MessageExpectation, Plan, PlannedUser, ProtectionRequest,
    PublishValues, Recipient, SendMessage, ServePki, SyncRun,
};

/// The scenario name vendor runs report under.
pub const PROFILE_NAME: &str = "vendor-conformance";

/// Why the profile could not be made from a bundle that did read.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("the CA certificates do not fit in an SST: {0}")]
    Sst(String),
    #[error("{file}: cannot be re-packaged as the lab's PKCS#12 file: {message}")]
    Pkcs12 { file: String, message: String },
}

/// The certificate checks, one step per user certificate: `failed` when the catalogue finds an
/// error-severity problem (what `smime-lab cert check` exits 1 for).
pub fn certificate_checks(bundle: &VendorBundle) -> Vec<StepReport> {
    let chain: Vec<_> = bundle
        .ca_certificates
        .iter()
        .filter_map(|der| parse_der(der).ok())
        .collect();
    let mut steps = Vec::new();
    for user in &bundle.users {
        for identity in &user.identities {
            let report = check_certificate(&CertificateUnderTest {
                cert: &identity.certificate,
                key: Some(&identity.key),
                chain: &chain,
                mailbox: Some(&user.mailbox),
                now: bundle.now,
            });
            let errors = report
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            steps.push(StepReport {
                stage: Stage::Setup,
                title: format!(
                    "{} {} ({})",
                    super::CERTIFICATE_CHECK_PREFIX,
                    user.mailbox,
                    identity.file
                ),
                outcome: if errors == 0 {
                    Outcome::Passed
                } else {
                    Outcome::Failed
                },
                expected: Some("no error-severity finding".to_owned()),
                actual: (errors > 0).then(|| format!("{errors} error(s)")),
                details: vec![format!(
                    "{} · SHA-1 {}",
                    report.certificate.subject, report.certificate.thumbprint
                )],
                checks: report
                    .findings
                    .iter()
                    .map(|f| CheckFinding {
                        id: f.id.to_owned(),
                        severity: format!("{:?}", f.severity).to_ascii_lowercase(),
                        message: f.message.clone(),
                    })
                    .collect(),
                message: None,
                artifacts: Vec::new(),
                duration_ms: 0,
            });
        }
    }
    steps
}

/// The five steps and the messages, with the vendor's certificates.
pub fn plan(bundle: &VendorBundle) -> Result<Plan, ProfileError> {
    // Entities: the users' certificates only. The CAs' keys are the vendor's, so CA certificates
    // travel as certificates (the SST, the CRLs' issuers), never as entities.
    let mut entities = Vec::new();
    let mut certificate_ids: Vec<(String, Vec<String>)> = Vec::new();
    for user in &bundle.users {
        let mut ids = Vec::new();
        for (n, identity) in user.identities.iter().enumerate() {
            let id = if user.identities.len() == 1 {
                user.id.clone()
            } else {
                format!("{}-{}", user.id, n + 1)
            };
            entities.push(Entity {
                id: id.clone(),
                role: Role::DualUse,
                user: Some(user.id.clone()),
                mailbox: Some(user.mailbox.clone()),
                issuer: smime::certificate::issuer_string(&identity.certificate),
                flaws: Vec::new(),
                revoked: false,
                certificate: identity.certificate_der.clone(),
                key: identity.key.clone(),
            });
            ids.push(id);
        }
        certificate_ids.push((user.id.clone(), ids));
    }

    // Each CRL is served at the distribution points of the certificates its issuer signed.
    let mut crls = Vec::new();
    let mut served = Vec::new();
    for (der, file) in &bundle.crls {
        let issuer = crl_issuer(der);
        let mut urls: Vec<String> = Vec::new();
        for certificate in bundle
            .users
            .iter()
            .flat_map(|u| u.identities.iter().map(|i| &i.certificate))
            .chain(
                bundle
                    .ca_certificates
                    .iter()
                    .filter_map(|d| parse_der(d).ok())
                    .collect::<Vec<_>>()
                    .iter(),
            )
        {
            if Some(smime::certificate::issuer_string(certificate)) != issuer {
                continue;
            }
            for url in smime::cms::path::crl_distribution_points(certificate) {
                if url.starts_with("http://") && !urls.contains(&url) {
                    urls.push(url);
                }
            }
        }
        for url in urls {
            served.push((url.clone(), file.clone()));
            crls.push(Crl {
                ca: file.clone(),
                url,
                revoked: Vec::new(),
                der: der.clone(),
            });
        }
    }

    let pki = BuiltPki {
        entities,
        crls,
        aia_base_url: String::new(),
        seed: format!("vendor/{}", bundle.vendor),
    };
    let reference = |entity: &Entity| CertificateRef {
        id: entity.id.clone(),
        thumbprint: sha1_thumbprint(&entity.certificate),
        not_after: parse_der(&entity.certificate)
            .map(|c| smime::certificate::not_after(&c))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        der: entity.certificate.clone(),
    };

    let mut actions = vec![
        Action::ServePki(ServePki {
            ca_certificates: Vec::new(),
            crls: served,
        }),
        Action::CreateUsers(
            bundle
                .users
                .iter()
                .map(|u| PlannedUser {
                    id: u.id.clone(),
                    mailbox: u.mailbox.clone(),
                    proxy_addresses: Vec::new(),
                })
                .collect(),
        ),
    ];
    // Step 1: both attributes, as AD CS autoenrollment and Outlook's publishing together do.
    for (user, ids) in &certificate_ids {
        let mailbox = mailbox_of(bundle, user);
        let certificates: Vec<CertificateRef> = ids
            .iter()
            .filter_map(|id| pki.entity(id).map(reference))
            .collect();
        for attribute in [
            DirectoryAttribute::UserSmimeCertificate,
            DirectoryAttribute::UserCertificate,
        ] {
            actions.push(Action::Publish(PublishValues {
                user: user.clone(),
                mailbox: mailbox.clone(),
                attribute,
                certificates: certificates.clone(),
                pkcs7: None,
            }));
        }
    }
    // Step 2: the vendor's CAs as the virtual certificate collection.
    let ders: Vec<&[u8]> = bundle.ca_certificates.iter().map(Vec::as_slice).collect();
    let sst = smime::sst::write_sst(&ders).map_err(|e| ProfileError::Sst(e.to_string()))?;
    actions.push(Action::ImportCollection(ImportCollection {
        certificates: bundle
            .ca_certificates
            .iter()
            .enumerate()
            .map(|(n, der)| CertificateRef {
                id: format!("ca-{}", n + 1),
                thumbprint: sha1_thumbprint(der),
                not_after: parse_der(der)
                    .map(|c| smime::certificate::not_after(&c))
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
                der: der.clone(),
            })
            .collect(),
        encoding: CollectionEncoding::Sst,
        bytes: sst,
        expect: CollectionExpectation::Success { earliest: None },
    }));
    // Step 3.
    actions.push(Action::Sync(SyncRun {
        cycle: SyncCycle::Initial,
        legacy_rules: false,
        smime_over_15: SmimeOver15::Skipped,
        expect: bundle
            .users
            .iter()
            .map(|u| (u.id.clone(), SyncOutcome::Exported))
            .collect(),
        scheduled: None,
    }));
    // Step 4.
    for browser in [Browser::Edge, Browser::Chrome] {
        actions.push(Action::BrowserPolicy(plan::policy_artifact(
            browser,
            PolicyFormat::Reg,
            plan::FORCELIST_VALUE,
            true,
            PROFILE_NAME,
        )));
    }
    // Step 5: Outlook on the web signs with SHA-256; without the vendor's CRLs the lab cannot
    // reach the vendor's distribution points (no network), so CRL checking is off and the report
    // says so rather than failing every signature as crl-unreachable.
    let mut smime_config = serde_json::Map::new();
    smime_config.insert("OWASigningAlgorithms".into(), "800C".into());
    if bundle.crls.is_empty() {
        smime_config.insert("OWADisableCRLCheck".into(), true.into());
    }
    actions.push(Action::Cmdlet(CmdletCall {
        cmdlet: "Set-SmimeConfig",
        parameters: smime_config,
    }));
    for (user, ids) in &certificate_ids {
        for client in MailClient::ALL {
            let mut identities = Vec::new();
            for id in ids {
                let p12 = pki
                    .pkcs12(
                        id,
                        plan::PKCS12_PASSWORD,
                        smime::pkcs12::Pkcs12Profile::Modern,
                    )
                    .map_err(|e| ProfileError::Pkcs12 {
                        file: id.clone(),
                        message: e.to_string(),
                    })?;
                identities.push((id.clone(), p12));
            }
            actions.push(Action::InstallIdentity(InstallIdentity {
                user: user.clone(),
                client,
                storage: KeyStorage::Software,
                profile: smime::pkcs12::Pkcs12Profile::Modern,
                identities,
                contacts: Vec::new(),
            }));
        }
    }
    // Messages: on every client, each user to the next (a single user writes to themself).
    let recipients: Vec<Recipient> = bundle
        .users
        .iter()
        .map(|u| Recipient {
            user: u.id.clone(),
            mailbox: u.mailbox.clone(),
        })
        .collect();
    let mut number = 0;
    for client in MailClient::ALL {
        for (i, from) in recipients.iter().enumerate() {
            let to = recipients[(i + 1) % recipients.len()].clone();
            number += 1;
            actions.push(Action::Send(Box::new(SendMessage {
                number,
                from: from.clone(),
                to: vec![to.clone()],
                cc: Vec::new(),
                bcc: Vec::new(),
                client,
                reply_to: None,
                subject: format!("{PROFILE_NAME} #{number}"),
                body: format!(
                    "Message {number} of the smime-lab vendor conformance profile for {}.\r\n",
                    bundle.vendor
                ),
                request: ProtectionRequest::new(true, true),
                expect: MessageExpectation {
                    refused: false,
                    reason: None,
                    delivered: true,
                    verdict: Some(Verdict::Valid),
                    reasons: Vec::new(),
                    decrypted: Some(true),
                    weak: None,
                    messages: None,
                },
                snapshot: None,
            })));
        }
    }

    Ok(Plan {
        scenario: PROFILE_NAME.to_owned(),
        tenant: bundle.tenant.clone(),
        domain: bundle.domain.clone(),
        now: bundle.now,
        pki,
        actions,
        populations: Vec::new(),
    })
}

fn mailbox_of(bundle: &VendorBundle, user: &str) -> String {
    bundle
        .users
        .iter()
        .find(|u| u.id == user)
        .map(|u| u.mailbox.clone())
        .unwrap_or_default()
}

/// The issuer name of a DER CRL, as `issuer_string` prints certificate issuers.
fn crl_issuer(der: &[u8]) -> Option<String> {
    use der::Decode as _;
    let crl =
        x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der).ok()?;
    Some(crl.tbs_cert_list.issuer.to_string())
}
