//! The YAML reader's (serde-saphyr's) error messages, in the user's terms where its own are not:
//! the limits that keep a hostile file from exhausting memory (its `Budget`) are reported by the
//! reader as their `Debug` form ("budget breached: Nodes { nodes: 250001 }"). [`UsersTerms`]
//! says what was too large and what to do; every other message is the reader's own
//! ([`DefaultMessageFormatter`], as before). Used wherever a YAML error is rendered: PKI
//! descriptions here, scenarios (`scenario::load`), vendor descriptions (the runner).

use std::borrow::Cow;

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Budget, DefaultMessageFormatter, Error, MessageFormatter};

/// The message formatter to render YAML errors with (`render_options! { formatter: &UsersTerms }`).
pub struct UsersTerms;

impl MessageFormatter for UsersTerms {
    fn format_message<'a>(&self, err: &'a Error) -> Cow<'a, str> {
        match err {
            Error::Budget { breach, .. } => Cow::Owned(over_the_limit(breach)),
            _ => DefaultMessageFormatter.format_message(err),
        }
    }
}

/// What a tripped limit means for the file. The figures are the reader's defaults, which the
/// lab keeps.
fn over_the_limit(breach: &BudgetBreach) -> String {
    let limits = Budget::default();
    let what = match breach {
        BudgetBreach::Nodes { .. } => format!(
            "holds more than {} values (keys, values and list items)",
            thousands(limits.max_nodes)
        ),
        BudgetBreach::Events { .. } => format!(
            "holds more than {} YAML events (values, mappings, lists)",
            thousands(limits.max_events)
        ),
        BudgetBreach::Depth { .. } => format!(
            "nests lists and mappings more than {} deep",
            limits.max_depth
        ),
        BudgetBreach::Documents { .. } => format!(
            "holds more than {} YAML documents (`---`)",
            thousands(limits.max_documents)
        ),
        BudgetBreach::Aliases { .. }
        | BudgetBreach::Anchors { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. } => {
            "repeats too much through anchors and aliases (`&name`, `*name`)".to_owned()
        }
        BudgetBreach::MergeKeys { .. } => format!(
            "holds more than {} merge keys (`<<`)",
            thousands(limits.max_merge_keys)
        ),
        BudgetBreach::ScalarBytes { .. } | BudgetBreach::InputBytes { .. } => {
            "holds more text than the YAML reader takes from one file".to_owned()
        }
        _ => "is too large or too complex for the YAML reader".to_owned(),
    };
    format!(
        "the file {what}, past the limit that keeps a file from exhausting memory; make it \
         smaller (a scenario can generate a population of users with `generate:` instead of \
         listing each one)"
    )
}

/// 250000 as "250,000".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_past_the_node_limit_is_told_so_in_words() {
        let mut yaml = String::from("users:\n");
        for n in 0..130_000 {
            yaml.push_str(&format!("  - u{n}\n  - v{n}\n"));
        }
        let err = serde_saphyr::from_str::<std::collections::BTreeMap<String, Vec<String>>>(&yaml)
            .err()
            .map(|e| e.render_with_formatter(&UsersTerms));
        let Some(message) = err else {
            panic!("260,000 values were read")
        };
        assert!(
            message.contains("holds more than 250,000 values"),
            "{message}"
        );
        assert!(!message.contains("Nodes {"), "{message}");
        assert!(!message.contains("budget breached"), "{message}");
    }

    #[test]
    fn other_messages_are_the_readers_own() {
        let Err(err) = serde_saphyr::from_str::<Vec<u8>>("[1, 2") else {
            panic!("an unclosed list was read")
        };
        assert_eq!(
            err.render_with_formatter(&UsersTerms),
            err.render_with_formatter(&DefaultMessageFormatter)
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(250_000), "250,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(64), "64");
        assert_eq!(thousands(1_024), "1,024");
    }
}
