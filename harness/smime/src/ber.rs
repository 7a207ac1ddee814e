//! BER to DER for untrusted input: the one normaliser behind PKCS#12 and CMS (EnvelopedData,
//! AuthEnvelopedData) reading.
//!
//! Written by hand because no crate in the set does it: `der` 0.8 reads only DER, and its optional
//! `ber` feature reassembles indefinite-length constructed strings but refuses definite-length
//! constructed ones (der 0.8 `BytesOwned::decode_value_parts`). Real producers write all of these:
//! NSS (Thunderbird, Firefox) and Java write PFX files with indefinite lengths and segmented OCTET
//! STRINGs; Outlook, NSS and OpenSSL do the same for EnvelopedData (`MIAGCSqGSIb3DQEHA6CA...` is an
//! indefinite-length ContentInfo). The typed `der` structures then decode the DER produced here.
//!
//! The rules ([`to_der`]):
//! - indefinite lengths become definite ones, and every length is written in its shortest form
//!   (X.690 10.1);
//! - a constructed universal string (OCTET STRING and the character string types) becomes the
//!   primitive string of its concatenated segments (X.690 10.2; segments are strings of the same
//!   type, X.690 8.7.3.2, and may be segmented themselves);
//! - everything else, including the contents octets of every primitive value, is copied unchanged.
//!   This is what keeps a PFX's MAC verifiable after normalising: the MAC covers the *contents* of
//!   the `authSafe` OCTET STRING (RFC 7292 section 4), and nested DER inside an OCTET STRING is
//!   normalised by its own call when it is parsed.
//!
//! [`cms_to_der`] adds the one schema-dependent rule: the implicitly tagged `encryptedContent [0]`
//! of an (Auth)EnvelopedData (RFC 5652 section 6.1, RFC 5083 section 2.1) may be sent constructed,
//! and only the schema says that this `[0]` is a string and not a structure.
//!
//! One set of limits ([`MAX_DEPTH`], [`MAX_ELEMENTS`]) bounds time, memory and recursion whatever
//! the input; no caller needs others.

use std::fmt;

/// How deeply values may nest. The two readers this module replaced allowed 48 (PKCS#12) and 64
/// (CMS); the stricter one is kept because both formats stay far below it: a PFX nests about 12
/// levels (PFX → AuthenticatedSafe → SafeContents → SafeBag → certificate → extension), and an
/// EnvelopedData with an originator certificate inside stays below 20.
pub const MAX_DEPTH: usize = 48;

/// How many values (tag-length-value elements, end-of-contents markers not counted) one input may
/// hold. A real S/MIME message or PFX has a few hundred plus one per segment of a segmented
/// string; a million cost under 100 MB here, which bounds memory whatever the input.
pub const MAX_ELEMENTS: usize = 1_000_000;

/// Where and why a BER value could not be read, in the reader's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BerError {
    /// Byte offset into the input where the problem was found.
    pub offset: usize,
    pub problem: BerProblem,
}

/// What is wrong with a BER value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BerProblem {
    /// The input ended where a tag, a length or contents were expected.
    Truncated { expected: &'static str },
    /// A length claims more bytes than the input has.
    LengthPastEnd { length: usize, available: usize },
    /// A length field of more than four octets (over 4 GiB).
    LengthTooLong { octets: usize },
    /// The length octet 0xFF, reserved by X.690 8.1.3.5.
    ReservedLength,
    /// A tag number needing more than four continuation octets.
    TagTooLarge,
    /// Indefinite length on a primitive value (X.690 8.1.3.2 allows it only for constructed ones).
    IndefinitePrimitive,
    /// An indefinite-length value the input ends inside.
    MissingEndOfContents,
    /// `00` not followed by `00`, or an end-of-contents marker where no indefinite value is open.
    MisplacedEndOfContents,
    /// Bytes after the one outermost value.
    Trailing { count: usize },
    /// A segment of a constructed string of another type (X.690 8.7.3.2).
    ForeignSegment,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_ELEMENTS`] values.
    TooManyElements,
}

impl fmt::Display for BerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset;
        match &self.problem {
            BerProblem::Truncated { expected } => write!(
                f,
                "the data ends at byte {at} where {expected} should follow; is the file truncated?"
            ),
            BerProblem::LengthPastEnd { length, available } => write!(
                f,
                "the value at byte {at} claims {length} bytes but only {available} follow; is the file truncated?"
            ),
            BerProblem::LengthTooLong { octets } => write!(
                f,
                "the length at byte {at} has {octets} octets, which means more than 4 GiB; the data is corrupt"
            ),
            BerProblem::ReservedLength => write!(
                f,
                "the length at byte {at} is the reserved octet 0xFF; the data is corrupt or not ASN.1"
            ),
            BerProblem::TagTooLarge => write!(
                f,
                "the tag at byte {at} has a tag number too large for any S/MIME or PKCS#12 structure; the data is corrupt or not ASN.1"
            ),
            BerProblem::IndefinitePrimitive => write!(
                f,
                "the primitive value at byte {at} has an indefinite length, which BER allows only for constructed values"
            ),
            BerProblem::MissingEndOfContents => write!(
                f,
                "the indefinite-length value at byte {at} never ends (no end-of-contents marker); is the file truncated?"
            ),
            BerProblem::MisplacedEndOfContents => write!(
                f,
                "byte {at} holds a malformed or misplaced end-of-contents marker (00 00)"
            ),
            BerProblem::Trailing { count } => write!(
                f,
                "{count} bytes follow the end of the value at byte {at}; the input should hold exactly one structure"
            ),
            BerProblem::ForeignSegment => write!(
                f,
                "the segmented string at byte {at} contains a segment of another type"
            ),
            BerProblem::TooDeep => write!(
                f,
                "the structure at byte {at} nests more than {MAX_DEPTH} levels deep; a real S/MIME message or PKCS#12 file nests fewer than 20"
            ),
            BerProblem::TooManyElements => write!(
                f,
                "the structure has more than {MAX_ELEMENTS} elements (the last at byte {at}); a real S/MIME message or PKCS#12 file has a few hundred plus one per content segment"
            ),
        }
    }
}

impl std::error::Error for BerError {}

fn error<T>(offset: usize, problem: BerProblem) -> Result<T, BerError> {
    Err(BerError { offset, problem })
}

/// Normalises one complete BER (or already DER) value to DER by the generic rules in the module
/// documentation. Trailing bytes are an error.
pub fn to_der(input: &[u8]) -> Result<Vec<u8>, BerError> {
    let root = read_one(input)?;
    Ok(root.to_vec())
}

/// [`to_der`] for a CMS ContentInfo, plus the schema-dependent rule for `encryptedContent [0]` of
/// an (Auth)EnvelopedData described in the module documentation.
pub fn cms_to_der(input: &[u8]) -> Result<Vec<u8>, BerError> {
    let mut root = read_one(input)?;
    flatten_encrypted_content(&mut root)?;
    Ok(root.to_vec())
}

fn read_one(input: &[u8]) -> Result<Element<'_>, BerError> {
    let mut reader = Reader {
        input,
        pos: 0,
        elements: 0,
    };
    let root = reader.element(input.len(), 0)?;
    if reader.pos != input.len() {
        return error(
            reader.pos,
            BerProblem::Trailing {
                count: input.len() - reader.pos,
            },
        );
    }
    Ok(root)
}

/// A parsed element, rebuilt in DER form. Contents borrow the input unless segments were joined.
enum Element<'a> {
    Primitive {
        tag: Tag<'a>,
        contents: Contents<'a>,
    },
    Constructed {
        tag: &'a [u8],
        /// Where the element starts in the input, for errors found after parsing.
        offset: usize,
        children: Vec<Element<'a>>,
    },
}

/// The identifier octets as read, or the one-byte primitive tag of a joined string.
enum Tag<'a> {
    Borrowed(&'a [u8]),
    Primitive([u8; 1]),
}

impl Tag<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Tag::Borrowed(bytes) => bytes,
            Tag::Primitive(byte) => byte,
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

const UNIVERSAL_SEQUENCE: u8 = 0x30;
const UNIVERSAL_SET: u8 = 0x31;
const UNIVERSAL_OCTET_STRING: u8 = 0x04;
/// `[0]` constructed and primitive, context-specific class.
const CONTEXT_0_CONSTRUCTED: u8 = 0xA0;
const CONTEXT_0_PRIMITIVE: u8 = 0x80;

impl<'a> Element<'a> {
    fn tag(&self) -> &[u8] {
        match self {
            Element::Primitive { tag, .. } => tag.as_slice(),
            Element::Constructed { tag, .. } => tag,
        }
    }

    fn has_tag(&self, byte: u8) -> bool {
        self.tag() == [byte]
    }

    fn children_mut(&mut self) -> Option<&mut Vec<Element<'a>>> {
        match self {
            Element::Constructed { children, .. } => Some(children),
            Element::Primitive { .. } => None,
        }
    }

    fn encoded_len(&self) -> usize {
        let (tag_len, value_len) = match self {
            Element::Primitive { tag, contents } => {
                (tag.as_slice().len(), contents.as_slice().len())
            }
            Element::Constructed { tag, children, .. } => {
                (tag.len(), children.iter().map(Element::encoded_len).sum())
            }
        };
        tag_len + length_octets(value_len) + value_len
    }

    fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Element::Primitive { tag, contents } => {
                out.extend_from_slice(tag.as_slice());
                write_length(out, contents.as_slice().len());
                out.extend_from_slice(contents.as_slice());
            }
            Element::Constructed { tag, children, .. } => {
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
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// Universal string types whose constructed form is a plain concatenation of segments: OCTET
/// STRING and the character strings (X.690 8.23.5). BIT STRING is left out on purpose: its
/// segments each carry an unused-bits octet.
fn is_joinable_string(tag_byte: u8) -> bool {
    matches!(
        tag_byte & 0x1F,
        4 | 12 | 18 | 19 | 20 | 21 | 22 | 25 | 26 | 27 | 28 | 30
    ) && tag_byte & 0xC0 == 0
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    elements: usize,
}

impl<'a> Reader<'a> {
    fn byte(&self, at: usize, expected: &'static str) -> Result<u8, BerError> {
        match self.input.get(at) {
            Some(byte) => Ok(*byte),
            None => error(at, BerProblem::Truncated { expected }),
        }
    }

    /// Reads one element that must end by `limit` (the end of its enclosing definite-length
    /// value, or of the input).
    fn element(&mut self, limit: usize, depth: usize) -> Result<Element<'a>, BerError> {
        let start = self.pos;
        if depth > MAX_DEPTH {
            return error(start, BerProblem::TooDeep);
        }
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return error(start, BerProblem::TooManyElements);
        }
        let input = self.input.get(..limit).unwrap_or(self.input);
        let first = self.byte(start, "a tag")?;
        if first == 0 {
            // Tag 0 is the end-of-contents marker, valid only closing an indefinite length.
            return error(start, BerProblem::MisplacedEndOfContents);
        }
        let mut tag_end = start + 1;
        if first & 0x1F == 0x1F {
            // High tag number form: continuation bytes have bit 8 set. Four are plenty.
            loop {
                let Some(&byte) = input.get(tag_end) else {
                    return error(
                        tag_end,
                        BerProblem::Truncated {
                            expected: "the rest of a tag",
                        },
                    );
                };
                tag_end += 1;
                if byte & 0x80 == 0 {
                    break;
                }
                if tag_end - start > 5 {
                    return error(start, BerProblem::TagTooLarge);
                }
            }
        }
        let tag = input.get(start..tag_end).unwrap_or_default();
        self.pos = tag_end;
        let length = self.length(input)?;
        let contents_start = self.pos;
        let constructed = first & 0x20 != 0;

        match (constructed, length) {
            (false, None) => error(start, BerProblem::IndefinitePrimitive),
            (false, Some(len)) => {
                let end = checked_end(input, start, contents_start, len)?;
                self.pos = end;
                Ok(Element::Primitive {
                    tag: Tag::Borrowed(tag),
                    contents: Contents::Borrowed(
                        input.get(contents_start..end).unwrap_or_default(),
                    ),
                })
            }
            (true, length) => {
                let mut children = Vec::new();
                match length {
                    Some(len) => {
                        let end = checked_end(input, start, contents_start, len)?;
                        while self.pos < end {
                            children.push(self.element(end, depth + 1)?);
                        }
                    }
                    None => loop {
                        if input.get(self.pos) == Some(&0) {
                            if input.get(self.pos + 1) != Some(&0) {
                                return error(self.pos, BerProblem::MisplacedEndOfContents);
                            }
                            self.pos += 2;
                            break;
                        }
                        if self.pos >= input.len() {
                            return error(start, BerProblem::MissingEndOfContents);
                        }
                        children.push(self.element(limit, depth + 1)?);
                    },
                }
                if is_joinable_string(first) {
                    // The DER tag of the joined string is the primitive form of the same tag byte.
                    let joined = join_segments(&children, first & !0x20, start)?;
                    Ok(Element::Primitive {
                        tag: Tag::Primitive([first & !0x20]),
                        contents: Contents::Joined(joined),
                    })
                } else {
                    Ok(Element::Constructed {
                        tag,
                        offset: start,
                        children,
                    })
                }
            }
        }
    }

    /// `None` is the indefinite form.
    fn length(&mut self, input: &[u8]) -> Result<Option<usize>, BerError> {
        let at = self.pos;
        let Some(&first) = input.get(at) else {
            return error(
                at,
                BerProblem::Truncated {
                    expected: "a length",
                },
            );
        };
        self.pos += 1;
        match first {
            0x00..=0x7F => Ok(Some(usize::from(first))),
            0x80 => Ok(None),
            0xFF => error(at, BerProblem::ReservedLength),
            _ => {
                let count = usize::from(first & 0x7F);
                // Four octets cover 4 GiB, far beyond any S/MIME message or PKCS#12 file.
                if count > 4 {
                    return error(at, BerProblem::LengthTooLong { octets: count });
                }
                let mut len = 0usize;
                for _ in 0..count {
                    let Some(&byte) = input.get(self.pos) else {
                        return error(
                            self.pos,
                            BerProblem::Truncated {
                                expected: "the rest of a length",
                            },
                        );
                    };
                    self.pos += 1;
                    len = (len << 8) | usize::from(byte);
                }
                Ok(Some(len))
            }
        }
    }
}

fn checked_end(
    input: &[u8],
    element_start: usize,
    contents_start: usize,
    len: usize,
) -> Result<usize, BerError> {
    match contents_start.checked_add(len) {
        Some(end) if end <= input.len() => Ok(end),
        _ => error(
            element_start,
            BerProblem::LengthPastEnd {
                length: len,
                available: input.len().saturating_sub(contents_start),
            },
        ),
    }
}

/// Joins the segments of a constructed string; each must be a primitive string with the tag
/// `primitive_tag` (segments that were segmented themselves are joined already).
fn join_segments(
    segments: &[Element<'_>],
    primitive_tag: u8,
    offset: usize,
) -> Result<Vec<u8>, BerError> {
    let mut joined = Vec::new();
    for segment in segments {
        match segment {
            Element::Primitive { tag, contents } if tag.as_slice() == [primitive_tag] => {
                joined.extend_from_slice(contents.as_slice());
            }
            _ => return error(offset, BerProblem::ForeignSegment),
        }
    }
    Ok(joined)
}

/// ContentInfo → `[0]` → (Auth)EnvelopedData → EncryptedContentInfo → `encryptedContent [0]`: if
/// constructed, make it primitive. Other shapes are left alone; the typed decoder reports what is
/// wrong with them.
fn flatten_encrypted_content(root: &mut Element<'_>) -> Result<(), BerError> {
    let Some(content_info) = root.children_mut() else {
        return Ok(());
    };
    let Some(explicit) = content_info
        .get_mut(1)
        .filter(|n| n.has_tag(CONTEXT_0_CONSTRUCTED))
        .and_then(Element::children_mut)
    else {
        return Ok(());
    };
    let Some(envelope) = explicit
        .first_mut()
        .filter(|n| n.has_tag(UNIVERSAL_SEQUENCE))
        .and_then(Element::children_mut)
    else {
        return Ok(());
    };
    // EncryptedContentInfo follows the RecipientInfos SET in both EnvelopedData and
    // AuthEnvelopedData.
    let Some(set_index) = envelope.iter().position(|n| n.has_tag(UNIVERSAL_SET)) else {
        return Ok(());
    };
    let Some(encrypted_content_info) = envelope
        .get_mut(set_index + 1)
        .filter(|n| n.has_tag(UNIVERSAL_SEQUENCE))
        .and_then(Element::children_mut)
    else {
        return Ok(());
    };
    if let Some(field) = encrypted_content_info.get_mut(2)
        && let Element::Constructed {
            tag: [CONTEXT_0_CONSTRUCTED],
            offset,
            children,
        } = field
    {
        let joined = join_segments(children, UNIVERSAL_OCTET_STRING, *offset)?;
        *field = Element::Primitive {
            tag: Tag::Primitive([CONTEXT_0_PRIMITIVE]),
            contents: Contents::Joined(joined),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests;
