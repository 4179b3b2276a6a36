//! The sandbox's clock, shared in-process with the local stack's domain
//! (design.md "Time in the local stack"): real time plus an offset that
//! only grows. Like `billing::clock::ManualClock` it moves on command
//! (`advance`), but between commands it keeps running, so the steps of one
//! sequence (created, then active) get distinct, increasing `modified_at`
//! values — the watermarks the domain orders snapshots by.
//! Webhook signature timestamps never read this clock: they use real time.

use billing::clock::Clock;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Default)]
pub struct SandboxClock {
    offset: Mutex<Duration>,
}

impl SandboxClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves simulated time forward (a negative or zero step is ignored:
    /// time never runs backwards, or watermarks would).
    pub fn advance(&self, by: Duration) {
        if by.is_positive() {
            *self.offset.lock().unwrap_or_else(|p| p.into_inner()) += by;
        }
    }

    /// How far simulated time is ahead of real time.
    pub fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for SandboxClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.offset()
    }
}

/// Parses `31d`, `12h`, `30m`, `90s` (or a bare number of seconds).
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let (digits, unit) = match raw.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&raw[..i], c),
        _ => (raw, 's'),
    };
    let n: i64 = digits.parse().ok().filter(|n| *n >= 0)?;
    match unit {
        's' => Some(Duration::seconds(n)),
        'm' => Some(Duration::minutes(n)),
        'h' => Some(Duration::hours(n)),
        'd' => Some(Duration::days(n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_clock_runs_with_real_time_and_jumps_when_advanced() {
        let clock = SandboxClock::new();
        let before = clock.now();
        clock.advance(Duration::days(31));
        let after = clock.now();
        assert!(after - before >= Duration::days(31));
        assert!(after - before < Duration::days(31) + Duration::seconds(5));
        clock.advance(Duration::days(-40));
        assert!(clock.now() >= after, "time never runs backwards");
    }

    #[test]
    fn durations_read_with_a_unit_or_as_seconds() {
        assert_eq!(parse_duration("31d"), Some(Duration::days(31)));
        assert_eq!(parse_duration("12h"), Some(Duration::hours(12)));
        assert_eq!(parse_duration("90"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("-3d"), None);
        assert_eq!(parse_duration("3w"), None);
        assert_eq!(parse_duration(""), None);
    }
}
