//! Does a private key belong to a certificate? Compares the public key derived from the PKCS#8
//! key with the certificate's SubjectPublicKeyInfo, without signing anything.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::Decode;
use der::asn1::ObjectIdentifier as Oid;
use pkcs8::DecodePrivateKey;

use super::Pkcs12Error;

/// True when the public key of `pkcs8_der` (a PKCS#8 `PrivateKeyInfo`) is the one certified by
/// `cert_der` (an X.509 certificate).
///
/// RSA (rsaEncryption or RSASSA-PSS keys), EC on P-256 and P-384, and any PKCS#8 v2 key that
/// carries its public key are compared; other algorithms (Ed25519 without an embedded public key,
/// say) are [`Pkcs12Error::UnsupportedAlgorithm`].
///
/// # Errors
/// [`Pkcs12Error::InvalidInput`] when either input does not parse, and
/// [`Pkcs12Error::UnsupportedAlgorithm`] as above.
pub fn public_key_matches(pkcs8_der: &[u8], cert_der: &[u8]) -> Result<bool, Pkcs12Error> {
    let key =
        pkcs8::PrivateKeyInfoRef::from_der(pkcs8_der).map_err(|e| Pkcs12Error::InvalidInput {
            what: "private key",
            detail: format!("not PKCS#8 PrivateKeyInfo DER: {e}"),
        })?;
    let cert =
        x509_cert::Certificate::from_der(cert_der).map_err(|e| Pkcs12Error::InvalidInput {
            what: "certificate",
            detail: format!("not an X.509 certificate in DER: {e}"),
        })?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    let Some(cert_public_key) = spki.subject_public_key.as_bytes() else {
        return Ok(false);
    };

    let is_rsa =
        |oid: ObjectIdentifier| oid == rfc5912::RSA_ENCRYPTION || oid == rfc5912::ID_RSASSA_PSS;
    let same_family = key.algorithm.oid == spki.algorithm.oid
        || (is_rsa(key.algorithm.oid) && is_rsa(spki.algorithm.oid));
    if !same_family {
        return Ok(false);
    }

    // RFC 5958 (PKCS#8 v2) keys may carry their public key: that settles it for any algorithm.
    if let Some(embedded) = key.public_key.as_ref().and_then(|bits| bits.as_bytes()) {
        return Ok(embedded == cert_public_key);
    }

    if is_rsa(key.algorithm.oid) {
        let private =
            pkcs1::RsaPrivateKeyRef::from_der(key.private_key.as_bytes()).map_err(|e| {
                Pkcs12Error::InvalidInput {
                    what: "private key",
                    detail: format!("not a PKCS#1 RSAPrivateKey inside the PKCS#8: {e}"),
                }
            })?;
        let Ok(public) = pkcs1::RsaPublicKeyRef::from_der(cert_public_key) else {
            return Ok(false);
        };
        return Ok(private.modulus.as_bytes() == public.modulus.as_bytes()
            && private.public_exponent.as_bytes() == public.public_exponent.as_bytes());
    }

    if key.algorithm.oid == rfc5912::ID_EC_PUBLIC_KEY {
        let key_curve = curve(
            key.algorithm
                .parameters
                .as_ref()
                .map(|p| p.decode_as::<Oid>()),
        );
        let cert_curve = curve(
            spki.algorithm
                .parameters
                .as_ref()
                .map(|p| p.decode_as::<Oid>()),
        );
        if key_curve.is_some() && cert_curve.is_some() && key_curve != cert_curve {
            return Ok(false);
        }
        return match cert_curve.or(key_curve) {
            Some(rfc5912::SECP_256_R_1) => p256_matches(pkcs8_der, cert_public_key),
            Some(rfc5912::SECP_384_R_1) => p384_matches(pkcs8_der, cert_public_key),
            Some(other) => Err(Pkcs12Error::unsupported("the key comparison", other)),
            None => Err(Pkcs12Error::InvalidInput {
                what: "certificate",
                detail: "EC public key without a named curve".into(),
            }),
        };
    }

    Err(Pkcs12Error::unsupported(
        "the key comparison",
        key.algorithm.oid,
    ))
}

fn curve(parameters: Option<Result<Oid, der::Error>>) -> Option<Oid> {
    parameters.and_then(Result::ok)
}

fn invalid_ec_key(e: impl std::fmt::Display) -> Pkcs12Error {
    Pkcs12Error::InvalidInput {
        what: "private key",
        detail: format!("not a valid EC private key for its curve: {e}"),
    }
}

fn p256_matches(pkcs8_der: &[u8], cert_public_key: &[u8]) -> Result<bool, Pkcs12Error> {
    let secret = p256::SecretKey::from_pkcs8_der(pkcs8_der).map_err(invalid_ec_key)?;
    Ok(p256::PublicKey::from_sec1_bytes(cert_public_key)
        .is_ok_and(|public| secret.public_key() == public))
}

fn p384_matches(pkcs8_der: &[u8], cert_public_key: &[u8]) -> Result<bool, Pkcs12Error> {
    let secret = p384::SecretKey::from_pkcs8_der(pkcs8_der).map_err(invalid_ec_key)?;
    Ok(p384::PublicKey::from_sec1_bytes(cert_public_key)
        .is_ok_and(|public| secret.public_key() == public))
}
