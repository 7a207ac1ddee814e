//! The admin's directory export, streamed entry by entry ([`ldif::Reader`]) into the users a
//! preflight rehearses. An entry is a user when its `objectClass` names a person (`user`,
//! `person`, `organizationalPerson`, `inetOrgPerson`), or, in an export without `objectClass`
//! (`ldapsearch` given an attribute list), when it holds `mail`, `userPrincipalName`,
//! `proxyAddresses` or a certificate attribute; other entries (OUs, groups, the domain) are
//! counted and left out.
//!
//! What is taken: `mail` (else the primary `SMTP:` proxyAddress), `userPrincipalName`, the source
//! anchor Entra Connect would use (`mS-DS-ConsistencyGuid`, else `objectGUID`, base64 as
//! ImmutableId shows it; else one derived from the DN), `userCertificate` (with or without
//! `;binary`), `userSMIMECertificate` and `proxyAddresses` (Outlook on the web may match a
//! certificate to a proxy address: `OWAUseSecondaryProxiesWhenFindingCertificates`). A `userCertificate` value that is not a DER certificate
//! is a finding naming the DN and line, and is not written to the lab's slapd (which, unlike AD,
//! checks the syntax).

use std::io::BufRead;

use base64::Engine as _;

use super::checks::{self, Finding};

/// A user of the export, ready to be written to the lab's directory.
#[derive(Clone, Debug)]
pub struct OrgUser {
    /// The lab's id for the user (`cn` in slapd): `u000001`, in file order.
    pub id: String,
    pub dn: String,
    /// The line of the entry's `dn:`.
    pub line: u64,
    pub mail: Option<String>,
    pub upn: Option<String>,
    pub anchor: String,
    /// DER certificates (values that are not are in `findings`).
    pub user_certificate: Vec<Vec<u8>>,
    /// As stored (any bytes: Outlook takes a PKCS#7 or a certificate).
    pub user_smime_certificate: Vec<Vec<u8>>,
    /// `proxyAddresses`, as exported (each value once).
    pub proxy_addresses: Vec<String>,
    pub findings: Vec<Finding>,
}

/// What the export held.
#[derive(Debug, Default)]
pub struct Export {
    pub users: Vec<OrgUser>,
    /// Entries that are not users.
    pub other_entries: usize,
}

const PERSON_CLASSES: [&str; 4] = ["user", "person", "organizationalperson", "inetorgperson"];
const USER_ATTRIBUTES: [&str; 5] = [
    "mail",
    "userPrincipalName",
    "proxyAddresses",
    "userCertificate",
    "userSMIMECertificate",
];

/// Reads every entry; the first syntax error ends the read (naming the line and DN).
pub fn read_export<R: BufRead>(input: R) -> Result<Export, ldif::LdifError> {
    let mut export = Export::default();
    for entry in ldif::Reader::new(input) {
        let entry = entry?;
        let classes: Vec<String> = entry
            .values_of("objectClass")
            .map(|v| String::from_utf8_lossy(&v.bytes).to_ascii_lowercase())
            .collect();
        let is_user = if classes.is_empty() {
            USER_ATTRIBUTES
                .iter()
                .any(|a| entry.values_of(a).next().is_some())
        } else {
            classes.iter().any(|c| PERSON_CLASSES.contains(&c.as_str()))
                && !classes.iter().any(|c| c == "computer")
        };
        if !is_user {
            export.other_entries += 1;
            continue;
        }
        let id = format!("u{:06}", export.users.len() + 1);
        export.users.push(user_of(&entry, id));
    }
    Ok(export)
}

fn user_of(entry: &ldif::Entry, id: String) -> OrgUser {
    let mut findings = Vec::new();
    let text = |name: &str| {
        entry
            .first_text(name)
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    let primary_smtp = entry.values_of("proxyAddresses").find_map(|v| {
        let text = String::from_utf8_lossy(&v.bytes);
        // The primary address is the one whose prefix is upper case.
        text.strip_prefix("SMTP:").map(|a| a.trim().to_owned())
    });
    let mail = text("mail").or(primary_smtp);
    if mail.is_none() {
        findings.push(Finding::new(
            &checks::NO_MAIL,
            format!(
                "line {}: {} has no mail and no primary SMTP: proxyAddress; Entra Connect does not make it a mail recipient, so nobody can encrypt to it",
                entry.line, entry.dn
            ),
        ));
    }
    let anchor = entry
        .values_of("mS-DS-ConsistencyGuid")
        .chain(entry.values_of("objectGUID"))
        .find(|v| v.bytes.len() == 16)
        .map(|v| base64::engine::general_purpose::STANDARD.encode(&v.bytes))
        .unwrap_or_else(|| crate::execute::directory::source_anchor("preflight", &entry.dn));
    let mut user_certificate = Vec::new();
    for (index, value) in entry.values_of("userCertificate").enumerate() {
        match smime::certificate::parse_der(&value.bytes) {
            Ok(_) => user_certificate.push(value.bytes.clone()),
            Err(_) => findings.push(Finding::new(
                &checks::NOT_A_CERTIFICATE,
                format!(
                    "line {}: value {} of userCertificate ({} bytes) is not a DER certificate",
                    value.line,
                    index + 1,
                    value.bytes.len()
                ),
            )),
        }
    }
    let user_smime_certificate: Vec<Vec<u8>> = entry
        .values_of("userSMIMECertificate")
        .map(|v| v.bytes.clone())
        .collect();
    // Values are a set in LDAP: a duplicate would be refused by the directory.
    let user_certificate = dedup(user_certificate);
    let user_smime_certificate = dedup(user_smime_certificate);
    if user_certificate.is_empty() && user_smime_certificate.is_empty() {
        findings.push(Finding::new(
            &checks::NO_CERTIFICATE,
            format!(
                "line {}: neither userCertificate nor userSMIMECertificate holds a certificate",
                entry.line
            ),
        ));
    }
    OrgUser {
        id,
        dn: entry.dn.clone(),
        line: entry.line,
        mail,
        upn: text("userPrincipalName"),
        anchor,
        user_certificate,
        user_smime_certificate,
        proxy_addresses: dedup(
            entry
                .values_of("proxyAddresses")
                .map(|v| v.bytes.clone())
                .collect(),
        )
        .into_iter()
        .map(|v| String::from_utf8_lossy(&v).trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect(),
        findings,
    }
}

fn dedup(values: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut seen = std::collections::HashSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_told_from_other_entries() {
        let text = "dn: dc=contoso,dc=com\nobjectClass: domain\n\n\
dn: CN=Alice,OU=Users,DC=contoso,DC=com\nobjectClass: top\nobjectClass: user\n\
proxyAddresses: smtp:old@contoso.com\nproxyAddresses: SMTP:alice@contoso.com\n\
objectGUID:: AAECAwQFBgcICQoLDA0ODw==\nuserCertificate:: AAEC\n\n\
dn: cn=nomail,dc=contoso,dc=com\nuserPrincipalName: nomail@contoso.com\n";
        let export = read_export(text.as_bytes()).unwrap();
        assert_eq!(export.other_entries, 1);
        assert_eq!(export.users.len(), 2);
        let alice = &export.users[0];
        assert_eq!(alice.id, "u000001");
        assert_eq!(alice.mail.as_deref(), Some("alice@contoso.com"));
        assert_eq!(alice.anchor, "AAECAwQFBgcICQoLDA0ODw==");
        assert_eq!(
            alice.proxy_addresses,
            ["smtp:old@contoso.com", "SMTP:alice@contoso.com"]
        );
        let ids: Vec<&str> = alice.findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, ["PRE-DIR-002", "PRE-DIR-003"]);
        assert!(
            alice.findings[0].detail.starts_with("line 10:"),
            "{:?}",
            alice.findings
        );
        let nomail = &export.users[1];
        assert_eq!(nomail.mail, None);
        assert_eq!(nomail.findings[0].id, "PRE-DIR-001");
        assert!(nomail.findings[0].detail.contains("line 12: cn=nomail"));
    }
}
