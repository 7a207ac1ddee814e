//! The values every part of the format shares: checked strings (ids, text, check ids), mappings
//! that remember where each key was written, and the defaults that have no place in the file.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// Declares a string whose `Deserialize` runs a check, so that a bad value is reported by the YAML
/// parser at its own line and column.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $schema:expr, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                let check: fn(&str) -> Result<(), String> = $check;
                check(&text).map_err(de::Error::custom)?;
                Ok($name(text))
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

checked_string!(
    /// An id: lower-case letters, digits, `-`, `_` and `.`, starting with a letter or digit, at
    /// most 64 characters (`alice`, `bob-sign`, `issuing`, `alice-to-bob`).
    Id,
    json_schema!({
        "type": "string",
        "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$",
        "description": "An id: lower-case letters, digits, '-', '_' and '.', starting with a letter or digit."
    }),
    check_id
);

/// The same alphabet as the PKI's ids, because ids become file names and parts of URLs.
pub(crate) fn check_id(s: &str) -> Result<(), String> {
    let ok = s.len() <= 64
        && s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a usable id: use lower-case letters, digits, '-', '_' and '.', starting with a letter or digit, at most 64 characters"
        ))
    }
}

checked_string!(
    /// Non-empty text.
    Text,
    json_schema!({ "type": "string", "minLength": 1 }),
    |s| {
        if s.trim().is_empty() {
            Err("this text is empty; write a sentence".to_owned())
        } else {
            Ok(())
        }
    }
);

checked_string!(
    /// The id of a conformance check in the catalogue, `AREA-TOPIC-NNN` (`PKI-SKI-001`).
    CheckId,
    json_schema!({ "type": "string", "pattern": "^[A-Z]+-[A-Z]+-[0-9]{3}$" }),
    |s| {
        let parts: Vec<&str> = s.split('-').collect();
        let ok = parts.len() == 3
            && parts[..2]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase()))
            && parts[2].len() == 3
            && parts[2].bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{s:?} is not a check id: write AREA-TOPIC-NNN as in the catalogue, e.g. PKI-SKI-001"
            ))
        }
    }
);

pub(crate) fn zero() -> Spanned<u32> {
    unlocated(0)
}

pub(crate) fn unset() -> Spanned<bool> {
    unlocated(false)
}

/// A default value: it has no place in the file.
pub(crate) fn unlocated_default<T: Default>() -> Spanned<T> {
    unlocated(T::default())
}

pub(crate) fn unlocated<T>(value: T) -> Spanned<T> {
    Spanned::new(
        value,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

// --- helpers ------------------------------------------------------------------------------------

/// A mapping from ids to values that remembers where each key was written, in file order.
#[derive(Clone, Debug)]
pub struct SpannedMap<V>(pub Vec<(Spanned<Id>, V)>);

impl<V> Default for SpannedMap<V> {
    fn default() -> Self {
        SpannedMap(Vec::new())
    }
}

impl<V> SpannedMap<V> {
    pub fn iter(&self) -> impl Iterator<Item = &(Spanned<Id>, V)> {
        self.0.iter()
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.0
            .iter()
            .find(|(k, _)| k.value.as_str() == key)
            .map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpannedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(std::marker::PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = SpannedMap<V>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping from ids to settings")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<Id>>()? {
                    let value = map.next_value::<V>()?;
                    entries.push((key, value));
                }
                Ok(SpannedMap(entries))
            }
        }

        deserializer.deserialize_map(MapVisitor(std::marker::PhantomData))
    }
}

impl<V: JsonSchema> JsonSchema for SpannedMap<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<V>();
        json_schema!({
            "type": "object",
            "propertyNames": { "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$" },
            "additionalProperties": value
        })
    }
}
