//! `messages`: recipients that exist, wrapping and options that fit what the message is (signed,
//! encrypted), expectations that do not contradict each other or the message.

use std::collections::BTreeMap;

use serde_saphyr::{Location, Spanned};

use super::references::Checker;
use crate::model::{Clients, Id, MailClient, Message, Scenario, Verdict};

impl Checker<'_> {
    pub(super) fn messages(&mut self, scenario: &Scenario) {
        let mut snapshots: BTreeMap<String, Location> = BTreeMap::new();
        let default_clients = Clients::default();
        let clients = scenario
            .steps
            .clients
            .as_ref()
            .map_or(&default_clients, |c| &c.value);
        for (index, spanned) in scenario.messages.iter().enumerate() {
            let at = spanned.referenced;
            let m = &spanned.value;
            self.message(m, &at, index);
            self.policy_binds(m, &at, clients);
            self.reply(m, &at, index, &scenario.messages);
            if let Some(snapshot) = &m.snapshot {
                if let Some(first) = snapshots.get(snapshot.value.as_str()) {
                    let first = *first;
                    let text = self.text();
                    self.problems
                        .at(
                            &snapshot.referenced,
                            Some(&at),
                            format!("snapshot name `{}` is used twice", snapshot.value),
                            "second message with this snapshot",
                        )
                        .note(text, &first, "first here")
                        .help("snapshot names are file names: give each message its own");
                } else {
                    snapshots.insert(snapshot.value.as_str().to_owned(), snapshot.referenced);
                }
            }
        }
    }

    fn message(&mut self, m: &Message, at: &Location, index: usize) {
        self.addresses(m, at, index);
        self.wrapping(m, at);
        self.options(m, at);
        self.expectations(m);
    }

    /// A sender and at least one recipient, all users, each recipient once.
    fn addresses(&mut self, m: &Message, at: &Location, index: usize) {
        let number = index.saturating_add(1);
        self.user(&m.from, Some(at), "sender");
        let recipients: Vec<Spanned<Id>> =
            m.to.iter().chain(&m.cc).chain(&m.bcc).cloned().collect();
        if recipients.is_empty() {
            self.problems
                .at(
                    at,
                    None,
                    format!("message {number} has no recipients"),
                    "no to, cc or bcc",
                )
                .help("add `to: [<user>]`");
        }
        self.unique(&recipients, "recipient", Some(at));
        for recipient in &recipients {
            self.user(recipient, Some(at), "recipient");
        }
    }

    /// Triple wrapping and opaque signing need what they wrap.
    fn wrapping(&mut self, m: &Message, at: &Location) {
        let sign = m.sign.value;
        let encrypt = m.encrypt.value;
        if let Some(triple) = &m.triple_wrap
            && triple.value
            && !(sign && encrypt)
        {
            self.problems
                .at(
                    &triple.referenced,
                    Some(at),
                    "triple wrapping needs a signed and encrypted message",
                    "triple-wrap without sign and encrypt",
                )
                .help("set `sign: true` and `encrypt: true`");
        }
        // "Outlook for iOS and Android only supports sending clear-signed messages." (S/MIME
        // for Outlook for iOS and Android): the app offers no choice, so no run can show one.
        if let Some(opaque) = &m.opaque
            && opaque.value
            && m.client == MailClient::OutlookMobile
        {
            self.problems
                .at(
                    &opaque.referenced,
                    Some(at),
                    "Outlook for iOS and Android only supports sending clear-signed messages",
                    "opaque signing on outlook-mobile",
                )
                .help("remove `opaque`, or send from another client");
        }
        if let Some(opaque) = &m.opaque
            && !sign
        {
            self.problems
                .at(
                    &opaque.referenced,
                    Some(at),
                    "`opaque` chooses how a signature is carried, but the message is not signed",
                    "unsigned message",
                )
                .help("set `sign: true`, or remove `opaque`");
        }
    }

    /// Each option applies to what the message is; `signer` is a certificate of the PKI.
    fn options(&mut self, m: &Message, at: &Location) {
        let (sign, encrypt) = (m.sign.value, m.encrypt.value);
        let options = &m.options.value;
        let options_at = m.options.referenced;
        for (name, set) in options.signing_choices() {
            if set && !sign {
                self.problems
                    .at(
                        &options_at,
                        Some(at),
                        format!(
                            "option `{name}` applies to signing, but the message is not signed"
                        ),
                        "unsigned message",
                    )
                    .help(format!("set `sign: true`, or remove `{name}`"));
            }
        }
        for (name, set) in options.encryption_choices() {
            if set && !encrypt {
                self.problems
                    .at(
                        &options_at,
                        Some(at),
                        format!(
                            "option `{name}` applies to encryption, but the message is not encrypted"
                        ),
                        "unencrypted message",
                    )
                    .help(format!("set `encrypt: true`, or remove `{name}`"));
            }
        }
        if let Some(signer) = &options.signer {
            self.certificate(signer, Some(&options_at));
        }
    }

    /// A message option cannot make a client do what its configuration forbids: the phone signs
    /// and encrypts with the mobile policy's algorithms, Outlook on the web with an entry of its
    /// algorithm lists. Neither lets the sender pick another algorithm, so a scenario asking for
    /// one describes a message no real client sends: refused here rather than emulated.
    fn policy_binds(&mut self, m: &Message, at: &Location, clients: &Clients) {
        let options = &m.options.value;
        let options_at = m.options.referenced;
        let (digest_allowed, cipher_allowed, digest_rule, cipher_rule, help) = match m.client {
            // "The RequireSignedSMIMEAlgorithm parameter specifies the algorithm that's used to
            // sign S/MIME messages on the mobile device." "The RequireEncryptionSMIMEAlgorithm
            // parameter specifies the algorithm that's required to encrypt S/MIME messages on a
            // mobile device." (Set-MobileDeviceMailboxPolicy). The phone picks another cipher
            // only by negotiation (AllowSMIMEEncryptionAlgorithmNegotiation), from the
            // recipients' certificates, never at the sender's request.
            MailClient::Mobile => {
                // The sender's mailbox's policy: its own, else the default one.
                let sender = m.from.value.as_str();
                let policy = clients.mobile_policy_of(sender);
                let name = clients.mobile_policy_name_of(sender);
                let help = if name.eq_ignore_ascii_case(crate::model::BUILTIN_MOBILE_POLICY) {
                    "set the algorithm in `steps.clients.mobile-policy` instead, or remove the option".to_owned()
                } else {
                    format!(
                        "set the algorithm in `steps.clients.mobile-policies.{name}.settings` (the policy {sender}'s mailbox follows) instead, or remove the option"
                    )
                };
                (
                    vec![policy.signing_digest()],
                    vec![policy.required_cipher()],
                    "the mobile policy's RequireSignedSMIMEAlgorithm",
                    "the mobile policy's RequireEncryptionSMIMEAlgorithm (another cipher only by negotiation, from the recipients' certificates)",
                    help,
                )
            }
            // "The OWASigningAlgorithms parameter specifies the list of [...] signing algorithms
            // that are used by Outlook on the web to sign messages with the S/MIME control."
            // "The OWAEncryptionAlgorithms parameter specifies a list of symmetric encryption
            // algorithms that are used by Outlook on the web to encrypt messages."
            // (Set-SmimeConfig).
            MailClient::Owa => (
                clients.smime_config.owa_digests(),
                clients.smime_config.owa_ciphers(),
                "OWASigningAlgorithms",
                "OWAEncryptionAlgorithms",
                "add the algorithm to `OWASigningAlgorithms`/`OWAEncryptionAlgorithms` in `steps.clients.smime-config`, or remove the option".to_owned(),
            ),
            MailClient::Outlook | MailClient::OutlookMobile => return,
        };
        if let Some(digest) = options.digest
            && m.sign.value
            && !digest_allowed.contains(&digest)
        {
            let allowed: Vec<&str> = digest_allowed.iter().map(|d| d.name()).collect();
            self.problems
                .at(
                    &options_at,
                    Some(at),
                    format!(
                        "option `digest: {}` is not what {} lets {} sign with: {} only",
                        digest.name(),
                        digest_rule,
                        m.client.name(),
                        allowed.join(", ")
                    ),
                    "digest the client's configuration forbids",
                )
                .help(help.as_str());
        }
        if let Some(cipher) = options.cipher
            && m.encrypt.value
            && !cipher_allowed.contains(&cipher)
        {
            let allowed: Vec<&str> = cipher_allowed.iter().map(|c| c.name()).collect();
            self.problems
                .at(
                    &options_at,
                    Some(at),
                    format!(
                        "option `cipher: {}` is not what {} lets {} encrypt with: {} only",
                        cipher.name(),
                        cipher_rule,
                        m.client.name(),
                        allowed.join(", ")
                    ),
                    "cipher the client's configuration forbids",
                )
                .help(help.as_str());
        }
    }

    /// A reply answers an earlier message its sender received, from the one client that
    /// installs certificates from a received message.
    fn reply(&mut self, m: &Message, at: &Location, index: usize, all: &[Spanned<Message>]) {
        let Some(reply_to) = &m.reply_to else {
            return;
        };
        let n = usize::try_from(reply_to.value).unwrap_or(usize::MAX);
        let earlier = n
            .checked_sub(1)
            .filter(|i| *i < index)
            .and_then(|i| all.get(i));
        let Some(earlier) = earlier else {
            self.problems
                .at(
                    &reply_to.referenced,
                    Some(at),
                    format!(
                        "`reply-to: {}` is not an earlier message (this is message {})",
                        reply_to.value,
                        index.saturating_add(1)
                    ),
                    "no such earlier message",
                )
                .help("messages are numbered from 1 in the order of `messages`; a reply answers one before it");
            return;
        };
        let e = &earlier.value;
        let received =
            e.to.iter()
                .chain(&e.cc)
                .chain(&e.bcc)
                .any(|r| r.value == m.from.value);
        if !received {
            self.problems
                .at(
                    &reply_to.referenced,
                    Some(at),
                    format!(
                        "`{}` replies to message {n}, which was not sent to them",
                        m.from.value
                    ),
                    "reply to a message the sender did not receive",
                )
                .help("reply from one of that message's recipients");
        }
        if m.client != MailClient::OutlookMobile {
            self.problems
                .at(
                    &reply_to.referenced,
                    Some(at),
                    format!(
                        "`reply-to` on {}: only Outlook for iOS and Android (`outlook-mobile`) is modelled installing a sender's certificate from a received message",
                        m.client.name()
                    ),
                    "reply from another client",
                )
                .help("send the reply from `outlook-mobile`, or remove `reply-to`");
        }
    }

    /// What must happen fits the message and itself: a refused message has no verdict, a verdict
    /// fits what was signed and encrypted, reasons are checks of the catalogue.
    fn expectations(&mut self, m: &Message) {
        let (sign, encrypt) = (m.sign.value, m.encrypt.value);
        let expect = &m.expect.value;
        let expect_at = m.expect.referenced;
        let refused = expect.refused.value;
        if let Some(reason) = &expect.reason
            && !refused
        {
            self.problems
                .at(
                    &reason.referenced,
                    Some(&expect_at),
                    "a refusal reason without `refused: true`",
                    "reason for a refusal",
                )
                .help("add `refused: true`, or remove `reason`");
        }
        if refused {
            let contradictions = [
                (
                    "delivered",
                    expect
                        .delivered
                        .as_ref()
                        .filter(|d| d.value)
                        .map(|d| d.referenced),
                ),
                ("verdict", expect.verdict.as_ref().map(|v| v.referenced)),
                ("decrypted", expect.decrypted.as_ref().map(|d| d.referenced)),
                ("snapshot", m.snapshot.as_ref().map(|s| s.referenced)),
                ("messages", expect.messages.as_ref().map(|n| n.referenced)),
            ];
            for (name, place) in contradictions {
                if let Some(place) = place {
                    let text = self.text();
                    self.problems
                        .at(
                            &place,
                            Some(&expect_at),
                            format!("a refused message is never sent, so it has no `{name}`"),
                            "expected of a refused message",
                        )
                        .note(text, &expect.refused.referenced, "refused here")
                        .help(format!("remove `{name}`, or `refused: true`"));
                }
            }
        }
        if let Some(verdict) = &expect.verdict {
            let envelope_verdict =
                matches!(verdict.value, Verdict::Encrypted | Verdict::CannotDecrypt);
            let contradiction = match (verdict.value, sign) {
                (Verdict::NotSigned, true) => Some((
                    "`not-signed` is expected of a message that is signed",
                    "set `sign: false`, or expect another verdict",
                )),
                _ if envelope_verdict && !encrypt => Some((
                    "an envelope verdict is expected of a message that is not encrypted",
                    "set `encrypt: true`, or expect another verdict",
                )),
                _ if envelope_verdict => None,
                (v, false) if v != Verdict::NotSigned => Some((
                    "a signature verdict is expected of a message that is not signed",
                    "set `sign: true`, or expect `not-signed`",
                )),
                _ => None,
            };
            if let Some((message, help)) = contradiction {
                self.problems
                    .at(
                        &verdict.referenced,
                        Some(&expect_at),
                        message,
                        "this verdict",
                    )
                    .help(help);
            }
        }
        if let Some(count) = &expect.messages
            && count.value == 0
            && !refused
        {
            self.problems
                .at(
                    &count.referenced,
                    Some(&expect_at),
                    "a message that is sent reaches the sink at least once",
                    "no message",
                )
                .help("expect `refused: true` for a message the client does not send, or count its copies (1 without Bcc forking)");
        }
        if let Some(decrypted) = &expect.decrypted
            && !encrypt
        {
            self.problems
                .at(
                    &decrypted.referenced,
                    Some(&expect_at),
                    "`decrypted` is expected of a message that is not encrypted",
                    "unencrypted message",
                )
                .help("set `encrypt: true`, or remove `decrypted`");
        }
        for reason in &expect.reasons {
            let id = reason.value.as_str();
            if id.starts_with("PKI-") && smime::checks::catalogue::lookup(id).is_none() {
                self.problems
                    .at(
                        &reason.referenced,
                        Some(&expect_at),
                        format!("`{id}` is not a check in the catalogue"),
                        "unknown check",
                    )
                    .help("`smime-lab cert check` lists the catalogue's checks; see the PKI-* ids in smime::checks::catalogue");
            }
        }
    }
}
