//! The lab PKI (step 1): a root, intermediates and users described in YAML, issued deterministically.
//!
//! [`parse_description`] reads the YAML ([`PkiDescription`]), [`build`] issues everything in
//! memory ([`BuiltPki`]): per entity its DER certificate and private key, per CA its DER CRL.
//! Writing files is the caller's job (`smime-lab pki build`). The same description always gives
//! the same bytes: keys and serial numbers come from [`crate::rng::seeded`] with the description's
//! seed and the entity id, dates from the description's `now`, and signatures are deterministic.
//!
//! Certificates follow the S/MIME Baseline Requirements (mailbox-validated, strict) unless a
//! [`Flaw`] asks otherwise, and carry what Exchange Online needs (SKI, CRL distribution point,
//! caIssuers).

mod description;
mod issue;
mod plan;
mod signer;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

pub use description::{
    BaseUrl, CaSpec, CertSpec, DistinguishedName, Domain, Flaw, Lifetime, Mailbox, PkiDescription,
    RootSpec, Seed, Timestamp, UserSpec,
};
pub use plan::ROOT_ID;

use crate::key::{KeyError, KeySpec, PrivateKey};

/// What a certificate is for; decides its key usage and extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The self-signed root CA.
    Root,
    /// An intermediate (issuing) CA.
    Intermediate,
    /// A user's single certificate for signing and encryption.
    DualUse,
    /// A user's signing-only certificate.
    Signing,
    /// A user's encryption-only certificate.
    Encryption,
}

impl Role {
    pub fn is_ca(self) -> bool {
        matches!(self, Role::Root | Role::Intermediate)
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Intermediate => "intermediate",
            Role::DualUse => "dual-use",
            Role::Signing => "signing",
            Role::Encryption => "encryption",
        }
    }
}

/// The id of a user's certificate in an issued PKI: `<user>` for the one dual-use certificate,
/// `<user>-sign` and `<user>-encrypt` for separate signing and encryption certificates. The one
/// place this naming is written; scenarios refer to certificates by these ids.
pub fn user_certificate_id(user: &str, role: Role) -> String {
    match role {
        Role::Signing => format!("{user}-sign"),
        Role::Encryption => format!("{user}-encrypt"),
        Role::DualUse | Role::Root | Role::Intermediate => user.to_owned(),
    }
}

/// The ids of the certificates `spec` gives user `user`, in issuing order (see
/// [`user_certificate_id`]).
pub fn user_certificate_ids(user: &str, spec: &UserSpec) -> Vec<String> {
    let mut ids = Vec::new();
    if spec.key.is_some() {
        ids.push(user_certificate_id(user, Role::DualUse));
    }
    if spec.sign.is_some() {
        ids.push(user_certificate_id(user, Role::Signing));
    }
    if spec.encrypt.is_some() {
        ids.push(user_certificate_id(user, Role::Encryption));
    }
    ids
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The YAML does not parse or does not have the description's shape; serde-saphyr's message
    /// names the line and column.
    #[error("{0}")]
    Yaml(String),
    /// The YAML has the right shape, but a value does not fit with the rest (an unknown issuer, a
    /// cycle, contradicting fields).
    #[error("{}{field}: {message}", location(*line, *column))]
    Invalid {
        field: String,
        line: Option<u64>,
        column: Option<u64>,
        message: String,
    },
    #[error("{entity}: could not generate its {spec} key: {source}")]
    Key {
        entity: String,
        spec: KeySpec,
        #[source]
        source: KeyError,
    },
    #[error("{entity}: could not issue {what}: {reason}")]
    Issue {
        entity: String,
        what: &'static str,
        reason: String,
    },
}

fn location(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("line {line}, column {column}: "),
        (Some(line), None) => format!("line {line}: "),
        _ => String::new(),
    }
}

/// Reads a PKI description from YAML. Unknown fields, missing required fields and malformed
/// values are errors naming the line and column, with a snippet headed by `source_name` (the
/// file name, or `<input>`).
pub fn parse_description(yaml: &str, source_name: &str) -> Result<PkiDescription, PkiError> {
    serde_saphyr::from_str(yaml).map_err(|e: serde_saphyr::Error| {
        let options = serde_saphyr::render_options! {
            source_name: Some(source_name),
            formatter: &crate::yaml::UsersTerms,
        };
        let rendered = e.render_with_options(options);
        // The caller prints its own `error:` prefix.
        let message = rendered.strip_prefix("error: ").unwrap_or(&rendered);
        PkiError::Yaml(message.trim_end().to_owned())
    })
}

/// The JSON Schema of [`PkiDescription`], for editors and for the scenario schema.
pub fn description_schema() -> schemars::Schema {
    schemars::schema_for!(PkiDescription)
}

/// Checks how the parts of a description refer to each other (issuers, revocations, ids,
/// validity periods) without generating a key or signing anything: every error [`build`] would
/// report about the description itself, in microseconds. Scenario validation uses it so that a
/// `check` of many files does not pay for RSA key generation.
pub fn check(description: &PkiDescription) -> Result<(), PkiError> {
    plan::plan(description).map(|_| ())
}

/// One issued certificate with its private key.
#[derive(Clone, Debug)]
pub struct Entity {
    /// `root`, an intermediate's id, a dual-use user's id, or `<user>-sign` / `<user>-encrypt`.
    pub id: String,
    pub role: Role,
    /// The user id for user certificates (`bob` for `bob-sign`).
    pub user: Option<String>,
    /// The user's mailbox (the SAN differs from it under the `san-mismatch` flaw).
    pub mailbox: Option<String>,
    /// Id of the CA that signed it (`root` for the root itself).
    pub issuer: String,
    /// Flaws applied to this certificate, sorted.
    pub flaws: Vec<Flaw>,
    /// Listed in the issuer's CRL.
    pub revoked: bool,
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    pub key: PrivateKey,
}

impl Entity {
    /// The certificate as PEM (`BEGIN CERTIFICATE`), LF line endings.
    pub fn certificate_pem(&self) -> Result<String, der::pem::Error> {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.certificate)
    }
}

/// One CA's certificate revocation list.
#[derive(Clone, Debug)]
pub struct Crl {
    /// Id of the CA that signed it.
    pub ca: String,
    /// Where certificates say it is published (`<crl_base_url>/<ca>.crl`).
    pub url: String,
    /// Ids of the certificates it lists.
    pub revoked: Vec<String>,
    /// The CRL, DER.
    pub der: Vec<u8>,
}

/// Everything [`build`] issued, in issue order (each CA before what it signs).
#[derive(Clone, Debug)]
pub struct BuiltPki {
    pub entities: Vec<Entity>,
    pub crls: Vec<Crl>,
    /// Base URL of the CA certificates (`<aia_base_url>/<ca>.crt`), for publishing them.
    pub aia_base_url: String,
    /// The description's seed, so that files derived later (PKCS#12) are byte-stable too.
    pub seed: String,
}

impl BuiltPki {
    /// The PKCS#12 file a user installs on a device (step 5): the entity's certificate and key plus
    /// its chain without the root. Salts and IVs derive from the seed, so the file is byte-stable.
    pub fn pkcs12(
        &self,
        id: &str,
        password: &str,
        profile: crate::pkcs12::Pkcs12Profile,
    ) -> Result<Vec<u8>, PkiError> {
        let issue = |reason: String| PkiError::Issue {
            entity: id.to_owned(),
            what: "a PKCS#12 file",
            reason,
        };
        let entity = self
            .entity(id)
            .ok_or_else(|| issue("no certificate has this id".to_owned()))?;
        let key = entity
            .key
            .to_pkcs8_der()
            .map_err(|e| issue(e.to_string()))?;
        let chain: Vec<Vec<u8>> = self
            .chain(id)
            .iter()
            .skip(1)
            .filter(|ca| ca.role != Role::Root)
            .map(|ca| ca.certificate.clone())
            .collect();
        let label = format!("pki/{}/{id}/pkcs12/{profile:?}", self.seed);
        crate::pkcs12::write_pkcs12(
            &key,
            &entity.certificate,
            &chain,
            entity.mailbox.as_deref().or(Some(id)),
            password,
            profile,
            &mut crate::rng::seeded(&label),
        )
        .map_err(|e| issue(e.to_string()))
    }

    pub fn entity(&self, id: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.id == id)
    }

    pub fn crl(&self, ca: &str) -> Option<&Crl> {
        self.crls.iter().find(|c| c.ca == ca)
    }

    /// The certificate and its issuers up to the root, starting with `id` itself.
    pub fn chain(&self, id: &str) -> Vec<&Entity> {
        let mut chain: Vec<&Entity> = Vec::new();
        let mut current = self.entity(id);
        while let Some(entity) = current {
            if chain.iter().any(|e| e.id == entity.id) {
                break;
            }
            chain.push(entity);
            current = self.entity(&entity.issuer);
        }
        chain
    }
}

fn serial(seed: &str, id: &str) -> [u8; 16] {
    use rand_core::Rng;
    let mut bytes = [0u8; 16];
    crate::rng::seeded(&format!("pki/{seed}/{id}/serial")).fill_bytes(&mut bytes);
    // Positive and exactly 16 octets in DER: clear the sign bit, set the next one. 126 random
    // bits remain, well above the 64 the Baseline Requirements ask for.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    bytes
}

/// Issues every certificate, key and CRL of the description, generating every key.
pub fn build(description: &PkiDescription) -> Result<BuiltPki, PkiError> {
    build_with(description, &crate::key::Generated)
}

/// [`build`] with the keys from `keys`: entity `id`'s key is the one labelled
/// `pki/<seed>/<id>/key`. A source that remembers keys (the runner's key cache) gives the same
/// bytes as [`build`], faster.
pub fn build_with(
    description: &PkiDescription,
    keys: &dyn crate::key::KeySource,
) -> Result<BuiltPki, PkiError> {
    let plan = plan::plan(description)?;
    let issue_error = |entity: &str, what: &'static str| {
        let entity = entity.to_owned();
        move |e: issue::IssueError| PkiError::Issue {
            entity,
            what,
            reason: match e {
                issue::IssueError::Encode(r) => format!("encoding failed: {r}"),
                issue::IssueError::Sign(r) => format!("signing failed: {r}"),
            },
        }
    };

    let mut entities: Vec<Entity> = Vec::with_capacity(plan.entities.len());
    let mut serials: BTreeMap<String, [u8; 16]> = BTreeMap::new();
    // Subject name and public key of each CA, for what it issues.
    let mut ca_names: BTreeMap<String, x509_cert::name::Name> = BTreeMap::new();
    for planned in &plan.entities {
        let key = keys
            .key(
                &format!("pki/{}/{}/key", plan.seed, planned.id),
                planned.key,
            )
            .map_err(|source| PkiError::Key {
                entity: planned.id.clone(),
                spec: planned.key,
                source,
            })?;
        let serial = serial(&plan.seed, &planned.id);
        let subject = issue::Subject {
            planned,
            key: &key,
            serial,
            crl_base_url: &plan.crl_base_url,
            aia_base_url: &plan.aia_base_url,
        };
        let issued = if planned.role == Role::Root {
            let issuer = issue::Issuer {
                id: ROOT_ID,
                name: x509_cert::name::Name::default(),
                key: &key,
                spki: issue::spki_of(&key).map_err(issue_error(&planned.id, "the certificate"))?,
            };
            issue::certificate(&subject, &issuer)
        } else {
            let issuer_entity = entities.iter().find(|e| e.id == planned.issuer);
            let issuer_name = ca_names.get(&planned.issuer);
            let (Some(issuer_entity), Some(issuer_name)) = (issuer_entity, issuer_name) else {
                return Err(PkiError::Issue {
                    entity: planned.id.clone(),
                    what: "the certificate",
                    reason: format!("its issuer `{}` was not issued first", planned.issuer),
                });
            };
            let issuer = issue::Issuer {
                id: &issuer_entity.id,
                name: issuer_name.clone(),
                key: &issuer_entity.key,
                spki: issue::spki_of(&issuer_entity.key)
                    .map_err(issue_error(&planned.id, "the certificate"))?,
            };
            issue::certificate(&subject, &issuer)
        };
        let (certificate, name) = issued.map_err(issue_error(&planned.id, "the certificate"))?;
        if planned.role.is_ca() {
            ca_names.insert(planned.id.clone(), name);
        }
        serials.insert(planned.id.clone(), serial);
        entities.push(Entity {
            id: planned.id.clone(),
            role: planned.role,
            user: planned.user.clone(),
            mailbox: planned.mailbox.clone(),
            issuer: planned.issuer.clone(),
            flaws: planned.flaws.iter().copied().collect(),
            revoked: plan.revoked.contains(&planned.id),
            certificate,
            key,
        });
    }

    let mut crls = Vec::new();
    for ca in entities.iter().filter(|e| e.role.is_ca()) {
        let revoked: Vec<&Entity> = entities
            .iter()
            .filter(|e| e.revoked && e.issuer == ca.id && e.id != ca.id)
            .collect();
        let revoked_serials: Vec<&[u8]> = revoked
            .iter()
            .filter_map(|e| serials.get(&e.id).map(|s| &s[..]))
            .collect();
        let name = ca_names.get(&ca.id).cloned().unwrap_or_default();
        let issuer = issue::Issuer {
            id: &ca.id,
            name,
            key: &ca.key,
            spki: issue::spki_of(&ca.key).map_err(issue_error(&ca.id, "its CRL"))?,
        };
        let version = plan
            .entities
            .iter()
            .find(|p| p.id == ca.id)
            .map(|p| p.crl_version)
            .unwrap_or_default();
        let der = issue::crl(&issuer, plan.now, &revoked_serials, version)
            .map_err(issue_error(&ca.id, "its CRL"))?;
        crls.push(Crl {
            ca: ca.id.clone(),
            url: format!("{}/{}.crl", plan.crl_base_url, ca.id),
            revoked: revoked.iter().map(|e| e.id.clone()).collect(),
            der,
        });
    }

    Ok(BuiltPki {
        entities,
        crls,
        aia_base_url: plan.aia_base_url,
        seed: plan.seed,
    })
}

#[cfg(test)]
mod tests;
