//! Durations on the command line: `90s`, `30m`, `8h`, `7d`, `1h 30m`.

use std::time::Duration;

/// Parses a duration as `humantime` reads it, refusing zero: a timeout or
/// lifetime of nothing would lock everyone out, or mean "forever" to a store.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err(format!("`{text}` must be more than zero")),
        Ok(duration) if duration.subsec_nanos() != 0 => {
            Err(format!("`{text}` must be whole seconds"))
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
}
