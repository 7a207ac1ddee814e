//! Reading third-party files (RFC 9216, Thunderbird/NSS, Outlook/Windows, Java, RFC 9579), writing
//! and reading back, and robustness against damaged input. Interop with the OpenSSL and GnuPG
//! command-line tools is in `tests/pkcs12_interop.rs`.

use base64::Engine as _;
use der::asn1::Any;
use der::{Decode, Encode};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use test_support::vector;

use super::asn1::{Pbmac1Params, Pfx};
use super::*;

/// The DER inside a single-block PEM file.
fn pem_der(name: &str) -> Vec<u8> {
    let (_, der) = der::pem::decode_vec(&vector(name))
        .unwrap_or_else(|e| panic!("{name} is not a single PEM block: {e}"));
    der
}

fn read_ok(name: &str, password: &str) -> Pkcs12Contents {
    read_pkcs12(&vector(name), password).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

#[test]
fn rfc9216_files_hold_the_published_keys_and_certificates() {
    // Each file carries its issuing CA as the cross-certificate from the other algorithm's root.
    for (persona, ca) in [
        ("alice", "ca.rsa.cross.crt"),
        ("bob", "ca.rsa.cross.crt"),
        ("carlos", "ca.25519.cross.crt"),
        ("dana", "ca.25519.cross.crt"),
    ] {
        let contents = read_ok(&format!("rfc9216/{persona}.p12"), persona);
        let sign_key = pem_der(&format!("rfc9216/{persona}.sign.key"));
        let decrypt_key = pem_der(&format!("rfc9216/{persona}.decrypt.key"));
        let sign_cert = pem_der(&format!("rfc9216/{persona}.sign.crt"));
        let encrypt_cert = pem_der(&format!("rfc9216/{persona}.encrypt.crt"));
        let ca_cert = pem_der(&format!("rfc9216/{ca}"));

        assert_eq!(contents.keys.len(), 2, "{persona}");
        assert_eq!(contents.certificates.len(), 3, "{persona}");
        for cert in [&sign_cert, &encrypt_cert, &ca_cert] {
            assert!(
                contents.certificates.contains(cert),
                "{persona}: a certificate is missing"
            );
        }
        assert_eq!(contents.friendly_name.as_deref(), Some(persona));
        // Each key is paired (by localKeyId) with its own certificate.
        for key in &contents.keys {
            let paired = &contents.certificates[key.certificate_index.expect("paired")];
            if key.pkcs8_der == sign_key {
                assert_eq!(paired, &sign_cert, "{persona} signing key");
            } else {
                assert_eq!(key.pkcs8_der, decrypt_key, "{persona}: an unexpected key");
                assert_eq!(paired, &encrypt_cert, "{persona} decryption key");
            }
        }
        // The identity comes first and its key matches it.
        let identity_key = contents.private_key_pkcs8_der.as_ref().expect("a key");
        assert_eq!(
            Some(identity_key),
            contents.keys.first().map(|k| &k.pkcs8_der)
        );
        assert_eq!(contents.keys[0].certificate_index, Some(0));
        let matches = public_key_matches(identity_key, &contents.certificates[0]);
        if persona == "alice" || persona == "bob" {
            assert!(matches.expect("RSA is compared"), "{persona}");
        } else {
            // X25519/Ed25519 keys without an embedded public key cannot be compared here.
            assert!(matches!(
                matches,
                Err(Pkcs12Error::UnsupportedAlgorithm { .. })
            ));
        }
        assert!(contents.protection.is_legacy());
        assert!(
            contents
                .protection
                .encryption
                .iter()
                .all(|part| part.algorithm.name == "pbeWithSHAAnd3-KeyTripleDES-CBC")
        );
    }
}

#[test]
fn thunderbird_nss_files_in_ber_with_aes_read() {
    let ca = pem_der("thunderbird-nss/TestCA.pem");
    for name in ["Alice", "Alice-ec", "Bob"] {
        let file = format!("thunderbird-nss/{name}.p12");
        // NSS writes indefinite lengths: this is what exercises the BER pass.
        assert_eq!(
            vector(&file)[..2],
            [0x30, 0x80],
            "{file} is expected to be BER"
        );
        let contents = read_ok(&file, "nss");
        assert_eq!(contents.certificates.len(), 2, "{file}");
        if name != "Alice-ec" {
            // Alice-ec carries the EC test CA, which the vectors do not hold separately.
            assert_eq!(contents.certificates[1], ca, "{file}");
        }
        assert_eq!(contents.friendly_name.as_deref(), Some(name));
        let key = contents.private_key_pkcs8_der.as_ref().expect("a key");
        assert!(
            public_key_matches(key, &contents.certificates[0]).unwrap(),
            "{file}"
        );
        let protection = &contents.protection;
        assert!(!protection.is_legacy(), "{file}: {protection:?}");
        assert_eq!(
            protection.mac.as_ref().map(|mac| mac.name.as_str()),
            Some("HMAC-SHA-256 (PKCS#12 KDF)")
        );
        let names: Vec<_> = protection
            .encryption
            .iter()
            .map(|e| e.algorithm.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC)",
                "PBES2 (PBKDF2-HMAC-SHA-256, AES-128-CBC)"
            ]
        );
    }
}

#[test]
fn outlook_style_rc2_40_files_read() {
    for (persona, password) in [("smime-1", "smime1"), ("smime-2", "smime2")] {
        let contents = read_ok(
            &format!("hiraoka-tb128-outlook16/certs__{persona}-secret.pfx"),
            password,
        );
        let cert = pem_der(&format!("hiraoka-tb128-outlook16/certs__{persona}.crt"));
        let ca = pem_der("hiraoka-tb128-outlook16/certs__ca_smime.crt");
        assert_eq!(contents.certificates, [cert, ca]);
        // The .key file is PKCS#1; the bag holds the same key wrapped in PKCS#8.
        let pkcs1 = pem_der(&format!("hiraoka-tb128-outlook16/certs__{persona}.key"));
        let key = contents.private_key_pkcs8_der.as_ref().expect("a key");
        let info = pkcs8::PrivateKeyInfoRef::from_der(key).unwrap();
        assert_eq!(info.private_key.as_bytes(), pkcs1.as_slice());
        assert!(public_key_matches(key, &contents.certificates[0]).unwrap());
        let parts: Vec<_> = contents
            .protection
            .encryption
            .iter()
            .map(|e| (e.part, e.algorithm.name.as_str()))
            .collect();
        assert_eq!(
            parts,
            [
                (EncryptedPart::SafeContents, "pbeWithSHAAnd40BitRC2-CBC"),
                (EncryptedPart::PrivateKey, "pbeWithSHAAnd3-KeyTripleDES-CBC")
            ]
        );
    }
}

#[test]
fn java_written_file_reads() {
    let contents = read_ok("simplejavamail-tb52/smime_test_user.p12", "letmein");
    let cert = pem_der("simplejavamail-tb52/smime_test_user.pem.standard.crt");
    assert_eq!(contents.certificates, [cert]);
    let key = contents.private_key_pkcs8_der.as_ref().expect("a key");
    assert!(public_key_matches(key, &contents.certificates[0]).unwrap());
}

#[test]
fn pem_armoured_file_reads_like_its_der_twin() {
    let pem = read_ok("protected-headers-autocrypt/bob.p12", "bob");
    let der = read_ok("protected-headers-autocrypt/bob.p12.der", "bob");
    assert_eq!(pem, der);
    assert_eq!(
        der.protection.mac.as_ref().map(|mac| mac.name.as_str()),
        Some("HMAC-SHA-512 (PKCS#12 KDF)")
    );
    let key = der.private_key_pkcs8_der.as_ref().expect("a key");
    assert!(public_key_matches(key, &der.certificates[0]).unwrap());
}

#[test]
fn wrong_password_is_the_mac_error_for_modern_and_legacy_files() {
    for name in [
        "thunderbird-nss/Alice.p12",
        "rfc9216/alice.p12",
        "hiraoka-tb128-outlook16/certs__smime-1-secret.pfx",
        "protected-headers-autocrypt/bob.p12",
    ] {
        let error = read_pkcs12(&vector(name), "not the password").unwrap_err();
        assert!(
            matches!(error, Pkcs12Error::WrongPassword),
            "{name}: {error:?}"
        );
        assert!(error.is_wrong_password());
        assert!(
            error.to_string().starts_with(
                "MAC verification failed: the password is wrong, or the file is damaged"
            ),
            "{error}"
        );
    }
}

// ---- writing ----

fn alice() -> (Vec<u8>, Vec<u8>, Vec<Vec<u8>>) {
    (
        pem_der("rfc9216/alice.sign.key"),
        pem_der("rfc9216/alice.sign.crt"),
        vec![pem_der("rfc9216/ca.rsa.crt")],
    )
}

fn write(profile: Pkcs12Profile, password: &str, seed: u64) -> Vec<u8> {
    let (key, cert, chain) = alice();
    write_pkcs12(
        &key,
        &cert,
        &chain,
        Some("Alice Lovelace"),
        password,
        profile,
        &mut ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap()
}

#[test]
fn written_files_read_back_with_the_documented_protection() {
    let (key, cert, chain) = alice();
    for (profile, mac, cipher, legacy) in [
        (
            Pkcs12Profile::Modern,
            "HMAC-SHA-256 (PKCS#12 KDF)",
            "PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC)",
            false,
        ),
        (
            Pkcs12Profile::Legacy,
            "HMAC-SHA-1 (PKCS#12 KDF)",
            "pbeWithSHAAnd3-KeyTripleDES-CBC",
            true,
        ),
    ] {
        let bytes = write(profile, "correct horse", 1);
        let contents = read_pkcs12(&bytes, "correct horse").unwrap();
        assert_eq!(contents.private_key_pkcs8_der.as_ref(), Some(&key));
        assert_eq!(contents.certificates, [cert.clone(), chain[0].clone()]);
        assert_eq!(contents.friendly_name.as_deref(), Some("Alice Lovelace"));
        let local_key_id = contents.keys[0].local_key_id.as_ref().expect("localKeyId");
        assert_eq!(
            local_key_id,
            &<sha1::Sha1 as sha1::Digest>::digest(&cert).to_vec()
        );
        let protection = &contents.protection;
        assert_eq!(protection.is_legacy(), legacy);
        let mac_use = protection.mac.as_ref().expect("a MAC");
        assert_eq!((mac_use.name.as_str(), mac_use.iterations), (mac, 2048));
        assert_eq!(protection.encryption.len(), 2);
        for part in &protection.encryption {
            assert_eq!(
                (part.algorithm.name.as_str(), part.algorithm.iterations),
                (cipher, 2048)
            );
        }
        let error = read_pkcs12(&bytes, "Correct horse").unwrap_err();
        assert!(matches!(error, Pkcs12Error::WrongPassword), "{error:?}");
    }
}

#[test]
fn output_is_a_function_of_the_rng() {
    for profile in [Pkcs12Profile::Modern, Pkcs12Profile::Legacy] {
        assert_eq!(write(profile, "pw", 42), write(profile, "pw", 42));
        assert_ne!(write(profile, "pw", 42), write(profile, "pw", 43));
    }
}

#[test]
fn empty_and_non_ascii_passwords_roundtrip() {
    for password in ["", "pässwörd 🔑"] {
        for profile in [Pkcs12Profile::Modern, Pkcs12Profile::Legacy] {
            let bytes = write(profile, password, 5);
            assert!(
                read_pkcs12(&bytes, password).is_ok(),
                "{password:?} {profile:?}"
            );
            assert!(read_pkcs12(&bytes, "x").unwrap_err().is_wrong_password());
        }
    }
}

#[test]
fn writing_refuses_bad_inputs() {
    let (key, cert, chain) = alice();
    let bob_cert = pem_der("rfc9216/bob.sign.crt");
    let mut rng = ChaCha20Rng::seed_from_u64(0);
    let modern = Pkcs12Profile::Modern;
    assert!(matches!(
        write_pkcs12(&key, &bob_cert, &chain, None, "pw", modern, &mut rng),
        Err(Pkcs12Error::KeyCertificateMismatch)
    ));
    assert!(matches!(
        write_pkcs12(&cert, &cert, &chain, None, "pw", modern, &mut rng),
        Err(Pkcs12Error::InvalidInput {
            what: "private key",
            ..
        })
    ));
    assert!(matches!(
        write_pkcs12(&key, &cert, &[vec![1, 2, 3]], None, "pw", modern, &mut rng),
        Err(Pkcs12Error::InvalidInput {
            what: "certificate",
            ..
        })
    ));
    assert!(matches!(
        write_pkcs12(
            &key,
            &cert,
            &chain,
            Some("emoji 🔑"),
            "pw",
            modern,
            &mut rng
        ),
        Err(Pkcs12Error::InvalidInput {
            what: "friendly name",
            ..
        })
    ));
}

#[test]
fn debug_output_never_shows_key_bytes() {
    let contents = read_pkcs12(&write(Pkcs12Profile::Modern, "pw", 3), "pw").unwrap();
    let key = contents.private_key_pkcs8_der.clone().unwrap();
    let shown = format!("{contents:?}");
    assert!(shown.contains("redacted"), "{shown}");
    // No 8-byte run of the key appears in hex or as a decimal list.
    let window = &key[key.len() - 8..];
    assert!(!shown.contains(&hex::encode(window)) && !shown.contains(&hex::encode_upper(window)));
    assert!(!shown.contains(format!("{:?}", &window[..4]).trim_matches(['[', ']'])));
}

// ---- RFC 9579 PBMAC1 ----

fn rfc9579_a1() -> Vec<u8> {
    // RFC 9579 appendix A.1 (IETF Trust, code components under the Revised BSD licence):
    // PBMAC1 with PBKDF2-HMAC-SHA-256 and HMAC-SHA-256, password "1234".
    let text: String = include_str!("testdata/rfc9579-a1.p12.b64")
        .split_whitespace()
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// A.1 with its PBMAC1 PBKDF2 parameters edited, as RFC 9579 builds its invalid examples.
fn rfc9579_with_kdf(edit: impl FnOnce(&mut pkcs5::pbes2::Pbkdf2Params)) -> Vec<u8> {
    let mut pfx = Pfx::from_der(&rfc9579_a1()).unwrap();
    let mac_data = pfx.mac_data.as_mut().unwrap();
    let algorithm = &mut mac_data.mac.algorithm;
    let mut params: Pbmac1Params = algorithm.parameters.as_ref().unwrap().decode_as().unwrap();
    let mut kdf: pkcs5::pbes2::Pbkdf2Params = params
        .key_derivation_func
        .parameters
        .as_ref()
        .unwrap()
        .decode_as()
        .unwrap();
    edit(&mut kdf);
    params.key_derivation_func.parameters = Some(Any::encode_from(&kdf).unwrap());
    algorithm.parameters = Some(Any::encode_from(&params).unwrap());
    pfx.to_der().unwrap()
}

#[test]
fn rfc9579_pbmac1_file_verifies() {
    let contents = read_pkcs12(&rfc9579_a1(), "1234").unwrap();
    let mac_use = contents.protection.mac.as_ref().unwrap();
    assert_eq!(mac_use.name, "PBMAC1 (PBKDF2-HMAC-SHA-256, HMAC-SHA-256)");
    assert_eq!(mac_use.iterations, 2048);
    assert_eq!(contents.certificates.len(), 1);
    let key = contents.private_key_pkcs8_der.as_ref().unwrap();
    assert!(public_key_matches(key, &contents.certificates[0]).unwrap());
    assert!(matches!(
        read_pkcs12(&rfc9579_a1(), "12345"),
        Err(Pkcs12Error::WrongPassword)
    ));
}

#[test]
fn rfc9579_invalid_examples_are_refused() {
    // A.4: wrong iteration count -> the MAC does not verify.
    let bytes = rfc9579_with_kdf(|kdf| kdf.iteration_count = 2049);
    assert!(matches!(
        read_pkcs12(&bytes, "1234"),
        Err(Pkcs12Error::WrongPassword)
    ));
    // A.5: wrong salt -> the MAC does not verify.
    let bytes = rfc9579_with_kdf(|kdf| kdf.salt = pkcs5::pbes2::Salt::new(b"NOT USED").unwrap());
    assert!(matches!(
        read_pkcs12(&bytes, "1234"),
        Err(Pkcs12Error::WrongPassword)
    ));
    // A.6: no keyLength -> refused as malformed, naming the field.
    let bytes = rfc9579_with_kdf(|kdf| kdf.key_length = None);
    let error = read_pkcs12(&bytes, "1234").unwrap_err();
    assert!(
        matches!(&error, Pkcs12Error::Malformed { detail, .. } if detail.contains("keyLength")),
        "{error}"
    );
}

// ---- errors that say where ----

#[test]
fn structural_errors_name_the_structure() {
    let error = read_pkcs12(b"not a pkcs12 file", "pw").unwrap_err();
    assert!(
        error.to_string().starts_with("malformed PKCS#12: the PFX"),
        "{error}"
    );
    let pem = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    let error = read_pkcs12(pem, "pw").unwrap_err();
    assert!(error.to_string().contains("expected \"PKCS12\""), "{error}");
}

// ---- robustness ----

/// Truncations and single-bit flips at many (deterministic) positions. With the MAC checked, a
/// damaged file must fail or, when the damage hit bytes nobody reads, give exactly the original
/// contents. With the MAC skipped, the damage reaches the decoders behind it: nothing may panic.
#[test]
fn damaged_files_never_panic_or_lie() {
    let originals = [
        write(Pkcs12Profile::Modern, "pw", 9),
        write(Pkcs12Profile::Legacy, "pw", 9),
        vector("thunderbird-nss/Alice-ec.p12"),
    ];
    let passwords = ["pw", "pw", "nss"];
    let mut rng = ChaCha20Rng::seed_from_u64(2024);
    for (original, password) in originals.iter().zip(passwords) {
        let expected = read_pkcs12(original, password).unwrap();
        let mut mutants: Vec<Vec<u8>> = (0..original.len())
            .step_by(23)
            .map(|cut| original[..cut].to_vec())
            .collect();
        for _ in 0..250 {
            let mut mutant = original.clone();
            let bit = rng.next_u32() as usize % (mutant.len() * 8);
            mutant[bit / 8] ^= 1 << (bit % 8);
            mutants.push(mutant);
        }
        let mut failures = 0;
        for mutant in &mutants {
            match read::read(mutant, password, true, &KdfBudget::unlimited()) {
                Ok(contents) => assert_eq!(contents, expected, "damage changed the contents"),
                Err(_) => failures += 1,
            }
            let _ = read::read(mutant, password, false, &KdfBudget::unlimited());
        }
        // Nearly every mutation must be caught; a few may hit ignored bytes (NULL parameters).
        assert!(
            failures * 100 >= mutants.len() * 95,
            "{failures}/{}",
            mutants.len()
        );
    }
}

#[test]
fn a_kdf_budget_is_charged_per_derivation_and_refuses_before_running() {
    // Modern: the MAC (2048) and two PBES2 parts (2048 each). Legacy: the MAC (2048) and two
    // PKCS#12 PBE parts, each deriving a key and an IV (2 x 2048).
    for (profile, cost) in [
        (Pkcs12Profile::Modern, 3 * 2048),
        (Pkcs12Profile::Legacy, 2048 + 2 * 2 * 2048),
    ] {
        let bytes = write(profile, "pw", 3);
        let budget = KdfBudget::new(cost);
        read_pkcs12_within(&bytes, "pw", &budget).unwrap();
        assert_eq!(budget.spent(), cost, "{profile:?}");
        // The same budget cannot pay for a second file.
        let error = read_pkcs12_within(&bytes, "pw", &budget).unwrap_err();
        assert!(
            matches!(
                &error,
                Pkcs12Error::KdfBudgetExceeded { location, asked: 2048, spent, limit }
                    if location == "the MAC" && *spent == cost && *limit == cost
            ),
            "{error:?}"
        );
        assert_eq!(budget.spent(), cost, "a refused derivation is not charged");
        // One iteration short: the last part is refused, naming where.
        let short = KdfBudget::new(cost - 1);
        let error = read_pkcs12_within(&bytes, "pw", &short).unwrap_err();
        assert!(
            matches!(&error, Pkcs12Error::KdfBudgetExceeded { location, .. }
                if location.starts_with("SafeContents")),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains(&format!("more than the {} allowed", cost - 1))
        );
    }
}
