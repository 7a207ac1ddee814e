//! What a scenario can refer to ([`Ids`]) and the [`Checker`] every step's checks share: each
//! reference to a user, certificate or CA checked against the PKI and organisation, each problem
//! recorded with its place.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::{Location, Spanned};
use smime::pki::{PkiDescription, ROOT_ID};

use crate::load::{Problems, User};
use crate::model::{Id, Scenario};

/// What a scenario can refer to.
pub(super) struct Ids {
    /// `root` and the intermediates, root first.
    pub(super) cas: Vec<String>,
    /// Every user certificate id, with its user.
    pub(super) certificates: BTreeMap<String, String>,
    pub(super) users: BTreeMap<String, Vec<String>>,
    /// PKI user ids, to keep extra certificates' ids clear of them.
    pub(super) pki_users: BTreeSet<String>,
}

impl Ids {
    pub(super) fn new(pki: &PkiDescription, users: &[User]) -> Self {
        let mut cas = vec![ROOT_ID.to_owned()];
        cas.extend(pki.intermediates.keys().cloned());
        // Each certificate with its owner: the organisation user, or for a fixture's user nobody
        // in this organisation uses, the PKI user.
        let mut certificates = BTreeMap::new();
        for (id, spec) in &pki.users {
            for certificate in smime::pki::user_certificate_ids(id, &spec.value) {
                certificates.insert(certificate, id.clone());
            }
        }
        for user in users {
            for certificate in &user.certificates {
                certificates.insert(certificate.clone(), user.id.clone());
            }
        }
        Ids {
            cas,
            certificates,
            users: users
                .iter()
                .map(|u| (u.id.clone(), u.certificates.clone()))
                .collect(),
            pki_users: pki.users.keys().cloned().collect(),
        }
    }

    fn user_list(&self) -> String {
        list(self.users.keys())
    }

    fn ca_list(&self) -> String {
        list(self.cas.iter())
    }

    fn certificate_list(&self) -> String {
        list(self.certificates.keys())
    }
}

/// At most this many ids are named in a help: an organisation of 100,000 generated users would
/// otherwise make the help of one unknown reference a megabyte long.
const LISTED: usize = 20;

pub(super) fn list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let items: Vec<&str> = items.map(String::as_str).collect();
    match items.len() {
        0 => "none".to_owned(),
        n if n <= LISTED => items.join(", "),
        n => {
            let named: Vec<&str> = items.into_iter().take(LISTED).collect();
            format!("{} and {} more", named.join(", "), n - LISTED)
        }
    }
}

pub(super) struct Checker<'a> {
    pub(super) problems: Problems<'a>,
    pub(super) ids: &'a Ids,
}

impl<'a> Checker<'a> {
    pub(super) fn text(&self) -> &'a str {
        self.problems.text()
    }

    /// An organisation user; `role` says what the reference is for.
    pub(super) fn user(
        &mut self,
        id: &Spanned<Id>,
        fallback: Option<&Location>,
        role: &str,
    ) -> bool {
        if self.ids.users.contains_key(id.value.as_str()) {
            return true;
        }
        let users = self.ids.user_list();
        self.problems
            .at(
                &id.referenced,
                fallback,
                format!("{role} `{}` is not a user of the organisation", id.value),
                "unknown user",
            )
            .help(format!(
                "organisation.users has: {users}; add the user there or fix the spelling"
            ));
        false
    }

    /// A user who has certificates in the PKI.
    pub(super) fn user_with_certificates(
        &mut self,
        id: &Spanned<Id>,
        fallback: Option<&Location>,
        role: &str,
    ) -> bool {
        if !self.user(id, fallback, role) {
            return false;
        }
        let has = self
            .ids
            .users
            .get(id.value.as_str())
            .is_some_and(|c| !c.is_empty());
        if !has {
            self.problems
                .at(
                    &id.referenced,
                    fallback,
                    format!("user `{}` has no certificates in the PKI", id.value),
                    "no certificates",
                )
                .help(format!(
                    "give `{}` a `key` (or `sign`/`encrypt`) under pki.users",
                    id.value
                ));
            return false;
        }
        true
    }

    pub(super) fn certificate(
        &mut self,
        id: &Spanned<Id>,
        fallback: Option<&Location>,
    ) -> Option<String> {
        match self.ids.certificates.get(id.value.as_str()) {
            Some(user) => Some(user.clone()),
            None => {
                let known = self.ids.certificate_list();
                let hint = if self.ids.cas.iter().any(|c| c == id.value.as_str()) {
                    format!("`{}` is a CA; user certificates are: {known}", id.value)
                } else {
                    format!("the PKI's user certificates are: {known}")
                };
                self.problems
                    .at(
                        &id.referenced,
                        fallback,
                        format!("`{}` is not a user certificate of the PKI", id.value),
                        "unknown certificate",
                    )
                    .help(hint);
                None
            }
        }
    }

    pub(super) fn ca(&mut self, id: &Spanned<Id>, fallback: Option<&Location>) -> bool {
        if self.ids.cas.iter().any(|c| c == id.value.as_str()) {
            return true;
        }
        let cas = self.ids.ca_list();
        self.problems
            .at(
                &id.referenced,
                fallback,
                format!("`{}` is not a CA of the PKI", id.value),
                "unknown CA",
            )
            .help(format!("the PKI's CAs are: {cas}"));
        false
    }

    /// Reports the second and later occurrences of an id in a list.
    pub(super) fn unique(
        &mut self,
        items: &[Spanned<Id>],
        what: &str,
        fallback: Option<&Location>,
    ) {
        let mut seen: BTreeMap<&str, Location> = BTreeMap::new();
        for item in items {
            if let Some(first) = seen.get(item.value.as_str()) {
                let first = *first;
                let text = self.text();
                self.problems
                    .at(
                        &item.referenced,
                        fallback,
                        format!("{what} `{}` is listed twice", item.value),
                        "again here",
                    )
                    .note(text, &first, "first here");
            } else {
                seen.insert(item.value.as_str(), item.referenced);
            }
        }
    }

    pub(super) fn tags(&mut self, scenario: &Scenario) {
        self.unique(&scenario.tags, "tag", None);
    }

    pub(super) fn in_store(&mut self, id: &Spanned<Id>, sst: &[String], at: &Location) {
        if !self.ca(id, Some(at)) {
            return;
        }
        if !sst.iter().any(|s| s == id.value.as_str()) {
            let listed = list(sst.iter());
            self.problems
                .at(
                    &id.referenced,
                    Some(at),
                    format!("`{}` is not in the store", id.value),
                    "not exported to the SST",
                )
                .help(format!("the store holds: {listed}"));
        }
    }
}

pub(super) fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, a)| items.iter().skip(i.saturating_add(1)).any(|b| a == b))
}
