//! Reading certificates (PEM bundles, DER) and the facts about them that reports show.

use der::Decode;
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
            der::pem::decode_vec(block.as_bytes()).map_err(|e| CertificateError::Pem {
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

#[cfg(test)]
mod tests {
    use super::*;

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
