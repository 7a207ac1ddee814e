//! The lab PKI description: the YAML a person writes (`fixtures/pki/*.yaml`, and later the `pki:`
//! section of scenario files). Only its shape is checked here; how the parts refer to each other
//! (issuers, revocations) is checked by [`super::plan`], which has the whole picture.
//!
//! The doc comments on these types are the JSON Schema descriptions editors show, so they are
//! written for the person filling in the YAML.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize};
use serde_saphyr::Spanned;
use time::OffsetDateTime;

use crate::key::KeySpec;

/// A lab PKI: one root, optional intermediates, and the users they issue certificates to. Every
/// random choice derives from `seed` and every date from `now`, so building the same description
/// twice gives byte-identical certificates, keys and CRLs.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PkiDescription {
    /// Seed for every random choice (keys, serial numbers), combined with each entity's id, so that
    /// adding a user does not change anyone else's key. Any non-empty text; a different seed gives
    /// an unrelated lab.
    pub seed: Seed,
    /// The issuing clock, RFC 3339 (`2026-01-01T00:00:00Z`). Certificates start at this instant
    /// (unless a flaw moves them) and CRLs are dated by it.
    pub now: Timestamp,
    /// Mail domain: a user's mailbox is `<user id>@<domain>` unless the user sets `mailbox`.
    pub domain: Domain,
    /// Where the CRLs are published: each certificate's CRL distribution point is
    /// `<crl_base_url>/<issuing CA id>.crl`. Default `http://pki.<domain>/crl`. S/MIME Baseline
    /// Requirements want plain `http://`.
    #[serde(default)]
    pub crl_base_url: Option<BaseUrl>,
    /// Where the CA certificates are published: each certificate's Authority Information Access
    /// (caIssuers) is `<aia_base_url>/<issuing CA id>.crt`. Default `http://pki.<domain>/aia`.
    #[serde(default)]
    pub aia_base_url: Option<BaseUrl>,
    /// The self-signed root CA. Its id is `root`.
    #[schemars(with = "RootSpec")]
    pub root: Spanned<RootSpec>,
    /// Intermediate (issuing) CAs by id, e.g. `issuing`. Each is issued by `root` or by another
    /// intermediate.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, CaSpec>")]
    pub intermediates: BTreeMap<String, Spanned<CaSpec>>,
    /// Users by id, e.g. `alice` (mailbox `alice@<domain>`). A user gets one dual-use certificate
    /// (`key`) or separate signing and encryption certificates (`sign`, `encrypt`), whose ids are
    /// `<user>-sign` and `<user>-encrypt`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, UserSpec>")]
    pub users: BTreeMap<String, Spanned<UserSpec>>,
    /// Revoked certificates, listed in their issuer's CRL: a user id (all of that user's
    /// certificates), one certificate id (`bob-sign`), or an intermediate id.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub revoked: Vec<Spanned<String>>,
}

/// The root CA.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RootSpec {
    /// Subject distinguished name, RFC 4514 (`CN=Contoso Root CA,O=Contoso`).
    pub subject: DistinguishedName,
    /// Key algorithm and size.
    pub key: KeySpec,
    /// Validity, e.g. `10y`. Default 10y.
    #[serde(default)]
    pub valid: Option<Lifetime>,
    /// Deliberate defects. A CA accepts `no-ski`, `expired`, `not-yet-valid` and `sha1-signature`.
    #[serde(default)]
    pub flaws: Vec<Flaw>,
    /// Version of this CA's CRL: `2` (the default: authority key identifier and CRL number, as
    /// RFC 5280 §5.2 requires) or `1` (no extensions and no version field, as `openssl ca
    /// -gencrl` writes without `crl_extensions` and many older CAs publish).
    #[serde(default)]
    pub crl_version: Option<CrlVersion>,
}

/// An intermediate (issuing) CA.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaSpec {
    /// Subject distinguished name, RFC 4514 (`CN=Contoso Issuing CA,O=Contoso`).
    pub subject: DistinguishedName,
    /// Key algorithm and size.
    pub key: KeySpec,
    /// Id of the CA that issues this one: `root` or another intermediate. Default `root`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub issuer: Option<Spanned<String>>,
    /// Validity, e.g. `5y`. Default 5y.
    #[serde(default)]
    pub valid: Option<Lifetime>,
    /// Deliberate defects. An intermediate accepts `no-ski`, `expired`, `not-yet-valid`,
    /// `sha1-signature`, `no-crl-dp` and `no-aia`.
    #[serde(default)]
    pub flaws: Vec<Flaw>,
    /// Version of this CA's CRL: `2` (the default: authority key identifier and CRL number, as
    /// RFC 5280 §5.2 requires) or `1` (no extensions and no version field, as `openssl ca
    /// -gencrl` writes without `crl_extensions` and many older CAs publish).
    #[serde(default)]
    pub crl_version: Option<CrlVersion>,
}

/// A user (a mailbox) and the certificates issued to it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// Key of a single dual-use certificate (signing and encryption), id `<user>`. Give either
    /// `key` or `sign`/`encrypt`, not both.
    #[serde(default)]
    pub key: Option<KeySpec>,
    /// A separate signing certificate, id `<user>-sign`.
    #[serde(default)]
    pub sign: Option<CertSpec>,
    /// A separate encryption certificate, id `<user>-encrypt`.
    #[serde(default)]
    pub encrypt: Option<CertSpec>,
    /// The mailbox the certificates are for (subject CN and SAN rfc822Name). Default
    /// `<user id>@<domain>`.
    #[serde(default)]
    pub mailbox: Option<Mailbox>,
    /// Id of the issuing CA: `root` or an intermediate. Default: the intermediate when there is
    /// exactly one, `root` when there is none.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub issuer: Option<Spanned<String>>,
    /// Validity of the user's certificates, at most 825 days (S/MIME Baseline Requirements).
    /// Default 1y.
    #[serde(default)]
    pub valid: Option<Lifetime>,
    /// Deliberate defects, applied to every certificate of this user.
    #[serde(default)]
    pub flaws: Vec<Flaw>,
    /// Also assert nonRepudiation (contentCommitment) on the signing or dual-use certificate.
    #[serde(default)]
    pub non_repudiation: bool,
}

/// One of a user's separate certificates.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CertSpec {
    /// Key algorithm and size.
    pub key: KeySpec,
    /// Validity of this certificate, overriding the user's. At most 825 days.
    #[serde(default)]
    pub valid: Option<Lifetime>,
    /// Deliberate defects of this certificate only, added to the user's.
    #[serde(default)]
    pub flaws: Vec<Flaw>,
}

/// A deliberate defect: the bad certificates administrators really meet. A weak key is not a flaw
/// here but a key choice (`key: rsa-1024`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Flaw {
    /// No Subject Key Identifier extension (Exchange Online requires it).
    NoSki,
    /// Extended key usage without emailProtection (clientAuth only, as from a TLS client template).
    NoEmailProtectionEku,
    /// The key usage of the other half of the role: a signing or dual-use certificate gets only the
    /// encryption usage (keyEncipherment for RSA, keyAgreement for EC); an encryption certificate
    /// gets only digitalSignature.
    WrongKeyUsage,
    /// Validity ended one day before `now`.
    Expired,
    /// Validity starts one day after `now`.
    NotYetValid,
    /// The SAN rfc822Name is a different mailbox (`<local part>.old@<domain>`) than the user's.
    SanMismatch,
    /// Issued directly by the root instead of an intermediate (the same as `issuer: root`).
    IssuedFromRoot,
    /// Signed with SHA-1 (sha1WithRSAEncryption or ecdsa-with-SHA1).
    Sha1Signature,
    /// No CRL distribution point.
    NoCrlDp,
    /// No Authority Information Access (caIssuers).
    NoAia,
}

impl Flaw {
    pub fn name(self) -> &'static str {
        match self {
            Flaw::NoSki => "no-ski",
            Flaw::NoEmailProtectionEku => "no-email-protection-eku",
            Flaw::WrongKeyUsage => "wrong-key-usage",
            Flaw::Expired => "expired",
            Flaw::NotYetValid => "not-yet-valid",
            Flaw::SanMismatch => "san-mismatch",
            Flaw::IssuedFromRoot => "issued-from-root",
            Flaw::Sha1Signature => "sha1-signature",
            Flaw::NoCrlDp => "no-crl-dp",
            Flaw::NoAia => "no-aia",
        }
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The version of a CA's CRL (RFC 5280 §5.1.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u8")]
pub enum CrlVersion {
    /// No `version` field and no extensions.
    V1,
    /// `version` v2, with the extensions RFC 5280 §5.2 requires.
    #[default]
    V2,
}

impl TryFrom<u8> for CrlVersion {
    type Error = String;

    fn try_from(n: u8) -> Result<Self, String> {
        match n {
            1 => Ok(CrlVersion::V1),
            2 => Ok(CrlVersion::V2),
            other => Err(format!(
                "crl_version {other} does not exist: CRLs are version 1 (no extensions) or 2"
            )),
        }
    }
}

impl JsonSchema for CrlVersion {
    fn schema_name() -> Cow<'static, str> {
        "CrlVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "enum": [1, 2] })
    }
}

/// Declares a string newtype whose `Deserialize` runs a check, so that a bad value is reported by
/// the YAML parser at its own line and column.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $schema:expr, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                let check: fn(&str) -> Result<(), String> = $check;
                check(&text).map_err(serde::de::Error::custom)?;
                Ok($name(text))
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

checked_string!(
    /// Non-empty seed text.
    Seed,
    json_schema!({ "type": "string", "minLength": 1 }),
    |s| {
        if s.trim().is_empty() {
            Err("seed is empty: give any text, e.g. `seed: contoso-lab`".to_owned())
        } else {
            Ok(())
        }
    }
);

checked_string!(
    /// A DNS domain name such as `contoso.com`.
    Domain,
    json_schema!({ "type": "string", "format": "hostname" }),
    check_domain
);

checked_string!(
    /// An ASCII mailbox address `local@domain`.
    Mailbox,
    json_schema!({ "type": "string", "format": "email" }),
    check_mailbox
);

checked_string!(
    /// An `http://` or `https://` URL without a trailing slash.
    BaseUrl,
    json_schema!({ "type": "string", "format": "uri", "pattern": "^https?://" }),
    |s| {
        let rest = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("https://"))
            .ok_or_else(|| format!("{s:?} is not an http:// URL (clients fetch CRLs and CA certificates over plain HTTP)"))?;
        if rest.is_empty() || rest.ends_with('/') || !rest.is_ascii() || rest.contains(char::is_whitespace) {
            return Err(format!(
                "{s:?} is not a usable base URL: give scheme and host, ASCII, no spaces, no trailing slash (http://pki.contoso.com/crl)"
            ));
        }
        Ok(())
    }
);

checked_string!(
    /// An RFC 4514 distinguished name, checked by parsing it.
    DistinguishedName,
    json_schema!({ "type": "string", "examples": ["CN=Contoso Root CA,O=Contoso"] }),
    |s| {
        use std::str::FromStr;
        match x509_cert::name::Name::from_str(s) {
            Ok(name) if !name.is_empty() => Ok(()),
            Ok(_) => Err("the subject is empty: give e.g. `CN=Contoso Root CA,O=Contoso`".to_owned()),
            Err(e) => Err(format!(
                "{s:?} is not an RFC 4514 distinguished name ({e}); write it like `CN=Contoso Root CA,O=Contoso` and escape commas in values with a backslash"
            )),
        }
    }
);

impl DistinguishedName {
    pub fn to_name(&self) -> der::Result<x509_cert::name::Name> {
        use std::str::FromStr;
        x509_cert::name::Name::from_str(&self.0)
    }
}

pub(crate) fn check_domain(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a DNS domain name: letters, digits and hyphens in dot-separated labels, e.g. contoso.com"
        ))
    }
}

pub(crate) fn check_mailbox(s: &str) -> Result<(), String> {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Err(format!(
            "{s:?} is not a mailbox address: expected local@domain"
        ));
    };
    // The certificate carries it as an IA5String rfc822Name: ASCII only, and no characters that
    // would need quoting in an addr-spec (SmtpUTF8Mailbox is out of scope for the lab).
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
    if !local_ok {
        return Err(format!(
            "{s:?} is not a plain ASCII mailbox address: the local part may use letters, digits and !#$%&'*+-/=?^_`{{|}}~ with single dots"
        ));
    }
    check_domain(domain).map_err(|e| format!("mailbox {s:?}: {e}"))
}

/// An instant, RFC 3339 (`2026-01-01T00:00:00Z`), kept in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub OffsetDateTime);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let shown = crate::shown::quoted(&text);
        let parsed = OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
            serde::de::Error::custom(format!(
                "{shown} is not an RFC 3339 date-time ({e}); write e.g. 2026-01-01T00:00:00Z"
            ))
        })?;
        let utc = parsed.to_offset(time::UtcOffset::UTC);
        // Certificates carry whole seconds (UTCTime, GeneralizedTime without fractions), and the
        // encoder's calendar starts at the Unix epoch.
        if utc.nanosecond() != 0 {
            return Err(serde::de::Error::custom(format!(
                "{shown} has fractions of a second, which certificates cannot carry; drop them"
            )));
        }
        if !(1970..=9998).contains(&utc.year()) {
            return Err(serde::de::Error::custom(format!(
                "{shown} is outside the years 1970-9998 the lab can put in certificates"
            )));
        }
        Ok(Timestamp(utc))
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "date-time" })
    }
}

/// A validity period: a number and a unit, `h` (hours), `d` (days) or `y` (calendar years), e.g.
/// `90d`, `1y`, `825d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    Hours(u32),
    Days(u32),
    Years(u32),
}

impl Lifetime {
    /// Parses `90d`, `1y`, `12h`. Bounded so that adding it to any representable date stays
    /// representable (and no arithmetic can overflow).
    pub fn parse(text: &str) -> Result<Self, String> {
        let shown = crate::shown::quoted(text);
        let hint =
            "write a number and a unit: h (hours), d (days) or y (years), e.g. 90d, 1y, 825d";
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("{shown} has no unit; {hint}"))?;
        let (number, unit) = text.split_at(split);
        let n: u32 = number.parse().map_err(|_| {
            if number.is_empty() {
                format!("{shown} does not start with a number; {hint}")
            } else {
                format!("{shown} is longer than 100 years; {hint}")
            }
        })?;
        if n == 0 {
            return Err(format!("{shown} is an empty validity period; {hint}"));
        }
        let (lifetime, max) = match unit {
            "h" => (Lifetime::Hours(n), 100 * 366 * 24),
            "d" => (Lifetime::Days(n), 100 * 366),
            "y" => (Lifetime::Years(n), 100),
            _ => return Err(format!("{shown} has an unknown unit {unit:?}; {hint}")),
        };
        if n > max {
            return Err(format!("{shown} is longer than 100 years"));
        }
        Ok(lifetime)
    }

    /// The instant this long after `start`. Years are calendar years: 29 February moves to 28.
    pub fn after(self, start: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Lifetime::Hours(n) => start.checked_add(time::Duration::hours(i64::from(n))),
            Lifetime::Days(n) => start.checked_add(time::Duration::days(i64::from(n))),
            Lifetime::Years(n) => {
                let year = start.year().checked_add(i32::try_from(n).ok()?)?;
                let date = start.date();
                let moved = date.replace_year(year).ok().or_else(|| {
                    date.replace_day(28)
                        .ok()
                        .and_then(|d| d.replace_year(year).ok())
                })?;
                Some(start.replace_date(moved))
            }
        }
    }

    /// The instant this long before `end`, mirroring [`Lifetime::after`].
    pub fn before(self, end: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Lifetime::Hours(n) => end.checked_sub(time::Duration::hours(i64::from(n))),
            Lifetime::Days(n) => end.checked_sub(time::Duration::days(i64::from(n))),
            Lifetime::Years(n) => {
                let year = end.year().checked_sub(i32::try_from(n).ok()?)?;
                let date = end.date();
                let moved = date.replace_year(year).ok().or_else(|| {
                    date.replace_day(28)
                        .ok()
                        .and_then(|d| d.replace_year(year).ok())
                })?;
                Some(end.replace_date(moved))
            }
        }
    }
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lifetime::Hours(n) => write!(f, "{n}h"),
            Lifetime::Days(n) => write!(f, "{n}d"),
            Lifetime::Years(n) => write!(f, "{n}y"),
        }
    }
}

impl<'de> Deserialize<'de> for Lifetime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Lifetime::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Lifetime {
    fn schema_name() -> Cow<'static, str> {
        "Lifetime".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[1-9][0-9]*[hdy]$",
            "examples": ["90d", "1y", "825d", "10y"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_and_refuse_nonsense() {
        assert_eq!(Lifetime::parse("90d"), Ok(Lifetime::Days(90)));
        assert_eq!(Lifetime::parse("1y"), Ok(Lifetime::Years(1)));
        assert_eq!(Lifetime::parse("12h"), Ok(Lifetime::Hours(12)));
        for bad in [
            "",
            "d",
            "0d",
            "10",
            "10m",
            "-1d",
            "1.5y",
            "101y",
            "99999999999d",
        ] {
            assert!(Lifetime::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn calendar_years_handle_leap_days() {
        let leap = time::macros::datetime!(2028-02-29 12:00 UTC);
        assert_eq!(
            Lifetime::Years(1).after(leap),
            Some(time::macros::datetime!(2029-02-28 12:00 UTC))
        );
        assert_eq!(
            Lifetime::Years(1).before(leap),
            Some(time::macros::datetime!(2027-02-28 12:00 UTC))
        );
    }

    #[test]
    fn mailboxes_and_domains() {
        assert!(check_mailbox("alice@contoso.com").is_ok());
        assert!(check_mailbox("a.b+c@sub.contoso.com").is_ok());
        for bad in [
            "alice",
            "@contoso.com",
            "al ice@contoso.com",
            "alice@",
            "a..b@x.com",
            "é@x.com",
        ] {
            assert!(check_mailbox(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_domain("contoso.com").is_ok());
        assert!(check_domain("-bad.com").is_err());
        assert!(check_domain("contoso..com").is_err());
    }
}
