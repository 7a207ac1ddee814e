//! Step 1, `publish`: the users and certificates it names, the per-attribute lists against
//! `attribute`/`certificates`, and the ids extra certificates will take.

use std::collections::BTreeSet;

use serde_saphyr::Spanned;

use super::references::Checker;
use super::{MAX_EXTRA_CERTIFICATES, extra_certificate_id};
use crate::model::Publish;

impl Checker<'_> {
    /// Every user, certificate and count `publish` names.
    pub(super) fn publish(&mut self, publish: &Spanned<Publish>) {
        let at = publish.referenced;
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for (user, settings) in publish.value.users.iter() {
            if !seen.insert(user.value.as_str()) {
                self.problems.at(
                    &user.referenced,
                    Some(&at),
                    format!("publish.users has `{}` twice", user.value),
                    "again here",
                );
            }
            let ok = self.user_with_certificates(user, Some(&at), "publish.users entry");
            let explicit = [
                (
                    "userSMIMECertificate",
                    settings.user_smime_certificate.as_ref(),
                ),
                ("userCertificate", settings.user_certificate.as_ref()),
            ];
            let lists = explicit
                .iter()
                .filter_map(|(_, l)| *l)
                .chain(settings.certificates.as_ref());
            for certificates in lists {
                self.unique(certificates, "certificate", Some(&at));
                for certificate in certificates {
                    self.certificate(certificate, Some(&at));
                }
            }
            if let Some((name, _)) = explicit.iter().find(|(_, l)| l.is_some()) {
                let conflicting = [
                    (
                        "attribute",
                        settings.attribute.as_ref().map(|a| a.referenced),
                    ),
                    (
                        "certificates",
                        settings
                            .certificates
                            .as_ref()
                            .and_then(|c| c.first())
                            .map(|c| c.referenced),
                    ),
                ];
                for (other, place) in conflicting {
                    if let Some(place) = place {
                        self.problems
                            .at(
                                &place,
                                Some(&user.referenced),
                                format!(
                                    "`{other}` and `{name}` both say what `{}` publishes",
                                    user.value
                                ),
                                "conflicts with the per-attribute list",
                            )
                            .help(
                                "either list each attribute's certificates (`userSMIMECertificate`, `userCertificate`) or use `attribute` and `certificates`, not both"
                            );
                    }
                }
            }
            if let Some(gal) = &settings.outlook_gal {
                // Outlook publishes its user's own certificates, signed with one of them.
                for id in [&gal.value.sign, &gal.value.encrypt] {
                    if let Some(owner) = self.certificate(id, Some(&gal.referenced))
                        && owner != user.value.as_str()
                    {
                        self.problems
                            .at(
                                &id.referenced,
                                Some(&gal.referenced),
                                format!(
                                    "`{}` is {owner}'s certificate: Outlook publishes `{}`'s own certificates to the GAL",
                                    id.value, user.value
                                ),
                                "someone else's certificate",
                            )
                            .help("name certificates of this user");
                    }
                }
            }
            let extra = &settings.extra_certificates;
            if extra.value > MAX_EXTRA_CERTIFICATES {
                self.problems.at(
                    &extra.referenced,
                    Some(&user.referenced),
                    format!(
                        "{} extra certificates is more than the {MAX_EXTRA_CERTIFICATES} the lab issues",
                        extra.value
                    ),
                    "too many",
                );
            } else if ok && extra.value > 0 {
                // Extra certificates get ids beside the user's; they must not be anyone's.
                for n in 1..=extra.value {
                    let id = extra_certificate_id(user.value.as_str(), n);
                    if self.ids.pki_users.contains(&id) {
                        self.problems.at(
                            &extra.referenced,
                            Some(&user.referenced),
                            format!(
                                "the PKI already has a user `{id}`, the id the lab gives extra certificate {n} of `{}`",
                                user.value
                            ),
                            "id taken",
                        );
                    }
                }
            }
        }
    }
}
