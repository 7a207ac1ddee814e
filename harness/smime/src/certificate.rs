//! Reading certificates (PEM bundles, DER) and the facts about them that reports show.

use der::Decode;
use der::Encode as _;
use sha1::Digest as _;
use x509_cert::Certificate;

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("no certificate found: expected PEM (-----BEGIN CERTIFICATE-----) or DER")]
    Empty,
    #[error("PEM block {index} ({label:?}) is not readable: {reason}")]
    Pem {
        index: usize,
        label: String,
        reason: String,
    },
    #[error("not a DER X.509 certificate: {0}")]
    Der(String),
}

/// Parses one DER certificate.
pub fn parse_der(der: &[u8]) -> Result<Certificate, CertificateError> {
    Certificate::from_der(der).map_err(|e| CertificateError::Der(e.to_string()))
}

/// Parses every `CERTIFICATE` block of a PEM file, or a single DER certificate. Other PEM blocks
/// (keys, CRLs) are skipped, so a bundle with a key in it still yields its certificates.
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, CertificateError> {
    let looks_like_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    if !looks_like_pem {
        return parse_der(bytes).map(|c| vec![c]);
    }
    let text = String::from_utf8_lossy(bytes);
    let mut certificates = Vec::new();
    for (index, block) in pem_blocks(&text).enumerate() {
        let (label, der) =
            decode_pem_block(block.as_bytes()).map_err(|e| CertificateError::Pem {
                index,
                label: String::new(),
                reason: e.to_string(),
            })?;
        if label == "CERTIFICATE" || label == "X509 CERTIFICATE" {
            let cert = parse_der(&der).map_err(|e| CertificateError::Pem {
                index,
                label: label.to_owned(),
                reason: e.to_string(),
            })?;
            certificates.push(cert);
        }
    }
    if certificates.is_empty() {
        Err(CertificateError::Empty)
    } else {
        Ok(certificates)
    }
}

/// Decodes one PEM block whatever its line width: Java keytool, Windows and several mail tools
/// wrap base64 at 76 columns, which RFC 7468's strict 64-column decoder refuses.
pub(crate) fn decode_pem_block(block: &[u8]) -> Result<(String, Vec<u8>), der::pem::Error> {
    let mut decoder = der::pem::Decoder::new_detect_wrap(block)?;
    let label = decoder.type_label().to_owned();
    let mut der = Vec::new();
    decoder.decode_to_end(&mut der)?;
    Ok((label, der))
}

/// Splits PEM text into its `-----BEGIN ...----- ... -----END ...-----` blocks, ignoring text around
/// them (openssl writes `subject=`/`issuer=` lines before each block).
fn pem_blocks(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut lines = text.lines();
    std::iter::from_fn(move || {
        let begin = lines.by_ref().find(|l| l.starts_with("-----BEGIN "))?;
        let mut block = String::from(begin.trim_end());
        block.push('\n');
        for line in lines.by_ref() {
            block.push_str(line.trim_end());
            block.push('\n');
            if line.starts_with("-----END ") {
                break;
            }
        }
        Some(block)
    })
}

// ---- Facts about a certificate, as reports show them (added with the SST reader) ----------------
//
// Kept in one block so the lead can grow the rest of this module without merge pain.

/// The SHA-1 thumbprint as Exchange shows it (`SMIMEExpiredCertificateThumbprint`, `Get-ChildItem
/// Cert:`): upper-case hex, no separators. It is a hash of the exact DER bytes, so pass the bytes
/// as they were read, not a re-encoding.
pub fn sha1_thumbprint(der: &[u8]) -> String {
    hex::encode_upper(sha1::Sha1::digest(der))
}

/// The SHA-1 thumbprint of an already decoded certificate. Prefer [`sha1_thumbprint`] on the
/// original bytes: re-encoding normalises a few non-DER quirks and would change the hash.
pub fn sha1_thumbprint_of(certificate: &Certificate) -> Result<String, der::Error> {
    Ok(sha1_thumbprint(&certificate.to_der()?))
}

/// The subject as an RFC 4514 string (most specific RDN first, e.g. `CN=Contoso Root CA,O=Contoso`).
pub fn subject_string(certificate: &Certificate) -> String {
    certificate.tbs_certificate().subject().to_string()
}

/// The issuer as an RFC 4514 string.
pub fn issuer_string(certificate: &Certificate) -> String {
    certificate.tbs_certificate().issuer().to_string()
}

/// NotAfter as a UTC timestamp.
pub fn not_after(certificate: &Certificate) -> time::OffsetDateTime {
    x509_time(certificate.tbs_certificate().validity().not_after)
}

/// NotBefore as a UTC timestamp.
pub fn not_before(certificate: &Certificate) -> time::OffsetDateTime {
    x509_time(certificate.tbs_certificate().validity().not_before)
}

/// Formats a timestamp as RFC 3339 (`2035-01-01T00:00:00Z`), the form reports and JSON use.
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        // Only years outside 0..=9999 fail to format, and X.509 times cannot express those.
        .unwrap_or_else(|_| at.to_string())
}

fn x509_time(at: x509_cert::time::Time) -> time::OffsetDateTime {
    // `der` decodes only 1970..=9999, which `time` represents without its large-dates feature, so
    // the fallback is unreachable for a decoded certificate; saturate rather than panic anyway.
    i64::try_from(at.to_unix_duration().as_secs())
        .ok()
        .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or(time::PrimitiveDateTime::MAX.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &[u8] = include_bytes!("../../../fixtures/sst/tiny-124.der");

    #[test]
    fn facts_of_the_tiny_certificate_match_openssl() {
        // `openssl x509 -inform DER -noout -subject -enddate -fingerprint -sha1` says:
        // subject=CN = a, notAfter=Jan  1 00:00:00 2035 GMT,
        // sha1 Fingerprint=BF:9F:E7:3D:CB:36:81:D2:BE:37:78:B8:DE:08:38:EA:79:85:FA:6B
        let certificate = Certificate::from_der(TINY).expect("fixture parses");
        assert_eq!(
            sha1_thumbprint(TINY),
            "BF9FE73DCB3681D2BE3778B8DE0838EA7985FA6B"
        );
        assert_eq!(
            sha1_thumbprint_of(&certificate).unwrap(),
            sha1_thumbprint(TINY)
        );
        assert_eq!(subject_string(&certificate), "CN=a");
        assert_eq!(issuer_string(&certificate), "CN=a");
        assert_eq!(rfc3339(not_after(&certificate)), "2035-01-01T00:00:00Z");
        assert_eq!(rfc3339(not_before(&certificate)), "2025-01-01T00:00:00Z");
    }

    #[test]
    fn pem_with_76_column_lines_is_read() {
        let strict = test_support::vector("rfc9216/alice.sign.crt");
        let expected = parse_certificates(&strict).unwrap();
        let text = String::from_utf8(strict).unwrap();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "subject=CN = Alice\n-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        );
        assert_eq!(parse_certificates(pem.as_bytes()).unwrap(), expected);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_certificates(b"").is_err());
        assert!(parse_certificates(b"\x30\x82\xff\xff").is_err());
        assert!(
            parse_certificates(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
        assert!(matches!(
            parse_certificates(b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n"),
            Err(CertificateError::Empty)
        ));
    }
}

/// A certificate as every report shows it: the certificate check's header (`smime-lab cert`), a
/// verdict's signer and carried certificates (`smime-lab verify`, OWA validation), a PKCS#12
/// file's certificates (`smime-lab pkcs12 inspect`). One shape and one spelling of each fact, so
/// the same certificate reads the same everywhere.
#[derive(
    Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct CertificateSummary {
    /// Subject DN (RFC 4514), or why the certificate could not be parsed.
    pub subject: String,
    /// Issuer DN (RFC 4514).
    pub issuer: String,
    /// Serial number, lower-case hex without separators.
    pub serial: String,
    /// SHA-1 of the DER certificate, upper-case hex: the thumbprint Windows and Exchange show.
    /// Empty when the bytes are not known and the certificate does not re-encode.
    pub thumbprint: String,
    /// NotBefore, RFC 3339.
    pub not_before: String,
    /// NotAfter, RFC 3339.
    pub not_after: String,
    /// For example `RSA-2048`, `ECDSA P-256` or `Ed25519`.
    pub key: String,
    /// Email addresses in the subject alternative name (rfc822Name and SmtpUTF8Mailbox), as
    /// written.
    #[serde(default)]
    pub emails: Vec<String>,
}

impl CertificateSummary {
    /// The summary of a certificate as it arrived: the thumbprint over its original bytes.
    pub fn of_der(certificate: &Certificate, der: &[u8]) -> Self {
        CertificateSummary {
            thumbprint: sha1_thumbprint(der),
            ..Self::of(certificate)
        }
    }

    /// The summary of a decoded certificate, its thumbprint over the re-encoding (prefer
    /// [`CertificateSummary::of_der`] when the bytes are at hand).
    pub fn of(certificate: &Certificate) -> Self {
        CertificateSummary {
            subject: subject_string(certificate),
            issuer: issuer_string(certificate),
            serial: hex::encode(certificate.tbs_certificate().serial_number().as_bytes()),
            thumbprint: sha1_thumbprint_of(certificate).unwrap_or_default(),
            not_before: rfc3339(not_before(certificate)),
            not_after: rfc3339(not_after(certificate)),
            key: crate::cms::verdict::key_description(certificate),
            emails: subject_alt_name_emails(certificate),
        }
    }

    /// Bytes that are not a certificate: the subject says why, the thumbprint still names them.
    pub fn unparseable(der: &[u8], why: impl std::fmt::Display) -> Self {
        CertificateSummary {
            subject: format!("(not parseable as X.509: {why})"),
            issuer: String::new(),
            serial: String::new(),
            thumbprint: sha1_thumbprint(der),
            not_before: String::new(),
            not_after: String::new(),
            key: String::new(),
            emails: Vec::new(),
        }
    }
}

/// id-on-SmtpUTF8Mailbox (RFC 9598): an internationalised mailbox in an otherName. Not in
/// `const_oid::db`, hence spelled out.
pub(crate) const ID_ON_SMTP_UTF8_MAILBOX: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.8.9");

/// The rfc822Name and SmtpUTF8Mailbox entries of the subject alternative name, in order.
fn subject_alt_name_emails(certificate: &Certificate) -> Vec<String> {
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    let Ok(Some((_, san))) = certificate
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
    else {
        return Vec::new();
    };
    san.0
        .iter()
        .filter_map(|name| match name {
            GeneralName::Rfc822Name(s) => Some(s.to_string()),
            GeneralName::OtherName(other) if other.type_id == ID_ON_SMTP_UTF8_MAILBOX => {
                other.value.decode_as::<String>().ok()
            }
            _ => None,
        })
        .collect()
}

/// TBSCertList as RFC 5280 §5.1 writes it, `version` OPTIONAL ("if present, MUST be v2"): absent
/// in a v1 CRL. x509-cert's `TbsCertList` requires the field, so it can neither read nor write a
/// v1 CRL; `cms::crl` reads with this and `pki::issue` writes with it.
#[derive(Clone, Debug, der::Sequence)]
pub(crate) struct TbsCertListAnyVersion {
    #[asn1(optional = "true")]
    pub version: Option<x509_cert::certificate::Version>,
    pub signature: spki::AlgorithmIdentifierOwned,
    pub issuer: x509_cert::name::Name,
    pub this_update: x509_cert::time::Time,
    pub next_update: Option<x509_cert::time::Time>,
    pub revoked_certificates: Option<Vec<x509_cert::crl::RevokedCert>>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub crl_extensions: Option<x509_cert::ext::Extensions>,
}
