//! From a validated scenario to the ordered list of actions the runner takes, with everything
//! that needs no service worked out: the PKI is issued (`smime::pki::build`), the SST is written
//! (`smime::sst::write_sst`), the browser policy files are produced, PKCS#12 files are made and
//! cmdlet parameters are in their wire form. Executing the actions against the lab is not this
//! module's job.
//!
//! The order is the data flow of the design: PKI and users first, then the five steps, then the
//! messages; a service fault starts right before the first action of its `at` stage and ends right
//! before its `until` stage.

use std::fmt;

use serde::Deserialize as _;
use serde::de::IntoDeserializer as _;
use serde_saphyr::{Location, Spanned};
use smime::certificate::{rfc3339, sha1_thumbprint};
use smime::cms::envelope::{ContentCipher, RecipientIdType, RsaPadding};
use smime::key::KeySpec;
use smime::pkcs12::Pkcs12Profile;
use smime::pki::{BuiltPki, Flaw, Mailbox, PkiDescription, PkiError, UserSpec};
use time::OffsetDateTime;

use super::load::LoadedScenario;
use super::model::{
    Browser, ChainInclusion, CollectionEncoding, CollectionError, Digest, Fault, KeyStorage,
    MailClient, Pkcs12Form, PolicyFormat, PublishAttribute, RefusalReason, Service, Stage,
    SyncCycle, SyncOutcome, Verdict,
};
use super::validate::extra_certificate_id;

/// The password of every PKCS#12 file the lab makes: these are lab identities, never real ones.
pub const PKCS12_PASSWORD: &str = "smime-lab";
/// The Microsoft S/MIME extension's id in the Chrome Web Store.
pub const EXTENSION_ID: &str = browser_policy::OWA_SMIME_EXTENSION_ID;
/// Where browsers fetch the extension ("Configure S/MIME in Exchange Online", step 4).
pub const EXTENSION_UPDATE_URL: &str = browser_policy::OWA_SMIME_UPDATE_URL;
/// The `ExtensionInstallForcelist` value the documentation gives, exactly.
pub const FORCELIST_VALUE: &str = browser_policy::OWA_SMIME_EXTENSION_FORCELIST_VALUE;
/// The largest `SMIMECertificateIssuingCA` value Exchange accepts, in bytes.
pub const MAX_COLLECTION_BYTES: usize = 70_000;

/// What the runner will do, in order.
#[derive(Clone, Debug)]
pub struct Plan {
    pub scenario: String,
    pub tenant: String,
    pub domain: String,
    /// The scenario's clock: the PKI's `now`. Every validation runs at this instant.
    pub now: OffsetDateTime,
    /// Every certificate, key and CRL, including extra and filler certificates.
    pub pki: BuiltPki,
    pub actions: Vec<Action>,
}

/// One thing the runner does.
#[derive(Clone, Debug)]
pub enum Action {
    /// Publish the CA certificates and CRLs on the pki-web service, at the URLs the certificates
    /// name.
    ServePki(ServePki),
    /// Create a directory object and a tenant mailbox for each user.
    CreateUsers(Vec<PlannedUser>),
    /// Start or end a fault of a service.
    Fault(FaultChange),
    /// Step 1: write certificates into one attribute of one user's directory object.
    Publish(PublishValues),
    /// Step 2: `Set-SmimeConfig -SMIMECertificateIssuingCA <bytes>`.
    ImportCollection(ImportCollection),
    /// Step 3: one Entra Connect cycle.
    Sync(SyncRun),
    /// Step 4: write one browser policy file and check its value.
    BrowserPolicy(PolicyArtifact),
    /// Step 5: an admin cmdlet with its parameters (`Set-SmimeConfig`,
    /// `Set-MobileDeviceMailboxPolicy`).
    Cmdlet(CmdletCall),
    /// Step 5: install a user's identities (certificate and key) on a client.
    InstallIdentity(InstallIdentity),
    /// Send a message and check what happens to it.
    Send(Box<SendMessage>),
}

#[derive(Clone, Debug)]
pub struct ServePki {
    /// `(url, certificate id)` of each CA certificate, DER.
    pub ca_certificates: Vec<(String, String)>,
    /// `(url, CA id)` of each CRL.
    pub crls: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedUser {
    pub id: String,
    pub mailbox: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultChange {
    pub service: Service,
    pub fault: Fault,
    /// True when the fault starts, false when it is repaired.
    pub start: bool,
}

/// A directory attribute that holds certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectoryAttribute {
    /// `userSMIMECertificate`: any bytes; the lab stores the DER certificate.
    UserSmimeCertificate,
    /// `userCertificate`, written as `userCertificate;binary` and checked by the directory to be a
    /// certificate.
    UserCertificate,
}

impl DirectoryAttribute {
    /// The attribute's LDAP name.
    pub fn ldap_name(self) -> &'static str {
        match self {
            DirectoryAttribute::UserSmimeCertificate => "userSMIMECertificate",
            DirectoryAttribute::UserCertificate => "userCertificate",
        }
    }

    fn of(attribute: PublishAttribute) -> Vec<DirectoryAttribute> {
        match attribute {
            PublishAttribute::UserSmimeCertificate => {
                vec![DirectoryAttribute::UserSmimeCertificate]
            }
            PublishAttribute::UserCertificate => vec![DirectoryAttribute::UserCertificate],
            PublishAttribute::Both => vec![
                DirectoryAttribute::UserSmimeCertificate,
                DirectoryAttribute::UserCertificate,
            ],
        }
    }
}

/// A certificate of the plan's PKI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRef {
    pub id: String,
    /// SHA-1, upper-case hex, as Exchange shows thumbprints.
    pub thumbprint: String,
    pub not_after: OffsetDateTime,
    pub der: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct PublishValues {
    pub user: String,
    pub mailbox: String,
    pub attribute: DirectoryAttribute,
    /// The attribute's values, in order: the user's certificates, then any extra ones.
    pub certificates: Vec<CertificateRef>,
}

#[derive(Clone, Debug)]
pub struct ImportCollection {
    /// The certificates written to the store, in order (CAs of `sst`, then fillers).
    pub certificates: Vec<CertificateRef>,
    pub encoding: CollectionEncoding,
    /// The bytes sent as the parameter's value.
    pub bytes: Vec<u8>,
    /// What the tenant must answer.
    pub expect: CollectionExpectation,
}

impl ImportCollection {
    /// Larger than Exchange accepts.
    pub fn oversize(&self) -> bool {
        self.bytes.len() > MAX_COLLECTION_BYTES
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CollectionExpectation {
    /// The import succeeds; `earliest` is the CA the tenant must report as expiring first, when
    /// the scenario names one.
    Success { earliest: Option<CertificateRef> },
    /// The import fails with this error; for `expired`, listing these thumbprints.
    Error {
        error: CollectionError,
        thumbprints: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRun {
    pub cycle: SyncCycle,
    pub legacy_rules: bool,
    /// What each listed user must have become; on the last cycle only.
    pub expect: Vec<(String, SyncOutcome)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyArtifact {
    pub browser: Browser,
    pub format: PolicyFormat,
    /// Where the policy lives on a managed machine: a registry key or a file path.
    pub location: String,
    /// The file the runner writes (`edge.reg`, `chrome.json`, `edge.mobileconfig`).
    pub file_name: String,
    /// The file's bytes, as [`browser_policy::generate_entry`] writes them (a `.reg` file is
    /// UTF-16LE, as regedit writes it).
    pub content: Vec<u8>,
    /// The path the policy checker is told the file is installed at (a Linux JSON file's folder
    /// decides which browser reads it), from the same writer.
    pub check_path: String,
    /// The `ExtensionInstallForcelist` entry in it.
    pub value: String,
    /// Whether the entry is exactly [`FORCELIST_VALUE`].
    pub documented: bool,
    /// Whether the scenario expects it to be.
    pub expect_valid: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CmdletCall {
    pub cmdlet: &'static str,
    /// The `Parameters` object of the admin API's `CmdletInput`, by parameter name.
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug)]
pub struct InstallIdentity {
    pub user: String,
    pub client: MailClient,
    pub storage: KeyStorage,
    pub profile: Pkcs12Profile,
    /// One PKCS#12 file per certificate, password [`PKCS12_PASSWORD`].
    pub identities: Vec<(String, Vec<u8>)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub user: String,
    pub mailbox: String,
}

#[derive(Clone, Debug)]
pub struct SendMessage {
    /// 1-based position in the scenario's `messages`.
    pub number: usize,
    pub from: Recipient,
    pub to: Vec<Recipient>,
    pub cc: Vec<Recipient>,
    pub bcc: Vec<Recipient>,
    pub client: MailClient,
    pub subject: String,
    pub body: String,
    pub sign: bool,
    pub encrypt: bool,
    /// `None`: the client's setting decides.
    pub triple_wrap: Option<bool>,
    /// `None`: the client's setting decides.
    pub opaque: Option<bool>,
    pub digest: Option<Digest>,
    pub cipher: Option<ContentCipher>,
    pub rsa_padding: Option<RsaPadding>,
    pub recipient_id: Option<RecipientIdType>,
    pub include_chain: Option<ChainInclusion>,
    /// The certificate to sign with, when not the sender's own.
    pub signer: Option<String>,
    pub expect: MessageExpectation,
    pub snapshot: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageExpectation {
    pub refused: bool,
    pub reason: Option<RefusalReason>,
    pub delivered: bool,
    pub verdict: Option<Verdict>,
    pub reasons: Vec<String>,
    pub decrypted: Option<bool>,
    pub weak: Option<bool>,
}

/// Why a plan could not be made. Validation has checked every reference, so these are failures
/// to issue (a key, a certificate) or to encode, not mistakes in the file.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{scenario}: the PKI could not be issued: {source}")]
    Pki {
        scenario: String,
        #[source]
        source: PkiError,
    },
    #[error("{scenario}: the filler certificates could not be issued: {source}")]
    Filler {
        scenario: String,
        #[source]
        source: PkiError,
    },
    #[error("{scenario}: the SST could not be written: {source}")]
    Sst {
        scenario: String,
        #[source]
        source: smime::sst::SstWriteError,
    },
    #[error("{scenario}: a PKCS#12 file could not be made: {source}")]
    Pkcs12 {
        scenario: String,
        #[source]
        source: PkiError,
    },
    #[error("{scenario}: {what} `{id}` was not issued (a bug in the plan: please report it)")]
    Missing {
        scenario: String,
        what: &'static str,
        id: String,
    },
}

/// Works out everything the scenario will do.
pub fn plan(loaded: &LoadedScenario) -> Result<Plan, PlanError> {
    let scenario = &loaded.scenario;
    let name = loaded.name().to_owned();
    let steps = &scenario.steps;

    let description = with_extra_certificates(loaded);
    let pki = smime::pki::build(&description).map_err(|source| PlanError::Pki {
        scenario: name.clone(),
        source,
    })?;
    let now = description.now.0;
    let certificate = |id: &str| -> Result<CertificateRef, PlanError> {
        let entity = pki.entity(id).ok_or_else(|| PlanError::Missing {
            scenario: name.clone(),
            what: "certificate",
            id: id.to_owned(),
        })?;
        Ok(CertificateRef {
            id: id.to_owned(),
            thumbprint: sha1_thumbprint(&entity.certificate),
            not_after: certificate_not_after(&entity.certificate),
            der: entity.certificate.clone(),
        })
    };

    let mut actions = Vec::new();
    actions.push(Action::ServePki(ServePki {
        ca_certificates: pki
            .entities
            .iter()
            .filter(|e| e.role.is_ca())
            .map(|e| (format!("{}/{}.crt", pki.aia_base_url, e.id), e.id.clone()))
            .collect(),
        crls: pki
            .crls
            .iter()
            .map(|c| (c.url.clone(), c.ca.clone()))
            .collect(),
    }));
    actions.push(Action::CreateUsers(
        loaded
            .users
            .iter()
            .map(|u| PlannedUser {
                id: u.id.clone(),
                mailbox: u.mailbox.clone(),
            })
            .collect(),
    ));

    let faults = FaultSchedule::new(&scenario.services);

    if let Some(publish) = &steps.publish {
        faults.enter(Stage::Publish, &mut actions);
        for user in loaded.users.iter().filter(|u| !u.certificates.is_empty()) {
            let settings = publish.value.users.get(&user.id);
            let extra: Vec<String> = (1..=settings.map_or(0, |s| s.extra_certificates.value))
                .map(|n| extra_certificate_id(&user.id, n))
                .collect();
            let ids = |list: &[Spanned<super::model::Id>]| -> Vec<String> {
                list.iter().map(|c| c.value.as_str().to_owned()).collect()
            };
            // Per attribute, the certificate ids it receives.
            let mut values: Vec<(DirectoryAttribute, Vec<String>)> = Vec::new();
            let explicit = settings
                .filter(|s| s.user_smime_certificate.is_some() || s.user_certificate.is_some());
            if let Some(s) = explicit {
                if let Some(list) = &s.user_smime_certificate {
                    values.push((DirectoryAttribute::UserSmimeCertificate, ids(list)));
                }
                if let Some(list) = &s.user_certificate {
                    values.push((DirectoryAttribute::UserCertificate, ids(list)));
                }
            } else {
                let attribute = settings
                    .and_then(|s| s.attribute.as_ref().map(|a| a.value))
                    .unwrap_or(publish.value.attribute);
                let certificates = match settings.and_then(|s| s.certificates.as_ref()) {
                    Some(list) => ids(list),
                    None => user.certificates.clone(),
                };
                for attribute in DirectoryAttribute::of(attribute) {
                    values.push((attribute, certificates.clone()));
                }
            }
            for (attribute, mut certificate_ids) in values {
                certificate_ids.extend(extra.iter().cloned());
                if certificate_ids.is_empty() {
                    continue;
                }
                let certificates = certificate_ids
                    .iter()
                    .map(|id| certificate(id))
                    .collect::<Result<Vec<_>, _>>()?;
                actions.push(Action::Publish(PublishValues {
                    user: user.id.clone(),
                    mailbox: user.mailbox.clone(),
                    attribute,
                    certificates,
                }));
            }
        }
    }

    if let Some(collection) = &steps.virtual_collection {
        faults.enter(Stage::VirtualCollection, &mut actions);
        let c = &collection.value;
        let ids: Vec<String> = match &c.sst {
            Some(list) => list.iter().map(|s| s.value.as_str().to_owned()).collect(),
            None => pki
                .entities
                .iter()
                .filter(|e| e.role.is_ca())
                .map(|e| e.id.clone())
                .collect(),
        };
        let mut certificates = ids
            .iter()
            .map(|id| certificate(id))
            .collect::<Result<Vec<_>, _>>()?;
        if c.filler.value > 0 {
            certificates.extend(filler_certificates(&description, c.filler.value, &name)?);
        }
        let ders: Vec<&[u8]> = certificates.iter().map(|c| c.der.as_slice()).collect();
        let store = smime::sst::write_sst(&ders).map_err(|source| PlanError::Sst {
            scenario: name.clone(),
            source,
        })?;
        let bytes = match c.encoding {
            CollectionEncoding::Sst => store,
            CollectionEncoding::Truncated => truncate_store(&store),
        };
        let expect = match &c.expect.error {
            None => CollectionExpectation::Success {
                earliest: match &c.expect.earliest {
                    Some(id) => Some(certificate(id.value.as_str())?),
                    None => None,
                },
            },
            Some(error) => CollectionExpectation::Error {
                error: error.value,
                thumbprints: c
                    .expect
                    .thumbprints
                    .iter()
                    .flatten()
                    .map(|id| certificate(id.value.as_str()).map(|c| c.thumbprint))
                    .collect::<Result<Vec<_>, _>>()?,
            },
        };
        actions.push(Action::ImportCollection(ImportCollection {
            certificates,
            encoding: c.encoding,
            bytes,
            expect,
        }));
    }

    if let Some(sync) = &steps.sync {
        faults.enter(Stage::Sync, &mut actions);
        let s = &sync.value;
        let last = s.cycles.value.len().saturating_sub(1);
        for (i, cycle) in s.cycles.value.iter().enumerate() {
            actions.push(Action::Sync(SyncRun {
                cycle: *cycle,
                legacy_rules: s.legacy_rules,
                expect: if i == last {
                    s.expect
                        .iter()
                        .map(|(user, outcome)| (user.value.as_str().to_owned(), *outcome))
                        .collect()
                } else {
                    Vec::new()
                },
            }));
        }
    }

    if let Some(policy) = &steps.browser_policy {
        faults.enter(Stage::BrowserPolicy, &mut actions);
        let p = &policy.value;
        let value = p
            .value
            .as_ref()
            .map_or(FORCELIST_VALUE, |v| v.value.as_str());
        for browser in &p.browsers.value {
            for format in &p.formats.value {
                actions.push(Action::BrowserPolicy(policy_artifact(
                    *browser,
                    *format,
                    value,
                    p.expect.valid,
                    &name,
                )));
            }
        }
    }

    if let Some(clients) = &steps.clients {
        faults.enter(Stage::Clients, &mut actions);
        let c = &clients.value;
        let smime_config = parameters(&c.smime_config);
        if !smime_config.is_empty() {
            actions.push(Action::Cmdlet(CmdletCall {
                cmdlet: "Set-SmimeConfig",
                parameters: smime_config,
            }));
        }
        let mut mobile = parameters(&c.mobile_policy);
        if !mobile.is_empty() {
            // Mailboxes without a policy of their own follow the policy named Default.
            mobile.insert("Identity".to_owned(), "Default".into());
            actions.push(Action::Cmdlet(CmdletCall {
                cmdlet: "Set-MobileDeviceMailboxPolicy",
                parameters: mobile,
            }));
        }
        let devices: Vec<(String, MailClient, Vec<String>, Pkcs12Form, KeyStorage)> = match &c
            .devices
        {
            Some(devices) => devices
                .iter()
                .map(|d| {
                    let d = &d.value;
                    let user = d.user.value.as_str().to_owned();
                    let certificates = match &d.certificates {
                        Some(list) => list.iter().map(|c| c.value.as_str().to_owned()).collect(),
                        None => loaded
                            .user(&user)
                            .map(|u| u.certificates.clone())
                            .unwrap_or_default(),
                    };
                    (user, d.client, certificates, d.pkcs12, d.storage)
                })
                .collect(),
            None => loaded
                .users
                .iter()
                .filter(|u| !u.certificates.is_empty())
                .flat_map(|u| {
                    MailClient::ALL.iter().map(|client| {
                        (
                            u.id.clone(),
                            *client,
                            u.certificates.clone(),
                            Pkcs12Form::Modern,
                            KeyStorage::Software,
                        )
                    })
                })
                .collect(),
        };
        for (user, client, certificates, form, storage) in devices {
            let profile = match form {
                Pkcs12Form::Modern => Pkcs12Profile::Modern,
                Pkcs12Form::Legacy => Pkcs12Profile::Legacy,
            };
            let identities = certificates
                .into_iter()
                .map(|id| {
                    pki.pkcs12(&id, PKCS12_PASSWORD, profile)
                        .map(|p12| (id, p12))
                        .map_err(|source| PlanError::Pkcs12 {
                            scenario: name.clone(),
                            source,
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            actions.push(Action::InstallIdentity(InstallIdentity {
                user,
                client,
                storage,
                profile,
                identities,
            }));
        }
    }

    if !scenario.messages.is_empty() {
        faults.enter(Stage::Messages, &mut actions);
        for (index, message) in scenario.messages.iter().enumerate() {
            actions.push(Action::Send(Box::new(send(loaded, index, &message.value))));
        }
    }

    Ok(Plan {
        scenario: name,
        tenant: scenario.organisation.tenant.as_str().to_owned(),
        domain: loaded.domain.clone(),
        now,
        pki,
        actions,
    })
}

/// The description with each user's extra certificates added as users of their own
/// (`alice.previous-01`, ...): expired ECDSA P-256 certificates for the same mailbox, from the same
/// issuer. Keys and serials derive from the seed and the id, so adding them changes nobody else's.
fn with_extra_certificates(loaded: &LoadedScenario) -> PkiDescription {
    let mut description = loaded.pki.clone();
    let Some(publish) = &loaded.scenario.steps.publish else {
        return description;
    };
    for (user, settings) in publish.value.users.iter() {
        let id = user.value.as_str();
        let count = settings.extra_certificates.value;
        let Some(mailbox) = loaded.user(id).and_then(|u| mailbox(&u.mailbox)) else {
            continue;
        };
        // From the user's own issuer; a user known only by mailbox gets the default issuer.
        let issuer = description
            .users
            .get(id)
            .and_then(|spec| spec.value.issuer.clone());
        for n in 1..=count {
            let extra = UserSpec {
                key: Some(KeySpec::EcdsaP256),
                sign: None,
                encrypt: None,
                mailbox: Some(mailbox.clone()),
                issuer: issuer.clone(),
                valid: None,
                flaws: vec![Flaw::Expired],
                non_repudiation: false,
            };
            description.users.insert(
                extra_certificate_id(id, n),
                Spanned::new(extra, Location::UNKNOWN, Location::UNKNOWN),
            );
        }
    }
    description
}

/// A [`Mailbox`] from an address validation already accepted; `Mailbox` is made only by
/// deserializing, which runs its check.
fn mailbox(address: &str) -> Option<Mailbox> {
    let deserializer: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        address.into_deserializer();
    Mailbox::deserialize(deserializer).ok()
}

/// `count` valid CA certificates unrelated to the scenario's PKI, as a whole exported Trusted
/// Root store would add: intermediates of a filler root, ECDSA P-256 (quick to issue), from a
/// description derived from the scenario's seed so that the store is byte-stable.
fn filler_certificates(
    description: &PkiDescription,
    count: u32,
    scenario: &str,
) -> Result<Vec<CertificateRef>, PlanError> {
    let seed = serde_json::to_string(&format!("{}/filler", description.seed.as_str()))
        .unwrap_or_else(|_| "\"filler\"".to_owned());
    let mut yaml = format!(
        "seed: {seed}\nnow: {}\ndomain: filler.example\nroot: {{ subject: \"CN=Filler Root CA,O=Filler\", key: ecdsa-p256 }}\nintermediates:\n",
        rfc3339(description.now.0)
    );
    for n in 1..=count {
        yaml.push_str(&format!(
            "  filler-{n:04}: {{ subject: \"CN=Filler CA {n:04},O=Filler\", key: ecdsa-p256 }}\n"
        ));
    }
    let filler = smime::pki::parse_description(&yaml, "<filler>")
        .and_then(|d| smime::pki::build(&d))
        .map_err(|source| PlanError::Filler {
            scenario: scenario.to_owned(),
            source,
        })?;
    Ok(filler
        .entities
        .iter()
        .filter(|e| e.id != smime::pki::ROOT_ID)
        .map(|e| CertificateRef {
            id: e.id.clone(),
            thumbprint: sha1_thumbprint(&e.certificate),
            not_after: certificate_not_after(&e.certificate),
            der: e.certificate.clone(),
        })
        .collect())
}

/// The store cut off in the middle of its first certificate: header, the element header, half the
/// certificate.
fn truncate_store(store: &[u8]) -> Vec<u8> {
    let header = smime::sst::HEADER.len() + smime::sst::ELEMENT_HEADER_LEN;
    let first_len = store
        .get(smime::sst::HEADER.len() + 8..header)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u32::from_le_bytes(b) as usize);
    let cut = header.saturating_add(first_len / 2).min(store.len());
    store.get(..cut).unwrap_or(store).to_vec()
}

fn certificate_not_after(der: &[u8]) -> OffsetDateTime {
    smime::certificate::parse_der(der)
        .map(|c| smime::certificate::not_after(&c))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A cmdlet's parameters in wire form: the settings the scenario gives, by their cmdlet names.
fn parameters<T: serde::Serialize>(settings: &T) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(settings) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

/// The policy file for one browser in one format, written by the one writer of policy files,
/// [`browser_policy::generate_entry`], with `value` as its forcelist entry (the documented one,
/// or the typo a scenario rehearses). `seed` keeps a configuration profile's PayloadUUIDs stable.
pub fn policy_artifact(
    browser: Browser,
    format: PolicyFormat,
    value: &str,
    expect_valid: bool,
    seed: &str,
) -> PolicyArtifact {
    let target = policy_browser(browser);
    let artifact = browser_policy::generate_entry(target, policy_format(format), seed, value);
    let (location, extension) = match format {
        PolicyFormat::Reg => (
            format!(
                "HKEY_LOCAL_MACHINE\\{}\\{}",
                target.registry_key(),
                browser_policy::FORCELIST_POLICY
            ),
            "reg",
        ),
        // The file's place decides whether the browser reads it, and as mandatory policy.
        PolicyFormat::Json => (artifact.path_hint.clone(), "json"),
        // A configuration profile is installed through MDM from anywhere; what it makes is the
        // managed preferences of the browser's domain.
        PolicyFormat::Plist => (
            format!(
                "/Library/Managed Preferences/{}.plist",
                target.macos_domain()
            ),
            "mobileconfig",
        ),
    };
    PolicyArtifact {
        browser,
        format,
        location,
        file_name: format!("{}.{extension}", browser.name()),
        content: artifact.bytes,
        check_path: artifact.path_hint,
        value: value.to_owned(),
        documented: value == FORCELIST_VALUE,
        expect_valid,
    }
}

fn policy_browser(browser: Browser) -> browser_policy::Browser {
    match browser {
        Browser::Edge => browser_policy::Browser::Edge,
        Browser::Chrome => browser_policy::Browser::Chrome,
    }
}

fn policy_format(format: PolicyFormat) -> browser_policy::Format {
    match format {
        PolicyFormat::Reg => browser_policy::Format::Reg,
        PolicyFormat::Json => browser_policy::Format::LinuxJson,
        PolicyFormat::Plist => browser_policy::Format::Mobileconfig,
    }
}

impl PolicyArtifact {
    /// The browser-policy crate's name for the artifact's browser.
    pub fn target_browser(&self) -> browser_policy::Browser {
        policy_browser(self.browser)
    }
}

fn send(loaded: &LoadedScenario, index: usize, m: &super::model::Message) -> SendMessage {
    let recipient = |id: &Spanned<super::model::Id>| {
        let user = id.value.as_str();
        Recipient {
            user: user.to_owned(),
            mailbox: loaded.user(user).map_or_else(
                || format!("{user}@{}", loaded.domain),
                |u| u.mailbox.clone(),
            ),
        }
    };
    let number = index.saturating_add(1);
    let options = &m.options.value;
    let expect = &m.expect.value;
    let refused = expect.refused.value;
    SendMessage {
        number,
        from: recipient(&m.from),
        to: m.to.iter().map(recipient).collect(),
        cc: m.cc.iter().map(recipient).collect(),
        bcc: m.bcc.iter().map(recipient).collect(),
        client: m.client,
        subject: m
            .subject
            .clone()
            .unwrap_or_else(|| format!("{} #{number}", loaded.name())),
        body: m.body.clone().unwrap_or_else(|| {
            format!(
                "Message {number} of the smime-lab scenario {}.\r\n",
                loaded.name()
            )
        }),
        sign: m.sign.value,
        encrypt: m.encrypt.value,
        triple_wrap: m.triple_wrap.as_ref().map(|t| t.value),
        opaque: m.opaque.as_ref().map(|o| o.value),
        digest: options.digest,
        cipher: options.cipher,
        rsa_padding: options.rsa_padding,
        recipient_id: options.recipient_id,
        include_chain: options.include_chain,
        signer: options.signer.as_ref().map(|s| s.value.as_str().to_owned()),
        expect: MessageExpectation {
            refused,
            reason: expect.reason.as_ref().map(|r| r.value),
            delivered: expect.delivered.as_ref().map_or(!refused, |d| d.value),
            verdict: expect.verdict.as_ref().map(|v| v.value),
            reasons: expect
                .reasons
                .iter()
                .map(|r| r.value.as_str().to_owned())
                .collect(),
            decrypted: expect.decrypted.as_ref().map(|d| d.value),
            weak: expect.weak,
        },
        snapshot: m.snapshot.as_ref().map(|s| s.value.as_str().to_owned()),
    }
}

/// When faults start and end.
struct FaultSchedule {
    /// `(service, fault, at, until)`.
    faults: Vec<(Service, Fault, Stage, Option<Stage>)>,
}

impl FaultSchedule {
    fn new(faults: &[Spanned<super::model::ServiceFault>]) -> Self {
        FaultSchedule {
            faults: faults
                .iter()
                .map(|f| {
                    let f = &f.value;
                    (
                        f.service,
                        f.fault,
                        f.at.value,
                        f.until.as_ref().map(|u| u.value),
                    )
                })
                .collect(),
        }
    }

    /// Repairs the faults that end here, then starts those that begin here.
    fn enter(&self, stage: Stage, actions: &mut Vec<Action>) {
        for (service, fault, _, until) in &self.faults {
            if *until == Some(stage) {
                actions.push(Action::Fault(FaultChange {
                    service: *service,
                    fault: *fault,
                    start: false,
                }));
            }
        }
        for (service, fault, at, _) in &self.faults {
            if *at == stage {
                actions.push(Action::Fault(FaultChange {
                    service: *service,
                    fault: *fault,
                    start: true,
                }));
            }
        }
    }
}

/// One line per action, for `smime-lab scenario plan`.
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::ServePki(s) => write!(
                f,
                "serve {} CA certificates and {} CRLs on pki-web",
                s.ca_certificates.len(),
                s.crls.len()
            ),
            Action::CreateUsers(users) => {
                let list: Vec<&str> = users.iter().map(|u| u.mailbox.as_str()).collect();
                write!(f, "create users {}", list.join(", "))
            }
            Action::Fault(c) => write!(
                f,
                "{} fault: {} {}",
                if c.start { "start" } else { "end" },
                c.service.name(),
                match c.fault {
                    Fault::Down => "down",
                }
            ),
            Action::Publish(p) => {
                let ids: Vec<&str> = p.certificates.iter().map(|c| c.id.as_str()).collect();
                // Sixteen ids do not fit a line: the first two, the last, and the count.
                let shown = match ids.as_slice() {
                    [first, second, .., last] if ids.len() > 4 => {
                        format!("{first}, {second}, ..., {last}")
                    }
                    _ => ids.join(", "),
                };
                write!(
                    f,
                    "publish {shown} to {}'s {} ({} value{})",
                    p.user,
                    p.attribute.ldap_name(),
                    ids.len(),
                    if ids.len() == 1 { "" } else { "s" }
                )
            }
            Action::ImportCollection(i) => {
                write!(
                    f,
                    "Set-SmimeConfig -SMIMECertificateIssuingCA: {} certificates, {} bytes ({}), expect ",
                    i.certificates.len(),
                    i.bytes.len(),
                    match i.encoding {
                        CollectionEncoding::Sst => "sst",
                        CollectionEncoding::Truncated => "truncated",
                    }
                )?;
                match &i.expect {
                    CollectionExpectation::Success { earliest: None } => f.write_str("success"),
                    CollectionExpectation::Success { earliest: Some(c) } => {
                        write!(f, "success, earliest {} ({})", c.id, c.thumbprint)
                    }
                    CollectionExpectation::Error { error, thumbprints } => {
                        write!(f, "error {}", error.name())?;
                        if !thumbprints.is_empty() {
                            write!(f, " listing {}", thumbprints.join(", "))?;
                        }
                        Ok(())
                    }
                }
            }
            Action::Sync(s) => {
                write!(
                    f,
                    "sync: {} cycle{}",
                    match s.cycle {
                        SyncCycle::Initial => "initial",
                        SyncCycle::Delta => "delta",
                    },
                    if s.legacy_rules {
                        " (legacy rules)"
                    } else {
                        ""
                    }
                )?;
                for (user, outcome) in &s.expect {
                    write!(f, ", expect {user} {}", outcome.name())?;
                }
                Ok(())
            }
            Action::BrowserPolicy(p) => write!(
                f,
                "browser policy {} for {} at {} (value {}documented, expect {})",
                p.format.name(),
                p.browser.name(),
                p.location,
                if p.documented { "" } else { "NOT " },
                if p.expect_valid { "valid" } else { "invalid" }
            ),
            Action::Cmdlet(c) => {
                let names: Vec<String> = c
                    .parameters
                    .iter()
                    .map(|(k, v)| format!("-{k} {v}"))
                    .collect();
                write!(f, "{} {}", c.cmdlet, names.join(" "))
            }
            Action::InstallIdentity(i) => {
                let ids: Vec<&str> = i.identities.iter().map(|(id, _)| id.as_str()).collect();
                write!(
                    f,
                    "install {} on {}'s {} ({:?} PKCS#12, {:?})",
                    ids.join(", "),
                    i.user,
                    i.client.name(),
                    i.profile,
                    i.storage
                )
            }
            Action::Send(m) => {
                let to: Vec<&str> =
                    m.to.iter()
                        .chain(&m.cc)
                        .chain(&m.bcc)
                        .map(|r| r.user.as_str())
                        .collect();
                write!(
                    f,
                    "message {}: {} -> {} via {}{}{}",
                    m.number,
                    m.from.user,
                    to.join(", "),
                    m.client.name(),
                    if m.sign { ", signed" } else { "" },
                    if m.encrypt { ", encrypted" } else { "" }
                )?;
                if m.expect.refused {
                    write!(f, "; expect refused")?;
                    if let Some(reason) = m.expect.reason {
                        write!(f, " ({})", reason.name())?;
                    }
                } else {
                    write!(
                        f,
                        "; expect {}",
                        if m.expect.delivered {
                            "delivered"
                        } else {
                            "not delivered"
                        }
                    )?;
                    if let Some(verdict) = m.expect.verdict {
                        write!(f, ", {}", verdict.name())?;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadedScenario, parse};

    fn catalogue(name: &str) -> LoadedScenario {
        let path = test_support::repo_root().join(format!("scenarios/{name}.yaml"));
        let text = String::from_utf8(test_support::read(&path))
            .unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()));
        parse(&text, &path.to_string_lossy()).unwrap_or_else(|e| panic!("{}", e.render(false)))
    }

    fn plan_of(name: &str) -> Plan {
        plan(&catalogue(name)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A one-word name per action, to compare orders.
    fn kinds(plan: &Plan) -> Vec<String> {
        plan.actions
            .iter()
            .map(|a| match a {
                Action::ServePki(_) => "serve-pki".to_owned(),
                Action::CreateUsers(_) => "create-users".to_owned(),
                Action::Fault(f) => format!(
                    "{}-{}",
                    if f.start { "start" } else { "end" },
                    f.service.name()
                ),
                Action::Publish(p) => format!("publish-{}-{}", p.user, p.attribute.ldap_name()),
                Action::ImportCollection(_) => "import".to_owned(),
                Action::Sync(_) => "sync".to_owned(),
                Action::BrowserPolicy(p) => format!("policy-{}", p.file_name),
                Action::Cmdlet(c) => c.cmdlet.to_owned(),
                Action::InstallIdentity(i) => format!("install-{}-{}", i.user, i.client.name()),
                Action::Send(m) => format!("send-{}", m.number),
            })
            .collect()
    }

    fn der(plan: &Plan, id: &str) -> Vec<u8> {
        plan.pki
            .entity(id)
            .map(|e| e.certificate.clone())
            .unwrap_or_else(|| panic!("no certificate {id}"))
    }

    fn import(plan: &Plan) -> &ImportCollection {
        plan.actions
            .iter()
            .find_map(|a| match a {
                Action::ImportCollection(i) => Some(i),
                _ => None,
            })
            .expect("an import")
    }

    fn publishes(plan: &Plan) -> Vec<&PublishValues> {
        plan.actions
            .iter()
            .filter_map(|a| match a {
                Action::Publish(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    fn cmdlet<'a>(plan: &'a Plan, name: &str) -> &'a CmdletCall {
        plan.actions
            .iter()
            .find_map(|a| match a {
                Action::Cmdlet(c) if c.cmdlet == name => Some(c),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn happy_path_follows_the_flow_with_the_offline_parts_resolved() {
        let plan = plan_of("rsa-happy-path");
        let clients = ["outlook", "owa", "mobile"];
        let mut expected: Vec<String> = vec![
            "serve-pki".into(),
            "create-users".into(),
            "publish-alice-userSMIMECertificate".into(),
            "publish-carol-userSMIMECertificate".into(),
            "import".into(),
            "sync".into(),
            "sync".into(),
            "policy-edge.reg".into(),
            "policy-chrome.reg".into(),
            "Set-SmimeConfig".into(),
        ];
        for user in ["alice", "carol"] {
            expected.extend(clients.iter().map(|c| format!("install-{user}-{c}")));
        }
        expected.extend(["send-1".into(), "send-2".into(), "send-3".into()]);
        assert_eq!(kinds(&plan), expected);
        assert_eq!(plan.tenant, "contoso.onmicrosoft.com");
        assert_eq!(plan.domain, "contoso.com");
        assert_eq!(plan.now, time::macros::datetime!(2026-01-01 0:00 UTC));

        // The SST is the store smime::sst writes for root and issuing CA, and reads back.
        let import = import(&plan);
        let (root, issuing) = (der(&plan, "root"), der(&plan, "issuing"));
        assert_eq!(
            import.bytes,
            smime::sst::write_sst(&[&root, &issuing]).expect("store")
        );
        let store = smime::sst::read_sst(&import.bytes).expect("the store reads back");
        let read: Vec<&[u8]> = store.certificate_ders().collect();
        assert_eq!(read, vec![root.as_slice(), issuing.as_slice()]);
        assert!(!import.oversize());
        match &import.expect {
            CollectionExpectation::Success {
                earliest: Some(earliest),
            } => {
                assert_eq!(earliest.id, "issuing");
                assert_eq!(earliest.thumbprint, sha1_thumbprint(&issuing));
                assert!(earliest.not_after > plan.now);
            }
            other => panic!("expected success naming issuing, got {other:?}"),
        }

        // Set-SmimeConfig parameters in wire form, by their cmdlet names.
        assert_eq!(
            serde_json::Value::Object(cmdlet(&plan, "Set-SmimeConfig").parameters.clone()),
            serde_json::json!({ "OWAEncryptionAlgorithms": "6610", "OWASigningAlgorithms": "800C" })
        );

        // The PKCS#12 file alice installs holds her certificate, her key and the issuing CA.
        let install = plan
            .actions
            .iter()
            .find_map(|a| match a {
                Action::InstallIdentity(i) if i.user == "alice" && i.client == MailClient::Owa => {
                    Some(i)
                }
                _ => None,
            })
            .expect("alice's identity in Outlook on the web");
        assert_eq!(install.profile, Pkcs12Profile::Modern);
        let [(id, p12)] = install.identities.as_slice() else {
            panic!("one identity expected");
        };
        assert_eq!(id, "alice");
        let contents = smime::pkcs12::read_pkcs12(p12, PKCS12_PASSWORD).expect("the file reads");
        assert_eq!(contents.certificates.first(), Some(&der(&plan, "alice")));
        assert!(contents.certificates.contains(&issuing));
        assert!(contents.private_key_pkcs8_der.is_some());

        let Some(Action::Send(first)) = plan.actions.iter().find(|a| matches!(a, Action::Send(_)))
        else {
            panic!("no message");
        };
        assert_eq!(first.from.mailbox, "alice@contoso.com");
        assert_eq!(first.to[0].mailbox, "carol@contoso.com");
        assert!(first.sign && first.encrypt);
        assert_eq!(first.subject, "rsa-happy-path #1");
        assert_eq!(first.expect.verdict, Some(Verdict::Valid));
        assert!(first.expect.delivered && !first.expect.refused);
        assert_eq!(first.snapshot.as_deref(), Some("alice-to-carol-owa"));
    }

    #[test]
    fn plans_are_byte_stable() {
        let (a, b) = (plan_of("owa-key-identifier"), plan_of("owa-key-identifier"));
        assert_eq!(import(&a).bytes, import(&b).bytes);
        let p12 = |plan: &Plan| -> Vec<Vec<u8>> {
            plan.actions
                .iter()
                .filter_map(|a| match a {
                    Action::InstallIdentity(i) => Some(i.identities.iter().map(|(_, p)| p.clone())),
                    _ => None,
                })
                .flatten()
                .collect()
        };
        assert_eq!(p12(&a), p12(&b));
    }

    #[test]
    fn the_default_fixture_is_the_committed_pki() {
        let plan = plan_of("separate-signing-and-encryption");
        for id in ["root", "issuing", "alice", "bob-sign", "bob-encrypt"] {
            let path = test_support::fixture(&format!("pki/default/{id}.crt.pem"));
            let pem = test_support::read(&path);
            let committed = smime::certificate::parse_certificates(&pem).expect("a certificate");
            let committed = der::Encode::to_der(&committed[0]).expect("DER");
            assert_eq!(
                der(&plan, id),
                committed,
                "{id} differs from {}",
                path.display()
            );
        }
    }

    #[test]
    fn sixteen_values_with_expired_renewals() {
        let plan = plan_of("sixteen-certificates");
        let alice: Vec<&PublishValues> = publishes(&plan)
            .into_iter()
            .filter(|p| p.user == "alice")
            .collect();
        assert_eq!(alice.len(), 2, "both attributes");
        for values in &alice {
            assert_eq!(values.certificates.len(), 16);
            assert_eq!(values.certificates[0].id, "alice");
            let mut thumbprints: Vec<&str> = values
                .certificates
                .iter()
                .map(|c| c.thumbprint.as_str())
                .collect();
            thumbprints.sort();
            thumbprints.dedup();
            assert_eq!(thumbprints.len(), 16, "LDAP refuses duplicate values");
            for extra in &values.certificates[1..] {
                assert!(extra.not_after < plan.now, "{} is not expired", extra.id);
                let entity = plan.pki.entity(&extra.id).expect("issued");
                assert_eq!(entity.mailbox.as_deref(), Some("alice@contoso.com"));
                assert_eq!(entity.issuer, "issuing");
                assert_eq!(entity.flaws, vec![Flaw::Expired]);
            }
        }
        let syncs: Vec<&SyncRun> = plan
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Sync(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(syncs.len(), 2);
        assert!(syncs[0].expect.is_empty());
        assert_eq!(
            syncs[1].expect,
            vec![
                ("alice".to_owned(), SyncOutcome::Skipped),
                ("carol".to_owned(), SyncOutcome::Exported)
            ]
        );
    }

    #[test]
    fn each_attribute_gets_its_own_list() {
        let plan = plan_of("smime-attribute-preferred");
        let alice: Vec<(DirectoryAttribute, Vec<&str>)> = publishes(&plan)
            .into_iter()
            .filter(|p| p.user == "alice")
            .map(|p| {
                (
                    p.attribute,
                    p.certificates.iter().map(|c| c.id.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            alice,
            vec![
                (DirectoryAttribute::UserSmimeCertificate, vec!["alice"]),
                (DirectoryAttribute::UserCertificate, vec!["alice-laptop"]),
            ]
        );
        assert_eq!(
            kinds(&plan)
                .iter()
                .filter(|k| k.starts_with("install"))
                .collect::<Vec<_>>(),
            vec!["install-alice-outlook", "install-carol-outlook"]
        );
    }

    #[test]
    fn an_oversize_store_is_a_real_store_over_the_limit() {
        let plan = plan_of("sst-oversize");
        let import = import(&plan);
        assert!(
            import.bytes.len() > MAX_COLLECTION_BYTES,
            "{}",
            import.bytes.len()
        );
        assert!(import.oversize());
        let store = smime::sst::read_sst(&import.bytes).expect("a well-formed store");
        assert_eq!(store.certificate_ders().count(), 152);
        assert_eq!(import.certificates.len(), 152);
        assert_eq!(
            import.expect,
            CollectionExpectation::Error {
                error: CollectionError::Oversize,
                thumbprints: Vec::new()
            }
        );
        // Fillers are valid CA certificates, so size is the only thing wrong with the store.
        let filler = smime::certificate::parse_der(&import.certificates[2].der).expect("parses");
        assert!(smime::certificate::not_after(&filler) > plan.now);
    }

    #[test]
    fn a_truncated_store_does_not_read() {
        let plan = plan_of("sst-wrong-format");
        let import = import(&plan);
        let ders: Vec<&[u8]> = import
            .certificates
            .iter()
            .map(|c| c.der.as_slice())
            .collect();
        let whole = smime::sst::write_sst(&ders).expect("store");
        assert!(import.bytes.len() < whole.len());
        assert!(whole.starts_with(&import.bytes));
        assert!(smime::sst::read_sst(&import.bytes).is_err());
    }

    #[test]
    fn an_expired_ca_is_expected_by_thumbprint() {
        let plan = plan_of("expired-ca-in-sst");
        let retired = der(&plan, "retired");
        assert_eq!(
            import(&plan).expect,
            CollectionExpectation::Error {
                error: CollectionError::Expired,
                thumbprints: vec![sha1_thumbprint(&retired)]
            }
        );
        let certificate = smime::certificate::parse_der(&retired).expect("parses");
        assert!(smime::certificate::not_after(&certificate) < plan.now);
    }

    #[test]
    fn mobile_policy_parameters_in_wire_form() {
        let plan = plan_of("mobile-tripledes-required");
        assert_eq!(
            serde_json::Value::Object(
                cmdlet(&plan, "Set-MobileDeviceMailboxPolicy")
                    .parameters
                    .clone()
            ),
            serde_json::json!({
                "Identity": "Default",
                "RequireEncryptionSMIMEAlgorithm": "TripleDES",
                "AllowSMIMEEncryptionAlgorithmNegotiation": "BlockNegotiation"
            })
        );
    }

    #[test]
    fn faults_start_and_end_at_their_stages() {
        let text = r#"
name: faults
summary: Faults around the steps.
source: a test of the plan's fault schedule
organisation: { tenant: contoso.onmicrosoft.com, users: [alice, carol] }
pki: { fixture: default }
steps:
  publish: {}
  virtual-collection: {}
  sync: {}
  clients: { devices: [] }
messages:
  - { from: alice, to: [carol], client: outlook }
services:
  - { service: directory, fault: down, at: sync, until: clients }
  - { service: pki-web, fault: down, at: messages }
"#;
        let loaded = parse(text, "faults.yaml").unwrap_or_else(|e| panic!("{}", e.render(false)));
        let plan = plan(&loaded).expect("plan");
        assert_eq!(
            kinds(&plan),
            vec![
                "serve-pki",
                "create-users",
                "publish-alice-userSMIMECertificate",
                "publish-alice-userCertificate",
                "publish-carol-userSMIMECertificate",
                "publish-carol-userCertificate",
                "import",
                "start-directory",
                "sync",
                "end-directory",
                "start-pki-web",
                "send-1",
            ]
        );
    }

    #[test]
    fn browser_policy_files() {
        assert_eq!(
            FORCELIST_VALUE,
            format!("{EXTENSION_ID};{EXTENSION_UPDATE_URL}")
        );
        // One writer: the artifact is browser_policy's, byte for byte.
        let reg = policy_artifact(Browser::Edge, PolicyFormat::Reg, FORCELIST_VALUE, true, "s");
        assert_eq!(
            reg.content,
            browser_policy::generate(
                browser_policy::Browser::Edge,
                browser_policy::Format::Reg,
                "s"
            )
            .bytes
        );
        assert_eq!(
            reg.location,
            "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Edge\\ExtensionInstallForcelist"
        );
        assert_eq!(reg.file_name, "edge.reg");
        assert!(reg.documented);

        let json = policy_artifact(
            Browser::Chrome,
            PolicyFormat::Json,
            FORCELIST_VALUE,
            true,
            "s",
        );
        assert_eq!(
            json.location,
            "/etc/opt/chrome/policies/managed/smime-owa-extension.json"
        );
        let parsed: serde_json::Value = serde_json::from_slice(&json.content).expect("JSON");
        assert_eq!(
            parsed,
            serde_json::json!({ "ExtensionInstallForcelist": [FORCELIST_VALUE] })
        );

        let plist = policy_artifact(
            Browser::Edge,
            PolicyFormat::Plist,
            FORCELIST_VALUE,
            true,
            "s",
        );
        assert_eq!(
            plist.location,
            "/Library/Managed Preferences/com.microsoft.Edge.plist"
        );
        assert_eq!(plist.file_name, "edge.mobileconfig");
        let text = String::from_utf8(plist.content.clone()).expect("XML");
        assert!(text.contains(&format!("<string>{FORCELIST_VALUE}</string>")));

        // A value with characters each format must escape is written as given, and the checker
        // reads back exactly that value.
        let odd = r#"a"b\c<d>&e"#;
        for format in [PolicyFormat::Reg, PolicyFormat::Json, PolicyFormat::Plist] {
            let artifact = policy_artifact(Browser::Chrome, format, odd, false, "s");
            assert!(!artifact.documented);
            let report = browser_policy::check_artifact(
                &artifact.content,
                &browser_policy::CheckOptions {
                    path: Some(&artifact.check_path),
                    browser: Some(artifact.target_browser()),
                },
            )
            .expect("reads");
            assert_eq!(
                report.settings[0].value,
                serde_json::json!([odd]),
                "{format:?}"
            );
            assert!(report.has_errors());
        }

        let typo = plan_of("browser-policy-typo");
        let artifacts: Vec<&PolicyArtifact> = typo
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::BrowserPolicy(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(artifacts.len(), 6);
        assert!(artifacts.iter().all(|a| !a.documented && !a.expect_valid));
    }
}
