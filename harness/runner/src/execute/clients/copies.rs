//! The messages one send becomes. Every client sends one message to all its recipients, except
//! Outlook on the web with an encrypted message that has Bcc recipients, which sends them copies
//! of their own as `OWABCCEncryptedEmailForking` says ([`owa::fork_bcc`]). Each copy goes to its
//! own recipients (SMTP envelope and RecipientInfos); the first keeps the message's Message-ID.
//!
//! The RecipientInfos of each copy are read back from its bytes (the anatomy) and held to the
//! copy's recipients: a Bcc recipient named in a copy others receive is a finding, whatever the
//! code meant to do.

use smime::cms::anatomy::{Anatomy, Identifier};
use x509_cert::Certificate;

use scenario::plan::{Recipient, SendMessage};

use super::shape::MessageShape;
use super::{ClientSettings, Lookup, all_recipients, compose, owa};

/// One message the client sends.
pub(super) struct Outgoing<'m> {
    /// Its SMTP envelope, and (encrypted) the recipients it is encrypted to besides the sender.
    pub recipients: Vec<&'m Recipient>,
    /// With angle brackets.
    pub message_id: String,
    /// The stem of its files: `message-3`, then `message-3.copy-2`.
    pub stem: String,
}

/// The copies `message` becomes under `settings`, shaped as `shape`.
pub(super) fn copies<'m>(
    settings: &ClientSettings,
    message: &'m SendMessage,
    shape: &MessageShape,
    scenario: &str,
    domain: &str,
) -> Vec<Outgoing<'m>> {
    let all = all_recipients(message);
    let groups = match settings {
        ClientSettings::Owa(owa_settings) => {
            let (open, bcc): (Vec<&Recipient>, Vec<&Recipient>) = all
                .iter()
                .partition(|r| !message.bcc.iter().any(|b| std::ptr::eq(b, **r)));
            owa::fork_bcc(
                owa_settings.bcc_forking,
                shape.encrypt.is_some(),
                &open,
                &bcc,
            )
        }
        _ => vec![all],
    };
    groups
        .into_iter()
        .enumerate()
        .map(|(k, recipients)| Outgoing {
            recipients,
            message_id: if k == 0 {
                compose::message_id(scenario, message.number, domain)
            } else {
                compose::copy_message_id(scenario, message.number, k, domain)
            },
            stem: if k == 0 {
                format!("message-{}", message.number)
            } else {
                format!("message-{}.copy-{k}", message.number)
            },
        })
        .collect()
}

/// The report's line for a forked message: `OWABCCEncryptedEmailForking 0: 3 messages: carol,
/// dave | bob | eve`.
pub(super) fn describe(settings: &ClientSettings, copies: &[Outgoing<'_>]) -> Option<String> {
    let ClientSettings::Owa(owa_settings) = settings else {
        return None;
    };
    let groups: Vec<String> = copies
        .iter()
        .map(|c| {
            c.recipients
                .iter()
                .map(|r| r.user.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    Some(format!(
        "OWABCCEncryptedEmailForking {}: {} message{}: {}",
        owa_settings.bcc_forking,
        copies.len(),
        if copies.len() == 1 { "" } else { "s" },
        groups.join(" | ")
    ))
}

/// The lookups of `copy`'s recipients, in its order.
pub(super) fn lookups_of<'l>(copy: &Outgoing<'_>, lookups: &'l [Lookup]) -> Vec<&'l Lookup> {
    copy.recipients
        .iter()
        .filter_map(|r| {
            lookups
                .iter()
                .find(|l| l.recipient.mailbox.eq_ignore_ascii_case(&r.mailbox))
        })
        .collect()
}

/// What the copy's envelope names, read from its anatomy, against who it was for: each of its
/// recipients' certificates must be there, and no other recipient's (a Bcc recipient named in a
/// copy others receive is disclosed to them). The sender's own certificate is not a recipient's.
/// Empty when the copy is not encrypted or all is as it should be.
pub(super) fn recipient_info_mismatches(
    copy: &Outgoing<'_>,
    anatomy: &Anatomy,
    lookups: &[Lookup],
    own: Option<&Certificate>,
) -> Vec<String> {
    let named = anatomy.recipient_identifiers();
    if named.is_empty() {
        return Vec::new();
    }
    let names = |certificate: &Certificate| named.iter().any(|id| id.names(certificate));
    let is_own = |certificate: &Certificate| {
        own.is_some_and(|o| {
            Identifier::of_certificate(o) == Identifier::of_certificate(certificate)
        })
    };
    let mut mismatches = Vec::new();
    for l in lookups {
        let Some((certificate, _)) = &l.certificate else {
            continue;
        };
        if is_own(certificate) {
            continue;
        }
        let for_this_copy = copy
            .recipients
            .iter()
            .any(|r| r.mailbox.eq_ignore_ascii_case(&l.recipient.mailbox));
        match (for_this_copy, names(certificate)) {
            (true, false) => mismatches.push(format!(
                "{} ({}): {}'s certificate is not in its RecipientInfos",
                copy.stem, copy.message_id, l.recipient.mailbox
            )),
            (false, true) => mismatches.push(format!(
                "{} ({}), sent to {}, names {}'s certificate in its RecipientInfos",
                copy.stem,
                copy.message_id,
                copy.recipients
                    .iter()
                    .map(|r| r.mailbox.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                l.recipient.mailbox
            )),
            _ => {}
        }
    }
    mismatches
}

#[cfg(test)]
mod tests {
    use super::*;
    use smime::cms::envelope::{EncryptOptions, Recipient as EnvelopeRecipient};

    fn person(user: &str) -> Recipient {
        Recipient {
            user: user.to_owned(),
            mailbox: format!("{user}@contoso.com"),
        }
    }

    #[test]
    fn a_recipient_named_in_a_copy_not_sent_to_them_is_a_finding() {
        let pki = crate::execute::test_pki::default_pki();
        let certificate = |id: &str| {
            smime::certificate::parse_der(&pki.entity(id).expect(id).certificate).expect(id)
        };
        let lookup = |user: &str, id: &str| Lookup {
            recipient: person(user),
            certificate: Some((certificate(id), Vec::new())),
        };
        let lookups = [lookup("carol", "carol"), lookup("bob", "bob-encrypt")];
        let plain = b"From: alice@contoso.com\r\nTo: carol@contoso.com\r\n\r\nhello\r\n";
        // A copy for Carol whose envelope also names Bob, the Bcc recipient: a disclosure.
        let leaky = smime::cms::envelope::encrypt_message(
            plain,
            &[
                EnvelopeRecipient::new(certificate("carol")),
                EnvelopeRecipient::new(certificate("bob-encrypt")),
            ],
            &EncryptOptions {
                also_to_sender: Some(certificate("alice")),
                ..EncryptOptions::default()
            },
            &mut smime::rng::seeded("copies/leaky"),
        )
        .expect("encrypts");
        let carol = person("carol");
        let copy = Outgoing {
            recipients: vec![&carol],
            message_id: "<s.1@contoso.com>".to_owned(),
            stem: "message-1".to_owned(),
        };
        let alice = certificate("alice");
        let anatomy = smime::cms::anatomy::describe(&leaky, &[]);
        let found = recipient_info_mismatches(&copy, &anatomy, &lookups, Some(&alice));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("names bob@contoso.com's certificate"),
            "{found:?}"
        );
        // The copy encrypted to Carol (and the sender) only is clean.
        let clean = smime::cms::envelope::encrypt_message(
            plain,
            &[EnvelopeRecipient::new(certificate("carol"))],
            &EncryptOptions {
                also_to_sender: Some(alice.clone()),
                ..EncryptOptions::default()
            },
            &mut smime::rng::seeded("copies/clean"),
        )
        .expect("encrypts");
        let anatomy = smime::cms::anatomy::describe(&clean, &[]);
        assert!(recipient_info_mismatches(&copy, &anatomy, &lookups, Some(&alice)).is_empty());
        // A copy that leaves its own recipient out is a finding too.
        let bob = person("bob");
        let for_bob = Outgoing {
            recipients: vec![&bob],
            message_id: "<s.1.bcc-1@contoso.com>".to_owned(),
            stem: "message-1.copy-1".to_owned(),
        };
        let found = recipient_info_mismatches(&for_bob, &anatomy, &lookups, Some(&alice));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .any(|f| f.contains("bob@contoso.com's certificate is not in its RecipientInfos"))
        );
    }
}
