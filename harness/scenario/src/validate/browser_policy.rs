//! Step 4, `browser-policy`: non-empty lists without duplicates, a non-empty value.

use serde_saphyr::Spanned;

use super::references::{Checker, has_duplicates};
use crate::model::BrowserPolicy;

impl Checker<'_> {
    /// Browsers and formats listed once each; a value, when given, that is not blank.
    pub(super) fn browser_policy(&mut self, policy: &Spanned<BrowserPolicy>) {
        let at = policy.referenced;
        let p = &policy.value;
        if p.browsers.value.is_empty() {
            self.problems
                .at(&p.browsers.referenced, Some(&at), "no browsers", "empty");
        }
        if has_duplicates(&p.browsers.value) {
            self.problems.at(
                &p.browsers.referenced,
                Some(&at),
                "a browser is listed twice",
                "duplicate",
            );
        }
        if p.formats.value.is_empty() {
            self.problems.at(
                &p.formats.referenced,
                Some(&at),
                "no policy formats",
                "empty",
            );
        }
        if has_duplicates(&p.formats.value) {
            self.problems.at(
                &p.formats.referenced,
                Some(&at),
                "a policy format is listed twice",
                "duplicate",
            );
        }
        if let Some(value) = &p.value
            && value.value.trim().is_empty()
        {
            self.problems.at(
                &value.referenced,
                Some(&at),
                "the policy value is empty",
                "empty",
            );
        }
    }
}
