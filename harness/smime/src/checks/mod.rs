//! The conformance catalogue and the certificate profile checks.
//!
//! [`catalogue`] is the one table of every check the lab reports (id, severity, source, remedy);
//! [`check_certificate`] applies the `PKI-*` rows to one certificate with its key, chain and
//! mailbox, and returns a [`Report`] of [`Finding`]s. Later areas (the SST, messages, the tenant)
//! add rows to the same table and raise findings of the same type.

pub mod catalogue;
mod facts;
mod path;
mod profile;
mod report;
pub(crate) mod signature;

#[cfg(test)]
mod tests;

pub use catalogue::{
    CATALOGUE, CheckInfo, PAGE_PATH, REGENERATE_PAGE, catalogue_markdown, catalogue_page, lookup,
};
pub use profile::{CertificateUnderTest, EXPIRY_WARNING_DAYS, check_certificate};
pub use report::{Finding, Report, Severity};
