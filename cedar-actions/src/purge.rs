//! The purge action: removes files older than retain_days below each configured directory,
//! then the directories that are left empty. The configured directory itself always stays.
//!
//! Age is the time since the later of a file's access and modification times, in whole days
//! rounded down, measured exactly (to the nanosecond, as the original's fractional seconds: a
//! file 0.5 s short of a day is 0 days old); files younger than retain_days stay. Beyond the original, purge refuses `/`,
//! never follows a soft link (a link is judged and removed as itself, so nothing outside the
//! configured directory is touched), logs each removal at debug level and a count at info.

use std::ffi::{CString, OsStr};
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

use crate::collect::chain_message;
use cedar_core::{
    Action, ActionContext, ActionError, ActionKind, ActionRegistration, Config, Placement, Today,
};

const SECONDS_PER_DAY: i64 = 86_400;
const NANOS_PER_SECOND: i128 = 1_000_000_000;
const NANOS_PER_DAY: i128 = SECONDS_PER_DAY as i128 * NANOS_PER_SECOND;

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

/// Nanoseconds since the epoch of a time given as seconds and the nanoseconds past them, as
/// `stat` reports it.
pub fn nanos(secs: i64, nsec: i64) -> i128 {
    i128::from(secs) * NANOS_PER_SECOND + i128::from(nsec)
}

/// A file's age in whole days at `now`: since the later of atime and mtime, rounded down,
/// never negative. All three are nanoseconds since the epoch ([`nanos`]).
pub fn age_days(atime: i128, mtime: i128, now: i128) -> i64 {
    let days = (now - atime.max(mtime)).max(0) / NANOS_PER_DAY;
    i64::try_from(days).unwrap_or(i64::MAX)
}

/// Whether a file of `age` days is removed with `retain_days`.
pub fn is_expired(age: i64, retain_days: i64) -> bool {
    age >= retain_days
}

/// Runs the purge action on `config`, measuring ages at `now` (nanoseconds since the epoch).
pub fn purge(config: &Config, now: i128) -> Result<(), PurgeError> {
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
pub fn purge_dir(root: &Path, retain_days: i64, now: i128) -> Result<PurgeCount, PurgeError> {
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
    let dir = Dir::open(&real, dir_flags(), Mode::empty()).map_err(|e| PurgeError::Resolve {
        path: root.to_path_buf(),
        source: e.into(),
    })?;
    let mut count = PurgeCount::default();
    purge_tree(dir, &real, retain_days, now, &mut count)?;
    Ok(count)
}

/// Flags for opening a directory to walk: never through a soft link.
fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// Purges the directory open as `dir` (shown as `shown` in the log), post-order: expired plain
/// files and links are unlinked, subdirectories are walked and removed when they end up empty.
///
/// Every step goes through the open directory handle (`fstatat`, `openat` with `O_NOFOLLOW`,
/// `unlinkat`), never through a path name, so swapping a subdirectory for a soft link while
/// purge runs cannot lead it outside the configured directory. Fifos, sockets and devices are
/// neither plain files nor links and stay, as in the original. Errors on single items are
/// logged at debug level and skipped.
fn purge_tree(
    mut dir: Dir,
    shown: &Path,
    retain_days: i64,
    now: i128,
    count: &mut PurgeCount,
) -> Result<(), PurgeError> {
    let fd = dir.as_raw_fd();
    let names: Vec<CString> = dir
        .iter()
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_owned())
        .filter(|name| name.as_bytes() != b"." && name.as_bytes() != b"..")
        .collect();
    for name in names {
        if cedar_core::interrupt_requested() {
            return Err(PurgeError::Interrupted);
        }
        let path = shown.join(OsStr::from_bytes(name.as_bytes()));
        let stat = match fstatat(Some(fd), name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(err) => {
                tracing::debug!("Cannot examine [{}]: {err}; skipped.", path.display());
                continue;
            }
        };
        let kind = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT;
        if kind == SFlag::S_IFDIR {
            match Dir::openat(Some(fd), name.as_c_str(), dir_flags(), Mode::empty()) {
                Ok(sub) => purge_tree(sub, &path, retain_days, now, count)?,
                Err(err) => {
                    // Replaced by a link (ELOOP / ENOTDIR) or unreadable: not ours to walk.
                    tracing::debug!(
                        "Cannot open directory [{}]: {err}; skipped.",
                        path.display()
                    );
                    continue;
                }
            }
            // rmdir only succeeds on an empty directory, so this cannot remove content.
            match unlinkat(Some(fd), name.as_c_str(), UnlinkatFlags::RemoveDir) {
                Ok(()) => {
                    tracing::debug!("Purged empty directory [{}].", path.display());
                    count.dirs += 1;
                }
                Err(nix::Error::ENOTEMPTY | nix::Error::EEXIST) => {}
                Err(err) => tracing::debug!(
                    "Cannot remove directory [{}]: {err}; skipped.",
                    path.display()
                ),
            }
            continue;
        }
        if kind != SFlag::S_IFREG && kind != SFlag::S_IFLNK {
            continue;
        }
        let age = age_days(
            nanos(stat.st_atime, stat.st_atime_nsec),
            nanos(stat.st_mtime, stat.st_mtime_nsec),
            now,
        );
        if !is_expired(age, retain_days) {
            continue;
        }
        match unlinkat(Some(fd), name.as_c_str(), UnlinkatFlags::NoRemoveDir) {
            Ok(()) => {
                tracing::debug!("Purged file [{}] ({age} days old).", path.display());
                count.files += 1;
            }
            Err(err) => tracing::debug!("Cannot remove [{}]: {err}; skipped.", path.display()),
        }
    }
    Ok(())
}

#[derive(Debug)]
struct PurgeAction;

impl Action for PurgeAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        tracing::debug!("Executing the 'purge' action.");
        purge(&ctx.config.config, Today::current().now_nanos())?;
        tracing::info!("Executed the 'purge' action successfully.");
        Ok(())
    }
}

cedar_core::inventory::submit! {
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
    const NOW_NS: i128 = NOW as i128 * NANOS_PER_SECOND;

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

    fn ns(secs: i64) -> i128 {
        nanos(secs, 0)
    }

    #[test]
    fn age_rounds_down_and_uses_the_later_time() {
        let age = |a: f64, m: f64| age_days(ns(days_ago(a)), ns(days_ago(m)), NOW_NS);
        assert_eq!(age(10.0, 10.0), 10);
        assert_eq!(age(4.99, 30.0), 4);
        assert_eq!(age(30.0, 5.0), 5);
        assert_eq!(age_days(ns(NOW + 100), ns(NOW + 100), NOW_NS), 0);
        let almost = nanos(NOW - SECONDS_PER_DAY, 500_000_000);
        assert_eq!(age_days(almost, almost, NOW_NS), 0, "86,399.5 s is 0 days");
        assert_eq!(age_days(almost, almost, NOW_NS + 500_000_000), 1);
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

        let count = purge_dir(&root, 5, NOW_NS).unwrap();
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

        let count = purge_dir(&root, 0, NOW_NS).unwrap();
        assert_eq!(count.files, 3);
        assert_eq!(fs::read_dir(&root).unwrap().count(), 0);
        assert!(root.is_dir());
        assert!(outside.join("victim").exists());
    }

    #[test]
    fn fifos_stay_and_links_to_directories_are_not_walked() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("p");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(outside.join("sub")).unwrap();
        fs::write(outside.join("sub/victim"), b"x").unwrap();
        set_times(&outside.join("sub/victim"), days_ago(30.0), days_ago(30.0));
        nix::unistd::mkfifo(&root.join("fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        set_times(&root.join("fifo"), days_ago(30.0), days_ago(30.0));
        std::os::unix::fs::symlink(outside.join("sub"), root.join("dirlink")).unwrap();
        let count = purge_dir(&root, 0, NOW_NS).unwrap();
        assert!(root.join("fifo").exists(), "a fifo is not a plain file");
        assert!(
            fs::symlink_metadata(root.join("dirlink")).is_err(),
            "the link itself goes"
        );
        assert!(outside.join("sub/victim").exists(), "never followed");
        assert_eq!(count.files, 1);
    }

    #[test]
    fn a_file_half_a_second_short_of_a_day_stays_for_mtime_and_atime() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("p");
        fs::create_dir_all(&root).unwrap();
        let almost = TimeSpec::new(NOW - SECONDS_PER_DAY, 500_000_000);
        let old = TimeSpec::new(NOW - 30 * SECONDS_PER_DAY, 0);
        fs::write(root.join("by_mtime"), b"x").unwrap();
        fs::write(root.join("by_atime"), b"x").unwrap();
        fs::write(root.join("whole_day"), b"x").unwrap();
        let set = |name: &str, atime: &TimeSpec, mtime: &TimeSpec| {
            utimensat(
                None,
                &root.join(name),
                atime,
                mtime,
                UtimensatFlags::NoFollowSymlink,
            )
            .unwrap()
        };
        set("by_mtime", &old, &almost);
        set("by_atime", &almost, &old);
        let day = TimeSpec::new(NOW - SECONDS_PER_DAY, 0);
        set("whole_day", &day, &day);
        let count = purge_dir(&root, 1, NOW_NS).unwrap();
        assert!(
            root.join("by_mtime").exists(),
            "86,399.5 s old is 0 days old"
        );
        assert!(
            root.join("by_atime").exists(),
            "86,399.5 s old is 0 days old"
        );
        assert!(
            !root.join("whole_day").exists(),
            "86,400 s old is 1 day old"
        );
        assert_eq!(count.files, 1);
    }

    #[test]
    fn refuses_root_and_missing_dirs() {
        assert!(matches!(
            purge_dir(Path::new("/"), 0, NOW_NS),
            Err(PurgeError::Root { .. })
        ));
        assert!(matches!(
            purge_dir(Path::new("/nonexistent/cback-purge"), 0, NOW_NS),
            Err(PurgeError::NotADirectory { .. })
        ));
    }
}
