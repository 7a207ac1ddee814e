use super::*;

fn read_all(text: &[u8]) -> Result<Vec<Entry>, LdifError> {
    Reader::new(text).collect()
}

#[test]
fn ldapsearch_layout_with_version_comments_folds_and_trailer() {
    let text = b"# extended LDIF\n#\n# LDAPv3\n# base <dc=contoso,dc=com> with scope subtree\n\
version: 1\n\n# alice, contoso.com\ndn: cn=alice,dc=contoso,dc=com\nobjectClass: inetOrgPerson\n\
mail: alice@con\n toso.com\nuserCertificate;binary:: AAEC\n AwQ=\n\n\
# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 2\n";
    let entries = read_all(text).unwrap();
    assert_eq!(entries.len(), 1);
    let alice = &entries[0];
    assert_eq!(alice.dn, "cn=alice,dc=contoso,dc=com");
    assert_eq!(alice.line, 8);
    assert_eq!(alice.first_text("mail").unwrap(), "alice@contoso.com");
    let cert: Vec<_> = alice.values_of("usercertificate").collect();
    assert_eq!(cert.len(), 1);
    assert_eq!(cert[0].bytes, [0, 1, 2, 3, 4]);
    assert_eq!(cert[0].name, "userCertificate;binary");
    assert_eq!(cert[0].line, 12);
}

#[test]
fn ldifde_layout_crlf_changetype_and_base64_dn() {
    let text = b"\xEF\xBB\xBFdn:: Y249w6lsb2RpZSxkYz1jb250b3NvLGRjPWNvbQ==\r\nchangetype: add\r\n\
proxyAddresses: SMTP:elodie@contoso.com\r\nproxyAddresses: smtp:e@contoso.com\r\n\r\n\
dn: CN=Bob,OU=Users,DC=contoso,DC=com\r\nchangetype: add\r\nmail: bob@contoso.com\r\n";
    let entries = read_all(text).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].dn, "cn=élodie,dc=contoso,dc=com");
    assert_eq!(entries[0].values_of("proxyaddresses").count(), 2);
    assert_eq!(entries[1].line, 6);
    assert_eq!(entries[1].first_text("mail").unwrap(), "bob@contoso.com");
}

#[test]
fn errors_name_the_line_and_the_entry() {
    let broken = b"dn: cn=alice,dc=c\nmail: a@c\nuserCertificate:: AAE!\n";
    let e = read_all(broken).unwrap_err();
    assert_eq!(e.line(), 3);
    assert_eq!(e.dn(), Some("cn=alice,dc=c"));
    assert!(e.to_string().contains("does not decode"), "{e}");

    let no_colon = b"dn: cn=bob,dc=c\nmail bob@c\n";
    let e = read_all(no_colon).unwrap_err();
    assert_eq!((e.line(), e.dn()), (2, Some("cn=bob,dc=c")));

    let no_dn = b"mail: x@c\n";
    let e = read_all(no_dn).unwrap_err();
    assert_eq!((e.line(), e.dn()), (1, None));
    assert!(e.to_string().contains("`dn:`"), "{e}");

    let change = b"dn: cn=x,dc=c\nchangetype: modify\nreplace: mail\n";
    assert!(read_all(change).unwrap_err().to_string().contains("change"));

    let url = b"dn: cn=x,dc=c\njpegPhoto:< file:///etc/passwd\n";
    assert!(read_all(url).unwrap_err().to_string().contains("inline"));

    let utf16 = b"\xFF\xFEd\0n\0";
    assert!(read_all(utf16).unwrap_err().to_string().contains("UTF-16"));

    let stray = b" continued\n";
    assert_eq!(read_all(stray).unwrap_err().line(), 1);
}

#[test]
fn entries_before_an_error_are_returned() {
    let text = b"dn: cn=a,dc=c\nmail: a@c\n\ndn: cn=b,dc=c\nbroken\n\ndn: cn=c,dc=c\n";
    let mut reader = Reader::new(&text[..]);
    assert_eq!(reader.next().unwrap().unwrap().dn, "cn=a,dc=c");
    let e = reader.next().unwrap().unwrap_err();
    assert_eq!((e.line(), e.dn()), (5, Some("cn=b,dc=c")));
    assert!(reader.next().is_none(), "stops after the first error");
}

#[test]
fn limits_bound_lines_entries_and_values() {
    let limits = Limits {
        line: 64,
        entry: 200,
        values: 3,
    };
    let long = format!("dn: cn=a,dc=c\nmail: {}\n", "x".repeat(100));
    let e = Reader::with_limits(long.as_bytes(), limits)
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err();
    assert_eq!((e.line(), e.dn()), (2, Some("cn=a,dc=c")));
    assert!(e.to_string().contains("longer than 64 bytes"), "{e}");

    // Folding does not escape the entry's cap.
    let folded = format!(
        "dn: cn=a,dc=c\nmail: x\n{}",
        " yyyyyyyyyyyyyyyyyyyy\n".repeat(50)
    );
    let e = Reader::with_limits(folded.as_bytes(), limits)
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err();
    assert!(e.to_string().contains("more than 200 bytes"), "{e}");

    let many = "dn: cn=a,dc=c\ncn: 1\ncn: 2\ncn: 3\ncn: 4\n";
    let e = Reader::with_limits(many.as_bytes(), limits)
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err();
    assert_eq!(e.line(), 5);
}

#[test]
fn many_entries_stream_without_holding_the_file() {
    // 20,000 entries through a reader that never holds more than one.
    struct Generated {
        next: usize,
        buf: Vec<u8>,
        pos: usize,
    }
    impl std::io::Read for Generated {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.pos == self.buf.len() {
                if self.next == 20_000 {
                    return Ok(0);
                }
                self.buf = format!(
                    "dn: cn=u{0},dc=c\nmail: u{0}@c\nuserCertificate:: AAECAwQ=\n\n",
                    self.next
                )
                .into_bytes();
                self.pos = 0;
                self.next += 1;
            }
            let n = out.len().min(self.buf.len() - self.pos);
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }
    let input = std::io::BufReader::new(Generated {
        next: 0,
        buf: Vec::new(),
        pos: 0,
    });
    let mut count = 0;
    for entry in Reader::new(input) {
        let entry = entry.unwrap();
        assert_eq!(entry.values.len(), 2);
        count += 1;
    }
    assert_eq!(count, 20_000);
}

#[test]
fn seeded_mutations_never_panic() {
    let seed = b"version: 1\n\n# c\ndn: cn=alice,dc=contoso,dc=com\nchangetype: add\nmail: a@c\n\
userCertificate;binary:: AAEC\n AwQ=\n\ndn:: Y249Yg==\ncn: b\n\nsearch: 2\nresult: 0 Success\n";
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut input = seed.to_vec();
        for k in 0..(state % 4 + 1) {
            let at = ((state >> (8 * k)) as usize) % input.len();
            let byte =
                [b'\n', b' ', b':', b'#', b'\r', 0xFF, b'=', b'A'][(state >> (k + 3)) as usize % 8];
            match (state >> (k + 20)) % 3 {
                0 => input[at] = byte,
                1 => input.insert(at, byte),
                _ => {
                    input.remove(at);
                }
            }
        }
        let limits = Limits {
            line: 64,
            entry: 256,
            values: 8,
        };
        for entry in Reader::with_limits(&input[..], limits) {
            if let Err(e) = entry {
                let _ = e.to_string();
            }
        }
    }
}
