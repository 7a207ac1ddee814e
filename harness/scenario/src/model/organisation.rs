//! `organisation`: the tenant and its mailboxes.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;
use smime::pki::{Domain, Mailbox};

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
    /// identity of the same person). A user may have no certificates at all.
    #[schemars(with = "Vec<OrgUser>")]
    pub users: Vec<Spanned<OrgUser>>,
}

/// A mailbox: a user id, or `{ id, mailbox }`.
#[derive(Clone, Debug)]
pub struct OrgUser {
    pub id: Id,
    /// The address, when not `<id>@<domain>`.
    pub mailbox: Option<Mailbox>,
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
                Ok(OrgUser { id, mailbox: None })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OrgUser, A::Error> {
                let fields =
                    OrgUserFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(OrgUser {
                    id: fields.id,
                    mailbox: fields.mailbox,
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
        json_schema!({
            "description": "A user id (`alice`, mailbox alice@<domain>) or `{ id, mailbox }`.",
            "oneOf": [id, long]
        })
    }
}
