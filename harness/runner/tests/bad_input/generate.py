#!/usr/bin/env python3
"""Writes the bad-input corpus: files/ (inputs made from the lab fixtures by truncation, bit
flips and wrong formats, plus hand-written ones) and cases.tsv (one case a line). Run from the
repository root after `cargo build -p runner --bins`; deterministic, the output is committed and
run by harness/runner/tests/bad_input.rs.

cases.tsv columns (tab-separated):
  id        a name for the case
  args      the smime-lab arguments, space-separated; {in} is this case's file under files/,
            {fx} fixtures/pki/default, {files} the files/ folder, {out} a fresh temporary folder
  exit      the exit code the CLI's contract gives (harness/runner/src/cli/mod.rs): 2 input that
            could not be read or a usage error, 1 a finding (an invalid signature, an
            error-severity check, an invalid scenario)
  expect    a substring of stdout+stderr: for unreadable input, the file's name (every error
            names the file) or the problem in the user's words
"""
import base64
import os
import subprocess
import sys

ROOT = os.getcwd()
FX = os.path.join(ROOT, "fixtures/pki/default")
HERE = os.path.join(ROOT, "harness/runner/tests/bad_input")
FILES = os.path.join(HERE, "files")
BIN = os.path.join(ROOT, "target/debug/smime-lab")
NOW = "2026-06-01T00:00:00Z"  # inside the fixtures' validity (2026-01-01 .. 2026-12-31)
P12_PASSWORD = "smime-lab"

os.makedirs(FILES, exist_ok=True)
for name in os.listdir(FILES):
    os.remove(os.path.join(FILES, name))

cases = []
names = set()


def fx(name):
    with open(os.path.join(FX, name), "rb") as f:
        return f.read()


def put(name, data):
    assert name not in names, name
    names.add(name)
    with open(os.path.join(FILES, name), "wb") as f:
        f.write(data)
    return name


def case(cid, args, exit_code, expect):
    assert "\t" not in args and "\t" not in expect
    cases.append((cid, args, str(exit_code), expect))


def flip(data, offset, bit=0x01):
    b = bytearray(data)
    b[offset % len(b)] ^= bit
    return bytes(b)


def pem_body(pem):
    lines = pem.decode().strip().splitlines()
    return base64.b64decode("".join(l for l in lines if not l.startswith("-----")))


def der_to_pem(der, label):
    b64 = base64.encodebytes(der).decode().replace("\n", "")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return ("-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)).encode()


def run(*args, stdin=None):
    return subprocess.run([BIN, *args], input=stdin, capture_output=True, check=True).stdout


# ---- valid material (fixtures, and messages made with the CLI itself) ------------------------
cert_pem = fx("alice.crt.pem")
cert_der = pem_body(cert_pem)
key_pem = fx("alice.key.pem")
key_der = pem_body(key_pem)
p12 = fx("alice.p12")
crl_der = fx("issuing.crl")
if crl_der.startswith(b"-----"):
    crl_der = pem_body(crl_der)
plain = (b"From: alice@contoso.com\r\nTo: bob@contoso.com\r\nSubject: corpus\r\n"
         b"Date: Mon, 1 Jun 2026 00:00:00 +0000\r\nMessage-ID: <corpus@contoso.com>\r\n\r\nhello\r\n")
put("plain.eml", plain)
signed = run("sign", "--cert", os.path.join(FX, "alice.crt.pem"), "--key",
             os.path.join(FX, "alice.key.pem"), "--seed", "corpus", "--now", NOW,
             os.path.join(FILES, "plain.eml"))
opaque = run("sign", "--opaque", "--cert", os.path.join(FX, "alice.crt.pem"), "--key",
             os.path.join(FX, "alice.key.pem"), "--seed", "corpus", "--now", NOW,
             os.path.join(FILES, "plain.eml"))
encrypted = run("encrypt", "--to", os.path.join(FX, "bob-encrypt.crt.pem"), "--seed", "corpus",
                os.path.join(FILES, "plain.eml"))
put("signed.eml", signed)
put("encrypted.eml", encrypted)
sst = run("sst", "write", "-o", "/dev/stdout", os.path.join(FX, "root.crt.pem"),
          os.path.join(FX, "issuing.crt.pem"))
policies = {}
for fmt, ext in [("reg", "reg"), ("pol", "pol"), ("mobileconfig", "mobileconfig"),
                 ("linux-json", "json")]:
    policies[ext] = run("browser-policy", "generate", "--browser", "edge", "--format", fmt,
                        "-o", "/dev/stdout")
scenario = open(os.path.join(ROOT, "scenarios/rsa-happy-path.yaml"), "rb").read()
pki_yaml = open(os.path.join(ROOT, "fixtures/pki/default.yaml"), "rb").read()

# ---- wrong-format and damaged variants shared by every input kind -----------------------------
def damaged(stem, good, pem_label=None):
    """(name, bytes) of a kind's damaged forms: empty, truncations, structural bit flips,
    binary and text garbage, other kinds in its place."""
    out = [
        (stem + "-empty", b""),
        (stem + "-whitespace", b" \r\n\t\n"),
        (stem + "-one-byte", good[:1]),
        (stem + "-half", good[: len(good) // 2]),
        (stem + "-minus-one", good[:-1]),
        (stem + "-tag-flipped", flip(good, 0, 0x80)),
        (stem + "-length-flipped", flip(good, 1, 0x40)),
        (stem + "-zeros", b"\0" * 64),
        (stem + "-random", bytes((i * 73 + 41) % 256 for i in range(300))),
        (stem + "-text", b"this is not the file you are looking for\n"),
    ]
    if pem_label:
        pem = der_to_pem(good, pem_label)
        out += [
            (stem + "-pem-no-end", pem.rsplit(b"-----END", 1)[0]),
            (stem + "-pem-bad-base64", pem.replace(pem.splitlines()[2], b"!!!!" + pem.splitlines()[2][4:], 1)),
            (stem + "-pem-truncated-body", b"\n".join(pem.splitlines()[:3]) + b"\n-----END " + pem_label.encode() + b"-----\n"),
        ]
    return out


other_kinds = {
    "key-pem": key_pem,
    "key-der": key_der,
    "p12": p12,
    "eml": plain,
    "yaml": pki_yaml,
    "reg": policies["reg"],
}

# ---- certificates -----------------------------------------------------------------------------
cert_inputs = damaged("cert", cert_der, "CERTIFICATE") + [
    ("cert-as-" + k, v) for k, v in other_kinds.items() if k != "p12"
]
for name, data in cert_inputs:
    put(name, data)
    case("cert-check/" + name, "cert check {in}", 2, name)
    case("sst-read/" + name, "sst read {in}", 2, name)
    case("sst-write/" + name, "sst write -o {out}/x.sst {in}", 2, name)
    case("encrypt-to/" + name, "encrypt --to {in} {files}/plain.eml", 2, name)
    case("verify-anchors/" + name,
         "verify --anchors {in} --no-crl-fetch --now " + NOW + " {files}/signed.eml", 2, name)

# ---- private keys (their bytes must never be echoed) ------------------------------------------
key_inputs = damaged("key", key_der, "PRIVATE KEY") + [
    ("key-as-cert", cert_pem),
    ("key-as-p12", p12),
    ("key-wrong-label", key_pem.replace(b"PRIVATE KEY", b"PUBLIC KEY")),
    ("key-other-user", fx("carol.key.pem")),
]
encrypted_key = subprocess.run(
    ["openssl", "pkcs8", "-topk8", "-v2", "aes256", "-passout", "pass:secret", "-in",
     os.path.join(FX, "alice.key.pem")], capture_output=True, check=True).stdout
key_inputs.append(("key-encrypted-pkcs8", encrypted_key))
for name, data in key_inputs:
    put(name, data)
    if name == "key-other-user":
        # A readable key that belongs to another certificate: the CLI's error, not a crash.
        expect = "key-other-user"
    else:
        expect = name
    case("sign-key/" + name, "sign --cert {fx}/alice.crt.pem --key {in} {files}/plain.eml", 2, expect)
    case("pkcs12-create-key/" + name,
         "pkcs12 create --cert {fx}/alice.crt.pem --key {in} --password pw -o {out}/a.p12", 2, expect)
    case("decrypt-key/" + name,
         "decrypt --cert {fx}/bob-encrypt.crt.pem --key {in} {files}/encrypted.eml", 2, expect)

# ---- PKCS#12 ----------------------------------------------------------------------------------
p12_inputs = damaged("p12", p12) + [
    ("p12-as-cert", cert_pem),
    ("p12-as-key", key_pem),
    ("p12-mac-flipped", flip(p12, len(p12) - 30)),
]
for name, data in p12_inputs:
    put(name, data)
    case("pkcs12-inspect/" + name, "pkcs12 inspect {in} --password " + P12_PASSWORD, 2, name)
    case("decrypt-p12/" + name,
         "decrypt --p12 {in} --password " + P12_PASSWORD + " {files}/encrypted.eml", 2, name)
case("pkcs12-inspect/wrong-password", "pkcs12 inspect {fx}/alice.p12 --password wrong", 2,
     "password is wrong")
put("password-empty-file", b"")
case("pkcs12-inspect/password-file-empty",
     "pkcs12 inspect {fx}/alice.p12 --password-file {files}/password-empty-file", 2, "alice.p12")
case("pkcs12-inspect/password-file-missing",
     "pkcs12 inspect {fx}/alice.p12 --password-file {files}/no-such-file", 2, "no-such-file")

# ---- serialized stores ------------------------------------------------------------------------
sst_inputs = [
    ("sst-bad-magic", b"\0\0\0\0XERT" + sst[8:]),
    ("sst-header-only", sst[:8]),
    ("sst-truncated", sst[: len(sst) - 7]),
    ("sst-length-huge", sst[:8] + sst[8:12] + b"\x01\0\0\0" + b"\xff\xff\xff\x7f" + sst[16:]),
    ("sst-half", sst[: len(sst) // 2]),
]
for name, data in sst_inputs:
    put(name, data)
    case("sst-read/" + name, "sst read {in}", 2, name)
    case("verify-anchors/" + name,
         "verify --anchors {in} --no-crl-fetch --now " + NOW + " {files}/signed.eml", 2, name)
    case("cert-check-chain/" + name, "cert check {fx}/alice.crt.pem --chain {in}", 2, name)

# ---- CRLs -------------------------------------------------------------------------------------
crl_inputs = damaged("crl", crl_der, "X509 CRL") + [
    ("crl-as-cert", cert_pem),
    ("crl-wrong-label", der_to_pem(crl_der, "X509 CERTIFICATE")),
]
for name, data in crl_inputs:
    put(name, data)
    case("verify-crl/" + name,
         "verify --anchors {fx}/root.crt.pem --crl {in} --no-crl-fetch --now " + NOW + " {files}/signed.eml",
         2, name)

# A well-formed CRL whose issuer name has one flipped byte applies to no certificate: alice's
# revocation status is then unknown, never `valid` (cms::crl::uncovered). Both CAs are anchors, as
# in Exchange's SST, so alice's CRL is the only one the path needs.
at = crl_der.index(b"Contoso Issuing CA")
put("crl-issuer-flipped", flip(crl_der, at + len(b"Contoso "), 0x02))
case("verify-crl/crl-issuer-flipped",
     "verify --anchors {fx}/root.crt.pem --anchors {fx}/issuing.crt.pem --crl {in} --no-crl-fetch --now "
     + NOW + " {files}/signed.eml", 1, "applies to no certificate on the path")

# ---- messages: readable but not a valid signature is a finding (1); not decryptable is 2 ------
msg_inputs = [
    ("msg-empty", b""),
    ("msg-headers-only", plain.split(b"\r\n\r\n")[0] + b"\r\n"),
    ("msg-signed-truncated", signed[: len(signed) * 2 // 3]),
    ("msg-signed-no-boundary", signed.replace(b"boundary=", b"boundery=", 1)),
    ("msg-signed-body-changed", signed.replace(b"hello", b"HELLO", 1)),
    ("msg-opaque-truncated", opaque[: len(opaque) - 200]),
    ("msg-opaque-base64-broken", opaque[:-300] + b"!!!!" + opaque[-296:]),
    ("msg-binary", bytes((i * 31 + 7) % 256 for i in range(500))),
    ("msg-encrypted-truncated", encrypted[: len(encrypted) - 150]),
    ("msg-nested-multipart", b"From: a@contoso.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
     + b"--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" * 200),
    ("msg-long-header", b"From: alice@contoso.com\r\nSubject: " + b"x" * 100000 + b"\r\n\r\nbody\r\n"),
]
for name, data in msg_inputs:
    put(name, data)
    case("verify-msg/" + name,
         "verify --anchors {fx}/root.crt.pem --no-crl-fetch --now " + NOW + " {in}", 1, "status: ")
    case("decrypt-msg/" + name,
         "decrypt --cert {fx}/bob-encrypt.crt.pem --key {fx}/bob-encrypt.key.pem {in}", 2, name)
case("decrypt-msg/not-for-this-key",
     "decrypt --cert {fx}/alice.crt.pem --key {fx}/alice.key.pem {files}/encrypted.eml", 2,
     "encrypted.eml")

# ---- browser policies -------------------------------------------------------------------------
policy_inputs = [
    ("policy-empty", b""),
    ("policy-binary", bytes((i * 97 + 13) % 256 for i in range(200))),
    ("policy-ec-key-der", subprocess.run(
        ["openssl", "ec", "-outform", "DER", "-in", os.path.join(FX, "..", "..", "envelope", "p256-recipient.key")],
        capture_output=True).stdout or key_der),
    ("policy-pkcs8-key-der", key_der),
    ("policy-pem-key", key_pem),
    ("policy-reg-half-utf16", policies["reg"][:-1]),
    ("policy-reg-bad-bom", b"\xff\xfe" + b"\x00\xd8" * 4),
    ("policy-reg-no-header", "[HKEY_LOCAL_MACHINE\\SOFTWARE]\r\n".encode("utf-16")),
    ("policy-reg-unclosed-key", "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\r\n".encode("utf-16")),
    ("policy-reg-value-first", "Windows Registry Editor Version 5.00\r\n\r\n\"1\"=\"x\"\r\n".encode("utf-16")),
    ("policy-reg-bad-dword", "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Edge]\r\n\"A\"=dword:xyz\r\n".encode("utf-16")),
    ("policy-pol-truncated", policies["pol"][:-3]),
    ("policy-pol-header-only", policies["pol"][:8]),
    ("policy-pol-bad-version", policies["pol"][:4] + b"\x09\0\0\0" + policies["pol"][8:]),
    ("policy-plist-unclosed", b'<?xml version="1.0"?>\n<plist version="1.0"><dict><key>a</key>'),
    ("policy-plist-binary-truncated", b"bplist00\x01\x02"),
    ("policy-mobileconfig-half", policies["mobileconfig"][: len(policies["mobileconfig"]) // 2]),
    ("policy-json-syntax", b'{"ExtensionInstallForcelist": ["a",}'),
    ("policy-json-half", policies["json"][: len(policies["json"]) // 2]),
    ("policy-json-deep", b'{"a":' * 20000 + b"1" + b"}" * 20000),
    ("policy-signed-profile", b"\x30\x82\x01\x00" + b"\0" * 256),
]
for name, data in policy_inputs:
    put(name, data)
    case("policy-check/" + name, "browser-policy check {in}", 2, name)

# ---- YAML: scenarios (an invalid scenario is exit 1) and PKI descriptions (exit 2) -----------
yaml_inputs = [
    ("yaml-empty", b""),
    ("yaml-binary", bytes((i * 59 + 3) % 256 for i in range(300))),
    ("yaml-tabs", scenario.replace(b"\n  ", b"\n\t", 3)),
    ("yaml-duplicate-key", scenario.replace(b"\nsummary:", b"\nsummary: a\nsummary:", 1)),
    ("yaml-unterminated-quote", scenario + b'\nextra: "never closed\n'),
    ("yaml-half", scenario[: len(scenario) // 2]),
    ("yaml-huge-number", scenario.replace(b"valid: 10y", b"valid: 99999999999999999999999y", 1)),
    ("yaml-long-value", scenario.replace(b"valid: 10y", b"valid: " + b"9" * 200000 + b"y", 1)),
    ("yaml-deep-nesting", b"name: x\nsummary: " + b"[" * 20000 + b"]" * 20000 + b"\n"),
    ("yaml-alias-bomb", b'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
     + b"".join(b"%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n" % ((bytes([c]),) * 2 + (bytes([c - 1]),) * 9)
                for c in range(ord("b"), ord("k")))),
    ("yaml-a-list", b"- 1\n- 2\n"),
    ("yaml-not-utf8", b"name: \xff\xfe\n"),
]
# `scenario run`'s contract (harness/ARCHITECTURE.md): "1 failed/error or an invalid file, 2 usage
# or unreadable"; a file that is not UTF-8 text cannot be read as YAML at all.
unreadable_yaml = {"yaml-binary", "yaml-not-utf8"}
for name, data in yaml_inputs:
    fname = put(name + ".yaml", data)
    code = 2 if name in unreadable_yaml else 1
    case("scenario-check/" + name, "scenario check {in}", code, fname)
    case("scenario-plan/" + name, "scenario plan {in}", code, fname)
    case("pki-build/" + name, "pki build {in} --out {out}/pki", 2, fname)

# ---- usage and missing files ------------------------------------------------------------------
for cid, args, expect in [
    ("usage/no-command", "", "Usage"),
    ("usage/unknown-command", "frobnicate", "frobnicate"),
    ("usage/missing-file", "sst read {files}/does-not-exist.sst", "does-not-exist.sst"),
    ("usage/folder-as-file", "sst read {files}", "folder"),
    ("usage/bad-size", "--max-input-size 12Q sst read {fx}/root.crt.pem", "size unit"),
    ("usage/zero-size", "--max-input-size 0 sst read {fx}/root.crt.pem", "at least 1 byte"),
    ("usage/size-cap", "--max-input-size 100 sst read {fx}/root.crt.pem", "larger than 100 bytes"),
    ("usage/verify-no-anchors", "verify {files}/signed.eml", "--anchors"),
    ("usage/bad-now", "verify --anchors {fx}/root.crt.pem --now yesterday {files}/signed.eml", "yesterday"),
]:
    case(cid, args, 2, expect)

with open(os.path.join(HERE, "cases.tsv"), "w") as f:
    f.write("# Generated by generate.py (see its header for the columns). id\targs\texit\texpect\n")
    for row in cases:
        f.write("\t".join(row) + "\n")
print(f"{len(cases)} cases, {len(names)} files", file=sys.stderr)
