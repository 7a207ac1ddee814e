//! Every `BRW-*` check, triggered by a file crafted the way admins get it wrong, in each format
//! where the mistake can be made; and every catalogue row raised by at least one of them.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use browser_policy::pol::{Instruction, REG_DWORD, REG_MULTI_SZ, REG_SZ, encode};
use browser_policy::{
    Browser, CheckOptions, Error, OWA_SMIME_EXTENSION_FORCELIST_VALUE as VALUE, check,
    check_artifact,
};
use smime::checks::{CATALOGUE, Severity, lookup};

const ID: &str = browser_policy::OWA_SMIME_EXTENSION_ID;
const URL: &str = browser_policy::OWA_SMIME_UPDATE_URL;

fn utf16_reg(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in text.replace('\n', "\r\n").encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

fn reg(body: &str) -> Vec<u8> {
    utf16_reg(&format!("Windows Registry Editor Version 5.00\n\n{body}\n"))
}

fn chrome_reg(entry: &str) -> Vec<u8> {
    reg(&format!(
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist]\n\"1\"=\"{entry}\""
    ))
}

fn json(body: &str) -> Vec<u8> {
    body.as_bytes().to_vec()
}

fn forcelist_json(entry: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "ExtensionInstallForcelist": [entry] })).unwrap()
}

fn utf16z(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn pol_sz(key: &str, value: &str, data: &str) -> Instruction {
    Instruction {
        key: key.into(),
        value: value.into(),
        kind: REG_SZ,
        data: utf16z(data),
    }
}

const CHROME_LIST: &str = r"Software\Policies\Google\Chrome\ExtensionInstallForcelist";

fn profile(scope: &str, payloads: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>PayloadContent</key><array>{payloads}</array>
{scope}
<key>PayloadType</key><string>Configuration</string>
</dict></plist>"#
    )
    .into_bytes()
}

fn chrome_payload(domain: &str, policies: &str) -> String {
    format!("<dict><key>PayloadType</key><string>{domain}</string>{policies}</dict>")
}

const SYSTEM: &str = "<key>PayloadScope</key><string>System</string>";

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    path: Option<&'static str>,
    browser: Option<Browser>,
    /// Ids that must be among the findings.
    expect: &'static [&'static str],
    /// Ids that must not be.
    absent: &'static [&'static str],
}

fn case(name: &'static str, bytes: Vec<u8>, expect: &'static [&'static str]) -> Case {
    Case {
        name,
        bytes,
        path: None,
        browser: None,
        expect,
        absent: &[],
    }
}

fn cases() -> Vec<Case> {
    let forcelist_as_value = reg(&format!(
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome]\n\"ExtensionInstallForcelist\"=\"[\\\"{ID};{URL}\\\"]\""
    ));
    vec![
        // A JSON list in a string value is what Chromium accepts too: clean.
        Case {
            absent: &["BRW-TYPE-001", "BRW-FL-001"],
            ..case("json-in-reg-string", forcelist_as_value, &["BRW-FL-002"])
        },
        case(
            "wrong-id-reg",
            chrome_reg(&format!("maafgiompdekodanheihhgilkjchcakn;{URL}")),
            &["BRW-ID-001"],
        ),
        case(
            "upper-case-id-json",
            forcelist_json(&VALUE.to_uppercase().replacen(&URL.to_uppercase(), URL, 1)),
            &["BRW-ID-001"],
        ),
        case("no-url-reg", chrome_reg(ID), &["BRW-URL-001"]),
        case(
            "http-url-json",
            forcelist_json(&VALUE.replace("https://", "http://")),
            &["BRW-URL-002"],
        ),
        case(
            "space-after-semicolon",
            forcelist_json(&VALUE.replace(';', "; ")),
            &["BRW-URL-002"],
        ),
        case(
            "comma-reg",
            chrome_reg(&VALUE.replace(';', ",")),
            &["BRW-SEP-001"],
        ),
        case(
            "space-json",
            forcelist_json(&VALUE.replace(';', " ")),
            &["BRW-SEP-001"],
        ),
        Case {
            absent: &["BRW-FL-001"],
            ..case(
                "hkcu-reg",
                reg(&format!(
                    "[HKEY_CURRENT_USER\\SOFTWARE\\Policies\\Microsoft\\Edge\\ExtensionInstallForcelist]\n\"1\"=\"{VALUE}\""
                )),
                &["BRW-SCOPE-001", "BRW-FL-002"],
            )
        },
        Case {
            path: Some("GPO/User/Registry.pol"),
            ..case(
                "user-pol",
                encode(&[pol_sz(CHROME_LIST, "1", VALUE)]),
                &["BRW-SCOPE-001"],
            )
        },
        case(
            "user-scope-profile",
            profile(
                "",
                &chrome_payload(
                    "com.google.Chrome",
                    &format!(
                        "<key>ExtensionInstallForcelist</key><array><string>{VALUE}</string></array>"
                    ),
                ),
            ),
            &["BRW-SCOPE-001"],
        ),
        case(
            "pol-without-folder",
            encode(&[pol_sz(CHROME_LIST, "1", VALUE)]),
            &["BRW-SCOPE-002", "BRW-FL-002"],
        ),
        case(
            "recommended-reg",
            reg(&format!(
                "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\Recommended\\ExtensionInstallForcelist]\n\"1\"=\"{VALUE}\""
            )),
            &["BRW-LVL-001"],
        ),
        Case {
            path: Some("/etc/opt/edge/policies/recommended/owa.json"),
            ..case("recommended-json", forcelist_json(VALUE), &["BRW-LVL-001"])
        },
        case(
            "set-once-profile",
            profile(
                SYSTEM,
                &format!(
                    "<dict><key>PayloadType</key><string>com.apple.ManagedClient.preferences</string><key>PayloadContent</key><dict><key>com.google.Chrome</key><dict><key>Set-Once</key><array><dict><key>mcx_preference_settings</key><dict><key>ExtensionInstallForcelist</key><array><string>{VALUE}</string></array></dict></dict></array></dict></dict></dict>"
                ),
            ),
            &["BRW-LVL-001"],
        ),
        case(
            "allowlist-reg",
            reg(&format!(
                "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Edge\\ExtensionInstallAllowlist]\n\"1\"=\"{ID}\""
            )),
            &["BRW-ALW-001"],
        ),
        case(
            "whitelist-json",
            json(&format!("{{\"ExtensionInstallWhitelist\": [\"{ID}\"]}}")),
            &["BRW-ALW-001"],
        ),
        Case {
            absent: &["BRW-FL-001"],
            ..case(
                "blocklist-star-reg",
                reg(&format!(
                    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist]\n\"1\"=\"{VALUE}\"\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallBlocklist]\n\"1\"=\"*\""
                )),
                &["BRW-BLK-001", "BRW-FL-002"],
            )
        },
        case(
            "blocklist-id-json",
            json(&format!(
                "{{\"ExtensionInstallForcelist\": [\"{VALUE}\"], \"ExtensionInstallBlacklist\": [\"{ID}\"]}}"
            )),
            &["BRW-BLK-001"],
        ),
        case(
            "extension-settings-blocked-json",
            json(&format!(
                "{{\"ExtensionInstallForcelist\": [\"{VALUE}\"], \"ExtensionSettings\": {{\"{ID}\": {{\"installation_mode\": \"blocked\"}}}}}}"
            )),
            &["BRW-BLK-002"],
        ),
        case(
            "extension-settings-removed-reg-string",
            reg(&format!(
                "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist]\n\"1\"=\"{VALUE}\"\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome]\n\"ExtensionSettings\"=\"{{\\\"abc,{ID}\\\": {{\\\"installation_mode\\\": \\\"removed\\\"}}}}\""
            )),
            &["BRW-BLK-002"],
        ),
        Case {
            browser: Some(Browser::Edge),
            ..case("chrome-key-for-edge", chrome_reg(VALUE), &["BRW-BRW-001"])
        },
        Case {
            browser: Some(Browser::Chrome),
            path: Some("/etc/opt/edge/policies/managed/owa.json"),
            ..case(
                "edge-folder-for-chrome",
                forcelist_json(VALUE),
                &["BRW-BRW-001"],
            )
        },
        Case {
            browser: Some(Browser::Edge),
            ..case(
                "chrome-domain-for-edge",
                profile(
                    SYSTEM,
                    &chrome_payload(
                        "com.google.Chrome",
                        &format!(
                            "<key>ExtensionInstallForcelist</key><array><string>{VALUE}</string></array>"
                        ),
                    ),
                ),
                &["BRW-BRW-001"],
            )
        },
        Case {
            absent: &["BRW-FL-001", "BRW-FL-002"],
            ..case(
                "legacy-edge-key",
                reg(&format!(
                    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\MicrosoftEdge\\ExtensionInstallForcelist]\n\"1\"=\"{VALUE}\""
                )),
                &["BRW-LOC-001"],
            )
        },
        Case {
            path: Some("/etc/opt/google/chrome/policies/managed/owa.json"),
            ..case(
                "wrong-linux-folder",
                forcelist_json(VALUE),
                &["BRW-LOC-001"],
            )
        },
        case(
            "lower-case-domain",
            profile(
                SYSTEM,
                &chrome_payload(
                    "com.google.chrome",
                    &format!(
                        "<key>ExtensionInstallForcelist</key><array><string>{VALUE}</string></array>"
                    ),
                ),
            ),
            &["BRW-LOC-001"],
        ),
        case(
            "string-not-list-json",
            json(&format!("{{\"ExtensionInstallForcelist\": \"{VALUE}\"}}")),
            &["BRW-TYPE-001"],
        ),
        case(
            "string-not-array-profile",
            profile(
                SYSTEM,
                &chrome_payload(
                    "com.google.Chrome",
                    &format!("<key>ExtensionInstallForcelist</key><string>{VALUE}</string>"),
                ),
            ),
            &["BRW-TYPE-001"],
        ),
        case(
            "number-entry-json",
            json("{\"ExtensionInstallForcelist\": [42]}"),
            &["BRW-TYPE-001"],
        ),
        case(
            "named-entry-reg",
            reg(&format!(
                "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist]\n\"owa\"=\"{VALUE}\""
            )),
            &["BRW-REG-001"],
        ),
        case(
            "abbreviated-hive",
            reg(&format!(
                "[HKLM\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist]\n\"1\"=\"{VALUE}\""
            )),
            &["BRW-REG-002"],
        ),
        case(
            "multi-sz-reg",
            reg(
                "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist]\n\"1\"=hex(7):61,00,00,00,00,00",
            ),
            &["BRW-REG-003"],
        ),
        Case {
            path: Some("GPO/Machine/Registry.pol"),
            ..case(
                "dword-pol",
                encode(&[Instruction {
                    key: CHROME_LIST.into(),
                    value: "1".into(),
                    kind: REG_DWORD,
                    data: vec![1, 0, 0, 0],
                }]),
                &["BRW-TYPE-001"],
            )
        },
        Case {
            path: Some("GPO/Machine/Registry.pol"),
            ..case(
                "multi-sz-pol",
                encode(&[Instruction {
                    key: CHROME_LIST.into(),
                    value: "1".into(),
                    kind: REG_MULTI_SZ,
                    data: utf16z(VALUE),
                }]),
                &["BRW-REG-003"],
            )
        },
        Case {
            path: Some("GPO/Machine/Registry.pol"),
            ..case(
                "deleted-later-pol",
                encode(&[
                    pol_sz(CHROME_LIST, "1", VALUE),
                    pol_sz(CHROME_LIST, "**delvals.", " "),
                ]),
                &["BRW-FL-001"],
            )
        },
        case(
            "deleted-later-reg",
            reg(&format!(
                "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist]\n\"1\"=\"{VALUE}\"\n\n[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome]"
            )),
            &["BRW-FL-001"],
        ),
        case(
            "other-extension-only",
            forcelist_json(
                "cjpalhdlnbpafiamejdnhcphjbkeiagm;https://clients2.google.com/service/update2/crx",
            ),
            &["BRW-FL-001"],
        ),
        case("empty-object", json("{}"), &["BRW-FL-001", "BRW-GEN-001"]),
        Case {
            path: Some("/etc/opt/chrome/policies/managed/owa.json"),
            absent: &["BRW-SCOPE-002"],
            ..case(
                "good-json",
                forcelist_json(VALUE),
                &["BRW-FL-002", "BRW-GEN-001"],
            )
        },
    ]
}

#[test]
fn each_crafted_mistake_raises_its_finding() {
    let mut failures = Vec::new();
    for c in cases() {
        let report = match check_artifact(
            &c.bytes,
            &CheckOptions {
                path: c.path,
                browser: c.browser,
            },
        ) {
            Ok(report) => report,
            Err(e) => {
                failures.push(format!("{}: unreadable: {e}", c.name));
                continue;
            }
        };
        let ids: BTreeSet<&str> = report.findings.iter().map(|f| f.id).collect();
        for id in c.expect {
            if !ids.contains(id) {
                failures.push(format!("{}: no {id} in {ids:?}", c.name));
            }
        }
        for id in c.absent {
            if ids.contains(id) {
                failures.push(format!(
                    "{}: unexpected {id} in {:?}",
                    c.name, report.findings
                ));
            }
        }
        // Every finding is a catalogue row, severity and remedy included, and names something.
        for f in &report.findings {
            let row = lookup(f.id).unwrap_or_else(|| panic!("{} not in the catalogue", f.id));
            assert_eq!((row.severity, row.remedy), (f.severity, f.remedy));
            assert!(!f.message.is_empty() && !f.subject.is_empty(), "{f:?}");
        }
        // Exit status contract: a file with an error-severity finding fails.
        let error_expected = c
            .expect
            .iter()
            .any(|id| lookup(id).is_some_and(|r| r.severity == Severity::Error));
        if error_expected && !report.has_errors() {
            failures.push(format!("{}: expected an error", c.name));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_brw_row_is_raised_by_some_crafted_file() {
    let mut fired = BTreeSet::new();
    for c in cases() {
        let options = CheckOptions {
            path: c.path,
            browser: c.browser,
        };
        if let Ok(report) = check_artifact(&c.bytes, &options) {
            fired.extend(report.findings.iter().map(|f| f.id));
        }
    }
    let never: Vec<&str> = CATALOGUE
        .iter()
        .map(|c| c.id)
        .filter(|id| id.starts_with("BRW-") && !fired.contains(id))
        .collect();
    assert!(
        never.is_empty(),
        "BRW rows no crafted file raises: {never:?}"
    );
}

#[test]
fn unreadable_files_are_errors_that_say_where() {
    assert_eq!(check(b""), Err(Error::Empty));
    assert!(matches!(check(b"hello"), Err(Error::UnknownFormat { .. })));
    assert!(matches!(
        check(&[0x00, 0x01, 0xff, 0xfe, 0x80]),
        Err(Error::UnknownFormat { .. })
    ));
    assert_eq!(check(&[0x30, 0x82, 0x01, 0x00]), Err(Error::SignedProfile));
    assert!(matches!(
        check(b"{\"a\": [1,}"),
        Err(Error::Json { line: 1, .. })
    ));
    assert!(matches!(
        check(b"PReg\x01\0\0\0[\0"),
        Err(Error::Pol { .. })
    ));
    assert!(matches!(
        check(&reg("[HKEY_LOCAL_MACHINE\\X]\n\"1\"=dword:zz")),
        Err(Error::Reg { line: 4, .. })
    ));
    assert!(matches!(
        check(&reg("\"1\"=\"x\"")),
        Err(Error::Reg { line: 3, .. })
    ));
    assert!(matches!(
        check(&reg("[HKEY_NOWHERE\\X]")),
        Err(Error::Reg { .. })
    ));
    assert!(matches!(
        check(b"<?xml version=\"1.0\"?><plist version=\"1.0\"><dict/></plist>"),
        Err(Error::Plist { .. })
    ));
    assert!(matches!(
        check(&[0xFF, 0xFE, 0x00, 0xD8]),
        Err(Error::Encoding { .. })
    ));
    // The messages say what was expected.
    let message = check(b"hello").unwrap_err().to_string();
    assert!(
        message.contains("Windows Registry Editor Version 5.00"),
        "{message}"
    );
}

#[test]
fn utf8_reg_files_are_read_too() {
    let text = format!(
        "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist]\r\n\"1\"=\"{VALUE}\"\r\n"
    );
    let ids: Vec<&str> = check(text.as_bytes())
        .unwrap()
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(ids, ["BRW-FL-002", "BRW-GEN-001"]);
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic fuzz: mutate each generated artifact byte by byte.
    for browser in Browser::ALL {
        for format in browser_policy::Format::ALL {
            let good = browser_policy::generate(browser, format, "fuzz").bytes;
            for i in 0..good.len() {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut bad = good.clone();
                    bad[i] ^= flip;
                    let _ = check(&bad);
                }
                let _ = check(&good[..i]);
            }
        }
    }
}

/// A key of 100,000 values (each set twice, half deleted, in mixed case) is read whole, last
/// write winning, in both registry formats. The reader is linear in the values (each is found by
/// a hashed name); this test proves the outcome, the benchmarks time it.
#[test]
fn a_forcelist_of_100k_values_is_read_whole_last_write_winning() {
    const N: usize = 100_000;
    let key = r"SOFTWARE\Policies\Google\Chrome\ExtensionInstallForcelist";
    let mut body = format!("[HKEY_LOCAL_MACHINE\\{key}]\n");
    let mut instructions = Vec::new();
    for n in 1..=N {
        body.push_str(&format!("\"{n}\"=\"first-{n}\"\n"));
        instructions.push(pol_sz(key, &n.to_string(), &format!("first-{n}")));
    }
    // Second writes go through an upper-cased key path: the same key, names case-insensitive.
    body.push_str(&format!("[HKEY_LOCAL_MACHINE\\{}]\n", key.to_uppercase()));
    for n in 1..=N {
        if n % 2 == 0 {
            body.push_str(&format!("\"{n}\"=-\n"));
        } else {
            body.push_str(&format!("\"{n}\"=\"{VALUE}\"\n"));
        }
    }
    for n in (1..=N).step_by(2) {
        instructions.push(pol_sz(key, &n.to_string(), VALUE));
    }
    for bytes in [reg(&body), encode(&instructions)] {
        let report = check_artifact(&bytes, &CheckOptions::default()).unwrap();
        let forcelist: Vec<_> = report
            .settings
            .iter()
            .filter(|s| s.policy == "ExtensionInstallForcelist")
            .collect();
        assert_eq!(forcelist.len(), 1, "{:?}", report.format);
        let entries = forcelist[0].value.as_array().unwrap();
        let expected_len = if report.format == browser_policy::Format::Reg {
            N / 2
        } else {
            // The .pol half deletes nothing: every value is still there, the odd ones rewritten.
            N
        };
        assert_eq!(entries.len(), expected_len, "{:?}", report.format);
        assert_eq!(entries[0], VALUE);
        if report.format == browser_policy::Format::Reg {
            assert!(entries.iter().all(|e| e == VALUE));
        } else {
            assert_eq!(entries[1], "first-2");
        }
    }
}
