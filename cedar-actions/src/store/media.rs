//! The media types of `<store><media_type>`: capacity, lead-ins, whether they can be rewritten,
//! the media label, and sizes written the way the original writes them in messages.

use cedar_core::{MediaType, Today};

/// Bytes per sector (CD and DVD alike).
pub const SECTOR_BYTES: u64 = 2048;

/// What the writers need to know about a media type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediaInfo {
    /// The name as written in the configuration, e.g. `cdrw-74`.
    pub name: &'static str,
    pub rewritable: bool,
    pub dvd: bool,
    /// Nominal capacity in sectors (a DVD's 4.4 GB is not a whole number of sectors).
    pub capacity_sectors: f64,
    /// Sectors taken by the lead-in of the first session (CD only).
    pub initial_lead_in: f64,
    /// Sectors taken by the lead-in of each later session (CD only).
    pub lead_in: f64,
}

const MB: f64 = 1024.0 * 1024.0;
const GB: f64 = 1024.0 * MB;

impl MediaInfo {
    pub fn of(media: MediaType) -> MediaInfo {
        let cd = |name, rewritable, megabytes: f64| MediaInfo {
            name,
            rewritable,
            dvd: false,
            capacity_sectors: megabytes * MB / SECTOR_BYTES as f64,
            initial_lead_in: 11_400.0,
            lead_in: 6_900.0,
        };
        let dvd = |name, rewritable| MediaInfo {
            name,
            rewritable,
            dvd: true,
            capacity_sectors: 4.4 * GB / SECTOR_BYTES as f64,
            initial_lead_in: 0.0,
            lead_in: 0.0,
        };
        match media {
            MediaType::Cdr74 => cd("cdr-74", false, 650.0),
            MediaType::Cdrw74 => cd("cdrw-74", true, 650.0),
            MediaType::Cdr80 => cd("cdr-80", false, 700.0),
            MediaType::Cdrw80 => cd("cdrw-80", true, 700.0),
            MediaType::DvdPlusR => dvd("dvd+r", false),
            MediaType::DvdPlusRw => dvd("dvd+rw", true),
        }
    }

    /// Nominal capacity in bytes.
    pub fn capacity_bytes(&self) -> f64 {
        self.capacity_sectors * SECTOR_BYTES as f64
    }
}

/// The label of media written on `today`: `CEDAR BACKUP DD-MON-YYYY`, English month in upper
/// case whatever the locale.
pub fn media_label(today: &Today) -> String {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let month = MONTHS[(today.month.clamp(1, 12) - 1) as usize];
    format!("{LABEL_PREFIX} {:02}-{month}-{:04}", today.day, today.year)
}

/// What every label of initialized media starts with.
pub const LABEL_PREFIX: &str = "CEDAR BACKUP";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities() {
        assert_eq!(MediaInfo::of(MediaType::Cdr74).capacity_sectors, 332_800.0);
        assert_eq!(MediaInfo::of(MediaType::Cdrw80).capacity_sectors, 358_400.0);
        let dvd = MediaInfo::of(MediaType::DvdPlusRw);
        assert!((dvd.capacity_sectors - 2_306_867.2).abs() < 1e-6);
        assert!(dvd.rewritable && dvd.dvd);
        assert!(!MediaInfo::of(MediaType::DvdPlusR).rewritable);
    }

    #[test]
    fn label_is_english_upper_case() {
        let day = Today::parse("2026-12-01").unwrap();
        assert_eq!(media_label(&day), "CEDAR BACKUP 01-DEC-2026");
        let day = Today::parse("2027-05-09").unwrap();
        assert_eq!(media_label(&day), "CEDAR BACKUP 09-MAY-2027");
    }
}
