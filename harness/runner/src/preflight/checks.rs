//! What a preflight can find, one row per check: its ID, the step of "Configure S/MIME in Exchange
//! Online" it belongs to (1 certificates in the directory, 2 the virtual certificate collection,
//! 3 Entra Connect sync, 5 clients), whether it stops the user or warns, and the fidelity ledger
//! row (`harness/tenant/FIDELITY.md`) whose quoted sentence it enforces. The sentence itself is
//! read from the ledger the binary was built with ([`crate::ledger::LEDGER`]), its one home; a
//! check no sentence backs says so in `basis`.

use serde::Serialize;

/// Whether a finding stops the user from receiving encrypted mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Failure,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub step: u8,
    pub severity: Severity,
    pub title: &'static str,
    /// The ledger row whose sentence this check enforces; empty when none does.
    pub ledger: &'static str,
    /// Where the rule comes from when no ledger row states it.
    pub basis: &'static str,
}

pub const NO_MAIL: Check = Check {
    id: "PRE-DIR-001",
    step: 1,
    severity: Severity::Failure,
    title: "User has no mail address (neither mail nor a primary SMTP proxyAddress)",
    ledger: "FID-SYNC-ATTRIBUTES",
    basis: "",
};

pub const NOT_A_CERTIFICATE: Check = Check {
    id: "PRE-DIR-002",
    step: 1,
    severity: Severity::Warning,
    title: "A userCertificate value is not a DER certificate (not published to the lab's directory)",
    ledger: "FID-LOOKUP-USERCERT-FIT",
    basis: "",
};

pub const NO_CERTIFICATE: Check = Check {
    id: "PRE-DIR-003",
    step: 1,
    severity: Severity::Failure,
    title: "No certificate published (userCertificate and userSMIMECertificate are empty)",
    ledger: "FID-LOOKUP-SMIME-FIRST",
    basis: "",
};

pub const SST_REFUSED: Check = Check {
    id: "PRE-SST-001",
    step: 2,
    severity: Severity::Failure,
    title: "Set-SmimeConfig refuses the virtual certificate collection",
    ledger: "FID-VCC-EXPIRED",
    basis: "",
};

pub const SST_OVERSIZE: Check = Check {
    id: "PRE-SST-002",
    step: 2,
    severity: Severity::Failure,
    title: "The virtual certificate collection is over 70000 bytes",
    ledger: "FID-VCC-SIZE",
    basis: "",
};

pub const ISSUER_NOT_IN_SST: Check = Check {
    id: "PRE-SST-003",
    step: 2,
    severity: Severity::Failure,
    title: "The certificate's issuer is not in the virtual certificate collection (missing intermediate)",
    ledger: "FID-VCC-ONLY-SST",
    basis: "",
};

pub const SST_CA_EXPIRED: Check = Check {
    id: "PRE-SST-004",
    step: 2,
    severity: Severity::Failure,
    title: "A CA certificate in the virtual certificate collection has expired",
    ledger: "FID-VCC-EXPIRED",
    basis: "",
};

pub const OVER_15_VALUES: Check = Check {
    id: "PRE-SYNC-001",
    step: 3,
    severity: Severity::Warning,
    title: "More than 15 certificate values: the attribute is not exported (or LargeObject)",
    ledger: "FID-SYNC-OOB-NULL",
    basis: "",
};

pub const SYNC_REFUSED: Check = Check {
    id: "PRE-SYNC-002",
    step: 3,
    severity: Severity::Failure,
    title: "The sync export of the user failed",
    ledger: "FID-SYNC-LARGEOBJECT",
    basis: "",
};

pub const LOOKUP_NOTHING: Check = Check {
    id: "PRE-LOOK-001",
    step: 5,
    severity: Severity::Failure,
    title: "Outlook's lookup finds no certificate to encrypt to",
    ledger: "FID-LOOKUP-USERCERT-FIT",
    basis: "",
};

pub const OWA_REFUSES: Check = Check {
    id: "PRE-OWA-001",
    step: 5,
    severity: Severity::Failure,
    title: "Outlook on the web refuses to encrypt to the certificate",
    ledger: "FID-VCC-ONLY-SST",
    basis: "",
};

pub const CRL_NOT_CHECKED: Check = Check {
    id: "PRE-OWA-002",
    step: 5,
    severity: Severity::Warning,
    title: "The certificate's CRL could not be fetched (OWA encrypts anyway: OWACheckCRLOnSend is off)",
    ledger: "FID-VAL-CRL-OFFLINE",
    basis: "",
};

pub const NOT_THE_RECIPIENTS: Check = Check {
    id: "PRE-OWA-003",
    step: 5,
    severity: Severity::Failure,
    title: "The certificate names neither the user's primary SMTP address nor, under OWAUseSecondaryProxiesWhenFindingCertificates, one of their proxy addresses",
    ledger: "FID-OWA-SECONDARY-PROXIES",
    basis: "",
};

pub const CRL_INTERNAL: Check = Check {
    id: "PRE-CRL-001",
    step: 5,
    severity: Severity::Warning,
    title: "A CRL distribution point is on a host Exchange Online cannot reach",
    ledger: "FID-VAL-CRL-OFFLINE",
    basis: "",
};

pub const EXPIRES_SOON: Check = Check {
    id: "PRE-EXP-001",
    step: 1,
    severity: Severity::Warning,
    title: "The certificate Outlook uses expires within the horizon",
    ledger: "",
    basis: "advisory: a certificate that expires is passed over by Outlook's lookup (FID-LOOKUP-USERCERT-FIT) once it has; renew it before",
};

pub const SHA1_SIGNED: Check = Check {
    id: "PRE-ALG-001",
    step: 1,
    severity: Severity::Warning,
    title: "The certificate is signed with SHA-1",
    ledger: "FID-VAL-WEAK",
    basis: "",
};

pub const MOBILE_MD5: Check = Check {
    id: "PRE-MOB-001",
    step: 5,
    severity: Severity::Warning,
    title: "A mobile policy makes devices sign with MD5 (recipients' clients call it weak)",
    ledger: "FID-SHAPE-MOBILE-MD5",
    basis: "",
};

pub const MOBILE_NO_SOFT_CERTS: Check = Check {
    id: "PRE-MOB-002",
    step: 5,
    severity: Severity::Warning,
    title: "A mobile policy forbids software certificates (a key from a PKCS#12 file cannot sign)",
    ledger: "FID-SHAPE-MOBILE-SOFTCERTS",
    basis: "",
};

pub const MOBILE_MUST_ENCRYPT: Check = Check {
    id: "PRE-MOB-003",
    step: 5,
    severity: Severity::Warning,
    title: "A mobile policy requires encryption, and some users have no certificate to encrypt to",
    ledger: "FID-SHAPE-MOBILE-ENCRYPTED",
    basis: "",
};

pub const KEY_FILE_UNREADABLE: Check = Check {
    id: "PRE-KEY-001",
    step: 5,
    severity: Severity::Warning,
    title: "A PKCS#12 file of pkcs12: does not open, or holds no key for its certificate (its user's signing is not checked)",
    ledger: "",
    basis: "input: the file is opened as a device's certificate import opens it; what does not open there, no client can sign with",
};

pub const KEY_FILE_NO_USER: Check = Check {
    id: "PRE-KEY-002",
    step: 5,
    severity: Severity::Warning,
    title: "A PKCS#12 file's certificate names no user of the directory (not checked)",
    ledger: "",
    basis: "input: a file belongs to the user whose mail its certificate names (RFC 8550 §3: the address is in subjectAltName or emailAddress)",
};

pub const SIGNING_REFUSED: Check = Check {
    id: "PRE-SIG-001",
    step: 5,
    severity: Severity::Failure,
    title: "Outlook on the web will not sign with the user's PKCS#12 identity",
    ledger: "",
    basis: "RFC 8550 §4.4.2: a certificate that signs mail has digitalSignature or nonRepudiation in its key usage; Set-SmimeConfig -OWAOnlyUseSmartCard (FID-OWA-SMART-CARD-DECRYPT) keeps software keys from signing",
};

pub const SIGNATURE_INVALID: Check = Check {
    id: "PRE-SIG-002",
    step: 5,
    severity: Severity::Failure,
    title: "A message the user signs is not valid in recipients' Outlook on the web",
    ledger: "FID-VCC-ONLY-SST",
    basis: "",
};

pub const SAMPLE_FAILED: Check = Check {
    id: "PRE-MAIL-001",
    step: 5,
    severity: Severity::Failure,
    title: "An encrypted message of the sample was refused, or did not open with the recipient's own PKCS#12 file",
    ledger: "FID-OWA-RECIPIENT-SST",
    basis: "",
};

/// Every check, in step order: the reports' legend.
pub const ALL: &[Check] = &[
    NO_MAIL,
    NOT_A_CERTIFICATE,
    NO_CERTIFICATE,
    EXPIRES_SOON,
    SHA1_SIGNED,
    SST_REFUSED,
    SST_OVERSIZE,
    SST_CA_EXPIRED,
    ISSUER_NOT_IN_SST,
    OVER_15_VALUES,
    SYNC_REFUSED,
    LOOKUP_NOTHING,
    OWA_REFUSES,
    NOT_THE_RECIPIENTS,
    CRL_NOT_CHECKED,
    CRL_INTERNAL,
    MOBILE_MD5,
    MOBILE_NO_SOFT_CERTS,
    MOBILE_MUST_ENCRYPT,
    KEY_FILE_UNREADABLE,
    KEY_FILE_NO_USER,
    SIGNING_REFUSED,
    SIGNATURE_INVALID,
    SAMPLE_FAILED,
];

/// The check with this ID.
pub fn by_id(id: &str) -> Option<&'static Check> {
    ALL.iter().find(|c| c.id == id)
}

/// The sentence a check enforces: its ledger row's quoted source, else its basis.
pub fn sentence(check: &Check) -> String {
    if check.ledger.is_empty() {
        return check.basis.to_owned();
    }
    crate::ledger::parse(crate::ledger::LEDGER)
        .ok()
        .and_then(|rows| rows.into_iter().find(|r| r.id == check.ledger))
        .map(|row| format!("{}: {}", row.id, row.source))
        .unwrap_or_else(|| format!("{} (see harness/tenant/FIDELITY.md)", check.ledger))
}

/// One thing found about a user, the collection or a mobile policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub step: u8,
    pub severity: Severity,
    /// What was found, in the user's terms (file lines, thumbprints); never a key byte.
    pub detail: String,
}

impl Finding {
    pub fn new(check: &Check, detail: impl Into<String>) -> Self {
        Finding {
            id: check.id,
            step: check.step,
            severity: check.severity,
            detail: detail.into(),
        }
    }

    /// The same finding, as a warning (a failure that another certificate makes up for).
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_ledger_row_exists() {
        let rows = crate::ledger::parse(crate::ledger::LEDGER).expect("the ledger parses");
        let mut ids = std::collections::BTreeSet::new();
        for check in ALL {
            assert!(ids.insert(check.id), "{} twice", check.id);
            assert_eq!(by_id(check.id), Some(check));
            if check.ledger.is_empty() {
                assert!(!check.basis.is_empty(), "{} has no source", check.id);
            } else {
                assert!(
                    rows.iter().any(|r| r.id == check.ledger),
                    "{}: no ledger row {}",
                    check.id,
                    check.ledger
                );
                assert!(sentence(check).starts_with(check.ledger));
            }
        }
    }
}
