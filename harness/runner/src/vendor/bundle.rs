//! A vendor's bundle as it arrives: a directory with `vendor.yaml`, the CA chain (PEM, DER, SST or
//! PKCS#7) and one PKCS#12 file per user identity, optionally the CAs' CRLs. Everything is read and
//! checked here, before a lab starts, so that a mistake in the bundle is reported with the file
//! and field that hold it.
//!
//! ```yaml
//! vendor: Fabrikam Issuing Services       # shown in reports
//! tenant: fabrikam.onmicrosoft.com        # optional; default <first label of the domain>.onmicrosoft.com
//! now: 2026-01-01T00:00:00Z               # optional; default: the current time
//! ca: [root.pem, issuing.pem]             # the virtual certificate collection (PEM/DER/SST/PKCS#7)
//! crls: [issuing.crl]                     # optional; served at the URLs the certificates name
//! users:
//!   - { mailbox: alice@fabrikam.com, pkcs12: alice.p12, password: secret }
//!   - { mailbox: bob@fabrikam.com, pkcs12: [bob-sign.p12, bob-encrypt.p12], password-env: BOB_P12 }
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use smime::key::PrivateKey;
use time::OffsetDateTime;
use x509_cert::Certificate;

/// The name of the bundle's description file.
pub const DESCRIPTION_FILE: &str = "vendor.yaml";

/// Why a bundle cannot be used. Each names the file (and field) to fix.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: cannot read it: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid vendor description: {message}")]
    Yaml { path: PathBuf, message: String },
    #[error("{path}: {field}: {message}")]
    Field {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

// `vendor.yaml`, as written. The doc comments below are the descriptions editors show from the
// committed JSON Schema (`fixtures/vendor/vendor.schema.json`, made by `schema_json`).
/// A vendor bundle's description: the vendor, the CA files, the CRLs and the users' PKCS#12 files,
/// every file named relative to the bundle's directory (fixtures/vendor/README.md).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "smime-lab vendor bundle (vendor.yaml)")]
struct VendorFile {
    /// The vendor's name, shown in reports.
    vendor: String,
    /// The tenant of the admin API; default `<first label of the mail domain>.onmicrosoft.com`.
    #[serde(default)]
    tenant: Option<String>,
    /// The instant certificate validity is judged at, RFC 3339 (`2026-01-01T00:00:00Z`);
    /// default: the current time.
    #[serde(default)]
    #[schemars(extend("format" = "date-time"))]
    now: Option<String>,
    /// The virtual certificate collection: the CA file(s), each PEM, DER, SST or PKCS#7, named
    /// relative to the bundle's directory.
    ca: OneOrMany,
    /// The CAs' CRLs (DER or PEM), served by the lab at the distribution points the certificates
    /// name. Without any, the profile turns CRL checking off and the report says so.
    #[serde(default)]
    crls: Vec<String>,
    /// The users, all in one mail domain (one tenant), each with their PKCS#12 identities.
    users: Vec<UserFile>,
}

/// One user of the bundle.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct UserFile {
    /// The user's mail address; every user is in the same domain.
    mailbox: String,
    /// The user's PKCS#12 file(s), each holding a certificate and its private key (one file, or
    /// one for signing and one for encryption).
    pkcs12: OneOrMany,
    /// The PKCS#12 password, inline. Give exactly one of `password` and `password-env`.
    #[serde(default)]
    password: Option<String>,
    /// The environment variable holding the PKCS#12 password (better than inline). Give exactly
    /// one of `password` and `password-env`.
    #[serde(default)]
    password_env: Option<String>,
}

/// A file name, or a list of them, relative to the bundle's directory.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Where the JSON Schema of `vendor.yaml` is committed, relative to the repository root; a bundle's
/// `vendor.yaml` may name it on its first line (`# yaml-language-server: $schema=...`).
pub const SCHEMA_PATH: &str = "fixtures/vendor/vendor.schema.json";

/// The command that rewrites the committed schema, from the repository root (printed by the test
/// that fails when it is stale).
pub const REGENERATE: &str =
    "cargo run -p runner -- scenario schema --of vendor -o fixtures/vendor/vendor.schema.json";

/// The JSON Schema (draft 2020-12) of `vendor.yaml`, pretty-printed with a final newline.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(VendorFile);
    let mut json = serde_json::to_string_pretty(&schema)
        // A `Schema` is a JSON value; serialising one cannot fail.
        .unwrap_or_else(|_| "{}".to_owned());
    json.push('\n');
    json
}

impl OneOrMany {
    fn files(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(one) => vec![one.as_str()],
            OneOrMany::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }
}

/// A bundle, read and checked.
#[derive(Clone, Debug)]
pub struct VendorBundle {
    pub dir: PathBuf,
    pub vendor: String,
    pub tenant: String,
    pub domain: String,
    pub now: OffsetDateTime,
    /// The CA certificates, DER, in file order.
    pub ca_certificates: Vec<Vec<u8>>,
    /// `(CRL DER, the file it came from)`.
    pub crls: Vec<(Vec<u8>, String)>,
    pub users: Vec<VendorUser>,
}

/// A user of the bundle and their identities.
#[derive(Clone, Debug)]
pub struct VendorUser {
    /// An id derived from the mailbox's local part (`alice`), unique in the bundle.
    pub id: String,
    pub mailbox: String,
    pub identities: Vec<VendorIdentity>,
}

/// One certificate with its private key, from one PKCS#12 file.
#[derive(Clone, Debug)]
pub struct VendorIdentity {
    /// The PKCS#12 file's name in the bundle.
    pub file: String,
    pub certificate_der: Vec<u8>,
    pub certificate: Certificate,
    pub key: PrivateKey,
    /// Other certificates the file carried (its chain).
    pub chain: Vec<Vec<u8>>,
}

impl VendorBundle {
    /// Reads `<dir>/vendor.yaml` and every file it names. `now` is used when the description
    /// gives none.
    pub fn read(dir: &Path, now: OffsetDateTime) -> Result<Self, BundleError> {
        let description_path = dir.join(DESCRIPTION_FILE);
        let text = read_text(&description_path)?;
        let file: VendorFile = serde_saphyr::from_str(&text).map_err(|e| BundleError::Yaml {
            path: description_path.clone(),
            message: e.render_with_formatter(&smime::yaml::UsersTerms),
        })?;
        let field = |field: &str, message: String| BundleError::Field {
            path: description_path.clone(),
            field: field.to_owned(),
            message,
        };

        if file.vendor.trim().is_empty() {
            return Err(field("vendor", "must name the vendor".into()));
        }
        if file.users.is_empty() {
            return Err(field(
                "users",
                "list at least one user with a PKCS#12 file".into(),
            ));
        }
        let now = match &file.now {
            Some(text) => {
                OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| field("now", format!("`{text}` is not an RFC 3339 time ({e})")))?
            }
            None => now,
        };

        let mut ca_certificates = Vec::new();
        for name in file.ca.files() {
            let path = bundle_file(dir, name).map_err(|m| field("ca", m))?;
            let bytes = read_bytes(&path)?;
            let collection =
                smime::sst::collection::read_certificate_collection(&bytes).map_err(|e| {
                    BundleError::File {
                        path: path.clone(),
                        message: format!("not a file of certificates (PEM, DER, SST, PKCS#7): {e}"),
                    }
                })?;
            ca_certificates.extend(collection.certificates.into_iter().map(|c| c.der));
        }
        if ca_certificates.is_empty() {
            return Err(field("ca", "the CA files hold no certificate".into()));
        }

        let mut crls = Vec::new();
        for (index, name) in file.crls.iter().enumerate() {
            let path = bundle_file(dir, name).map_err(|m| field(&format!("crls[{index}]"), m))?;
            let der = smime::cms::path::crl_der(&read_bytes(&path)?).map_err(|message| {
                BundleError::File {
                    path: path.clone(),
                    message,
                }
            })?;
            crls.push((der, name.clone()));
        }

        let mut users: Vec<VendorUser> = Vec::new();
        let mut domain: Option<String> = None;
        for (index, user) in file.users.iter().enumerate() {
            let at = |what: &str| format!("users[{index}].{what}");
            let (local, user_domain) = user
                .mailbox
                .rsplit_once('@')
                .filter(|(l, d)| !l.is_empty() && d.contains('.'))
                .ok_or_else(|| {
                    field(
                        &at("mailbox"),
                        format!("`{}` is not an address", user.mailbox),
                    )
                })?;
            let user_domain = user_domain.to_ascii_lowercase();
            match &domain {
                None => domain = Some(user_domain.clone()),
                Some(d) if *d != user_domain => {
                    return Err(field(
                        &at("mailbox"),
                        format!(
                            "every user must be in one domain (one tenant): `{}` is not in {d}",
                            user.mailbox
                        ),
                    ));
                }
                Some(_) => {}
            }
            let password = match (&user.password, &user.password_env) {
                (Some(p), None) => p.clone(),
                (None, Some(var)) => std::env::var(var).map_err(|_| {
                    field(
                        &at("password-env"),
                        format!("the environment variable {var} is not set"),
                    )
                })?,
                _ => {
                    return Err(field(
                        &at("password"),
                        "give exactly one of `password` and `password-env`".into(),
                    ));
                }
            };
            let mut identities = Vec::new();
            for name in user.pkcs12.files() {
                let path = bundle_file(dir, name).map_err(|m| field(&at("pkcs12"), m))?;
                identities.push(read_identity(&path, name, &password)?);
            }
            let id = unique_id(local, &users);
            users.push(VendorUser {
                id,
                mailbox: user.mailbox.to_ascii_lowercase(),
                identities,
            });
        }
        let domain = domain.unwrap_or_default();
        let tenant = match file.tenant {
            Some(t) if !t.trim().is_empty() => t,
            _ => format!(
                "{}.onmicrosoft.com",
                domain.split('.').next().unwrap_or("vendor")
            ),
        };
        Ok(VendorBundle {
            dir: dir.to_path_buf(),
            vendor: file.vendor,
            tenant,
            domain,
            now,
            ca_certificates,
            crls,
            users,
        })
    }
}

fn read_identity(path: &Path, name: &str, password: &str) -> Result<VendorIdentity, BundleError> {
    let bytes = read_bytes(path)?;
    let fail = |message: String| BundleError::File {
        path: path.to_path_buf(),
        message,
    };
    let contents = smime::pkcs12::read_pkcs12(&bytes, password).map_err(|e| {
        if e.is_wrong_password() {
            fail(
                "the password does not open this PKCS#12 file: check `password` in vendor.yaml"
                    .into(),
            )
        } else {
            fail(format!("not a PKCS#12 file this harness reads: {e}"))
        }
    })?;
    let key_der = contents
        .private_key_pkcs8_der
        .clone()
        .ok_or_else(|| fail("holds no private key: export the identity with its key".into()))?;
    let key = PrivateKey::from_pkcs8_der(&key_der)
        .map_err(|e| fail(format!("the private key is not one the harness uses: {e}")))?;
    let mut certificates = contents.certificates.into_iter();
    let certificate_der = certificates
        .next()
        .ok_or_else(|| fail("holds no certificate".into()))?;
    let certificate = smime::certificate::parse_der(&certificate_der)
        .map_err(|e| fail(format!("its certificate does not parse: {e}")))?;
    Ok(VendorIdentity {
        file: name.to_owned(),
        certificate_der,
        certificate,
        key,
        chain: certificates.collect(),
    })
}

/// A file named in vendor.yaml: a plain name inside the bundle (no absolute path, no `..`), so a
/// description cannot read files outside its directory.
fn bundle_file(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let relative = Path::new(name);
    if name.is_empty()
        || relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!(
            "`{name}` must be a file name inside the bundle's directory"
        ));
    }
    Ok(dir.join(relative))
}

fn unique_id(local: &str, users: &[VendorUser]) -> String {
    let base: String = local
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base = if base.is_empty() {
        "user".to_owned()
    } else {
        base
    };
    let mut id = base.clone();
    let mut n = 2;
    while users.iter().any(|u| u.id == id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, BundleError> {
    bounded_input::read(path, bounded_input::DEFAULT_LIMIT).map_err(|source| BundleError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_text(path: &Path) -> Result<String, BundleError> {
    bounded_input::read_to_string(path, bounded_input::DEFAULT_LIMIT).map_err(|source| {
        BundleError::Read {
            path: path.to_path_buf(),
            source,
        }
    })
}
