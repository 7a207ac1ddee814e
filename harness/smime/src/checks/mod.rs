//! The conformance catalogue and the certificate profile checks.
