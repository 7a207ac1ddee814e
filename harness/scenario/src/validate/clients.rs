//! Step 5, `clients`: each device belongs to a user with certificates, holds that user's own
//! certificates, and is listed once per client.

use std::collections::BTreeMap;

use serde_saphyr::{Location, Spanned};

use super::references::Checker;
use crate::model::{Clients, MailClient};

impl Checker<'_> {
    /// The devices' users and certificates.
    pub(super) fn clients(&mut self, clients: &Spanned<Clients>) {
        let at = clients.referenced;
        if let Some(devices) = &clients.value.devices {
            let mut seen: BTreeMap<(String, &'static str), Location> = BTreeMap::new();
            for device in devices {
                let d = &device.value;
                if !self.user_with_certificates(&d.user, Some(&device.referenced), "device user") {
                    continue;
                }
                let key = (d.user.value.as_str().to_owned(), d.client.name());
                if let Some(first) = seen.get(&key) {
                    let first = *first;
                    let text = self.text();
                    self.problems
                        .at(
                            &device.referenced,
                            Some(&at),
                            format!("`{}` has two {} devices", d.user.value, d.client.name()),
                            "second device",
                        )
                        .note(text, &first, "first device")
                        .help("list all certificates of one client in one entry");
                } else {
                    seen.insert(key, device.referenced);
                }
                if !d.contacts.is_empty() && d.client != MailClient::OutlookMobile {
                    self.problems
                        .at(
                            &device.referenced,
                            Some(&at),
                            format!(
                                "`contacts` for client `{}`: only Outlook for iOS and Android (`outlook-mobile`) looks recipients' certificates up on the device",
                                d.client.name()
                            ),
                            "contacts another client does not read",
                        )
                        .help("move `contacts` to the user's `outlook-mobile` device, or remove it");
                }
                self.unique(&d.contacts, "contact", Some(&device.referenced));
                for contact in &d.contacts {
                    if let Some(owner) = self.certificate(contact, Some(&device.referenced))
                        && owner == d.user.value.as_str()
                    {
                        self.problems
                            .at(
                                &contact.referenced,
                                Some(&device.referenced),
                                format!(
                                    "`{}` is {}'s own certificate: contacts are other people's",
                                    contact.value, d.user.value
                                ),
                                "own certificate",
                            )
                            .help("list the user's own certificates under `certificates`");
                    }
                }
                if let Some(certificates) = &d.certificates {
                    self.unique(certificates, "certificate", Some(&device.referenced));
                    for certificate in certificates {
                        if let Some(owner) = self.certificate(certificate, Some(&device.referenced))
                            && owner != d.user.value.as_str()
                        {
                            self.problems
                                .at(
                                    &certificate.referenced,
                                    Some(&device.referenced),
                                    format!(
                                        "`{certificate}` is {owner}'s certificate, not {}'s: a device holds its own user's keys",
                                        d.user.value,
                                        certificate = certificate.value
                                    ),
                                    "someone else's certificate",
                                )
                                .help(
                                    "to sign with another user's certificate, use the message option `signer`",
                                );
                        }
                    }
                }
            }
        }
    }
}
