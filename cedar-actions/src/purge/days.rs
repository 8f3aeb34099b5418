//! The staged days below a staging directory as backups: every `YYYY/MM/DD` directory (four,
//! two and two digits naming a real date, no level a soft link), pinned when it holds
//! `cback.keep`, with each peer's outcome from `cback.stage.json`, or, without that record,
//! its subdirectories counted as good copies. Anything else is not a backup.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::PurgeError;
use cedar_core::{
    daily_dirs, real_subdirs, BackupDay, CopyState, DatedBackup, StageRecord, StagedError,
    PIN_FILE, RESERVED_PREFIX,
};

/// One staged day and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedDay {
    pub backup: DatedBackup,
    pub path: PathBuf,
}

/// The name of the last component of `path`.
fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A listing error of the staging tree below `dir`, naming the directory that failed.
fn listed(dir: &Path) -> impl Fn(StagedError) -> PurgeError + '_ {
    move |source| match source {
        StagedError::ReadDir { path, source } => PurgeError::List { path, source },
        other => PurgeError::List {
            path: dir.to_path_buf(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}

/// Every staged day below `staging_dir`, oldest first: the daily directories of the staging
/// tree ([`daily_dirs`]) whose three names are a date.
pub fn staged_days(staging_dir: &Path) -> Result<Vec<StagedDay>, PurgeError> {
    let mut days = Vec::new();
    for path in daily_dirs(staging_dir).map_err(listed(staging_dir))? {
        let month = path.parent().unwrap_or(&path);
        let year = month.parent().unwrap_or(month);
        let Some(date) = BackupDay::from_names(&name(year), &name(month), &name(&path)) else {
            continue;
        };
        days.push(StagedDay {
            backup: backup_of(date, &path)?,
            path,
        });
    }
    Ok(days)
}

fn backup_of(day: BackupDay, path: &Path) -> Result<DatedBackup, PurgeError> {
    let record = StageRecord::read(path).map_err(|source| PurgeError::Record {
        path: path.to_path_buf(),
        source,
    })?;
    let peers = match record {
        Some(record) => record.copies(),
        None => real_subdirs(path)
            .map_err(listed(path))?
            .iter()
            .map(|dir| name(dir))
            .filter(|name| !name.starts_with(RESERVED_PREFIX) && !name.starts_with('.'))
            .map(|name| (name, CopyState::Good))
            .collect(),
    };
    Ok(DatedBackup {
        day,
        pinned: fs::symlink_metadata(path.join(PIN_FILE)).is_ok(),
        peers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::PeerOutcome;

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
