//! CMS and S/MIME messages: sign, verify, encrypt, decrypt.

pub mod envelope;
