//! The one calendar of the workspace: [`Today`], a local calendar day with its weekday, used by
//! collect and purge (starting day, ages), stage and store (the daily directory `YYYY/MM/DD`),
//! the extensions (amazons3's daily directory) and the dump manifest (UTC times); and the one
//! civil-date algorithm ([`days_from_civil`], [`civil_from_days`]).
//!
//! Testing hook: when the environment variable `CEDAR_TODAY` holds a date `YYYY-MM-DD`, that
//! date is today (its weekday decides the starting-day rules, and purge measures ages from its
//! local noon). It exists so that end-to-end tests can pin the day; leave it unset in
//! production. Library callers pass a [`Today`] directly instead.

use std::path::{Path, PathBuf};

use crate::clock;
use crate::config::Weekday;

/// The environment variable of the testing hook.
pub const TODAY_ENV: &str = "CEDAR_TODAY";

/// A calendar day and its weekday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Today {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub weekday: Weekday,
    /// Seconds since the epoch at which ages are measured (now, or noon of a pinned day).
    pub now_secs: i64,
    /// The nanoseconds past `now_secs` (0 for a pinned day): purge measures ages exactly.
    pub now_subsec_nanos: u32,
}

impl Today {
    /// Today from the local clock, unless the testing hook [`TODAY_ENV`] pins it.
    pub fn current() -> Today {
        if let Ok(text) = std::env::var(TODAY_ENV) {
            match Today::parse(&text) {
                Some(today) => {
                    // Loud, because purge measures ages from this day.
                    tracing::warn!(
                        "Using today [{text}] from {TODAY_ENV}, a testing hook: weekday rules and \
                         purge ages follow it instead of the clock; unset it in production."
                    );
                    return today;
                }
                None => tracing::warn!(
                    "Ignoring {TODAY_ENV}=[{text}]: not a date YYYY-MM-DD; using the clock."
                ),
            }
        }
        let (secs, nanos) = clock::now_precise();
        let local = clock::local_time(secs);
        Today {
            year: local.year,
            month: local.month,
            day: local.day,
            weekday: local.weekday,
            now_secs: secs,
            now_subsec_nanos: nanos,
        }
    }

    /// Parses `YYYY-MM-DD` into a day whose `now_secs` is its noon, local time.
    pub fn parse(text: &str) -> Option<Today> {
        let mut parts = text.trim().splitn(3, '-');
        let year: i32 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        let days = days_from_civil(year, month, day);
        // Local noon: noon UTC moved by the zone's offset at that moment.
        let noon_utc = days * 86_400 + 12 * 3_600;
        let local = clock::local_time(noon_utc);
        let local_wall = days_from_civil(local.year, local.month, local.day) * 86_400
            + i64::from(local.hour) * 3_600
            + i64::from(local.minute) * 60
            + i64::from(local.second);
        let offset = local_wall - noon_utc;
        Some(Today {
            year,
            month,
            day,
            weekday: weekday_of(days),
            now_secs: noon_utc - offset,
            now_subsec_nanos: 0,
        })
    }

    /// The calendar day `days` days after this one (before it when negative), its weekday and
    /// its `now_secs` moved by whole days.
    pub fn days_after(&self, days: i64) -> Today {
        let number = days_from_civil(self.year, self.month, self.day) + days;
        let (year, month, day) = civil_from_days(number);
        Today {
            year,
            month,
            day,
            weekday: weekday_of(number),
            now_secs: self.now_secs + days * 86_400,
            now_subsec_nanos: self.now_subsec_nanos,
        }
    }

    /// Nanoseconds since the epoch at which ages are measured: `now_secs` with its fraction.
    pub fn now_nanos(&self) -> i128 {
        i128::from(self.now_secs) * 1_000_000_000 + i128::from(self.now_subsec_nanos)
    }

    /// `YYYY/MM/DD`, the day's directory below a staging directory and on a disc.
    pub fn rel_path(&self) -> String {
        format!("{:04}/{:02}/{:02}", self.year, self.month, self.day)
    }

    /// The day's directory below `root`: `root/YYYY/MM/DD`.
    pub fn dir_in(&self, root: &Path) -> PathBuf {
        root.join(self.rel_path())
    }

    /// Whether today is the configured starting day of the week.
    pub fn is_starting_day(&self, starting_day: Weekday) -> bool {
        self.weekday == starting_day
    }
}

/// UTC RFC 3339 text of `secs` seconds since the epoch, e.g. `2026-11-25T15:19:32Z`.
pub fn rfc3339(secs: i64) -> String {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (inverse of
/// [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

fn weekday_of(days_since_epoch: i64) -> Weekday {
    // 1970-01-01 was a Thursday, day 4 of the week counted from Sunday.
    weekday_from_sunday(days_since_epoch + 4)
}

/// The weekday numbered as C's `tm_wday` numbers it: Sunday is 0 (any multiple of 7 away).
pub(crate) fn weekday_from_sunday(n: i64) -> Weekday {
    match n.rem_euclid(7) {
        0 => Weekday::Sunday,
        1 => Weekday::Monday,
        2 => Weekday::Tuesday,
        3 => Weekday::Wednesday,
        4 => Weekday::Thursday,
        5 => Weekday::Friday,
        _ => Weekday::Saturday,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_of_known_dates() {
        assert_eq!(Today::parse("2025-11-24").unwrap().weekday, Weekday::Monday);
        assert_eq!(
            Today::parse("2024-02-29").unwrap().weekday,
            Weekday::Thursday
        );
        assert_eq!(
            Today::parse("1970-01-01").unwrap().weekday,
            Weekday::Thursday
        );
        assert_eq!(Today::parse("2000-01-02").unwrap().weekday, Weekday::Sunday);
    }

    #[test]
    fn days_after_crosses_months_and_years() {
        let day = Today::parse("2026-03-01").unwrap();
        let before = day.days_after(-1);
        assert_eq!((before.year, before.month, before.day), (2026, 2, 28));
        assert_eq!(before.weekday, Weekday::Saturday);
        let leap = Today::parse("2024-02-28").unwrap().days_after(1);
        assert_eq!((leap.year, leap.month, leap.day), (2024, 2, 29));
        let new_year = Today::parse("2025-12-31").unwrap().days_after(1);
        assert_eq!((new_year.year, new_year.month, new_year.day), (2026, 1, 1));
        for n in [-800_000i64, -1, 0, 1, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(n);
            assert_eq!(days_from_civil(y, m, d), n);
        }
    }

    #[test]
    fn directories_of_days_around_month_and_year_ends() {
        let d = Today::parse("2026-12-31").unwrap();
        assert_eq!(d.days_after(1).rel_path(), "2027/01/01");
        assert_eq!(d.days_after(-31).rel_path(), "2026/11/30");
        let leap = Today::parse("2024-03-01").unwrap();
        assert_eq!(leap.days_after(-1).rel_path(), "2024/02/29");
        assert_eq!(leap.weekday, Weekday::Friday);
        assert_eq!(
            leap.dir_in(Path::new("/stage")),
            Path::new("/stage/2024/03/01")
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(Today::parse("2025-13-01").is_none());
        assert!(Today::parse("yesterday").is_none());
        assert!(Today::parse("2025-11").is_none());
    }

    #[test]
    fn starting_day_compares_weekdays() {
        let monday = Today::parse("2025-11-24").unwrap();
        assert!(monday.is_starting_day(Weekday::Monday));
        assert!(!monday.is_starting_day(Weekday::Sunday));
    }
}
