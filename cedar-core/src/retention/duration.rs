//! `<keep_within>`: how far back from the newest good backup every good backup is kept, in
//! days (`d`), weeks (`w`, 7 days), calendar months (`m`) and calendar years (`y`), one or
//! more number-unit pairs (`30d`, `8w`, `1y6m`), with restic's arithmetic.

use std::fmt;

use super::Day;
use crate::calendar::days_from_civil;

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("`{text}` is not a duration; write a number followed by d, w, m or y, such as 30d, 8w, 6m or 2y")]
    Malformed { text: String },
    #[error("`{text}` is too long a duration; write at most 10000y")]
    TooLarge { text: String },
}

/// A duration of calendar years, calendar months and days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Within {
    pub years: i64,
    pub months: i64,
    pub days: i64,
}

/// The longest duration accepted, in days of each unit (far beyond any retention).
const MAX_DAYS: i64 = 10_000 * 366;

impl Within {
    /// Parses `30d`, `8w`, `6m`, `2y` or a sequence of them (`1y6m`); blanks around are
    /// ignored.
    pub fn parse(text: &str) -> Result<Within, DurationError> {
        let malformed = || DurationError::Malformed {
            text: text.to_string(),
        };
        let too_large = || DurationError::TooLarge {
            text: text.to_string(),
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(malformed());
        }
        let pairs = crate::duration::amounts(trimmed).map_err(|e| match e {
            crate::duration::AmountsError::Malformed => malformed(),
            crate::duration::AmountsError::TooLarge => too_large(),
        })?;
        let mut within = Within::default();
        for (n, unit) in pairs {
            let n = i64::try_from(n).map_err(|_| too_large())?;
            let (slot, factor) = match unit {
                'd' => (&mut within.days, 1),
                'w' => (&mut within.days, 7),
                'm' => (&mut within.months, 1),
                'y' => (&mut within.years, 1),
                _ => return Err(malformed()),
            };
            *slot = n
                .checked_mul(factor)
                .and_then(|v| slot.checked_add(v))
                .ok_or_else(too_large)?;
        }
        if within.days > MAX_DAYS || within.months > MAX_DAYS / 31 || within.years > 10_000 {
            return Err(too_large());
        }
        Ok(within)
    }

    /// Whether it keeps nothing.
    pub fn is_zero(&self) -> bool {
        self.years == 0 && self.months == 0 && self.days == 0
    }

    /// The day this duration before `newest`: years and months move the calendar month (a day
    /// past the month's end rolls over into the next month, as Go's `AddDate` that restic
    /// uses), then the days are counted back. A backup is within the duration when it is
    /// after this day.
    pub fn cutoff(&self, newest: Day) -> Day {
        let (year, month, day) = newest.ymd();
        let months = i64::from(year) * 12 + i64::from(month) - 1 - self.years * 12 - self.months;
        let first = days_from_civil(
            months.div_euclid(12) as i32,
            months.rem_euclid(12) as u32 + 1,
            1,
        );
        Day::from_number(first + i64::from(day) - 1 - self.days)
    }
}

/// The canonical form: `1y6m10d`.
impl fmt::Display for Within {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return write!(f, "0d");
        }
        for (n, unit) in [(self.years, 'y'), (self.months, 'm'), (self.days, 'd')] {
            if n != 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse_rel(&text.replace('-', "/")).unwrap()
    }

    #[test]
    fn units_and_sequences_parse() {
        assert_eq!(Within::parse("30d").unwrap().days, 30);
        assert_eq!(Within::parse("8w").unwrap().days, 56);
        assert_eq!(Within::parse(" 6m\n").unwrap().months, 6);
        assert_eq!(Within::parse("2y").unwrap().years, 2);
        let mixed = Within::parse("1y6m2w3d").unwrap();
        assert_eq!((mixed.years, mixed.months, mixed.days), (1, 6, 17));
        assert_eq!(mixed.to_string(), "1y6m17d");
        assert!(Within::parse("0d").unwrap().is_zero());
        for bad in ["", "30", "d", "30x", "3.5d", "-3d", "30 d", "1h", "m6"] {
            assert!(
                matches!(Within::parse(bad), Err(DurationError::Malformed { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            Within::parse("99999999999999999999999d"),
            Err(DurationError::TooLarge { .. })
        ));
        assert!(matches!(
            Within::parse("20000y"),
            Err(DurationError::TooLarge { .. })
        ));
    }

    #[test]
    fn cutoffs_follow_restics_calendar_arithmetic() {
        let w = |t: &str| Within::parse(t).unwrap();
        assert_eq!(w("30d").cutoff(day("2026-03-01")), day("2026-01-30"));
        assert_eq!(w("1w").cutoff(day("2026-01-03")), day("2025-12-27"));
        assert_eq!(w("1m").cutoff(day("2026-05-15")), day("2026-04-15"));
        // 31 March less one month is "31 February", which rolls over to 3 March (2 in a leap
        // year), as in Go's AddDate.
        assert_eq!(w("1m").cutoff(day("2026-03-31")), day("2026-03-03"));
        assert_eq!(w("1m").cutoff(day("2024-03-31")), day("2024-03-02"));
        assert_eq!(w("1y").cutoff(day("2024-02-29")), day("2023-03-01"));
        assert_eq!(w("2y").cutoff(day("2026-01-10")), day("2024-01-10"));
        assert_eq!(w("1y1m").cutoff(day("2026-01-10")), day("2024-12-10"));
    }
}
