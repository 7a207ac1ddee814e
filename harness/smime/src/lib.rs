//! S/MIME without I/O: the lab PKI, certificate profile checks, the Microsoft serialized certificate
//! store (SST), PKCS#12, and CMS/MIME signing, verification, encryption and decryption.
//!
//! Nothing in this crate touches the network, the file system or a clock it was not given: callers
//! pass bytes and a `now`, which is what makes the lab's snapshots byte-stable.

pub mod ber;
pub mod certificate;
pub mod checks;
pub mod cms;
pub mod key;
pub mod pkcs12;
pub mod pki;
pub mod rng;
pub mod shown;
pub mod sst;
pub mod yaml;
