//! The conformance catalogue: every check the lab can report, in one table.
//!
//! Each row is a `pub const` so that code raising a finding names its row at compile time
//! (`Finding::new(&PKI_SKI_MISSING, ..)`) instead of by a string that could be misspelled;
//! [`CATALOGUE`] lists every row once, in the order the documentation shows them. A test checks that
//! every `CheckInfo` defined here is in the table and that ids are unique, so adding a check is:
//! write the row here, add it to [`CATALOGUE`], raise it where it belongs.
//!
//! Id scheme: `AREA-TOPIC-NNN`. Areas: `PKI` (certificates, step 1), and later `SST` (the virtual
//! certificate collection, step 2), `SYNC` (step 3), `MSG` (messages), `TEN` (tenant settings).
//! An id, once published, keeps its meaning: retire a check rather than reuse its id.

use serde::Serialize;

use super::report::Severity;

/// One check: what it is called, how much it matters, where the requirement comes from and what a
/// person should do when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CheckInfo {
    pub id: &'static str,
    pub severity: Severity,
    /// A short name, for tables: "No Subject Key Identifier".
    pub title: &'static str,
    /// The document and section the requirement comes from.
    pub source: &'static str,
    /// What to do when the check fires.
    pub remedy: &'static str,
}

const MS_STEP_1: &str = "\"Configure S/MIME in Exchange Online\", step 1";
const MS_STEP_2: &str = "\"Configure S/MIME in Exchange Online\", step 2";

// --- PKI: the certificate, its key and its chain (step 1) ---------------------------------------

pub const PKI_KEY_MISMATCH: CheckInfo = CheckInfo {
    id: "PKI-KEY-001",
    severity: Severity::Error,
    title: "Private key does not match the certificate",
    source: MS_STEP_1,
    remedy: "supply the private key the certificate was issued for (the one its request was made with); if that key is lost, request a new certificate for a new key",
};

pub const PKI_KEY_NOT_SUPPLIED: CheckInfo = CheckInfo {
    id: "PKI-KEY-002",
    severity: Severity::Info,
    title: "Private key not supplied, not checked",
    source: MS_STEP_1,
    remedy: "pass the key (--key FILE) to check that the certificate comes with its private key",
};

pub const PKI_SKI_MISSING: CheckInfo = CheckInfo {
    id: "PKI-SKI-001",
    severity: Severity::Error,
    title: "No Subject Key Identifier",
    source: MS_STEP_1,
    remedy: "reissue it from a template that adds the Subject Key Identifier extension (OpenSSL: subjectKeyIdentifier = hash)",
};

pub const PKI_EKU_NO_EMAIL_PROTECTION: CheckInfo = CheckInfo {
    id: "PKI-EKU-001",
    severity: Severity::Error,
    title: "Extended key usage without emailProtection",
    source: "RFC 8550 §4.4.4",
    remedy: "reissue with id-kp-emailProtection (1.3.6.1.5.5.7.3.4, \"Secure Email\") in the extended key usage extension",
};

pub const PKI_EKU_ABSENT: CheckInfo = CheckInfo {
    id: "PKI-EKU-002",
    severity: Severity::Warning,
    title: "No extended key usage extension",
    source: "S/MIME BR 7.1.2.3 (f); RFC 8550 §4.4.4 allows it",
    remedy: "reissue with an extended key usage extension listing id-kp-emailProtection; clients that pick a recipient's certificate by purpose look for it",
};

pub const PKI_EKU_ANY: CheckInfo = CheckInfo {
    id: "PKI-EKU-003",
    severity: Severity::Warning,
    title: "anyExtendedKeyUsage in an S/MIME certificate",
    source: "S/MIME BR 7.1.2.3 (f)",
    remedy: "reissue with id-kp-emailProtection listed explicitly and without anyExtendedKeyUsage",
};

pub const PKI_KU_NEITHER: CheckInfo = CheckInfo {
    id: "PKI-KU-001",
    severity: Severity::Error,
    title: "Key usage allows neither signing nor encryption",
    source: "RFC 8550 §4.4.2",
    remedy: "reissue with digitalSignature (to sign) and keyEncipherment for an RSA key or keyAgreement for an EC key (to receive encrypted mail)",
};

pub const PKI_KU_SIGN_ONLY: CheckInfo = CheckInfo {
    id: "PKI-KU-002",
    severity: Severity::Info,
    title: "Signing only: cannot receive encrypted mail",
    source: "RFC 8550 §4.4.2",
    remedy: "fine for a signing certificate if the user has a separate encryption certificate (keyEncipherment for RSA, keyAgreement for EC); otherwise reissue as a dual-use certificate",
};

pub const PKI_KU_ENCRYPT_ONLY: CheckInfo = CheckInfo {
    id: "PKI-KU-003",
    severity: Severity::Info,
    title: "Encryption only: cannot sign",
    source: "RFC 8550 §4.4.2",
    remedy: "fine for an encryption certificate if the user has a separate signing certificate (digitalSignature); otherwise reissue as a dual-use certificate",
};

pub const PKI_KU_WRONG_FOR_KEY: CheckInfo = CheckInfo {
    id: "PKI-KU-004",
    severity: Severity::Warning,
    title: "Key usage bit does not fit the key algorithm",
    source: "S/MIME BR 7.1.2.3 (e)",
    remedy: "an RSA key encrypts with keyEncipherment, an EC key with keyAgreement: reissue with the bit that fits the key",
};

pub const PKI_KU_ABSENT: CheckInfo = CheckInfo {
    id: "PKI-KU-005",
    severity: Severity::Warning,
    title: "No key usage extension",
    source: "S/MIME BR 7.1.2.3 (e); RFC 8550 §4.4.2 allows it",
    remedy: "reissue with a critical key usage extension: digitalSignature, plus keyEncipherment (RSA) or keyAgreement (EC) to receive encrypted mail",
};

pub const PKI_SAN_NO_EMAIL: CheckInfo = CheckInfo {
    id: "PKI-SAN-001",
    severity: Severity::Error,
    title: "No email address in the subject alternative name",
    source: "RFC 8550 §3",
    remedy: "reissue with the user's primary SMTP address as an rfc822Name in the subject alternative name extension",
};

pub const PKI_SAN_MISMATCH: CheckInfo = CheckInfo {
    id: "PKI-SAN-002",
    severity: Severity::Error,
    title: "Email address does not match the mailbox",
    source: "RFC 8550 §3",
    remedy: "reissue the certificate for the mailbox's primary SMTP address, or check that the mailbox named (--mailbox) is the right one",
};

pub const PKI_VALIDITY_EXPIRED: CheckInfo = CheckInfo {
    id: "PKI-VAL-001",
    severity: Severity::Error,
    title: "Certificate has expired",
    source: "RFC 5280 §4.1.2.5",
    remedy: "renew the certificate and publish the new one (userSMIMECertificate / userCertificate)",
};

pub const PKI_VALIDITY_NOT_YET: CheckInfo = CheckInfo {
    id: "PKI-VAL-002",
    severity: Severity::Error,
    title: "Certificate is not yet valid",
    source: "RFC 5280 §4.1.2.5",
    remedy: "wait until notBefore, or check the clock of the issuing CA and reissue",
};

pub const PKI_VALIDITY_EXPIRING: CheckInfo = CheckInfo {
    id: "PKI-VAL-003",
    severity: Severity::Warning,
    title: "Certificate expires within 30 days",
    source: "RFC 5280 §4.1.2.5",
    remedy: "renew now: a new certificate reaches the tenant only after a directory sync cycle",
};

pub const PKI_ALG_RSA_TOO_SHORT: CheckInfo = CheckInfo {
    id: "PKI-ALG-001",
    severity: Severity::Error,
    title: "RSA key shorter than 2048 bits",
    source: "S/MIME BR 6.1.5; RFC 8550 §4.3",
    remedy: "issue a new key: RSA-2048 or longer, or ECDSA P-256/P-384",
};

pub const PKI_ALG_KEY_UNVERIFIED: CheckInfo = CheckInfo {
    id: "PKI-ALG-002",
    severity: Severity::Warning,
    title: "Key algorithm outside RSA and ECDSA P-256/P-384",
    source: "S/MIME BR 6.1.5",
    remedy: "the profile permits it but client support varies and this lab cannot verify it; prefer RSA-2048+ or ECDSA P-256/P-384 unless every client has been tested",
};

pub const PKI_ALG_KEY_NOT_PERMITTED: CheckInfo = CheckInfo {
    id: "PKI-ALG-003",
    severity: Severity::Error,
    title: "Key algorithm not permitted",
    source: "S/MIME BR 6.1.5",
    remedy: "issue a new key: RSA-2048 or longer, or ECDSA P-256/P-384",
};

pub const PKI_ALG_WEAK_SIGNATURE: CheckInfo = CheckInfo {
    id: "PKI-ALG-004",
    severity: Severity::Error,
    title: "Signed with SHA-1 or MD5",
    source: "S/MIME BR 7.1.3.2; RFC 8550 §4.3",
    remedy: "reissue the certificate signed with SHA-256 or stronger",
};

pub const PKI_CHAIN_INCOMPLETE: CheckInfo = CheckInfo {
    id: "PKI-CHN-001",
    severity: Severity::Error,
    title: "Chain does not reach a root",
    source: MS_STEP_2,
    remedy: "supply the missing issuer certificate (--chain FILE), and make sure it is in the certificate collection (SST) imported with Set-SmimeConfig",
};

pub const PKI_CHAIN_NOT_SUPPLIED: CheckInfo = CheckInfo {
    id: "PKI-CHN-002",
    severity: Severity::Info,
    title: "Chain not supplied, path not checked",
    source: MS_STEP_2,
    remedy: "pass the intermediate and root certificates (--chain FILE) to check the path",
};

pub const PKI_CHAIN_BAD_SIGNATURE: CheckInfo = CheckInfo {
    id: "PKI-CHN-003",
    severity: Severity::Error,
    title: "Signature does not verify with the issuer's key",
    source: "RFC 5280 §6.1.3",
    remedy: "the certificate was not signed by this issuer's key, or was altered: supply the right issuer certificate, or reissue",
};

pub const PKI_CHAIN_FROM_ROOT: CheckInfo = CheckInfo {
    id: "PKI-CHN-004",
    severity: Severity::Warning,
    title: "Issued directly by the root CA",
    source: "S/MIME BR 6.1.7",
    remedy: "issue user certificates from an intermediate (issuing) CA and keep the root's key offline",
};

pub const PKI_CHAIN_ISSUER_NOT_CA: CheckInfo = CheckInfo {
    id: "PKI-CHN-005",
    severity: Severity::Error,
    title: "Issuer is not allowed to issue certificates",
    source: "RFC 5280 §4.2.1.9, §4.2.1.3",
    remedy: "the issuer needs basicConstraints cA=TRUE, keyCertSign in its key usage and a pathLenConstraint that allows this path: reissue the CA certificate",
};

pub const PKI_CHAIN_SELF_SIGNED_USER: CheckInfo = CheckInfo {
    id: "PKI-CHN-006",
    severity: Severity::Error,
    title: "Self-signed user certificate",
    source: MS_STEP_2,
    remedy: "Exchange Online trusts only the CAs in the imported certificate collection: issue the user certificate from your CA",
};

pub const PKI_CHAIN_CA_VALIDITY: CheckInfo = CheckInfo {
    id: "PKI-CHN-007",
    severity: Severity::Error,
    title: "CA certificate in the chain expired or not yet valid",
    source: MS_STEP_2,
    remedy: "renew the CA certificate, reissue what it issued if its key changed, and import the new collection with Set-SmimeConfig (which refuses expired certificates)",
};

pub const PKI_CHAIN_SIGNATURE_UNVERIFIED: CheckInfo = CheckInfo {
    id: "PKI-CHN-008",
    severity: Severity::Warning,
    title: "Signature not verified: algorithm not supported here",
    source: "RFC 5280 §6.1.3",
    remedy: "this lab verifies RSA PKCS#1 v1.5, RSA-PSS and ECDSA P-256/P-384 with SHA-1/SHA-2; verify this signature with another tool, or reissue with one of those",
};

pub const PKI_CHAIN_WEBPKI_REJECTS: CheckInfo = CheckInfo {
    id: "PKI-CHN-009",
    severity: Severity::Warning,
    title: "An independent path validator rejects the chain",
    source: "RFC 5280 §6.1",
    remedy: "rustls-webpki, a strict RFC 5280 validator, refused a path this lab otherwise accepts: read its reason (name constraints, an unknown critical extension, an encoding error), since other clients may refuse it too",
};

pub const PKI_CRL_MISSING: CheckInfo = CheckInfo {
    id: "PKI-CRL-001",
    severity: Severity::Error,
    title: "No CRL distribution point",
    source: "S/MIME BR 7.1.2.3 (b); Exchange Online rejects a chain whose CRL it cannot fetch",
    remedy: "reissue with a cRLDistributionPoints extension naming an http:// URL of the issuer's CRL",
};

pub const PKI_CRL_NOT_HTTP: CheckInfo = CheckInfo {
    id: "PKI-CRL-002",
    severity: Severity::Warning,
    title: "CRL not published over HTTP",
    source: "S/MIME BR 7.1.2.3 (b)",
    remedy: "add an http:// CRL URL that Exchange Online can reach from the internet; ldap:// and file:// locations are internal-only",
};

pub const PKI_CRL_INTERNAL_HOST: CheckInfo = CheckInfo {
    id: "PKI-CRL-003",
    severity: Severity::Warning,
    title: "CRL URL names an internal-only host",
    source: "S/MIME BR 7.1.2.3 (b)",
    remedy: "publish the CRL under a public host name that Exchange Online can reach, and reissue with that URL",
};

pub const PKI_PROFILE_CA: CheckInfo = CheckInfo {
    id: "PKI-PRF-001",
    severity: Severity::Warning,
    title: "CA certificate given where a user certificate was expected",
    source: "RFC 5280 §4.2.1.9",
    remedy: "check the user's certificate instead; CA certificates belong in the certificate collection (SST) of step 2, not on a user",
};

pub const PKI_EXTENSION_MALFORMED: CheckInfo = CheckInfo {
    id: "PKI-EXT-001",
    severity: Severity::Error,
    title: "Extension malformed or repeated",
    source: "RFC 5280 §4.2",
    remedy: "the CA wrote an extension that cannot be decoded, or wrote one twice: fix the template and reissue",
};

/// Every check, once, in documentation order.
pub static CATALOGUE: &[CheckInfo] = &[
    PKI_KEY_MISMATCH,
    PKI_KEY_NOT_SUPPLIED,
    PKI_SKI_MISSING,
    PKI_EKU_NO_EMAIL_PROTECTION,
    PKI_EKU_ABSENT,
    PKI_EKU_ANY,
    PKI_KU_NEITHER,
    PKI_KU_SIGN_ONLY,
    PKI_KU_ENCRYPT_ONLY,
    PKI_KU_WRONG_FOR_KEY,
    PKI_KU_ABSENT,
    PKI_SAN_NO_EMAIL,
    PKI_SAN_MISMATCH,
    PKI_VALIDITY_EXPIRED,
    PKI_VALIDITY_NOT_YET,
    PKI_VALIDITY_EXPIRING,
    PKI_ALG_RSA_TOO_SHORT,
    PKI_ALG_KEY_UNVERIFIED,
    PKI_ALG_KEY_NOT_PERMITTED,
    PKI_ALG_WEAK_SIGNATURE,
    PKI_CHAIN_INCOMPLETE,
    PKI_CHAIN_NOT_SUPPLIED,
    PKI_CHAIN_BAD_SIGNATURE,
    PKI_CHAIN_FROM_ROOT,
    PKI_CHAIN_ISSUER_NOT_CA,
    PKI_CHAIN_SELF_SIGNED_USER,
    PKI_CHAIN_CA_VALIDITY,
    PKI_CHAIN_SIGNATURE_UNVERIFIED,
    PKI_CHAIN_WEBPKI_REJECTS,
    PKI_CRL_MISSING,
    PKI_CRL_NOT_HTTP,
    PKI_CRL_INTERNAL_HOST,
    PKI_PROFILE_CA,
    PKI_EXTENSION_MALFORMED,
];

/// The catalogue row with this id.
pub fn lookup(id: &str) -> Option<&'static CheckInfo> {
    CATALOGUE.iter().find(|c| c.id == id)
}

/// The catalogue as a Markdown table, for the generated documentation page.
pub fn catalogue_markdown() -> String {
    let mut out = String::from("| ID | Severity | Check | Source | What to do |\n");
    out.push_str("|---|---|---|---|---|\n");
    for check in CATALOGUE {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            check.id,
            check.severity,
            markdown_cell(check.title),
            markdown_cell(check.source),
            markdown_cell(check.remedy),
        ));
    }
    out
}

/// A table cell cannot hold a `|` or a line break.
fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for check in CATALOGUE {
            assert!(seen.insert(check.id), "duplicate id {}", check.id);
            let parts: Vec<&str> = check.id.split('-').collect();
            assert_eq!(parts.len(), 3, "{} is not AREA-TOPIC-NNN", check.id);
            assert!(
                parts[..2]
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_uppercase())),
                "{} is not AREA-TOPIC-NNN",
                check.id
            );
            assert!(
                parts[2].len() == 3 && parts[2].chars().all(|c| c.is_ascii_digit()),
                "{} is not AREA-TOPIC-NNN",
                check.id
            );
            for (field, text) in [
                ("title", check.title),
                ("source", check.source),
                ("remedy", check.remedy),
            ] {
                assert!(!text.trim().is_empty(), "{} has an empty {field}", check.id);
            }
        }
    }

    #[test]
    fn every_row_defined_in_this_file_is_in_the_table() {
        // A row defined as a const but left out of CATALOGUE would be raised in reports yet missing
        // from the documentation. Count the definitions in the source rather than trusting a list.
        let source = include_str!("catalogue.rs");
        // The needle is split so that this line does not count itself.
        let needle = [": CheckInfo", " = CheckInfo {"].concat();
        let defined = source.matches(needle.as_str()).count();
        assert_eq!(defined, CATALOGUE.len());
    }

    #[test]
    fn markdown_has_one_row_per_check() {
        let md = catalogue_markdown();
        assert_eq!(md.lines().count(), CATALOGUE.len() + 2);
        assert!(md.contains("| `PKI-SKI-001` | error | No Subject Key Identifier |"));
        for line in md.lines() {
            // Every row has exactly six unescaped pipes (five cells).
            let pipes = line.matches('|').count() - line.matches("\\|").count();
            assert_eq!(pipes, 6, "{line}");
        }
    }

    #[test]
    fn lookup_finds_rows() {
        assert_eq!(lookup("PKI-SKI-001"), Some(&PKI_SKI_MISSING));
        assert_eq!(lookup("PKI-NOPE-999"), None);
    }
}
