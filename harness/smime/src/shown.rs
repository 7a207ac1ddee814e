//! Echoing a value from the user's input in a message: quoted as Rust's `{:?}` quotes it (control
//! characters escaped), and cut short, so that a 10 MB value in a YAML field makes a one-line
//! message rather than 10 MB of terminal output.

/// The most characters of a value a message repeats.
const MAX_SHOWN: usize = 60;

/// `text` quoted for a message: whole when short, else its first characters, an ellipsis and how
/// long it is (`"aaaa…" (10000000 characters)`).
#[must_use]
pub fn quoted(text: &str) -> String {
    let total = text.chars().count();
    if total <= MAX_SHOWN {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(MAX_SHOWN).collect();
    format!("{:?} ({total} characters)", format!("{head}…"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole_and_long_ones_cut() {
        assert_eq!(quoted("90d"), "\"90d\"");
        assert_eq!(quoted("a\nb"), "\"a\\nb\"");
        let long = "9".repeat(10_000_000);
        let shown = quoted(&long);
        assert!(shown.len() < 100, "{shown}");
        assert!(shown.ends_with("…\" (10000000 characters)"), "{shown}");
    }
}
