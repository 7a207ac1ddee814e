//! `pki`: a PKI description written in the scenario, or a committed fixture.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use smime::pki::PkiDescription;

/// Where the scenario's certificates come from.
#[derive(Clone, Debug)]
pub enum PkiSection {
    /// A PKI description written in the scenario, issued afresh for each run.
    Description(Box<PkiDescription>),
    /// A committed lab PKI from `fixtures/pki/`.
    Fixture(PkiFixture),
}

/// The committed lab PKIs. Their descriptions are compiled into the runner, so a scenario that
/// names one always gets the certificates in `fixtures/pki/<name>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PkiFixture {
    /// `fixtures/pki/default.yaml`: Contoso (`contoso.com`), root and issuing CA; alice (RSA-2048),
    /// bob (separate P-256 signing and encryption certificates), carol (RSA-3072), dave (P-384) and
    /// eve (revoked). Clock 2026-01-01T00:00:00Z.
    Default,
}

impl PkiFixture {
    pub fn name(self) -> &'static str {
        match self {
            PkiFixture::Default => "default",
        }
    }

    /// The fixture's description file, relative to the repository root.
    pub fn path(self) -> &'static str {
        match self {
            PkiFixture::Default => "fixtures/pki/default.yaml",
        }
    }

    /// The description, as committed.
    pub fn yaml(self) -> &'static str {
        match self {
            PkiFixture::Default => include_str!("../../../../fixtures/pki/default.yaml"),
        }
    }
}

/// `{ fixture: <name> }`. Only its schema is used: [`PkiSection`] reads the key itself.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct FixtureReference {
    /// The committed lab PKI to use.
    fixture: PkiFixture,
}

impl<'de> Deserialize<'de> for PkiSection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PkiVisitor;

        impl<'de> Visitor<'de> for PkiVisitor {
            type Value = PkiSection;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a PKI description (seed, now, domain, root, ...) or `{ fixture: default }`",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<PkiSection, E> {
                Err(E::custom(format!(
                    "`pki: {v}` is neither a PKI description nor a fixture reference; for a committed lab PKI write `pki: {{ fixture: {v} }}`"
                )))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PkiSection, A::Error> {
                // The first key decides which of the two shapes this is. An untagged enum would
                // decide the same, but would buffer the mapping and lose every line and column
                // inside the description (and answer "did not match any variant").
                let Some(first) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "the PKI is empty: describe one (seed, now, domain, root, users) or write `pki: { fixture: default }`",
                    ));
                };
                if first == "fixture" {
                    let fixture: PkiFixture = map.next_value()?;
                    if let Some(other) = map.next_key::<String>()? {
                        return Err(de::Error::custom(format!(
                            "`{other}` next to `fixture`: a fixture reference takes no other keys; to change the PKI, copy {} into the scenario and edit it",
                            fixture.path()
                        )));
                    }
                    return Ok(PkiSection::Fixture(fixture));
                }
                let replay = PrependKey {
                    first: Some(first),
                    rest: map,
                };
                let description =
                    PkiDescription::deserialize(de::value::MapAccessDeserializer::new(replay))?;
                Ok(PkiSection::Description(Box::new(description)))
            }
        }

        // `any`, not `map`, so that a scalar gets a message saying what to write.
        deserializer.deserialize_any(PkiVisitor)
    }
}

/// A mapping whose first key was already read: gives it back, then the rest.
pub(super) struct PrependKey<A> {
    first: Option<String>,
    rest: A,
}

impl<A> PrependKey<A> {
    pub(super) fn new(first: String, rest: A) -> Self {
        Self {
            first: Some(first),
            rest,
        }
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for PrependKey<A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(first) => seed.deserialize(first.into_deserializer()).map(Some),
            None => self.rest.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        self.rest.next_value_seed(seed)
    }
}

impl JsonSchema for PkiSection {
    fn schema_name() -> Cow<'static, str> {
        "PkiSection".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let description = generator.subschema_for::<PkiDescription>();
        let fixture = generator.subschema_for::<FixtureReference>();
        json_schema!({
            "description": "A PKI description, or `{ fixture: default }` for the committed lab PKI.",
            "oneOf": [description, fixture]
        })
    }
}
