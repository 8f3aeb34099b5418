//! "Today" for the collect and purge actions: the local date and weekday.
//!
//! Testing hook: when the environment variable `CEDAR_TODAY` holds a date `YYYY-MM-DD`, that
//! date is today (its weekday decides the starting-day rules, and purge measures ages from its
//! local noon). It exists so that end-to-end tests can pin the day; leave it unset in
//! production. Library callers pass a [`Today`] directly instead.

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
        let secs = clock::now_secs();
        let local = clock::local_time(secs);
        Today {
            year: local.year,
            month: local.month,
            day: local.day,
            weekday: local.weekday,
            now_secs: secs,
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
        })
    }

    /// Whether today is the configured starting day of the week.
    pub fn is_starting_day(&self, starting_day: Weekday) -> bool {
        self.weekday == starting_day
    }
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

fn weekday_of(days_since_epoch: i64) -> Weekday {
    // 1970-01-01 was a Thursday.
    match days_since_epoch.rem_euclid(7) {
        0 => Weekday::Thursday,
        1 => Weekday::Friday,
        2 => Weekday::Saturday,
        3 => Weekday::Sunday,
        4 => Weekday::Monday,
        5 => Weekday::Tuesday,
        _ => Weekday::Wednesday,
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
