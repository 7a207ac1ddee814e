use crate::load::{LoadedScenario, parse};

const HEAD: &str = "name: t\nsummary: s\nsource: a test of validation\n";

fn load(body: &str) -> Result<LoadedScenario, Vec<String>> {
    let text = format!("{HEAD}{body}");
    parse(&text, "t.yaml").map_err(|e| {
        e.locations()
            .into_iter()
            .map(|(line, column, message)| format!("{line}:{column}: {message}"))
            .collect()
    })
}

/// The problems of a scenario that must not validate.
fn problems(body: &str) -> Vec<String> {
    match load(body) {
        Ok(_) => panic!("validated, but should not:\n{body}"),
        Err(problems) => problems,
    }
}

fn assert_problem(problems: &[String], fragment: &str) {
    assert!(
        problems.iter().any(|p| p.contains(fragment)),
        "no problem says {fragment:?}: {problems:#?}"
    );
}

const FIXTURE: &str = "organisation: { tenant: contoso.onmicrosoft.com, users: [alice, bob, carol] }\npki: { fixture: default }\n";

const INLINE_PKI: &str = "pki:
  seed: t
  now: 2026-01-01T00:00:00Z
  domain: contoso.com
  root: { subject: \"CN=R\", key: ecdsa-p256 }
  users:
    alice: { key: ecdsa-p256 }
    alice-laptop: { key: ecdsa-p256, mailbox: alice@contoso.com }
    carol: { key: ecdsa-p256 }
";

#[test]
fn organisation_addresses_reach_the_pki() {
    let loaded = load(&format!(
            "organisation:\n  tenant: contoso.onmicrosoft.com\n  users: [alice, {{ id: carol, mailbox: carol.smith@contoso.com }}]\n{INLINE_PKI}"
        ))
        .unwrap_or_else(|p| panic!("{p:#?}"));
    let carol = loaded.user("carol").expect("carol");
    assert_eq!(carol.mailbox, "carol.smith@contoso.com");
    assert_eq!(
        loaded.pki.users["carol"]
            .value
            .mailbox
            .as_ref()
            .map(|m| m.as_str()),
        Some("carol.smith@contoso.com"),
        "the certificate must be issued for the address the tenant knows"
    );
    // A PKI user with alice's address is a second identity of alice.
    let alice = loaded.user("alice").expect("alice");
    assert_eq!(alice.certificates, vec!["alice", "alice-laptop"]);
    assert_eq!(loaded.domain, "contoso.com");
}

#[test]
fn users_and_mailboxes() {
    let p = problems(&format!(
        "organisation:\n  tenant: contoso.onmicrosoft.com\n  users: [alice, alice, {{ id: dave, mailbox: alice@contoso.com }}]\n{INLINE_PKI}"
    ));
    assert_problem(&p, "user `alice` is listed twice");
    assert_problem(&p, "mailbox alice@contoso.com belongs to two users");
    // carol has certificates but no mailbox in this organisation.
    assert_problem(&p, "PKI user `carol` is not in organisation.users");

    let p = problems(&format!(
        "organisation:\n  tenant: contoso.onmicrosoft.com\n  users: [{{ id: alice-laptop, mailbox: laptop@contoso.com }}, alice, carol]\n{INLINE_PKI}"
    ));
    assert_problem(
        &p,
        "user `alice-laptop` has mailbox laptop@contoso.com here but alice@contoso.com in the PKI",
    );

    // A fixture's certificates are the committed files: their addresses are fixed.
    let p = problems(
        "organisation: { tenant: contoso.onmicrosoft.com, users: [{ id: alice, mailbox: a.smith@contoso.com }] }\npki: { fixture: default }\n",
    );
    assert_problem(
        &p,
        "the fixture's certificates for `alice` are issued for alice@contoso.com, not a.smith@contoso.com",
    );
    load("organisation: { tenant: contoso.onmicrosoft.com, users: [{ id: alice, mailbox: alice@contoso.com }] }\npki: { fixture: default }\n")
            .unwrap_or_else(|p| panic!("{p:#?}"));

    let p = problems(
        "organisation: { tenant: contoso.onmicrosoft.com, users: [] }\npki: { fixture: default }\n",
    );
    assert_problem(&p, "the organisation has no users");
}

#[test]
fn publish_references() {
    let p = problems(&format!(
        "{FIXTURE}steps:\n  publish:\n    users:\n      alice: {{ certificates: [alice, issuing, nobody], extra-certificates: 101 }}\n      mallory: {{}}\n"
    ));
    assert_problem(&p, "`issuing` is not a user certificate of the PKI");
    assert_problem(&p, "`nobody` is not a user certificate of the PKI");
    assert_problem(&p, "101 extra certificates is more than the 100");
    assert_problem(&p, "publish.users entry `mallory` is not a user");

    // An extra certificate's id must not be a PKI user's.
    let body = "organisation: { tenant: contoso.onmicrosoft.com, users: [alice] }\npki:\n  seed: t\n  now: 2026-01-01T00:00:00Z\n  domain: contoso.com\n  root: { subject: \"CN=R\", key: ecdsa-p256 }\n  users:\n    alice: { key: ecdsa-p256 }\n    alice.previous-02: { key: ecdsa-p256, mailbox: alice@contoso.com }\nsteps:\n  publish: { users: { alice: { extra-certificates: 3 } } }\n";
    assert_problem(
        &problems(body),
        "the PKI already has a user `alice.previous-02`",
    );
}

#[test]
fn collection_expectations() {
    let p = problems(&format!(
        "{FIXTURE}steps:\n  virtual-collection: {{ sst: [root], encoding: truncated, expect: {{ earliest: issuing }} }}\n"
    ));
    assert_problem(&p, "`issuing` is not in the store");
    assert_problem(&p, "a truncated store cannot import");

    let p = problems(&format!(
        "{FIXTURE}steps:\n  virtual-collection: {{ expect: {{ error: wrong-format, earliest: root }} }}\n"
    ));
    assert_problem(&p, "`earliest` is reported only when the import succeeds");
    assert_problem(&p, "does not fail with wrong-format");

    let p = problems(&format!(
        "{FIXTURE}steps:\n  virtual-collection: {{ sst: [], filler: 1001 }}\n"
    ));
    assert_problem(&p, "1001 filler certificates");

    let p = problems(&format!(
        "{FIXTURE}steps:\n  virtual-collection: {{ sst: [] }}\n"
    ));
    assert_problem(&p, "the store would be empty");
}

#[test]
fn sync_and_browser_policy() {
    let p = problems(&format!(
        "{FIXTURE}steps:\n  sync: {{ legacy-rules: true, cycles: [], expect: {{ alice: skipped, zoe: exported }} }}\n  browser-policy: {{ browsers: [edge, edge], formats: [], value: ' ' }}\n"
    ));
    assert_problem(&p, "no sync cycles");
    assert_problem(&p, "only the default rules skip");
    assert_problem(&p, "sync.expect entry `zoe` is not a user");
    assert_problem(&p, "a browser is listed twice");
    assert_problem(&p, "no policy formats");
    assert_problem(&p, "the policy value is empty");
}

#[test]
fn smime_over_15_is_a_reading_of_the_default_rules_only() {
    let p = problems(&format!(
        "{FIXTURE}steps:\n  sync: {{ legacy-rules: true, smime-over-15: exported }}\n"
    ));
    assert_problem(&p, "the legacy rules guard neither attribute");
    let loaded = load(&format!(
        "{FIXTURE}steps:\n  sync: {{ smime-over-15: exported }}\n"
    ));
    assert!(loaded.is_ok(), "{:?}", loaded.err());
}

#[test]
fn devices() {
    let p = problems(
        "organisation: { tenant: contoso.onmicrosoft.com, users: [alice, frank] }\npki: { fixture: default }\nsteps:\n  clients:\n    devices:\n      - { user: frank, client: mobile }\n      - { user: alice, client: owa }\n      - { user: alice, client: owa, certificates: [alice, alice] }\n",
    );
    assert_problem(&p, "user `frank` has no certificates in the PKI");
    assert_problem(&p, "`alice` has two owa devices");
    assert_problem(&p, "certificate `alice` is listed twice");
}

#[test]
fn messages_that_contradict_themselves() {
    let p = problems(&format!(
        "{FIXTURE}messages:\n  - {{ from: alice, client: owa, triple-wrap: true, opaque: true, options: {{ digest: sha256, cipher: 3des, signer: carol }}, expect: {{ decrypted: true, verdict: valid, reason: RequireSignedSMIMEMessages }} }}\n  - {{ from: alice, to: [bob], client: owa, sign: true, expect: {{ verdict: not-signed }} }}\n  - {{ from: alice, to: [bob], client: owa, sign: true, options: {{ signer: root }} }}\n"
    ));
    assert_problem(&p, "message 1 has no recipients");
    assert_problem(&p, "triple wrapping needs a signed and encrypted message");
    assert_problem(&p, "`opaque` chooses how a signature is carried");
    assert_problem(&p, "option `digest` applies to signing");
    assert_problem(&p, "option `signer` applies to signing");
    assert_problem(&p, "option `cipher` applies to encryption");
    assert_problem(
        &p,
        "`decrypted` is expected of a message that is not encrypted",
    );
    assert_problem(
        &p,
        "a signature verdict is expected of a message that is not signed",
    );
    assert_problem(&p, "a refusal reason without `refused: true`");
    assert_problem(&p, "`not-signed` is expected of a message that is signed");
    assert_problem(&p, "`root` is not a user certificate of the PKI");
}

#[test]
fn envelope_verdicts_need_an_envelope() {
    let p = problems(&format!(
        "{FIXTURE}messages:\n  - {{ from: alice, to: [bob], client: owa, sign: true, expect: {{ verdict: encrypted }} }}\n  - {{ from: alice, to: [bob], client: owa, expect: {{ verdict: cannot-decrypt }} }}\n"
    ));
    assert_problem(
        &p,
        "an envelope verdict is expected of a message that is not encrypted",
    );
    assert_eq!(
        p.iter()
            .filter(|problem| problem.contains("envelope verdict"))
            .count(),
        2,
        "{p:#?}"
    );
    // Encrypted, signed or not, an envelope verdict is what a reader without a key sees.
    load(&format!(
            "{FIXTURE}messages:\n  - {{ from: alice, to: [bob], client: owa, encrypt: true, expect: {{ verdict: encrypted }} }}\n  - {{ from: alice, to: [bob], client: owa, sign: true, encrypt: true, expect: {{ verdict: cannot-decrypt }} }}\n"
        ))
        .unwrap_or_else(|p| panic!("{p:#?}"));
}

#[test]
fn faults() {
    let p = problems(&format!(
        "{FIXTURE}steps:\n  publish: {{}}\n  sync: {{}}\nmessages:\n  - {{ from: alice, to: [bob], client: owa }}\nservices:\n  - {{ service: tenant, fault: down, at: sync, until: publish }}\n  - {{ service: smtp, fault: down, at: publish }}\n  - {{ service: smtp, fault: down, at: messages }}\n  - {{ service: directory, fault: down, at: clients }}\n"
    ));
    assert_problem(
        &p,
        "the fault ends before `publish` but starts only before `sync`",
    );
    assert_problem(&p, "two faults of `smtp` overlap");
    assert_problem(&p, "`clients` does not happen in this scenario");

    // Back to back is not an overlap.
    load(&format!(
            "{FIXTURE}steps:\n  publish: {{}}\n  sync: {{}}\nservices:\n  - {{ service: smtp, fault: down, at: publish, until: sync }}\n  - {{ service: smtp, fault: down, at: sync }}\n"
        ))
        .unwrap_or_else(|p| panic!("{p:#?}"));
}

#[test]
fn duplicate_tags() {
    let p = problems(&format!("tags: [a, b, a]\n{FIXTURE}"));
    assert_problem(&p, "tag `a` is listed twice");
}

/// Validation indexes users by id and by address: an organisation of 100,000 users (built in
/// memory after parsing a small file) validates, its users keep file order, the fixture's
/// certificates reach their owners, and a duplicate at the very end is still found.
#[test]
fn a_hundred_thousand_users_validate() {
    use serde::Deserialize as _;
    use serde::de::IntoDeserializer as _;

    use crate::model::{Id, OrgUser, unlocated};

    const MANY: usize = 100_000;
    let body = "organisation: { tenant: contoso.onmicrosoft.com, users: [alice, bob] }\npki: { fixture: default }\nsteps: { publish: {}, sync: {} }\nmessages:\n  - { from: alice, to: [bob], client: owa, sign: true }\n";
    let text = format!("{HEAD}{body}");
    let scenario = || {
        let mut scenario: crate::model::Scenario =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        for n in 0..MANY {
            let name = format!("user-{n:06}");
            let id = Id::deserialize(name.as_str().into_deserializer())
                .unwrap_or_else(|e: serde::de::value::Error| panic!("{e}"));
            scenario.organisation.users.push(unlocated(OrgUser {
                id,
                mailbox: None,
                proxy_addresses: Vec::new(),
                population: None,
            }));
        }
        scenario
    };

    let loaded = super::validate(scenario(), &text, "t.yaml")
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    assert_eq!(loaded.users.len(), MANY + 2);
    assert_eq!(loaded.users[2].id, "user-000000");
    assert_eq!(loaded.users[MANY + 1].mailbox, "user-099999@contoso.com");
    assert_eq!(
        loaded.user("bob").map(|u| u.certificates.clone()),
        Some(vec!["bob-sign".to_owned(), "bob-encrypt".to_owned()])
    );
    assert!(loaded.users[2].certificates.is_empty());

    let mut twice = scenario();
    // After alice and bob from the file.
    let again = twice.organisation.users[2 + MANY / 2].value.clone();
    twice.organisation.users.push(unlocated(again));
    let problems: Vec<String> = match super::validate(twice, &text, "t.yaml") {
        Ok(_) => panic!("a user listed twice validated"),
        Err(e) => e.locations().into_iter().map(|(_, _, m)| m).collect(),
    };
    assert_eq!(problems, ["user `user-050000` is listed twice"]);
}

/// A message option cannot make a client do what its policy or algorithm list forbids
/// (Set-MobileDeviceMailboxPolicy: "specifies the algorithm that's used to sign S/MIME messages on
/// the mobile device"; Set-SmimeConfig: "a list of symmetric encryption algorithms that are used by
/// Outlook on the web to encrypt messages").
/// A generated population under a described PKI is planned in linear time: the planner found a
/// certificate id already taken by scanning every certificate planned before it, so the fuzzer's
/// 7,432 generated users (the kept input) took over libFuzzer's 10 s, and the 100,000 a
/// population may have would have taken hours.
#[test]
fn a_generated_population_of_a_hundred_thousand_checks() {
    let found = include_str!("regressions/fuzz-scenario_load-timeout-1a16bdc0.yaml");
    let loaded = parse(found, "found.yaml").unwrap_or_else(|e| panic!("{}", e.render(false)));
    assert_eq!(loaded.users.len(), 1 + 7432);

    let catalogue = include_str!("../../../../scenarios/generated-population.yaml");
    assert!(
        catalogue.contains("generate: 1000,") && catalogue.contains("user0001: exported"),
        "the catalogue scenario changed"
    );
    let many = catalogue.replace("generate: 1000,", "generate: 100000,");
    let loaded = parse(&many, "many.yaml").unwrap_or_else(|e| panic!("{}", e.render(false)));
    assert_eq!(loaded.users.len(), 1 + 100_000);
    assert_eq!(loaded.users[100_000].id, "user100000");
    assert_eq!(loaded.users[1].id, "user0001");

    // A reference to nobody names a few of the 100,000, not all of them.
    let unknown = many.replace("user0001: exported", "nobody: exported");
    let problems = match parse(&unknown, "many.yaml") {
        Ok(_) => panic!("an unknown user validated"),
        Err(e) => e.render(false),
    };
    assert!(
        problems.contains("`nobody` is not a user of the organisation"),
        "{problems}"
    );
    assert!(problems.contains("and 99981 more"), "{problems}");
    assert!(problems.len() < 2_000, "{problems}");
}

/// A file past the YAML reader's limits is told so in words, not by the reader's `Debug` form
/// ("budget breached: Nodes { nodes: 250001 }"), in both the one-line and the drawn forms.
#[test]
fn a_file_past_the_readers_limits_says_so_in_words() {
    let mut users = String::from("organisation:\n  tenant: contoso.onmicrosoft.com\n  users:\n");
    for n in 0..260_000 {
        users.push_str(&format!("    - u{n}\n"));
    }
    let text = format!("{HEAD}{users}");
    let Err(e) = parse(&text, "big.yaml") else {
        panic!("260,000 users were read")
    };
    let line = e.to_string();
    let drawn = e.render(false);
    for message in [&line, &drawn] {
        assert!(
            message.contains("holds more than 250,000 values"),
            "{message}"
        );
        assert!(message.contains("generate:"), "{message}");
        assert!(!message.contains("Nodes {"), "{message}");
    }
}

#[test]
fn message_options_cannot_override_the_clients_policy() {
    let p = problems(&format!(
        "{FIXTURE}steps:\n  clients:\n    mobile-policy: {{ RequireSignedSMIMEAlgorithm: MD5 }}\n    smime-config: {{ OWAEncryptionAlgorithms: \"660E;6603\" }}\nmessages:\n  - {{ from: alice, to: [bob], client: mobile, sign: true, encrypt: true, options: {{ digest: sha256, cipher: aes256-cbc }} }}\n  - {{ from: alice, to: [bob], client: owa, sign: true, encrypt: true, options: {{ digest: sha256, cipher: aes256-cbc }} }}\n"
    ));
    assert_problem(
        &p,
        "option `digest: sha256` is not what the mobile policy's RequireSignedSMIMEAlgorithm lets mobile sign with: md5 only",
    );
    assert_problem(
        &p,
        "option `cipher: aes256-cbc` is not what the mobile policy's RequireEncryptionSMIMEAlgorithm",
    );
    assert_problem(
        &p,
        "option `digest: sha256` is not what OWASigningAlgorithms lets owa sign with: sha1 only",
    );
    assert_problem(
        &p,
        "option `cipher: aes256-cbc` is not what OWAEncryptionAlgorithms lets owa encrypt with: aes128-cbc, 3des only",
    );
    assert_eq!(p.len(), 4, "{p:#?}");

    // What the configuration allows validates: the policy's own algorithms on the phone, any
    // entry of the lists in Outlook on the web, anything in Outlook for Windows (whose user picks
    // algorithms in the Trust Center).
    load(&format!(
        "{FIXTURE}steps:\n  clients:\n    mobile-policy: {{ RequireSignedSMIMEAlgorithm: MD5, RequireEncryptionSMIMEAlgorithm: DES }}\n    smime-config: {{ OWAEncryptionAlgorithms: \"660E;6603\", OWASigningAlgorithms: \"800C;8004\" }}\nmessages:\n  - {{ from: alice, to: [bob], client: mobile, sign: true, encrypt: true, options: {{ digest: md5, cipher: des }} }}\n  - {{ from: alice, to: [bob], client: owa, sign: true, encrypt: true, options: {{ digest: sha1, cipher: 3des }} }}\n  - {{ from: alice, to: [bob], client: outlook, sign: true, encrypt: true, options: {{ digest: sha512, cipher: rc2-40 }} }}\n"
    ))
    .unwrap_or_else(|p| panic!("{p:#?}"));
    // Without a configuration, Exchange's defaults bind: SHA-1 and 3DES on the phone, 8004 and
    // 6610 in Outlook on the web.
    let p = problems(&format!(
        "{FIXTURE}messages:\n  - {{ from: alice, to: [bob], client: mobile, sign: true, options: {{ digest: sha256 }} }}\n  - {{ from: alice, to: [bob], client: owa, encrypt: true, options: {{ cipher: aes128-cbc }} }}\n"
    ));
    assert_problem(&p, "lets mobile sign with: sha1 only");
    assert_problem(&p, "lets owa encrypt with: aes256-cbc only");
}

const POPULATION_PKI: &str = "pki:
  seed: population
  now: 2026-01-01T00:00:00Z
  domain: contoso.com
  root: { subject: \"CN=R\", key: ecdsa-p256 }
  intermediates:
    issuing: { subject: \"CN=I\", key: ecdsa-p256 }
  users:
    alice: { key: ecdsa-p256 }
";

fn population(entry: &str) -> String {
    format!(
        "organisation:\n  tenant: contoso.onmicrosoft.com\n  users:\n    - alice\n    - {entry}\n{POPULATION_PKI}"
    )
}

/// A generated population: its users in place, each with a PKI user of the population's key,
/// and each flaw given to its share of them, the same users on every load.
#[test]
fn a_population_makes_users_certificates_and_flaws() {
    let body = population(
        "{ generate: 1000, name: \"user{n:04}\", key: ecdsa-p256, flaws: { no-ski: 1%, expired: 0.5% } }",
    );
    let loaded = load(&body).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(loaded.users.len(), 1001);
    assert_eq!(loaded.users[1].id, "user0001");
    assert_eq!(loaded.users[1000].mailbox, "user1000@contoso.com");
    assert_eq!(loaded.users[1].certificates, vec!["user0001".to_owned()]);
    let spec = &loaded.pki.users["user0500"].value;
    assert_eq!(spec.key, Some(smime::key::KeySpec::EcdsaP256));

    let [generated] = loaded.populations.as_slice() else {
        panic!("one population: {:#?}", loaded.populations);
    };
    assert_eq!(generated.name, "user{n:04}");
    assert_eq!(generated.ids.len(), 1000);
    let count = |flaw| {
        generated
            .flawed
            .values()
            .filter(|flaws| flaws.contains(&flaw))
            .count()
    };
    assert_eq!(count(smime::pki::Flaw::NoSki), 10);
    assert_eq!(count(smime::pki::Flaw::Expired), 5);
    for (id, flaws) in &generated.flawed {
        assert_eq!(&loaded.pki.users[id].value.flaws, flaws, "{id}");
    }
    let unflawed = generated
        .ids
        .iter()
        .find(|id| !generated.flawed.contains_key(*id))
        .expect("most users have no flaw");
    assert!(loaded.pki.users[unflawed].value.flaws.is_empty());

    // Deterministic: the same users again; another seed, others.
    let again = load(&body).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(again.populations, loaded.populations);
    let reseeded = load(&body.replace("seed: population", "seed: another"))
        .unwrap_or_else(|p| panic!("{p:#?}"));
    assert_ne!(reseeded.populations[0].flawed, generated.flawed);
}

#[test]
fn a_population_is_checked_where_it_is_written() {
    for (entry, fragment) in [
        (
            "{ generate: 0, name: \"u{n}\" }",
            "generate: 0 users is not from 1 to 100000",
        ),
        (
            "{ generate: 100001, name: \"u{n}\" }",
            "generate: 100001 users is not from 1 to 100000",
        ),
        ("{ generate: 5, name: \"user\" }", "has no {n}"),
        (
            "{ generate: 5, name: \"u{n}{n}\" }",
            "more than one placeholder",
        ),
        (
            "{ generate: 5, name: \"u{n:0}\" }",
            "is not a number's place",
        ),
        ("{ generate: 5, name: \"U{n}\" }", "is not a usable id"),
        (
            "{ generate: 5, name: \"u{n}\", flaws: { no-ski: 1 } }",
            "is not a share",
        ),
        (
            "{ generate: 5, name: \"u{n}\", flaws: { no-ski: 101% } }",
            "is not a share",
        ),
        (
            "{ generate: 5, name: \"u{n}\", flaws: { no-such-flaw: 1% } }",
            "no-such-flaw",
        ),
        ("{ generate: 5, name: \"u{n}\", colour: blue }", "colour"),
        ("{ generate: 5, name: \"al{n:03}\", id: x }", "id"),
    ] {
        let p = problems(&population(entry));
        assert_problem(&p, fragment);
        assert!(p[0].starts_with("8:"), "{entry}: the entry's line: {p:#?}");
    }
    // A generated id already in use.
    let p = problems(&format!(
        "organisation:\n  tenant: contoso.onmicrosoft.com\n  users:\n    - alice\n    - user2\n    - {{ generate: 3, name: \"user{{n}}\" }}\n{POPULATION_PKI}"
    ));
    assert_problem(
        &p,
        "the population `user{n}` makes the user `user2`, who is already a user or a PKI user",
    );
}

#[test]
fn shares_round_to_whole_users() {
    use crate::model::Percent;
    let share = |text: &str| Percent::parse(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(share("1%").of(1000), 10);
    assert_eq!(share("0.5%").of(1000), 5);
    assert_eq!(
        share("0.01%").of(10),
        1,
        "a flaw written down is given to someone"
    );
    assert_eq!(share("0%").of(1000), 0);
    assert_eq!(share("100%").of(7), 7);
    assert_eq!(share("33.33%").of(3), 1);
    assert_eq!(share("1.5%").to_string(), "1.50%");
    for bad in ["1", "%", "1.234%", "-1%", "100.01%", "x%"] {
        assert!(Percent::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn mobile_policies_have_one_default_and_assignments_name_known_policies() {
    let problems = problems(&format!(
        "{FIXTURE}steps:
  clients:
    mobile-policies:
      field: {{ is-default: true }}
      strict: {{ is-default: true }}
      default: {{}}
    mobile-policy-assignments: {{ carol: nope, zoe: field }}
"
    ));
    assert_problem(&problems, "are both `is-default: true`");
    assert_problem(&problems, "the built-in policy `Default` exists already");
    assert_problem(&problems, "`nope` is not a mobile device mailbox policy");
    assert_problem(&problems, "`zoe` is not a user of the organisation");

    let loaded = load(&format!(
        "{FIXTURE}steps:
  clients:
    mobile-policy: {{ RequireSignedSMIMEAlgorithm: MD5 }}
    mobile-policies:
      field: {{ is-default: true, settings: {{ RequireEncryptionSMIMEAlgorithm: DES }} }}
    mobile-policy-assignments: {{ carol: Default }}
"
    ))
    .unwrap_or_else(|p| panic!("{p:#?}"));
    let clients = &loaded
        .scenario
        .steps
        .clients
        .as_ref()
        .expect("clients")
        .value;
    assert_eq!(clients.default_mobile_policy_name(), "field");
    assert_eq!(clients.mobile_policy_name_of("alice"), "field");
    assert_eq!(clients.mobile_policy_name_of("carol"), "Default");
    assert_eq!(
        clients.mobile_policy_of("carol").signing_digest(),
        crate::model::Digest::Md5
    );
    assert_eq!(
        clients.mobile_policy_of("alice").required_cipher(),
        smime::cms::envelope::ContentCipher::DesCbc
    );
}

/// A phone's digest is its own mailbox's policy's: a `digest` another policy would allow is
/// still refused for a sender that does not follow it.
#[test]
fn a_message_option_is_judged_against_the_senders_own_policy() {
    let body = |sender: &str| {
        format!(
            "{FIXTURE}steps:
  clients:
    mobile-policies:
      legacy: {{ settings: {{ RequireSignedSMIMEAlgorithm: MD5 }} }}
    mobile-policy-assignments: {{ carol: legacy }}
messages:
  - {{ from: {sender}, to: [bob], client: mobile, sign: true, options: {{ digest: md5 }} }}
"
        )
    };
    load(&body("carol")).unwrap_or_else(|p| panic!("{p:#?}"));
    let problems = problems(&body("alice"));
    assert_problem(&problems, "option `digest: md5`");
}

#[test]
fn the_lab_clock_goes_forward_and_late_publications_meet_a_message() {
    let problems = problems(&format!(
        "{FIXTURE}steps:
  publish: {{ users: {{ carol: {{ at: +2h }} }} }}
messages:
  - {{ from: alice, to: [bob], client: outlook, at: +35m }}
  - {{ from: alice, to: [bob], client: outlook, at: +20m }}
"
    ));
    assert_problem(&problems, "the lab clock only goes forward");
    assert_problem(&problems, "no message is sent then or later");
    let problems = problems_of_offset("35m");
    assert_problem(&problems, "is not a time after the scenario's start");
    load(&format!(
        "{FIXTURE}steps:
  publish: {{ users: {{ carol: {{ at: +10m }} }} }}
  sync: {{}}
messages:
  - {{ from: alice, to: [bob], client: outlook }}
  - {{ from: alice, to: [carol], client: outlook, at: +35m }}
  - {{ from: alice, to: [bob], client: outlook }}
"
    ))
    .unwrap_or_else(|p| panic!("{p:#?}"));
}

fn problems_of_offset(offset: &str) -> Vec<String> {
    problems(&format!(
        "{FIXTURE}messages:\n  - {{ from: alice, to: [bob], client: outlook, at: {offset} }}\n"
    ))
}

#[test]
fn proxy_addresses_are_typed_and_belong_to_one_user() {
    let org = |users: &str| {
        format!(
            "organisation:\n  tenant: contoso.onmicrosoft.com\n  users: {users}\npki: {{ fixture: default }}\n"
        )
    };
    let loaded = load(&org(
        "[alice, { id: bob, proxy-addresses: [\"smtp:bob.old@contoso.com\", \"x500:/o=Contoso/cn=bob\"] }]",
    ))
    .unwrap_or_else(|p| panic!("{p:#?}"));
    let bob = loaded.user("bob").expect("bob");
    assert_eq!(
        bob.proxy_addresses,
        ["smtp:bob.old@contoso.com", "x500:/o=Contoso/cn=bob"]
    );
    assert!(
        loaded
            .user("alice")
            .expect("alice")
            .proxy_addresses
            .is_empty()
    );
    for (users, fragment) in [
        (
            "[{ id: bob, proxy-addresses: [bob.old@contoso.com] }]",
            "has no type",
        ),
        (
            "[{ id: bob, proxy-addresses: [\"SMTP:bob.old@contoso.com\"] }]",
            "is a primary SMTP address",
        ),
        (
            "[{ id: bob, proxy-addresses: [\"smtp:not an address\"] }]",
            "is not a mail address",
        ),
        (
            "[alice, { id: bob, proxy-addresses: [\"smtp:Alice@contoso.com\"] }]",
            "alice@contoso.com is a user's mailbox",
        ),
        (
            "[{ id: bob, proxy-addresses: [\"smtp:x@contoso.com\"] }, { id: carol, proxy-addresses: [\"smtp:X@contoso.com\"] }]",
            "x@contoso.com is given twice",
        ),
    ] {
        assert_problem(&problems(&org(users)), fragment);
    }
}
