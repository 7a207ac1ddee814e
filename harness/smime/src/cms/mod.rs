//! CMS and S/MIME messages: sign, verify, encrypt, decrypt.
//!
//! Signing builds SignedData with the `cms` crate's typed structures (not its builder: the
//! builder reads the system clock for signingTime and hides the signer's error), wraps it in
//! multipart/signed or application/pkcs7-mime, and is deterministic given `now` and a seeded
//! generator. Verification is ours on RustCrypto primitives, with rustls-webpki for the path.
//! The envelope side (EnvelopedData, AuthEnvelopedData; RSA v1.5/OAEP, ECDH; AES-CBC/GCM and the
//! legacy ciphers a mobile policy can demand) lives in [`envelope`]; messages that combine the
//! two (signed then encrypted, triple-wrapped) are opened and built in [`open`].

pub mod address;
pub mod algorithms;
pub mod anatomy;
pub mod attributes;
mod crl;
pub mod envelope;
pub mod mime;
pub mod open;
pub mod path;
pub mod sign;
pub mod verdict;
pub mod verify;

pub use algorithms::{DigestAlgorithm, RsaPadding};
pub use open::{
    EncryptedLayer, Layer, OpenedMessage, ProtectError, open_message, sign_then_encrypt,
    triple_wrap,
};
pub use sign::{
    CertificateInclusion, OwnCertificates, SignError, SignOptions, SignedForm, Signer, sign_message,
};
pub use verdict::{Status, Verdict};
pub use verify::{Revocation, VerifyContext, verify_message, verify_signed_data};
/// The certificate type of this API (x509-cert's), so callers need no direct dependency.
pub use x509_cert::Certificate;
