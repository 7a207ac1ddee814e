//! `preflight.yaml` and the files it names, read and checked before any lab starts: a mistake in
//! them is exit 2 naming the file, the field or the line. The directory export is not read here
//! (it may hold 100,000 users): [`crate::preflight::directory`] streams it.
//!
//! ```yaml
//! organisation: Contoso                   # optional; shown in reports
//! tenant: contoso.onmicrosoft.com         # optional; default preflight.onmicrosoft.com
//! sst: issuing-ca.sst                     # what Set-SmimeConfig -SMIMECertificateIssuingCA gets (SST, PKCS#7, PEM, DER)
//! directory: users.ldif                   # ldifde -f or ldapsearch -LLL export of the users
//! smime-config: smime-config.json         # optional; Get-SmimeConfig | ConvertTo-Json, or | Format-List (any other extension)
//! mobile-policies: mobile-policies.json   # optional; Get-MobileDeviceMailboxPolicy | ConvertTo-Json -EnumsAsStrings
//! crls: [issuing.crl]                     # optional; each served at the distribution points ending in its file name
//! internet-reachable: [pki.contoso.com]   # optional; CRL hosts Exchange Online can reach
//! now: 2026-06-01T00:00:00Z               # optional; default: the current time
//! horizon: 90d                            # optional; certificates expiring within it are reported (default 90d)
//! pkcs12: { dir: keys, password-env: PFX_PASSWORD }  # optional; users' PKCS#12 files: their signing is checked
//! mail-sample: 10                         # optional; encrypted messages sent through the lab (default 10, 0: none)
//! ```
//!
//! `pkcs12:` takes every `.p12` and `.pfx` file of `dir`, each opened with one password given as
//! `password-env` (the environment variable holding it) or, for examples only, `password`. A
//! file belongs to the user whose mail its certificate names. The password and the keys never
//! leave memory: no report, log or error shows them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme};
use serde::Deserialize;
use serde_json::Value;
use smime::sst::CollectedCertificate;
use time::{Duration, OffsetDateTime};

/// The description file's name in the preflight directory.
pub const DESCRIPTION_FILE: &str = "preflight.yaml";

/// Why a preflight directory cannot be used; each names the file (and field or line) to fix.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: cannot read it: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The YAML is not a preflight description; `rendered` is miette's drawing of the place.
    #[error("{rendered}")]
    Yaml { rendered: String },
    #[error("{path}: {field}: {message}")]
    Field {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

/// `preflight.yaml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PreflightFile {
    #[serde(default)]
    organisation: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    sst: String,
    directory: String,
    #[serde(default)]
    smime_config: Option<String>,
    #[serde(default)]
    mobile_policies: Option<String>,
    #[serde(default)]
    crls: Vec<String>,
    #[serde(default)]
    internet_reachable: Vec<String>,
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    horizon: Option<String>,
    #[serde(default)]
    pkcs12: Option<Pkcs12Field>,
    #[serde(default)]
    mail_sample: Option<usize>,
}

/// `pkcs12:` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Pkcs12Field {
    dir: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_env: Option<String>,
}

impl std::fmt::Debug for Pkcs12Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs12Field")
            .field("dir", &self.dir)
            .field("password_env", &self.password_env)
            .finish_non_exhaustive()
    }
}

/// Encrypted messages a preflight sends when `mail-sample` is not given.
pub const DEFAULT_MAIL_SAMPLE: usize = 10;

/// A preflight directory, read and checked.
#[derive(Debug)]
pub struct Preflight {
    pub dir: PathBuf,
    pub organisation: String,
    pub tenant: String,
    /// The SST file as given (the bytes Set-SmimeConfig gets) and the certificates in it.
    pub sst_path: PathBuf,
    pub sst_bytes: Vec<u8>,
    pub sst_certificates: Vec<CollectedCertificate>,
    pub directory_path: PathBuf,
    /// Set-SmimeConfig parameters from `smime-config` (OWA* settings only), in file order.
    pub smime_config: Settings,
    /// Settings of `smime-config` that are not applied, with why.
    pub smime_config_skipped: Vec<String>,
    /// The policies of `mobile-policies`, when given.
    pub mobile_policies: Option<Vec<super::mobile::PolicyInput>>,
    /// CRL file name → DER.
    pub crls: BTreeMap<String, Vec<u8>>,
    /// Lower-case host names.
    pub internet_reachable: Vec<String>,
    pub now: OffsetDateTime,
    pub horizon: Duration,
    pub horizon_text: String,
    /// The users' PKCS#12 files of `pkcs12`, when given.
    pub key_files: Option<super::messages::KeyFiles>,
    /// How many encrypted messages to send (`mail-sample`).
    pub mail_sample: usize,
}

impl Preflight {
    /// Reads `<dir>/preflight.yaml` and every file it names but the directory export (checked
    /// to exist). `now` is used when the description gives none.
    pub fn read(dir: &Path, now: OffsetDateTime) -> Result<Self, InputError> {
        let path = dir.join(DESCRIPTION_FILE);
        let text = bounded_input::read_to_string(&path, bounded_input::DEFAULT_LIMIT).map_err(
            |source| InputError::Read {
                path: path.clone(),
                source,
            },
        )?;
        let file: PreflightFile = serde_saphyr::from_str(&text).map_err(|error| {
            let shown = path.display().to_string();
            let options = serde_saphyr::render_options! {
                source_name: Some(&shown),
                formatter: &smime::yaml::UsersTerms,
            };
            let report =
                serde_saphyr::miette::to_miette_report_with_options(&error, &text, &shown, options);
            let mut rendered = String::new();
            let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
                .with_width(100);
            if handler
                .render_report(&mut rendered, report.as_ref())
                .is_err()
            {
                rendered = format!(
                    "{shown}: {}",
                    error.render_with_formatter(&smime::yaml::UsersTerms)
                );
            }
            InputError::Yaml { rendered }
        })?;
        let field = |name: &str, message: String| InputError::Field {
            path: path.clone(),
            field: name.to_owned(),
            message,
        };
        let now = match &file.now {
            Some(text) => {
                OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| {
                        field(
                            "now",
                            format!(
                                "`{text}` is not an RFC 3339 time ({e}), e.g. 2026-06-01T00:00:00Z"
                            ),
                        )
                    })?
            }
            None => now,
        };
        let horizon_text = file.horizon.clone().unwrap_or_else(|| "90d".to_owned());
        let horizon = parse_horizon(&horizon_text).ok_or_else(|| {
            field(
                "horizon",
                format!("`{horizon_text}` is not a duration: write days or weeks, e.g. 90d or 12w"),
            )
        })?;
        let sst_path = named_file(dir, &file.sst).map_err(|m| field("sst", m))?;
        let sst_bytes = read_bytes(&sst_path)?;
        let collection = smime::sst::read_certificate_collection(&sst_bytes).map_err(|e| {
            InputError::File {
                path: sst_path.clone(),
                message: format!(
                    "not a certificate collection: {e}; give the file Set-SmimeConfig -SMIMECertificateIssuingCA will get (SST, PKCS#7, PEM or DER)"
                ),
            }
        })?;
        let directory_path = named_file(dir, &file.directory).map_err(|m| field("directory", m))?;
        let (smime_config, smime_config_skipped) = match &file.smime_config {
            None => (Vec::new(), Vec::new()),
            Some(name) => {
                let config_path = named_file(dir, name).map_err(|m| field("smime-config", m))?;
                let text =
                    bounded_input::read_to_string(&config_path, bounded_input::DEFAULT_LIMIT)
                        .map_err(|source| InputError::Read {
                            path: config_path.clone(),
                            source,
                        })?;
                smime_settings(&text).map_err(|message| InputError::File {
                    path: config_path.clone(),
                    message,
                })?
            }
        };
        let mobile_policies = match &file.mobile_policies {
            None => None,
            Some(name) => {
                let policies_path =
                    named_file(dir, name).map_err(|m| field("mobile-policies", m))?;
                let text =
                    bounded_input::read_to_string(&policies_path, bounded_input::DEFAULT_LIMIT)
                        .map_err(|source| InputError::Read {
                            path: policies_path.clone(),
                            source,
                        })?;
                Some(
                    super::mobile::read_policies(&text).map_err(|message| InputError::File {
                        path: policies_path.clone(),
                        message,
                    })?,
                )
            }
        };
        let mut crls = BTreeMap::new();
        for (index, name) in file.crls.iter().enumerate() {
            let crl_path =
                named_file(dir, name).map_err(|m| field(&format!("crls[{index}]"), m))?;
            let bytes = read_bytes(&crl_path)?;
            let der = smime::cms::path::crl_der(&bytes).map_err(|_| InputError::File {
                path: crl_path.clone(),
                message: "not a certificate revocation list (DER or PEM -----BEGIN X509 CRL-----); `openssl crl -in FILE -noout -text` shows what it holds".into(),
            })?;
            let key = file_name(name);
            if crls.insert(key.clone(), der).is_some() {
                return Err(field(
                    &format!("crls[{index}]"),
                    format!(
                        "a second CRL named {key}: CRLs are served by file name, so each needs its own"
                    ),
                ));
            }
        }
        let mut internet_reachable = Vec::new();
        for (index, host) in file.internet_reachable.iter().enumerate() {
            let host = host.trim().to_ascii_lowercase();
            if host.is_empty()
                || !host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
            {
                return Err(field(
                    &format!("internet-reachable[{index}]"),
                    format!(
                        "`{host}` is not a host name (write pki.contoso.com, without http:// or a path)"
                    ),
                ));
            }
            internet_reachable.push(host);
        }
        let key_files = match &file.pkcs12 {
            None => None,
            Some(given) => Some(read_key_files(dir, given, &field)?),
        };
        let tenant = file
            .tenant
            .clone()
            .unwrap_or_else(|| "preflight.onmicrosoft.com".to_owned());
        Ok(Preflight {
            dir: dir.to_path_buf(),
            organisation: file.organisation.clone().unwrap_or_else(|| {
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }),
            tenant,
            sst_path,
            sst_bytes,
            sst_certificates: collection.certificates,
            directory_path,
            smime_config,
            smime_config_skipped,
            mobile_policies,
            crls,
            internet_reachable,
            now,
            horizon,
            horizon_text,
            key_files,
            mail_sample: file.mail_sample.unwrap_or(DEFAULT_MAIL_SAMPLE),
        })
    }
}

/// Every `.p12`/`.pfx` file of `pkcs12.dir`, in name order, and the password that opens them.
fn read_key_files(
    dir: &Path,
    given: &Pkcs12Field,
    field: &dyn Fn(&str, String) -> InputError,
) -> Result<super::messages::KeyFiles, InputError> {
    let password = match (&given.password, &given.password_env) {
        (Some(p), None) => p.clone(),
        (None, Some(var)) => std::env::var(var).map_err(|_| {
            field(
                "pkcs12.password-env",
                format!(
                    "the environment variable {var} is not set: set it to the PKCS#12 files' password (empty for none)"
                ),
            )
        })?,
        _ => {
            return Err(field(
                "pkcs12",
                "give exactly one of `password-env` (the environment variable holding the files' password) and `password`".into(),
            ));
        }
    };
    let folder = dir.join(&given.dir);
    if given.dir.trim().is_empty() || !folder.is_dir() {
        return Err(field(
            "pkcs12.dir",
            format!(
                "{} is not a folder (name the folder of PKCS#12 files relative to {})",
                folder.display(),
                dir.display()
            ),
        ));
    }
    let listing = std::fs::read_dir(&folder).map_err(|source| InputError::Read {
        path: folder.clone(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in listing {
        let path = entry
            .map_err(|source| InputError::Read {
                path: folder.clone(),
                source,
            })?
            .path();
        let is_key_file = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("p12") || e.eq_ignore_ascii_case("pfx"));
        if is_key_file && path.is_file() {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(field(
            "pkcs12.dir",
            format!("{} holds no .p12 or .pfx file", folder.display()),
        ));
    }
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let bytes = read_bytes(&path)?;
        files.push((path, bytes));
    }
    Ok(super::messages::KeyFiles::new(files, password))
}

/// Set-SmimeConfig parameters by name, in file order.
pub type Settings = Vec<(String, Value)>;

/// `90d`, `12w`, `0d` → a duration.
pub fn parse_horizon(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let number = &text[..text.len() - unit.len_utf8()];
    let n: i64 = number.parse().ok()?;
    if !(0..=36_500).contains(&n) {
        return None;
    }
    match unit {
        'd' => Some(Duration::days(n)),
        'w' => Some(Duration::weeks(n)),
        _ => None,
    }
}

fn file_name(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_owned())
}

/// A file named relative to the preflight directory; it must exist.
fn named_file(dir: &Path, name: &str) -> Result<PathBuf, String> {
    if name.trim().is_empty() {
        return Err("names no file".into());
    }
    let path = dir.join(name);
    if !path.is_file() {
        return Err(format!(
            "{} does not exist (files are named relative to {})",
            path.display(),
            dir.display()
        ));
    }
    Ok(path)
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, InputError> {
    bounded_input::read(path, bounded_input::DEFAULT_LIMIT).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The OWA settings of a `Get-SmimeConfig` output (`| ConvertTo-Json`, or `| Format-List` as
/// admins paste it) as Set-SmimeConfig parameters; what is not applied, with why.
pub fn smime_settings(text: &str) -> Result<(Settings, Vec<String>), String> {
    let text = text.trim_start_matches('\u{feff}').trim();
    let pairs: Vec<(String, Value)> = if text.starts_with('{') || text.starts_with('[') {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "not the JSON of `Get-SmimeConfig | ConvertTo-Json`: {e} (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let object = match value {
            Value::Array(mut list) if list.len() == 1 => list.remove(0),
            other => other,
        };
        let Value::Object(map) = object else {
            return Err("expected one JSON object (`Get-SmimeConfig | ConvertTo-Json`)".into());
        };
        map.into_iter().collect()
    } else {
        let mut pairs = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match line.split_once(':') {
                Some((key, value)) if !key.trim().is_empty() && !key.trim().contains(' ') => {
                    let key = key.trim();
                    // Algorithm lists are strings of hex identifiers (`6610`), not numbers.
                    let value = if key.ends_with("Algorithms") {
                        Value::String(value.trim().to_owned())
                    } else {
                        format_list_value(value.trim())
                    };
                    pairs.push((key.to_owned(), value));
                }
                // Format-List wraps long values onto lines indented under the value.
                _ if line.starts_with(' ') => {
                    if let Some((_, Value::String(last))) = pairs.last_mut() {
                        last.push_str(line.trim());
                    }
                }
                _ => {
                    return Err(format!(
                        "line {}: expected `Name : Value` (the output of `Get-SmimeConfig | Format-List`)",
                        index + 1
                    ));
                }
            }
        }
        pairs
    };
    let mut settings = Vec::new();
    let mut skipped = Vec::new();
    for (key, value) in pairs {
        if !key.starts_with("OWA") {
            continue;
        }
        match value {
            Value::Bool(_) | Value::Number(_) | Value::String(_) => settings.push((key, value)),
            Value::Null => {}
            _ => skipped.push(format!("{key}: not a single value, not applied")),
        }
    }
    if settings.is_empty() {
        return Err("holds no OWA setting: expected the output of `Get-SmimeConfig | ConvertTo-Json` or `| Format-List`".into());
    }
    Ok((settings, skipped))
}

fn format_list_value(text: &str) -> Value {
    match text {
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        _ => match text.parse::<u64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(text.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizons() {
        assert_eq!(parse_horizon("90d"), Some(Duration::days(90)));
        assert_eq!(parse_horizon("2w"), Some(Duration::days(14)));
        assert_eq!(parse_horizon("90"), None);
        assert_eq!(parse_horizon("d"), None);
        assert_eq!(parse_horizon("-1d"), None);
        assert_eq!(parse_horizon(""), None);
        assert_eq!(parse_horizon("9é"), None);
    }

    #[test]
    fn settings_from_json_and_format_list() {
        let json = r#"{"Identity":"Default","OWACheckCRLOnSend":true,"OWACRLRetrievalTimeout":10000,
            "OWAEncryptionAlgorithms":"6610","SMIMECertificateIssuingCA":null,"OWASenderCertificateAttributesToDisplay":null}"#;
        let (settings, skipped) = smime_settings(json).unwrap();
        assert_eq!(
            settings,
            vec![
                ("OWACRLRetrievalTimeout".to_owned(), Value::from(10000)),
                ("OWACheckCRLOnSend".to_owned(), Value::Bool(true)),
                ("OWAEncryptionAlgorithms".to_owned(), Value::from("6610")),
            ]
        );
        assert!(skipped.is_empty());
        let list = "\nRunspaceId : 1\nOWACheckCRLOnSend                  : True\nOWADisableCRLCheck : False\nOWACRLConnectionTimeout : 60000\n";
        let (settings, _) = smime_settings(list).unwrap();
        assert_eq!(settings.len(), 3);
        assert_eq!(
            settings[0],
            ("OWACheckCRLOnSend".to_owned(), Value::Bool(true))
        );
        assert!(
            smime_settings("no colon here\n")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(smime_settings("{\"Identity\": 1}").is_err());
    }
}
