//! Re-encodes the BER that real PKCS#12 producers write as DER, so the typed `der` structs can read it.
//!
//! NSS (Thunderbird, Firefox) and Java write PFX files with indefinite lengths and constructed
//! (segmented) OCTET STRINGs. `der` is DER-only in this workspace; its optional `ber` feature
//! reassembles indefinite-length constructed strings but refuses definite-length constructed ones
//! (der 0.8 `BytesOwned::decode_value_parts`), so this small pass is written here instead:
//!
//! - indefinite lengths become definite ones, and every length is written in its shortest form;
//! - a constructed universal string (OCTET STRING, and the character string types) becomes the
//!   primitive string of its concatenated segments;
//! - everything else, including the contents octets of every primitive value, is copied unchanged.
//!
//! The MAC of a PFX covers the *contents* of the `authSafe` OCTET STRING, which this pass keeps
//! byte for byte, so verifying the MAC after normalising is sound. Contents octets are opaque here:
//! the nested DER inside an OCTET STRING (AuthenticatedSafe, SafeContents) is normalised by its
//! own call when it is parsed.

use std::fmt;

/// Deeper nesting than any PKCS#12 structure needs; bounds recursion on hostile input.
const MAX_DEPTH: usize = 48;

/// Where and why BER could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BerError {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for BerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

/// Normalise one complete BER value (trailing bytes are an error) to DER.
pub(crate) fn to_der(input: &[u8]) -> Result<Vec<u8>, BerError> {
    let mut out = Vec::with_capacity(input.len());
    let mut pos = 0;
    let element = read_element(input, &mut pos, 0)?;
    if pos != input.len() {
        return Err(BerError {
            offset: pos,
            reason: "trailing data after the outermost value",
        });
    }
    element.write(&mut out);
    Ok(out)
}

/// A parsed element, rebuilt in DER form.
enum Element<'a> {
    Primitive {
        tag: TagBytes<'a>,
        contents: Contents<'a>,
    },
    Constructed {
        tag: &'a [u8],
        children: Vec<Element<'a>>,
    },
}

/// The identifier octets as read, or the one-byte primitive tag of a joined string.
enum TagBytes<'a> {
    Borrowed(&'a [u8]),
    Primitive([u8; 1]),
}

impl TagBytes<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            TagBytes::Borrowed(bytes) => bytes,
            TagBytes::Primitive(byte) => byte,
        }
    }
}

/// Contents of a primitive: a slice of the input, or segments joined from a constructed string.
enum Contents<'a> {
    Borrowed(&'a [u8]),
    Joined(Vec<u8>),
}

impl Contents<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Contents::Borrowed(bytes) => bytes,
            Contents::Joined(bytes) => bytes,
        }
    }
}

impl Element<'_> {
    fn encoded_len(&self) -> usize {
        let (tag_len, value_len) = match self {
            Element::Primitive { tag, contents } => {
                (tag.as_slice().len(), contents.as_slice().len())
            }
            Element::Constructed { tag, children } => {
                (tag.len(), children.iter().map(Element::encoded_len).sum())
            }
        };
        tag_len + length_octets(value_len) + value_len
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Element::Primitive { tag, contents } => {
                out.extend_from_slice(tag.as_slice());
                write_length(out, contents.as_slice().len());
                out.extend_from_slice(contents.as_slice());
            }
            Element::Constructed { tag, children } => {
                out.extend_from_slice(tag);
                write_length(out, children.iter().map(Element::encoded_len).sum());
                for child in children {
                    child.write(out);
                }
            }
        }
    }
}

fn length_octets(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

fn write_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        // Short form; `len < 0x80` makes the cast lossless.
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = &bytes[skip..];
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// Universal string types whose constructed form is a plain concatenation of segments.
/// BIT STRING is left out on purpose: its segments each carry an unused-bits octet.
fn is_joinable_string(tag_byte: u8) -> bool {
    matches!(
        tag_byte & 0x1F,
        4 | 12 | 18 | 19 | 20 | 21 | 22 | 25 | 26 | 27 | 28 | 30
    ) && tag_byte & 0xC0 == 0
}

fn error(offset: usize, reason: &'static str) -> BerError {
    BerError { offset, reason }
}

fn read_element<'a>(
    input: &'a [u8],
    pos: &mut usize,
    depth: usize,
) -> Result<Element<'a>, BerError> {
    if depth > MAX_DEPTH {
        return Err(error(*pos, "nesting too deep"));
    }
    let start = *pos;
    let first = *input
        .get(start)
        .ok_or(error(start, "unexpected end of data"))?;
    let mut tag_end = start + 1;
    if first & 0x1F == 0x1F {
        // High tag number form: continuation bytes have bit 8 set. Four are plenty for any tag.
        loop {
            let byte = *input
                .get(tag_end)
                .ok_or(error(tag_end, "unexpected end of data in a tag"))?;
            tag_end += 1;
            if byte & 0x80 == 0 {
                break;
            }
            if tag_end - start > 5 {
                return Err(error(start, "tag number too large"));
            }
        }
    }
    let constructed = first & 0x20 != 0;
    let tag = &input[start..tag_end];
    *pos = tag_end;

    let length = read_length(input, pos)?;
    let contents_start = *pos;

    match (constructed, length) {
        (false, None) => Err(error(start, "indefinite length on a primitive value")),
        (false, Some(len)) => {
            let end = checked_end(input, contents_start, len)?;
            *pos = end;
            Ok(Element::Primitive {
                tag: TagBytes::Borrowed(tag),
                contents: Contents::Borrowed(&input[contents_start..end]),
            })
        }
        (true, length) => {
            let mut children = Vec::new();
            match length {
                Some(len) => {
                    let end = checked_end(input, contents_start, len)?;
                    let inner = &input[..end];
                    while *pos < end {
                        children.push(read_element(inner, pos, depth + 1)?);
                    }
                }
                None => loop {
                    if input.get(*pos) == Some(&0) {
                        if input.get(*pos + 1) != Some(&0) {
                            return Err(error(*pos, "malformed end-of-contents marker"));
                        }
                        *pos += 2;
                        break;
                    }
                    if *pos >= input.len() {
                        return Err(error(*pos, "missing end-of-contents marker"));
                    }
                    children.push(read_element(input, pos, depth + 1)?);
                },
            }
            if is_joinable_string(first) {
                let mut joined = Vec::new();
                for child in &children {
                    collect_segment(child, first & 0x1F, &mut joined, start)?;
                }
                // The DER tag of the joined string is the primitive form of the same tag byte.
                Ok(Element::Primitive {
                    tag: TagBytes::Primitive([first & !0x20]),
                    contents: Contents::Joined(joined),
                })
            } else {
                Ok(Element::Constructed { tag, children })
            }
        }
    }
}

/// Segments of a constructed string must be strings of the same type (X.690 8.7.3.2), possibly
/// constructed themselves; by the time we see them they are already joined into primitives.
fn collect_segment(
    child: &Element<'_>,
    number: u8,
    out: &mut Vec<u8>,
    offset: usize,
) -> Result<(), BerError> {
    match child {
        Element::Primitive { tag, contents } if tag.as_slice() == [number] => {
            out.extend_from_slice(contents.as_slice());
            Ok(())
        }
        _ => Err(error(
            offset,
            "a segment of a constructed string has a different type",
        )),
    }
}

fn checked_end(input: &[u8], start: usize, len: usize) -> Result<usize, BerError> {
    start
        .checked_add(len)
        .filter(|end| *end <= input.len())
        .ok_or(error(
            start,
            "a length runs past the end of the data (is the file truncated?)",
        ))
}

/// `None` is the indefinite form.
fn read_length(input: &[u8], pos: &mut usize) -> Result<Option<usize>, BerError> {
    let at = *pos;
    let first = *input
        .get(at)
        .ok_or(error(at, "unexpected end of data in a length"))?;
    *pos += 1;
    match first {
        0x00..=0x7F => Ok(Some(usize::from(first))),
        0x80 => Ok(None),
        0xFF => Err(error(at, "reserved length octet 0xFF")),
        _ => {
            let count = usize::from(first & 0x7F);
            // Four octets cover 4 GiB, far beyond any PKCS#12 file; more is hostile or broken.
            if count > 4 {
                return Err(error(at, "length field longer than 4 octets"));
            }
            let mut len = 0usize;
            for _ in 0..count {
                let byte = *input
                    .get(*pos)
                    .ok_or(error(*pos, "unexpected end of data in a length"))?;
                *pos += 1;
                len = (len << 8) | usize::from(byte);
            }
            Ok(Some(len))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_passes_through_unchanged() {
        let der = [0x30, 0x06, 0x02, 0x01, 0x03, 0x04, 0x01, 0xAA];
        assert_eq!(to_der(&der).unwrap(), der);
    }

    #[test]
    fn indefinite_lengths_and_segmented_octet_strings_become_der() {
        // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { 04 01 AA, 04 02 BB CC } }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x01, 0xAA, 0x04, 0x02, 0xBB, 0xCC, 0x00, 0x00, 0x00,
            0x00,
        ];
        assert_eq!(
            to_der(&ber).unwrap(),
            [0x30, 0x05, 0x04, 0x03, 0xAA, 0xBB, 0xCC]
        );
    }

    #[test]
    fn definite_constructed_octet_string_is_joined() {
        let ber = [0x24, 0x06, 0x04, 0x01, 0x01, 0x04, 0x01, 0x02];
        assert_eq!(to_der(&ber).unwrap(), [0x04, 0x02, 0x01, 0x02]);
    }

    #[test]
    fn implicit_context_tags_keep_their_children() {
        // [0] constructed indefinite with OCTET STRING segments: left for the typed layer.
        let ber = [0xA0, 0x80, 0x04, 0x01, 0x01, 0x00, 0x00];
        assert_eq!(to_der(&ber).unwrap(), [0xA0, 0x03, 0x04, 0x01, 0x01]);
    }

    #[test]
    fn long_lengths_are_shortened() {
        let ber = [0x04, 0x82, 0x00, 0x01, 0xFF];
        assert_eq!(to_der(&ber).unwrap(), [0x04, 0x01, 0xFF]);
        let long = {
            let mut v = vec![0x04, 0x81, 0x80];
            v.extend(std::iter::repeat_n(7u8, 0x80));
            v
        };
        assert_eq!(to_der(&long).unwrap(), long);
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x80, 0x00],
            &[0x04, 0x80, 0x00, 0x00],
            &[0x04, 0x85, 1, 2, 3, 4, 5],
            &[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
            &[0x1F, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00],
            &[0x24, 0x03, 0x02, 0x01, 0x00],
            &[0x30, 0x00, 0x00],
        ] {
            assert!(to_der(bad).is_err(), "{bad:02x?}");
        }
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 10_000)
            .flatten()
            .collect();
        assert!(to_der(&deep).is_err());
    }
}
