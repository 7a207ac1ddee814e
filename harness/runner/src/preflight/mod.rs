//! Rollout preflight (`smime-lab preflight DIR`, `cargo xtask run-scenarios --preflight DIR`):
//! the admin's own organisation rehearsed on the lab before the first sync cycle. `DIR` holds
//! `preflight.yaml` naming the collection Set-SmimeConfig will get, the directory's users as
//! `ldifde` or `ldapsearch` exported them, optionally the current `Get-SmimeConfig`, the mobile
//! device mailbox policies, the CRLs and which CRL hosts Exchange Online can reach.
//!
//! [`input`] reads and checks the description and its files before a lab starts (exit 2 naming
//! the file, field or line); [`directory`] streams the LDIF (the `ldif` crate) into users;
//! [`run`] rehearses them through the scenario executor's functions (no second implementation of
//! a step), [`mobile`] the mobile policies, [`messages`] signing with the users' PKCS#12 files and
//! a sample of encrypted mail; [`checks`] is the table of what can be found, each tied to its fidelity ledger row;
//! [`report`] holds the result and its terminal, JSON, JUnit and HTML forms.
//!
//! Like vendor mode it lives in `runner`, above `scenario` and `lab`: it runs the executor and
//! knows the lab, which the scenario format must not.
pub mod checks;
pub mod directory;
pub mod input;
pub mod messages;
pub mod mobile;
pub mod report;
pub mod run;

pub use input::{InputError, Preflight};
