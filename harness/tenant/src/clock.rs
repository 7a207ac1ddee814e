//! The tenant's clock: the system time, or a fixed instant given with `--now` (or set through
//! `PUT /lab/clock`) so that expiry decisions and snapshots are reproducible.

use std::sync::{Arc, RwLock};

use time::OffsetDateTime;

/// Where "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(OffsetDateTime),
}

impl Clock {
    pub fn now(self) -> OffsetDateTime {
        match self {
            Self::System => OffsetDateTime::now_utc(),
            Self::Fixed(at) => at,
        }
    }
}

/// A clock shared by every request handler and changeable while the tenant runs.
#[derive(Debug, Clone)]
pub struct SharedClock(Arc<RwLock<Clock>>);

impl SharedClock {
    pub fn new(clock: Clock) -> Self {
        Self(Arc::new(RwLock::new(clock)))
    }

    pub fn now(&self) -> OffsetDateTime {
        self.get().now()
    }

    pub fn get(&self) -> Clock {
        // A poisoned lock only means a writer panicked mid-assignment of a Copy value: the
        // value inside is still whole.
        *self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set(&self, clock: Clock) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = clock;
    }
}

/// Parses an RFC 3339 timestamp (`2030-01-01T00:00:00Z`).
pub fn parse_rfc3339(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
}

/// Formats a timestamp the way the admin API serialises `System.DateTime` values
/// (`2022-09-21T08:07:47.0000000+00:00`, captured from a live `Get-Mailbox`).
pub fn dotnet_datetime(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}+00:00",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.nanosecond() / 100
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotnet_format_matches_the_wire() {
        let at = parse_rfc3339("2022-09-21T08:07:47Z").unwrap();
        assert_eq!(dotnet_datetime(at), "2022-09-21T08:07:47.0000000+00:00");
    }

    #[test]
    fn fixed_clock_can_be_moved() {
        let clock = SharedClock::new(Clock::Fixed(parse_rfc3339("2030-01-01T00:00:00Z").unwrap()));
        assert_eq!(clock.now().year(), 2030);
        clock.set(Clock::Fixed(parse_rfc3339("2031-01-01T00:00:00Z").unwrap()));
        assert_eq!(clock.now().year(), 2031);
    }
}
