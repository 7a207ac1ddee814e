//! The scenario file's types: what a person writes in `scenarios/<name>.yaml`.
//!
//! Only the shape is checked here (types, unknown keys, the syntax of ids and algorithm lists):
//! serde-saphyr reports those at their line and column. How the parts refer to each other (a
//! message from a user who does not exist, a CA id missing from the PKI) is [`super::validate`]'s
//! job. The doc comments are the JSON Schema's descriptions that editors show, so they are written
//! for the person filling in the YAML.
//!
//! Keys are kebab-case (`virtual-collection`), except where they are someone else's names: the PKI
//! description keeps its own (`crl_base_url`), and `smime-config` / `mobile-policy` use the cmdlet
//! parameter names exactly as Exchange spells them (`OWAClearSign`).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use smime::cms::envelope::ContentCipher;
use smime::cms::envelope::RecipientIdType;
use smime::cms::envelope::RsaPadding;
use smime::pki::{Domain, Mailbox, PkiDescription};

/// A scenario: an organisation, its PKI, the five steps of "Configure S/MIME in Exchange Online"
/// with their settings and expected outcomes, and the messages sent once they are done.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "smime-lab scenario")]
pub struct Scenario {
    /// The scenario's id: lower-case letters, digits and hyphens. The file is `<name>.yaml`.
    #[schemars(with = "Id")]
    pub name: Spanned<Id>,
    /// One sentence: what is rehearsed and what should happen.
    pub summary: Text,
    /// The sentence of Microsoft's documentation (with the document's title and section), or the
    /// observed behaviour, that this scenario exercises. Required: a scenario nobody can trace to
    /// a source cannot tell a bug in the lab from a bug in the setup.
    pub source: Text,
    /// Free labels for filtering runs (`happy-path`, `rsa`, `step-2`).
    #[serde(default)]
    #[schemars(with = "Vec<Id>")]
    pub tags: Vec<Spanned<Id>>,
    /// The tenant and its mailboxes.
    pub organisation: Organisation,
    /// The PKI: a description of the root, intermediates and users (the same YAML as
    /// `fixtures/pki/*.yaml`), or `{ fixture: default }` for the committed lab PKI.
    #[schemars(with = "PkiSection")]
    pub pki: Spanned<PkiSection>,
    /// The five steps. A step that is left out is not run; write `publish: {}` to run a step with
    /// its defaults.
    #[serde(default)]
    pub steps: Steps,
    /// Messages sent, in order, after the steps, and what their recipients must see.
    #[serde(default)]
    #[schemars(with = "Vec<Message>")]
    pub messages: Vec<Spanned<Message>>,
    /// Faults injected into the lab's services (a CRL server that is down).
    #[serde(default)]
    #[schemars(with = "Vec<ServiceFault>")]
    pub services: Vec<Spanned<ServiceFault>>,
}

// --- organisation -------------------------------------------------------------------------------

/// The Exchange Online tenant and the mailboxes in it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Organisation {
    /// The tenant's initial domain, e.g. `contoso.onmicrosoft.com`: the `{tenant}` of the admin
    /// API's `/adminapi/beta/{tenant}/InvokeCommand`.
    pub tenant: Domain,
    /// The mail domain. Default: the PKI's `domain` (`contoso.com` for the default fixture); when
    /// given, it must be the same, because certificates are issued for `<user>@<domain>`.
    #[serde(default)]
    #[schemars(with = "Option<Domain>")]
    pub domain: Option<Spanned<Domain>>,
    /// The mailboxes, by user id: `alice` is `alice@<domain>`; `{ id: carol, mailbox:
    /// carol.smith@contoso.com }` gives another address. A user owns the certificates of the PKI
    /// user with the same id, and of any PKI user whose `mailbox` is the user's address (a second
    /// identity of the same person). A user may have no certificates at all.
    #[schemars(with = "Vec<OrgUser>")]
    pub users: Vec<Spanned<OrgUser>>,
}

/// A mailbox: a user id, or `{ id, mailbox }`.
#[derive(Clone, Debug)]
pub struct OrgUser {
    pub id: Id,
    /// The address, when not `<id>@<domain>`.
    pub mailbox: Option<Mailbox>,
}

/// The long form of [`OrgUser`].
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OrgUserFields {
    /// The user id.
    id: Id,
    /// The mailbox address. Default `<id>@<domain>`. When the PKI description's user has no
    /// `mailbox` of its own, its certificates are issued for this address; when it has one, they
    /// must agree. With a fixture, it must be the fixture's address.
    #[serde(default)]
    mailbox: Option<Mailbox>,
}

impl<'de> Deserialize<'de> for OrgUser {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrgUserVisitor;

        impl<'de> Visitor<'de> for OrgUserVisitor {
            type Value = OrgUser;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a user id (`alice`) or `{ id: alice, mailbox: alice@contoso.com }`")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<OrgUser, E> {
                let id = Id::deserialize(v.into_deserializer())?;
                Ok(OrgUser { id, mailbox: None })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OrgUser, A::Error> {
                let fields =
                    OrgUserFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(OrgUser {
                    id: fields.id,
                    mailbox: fields.mailbox,
                })
            }
        }

        deserializer.deserialize_any(OrgUserVisitor)
    }
}

impl JsonSchema for OrgUser {
    fn schema_name() -> Cow<'static, str> {
        "OrgUser".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let id = generator.subschema_for::<Id>();
        let long = generator.subschema_for::<OrgUserFields>();
        json_schema!({
            "description": "A user id (`alice`, mailbox alice@<domain>) or `{ id, mailbox }`.",
            "oneOf": [id, long]
        })
    }
}

// --- pki ----------------------------------------------------------------------------------------

/// Where the scenario's certificates come from.
#[derive(Clone, Debug)]
pub enum PkiSection {
    /// A PKI description written in the scenario, issued afresh for each run.
    Description(Box<PkiDescription>),
    /// A committed lab PKI from `fixtures/pki/`.
    Fixture(PkiFixture),
}

/// The committed lab PKIs. Their descriptions are compiled into the runner, so a scenario that
/// names one always gets the certificates in `fixtures/pki/<name>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PkiFixture {
    /// `fixtures/pki/default.yaml`: Contoso (`contoso.com`), root and issuing CA; alice (RSA-2048),
    /// bob (separate P-256 signing and encryption certificates), carol (RSA-3072), dave (P-384) and
    /// eve (revoked). Clock 2026-01-01T00:00:00Z.
    Default,
}

impl PkiFixture {
    pub fn name(self) -> &'static str {
        match self {
            PkiFixture::Default => "default",
        }
    }

    /// The fixture's description file, relative to the repository root.
    pub fn path(self) -> &'static str {
        match self {
            PkiFixture::Default => "fixtures/pki/default.yaml",
        }
    }

    /// The description, as committed.
    pub fn yaml(self) -> &'static str {
        match self {
            PkiFixture::Default => include_str!("../../../../fixtures/pki/default.yaml"),
        }
    }
}

/// `{ fixture: <name> }`. Only its schema is used: [`PkiSection`] reads the key itself.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct FixtureReference {
    /// The committed lab PKI to use.
    fixture: PkiFixture,
}

impl<'de> Deserialize<'de> for PkiSection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PkiVisitor;

        impl<'de> Visitor<'de> for PkiVisitor {
            type Value = PkiSection;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a PKI description (seed, now, domain, root, ...) or `{ fixture: default }`",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<PkiSection, E> {
                Err(E::custom(format!(
                    "`pki: {v}` is neither a PKI description nor a fixture reference; for a committed lab PKI write `pki: {{ fixture: {v} }}`"
                )))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PkiSection, A::Error> {
                // The first key decides which of the two shapes this is. An untagged enum would
                // decide the same, but would buffer the mapping and lose every line and column
                // inside the description (and answer "did not match any variant").
                let Some(first) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "the PKI is empty: describe one (seed, now, domain, root, users) or write `pki: { fixture: default }`",
                    ));
                };
                if first == "fixture" {
                    let fixture: PkiFixture = map.next_value()?;
                    if let Some(other) = map.next_key::<String>()? {
                        return Err(de::Error::custom(format!(
                            "`{other}` next to `fixture`: a fixture reference takes no other keys; to change the PKI, copy {} into the scenario and edit it",
                            fixture.path()
                        )));
                    }
                    return Ok(PkiSection::Fixture(fixture));
                }
                let replay = PrependKey {
                    first: Some(first),
                    rest: map,
                };
                let description =
                    PkiDescription::deserialize(de::value::MapAccessDeserializer::new(replay))?;
                Ok(PkiSection::Description(Box::new(description)))
            }
        }

        // `any`, not `map`, so that a scalar gets a message saying what to write.
        deserializer.deserialize_any(PkiVisitor)
    }
}

/// A mapping whose first key was already read: gives it back, then the rest.
struct PrependKey<A> {
    first: Option<String>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for PrependKey<A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(first) => seed.deserialize(first.into_deserializer()).map(Some),
            None => self.rest.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        self.rest.next_value_seed(seed)
    }
}

impl JsonSchema for PkiSection {
    fn schema_name() -> Cow<'static, str> {
        "PkiSection".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let description = generator.subschema_for::<PkiDescription>();
        let fixture = generator.subschema_for::<FixtureReference>();
        json_schema!({
            "description": "A PKI description, or `{ fixture: default }` for the committed lab PKI.",
            "oneOf": [description, fixture]
        })
    }
}

// --- steps --------------------------------------------------------------------------------------

/// The five steps of "Configure S/MIME in Exchange Online", in the order they run.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Steps {
    /// Step 1: publish users' certificates on their directory objects (LDAP).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Publish>")]
    pub publish: Option<Spanned<Publish>>,
    /// Step 2: export the CA certificates to an SST and import it with
    /// `Set-SmimeConfig -SMIMECertificateIssuingCA`.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<VirtualCollection>")]
    pub virtual_collection: Option<Spanned<VirtualCollection>>,
    /// Step 3: Entra Connect syncs `userCertificate` and `userSMIMECertificate` to the tenant.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<SyncStep>")]
    pub sync: Option<Spanned<SyncStep>>,
    /// Step 4: the `ExtensionInstallForcelist` browser policy for Outlook on the web.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<BrowserPolicy>")]
    pub browser_policy: Option<Spanned<BrowserPolicy>>,
    /// Step 5: Set-SmimeConfig for Outlook on the web, the mobile device mailbox policy, and the
    /// users' certificates installed on their devices.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Clients>")]
    pub clients: Option<Spanned<Clients>>,
}

/// A step written with no value (`publish:`) is almost always meant to run with its defaults;
/// refusing it is kinder than silently skipping the step.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Spanned<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<Spanned<T>>::deserialize(deserializer)? {
        Some(step) => Ok(Some(step)),
        None => Err(de::Error::custom(
            "this step has no value: write `{}` to run it with its defaults, or leave the key out to skip it",
        )),
    }
}

/// The directory attribute(s) a certificate is published in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub enum PublishAttribute {
    /// `userSMIMECertificate`, which Outlook reads first.
    #[serde(rename = "userSMIMECertificate")]
    UserSmimeCertificate,
    /// `userCertificate` (what AD CS autoenrollment fills), limited to 15 values by Entra ID.
    #[serde(rename = "userCertificate")]
    UserCertificate,
    /// Both attributes, the same certificates in each.
    #[default]
    #[serde(rename = "both")]
    Both,
}

impl PublishAttribute {
    pub fn name(self) -> &'static str {
        match self {
            PublishAttribute::UserSmimeCertificate => "userSMIMECertificate",
            PublishAttribute::UserCertificate => "userCertificate",
            PublishAttribute::Both => "both",
        }
    }
}

/// Step 1: publish the users' certificates in the directory. Every user with certificates gets all
/// of them published, unless `users` says otherwise.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Publish {
    /// Where the certificates go ("Publish the user's certificate in their on-premises Active
    /// Directory account in the UserSMIMECertificate and/or UserCertificate attributes"). Default
    /// `both`.
    #[serde(default)]
    pub attribute: PublishAttribute,
    /// Settings for single users, by user id.
    #[serde(default)]
    pub users: SpannedMap<PublishUser>,
}

/// How one user's certificates are published.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PublishUser {
    /// The attribute for this user, instead of the step's.
    #[serde(default)]
    #[schemars(with = "Option<PublishAttribute>")]
    pub attribute: Option<Spanned<PublishAttribute>>,
    /// The certificates to publish, by certificate id (`alice`, `bob-sign`, `bob-encrypt`).
    /// Default: all of this user's. `[]` publishes none.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub certificates: Option<Vec<Spanned<Id>>>,
    /// The exact values of this user's `userSMIMECertificate`, by certificate id. With this or
    /// `userCertificate`, each attribute gets exactly the certificates listed (rehearsing what
    /// Outlook does when the two attributes differ), and `attribute` and `certificates` are not
    /// given.
    #[serde(rename = "userSMIMECertificate", default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub user_smime_certificate: Option<Vec<Spanned<Id>>>,
    /// The exact values of this user's `userCertificate`, by certificate id (see
    /// `userSMIMECertificate`).
    #[serde(rename = "userCertificate", default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub user_certificate: Option<Vec<Spanned<Id>>>,
    /// Earlier certificates of the same mailbox published beside the current ones, as renewals
    /// pile up on a directory object: each one expired, ECDSA P-256, from the user's issuing CA.
    /// 15 of them plus the current certificate are the 16 values Entra ID refuses. At most 100.
    #[serde(default = "zero")]
    #[schemars(with = "u32", range(max = 100))]
    pub extra_certificates: Spanned<u32>,
}

/// How the virtual certificate collection is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CollectionEncoding {
    /// A serialized certificate store, as `Export-Certificate -Type SST` writes it.
    #[default]
    Sst,
    /// The store cut off in the middle of its first certificate, as after an interrupted copy:
    /// bytes that do not import.
    Truncated,
}

/// The error `Set-SmimeConfig -SMIMECertificateIssuingCA` answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CollectionError {
    /// A certificate in the store has expired ("Each certificate is checked, and if any
    /// certificates are expired, the operation will fail"); the error lists thumbprints.
    Expired,
    /// The store is larger than the 70000 bytes the parameter accepts.
    Oversize,
    /// "SMIMECertificateIssuingCA has wrong format": the bytes do not import.
    WrongFormat,
}

impl CollectionError {
    pub fn name(self) -> &'static str {
        match self {
            CollectionError::Expired => "expired",
            CollectionError::Oversize => "oversize",
            CollectionError::WrongFormat => "wrong-format",
        }
    }
}

/// Step 2: the virtual certificate collection.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VirtualCollection {
    /// The CA certificates exported to the store, by id (`root`, an intermediate's id), in this
    /// order. Default: every CA of the PKI, root first.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub sst: Option<Vec<Spanned<Id>>>,
    /// Unrelated, valid CA certificates added after those of `sst`, as when a whole Trusted Root
    /// store is exported. Each adds about 640 bytes: some 110 push the store past the 70000 bytes
    /// Set-SmimeConfig accepts. At most 1000.
    #[serde(default = "zero")]
    #[schemars(with = "u32", range(max = 1000))]
    pub filler: Spanned<u32>,
    /// How the bytes are sent. Default `sst`.
    #[serde(default)]
    pub encoding: CollectionEncoding,
    /// What the tenant must answer. Default: the import succeeds.
    #[serde(default)]
    pub expect: CollectionExpect,
}

/// The expected answer to the import.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CollectionExpect {
    /// The error the call must fail with. Absent: it must succeed.
    #[serde(default)]
    #[schemars(with = "Option<CollectionError>")]
    pub error: Option<Spanned<CollectionError>>,
    /// With `error: expired`: the CAs (ids from `sst`) whose thumbprints the error lists.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub thumbprints: Option<Vec<Spanned<Id>>>,
    /// On success: the CA (an id from `sst`) that expires first, whose NotAfter the tenant reports
    /// as `SMIMECertificatesExpiryDate` and whose thumbprint as
    /// `SMIMEExpiredCertificateThumbprint`.
    #[serde(default)]
    #[schemars(with = "Option<Id>")]
    pub earliest: Option<Spanned<Id>>,
}

/// An Entra Connect synchronization cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SyncCycle {
    /// A full import and synchronization of every object.
    Initial,
    /// Only what changed since the previous cycle.
    Delta,
}

/// What sync made of one user's certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SyncOutcome {
    /// The certificates reached the tenant.
    Exported,
    /// The export failed with LargeObject ("The provisioned object is too large. Trim the number
    /// of attribute values on this object."): more than 15 values under the legacy rules.
    LargeObject,
    /// Not exported: since build 1.1.524.0 the default rules do not export `userCertificate` and
    /// `userSMIMECertificate` when either has more than 15 values.
    Skipped,
}

impl SyncOutcome {
    pub fn name(self) -> &'static str {
        match self {
            SyncOutcome::Exported => "exported",
            SyncOutcome::LargeObject => "large-object",
            SyncOutcome::Skipped => "skipped",
        }
    }
}

/// Step 3: sync the directory to the tenant.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SyncStep {
    /// The cycles to run, in order; the first must be `initial`. Default `[initial]`.
    #[serde(default = "initial_only")]
    #[schemars(with = "Vec<SyncCycle>")]
    pub cycles: Spanned<Vec<SyncCycle>>,
    /// Use the synchronization rules of Entra Connect before build 1.1.524.0, which export more
    /// than 15 values and get the LargeObject error, instead of skipping them. Default false.
    #[serde(default)]
    pub legacy_rules: bool,
    /// The state of each listed user after the last cycle, by user id. Users not listed are not
    /// checked.
    #[serde(default)]
    pub expect: SpannedMap<SyncOutcome>,
}

impl Default for SyncStep {
    fn default() -> Self {
        SyncStep {
            cycles: initial_only(),
            legacy_rules: false,
            expect: SpannedMap::default(),
        }
    }
}

fn initial_only() -> Spanned<Vec<SyncCycle>> {
    unlocated(vec![SyncCycle::Initial])
}

/// A browser that runs Outlook on the web.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Browser {
    /// Microsoft Edge (Chromium).
    Edge,
    /// Google Chrome.
    Chrome,
}

impl Browser {
    pub fn name(self) -> &'static str {
        match self {
            Browser::Edge => "edge",
            Browser::Chrome => "chrome",
        }
    }
}

/// How a browser policy is delivered.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyFormat {
    /// A Windows registry file (`.reg`) for `HKLM\SOFTWARE\Policies\...`, what Group Policy writes.
    Reg,
    /// A managed-policy JSON file, as Linux reads from `/etc/opt/<browser>/policies/managed/`.
    Json,
    /// A macOS configuration profile (`.mobileconfig`, an XML property list) whose payload is the
    /// browser's preference domain, as MDM installs it: a bare preferences plist does not take
    /// effect on its own.
    Plist,
}

impl PolicyFormat {
    pub fn name(self) -> &'static str {
        match self {
            PolicyFormat::Reg => "reg",
            PolicyFormat::Json => "json",
            PolicyFormat::Plist => "plist",
        }
    }
}

/// Step 4: the browser policy that installs the S/MIME extension for Outlook on the web.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BrowserPolicy {
    /// The browsers to produce the policy for. Default `[edge, chrome]`.
    #[serde(default = "all_browsers")]
    #[schemars(with = "Vec<Browser>")]
    pub browsers: Spanned<Vec<Browser>>,
    /// The forms to produce it in. Default `[reg]`.
    #[serde(default = "reg_only")]
    #[schemars(with = "Vec<PolicyFormat>")]
    pub formats: Spanned<Vec<PolicyFormat>>,
    /// The `ExtensionInstallForcelist` entry to deploy. Default: the documented
    /// `maafgiompdekodanheihhgilkjchcakm;https://outlook.office.com/owa/SmimeCrxUpdate.ashx`; give
    /// another to rehearse a mistyped policy.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub value: Option<Spanned<String>>,
    /// What the check of the produced policy must find. Default: the value is the documented one.
    #[serde(default)]
    pub expect: BrowserPolicyExpect,
}

impl Default for BrowserPolicy {
    fn default() -> Self {
        BrowserPolicy {
            browsers: all_browsers(),
            formats: reg_only(),
            value: None,
            expect: BrowserPolicyExpect::default(),
        }
    }
}

fn all_browsers() -> Spanned<Vec<Browser>> {
    unlocated(vec![Browser::Edge, Browser::Chrome])
}

fn reg_only() -> Spanned<Vec<PolicyFormat>> {
    unlocated(vec![PolicyFormat::Reg])
}

fn zero() -> Spanned<u32> {
    unlocated(0)
}

fn unset() -> Spanned<bool> {
    unlocated(false)
}

/// A default value: it has no place in the file.
fn unlocated_default<T: Default>() -> Spanned<T> {
    unlocated(T::default())
}

pub(crate) fn unlocated<T>(value: T) -> Spanned<T> {
    Spanned::new(
        value,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

/// The expected result of checking the browser policy.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BrowserPolicyExpect {
    /// The policy's value is exactly the documented one. Default true.
    #[serde(default = "yes")]
    pub valid: bool,
}

impl Default for BrowserPolicyExpect {
    fn default() -> Self {
        BrowserPolicyExpect { valid: true }
    }
}

fn yes() -> bool {
    true
}

/// Step 5: client configuration.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Clients {
    /// `Set-SmimeConfig` parameters for Outlook on the web, by their cmdlet names. Parameters left
    /// out keep Exchange's defaults.
    #[serde(default)]
    pub smime_config: SmimeConfig,
    /// The S/MIME parameters of the mobile device mailbox policy (`Set-MobileDeviceMailboxPolicy`),
    /// by their cmdlet names. Parameters left out keep Exchange's defaults.
    #[serde(default)]
    pub mobile_policy: MobilePolicy,
    /// Where users install their certificate and key (a PKCS#12 file). Default: every user with
    /// certificates, on every client, from a modern PKCS#12 file, as a software certificate.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Device>>")]
    pub devices: Option<Vec<Spanned<Device>>>,
}

/// Declares a string whose `Deserialize` runs a check, so that a bad value is reported by the YAML
/// parser at its own line and column.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $schema:expr, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                let check: fn(&str) -> Result<(), String> = $check;
                check(&text).map_err(de::Error::custom)?;
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
    /// An id: lower-case letters, digits, `-`, `_` and `.`, starting with a letter or digit, at
    /// most 64 characters (`alice`, `bob-sign`, `issuing`, `alice-to-bob`).
    Id,
    json_schema!({
        "type": "string",
        "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$",
        "description": "An id: lower-case letters, digits, '-', '_' and '.', starting with a letter or digit."
    }),
    check_id
);

/// The same alphabet as the PKI's ids, because ids become file names and parts of URLs.
pub(crate) fn check_id(s: &str) -> Result<(), String> {
    let ok = s.len() <= 64
        && s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a usable id: use lower-case letters, digits, '-', '_' and '.', starting with a letter or digit, at most 64 characters"
        ))
    }
}

checked_string!(
    /// Non-empty text.
    Text,
    json_schema!({ "type": "string", "minLength": 1 }),
    |s| {
        if s.trim().is_empty() {
            Err("this text is empty; write a sentence".to_owned())
        } else {
            Ok(())
        }
    }
);

checked_string!(
    /// CAPI algorithm ids for `OWAEncryptionAlgorithms`, `;`-separated in order of preference:
    /// 6601 DES, 6602:<bits> RC2 (40, 56, 64 or 128), 6603 3DES, 660E AES-128, 660F AES-192,
    /// 6610 AES-256; an entry may name a provider's OID after a comma (`6603,1.2.3.4`).
    EncryptionAlgorithms,
    json_schema!({
        "type": "string",
        "pattern": "^(660[123EeFf]|6610)(:[0-9]+)?(,[0-9.]+)?(;(660[123EeFf]|6610)(:[0-9]+)?(,[0-9.]+)?)*$",
        "examples": ["6610", "660E", "6603;6602:128;6601"]
    }),
    |s| check_algorithms(s, AlgorithmKind::Encryption)
);

checked_string!(
    /// CAPI algorithm ids for `OWASigningAlgorithms`, `;`-separated in order of preference:
    /// 8003 MD5, 8004 SHA-1, 800C SHA-256, 800D SHA-384, 800E SHA-512; an entry may name a
    /// provider's OID after a comma.
    SigningAlgorithms,
    json_schema!({
        "type": "string",
        "pattern": "^(800[34cdeCDE])(:[0-9]+)?(,[0-9.]+)?(;(800[34cdeCDE])(:[0-9]+)?(,[0-9.]+)?)*$",
        "examples": ["800C", "800E;800C;8004"]
    }),
    |s| check_algorithms(s, AlgorithmKind::Signing)
);

#[derive(Clone, Copy, PartialEq, Eq)]
enum AlgorithmKind {
    Encryption,
    Signing,
}

/// Exchange falls back to its default on a value it cannot parse ("If the parameter is not
/// specified or is not formatted correctly, Outlook on the web uses 6610"), so a typo would
/// silently test the default: refuse it here instead.
fn check_algorithms(s: &str, kind: AlgorithmKind) -> Result<(), String> {
    let known: &[(&str, &str)] = match kind {
        AlgorithmKind::Encryption => &[
            ("6601", "DES"),
            ("6602", "RC2"),
            ("6603", "3DES"),
            ("660E", "AES-128"),
            ("660F", "AES-192"),
            ("6610", "AES-256"),
        ],
        AlgorithmKind::Signing => &[
            ("8003", "MD5"),
            ("8004", "SHA-1"),
            ("800C", "SHA-256"),
            ("800D", "SHA-384"),
            ("800E", "SHA-512"),
        ],
    };
    let names = known
        .iter()
        .map(|(id, name)| format!("{id} {name}"))
        .collect::<Vec<_>>()
        .join(", ");
    if s.trim().is_empty() {
        return Err(format!("no algorithm given; known ids: {names}"));
    }
    for entry in s.split(';') {
        let (algorithm, oid) = match entry.split_once(',') {
            Some((algorithm, oid)) => (algorithm, Some(oid)),
            None => (entry, None),
        };
        let (id, bits) = match algorithm.split_once(':') {
            Some((id, bits)) => (id, Some(bits)),
            None => (algorithm, None),
        };
        if !known.iter().any(|(k, _)| k.eq_ignore_ascii_case(id)) {
            return Err(format!(
                "{id:?} in {s:?} is not an algorithm id Exchange knows here; known ids: {names} (separate several with ';')"
            ));
        }
        if let Some(bits) = bits {
            let rc2 = kind == AlgorithmKind::Encryption && id == "6602";
            if !rc2 || !["40", "56", "64", "128"].contains(&bits) {
                return Err(format!(
                    "{entry:?}: only RC2 (6602) takes a key length, and only 40, 56, 64 or 128"
                ));
            }
        }
        if let Some(oid) = oid {
            let ok = !oid.is_empty()
                && oid.split('.').count() >= 2
                && oid
                    .split('.')
                    .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(format!(
                    "{entry:?}: after the comma comes a provider's OID in dotted form (6603,1.2.840.113549.3.7)"
                ));
            }
        }
    }
    Ok(())
}

checked_string!(
    /// The id of a conformance check in the catalogue, `AREA-TOPIC-NNN` (`PKI-SKI-001`).
    CheckId,
    json_schema!({ "type": "string", "pattern": "^[A-Z]+-[A-Z]+-[0-9]{3}$" }),
    |s| {
        let parts: Vec<&str> = s.split('-').collect();
        let ok = parts.len() == 3
            && parts[..2]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase()))
            && parts[2].len() == 3
            && parts[2].bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{s:?} is not a check id: write AREA-TOPIC-NNN as in the catalogue, e.g. PKI-SKI-001"
            ))
        }
    }
);

/// `Set-SmimeConfig` parameters that shape what Outlook on the web does. Names and types are the
/// cmdlet's; descriptions summarise its documentation. `SMIMECertificateIssuingCA` is step 2's.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmimeConfig {
    /// Let users pick the certificate they sign with. Default false.
    #[serde(
        rename = "OWAAllowUserChoiceOfSigningCertificate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_allow_user_choice_of_signing_certificate: Option<bool>,
    /// Encrypt every outgoing message. Default false.
    #[serde(
        rename = "OWAAlwaysEncrypt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_always_encrypt: Option<bool>,
    /// Sign every outgoing message. Default false.
    #[serde(
        rename = "OWAAlwaysSign",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_always_sign: Option<bool>,
    /// How Bcc recipients of an encrypted message are handled: 0 one message per Bcc recipient
    /// (default), 1 one message for all Bcc recipients, 2 no Bcc forking.
    #[serde(
        rename = "OWABCCEncryptedEmailForking",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_bcc_encrypted_email_forking: Option<BccForking>,
    /// Refuse to send signed or encrypted messages when the CRL distribution point is
    /// unreachable. Default false.
    #[serde(
        rename = "OWACheckCRLOnSend",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_check_crl_on_send: Option<bool>,
    /// Clear-sign (true, default) or opaque-sign (false) messages.
    #[serde(
        rename = "OWAClearSign",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_clear_sign: Option<bool>,
    /// Reserved for internal Microsoft use.
    #[serde(
        rename = "OWACopyRecipientHeaders",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_copy_recipient_headers: Option<bool>,
    /// Milliseconds to wait while connecting to fetch one CRL. Default 60000.
    #[serde(
        rename = "OWACRLConnectionTimeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_crl_connection_timeout: Option<u32>,
    /// Milliseconds to wait for all CRLs of a validation. Default 10000.
    #[serde(
        rename = "OWACRLRetrievalTimeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_crl_retrieval_timeout: Option<u32>,
    /// Skip CRL checks (a revoked certificate then validates). Default false.
    #[serde(
        rename = "OWADisableCRLCheck",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_disable_crl_check: Option<bool>,
    /// Milliseconds to wait when expanding a distribution group for encryption. Default 60000.
    #[serde(
        rename = "OWADLExpansionTimeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_dl_expansion_timeout: Option<u32>,
    /// Content-encryption algorithms in order of preference. Default `6610` (AES-256).
    #[serde(
        rename = "OWAEncryptionAlgorithms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_encryption_algorithms: Option<EncryptionAlgorithms>,
    /// Encrypt the client's temporary buffers. Default true.
    #[serde(
        rename = "OWAEncryptTemporaryBuffers",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_encrypt_temporary_buffers: Option<bool>,
    /// Force users to upgrade an older S/MIME control. Default true.
    #[serde(
        rename = "OWAForceSMIMEClientUpgrade",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_force_smime_client_upgrade: Option<bool>,
    /// Include the certificate chain and the root in messages. Default false.
    #[serde(
        rename = "OWAIncludeCertificateChainAndRootCertificate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_include_certificate_chain_and_root_certificate: Option<bool>,
    /// Include the certificate chain without the root in messages. Default false: only the
    /// signing and encryption certificates.
    #[serde(
        rename = "OWAIncludeCertificateChainWithoutRootCertificate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_include_certificate_chain_without_root_certificate: Option<bool>,
    /// Add the smimeCapabilities attribute to signed and encrypted messages. Default false.
    #[serde(
        rename = "OWAIncludeSMIMECapabilitiesInMessage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_include_smime_capabilities_in_message: Option<bool>,
    /// Require smart-card certificates for signing and decryption. Default false.
    #[serde(
        rename = "OWAOnlyUseSmartCard",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_only_use_smart_card: Option<bool>,
    /// Comma-separated OIDs of the certificate attributes shown when the sender's address and the
    /// certificate's differ. Default empty.
    #[serde(
        rename = "OWASenderCertificateAttributesToDisplay",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_sender_certificate_attributes_to_display: Option<String>,
    /// Include the signing and encryption certificates in signed messages. Default true.
    #[serde(
        rename = "OWASignedEmailCertificateInclusion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_signed_email_certificate_inclusion: Option<bool>,
    /// Digest algorithms in order of preference. Default `8004` (SHA-1).
    #[serde(
        rename = "OWASigningAlgorithms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_signing_algorithms: Option<SigningAlgorithms>,
    /// Triple-wrap signed and encrypted messages (signed, encrypted, signed again). Default false.
    #[serde(
        rename = "OWATripleWrapSignedEncryptedMail",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_triple_wrap_signed_encrypted_mail: Option<bool>,
    /// Identify recipients by subject key identifier instead of issuer and serial number.
    /// Default false.
    #[serde(
        rename = "OWAUseKeyIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_use_key_identifier: Option<bool>,
    /// Match a recipient's certificate against their proxy addresses too. Default true.
    #[serde(
        rename = "OWAUseSecondaryProxiesWhenFindingCertificates",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owa_use_secondary_proxies_when_finding_certificates: Option<bool>,
    /// New Outlook for Windows: replies do not inherit the S/MIME signature. Default true.
    #[serde(
        rename = "NoSignOnReply",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub no_sign_on_reply: Option<bool>,
}

/// `OWABCCEncryptedEmailForking`: 0, 1 or 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BccForking(u32);

impl JsonSchema for BccForking {
    fn schema_name() -> Cow<'static, str> {
        "BccForking".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": 0, "maximum": 2 })
    }
}

impl BccForking {
    pub fn value(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for BccForking {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = u32::deserialize(deserializer)?;
        if value > 2 {
            return Err(de::Error::custom(format!(
                "{value} is not a forking mode: 0 one message per Bcc recipient, 1 one message for all Bcc recipients, 2 no Bcc forking"
            )));
        }
        Ok(BccForking(value))
    }
}

/// The S/MIME parameters of the mobile device mailbox policy. The enum names are the cmdlet's;
/// their Exchange ActiveSync wire values are given in brackets.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MobilePolicy {
    /// Whether the device may negotiate the encryption algorithm when a recipient's certificate
    /// does not support the required one. Default `AllowAnyAlgorithmNegotiation`.
    #[serde(
        rename = "AllowSMIMEEncryptionAlgorithmNegotiation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_smime_encryption_algorithm_negotiation: Option<AlgorithmNegotiation>,
    /// Whether S/MIME software certificates (installed from a PKCS#12 file) are allowed. Default
    /// true.
    #[serde(
        rename = "AllowSMIMESoftCerts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_smime_soft_certs: Option<bool>,
    /// The device must send encrypted S/MIME messages. Default false.
    #[serde(
        rename = "RequireEncryptedSMIMEMessages",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub require_encrypted_smime_messages: Option<bool>,
    /// The algorithm required to encrypt. Default `TripleDES`.
    #[serde(
        rename = "RequireEncryptionSMIMEAlgorithm",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub require_encryption_smime_algorithm: Option<MobileEncryptionAlgorithm>,
    /// The algorithm used to sign. Default `SHA1`.
    #[serde(
        rename = "RequireSignedSMIMEAlgorithm",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub require_signed_smime_algorithm: Option<MobileSigningAlgorithm>,
    /// The device must send signed S/MIME messages. Default false.
    #[serde(
        rename = "RequireSignedSMIMEMessages",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub require_signed_smime_messages: Option<bool>,
}

/// `SMIMEEncryptionAlgorithmNegotiationType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum AlgorithmNegotiation {
    /// Do not negotiate (0).
    BlockNegotiation,
    /// Negotiate a strong algorithm only (1).
    OnlyStrongAlgorithmNegotiation,
    /// Negotiate any algorithm (2). The default.
    AllowAnyAlgorithmNegotiation,
}

impl AlgorithmNegotiation {
    /// The Exchange ActiveSync wire value (MS-ASPROV 2.2.2.13).
    pub fn ordinal(self) -> u8 {
        match self {
            AlgorithmNegotiation::BlockNegotiation => 0,
            AlgorithmNegotiation::OnlyStrongAlgorithmNegotiation => 1,
            AlgorithmNegotiation::AllowAnyAlgorithmNegotiation => 2,
        }
    }
}

/// `EncryptionSMIMEAlgorithmType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum MobileEncryptionAlgorithm {
    /// 3DES (0). The default.
    TripleDES,
    /// DES (1).
    DES,
    /// RC2 with a 128-bit key (2).
    RC2128bit,
    /// RC2 with a 64-bit key (3).
    RC264bit,
    /// RC2 with a 40-bit key (4).
    RC240bit,
}

impl MobileEncryptionAlgorithm {
    /// The Exchange ActiveSync wire value (MS-ASPROV 2.2.2.48).
    pub fn ordinal(self) -> u8 {
        match self {
            MobileEncryptionAlgorithm::TripleDES => 0,
            MobileEncryptionAlgorithm::DES => 1,
            MobileEncryptionAlgorithm::RC2128bit => 2,
            MobileEncryptionAlgorithm::RC264bit => 3,
            MobileEncryptionAlgorithm::RC240bit => 4,
        }
    }

    /// The content cipher a device uses under this policy.
    pub fn cipher(self) -> ContentCipher {
        match self {
            MobileEncryptionAlgorithm::TripleDES => ContentCipher::DesEde3Cbc,
            MobileEncryptionAlgorithm::DES => ContentCipher::DesCbc,
            MobileEncryptionAlgorithm::RC2128bit => ContentCipher::Rc2Cbc128,
            MobileEncryptionAlgorithm::RC264bit => ContentCipher::Rc2Cbc64,
            MobileEncryptionAlgorithm::RC240bit => ContentCipher::Rc2Cbc40,
        }
    }
}

/// `SignedSMIMEAlgorithmType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum MobileSigningAlgorithm {
    /// SHA-1 (0). The default.
    SHA1,
    /// MD5 (1).
    MD5,
}

impl MobileSigningAlgorithm {
    /// The Exchange ActiveSync wire value (MS-ASPROV 2.2.2.50).
    pub fn ordinal(self) -> u8 {
        match self {
            MobileSigningAlgorithm::SHA1 => 0,
            MobileSigningAlgorithm::MD5 => 1,
        }
    }

    pub fn digest(self) -> Digest {
        match self {
            MobileSigningAlgorithm::SHA1 => Digest::Sha1,
            MobileSigningAlgorithm::MD5 => Digest::Md5,
        }
    }
}

/// A mail client the lab emulates.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum MailClient {
    /// Outlook for Windows: looks recipients' certificates up in `userSMIMECertificate` first.
    Outlook,
    /// Outlook on the web, shaped by `smime-config`.
    Owa,
    /// An Exchange ActiveSync device, shaped by `mobile-policy`.
    Mobile,
}

impl MailClient {
    pub const ALL: [MailClient; 3] = [MailClient::Outlook, MailClient::Owa, MailClient::Mobile];

    pub fn name(self) -> &'static str {
        match self {
            MailClient::Outlook => "outlook",
            MailClient::Owa => "owa",
            MailClient::Mobile => "mobile",
        }
    }
}

/// Which PKCS#12 form the user installs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Pkcs12Form {
    /// AES-256-CBC and PBKDF2, HMAC-SHA-256 (OpenSSL 3's default).
    #[default]
    Modern,
    /// 3DES and SHA-1 (Windows' "TripleDES-SHA1"), which older phones need.
    Legacy,
}

/// Where the private key lives on the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KeyStorage {
    /// A software certificate imported from the PKCS#12 file (what `AllowSMIMESoftCerts` and
    /// `OWAOnlyUseSmartCard` govern).
    #[default]
    Software,
    /// A smart card.
    SmartCard,
}

/// A user's certificate and key installed on one client.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Device {
    /// The user id.
    #[schemars(with = "Id")]
    pub user: Spanned<Id>,
    /// The client the identity is installed in.
    pub client: MailClient,
    /// The certificates installed, by certificate id, each with its key. Default: all of the
    /// user's.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Id>>")]
    pub certificates: Option<Vec<Spanned<Id>>>,
    /// The PKCS#12 form. Default `modern`.
    #[serde(default)]
    pub pkcs12: Pkcs12Form,
    /// Where the key lives. Default `software`.
    #[serde(default)]
    pub storage: KeyStorage,
}

// --- messages -----------------------------------------------------------------------------------

/// A message digest algorithm for signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Digest {
    /// MD5: broken; what `RequireSignedSMIMEAlgorithm: MD5` makes a phone use.
    Md5,
    /// SHA-1: deprecated for signatures; Outlook on the web's default (`8004`).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Digest {
    pub fn name(self) -> &'static str {
        match self {
            Digest::Md5 => "md5",
            Digest::Sha1 => "sha1",
            Digest::Sha256 => "sha256",
            Digest::Sha384 => "sha384",
            Digest::Sha512 => "sha512",
        }
    }
}

/// The scenario's digest names are the engine's algorithms; this is the one place they meet.
impl From<Digest> for smime::cms::DigestAlgorithm {
    fn from(digest: Digest) -> Self {
        match digest {
            Digest::Md5 => smime::cms::DigestAlgorithm::Md5,
            Digest::Sha1 => smime::cms::DigestAlgorithm::Sha1,
            Digest::Sha256 => smime::cms::DigestAlgorithm::Sha256,
            Digest::Sha384 => smime::cms::DigestAlgorithm::Sha384,
            Digest::Sha512 => smime::cms::DigestAlgorithm::Sha512,
        }
    }
}

/// Which certificates a message carries besides the signer's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ChainInclusion {
    /// Only the signing (and encryption) certificates.
    None,
    /// The chain without the root (`OWAIncludeCertificateChainWithoutRootCertificate`).
    Chain,
    /// The chain and the root (`OWAIncludeCertificateChainAndRootCertificate`).
    ChainAndRoot,
}

/// `none` still carries the signer's own certificate: without it a signature cannot be checked
/// from the message, and the engine always includes it.
impl From<ChainInclusion> for smime::cms::CertificateInclusion {
    fn from(inclusion: ChainInclusion) -> Self {
        match inclusion {
            ChainInclusion::None => smime::cms::CertificateInclusion::SignerOnly,
            ChainInclusion::Chain => smime::cms::CertificateInclusion::Chain,
            ChainInclusion::ChainAndRoot => smime::cms::CertificateInclusion::ChainWithRoot,
        }
    }
}

/// Choices the sending client would otherwise make itself (for Outlook on the web, from
/// `smime-config`; for mobile, from `mobile-policy`).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MessageOptions {
    /// The signature's digest algorithm.
    #[serde(default)]
    pub digest: Option<Digest>,
    /// The content-encryption algorithm.
    #[serde(default)]
    pub cipher: Option<ContentCipher>,
    /// Key transport padding for RSA recipients: `pkcs1v15` or `{ oaep: sha256 }`.
    #[serde(default)]
    pub rsa_padding: Option<RsaPadding>,
    /// How recipients are identified in the envelope.
    #[serde(default)]
    pub recipient_id: Option<RecipientIdType>,
    /// Which certificates the signed message carries.
    #[serde(default)]
    pub include_chain: Option<ChainInclusion>,
    /// Sign with this certificate (an id from the PKI) instead of the sender's own, as when a
    /// certificate is shared or borrowed: the signer is then not the From address.
    #[serde(default)]
    #[schemars(with = "Option<Id>")]
    pub signer: Option<Spanned<Id>>,
}

/// The signature verdict the recipient's client reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The signature verifies and the signer's certificate chains to a CA of the virtual
    /// certificate collection, unrevoked, for the From address.
    Valid,
    /// The signature does not verify over the content (tampered, or the wrong key).
    InvalidSignature,
    /// The signer's chain does not reach a root in the virtual certificate collection.
    Untrusted,
    /// The signer's certificate (or one above it) had expired at signing time.
    Expired,
    /// The signer's certificate (or one above it) was not yet valid.
    NotYetValid,
    /// The signer's certificate is listed in its CA's CRL.
    Revoked,
    /// "The online certificate revocation list (CRL) that the certificate chain relies on is
    /// currently offline".
    CrlUnreachable,
    /// The certificate is valid but not for the From address.
    SignerMismatch,
    /// The certificate is not for email protection or not for signing.
    WrongUsage,
    /// An algorithm the verifier refuses: a SHA-1 or MD5 signature, an RSA key below 2048 bits.
    WeakAlgorithm,
    /// The message carries no signature.
    NotSigned,
    /// The message is encrypted and the recipient has no certificate and key installed to open
    /// it, so the signature inside cannot be judged.
    Encrypted,
    /// The message is encrypted and none of the recipient's installed identities opens it (not a
    /// recipient of the envelope, or a key that does not decrypt it).
    CannotDecrypt,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::InvalidSignature => "invalid-signature",
            Verdict::Untrusted => "untrusted",
            Verdict::Expired => "expired",
            Verdict::NotYetValid => "not-yet-valid",
            Verdict::Revoked => "revoked",
            Verdict::CrlUnreachable => "crl-unreachable",
            Verdict::SignerMismatch => "signer-mismatch",
            Verdict::WrongUsage => "wrong-usage",
            Verdict::WeakAlgorithm => "weak-algorithm",
            Verdict::NotSigned => "not-signed",
            Verdict::Encrypted => "encrypted",
            Verdict::CannotDecrypt => "cannot-decrypt",
        }
    }
}

/// Why a client refuses to send. Names from a setting are that setting's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum RefusalReason {
    /// The mobile policy requires encrypted messages and this one is not encrypted.
    RequireEncryptedSMIMEMessages,
    /// The mobile policy requires signed messages and this one is not signed.
    RequireSignedSMIMEMessages,
    /// The mobile policy does not allow software certificates and the key is one.
    AllowSMIMESoftCerts,
    /// The mobile policy's encryption algorithm cannot be used for a recipient and negotiation is
    /// blocked.
    RequireEncryptionSMIMEAlgorithm,
    /// Outlook on the web requires smart-card certificates and the key is a software one.
    OWAOnlyUseSmartCard,
    /// Outlook on the web could not reach a CRL and `OWACheckCRLOnSend` is true.
    OWACheckCRLOnSend,
    /// A recipient has no usable encryption certificate ("missing or invalid certificates").
    NoRecipientCertificate,
    /// The sender has no usable signing certificate on this client.
    NoSigningCertificate,
}

impl RefusalReason {
    pub fn name(self) -> &'static str {
        match self {
            RefusalReason::RequireEncryptedSMIMEMessages => "RequireEncryptedSMIMEMessages",
            RefusalReason::RequireSignedSMIMEMessages => "RequireSignedSMIMEMessages",
            RefusalReason::AllowSMIMESoftCerts => "AllowSMIMESoftCerts",
            RefusalReason::RequireEncryptionSMIMEAlgorithm => "RequireEncryptionSMIMEAlgorithm",
            RefusalReason::OWAOnlyUseSmartCard => "OWAOnlyUseSmartCard",
            RefusalReason::OWACheckCRLOnSend => "OWACheckCRLOnSend",
            RefusalReason::NoRecipientCertificate => "NoRecipientCertificate",
            RefusalReason::NoSigningCertificate => "NoSigningCertificate",
        }
    }
}

/// What must happen to a message.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MessageExpect {
    /// The sending client refuses to send it. Default false.
    #[serde(default = "unset")]
    #[schemars(with = "bool")]
    pub refused: Spanned<bool>,
    /// Why it is refused (with `refused: true`).
    #[serde(default)]
    #[schemars(with = "Option<RefusalReason>")]
    pub reason: Option<Spanned<RefusalReason>>,
    /// It reaches every recipient's mailbox. Default: true unless refused.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub delivered: Option<Spanned<bool>>,
    /// The signature verdict at every recipient.
    #[serde(default)]
    #[schemars(with = "Option<Verdict>")]
    pub verdict: Option<Spanned<Verdict>>,
    /// Catalogue check ids the verdict must report (`PKI-SKI-001`).
    #[serde(default)]
    #[schemars(with = "Vec<CheckId>")]
    pub reasons: Vec<Spanned<CheckId>>,
    /// Every recipient can decrypt it (with an encrypted message).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub decrypted: Option<Spanned<bool>>,
    /// The recipient's client flags a weak algorithm (3DES, DES, RC2, MD5, SHA-1).
    #[serde(default)]
    pub weak: Option<bool>,
}

impl Default for MessageExpect {
    fn default() -> Self {
        MessageExpect {
            refused: unset(),
            reason: None,
            delivered: None,
            verdict: None,
            reasons: Vec::new(),
            decrypted: None,
            weak: None,
        }
    }
}

/// A message one user sends to others.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Message {
    /// The sender's user id.
    #[schemars(with = "Id")]
    pub from: Spanned<Id>,
    /// Recipients' user ids.
    #[serde(default)]
    #[schemars(with = "Vec<Id>")]
    pub to: Vec<Spanned<Id>>,
    /// Cc recipients' user ids.
    #[serde(default)]
    #[schemars(with = "Vec<Id>")]
    pub cc: Vec<Spanned<Id>>,
    /// Bcc recipients' user ids.
    #[serde(default)]
    #[schemars(with = "Vec<Id>")]
    pub bcc: Vec<Spanned<Id>>,
    /// The client the sender uses.
    pub client: MailClient,
    /// The subject. Default `<scenario name> #<message number>`.
    #[serde(default)]
    pub subject: Option<String>,
    /// The plain-text body. Default: a fixed line naming the scenario.
    #[serde(default)]
    pub body: Option<String>,
    /// Sign it. Default false.
    #[serde(default = "unset")]
    #[schemars(with = "bool")]
    pub sign: Spanned<bool>,
    /// Encrypt it. Default false.
    #[serde(default = "unset")]
    #[schemars(with = "bool")]
    pub encrypt: Spanned<bool>,
    /// Triple-wrap it (signed, encrypted, signed again). Default: the client's setting
    /// (`OWATripleWrapSignedEncryptedMail` for Outlook on the web).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub triple_wrap: Option<Spanned<bool>>,
    /// Opaque-sign (application/pkcs7-mime) instead of clear-sign. Default: the client's setting
    /// (`OWAClearSign` for Outlook on the web).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub opaque: Option<Spanned<bool>>,
    /// Choices the client would otherwise make.
    #[serde(default = "unlocated_default::<MessageOptions>")]
    #[schemars(with = "MessageOptions")]
    pub options: Spanned<MessageOptions>,
    /// What must happen.
    #[serde(default = "unlocated_default::<MessageExpect>")]
    #[schemars(with = "MessageExpect")]
    pub expect: Spanned<MessageExpect>,
    /// Name of the snapshot of the message's anatomy, unique in the scenario.
    #[serde(default)]
    #[schemars(with = "Option<Id>")]
    pub snapshot: Option<Spanned<Id>>,
}

// --- services -----------------------------------------------------------------------------------

/// A lab service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    /// The directory (on-premises AD DS).
    Directory,
    /// The mock Exchange Online tenant.
    Tenant,
    /// The SMTP sink (the mail flow).
    Smtp,
    /// The CA's public web server for CRLs and CA certificates.
    PkiWeb,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Directory => "directory",
            Service::Tenant => "tenant",
            Service::Smtp => "smtp",
            Service::PkiWeb => "pki-web",
        }
    }
}

/// What goes wrong with a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The service stops answering (connections are refused).
    Down,
}

/// A point in the run: before one of the steps, or before the messages.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Step 1.
    Publish,
    /// Step 2.
    VirtualCollection,
    /// Step 3.
    Sync,
    /// Step 4.
    BrowserPolicy,
    /// Step 5.
    Clients,
    /// The messages, after the steps.
    Messages,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Publish => "publish",
            Stage::VirtualCollection => "virtual-collection",
            Stage::Sync => "sync",
            Stage::BrowserPolicy => "browser-policy",
            Stage::Clients => "clients",
            Stage::Messages => "messages",
        }
    }
}

/// A fault injected into a service for part of the run.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceFault {
    /// The service.
    pub service: Service,
    /// What goes wrong.
    pub fault: Fault,
    /// When it starts: before this step, or before the messages.
    #[schemars(with = "Stage")]
    pub at: Spanned<Stage>,
    /// When it is repaired: before this later step. Default: it lasts to the end of the run.
    #[serde(default)]
    #[schemars(with = "Option<Stage>")]
    pub until: Option<Spanned<Stage>>,
}

// --- helpers ------------------------------------------------------------------------------------

/// A mapping from ids to values that remembers where each key was written, in file order.
#[derive(Clone, Debug)]
pub struct SpannedMap<V>(pub Vec<(Spanned<Id>, V)>);

impl<V> Default for SpannedMap<V> {
    fn default() -> Self {
        SpannedMap(Vec::new())
    }
}

impl<V> SpannedMap<V> {
    pub fn iter(&self) -> impl Iterator<Item = &(Spanned<Id>, V)> {
        self.0.iter()
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.0
            .iter()
            .find(|(k, _)| k.value.as_str() == key)
            .map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpannedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(std::marker::PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = SpannedMap<V>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping from ids to settings")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<Id>>()? {
                    let value = map.next_value::<V>()?;
                    entries.push((key, value));
                }
                Ok(SpannedMap(entries))
            }
        }

        deserializer.deserialize_map(MapVisitor(std::marker::PhantomData))
    }
}

impl<V: JsonSchema> JsonSchema for SpannedMap<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<V>();
        json_schema!({
            "type": "object",
            "propertyNames": { "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$" },
            "additionalProperties": value
        })
    }
}
