//! `messages`: recipients that exist, wrapping and options that fit what the message is (signed,
//! encrypted), expectations that do not contradict each other or the message.

use std::collections::BTreeMap;

use serde_saphyr::{Location, Spanned};

use super::references::Checker;
use crate::model::{Id, Message, Scenario, Verdict};

impl Checker<'_> {
    pub(super) fn messages(&mut self, scenario: &Scenario) {
        let mut snapshots: BTreeMap<String, Location> = BTreeMap::new();
        for (index, spanned) in scenario.messages.iter().enumerate() {
            let at = spanned.referenced;
            let m = &spanned.value;
            self.message(m, &at, index);
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
