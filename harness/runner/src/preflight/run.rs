//! The rehearsal, on a lab of its own (slapd, the mock tenant, pki-web when certificates name CRL
//! distribution points), through the scenario executor's own functions: Set-SmimeConfig with the
//! admin's collection and OWA settings (`TenantApi::invoke`, refusals read by
//! `execute::collection::classify`), every user written to slapd
//! (`execute::directory::add_users`), one full Entra Connect cycle (`execute::sync::run_cycle`)
//! checked against `Get-Mailbox`/`Get-Recipient` (`check_recipients`), then for every user
//! Outlook's lookup (`execute::lookup`, the tenant's `/lab/recipients/certificates`: the
//! one-address lookup for many addresses a request) and Outlook on the web's check before it
//! encrypts (`execute::validation::validate_recipient_certificates`, many certificates a request).
//!
//! CRLs: no fetch leaves the machine. A distribution point host listed `internet-reachable` is
//! sent to pki-web, which serves each CRL the admin gave at the distribution points whose last
//! path segment is its file name; any other host is sent to a port nothing listens on
//! (`lab::TenantConfig::unreachable_crl_hosts`): refused, as an internal-only host is to
//! Exchange Online.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use base64::Engine as _;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use x509_cert::Certificate;

use super::checks::{self, Finding, Severity};
use super::directory::{Export, OrgUser};
use super::input::Preflight;
use super::report::{Chosen, PreflightReport, SstReport, UserReport};
use crate::execute::TenantApiError;
use crate::execute::collection::{Refusal, classify, parse_detail};
use crate::execute::directory::{NewUser, add_users};
use crate::execute::sync::{self, Cycle, ExportRules, Standing, SyncState};
use crate::execute::{TenantApi, lab_setup, lookup, validation};
use futures_util::StreamExt as _;
use scenario::model::SyncOutcome;

/// Requests of lookups and validations in flight at once (each for
/// [`lookup::ADDRESSES_PER_REQUEST`] users): the tenant works on two while the answers of the
/// others travel and are read.
const PARALLEL: usize = 4;

/// Why the rehearsal could not find out (exit 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CouldNotRun(pub String);

fn could_not(what: &str, e: impl std::fmt::Display) -> CouldNotRun {
    CouldNotRun(format!("{what}: {e}"))
}

/// What the SST holds, judged offline at `now`: expired CAs, and the subjects it can anchor.
struct Collection {
    subjects: BTreeSet<Vec<u8>>,
    findings: Vec<Finding>,
}

fn judge_collection(pre: &Preflight) -> Collection {
    let mut subjects = BTreeSet::new();
    let mut findings = Vec::new();
    for collected in &pre.sst_certificates {
        if let Ok(name) = der::Encode::to_der(collected.certificate.tbs_certificate().subject()) {
            subjects.insert(name);
        }
        let not_after = smime::certificate::not_after(&collected.certificate);
        if not_after < pre.now {
            findings.push(Finding::new(
                &checks::SST_CA_EXPIRED,
                format!(
                    "{} ({}) expired {}",
                    smime::certificate::subject_string(&collected.certificate),
                    smime::certificate::sha1_thumbprint(&collected.der),
                    smime::certificate::rfc3339(not_after)
                ),
            ));
        }
    }
    Collection { subjects, findings }
}

/// The distribution point URLs of every certificate the users publish.
fn distribution_points(users: &[OrgUser]) -> BTreeSet<String> {
    users
        .iter()
        .flat_map(|u| &u.user_certificate)
        .filter_map(|der| smime::certificate::parse_der(der).ok())
        .flat_map(|c| smime::cms::path::crl_distribution_points(&c))
        .filter(|url| url.starts_with("http://"))
        .collect()
}

fn lab_config(pre: &Preflight, urls: &BTreeSet<String>) -> lab::LabConfig {
    let mut services = vec![lab::Service::Directory, lab::Service::Tenant];
    let mut config = lab::LabConfig::default();
    config.tenant.tenant = pre.tenant.clone();
    config.tenant.now = Some(smime::certificate::rfc3339(pre.now));
    let (mut reachable, mut internal) = (BTreeSet::new(), BTreeSet::new());
    for url in urls {
        let (Some(host), Some(path)) = (lab_setup::url_host(url), lab_setup::url_path(url)) else {
            continue;
        };
        let name = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        if !pre.internet_reachable.contains(&name) {
            internal.insert(name);
            continue;
        }
        reachable.insert(name);
        let file = path.rsplit('/').next().unwrap_or_default();
        if let Some(crl) = pre.crls.get(file) {
            // Two URLs with one path and different CRLs cannot both be served; the first stays.
            let _ = config.pki_web.insert(path, crl.clone());
        }
    }
    if pre.mail_sample > 0 {
        services.push(lab::Service::Smtp);
    }
    if !reachable.is_empty() {
        services.push(lab::Service::PkiWeb);
        config.tenant.crl_hosts = reachable.into_iter().collect();
    }
    config.tenant.unreachable_crl_hosts = internal.into_iter().collect();
    config.only(services)
}

/// Runs the rehearsal. `started` is when the command started (for the report's duration).
pub async fn run(
    pre: &Preflight,
    export: Export,
    runtime: lab::RuntimeChoice,
) -> Result<PreflightReport, CouldNotRun> {
    let started = std::time::Instant::now();
    let collection = judge_collection(pre);
    let urls = distribution_points(&export.users);
    let config = lab_config(pre, &urls);
    let lab = lab::start(&config, runtime)
        .await
        .map_err(|e| could_not("starting the lab (slapd, mock tenant, pki-web)", e))?;
    let result = rehearse(pre, export, collection, &lab).await;
    let stopped = lab.stop().await;
    let mut report = result?;
    stopped.map_err(|e| could_not("stopping the lab", e))?;
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

async fn rehearse(
    pre: &Preflight,
    export: Export,
    collection: Collection,
    lab: &lab::RunningLab,
) -> Result<PreflightReport, CouldNotRun> {
    let endpoints = lab.endpoints().clone();
    let http = crate::execute::http_client().map_err(CouldNotRun)?;
    let tenant = TenantApi::new(
        http.clone(),
        endpoints
            .tenant()
            .map_err(|e| could_not("the lab", e))?
            .clone(),
    );
    let directory = endpoints
        .directory()
        .map_err(|e| could_not("the lab", e))?
        .clone();
    let mut notes = Vec::new();
    let mut phases = Phases::start();

    // Step 2: the collection, then the OWA settings.
    let mut sst = SstReport::of(pre, collection.findings);
    let mut parameters = Map::new();
    parameters.insert(
        "SMIMECertificateIssuingCA".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(&pre.sst_bytes)),
    );
    match tenant.invoke("Set-SmimeConfig", parameters).await {
        Ok(_) => sst.imported = true,
        Err(TenantApiError::Cmdlet {
            message, details, ..
        }) => {
            let details: Vec<_> = details.iter().map(|d| parse_detail(d)).collect();
            let said = details
                .iter()
                .map(|d| d.text.clone())
                .collect::<Vec<_>>()
                .join("; ");
            let said = if said.is_empty() {
                message.clone()
            } else {
                said
            };
            let check = match classify(&message, &details) {
                Refusal::Known {
                    error: scenario::model::CollectionError::Oversize,
                    ..
                } => &checks::SST_OVERSIZE,
                _ => &checks::SST_REFUSED,
            };
            // An expired CA found offline is the same flaw the tenant refuses: said once.
            if !(check.id == checks::SST_REFUSED.id
                && sst
                    .findings
                    .iter()
                    .any(|f| f.id == checks::SST_CA_EXPIRED.id))
            {
                sst.findings.push(Finding::new(
                    check,
                    format!("Set-SmimeConfig -SMIMECertificateIssuingCA failed: {said}"),
                ));
            }
        }
        Err(e) => return Err(could_not("Set-SmimeConfig -SMIMECertificateIssuingCA", e)),
    }
    if !pre.smime_config.is_empty() {
        let parameters: Map<String, Value> = pre.smime_config.iter().cloned().collect();
        match tenant.invoke("Set-SmimeConfig", parameters).await {
            Ok(_) => notes.push(format!(
                "smime-config: {} OWA setting(s) applied with Set-SmimeConfig",
                pre.smime_config.len()
            )),
            Err(TenantApiError::Cmdlet { message, .. }) => notes.push(format!(
                "smime-config: Set-SmimeConfig refused the settings: {message}"
            )),
            Err(e) => {
                return Err(could_not(
                    "Set-SmimeConfig with the smime-config settings",
                    e,
                ));
            }
        }
    }
    notes.extend(
        pre.smime_config_skipped
            .iter()
            .map(|s| format!("smime-config: {s}")),
    );

    phases.end("collection and settings");

    // Step 1: the users into the lab's directory.
    // The certificates move to slapd's objects and are dropped once written: what is judged
    // later is how many each attribute held (`published`) and the value Outlook's lookup
    // chooses, read back through the tenant. One copy of 100,000 users' certificates at a
    // time, and none after publishing.
    let mut users = export.users;
    let published: Vec<(usize, usize)> = users
        .iter()
        .map(|u| (u.user_certificate.len(), u.user_smime_certificate.len()))
        .collect();
    let objects: Vec<NewUser> = users
        .iter_mut()
        .filter(|u| u.mail.is_some())
        .map(|u| NewUser {
            id: u.id.clone(),
            mail: u.mail.clone().unwrap_or_default(),
            anchor: u.anchor.clone(),
            user_certificate: std::mem::take(&mut u.user_certificate),
            user_smime_certificate: std::mem::take(&mut u.user_smime_certificate),
            proxy_addresses: std::mem::take(&mut u.proxy_addresses),
        })
        .collect();
    let added = add_users(&directory, &objects).await;
    drop(objects);
    added.map_err(|e| could_not("writing the users to the lab's directory", e))?;
    phases.end("publish to the directory");

    // Step 3: one full cycle, then the tenant read back.
    let mut state = SyncState::default();
    let cycle = sync::run_cycle(
        &tenant,
        &directory,
        &mut state,
        Cycle::Full,
        ExportRules::default(),
    )
    .await
    .map_err(|e| could_not("the Entra Connect cycle", e))?;
    phases.end("sync cycle");
    let (_, mismatches) = sync::check_recipients(&tenant, &state, &cycle.directory)
        .await
        .map_err(|e| could_not("reading the recipients back", e))?;
    if !mismatches.is_empty() {
        return Err(CouldNotRun(format!(
            "the tenant does not hold what the sync exported ({} mismatches; first: {})",
            mismatches.len(),
            mismatches[0]
        )));
    }
    drop(cycle.directory);
    phases.end("read-back (Get-Mailbox, Get-Recipient)");
    let standings: HashMap<String, (Standing, String)> = cycle
        .objects
        .into_iter()
        .map(|o| (o.user, (o.standing, o.line)))
        .collect();

    // Step 5: Outlook's lookup and OWA's check, a chunk of users a request.
    let addresses: Vec<(usize, String)> = users
        .iter()
        .enumerate()
        .filter_map(|(i, u)| u.mail.clone().map(|m| (i, m)))
        .filter(|(i, _)| {
            matches!(
                standings.get(&users[*i].id),
                Some((Standing::Outcome(_), _))
            )
        })
        .collect();
    let mut seen: HashMap<usize, ClientSide> = HashMap::with_capacity(addresses.len());
    let mut answers = futures_util::stream::iter(addresses.chunks(lookup::ADDRESSES_PER_REQUEST))
        .map(|chunk| client_side(&tenant, chunk))
        .buffer_unordered(PARALLEL);
    while let Some(answer) = answers.next().await {
        seen.extend(answer?);
    }
    drop(answers);

    phases.end("lookups and OWA checks");

    // The mobile policies, judged against what the lookups found.
    let mobile = match &pre.mobile_policies {
        Some(policies) => {
            let with_mail = users.iter().filter(|u| u.mail.is_some()).count();
            let found = seen.values().filter(|c| c.chosen.is_some()).count();
            Some(
                super::mobile::rehearse(
                    &tenant,
                    policies,
                    with_mail.saturating_sub(found),
                    &mut notes,
                )
                .await
                .map_err(|e| could_not("the mobile device mailbox policies", e))?,
            )
        }
        None => None,
    };

    // Step 5 as mail: signing with the admin's PKCS#12 files, and the sample of encrypted
    // messages to users Outlook on the web encrypts to.
    let mut mail_findings: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    let mails: HashSet<String> = users
        .iter()
        .filter_map(|u| u.mail.as_ref().map(|m| m.to_ascii_lowercase()))
        .collect();
    let eligible: Vec<(&String, &[u8])> = users
        .iter()
        .enumerate()
        .filter_map(|(index, user)| {
            let side = seen.get(&index)?;
            let (_, der) = side.chosen.as_ref()?;
            side.owa.as_ref().filter(|o| o.send_allowed)?;
            Some((user.mail.as_ref()?, der.as_slice()))
        })
        .collect();
    let settings = super::messages::owa_settings(&tenant).await?;
    let flow = super::messages::Flow {
        tenant: &tenant,
        http: &http,
        smtp: endpoints.smtp().ok(),
        settings: &settings,
    };
    let mail = super::messages::rehearse(pre, &flow, &mails, &eligible, &mut mail_findings).await?;
    drop(eligible);
    phases.end("mobile policies, signing and mail");

    let mut reports = Vec::with_capacity(users.len());
    for (index, user) in users.into_iter().enumerate() {
        let standing = standings.get(&user.id);
        let extra = user
            .mail
            .as_ref()
            .and_then(|m| mail_findings.remove(&m.to_ascii_lowercase()))
            .unwrap_or_default();
        reports.push(judge_user(
            pre,
            &collection.subjects,
            Judged {
                user,
                published: published[index],
                standing,
                seen: seen.remove(&index),
                mail_findings: extra,
            },
        ));
    }
    let mut report =
        PreflightReport::new(pre, sst, mobile, mail, reports, export.other_entries, notes);
    phases.end("judging and the report");
    report.phases_ms = phases.done;
    Ok(report)
}

/// How long each part of the rehearsal took.
struct Phases {
    since: std::time::Instant,
    done: Vec<(&'static str, u64)>,
}

impl Phases {
    fn start() -> Self {
        Phases {
            since: std::time::Instant::now(),
            done: Vec::new(),
        }
    }

    fn end(&mut self, name: &'static str) {
        let ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.done.push((name, ms));

        self.since = std::time::Instant::now();
    }
}

/// What the clients see for one recipient.
struct ClientSide {
    /// The lookup's choice: (attribute, DER).
    chosen: Option<(String, Vec<u8>)>,
    /// Why each value was passed over, when nothing was chosen.
    passed_over: Vec<String>,
    owa: Option<validation::CertificateValidation>,
}

/// What the clients see for a chunk of users (`(index, address)`): Outlook's lookup of every
/// address in one request, then Outlook on the web's check of every chosen certificate in one.
async fn client_side(
    tenant: &TenantApi,
    chunk: &[(usize, String)],
) -> Result<Vec<(usize, ClientSide)>, CouldNotRun> {
    let addresses: Vec<String> = chunk.iter().map(|(_, a)| a.clone()).collect();
    let answers = lookup::encryption_certificates(tenant, &addresses, None)
        .await
        .map_err(|e| {
            could_not(
                &format!(
                    "Outlook's lookup of {} users from {}",
                    addresses.len(),
                    addresses[0]
                ),
                e,
            )
        })?;
    let mut sides = Vec::with_capacity(chunk.len());
    for ((index, address), answer) in chunk.iter().zip(answers) {
        if let Some(error) = answer["error"].as_str() {
            return Err(CouldNotRun(format!(
                "Outlook's lookup of {address}: {error} ({})",
                answer["message"].as_str().unwrap_or_default()
            )));
        }
        sides.push((*index, read_lookup(&answer)));
    }
    let chosen: Vec<(&[u8], &str)> = sides
        .iter()
        .zip(chunk)
        .filter_map(|((_, side), (_, address))| {
            side.chosen
                .as_ref()
                .map(|(_, der)| (der.as_slice(), address.as_str()))
        })
        .collect();
    let mut judged = validation::validate_recipient_certificates(tenant, &chosen)
        .await
        .map_err(|e| {
            could_not(
                &format!("OWA's check of {} users' certificates", chosen.len()),
                e,
            )
        })?
        .into_iter();
    for (_, side) in sides.iter_mut().filter(|(_, s)| s.chosen.is_some()) {
        side.owa = judged.next().map(|mut owa| {
            // The status and reasons are what the report uses; the answer as sent is a few
            // kilobytes a user.
            owa.answer = Value::Null;
            owa
        });
    }
    Ok(sides)
}

/// One lookup answer: the value chosen, and why each value was passed over.
fn read_lookup(answer: &Value) -> ClientSide {
    let chosen = answer["chosen"]["certificate"]
        .as_str()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|der| {
            (
                answer["chosen"]["attribute"]
                    .as_str()
                    .unwrap_or("userCertificate")
                    .to_owned(),
                der,
            )
        });
    let passed_over = answer["candidates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let reasons: Vec<&str> = c["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "{} value {}: {}",
                c["attribute"].as_str().unwrap_or("?"),
                c["index"].as_u64().map_or(0, |i| i + 1),
                reasons.join(", ")
            )
        })
        .collect();
    ClientSide {
        chosen,
        passed_over,
        owa: None,
    }
}

/// What is known of one user by the end of the rehearsal.
struct Judged<'a> {
    user: OrgUser,
    /// How many `userCertificate` and `userSMIMECertificate` values the export held.
    published: (usize, usize),
    standing: Option<&'a (Standing, String)>,
    seen: Option<ClientSide>,
    mail_findings: Vec<Finding>,
}

fn judge_user(pre: &Preflight, anchors: &BTreeSet<Vec<u8>>, judged: Judged<'_>) -> UserReport {
    let Judged {
        user,
        published,
        standing,
        seen,
        mail_findings,
    } = judged;
    let mut findings = user.findings.clone();
    let has_usable = published.0 > 0 || published.1 > 0;
    // A bad value next to a usable one does not stop the user.
    if has_usable {
        for f in findings
            .iter_mut()
            .filter(|f| f.id == checks::NOT_A_CERTIFICATE.id)
        {
            f.severity = Severity::Warning;
        }
    }
    let over = |count: usize| count > sync::MAX_CERTIFICATE_VALUES;
    match standing {
        Some((Standing::Outcome(SyncOutcome::Skipped | SyncOutcome::LargeObject), line)) => {
            findings.push(Finding::new(&checks::OVER_15_VALUES, line.clone()));
        }
        Some((Standing::Refused { code }, line)) => {
            findings.push(Finding::new(
                &checks::SYNC_REFUSED,
                format!("{code}: {line}"),
            ));
        }
        _ if over(published.0) || over(published.1) => {
            findings.push(Finding::new(
                &checks::OVER_15_VALUES,
                format!(
                    "{} userCertificate and {} userSMIMECertificate values",
                    published.0, published.1
                ),
            ));
        }
        _ => {}
    }
    let mut chosen = None;
    if let Some(seen) = seen {
        match (&seen.chosen, &seen.owa) {
            (None, _) => {
                // Values withheld by the 15-value rule are why nothing is found: one flaw, one
                // finding, which now stops the user.
                if let Some(over) = findings
                    .iter_mut()
                    .find(|f| f.id == checks::OVER_15_VALUES.id)
                {
                    over.severity = Severity::Failure;
                } else if has_usable {
                    findings.push(Finding::new(
                        &checks::LOOKUP_NOTHING,
                        format!(
                            "every value was passed over: {}",
                            seen.passed_over.join("; ")
                        ),
                    ));
                }
            }
            (Some((attribute, der)), owa) => {
                let certificate = smime::certificate::parse_der(der).ok();
                chosen = Some(Chosen::of(attribute, der, certificate.as_ref()));
                if let Some(certificate) = &certificate {
                    judge_certificate(pre, anchors, certificate, owa.as_ref(), &mut findings);
                }
            }
        }
    }
    findings.extend(mail_findings);
    UserReport::new(user, chosen, findings)
}

const SHA1_SIGNATURES: [&str; 3] = ["1.2.840.113549.1.1.5", "1.2.840.10045.4.1", "1.3.14.3.2.29"];

/// The certificate Outlook chose, as OWA judged it and as it will age.
fn judge_certificate(
    pre: &Preflight,
    anchors: &BTreeSet<Vec<u8>>,
    certificate: &Certificate,
    owa: Option<&validation::CertificateValidation>,
    findings: &mut Vec<Finding>,
) {
    let issuer = der::Encode::to_der(certificate.tbs_certificate().issuer()).unwrap_or_default();
    let issuer_missing = !anchors.contains(&issuer);
    let cdp_hosts: Vec<String> = smime::cms::path::crl_distribution_points(certificate)
        .iter()
        .filter_map(|u| {
            lab_setup::url_host(u).map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase())
        })
        .collect();
    let internal: Vec<&String> = cdp_hosts
        .iter()
        .filter(|h| !pre.internet_reachable.contains(h))
        .collect();
    let mut weak = false;
    if let Some(owa) = owa {
        weak = owa.status == "weak";
        if let Some(why) = &owa.not_the_recipients {
            findings.push(Finding::new(&checks::NOT_THE_RECIPIENTS, why.clone()));
        }
        // A certificate whose path validates and that is refused for its address alone has the
        // one finding above.
        let address_only = owa.not_the_recipients.is_some() && owa.status == "valid";
        if !owa.send_allowed && !address_only {
            if issuer_missing && owa.status == "untrusted" {
                findings.push(Finding::new(
                    &checks::ISSUER_NOT_IN_SST,
                    format!(
                        "issuer {} is not in {}",
                        smime::certificate::issuer_string(certificate),
                        pre.sst_path.display()
                    ),
                ));
            } else {
                findings.push(Finding::new(
                    &checks::OWA_REFUSES,
                    format!("{}: {}", owa.status, owa.reasons.join("; ")),
                ));
            }
        } else if owa.status == "crl-unreachable" && internal.is_empty() {
            findings.push(Finding::new(
                &checks::CRL_NOT_CHECKED,
                format!("{} (give the CRL under crls:)", owa.reasons.join("; ")),
            ));
        }
    }
    if !internal.is_empty() {
        let hosts: Vec<&str> = internal.iter().map(|h| h.as_str()).collect();
        findings.push(Finding::new(
            &checks::CRL_INTERNAL,
            format!(
                "{} (not listed under internet-reachable:)",
                hosts.join(", ")
            ),
        ));
    }
    let not_after = smime::certificate::not_after(certificate);
    if not_after >= pre.now && not_after <= pre.now + pre.horizon {
        findings.push(Finding::new(
            &checks::EXPIRES_SOON,
            format!(
                "expires {} (within {} of {})",
                smime::certificate::rfc3339(not_after),
                pre.horizon_text,
                smime::certificate::rfc3339(pre.now)
            ),
        ));
    }
    let algorithm = certificate.signature_algorithm().oid.to_string();
    if !weak && SHA1_SIGNATURES.contains(&algorithm.as_str()) {
        findings.push(Finding::new(
            &checks::SHA1_SIGNED,
            format!("signature algorithm {algorithm}"),
        ));
    }
}

/// Expiry month (`2026-07`) of every chosen certificate → users.
pub fn timeline(users: &[UserReport], now: OffsetDateTime) -> BTreeMap<String, usize> {
    let mut months = BTreeMap::new();
    for user in users {
        if let Some(chosen) = &user.certificate
            && let Some(month) = chosen.not_after.get(..7)
            && chosen.not_after.as_str() >= smime::certificate::rfc3339(now).as_str()
        {
            *months.entry(month.to_owned()).or_default() += 1;
        }
    }
    months
}
