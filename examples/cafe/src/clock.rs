//! The time, from one place, so tests can move it instead of sleeping; and
//! every conversion of it. The app reads a [`SystemTime`] and passes that
//! around; it becomes a number only at an edge that needs one: JWT claims
//! (seconds, RFC 7519's NumericDate), Redis scores and TTLs (milliseconds),
//! Redis session records (nanoseconds, so a record reads back exactly).

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whole seconds since 1970: JWT's NumericDate (0 for a time before 1970).
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Milliseconds since 1970, saturating (0 before 1970).
pub fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Nanoseconds since 1970, exactly (0 before 1970).
pub fn unix_nanos(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// The time `nanos` nanoseconds after 1970, if the system clock can hold it.
pub fn from_unix_nanos(nanos: u128) -> Option<SystemTime> {
    let seconds = u64::try_from(nanos / 1_000_000_000).ok()?;
    let rest = u32::try_from(nanos % 1_000_000_000).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(seconds, rest))
}

/// A duration in whole milliseconds, saturating.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Where the app reads the time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to: tests use it to cross a timeout in
/// a microsecond.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn starting_at(start: SystemTime) -> ManualClock {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_reads_back_the_time_it_was_given() {
        let time = UNIX_EPOCH + Duration::new(1_767_258_000, 123_456_789);
        assert_eq!(unix_seconds(time), 1_767_258_000);
        assert_eq!(unix_millis(time), 1_767_258_000_123);
        assert_eq!(from_unix_nanos(unix_nanos(time)), Some(time));
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(millis(Duration::MAX), u64::MAX);
        assert_eq!(from_unix_nanos(u128::MAX), None);
    }
}
