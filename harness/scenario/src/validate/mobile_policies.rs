//! Step 5, `clients.mobile-policies` and `clients.mobile-policy-assignments`: each policy named
//! once and not `Default` (the built-in policy, set through `mobile-policy`), at most one made
//! the default ("There can be only one default policy", Set-MobileDeviceMailboxPolicy
//! -IsDefault), and each assignment a user of the organisation given a policy that exists.

use std::collections::BTreeMap;

use serde_saphyr::{Location, Spanned};

use super::references::Checker;
use crate::model::{BUILTIN_MOBILE_POLICY, Clients};

impl Checker<'_> {
    pub(super) fn mobile_policies(&mut self, clients: &Spanned<Clients>) {
        let at = clients.referenced;
        let c = &clients.value;
        let mut names: BTreeMap<String, Location> = BTreeMap::new();
        let mut default: Option<(String, Location)> = None;
        for (name, policy) in c.mobile_policies.iter() {
            let lower = name.value.as_str().to_ascii_lowercase();
            if lower == BUILTIN_MOBILE_POLICY.to_ascii_lowercase() {
                self.problems
                    .at(
                        &name.referenced,
                        Some(&at),
                        "the built-in policy `Default` exists already: New-MobileDeviceMailboxPolicy would refuse a second one",
                        "built-in name",
                    )
                    .help("set the built-in policy's settings in `mobile-policy`, or give this policy another name");
            }
            if let Some(first) = names.get(&lower) {
                let first = *first;
                let text = self.text();
                self.problems
                    .at(
                        &name.referenced,
                        Some(&at),
                        format!("mobile policy `{}` is declared twice", name.value),
                        "again here",
                    )
                    .note(text, &first, "first here");
            } else {
                names.insert(lower, name.referenced);
            }
            if policy.is_default.value {
                if let Some((first_name, first)) = &default {
                    let (first_name, first) = (first_name.clone(), *first);
                    let text = self.text();
                    self.problems
                        .at(
                            &policy.is_default.referenced,
                            Some(&name.referenced),
                            format!(
                                "`{}` and `{first_name}` are both `is-default: true`: \"There can be only one default policy.\" (Set-MobileDeviceMailboxPolicy -IsDefault)",
                                name.value
                            ),
                            "second default",
                        )
                        .note(text, &first, "first default")
                        .help("mark one policy `is-default: true`");
                } else {
                    default = Some((name.value.as_str().to_owned(), policy.is_default.referenced));
                }
            }
        }
        let mut seen: BTreeMap<String, Location> = BTreeMap::new();
        for (user, policy) in c.mobile_policy_assignments.iter() {
            if let Some(first) = seen.get(user.value.as_str()) {
                let first = *first;
                let text = self.text();
                self.problems
                    .at(
                        &user.referenced,
                        Some(&at),
                        format!("`{}` is given a mobile policy twice", user.value),
                        "again here",
                    )
                    .note(text, &first, "first here");
                continue;
            }
            seen.insert(user.value.as_str().to_owned(), user.referenced);
            self.user(user, Some(&at), "mobile-policy-assignments user");
            let wanted = policy.0.value.trim();
            let known = wanted.eq_ignore_ascii_case(BUILTIN_MOBILE_POLICY)
                || names.contains_key(&wanted.to_ascii_lowercase());
            if !known {
                let mut declared: Vec<String> = vec![BUILTIN_MOBILE_POLICY.to_owned()];
                declared.extend(
                    c.mobile_policies
                        .iter()
                        .map(|(n, _)| n.value.as_str().to_owned()),
                );
                self.problems
                    .at(
                        &policy.0.referenced,
                        Some(&user.referenced),
                        format!(
                            "`{}` is not a mobile device mailbox policy of the scenario: Set-CASMailbox would answer that it couldn't be found",
                            policy.0.value
                        ),
                        "unknown policy",
                    )
                    .help(format!(
                        "the policies are: {}; declare it under `mobile-policies`",
                        declared.join(", ")
                    ));
            }
        }
    }
}
