//! What `generate` writes: byte-for-byte against reviewed golden files, read back by our own
//! readers, and read by peers nobody here wrote: samba's PReg parser (python3-samba, NDR code in
//! C), Python's `plistlib` and `uuid` (for the profile and its PayloadUUIDs), Python's UTF-16
//! codec (for the .reg encoding).
//!
//! Rewrite the golden files after a reviewed change with `SMIME_LAB_BLESS=1 cargo test -p
//! browser-policy --test generated`.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use browser_policy::{
    Browser, CheckOptions, Format, OWA_SMIME_EXTENSION_FORCELIST_VALUE, check_artifact, generate,
};
use serde_json::{Value, json};
use test_support::run_any_with_stdin;

const SEED: &str = "golden";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Reg => "reg",
        Format::Pol => "pol",
        Format::Mobileconfig => "mobileconfig",
        Format::LinuxJson => "json",
    }
}

#[test]
fn every_artifact_matches_its_golden_file() {
    let bless = std::env::var_os("SMIME_LAB_BLESS").is_some();
    let mut differ = Vec::new();
    for browser in Browser::ALL {
        for format in Format::ALL {
            let artifact = generate(browser, format, SEED);
            let path = golden_dir().join(format!("{}.{}", browser.slug(), extension(format)));
            if bless {
                std::fs::create_dir_all(golden_dir()).unwrap();
                std::fs::write(&path, &artifact.bytes).unwrap();
                continue;
            }
            let golden = std::fs::read(&path).unwrap_or_else(|e| {
                panic!("{}: {e} (create it with SMIME_LAB_BLESS=1)", path.display())
            });
            if golden != artifact.bytes {
                differ.push(path.display().to_string());
            }
        }
    }
    assert!(differ.is_empty(), "output changed: {differ:?}");
}

#[test]
fn output_depends_on_the_seed_only_where_it_should() {
    for browser in Browser::ALL {
        for format in Format::ALL {
            let (a, b) = (
                generate(browser, format, "a"),
                generate(browser, format, "b"),
            );
            assert_eq!(a, generate(browser, format, "a"), "deterministic");
            assert_eq!(
                a.bytes == b.bytes,
                format != Format::Mobileconfig,
                "{browser} {format}: only the profile's PayloadUUIDs use the seed"
            );
        }
    }
}

#[test]
fn every_artifact_checks_clean_where_it_belongs() {
    for browser in Browser::ALL {
        for format in Format::ALL {
            let artifact = generate(browser, format, SEED);
            let report = check_artifact(
                &artifact.bytes,
                &CheckOptions {
                    path: Some(&artifact.path_hint),
                    browser: Some(browser),
                },
            )
            .unwrap_or_else(|e| panic!("{browser} {format}: {e}"));
            assert_eq!(report.format, format);
            let ids: Vec<&str> = report.findings.iter().map(|f| f.id).collect();
            assert_eq!(
                ids,
                ["BRW-FL-002", "BRW-GEN-001"],
                "{browser} {format}: {:?}",
                report.findings
            );
            assert_eq!(report.settings.len(), 1);
            let setting = &report.settings[0];
            assert_eq!(setting.browser, Some(browser));
            assert_eq!(setting.scope, browser_policy::Scope::Machine);
            assert_eq!(setting.level, browser_policy::Level::Mandatory);
            assert_eq!(setting.value, json!([OWA_SMIME_EXTENSION_FORCELIST_VALUE]));
        }
    }
}

/// An entry given to `generate_entry` is written exactly, in every format (escaped as each needs),
/// and the checker finds what is wrong with it: the rehearsal of an admin's typo.
#[test]
fn a_given_entry_is_written_exactly_and_its_mistake_found() {
    let typo = "maafgiompdekodanheihhgilkjchcakm;http://outlook.office.com/owa/SmimeCrxUpdate.ashx";
    // Characters each format must escape (quote, backslash, XML markup) survive the round trip.
    let odd = r#"maafgiompdekodanheihhgilkjchcakm;https://outlook.office.com/owa/"a\b"<&>"#;
    for browser in [Browser::Edge, Browser::Chrome] {
        for format in Format::ALL {
            for entry in [typo, odd] {
                let artifact = browser_policy::generate_entry(browser, format, SEED, entry);
                let report = check_artifact(
                    &artifact.bytes,
                    &CheckOptions {
                        path: Some(&artifact.path_hint),
                        browser: Some(browser),
                    },
                )
                .unwrap_or_else(|e| panic!("{browser} {format}: {e}"));
                assert_eq!(report.settings.len(), 1, "{browser} {format}");
                assert_eq!(
                    report.settings[0].value,
                    json!([entry]),
                    "{browser} {format}"
                );
                let ids: Vec<&str> = report.findings.iter().map(|f| f.id).collect();
                assert!(
                    ids.contains(&"BRW-URL-002"),
                    "{browser} {format} {entry}: {ids:?}"
                );
                assert!(report.has_errors());
            }
        }
    }
    // The documented entry through generate_entry is what generate writes.
    for format in Format::ALL {
        assert_eq!(
            browser_policy::generate_entry(
                Browser::Edge,
                format,
                SEED,
                OWA_SMIME_EXTENSION_FORCELIST_VALUE
            ),
            generate(Browser::Edge, format, SEED)
        );
    }
}
/// Runs `script` with `args` and `input` on standard input; its output is JSON.
fn python(interpreter: &Path, script: &str, args: &[&str], input: &[u8], install: &str) -> Value {
    assert!(
        interpreter.is_file(),
        "{}: no such interpreter; {install}",
        interpreter.display()
    );
    let out = run_any_with_stdin(
        Command::new(interpreter).args(["-c", script]).args(args),
        input,
    );
    assert!(
        out.status.success(),
        "{} failed: {}\n{install}",
        interpreter.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The Python with samba's bindings: Debian's, which a venv does not see.
fn debian_python() -> PathBuf {
    std::env::var_os("SMIME_LAB_DEBIAN_PYTHON")
        .map_or_else(|| PathBuf::from("/usr/bin/python3"), PathBuf::from)
}

/// samba's `preg` NDR parser: the one Samba's Group Policy code (samba-gpupdate) uses to read
/// SYSVOL Registry.pol files.
const SAMBA_PREG: &str = r#"
import json, sys
from samba.dcerpc import preg
from samba.ndr import ndr_unpack
f = ndr_unpack(preg.file, sys.stdin.buffer.read())
def data(e):
    d = e.data
    if isinstance(d, (bytes, list)):
        return bytes(d).decode('utf-16-le')
    return d
print(json.dumps({
    "signature": f.header.signature,
    "version": f.header.version,
    "entries": [[e.keyname, e.valuename, e.type, data(e)] for e in f.entries],
}))
"#;

#[test]
fn samba_reads_our_registry_pol() {
    for browser in [Browser::Edge, Browser::Chrome] {
        let artifact = generate(browser, Format::Pol, SEED);
        let parsed = python(
            &debian_python(),
            SAMBA_PREG,
            &[],
            &artifact.bytes,
            "install Debian's samba bindings: apt-get install -y python3-samba (or cargo xtask peers --install); SMIME_LAB_DEBIAN_PYTHON names the interpreter that has them",
        );
        let key = format!(
            "Software{}\\ExtensionInstallForcelist",
            browser.registry_key().trim_start_matches("SOFTWARE")
        );
        assert_eq!(parsed["signature"], "PReg");
        assert_eq!(parsed["version"], 1);
        // samba strips the NUL terminators of REG_SZ data.
        assert_eq!(
            parsed["entries"],
            json!([
                [key, "**delvals.", 1, " "],
                [key, "1", 1, OWA_SMIME_EXTENSION_FORCELIST_VALUE],
            ]),
            "{parsed}"
        );
    }
}

const PLISTLIB: &str = r#"
import json, plistlib, sys, uuid
p = plistlib.loads(sys.stdin.buffer.read(), fmt=plistlib.FMT_XML)
seed, slug = sys.argv[1], sys.argv[2]
def v5(role):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:smime-lab:browser-policy:{seed}:{slug}:{role}")).upper()
print(json.dumps({"profile": p, "expected_uuids": [v5("profile"), v5("payload")]}))
"#;

#[test]
fn python_plistlib_reads_our_profile_and_uuid_agrees_on_its_payload_uuids() {
    for browser in [Browser::Edge, Browser::Chrome] {
        let artifact = generate(browser, Format::Mobileconfig, SEED);
        let parsed = python(
            &test_support::python_with("plistlib"),
            PLISTLIB,
            &[SEED, browser.slug()],
            &artifact.bytes,
            "plistlib refused the profile",
        );
        let profile = &parsed["profile"];
        assert_eq!(profile["PayloadType"], "Configuration");
        assert_eq!(profile["PayloadScope"], "System");
        assert_eq!(profile["PayloadVersion"], 1);
        let payload = &profile["PayloadContent"][0];
        assert_eq!(payload["PayloadType"], browser.macos_domain());
        assert_eq!(
            payload["ExtensionInstallForcelist"],
            json!([OWA_SMIME_EXTENSION_FORCELIST_VALUE])
        );
        assert_eq!(
            json!([profile["PayloadUUID"], payload["PayloadUUID"]]),
            parsed["expected_uuids"]
        );
    }
}

const REG_TEXT: &str = r#"
import json, sys
raw = sys.stdin.buffer.read()
assert raw[:2] == b"\xff\xfe", "no UTF-16LE byte-order mark"
text = raw.decode("utf-16")
print(json.dumps({"crlf_only": "\n" not in text.replace("\r\n", ""), "lines": text.split("\r\n")}))
"#;

#[test]
fn python_decodes_our_reg_file_as_regedit_writes_it() {
    let artifact = generate(Browser::Chrome, Format::Reg, SEED);
    let parsed = python(
        &test_support::python_with("json"),
        REG_TEXT,
        &[],
        &artifact.bytes,
        "install python3",
    );
    assert_eq!(parsed["crlf_only"], true);
    assert_eq!(
        parsed["lines"],
        json!([
            "Windows Registry Editor Version 5.00",
            "",
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist]",
            format!("\"1\"=\"{OWA_SMIME_EXTENSION_FORCELIST_VALUE}\""),
            "",
            "",
        ])
    );
}

#[test]
fn our_readers_read_back_what_we_write() {
    for browser in Browser::ALL {
        let reg = browser_policy::reg::read(&generate(browser, Format::Reg, SEED).bytes).unwrap();
        let pol = browser_policy::pol::read(
            &generate(browser, Format::Pol, SEED).bytes,
            Some("x/Machine/Registry.pol"),
        )
        .unwrap();
        let plist = browser_policy::mobileconfig::read(
            &generate(browser, Format::Mobileconfig, SEED).bytes,
        )
        .unwrap();
        for parsed in [reg, pol, plist] {
            assert!(parsed.findings.is_empty(), "{:?}", parsed.findings);
            assert_eq!(parsed.settings.len(), 1);
            assert_eq!(parsed.settings[0].policy, "ExtensionInstallForcelist");
            assert_eq!(parsed.settings[0].browser, Some(browser));
        }
        let instructions =
            browser_policy::pol::decode(&generate(browser, Format::Pol, SEED).bytes).unwrap();
        assert_eq!(
            instructions,
            browser_policy::pol::instructions(browser, OWA_SMIME_EXTENSION_FORCELIST_VALUE)
        );
    }
}
