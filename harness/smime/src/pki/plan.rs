//! From a parsed description to an issuance plan: every entity with its resolved issuer, dates,
//! key usage role and flaws, in the order certificates must be issued (each CA before what it
//! signs). All cross-references are checked here, so issuing cannot meet a dangling id.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::{Location, Spanned};
use time::OffsetDateTime;

use super::description::{
    CaSpec, CertSpec, CrlVersion, Flaw, Lifetime, PkiDescription, UserSpec, check_mailbox,
};
use super::{PkiError, Role, user_certificate_id};
use crate::key::KeySpec;

/// The id of the root CA; intermediates and users may not take it.
pub const ROOT_ID: &str = "root";

/// S/MIME Baseline Requirements 6.3.2: subscriber certificates are valid for at most 825 days.
const MAX_USER_VALIDITY_DAYS: i64 = 825;

#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub seed: String,
    pub now: OffsetDateTime,
    pub crl_base_url: String,
    pub aia_base_url: String,
    /// Issue order: root, intermediates (each after its issuer), then users.
    pub entities: Vec<Planned>,
    /// Ids of the revoked entities.
    pub revoked: BTreeSet<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Planned {
    pub id: String,
    pub role: Role,
    pub user: Option<String>,
    pub mailbox: Option<String>,
    /// RFC 4514 subject for CAs; users' subjects are made from the mailbox.
    pub subject: Option<String>,
    pub key: KeySpec,
    pub issuer: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub flaws: BTreeSet<Flaw>,
    /// basicConstraints pathLenConstraint of an intermediate: how many CA levels may follow it.
    pub path_len: Option<u8>,
    pub non_repudiation: bool,
    /// The version of the CRL a CA issues (users issue none).
    pub crl_version: CrlVersion,
}

fn invalid(field: impl Into<String>, at: Option<Location>, message: impl Into<String>) -> PkiError {
    PkiError::Invalid {
        field: field.into(),
        line: at.map(|l| l.line()),
        column: at.map(|l| l.column()),
        message: message.into(),
    }
}

fn located<T>(spanned: &Spanned<T>) -> Option<Location> {
    let at = spanned.referenced;
    (at != Location::UNKNOWN).then_some(at)
}

/// Ids become file names and parts of URLs: keep them to a safe, lower-case alphabet.
fn check_id(kind: &str, id: &str, at: Option<Location>) -> Result<(), PkiError> {
    let ok = id.len() <= 64
        && id
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
        });
    if !ok {
        return Err(invalid(
            format!("{kind}.{id}"),
            at,
            format!(
                "{id:?} is not a usable id: ids become file names, so use lower-case letters, digits, '-', '_' and '.', starting with a letter or digit, at most 64 characters"
            ),
        ));
    }
    if id == ROOT_ID {
        return Err(invalid(
            format!("{kind}.{id}"),
            at,
            "`root` is the root CA's id; give this entry another id",
        ));
    }
    Ok(())
}

/// Flaws that make sense on a CA certificate.
fn check_ca_flaws(
    field: &str,
    flaws: &[Flaw],
    is_root: bool,
    at: Option<Location>,
) -> Result<(), PkiError> {
    for flaw in flaws {
        let allowed = match flaw {
            Flaw::NoSki | Flaw::Expired | Flaw::NotYetValid | Flaw::Sha1Signature => true,
            // A root is self-signed: it has no CRL distribution point or caIssuers to leave out.
            Flaw::NoCrlDp | Flaw::NoAia => !is_root,
            Flaw::NoEmailProtectionEku
            | Flaw::WrongKeyUsage
            | Flaw::SanMismatch
            | Flaw::IssuedFromRoot => false,
        };
        if !allowed {
            let accepted = if is_root {
                "no-ski, expired, not-yet-valid, sha1-signature"
            } else {
                "no-ski, expired, not-yet-valid, sha1-signature, no-crl-dp, no-aia"
            };
            return Err(invalid(
                format!("{field}.flaws"),
                at,
                format!(
                    "flaw `{flaw}` does not apply to this CA; a {} accepts {accepted}",
                    if is_root { "root" } else { "intermediate" }
                ),
            ));
        }
    }
    Ok(())
}

/// notBefore and notAfter for `valid` at `now`, moved by the date flaws. The RFC 5280 validity
/// period includes both ends, so a `1y` certificate ends one second before its anniversary.
fn dates(
    field: &str,
    at: Option<Location>,
    now: OffsetDateTime,
    valid: Lifetime,
    flaws: &BTreeSet<Flaw>,
) -> Result<(OffsetDateTime, OffsetDateTime), PkiError> {
    let second = time::Duration::SECOND;
    let day = time::Duration::DAY;
    let out_of_range = || {
        invalid(
            format!("{field}.valid"),
            at,
            format!("{valid} from {now} leaves the dates certificates can carry"),
        )
    };
    if flaws.contains(&Flaw::Expired) && flaws.contains(&Flaw::NotYetValid) {
        return Err(invalid(
            format!("{field}.flaws"),
            at,
            "`expired` and `not-yet-valid` contradict each other: keep one",
        ));
    }
    let (not_before, end) = if flaws.contains(&Flaw::Expired) {
        let end = now.checked_sub(day).ok_or_else(out_of_range)?;
        (valid.before(end).ok_or_else(out_of_range)?, end)
    } else {
        let start = if flaws.contains(&Flaw::NotYetValid) {
            now.checked_add(day).ok_or_else(out_of_range)?
        } else {
            now
        };
        (start, valid.after(start).ok_or_else(out_of_range)?)
    };
    let not_after = end.checked_sub(second).ok_or_else(out_of_range)?;
    if not_before.year() < 1970 || not_after.year() > 9999 {
        return Err(out_of_range());
    }
    Ok((not_before, not_after))
}

pub(crate) fn plan(description: &PkiDescription) -> Result<Plan, PkiError> {
    let now = description.now.0;
    let domain = description.domain.as_str();
    let root = &description.root;
    let root_at = located(root);
    check_ca_flaws("root", &root.value.flaws, true, root_at)?;
    let root_flaws: BTreeSet<Flaw> = root.value.flaws.iter().copied().collect();
    let (root_nb, root_na) = dates(
        "root",
        root_at,
        now,
        root.value.valid.unwrap_or(Lifetime::Years(10)),
        &root_flaws,
    )?;
    let mut entities = vec![Planned {
        id: ROOT_ID.to_owned(),
        role: Role::Root,
        user: None,
        mailbox: None,
        subject: Some(root.value.subject.as_str().to_owned()),
        key: root.value.key,
        issuer: ROOT_ID.to_owned(),
        not_before: root_nb,
        not_after: root_na,
        flaws: root_flaws,
        path_len: None,
        non_repudiation: false,
        crl_version: root.value.crl_version.unwrap_or_default(),
    }];

    let intermediates = order_intermediates(&description.intermediates)?;
    for (id, spec, issuer, path_len) in intermediates {
        let field = format!("intermediates.{id}");
        let at = located(spec);
        check_ca_flaws(&field, &spec.value.flaws, false, at)?;
        let flaws: BTreeSet<Flaw> = spec.value.flaws.iter().copied().collect();
        let (not_before, not_after) = dates(
            &field,
            at,
            now,
            spec.value.valid.unwrap_or(Lifetime::Years(5)),
            &flaws,
        )?;
        entities.push(Planned {
            id: id.clone(),
            role: Role::Intermediate,
            user: None,
            mailbox: None,
            subject: Some(spec.value.subject.as_str().to_owned()),
            key: spec.value.key,
            issuer,
            not_before,
            not_after,
            flaws,
            path_len: Some(path_len),
            non_repudiation: false,
            crl_version: spec.value.crl_version.unwrap_or_default(),
        });
    }

    let ca_ids: BTreeSet<String> = entities.iter().map(|e| e.id.clone()).collect();
    // Who holds each certificate id so far (a user, or the CA itself): a clash is found by
    // lookup, not by a scan of every certificate planned before (quadratic in the users).
    let mut holders: BTreeMap<String, String> = entities
        .iter()
        .map(|e| (e.id.clone(), e.id.clone()))
        .collect();
    let default_issuer = match description.intermediates.len() {
        0 => Ok(ROOT_ID.to_owned()),
        1 => Ok(description
            .intermediates
            .keys()
            .next()
            .cloned()
            .unwrap_or_else(|| ROOT_ID.to_owned())),
        _ => Err(description
            .intermediates
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")),
    };

    let mut user_ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, spec) in &description.users {
        let at = located(spec);
        check_id("users", id, at)?;
        if ca_ids.contains(id) {
            return Err(invalid(
                format!("users.{id}"),
                at,
                format!("`{id}` is already an intermediate CA's id; ids must be unique"),
            ));
        }
        let planned = plan_user(id, spec, at, now, domain, &ca_ids, &default_issuer)?;
        let mut ids = Vec::new();
        for p in planned {
            if let Some(holder) = holders.get(&p.id) {
                return Err(invalid(
                    format!("users.{id}"),
                    at,
                    format!(
                        "certificate id `{}` is taken twice (by {holder} and by user {id}); rename one of them",
                        p.id,
                    ),
                ));
            }
            holders.insert(p.id.clone(), p.user.clone().unwrap_or_else(|| p.id.clone()));
            ids.push(p.id.clone());
            entities.push(p);
        }
        user_ids.insert(id.clone(), ids);
    }

    let mut revoked = BTreeSet::new();
    for (index, entry) in description.revoked.iter().enumerate() {
        let id = entry.value.as_str();
        let at = located(entry);
        let field = format!("revoked[{index}]");
        if id == ROOT_ID {
            return Err(invalid(
                field,
                at,
                "a root cannot be revoked by a CRL (it signs its own); remove it from the trust list instead",
            ));
        }
        if let Some(ids) = user_ids.get(id) {
            revoked.extend(ids.iter().cloned());
        } else if holders.contains_key(id) {
            revoked.insert(id.to_owned());
        } else {
            let known: Vec<&str> = entities
                .iter()
                .filter(|e| e.role != Role::Root)
                .map(|e| e.id.as_str())
                .chain(user_ids.keys().map(String::as_str))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            return Err(invalid(
                field,
                at,
                format!(
                    "`{id}` is not a user, certificate or intermediate id; known: {}",
                    known.join(", ")
                ),
            ));
        }
    }

    let base = |configured: &Option<super::description::BaseUrl>, path: &str| {
        configured
            .as_ref()
            .map(|u| u.as_str().to_owned())
            .unwrap_or_else(|| format!("http://pki.{domain}/{path}"))
    };
    Ok(Plan {
        seed: description.seed.as_str().to_owned(),
        now,
        crl_base_url: base(&description.crl_base_url, "crl"),
        aia_base_url: base(&description.aia_base_url, "aia"),
        entities,
        revoked,
    })
}

/// An intermediate in issue order: id, description, issuer id, pathLenConstraint.
type OrderedCa<'a> = (&'a String, &'a Spanned<CaSpec>, String, u8);

/// Orders intermediates so that each comes after its issuer, ties broken by id, and computes each
/// one's pathLenConstraint. Refuses unknown issuers and cycles.
fn order_intermediates(
    intermediates: &BTreeMap<String, Spanned<CaSpec>>,
) -> Result<Vec<OrderedCa<'_>>, PkiError> {
    let mut issuer_of: BTreeMap<&str, &str> = BTreeMap::new();
    for (id, spec) in intermediates {
        let at = located(spec);
        check_id("intermediates", id, at)?;
        let issuer = match &spec.value.issuer {
            None => ROOT_ID,
            Some(issuer) => {
                let name = issuer.value.as_str();
                if name != ROOT_ID && !intermediates.contains_key(name) {
                    let known: Vec<&str> = std::iter::once(ROOT_ID)
                        .chain(
                            intermediates
                                .keys()
                                .map(String::as_str)
                                .filter(|k| *k != id),
                        )
                        .collect();
                    return Err(invalid(
                        format!("intermediates.{id}.issuer"),
                        located(issuer).or(at),
                        format!("no CA has the id `{name}`; known CAs: {}", known.join(", ")),
                    ));
                }
                name
            }
        };
        issuer_of.insert(id.as_str(), issuer);
    }

    // Depth of each intermediate below the root (1 for one the root issued), following issuers.
    // Each depth is computed once: a walk stops at the root or at an intermediate whose depth is
    // known, so the whole is linear in the number of intermediates (a file may hold thousands of
    // them; a walk per intermediate was cubic). A walk that meets itself has gone round a cycle.
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, spec) in intermediates {
        if depth.contains_key(id.as_str()) {
            continue;
        }
        let mut walk = vec![id.as_str()];
        let mut on_walk = BTreeSet::from([id.as_str()]);
        let mut current = id.as_str();
        let above = loop {
            let Some(&next) = issuer_of.get(current) else {
                break 0;
            };
            if next == ROOT_ID {
                break 0;
            }
            if let Some(&known) = depth.get(next) {
                break known;
            }
            if !on_walk.insert(next) {
                walk.push(next);
                let at = spec
                    .value
                    .issuer
                    .as_ref()
                    .and_then(located)
                    .or(located(spec));
                return Err(invalid(
                    format!("intermediates.{id}.issuer"),
                    at,
                    format!(
                        "the issuers go round in a cycle ({}); one intermediate in it must be issued by `root`",
                        walk.join(" -> ")
                    ),
                ));
            }
            walk.push(next);
            current = next;
        };
        for (steps, ca) in walk.iter().rev().enumerate() {
            depth.insert(ca, above + steps + 1);
        }
    }

    // pathLenConstraint: how many intermediates may still follow, i.e. the longest chain of
    // intermediates below this one. Deepest first, so that each CA's own figure is final before
    // it is handed to its issuer.
    let mut deepest_first: Vec<(&str, usize)> = depth.iter().map(|(id, d)| (*id, *d)).collect();
    deepest_first.sort_by_key(|(_, depth)| std::cmp::Reverse(*depth));
    let mut below: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, _) in deepest_first {
        let Some(&issuer) = issuer_of.get(id) else {
            continue;
        };
        if issuer == ROOT_ID {
            continue;
        }
        let levels = below.get(id).copied().unwrap_or(0) + 1;
        let entry = below.entry(issuer).or_insert(0);
        *entry = (*entry).max(levels);
    }

    let mut ordered: Vec<OrderedCa<'_>> = intermediates
        .iter()
        .map(|(id, spec)| {
            let issuer = issuer_of.get(id.as_str()).copied().unwrap_or(ROOT_ID);
            let path_len = below.get(id.as_str()).copied().unwrap_or(0);
            (
                id,
                spec,
                issuer.to_owned(),
                u8::try_from(path_len).unwrap_or(u8::MAX),
            )
        })
        .collect();
    // Stable sort by depth keeps the id order among CAs at the same depth.
    ordered.sort_by_key(|(id, ..)| depth.get(id.as_str()).copied().unwrap_or(0));
    Ok(ordered)
}

fn plan_user(
    id: &str,
    spec: &Spanned<UserSpec>,
    at: Option<Location>,
    now: OffsetDateTime,
    domain: &str,
    ca_ids: &BTreeSet<String>,
    default_issuer: &Result<String, String>,
) -> Result<Vec<Planned>, PkiError> {
    let user = &spec.value;
    let field = format!("users.{id}");

    let mailbox = match &user.mailbox {
        Some(m) => m.as_str().to_owned(),
        None => {
            let mailbox = format!("{id}@{domain}");
            check_mailbox(&mailbox).map_err(|e| {
                invalid(
                    &field,
                    at,
                    format!("the user id does not make a mailbox ({e}); set `mailbox:`"),
                )
            })?;
            mailbox
        }
    };

    // ub-common-name (RFC 5280 appendix A): the mailbox is also the subject commonName.
    if mailbox.len() > 64 {
        return Err(invalid(
            format!("{field}.mailbox"),
            at,
            format!(
                "{mailbox:?} is longer than the 64 characters a certificate's commonName can hold; use a shorter address"
            ),
        ));
    }

    let from_root_flaw = user.flaws.contains(&Flaw::IssuedFromRoot)
        || [&user.sign, &user.encrypt]
            .into_iter()
            .flatten()
            .any(|c| c.flaws.contains(&Flaw::IssuedFromRoot));
    let issuer = match (&user.issuer, from_root_flaw) {
        (Some(issuer), true) if issuer.value != ROOT_ID => {
            return Err(invalid(
                format!("{field}.issuer"),
                located(issuer).or(at),
                format!(
                    "flaw `issued-from-root` contradicts `issuer: {}`; keep one",
                    issuer.value
                ),
            ));
        }
        (_, true) => ROOT_ID.to_owned(),
        (Some(issuer), false) => {
            if !ca_ids.contains(&issuer.value) {
                return Err(invalid(
                    format!("{field}.issuer"),
                    located(issuer).or(at),
                    format!(
                        "no CA has the id `{}`; known CAs: {}",
                        issuer.value,
                        ca_ids.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            issuer.value.clone()
        }
        (None, false) => default_issuer.clone().map_err(|list| {
            invalid(
                &field,
                at,
                format!("there are several intermediates ({list}); say which one issues this user with `issuer:`"),
            )
        })?,
    };

    // (id suffix, role, key, certificate-level spec)
    let certificates: Vec<(String, Role, KeySpec, Option<&CertSpec>)> = match (
        user.key,
        &user.sign,
        &user.encrypt,
    ) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(invalid(
                &field,
                at,
                "`key` (one dual-use certificate) and `sign`/`encrypt` (separate certificates) exclude each other; keep one form",
            ));
        }
        (None, None, None) => {
            return Err(invalid(
                &field,
                at,
                "the user has no certificate: give `key: rsa-2048` for one dual-use certificate, or `sign:`/`encrypt:` with a `key` each",
            ));
        }
        (Some(key), None, None) => vec![(
            user_certificate_id(id, Role::DualUse),
            Role::DualUse,
            key,
            None,
        )],
        (None, sign, encrypt) => sign
            .iter()
            .map(|c| {
                (
                    user_certificate_id(id, Role::Signing),
                    Role::Signing,
                    c.key,
                    Some(c),
                )
            })
            .chain(encrypt.iter().map(|c| {
                (
                    user_certificate_id(id, Role::Encryption),
                    Role::Encryption,
                    c.key,
                    Some(c),
                )
            }))
            .collect(),
    };

    let mut planned = Vec::new();
    for (entity_id, role, key, cert) in certificates {
        let cert_field = match role {
            Role::Signing => format!("{field}.sign"),
            Role::Encryption => format!("{field}.encrypt"),
            _ => field.clone(),
        };
        let flaws: BTreeSet<Flaw> = user
            .flaws
            .iter()
            .chain(cert.iter().flat_map(|c| c.flaws.iter()))
            .copied()
            .collect();
        let valid = cert
            .and_then(|c| c.valid)
            .or(user.valid)
            .unwrap_or(Lifetime::Years(1));
        let (not_before, not_after) = dates(&cert_field, at, now, valid, &flaws)?;
        let days = (not_after - not_before + time::Duration::SECOND).whole_seconds();
        if days > MAX_USER_VALIDITY_DAYS * 86_400 {
            return Err(invalid(
                format!("{cert_field}.valid"),
                at,
                format!(
                    "{valid} is longer than the {MAX_USER_VALIDITY_DAYS} days the S/MIME Baseline Requirements allow a user certificate; use e.g. 1y or 825d"
                ),
            ));
        }
        if user.non_repudiation && role == Role::Encryption && user.sign.is_none() {
            return Err(invalid(
                format!("{field}.non_repudiation"),
                at,
                "nonRepudiation is a signing usage, and this user has only an encryption certificate",
            ));
        }
        planned.push(Planned {
            id: entity_id,
            role,
            user: Some(id.to_owned()),
            mailbox: Some(mailbox.clone()),
            subject: None,
            key,
            issuer: issuer.clone(),
            not_before,
            not_after,
            flaws,
            path_len: None,
            non_repudiation: user.non_repudiation && role != Role::Encryption,
            crl_version: CrlVersion::default(),
        });
    }
    Ok(planned)
}
