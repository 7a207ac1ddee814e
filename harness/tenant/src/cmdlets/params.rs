//! Parameter binding the way Exchange Online's command invocation does it: names matched without
//! regard to case, unknown names refused together, each JSON value converted to the
//! parameter's .NET type with PowerShell's own error texts.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::wire::{ExoError, exception};

/// A .NET enum as PowerShell binds it: by name (any case) or by its numeric value.
#[derive(Debug)]
pub struct EnumType {
    /// Full .NET type name, as error texts show it.
    pub dotnet: &'static str,
    /// `(name, value)` in declaration order, which is the order error texts list them in.
    pub members: &'static [(&'static str, i64)],
}

impl EnumType {
    pub fn name_of(&self, value: i64) -> Option<&'static str> {
        self.members
            .iter()
            .find(|(_, v)| *v == value)
            .map(|(name, _)| *name)
    }

    pub fn value_of(&self, name: &str) -> Option<i64> {
        self.members
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// The .NET type of a parameter.
#[derive(Debug, Clone, Copy)]
pub enum ParamType {
    Bool,
    UInt32,
    Int32,
    String,
    /// `Byte[]`: base64 on the wire (or a JSON array of numbers, as `ConvertTo-Json` of a
    /// `byte[]` writes it).
    Bytes,
    /// `MultiValuedProperty<Byte[]>`: an array of byte arrays, or `{"Add":[..],"Remove":[..]}`.
    MultiBytes,
    Enum(&'static EnumType),
    /// `Unlimited<UInt32>`: a number or `Unlimited`.
    ResultSize,
    /// An identity parameter (`MailboxIdParameter`, `MobileMailboxPolicyIdParameter` ...).
    Identity,
    /// `SwitchParameter`.
    Switch,
}

impl ParamType {
    fn dotnet(self) -> &'static str {
        match self {
            Self::Bool => "System.Boolean",
            Self::UInt32 => "System.UInt32",
            Self::Int32 => "System.Int32",
            Self::String => "System.String",
            Self::Bytes => "System.Byte[]",
            Self::MultiBytes => "Microsoft.Exchange.Data.MultiValuedProperty`1[System.Byte[]]",
            Self::Enum(e) => e.dotnet,
            Self::ResultSize => "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]",
            Self::Identity => "System.String",
            Self::Switch => "System.Management.Automation.SwitchParameter",
        }
    }
}

/// One parameter of a cmdlet.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ParamType,
    pub mandatory: bool,
}

impl ParamSpec {
    pub const fn new(name: &'static str, ty: ParamType) -> Self {
        Self {
            name,
            ty,
            mandatory: false,
        }
    }

    pub const fn mandatory(name: &'static str, ty: ParamType) -> Self {
        Self {
            name,
            ty,
            mandatory: true,
        }
    }
}

/// Change to a multi-valued property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiValued {
    Replace(Vec<Vec<u8>>),
    AddRemove {
        add: Vec<Vec<u8>>,
        remove: Vec<Vec<u8>>,
    },
}

impl MultiValued {
    /// Applies the change to the current values, as Exchange does (`Add` skips duplicates).
    pub fn apply(&self, current: &[Vec<u8>]) -> Vec<Vec<u8>> {
        match self {
            Self::Replace(values) => values.clone(),
            Self::AddRemove { add, remove } => {
                let mut values: Vec<Vec<u8>> = current
                    .iter()
                    .filter(|v| !remove.contains(v))
                    .cloned()
                    .collect();
                for value in add {
                    if !values.contains(value) {
                        values.push(value.clone());
                    }
                }
                values
            }
        }
    }
}

/// A converted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Bool(bool),
    UInt32(u32),
    Int32(i32),
    String(Option<String>),
    Bytes(Option<Vec<u8>>),
    MultiBytes(MultiValued),
    Enum(i64),
    /// `None` is `Unlimited`.
    ResultSize(Option<u32>),
    Identity(String),
    Switch(bool),
}

/// The bound parameters of one invocation, by canonical name.
#[derive(Debug, Clone, Default)]
pub struct BoundParameters {
    values: BTreeMap<&'static str, Bound>,
    /// Canonical names in the order they were given.
    order: Vec<&'static str>,
}

impl BoundParameters {
    pub fn get(&self, name: &str) -> Option<&Bound> {
        self.values.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Parameters in the order the caller gave them.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Bound)> {
        self.order
            .iter()
            .filter_map(|name| self.values.get(name).map(|v| (*name, v)))
    }

    pub fn identity(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(Bound::Identity(s)) => Some(s),
            Some(Bound::String(Some(s))) => Some(s),
            _ => None,
        }
    }

    pub fn switch(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(Bound::Switch(true)))
    }

    /// `Some(None)` when the caller asked for `Unlimited`, `None` when not given.
    pub fn result_size(&self) -> Option<Option<u32>> {
        match self.values.get("ResultSize") {
            Some(Bound::ResultSize(n)) => Some(*n),
            _ => None,
        }
    }
}

/// Switches every cmdlet takes over the REST transport.
const COMMON: &[ParamSpec] = &[
    ParamSpec::new("Confirm", ParamType::Switch),
    ParamSpec::new("WhatIf", ParamType::Switch),
];

/// Binds `given` to `specs`. `not_modelled` lists parameters the real cmdlet has that this
/// mock does not implement: they are refused with a message saying so, never silently ignored.
pub fn bind(
    cmdlet: &str,
    specs: &[ParamSpec],
    not_modelled: &[&str],
    given: &Map<String, Value>,
) -> Result<BoundParameters, ExoError> {
    let find = |name: &str| {
        specs
            .iter()
            .chain(COMMON)
            .find(|s| s.name.eq_ignore_ascii_case(name))
    };

    let unknown: Vec<String> = given
        .keys()
        .filter(|name| find(name).is_none() && !is_not_modelled(not_modelled, name))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(ExoError::UnknownParameters(unknown));
    }
    if let Some(name) = given.keys().find(|n| is_not_modelled(not_modelled, n)) {
        return Err(ExoError::Binding {
            exception: exception::MOCK_NOT_MODELLED,
            message: format!(
                "mock-tenant does not model the parameter '{name}' of {cmdlet} (Exchange Online \
                 has it). Leave it out, or extend harness/tenant if the lab needs it."
            ),
        });
    }

    let mut bound = BoundParameters::default();
    for (name, value) in given {
        let Some(spec) = find(name) else { continue };
        if bound.values.contains_key(spec.name) {
            // The same parameter twice under different case: PowerShell refuses that too.
            return Err(ExoError::Binding {
                exception: exception::PARAMETER_BINDING,
                message: format!(
                    "Cannot bind parameter because parameter '{}' is specified more than once. \
                     To provide multiple values to parameters that can accept multiple values, \
                     use the array syntax. For example, \"-parameter value1,value2,value3\".",
                    spec.name
                ),
            });
        }
        let converted = convert(spec, value)?;
        bound.values.insert(spec.name, converted);
        bound.order.push(spec.name);
    }

    let missing: Vec<&str> = specs
        .iter()
        .filter(|s| s.mandatory && !bound.values.contains_key(s.name))
        .map(|s| s.name)
        .collect();
    if !missing.is_empty() {
        return Err(ExoError::Binding {
            exception: exception::PARAMETER_BINDING,
            message: format!(
                "Cannot process command because of one or more missing mandatory parameters: {}.",
                missing.join(" ")
            ),
        });
    }
    Ok(bound)
}

fn is_not_modelled(not_modelled: &[&str], name: &str) -> bool {
    not_modelled.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// How PowerShell prints a value it could not convert: the value itself for scalars, the .NET
/// type name for arrays and hashtables.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(_) => "System.Object[]".into(),
        Value::Object(_) => "System.Collections.Hashtable".into(),
    }
}

fn cannot_convert(spec: &ParamSpec, value: &Value, error: &str) -> ExoError {
    ExoError::transformation(format!(
        "Cannot process argument transformation on parameter '{}'. Cannot convert value \"{}\" \
         to type \"{}\". Error: \"{error}\"",
        spec.name,
        shown(value),
        spec.ty.dotnet()
    ))
}

fn convert(spec: &ParamSpec, value: &Value) -> Result<Bound, ExoError> {
    match spec.ty {
        ParamType::Bool | ParamType::Switch => {
            let b = match value {
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                other => {
                    // PowerShell's text for a non-boolean given to a Boolean parameter names the
                    // .NET type of the value, not the value.
                    let type_name = match other {
                        Value::String(_) => "System.String",
                        Value::Array(_) => "System.Object[]",
                        Value::Object(_) => "System.Collections.Hashtable",
                        _ => "",
                    };
                    return Err(ExoError::transformation(format!(
                        "Cannot process argument transformation on parameter '{}'. Cannot \
                         convert value \"{type_name}\" to type \"System.Boolean\". Boolean \
                         parameters accept only Boolean values and numbers, such as $True, \
                         $False, 1 or 0.",
                        spec.name
                    )));
                }
            };
            Ok(if matches!(spec.ty, ParamType::Switch) {
                Bound::Switch(b)
            } else {
                Bound::Bool(b)
            })
        }
        ParamType::UInt32 => integer(spec, value, "UInt32")
            .and_then(|n| {
                u32::try_from(n).map_err(|_| {
                    cannot_convert(
                        spec,
                        value,
                        "Value was either too large or too small for a UInt32.",
                    )
                })
            })
            .map(Bound::UInt32),
        ParamType::Int32 => integer(spec, value, "Int32")
            .and_then(|n| {
                i32::try_from(n).map_err(|_| {
                    cannot_convert(
                        spec,
                        value,
                        "Value was either too large or too small for an Int32.",
                    )
                })
            })
            .map(Bound::Int32),
        ParamType::String => Ok(Bound::String(match value {
            Value::Null => None,
            Value::Array(items) => Some(items.iter().map(shown).collect::<Vec<_>>().join(" ")),
            other => Some(shown(other)),
        })),
        ParamType::Identity => match value {
            Value::Null => Err(ExoError::Binding {
                exception: exception::PARAMETER_BINDING,
                message: format!(
                    "Cannot bind argument to parameter '{}' because it is null.",
                    spec.name
                ),
            }),
            Value::String(s) if s.is_empty() => Err(ExoError::Binding {
                exception: exception::PARAMETER_BINDING,
                message: format!(
                    "Cannot bind argument to parameter '{}' because it is an empty string.",
                    spec.name
                ),
            }),
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                Ok(Bound::Identity(shown(value)))
            }
            other => Err(cannot_convert(
                spec,
                other,
                "Identity parameters take a single value.",
            )),
        },
        ParamType::Bytes => match value {
            Value::Null => Ok(Bound::Bytes(None)),
            other => bytes(spec, other).map(|b| Bound::Bytes(Some(b))),
        },
        ParamType::MultiBytes => multi_bytes(spec, value).map(Bound::MultiBytes),
        ParamType::Enum(enum_type) => {
            let found = match value {
                Value::String(s) => enum_type.value_of(s.trim()).or_else(|| {
                    s.trim()
                        .parse::<i64>()
                        .ok()
                        .filter(|n| enum_type.name_of(*n).is_some())
                }),
                Value::Number(n) => n.as_i64().filter(|n| enum_type.name_of(*n).is_some()),
                _ => None,
            };
            found.map(Bound::Enum).ok_or_else(|| {
                let names: Vec<&str> = enum_type.members.iter().map(|(n, _)| *n).collect();
                cannot_convert(
                    spec,
                    value,
                    &format!(
                        "Unable to match the identifier name {} to a valid enumerator name. \
                         Specify one of the following enumerator names and try again: {}",
                        shown(value),
                        names.join(", ")
                    ),
                )
            })
        }
        ParamType::ResultSize => match value {
            Value::String(s) if s.trim().eq_ignore_ascii_case("unlimited") => {
                Ok(Bound::ResultSize(None))
            }
            other => integer(spec, other, "UInt32")
                .and_then(|n| {
                    u32::try_from(n).map_err(|_| {
                        cannot_convert(
                            spec,
                            other,
                            "Value was either too large or too small for a UInt32.",
                        )
                    })
                })
                .map(|n| Bound::ResultSize(Some(n))),
        },
    }
}

fn integer(spec: &ParamSpec, value: &Value, type_name: &str) -> Result<i64, ExoError> {
    let too_big = || {
        cannot_convert(
            spec,
            value,
            &format!(
                "Value was either too large or too small for {} {type_name}.",
                if type_name.starts_with('I') {
                    "an"
                } else {
                    "a"
                }
            ),
        )
    };
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else if n.as_u64().is_some() {
                Err(too_big())
            } else {
                // PowerShell rounds a fractional number to the nearest integer (to even).
                let f = n.as_f64().unwrap_or(f64::NAN);
                let rounded = f.round_ties_even();
                if rounded.is_finite() && rounded.abs() < 9.0e15 {
                    // Exact: |rounded| < 2^53.
                    Ok(rounded as i64)
                } else {
                    Err(too_big())
                }
            }
        }
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty()
                || !t
                    .trim_start_matches(['-', '+'])
                    .chars()
                    .all(|c| c.is_ascii_digit())
            {
                return Err(cannot_convert(
                    spec,
                    value,
                    "Input string was not in a correct format.",
                ));
            }
            t.parse::<i64>().map_err(|_| too_big())
        }
        _ => Err(cannot_convert(
            spec,
            value,
            "Input string was not in a correct format.",
        )),
    }
}

fn bytes(spec: &ParamSpec, value: &Value) -> Result<Vec<u8>, ExoError> {
    match value {
        Value::String(s) => base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| {
                cannot_convert(
                    spec,
                    &Value::String(abbreviate(s)),
                    "The input is not a valid Base-64 string as it contains a non-base 64 \
                     character, more than two padding characters, or an illegal character among \
                     the padding characters.",
                )
            }),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| {
                        cannot_convert(
                            spec,
                            item,
                            "Value was either too large or too small for an unsigned byte.",
                        )
                    })
            })
            .collect(),
        other => Err(cannot_convert(
            spec,
            other,
            "Byte[] parameters travel as a base64 string.",
        )),
    }
}

/// Long base64 strings are cut in error texts, as PowerShell's own formatter does not.
fn abbreviate(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        out.push_str("...");
    }
    out
}

fn multi_bytes(spec: &ParamSpec, value: &Value) -> Result<MultiValued, ExoError> {
    let list = |value: &Value| -> Result<Vec<Vec<u8>>, ExoError> {
        match value {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) if items.iter().all(|i| i.is_number()) && !items.is_empty() => {
                Ok(vec![bytes(spec, value)?])
            }
            Value::Array(items) => items.iter().map(|item| bytes(spec, item)).collect(),
            other => Ok(vec![bytes(spec, other)?]),
        }
    };
    match value {
        Value::Object(map) => {
            let mut add = Vec::new();
            let mut remove = Vec::new();
            for (key, items) in map {
                if key.eq_ignore_ascii_case("Add") {
                    add = list(items)?;
                } else if key.eq_ignore_ascii_case("Remove") {
                    remove = list(items)?;
                } else {
                    return Err(cannot_convert(
                        spec,
                        value,
                        "A hashtable for a multi-valued property takes only the keys Add and \
                         Remove.",
                    ));
                }
            }
            Ok(MultiValued::AddRemove { add, remove })
        }
        other => list(other).map(MultiValued::Replace),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static SIGNED: EnumType = EnumType {
        dotnet: "Microsoft.Exchange.Data.Directory.SystemConfiguration.SignedSMIMEAlgorithmType",
        members: &[("SHA1", 0), ("MD5", 1)],
    };

    const SPECS: &[ParamSpec] = &[
        ParamSpec::new("OWAClearSign", ParamType::Bool),
        ParamSpec::new("OWACRLConnectionTimeout", ParamType::UInt32),
        ParamSpec::new("RequireSignedSMIMEAlgorithm", ParamType::Enum(&SIGNED)),
        ParamSpec::new("Blob", ParamType::Bytes),
        ParamSpec::new("Certs", ParamType::MultiBytes),
        ParamSpec::new("ResultSize", ParamType::ResultSize),
    ];

    fn bind_one(value: Value) -> Result<BoundParameters, ExoError> {
        bind(
            "Test-Cmdlet",
            SPECS,
            &["NotModelled"],
            value.as_object().unwrap(),
        )
    }

    #[test]
    fn names_bind_without_case_and_unknown_ones_are_listed() {
        let bound = bind_one(json!({"owaclearsign": false})).unwrap();
        assert_eq!(bound.get("OWAClearSign"), Some(&Bound::Bool(false)));
        let err = bind_one(json!({"Bogus": 1, "Other": 2})).unwrap_err();
        assert_eq!(
            err,
            ExoError::UnknownParameters(vec!["Bogus".into(), "Other".into()])
        );
        assert!(matches!(
            bind_one(json!({"notmodelled": 1})),
            Err(ExoError::Binding {
                exception: exception::MOCK_NOT_MODELLED,
                ..
            })
        ));
    }

    #[test]
    fn boolean_refuses_strings_like_powershell() {
        let err = bind_one(json!({"OWAClearSign": "yes"})).unwrap_err();
        assert_eq!(
            err.user_message(),
            "Cannot process argument transformation on parameter 'OWAClearSign'. Cannot convert \
             value \"System.String\" to type \"System.Boolean\". Boolean parameters accept only \
             Boolean values and numbers, such as $True, $False, 1 or 0."
        );
        assert_eq!(
            bind_one(json!({"OWAClearSign": 0}))
                .unwrap()
                .get("OWAClearSign"),
            Some(&Bound::Bool(false))
        );
    }

    #[test]
    fn uint32_range_and_format() {
        assert_eq!(
            bind_one(json!({"OWACRLConnectionTimeout": "5000"}))
                .unwrap()
                .get("OWACRLConnectionTimeout"),
            Some(&Bound::UInt32(5000))
        );
        let err = bind_one(json!({"OWACRLConnectionTimeout": -1})).unwrap_err();
        assert!(
            err.user_message()
                .contains("too large or too small for a UInt32")
        );
        let err = bind_one(json!({"OWACRLConnectionTimeout": "soon"})).unwrap_err();
        assert!(
            err.user_message()
                .contains("Input string was not in a correct format.")
        );
        let err = bind_one(json!({"OWACRLConnectionTimeout": 99999999999u64})).unwrap_err();
        assert!(err.user_message().contains("UInt32"));
    }

    #[test]
    fn enums_take_names_and_ordinals() {
        for v in [json!("md5"), json!(1), json!("1")] {
            assert_eq!(
                bind_one(json!({"RequireSignedSMIMEAlgorithm": v}))
                    .unwrap()
                    .get("RequireSignedSMIMEAlgorithm"),
                Some(&Bound::Enum(1))
            );
        }
        let err = bind_one(json!({"RequireSignedSMIMEAlgorithm": "SHA256"})).unwrap_err();
        assert_eq!(
            err.user_message(),
            "Cannot process argument transformation on parameter 'RequireSignedSMIMEAlgorithm'. \
             Cannot convert value \"SHA256\" to type \
             \"Microsoft.Exchange.Data.Directory.SystemConfiguration.SignedSMIMEAlgorithmType\". \
             Error: \"Unable to match the identifier name SHA256 to a valid enumerator name. \
             Specify one of the following enumerator names and try again: SHA1, MD5\""
        );
        assert!(bind_one(json!({"RequireSignedSMIMEAlgorithm": 7})).is_err());
    }

    #[test]
    fn bytes_from_base64_or_numbers() {
        let b = bind_one(json!({"Blob": "AQID"})).unwrap();
        assert_eq!(b.get("Blob"), Some(&Bound::Bytes(Some(vec![1, 2, 3]))));
        let b = bind_one(json!({"Blob": [1, 2, 3]})).unwrap();
        assert_eq!(b.get("Blob"), Some(&Bound::Bytes(Some(vec![1, 2, 3]))));
        assert!(bind_one(json!({"Blob": "not base64!"})).is_err());
        assert!(bind_one(json!({"Blob": [300]})).is_err());
        let b = bind_one(json!({"Blob": []})).unwrap();
        assert_eq!(b.get("Blob"), Some(&Bound::Bytes(Some(vec![]))));
    }

    #[test]
    fn multi_valued_replace_and_add_remove() {
        let b = bind_one(json!({"Certs": ["AQ==", "Ag=="]})).unwrap();
        let Some(Bound::MultiBytes(change)) = b.get("Certs") else {
            panic!("not bound")
        };
        assert_eq!(change.apply(&[vec![9]]), vec![vec![1], vec![2]]);
        let b = bind_one(json!({"Certs": {"add": ["Aw=="], "Remove": ["AQ=="]}})).unwrap();
        let Some(Bound::MultiBytes(change)) = b.get("Certs") else {
            panic!("not bound")
        };
        assert_eq!(change.apply(&[vec![1], vec![2]]), vec![vec![2], vec![3]]);
    }

    #[test]
    fn result_size_unlimited_or_number() {
        assert_eq!(
            bind_one(json!({"ResultSize": "unlimited"}))
                .unwrap()
                .result_size(),
            Some(None)
        );
        assert_eq!(
            bind_one(json!({"ResultSize": 3})).unwrap().result_size(),
            Some(Some(3))
        );
        assert!(bind_one(json!({"ResultSize": "lots"})).is_err());
    }
}
