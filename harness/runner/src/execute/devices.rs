//! Step 5's certificate installation: each user's identities (certificate and private key, read
//! from the PKCS#12 file the plan made) in the store of one client on one device.
//!
//! Installing never judges the identity against a policy: a phone takes a software certificate
//! even when `AllowSMIMESoftCerts` is false and refuses only when the user tries to sign with it
//! (`clients::mobile`), which is what the scenario rehearses. What does fail here is a file that
//! does not open (wrong password, a broken MAC) or holds no key for its certificate.

use std::collections::BTreeMap;
use std::time::Instant;

use smime::key::PrivateKey;
use x509_cert::Certificate;
use x509_cert::ext::pkix::KeyUsage;

use crate::report::model::{Outcome, Stage, StepReport};
use scenario::model::{KeyStorage, MailClient};
use scenario::plan::{InstallIdentity, PKCS12_PASSWORD};

use super::Context;

/// One identity installed on a client.
#[derive(Clone, Debug)]
pub struct InstalledIdentity {
    /// The certificate id in the plan's PKI (`alice`, `bob-sign`).
    pub certificate_id: String,
    pub certificate: x509_cert::Certificate,
    pub key: smime::key::PrivateKey,
    pub storage: KeyStorage,
    /// The PKCS#12 file it came from, as installed (password `PKCS12_PASSWORD`).
    pub pkcs12: Vec<u8>,
    /// The other certificates of the file (the issuing CA), as a device's store receives them.
    pub chain: Vec<x509_cert::Certificate>,
}

impl InstalledIdentity {
    /// The key usage allows signing mail (RFC 8550 §4.4.2: digitalSignature or nonRepudiation;
    /// no keyUsage extension means no restriction).
    pub fn can_sign(&self) -> bool {
        key_usage(&self.certificate).is_none_or(|ku| ku.digital_signature() || ku.non_repudiation())
    }

    /// The key usage allows receiving encrypted mail: keyEncipherment for an RSA key,
    /// keyAgreement for an EC key (RFC 8550 §4.4.2); no keyUsage means no restriction.
    pub fn can_decrypt(&self) -> bool {
        key_usage(&self.certificate).is_none_or(|ku| {
            if matches!(self.key, PrivateKey::Rsa(_)) {
                ku.key_encipherment()
            } else {
                ku.key_agreement()
            }
        })
    }
}

fn key_usage(certificate: &Certificate) -> Option<KeyUsage> {
    certificate
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .ok()
        .flatten()
        .map(|(_, ku)| ku)
}

/// What is installed where: by user id and client.
#[derive(Clone, Debug, Default)]
pub struct Devices {
    pub installed: BTreeMap<(String, MailClient), Vec<InstalledIdentity>>,
    /// Other people's certificates installed on a client (public keys only), by certificate id.
    pub contacts: BTreeMap<(String, MailClient), Vec<(String, Certificate)>>,
}

impl Devices {
    /// The identities installed for `user` on `client`, in installation order.
    pub fn on(&self, user: &str, client: MailClient) -> &[InstalledIdentity] {
        self.installed
            .get(&(user.to_owned(), client))
            .map_or(&[], Vec::as_slice)
    }

    /// Every identity `user` has installed on any client, each certificate once: what a reader
    /// can decrypt with, whichever client they read in.
    pub fn of_user(&self, user: &str) -> Vec<&InstalledIdentity> {
        let mut seen: Vec<&InstalledIdentity> = Vec::new();
        for client in MailClient::ALL {
            for identity in self.on(user, client) {
                if !seen
                    .iter()
                    .any(|s| s.certificate_id == identity.certificate_id)
                {
                    seen.push(identity);
                }
            }
        }
        seen
    }

    /// Other people's certificates installed for `user` on `client`.
    pub fn contacts_on(&self, user: &str, client: MailClient) -> &[(String, Certificate)] {
        self.contacts
            .get(&(user.to_owned(), client))
            .map_or(&[], Vec::as_slice)
    }

    /// Installs one identity, replacing an earlier installation of the same certificate.
    pub fn add(&mut self, user: &str, client: MailClient, identity: InstalledIdentity) {
        let list = self.installed.entry((user.to_owned(), client)).or_default();
        list.retain(|i| i.certificate_id != identity.certificate_id);
        list.push(identity);
    }
}

/// Why a PKCS#12 file could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{file}: does not open with its password: {source}")]
    Open {
        file: String,
        #[source]
        source: smime::pkcs12::Pkcs12Error,
    },
    #[error("{file}: {what}")]
    Content { file: String, what: String },
}

/// Reads one PKCS#12 file as a device's certificate import does: the MAC and the password, the
/// key, the certificate the key belongs to, and the rest of the file's certificates.
pub fn read_identity(
    file: &str,
    certificate_id: &str,
    pkcs12: &[u8],
    storage: KeyStorage,
) -> Result<InstalledIdentity, InstallError> {
    read_identity_with_password(file, certificate_id, pkcs12, PKCS12_PASSWORD, storage)
}

/// [`read_identity`] for a file protected with `password` (an admin's export, in a preflight).
pub fn read_identity_with_password(
    file: &str,
    certificate_id: &str,
    pkcs12: &[u8],
    password: &str,
    storage: KeyStorage,
) -> Result<InstalledIdentity, InstallError> {
    let contents =
        smime::pkcs12::read_pkcs12(pkcs12, password).map_err(|source| InstallError::Open {
            file: file.to_owned(),
            source,
        })?;
    let content = |what: String| InstallError::Content {
        file: file.to_owned(),
        what,
    };
    let key_der = contents.private_key_pkcs8_der.as_deref().ok_or_else(|| {
        content("holds no private key: export the certificate with its private key".to_owned())
    })?;
    let key = PrivateKey::from_pkcs8_der(key_der)
        .map_err(|e| content(format!("the private key does not read: {e}")))?;
    let mut certificates = Vec::with_capacity(contents.certificates.len());
    for (index, der) in contents.certificates.iter().enumerate() {
        certificates.push(
            smime::certificate::parse_der(der)
                .map_err(|e| content(format!("certificate {} does not parse: {e}", index + 1)))?,
        );
    }
    // `read_pkcs12` puts the key's certificate first when it finds it; check rather than trust.
    let position = certificates
        .iter()
        .position(|c| key.matches(c.tbs_certificate().subject_public_key_info()))
        .ok_or_else(|| {
            content(
                "none of its certificates belongs to its private key: re-export the identity"
                    .to_owned(),
            )
        })?;
    let certificate = certificates.remove(position);
    Ok(InstalledIdentity {
        certificate_id: certificate_id.to_owned(),
        certificate,
        key,
        storage,
        pkcs12: pkcs12.to_vec(),
        chain: certificates,
    })
}

/// Installs a user's identities on one client. A file that does not open fails the step and
/// names the file; the others are installed all the same, as a person importing several files
/// would end up with the ones that worked.
pub fn install(ctx: &mut Context<'_>, install: &InstallIdentity) -> StepReport {
    let started = Instant::now();
    let storage = match install.storage {
        KeyStorage::Software => "a software key",
        KeyStorage::SmartCard => "a smart card",
    };
    let mut details = Vec::new();
    let mut failures = Vec::new();
    for (certificate_id, pkcs12) in &install.identities {
        let file = format!(
            "{}-{}-{certificate_id}.p12 (the PKCS#12 file of certificate `{certificate_id}`)",
            install.user,
            install.client.name()
        );
        match read_identity(&file, certificate_id, pkcs12, install.storage) {
            Ok(identity) => {
                details.push(format!(
                    "{certificate_id}: {} (thumbprint {}, {} key) as {storage}",
                    identity.certificate.tbs_certificate().subject(),
                    thumbprint(&identity.certificate),
                    identity.key.algorithm_name()
                ));
                ctx.devices.add(&install.user, install.client, identity);
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    for id in &install.contacts {
        let certificate = ctx
            .plan
            .pki
            .entity(id)
            .ok_or_else(|| format!("contact certificate `{id}` is not in the plan's PKI"))
            .and_then(|e| {
                smime::certificate::parse_der(&e.certificate)
                    .map_err(|e| format!("contact certificate `{id}` does not parse: {e}"))
            });
        match certificate {
            Ok(certificate) => {
                details.push(format!(
                    "contact {id}: {} (public key only)",
                    certificate.tbs_certificate().subject()
                ));
                let list = ctx
                    .devices
                    .contacts
                    .entry((install.user.clone(), install.client))
                    .or_default();
                list.retain(|(seen, _)| seen != id);
                list.push((id.clone(), certificate));
            }
            Err(e) => failures.push(e),
        }
    }
    let outcome = if failures.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    StepReport {
        stage: Stage::Clients,
        title: format!(
            "install {}'s identities on {} ({} PKCS#12 file{}, {:?} profile)",
            install.user,
            install.client.name(),
            install.identities.len(),
            if install.identities.len() == 1 {
                ""
            } else {
                "s"
            },
            install.profile
        ),
        outcome,
        expected: (!failures.is_empty())
            .then(|| "every PKCS#12 file opens with the lab password".to_owned()),
        actual: (!failures.is_empty()).then(|| failures.join("; ")),
        details,
        checks: Vec::new(),
        message: None,
        artifacts: Vec::new(),
        duration_ms: elapsed_ms(started),
    }
}

fn thumbprint(certificate: &Certificate) -> String {
    der::Encode::to_der(certificate)
        .map(|der| smime::certificate::sha1_thumbprint(&der))
        .unwrap_or_default()
}

pub(super) fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smime::pkcs12::Pkcs12Profile;

    fn default_pki() -> &'static smime::pki::BuiltPki {
        crate::execute::test_pki::default_pki()
    }

    #[test]
    fn an_identity_reads_with_its_key_and_chain() {
        let pki = default_pki();
        for profile in [Pkcs12Profile::Modern, Pkcs12Profile::Legacy] {
            let p12 = pki
                .pkcs12("alice", PKCS12_PASSWORD, profile)
                .expect("alice's file");
            let identity =
                read_identity("alice.p12", "alice", &p12, KeyStorage::Software).expect("installs");
            let entity = pki.entity("alice").expect("alice");
            assert_eq!(
                der::Encode::to_der(&identity.certificate).expect("DER"),
                entity.certificate
            );
            assert!(
                identity.key.matches(
                    identity
                        .certificate
                        .tbs_certificate()
                        .subject_public_key_info()
                )
            );
            assert_eq!(identity.chain.len(), 1, "the issuing CA, not the root");
            assert!(identity.can_sign() && identity.can_decrypt());
        }
    }

    #[test]
    fn separate_certificates_know_what_they_are_for() {
        let pki = default_pki();
        let read = |id: &str| {
            let p12 = pki
                .pkcs12(id, PKCS12_PASSWORD, Pkcs12Profile::Modern)
                .expect("file");
            read_identity(id, id, &p12, KeyStorage::SmartCard).expect("installs")
        };
        let (sign, encrypt) = (read("bob-sign"), read("bob-encrypt"));
        assert!(sign.can_sign() && !sign.can_decrypt());
        assert!(encrypt.can_decrypt() && !encrypt.can_sign());
    }

    #[test]
    fn a_file_that_does_not_open_names_the_file() {
        let pki = default_pki();
        let mut p12 = pki
            .pkcs12("carol", PKCS12_PASSWORD, Pkcs12Profile::Modern)
            .expect("file");
        let last = p12.len() - 1;
        p12[last] ^= 0xff;
        let error = read_identity("carol-owa-carol.p12", "carol", &p12, KeyStorage::Software)
            .expect_err("a damaged MAC");
        assert!(
            error.to_string().starts_with("carol-owa-carol.p12: "),
            "{error}"
        );
        assert!(read_identity("garbage.p12", "x", b"not a pfx", KeyStorage::Software).is_err());
    }

    #[test]
    fn installing_again_replaces_and_users_see_each_certificate_once() {
        let pki = default_pki();
        let p12 = pki
            .pkcs12("alice", PKCS12_PASSWORD, Pkcs12Profile::Modern)
            .expect("file");
        let identity =
            read_identity("a.p12", "alice", &p12, KeyStorage::Software).expect("installs");
        let mut devices = Devices::default();
        devices.add("alice", MailClient::Owa, identity.clone());
        devices.add("alice", MailClient::Owa, identity.clone());
        devices.add("alice", MailClient::Mobile, identity);
        assert_eq!(devices.on("alice", MailClient::Owa).len(), 1);
        assert!(devices.on("alice", MailClient::Outlook).is_empty());
        assert_eq!(devices.of_user("alice").len(), 1);
        assert!(devices.of_user("carol").is_empty());
    }
}
