//! Durations as an operator writes them on a command line (`90m`, `26h`, `2d`), and ages as a
//! person reads them (`45 min`, `7 h`, `3 d`); [`amounts`] is the one reading of number-unit
//! pairs, which `<keep_within>` (`30d`, `1y6m`: [`crate::retention`]) shares.

use std::time::Duration;

use crate::clip::clip;

/// A duration that is not a whole number followed by its unit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duration {} is not a whole number followed by m (minutes), h (hours) or d (days); write it as 90m, 26h or 2d", clip(.0))]
pub struct DurationError(pub String);

/// Why [`amounts`] refused a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AmountsError {
    /// Not number-unit pairs (empty, a unit without a number, a number without a unit).
    Malformed,
    /// A number too large for a `u64`.
    TooLarge,
}

/// The number-unit pairs of `text` in order (`1y6m` → `[(1, 'y'), (6, 'm')]`): each a whole
/// number of ASCII digits followed by one non-digit character, the unit, which the caller
/// judges. No blank is allowed inside.
pub(crate) fn amounts(text: &str) -> Result<Vec<(u64, char)>, AmountsError> {
    let mut pairs = Vec::new();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if number.is_empty() {
            return Err(AmountsError::Malformed);
        }
        pairs.push((number.parse().map_err(|_| AmountsError::TooLarge)?, c));
        number.clear();
    }
    if !number.is_empty() || pairs.is_empty() {
        return Err(AmountsError::Malformed);
    }
    Ok(pairs)
}

/// Parses `90m`, `26h` or `2d` (minutes, hours, days; no space, no fraction, not zero).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError(text.to_string());
    let [(count, unit)] = amounts(text).map_err(|_| invalid())?[..] else {
        return Err(invalid());
    };
    let seconds: u64 = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(invalid()),
    };
    if count == 0 {
        return Err(invalid());
    }
    count
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(invalid)
}

/// An age in the unit a person reads it in: minutes under two hours, hours under two days,
/// days beyond (`45 min`, `7 h`, `3 d`); a negative age (a clock set back) reads as `0 min`.
pub fn display_age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    if seconds < 2 * 3600 {
        format!("{} min", seconds / 60)
    } else if seconds < 2 * 86_400 {
        format!("{} h", seconds / 3600)
    } else {
        format!("{} d", seconds / 86_400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_hours_and_days() {
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("26h"), Ok(Duration::from_secs(93_600)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        for bad in [
            "",
            "h",
            "26",
            "2.5h",
            "-1d",
            "0h",
            "26 h",
            "1w",
            "h26",
            "99999999999999999d",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.to_string().contains("26h"), "{bad}: {err}");
        }
    }

    #[test]
    fn ages_in_the_unit_a_person_reads() {
        assert_eq!(display_age(-5), "0 min");
        assert_eq!(display_age(59), "0 min");
        assert_eq!(display_age(45 * 60), "45 min");
        assert_eq!(display_age(7 * 3600 + 59), "7 h");
        assert_eq!(display_age(47 * 3600), "47 h");
        assert_eq!(display_age(3 * 86_400 + 1), "3 d");
    }
}
