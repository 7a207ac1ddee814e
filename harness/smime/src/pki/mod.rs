//! The lab PKI (step 1): a root, intermediates and users described in YAML, issued deterministically.
