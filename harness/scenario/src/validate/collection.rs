//! Step 2, `virtual-collection`: the CAs in the store and what the tenant is expected to answer.

use serde_saphyr::{Location, Spanned};

use super::MAX_FILLER;
use super::references::Checker;
use crate::model::{CollectionEncoding, CollectionError, VirtualCollection};

impl Checker<'_> {
    /// The store's CAs, and expectations that can happen with this encoding.
    pub(super) fn collection(&mut self, collection: &Spanned<VirtualCollection>) {
        let at = collection.referenced;
        let c = &collection.value;
        let sst: Vec<String> = match &c.sst {
            Some(list) => {
                self.unique(list, "CA", Some(&at));
                for id in list {
                    self.ca(id, Some(&at));
                }
                if list.is_empty() && c.filler.value == 0 {
                    self.problems
                        .at(&at, None, "the store would be empty", "no certificates")
                        .help("list the CAs in `sst`, e.g. `sst: [root, issuing]`");
                }
                list.iter().map(|s| s.value.as_str().to_owned()).collect()
            }
            None => self.ids.cas.clone(),
        };
        if c.filler.value > MAX_FILLER {
            self.problems.at(
                &c.filler.referenced,
                Some(&at),
                format!(
                    "{} filler certificates is more than the {MAX_FILLER} the lab issues",
                    c.filler.value
                ),
                "too many",
            );
        }
        let expect = &c.expect;
        let error = expect.error.as_ref().map(|e| e.value);
        if let Some(thumbprints) = &expect.thumbprints {
            if error != Some(CollectionError::Expired) {
                let first = thumbprints.first().map(|t| t.referenced);
                self.problems
                    .at(
                        &first.unwrap_or(Location::UNKNOWN),
                        Some(&at),
                        "`thumbprints` belongs to `error: expired`",
                        "only listed by the expired-certificate error",
                    )
                    .help("add `error: expired`, or remove `thumbprints`");
            }
            self.unique(thumbprints, "CA", Some(&at));
            for id in thumbprints {
                self.in_store(id, &sst, &at);
            }
        }
        if let Some(earliest) = &expect.earliest {
            if let Some(error) = &expect.error {
                let text = self.text();
                self.problems
                    .at(
                        &earliest.referenced,
                        Some(&at),
                        "`earliest` is reported only when the import succeeds",
                        "but an error is expected",
                    )
                    .note(text, &error.referenced, "the expected error");
            }
            self.in_store(earliest, &sst, &at);
        }
        match (c.encoding, error) {
            (CollectionEncoding::Truncated, None) => {
                self.problems
                    .at(
                        &at,
                        None,
                        "a truncated store cannot import, but the import is expected to succeed",
                        "encoding: truncated",
                    )
                    .help("expect `error: wrong-format`");
            }
            (CollectionEncoding::Sst, Some(CollectionError::WrongFormat)) => {
                let at_error = expect.error.as_ref().map(|e| e.referenced);
                self.problems
                    .at(
                        &at_error.unwrap_or(Location::UNKNOWN),
                        Some(&at),
                        "the lab writes a well-formed store, which does not fail with wrong-format",
                        "never happens with encoding: sst",
                    )
                    .help("set `encoding: truncated` to send bytes that do not import");
            }
            _ => {}
        }
    }
}
