//! Group Policy `Registry.pol` files (PReg), as Microsoft documents them in "Registry Policy File
//! Format" and [MS-GPREG] 2.2.1.
//!
//! A header (the signature `PReg`, i.e. the little-endian DWORD 0x67655250, and the DWORD version
//! 1), then instructions `[key;value;type;size;data]` with no separator between them. The brackets
//! and semicolons are UTF-16LE characters; key and value name are UTF-16LE and NUL-terminated
//! (without HKLM/HKCU: the file's folder, `Machine` or `User`, decides the hive); type and size are
//! little-endian DWORDs; data is `size` raw bytes (strings UTF-16LE with their NUL). Value names
//! starting with `**` are instructions to delete (`**del.<name>`, `**delvals.`, `**DeleteValues`,
//! `**DeleteKeys`) rather than values.
//!
//! Written by hand because no crate in the workspace reads or writes PReg; samba's NDR parser
//! (python3-samba) checks our output in the tests.

use smime::checks::Finding;
use smime::checks::catalogue::BRW_SCOPE_UNKNOWN;

use crate::model::{Parsed, Scope};
use crate::registry::{RegValue, Tree};
use crate::{Browser, Error, FORCELIST_POLICY};

pub const SIGNATURE: &[u8; 4] = b"PReg";
pub const VERSION: u32 = 1;

pub const REG_SZ: u32 = 1;
pub const REG_EXPAND_SZ: u32 = 2;
pub const REG_BINARY: u32 = 3;
pub const REG_DWORD: u32 = 4;
pub const REG_DWORD_BIG_ENDIAN: u32 = 5;
pub const REG_MULTI_SZ: u32 = 7;
pub const REG_QWORD: u32 = 11;

/// One instruction of a policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    pub key: String,
    pub value: String,
    pub kind: u32,
    pub data: Vec<u8>,
}

fn utf16z(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn char16(c: char, out: &mut Vec<u8>) {
    let mut buffer = [0u16; 2];
    for unit in c.encode_utf16(&mut buffer) {
        out.extend_from_slice(&unit.to_le_bytes());
    }
}

/// Serialise instructions into a complete file.
pub fn encode(instructions: &[Instruction]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&VERSION.to_le_bytes());
    for i in instructions {
        char16('[', &mut out);
        out.extend_from_slice(&utf16z(&i.key));
        char16(';', &mut out);
        out.extend_from_slice(&utf16z(&i.value));
        char16(';', &mut out);
        out.extend_from_slice(&i.kind.to_le_bytes());
        char16(';', &mut out);
        // Policy data is far below 4 GiB; saturate rather than wrap if it ever were not.
        let size = u32::try_from(i.data.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&size.to_le_bytes());
        char16(';', &mut out);
        out.extend_from_slice(&i.data);
        char16(']', &mut out);
    }
    out
}

/// The instructions the Group Policy editor writes when ExtensionInstallForcelist is enabled
/// with one entry: first `**delvals.` (a list policy replaces the key's values rather than
/// adding to them; its data is a single space, as the editor writes it), then value `1`.
pub fn instructions(browser: Browser, entry: &str) -> Vec<Instruction> {
    // ADMX templates spell the key `Software\Policies\...`; case does not matter to Windows.
    let key = format!(
        "Software{}\\{FORCELIST_POLICY}",
        browser
            .registry_key()
            .strip_prefix("SOFTWARE")
            .unwrap_or(browser.registry_key())
    );
    vec![
        Instruction {
            key: key.clone(),
            value: "**delvals.".into(),
            kind: REG_SZ,
            data: utf16z(" "),
        },
        Instruction {
            key,
            value: "1".into(),
            kind: REG_SZ,
            data: utf16z(entry),
        },
    ]
}

/// The policy as the machine half of a GPO (`<GPO>\Machine\Registry.pol`), with `entry` as its
/// one forcelist string.
pub fn write(browser: Browser, entry: &str) -> Vec<u8> {
    encode(&instructions(browser, entry))
}

struct Cursor<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl Cursor<'_> {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::Pol {
            offset: self.offset,
            message: message.into(),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], Error> {
        let end = self.offset.checked_add(n);
        match end.and_then(|end| self.bytes.get(self.offset..end)) {
            Some(slice) => {
                self.offset += n;
                Ok(slice)
            }
            None => Err(self.error(format!(
                "the file ends inside {what} ({n} bytes needed, {} left)",
                self.bytes.len().saturating_sub(self.offset)
            ))),
        }
    }

    fn u16(&mut self, what: &str) -> Result<u16, Error> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, Error> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn expect(&mut self, c: char, what: &str) -> Result<(), Error> {
        let at = self.offset;
        let got = self.u16(what)?;
        if got == c as u16 {
            Ok(())
        } else {
            Err(Error::Pol {
                offset: at,
                message: format!(
                    "expected {c:?} (UTF-16LE) {what}, found 0x{got:04x}: the instruction before is malformed or its size field is wrong"
                ),
            })
        }
    }

    fn string(&mut self, what: &str) -> Result<String, Error> {
        let start = self.offset;
        let mut units = Vec::new();
        loop {
            let unit = self.u16(what)?;
            if unit == 0 {
                break;
            }
            units.push(unit);
        }
        String::from_utf16(&units).map_err(|_| Error::Pol {
            offset: start,
            message: format!("{what} is not valid UTF-16LE"),
        })
    }
}

/// Parse a policy file into its instructions.
pub fn decode(bytes: &[u8]) -> Result<Vec<Instruction>, Error> {
    let mut cursor = Cursor { bytes, offset: 0 };
    let signature = cursor.take(4, "the signature")?;
    if signature != SIGNATURE {
        return Err(Error::Pol {
            offset: 0,
            message: format!("the signature is {signature:02x?}, not \"PReg\""),
        });
    }
    let version = cursor.u32("the version")?;
    if version != VERSION {
        return Err(Error::Pol {
            offset: 4,
            message: format!("version {version}; only version 1 exists"),
        });
    }
    let mut out = Vec::new();
    while cursor.offset < bytes.len() {
        cursor.expect('[', "to open an instruction")?;
        let key = cursor.string("the key")?;
        cursor.expect(';', "after the key")?;
        let value = cursor.string("the value name")?;
        cursor.expect(';', "after the value name")?;
        let kind = cursor.u32("the type")?;
        cursor.expect(';', "after the type")?;
        let size = cursor.u32("the size")?;
        cursor.expect(';', "after the size")?;
        let size = usize::try_from(size).map_err(|_| cursor.error("size does not fit"))?;
        let data = cursor.take(size, "the data")?.to_vec();
        cursor.expect(']', "to close the instruction (check its size field)")?;
        out.push(Instruction {
            key,
            value,
            kind,
            data,
        });
    }
    Ok(out)
}

fn utf16_text(data: &[u8]) -> String {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    String::from_utf16_lossy(&units)
        .trim_end_matches('\0')
        .to_owned()
}

fn reg_value(kind: u32, data: &[u8]) -> RegValue {
    match kind {
        REG_SZ => RegValue::Sz(utf16_text(data)),
        REG_EXPAND_SZ => RegValue::ExpandSz(utf16_text(data)),
        REG_BINARY => RegValue::Binary(data.to_vec()),
        REG_DWORD => match <[u8; 4]>::try_from(data) {
            Ok(b) => RegValue::Dword(u32::from_le_bytes(b)),
            Err(_) => RegValue::Other(kind, data.to_vec()),
        },
        REG_DWORD_BIG_ENDIAN => match <[u8; 4]>::try_from(data) {
            Ok(b) => RegValue::Dword(u32::from_be_bytes(b)),
            Err(_) => RegValue::Other(kind, data.to_vec()),
        },
        REG_MULTI_SZ => RegValue::MultiSz(
            utf16_text(data)
                .split('\0')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        REG_QWORD => match <[u8; 8]>::try_from(data) {
            Ok(b) => RegValue::Qword(u64::from_le_bytes(b)),
            Err(_) => RegValue::Other(kind, data.to_vec()),
        },
        other => RegValue::Other(other, data.to_vec()),
    }
}

/// The hive a Registry.pol applies to, from the GPO folder it sits in.
fn scope_from_path(path: Option<&str>) -> Scope {
    let Some(path) = path else {
        return Scope::Unknown;
    };
    let folder = path
        .rsplit(['/', '\\'])
        .nth(1)
        .unwrap_or("")
        .to_ascii_lowercase();
    match folder.as_str() {
        "machine" => Scope::Machine,
        "user" => Scope::User,
        _ => Scope::Unknown,
    }
}

/// Read a Registry.pol and replay its instructions. `path`, when known, gives the scope.
pub fn read(bytes: &[u8], path: Option<&str>) -> Result<Parsed, Error> {
    let scope = scope_from_path(path);
    let mut tree = Tree::default();
    for i in decode(bytes)? {
        let lower = i.value.to_ascii_lowercase();
        if lower == "**delvals." {
            tree.delete_all_values(scope, &i.key);
        } else if let Some(name) = lower.strip_prefix("**del.") {
            // Keep the original spelling: deletes match without regard to case anyway.
            let name = i
                .value
                .get(i.value.len().saturating_sub(name.len())..)
                .unwrap_or(name);
            tree.delete_value(scope, &i.key, name);
        } else if lower.starts_with("**deletevalues") {
            for name in utf16_text(&i.data).split(';').filter(|n| !n.is_empty()) {
                tree.delete_value(scope, &i.key, name.trim());
            }
        } else if lower.starts_with("**deletekeys") {
            for sub in utf16_text(&i.data).split(';').filter(|n| !n.is_empty()) {
                tree.delete_key(scope, &format!("{}\\{}", i.key, sub.trim()));
            }
        } else if let Some(name) = lower.strip_prefix("**soft.") {
            // Set only when absent; the lab has no prior registry, so it is set.
            let name = i
                .value
                .get(i.value.len().saturating_sub(name.len())..)
                .unwrap_or(name);
            tree.set(scope, &i.key, name, reg_value(i.kind, &i.data));
        } else if lower.starts_with("**") {
            // **SecureKey and other ACL directives carry no value.
        } else if i.value.is_empty() {
            // A key-only instruction creates the key.
            tree.key_mut(scope, &i.key);
        } else {
            tree.set(scope, &i.key, &i.value, reg_value(i.kind, &i.data));
        }
    }
    let mut parsed = tree.into_parsed(scope != Scope::Unknown);
    if scope == Scope::Unknown && !parsed.settings.is_empty() {
        parsed.findings.push(Finding::new(
            &BRW_SCOPE_UNKNOWN,
            path.unwrap_or("Registry.pol"),
            "a Registry.pol does not name its hive: Machine\\Registry.pol applies to HKEY_LOCAL_MACHINE, User\\Registry.pol to HKEY_CURRENT_USER",
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OWA_SMIME_EXTENSION_FORCELIST_VALUE;

    #[test]
    fn round_trip() {
        let ours = instructions(Browser::Edge, OWA_SMIME_EXTENSION_FORCELIST_VALUE);
        assert_eq!(decode(&encode(&ours)).unwrap(), ours);
    }

    #[test]
    fn bytes_of_one_instruction() {
        let bytes = encode(&[Instruction {
            key: "K".into(),
            value: "v".into(),
            kind: REG_DWORD,
            data: vec![1, 0, 0, 0],
        }]);
        #[rustfmt::skip]
        let expected: &[u8] = &[
            b'P', b'R', b'e', b'g', 1, 0, 0, 0,
            b'[', 0, b'K', 0, 0, 0, b';', 0, b'v', 0, 0, 0, b';', 0,
            4, 0, 0, 0, b';', 0, 4, 0, 0, 0, b';', 0, 1, 0, 0, 0, b']', 0,
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn malformed_files_name_the_offset() {
        assert!(matches!(decode(b"PRe"), Err(Error::Pol { offset: 0, .. })));
        assert!(matches!(
            decode(b"XXXX\x01\0\0\0"),
            Err(Error::Pol { offset: 0, .. })
        ));
        assert!(matches!(
            decode(b"PReg\x02\0\0\0"),
            Err(Error::Pol { offset: 4, .. })
        ));
        let mut good = write(Browser::Chrome, OWA_SMIME_EXTENSION_FORCELIST_VALUE);
        // A size larger than the file must not allocate or panic.
        let size_at = good.len() - 2 - 2 * (OWA_SMIME_EXTENSION_FORCELIST_VALUE.len() + 1) - 2 - 4;
        good[size_at..size_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(decode(&good), Err(Error::Pol { .. })));
        let truncated = &write(Browser::Chrome, OWA_SMIME_EXTENSION_FORCELIST_VALUE)[..20];
        assert!(matches!(decode(truncated), Err(Error::Pol { .. })));
    }

    #[test]
    fn scope_comes_from_the_folder() {
        assert_eq!(
            scope_from_path(Some("GPO/Machine/Registry.pol")),
            Scope::Machine
        );
        assert_eq!(scope_from_path(Some(r"GPO\User\registry.pol")), Scope::User);
        assert_eq!(scope_from_path(Some("Registry.pol")), Scope::Unknown);
        assert_eq!(scope_from_path(None), Scope::Unknown);
    }
}
