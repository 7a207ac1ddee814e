//! The Windows registry as a `.reg` file or a `Registry.pol` leaves it: keys with typed values,
//! built by replaying the file's sets and deletes in order, then read the way Edge and Chrome read
//! their policy keys.
//!
//! Chromium's Windows loader (components/policy/core/common/registry_dict.cc) is the reference:
//! key and value names are case-insensitive; REG_SZ/REG_EXPAND_SZ become strings and REG_DWORD
//! numbers, every other type is dropped; a list policy is a subkey whose values named by numbers
//! are its entries (other names are skipped); a list or dictionary policy may also be a string
//! value holding JSON.

use std::collections::HashMap;

use smime::checks::Finding;
use smime::checks::catalogue::{BRW_LIST_ENTRY_NAME, BRW_LOCATION_UNREAD, BRW_REG_TYPE};

use crate::Browser;
use crate::model::{Level, Parsed, Scope, Setting, canonical_policy};

/// A registry value as written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegValue {
    Sz(String),
    ExpandSz(String),
    Dword(u32),
    Qword(u64),
    MultiSz(Vec<String>),
    Binary(Vec<u8>),
    /// Any other type number, with its raw data.
    Other(u32, Vec<u8>),
}

impl RegValue {
    pub fn type_name(&self) -> String {
        match self {
            RegValue::Sz(_) => "REG_SZ".into(),
            RegValue::ExpandSz(_) => "REG_EXPAND_SZ".into(),
            RegValue::Dword(_) => "REG_DWORD".into(),
            RegValue::Qword(_) => "REG_QWORD".into(),
            RegValue::MultiSz(_) => "REG_MULTI_SZ".into(),
            RegValue::Binary(_) => "REG_BINARY".into(),
            RegValue::Other(t, _) => format!("registry type {t}"),
        }
    }

    /// The value as Chromium converts it, or `None` for the types it drops.
    fn to_json(&self) -> Option<serde_json::Value> {
        match self {
            RegValue::Sz(s) | RegValue::ExpandSz(s) => Some(serde_json::Value::String(s.clone())),
            RegValue::Dword(n) => Some(serde_json::Value::from(*n)),
            _ => None,
        }
    }
}

/// One key and its values, in the order the file first wrote them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub scope: Scope,
    /// The path below the hive, as first written.
    pub path: String,
    /// Values in the order first set; a deleted one leaves `None`, so that positions in `names`
    /// stay valid and setting or deleting one value costs the same however many the key holds
    /// (a file of 100,000 values is read in linear time).
    slots: Vec<Option<(String, RegValue)>>,
    /// Lower-cased value name (names are case-insensitive) to its slot.
    names: HashMap<String, usize>,
}

impl Key {
    fn new(scope: Scope, path: &str) -> Self {
        Key {
            scope,
            path: path.trim_end_matches('\\').to_owned(),
            slots: Vec::new(),
            names: HashMap::new(),
        }
    }

    /// The key's values (name as first written, value as last set), in the order first set.
    pub fn values(&self) -> impl Iterator<Item = &(String, RegValue)> {
        self.slots.iter().flatten()
    }

    fn set(&mut self, name: &str, value: RegValue) {
        match self.names.get(&name.to_ascii_lowercase()).copied() {
            Some(slot) => {
                if let Some(Some(entry)) = self.slots.get_mut(slot) {
                    entry.1 = value;
                }
            }
            None => {
                self.names
                    .insert(name.to_ascii_lowercase(), self.slots.len());
                self.slots.push(Some((name.to_owned(), value)));
            }
        }
    }

    fn delete(&mut self, name: &str) {
        if let Some(slot) = self.names.remove(&name.to_ascii_lowercase())
            && let Some(entry) = self.slots.get_mut(slot)
        {
            *entry = None;
        }
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.names.clear();
    }
}

/// The keys a file leaves behind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    pub keys: Vec<Key>,
    /// (scope, lower-cased path without a trailing `\`) to its index in `keys`: finding a key
    /// costs the same however many the file names.
    index: HashMap<(Scope, String), usize>,
}

fn same_path(a: &str, b: &str) -> bool {
    a.trim_end_matches('\\')
        .eq_ignore_ascii_case(b.trim_end_matches('\\'))
}

/// A key's identity: paths are case-insensitive and a trailing backslash changes nothing.
fn key_id(scope: Scope, path: &str) -> (Scope, String) {
    (scope, path.trim_end_matches('\\').to_ascii_lowercase())
}

fn is_below(path: &str, ancestor: &str) -> bool {
    let (path, ancestor) = (path.trim_end_matches('\\'), ancestor.trim_end_matches('\\'));
    path.len() > ancestor.len()
        && path.is_char_boundary(ancestor.len())
        && path[..ancestor.len()].eq_ignore_ascii_case(ancestor)
        && path[ancestor.len()..].starts_with('\\')
}

impl Tree {
    pub fn key_mut(&mut self, scope: Scope, path: &str) -> &mut Key {
        let id = key_id(scope, path);
        let index = match self.index.get(&id) {
            Some(index) => *index,
            None => {
                self.keys.push(Key::new(scope, path));
                let index = self.keys.len() - 1;
                self.index.insert(id, index);
                index
            }
        };
        // The index was just found or pushed.
        &mut self.keys[index]
    }

    fn existing_key(&mut self, scope: Scope, path: &str) -> Option<&mut Key> {
        let index = *self.index.get(&key_id(scope, path))?;
        self.keys.get_mut(index)
    }

    pub fn set(&mut self, scope: Scope, path: &str, name: &str, value: RegValue) {
        self.key_mut(scope, path).set(name, value);
    }

    pub fn delete_value(&mut self, scope: Scope, path: &str, name: &str) {
        if let Some(key) = self.existing_key(scope, path) {
            key.delete(name);
        }
    }

    pub fn delete_all_values(&mut self, scope: Scope, path: &str) {
        if let Some(key) = self.existing_key(scope, path) {
            key.clear();
        }
    }

    /// Delete a key and everything below it.
    pub fn delete_key(&mut self, scope: Scope, path: &str) {
        let (_, gone) = key_id(scope, path);
        self.keys.retain(|k| {
            k.scope != scope || !(key_id(scope, &k.path).1 == gone || is_below(&k.path, path))
        });
        self.index = self
            .keys
            .iter()
            .enumerate()
            .map(|(index, k)| (key_id(k.scope, &k.path), index))
            .collect();
    }

    /// Read the tree the way the browsers read their policy keys.
    pub fn into_parsed(self, hive_names: bool) -> Parsed {
        let mut parsed = Parsed::default();
        for key in &self.keys {
            read_key(key, hive_names, &mut parsed);
        }
        parsed
    }
}

fn hive_prefix(scope: Scope, hive_names: bool) -> &'static str {
    match (scope, hive_names) {
        (_, false) | (Scope::Unknown, _) => "",
        (Scope::Machine, true) => "HKLM\\",
        (Scope::User, true) => "HKCU\\",
    }
}

/// Where a policy key path points: which browser, which level, and what is left below the
/// browser's key.
struct Place<'a> {
    browser: Option<Browser>,
    level: Level,
    rest: &'a str,
}

/// Keys admins write that look like a browser's policy key but that no Chromium-based browser
/// reads, with what is wrong.
const WRONG_ROOTS: &[(&str, &str)] = &[
    (
        r"SOFTWARE\Policies\Microsoft\MicrosoftEdge",
        r"the key of the retired EdgeHTML Edge; Chromium-based Edge reads SOFTWARE\Policies\Microsoft\Edge",
    ),
    (
        r"SOFTWARE\Policies\Microsoft\Chrome",
        r"Chrome's key is SOFTWARE\Policies\Google\Chrome (and Edge's SOFTWARE\Policies\Microsoft\Edge)",
    ),
    (
        r"SOFTWARE\Policies\Google\Edge",
        r"Edge's key is SOFTWARE\Policies\Microsoft\Edge (and Chrome's SOFTWARE\Policies\Google\Chrome)",
    ),
    (
        r"SOFTWARE\Google\Chrome",
        r"policy lives under SOFTWARE\Policies\Google\Chrome; SOFTWARE\Google\Chrome holds the browser's own settings",
    ),
    (
        r"SOFTWARE\Microsoft\Edge",
        r"policy lives under SOFTWARE\Policies\Microsoft\Edge; SOFTWARE\Microsoft\Edge holds the browser's own settings",
    ),
    (
        r"SOFTWARE\WOW6432Node\Policies",
        r"the 32-bit view; 64-bit Windows policy tools and the browsers use SOFTWARE\Policies",
    ),
];

fn strip_root<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    let path = path.trim_end_matches('\\');
    if same_path(path, root) {
        Some("")
    } else if is_below(path, root) {
        path.get(root.len() + 1..)
    } else {
        None
    }
}

fn place(path: &str) -> Option<Place<'_>> {
    for browser in Browser::ALL {
        if let Some(rest) = strip_root(path, browser.registry_key()) {
            let (level, rest) = match strip_root(rest, "Recommended") {
                Some(below) => (Level::Recommended, below),
                None => (Level::Mandatory, rest),
            };
            return Some(Place {
                browser: Some(browser),
                level,
                rest,
            });
        }
    }
    None
}

fn wrong_root(path: &str) -> Option<&'static str> {
    WRONG_ROOTS
        .iter()
        .find(|(root, _)| strip_root(path, root).is_some())
        .map(|(_, why)| *why)
}

/// Entries of a list policy key: numbered values become the list, in number order.
fn list_from_key(key: &Key, location: &str, parsed: &mut Parsed) -> serde_json::Value {
    let mut numbered: Vec<(i64, serde_json::Value)> = Vec::new();
    for (name, value) in key.values() {
        // PReg directives that survived replay (`**SecureKey`) are not values.
        if name.starts_with("**") {
            continue;
        }
        let Ok(number) = name.trim().parse::<i64>() else {
            parsed.findings.push(Finding::new(
                &BRW_LIST_ENTRY_NAME,
                location,
                format!("value {name:?} is not named by a number, so Edge and Chrome skip it"),
            ));
            continue;
        };
        match value.to_json() {
            Some(json) => numbered.push((number, json)),
            None => parsed.findings.push(Finding::new(
                &BRW_REG_TYPE,
                location,
                format!(
                    "value {name:?} is {}, which Edge and Chrome do not read",
                    value.type_name()
                ),
            )),
        }
    }
    numbered.sort_by_key(|(n, _)| *n);
    serde_json::Value::Array(numbered.into_iter().map(|(_, v)| v).collect())
}

/// A policy written as a plain value: a string may hold JSON for list and dictionary policies.
fn value_policy(value: &RegValue) -> Option<serde_json::Value> {
    let json = value.to_json()?;
    if let serde_json::Value::String(text) = &json
        && let Ok(parsed @ (serde_json::Value::Array(_) | serde_json::Value::Object(_))) =
            serde_json::from_str::<serde_json::Value>(text)
    {
        return Some(parsed);
    }
    Some(json)
}

fn read_key(key: &Key, hive_names: bool, parsed: &mut Parsed) {
    let prefix = hive_prefix(key.scope, hive_names);
    let full = format!("{prefix}{}", key.path);
    let place = place(&key.path);
    let (browser, level, rest) = match &place {
        Some(p) => (p.browser, p.level, p.rest),
        None => (None, Level::Mandatory, ""),
    };
    // A key named after a policy (the list form) ...
    let leaf = key.path.rsplit('\\').next().unwrap_or("");
    let as_list_key = match &place {
        Some(_) => canonical_policy(rest),
        None => canonical_policy(leaf),
    };
    if let Some(policy) = as_list_key {
        if place.is_none() {
            unread(&full, key, parsed);
        }
        if policy == "ExtensionSettings" {
            // The nested-key form of the dictionary; only the JSON-string form is read here.
            return;
        }
        let value = list_from_key(key, &full, parsed);
        parsed.settings.push(Setting {
            browser,
            read: place.is_some(),
            location: full,
            scope: key.scope,
            level,
            policy: policy.to_owned(),
            value,
        });
        return;
    }
    // ... or policies as values of the browser's key (or of a key no browser reads).
    let at_browser_key = place.as_ref().is_some_and(|p| p.rest.is_empty());
    let mut reported = false;
    for (name, value) in key.values() {
        let Some(policy) = canonical_policy(name) else {
            continue;
        };
        if !at_browser_key && !reported {
            unread(&full, key, parsed);
            reported = true;
        }
        let location = format!("{full}\\{name}");
        match value_policy(value) {
            Some(json) => parsed.settings.push(Setting {
                browser: if at_browser_key { browser } else { None },
                read: at_browser_key,
                location,
                scope: key.scope,
                level,
                policy: policy.to_owned(),
                value: json,
            }),
            None => parsed.findings.push(Finding::new(
                &BRW_REG_TYPE,
                location,
                format!(
                    "{policy} is {}, which Edge and Chrome do not read",
                    value.type_name()
                ),
            )),
        }
    }
}

fn unread(full: &str, key: &Key, parsed: &mut Parsed) {
    let why = wrong_root(&key.path).unwrap_or(
        r"Edge reads SOFTWARE\Policies\Microsoft\Edge, Chrome SOFTWARE\Policies\Google\Chrome",
    );
    parsed.findings.push(Finding::new(
        &BRW_LOCATION_UNREAD,
        full,
        format!("no browser reads policy from {full}: {why}"),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_sets_and_deletes() {
        let mut tree = Tree::default();
        let key = r"SOFTWARE\Policies\Google\Chrome\ExtensionInstallForcelist";
        tree.set(Scope::Machine, key, "1", RegValue::Sz("a".into()));
        tree.set(
            Scope::Machine,
            &key.to_uppercase(),
            "2",
            RegValue::Sz("b".into()),
        );
        assert_eq!(tree.keys.len(), 1, "paths are case-insensitive");
        tree.delete_value(Scope::Machine, key, "1");
        assert_eq!(tree.keys[0].values().count(), 1);
        tree.delete_all_values(Scope::Machine, key);
        assert_eq!(tree.keys[0].values().count(), 0);
        tree.set(Scope::Machine, key, "1", RegValue::Sz("a".into()));
        tree.delete_key(Scope::Machine, r"SOFTWARE\Policies\Google");
        assert!(tree.keys.is_empty());
    }

    #[test]
    fn below_needs_a_backslash_boundary() {
        assert!(is_below(r"A\B\C", r"a\b"));
        assert!(!is_below(r"A\BC", r"A\B"));
        assert!(!is_below(r"A\B", r"A\B"));
        assert!(!is_below("é", "x"));
    }
}
