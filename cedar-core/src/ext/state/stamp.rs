//! A naive local date and time to the microsecond: what the original's `datetime.today()`
//! gives, and what a `.mboxlast` file holds.

use std::fmt;

/// A local date and time without a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micro: u32,
}

impl Stamp {
    /// Now, local time.
    pub fn now() -> Stamp {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let local = crate::clock::local_time(since.as_secs() as i64);
        Stamp {
            year: local.year.clamp(1, 9999) as u16,
            month: local.month as u8,
            day: local.day as u8,
            hour: local.hour as u8,
            minute: local.minute as u8,
            second: local.second as u8,
            micro: since.subsec_micros(),
        }
    }

    /// The 10 bytes Python pickles a datetime as (year high and low, month, day, hour, minute,
    /// second, microseconds big-endian in 3 bytes); `None` when they are no valid datetime.
    /// The high bit of the month byte is Python's `fold`, which does not change the time.
    pub fn from_state(state: &[u8]) -> Option<Stamp> {
        let [y1, y0, month, day, hour, minute, second, m2, m1, m0] = *state else {
            return None;
        };
        let stamp = Stamp {
            year: u16::from_be_bytes([y1, y0]),
            month: month & 0x7F,
            day,
            hour,
            minute,
            second,
            micro: u32::from_be_bytes([0, m2, m1, m0]),
        };
        stamp.is_valid().then_some(stamp)
    }

    /// The inverse of [`Stamp::from_state`].
    pub fn state(&self) -> [u8; 10] {
        let [y1, y0] = self.year.to_be_bytes();
        let [_, m2, m1, m0] = self.micro.to_be_bytes();
        [
            y1,
            y0,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            m2,
            m1,
            m0,
        ]
    }

    fn is_valid(&self) -> bool {
        (1..=9999).contains(&self.year)
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
            && self.micro < 1_000_000
    }

    /// `YYYYMMDD`, as in the original's mbox file names.
    pub fn date_digits(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// `YYYY-MM-DDTHH:MM:SS`: to the second, as grepmail's `-d "since ..."` gets it.
    pub fn iso_seconds(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.micro
        )
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// 2026-12-01 21:26:07.268932, the stamp of the tests' pickles.
#[cfg(test)]
pub(crate) const SAMPLE: Stamp = Stamp {
    year: 2026,
    month: 12,
    day: 1,
    hour: 21,
    minute: 26,
    second: 7,
    micro: 268932,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_bytes_round_trip() {
        let stamp = SAMPLE;
        let state = stamp.state();
        assert_eq!(state, *b"\x07\xea\x0c\x01\x15\x1a\x07\x04\x1a\x84");
        assert_eq!(Stamp::from_state(&state), Some(stamp));
        assert_eq!(stamp.date_digits(), "20261201");
        assert_eq!(stamp.iso_seconds(), "2026-12-01T21:26:07");
        assert_eq!(stamp.to_string(), "2026-12-01 21:26:07.268932");
        let mut fold = state;
        fold[2] |= 0x80;
        assert_eq!(Stamp::from_state(&fold), Some(stamp));
    }

    #[test]
    fn impossible_dates_are_refused() {
        assert_eq!(
            Stamp::from_state(b"\x07\xea\x02\x1e\x00\x00\x00\x00\x00\x00"),
            None
        );
        assert_eq!(
            Stamp::from_state(b"\x07\xea\x0c\x01\x18\x00\x00\x00\x00\x00"),
            None
        );
        assert_eq!(Stamp::from_state(b"\x07\xea\x0c\x01"), None);
        assert!(Stamp::from_state(b"\x07\xe8\x02\x1d\x00\x00\x00\x00\x00\x00").is_some());
    }

    #[test]
    fn now_is_valid() {
        let now = Stamp::now();
        assert!(Stamp::from_state(&now.state()).is_some(), "{now}");
    }
}
