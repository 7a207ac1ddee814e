//! The bad-input corpus (`tests/bad_input/`: `files/` and `cases.tsv`, written by
//! `generate.py` from the lab fixtures): every case runs the real binary and must end with the
//! exit code the CLI's contract gives and a message holding the expected words, and, whatever the
//! input, no panic, no hang (a per-case time limit), no library type's name in the message and no
//! byte of a fixture private key. Also: `/dev/zero` and an endless fifo are refused at the size
//! cap with a message naming them.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_smime-lab");

/// Generous for a debug build on a loaded 2-core machine; a hang is minutes, not seconds.
const CASE_LIMIT: Duration = Duration::from_secs(60);

/// Patterns that only a library's own `Debug`/`Display` output produces: a message showing one
/// speaks about our code instead of the user's input.
const DENYLIST: &[&str] = &[
    "Error {",
    "Kind(",
    "kind:",
    "DuplicateKeyPolicy",
    "BadDer",
    "TrailingData",
    "UnclosedXmlElement",
    "{ ",
    "Some(",
    "None)",
    "Utf8Error",
    "ParseIntError",
    "Os {",
    "thread '",
    "RUST_BACKTRACE",
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pki/default")
}

struct Case {
    id: String,
    args: String,
    exit: i32,
    expect: String,
}

fn cases() -> Vec<Case> {
    let table = std::fs::read_to_string(corpus().join("cases.tsv")).unwrap();
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 4, "cases.tsv: {line}");
            Case {
                id: fields[0].to_owned(),
                args: fields[1].to_owned(),
                exit: fields[2].parse().unwrap(),
                expect: fields[3].to_owned(),
            }
        })
        .collect()
}

/// Hex (both cases) and base64 runs of every fixture private key: any 12 hex digits (6 bytes) or
/// 16 base64 characters of a key's encoding in the output would be key bytes echoed.
fn key_fragments() -> Vec<String> {
    let mut fragments = Vec::new();
    let mut keys: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".key.pem"))
        .collect();
    // The P-256 key the corpus turns into a SEC1 DER file (policy-ec-key-der).
    keys.push(fixtures().join("../../envelope/p256-recipient.key"));
    for path in keys {
        let pem = std::fs::read_to_string(&path).unwrap();
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        // Past the PKCS#8 header (version, algorithm): the rest is the key.
        let body = &body[40..];
        for start in (0..body.len().saturating_sub(16)).step_by(4) {
            fragments.push(body[start..start + 16].to_owned());
        }
        let der = decode_base64(&body_of(&pem));
        for window in der[32..].windows(6) {
            let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
            fragments.push(hex.to_uppercase());
            fragments.push(hex);
        }
    }
    fragments
}

fn body_of(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

struct Outcome {
    code: Option<i32>,
    output: String,
    timed_out: bool,
}

/// Runs the binary with a time limit; stdout and stderr are drained by threads so a chatty case
/// cannot block on a full pipe.
fn run_limited(args: &[String], limit: Duration) -> Outcome {
    let mut child = Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut output = String::from_utf8_lossy(&out.join().unwrap()).into_owned();
    output.push_str(&String::from_utf8_lossy(&err.join().unwrap()));
    Outcome {
        code: status.and_then(|s| s.code()),
        output,
        timed_out,
    }
}

fn expand(args: &str, input: &Path, out: &Path) -> Vec<String> {
    let files = corpus().join("files");
    args.split(' ')
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.replace("{in}", &input.to_string_lossy())
                .replace("{files}", &files.to_string_lossy())
                .replace("{fx}", &fixtures().to_string_lossy())
                .replace("{out}", &out.to_string_lossy())
        })
        .collect()
}

/// The input file of a case: the last path segment of its id names it.
fn input_of(case: &Case) -> PathBuf {
    let name = case.id.rsplit('/').next().unwrap();
    let files = corpus().join("files");
    let yaml = files.join(format!("{name}.yaml"));
    if yaml.exists() {
        yaml
    } else {
        files.join(name)
    }
}

#[test]
fn every_bad_input_gets_its_exit_code_and_a_message_in_the_users_terms() {
    let cases = cases();
    assert!(cases.len() >= 150, "the corpus has {} cases", cases.len());
    let fragments = key_fragments();
    let mut failures = Vec::new();
    for case in &cases {
        let out = tempfile::tempdir().unwrap();
        let args = expand(&case.args, &input_of(case), out.path());
        let outcome = run_limited(&args, CASE_LIMIT);
        let mut problems = Vec::new();
        if outcome.timed_out {
            problems.push(format!("still running after {CASE_LIMIT:?}"));
        }
        if outcome.code == Some(101) || outcome.output.contains("panicked") {
            problems.push("panicked".to_owned());
        }
        if !outcome.timed_out && outcome.code != Some(case.exit) {
            problems.push(format!("exit {:?}, expected {}", outcome.code, case.exit));
        }
        if !outcome.output.contains(&case.expect) {
            problems.push(format!("the output lacks {:?}", case.expect));
        }
        // miette's source excerpts (lines with │ or ·) quote the user's own file, which may hold
        // `{ `: the denylist is for the words around them.
        let ours: String = outcome
            .output
            .lines()
            .filter(|l| !l.contains('│') && !l.contains('·'))
            .collect::<Vec<_>>()
            .join("\n");
        for pattern in DENYLIST {
            if ours.contains(pattern) {
                problems.push(format!("names a library type ({pattern:?})"));
            }
        }
        if let Some(fragment) = fragments
            .iter()
            .find(|f| outcome.output.contains(f.as_str()))
        {
            problems.push(format!("echoes private key bytes ({fragment})"));
        }
        if outcome.output.len() > 20_000 {
            problems.push(format!("{} bytes of output", outcome.output.len()));
        }
        if !problems.is_empty() {
            let shown: String = outcome.output.chars().take(600).collect();
            failures.push(format!(
                "{}: smime-lab {}\n    {}\n    output: {}",
                case.id,
                case.args,
                problems.join("; "),
                shown.replace('\n', "\n            ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn dev_zero_is_refused_at_the_cap_naming_it() {
    let outcome = run_limited(
        &["--max-input-size", "1M", "sst", "read", "/dev/zero"].map(String::from),
        CASE_LIMIT,
    );
    assert_eq!(outcome.code, Some(2), "{}", outcome.output);
    assert!(
        outcome
            .output
            .contains("cannot read /dev/zero: it is larger than 1 MiB"),
        "{}",
        outcome.output
    );
    // A message from standard input has the same cap.
    let mut child = Command::new(BIN)
        .args(["--max-input-size", "64K", "verify", "--anchors"])
        .arg(fixtures().join("root.crt.pem"))
        .args(["--no-crl-fetch", "-"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("standard input: it is larger than 64 KiB"),
        "{stderr}"
    );
}

#[test]
fn an_endless_fifo_is_refused_at_the_cap_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("endless.p12");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    // `cat /dev/zero` writes until the reader goes away (then SIGPIPE ends it).
    let mut writer = Command::new("sh")
        .arg("-c")
        .arg(format!("cat /dev/zero > '{}'", fifo.display()))
        .spawn()
        .unwrap();
    let outcome = run_limited(
        &[
            "--max-input-size".to_owned(),
            "2M".to_owned(),
            "pkcs12".to_owned(),
            "inspect".to_owned(),
            fifo.to_string_lossy().into_owned(),
            "--password".to_owned(),
            "x".to_owned(),
        ],
        CASE_LIMIT,
    );
    let _ = writer.kill();
    let _ = writer.wait();
    assert_eq!(outcome.code, Some(2), "{}", outcome.output);
    assert!(
        outcome.output.contains(&format!(
            "cannot read {}: it is larger than 2 MiB",
            fifo.display()
        )),
        "{}",
        outcome.output
    );
}
