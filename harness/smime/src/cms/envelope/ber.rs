//! BER to DER, for the CMS objects real mail clients send.
//!
//! Written by hand because no crate in the set does it: `der` 0.8 reads only DER, and its optional
//! BER mode covers one level of indefinite length but not constructed strings with definite
//! lengths or nested constructed strings, all of which Outlook, Thunderbird (NSS) and OpenSSL emit
//! for EnvelopedData (`MIAGCSqGSIb3DQEHA6CA...` is an indefinite-length ContentInfo). The typed
//! `cms` structures are then decoded from the DER this module produces.
//!
//! Generic rules: indefinite lengths become definite, and constructed universal OCTET STRINGs become
//! primitive. The one schema-dependent rule is the implicitly tagged `encryptedContent [0]` of an
//! (Auth)EnvelopedData: BER may send it constructed (a series of OCTET STRING chunks), and only the
//! schema says that this `[0]` is a string and not a structure, so it is handled at its known path.

/// How deeply BER may nest before we refuse it. Real CMS with certificates inside stays below 20.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("BER/DER at byte {offset}: {what}")]
pub struct BerError {
    pub offset: usize,
    pub what: String,
}

fn err<T>(offset: usize, what: impl Into<String>) -> Result<T, BerError> {
    Err(BerError {
        offset,
        what: what.into(),
    })
}

/// One TLV. `identifier` holds the identifier octets verbatim (including high tag numbers).
#[derive(Debug, Clone)]
struct Node {
    identifier: Vec<u8>,
    content: Content,
}

#[derive(Debug, Clone)]
enum Content {
    Primitive(Vec<u8>),
    Constructed(Vec<Node>),
}

impl Node {
    fn class_and_number(&self) -> (u8, u32) {
        let first = self.identifier.first().copied().unwrap_or(0);
        let class = first >> 6;
        if first & 0x1f != 0x1f {
            return (class, u32::from(first & 0x1f));
        }
        let mut number: u32 = 0;
        for b in self.identifier.iter().skip(1) {
            number = number
                .saturating_mul(128)
                .saturating_add(u32::from(b & 0x7f));
        }
        (class, number)
    }

    fn is(&self, class: u8, number: u32) -> bool {
        self.class_and_number() == (class, number)
    }
}

const UNIVERSAL: u8 = 0;
const CONTEXT: u8 = 2;
const OCTET_STRING: u32 = 4;
const SEQUENCE: u32 = 16;
const SET: u32 = 17;

/// Converts a BER (or already DER) encoding of one value to DER, with the CMS-specific fix for
/// `encryptedContent [0]` described in the module documentation. Trailing bytes are an error.
pub fn cms_to_der(input: &[u8]) -> Result<Vec<u8>, BerError> {
    let mut pos = 0;
    let mut root = parse(input, &mut pos, 0)?;
    if pos != input.len() {
        return err(
            pos,
            format!("{} trailing bytes after the value", input.len() - pos),
        );
    }
    flatten_encrypted_content(&mut root)?;
    let mut out = Vec::with_capacity(input.len());
    encode(&root, &mut out)?;
    Ok(out)
}

fn parse(input: &[u8], pos: &mut usize, depth: usize) -> Result<Node, BerError> {
    if depth > MAX_DEPTH {
        return err(*pos, format!("nested more than {MAX_DEPTH} levels deep"));
    }
    let start = *pos;
    let identifier = read_identifier(input, pos)?;
    if identifier == [0] {
        return err(start, "unexpected end-of-contents marker (tag 0)");
    }
    let constructed = identifier.first().is_some_and(|b| b & 0x20 != 0);
    let length = read_length(input, pos)?;
    let content = match length {
        Some(len) => {
            let end = pos
                .checked_add(len)
                .filter(|end| *end <= input.len())
                .ok_or(BerError {
                    offset: start,
                    what: format!(
                        "length {len} runs past the end of the input ({} bytes)",
                        input.len()
                    ),
                })?;
            let body = input.get(*pos..end).unwrap_or_default();
            let content = if constructed {
                let mut inner = 0;
                let mut children = Vec::new();
                while inner < body.len() {
                    let mut child_pos = inner;
                    let child =
                        parse(body, &mut child_pos, depth + 1).map_err(|e| shift(e, *pos))?;
                    inner = child_pos;
                    children.push(child);
                }
                Content::Constructed(children)
            } else {
                Content::Primitive(body.to_vec())
            };
            *pos = end;
            content
        }
        None => {
            if !constructed {
                return err(start, "indefinite length on a primitive value");
            }
            let mut children = Vec::new();
            loop {
                if input.get(*pos..pos.saturating_add(2)) == Some(&[0, 0][..]) {
                    *pos += 2;
                    break;
                }
                if *pos >= input.len() {
                    return err(
                        start,
                        "indefinite-length value has no end-of-contents marker",
                    );
                }
                children.push(parse(input, pos, depth + 1)?);
            }
            Content::Constructed(children)
        }
    };
    Ok(Node {
        identifier,
        content,
    })
}

fn shift(mut e: BerError, by: usize) -> BerError {
    e.offset = e.offset.saturating_add(by);
    e
}

fn read_identifier(input: &[u8], pos: &mut usize) -> Result<Vec<u8>, BerError> {
    let start = *pos;
    let Some(&first) = input.get(*pos) else {
        return err(start, "expected a tag, found the end of the input");
    };
    *pos += 1;
    let mut identifier = vec![first];
    if first & 0x1f == 0x1f {
        loop {
            let Some(&b) = input.get(*pos) else {
                return err(start, "high tag number runs past the end of the input");
            };
            *pos += 1;
            identifier.push(b);
            if identifier.len() > 5 {
                return err(start, "tag number too large");
            }
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    Ok(identifier)
}

/// `None` is the indefinite length.
fn read_length(input: &[u8], pos: &mut usize) -> Result<Option<usize>, BerError> {
    let start = *pos;
    let Some(&first) = input.get(*pos) else {
        return err(start, "expected a length, found the end of the input");
    };
    *pos += 1;
    if first < 0x80 {
        return Ok(Some(usize::from(first)));
    }
    if first == 0x80 {
        return Ok(None);
    }
    let count = usize::from(first & 0x7f);
    if count > 4 {
        return err(
            start,
            format!("{count}-byte length is larger than this reader accepts"),
        );
    }
    let mut len: usize = 0;
    for _ in 0..count {
        let Some(&b) = input.get(*pos) else {
            return err(start, "length runs past the end of the input");
        };
        *pos += 1;
        len = (len << 8) | usize::from(b);
    }
    Ok(Some(len))
}

/// Concatenates the chunks of a constructed string; chunks may themselves be constructed (BER
/// allows it, and some encoders nest one level).
fn concat_chunks(children: &[Node], out: &mut Vec<u8>) -> Result<(), BerError> {
    for child in children {
        if !child.is(UNIVERSAL, OCTET_STRING) {
            return err(
                0,
                "a constructed OCTET STRING contains something other than OCTET STRING chunks",
            );
        }
        match &child.content {
            Content::Primitive(bytes) => out.extend_from_slice(bytes),
            Content::Constructed(grandchildren) => concat_chunks(grandchildren, out)?,
        }
    }
    Ok(())
}

/// ContentInfo → [0] → (Auth)EnvelopedData → EncryptedContentInfo → [0]: if constructed, make it
/// primitive. Other shapes are left alone; the typed decoder reports what is wrong with them.
fn flatten_encrypted_content(root: &mut Node) -> Result<(), BerError> {
    let Content::Constructed(ci) = &mut root.content else {
        return Ok(());
    };
    let Some(explicit) = ci.get_mut(1).filter(|n| n.is(CONTEXT, 0)) else {
        return Ok(());
    };
    let Content::Constructed(inner) = &mut explicit.content else {
        return Ok(());
    };
    let Some(envelope) = inner.first_mut().filter(|n| n.is(UNIVERSAL, SEQUENCE)) else {
        return Ok(());
    };
    let Content::Constructed(fields) = &mut envelope.content else {
        return Ok(());
    };
    let Some(set_index) = fields.iter().position(|n| n.is(UNIVERSAL, SET)) else {
        return Ok(());
    };
    let Some(eci) = fields
        .get_mut(set_index + 1)
        .filter(|n| n.is(UNIVERSAL, SEQUENCE))
    else {
        return Ok(());
    };
    let Content::Constructed(eci_fields) = &mut eci.content else {
        return Ok(());
    };
    if let Some(enc) = eci_fields.get_mut(2).filter(|n| n.is(CONTEXT, 0))
        && let Content::Constructed(chunks) = &enc.content
    {
        let mut bytes = Vec::new();
        concat_chunks(chunks, &mut bytes)?;
        enc.identifier = vec![0x80];
        enc.content = Content::Primitive(bytes);
    }
    Ok(())
}

fn encode(node: &Node, out: &mut Vec<u8>) -> Result<(), BerError> {
    // Generic rule: a constructed universal OCTET STRING becomes primitive.
    if node.is(UNIVERSAL, OCTET_STRING)
        && let Content::Constructed(children) = &node.content
    {
        let mut bytes = Vec::new();
        concat_chunks(children, &mut bytes)?;
        out.push(0x04);
        write_length(bytes.len(), out);
        out.extend_from_slice(&bytes);
        return Ok(());
    }
    out.extend_from_slice(&node.identifier);
    match &node.content {
        Content::Primitive(bytes) => {
            write_length(bytes.len(), out);
            out.extend_from_slice(bytes);
        }
        Content::Constructed(children) => {
            let mut body = Vec::new();
            for child in children {
                encode(child, &mut body)?;
            }
            write_length(body.len(), out);
            out.extend_from_slice(&body);
        }
    }
    Ok(())
}

fn write_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_passes_through_unchanged() {
        let der = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa];
        assert_eq!(cms_to_der(&der).unwrap(), der);
    }

    #[test]
    fn indefinite_lengths_and_constructed_strings_become_der() {
        // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { "ab", "c" } }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x00,
            0x00,
        ];
        assert_eq!(
            cms_to_der(&ber).unwrap(),
            [0x30, 0x05, 0x04, 0x03, b'a', b'b', b'c']
        );
    }

    #[test]
    fn long_lengths_are_re_encoded_minimally() {
        let mut ber = vec![0x04, 0x84, 0, 0, 0, 3, 1, 2, 3];
        assert_eq!(cms_to_der(&ber).unwrap(), [0x04, 3, 1, 2, 3]);
        ber.truncate(8);
        assert!(cms_to_der(&ber).is_err());
    }

    #[test]
    fn broken_input_is_an_error_not_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x80, 0x04, 0x01],
            &[0x04, 0x80, 0x00, 0x00],
            &[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00],
            &[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            &[0x30, 0x02, 0x00, 0x00, 0x00],
        ] {
            assert!(cms_to_der(bad).is_err(), "{bad:02x?}");
        }
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 200).flatten().collect();
        assert!(cms_to_der(&deep).is_err());
    }
}
