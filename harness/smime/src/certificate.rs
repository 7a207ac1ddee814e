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
        let (label, der) = match der::pem::decode_vec(block.as_bytes()) {
            Ok((label, der)) => (label.to_owned(), der),
            Err(e) => lenient_pem(&block).ok_or_else(|| CertificateError::Pem {
                index,
                label: String::new(),
                reason: e.to_string(),
            })?,
        };
        let label = label.as_str();
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

/// RFC 7468 wants 64-column lines; Java keytool, Windows and several mail tools write 76.
/// Strict decoding first, then this: the label from the BEGIN line, the body as base64 with the
/// line breaks removed.
fn lenient_pem(block: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine;
    let mut lines = block.lines();
    let label = lines
        .next()?
        .strip_prefix("-----BEGIN ")?
        .strip_suffix("-----")?
        .to_owned();
    let body: String = lines
        .take_while(|l| !l.starts_with("-----END "))
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some((label, der))
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
    fn pem_with_76_column_lines_is_read() {
        use base64::Engine;
        let strict = crate::cms::test_support::vector("rfc9216/alice.sign.crt");
        let expected = parse_certificates(&strict).unwrap();
        let der = der::Encode::to_der(&expected[0]).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
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
