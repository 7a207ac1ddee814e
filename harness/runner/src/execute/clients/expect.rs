//! What happened to a message against what the scenario expects ([`MessageExpectation`]): the
//! refusal and its reason, delivery, each recipient's verdict, decryption and weak flag, and
//! the catalogue checks found on the way. Pure: the executor gathers the facts, this judges them.

use std::collections::BTreeSet;

use crate::report::model::{Outcome, RecipientReport};
use scenario::model::Verdict;
use scenario::plan::MessageExpectation;

use super::shape::Refusal;

/// What was observed of one message.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    /// The client refused to send it.
    pub refusal: Option<&'a Refusal>,
    /// One per recipient (To, Cc, Bcc), when it was sent.
    pub recipients: &'a [RecipientReport],
    /// Catalogue check ids found on the way: the certificates' checks and the verdicts' reasons.
    pub found: &'a BTreeSet<String>,
    /// How many messages the sink holds for this one (its copies, when Bcc recipients were
    /// forked); `None` when nothing was sent.
    pub messages: Option<u32>,
}

/// The verdict on a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub outcome: Outcome,
    /// The expectation in words.
    pub expected: String,
    /// Each way the message differs from it; empty when it passed.
    pub mismatches: Vec<String>,
}

/// The scenario's word for a validation status (`smime::cms::verdict::Status` names) and its
/// reasons. `untrusted` because a certificate may not be used for mail (key usage, extended key
/// usage) is `wrong-usage`; statuses a scenario has no word for (`malformed`, `unsupported`,
/// `partially-signed`) are `None`.
pub fn classify(status: &str, reasons: &[String]) -> Option<Verdict> {
    Some(match status {
        "valid" => Verdict::Valid,
        "invalid-signature" => Verdict::InvalidSignature,
        "untrusted" if reasons.first().is_some_and(|r| is_usage(r)) => Verdict::WrongUsage,
        "untrusted" => Verdict::Untrusted,
        "expired" => Verdict::Expired,
        "not-yet-valid" => Verdict::NotYetValid,
        "revoked" => Verdict::Revoked,
        "crl-unreachable" => Verdict::CrlUnreachable,
        "signer-mismatch" => Verdict::SignerMismatch,
        "weak" => Verdict::WeakAlgorithm,
        "not-signed" => Verdict::NotSigned,
        "encrypted" => Verdict::Encrypted,
        "cannot-decrypt" => Verdict::CannotDecrypt,
        _ => return None,
    })
}

/// The deciding reason is about what the certificate may be used for (RFC 8550 §4.4.2, §4.4.4).
fn is_usage(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("extendedkeyusage")
        || reason.contains("key usage")
        || reason.contains("keyusage")
}

/// Catalogue ids (`PKI-SKI-001`) mentioned in a text.
pub fn catalogue_ids(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| {
            let parts: Vec<&str> = word.split('-').collect();
            parts.len() == 3
                && parts[..2]
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase()))
                && parts[2].len() == 3
                && parts[2].bytes().all(|b| b.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect()
}

/// The expectation in words, for the report.
pub fn describe(expect: &MessageExpectation) -> String {
    let mut parts = Vec::new();
    if expect.refused {
        parts.push(match expect.reason {
            Some(reason) => format!("refused ({})", reason.name()),
            None => "refused".to_owned(),
        });
    } else {
        parts.push(if expect.delivered {
            "delivered".to_owned()
        } else {
            "not delivered".to_owned()
        });
    }
    if let Some(verdict) = expect.verdict {
        parts.push(format!("verdict {}", verdict.name()));
    }
    match expect.decrypted {
        Some(true) => parts.push("decrypted".to_owned()),
        Some(false) => parts.push("not decrypted".to_owned()),
        None => {}
    }
    match expect.weak {
        Some(true) => parts.push("flagged weak".to_owned()),
        Some(false) => parts.push("not flagged weak".to_owned()),
        None => {}
    }
    if !expect.reasons.is_empty() {
        parts.push(format!("checks {}", expect.reasons.join(", ")));
    }
    if let Some(n) = expect.messages {
        parts.push(format!(
            "{n} message{} in the sink",
            if n == 1 { "" } else { "s" }
        ));
    }
    parts.join(", ")
}

/// Compares what happened with what the scenario expects.
pub fn judge(expect: &MessageExpectation, observed: &Observed<'_>) -> Judgement {
    let mut mismatches = Vec::new();
    match (expect.refused, observed.refusal) {
        (true, None) => mismatches.push(format!(
            "the client sent it, but should have refused{}",
            expect
                .reason
                .map(|r| format!(" ({})", r.name()))
                .unwrap_or_default()
        )),
        (true, Some(refusal)) => {
            if let Some(reason) = expect.reason
                && reason != refusal.reason
            {
                mismatches.push(format!(
                    "refused for {} ({}), not for {}",
                    refusal.reason.name(),
                    refusal.why,
                    reason.name()
                ));
            }
        }
        (false, Some(refusal)) => mismatches.push(format!(
            "the client refused to send it: {} ({})",
            refusal.reason.name(),
            refusal.why
        )),
        (false, None) => {
            for recipient in observed.recipients {
                recipient_mismatches(expect, recipient, &mut mismatches);
            }
            if let Some(expected) = expect.messages
                && observed.messages != Some(expected)
            {
                mismatches.push(format!(
                    "the sink holds {} for it, expected {expected}",
                    match observed.messages {
                        None | Some(0) => "no message".to_owned(),
                        Some(1) => "1 message".to_owned(),
                        Some(n) => format!("{n} messages"),
                    }
                ));
            }
        }
    }
    for id in &expect.reasons {
        if !observed.found.contains(id) {
            mismatches.push(format!(
                "check {id} was not found (found: {})",
                if observed.found.is_empty() {
                    "none".to_owned()
                } else {
                    observed
                        .found
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
    }
    Judgement {
        outcome: if mismatches.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        expected: describe(expect),
        mismatches,
    }
}

fn recipient_mismatches(
    expect: &MessageExpectation,
    recipient: &RecipientReport,
    mismatches: &mut Vec<String>,
) {
    let who = &recipient.mailbox;
    if recipient.delivered != expect.delivered {
        mismatches.push(format!(
            "{who}: {}",
            if recipient.delivered {
                "delivered, but should not have been"
            } else {
                "not delivered"
            }
        ));
        return;
    }
    if !recipient.delivered {
        return;
    }
    if let Some(expected) = expect.verdict {
        let status = recipient.verdict.as_deref().unwrap_or("none");
        let seen = classify(status, &recipient.reasons);
        if seen != Some(expected) {
            mismatches.push(format!(
                "{who}: verdict {}{}, expected {}",
                seen.map_or_else(|| status.to_owned(), |v| v.name().to_owned()),
                recipient
                    .reasons
                    .first()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
                expected.name()
            ));
        }
    }
    if let Some(expected) = expect.decrypted
        && recipient.decrypted != Some(expected)
    {
        mismatches.push(format!(
            "{who}: {}, expected {}",
            match recipient.decrypted {
                Some(true) => "decrypted",
                Some(false) => "could not decrypt",
                None => "nothing to decrypt (the message was not encrypted)",
            },
            if expected {
                "decrypted"
            } else {
                "not decrypted"
            }
        ));
    }
    if let Some(expected) = expect.weak
        && recipient.weak != expected
    {
        mismatches.push(format!(
            "{who}: {}, expected {}",
            if recipient.weak {
                "flagged weak"
            } else {
                "not flagged weak"
            },
            if expected {
                "flagged weak"
            } else {
                "not flagged weak"
            }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenario::model::RefusalReason;

    fn expect() -> MessageExpectation {
        MessageExpectation {
            refused: false,
            reason: None,
            delivered: true,
            verdict: None,
            reasons: Vec::new(),
            decrypted: None,
            weak: None,
            messages: None,
        }
    }

    fn carol(
        verdict: &str,
        reasons: &[&str],
        decrypted: Option<bool>,
        weak: bool,
    ) -> RecipientReport {
        RecipientReport {
            mailbox: "carol@contoso.com".into(),
            delivered: true,
            verdict: Some(verdict.into()),
            reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
            decrypted,
            weak,
        }
    }

    fn judged(expect: &MessageExpectation, recipients: &[RecipientReport]) -> Judgement {
        judge(
            expect,
            &Observed {
                refusal: None,
                recipients,
                found: &BTreeSet::new(),
                messages: None,
            },
        )
    }

    #[test]
    fn statuses_map_to_scenario_verdicts() {
        let usage = "a certificate on the path has an extendedKeyUsage without emailProtection (RFC 8550 §4.4.4)".to_owned();
        let ku = "layer 1 (clear-signed): the signer's certificate key usage allows neither digitalSignature nor nonRepudiation".to_owned();
        let anchor = "the signer's certificate does not chain to any given trust anchor".to_owned();
        assert_eq!(classify("untrusted", &[usage]), Some(Verdict::WrongUsage));
        assert_eq!(classify("untrusted", &[ku]), Some(Verdict::WrongUsage));
        assert_eq!(
            classify("untrusted", std::slice::from_ref(&anchor)),
            Some(Verdict::Untrusted)
        );
        assert_eq!(classify("untrusted", &[]), Some(Verdict::Untrusted));
        assert_eq!(classify("weak", &[]), Some(Verdict::WeakAlgorithm));
        for verdict in [
            Verdict::Valid,
            Verdict::InvalidSignature,
            Verdict::Expired,
            Verdict::NotYetValid,
            Verdict::Revoked,
            Verdict::CrlUnreachable,
            Verdict::SignerMismatch,
            Verdict::NotSigned,
            Verdict::Encrypted,
            Verdict::CannotDecrypt,
        ] {
            assert_eq!(classify(verdict.name(), &[]), Some(verdict));
        }
        for unnamed in ["malformed", "unsupported", "partially-signed", ""] {
            assert_eq!(classify(unnamed, std::slice::from_ref(&anchor)), None);
        }
    }

    #[test]
    fn catalogue_ids_in_text() {
        assert_eq!(
            catalogue_ids(
                "PKI-SKI-001 error: no SKI; see PKI-CHN-004, not PKI-SKI-01 or pki-ski-001 or X-PKI-SKI-001"
            ),
            vec!["PKI-SKI-001", "PKI-CHN-004"]
        );
    }

    #[test]
    fn a_valid_decrypted_message_passes_and_each_difference_is_named() {
        let expect = MessageExpectation {
            verdict: Some(Verdict::Valid),
            decrypted: Some(true),
            weak: Some(false),
            ..expect()
        };
        let good = judged(&expect, &[carol("valid", &[], Some(true), false)]);
        assert_eq!(good.outcome, Outcome::Passed, "{good:?}");
        assert_eq!(
            good.expected,
            "delivered, verdict valid, decrypted, not flagged weak"
        );

        let bad = judged(
            &expect,
            &[carol("untrusted", &["no anchor"], Some(false), true)],
        );
        assert_eq!(bad.outcome, Outcome::Failed);
        assert_eq!(bad.mismatches.len(), 3, "{:?}", bad.mismatches);
        assert!(bad.mismatches[0].contains("verdict untrusted (no anchor), expected valid"));
        assert!(bad.mismatches[1].contains("could not decrypt"));
        assert!(bad.mismatches[2].contains("flagged weak"));

        let plain = judged(&expect, &[carol("valid", &[], None, false)]);
        assert!(plain.mismatches[0].contains("the message was not encrypted"));
    }

    #[test]
    fn the_number_of_messages_in_the_sink_is_judged_when_expected() {
        let expect = MessageExpectation {
            messages: Some(3),
            ..expect()
        };
        let recipients = [carol("valid", &[], None, false)];
        let found = BTreeSet::new();
        let observed = |messages| Observed {
            refusal: None,
            recipients: &recipients,
            found: &found,
            messages,
        };
        assert_eq!(judge(&expect, &observed(Some(3))).outcome, Outcome::Passed);
        let fewer = judge(&expect, &observed(Some(1)));
        assert_eq!(
            fewer.mismatches,
            vec!["the sink holds 1 message for it, expected 3"]
        );
        assert!(fewer.expected.ends_with("3 messages in the sink"));
        // Not expected: any count passes.
        assert_eq!(
            judge(&self::expect(), &observed(Some(7))).outcome,
            Outcome::Passed
        );
    }

    #[test]
    fn delivery() {
        let mut lost = carol("valid", &[], None, false);
        lost.delivered = false;
        lost.verdict = None;
        let j = judged(
            &MessageExpectation {
                verdict: Some(Verdict::Valid),
                ..expect()
            },
            std::slice::from_ref(&lost),
        );
        assert_eq!(j.mismatches, vec!["carol@contoso.com: not delivered"]);
        let not_expected = MessageExpectation {
            delivered: false,
            ..expect()
        };
        assert_eq!(judged(&not_expected, &[lost]).outcome, Outcome::Passed);
        assert_eq!(
            judged(&not_expected, &[carol("valid", &[], None, false)]).outcome,
            Outcome::Failed
        );
    }

    #[test]
    fn refusals() {
        let refusal = Refusal::new(RefusalReason::NoRecipientCertificate, "carol has none");
        let expected = MessageExpectation {
            refused: true,
            reason: Some(RefusalReason::NoRecipientCertificate),
            delivered: false,
            reasons: vec!["PKI-SKI-001".into()],
            ..expect()
        };
        let found: BTreeSet<String> = ["PKI-SKI-001".to_owned()].into();
        let observed = |refusal| Observed {
            refusal,
            recipients: &[],
            found: &found,
            messages: None,
        };
        let passed = judge(&expected, &observed(Some(&refusal)));
        assert_eq!(passed.outcome, Outcome::Passed, "{passed:?}");
        assert_eq!(
            passed.expected,
            "refused (NoRecipientCertificate), checks PKI-SKI-001"
        );

        let sent = judge(&expected, &observed(None));
        assert!(sent.mismatches[0].contains("should have refused (NoRecipientCertificate)"));

        let other = Refusal::new(RefusalReason::OWAOnlyUseSmartCard, "software key");
        let wrong = judge(&expected, &observed(Some(&other)));
        assert!(wrong.mismatches[0].starts_with("refused for OWAOnlyUseSmartCard"));

        let unexpected = judge(&expect(), &observed(Some(&refusal)));
        assert!(unexpected.mismatches[0].contains("refused to send it: NoRecipientCertificate"));

        let none_found = judge(
            &expected,
            &Observed {
                refusal: Some(&refusal),
                recipients: &[],
                found: &BTreeSet::new(),
                messages: None,
            },
        );
        assert_eq!(
            none_found.mismatches,
            vec!["check PKI-SKI-001 was not found (found: none)"]
        );
    }
}
