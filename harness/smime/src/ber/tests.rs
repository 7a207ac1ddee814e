//! The union of the tests of the two normalisers this module replaced (PKCS#12's and CMS's), plus
//! the limits and the CMS-only rule.

use super::*;

#[test]
fn der_passes_through_unchanged() {
    for der in [
        &[0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa][..],
        &[0x30, 0x06, 0x02, 0x01, 0x03, 0x04, 0x01, 0xAA][..],
    ] {
        assert_eq!(to_der(der).unwrap(), der);
        assert_eq!(cms_to_der(der).unwrap(), der);
    }
}

#[test]
fn indefinite_lengths_and_segmented_octet_strings_become_der() {
    // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { "ab", "c" } }
    let ber = [
        0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x00, 0x00,
    ];
    let der = [0x30, 0x05, 0x04, 0x03, b'a', b'b', b'c'];
    assert_eq!(to_der(&ber).unwrap(), der);
    assert_eq!(cms_to_der(&ber).unwrap(), der);
}

#[test]
fn definite_constructed_octet_string_is_joined() {
    let ber = [0x24, 0x06, 0x04, 0x01, 0x01, 0x04, 0x01, 0x02];
    assert_eq!(to_der(&ber).unwrap(), [0x04, 0x02, 0x01, 0x02]);
}

#[test]
fn segments_that_are_segmented_themselves_are_joined() {
    // OCTET STRING constructed { OCTET STRING constructed { "a" }, "b" } (X.690 8.7.3.2)
    let ber = [0x24, 0x08, 0x24, 0x03, 0x04, 0x01, b'a', 0x04, 0x01, b'b'];
    assert_eq!(to_der(&ber).unwrap(), [0x04, 0x02, b'a', b'b']);
}

#[test]
fn segmented_character_strings_are_joined_but_bit_strings_are_not() {
    // UTF8String constructed { "h", "i" }
    let utf8 = [0x2C, 0x06, 0x0C, 0x01, b'h', 0x0C, 0x01, b'i'];
    assert_eq!(to_der(&utf8).unwrap(), [0x0C, 0x02, b'h', b'i']);
    // A segmented BIT STRING keeps its segments: each carries its own unused-bits octet.
    let bits = [0x23, 0x04, 0x03, 0x02, 0x00, 0xFF];
    assert_eq!(to_der(&bits).unwrap(), bits);
}

#[test]
fn implicit_context_tags_keep_their_children() {
    // [0] constructed indefinite with OCTET STRING segments: only the schema knows what it is.
    let ber = [0xA0, 0x80, 0x04, 0x01, 0x01, 0x00, 0x00];
    assert_eq!(to_der(&ber).unwrap(), [0xA0, 0x03, 0x04, 0x01, 0x01]);
}

/// A minimal EnvelopedData-shaped ContentInfo whose `encryptedContent [0]` is `encrypted`.
fn content_info_with_encrypted_content(encrypted: &[u8]) -> Vec<u8> {
    let mut eci = vec![0x06, 0x01, 0x2A, 0x30, 0x00];
    eci.extend_from_slice(encrypted);
    let mut envelope = vec![0x02, 0x01, 0x00, 0x31, 0x00, 0x30, eci.len() as u8];
    envelope.extend(eci);
    let mut explicit = vec![0x30, envelope.len() as u8];
    explicit.extend(envelope);
    let mut content = vec![0x06, 0x01, 0x2A, 0xA0, explicit.len() as u8];
    content.extend(explicit);
    let mut root = vec![0x30, content.len() as u8];
    root.extend(content);
    root
}

#[test]
fn cms_encrypted_content_is_made_primitive_only_by_cms_to_der() {
    let segmented = content_info_with_encrypted_content(&[
        0xA0, 0x80, 0x04, 0x01, 0x11, 0x24, 0x80, 0x04, 0x01, 0x22, 0x00, 0x00, 0x00, 0x00,
    ]);
    let expected = content_info_with_encrypted_content(&[0x80, 0x02, 0x11, 0x22]);
    assert_eq!(cms_to_der(&segmented).unwrap(), expected);
    // The generic rules keep the implicitly tagged [0] constructed.
    let generic =
        content_info_with_encrypted_content(&[0xA0, 0x06, 0x04, 0x01, 0x11, 0x04, 0x01, 0x22]);
    assert_eq!(to_der(&segmented).unwrap(), generic);
    // A segment that is not an OCTET STRING is refused, naming where.
    let foreign = content_info_with_encrypted_content(&[0xA0, 0x03, 0x02, 0x01, 0x11]);
    let e = cms_to_der(&foreign).unwrap_err();
    assert_eq!(e.problem, BerProblem::ForeignSegment);
}

#[test]
fn long_lengths_are_re_encoded_minimally() {
    let mut ber = vec![0x04, 0x84, 0, 0, 0, 3, 1, 2, 3];
    assert_eq!(to_der(&ber).unwrap(), [0x04, 3, 1, 2, 3]);
    ber.truncate(8);
    assert!(to_der(&ber).is_err());
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
fn broken_input_is_an_error_not_a_panic() {
    for bad in [
        &[][..],
        &[0x30],
        &[0x30, 0x80],
        &[0x30, 0x80, 0x00],
        &[0x30, 0x80, 0x04, 0x01],
        &[0x04, 0x80, 0x00, 0x00],
        &[0x04, 0x85, 1, 2, 3, 4, 5],
        &[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
        &[0x04, 0xFF],
        &[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00],
        &[0x1F, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00],
        &[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        &[0x24, 0x03, 0x02, 0x01, 0x00],
        &[0x30, 0x00, 0x00],
        &[0x30, 0x02, 0x00, 0x00],
        &[0x30, 0x02, 0x00, 0x00, 0x00],
    ] {
        assert!(to_der(bad).is_err(), "{bad:02x?}");
        assert!(cms_to_der(bad).is_err(), "{bad:02x?}");
    }
}

#[test]
fn each_problem_is_named_in_the_readers_terms() {
    let cases: [(&[u8], BerProblem, &str); 8] = [
        (
            &[0x30, 0x05, 0x04],
            BerProblem::LengthPastEnd {
                length: 5,
                available: 1,
            },
            "the value at byte 0 claims 5 bytes but only 1 follow; is the file truncated?",
        ),
        (
            &[0x30, 0x80, 0x04, 0x00],
            BerProblem::MissingEndOfContents,
            "the indefinite-length value at byte 0 never ends",
        ),
        (
            &[0x04, 0x80, 0x00, 0x00],
            BerProblem::IndefinitePrimitive,
            "the primitive value at byte 0 has an indefinite length",
        ),
        (
            &[0x04, 0x00, 0x05, 0x00],
            BerProblem::Trailing { count: 2 },
            "2 bytes follow the end of the value at byte 2",
        ),
        (
            &[0x04, 0x85, 1, 2, 3, 4, 5],
            BerProblem::LengthTooLong { octets: 5 },
            "the length at byte 1 has 5 octets",
        ),
        (
            &[0x04, 0xFF],
            BerProblem::ReservedLength,
            "reserved octet 0xFF",
        ),
        (
            &[0x30, 0x02, 0x00, 0x00],
            BerProblem::MisplacedEndOfContents,
            "byte 2 holds a malformed or misplaced end-of-contents marker",
        ),
        (
            &[0x30],
            BerProblem::Truncated {
                expected: "a length",
            },
            "the data ends at byte 1 where a length should follow",
        ),
    ];
    for (input, problem, message) in cases {
        let e = to_der(input).unwrap_err();
        assert_eq!(e.problem, problem, "{input:02x?}");
        assert!(e.to_string().contains(message), "{e}");
    }
}

#[test]
fn nesting_deeper_than_the_limit_is_refused() {
    let nested = |levels: usize| -> Vec<u8> {
        let mut v: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], levels)
            .flatten()
            .collect();
        v.extend(std::iter::repeat_n(0u8, 2 * levels));
        v
    };
    // MAX_DEPTH + 1 levels (depths 0..=MAX_DEPTH) are read; one more is not.
    assert!(to_der(&nested(MAX_DEPTH + 1)).is_ok());
    let e = to_der(&nested(MAX_DEPTH + 2)).unwrap_err();
    assert_eq!(e.problem, BerProblem::TooDeep);
    assert!(
        e.to_string().contains("nests more than 48 levels deep"),
        "{e}"
    );
    for levels in [200, 10_000] {
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], levels)
            .flatten()
            .collect();
        assert_eq!(to_der(&deep).unwrap_err().problem, BerProblem::TooDeep);
        assert_eq!(cms_to_der(&deep).unwrap_err().problem, BerProblem::TooDeep);
    }
}

#[test]
fn more_elements_than_the_limit_are_refused() {
    // SEQUENCE (indefinite) { OCTET STRING "" × n }
    let flat = |n: usize| -> Vec<u8> {
        let mut v = vec![0x30, 0x80];
        v.extend(std::iter::repeat_n([0x04u8, 0x00], n).flatten());
        v.extend([0x00, 0x00]);
        v
    };
    // The SEQUENCE itself is one element.
    assert!(to_der(&flat(MAX_ELEMENTS - 1)).is_ok());
    let e = to_der(&flat(MAX_ELEMENTS)).unwrap_err();
    assert_eq!(e.problem, BerProblem::TooManyElements);
    assert!(
        e.to_string()
            .starts_with("the structure has more than 1000000 elements"),
        "{e}"
    );
}

/// Bounded, seeded mutation of segmented, indefinite-length CMS and PKCS#12-shaped inputs
/// (`fuzz/fuzz_targets/ber.rs` does the same without bounds): never a panic, and whatever is
/// accepted comes out as DER that the normaliser leaves unchanged.
#[test]
fn mutated_input_never_panics_and_accepted_input_becomes_stable_der() {
    use rand_core::Rng;
    let mut rng = crate::rng::seeded("ber/mutations");
    let seeds = [
        content_info_with_encrypted_content(&[
            0xA0, 0x80, 0x04, 0x01, 0x11, 0x24, 0x80, 0x04, 0x01, 0x22, 0x00, 0x00, 0x00, 0x00,
        ]),
        vec![
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x2C,
            0x06, 0x0C, 0x01, b'h', 0x0C, 0x01, b'i', 0xBF, 0x81, 0x01, 0x03, 0x02, 0x01, 0x07,
            0x00, 0x00,
        ],
    ];
    for seed in &seeds {
        for _ in 0..2_000 {
            let mut input = seed.clone();
            for _ in 0..=rng.next_u32() % 4 {
                let at = rng.next_u32() as usize % input.len();
                match rng.next_u32() % 3 {
                    0 => input[at] = rng.next_u32() as u8,
                    1 => {
                        input.remove(at);
                    }
                    _ => input.insert(at, rng.next_u32() as u8),
                }
                if input.is_empty() {
                    break;
                }
            }
            for normalise in [to_der, cms_to_der] {
                if let Ok(der) = normalise(&input) {
                    assert_eq!(to_der(&der).as_ref(), Ok(&der), "{input:02x?}");
                }
            }
        }
    }
}
