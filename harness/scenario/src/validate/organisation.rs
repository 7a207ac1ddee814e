//! `organisation`: each user once, with a mailbox address that agrees with the PKI, and the PKI's
//! certificates handed to their owners. Users are indexed by id and by address, so a scenario with
//! many users validates in time proportional to their number.

use std::collections::{BTreeMap, HashMap};

use rand_core::Rng as _;
use serde_saphyr::{Location, Spanned};
use smime::pki::{Flaw, PkiDescription, UserSpec};

use crate::load::{GeneratedPopulation, Problems, User};
use crate::model::{OrgUser, Population, Scenario};

/// The organisation's users in file order, indexed by id and by lower-case address.
pub(super) struct Organisation {
    pub(super) users: Vec<User>,
    /// The generated populations, in file order.
    pub(super) populations: Vec<GeneratedPopulation>,
    by_id: HashMap<String, usize>,
    /// The first user with each address, and where it was written.
    by_mailbox: HashMap<String, (Location, usize)>,
}

impl Organisation {
    fn with_mailbox(&self, mailbox: &str) -> Option<usize> {
        self.by_mailbox
            .get(&mailbox.to_ascii_lowercase())
            .map(|(_, i)| *i)
    }
}

/// Resolves each user's address (given, the PKI's, or `<id>@<domain>`); a user of an inline PKI
/// without a `mailbox` gets the organisation's address written into `pki`.
pub(super) fn resolve_users(
    scenario: &Scenario,
    pki: &mut PkiDescription,
    inline: bool,
    domain: &str,
    text: &str,
    problems: &mut Problems<'_>,
) -> Organisation {
    let mut users: Vec<User> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut by_mailbox: HashMap<String, (Location, usize)> = HashMap::new();
    let mut populations = Vec::new();
    for spanned in &scenario.organisation.users {
        let user = &spanned.value;
        if let Some(population) = &user.population {
            let mut made = Made {
                users: &mut users,
                by_id: &mut by_id,
                by_mailbox: &mut by_mailbox,
                populations: &mut populations,
            };
            generate(population, spanned, pki, domain, &mut made, problems);
            continue;
        }
        let id = user.id.as_str();
        if by_id.contains_key(id) {
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
        if let Some((first, _)) = by_mailbox.get(&key) {
            problems
                .at(
                    &spanned.referenced,
                    None,
                    format!("mailbox {mailbox} belongs to two users"),
                    "second user with this address",
                )
                .note(text, first, "first user");
        } else {
            by_mailbox.insert(key, (spanned.referenced, users.len()));
        }
        by_id.insert(id.to_owned(), users.len());
        users.push(User {
            id: id.to_owned(),
            mailbox,
            proxy_addresses: user
                .proxy_addresses
                .iter()
                .map(|p| p.value.clone())
                .collect(),
            certificates: Vec::new(),
        });
    }
    let organisation = Organisation {
        users,
        populations,
        by_id,
        by_mailbox,
    };
    check_proxy_addresses(scenario, &organisation, problems);
    organisation
}

/// Each `proxy-addresses` value is `type:address`; a secondary `smtp:` address is a mail
/// address that is no user's mailbox and no other proxy's (Exchange keeps an address on one
/// recipient); the primary `SMTP:` is the lab's to write.
fn check_proxy_addresses(
    scenario: &Scenario,
    organisation: &Organisation,
    problems: &mut Problems<'_>,
) {
    let mut seen: HashMap<String, Location> = HashMap::new();
    for spanned in &scenario.organisation.users {
        for proxy in &spanned.value.proxy_addresses {
            let value = proxy.value.trim();
            let mut problem = |message: String, label: &str, help: &str| {
                problems
                    .at(&proxy.referenced, None, message, label)
                    .help(help.to_owned());
            };
            let Some((kind, address)) = value
                .split_once(':')
                .filter(|(k, a)| !k.is_empty() && !a.trim().is_empty())
            else {
                problem(
                    format!("proxy address {value:?} has no type"),
                    "not type:address",
                    "write it as Active Directory does: smtp:bob.old@contoso.com, x500:/o=..., sip:bob@contoso.com",
                );
                continue;
            };
            if kind == "SMTP" {
                problem(
                    format!("{value} is a primary SMTP address (upper-case SMTP:)"),
                    "a second primary",
                    "the primary is the user's mailbox, and the lab writes SMTP:<mailbox> itself; give secondary addresses as smtp:",
                );
                continue;
            }
            if !kind.eq_ignore_ascii_case("smtp") {
                continue;
            }
            let address = address.trim().to_ascii_lowercase();
            let as_mailbox =
                serde::de::value::StrDeserializer::<serde::de::value::Error>::new(address.as_str());
            if <smime::pki::Mailbox as serde::Deserialize>::deserialize(as_mailbox).is_err() {
                problem(
                    format!("{value} is not a mail address"),
                    "not a mail address",
                    "an smtp: proxy address is local@domain",
                );
            } else if organisation.with_mailbox(&address).is_some() {
                problem(
                    format!("{address} is a user's mailbox"),
                    "taken",
                    "an address belongs to one recipient: give another",
                );
            } else if seen.insert(address.clone(), proxy.referenced).is_some() {
                problem(
                    format!("{address} is given twice"),
                    "again here",
                    "an address belongs to one recipient: give it once",
                );
            }
        }
    }
}

/// What [`resolve_users`] has made so far, for [`generate`] to add to.
struct Made<'a> {
    users: &'a mut Vec<User>,
    by_id: &'a mut HashMap<String, usize>,
    by_mailbox: &'a mut HashMap<String, (Location, usize)>,
    populations: &'a mut Vec<GeneratedPopulation>,
}

/// A population's users: each id from the template, a mailbox `<id>@<domain>`, a PKI user with
/// one dual-use certificate of the population's key, and the flaws given to the share of them
/// the scenario asks for, chosen with `smime::rng::seeded` from the PKI's seed (the same users on
/// every run).
fn generate(
    population: &Population,
    spanned: &Spanned<OrgUser>,
    pki: &mut PkiDescription,
    domain: &str,
    organisation: &mut Made<'_>,
    problems: &mut Problems<'_>,
) {
    let ids: Vec<String> = (1..=population.count)
        .map(|n| population.name.id(n))
        .collect();
    let mailboxes: Vec<String> = ids.iter().map(|id| format!("{id}@{domain}")).collect();
    let taken = ids.iter().zip(&mailboxes).find(|(id, mailbox)| {
        organisation.by_id.contains_key(id.as_str())
            || pki.users.contains_key(id.as_str())
            || organisation
                .by_mailbox
                .contains_key(&mailbox.to_ascii_lowercase())
    });
    if let Some((id, _)) = taken {
        problems
            .at(
                &spanned.referenced,
                None,
                format!(
                    "the population `{}` makes the user `{id}`, who is already a user or a PKI user",
                    population.name
                ),
                "generates an id in use",
            )
            .help("give the population a name template no other user's id matches");
        return;
    }
    let flawed = choose_flawed(population, pki.seed.as_str());
    for (id, mailbox) in ids.iter().zip(mailboxes) {
        let spec = UserSpec {
            key: Some(population.key),
            sign: None,
            encrypt: None,
            mailbox: None,
            issuer: None,
            valid: None,
            flaws: flawed.get(id).cloned().unwrap_or_default(),
            non_repudiation: false,
        };
        pki.users.insert(
            id.clone(),
            Spanned::new(spec, spanned.referenced, spanned.defined),
        );
        let index = organisation.users.len();
        organisation
            .by_mailbox
            .insert(mailbox.to_ascii_lowercase(), (spanned.referenced, index));
        organisation.by_id.insert(id.clone(), index);
        organisation.users.push(User {
            id: id.clone(),
            mailbox,
            proxy_addresses: Vec::new(),
            certificates: Vec::new(),
        });
    }
    organisation.populations.push(GeneratedPopulation {
        name: population.name.to_string(),
        key: population.key,
        ids,
        flawed,
    });
}

/// Which users get which flaws: for each flaw, its share of the population (rounded, at least
/// one), drawn without replacement from a stream seeded by the PKI's seed, the template and the
/// flaw; a user may get several flaws.
fn choose_flawed(population: &Population, seed: &str) -> BTreeMap<String, Vec<Flaw>> {
    let mut flawed: BTreeMap<String, Vec<Flaw>> = BTreeMap::new();
    for (flaw, share) in &population.flaws {
        let mut rng = smime::rng::seeded(&format!(
            "{seed}/population/{}/{}",
            population.name,
            flaw.name()
        ));
        let wanted = share.of(population.count);
        // A partial Fisher-Yates shuffle of the numbers 1..=count: the first `wanted` drawn.
        let mut numbers: Vec<u32> = (1..=population.count).collect();
        for i in 0..usize::try_from(wanted).unwrap_or(0).min(numbers.len()) {
            let left = (numbers.len() - i) as u64;
            let j = i + usize::try_from(rng.next_u64() % left).unwrap_or(0);
            numbers.swap(i, j);
            if let Some(n) = numbers.get(i) {
                flawed
                    .entry(population.name.id(*n))
                    .or_default()
                    .push(*flaw);
            }
        }
    }
    flawed
}

/// Certificates go to the user with the PKI user's id, else to the user whose address the PKI
/// user's `mailbox` is (a second identity of the same person).
pub(super) fn assign_certificates(organisation: &mut Organisation, pki: &PkiDescription) {
    for pass in [Owner::SameId, Owner::SameMailbox] {
        for (pki_id, spec) in &pki.users {
            let owner = match pass {
                Owner::SameId => organisation.by_id.get(pki_id).copied(),
                Owner::SameMailbox => {
                    if organisation.by_id.contains_key(pki_id) {
                        continue;
                    }
                    let Some(mailbox) = &spec.value.mailbox else {
                        continue;
                    };
                    organisation.with_mailbox(mailbox.as_str())
                }
            };
            if let Some(owner) = owner.and_then(|i| organisation.users.get_mut(i)) {
                owner
                    .certificates
                    .extend(smime::pki::user_certificate_ids(pki_id, &spec.value));
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Owner {
    SameId,
    SameMailbox,
}

/// In a scenario's own PKI, every PKI user's certificates belong to someone.
pub(super) fn check_every_pki_user_owned(
    organisation: &Organisation,
    pki: &PkiDescription,
    pki_at: &Location,
    problems: &mut Problems<'_>,
) {
    for (id, spec) in &pki.users {
        let owned = organisation.by_id.contains_key(id)
            || spec
                .value
                .mailbox
                .as_ref()
                .is_some_and(|m| organisation.with_mailbox(m.as_str()).is_some());
        if !owned {
            problems
                .at(
                    &spec.referenced,
                    Some(pki_at),
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
