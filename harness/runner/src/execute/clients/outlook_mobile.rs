//! Outlook for iOS and Android, Microsoft's app, beside the Exchange ActiveSync phone
//! ([`super::mobile`]): no mobile device mailbox policy shapes it. What it does, each from
//! Microsoft's page "S/MIME for Outlook for iOS and Android":
//!
//! | rule | source |
//! |---|---|
//! | clear-signed, also inside an envelope | "Outlook for iOS and Android only supports sending clear-signed messages." (an `opaque: true` message is refused when the scenario is validated) |
//! | a certificate is used only when issued to the primary SMTP address | "The S/MIME certificate used by Outlook for iOS and Android is calculated by comparing the user's primary SMTP address as defined in the account profile with the certificate's subject value or the subject alternative name value; if these do not match, then Outlook for iOS and Android will report that a certificate is not available [...] and will not allow the user to sign and/or encrypt messages." (`attempt::sender_side` sets such identities aside) |
//! | signing needs the sender's own signing certificate | "In order to compose a signed message, the sender's private certificate key must be available on the device." |
//! | encrypting needs the sender's own encryption certificate | "Selecting an S/MIME option enables the respective encoding on the email as soon as the message is saved or sent, assuming the sender has a valid certificate." |
//! | recipients' certificates: the GAL, then the device | "The Global Address List (GAL) is checked first; if a certificate for the recipient does not exist in the GAL, Outlook queries the Microsoft publisher keychain in iOS or the system KeyStore in Android to locate the recipient's public certificate key." (`attempt::recipient_certificates`, the device's `contacts`) |
//! | no certificate for a recipient: not sent | "For recipients without a public certificate key (or an invalid key), Outlook will prompt for their removal. The message will not be sent without encryption to any recipient unless the encryption option is disabled by the sender during composition." |
//!
//! The page names no digest, cipher or recipient identifier: the lab uses Outlook for Windows'
//! ([`super::outlook`]), a known difference in the fidelity ledger.

use scenario::model::RefusalReason;
use scenario::plan::ProtectionRequest;

use super::outlook;
use super::shape::{self, MessageShape, RecipientFacts, Refusal, Sender};

/// What Outlook for iOS and Android sends for `request`, or why it refuses. `sender` holds only
/// the identities issued to the primary SMTP address.
pub fn shape(
    request: &ProtectionRequest,
    sender: &Sender,
    recipients: &[RecipientFacts],
) -> Result<MessageShape, Refusal> {
    if request.sign {
        shape::signing_key(sender).map_err(|_| {
            Refusal::new(
                RefusalReason::NoSigningCertificate,
                "Outlook for iOS and Android has no signing certificate issued to the sender's primary SMTP address on this device: it reports that a certificate is not available",
            )
        })?;
    }
    if request.encrypt && sender.own_certificate.is_none() {
        return Err(Refusal::new(
            RefusalReason::NoEncryptionCertificate,
            "Outlook for iOS and Android has no encryption certificate issued to the sender's primary SMTP address on this device: it encrypts only when the sender has a valid certificate",
        ));
    }
    // Clear-signed whatever the message is: the one form the app sends.
    let clear = ProtectionRequest {
        opaque: Some(false),
        ..request.clone()
    };
    let mut shaped = outlook::shape(&clear, sender, recipients)?;
    if shaped.sign.is_some() {
        shaped.notes.push(
            "clear-signed: Outlook for iOS and Android only supports sending clear-signed messages"
                .to_owned(),
        );
    }
    Ok(shaped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::clients::shape::fixtures::{self, request, sender};
    use scenario::model::KeyStorage;
    use smime::cms::SignedForm;

    fn carol() -> Vec<RecipientFacts> {
        vec![fixtures::recipient("carol@contoso.com", true, None)]
    }

    #[test]
    fn signed_mail_is_clear_signed_even_inside_an_envelope() {
        for (sign, encrypt) in [(true, false), (true, true)] {
            let shaped = shape(
                &request(sign, encrypt),
                &sender(KeyStorage::Software),
                &carol(),
            )
            .expect("sends");
            assert_eq!(
                shaped.sign.as_ref().map(|s| s.form),
                Some(SignedForm::ClearSigned),
                "sign {sign}, encrypt {encrypt}"
            );
            assert_eq!(shaped.encrypt.is_some(), encrypt);
        }
        // Outlook for Windows opaque-signs inside an envelope; the app does not.
        let desktop = outlook::shape(
            &request(true, true),
            &sender(KeyStorage::Software),
            &carol(),
        )
        .expect("sends");
        assert_eq!(desktop.sign.map(|s| s.form), Some(SignedForm::OpaqueSigned));
    }

    #[test]
    fn signing_and_encrypting_each_need_the_senders_own_certificate() {
        let no_signing = Sender {
            signing: None,
            ..sender(KeyStorage::Software)
        };
        let refusal = shape(&request(true, false), &no_signing, &carol()).expect_err("refused");
        assert_eq!(refusal.reason, RefusalReason::NoSigningCertificate);
        assert!(
            refusal.why.contains("primary SMTP address"),
            "{}",
            refusal.why
        );
        // Encrypting needs no signing key...
        assert!(shape(&request(false, true), &no_signing, &carol()).is_ok());
        // ...but the sender's own encryption certificate.
        let no_encryption = Sender {
            own_certificate: None,
            ..sender(KeyStorage::Software)
        };
        let refusal = shape(&request(false, true), &no_encryption, &carol()).expect_err("refused");
        assert_eq!(refusal.reason, RefusalReason::NoEncryptionCertificate);
        assert!(shape(&request(true, false), &no_encryption, &carol()).is_ok());
    }

    #[test]
    fn a_recipient_without_a_certificate_is_not_sent_to() {
        let nobody = vec![RecipientFacts {
            mailbox: "dave@contoso.com".into(),
            certificate: None,
        }];
        let refusal = shape(
            &request(false, true),
            &sender(KeyStorage::Software),
            &nobody,
        )
        .expect_err("refused");
        assert_eq!(refusal.reason, RefusalReason::NoRecipientCertificate);
    }
}
