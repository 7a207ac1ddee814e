//! Which scenarios a run takes: `--filter` (a substring of the name; any of several), `--tag`
//! (any of several), then `--partition K/N` for CI matrices.
//!
//! A partition is stable whatever order the files were given in: the selected scenarios are
//! sorted by name and the i-th (from 0) goes to partition `i mod N + 1`. So the N jobs of a
//! matrix given the same files and filters run disjoint sets that together are all of them, and
//! adding one scenario moves few others.

use std::fmt;
use std::str::FromStr;

use super::LoadedScenario;

/// `--partition K/N`: this run is the K-th of N (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub index: u32,
    pub count: u32,
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Why a `--partition` value is not one.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{given}` is not a partition: {why}. Write K/N with 1 ≤ K ≤ N, e.g. `--partition 2/4` for \
     the second of four CI jobs"
)]
pub struct PartitionError {
    given: String,
    why: &'static str,
}

impl FromStr for Partition {
    type Err = PartitionError;

    fn from_str(given: &str) -> Result<Self, Self::Err> {
        let error = |why| PartitionError {
            given: given.to_owned(),
            why,
        };
        let (k, n) = given
            .split_once('/')
            .ok_or_else(|| error("there is no `/`"))?;
        let index: u32 = k
            .trim()
            .parse()
            .map_err(|_| error("K is not a whole number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| error("N is not a whole number"))?;
        if count == 0 {
            return Err(error("N is 0"));
        }
        if index == 0 {
            return Err(error("K counts from 1"));
        }
        if index > count {
            return Err(error("K is greater than N"));
        }
        Ok(Partition { index, count })
    }
}

/// The command line's choice of scenarios.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Substrings of the name; a scenario matching any is taken. Empty: all.
    pub filters: Vec<String>,
    /// Tags; a scenario with any is taken. Empty: all.
    pub tags: Vec<String>,
    pub partition: Option<Partition>,
}

impl Selection {
    /// Whether a scenario passes the filters and tags (the partition aside).
    pub fn matches(&self, name: &str, tags: &[&str]) -> bool {
        let by_name = self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f));
        let by_tag = self.tags.is_empty() || self.tags.iter().any(|t| tags.contains(&t.as_str()));
        by_name && by_tag
    }

    /// The indices into `names` (each with its tags) that this run takes, in the order given.
    pub fn indices(&self, scenarios: &[(&str, Vec<&str>)]) -> Vec<usize> {
        let mut matching: Vec<usize> = (0..scenarios.len())
            .filter(|&i| self.matches(scenarios[i].0, &scenarios[i].1))
            .collect();
        if let Some(partition) = self.partition {
            let mut by_name = matching.clone();
            // Ties (the same name twice) are broken by position so the split stays total.
            by_name.sort_by(|&a, &b| scenarios[a].0.cmp(scenarios[b].0).then(a.cmp(&b)));
            let count = partition.count as usize;
            let wanted = partition.index.saturating_sub(1) as usize;
            let kept: std::collections::BTreeSet<usize> = by_name
                .into_iter()
                .enumerate()
                .filter(|(position, _)| position % count == wanted)
                .map(|(_, index)| index)
                .collect();
            matching.retain(|i| kept.contains(i));
        }
        matching
    }

    /// The loaded scenarios this run takes, in the order given.
    pub fn select(&self, scenarios: Vec<LoadedScenario>) -> Vec<LoadedScenario> {
        let keys: Vec<(String, Vec<String>)> = scenarios
            .iter()
            .map(|s| {
                (
                    s.name().to_owned(),
                    s.scenario
                        .tags
                        .iter()
                        .map(|t| t.value.as_str().to_owned())
                        .collect(),
                )
            })
            .collect();
        let borrowed: Vec<(&str, Vec<&str>)> = keys
            .iter()
            .map(|(name, tags)| (name.as_str(), tags.iter().map(String::as_str).collect()))
            .collect();
        let wanted: std::collections::BTreeSet<usize> =
            self.indices(&borrowed).into_iter().collect();
        scenarios
            .into_iter()
            .enumerate()
            .filter(|(i, _)| wanted.contains(i))
            .map(|(_, s)| s)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse() {
        assert_eq!(
            "2/4".parse::<Partition>().ok(),
            Some(Partition { index: 2, count: 4 })
        );
        assert_eq!(
            "1/1".parse::<Partition>().ok(),
            Some(Partition { index: 1, count: 1 })
        );
        for (bad, why) in [
            ("0/4", "K counts from 1"),
            ("5/4", "K is greater than N"),
            ("1/0", "N is 0"),
            ("2", "there is no `/`"),
            ("a/4", "K is not a whole number"),
            ("1/-4", "N is not a whole number"),
        ] {
            let error = bad.parse::<Partition>().expect_err(bad).to_string();
            assert!(error.contains(why), "{bad}: {error}");
            assert!(error.contains("1 ≤ K ≤ N"), "{error}");
        }
    }

    fn names(selection: &Selection, scenarios: &[(&str, Vec<&str>)]) -> Vec<String> {
        selection
            .indices(scenarios)
            .into_iter()
            .map(|i| scenarios[i].0.to_owned())
            .collect()
    }

    #[test]
    fn filters_and_tags() {
        let scenarios = vec![
            ("rsa-happy-path", vec!["happy-path", "rsa"]),
            ("ecdsa-happy-path", vec!["happy-path", "ecdsa"]),
            ("no-ski", vec!["pki"]),
            ("sst-oversize", vec!["sst"]),
        ];
        let all = Selection::default();
        assert_eq!(names(&all, &scenarios).len(), 4);

        let filter = Selection {
            filters: vec!["happy".into(), "ski".into()],
            ..Selection::default()
        };
        assert_eq!(
            names(&filter, &scenarios),
            ["rsa-happy-path", "ecdsa-happy-path", "no-ski"]
        );

        let tag = Selection {
            tags: vec!["sst".into(), "ecdsa".into()],
            ..Selection::default()
        };
        assert_eq!(
            names(&tag, &scenarios),
            ["ecdsa-happy-path", "sst-oversize"]
        );

        // Both kinds: a scenario must pass each.
        let both = Selection {
            filters: vec!["happy".into()],
            tags: vec!["rsa".into()],
            partition: None,
        };
        assert_eq!(names(&both, &scenarios), ["rsa-happy-path"]);
    }

    #[test]
    fn partitions_follow_the_sorted_names_whatever_the_order_given() {
        let scenarios = vec![
            ("d", vec![]),
            ("b", vec![]),
            ("a", vec![]),
            ("c", vec![]),
            ("e", vec![]),
        ];
        let part = |index| Selection {
            partition: Some(Partition { index, count: 2 }),
            ..Selection::default()
        };
        // Sorted a b c d e: positions 0 2 4 → 1/2, 1 3 → 2/2; given order kept.
        assert_eq!(names(&part(1), &scenarios), ["a", "c", "e"]);
        assert_eq!(names(&part(2), &scenarios), ["d", "b"]);
    }
}
