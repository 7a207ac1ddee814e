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
