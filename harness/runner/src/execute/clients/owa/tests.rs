use super::*;
use crate::execute::clients::shape::fixtures::{self, request, sender};
use scenario::model::MessageOptions;
use serde_json::json;
use smime::cms::attributes::Capability;

fn recipient(mailbox: &str, has_ski: bool) -> RecipientFacts {
    fixtures::recipient(mailbox, has_ski, None)
}

fn owa(settings: &OwaSettings, request: &ProtectionRequest) -> Result<MessageShape, Refusal> {
    shape(
        settings,
        request,
        &sender(KeyStorage::Software),
        &[recipient("carol@contoso.com", true)],
    )
}

#[test]
fn settings_read_from_get_smime_config() {
    let exchange_defaults = json!({
        "Identity": "SmimeConfig", "OWAClearSign": true, "OWASigningAlgorithms": "8004",
        "OWAEncryptionAlgorithms": "6610", "OWASignedEmailCertificateInclusion": true,
        "OWAAlwaysSign": false, "SMIMECertificateIssuingCA": null,
    });
    assert_eq!(
        OwaSettings::from_config(&exchange_defaults),
        Ok(OwaSettings::default())
    );
    let set = json!({ "OWAClearSign": false, "OWAUseKeyIdentifier": true, "OWASigningAlgorithms": "800C;8004" });
    let settings = OwaSettings::from_config(&set).expect("reads");
    assert!(!settings.clear_sign && settings.use_key_identifier);
    assert_eq!(settings.signing_algorithms, "800C;8004");
    let wrong = OwaSettings::from_config(&json!({ "OWAClearSign": "yes" }))
        .expect_err("a string is not a flag");
    assert!(wrong.contains("OWAClearSign"), "{wrong}");
}

#[test]
fn algorithm_lists_give_their_first_supported_entry() {
    assert_eq!(first_digest("8004"), Some(Digest::Sha1));
    assert_eq!(first_digest("800C;8004"), Some(Digest::Sha256));
    assert_eq!(first_digest("800d;800C"), Some(Digest::Sha384));
    assert_eq!(first_digest("800E"), Some(Digest::Sha512));
    assert_eq!(first_digest("8003"), Some(Digest::Md5));
    assert_eq!(first_digest("800C,1.2.3.4;8004"), Some(Digest::Sha1));
    assert_eq!(first_digest("6610"), None);
    assert_eq!(first_digest(""), None);

    assert_eq!(first_cipher("6610"), Some(ContentCipher::Aes256Cbc));
    assert_eq!(first_cipher("660E"), Some(ContentCipher::Aes128Cbc));
    assert_eq!(first_cipher("660f;6610"), Some(ContentCipher::Aes192Cbc));
    assert_eq!(first_cipher("6603"), Some(ContentCipher::DesEde3Cbc));
    assert_eq!(first_cipher("6601"), Some(ContentCipher::DesCbc));
    assert_eq!(first_cipher("6602:128"), Some(ContentCipher::Rc2Cbc128));
    assert_eq!(first_cipher("6602"), Some(ContentCipher::Rc2Cbc128));
    assert_eq!(first_cipher("6602:64"), Some(ContentCipher::Rc2Cbc64));
    assert_eq!(first_cipher("6602:40"), Some(ContentCipher::Rc2Cbc40));
    assert_eq!(
        first_cipher("6602:56;6603"),
        Some(ContentCipher::DesEde3Cbc),
        "no RC2-56 in the engine"
    );
    assert_eq!(
        first_cipher("6603,1.2.840.113549.3.7;660E"),
        Some(ContentCipher::Aes128Cbc),
        "a provider's replacement algorithm is not here"
    );
    assert_eq!(first_cipher("800C"), None);
}

#[test]
fn exchange_defaults_sign_sha1_clear_with_the_signer_only_and_encrypt_aes256() {
    let shape = owa(&OwaSettings::default(), &request(true, true)).expect("sends");
    let sign = shape.sign.as_ref().expect("signed");
    assert_eq!(sign.digest, Digest::Sha1);
    assert_eq!(sign.form, SignedForm::ClearSigned);
    assert_eq!(sign.include, ChainInclusion::None);
    assert_eq!(sign.own_certificates, OwnCertificates::SigningAndEncryption);
    assert!(sign.capabilities.is_empty());
    let encrypt = shape.encrypt.as_ref().expect("encrypted");
    assert_eq!(encrypt.cipher, ContentCipher::Aes256Cbc);
    assert_eq!(encrypt.recipient_id, RecipientIdType::IssuerAndSerialNumber);
    assert_eq!(encrypt.rsa_padding, RsaPadding::Pkcs1v15);
    assert!(encrypt.to_self);
    assert!(!shape.triple_wrap);
    assert_eq!(shape.protection(), "signed+encrypted");
}

#[test]
fn clear_sign_false_is_opaque_unless_the_message_says_otherwise() {
    let settings = OwaSettings {
        clear_sign: false,
        ..OwaSettings::default()
    };
    let opaque = owa(&settings, &request(true, false)).expect("sends");
    assert_eq!(opaque.protection(), "opaque-signed");
    let clear = owa(
        &settings,
        &ProtectionRequest {
            opaque: Some(false),
            ..request(true, false)
        },
    )
    .expect("sends");
    assert_eq!(clear.protection(), "clear-signed");
}

#[test]
fn algorithm_settings_choose_digest_and_cipher_unless_the_message_does() {
    let settings = OwaSettings {
        signing_algorithms: "800C;8004".into(),
        encryption_algorithms: "660E;6610".into(),
        ..OwaSettings::default()
    };
    let shape = owa(&settings, &request(true, true)).expect("sends");
    assert_eq!(shape.sign.as_ref().map(|s| s.digest), Some(Digest::Sha256));
    assert_eq!(
        shape.encrypt.as_ref().map(|e| e.cipher),
        Some(ContentCipher::Aes128Cbc)
    );
    assert!(
        shape
            .notes
            .iter()
            .any(|n| n.contains("OWASigningAlgorithms"))
    );
    let overridden = owa(
        &settings,
        &ProtectionRequest {
            options: MessageOptions {
                digest: Some(Digest::Sha512),
                cipher: Some(ContentCipher::Aes256Gcm),
                ..MessageOptions::default()
            },
            ..request(true, true)
        },
    )
    .expect("sends");
    assert_eq!(
        overridden.sign.as_ref().map(|s| s.digest),
        Some(Digest::Sha512)
    );
    assert_eq!(
        overridden.encrypt.as_ref().map(|e| e.cipher),
        Some(ContentCipher::Aes256Gcm)
    );
    // Nothing usable: Exchange's defaults.
    let unusable = OwaSettings {
        signing_algorithms: "800C,1.2.3".into(),
        encryption_algorithms: "6602:56".into(),
        ..OwaSettings::default()
    };
    let fallback = owa(&unusable, &request(true, true)).expect("sends");
    assert_eq!(fallback.sign.map(|s| s.digest), Some(Digest::Sha1));
    assert_eq!(
        fallback.encrypt.map(|e| e.cipher),
        Some(ContentCipher::Aes256Cbc)
    );
}

#[test]
fn chain_inclusion_settings() {
    let with = |and_root, without_root, inclusion| OwaSettings {
        include_chain_and_root: and_root,
        include_chain_without_root: without_root,
        signed_email_certificate_inclusion: inclusion,
        ..OwaSettings::default()
    };
    assert_eq!(
        chain_inclusion(&with(false, false, true)),
        ChainInclusion::None
    );
    assert_eq!(
        chain_inclusion(&with(false, true, true)),
        ChainInclusion::Chain
    );
    assert_eq!(
        chain_inclusion(&with(true, false, true)),
        ChainInclusion::ChainAndRoot
    );
    assert_eq!(
        chain_inclusion(&with(true, true, true)),
        ChainInclusion::ChainAndRoot
    );
    // OWASignedEmailCertificateInclusion decides the sender's own certificates, not the chain.
    assert_eq!(
        chain_inclusion(&with(true, true, false)),
        ChainInclusion::ChainAndRoot
    );
    assert_eq!(
        own_certificates(&with(false, false, true)),
        OwnCertificates::SigningAndEncryption
    );
    assert_eq!(
        own_certificates(&with(false, false, false)),
        OwnCertificates::Neither
    );
    let without = owa(&with(false, false, false), &request(true, false)).expect("sends");
    assert_eq!(
        without.sign.map(|s| s.own_certificates),
        Some(OwnCertificates::Neither)
    );
    let shape = owa(&with(false, true, true), &request(true, false)).expect("sends");
    assert_eq!(shape.sign.map(|s| s.include), Some(ChainInclusion::Chain));
    let overridden = owa(
        &with(false, true, true),
        &ProtectionRequest {
            options: MessageOptions {
                include_chain: Some(ChainInclusion::ChainAndRoot),
                ..MessageOptions::default()
            },
            ..request(true, false)
        },
    )
    .expect("sends");
    assert_eq!(
        overridden.sign.map(|s| s.include),
        Some(ChainInclusion::ChainAndRoot)
    );
}

#[test]
fn capabilities_list_the_configured_algorithms() {
    let settings = OwaSettings {
        include_capabilities: true,
        signing_algorithms: "800C;8004;8003".into(),
        encryption_algorithms: "6610;6603;6602:40".into(),
        ..OwaSettings::default()
    };
    let shape = owa(&settings, &request(true, false)).expect("sends");
    assert_eq!(
        shape.sign.expect("signed").capabilities,
        vec![
            Capability::Aes256Cbc,
            Capability::TripleDesCbc,
            Capability::Rc2Cbc40,
            Capability::Sha256,
            Capability::Sha1
        ]
    );
}

#[test]
fn key_identifier_names_recipients_by_ski_and_refuses_a_certificate_without() {
    let settings = OwaSettings {
        use_key_identifier: true,
        ..OwaSettings::default()
    };
    let shape = owa(&settings, &request(false, true)).expect("sends");
    assert_eq!(
        shape.encrypt.map(|e| e.recipient_id),
        Some(RecipientIdType::SubjectKeyIdentifier)
    );
    let carol_without_ski = [recipient("carol@contoso.com", false)];
    let refused = super::shape(
        &settings,
        &request(false, true),
        &sender(KeyStorage::Software),
        &carol_without_ski,
    )
    .expect_err("carol cannot be named");
    assert_eq!(refused.reason, RefusalReason::NoRecipientCertificate);
    // Named by issuer and serial, she can.
    let by_serial = ProtectionRequest {
        options: MessageOptions {
            recipient_id: Some(RecipientIdType::IssuerAndSerialNumber),
            ..MessageOptions::default()
        },
        ..request(false, true)
    };
    assert!(
        super::shape(
            &settings,
            &by_serial,
            &sender(KeyStorage::Software),
            &carol_without_ski
        )
        .is_ok()
    );
}

#[test]
fn triple_wrap_needs_both_and_the_message_may_decline() {
    let settings = OwaSettings {
        triple_wrap: true,
        ..OwaSettings::default()
    };
    assert!(
        owa(&settings, &request(true, true))
            .expect("sends")
            .triple_wrap
    );
    assert!(
        !owa(&settings, &request(true, false))
            .expect("sends")
            .triple_wrap
    );
    let declined = ProtectionRequest {
        triple_wrap: Some(false),
        ..request(true, true)
    };
    assert!(!owa(&settings, &declined).expect("sends").triple_wrap);
}

#[test]
fn always_sign_and_encrypt() {
    let settings = OwaSettings {
        always_sign: true,
        always_encrypt: true,
        ..OwaSettings::default()
    };
    let shape = owa(&settings, &request(false, false)).expect("sends");
    assert_eq!(shape.protection(), "signed+encrypted");
    let nobody = super::shape(
        &settings,
        &request(false, false),
        &sender(KeyStorage::Software),
        &[RecipientFacts {
            mailbox: "carol@contoso.com".into(),
            certificate: None,
        }],
    );
    assert_eq!(
        nobody.map_err(|r| r.reason),
        Err(RefusalReason::NoRecipientCertificate)
    );
}

#[test]
fn smart_card_only_refuses_a_software_key() {
    let settings = OwaSettings {
        only_use_smart_card: true,
        ..OwaSettings::default()
    };
    let recipients = [recipient("carol@contoso.com", true)];
    let refused = super::shape(
        &settings,
        &request(true, false),
        &sender(KeyStorage::Software),
        &recipients,
    );
    assert_eq!(
        refused.map_err(|r| r.reason),
        Err(RefusalReason::OWAOnlyUseSmartCard)
    );
    assert!(
        super::shape(
            &settings,
            &request(true, false),
            &sender(KeyStorage::SmartCard),
            &recipients
        )
        .is_ok()
    );
    // Encrypting uses no key of the sender's.
    assert!(
        super::shape(
            &settings,
            &request(false, true),
            &sender(KeyStorage::Software),
            &recipients
        )
        .is_ok()
    );
}

#[test]
fn crl_check_on_send_applies_to_protected_mail_only() {
    let settings = OwaSettings {
        check_crl_on_send: true,
        ..OwaSettings::default()
    };
    for (sign, encrypt, needed) in [
        (true, false, true),
        (false, true, true),
        (true, true, true),
        (false, false, false),
    ] {
        let shape = owa(&settings, &request(sign, encrypt)).expect("sends");
        assert_eq!(needs_crl_check(&settings, &shape), needed);
        assert!(!needs_crl_check(&OwaSettings::default(), &shape));
    }
    let refusal = crl_refusal(&["the CRL is offline".to_owned()]);
    assert_eq!(refusal.reason, RefusalReason::OWACheckCRLOnSend);
    assert!(refusal.why.ends_with(": the CRL is offline"));
}

#[test]
fn parameters_not_emulated_say_why_and_emulated_ones_do_not() {
    for name in [
        "OWAAllowUserChoiceOfSigningCertificate",
        "OWADLExpansionTimeout",
        "OWASenderCertificateAttributesToDisplay",
        "NoSignOnReply",
        "OWACopyRecipientHeaders",
        "OWAEncryptTemporaryBuffers",
        "OWAForceSMIMEClientUpgrade",
    ] {
        assert!(
            not_emulated(name).is_some_and(|why| !why.is_empty()),
            "{name}"
        );
    }
    for name in [
        "OWAAlwaysSign",
        "OWAClearSign",
        "OWACheckCRLOnSend",
        "OWADisableCRLCheck",
        "OWASignedEmailCertificateInclusion",
        "OWABCCEncryptedEmailForking",
        "OWAUseSecondaryProxiesWhenFindingCertificates",
        "SMIMECertificateIssuingCA",
    ] {
        assert_eq!(not_emulated(name), None, "{name}");
    }
}

#[test]
fn recipient_refusal_names_each_recipient() {
    let refusal = recipient_refusal(&["carol@contoso.com (untrusted)".to_owned()]);
    assert_eq!(refusal.reason, RefusalReason::NoRecipientCertificate);
    assert!(
        refusal.why.contains("carol@contoso.com (untrusted)"),
        "{}",
        refusal.why
    );
    assert!(
        refusal.why.contains("SMIMECertificateIssuingCA"),
        "{}",
        refusal.why
    );
}

#[test]
fn no_signing_certificate() {
    let refused = super::shape(
        &OwaSettings::default(),
        &request(true, false),
        &Sender {
            signing: None,
            own_certificate: None,
        },
        &[],
    );
    assert_eq!(
        refused.map_err(|r| r.reason),
        Err(RefusalReason::NoSigningCertificate)
    );
}

#[test]
fn bcc_recipients_of_an_encrypted_message_are_forked_as_the_mode_says() {
    let open = ["carol", "dave"];
    let bcc = ["bob", "eve"];
    // 0: one message per Bcc recipient (the default).
    assert_eq!(
        fork_bcc(0, true, &open, &bcc),
        vec![vec!["carol", "dave"], vec!["bob"], vec!["eve"]]
    );
    assert_eq!(OwaSettings::default().bcc_forking, 0);
    // 1: one message for all Bcc recipients.
    assert_eq!(
        fork_bcc(1, true, &open, &bcc),
        vec![vec!["carol", "dave"], vec!["bob", "eve"]]
    );
    // 2: one message, no forking.
    assert_eq!(
        fork_bcc(2, true, &open, &bcc),
        vec![vec!["carol", "dave", "bob", "eve"]]
    );
    // Only Bcc recipients: no empty message for To and Cc.
    assert_eq!(fork_bcc(0, true, &[], &bcc), vec![vec!["bob"], vec!["eve"]]);
    assert_eq!(fork_bcc(1, true, &[], &bcc), vec![vec!["bob", "eve"]]);
    // Unencrypted, or no Bcc recipient: one message whatever the mode.
    for mode in [0, 1, 2] {
        assert_eq!(
            fork_bcc(mode, false, &open, &bcc),
            vec![vec!["carol", "dave", "bob", "eve"]]
        );
        assert_eq!(
            fork_bcc(mode, true, &open, &[]),
            vec![vec!["carol", "dave"]]
        );
    }
    // A value the page does not list is the default.
    assert_eq!(
        fork_bcc(7, true, &open, &bcc),
        fork_bcc(0, true, &open, &bcc)
    );
}

#[test]
fn bcc_forking_is_read_from_get_smime_config() {
    let config = serde_json::json!({ "OWABCCEncryptedEmailForking": 1 });
    assert_eq!(
        OwaSettings::from_config(&config)
            .expect("reads")
            .bcc_forking,
        1
    );
    let wrong = serde_json::json!({ "OWABCCEncryptedEmailForking": "one" });
    let error = OwaSettings::from_config(&wrong).expect_err("refused");
    assert!(error.contains("OWABCCEncryptedEmailForking"), "{error}");
}
