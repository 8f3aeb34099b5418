//! The purge action: removes files older than retain_days below each configured directory,
//! then the directories that are left empty. The configured directory itself always stays.
//!
//! Age is the time since the later of a file's access and modification times, in whole days
//! rounded down; files younger than retain_days stay. Beyond the original, purge refuses `/`,
//! never follows a soft link (a link is judged and removed as itself, so nothing outside the
//! configured directory is touched), logs each removal at debug level and a count at info.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::action::{
    Action, ActionContext, ActionError, ActionKind, ActionRegistration, Placement,
};
use crate::actions::collect::error::chain_message;
use crate::actions::collect::Today;
use crate::config::Config;

const SECONDS_PER_DAY: i64 = 86_400;

/// Why the purge action failed.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("the purge action needs an <options> section; add one to the configuration")]
    MissingOptions,
    #[error("the purge action needs a <purge> section; add one to the configuration")]
    MissingSection,
    #[error("<purge><dir> entry {index} has no <{element}>; set it in the configuration")]
    MissingValue { index: usize, element: &'static str },
    #[error("purge directory {}: not a directory or does not exist on disk; create it or fix its <abs_path>", path.display())]
    NotADirectory { path: PathBuf },
    #[error("purge directory {}: refusing to purge the root directory; configure a directory below it", path.display())]
    Root { path: PathBuf },
    #[error("purge directory {}: cannot resolve it; check that it exists and is readable", path.display())]
    Resolve {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("interrupted")]
    Interrupted,
}

impl From<PurgeError> for ActionError {
    fn from(err: PurgeError) -> Self {
        match err {
            PurgeError::Interrupted => ActionError::Interrupted,
            other => ActionError::with_source(chain_message(&other), other),
        }
    }
}

/// What one directory's purge removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PurgeCount {
    pub files: u64,
    pub dirs: u64,
}

/// A file's age in whole days at `now`: since the later of atime and mtime, rounded down,
/// never negative.
pub fn age_days(atime: i64, mtime: i64, now: i64) -> i64 {
    (now - atime.max(mtime)).max(0).div_euclid(SECONDS_PER_DAY)
}

/// Whether a file of `age` days is removed with `retain_days`.
pub fn is_expired(age: i64, retain_days: i64) -> bool {
    age >= retain_days
}

/// Runs the purge action on `config`, measuring ages at `now` (seconds since the epoch).
pub fn purge(config: &Config, now: i64) -> Result<(), PurgeError> {
    config.options.as_ref().ok_or(PurgeError::MissingOptions)?;
    let section = config.purge.as_ref().ok_or(PurgeError::MissingSection)?;
    for (i, dir) in section.dirs.iter().enumerate() {
        let path = dir.abs_path.as_ref().ok_or(PurgeError::MissingValue {
            index: i + 1,
            element: "abs_path",
        })?;
        let retain = dir.retain_days.ok_or(PurgeError::MissingValue {
            index: i + 1,
            element: "retain_days",
        })?;
        let count = purge_dir(Path::new(path), retain, now)?;
        tracing::info!(
            "Purged {} files and {} empty directories from [{path}] (retain {retain} days).",
            count.files,
            count.dirs
        );
    }
    Ok(())
}

/// Purges below `root`: files older than `retain_days`, then empty directories.
pub fn purge_dir(root: &Path, retain_days: i64, now: i64) -> Result<PurgeCount, PurgeError> {
    tracing::debug!(
        "Purging [{}], retaining {retain_days} days.",
        root.display()
    );
    if !root.is_dir() {
        return Err(PurgeError::NotADirectory {
            path: root.to_path_buf(),
        });
    }
    let real = fs::canonicalize(root).map_err(|source| PurgeError::Resolve {
        path: root.to_path_buf(),
        source,
    })?;
    if real.parent().is_none() {
        return Err(PurgeError::Root {
            path: root.to_path_buf(),
        });
    }
    let mut count = PurgeCount::default();
    purge_files(&real, retain_days, now, &mut count)?;
    remove_empty_dirs(&real, &mut count)?;
    Ok(count)
}

/// Removes expired files and links below `dir`, descending only into real directories.
fn purge_files(
    dir: &Path,
    retain_days: i64,
    now: i64,
    count: &mut PurgeCount,
) -> Result<(), PurgeError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            tracing::debug!("Cannot list [{}]: {err}; skipped.", dir.display());
            return Ok(());
        }
    };
    for entry in entries.flatten() {
        if crate::interrupt::requested() {
            return Err(PurgeError::Interrupted);
        }
        let path = entry.path();
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(err) => {
                tracing::debug!("Cannot examine [{}]: {err}; skipped.", path.display());
                continue;
            }
        };
        if meta.file_type().is_dir() {
            purge_files(&path, retain_days, now, count)?;
            continue;
        }
        let age = age_days(meta.atime(), meta.mtime(), now);
        if !is_expired(age, retain_days) {
            continue;
        }
        match fs::remove_file(&path) {
            Ok(()) => {
                tracing::debug!("Purged file [{}] ({age} days old).", path.display());
                count.files += 1;
            }
            Err(err) => tracing::debug!("Cannot remove [{}]: {err}; skipped.", path.display()),
        }
    }
    Ok(())
}

/// Removes the empty directories below `dir` (deepest first); never `dir` itself.
fn remove_empty_dirs(dir: &Path, count: &mut PurgeCount) -> Result<(), PurgeError> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if !is_dir {
            continue;
        }
        let path = entry.path();
        remove_empty_dirs(&path, count)?;
        let empty = fs::read_dir(&path)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if empty {
            match fs::remove_dir(&path) {
                Ok(()) => {
                    tracing::debug!("Purged empty directory [{}].", path.display());
                    count.dirs += 1;
                }
                Err(err) => {
                    tracing::debug!(
                        "Cannot remove directory [{}]: {err}; skipped.",
                        path.display()
                    )
                }
            }
        }
    }
    Ok(())
}

#[derive(Debug)]
struct PurgeAction;

impl Action for PurgeAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        tracing::debug!("Executing the 'purge' action.");
        purge(&ctx.config.config, Today::current().now_secs)?;
        tracing::info!("Executed the 'purge' action successfully.");
        Ok(())
    }
}

inventory::submit! {
    ActionRegistration {
        name: "purge",
        kind: ActionKind::Builtin,
        placement: Placement { index: 400, run_before: &[], run_after: &[] },
        action: &PurgeAction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::stat::{utimensat, UtimensatFlags};
    use nix::sys::time::TimeSpec;

    const NOW: i64 = 1_764_000_000;

    fn set_times(path: &Path, atime: i64, mtime: i64) {
        utimensat(
            None,
            path,
            &TimeSpec::new(atime, 0),
            &TimeSpec::new(mtime, 0),
            UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
    }

    fn days_ago(d: f64) -> i64 {
        NOW - (d * SECONDS_PER_DAY as f64) as i64
    }

    #[test]
    fn age_rounds_down_and_uses_the_later_time() {
        assert_eq!(age_days(days_ago(10.0), days_ago(10.0), NOW), 10);
        assert_eq!(age_days(days_ago(4.99), days_ago(30.0), NOW), 4);
        assert_eq!(age_days(days_ago(30.0), days_ago(5.0), NOW), 5);
        assert_eq!(age_days(NOW + 100, NOW + 100, NOW), 0);
        assert!(is_expired(5, 5));
        assert!(!is_expired(4, 5));
        assert!(is_expired(0, 0), "retain_days 0 removes everything");
    }

    #[test]
    fn removes_old_files_and_empty_dirs_but_never_the_root_or_outside() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("p");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(root.join("d/e")).unwrap();
        fs::create_dir_all(root.join("empty")).unwrap();
        fs::create_dir_all(root.join("keep")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        for f in ["old", "new", "d/e/old2", "keep/new2"] {
            fs::write(root.join(f), b"x").unwrap();
        }
        fs::write(outside.join("victim"), b"x").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("outlink")).unwrap();
        set_times(&root.join("old"), days_ago(10.0), days_ago(10.0));
        set_times(&root.join("d/e/old2"), days_ago(10.0), days_ago(10.0));
        set_times(&root.join("new"), days_ago(2.0), days_ago(2.0));
        set_times(&root.join("keep/new2"), days_ago(4.9), days_ago(20.0));
        set_times(&outside.join("victim"), days_ago(10.0), days_ago(10.0));
        set_times(&root.join("outlink"), days_ago(1.0), days_ago(1.0));

        let count = purge_dir(&root, 5, NOW).unwrap();
        assert_eq!(count, PurgeCount { files: 2, dirs: 3 });
        assert!(root.is_dir());
        assert!(!root.join("old").exists());
        assert!(root.join("new").exists());
        assert!(root.join("keep/new2").exists());
        assert!(!root.join("d").exists() && !root.join("empty").exists());
        assert!(
            fs::symlink_metadata(root.join("outlink")).is_ok(),
            "young link stays"
        );
        assert!(outside.join("victim").exists(), "never followed");

        let count = purge_dir(&root, 0, NOW).unwrap();
        assert_eq!(count.files, 3);
        assert_eq!(fs::read_dir(&root).unwrap().count(), 0);
        assert!(root.is_dir());
        assert!(outside.join("victim").exists());
    }

    #[test]
    fn refuses_root_and_missing_dirs() {
        assert!(matches!(
            purge_dir(Path::new("/"), 0, NOW),
            Err(PurgeError::Root { .. })
        ));
        assert!(matches!(
            purge_dir(Path::new("/nonexistent/cback-purge"), 0, NOW),
            Err(PurgeError::NotADirectory { .. })
        ));
    }
}
