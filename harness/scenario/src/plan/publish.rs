//! Step 1, `publish`: which certificates go into which attribute of each user's directory object,
//! and the expired renewals that pile up beside them.

use serde::Deserialize as _;
use serde::de::IntoDeserializer as _;
use serde_saphyr::{Location, Spanned};
use smime::key::KeySpec;
use smime::pki::{Flaw, Mailbox, PkiDescription, UserSpec};

use super::{Action, CertificateRef, Issued, PlanError};
use crate::load::{LoadedScenario, User};
use crate::model::{Id, LabOffset, Publish, PublishAttribute, PublishUser};
use crate::validate::extra_certificate_id;

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

#[derive(Clone, Debug)]
pub struct PublishValues {
    pub user: String,
    pub mailbox: String,
    pub attribute: DirectoryAttribute,
    /// The attribute's values, in order: the user's certificates, then any extra ones.
    pub certificates: Vec<CertificateRef>,
    /// Instead of one DER value per certificate, this one value: a PKCS#7 SignedData holding
    /// `certificates`, as Outlook's "Publish to GAL" writes `userSMIMECertificate`.
    pub pkcs7: Option<Vec<u8>>,
}

/// Step 1's actions into `actions`; a user published later (`at`) into `late`, with the time.
pub(super) fn plan(
    loaded: &LoadedScenario,
    publish: &Publish,
    issued: &Issued<'_>,
    actions: &mut Vec<Action>,
    late: &mut Vec<(LabOffset, Action)>,
    now: time::OffsetDateTime,
) -> Result<(), PlanError> {
    for user in loaded.users.iter().filter(|u| !u.certificates.is_empty()) {
        let settings = publish.users.get(&user.id);
        let at = settings.and_then(|s| s.at.as_ref()).map(|a| a.value);
        let extra: Vec<String> = (1..=settings.map_or(0, |s| s.extra_certificates.value))
            .map(|n| extra_certificate_id(&user.id, n))
            .collect();
        let gal = settings
            .and_then(|s| s.outlook_gal.as_ref())
            .map(|g| &g.value);
        for (attribute, mut certificate_ids) in attribute_values(publish, user, settings) {
            let mut pkcs7 = None;
            match gal {
                Some(gal) if attribute == DirectoryAttribute::UserSmimeCertificate => {
                    certificate_ids = vec![gal.sign.value.as_str().to_owned()];
                    if gal.encrypt.value != gal.sign.value {
                        certificate_ids.push(gal.encrypt.value.as_str().to_owned());
                    }
                    pkcs7 = Some(outlook_gal_value(
                        issued,
                        gal.sign.value.as_str(),
                        gal.encrypt.value.as_str(),
                        now,
                    )?);
                }
                _ => certificate_ids.extend(extra.iter().cloned()),
            }
            if certificate_ids.is_empty() {
                continue;
            }
            let certificates = certificate_ids
                .iter()
                .map(|id| issued.certificate(id))
                .collect::<Result<Vec<_>, _>>()?;
            let action = Action::Publish(PublishValues {
                user: user.id.clone(),
                mailbox: user.mailbox.clone(),
                attribute,
                certificates,
                pkcs7,
            });
            match at {
                Some(at) => late.push((at, action)),
                None => actions.push(action),
            }
        }
    }
    Ok(())
}

/// `userSMIMECertificate` as Outlook's "Publish to GAL" writes it (RFC 2798: "A PKCS#7 [RFC2315]
/// SignedData, where the content that is signed is ignored by consumers of userSMIMECertificate
/// values. It is recommended that values have a `contentType' of data with an absent `content'
/// field."): signed at `now` with `sign`'s key, carrying `sign`, `encrypt` and their issuers but
/// the root, its encryption key preference attributes naming `encrypt`. Byte-stable: the
/// signature's randomness derives from the PKI's seed.
fn outlook_gal_value(
    issued: &Issued<'_>,
    sign: &str,
    encrypt: &str,
    now: time::OffsetDateTime,
) -> Result<Vec<u8>, PlanError> {
    let failed = |reason: String| PlanError::Pki {
        scenario: issued.scenario.to_owned(),
        source: smime::pki::PkiError::Issue {
            entity: sign.to_owned(),
            what: "a userSMIMECertificate value",
            reason,
        },
    };
    let entity = |id: &str| {
        issued.pki.entity(id).ok_or_else(|| PlanError::Missing {
            scenario: issued.scenario.to_owned(),
            what: "certificate",
            id: id.to_owned(),
        })
    };
    let parse = |der: &[u8]| smime::certificate::parse_der(der).map_err(|e| failed(e.to_string()));
    let signer = entity(sign)?;
    let signing_certificate = parse(&signer.certificate)?;
    let encryption_certificate = parse(&entity(encrypt)?.certificate)?;
    let mut chain = Vec::new();
    if encrypt != sign {
        chain.push(encryption_certificate.clone());
    }
    for id in [sign, encrypt] {
        for ca in issued.pki.chain(id).iter().skip(1) {
            if ca.role == smime::pki::Role::Root {
                continue;
            }
            let certificate = parse(&ca.certificate)?;
            if !chain.contains(&certificate) {
                chain.push(certificate);
            }
        }
    }
    let signer = smime::cms::sign::Signer {
        certificate: signing_certificate,
        key: signer.key.clone(),
        chain,
        encryption_certificate: Some(encryption_certificate),
    };
    let options = smime::cms::sign::SignOptions::new(now);
    let label = format!("pki/{}/{sign}/{encrypt}/outlook-gal", issued.pki.seed);
    smime::cms::sign::sign_content(
        b"",
        true,
        &signer,
        &options,
        &mut smime::rng::seeded(&label),
    )
    .map_err(|e| failed(e.to_string()))
}

/// Per attribute, the certificate ids it receives (before extra certificates).
fn attribute_values(
    publish: &Publish,
    user: &User,
    settings: Option<&PublishUser>,
) -> Vec<(DirectoryAttribute, Vec<String>)> {
    let ids = |list: &[Spanned<Id>]| -> Vec<String> {
        list.iter().map(|c| c.value.as_str().to_owned()).collect()
    };
    let mut values: Vec<(DirectoryAttribute, Vec<String>)> = Vec::new();
    let explicit =
        settings.filter(|s| s.user_smime_certificate.is_some() || s.user_certificate.is_some());
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
            .unwrap_or(publish.attribute);
        let certificates = match settings.and_then(|s| s.certificates.as_ref()) {
            Some(list) => ids(list),
            None => user.certificates.clone(),
        };
        for attribute in DirectoryAttribute::of(attribute) {
            values.push((attribute, certificates.clone()));
        }
    }
    values
}

/// The description with each user's extra certificates added as users of their own
/// (`alice.previous-01`, ...): expired ECDSA P-256 certificates for the same mailbox, from the same
/// issuer. Keys and serials derive from the seed and the id, so adding them changes nobody else's.
pub(super) fn with_extra_certificates(loaded: &LoadedScenario) -> PkiDescription {
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
