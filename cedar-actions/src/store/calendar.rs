//! Calendar days for the optical actions: today, the days around it, and a day's staging
//! directory `YYYY/MM/DD`.

use std::path::{Path, PathBuf};

use cedar_core::calendar::{days_from_civil, Today};
use cedar_core::config::Weekday;

/// A calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Day {
    pub fn of(today: &Today) -> Day {
        Day {
            year: today.year,
            month: today.month,
            day: today.day,
        }
    }

    /// The day `days` after this one (before it when negative).
    pub fn offset(self, days: i64) -> Day {
        civil_from_days(days_from_civil(self.year, self.month, self.day) + days)
    }

    pub fn weekday(self) -> Weekday {
        const WEEK: [Weekday; 7] = [
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
        ];
        WEEK[days_from_civil(self.year, self.month, self.day).rem_euclid(7) as usize]
    }

    /// `YYYY/MM/DD`, the day's directory below a staging directory and on the disc.
    pub fn rel_path(self) -> String {
        format!("{:04}/{:02}/{:02}", self.year, self.month, self.day)
    }

    /// The day's directory below `root`.
    pub fn dir_in(self, root: &Path) -> PathBuf {
        root.join(self.rel_path())
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01.
fn civil_from_days(days: i64) -> Day {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Day { year, month, day }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_cross_months_and_years() {
        let d = Day {
            year: 2026,
            month: 12,
            day: 31,
        };
        assert_eq!(d.offset(1).rel_path(), "2027/01/01");
        assert_eq!(d.offset(-31).rel_path(), "2026/11/30");
        let leap = Day {
            year: 2024,
            month: 3,
            day: 1,
        };
        assert_eq!(leap.offset(-1).rel_path(), "2024/02/29");
        assert_eq!(leap.weekday(), Weekday::Friday);
        for n in -800..800 {
            let back = civil_from_days(n);
            assert_eq!(days_from_civil(back.year, back.month, back.day), n);
        }
    }
}
