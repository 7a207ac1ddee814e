//! `organisation`: the tenant and its mailboxes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;
use smime::key::KeySpec;
use smime::pki::{Domain, Flaw, Mailbox};

use super::Id;

/// The Exchange Online tenant and the mailboxes in it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Organisation {
    /// The tenant's initial domain, e.g. `contoso.onmicrosoft.com`: the `{tenant}` of the admin
    /// API's `/adminapi/beta/{tenant}/InvokeCommand`.
    pub tenant: Domain,
    /// The mail domain. Default: the PKI's `domain` (`contoso.com` for the default fixture); when
    /// given, it must be the same, because certificates are issued for `<user>@<domain>`.
    #[serde(default)]
    #[schemars(with = "Option<Domain>")]
    pub domain: Option<Spanned<Domain>>,
    /// The mailboxes, by user id: `alice` is `alice@<domain>`; `{ id: carol, mailbox:
    /// carol.smith@contoso.com }` gives another address. A user owns the certificates of the PKI
    /// user with the same id, and of any PKI user whose `mailbox` is the user's address (a second
    /// identity of the same person). A user may have no certificates at all. `{ generate: 1000,
    /// name: "user{n:04}", key: ecdsa-p256, flaws: { no-ski: 1% } }` adds a generated population:
    /// many users, each with one certificate, whose steps the report sums up.
    #[schemars(with = "Vec<OrgUser>")]
    pub users: Vec<Spanned<OrgUser>>,
}

/// A generated population: `count` users named by a template, each with one dual-use
/// certificate of `key`, a share of them given deliberate flaws.
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    /// How many users: 1 to [`Population::MAX`].
    pub count: u32,
    /// Their ids: `user{n:05}` is `user00001`, `user00002`, ...
    pub name: IdTemplate,
    /// Their certificates' key. Default `rsa-2048`.
    pub key: KeySpec,
    /// The share of them each flaw is given to.
    pub flaws: BTreeMap<Flaw, Percent>,
}

impl Population {
    /// The largest population a scenario may generate: the size of a large Exchange Online
    /// tenant.
    pub const MAX: u32 = 100_000;
}

/// A template for generated ids: an id with one `{n}` (the user's number, 1, 2, ...) or `{n:0W}`
/// (zero-padded to W digits, 1 to 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTemplate {
    prefix: String,
    width: usize,
    suffix: String,
}

impl IdTemplate {
    /// Reads `user{n:05}`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let help = "write an id with one {n} (1, 2, ...) or {n:05} (zero-padded), e.g. user{n:05}";
        let (prefix, rest) = text
            .split_once('{')
            .ok_or_else(|| format!("{text:?} has no {{n}}: {help}"))?;
        let (placeholder, suffix) = rest
            .split_once('}')
            .ok_or_else(|| format!("{text:?} has an unclosed '{{': {help}"))?;
        let width = match placeholder {
            "n" => 0,
            other => match other.strip_prefix("n:0").map(str::parse::<usize>) {
                Some(Ok(width)) if (1..=9).contains(&width) => width,
                _ => {
                    return Err(format!(
                        "{{{other}}} in {text:?} is not a number's place: {help}"
                    ));
                }
            },
        };
        if suffix.contains(['{', '}']) {
            return Err(format!("{text:?} has more than one placeholder: {help}"));
        }
        let template = IdTemplate {
            prefix: prefix.to_owned(),
            width,
            suffix: suffix.to_owned(),
        };
        super::values::check_id(&template.id(1)).map_err(|e| format!("{e} ({text:?} makes it)"))?;
        Ok(template)
    }

    /// The id of user number `n` (from 1).
    pub fn id(&self, n: u32) -> String {
        format!(
            "{}{n:0width$}{}",
            self.prefix,
            self.suffix,
            width = self.width
        )
    }
}

impl fmt::Display for IdTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.width {
            0 => write!(f, "{}{{n}}{}", self.prefix, self.suffix),
            width => write!(f, "{}{{n:0{width}}}{}", self.prefix, self.suffix),
        }
    }
}

/// A share: `1%`, `0.5%`, `100%` (a number of hundredths of a percent, so that equal texts are
/// equal shares).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Percent {
    /// Hundredths of a percent: `1%` is 100, `100%` is 10,000.
    pub basis_points: u32,
}

impl Percent {
    /// Reads `1%` or `0.25%` (at most two decimals, at most 100%).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{text:?} is not a share: write a percentage from 0% to 100% with at most two decimals, e.g. 1% or 0.5%"
            )
        };
        let number = text.trim().strip_suffix('%').ok_or_else(bad)?.trim();
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty()
            || fraction.len() > 2
            || !whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: u32 = whole.parse().map_err(|_| bad())?;
        let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
        let basis_points = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(fraction))
            .filter(|bp| *bp <= 10_000)
            .ok_or_else(bad)?;
        Ok(Percent { basis_points })
    }

    /// How many of `count` users: rounded to the nearest whole user, at least one for a share
    /// above zero (a flaw written down is a flaw some user has).
    pub fn of(self, count: u32) -> u32 {
        let exact = u64::from(count) * u64::from(self.basis_points);
        let rounded = u32::try_from((exact + 5_000) / 10_000).unwrap_or(count);
        if self.basis_points > 0 {
            rounded.clamp(1, count)
        } else {
            0
        }
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.basis_points % 100 {
            0 => write!(f, "{}%", self.basis_points / 100),
            fraction => write!(f, "{}.{fraction:02}%", self.basis_points / 100),
        }
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Percent::parse(&text).map_err(de::Error::custom)
    }
}

impl JsonSchema for Percent {
    fn schema_name() -> Cow<'static, str> {
        "Percent".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]{1,2})?%$",
            "description": "A share of the population, 0% to 100%: `1%`, `0.5%`."
        })
    }
}

/// The fields of a population, as written.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PopulationFields {
    /// How many users to generate: 1 to 100,000. Each gets a mailbox `<id>@<domain>`, a directory
    /// object and one dual-use certificate from the PKI's issuing CA; the report sums up each
    /// step over them (counts, and the users it failed for) instead of a row per user.
    generate: u32,
    /// Their ids: an id with `{n}` (1, 2, ...) or `{n:05}` (zero-padded to 5 digits) in it, e.g.
    /// `user{n:05}`.
    name: String,
    /// Their certificates' key. Default `rsa-2048`; `ecdsa-p256` issues fastest.
    #[serde(default)]
    key: Option<KeySpec>,
    /// Deliberate defects for a share of the users, by flaw (the PKI's flaw names): `{ no-ski:
    /// 1%, expired: 0.5% }`. Which users get each flaw is chosen with the PKI's seed, so every run
    /// picks the same ones; a share rounds to whole users, at least one.
    #[serde(default)]
    #[schemars(with = "BTreeMap<Flaw, Percent>")]
    flaws: BTreeMap<Flaw, Percent>,
}

/// An entry of `organisation.users`: a mailbox (a user id, or `{ id, mailbox, proxy-addresses }`), or a
/// generated population (`{ generate, name, key, flaws }`).
#[derive(Clone, Debug)]
pub struct OrgUser {
    pub id: Id,
    /// The address, when not `<id>@<domain>`.
    pub mailbox: Option<Mailbox>,
    /// `proxyAddresses` beside the primary (`smtp:bob.old@contoso.com`, `x500:...`), as written.
    pub proxy_addresses: Vec<Spanned<String>>,
    /// A generated population instead of one user (then `id` is the template's first id and
    /// `mailbox` is `None`).
    pub population: Option<Population>,
}

/// The long form of [`OrgUser`].
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OrgUserFields {
    /// The user id.
    id: Id,
    /// The mailbox address. Default `<id>@<domain>`. When the PKI description's user has no
    /// `mailbox` of its own, its certificates are issued for this address; when it has one, they
    /// must agree. With a fixture, it must be the fixture's address.
    #[serde(default)]
    mailbox: Option<Mailbox>,
    /// The user's other `proxyAddresses`, as Active Directory writes them: `smtp:` for a
    /// secondary SMTP address (`smtp:bob.old@contoso.com`), or another type (`x500:...`,
    /// `sip:...`). The lab writes `SMTP:<mailbox>` (the primary) itself. Entra Connect exports
    /// them; Outlook on the web matches a recipient's certificate to a secondary SMTP address
    /// when `OWAUseSecondaryProxiesWhenFindingCertificates` is true (the default).
    #[serde(default, rename = "proxy-addresses")]
    #[schemars(with = "Vec<String>")]
    proxy_addresses: Vec<Spanned<String>>,
}

impl<'de> Deserialize<'de> for OrgUser {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrgUserVisitor;

        impl<'de> Visitor<'de> for OrgUserVisitor {
            type Value = OrgUser;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a user id (`alice`) or `{ id: alice, mailbox: alice@contoso.com }`")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<OrgUser, E> {
                let id = Id::deserialize(v.into_deserializer())?;
                Ok(OrgUser {
                    id,
                    mailbox: None,
                    proxy_addresses: Vec::new(),
                    population: None,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrgUser, A::Error> {
                // The first key tells a population (`generate`) from a mailbox (`id`).
                let Some(first) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "an empty user: write `{ id: alice }` or `{ generate: 1000, name: \"user{n:04}\" }`",
                    ));
                };
                let replay = super::pki::PrependKey::new(first.clone(), map);
                let entries = de::value::MapAccessDeserializer::new(replay);
                if first != "generate" {
                    let fields = OrgUserFields::deserialize(entries)?;
                    return Ok(OrgUser {
                        id: fields.id,
                        mailbox: fields.mailbox,
                        proxy_addresses: fields.proxy_addresses,
                        population: None,
                    });
                }
                let fields = PopulationFields::deserialize(entries)?;
                if !(1..=Population::MAX).contains(&fields.generate) {
                    return Err(de::Error::custom(format!(
                        "generate: {} users is not from 1 to {}",
                        fields.generate,
                        Population::MAX
                    )));
                }
                let name = IdTemplate::parse(&fields.name).map_err(de::Error::custom)?;
                let last = name.id(fields.generate);
                super::values::check_id(&last)
                    .map_err(|e| de::Error::custom(format!("{e} (the last generated id)")))?;
                let first_id = name.id(1);
                let id = Id::deserialize(IntoDeserializer::<'_, A::Error>::into_deserializer(
                    first_id.as_str(),
                ))?;
                Ok(OrgUser {
                    id,
                    mailbox: None,
                    proxy_addresses: Vec::new(),
                    population: Some(Population {
                        count: fields.generate,
                        name,
                        key: fields.key.unwrap_or(KeySpec::Rsa2048),
                        flaws: fields.flaws,
                    }),
                })
            }
        }

        deserializer.deserialize_any(OrgUserVisitor)
    }
}

impl JsonSchema for OrgUser {
    fn schema_name() -> Cow<'static, str> {
        "OrgUser".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let id = generator.subschema_for::<Id>();
        let long = generator.subschema_for::<OrgUserFields>();
        let population = generator.subschema_for::<PopulationFields>();
        json_schema!({
            "description": "A user id (`alice`, mailbox alice@<domain>), `{ id, mailbox, proxy-addresses }`, or a generated population `{ generate, name, key, flaws }`.",
            "oneOf": [id, long, population]
        })
    }
}
