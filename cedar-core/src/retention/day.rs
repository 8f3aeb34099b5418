//! A backup's day: the local calendar date of a staged day (`YYYY/MM/DD`) or of a bucket's day
//! prefix, counted in days since 1970-01-01 with the kernel's one calendar.

use std::fmt;

use crate::calendar::{civil_from_days, days_from_civil, Today};

/// A calendar day, as the number of days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i64);

impl Day {
    /// The day `year-month-day`, when it exists (no 31 April).
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        let number = days_from_civil(year, month, day);
        (civil_from_days(number) == (year, month, day)).then_some(Day(number))
    }

    /// The day of the three names of a daily directory, `YYYY`, `MM`, `DD`, each exactly that
    /// many ASCII digits; anything else is not a backup.
    pub fn from_names(year: &str, month: &str, day: &str) -> Option<Day> {
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) || !digits(day, 2) {
            return None;
        }
        Day::from_ymd(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
    }

    /// The day of a relative path `YYYY/MM/DD` (as [`Today::rel_path`] writes it).
    pub fn parse_rel(text: &str) -> Option<Day> {
        let mut parts = text.split('/');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Day::from_names(y, m, d)
    }

    /// The calendar day of `today`.
    pub fn of(today: &Today) -> Day {
        Day(days_from_civil(today.year, today.month, today.day))
    }

    /// The day `number` days after 1970-01-01.
    pub fn from_number(number: i64) -> Day {
        Day(number)
    }

    /// The day `n` days later (earlier when negative).
    pub fn plus(self, n: i64) -> Day {
        Day(self.0 + n)
    }

    /// Days since 1970-01-01.
    pub fn number(self) -> i64 {
        self.0
    }

    /// Year, month and day.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// The week it falls in, weeks running Monday to Sunday, as a number that grows by one
    /// each week (1970-01-01 was a Thursday, so day 4 is the first Monday).
    pub fn week(self) -> i64 {
        (self.0 + 3).div_euclid(7)
    }

    /// `YYYY/MM/DD`, the day's directory below the staging directory or the bucket prefix.
    pub fn rel_path(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{y:04}/{m:02}/{d:02}")
    }
}

/// `YYYY-MM-DD`.
impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_dates_in_four_two_two_digits_are_days() {
        assert_eq!(
            Day::parse_rel("2024/02/29").unwrap().to_string(),
            "2024-02-29"
        );
        for bad in [
            "2023/02/29",
            "2024/04/31",
            "2024/13/01",
            "2024/1/05",
            "24/01/05",
            "2024/01/05/x",
            "2024/01",
            "2024/0a/05",
            "+024/01/05",
        ] {
            assert!(Day::parse_rel(bad).is_none(), "{bad}");
        }
        let day = Day::parse_rel("1999/12/31").unwrap();
        assert_eq!(day.plus(1).rel_path(), "2000/01/01");
    }

    #[test]
    fn weeks_run_monday_to_sunday() {
        let monday = Day::from_ymd(2026, 11, 23).unwrap();
        let sunday = Day::from_ymd(2026, 11, 29).unwrap();
        assert_eq!(monday.week(), sunday.week());
        assert_eq!(sunday.plus(1).week(), monday.week() + 1);
        assert_eq!(monday.plus(-1).week(), monday.week() - 1);
        // Across a year end: Monday 2024-12-30 and Sunday 2025-01-05 are one week.
        let a = Day::from_ymd(2024, 12, 30).unwrap();
        let b = Day::from_ymd(2025, 1, 5).unwrap();
        assert_eq!(a.week(), b.week());
        assert_eq!(Day::of(&Today::parse("2026-11-23").unwrap()), monday);
    }
}
