//! The PKCS#12 ASN.1 structures (RFC 7292 §4, appendix C) as typed `der` structs, plus the object
//! identifiers `const_oid::db` does not carry.

use const_oid::ObjectIdentifier;
use der::asn1::{Any, AnyRef, OctetString, OctetStringRef, SetOfVec};
use der::{
    Decode, DecodeValue, Encode, EncodeValue, Header, Length, Reader, Sequence, Tag, TagMode,
    TagNumber, Tagged, Writer,
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;

/// `const_oid::db` knows the PKCS#12 PBE identifiers (rfc7292) but not the bag types, the
/// X.509 certificate type of a CertBag, or PBMAC1 (RFC 9579): they are spelled out here.
pub(crate) mod oid {
    use const_oid::ObjectIdentifier;

    pub const KEY_BAG: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");
    pub const PKCS8_SHROUDED_KEY_BAG: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
    pub const CERT_BAG: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
    pub const SAFE_CONTENTS_BAG: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.6");
    /// certTypes.x509Certificate (PKCS#9): the only certificate type a CertBag carries in practice.
    pub const X509_CERTIFICATE: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
    /// id-PBMAC1 (RFC 8018 appendix A.5, used for PKCS#12 MACs by RFC 9579).
    pub const PBMAC1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.14");
}

/// ```text
/// PFX ::= SEQUENCE {
///     version     INTEGER {v3(3)}(v3,...),
///     authSafe    ContentInfo,
///     macData     MacData OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct Pfx {
    pub version: u8,
    pub auth_safe: cms::content_info::ContentInfo,
    pub mac_data: Option<MacData>,
}

/// ```text
/// MacData ::= SEQUENCE {
///     mac         DigestInfo,
///     macSalt     OCTET STRING,
///     iterations  INTEGER DEFAULT 1 }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct MacData {
    pub mac: DigestInfo,
    pub mac_salt: OctetString,
    #[asn1(default = "default_iterations")]
    pub iterations: u32,
}

fn default_iterations() -> u32 {
    1
}

/// `DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct DigestInfo {
    pub algorithm: AlgorithmIdentifierOwned,
    pub digest: OctetString,
}

/// ```text
/// SafeBag ::= SEQUENCE {
///     bagId          BAG-TYPE.&id ({PKCS12BagSet}),
///     bagValue       [0] EXPLICIT BAG-TYPE.&Type({PKCS12BagSet}{@bagId}),
///     bagAttributes  SET OF PKCS12Attribute OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SafeBag {
    pub bag_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub bag_value: Any,
    pub bag_attributes: Option<SetOfVec<Attribute>>,
}

/// ```text
/// CertBag ::= SEQUENCE {
///     certId    BAG-TYPE.&id   ({CertTypes}),
///     certValue [0] EXPLICIT BAG-TYPE.&Type ({CertTypes}{@certId}) }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct CertBag {
    pub cert_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub cert_value: OctetString,
}

/// PKCS#8 `EncryptedPrivateKeyInfo`, with the algorithm kept as a plain `AlgorithmIdentifier`.
///
/// `pkcs8::EncryptedPrivateKeyInfo` types its algorithm as `pkcs5::EncryptionScheme`, which only
/// parses PKCS#5 identifiers: a shrouded key bag under a PKCS#12 PBE (pbeWithSHAAnd3-KeyTripleDES-CBC,
/// what Windows, Java and `openssl -legacy` write) would fail to decode before we could decrypt it.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EncryptedPrivateKeyInfo {
    pub encryption_algorithm: AlgorithmIdentifierOwned,
    pub encrypted_data: OctetString,
}

/// `pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct Pkcs12PbeParams {
    pub salt: OctetString,
    pub iterations: u32,
}

/// `PBMAC1-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, messageAuthScheme AlgorithmIdentifier }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct Pbmac1Params {
    pub key_derivation_func: AlgorithmIdentifierOwned,
    pub message_auth_scheme: AlgorithmIdentifierOwned,
}

/// CMS `EncryptedData` without `unprotectedAttrs` (never used in PKCS#12).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EncryptedData {
    pub version: u8,
    pub encrypted_content_info: EncryptedContentInfo,
}

/// CMS `EncryptedContentInfo`, decoded by hand.
///
/// `encryptedContent [0] IMPLICIT OCTET STRING` is written by NSS (Thunderbird, Firefox) in the BER
/// constructed form: a constructed `[0]` holding OCTET STRING segments. Because the tag is
/// implicit, no schema-free BER-to-DER pass can tell it apart from an explicit `[0]` wrapper, and
/// `cms::enveloped_data::EncryptedContentInfo` (DER only) refuses it; so this type accepts both the
/// primitive and the constructed form and always writes the primitive (DER) one.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct EncryptedContentInfo {
    pub content_type: ObjectIdentifier,
    pub content_encryption_algorithm: AlgorithmIdentifierOwned,
    pub encrypted_content: Option<Vec<u8>>,
}

const ENCRYPTED_CONTENT_TAG: TagNumber = TagNumber(0);

impl<'a> DecodeValue<'a> for EncryptedContentInfo {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, _header: Header) -> der::Result<Self> {
        let content_type = reader.decode()?;
        let content_encryption_algorithm = reader.decode()?;
        let encrypted_content = if reader.is_finished() {
            None
        } else {
            let field = AnyRef::decode(reader)?;
            match field.tag() {
                Tag::ContextSpecific {
                    constructed: false,
                    number,
                } if number == ENCRYPTED_CONTENT_TAG => Some(field.value().to_vec()),
                Tag::ContextSpecific {
                    constructed: true,
                    number,
                } if number == ENCRYPTED_CONTENT_TAG => {
                    let mut segments = der::SliceReader::new(field.value())?;
                    let mut joined = Vec::new();
                    while !segments.is_finished() {
                        let segment = <&OctetStringRef>::decode(&mut segments)?;
                        joined.extend_from_slice(segment.as_bytes());
                    }
                    Some(joined)
                }
                other => {
                    return Err(reader.error(der::ErrorKind::TagUnexpected {
                        expected: Some(Tag::ContextSpecific {
                            constructed: false,
                            number: ENCRYPTED_CONTENT_TAG,
                        }),
                        actual: other,
                    }));
                }
            }
        };
        Ok(Self {
            content_type,
            content_encryption_algorithm,
            encrypted_content,
        })
    }
}

impl EncodeValue for EncryptedContentInfo {
    fn value_len(&self) -> der::Result<Length> {
        self.content_type.encoded_len()?
            + self.content_encryption_algorithm.encoded_len()?
            + self.encrypted_content_field()?.encoded_len()?
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.content_type.encode(writer)?;
        self.content_encryption_algorithm.encode(writer)?;
        if let Some(content) = self.encrypted_content_field()? {
            content.encode(writer)?;
        }
        Ok(())
    }
}

impl EncryptedContentInfo {
    fn encrypted_content_field(
        &self,
    ) -> der::Result<Option<der::asn1::ContextSpecific<OctetString>>> {
        self.encrypted_content
            .as_ref()
            .map(|bytes| {
                Ok(der::asn1::ContextSpecific {
                    tag_number: ENCRYPTED_CONTENT_TAG,
                    tag_mode: TagMode::Implicit,
                    value: OctetString::new(bytes.clone())?,
                })
            })
            .transpose()
    }
}

impl Sequence<'_> for EncryptedContentInfo {}
