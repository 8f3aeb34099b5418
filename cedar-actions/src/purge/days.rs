//! The staged days below a staging directory as backups: every `YYYY/MM/DD` directory (four,
//! two and two digits naming a real date, no level a soft link), pinned when it holds
//! `cback.keep`, with each peer's outcome from `cback.stage.json`, or, without that record,
//! its subdirectories counted as good copies. Anything else is not a backup.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::PurgeError;
use cedar_core::retention::{Backup, CopyState, Day, StageRecord, PIN_FILE};
use cedar_core::staged::RESERVED_PREFIX;

/// One staged day and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedDay {
    pub backup: Backup,
    pub path: PathBuf,
}

/// The real (not linked) subdirectories of `dir`, by name.
fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, PurgeError> {
    let list = |source| PurgeError::List {
        path: dir.to_path_buf(),
        source,
    };
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(list)? {
        let entry = entry.map_err(list)?;
        if entry.file_type().map_err(list)?.is_dir() {
            if let Ok(name) = entry.file_name().into_string() {
                found.push((name, entry.path()));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Every staged day below `staging_dir`, oldest first.
pub fn staged_days(staging_dir: &Path) -> Result<Vec<StagedDay>, PurgeError> {
    let mut days = Vec::new();
    for (year, year_path) in subdirs(staging_dir)? {
        for (month, month_path) in subdirs(&year_path)? {
            for (day, day_path) in subdirs(&month_path)? {
                let Some(date) = Day::from_names(&year, &month, &day) else {
                    continue;
                };
                days.push(StagedDay {
                    backup: backup_of(date, &day_path)?,
                    path: day_path,
                });
            }
        }
    }
    Ok(days)
}

fn backup_of(day: Day, path: &Path) -> Result<Backup, PurgeError> {
    let record = StageRecord::read(path).map_err(|source| PurgeError::Record {
        path: path.to_path_buf(),
        source,
    })?;
    let peers = match record {
        Some(record) => record.copies(),
        None => subdirs(path)?
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| !name.starts_with(RESERVED_PREFIX) && !name.starts_with('.'))
            .map(|name| (name, CopyState::Good))
            .collect(),
    };
    Ok(Backup {
        day,
        pinned: fs::symlink_metadata(path.join(PIN_FILE)).is_ok(),
        peers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::retention::PeerOutcome;

    #[test]
    fn only_dated_directories_are_days_and_records_and_pins_are_read() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for d in [
            "2026/01/05/alpha",
            "2026/01/05/cback.encrypt.journal",
            "2026/01/06",
            "2026/02/30/alpha",
            "2026/1/07/alpha",
            "lost+found/01/01",
            "2026/03/x1",
        ] {
            fs::create_dir_all(r.join(d)).unwrap();
        }
        fs::write(r.join("2026/01/06/cback.keep"), "").unwrap();
        fs::write(r.join("2026/01/05/alpha/file"), "x").unwrap();
        fs::create_dir_all(r.join("elsewhere/a")).unwrap();
        std::os::unix::fs::symlink(r.join("elsewhere"), r.join("2026/01/08")).unwrap();
        let mut record = StageRecord::all(["alpha", "beta"], PeerOutcome::Good);
        record.peers.insert("beta".into(), PeerOutcome::Failed);
        record.write(&r.join("2026/01/06"), None).unwrap();

        let days = staged_days(r).unwrap();
        let names: Vec<String> = days.iter().map(|d| d.backup.day.to_string()).collect();
        assert_eq!(names, ["2026-01-05", "2026-01-06"]);
        assert_eq!(
            days[0].backup.peers,
            [("alpha".to_string(), CopyState::Good)]
        );
        assert!(days[0].backup.is_good() && !days[0].backup.pinned);
        assert!(days[1].backup.pinned && !days[1].backup.is_good());
        assert_eq!(days[1].path, r.join("2026/01/06"));

        fs::write(r.join("2026/01/05/cback.stage.json"), "garbage").unwrap();
        let err = staged_days(r).unwrap_err();
        assert!(matches!(err, PurgeError::Record { .. }), "{err}");
    }
}
