//! Issuing one certificate or one CRL from the plan: the extension profile of each role (root,
//! intermediate, S/MIME user per the S/MIME Baseline Requirements, mailbox-validated strict), the
//! flaws that bend it, and the typed ASN.1 that carries it.
//!
//! Built on `x509-cert`'s `CertificateBuilder` with a profile of our own rather than on rcgen:
//! rcgen cannot sign with SHA-1, cannot leave SKI out of a CA certificate, and signs ECDSA with
//! random nonces through ring; here one path covers every flaw and every signature is
//! deterministic ([`super::signer`]).

use const_oid::ObjectIdentifier;
use const_oid::db::rfc4519::COMMON_NAME;
use const_oid::db::rfc5280::{
    ANY_POLICY, ID_AD_CA_ISSUERS, ID_KP_CLIENT_AUTH, ID_KP_EMAIL_PROTECTION,
};
use der::asn1::{Any, GeneralizedTime, Ia5String, OctetString, SetOfVec, Uint, UtcTime};
use der::referenced::OwnedToRef;
use der::{Decode, Encode, Tag};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SubjectPublicKeyInfoOwned,
};
use time::OffsetDateTime;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, profile::BuilderProfile};
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::crl::RevokedCert;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, CrlNumber, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use super::Role;
use super::description::{CrlVersion, Flaw};
use super::plan::Planned;
use super::signer::{self, Digest};
use crate::certificate::TbsCertListAnyVersion;
use crate::key::PrivateKey;

/// S/MIME Baseline Requirements policy: mailbox-validated, strict generation.
pub(crate) const SMIME_MAILBOX_STRICT: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.23.140.1.5.1.3");

/// What issuing needs to know about the CA that signs.
pub(crate) struct Issuer<'a> {
    pub id: &'a str,
    pub name: Name,
    pub key: &'a PrivateKey,
    pub spki: SubjectPublicKeyInfoOwned,
}

/// Everything a certificate is made from, besides its issuer.
pub(crate) struct Subject<'a> {
    pub planned: &'a Planned,
    pub key: &'a PrivateKey,
    pub serial: [u8; 16],
    pub crl_base_url: &'a str,
    pub aia_base_url: &'a str,
}

/// A failure while encoding or signing; the caller adds which entity it was.
#[derive(Debug)]
pub(crate) enum IssueError {
    Encode(String),
    Sign(String),
}

impl From<der::Error> for IssueError {
    fn from(e: der::Error) -> Self {
        IssueError::Encode(e.to_string())
    }
}

impl From<x509_cert::builder::Error> for IssueError {
    fn from(e: x509_cert::builder::Error) -> Self {
        IssueError::Encode(e.to_string())
    }
}

/// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
pub(crate) fn x509_time(at: OffsetDateTime) -> der::Result<Time> {
    let date_time = der::DateTime::new(
        u16::try_from(at.year()).map_err(|_| der::ErrorKind::DateTime)?,
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
    )?;
    if at.year() < 2050 {
        Ok(Time::UtcTime(UtcTime::from_date_time(date_time)?))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(
            date_time,
        )))
    }
}

fn extension<T: Encode + const_oid::AssociatedOid>(
    value: &T,
    critical: bool,
) -> der::Result<Extension> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn uri(text: &str) -> der::Result<GeneralName> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(
        text,
    )?))
}

/// The subject of a user certificate: only a commonName holding the mailbox, as the strict
/// mailbox-validated profile allows. `Name` has no public constructor from attributes, so the
/// RDNSequence is encoded from its typed parts and decoded back as a `Name`.
pub(crate) fn mailbox_name(mailbox: &str) -> der::Result<Name> {
    let common_name = AttributeTypeAndValue {
        oid: COMMON_NAME,
        value: Any::new(Tag::Utf8String, mailbox.as_bytes())?,
    };
    let rdn = SetOfVec::try_from(vec![common_name])?;
    let rdn_sequence: Vec<SetOfVec<AttributeTypeAndValue>> = vec![rdn];
    Name::from_der(&rdn_sequence.to_der()?)
}

/// RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. Used for SKI and, from the
/// issuer's key, for AKI, so they match even when the issuer's own SKI was left out by a flaw.
pub(crate) fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> der::Result<OctetString> {
    Ok(SubjectKeyIdentifier::try_from(spki.owned_to_ref())?.0)
}

/// The S/MIME key usage for a user certificate's role and key type (S/MIME BR 7.1.2.3 e).
fn user_key_usage(role: Role, rsa: bool, wrong: bool, non_repudiation: bool) -> KeyUsage {
    let encryption = if rsa {
        KeyUsages::KeyEncipherment
    } else {
        KeyUsages::KeyAgreement
    };
    let mut usages = match (role, wrong) {
        (Role::Encryption, false) => encryption.into(),
        (Role::Encryption, true) => KeyUsages::DigitalSignature.into(),
        (Role::DualUse, false) => KeyUsages::DigitalSignature | encryption,
        // A signing or dual-use certificate that cannot sign.
        (_, true) => encryption.into(),
        (_, false) => KeyUsages::DigitalSignature.into(),
    };
    if non_repudiation && !wrong && matches!(role, Role::Signing | Role::DualUse) {
        usages |= KeyUsages::NonRepudiation;
    }
    KeyUsage(usages)
}

fn extensions(
    subject: &Subject<'_>,
    issuer: &Issuer<'_>,
    spki: &SubjectPublicKeyInfoOwned,
) -> der::Result<Vec<Extension>> {
    let planned = subject.planned;
    let has = |flaw: Flaw| planned.flaws.contains(&flaw);
    let mut out = Vec::new();
    let is_ca = matches!(planned.role, Role::Root | Role::Intermediate);

    if is_ca {
        out.push(extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: planned.path_len,
            },
            true,
        )?);
        out.push(extension(
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            true,
        )?);
    } else {
        out.push(extension(
            &user_key_usage(
                planned.role,
                planned.key.is_rsa(),
                has(Flaw::WrongKeyUsage),
                planned.non_repudiation,
            ),
            true,
        )?);
    }

    if planned.role != Role::Root {
        // S/MIME BR 7.1.2.2 g: an S/MIME issuing CA carries emailProtection; a user certificate
        // carries only that (strict), or clientAuth when the flaw replaces it.
        let purpose = if has(Flaw::NoEmailProtectionEku) {
            ID_KP_CLIENT_AUTH
        } else {
            ID_KP_EMAIL_PROTECTION
        };
        out.push(extension(&ExtendedKeyUsage(vec![purpose]), false)?);
        let policy = if is_ca {
            ANY_POLICY
        } else {
            SMIME_MAILBOX_STRICT
        };
        out.push(extension(
            &CertificatePolicies(vec![PolicyInformation {
                policy_identifier: policy,
                policy_qualifiers: None,
            }]),
            false,
        )?);
    }

    if let Some(mailbox) = &planned.mailbox {
        let in_san = if has(Flaw::SanMismatch) {
            // A renamed user's old address: the classic stale certificate.
            match mailbox.rsplit_once('@') {
                Some((local, domain)) => format!("{local}.old@{domain}"),
                None => format!("old.{mailbox}"),
            }
        } else {
            mailbox.clone()
        };
        out.push(extension(
            &SubjectAltName(vec![GeneralName::Rfc822Name(Ia5String::new(&in_san)?)]),
            false,
        )?);
    }

    if !has(Flaw::NoSki) {
        out.push(extension(
            &SubjectKeyIdentifier(key_identifier(spki)?),
            false,
        )?);
    }
    // A root's AKI would name its own key; RFC 5280 lets self-signed certificates omit it.
    if planned.role != Role::Root {
        out.push(extension(
            &AuthorityKeyIdentifier {
                key_identifier: Some(key_identifier(&issuer.spki)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
            false,
        )?);
        if !has(Flaw::NoCrlDp) {
            let url = format!("{}/{}.crl", subject.crl_base_url, issuer.id);
            out.push(extension(
                &CrlDistributionPoints(vec![DistributionPoint {
                    distribution_point: Some(DistributionPointName::FullName(vec![uri(&url)?])),
                    reasons: None,
                    crl_issuer: None,
                }]),
                false,
            )?);
        }
        if !has(Flaw::NoAia) {
            let url = format!("{}/{}.crt", subject.aia_base_url, issuer.id);
            out.push(extension(
                &AuthorityInfoAccessSyntax(vec![AccessDescription {
                    access_method: ID_AD_CA_ISSUERS,
                    access_location: uri(&url)?,
                }]),
                false,
            )?);
        }
    }
    Ok(out)
}

/// `CertificateBuilder` profile that hands over names and extensions decided beforehand.
struct FixedProfile {
    issuer: Name,
    subject: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for FixedProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

/// The builder asks its signer for the algorithm and public key; the signature itself is made
/// by [`signer::sign`] between `finalize` and `assemble`.
struct BuilderSigner<'a> {
    key: &'a PrivateKey,
    digest: Digest,
    spki: SubjectPublicKeyInfoOwned,
}

#[derive(Clone)]
struct PublicKey(SubjectPublicKeyInfoOwned);

impl EncodePublicKey for PublicKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        Ok(der::Document::encode_msg(&self.0)?)
    }
}

impl signature::Keypair for BuilderSigner<'_> {
    type VerifyingKey = PublicKey;

    fn verifying_key(&self) -> PublicKey {
        PublicKey(self.spki.clone())
    }
}

impl DynSignatureAlgorithmIdentifier for BuilderSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(signer::algorithm(self.key, self.digest))
    }
}

pub(crate) fn spki_of(key: &PrivateKey) -> Result<SubjectPublicKeyInfoOwned, IssueError> {
    let der = key
        .public_key_der()
        .map_err(|e| IssueError::Encode(e.to_string()))?;
    Ok(SubjectPublicKeyInfoOwned::from_der(&der)?)
}

/// Issues one certificate; returns its DER and its subject name.
pub(crate) fn certificate(
    subject: &Subject<'_>,
    issuer: &Issuer<'_>,
) -> Result<(Vec<u8>, Name), IssueError> {
    let planned = subject.planned;
    let spki = spki_of(subject.key)?;
    let subject_name = match (&planned.subject, &planned.mailbox) {
        (Some(dn), _) => dn.parse::<Name>()?,
        (None, Some(mailbox)) => mailbox_name(mailbox)?,
        (None, None) => return Err(IssueError::Encode("no subject".to_owned())),
    };
    // A self-signed root names itself as issuer.
    let issuer_name = if planned.role == Role::Root {
        subject_name.clone()
    } else {
        issuer.name.clone()
    };
    let profile = FixedProfile {
        issuer: issuer_name,
        subject: subject_name.clone(),
        extensions: extensions(subject, issuer, &spki)?,
    };
    let validity = Validity::new(
        x509_time(planned.not_before)?,
        x509_time(planned.not_after)?,
    );
    let serial = SerialNumber::new(&subject.serial)?;
    let digest = if planned.flaws.contains(&Flaw::Sha1Signature) {
        Digest::Sha1
    } else {
        Digest::Standard
    };
    let builder_signer = BuilderSigner {
        key: issuer.key,
        digest,
        spki: issuer.spki.clone(),
    };
    let mut builder = CertificateBuilder::new(profile, serial, validity, spki)?;
    let tbs = builder.finalize(&builder_signer)?;
    let signature =
        signer::sign(issuer.key, digest, &tbs).map_err(|e| IssueError::Sign(e.to_string()))?;
    let certificate = builder.assemble(signature, &builder_signer)?;
    Ok((certificate.to_der()?, subject_name))
}

/// Issues a CA's CRL: dated `now`, next update a week later, listing `revoked`. Version 2 carries
/// the authority key identifier and CRL number 1 (RFC 5280 §5.2: "Conforming CRL issuers are
/// REQUIRED to include the authority key identifier (Section 5.2.1) and the CRL number (Section
/// 5.2.3) extensions in all CRLs issued"); version 1 has no extensions and so, by RFC 5280
/// §5.1.2.1, no version field, as `openssl ca -gencrl` writes without `crl_extensions`.
pub(crate) fn crl(
    issuer: &Issuer<'_>,
    now: OffsetDateTime,
    revoked: &[&[u8]],
    version: CrlVersion,
) -> Result<Vec<u8>, IssueError> {
    let next = now
        .checked_add(time::Duration::days(7))
        .ok_or_else(|| IssueError::Encode("nextUpdate out of range".to_owned()))?;
    let this_update = x509_time(now)?;
    let entries = revoked
        .iter()
        .map(|serial| {
            Ok(RevokedCert {
                serial_number: SerialNumber::<x509_cert::certificate::Rfc5280>::new(serial)?,
                revocation_date: this_update,
                crl_entry_extensions: None,
            })
        })
        .collect::<der::Result<Vec<_>>>()?;
    let (version, crl_extensions) = match version {
        CrlVersion::V1 => (None, None),
        CrlVersion::V2 => {
            // The CRL's AKI names the key that signs it: the CA's own key (x509-cert's
            // CrlBuilder copies the CA certificate's AKI instead, which names the CA's issuer,
            // so it is not used).
            let aki = AuthorityKeyIdentifier {
                key_identifier: Some(key_identifier(&issuer.spki)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            };
            (
                Some(Version::V2),
                Some(vec![
                    extension(&aki, false)?,
                    extension(&CrlNumber(Uint::new(&[1])?), false)?,
                ]),
            )
        }
    };
    let tbs = TbsCertListAnyVersion {
        version,
        signature: signer::algorithm(issuer.key, Digest::Standard),
        issuer: issuer.name.clone(),
        this_update,
        next_update: Some(x509_time(next)?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions,
    };
    let tbs_der = tbs.to_der()?;
    let signature = signer::sign(issuer.key, Digest::Standard, &tbs_der)
        .map_err(|e| IssueError::Sign(e.to_string()))?;
    // CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }
    let mut body = tbs_der;
    body.extend(tbs.signature.to_der()?);
    body.extend(signature.to_der()?);
    Ok(der::asn1::AnyRef::new(der::Tag::Sequence, &body)?.to_der()?)
}
