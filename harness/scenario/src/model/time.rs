//! The lab clock: a scenario starts at its PKI's `now` (t = 0), steps 1 to 5 run then, and a
//! message or a late publication can say when it happens, `at: +35m`, after the start. Entra
//! Connect's scheduler runs a delta cycle every 30 minutes after the sync step's cycles: "By
//! default every 30 minutes a synchronization cycle is run." ("Microsoft Entra Connect Sync:
//! Scheduler").

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

/// Entra Connect's default interval between synchronization cycles ("The new default
/// synchronization frequency is 30 minutes."), in seconds.
pub const SYNC_CYCLE_INTERVAL_SECONDS: u64 = 30 * 60;

/// The longest offset a scenario may give: a year (certificates and CRLs expire well within it).
pub const MAX_OFFSET_SECONDS: u64 = 366 * 24 * 60 * 60;

/// A time after the scenario's start on the lab clock: `+` and a number with a unit, `s`, `m`,
/// `h` or `d` (`+90s`, `+35m`, `+2h`, `+8d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabOffset {
    seconds: u64,
}

impl LabOffset {
    pub const START: LabOffset = LabOffset { seconds: 0 };

    pub fn from_seconds(seconds: u64) -> Self {
        LabOffset { seconds }
    }

    pub fn seconds(self) -> u64 {
        self.seconds
    }

    /// The instant on the lab clock, from the scenario's start.
    pub fn after(self, start: time::OffsetDateTime) -> time::OffsetDateTime {
        start.saturating_add(time::Duration::seconds(
            i64::try_from(self.seconds).unwrap_or(i64::MAX),
        ))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let help = "write `+` then a number and a unit: s, m, h or d (e.g. `+35m`, `+8d`)";
        let trimmed = text.trim();
        let Some(rest) = trimmed.strip_prefix('+') else {
            return Err(format!(
                "{text:?} is not a time after the scenario's start: {help}"
            ));
        };
        let (number, unit) = rest.split_at(rest.len().saturating_sub(1));
        let per_unit: u64 = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 60 * 60,
            "d" => 24 * 60 * 60,
            _ => return Err(format!("{text:?} has no unit: {help}")),
        };
        let count: u64 = match number.parse() {
            Ok(n) if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(format!(
                    "{text:?} has no whole number before its unit: {help}"
                ));
            }
        };
        let seconds = count
            .checked_mul(per_unit)
            .filter(|s| *s <= MAX_OFFSET_SECONDS)
            .ok_or_else(|| format!("{text:?} is more than a year after the start: {help}"))?;
        Ok(LabOffset { seconds })
    }
}

impl fmt::Display for LabOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        if s == 0 {
            f.write_str("+0s")
        } else if s.is_multiple_of(86_400) {
            write!(f, "+{}d", s / 86_400)
        } else if s.is_multiple_of(3_600) {
            write!(f, "+{}h", s / 3_600)
        } else if s.is_multiple_of(60) {
            write!(f, "+{}m", s / 60)
        } else {
            write!(f, "+{s}s")
        }
    }
}

impl<'de> Deserialize<'de> for LabOffset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        LabOffset::parse(&text).map_err(de::Error::custom)
    }
}

impl Serialize for LabOffset {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for LabOffset {
    fn schema_name() -> Cow<'static, str> {
        "LabOffset".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^\\+[0-9]+[smhd]$",
            "description": "A time after the scenario's start on the lab clock: `+35m`, `+2h`, `+8d`.",
            "examples": ["+35m", "+8d"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_and_show() {
        assert_eq!(LabOffset::parse("+35m").map(LabOffset::seconds), Ok(2100));
        assert_eq!(
            LabOffset::parse(" +8d ").map(LabOffset::seconds),
            Ok(691_200)
        );
        assert_eq!(
            LabOffset::parse("+90s").map(|o| o.to_string()).as_deref(),
            Ok("+90s")
        );
        assert_eq!(
            LabOffset::parse("+120m").map(|o| o.to_string()).as_deref(),
            Ok("+2h")
        );
        for bad in ["35m", "+m", "+35", "+3.5h", "+-1m", "+400d", "+35 m", ""] {
            assert!(LabOffset::parse(bad).is_err(), "{bad}");
        }
    }
}
