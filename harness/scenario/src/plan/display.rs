//! One line per action, for `smime-lab scenario plan`.

use std::fmt;

use super::{Action, CollectionExpectation};
use crate::model::{CollectionEncoding, Fault, SmimeOver15, SyncCycle};

/// One line per action, for `smime-lab scenario plan`.
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::ServePki(s) => write!(
                f,
                "serve {} CA certificates and {} CRLs on pki-web",
                s.ca_certificates.len(),
                s.crls.len()
            ),
            Action::CreateUsers(users) => {
                let list: Vec<&str> = users.iter().map(|u| u.mailbox.as_str()).collect();
                match list.as_slice() {
                    // A generated population does not fit a line.
                    [first, second, .., last] if list.len() > 8 => write!(
                        f,
                        "create users {first}, {second}, ..., {last} ({} users)",
                        list.len()
                    ),
                    _ => write!(f, "create users {}", list.join(", ")),
                }
            }
            Action::CheckPopulation(c) => write!(
                f,
                "check population {}: {} users looked up, {} given flaws",
                c.name,
                c.users.len(),
                c.flawed.len()
            ),
            Action::Fault(c) => write!(
                f,
                "{} fault: {} {}",
                if c.start { "start" } else { "end" },
                c.service.name(),
                match c.fault {
                    Fault::Down => "down",
                }
            ),
            Action::Publish(p) => {
                let ids: Vec<&str> = p.certificates.iter().map(|c| c.id.as_str()).collect();
                // Sixteen ids do not fit a line: the first two, the last, and the count.
                let shown = match ids.as_slice() {
                    [first, second, .., last] if ids.len() > 4 => {
                        format!("{first}, {second}, ..., {last}")
                    }
                    _ => ids.join(", "),
                };
                write!(
                    f,
                    "publish {shown} to {}'s {} ({} value{})",
                    p.user,
                    p.attribute.ldap_name(),
                    ids.len(),
                    if ids.len() == 1 { "" } else { "s" }
                )
            }
            Action::ImportCollection(i) => {
                write!(
                    f,
                    "Set-SmimeConfig -SMIMECertificateIssuingCA: {} certificates, {} bytes ({}), expect ",
                    i.certificates.len(),
                    i.bytes.len(),
                    match i.encoding {
                        CollectionEncoding::Sst => "sst",
                        CollectionEncoding::Truncated => "truncated",
                    }
                )?;
                match &i.expect {
                    CollectionExpectation::Success { earliest: None } => f.write_str("success"),
                    CollectionExpectation::Success { earliest: Some(c) } => {
                        write!(f, "success, earliest {} ({})", c.id, c.thumbprint)
                    }
                    CollectionExpectation::Error { error, thumbprints } => {
                        write!(f, "error {}", error.name())?;
                        if !thumbprints.is_empty() {
                            write!(f, " listing {}", thumbprints.join(", "))?;
                        }
                        Ok(())
                    }
                }
            }
            Action::Sync(s) => {
                write!(
                    f,
                    "sync: {} cycle{}",
                    match s.cycle {
                        SyncCycle::Initial => "initial",
                        SyncCycle::Delta => "delta",
                    },
                    match (s.legacy_rules, s.smime_over_15) {
                        (true, _) => " (legacy rules)",
                        (false, SmimeOver15::Skipped) => "",
                        (false, SmimeOver15::Exported) =>
                            " (userSMIMECertificate over 15 exported)",
                    }
                )?;
                if let Some(at) = s.scheduled {
                    write!(f, ", scheduled at {at} (every 30 minutes)")?;
                }
                for (user, outcome) in &s.expect {
                    write!(f, ", expect {user} {}", outcome.name())?;
                }
                Ok(())
            }
            Action::BrowserPolicy(p) => write!(
                f,
                "browser policy {} for {} at {} (value {}documented, expect {})",
                p.format.name(),
                p.browser.name(),
                p.location,
                if p.documented { "" } else { "NOT " },
                if p.expect_valid { "valid" } else { "invalid" }
            ),
            Action::Cmdlet(c) => {
                let names: Vec<String> = c
                    .parameters
                    .iter()
                    .map(|(k, v)| format!("-{k} {v}"))
                    .collect();
                write!(f, "{} {}", c.cmdlet, names.join(" "))
            }
            Action::Clock(at) => write!(f, "lab clock to {at} after the start"),
            Action::InstallIdentity(i) => {
                let ids: Vec<&str> = i.identities.iter().map(|(id, _)| id.as_str()).collect();
                write!(
                    f,
                    "install {} on {}'s {} ({:?} PKCS#12, {:?})",
                    ids.join(", "),
                    i.user,
                    i.client.name(),
                    i.profile,
                    i.storage
                )
            }
            Action::Send(m) => {
                let to: Vec<&str> =
                    m.to.iter()
                        .chain(&m.cc)
                        .chain(&m.bcc)
                        .map(|r| r.user.as_str())
                        .collect();
                write!(
                    f,
                    "message {}: {} -> {} via {}{}{}",
                    m.number,
                    m.from.user,
                    to.join(", "),
                    m.client.name(),
                    if m.request.sign { ", signed" } else { "" },
                    if m.request.encrypt { ", encrypted" } else { "" }
                )?;
                if m.expect.refused {
                    write!(f, "; expect refused")?;
                    if let Some(reason) = m.expect.reason {
                        write!(f, " ({})", reason.name())?;
                    }
                } else {
                    write!(
                        f,
                        "; expect {}",
                        if m.expect.delivered {
                            "delivered"
                        } else {
                            "not delivered"
                        }
                    )?;
                    if let Some(verdict) = m.expect.verdict {
                        write!(f, ", {}", verdict.name())?;
                    }
                }
                Ok(())
            }
        }
    }
}
