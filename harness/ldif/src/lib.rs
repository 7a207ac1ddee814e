//! LDIF content records (RFC 2849) read one entry at a time, as `ldifde -f` and `ldapsearch -L`
//! write them: an optional `version: 1`, comments (`#`, with their folded continuations), lines
//! folded by a leading space (ldifde folds at 78 columns, ldapsearch at 76), `attr: value`,
//! `attr:: base64`, attribute options (`userCertificate;binary`), any attribute order, CRLF or LF,
//! a UTF-8 byte-order mark, `changetype: add` (ldifde writes it on every entry) and ldapsearch's
//! trailer (`search: 2` / `result: 0 Success`).
//!
//! Memory is bounded by [`Limits`], not by the file: a physical line, an entry's total value
//! bytes and its number of values each have a cap, so a 200 MB file streams through in the memory
//! of its largest entry, and a runaway line or entry is an error naming the entry's DN and the
//! line. What an export does not hold is refused rather than guessed: change records other than
//! `add` (`modify`, `delete`, `modrdn`), `attr:< URL` values (a file reference the reader would
//! have to open), UTF-16 files (`ldifde -u`).
//!
//! ```
//! let text = "dn: cn=alice,dc=contoso,dc=com\nmail: alice@contoso.com\n\n";
//! let mut reader = ldif::Reader::new(text.as_bytes());
//! let entry = reader.next().unwrap().unwrap();
//! assert_eq!(entry.dn, "cn=alice,dc=contoso,dc=com");
//! assert_eq!(entry.first_text("MAIL").as_deref(), Some("alice@contoso.com"));
//! assert!(reader.next().is_none());
//! ```

use std::io::{BufRead, Read as _};

use base64::Engine as _;

/// The caps that bound a reader's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one physical line (a folded line's pieces count together in `entry`).
    pub line: usize,
    /// Bytes of one entry: its logical lines, before base64 decoding.
    pub entry: usize,
    /// Attribute values of one entry.
    pub values: usize,
}

impl Default for Limits {
    /// 1 MiB lines, 8 MiB entries, 4,096 values: a user with a hundred certificates of 10 KB
    /// each stays far inside, a file that is not LDIF fails fast.
    fn default() -> Self {
        Limits {
            line: 1 << 20,
            entry: 8 << 20,
            values: 4096,
        }
    }
}

/// One attribute value, where it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// The attribute description as written, options included (`userCertificate;binary`).
    pub name: String,
    /// The value's bytes (base64 decoded for `::`).
    pub bytes: Vec<u8>,
    /// The 1-based line the value's logical line starts on.
    pub line: u64,
}

impl Value {
    /// The attribute type without options (`userCertificate` for `userCertificate;binary`).
    pub fn base_name(&self) -> &str {
        self.name.split(';').next().unwrap_or(&self.name)
    }
}

/// One entry: its DN and every value in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    /// The 1-based line of the `dn:` line.
    pub line: u64,
    pub values: Vec<Value>,
}

impl Entry {
    /// The values of attribute type `name` (case-insensitive, any options), in file order.
    pub fn values_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.values
            .iter()
            .filter(move |v| v.base_name().eq_ignore_ascii_case(name))
    }

    /// The first value of `name` as text (lossy UTF-8), if any.
    pub fn first_text(&self, name: &str) -> Option<String> {
        self.values_of(name)
            .next()
            .map(|v| String::from_utf8_lossy(&v.bytes).into_owned())
    }
}

/// Why the LDIF cannot be read further. Each names the line and, once known, the entry's DN.
#[derive(Debug, thiserror::Error)]
pub enum LdifError {
    #[error("line {line}: cannot read the file: {source}")]
    Io {
        line: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("line {line}{}: {message}", in_entry(.dn))]
    Syntax {
        line: u64,
        /// The DN of the entry being read, when its `dn:` line was read.
        dn: Option<String>,
        message: String,
    },
}

impl LdifError {
    /// The 1-based line the problem is on.
    pub fn line(&self) -> u64 {
        match self {
            LdifError::Io { line, .. } | LdifError::Syntax { line, .. } => *line,
        }
    }

    /// The DN of the entry the problem is in, when known.
    pub fn dn(&self) -> Option<&str> {
        match self {
            LdifError::Io { .. } => None,
            LdifError::Syntax { dn, .. } => dn.as_deref(),
        }
    }
}

fn in_entry(dn: &Option<String>) -> String {
    match dn {
        Some(dn) => format!(" (entry {})", shown(dn)),
        None => String::new(),
    }
}

/// A DN as shown in a message: control characters escaped, cut to 200 characters.
fn shown(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(200)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// A physical line without its line ending. One over the cap is cut short and flagged: the error
/// is raised where the line is used, when the entry's DN is known.
struct Physical {
    line: u64,
    text: Vec<u8>,
    too_long: bool,
}

/// A logical line: a physical line with its continuations joined, and where it started.
struct Logical {
    line: u64,
    text: Vec<u8>,
}

/// Reads entries one at a time; an iterator of `Result<Entry, LdifError>` that stops after the
/// first error.
pub struct Reader<R> {
    input: R,
    limits: Limits,
    /// Physical lines read so far.
    line: u64,
    /// A physical line read ahead (to see whether the next one continues it).
    ahead: Option<Physical>,
    /// The first record is being read (where `version:` may stand).
    first: bool,
    finished: bool,
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R) -> Self {
        Self::with_limits(input, Limits::default())
    }

    pub fn with_limits(input: R, limits: Limits) -> Self {
        Reader {
            input,
            limits,
            line: 0,
            ahead: None,
            first: true,
            finished: false,
        }
    }

    fn syntax(&self, line: u64, dn: Option<&str>, message: impl Into<String>) -> LdifError {
        LdifError::Syntax {
            line,
            dn: dn.map(str::to_owned),
            message: message.into(),
        }
    }

    /// The next physical line; `None` at the end of the input.
    fn physical(&mut self) -> Result<Option<Physical>, LdifError> {
        if let Some(ahead) = self.ahead.take() {
            return Ok(Some(ahead));
        }
        let mut buf = Vec::new();
        let cap = self.limits.line as u64 + 2;
        let read = (&mut self.input)
            .take(cap)
            .read_until(b'\n', &mut buf)
            .map_err(|source| LdifError::Io {
                line: self.line + 1,
                source,
            })?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        let mut too_long = false;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        } else if buf.len() as u64 >= cap {
            too_long = true;
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if self.line == 1 {
            if buf.starts_with(&[0xFF, 0xFE]) || buf.starts_with(&[0xFE, 0xFF]) {
                return Err(self.syntax(
                    1,
                    None,
                    "the file is UTF-16 (ldifde -u writes it): export again without -u, or convert it to UTF-8",
                ));
            }
            if let Some(rest) = buf.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
                buf = rest.to_vec();
            }
        }
        Ok(Some(Physical {
            line: self.line,
            text: buf,
            too_long,
        }))
    }

    fn too_long(&self, line: u64, dn: Option<&str>) -> LdifError {
        self.syntax(
            line,
            dn,
            format!(
                "the line is longer than {} bytes: this is not an LDIF export, or a value is far larger than a certificate",
                self.limits.line
            ),
        )
    }

    /// The next logical line of the current record: `None` at a blank line or the end.
    /// Comments are dropped with their continuations.
    fn logical(
        &mut self,
        dn: Option<&str>,
        entry_bytes: &mut usize,
    ) -> Result<Option<Logical>, LdifError> {
        loop {
            let Some(Physical {
                line,
                text,
                too_long,
            }) = self.physical()?
            else {
                return Ok(None);
            };
            if too_long {
                return Err(self.too_long(line, dn));
            }
            if text.is_empty() {
                return Ok(None);
            }
            if text[0] == b' ' {
                return Err(self.syntax(
                    line,
                    dn,
                    "a continuation line (starting with a space) follows no line: an entry starts with `dn:` at the start of a line",
                ));
            }
            let comment = text[0] == b'#';
            let mut logical = Logical { line, text };
            // Continuations: a line starting with one space continues the one before.
            loop {
                match self.physical()? {
                    Some(next) if next.text.first() == Some(&b' ') => {
                        if next.too_long {
                            return Err(self.too_long(next.line, dn));
                        }
                        if !comment {
                            logical.text.extend_from_slice(&next.text[1..]);
                        }
                    }
                    other => {
                        self.ahead = other;
                        break;
                    }
                }
                if logical.text.len() > self.limits.entry {
                    break;
                }
            }
            if comment {
                continue;
            }
            *entry_bytes = entry_bytes.saturating_add(logical.text.len());
            if *entry_bytes > self.limits.entry {
                return Err(self.syntax(
                    logical.line,
                    dn,
                    format!(
                        "the entry holds more than {} bytes: split the export, or remove what the directory does not need to hold",
                        self.limits.entry
                    ),
                ));
            }
            return Ok(Some(logical));
        }
    }

    /// Skips blank lines and comments before a record; the record's first logical line.
    fn record_start(&mut self) -> Result<Option<Logical>, LdifError> {
        loop {
            let mut bytes = 0;
            match self.logical(None, &mut bytes)? {
                Some(logical) => return Ok(Some(logical)),
                None => {
                    if self.ahead.is_none() {
                        // A blank line, or the end: look once more to tell them apart.
                        match self.physical()? {
                            None => return Ok(None),
                            Some(line) => self.ahead = Some(line),
                        }
                    }
                }
            }
        }
    }

    fn read_entry(&mut self) -> Result<Option<Entry>, LdifError> {
        loop {
            let Some(first) = self.record_start()? else {
                return Ok(None);
            };
            let (name, value) = self.split(&first, None)?;
            if self.first && name.eq_ignore_ascii_case("version") {
                self.first = false;
                if value != b"1" {
                    return Err(self.syntax(
                        first.line,
                        None,
                        "only LDIF version 1 (RFC 2849) is read",
                    ));
                }
                // `version: 1` may stand alone or head the first entry.
                let mut bytes = 0;
                match self.logical(None, &mut bytes)? {
                    None => continue,
                    Some(next) => return self.entry_from(next).map(Some),
                }
            }
            self.first = false;
            if name.eq_ignore_ascii_case("search") || name.eq_ignore_ascii_case("result") {
                // ldapsearch's trailer (`search: 2`, `result: 0 Success`): not an entry.
                let mut bytes = 0;
                while self.logical(None, &mut bytes)?.is_some() {}
                continue;
            }
            return self.entry_from(first).map(Some);
        }
    }

    fn entry_from(&mut self, first: Logical) -> Result<Entry, LdifError> {
        let (name, value) = self.split(&first, None)?;
        if !name.eq_ignore_ascii_case("dn") {
            return Err(self.syntax(
                first.line,
                None,
                format!(
                    "an entry starts with its `dn:` line, not `{}:`: check that entries are separated by one blank line",
                    shown(&name)
                ),
            ));
        }
        let dn = String::from_utf8(value).map_err(|_| {
            self.syntax(
                first.line,
                None,
                "the DN is not UTF-8: write it base64-encoded (`dn:: `) as ldapsearch does",
            )
        })?;
        if dn.trim().is_empty() {
            return Err(self.syntax(first.line, None, "the DN is empty"));
        }
        let mut entry = Entry {
            dn,
            line: first.line,
            values: Vec::new(),
        };
        let mut bytes = first.text.len();
        let mut seen_attribute = false;
        while let Some(logical) = self.logical(Some(&entry.dn), &mut bytes)? {
            let (name, value) = self.split(&logical, Some(&entry.dn))?;
            if name.eq_ignore_ascii_case("changetype") {
                if seen_attribute || value != b"add" {
                    return Err(self.syntax(
                        logical.line,
                        Some(&entry.dn),
                        format!(
                            "`changetype: {}` is a change, not an export: export the users with `ldifde -f FILE` or `ldapsearch -LLL`",
                            shown(&String::from_utf8_lossy(&value))
                        ),
                    ));
                }
                continue;
            }
            if name.eq_ignore_ascii_case("control") {
                return Err(self.syntax(
                    logical.line,
                    Some(&entry.dn),
                    "`control:` belongs to change records, not to an export",
                ));
            }
            seen_attribute = true;
            if entry.values.len() >= self.limits.values {
                return Err(self.syntax(
                    logical.line,
                    Some(&entry.dn),
                    format!("the entry holds more than {} values", self.limits.values),
                ));
            }
            entry.values.push(Value {
                name,
                bytes: value,
                line: logical.line,
            });
        }
        Ok(entry)
    }

    /// `name: value`, `name:: base64` → (name, bytes).
    fn split(&self, logical: &Logical, dn: Option<&str>) -> Result<(String, Vec<u8>), LdifError> {
        let text = &logical.text;
        let Some(colon) = text.iter().position(|&b| b == b':') else {
            return Err(self.syntax(
                logical.line,
                dn,
                "expected `attribute: value` (a line without a colon: a value folded without its leading space?)",
            ));
        };
        let name = &text[..colon];
        let name_ok = !name.is_empty()
            && name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b';' | b'.'));
        if !name_ok {
            return Err(self.syntax(
                logical.line,
                dn,
                format!(
                    "`{}` is not an attribute name (letters, digits, '-', options after ';')",
                    shown(&String::from_utf8_lossy(name))
                ),
            ));
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let rest = &text[colon + 1..];
        let trim = |mut s: &[u8]| {
            while let [b' ', tail @ ..] = s {
                s = tail;
            }
            s.to_vec()
        };
        match rest.first() {
            Some(b':') => {
                let encoded: Vec<u8> = rest[1..]
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&encoded)
                    .map_err(|e| {
                        self.syntax(
                            logical.line,
                            dn,
                            format!(
                                "the base64 value of `{}` does not decode ({e}): a line of it may be missing or broken",
                                shown(&name)
                            ),
                        )
                    })?;
                Ok((name, bytes))
            }
            Some(b'<') => Err(self.syntax(
                logical.line,
                dn,
                format!(
                    "`{}:<` refers to a file; export the value inline (base64, `::`) instead",
                    shown(&name)
                ),
            )),
            _ => Ok((name, trim(rest))),
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Entry, LdifError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.read_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests;
