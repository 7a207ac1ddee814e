//! What a snapshot shows: the anatomy's types, serialised with serde in declaration order, and
//! the YAML writer. Optional facts are left out rather than written as `null`, so a snapshot
//! lists only what the message has.

use serde::Serialize;
use serde::ser::SerializeMap;

/// A message's anatomy. [`Anatomy::to_yaml`] is the snapshot text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Anatomy {
    /// One line per S/MIME layer met, outermost first: `clear-signed (SHA-256)`,
    /// `enveloped-data (AES-256-CBC, decrypted)`. Empty for a message without S/MIME.
    pub layers: Vec<String>,
    /// The message itself: the root of the MIME tree.
    pub message: Part,
}

/// One MIME entity. Only what is there is shown; `error` says where reading stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Part {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    /// `type/subtype`, lower case (`text/plain` when the entity has no Content-Type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
    /// Content-Transfer-Encoding as written (lower case), when the field is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_encoding: Option<String>,
    /// Content-Disposition as written, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// A leaf's decoded body, redacted: `text/plain, 57 bytes, sha256:1a2b3c4d…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Text before the first delimiter of a multipart, when it is not blank (redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preamble: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    /// Text after the close delimiter, when it is not blank (redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epilogue: Option<String>,
    /// The message inside a message/rfc822 entity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Box<Part>>,
    /// The CMS object of an application/pkcs7-mime or pkcs7-signature entity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cms: Option<Box<Cms>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The header fields a reader of a snapshot wants to see, in this order. A field that occurs
/// more than once is listed with every value: two From fields are a spoofing trick.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Headers {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<FieldValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<FieldValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cc: Option<FieldValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<FieldValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<FieldValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<FieldValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_version: Option<FieldValue>,
}

/// A header field's unfolded value, or every value when the field is repeated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    One(String),
    Many(Vec<String>),
}

/// The Content-Type parameters that matter for S/MIME, in a fixed order. The boundary is left
/// out: it is noise to a reader (the tree shows the parts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Parameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smime_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub micalg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
}

/// A CMS ContentInfo.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Cms {
    /// The contentType by its name in the OID database (`id-signedData`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_data: Option<SignedData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enveloped_data: Option<EnvelopeAnatomy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_enveloped_data: Option<EnvelopeAnatomy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// SignedData (RFC 5652 §5), fields in the RFC's order; the encapsulated content, once
/// described, comes last because it is the largest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SignedData {
    pub version: u8,
    pub digest_algorithms: Vec<String>,
    pub encapsulated_content: Encapsulated,
    pub certificates: Vec<CarriedCertificate>,
    /// Attribute certificates and other formats in the certificates field, by tag.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_certificates: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub crls: Vec<String>,
    pub signer_infos: Vec<Signer>,
    /// The eContent, read as a MIME entity (an opaque signature's content).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Box<Part>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Encapsulated {
    /// eContentType (`id-data` for S/MIME).
    #[serde(rename = "type")]
    pub content_type: String,
    /// No eContent: the signature is over content carried beside it (multipart/signed).
    pub detached: bool,
    /// The eContent's length and digest, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<String>,
}

/// A certificate in SignedData.certificates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CarriedCertificate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Serial number, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// SHA-1 of the certificate's bytes as carried: the thumbprint Exchange shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One SignerInfo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Signer {
    pub version: u8,
    pub sid: Identifier,
    pub digest_algorithm: String,
    /// In encoded order (DER sorts them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signed_attributes: Vec<AttributeAnatomy>,
    /// The signatureAlgorithm as encoded (`rsaEncryption`, `ecdsa-with-SHA256`).
    pub signature_algorithm: String,
    /// What it means with this digest, when the verifier knows the scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_scheme: Option<String>,
    /// Redacted.
    pub signature: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsigned_attributes: Vec<AttributeAnatomy>,
}

/// How a certificate is named: a signer, a recipient, an encryption key preference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "kebab-case")]
pub enum Identifier {
    IssuerAndSerial {
        issuer: String,
        /// Hex.
        serial: String,
    },
    /// Hex.
    SubjectKeyIdentifier(String),
}

/// A signed or unsigned attribute: its name and its decoded value where the value means
/// something to a reader. Serialised as a one-entry map, `- contentType: id-data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeAnatomy {
    pub name: String,
    pub value: AttributeValue,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AttributeValue {
    Text(String),
    List(Vec<String>),
    Identifier(Identifier),
}

impl Serialize for AttributeAnatomy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(&self.name, &self.value)?;
        map.end()
    }
}

/// EnvelopedData or AuthEnvelopedData (RFC 5652 §6, RFC 5083).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct EnvelopeAnatomy {
    pub version: u8,
    /// `n certificates, m CRLs`, when originatorInfo is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub originator_info: Option<String>,
    pub recipient_infos: Vec<RecipientAnatomy>,
    pub content_encryption: ContentEncryption,
    /// authAttrs (AuthEnvelopedData), by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authenticated_attributes: Vec<String>,
    /// The GCM tag's length (AuthEnvelopedData).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// unprotectedAttrs / unauthAttrs, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unprotected_attributes: Vec<String>,
    /// Opened with one of the identities given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decrypted: Option<Decryption>,
    /// Why it was not opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_decrypted: Option<String>,
}

/// One RecipientInfo, by kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "kebab-case")]
pub enum RecipientAnatomy {
    /// Key transport (RSA).
    Ktri(KeyTransport),
    /// Key agreement (ECDH).
    Kari(KeyAgreement),
    /// A pre-shared key encryption key.
    Kekri {
        version: u8,
        key_encryption_algorithm: String,
    },
    /// A password.
    Pwri {
        version: u8,
        key_encryption_algorithm: String,
    },
    /// Another recipient info type.
    Ori { ori_type: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct KeyTransport {
    pub version: u8,
    pub rid: Identifier,
    pub key_encryption_algorithm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oaep: Option<Oaep>,
    /// Redacted.
    pub encrypted_key: String,
}

/// RSAES-OAEP-params.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Oaep {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mgf1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labelled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct KeyAgreement {
    pub version: u8,
    pub originator: Originator,
    /// UserKeyingMaterial, redacted, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ukm: Option<String>,
    /// The key-agreement scheme (`dhSinglePass-stdDH-sha256kdf-scheme`).
    pub key_agreement_algorithm: String,
    /// Its parameter: the key-wrap algorithm (`id-aes256-wrap`).
    pub key_wrap_algorithm: String,
    pub recipient_encrypted_keys: Vec<EncryptedKeyAnatomy>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct EncryptedKeyAnatomy {
    pub rid: Identifier,
    /// Redacted.
    pub encrypted_key: String,
}

/// The kari originator: a static certificate, or (what clients send) an ephemeral public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "kebab-case")]
pub enum Originator {
    IssuerAndSerial {
        issuer: String,
        serial: String,
    },
    SubjectKeyIdentifier(String),
    OriginatorKey {
        algorithm: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        curve: Option<String>,
        /// Redacted.
        public_key: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ContentEncryption {
    /// The encrypted content's type (`id-data`).
    pub content_type: String,
    /// The contentEncryptionAlgorithm by its OID name (`id-aes256-CBC`).
    pub algorithm: String,
    /// What it resolves to (`AES-256-CBC`, `RC2-40-CBC`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// CBC IV, redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iv: Option<String>,
    /// GCM nonce, redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// GCM tag length from the parameters (12 when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icv_length: Option<usize>,
    /// Why the cipher is weak, for the legacy ones a mobile policy can demand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weak: Option<String>,
    /// Length only, or `absent`.
    pub encrypted_content: String,
    /// Why the parameters could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An envelope that one of the given identities opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Decryption {
    /// The subject of the certificate whose key opened it.
    pub by: String,
    pub recipient_matched_by: String,
    pub key_management: String,
    /// The decrypted entity.
    pub content: Box<Part>,
}

impl Anatomy {
    /// The snapshot text: YAML, two-space indentation, fields in declaration order.
    ///
    /// The writer is serde-saphyr's serializer: already in the lock file and in this crate (it
    /// reads scenario files), whereas insta's YAML writer is internal to insta. Its options are
    /// spelled out here rather than left to defaults, so that a change of default in a later
    /// version cannot restyle every snapshot: no block scalars (a long reason stays on one line
    /// instead of being folded at whitespace), YAML 1.1 quoting (`'1.0'`, `'yes'` stay strings
    /// for every reader). Key order is the structs' declaration order; there is no map whose
    /// order could vary.
    pub fn to_yaml(&self) -> String {
        let options = serde_saphyr::ser_options! {
            indent_step: 2,
            compact_list_indent: true,
            prefer_block_scalars: false,
            quote_all: false,
            yaml_12: false,
        };
        serde_saphyr::to_string_with_options(self, options).unwrap_or_else(|e| {
            // Not expected (the types are plain data), but a snapshot must never panic.
            format!(
                "error: {}\n",
                serde_json::to_string(&format!("the anatomy could not be written as YAML: {e}"))
                    .unwrap_or_default()
            )
        })
    }
}

impl Anatomy {
    /// Every recipient identifier of every envelope in the message, outermost first, including
    /// envelopes inside signed or decrypted content: who the message was encrypted to, read from
    /// the bytes (key transport `rid`s and key agreement `rid`s alike).
    pub fn recipient_identifiers(&self) -> Vec<&Identifier> {
        let mut found = Vec::new();
        self.message.visit_cms(&mut |cms| {
            for envelope in [&cms.enveloped_data, &cms.auth_enveloped_data]
                .into_iter()
                .flatten()
            {
                for info in &envelope.recipient_infos {
                    match info {
                        RecipientAnatomy::Ktri(k) => found.push(&k.rid),
                        RecipientAnatomy::Kari(k) => {
                            found.extend(k.recipient_encrypted_keys.iter().map(|e| &e.rid));
                        }
                        _ => {}
                    }
                }
            }
        });
        found
    }

    /// The SHA-1 thumbprints of the certificates every signature in the message carries
    /// (SignedData.certificates), outermost first, inside opened envelopes too: what a reader's
    /// client can take from the message.
    pub fn carried_thumbprints(&self) -> Vec<&str> {
        let mut found = Vec::new();
        self.message.visit_cms(&mut |cms| {
            if let Some(signed) = &cms.signed_data {
                found.extend(
                    signed
                        .certificates
                        .iter()
                        .filter_map(|c| c.thumbprint.as_deref()),
                );
            }
        });
        found
    }
}

impl Part {
    /// Calls `visit` on every CMS object in the tree, outermost first: in parts, attached
    /// messages, the content of opaque signatures and the content of opened envelopes.
    fn visit_cms<'a>(&'a self, visit: &mut impl FnMut(&'a Cms)) {
        for part in &self.parts {
            part.visit_cms(visit);
        }
        if let Some(message) = &self.message {
            message.visit_cms(visit);
        }
        let Some(cms) = &self.cms else {
            return;
        };
        visit(cms);
        if let Some(content) = cms.signed_data.as_ref().and_then(|s| s.content.as_ref()) {
            content.visit_cms(visit);
        }
        for envelope in [&cms.enveloped_data, &cms.auth_enveloped_data]
            .into_iter()
            .flatten()
        {
            if let Some(decrypted) = &envelope.decrypted {
                decrypted.content.visit_cms(visit);
            }
        }
    }
}

impl Identifier {
    /// The ways an envelope can name `certificate`: by issuer and serial number, and by subject
    /// key identifier when it has one; in the anatomy's own notation, so that
    /// [`Anatomy::recipient_identifiers`] can be compared with a certificate.
    pub fn of_certificate(certificate: &x509_cert::Certificate) -> Vec<Identifier> {
        let tbs = certificate.tbs_certificate();
        let mut names = vec![Identifier::IssuerAndSerial {
            issuer: tbs.issuer().to_string(),
            serial: hex::encode(tbs.serial_number().as_bytes()),
        }];
        if let Ok(Some((_, ski))) =
            tbs.get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
        {
            names.push(Identifier::SubjectKeyIdentifier(hex::encode(
                ski.0.as_bytes(),
            )));
        }
        names
    }

    /// `certificate` is the one this identifier names.
    pub fn names(&self, certificate: &x509_cert::Certificate) -> bool {
        Identifier::of_certificate(certificate).contains(self)
    }
}
