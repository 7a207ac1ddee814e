//! The on-premises directory (slapd standing for AD DS) over LDAP, with ldap3: the users' objects
//! and step 1, publishing certificates on them.
//!
//! A user is an `inetOrgPerson` at `cn=<user id>,<suffix>` with `cn`, `sn`, `displayName`, `mail`
//! and a source anchor in `employeeNumber`. Entra Connect matches directory objects to cloud
//! objects by an immutable source anchor (`ms-DS-ConsistencyGuid`, from `objectGUID`; admins may
//! pick another attribute such as `employeeID`). slapd has neither AD attribute, so the lab keeps
//! an ImmutableId-shaped value (base64 of a GUID) in `employeeNumber`, derived from the scenario
//! and the user id so that reports are byte-stable.
//!
//! slapd's rules, which are AD's: `userCertificate` must be written with the `;binary` option and
//! hold a certificate; `userSMIMECertificate` takes any bytes. Values are a set: order is not
//! kept, duplicates are refused.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine as _;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};
use rand_core::Rng as _;

use super::{Context, fail, new_step};
use crate::report::model::{Outcome, Stage, StepReport};
use scenario::plan::{DirectoryAttribute, PublishValues};

/// How long one LDAP operation may take.
const LDAP_TIMEOUT: Duration = Duration::from_secs(30);

/// Entries per page of a directory read (RFC 2696 simple paged results). AD answers at most
/// `MaxPageSize` (1,000 by default) entries per search page, and slapd's default `sizelimit` of
/// 500 entries applies to a single unpaged search by anyone but the root DN, so the read pages as
/// Entra Connect's import does.
pub const PAGE_SIZE: i32 = 1000;

/// LDAP connections a publish of many users opens at once: enough for slapd to use both cores
/// of a small machine while one connection waits on the network, few enough for a shared one.
pub const PUBLISH_CONNECTIONS: usize = 4;

/// The attribute the lab keeps the source anchor in.
pub const ANCHOR_ATTRIBUTE: &str = "employeeNumber";

/// What went wrong talking to the directory.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// No answer: refused, reset, timed out.
    #[error("{what}: the directory at {url} did not answer: {source}")]
    Unreachable {
        what: String,
        url: String,
        #[source]
        source: Box<ldap3::LdapError>,
    },
    /// The directory answered with an LDAP error result.
    #[error("{what}: the directory refused (LDAP result {rc}{text})")]
    Refused { what: String, rc: u32, text: String },
    /// Entries were left below the suffix after every one was deleted.
    #[error("emptying {suffix}: {left} entries are still there after deleting, e.g. {example}")]
    NotEmptied {
        suffix: String,
        left: usize,
        example: String,
    },
}

impl DirectoryError {
    /// Whether the directory answered at all (a refusal is an answer).
    pub fn answered(&self) -> bool {
        matches!(
            self,
            DirectoryError::Refused { .. } | DirectoryError::NotEmptied { .. }
        )
    }
}

/// A user object as the directory holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryUser {
    pub dn: String,
    /// `cn`: the scenario's user id.
    pub id: String,
    pub mail: String,
    pub display_name: String,
    /// The source anchor (`employeeNumber`).
    pub anchor: String,
    /// `userCertificate;binary`, DER, in the order the directory returned them.
    pub user_certificate: Vec<Vec<u8>>,
    /// `userSMIMECertificate`, as stored.
    pub user_smime_certificate: Vec<Vec<u8>>,
    /// `proxyAddresses` (`SMTP:`, `smtp:`, `x500:` ...), as stored.
    pub proxy_addresses: Vec<String>,
}

/// A user object to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// `cn`: the scenario's user id.
    pub id: String,
    pub mail: String,
    /// The source anchor (`employeeNumber`).
    pub anchor: String,
    /// `userCertificate;binary` values (DER), written with the object.
    pub user_certificate: Vec<Vec<u8>>,
    /// `userSMIMECertificate` values (any bytes), written with the object.
    pub user_smime_certificate: Vec<Vec<u8>>,
    /// `proxyAddresses` values (`SMTP:primary`, `smtp:secondary`, `x500:...`); the object is
    /// given the auxiliary class `mailRecipient` that carries them when there are any.
    pub proxy_addresses: Vec<String>,
}

/// Adds many users' objects over [`PUBLISH_CONNECTIONS`] connections at once (each takes a
/// contiguous share, in order); returns each object's DN, in the order given. The first failure
/// is the error; objects other connections added meanwhile stay (LDAP has no transaction).
pub async fn add_users(
    endpoint: &lab::DirectoryEndpoint,
    users: &[NewUser],
) -> Result<Vec<String>, DirectoryError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let share = users.len().div_ceil(PUBLISH_CONNECTIONS);
    let workers = users.chunks(share).map(|chunk| async move {
        let mut directory = Directory::connect(endpoint).await?;
        let mut dns = Vec::with_capacity(chunk.len());
        for user in chunk {
            dns.push(directory.add(user).await?);
        }
        directory.close().await;
        Ok::<_, DirectoryError>(dns)
    });
    let shares = futures_util::future::try_join_all(workers).await?;
    Ok(shares.into_iter().flatten().collect())
}

/// Deletes every entry below the directory's suffix (the base entry stays), deepest first, over
/// [`PUBLISH_CONNECTIONS`] connections: the directory as a new lab has it, for the next scenario
/// of a reused lab. Returns how many entries were deleted; reads the directory again after and
/// fails if anything is left.
pub async fn empty_below_suffix(
    endpoint: &lab::DirectoryEndpoint,
) -> Result<usize, DirectoryError> {
    let mut directory = Directory::connect(endpoint).await?;
    let mut dns = directory.entries_below_suffix().await?;
    // Children before their parents: more RDNs first.
    dns.sort_by_key(|dn| std::cmp::Reverse(dn.matches(',').count()));
    let mut deleted = 0;
    for depth in dns.chunk_by(|a, b| a.matches(',').count() == b.matches(',').count()) {
        let share = depth.len().div_ceil(PUBLISH_CONNECTIONS);
        let workers = depth.chunks(share).map(|chunk| async move {
            let mut directory = Directory::connect(endpoint).await?;
            for dn in chunk {
                directory.delete(dn).await?;
            }
            directory.close().await;
            Ok::<_, DirectoryError>(chunk.len())
        });
        deleted += futures_util::future::try_join_all(workers)
            .await?
            .into_iter()
            .sum::<usize>();
    }
    let left = directory.entries_below_suffix().await?;
    directory.close().await;
    match left.first() {
        None => Ok(deleted),
        Some(dn) => Err(DirectoryError::NotEmptied {
            suffix: endpoint.suffix.clone(),
            left: left.len(),
            example: dn.clone(),
        }),
    }
}

/// A bound session with the directory, as its administrator.
pub struct Directory {
    ldap: ldap3::Ldap,
    url: String,
    suffix: String,
}

/// The DN of a user's object.
pub fn user_dn(suffix: &str, user_id: &str) -> String {
    format!("cn={user_id},{suffix}")
}

/// The user's source anchor: base64 of a GUID (version 4 layout) from the seeded RNG, the form
/// Entra Connect's ImmutableId takes.
pub fn source_anchor(scenario: &str, user_id: &str) -> String {
    let mut bytes = [0u8; 16];
    smime::rng::seeded(&format!("{scenario}/directory/{user_id}/source-anchor"))
        .fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Directory {
    /// Connects to the lab's directory and binds as its administrator.
    pub async fn connect(endpoint: &lab::DirectoryEndpoint) -> Result<Self, DirectoryError> {
        let unreachable = |what: &str, source| DirectoryError::Unreachable {
            what: what.to_owned(),
            url: endpoint.url.clone(),
            source: Box::new(source),
        };
        let settings = LdapConnSettings::new().set_conn_timeout(LDAP_TIMEOUT);
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &endpoint.url)
            .await
            .map_err(|e| unreachable("connecting", e))?;
        ldap3::drive!(conn);
        let result = ldap
            .with_timeout(LDAP_TIMEOUT)
            .simple_bind(&endpoint.bind_dn, &endpoint.password)
            .await
            .map_err(|e| unreachable("binding as the administrator", e))?;
        check(result, &format!("binding as {}", endpoint.bind_dn))?;
        Ok(Self {
            ldap,
            url: endpoint.url.clone(),
            suffix: endpoint.suffix.clone(),
        })
    }

    fn unreachable(&self, what: &str, source: ldap3::LdapError) -> DirectoryError {
        DirectoryError::Unreachable {
            what: what.to_owned(),
            url: self.url.clone(),
            source: Box::new(source),
        }
    }

    /// Adds a user's object.
    pub async fn add_user(
        &mut self,
        user_id: &str,
        mail: &str,
        anchor: &str,
    ) -> Result<String, DirectoryError> {
        self.add(&NewUser {
            id: user_id.to_owned(),
            mail: mail.to_owned(),
            anchor: anchor.to_owned(),
            user_certificate: Vec::new(),
            user_smime_certificate: Vec::new(),
            proxy_addresses: Vec::new(),
        })
        .await
    }

    /// Adds a user's object with its `userCertificate` values, in one operation.
    pub async fn add(&mut self, user: &NewUser) -> Result<String, DirectoryError> {
        let user_id = user.id.as_str();
        let dn = user_dn(&self.suffix, user_id);
        let one = |v: &str| HashSet::from([v.as_bytes().to_vec()]);
        let mut classes = HashSet::from([b"inetOrgPerson".to_vec()]);
        if !user.proxy_addresses.is_empty() {
            classes.insert(b"mailRecipient".to_vec());
        }
        let mut attributes: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = vec![
            (b"objectClass".to_vec(), classes),
            (b"cn".to_vec(), one(user_id)),
            (b"sn".to_vec(), one(user_id)),
            (b"displayName".to_vec(), one(user_id)),
            (b"mail".to_vec(), one(&user.mail)),
            (ANCHOR_ATTRIBUTE.as_bytes().to_vec(), one(&user.anchor)),
        ];
        if !user.user_certificate.is_empty() {
            attributes.push((
                write_name(DirectoryAttribute::UserCertificate)
                    .as_bytes()
                    .to_vec(),
                user.user_certificate.iter().cloned().collect(),
            ));
        }
        if !user.proxy_addresses.is_empty() {
            attributes.push((
                b"proxyAddresses".to_vec(),
                user.proxy_addresses
                    .iter()
                    .map(|p| p.as_bytes().to_vec())
                    .collect(),
            ));
        }
        if !user.user_smime_certificate.is_empty() {
            attributes.push((
                write_name(DirectoryAttribute::UserSmimeCertificate)
                    .as_bytes()
                    .to_vec(),
                user.user_smime_certificate.iter().cloned().collect(),
            ));
        }
        let what = format!("adding {dn}");
        let result = self
            .ldap
            .with_timeout(LDAP_TIMEOUT)
            .add(&dn, attributes)
            .await
            .map_err(|e| self.unreachable(&what, e))?;
        check(result, &what)?;
        Ok(dn)
    }

    /// Replaces an attribute's values (no values: removes the attribute).
    pub async fn replace(
        &mut self,
        dn: &str,
        attribute: DirectoryAttribute,
        values: &[Vec<u8>],
    ) -> Result<(), DirectoryError> {
        let name = write_name(attribute).as_bytes().to_vec();
        let set: HashSet<Vec<u8>> = values.iter().cloned().collect();
        let what = format!("writing {} on {dn}", attribute.ldap_name());
        let result = self
            .ldap
            .with_timeout(LDAP_TIMEOUT)
            .modify(dn, vec![Mod::Replace(name, set)])
            .await
            .map_err(|e| self.unreachable(&what, e))?;
        check(result, &what)
    }

    /// Every user object below the suffix, with its certificates, read in pages of
    /// [`PAGE_SIZE`] (RFC 2696), sorted by DN.
    pub async fn users(&mut self) -> Result<Vec<DirectoryUser>, DirectoryError> {
        let what = format!("searching {} for users", self.suffix);
        let attributes = vec![
            "cn",
            "mail",
            "displayName",
            ANCHOR_ATTRIBUTE,
            "userCertificate;binary",
            "userSMIMECertificate",
            "proxyAddresses",
        ];
        let mut users = self
            .paged_search(&what, "(objectClass=inetOrgPerson)", attributes, |entry| {
                Some(DirectoryUser {
                    id: first_text(&entry, "cn"),
                    mail: first_text(&entry, "mail"),
                    display_name: first_text(&entry, "displayName"),
                    anchor: first_text(&entry, ANCHOR_ATTRIBUTE),
                    user_certificate: values(&entry, "userCertificate"),
                    user_smime_certificate: values(&entry, "userSMIMECertificate"),
                    proxy_addresses: values(&entry, "proxyAddresses")
                        .into_iter()
                        .map(|v| String::from_utf8_lossy(&v).into_owned())
                        .collect(),
                    dn: entry.dn,
                })
            })
            .await?;
        users.sort_by(|a, b| a.dn.cmp(&b.dn));
        Ok(users)
    }

    /// The DN of every entry below the suffix (not the base entry), read in pages.
    pub async fn entries_below_suffix(&mut self) -> Result<Vec<String>, DirectoryError> {
        let what = format!("listing the entries below {}", self.suffix);
        let suffix = self.suffix.clone();
        // "1.1": no attributes, only the DNs (RFC 4511 §4.5.1.8).
        self.paged_search(&what, "(objectClass=*)", vec!["1.1"], |entry| {
            (!entry.dn.eq_ignore_ascii_case(&suffix)).then_some(entry.dn)
        })
        .await
    }

    /// A subtree search below the suffix in pages of [`PAGE_SIZE`] (RFC 2696), each entry
    /// mapped as it arrives (`None` leaves it out), so that a large directory is never held
    /// twice.
    async fn paged_search<T>(
        &mut self,
        what: &str,
        filter: &str,
        attributes: Vec<&str>,
        mut map: impl FnMut(SearchEntry) -> Option<T>,
    ) -> Result<Vec<T>, DirectoryError> {
        let suffix = self.suffix.clone();
        let adapters: Vec<Box<dyn Adapter<'_, &str, Vec<&str>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(PAGE_SIZE)),
        ];
        let mut search = self
            .ldap
            .with_timeout(LDAP_TIMEOUT)
            .streaming_search_with(adapters, &suffix, Scope::Subtree, filter, attributes)
            .await
            .map_err(|e| self.unreachable(what, e))?;
        let mut found = Vec::new();
        loop {
            match search.next().await {
                Ok(Some(entry)) => found.extend(map(SearchEntry::construct(entry))),
                Ok(None) => break,
                Err(e) => return Err(self.unreachable(what, e)),
            }
        }
        let result = search.finish().await;
        check(result, what)?;
        Ok(found)
    }

    /// Deletes one entry (a leaf).
    pub async fn delete(&mut self, dn: &str) -> Result<(), DirectoryError> {
        let what = format!("deleting {dn}");
        let result = self
            .ldap
            .with_timeout(LDAP_TIMEOUT)
            .delete(dn)
            .await
            .map_err(|e| self.unreachable(&what, e))?;
        check(result, &what)
    }

    /// One object's values of one attribute.
    pub async fn read(
        &mut self,
        dn: &str,
        attribute: DirectoryAttribute,
    ) -> Result<Vec<Vec<u8>>, DirectoryError> {
        let what = format!("reading {} of {dn}", attribute.ldap_name());
        let found = self
            .ldap
            .with_timeout(LDAP_TIMEOUT)
            .search(
                dn,
                Scope::Base,
                "(objectClass=*)",
                vec![write_name(attribute)],
            )
            .await
            .map_err(|e| self.unreachable(&what, e))?;
        let (entries, result) = (found.0, found.1);
        check(result, &what)?;
        Ok(entries
            .into_iter()
            .map(SearchEntry::construct)
            .flat_map(|entry| values(&entry, attribute.ldap_name()))
            .collect())
    }

    /// Ends the session politely; a directory that has gone away meanwhile is no error.
    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}

/// The name an attribute is written and requested under.
fn write_name(attribute: DirectoryAttribute) -> &'static str {
    match attribute {
        DirectoryAttribute::UserCertificate => "userCertificate;binary",
        DirectoryAttribute::UserSmimeCertificate => "userSMIMECertificate",
    }
}

fn check(result: ldap3::LdapResult, what: &str) -> Result<(), DirectoryError> {
    if result.rc == 0 {
        return Ok(());
    }
    Err(DirectoryError::Refused {
        what: what.to_owned(),
        rc: result.rc,
        text: if result.text.is_empty() {
            String::new()
        } else {
            format!(": {}", result.text)
        },
    })
}

/// Every value of `name`, with or without options (`userCertificate;binary`), text or binary:
/// ldap3 files an attribute under `bin_attrs` when any value is not UTF-8.
fn values(entry: &SearchEntry, name: &str) -> Vec<Vec<u8>> {
    let matches = |key: &str| {
        let base = key.split(';').next().unwrap_or(key);
        base.eq_ignore_ascii_case(name)
    };
    let mut out = Vec::new();
    for (key, values) in &entry.bin_attrs {
        if matches(key) {
            out.extend(values.iter().cloned());
        }
    }
    for (key, values) in &entry.attrs {
        if matches(key) {
            out.extend(values.iter().map(|v| v.as_bytes().to_vec()));
        }
    }
    out
}

fn first_text(entry: &SearchEntry, name: &str) -> String {
    values(entry, name)
        .into_iter()
        .next()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_default()
}

/// Values as a sorted list, to compare sets.
pub fn sorted(values: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut values = values.to_vec();
    values.sort();
    values
}

/// A multi-valued attribute as the connector compares it: how many values, and SHA-256 over
/// them sorted (each length-prefixed), so that the directory's order does not matter. The
/// state of a 100,000-user connector holds these instead of every certificate twice over (about
/// 4 KB a user); a SHA-256 collision between two certificate lists is not a risk to design for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Values {
    count: usize,
    digest: [u8; 32],
}

impl Values {
    pub fn of(values: &[Vec<u8>]) -> Self {
        use sha2::Digest as _;
        let mut order: Vec<&Vec<u8>> = values.iter().collect();
        order.sort();
        let mut hash = sha2::Sha256::new();
        for value in order {
            hash.update((value.len() as u64).to_be_bytes());
            hash.update(value);
        }
        Values {
            count: values.len(),
            digest: hash.finalize().into(),
        }
    }

    /// The values as the sync export's JSON carries them.
    pub fn base64(values: &[Vec<u8>]) -> Vec<String> {
        use base64::Engine as _;
        values
            .iter()
            .map(|v| base64::engine::general_purpose::STANDARD.encode(v))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Step 1: writes the certificates into the attribute, then reads them back and compares.
pub async fn publish(ctx: &mut Context<'_>, publish: &PublishValues) -> StepReport {
    let ids: Vec<&str> = publish.certificates.iter().map(|c| c.id.as_str()).collect();
    let count = ids.len();
    let mut step = new_step(
        Stage::Publish,
        format!(
            "publish {}: {} ({count} value{})",
            publish.user,
            publish.attribute.ldap_name(),
            if count == 1 { "" } else { "s" }
        ),
    );
    step.expected = Some(format!(
        "{} of {} holds exactly {}",
        publish.attribute.ldap_name(),
        publish.mailbox,
        summarise_ids(&ids)
    ));
    let endpoint = match ctx.endpoints.directory() {
        Ok(endpoint) => endpoint.clone(),
        Err(e) => {
            fail(&mut step, Outcome::Error, e.to_string());
            return step;
        }
    };
    let values: Vec<Vec<u8>> = match &publish.pkcs7 {
        // One PKCS#7 value holding the certificates, as Outlook's "Publish to GAL" writes it.
        Some(blob) => vec![blob.clone()],
        None => publish.certificates.iter().map(|c| c.der.clone()).collect(),
    };
    let count = values.len();
    if publish.pkcs7.is_some() {
        step.title = format!(
            "publish {}: {} (1 PKCS#7 value as Outlook's Publish to GAL writes it: {})",
            publish.user,
            publish.attribute.ldap_name(),
            ids.join(", ")
        );
    }
    let dn = user_dn(&endpoint.suffix, &publish.user);
    // The session of the publish before, else a new one; kept for the next only when this one
    // went through (a session that failed is not trusted again).
    let session = ctx.directory.take();
    let written = async {
        let mut directory = match session {
            Some(directory) => directory,
            None => Directory::connect(&endpoint).await?,
        };
        directory.replace(&dn, publish.attribute, &values).await?;
        let back = directory.read(&dn, publish.attribute).await?;
        Ok::<_, DirectoryError>((directory, back))
    }
    .await;
    let written = written.map(|(directory, back)| {
        ctx.directory = Some(directory);
        back
    });
    match written {
        Ok(back) if sorted(&back) == sorted(&values) => {
            step.details.push(format!(
                "{dn}: {} read back byte for byte ({count} value{})",
                publish.attribute.ldap_name(),
                if count == 1 { "" } else { "s" }
            ));
        }
        Ok(back) => fail(
            &mut step,
            Outcome::Error,
            format!(
                "the directory stored {} value{} that differ from what was written ({count})",
                back.len(),
                if back.len() == 1 { "" } else { "s" }
            ),
        ),
        // The directory refusing the values is a finding about them (AD refuses the same).
        Err(e) if e.answered() => fail(&mut step, Outcome::Failed, e.to_string()),
        Err(e) => {
            let (outcome, why) =
                ctx.unreachable(lab::Service::Directory, "publishing", &e.to_string());
            fail(&mut step, outcome, why);
        }
    }
    step
}

/// `alice, alice.previous-01, ... (16 certificates)` for long lists.
pub fn summarise_ids(ids: &[&str]) -> String {
    match ids {
        [] => "no certificate".to_owned(),
        [first, second, .., last] if ids.len() > 4 => {
            format!(
                "{first}, {second}, ..., {last} ({} certificates)",
                ids.len()
            )
        }
        _ => ids.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_stable_guids_per_scenario_and_user() {
        let a = source_anchor("rsa-happy-path", "alice");
        assert_eq!(a, source_anchor("rsa-happy-path", "alice"));
        assert_ne!(a, source_anchor("rsa-happy-path", "carol"));
        assert_ne!(a, source_anchor("other", "alice"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&a)
            .expect("base64");
        assert_eq!(bytes.len(), 16);
        assert_eq!(bytes[6] >> 4, 4, "version 4 layout");
        assert_eq!(bytes[8] >> 6, 0b10, "RFC 4122 variant");
    }

    #[test]
    fn long_id_lists_are_summarised() {
        assert_eq!(summarise_ids(&["alice"]), "alice");
        assert_eq!(summarise_ids(&["a", "b", "c"]), "a, b, c");
        assert_eq!(
            summarise_ids(&["a", "b", "c", "d", "e"]),
            "a, b, ..., e (5 certificates)"
        );
        assert_eq!(
            user_dn("dc=contoso,dc=com", "alice"),
            "cn=alice,dc=contoso,dc=com"
        );
    }
}
