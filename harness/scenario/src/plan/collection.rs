//! Step 2, `virtual-collection`: the SST written, its bytes, and the tenant's expected answer.

use smime::certificate::rfc3339;
use smime::pki::PkiDescription;

use super::{Action, CertificateRef, Issued, PlanError};
use crate::model::{CollectionEncoding, CollectionError, VirtualCollection};

/// The largest `SMIMECertificateIssuingCA` value Exchange accepts, in bytes.
pub const MAX_COLLECTION_BYTES: usize = 70_000;

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

pub(super) fn plan(
    c: &VirtualCollection,
    description: &PkiDescription,
    issued: &Issued<'_>,
    actions: &mut Vec<Action>,
) -> Result<(), PlanError> {
    let ids: Vec<String> = match &c.sst {
        Some(list) => list.iter().map(|s| s.value.as_str().to_owned()).collect(),
        None => issued
            .pki
            .entities
            .iter()
            .filter(|e| e.role.is_ca())
            .map(|e| e.id.clone())
            .collect(),
    };
    let mut certificates = ids
        .iter()
        .map(|id| issued.certificate(id))
        .collect::<Result<Vec<_>, _>>()?;
    if c.filler.value > 0 {
        certificates.extend(filler_certificates(
            description,
            c.filler.value,
            issued.scenario,
        )?);
    }
    let ders: Vec<&[u8]> = certificates.iter().map(|c| c.der.as_slice()).collect();
    let store = smime::sst::write_sst(&ders).map_err(|source| PlanError::Sst {
        scenario: issued.scenario.to_owned(),
        source,
    })?;
    let bytes = match c.encoding {
        CollectionEncoding::Sst => store,
        CollectionEncoding::Truncated => truncate_store(&store),
    };
    let expect = match &c.expect.error {
        None => CollectionExpectation::Success {
            earliest: match &c.expect.earliest {
                Some(id) => Some(issued.certificate(id.value.as_str())?),
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
                .map(|id| issued.certificate(id.value.as_str()).map(|c| c.thumbprint))
                .collect::<Result<Vec<_>, _>>()?,
        },
    };
    actions.push(Action::ImportCollection(ImportCollection {
        certificates,
        encoding: c.encoding,
        bytes,
        expect,
    }));
    Ok(())
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
        .map(|e| CertificateRef::of(&e.id, &e.certificate))
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
