//! Which daily staging directories store and rebuild write.

use std::path::{Path, PathBuf};

use cedar_core::Weekday;

use super::error::StoreError;
use super::indicator::{STAGE_INDICATOR, STORE_INDICATOR};
use cedar_core::Today;

/// A daily directory: its day and its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyDir {
    pub day: Today,
    pub path: PathBuf,
}

impl DailyDir {
    /// `YYYY/MM/DD`.
    pub fn rel(&self) -> String {
        self.day.rel_path()
    }
}

fn staged(dir: &Path) -> bool {
    dir.is_dir() && dir.join(STAGE_INDICATOR).exists()
}

/// store: the first of today, yesterday and tomorrow that holds `cback.stage` and no
/// `cback.store`; with `full`, only today, whether stored or not.
pub fn store_dir(
    staging: &Path,
    today: Today,
    full: bool,
    warn_midnite: bool,
) -> Result<DailyDir, StoreError> {
    if full {
        let path = today.dir_in(staging);
        if staged(&path) {
            tracing::info!(
                "Store process will use current day's stage directory [{}]",
                path.display()
            );
            return Ok(DailyDir { day: today, path });
        }
        return Err(StoreError::NothingToStoreFull { dir: path });
    }
    let candidates = [(0, "current"), (-1, "previous"), (1, "next")];
    for (offset, which) in candidates {
        let day = today.days_after(offset);
        let path = day.dir_in(staging);
        if staged(&path) && !path.join(STORE_INDICATOR).exists() {
            tracing::info!(
                "Store process will use {which} day's stage directory [{}]",
                path.display()
            );
            if offset != 0 && warn_midnite {
                tracing::warn!("Warning: store process crossed midnite boundary to find data.");
            }
            return Ok(DailyDir { day, path });
        }
    }
    let tried: Vec<String> = candidates
        .iter()
        .map(|(offset, _)| {
            today
                .days_after(*offset)
                .dir_in(staging)
                .display()
                .to_string()
        })
        .collect();
    Err(StoreError::NothingToStore {
        tried: tried.join(", "),
    })
}

/// The newest daily directory `YYYY/MM/DD` below `staging` that holds `cback.stage`, stored or
/// not, with its path: the size of a night's store, as `cback doctor` measures it. `None`
/// when there is none (or no staging directory).
pub fn newest_staged(staging: &Path) -> Option<(String, PathBuf)> {
    cedar_core::daily_dirs(staging)
        .ok()?
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(staging).ok()?.to_str()?.to_string();
            (cedar_core::is_day_path(&rel) && staged(&path)).then_some((rel, path))
        })
        .max()
}

/// rebuild: today and each day before it back to the most recent starting day, newest first,
/// that holds `cback.stage` (`cback.store` does not matter).
pub fn rebuild_dirs(
    source: &Path,
    today: Today,
    starting_day: Weekday,
) -> Result<Vec<DailyDir>, StoreError> {
    let mut days = Vec::new();
    for back in 0..7 {
        let day = today.days_after(-back);
        days.push(day);
        if day.weekday == starting_day {
            break;
        }
    }
    let dirs: Vec<DailyDir> = days
        .iter()
        .map(|&day| DailyDir {
            day,
            path: day.dir_in(source),
        })
        .filter(|d| staged(&d.path))
        .collect();
    for d in &dirs {
        tracing::info!(
            "Rebuild process will include stage directory [{}]",
            d.path.display()
        );
    }
    if dirs.is_empty() {
        return Err(StoreError::NothingToRebuild {
            root: source.to_path_buf(),
            first: days.last().map(|d| d.rel_path()).unwrap_or_default(),
            last: today.rel_path(),
        });
    }
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn day(text: &str) -> Today {
        Today::parse(text).unwrap()
    }

    fn stage(root: &Path, rel: &str, stored: bool) {
        let dir = root.join(rel);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(STAGE_INDICATOR), "").unwrap();
        if stored {
            fs::write(dir.join(STORE_INDICATOR), "").unwrap();
        }
    }

    #[test]
    fn store_prefers_today_then_yesterday_then_tomorrow() {
        let root = tempfile::tempdir().unwrap();
        let today = day("2026-12-01");
        assert!(store_dir(root.path(), today, false, false).is_err());
        stage(root.path(), "2026/12/02", false);
        assert_eq!(
            store_dir(root.path(), today, false, true).unwrap().rel(),
            "2026/12/02"
        );
        stage(root.path(), "2026/11/30", false);
        assert_eq!(
            store_dir(root.path(), today, false, false).unwrap().rel(),
            "2026/11/30"
        );
        stage(root.path(), "2026/12/01", true);
        assert_eq!(
            store_dir(root.path(), today, false, false).unwrap().rel(),
            "2026/11/30"
        );
        assert_eq!(
            store_dir(root.path(), today, true, false).unwrap().rel(),
            "2026/12/01"
        );
        stage(root.path(), "2026/11/29", false);
        stage(root.path(), "2026/11/30", true);
        stage(root.path(), "2026/12/02", true);
        let err = store_dir(root.path(), today, false, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("Unable to find unused staging directory"),
            "{err}"
        );
    }

    #[test]
    fn the_newest_staged_day_is_the_latest_date_with_cback_stage() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(newest_staged(root.path()), None);
        assert_eq!(newest_staged(&root.path().join("gone")), None);
        stage(root.path(), "2026/11/30", true);
        stage(root.path(), "2026/12/01", false);
        // Not staged (no cback.stage), and not a date: neither counts.
        fs::create_dir_all(root.path().join("2026/12/02")).unwrap();
        stage(root.path(), "2026/12/xx", false);
        let (rel, path) = newest_staged(root.path()).unwrap();
        assert_eq!(rel, "2026/12/01");
        assert_eq!(path, root.path().join("2026/12/01"));
    }

    #[test]
    fn rebuild_goes_back_to_the_starting_day() {
        let root = tempfile::tempdir().unwrap();
        for rel in ["2026/11/28", "2026/11/29", "2026/11/30", "2026/12/02"] {
            stage(root.path(), rel, true);
        }
        // 2026-12-01 is a Tuesday; the week started on Sunday 2026-11-29.
        let dirs = rebuild_dirs(root.path(), day("2026-12-01"), Weekday::Sunday).unwrap();
        let rels: Vec<String> = dirs.iter().map(DailyDir::rel).collect();
        assert_eq!(rels, ["2026/11/30", "2026/11/29"]);
        let dirs = rebuild_dirs(root.path(), day("2026-11-30"), Weekday::Monday).unwrap();
        assert_eq!(dirs.len(), 1);
        assert!(rebuild_dirs(root.path(), day("2026-12-01"), Weekday::Tuesday).is_err());
    }
}
