//! Local time as the original sees it: timestamps with the zone abbreviation for the log, and
//! today's weekday for the starting-day rules.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::calendar::weekday_from_sunday;
use crate::config::Weekday;

/// A broken-down local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub weekday: Weekday,
    /// The zone abbreviation, e.g. `UTC` or `CET`.
    pub zone: String,
}

impl LocalTime {
    /// `YYYY-MM-DDTHH:MM:SS TZ`, the log file's timestamp.
    pub fn log_stamp(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02} {}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.zone
        )
    }
}

#[allow(unsafe_code)]
extern "C" {
    fn tzset();
}

/// The local time at `secs` seconds since the epoch.
#[allow(unsafe_code)]
pub fn local_time(secs: i64) -> LocalTime {
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: tzset and localtime_r are thread-safe with a caller-owned tm; strftime writes at
    // most buf.len() bytes into buf and returns the count written.
    unsafe {
        tzset();
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        let mut buf = [0u8; 64];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%Z".as_ptr(), &tm);
        let zone = String::from_utf8_lossy(&buf[..n]).into_owned();
        LocalTime {
            year: tm.tm_year + 1900,
            month: (tm.tm_mon + 1) as u32,
            day: tm.tm_mday as u32,
            hour: tm.tm_hour as u32,
            minute: tm.tm_min as u32,
            second: tm.tm_sec as u32,
            weekday: weekday_from_sunday(i64::from(tm.tm_wday)),
            zone,
        }
    }
}

/// Seconds since the epoch now.
pub fn now_secs() -> i64 {
    now_precise().0
}

/// Seconds since the epoch now and the nanoseconds past that second.
pub fn now_precise() -> (i64, u32) {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_secs() as i64, d.subsec_nanos()))
        .unwrap_or_default()
}

/// The local time now.
pub fn now() -> LocalTime {
    local_time(now_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_in_utc() {
        std::env::set_var("TZ", "UTC");
        let t = local_time(0);
        assert_eq!(t.log_stamp(), "1970-01-01T00:00:00 UTC");
        assert_eq!(t.weekday, Weekday::Thursday);
        let t = local_time(1_764_000_000); // 2025-11-24T16:00:00Z, a Monday
        assert_eq!(t.weekday, Weekday::Monday);
        assert_eq!((t.year, t.month, t.day), (2025, 11, 24));
    }
}
