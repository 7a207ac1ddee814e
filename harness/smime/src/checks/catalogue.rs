//! The conformance catalogue: every check the lab can report, in one table.
//!
//! Each row is a `pub const` so that code raising a finding names its row at compile time
//! (`Finding::new(&PKI_SKI_MISSING, ..)`) instead of by a string that could be misspelled;
//! [`CATALOGUE`] lists every row once, in the order the documentation shows them. A test checks that
//! every `CheckInfo` defined here is in the table and that ids are unique, so adding a check is:
//! write the row here, add it to [`CATALOGUE`], raise it where it belongs.
//!
//! Id scheme: `AREA-TOPIC-NNN`. Areas: `PKI` (certificates, step 1), `BRW` (the browser policy
//! that installs Outlook on the web's S/MIME extension, step 4; raised by the `browser-policy`
//! crate), and later `SST` (the virtual certificate collection, step 2), `SYNC` (step 3), `MSG`
//! (messages), `TEN` (tenant settings).
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
const MS_STEP_4: &str = "\"Configure S/MIME in Exchange Online\", step 4";
const CHROME_FORCELIST: &str = "Chrome Enterprise policy list, ExtensionInstallForcelist";
const CHROMIUM_REGISTRY: &str =
    "Chromium's Windows policy loader (components/policy/core/common/registry_dict.cc)";

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

// --- BRW: the browser policy for Outlook on the web (step 4) ------------------------------------

pub const BRW_JOINED_DEVICES: CheckInfo = CheckInfo {
    id: "BRW-GEN-001",
    severity: Severity::Info,
    title: "Applies only on domain- or Entra-joined devices",
    source: MS_STEP_4,
    remedy: "deploy it to devices joined to Active Directory or Microsoft Entra ID (on macOS: enrolled in MDM); on other devices Edge and Chrome ignore ExtensionInstallForcelist and Outlook on the web cannot sign or encrypt",
};

pub const BRW_FORCELIST_OK: CheckInfo = CheckInfo {
    id: "BRW-FL-002",
    severity: Severity::Info,
    title: "S/MIME extension force-installed",
    source: MS_STEP_4,
    remedy: "nothing to change here",
};

pub const BRW_FORCELIST_MISSING: CheckInfo = CheckInfo {
    id: "BRW-FL-001",
    severity: Severity::Error,
    title: "No forcelist entry for the S/MIME extension",
    source: MS_STEP_4,
    remedy: "set the mandatory machine policy ExtensionInstallForcelist to a list holding maafgiompdekodanheihhgilkjchcakm;https://outlook.office.com/owa/SmimeCrxUpdate.ashx (`smime-lab browser-policy generate` writes it)",
};

pub const BRW_VALUE_TYPE: CheckInfo = CheckInfo {
    id: "BRW-TYPE-001",
    severity: Severity::Error,
    title: "Policy value has the wrong type",
    source: CHROME_FORCELIST,
    remedy: "ExtensionInstallForcelist is a list of strings: a JSON array [\"...\"], an <array> of <string> in a profile, or in the registry a key of that name holding REG_SZ values named 1, 2, 3",
};

pub const BRW_LIST_ENTRY_NAME: CheckInfo = CheckInfo {
    id: "BRW-REG-001",
    severity: Severity::Error,
    title: "List entry with a non-numeric value name",
    source: CHROMIUM_REGISTRY,
    remedy: "name the REG_SZ values of a list key 1, 2, 3: Edge and Chrome skip values whose names are not numbers",
};

pub const BRW_REG_HIVE: CheckInfo = CheckInfo {
    id: "BRW-REG-002",
    severity: Severity::Error,
    title: "Hive abbreviated or unknown",
    source: "Windows registry file format (regedit)",
    remedy: "write the hive in full, e.g. [HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\...]: regedit does not import HKLM\\ or other abbreviations",
};

pub const BRW_REG_TYPE: CheckInfo = CheckInfo {
    id: "BRW-REG-003",
    severity: Severity::Error,
    title: "Registry value of a type the browser does not read",
    source: CHROMIUM_REGISTRY,
    remedy: "write each list entry as a REG_SZ string value (\"1\"=\"...\"); Edge and Chrome ignore REG_MULTI_SZ, REG_BINARY and REG_QWORD policy values",
};

pub const BRW_ID_WRONG: CheckInfo = CheckInfo {
    id: "BRW-ID-001",
    severity: Severity::Error,
    title: "Wrong extension ID",
    source: MS_STEP_4,
    remedy: "use the extension ID maafgiompdekodanheihhgilkjchcakm exactly: 32 lower-case letters a-p, no spaces",
};

pub const BRW_URL_MISSING: CheckInfo = CheckInfo {
    id: "BRW-URL-001",
    severity: Severity::Error,
    title: "Update URL missing",
    source: MS_STEP_4,
    remedy: "append ;https://outlook.office.com/owa/SmimeCrxUpdate.ashx to the ID: without it the browser looks for the extension in its web store, which does not have it",
};

pub const BRW_URL_WRONG: CheckInfo = CheckInfo {
    id: "BRW-URL-002",
    severity: Severity::Error,
    title: "Wrong update URL",
    source: MS_STEP_4,
    remedy: "use the update URL https://outlook.office.com/owa/SmimeCrxUpdate.ashx exactly, with nothing around it",
};

pub const BRW_SEPARATOR: CheckInfo = CheckInfo {
    id: "BRW-SEP-001",
    severity: Severity::Error,
    title: "Wrong separator between ID and update URL",
    source: CHROME_FORCELIST,
    remedy: "separate the extension ID from the update URL with a semicolon and nothing else: maafgiompdekodanheihhgilkjchcakm;https://outlook.office.com/owa/SmimeCrxUpdate.ashx",
};

pub const BRW_USER_SCOPE: CheckInfo = CheckInfo {
    id: "BRW-SCOPE-001",
    severity: Severity::Warning,
    title: "User policy instead of machine policy",
    source: MS_STEP_4,
    remedy: "set it as machine policy (HKEY_LOCAL_MACHINE, Computer Configuration, Machine\\Registry.pol, a System-scope profile) so it covers every user of the device; user policy reaches only the users who receive it and loses to machine policy in a conflict",
};

pub const BRW_SCOPE_UNKNOWN: CheckInfo = CheckInfo {
    id: "BRW-SCOPE-002",
    severity: Severity::Info,
    title: "Meaning depends on where the file is installed",
    source: MS_STEP_4,
    remedy: "install a Registry.pol in the GPO's Machine folder (Computer Configuration), a Linux JSON policy in the browser's policies/managed folder (not recommended); pass the install path (--path) to check it",
};

pub const BRW_RECOMMENDED: CheckInfo = CheckInfo {
    id: "BRW-LVL-001",
    severity: Severity::Error,
    title: "Recommended instead of mandatory",
    source: CHROME_FORCELIST,
    remedy: "ExtensionInstallForcelist can only be mandatory: move it out of the Recommended key, the policies/recommended folder or a Set-Once/Often preference into the mandatory place",
};

pub const BRW_ALLOWLIST: CheckInfo = CheckInfo {
    id: "BRW-ALW-001",
    severity: Severity::Error,
    title: "Allowlist where the forcelist belongs",
    source: MS_STEP_4,
    remedy: "an allowlist only permits an install the user starts: put the entry in ExtensionInstallForcelist, which installs the extension and keeps it installed",
};

pub const BRW_BLOCKLIST: CheckInfo = CheckInfo {
    id: "BRW-BLK-001",
    severity: Severity::Warning,
    title: "Blocklist names the S/MIME extension",
    source: "Chrome Enterprise policy list, ExtensionInstallBlocklist",
    remedy: "drop \"*\" or the extension's ID from ExtensionInstallBlocklist, or list the ID in ExtensionInstallAllowlist: the forcelist overrides the blocklist, but the extension is blocked the moment its forcelist entry is wrong or removed",
};

pub const BRW_SETTINGS_BLOCKED: CheckInfo = CheckInfo {
    id: "BRW-BLK-002",
    severity: Severity::Error,
    title: "ExtensionSettings blocks or removes the S/MIME extension",
    source: "Chrome Enterprise policy list, ExtensionSettings",
    remedy: "remove the extension's entry from ExtensionSettings or set its installation_mode to force_installed with update_url https://outlook.office.com/owa/SmimeCrxUpdate.ashx: ExtensionSettings overrides ExtensionInstallForcelist",
};

pub const BRW_WRONG_BROWSER: CheckInfo = CheckInfo {
    id: "BRW-BRW-001",
    severity: Severity::Error,
    title: "Policy written for another browser",
    source: MS_STEP_4,
    remedy: "write it under the browser you deploy: Edge reads SOFTWARE\\Policies\\Microsoft\\Edge, com.microsoft.Edge and /etc/opt/edge/policies/managed; Chrome reads SOFTWARE\\Policies\\Google\\Chrome, com.google.Chrome and /etc/opt/chrome/policies/managed",
};

pub const BRW_LOCATION_UNREAD: CheckInfo = CheckInfo {
    id: "BRW-LOC-001",
    severity: Severity::Error,
    title: "Location no browser reads",
    source: MS_STEP_4,
    remedy: "move the policy to where the browser reads it (`smime-lab browser-policy generate` shows each place)",
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
    BRW_JOINED_DEVICES,
    BRW_FORCELIST_OK,
    BRW_FORCELIST_MISSING,
    BRW_VALUE_TYPE,
    BRW_LIST_ENTRY_NAME,
    BRW_REG_HIVE,
    BRW_REG_TYPE,
    BRW_ID_WRONG,
    BRW_URL_MISSING,
    BRW_URL_WRONG,
    BRW_SEPARATOR,
    BRW_USER_SCOPE,
    BRW_SCOPE_UNKNOWN,
    BRW_RECOMMENDED,
    BRW_ALLOWLIST,
    BRW_BLOCKLIST,
    BRW_SETTINGS_BLOCKED,
    BRW_WRONG_BROWSER,
    BRW_LOCATION_UNREAD,
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

/// Where the catalogue's page is committed (from the repository root).
pub const PAGE_PATH: &str = "docs/checks.md";
/// The command that regenerates [`PAGE_PATH`].
pub const REGENERATE_PAGE: &str = "cargo run -p runner -- cert catalogue -o docs/checks.md";

/// The catalogue's documentation page: what the ids mean, where they appear, then the table.
pub fn catalogue_page() -> String {
    let mut page = String::from("# The check catalogue\n\n");
    page.push_str(&format!(
        "<!-- Generated from `smime::checks::CATALOGUE` by `{REGENERATE_PAGE}`; do not edit: a \
         test fails when this page and the catalogue disagree. -->\n\n"
    ));
    page.push_str(&format!(
        "Every check smime-lab reports on certificates and browser policies ({} checks): in \
         `smime-lab cert check`, in the vendor profile (`cargo xtask run-scenarios --vendor DIR`) \
         and in `smime-lab browser-policy check`. Ids are `AREA-TOPIC-NNN` and keep their \
         meaning once published. In `smime-lab cert check` an `error` finding makes the exit \
         status 1; `warning` and `info` findings are reported only.\n\n",
        CATALOGUE.len()
    ));
    page.push_str(&catalogue_markdown());
    page
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
