//! Cross-field checks: how the parts of a scenario refer to each other. Every id a scenario uses
//! (users, CA and certificate ids, snapshot names, steps) is checked against what the scenario
//! defines, and settings that contradict each other (a refused message that is also delivered)
//! are caught before anything runs. All problems are collected, not just the first.
//!
//! Decided here and documented in the format: the organisation's `domain` defaults to the PKI's and
//! must equal it when given; a PKI user without a `mailbox` gets the organisation's address for it.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::{Location, Spanned};
use smime::pki::{PkiDescription, PkiError, ROOT_ID, UserSpec};

use super::load::{InvalidScenario, LoadedScenario, Problems, User};
use super::model::{
    CollectionEncoding, CollectionError, Id, Message, PkiSection, Scenario, ServiceFault, Stage,
    SyncCycle, SyncOutcome, Verdict,
};

/// Most extra certificates one user may get; enough for any value-count rule, small enough to
/// issue quickly.
pub const MAX_EXTRA_CERTIFICATES: u32 = 100;
/// Most filler CA certificates in a store: 1000 is far past the 70000-byte limit.
pub const MAX_FILLER: u32 = 1000;

/// The id the `n`-th (1-based) extra certificate of `user` gets in the PKI.
pub fn extra_certificate_id(user: &str, n: u32) -> String {
    format!("{user}.previous-{n:02}")
}

/// The certificate ids a PKI user gets: `<user>` for one dual-use certificate, `<user>-sign` and
/// `<user>-encrypt` for separate ones (the naming `smime::pki` uses).
pub fn certificate_ids(id: &str, spec: &UserSpec) -> Vec<String> {
    let mut ids = Vec::new();
    if spec.key.is_some() {
        ids.push(id.to_owned());
    }
    if spec.sign.is_some() {
        ids.push(format!("{id}-sign"));
    }
    if spec.encrypt.is_some() {
        ids.push(format!("{id}-encrypt"));
    }
    ids
}

pub(crate) fn validate(
    scenario: Scenario,
    text: &str,
    file: &str,
) -> Result<LoadedScenario, InvalidScenario> {
    let mut problems = Problems::new(text);
    let pki_at = scenario.pki.referenced;

    // The PKI in effect.
    let mut pki: PkiDescription = match &scenario.pki.value {
        PkiSection::Description(description) => (**description).clone(),
        PkiSection::Fixture(fixture) => {
            match smime::pki::parse_description(fixture.yaml(), fixture.path()) {
                Ok(description) => description,
                Err(e) => {
                    // Only a broken commit gets here; a test loads every fixture.
                    problems.at(
                        &pki_at,
                        None,
                        format!("the fixture `{}` does not parse: {e}", fixture.name()),
                        "this fixture",
                    );
                    return Err(InvalidScenario::problems(file, text, problems.list));
                }
            }
        }
    };
    let inline = matches!(scenario.pki.value, PkiSection::Description(_));

    // Domain: default from the PKI; when given, the same.
    let domain = pki.domain.as_str().to_owned();
    if let Some(given) = &scenario.organisation.domain
        && !given.value.as_str().eq_ignore_ascii_case(&domain)
    {
        problems
            .at(
                &given.referenced,
                None,
                format!(
                    "the organisation's domain `{}` is not the PKI's `{domain}`",
                    given.value.as_str()
                ),
                "differs from pki.domain",
            )
            .help(format!(
                "certificates are issued for <user>@{domain}: leave `domain` out to use the PKI's, or change the PKI's domain"
            ));
    }

    // Users: the organisation's, with the PKI's certificates under the same id.
    let mut users: Vec<User> = Vec::new();
    let mut seen_mailboxes: BTreeMap<String, Location> = BTreeMap::new();
    for spanned in &scenario.organisation.users {
        let user = &spanned.value;
        let id = user.id.as_str();
        if users.iter().any(|u| u.id == id) {
            problems.at(
                &spanned.referenced,
                None,
                format!("user `{id}` is listed twice"),
                "again here",
            );
            continue;
        }
        let pki_user = pki.users.get_mut(id);
        let mailbox = match (user.mailbox.as_ref(), pki_user) {
            (Some(given), Some(pki_user)) => match &pki_user.value.mailbox {
                Some(issued) if issued.as_str() != given.as_str() => {
                    problems
                        .at(
                            &spanned.referenced,
                            None,
                            format!(
                                "user `{id}` has mailbox {} here but {} in the PKI",
                                given.as_str(),
                                issued.as_str()
                            ),
                            "differs from the PKI's mailbox",
                        )
                        .note(text, &pki_user.referenced, "the PKI's user")
                        .help(
                            "give the address in one place; for a certificate that does not match its mailbox, use the PKI flaw `san-mismatch`",
                        );
                    given.as_str().to_owned()
                }
                Some(_) => given.as_str().to_owned(),
                None if inline => {
                    // Issue the user's certificates for the address the tenant knows.
                    pki_user.value.mailbox = Some(given.clone());
                    given.as_str().to_owned()
                }
                None => {
                    // A fixture is the committed files: its certificates cannot change address.
                    let issued = format!("{id}@{domain}");
                    if !issued.eq_ignore_ascii_case(given.as_str()) {
                        problems
                            .at(
                                &spanned.referenced,
                                None,
                                format!(
                                    "the fixture's certificates for `{id}` are issued for {issued}, not {}",
                                    given.as_str()
                                ),
                                "not the fixture's address",
                            )
                            .help(
                                "leave `mailbox` out, or copy the fixture's description into the scenario to issue certificates for another address",
                            );
                    }
                    given.as_str().to_owned()
                }
            },
            (Some(given), None) => given.as_str().to_owned(),
            (None, Some(pki_user)) => pki_user
                .value
                .mailbox
                .as_ref()
                .map_or_else(|| format!("{id}@{domain}"), |m| m.as_str().to_owned()),
            (None, None) => format!("{id}@{domain}"),
        };
        let key = mailbox.to_ascii_lowercase();
        if let Some(first) = seen_mailboxes.get(&key) {
            problems
                .at(
                    &spanned.referenced,
                    None,
                    format!("mailbox {mailbox} belongs to two users"),
                    "second user with this address",
                )
                .note(text, first, "first user");
        } else {
            seen_mailboxes.insert(key, spanned.referenced);
        }
        users.push(User {
            id: id.to_owned(),
            mailbox,
            certificates: Vec::new(),
        });
    }
    if users.is_empty() {
        problems.at(
            &pki_at,
            None,
            "the organisation has no users",
            "no mailboxes to configure",
        );
    }
    // Certificates go to the user with the PKI user's id, else to the user whose address the PKI
    // user's `mailbox` is (a second identity of the same person).
    for pass in [Owner::SameId, Owner::SameMailbox] {
        for (pki_id, spec) in &pki.users {
            let owner = match pass {
                Owner::SameId => users.iter_mut().find(|u| &u.id == pki_id),
                Owner::SameMailbox => {
                    if users.iter().any(|u| &u.id == pki_id) {
                        continue;
                    }
                    let Some(mailbox) = &spec.value.mailbox else {
                        continue;
                    };
                    users
                        .iter_mut()
                        .find(|u| u.mailbox.eq_ignore_ascii_case(mailbox.as_str()))
                }
            };
            if let Some(owner) = owner {
                owner
                    .certificates
                    .extend(certificate_ids(pki_id, &spec.value));
            }
        }
    }
    if inline {
        for (id, spec) in &pki.users {
            let owned = users.iter().any(|u| {
                &u.id == id
                    || spec
                        .value
                        .mailbox
                        .as_ref()
                        .is_some_and(|m| u.mailbox.eq_ignore_ascii_case(m.as_str()))
            });
            if !owned {
                problems
                    .at(
                        &spec.referenced,
                        Some(&pki_at),
                        format!(
                            "PKI user `{id}` is not in organisation.users and its mailbox is no user's, so no mailbox gets its certificates"
                        ),
                        "nobody's certificates",
                    )
                    .help(format!(
                        "add `{id}` to organisation.users, give it the `mailbox` of the user it belongs to, or remove it"
                    ));
            }
        }
    }

    // How the PKI's own parts fit together (issuers, revocations, flaws): the PKI's check.
    if let Err(e) = smime::pki::check(&pki) {
        match e {
            PkiError::Invalid {
                field,
                line: Some(line),
                column,
                message,
            } if inline => {
                problems.at_line_column(
                    line,
                    column.unwrap_or(1),
                    format!("pki: {field}: {message}"),
                    "rejected by the PKI's check",
                );
            }
            other => {
                problems.at(&pki_at, None, format!("pki: {other}"), "in this PKI");
            }
        }
    }

    let ids = Ids::new(&pki, &users);
    let mut checker = Checker {
        problems,
        ids: &ids,
    };
    checker.tags(&scenario);
    checker.steps(&scenario);
    checker.messages(&scenario);
    checker.services(&scenario);
    let problems = checker.problems;

    if problems.list.is_empty() {
        Ok(LoadedScenario {
            file: file.to_owned(),
            scenario,
            pki,
            domain,
            users,
        })
    } else {
        Err(InvalidScenario::problems(file, text, problems.list))
    }
}

#[derive(Clone, Copy)]
enum Owner {
    SameId,
    SameMailbox,
}

/// What a scenario can refer to.
struct Ids {
    /// `root` and the intermediates, root first.
    cas: Vec<String>,
    /// Every user certificate id, with its user.
    certificates: BTreeMap<String, String>,
    users: BTreeMap<String, Vec<String>>,
    /// PKI user ids, to keep extra certificates' ids clear of them.
    pki_users: BTreeSet<String>,
}

impl Ids {
    fn new(pki: &PkiDescription, users: &[User]) -> Self {
        let mut cas = vec![ROOT_ID.to_owned()];
        cas.extend(pki.intermediates.keys().cloned());
        // Each certificate with its owner: the organisation user, or for a fixture's user nobody
        // in this organisation uses, the PKI user.
        let mut certificates = BTreeMap::new();
        for (id, spec) in &pki.users {
            for certificate in certificate_ids(id, &spec.value) {
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

fn list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let items: Vec<&str> = items.map(String::as_str).collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

struct Checker<'a> {
    problems: Problems<'a>,
    ids: &'a Ids,
}

impl<'a> Checker<'a> {
    fn text(&self) -> &'a str {
        self.problems.text()
    }

    /// An organisation user; `role` says what the reference is for.
    fn user(&mut self, id: &Spanned<Id>, fallback: Option<&Location>, role: &str) -> bool {
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
    fn user_with_certificates(
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

    fn certificate(&mut self, id: &Spanned<Id>, fallback: Option<&Location>) -> Option<String> {
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

    fn ca(&mut self, id: &Spanned<Id>, fallback: Option<&Location>) -> bool {
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
    fn unique(&mut self, items: &[Spanned<Id>], what: &str, fallback: Option<&Location>) {
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

    fn tags(&mut self, scenario: &Scenario) {
        self.unique(&scenario.tags, "tag", None);
    }

    fn steps(&mut self, scenario: &Scenario) {
        let steps = &scenario.steps;
        if let Some(publish) = &steps.publish {
            let at = publish.referenced;
            let mut seen = Vec::new();
            for (user, settings) in publish.value.users.iter() {
                if seen.contains(&user.value) {
                    self.problems.at(
                        &user.referenced,
                        Some(&at),
                        format!("publish.users has `{}` twice", user.value),
                        "again here",
                    );
                }
                seen.push(user.value.clone());
                let ok = self.user_with_certificates(user, Some(&at), "publish.users entry");
                let explicit = [
                    (
                        "userSMIMECertificate",
                        settings.user_smime_certificate.as_ref(),
                    ),
                    ("userCertificate", settings.user_certificate.as_ref()),
                ];
                let lists = explicit
                    .iter()
                    .filter_map(|(_, l)| *l)
                    .chain(settings.certificates.as_ref());
                for certificates in lists {
                    self.unique(certificates, "certificate", Some(&at));
                    for certificate in certificates {
                        self.certificate(certificate, Some(&at));
                    }
                }
                if let Some((name, _)) = explicit.iter().find(|(_, l)| l.is_some()) {
                    let conflicting = [
                        (
                            "attribute",
                            settings.attribute.as_ref().map(|a| a.referenced),
                        ),
                        (
                            "certificates",
                            settings
                                .certificates
                                .as_ref()
                                .and_then(|c| c.first())
                                .map(|c| c.referenced),
                        ),
                    ];
                    for (other, place) in conflicting {
                        if let Some(place) = place {
                            self.problems
                                .at(
                                    &place,
                                    Some(&user.referenced),
                                    format!(
                                        "`{other}` and `{name}` both say what `{}` publishes",
                                        user.value
                                    ),
                                    "conflicts with the per-attribute list",
                                )
                                .help(
                                    "either list each attribute's certificates (`userSMIMECertificate`, `userCertificate`) or use `attribute` and `certificates`, not both"
                                );
                        }
                    }
                }
                let extra = &settings.extra_certificates;
                if extra.value > MAX_EXTRA_CERTIFICATES {
                    self.problems.at(
                        &extra.referenced,
                        Some(&user.referenced),
                        format!(
                            "{} extra certificates is more than the {MAX_EXTRA_CERTIFICATES} the lab issues",
                            extra.value
                        ),
                        "too many",
                    );
                } else if ok && extra.value > 0 {
                    // Extra certificates get ids beside the user's; they must not be anyone's.
                    for n in 1..=extra.value {
                        let id = extra_certificate_id(user.value.as_str(), n);
                        if self.ids.pki_users.contains(&id) {
                            self.problems.at(
                                &extra.referenced,
                                Some(&user.referenced),
                                format!(
                                    "the PKI already has a user `{id}`, the id the lab gives extra certificate {n} of `{}`",
                                    user.value
                                ),
                                "id taken",
                            );
                        }
                    }
                }
            }
        }

        if let Some(collection) = &steps.virtual_collection {
            let at = collection.referenced;
            let c = &collection.value;
            let sst: Vec<String> = match &c.sst {
                Some(list) => {
                    self.unique(list, "CA", Some(&at));
                    for id in list {
                        self.ca(id, Some(&at));
                    }
                    if list.is_empty() && c.filler.value == 0 {
                        self.problems
                            .at(&at, None, "the store would be empty", "no certificates")
                            .help("list the CAs in `sst`, e.g. `sst: [root, issuing]`");
                    }
                    list.iter().map(|s| s.value.as_str().to_owned()).collect()
                }
                None => self.ids.cas.clone(),
            };
            if c.filler.value > MAX_FILLER {
                self.problems.at(
                    &c.filler.referenced,
                    Some(&at),
                    format!(
                        "{} filler certificates is more than the {MAX_FILLER} the lab issues",
                        c.filler.value
                    ),
                    "too many",
                );
            }
            let expect = &c.expect;
            let error = expect.error.as_ref().map(|e| e.value);
            if let Some(thumbprints) = &expect.thumbprints {
                if error != Some(CollectionError::Expired) {
                    let first = thumbprints.first().map(|t| t.referenced);
                    self.problems
                        .at(
                            &first.unwrap_or(Location::UNKNOWN),
                            Some(&at),
                            "`thumbprints` belongs to `error: expired`",
                            "only listed by the expired-certificate error",
                        )
                        .help("add `error: expired`, or remove `thumbprints`");
                }
                self.unique(thumbprints, "CA", Some(&at));
                for id in thumbprints {
                    self.in_store(id, &sst, &at);
                }
            }
            if let Some(earliest) = &expect.earliest {
                if let Some(error) = &expect.error {
                    let text = self.text();
                    self.problems
                        .at(
                            &earliest.referenced,
                            Some(&at),
                            "`earliest` is reported only when the import succeeds",
                            "but an error is expected",
                        )
                        .note(text, &error.referenced, "the expected error");
                }
                self.in_store(earliest, &sst, &at);
            }
            match (c.encoding, error) {
                (CollectionEncoding::Truncated, None) => {
                    self.problems
                        .at(
                            &at,
                            None,
                            "a truncated store cannot import, but the import is expected to succeed",
                            "encoding: truncated",
                        )
                        .help("expect `error: wrong-format`");
                }
                (CollectionEncoding::Sst, Some(CollectionError::WrongFormat)) => {
                    let at_error = expect.error.as_ref().map(|e| e.referenced);
                    self.problems
                        .at(
                            &at_error.unwrap_or(Location::UNKNOWN),
                            Some(&at),
                            "the lab writes a well-formed store, which does not fail with wrong-format",
                            "never happens with encoding: sst",
                        )
                        .help("set `encoding: truncated` to send bytes that do not import");
                }
                _ => {}
            }
        }

        if let Some(sync) = &steps.sync {
            let at = sync.referenced;
            let s = &sync.value;
            match s.cycles.value.first() {
                None => {
                    self.problems
                        .at(&s.cycles.referenced, Some(&at), "no sync cycles", "empty")
                        .help("run at least `cycles: [initial]`");
                }
                Some(SyncCycle::Delta) => {
                    self.problems
                        .at(
                            &s.cycles.referenced,
                            Some(&at),
                            "the first sync cycle is a delta, but a delta cycle needs an initial one before it",
                            "starts with delta",
                        )
                        .help("start with `initial`: `cycles: [initial, delta]`");
                }
                Some(SyncCycle::Initial) => {}
            }
            let mut seen = Vec::new();
            for (user, outcome) in s.expect.iter() {
                if seen.contains(&user.value) {
                    self.problems.at(
                        &user.referenced,
                        Some(&at),
                        format!("sync.expect has `{}` twice", user.value),
                        "again here",
                    );
                }
                seen.push(user.value.clone());
                self.user(user, Some(&at), "sync.expect entry");
                let contradiction = match outcome {
                    SyncOutcome::LargeObject if !s.legacy_rules => Some((
                        "LargeObject comes only from the legacy rules (Entra Connect before 1.1.524.0); the default rules skip such users",
                        "set `legacy-rules: true`, or expect `skipped`",
                    )),
                    SyncOutcome::Skipped if s.legacy_rules => Some((
                        "the legacy rules (before 1.1.524.0) export every value and get LargeObject; only the default rules skip",
                        "expect `large-object`, or remove `legacy-rules: true`",
                    )),
                    _ => None,
                };
                if let Some((message, help)) = contradiction {
                    self.problems
                        .at(
                            &user.referenced,
                            Some(&at),
                            format!("`{}: {}`: {message}", user.value, outcome.name()),
                            "cannot happen with these rules",
                        )
                        .help(help);
                }
            }
        }

        if let Some(policy) = &steps.browser_policy {
            let at = policy.referenced;
            let p = &policy.value;
            if p.browsers.value.is_empty() {
                self.problems
                    .at(&p.browsers.referenced, Some(&at), "no browsers", "empty");
            }
            if has_duplicates(&p.browsers.value) {
                self.problems.at(
                    &p.browsers.referenced,
                    Some(&at),
                    "a browser is listed twice",
                    "duplicate",
                );
            }
            if p.formats.value.is_empty() {
                self.problems.at(
                    &p.formats.referenced,
                    Some(&at),
                    "no policy formats",
                    "empty",
                );
            }
            if has_duplicates(&p.formats.value) {
                self.problems.at(
                    &p.formats.referenced,
                    Some(&at),
                    "a policy format is listed twice",
                    "duplicate",
                );
            }
            if let Some(value) = &p.value
                && value.value.trim().is_empty()
            {
                self.problems.at(
                    &value.referenced,
                    Some(&at),
                    "the policy value is empty",
                    "empty",
                );
            }
        }

        if let Some(clients) = &steps.clients {
            let at = clients.referenced;
            if let Some(devices) = &clients.value.devices {
                let mut seen: BTreeMap<(String, &'static str), Location> = BTreeMap::new();
                for device in devices {
                    let d = &device.value;
                    if !self.user_with_certificates(
                        &d.user,
                        Some(&device.referenced),
                        "device user",
                    ) {
                        continue;
                    }
                    let key = (d.user.value.as_str().to_owned(), d.client.name());
                    if let Some(first) = seen.get(&key) {
                        let first = *first;
                        let text = self.text();
                        self.problems
                            .at(
                                &device.referenced,
                                Some(&at),
                                format!("`{}` has two {} devices", d.user.value, d.client.name()),
                                "second device",
                            )
                            .note(text, &first, "first device")
                            .help("list all certificates of one client in one entry");
                    } else {
                        seen.insert(key, device.referenced);
                    }
                    if let Some(certificates) = &d.certificates {
                        self.unique(certificates, "certificate", Some(&device.referenced));
                        for certificate in certificates {
                            if let Some(owner) =
                                self.certificate(certificate, Some(&device.referenced))
                                && owner != d.user.value.as_str()
                            {
                                self.problems
                                    .at(
                                        &certificate.referenced,
                                        Some(&device.referenced),
                                        format!(
                                            "`{certificate}` is {owner}'s certificate, not {}'s: a device holds its own user's keys",
                                            d.user.value,
                                            certificate = certificate.value
                                        ),
                                        "someone else's certificate",
                                    )
                                    .help(
                                        "to sign with another user's certificate, use the message option `signer`",
                                    );
                            }
                        }
                    }
                }
            }
        }
    }

    fn in_store(&mut self, id: &Spanned<Id>, sst: &[String], at: &Location) {
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

    fn messages(&mut self, scenario: &Scenario) {
        let mut snapshots: BTreeMap<String, Location> = BTreeMap::new();
        for (index, spanned) in scenario.messages.iter().enumerate() {
            let at = spanned.referenced;
            let m = &spanned.value;
            self.message(m, &at, index);
            if let Some(snapshot) = &m.snapshot {
                if let Some(first) = snapshots.get(snapshot.value.as_str()) {
                    let first = *first;
                    let text = self.text();
                    self.problems
                        .at(
                            &snapshot.referenced,
                            Some(&at),
                            format!("snapshot name `{}` is used twice", snapshot.value),
                            "second message with this snapshot",
                        )
                        .note(text, &first, "first here")
                        .help("snapshot names are file names: give each message its own");
                } else {
                    snapshots.insert(snapshot.value.as_str().to_owned(), snapshot.referenced);
                }
            }
        }
    }

    fn message(&mut self, m: &Message, at: &Location, index: usize) {
        let number = index.saturating_add(1);
        self.user(&m.from, Some(at), "sender");
        let recipients: Vec<Spanned<Id>> =
            m.to.iter().chain(&m.cc).chain(&m.bcc).cloned().collect();
        if recipients.is_empty() {
            self.problems
                .at(
                    at,
                    None,
                    format!("message {number} has no recipients"),
                    "no to, cc or bcc",
                )
                .help("add `to: [<user>]`");
        }
        self.unique(&recipients, "recipient", Some(at));
        for recipient in &recipients {
            self.user(recipient, Some(at), "recipient");
        }

        let sign = m.sign.value;
        let encrypt = m.encrypt.value;
        if let Some(triple) = &m.triple_wrap
            && triple.value
            && !(sign && encrypt)
        {
            self.problems
                .at(
                    &triple.referenced,
                    Some(at),
                    "triple wrapping needs a signed and encrypted message",
                    "triple-wrap without sign and encrypt",
                )
                .help("set `sign: true` and `encrypt: true`");
        }
        if let Some(opaque) = &m.opaque
            && !sign
        {
            self.problems
                .at(
                    &opaque.referenced,
                    Some(at),
                    "`opaque` chooses how a signature is carried, but the message is not signed",
                    "unsigned message",
                )
                .help("set `sign: true`, or remove `opaque`");
        }

        let options = &m.options.value;
        let options_at = m.options.referenced;
        for (name, set) in options.signing_choices() {
            if set && !sign {
                self.problems
                    .at(
                        &options_at,
                        Some(at),
                        format!(
                            "option `{name}` applies to signing, but the message is not signed"
                        ),
                        "unsigned message",
                    )
                    .help(format!("set `sign: true`, or remove `{name}`"));
            }
        }
        for (name, set) in options.encryption_choices() {
            if set && !encrypt {
                self.problems
                    .at(
                        &options_at,
                        Some(at),
                        format!(
                            "option `{name}` applies to encryption, but the message is not encrypted"
                        ),
                        "unencrypted message",
                    )
                    .help(format!("set `encrypt: true`, or remove `{name}`"));
            }
        }
        if let Some(signer) = &options.signer {
            self.certificate(signer, Some(&options_at));
        }

        let expect = &m.expect.value;
        let expect_at = m.expect.referenced;
        let refused = expect.refused.value;
        if let Some(reason) = &expect.reason
            && !refused
        {
            self.problems
                .at(
                    &reason.referenced,
                    Some(&expect_at),
                    "a refusal reason without `refused: true`",
                    "reason for a refusal",
                )
                .help("add `refused: true`, or remove `reason`");
        }
        if refused {
            let contradictions = [
                (
                    "delivered",
                    expect
                        .delivered
                        .as_ref()
                        .filter(|d| d.value)
                        .map(|d| d.referenced),
                ),
                ("verdict", expect.verdict.as_ref().map(|v| v.referenced)),
                ("decrypted", expect.decrypted.as_ref().map(|d| d.referenced)),
                ("snapshot", m.snapshot.as_ref().map(|s| s.referenced)),
            ];
            for (name, place) in contradictions {
                if let Some(place) = place {
                    let text = self.text();
                    self.problems
                        .at(
                            &place,
                            Some(&expect_at),
                            format!("a refused message is never sent, so it has no `{name}`"),
                            "expected of a refused message",
                        )
                        .note(text, &expect.refused.referenced, "refused here")
                        .help(format!("remove `{name}`, or `refused: true`"));
                }
            }
        }
        if let Some(verdict) = &expect.verdict {
            let envelope_verdict =
                matches!(verdict.value, Verdict::Encrypted | Verdict::CannotDecrypt);
            let contradiction = match (verdict.value, sign) {
                (Verdict::NotSigned, true) => Some((
                    "`not-signed` is expected of a message that is signed",
                    "set `sign: false`, or expect another verdict",
                )),
                _ if envelope_verdict && !encrypt => Some((
                    "an envelope verdict is expected of a message that is not encrypted",
                    "set `encrypt: true`, or expect another verdict",
                )),
                _ if envelope_verdict => None,
                (v, false) if v != Verdict::NotSigned => Some((
                    "a signature verdict is expected of a message that is not signed",
                    "set `sign: true`, or expect `not-signed`",
                )),
                _ => None,
            };
            if let Some((message, help)) = contradiction {
                self.problems
                    .at(
                        &verdict.referenced,
                        Some(&expect_at),
                        message,
                        "this verdict",
                    )
                    .help(help);
            }
        }
        if let Some(decrypted) = &expect.decrypted
            && !encrypt
        {
            self.problems
                .at(
                    &decrypted.referenced,
                    Some(&expect_at),
                    "`decrypted` is expected of a message that is not encrypted",
                    "unencrypted message",
                )
                .help("set `encrypt: true`, or remove `decrypted`");
        }
        for reason in &expect.reasons {
            let id = reason.value.as_str();
            if id.starts_with("PKI-") && smime::checks::catalogue::lookup(id).is_none() {
                self.problems
                    .at(
                        &reason.referenced,
                        Some(&expect_at),
                        format!("`{id}` is not a check in the catalogue"),
                        "unknown check",
                    )
                    .help("`smime-lab cert check` lists the catalogue's checks; see the PKI-* ids in smime::checks::catalogue");
            }
        }
    }

    fn services(&mut self, scenario: &Scenario) {
        let present = |stage: Stage| -> bool {
            let steps = &scenario.steps;
            match stage {
                Stage::Publish => steps.publish.is_some(),
                Stage::VirtualCollection => steps.virtual_collection.is_some(),
                Stage::Sync => steps.sync.is_some(),
                Stage::BrowserPolicy => steps.browser_policy.is_some(),
                Stage::Clients => steps.clients.is_some(),
                Stage::Messages => !scenario.messages.is_empty(),
            }
        };
        let mut spans: Vec<(&Spanned<ServiceFault>, Stage, Option<Stage>)> = Vec::new();
        for fault in &scenario.services {
            let f = &fault.value;
            let mut stages = vec![&f.at];
            stages.extend(f.until.as_ref());
            for stage in stages {
                if !present(stage.value) {
                    self.problems
                        .at(
                            &stage.referenced,
                            Some(&fault.referenced),
                            format!("`{}` does not happen in this scenario", stage.value.name()),
                            "no such stage here",
                        )
                        .help("name a step the scenario has, or `messages`");
                }
            }
            if let Some(until) = &f.until
                && until.value <= f.at.value
            {
                self.problems
                    .at(
                        &until.referenced,
                        Some(&fault.referenced),
                        format!(
                            "the fault ends before `{}` but starts only before `{}`",
                            until.value.name(),
                            f.at.value.name()
                        ),
                        "not after `at`",
                    )
                    .help("`until` names a later stage than `at`");
            }
            for (other, at, until) in &spans {
                let overlap = other.value.service == f.service
                    && until.is_none_or(|u| f.at.value < u)
                    && f.until.as_ref().is_none_or(|u| *at < u.value);
                if overlap {
                    let text = self.text();
                    self.problems
                        .at(
                            &fault.referenced,
                            None,
                            format!("two faults of `{}` overlap", f.service.name()),
                            "second fault",
                        )
                        .note(text, &other.referenced, "first fault")
                        .help("give the first one an `until` before the second's `at`");
                }
            }
            spans.push((fault, f.at.value, f.until.as_ref().map(|u| u.value)));
        }
    }
}

fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, a)| items.iter().skip(i.saturating_add(1)).any(|b| a == b))
}

#[cfg(test)]
mod tests {
    use crate::load::{LoadedScenario, parse};

    const HEAD: &str = "name: t\nsummary: s\nsource: a test of validation\n";

    fn load(body: &str) -> Result<LoadedScenario, Vec<String>> {
        let text = format!("{HEAD}{body}");
        parse(&text, "t.yaml").map_err(|e| {
            e.locations()
                .into_iter()
                .map(|(line, column, message)| format!("{line}:{column}: {message}"))
                .collect()
        })
    }

    /// The problems of a scenario that must not validate.
    fn problems(body: &str) -> Vec<String> {
        match load(body) {
            Ok(_) => panic!("validated, but should not:\n{body}"),
            Err(problems) => problems,
        }
    }

    fn assert_problem(problems: &[String], fragment: &str) {
        assert!(
            problems.iter().any(|p| p.contains(fragment)),
            "no problem says {fragment:?}: {problems:#?}"
        );
    }

    const FIXTURE: &str = "organisation: { tenant: contoso.onmicrosoft.com, users: [alice, bob, carol] }\npki: { fixture: default }\n";

    const INLINE_PKI: &str = "pki:
  seed: t
  now: 2026-01-01T00:00:00Z
  domain: contoso.com
  root: { subject: \"CN=R\", key: ecdsa-p256 }
  users:
    alice: { key: ecdsa-p256 }
    alice-laptop: { key: ecdsa-p256, mailbox: alice@contoso.com }
    carol: { key: ecdsa-p256 }
";

    #[test]
    fn organisation_addresses_reach_the_pki() {
        let loaded = load(&format!(
            "organisation:\n  tenant: contoso.onmicrosoft.com\n  users: [alice, {{ id: carol, mailbox: carol.smith@contoso.com }}]\n{INLINE_PKI}"
        ))
        .unwrap_or_else(|p| panic!("{p:#?}"));
        let carol = loaded.user("carol").expect("carol");
        assert_eq!(carol.mailbox, "carol.smith@contoso.com");
        assert_eq!(
            loaded.pki.users["carol"]
                .value
                .mailbox
                .as_ref()
                .map(|m| m.as_str()),
            Some("carol.smith@contoso.com"),
            "the certificate must be issued for the address the tenant knows"
        );
        // A PKI user with alice's address is a second identity of alice.
        let alice = loaded.user("alice").expect("alice");
        assert_eq!(alice.certificates, vec!["alice", "alice-laptop"]);
        assert_eq!(loaded.domain, "contoso.com");
    }

    #[test]
    fn users_and_mailboxes() {
        let p = problems(&format!(
            "organisation:\n  tenant: contoso.onmicrosoft.com\n  users: [alice, alice, {{ id: dave, mailbox: alice@contoso.com }}]\n{INLINE_PKI}"
        ));
        assert_problem(&p, "user `alice` is listed twice");
        assert_problem(&p, "mailbox alice@contoso.com belongs to two users");
        // carol has certificates but no mailbox in this organisation.
        assert_problem(&p, "PKI user `carol` is not in organisation.users");

        let p = problems(&format!(
            "organisation:\n  tenant: contoso.onmicrosoft.com\n  users: [{{ id: alice-laptop, mailbox: laptop@contoso.com }}, alice, carol]\n{INLINE_PKI}"
        ));
        assert_problem(
            &p,
            "user `alice-laptop` has mailbox laptop@contoso.com here but alice@contoso.com in the PKI",
        );

        // A fixture's certificates are the committed files: their addresses are fixed.
        let p = problems(
            "organisation: { tenant: contoso.onmicrosoft.com, users: [{ id: alice, mailbox: a.smith@contoso.com }] }\npki: { fixture: default }\n",
        );
        assert_problem(
            &p,
            "the fixture's certificates for `alice` are issued for alice@contoso.com, not a.smith@contoso.com",
        );
        load("organisation: { tenant: contoso.onmicrosoft.com, users: [{ id: alice, mailbox: alice@contoso.com }] }\npki: { fixture: default }\n")
            .unwrap_or_else(|p| panic!("{p:#?}"));

        let p = problems(
            "organisation: { tenant: contoso.onmicrosoft.com, users: [] }\npki: { fixture: default }\n",
        );
        assert_problem(&p, "the organisation has no users");
    }

    #[test]
    fn publish_references() {
        let p = problems(&format!(
            "{FIXTURE}steps:\n  publish:\n    users:\n      alice: {{ certificates: [alice, issuing, nobody], extra-certificates: 101 }}\n      mallory: {{}}\n"
        ));
        assert_problem(&p, "`issuing` is not a user certificate of the PKI");
        assert_problem(&p, "`nobody` is not a user certificate of the PKI");
        assert_problem(&p, "101 extra certificates is more than the 100");
        assert_problem(&p, "publish.users entry `mallory` is not a user");

        // An extra certificate's id must not be a PKI user's.
        let body = "organisation: { tenant: contoso.onmicrosoft.com, users: [alice] }\npki:\n  seed: t\n  now: 2026-01-01T00:00:00Z\n  domain: contoso.com\n  root: { subject: \"CN=R\", key: ecdsa-p256 }\n  users:\n    alice: { key: ecdsa-p256 }\n    alice.previous-02: { key: ecdsa-p256, mailbox: alice@contoso.com }\nsteps:\n  publish: { users: { alice: { extra-certificates: 3 } } }\n";
        assert_problem(
            &problems(body),
            "the PKI already has a user `alice.previous-02`",
        );
    }

    #[test]
    fn collection_expectations() {
        let p = problems(&format!(
            "{FIXTURE}steps:\n  virtual-collection: {{ sst: [root], encoding: truncated, expect: {{ earliest: issuing }} }}\n"
        ));
        assert_problem(&p, "`issuing` is not in the store");
        assert_problem(&p, "a truncated store cannot import");

        let p = problems(&format!(
            "{FIXTURE}steps:\n  virtual-collection: {{ expect: {{ error: wrong-format, earliest: root }} }}\n"
        ));
        assert_problem(&p, "`earliest` is reported only when the import succeeds");
        assert_problem(&p, "does not fail with wrong-format");

        let p = problems(&format!(
            "{FIXTURE}steps:\n  virtual-collection: {{ sst: [], filler: 1001 }}\n"
        ));
        assert_problem(&p, "1001 filler certificates");

        let p = problems(&format!(
            "{FIXTURE}steps:\n  virtual-collection: {{ sst: [] }}\n"
        ));
        assert_problem(&p, "the store would be empty");
    }

    #[test]
    fn sync_and_browser_policy() {
        let p = problems(&format!(
            "{FIXTURE}steps:\n  sync: {{ legacy-rules: true, cycles: [], expect: {{ alice: skipped, zoe: exported }} }}\n  browser-policy: {{ browsers: [edge, edge], formats: [], value: ' ' }}\n"
        ));
        assert_problem(&p, "no sync cycles");
        assert_problem(&p, "only the default rules skip");
        assert_problem(&p, "sync.expect entry `zoe` is not a user");
        assert_problem(&p, "a browser is listed twice");
        assert_problem(&p, "no policy formats");
        assert_problem(&p, "the policy value is empty");
    }

    #[test]
    fn devices() {
        let p = problems(
            "organisation: { tenant: contoso.onmicrosoft.com, users: [alice, frank] }\npki: { fixture: default }\nsteps:\n  clients:\n    devices:\n      - { user: frank, client: mobile }\n      - { user: alice, client: owa }\n      - { user: alice, client: owa, certificates: [alice, alice] }\n",
        );
        assert_problem(&p, "user `frank` has no certificates in the PKI");
        assert_problem(&p, "`alice` has two owa devices");
        assert_problem(&p, "certificate `alice` is listed twice");
    }

    #[test]
    fn messages_that_contradict_themselves() {
        let p = problems(&format!(
            "{FIXTURE}messages:\n  - {{ from: alice, client: owa, triple-wrap: true, opaque: true, options: {{ digest: sha256, cipher: 3des, signer: carol }}, expect: {{ decrypted: true, verdict: valid, reason: RequireSignedSMIMEMessages }} }}\n  - {{ from: alice, to: [bob], client: owa, sign: true, expect: {{ verdict: not-signed }} }}\n  - {{ from: alice, to: [bob], client: owa, sign: true, options: {{ signer: root }} }}\n"
        ));
        assert_problem(&p, "message 1 has no recipients");
        assert_problem(&p, "triple wrapping needs a signed and encrypted message");
        assert_problem(&p, "`opaque` chooses how a signature is carried");
        assert_problem(&p, "option `digest` applies to signing");
        assert_problem(&p, "option `signer` applies to signing");
        assert_problem(&p, "option `cipher` applies to encryption");
        assert_problem(
            &p,
            "`decrypted` is expected of a message that is not encrypted",
        );
        assert_problem(
            &p,
            "a signature verdict is expected of a message that is not signed",
        );
        assert_problem(&p, "a refusal reason without `refused: true`");
        assert_problem(&p, "`not-signed` is expected of a message that is signed");
        assert_problem(&p, "`root` is not a user certificate of the PKI");
    }

    #[test]
    fn envelope_verdicts_need_an_envelope() {
        let p = problems(&format!(
            "{FIXTURE}messages:\n  - {{ from: alice, to: [bob], client: owa, sign: true, expect: {{ verdict: encrypted }} }}\n  - {{ from: alice, to: [bob], client: owa, expect: {{ verdict: cannot-decrypt }} }}\n"
        ));
        assert_problem(
            &p,
            "an envelope verdict is expected of a message that is not encrypted",
        );
        assert_eq!(
            p.iter()
                .filter(|problem| problem.contains("envelope verdict"))
                .count(),
            2,
            "{p:#?}"
        );
        // Encrypted, signed or not, an envelope verdict is what a reader without a key sees.
        load(&format!(
            "{FIXTURE}messages:\n  - {{ from: alice, to: [bob], client: owa, encrypt: true, expect: {{ verdict: encrypted }} }}\n  - {{ from: alice, to: [bob], client: owa, sign: true, encrypt: true, expect: {{ verdict: cannot-decrypt }} }}\n"
        ))
        .unwrap_or_else(|p| panic!("{p:#?}"));
    }

    #[test]
    fn faults() {
        let p = problems(&format!(
            "{FIXTURE}steps:\n  publish: {{}}\n  sync: {{}}\nmessages:\n  - {{ from: alice, to: [bob], client: owa }}\nservices:\n  - {{ service: tenant, fault: down, at: sync, until: publish }}\n  - {{ service: smtp, fault: down, at: publish }}\n  - {{ service: smtp, fault: down, at: messages }}\n  - {{ service: directory, fault: down, at: clients }}\n"
        ));
        assert_problem(
            &p,
            "the fault ends before `publish` but starts only before `sync`",
        );
        assert_problem(&p, "two faults of `smtp` overlap");
        assert_problem(&p, "`clients` does not happen in this scenario");

        // Back to back is not an overlap.
        load(&format!(
            "{FIXTURE}steps:\n  publish: {{}}\n  sync: {{}}\nservices:\n  - {{ service: smtp, fault: down, at: publish, until: sync }}\n  - {{ service: smtp, fault: down, at: sync }}\n"
        ))
        .unwrap_or_else(|p| panic!("{p:#?}"));
    }

    #[test]
    fn duplicate_tags() {
        let p = problems(&format!("tags: [a, b, a]\n{FIXTURE}"));
        assert_problem(&p, "tag `a` is listed twice");
    }
}
