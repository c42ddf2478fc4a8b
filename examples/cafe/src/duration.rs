//! Durations on the command line: `90s`, `30m`, `8h`, `7d`, `1h 30m`.

use std::time::Duration;

/// The longest any duration flag may be (`--idle-timeout`,
/// `--absolute-timeout`, `--access-ttl`, `--refresh-ttl`): a year. Longer
/// is no sensible login, and `300000000000y` still fits in a `u64` of
/// seconds, only to overflow later where it is added to the time.
pub const LONGEST: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// [`LONGEST`] as the flags write it.
pub const LONGEST_TEXT: &str = "366d";

/// Parses a duration flag as `humantime` reads it: whole seconds, more than
/// zero (a timeout or lifetime of nothing would lock everyone out, or mean
/// "forever" to a store), and at most [`LONGEST`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err(format!("`{text}` must be more than zero")),
        Ok(duration) if duration.subsec_nanos() != 0 => {
            Err(format!("`{text}` must be whole seconds"))
        }
        Ok(duration) if duration > LONGEST => {
            Err(format!("`{text}` must be at most {LONGEST_TEXT}"))
        }
        Ok(duration) => Ok(duration),
        Err(error) => Err(format!(
            "`{text}` is not a duration ({error}); try 90s, 30m, 8h or 7d"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_units_parse() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("8h"), Ok(Duration::from_secs(28_800)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5_400)));
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        for bad in [
            "",
            "30",
            "m",
            "30x",
            "0s",
            "-5m",
            "500ms",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    /// `300000000000y` parses (it fits in a `u64` of seconds), and once
    /// reached the request path, where `last_seen + ttl` panicked. Every
    /// duration flag stops at a year, and says so.
    #[test]
    fn a_duration_past_a_year_is_refused_naming_the_bound() {
        assert_eq!(
            parse_duration("366d"),
            Ok(Duration::from_secs(366 * 24 * 60 * 60))
        );
        for too_long in ["367d", "2y", "300000000000y"] {
            let error = parse_duration(too_long).unwrap_err();
            assert!(error.contains("at most 366d"), "{too_long}: {error}");
        }
    }
}
