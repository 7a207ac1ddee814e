//! Step 1, `publish`: which certificates go into which attribute of each user's directory object,
//! and the expired renewals that pile up beside them.

use serde::Deserialize as _;
use serde::de::IntoDeserializer as _;
use serde_saphyr::{Location, Spanned};
use smime::key::KeySpec;
use smime::pki::{Flaw, Mailbox, PkiDescription, UserSpec};

use super::{Action, CertificateRef, Issued, PlanError};
use crate::load::{LoadedScenario, User};
use crate::model::{Id, Publish, PublishAttribute, PublishUser};
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
}

pub(super) fn plan(
    loaded: &LoadedScenario,
    publish: &Publish,
    issued: &Issued<'_>,
    actions: &mut Vec<Action>,
) -> Result<(), PlanError> {
    for user in loaded.users.iter().filter(|u| !u.certificates.is_empty()) {
        let settings = publish.users.get(&user.id);
        let extra: Vec<String> = (1..=settings.map_or(0, |s| s.extra_certificates.value))
            .map(|n| extra_certificate_id(&user.id, n))
            .collect();
        for (attribute, mut certificate_ids) in attribute_values(publish, user, settings) {
            certificate_ids.extend(extra.iter().cloned());
            if certificate_ids.is_empty() {
                continue;
            }
            let certificates = certificate_ids
                .iter()
                .map(|id| issued.certificate(id))
                .collect::<Result<Vec<_>, _>>()?;
            actions.push(Action::Publish(PublishValues {
                user: user.id.clone(),
                mailbox: user.mailbox.clone(),
                attribute,
                certificates,
            }));
        }
    }
    Ok(())
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
