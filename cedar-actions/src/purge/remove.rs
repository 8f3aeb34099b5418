//! Removing a staged day as a whole: the day directory is first renamed to a hidden name in its
//! month (`.cback-purge-DD`, which is no backup), then removed, so that a purge stopped at any
//! moment leaves every `YYYY/MM/DD` whole; the next purge removes what a stopped one left
//! under the hidden name. Month and year directories left empty are removed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::PurgeError;

/// The prefix of a day being removed.
const REMOVING_PREFIX: &str = ".cback-purge-";

/// Removes the day directory `day` (`STAGING/YYYY/MM/DD`) and then its month and year
/// directories when they are left empty.
pub fn remove_day(day: &Path) -> Result<(), PurgeError> {
    let fail = |source| PurgeError::RemoveDay {
        path: day.to_path_buf(),
        source,
    };
    let (month, name) = match (day.parent(), day.file_name()) {
        (Some(month), Some(name)) => (month, name),
        _ => return Err(fail(io::Error::other("not a daily directory"))),
    };
    let hidden = month.join(format!("{REMOVING_PREFIX}{}", name.to_string_lossy()));
    if fs::symlink_metadata(&hidden).is_ok() {
        fs::remove_dir_all(&hidden).map_err(fail)?;
    }
    fs::rename(day, &hidden).map_err(fail)?;
    // Never follows soft links: a link inside the day is removed as itself.
    fs::remove_dir_all(&hidden).map_err(fail)?;
    remove_if_empty(month);
    if let Some(year) = month.parent() {
        remove_if_empty(year);
    }
    Ok(())
}

/// Finishes the removals a stopped purge left below `staging_dir` (`YYYY/MM/.cback-purge-DD`,
/// a daily directory of the staging tree by its depth).
pub fn finish_stopped(staging_dir: &Path) -> Vec<PathBuf> {
    let mut finished = Vec::new();
    for entry in cedar_core::daily_dirs(staging_dir).unwrap_or_default() {
        let stopped = entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(REMOVING_PREFIX));
        if stopped && fs::remove_dir_all(&entry).is_ok() {
            if let Some(month) = entry.parent() {
                remove_if_empty(month);
                if let Some(year) = month.parent() {
                    remove_if_empty(year);
                }
            }
            finished.push(entry);
        }
    }
    finished
}

/// rmdir only succeeds on an empty directory, so this cannot remove content.
fn remove_if_empty(dir: &Path) {
    if fs::remove_dir(dir).is_ok() {
        tracing::debug!("Purged empty directory [{}].", dir.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_goes_whole_with_its_empty_parents_and_nothing_outside() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("2026/01/05/alpha/sub")).unwrap();
        fs::create_dir_all(r.join("2026/02/01/alpha")).unwrap();
        fs::create_dir_all(r.join("outside")).unwrap();
        fs::write(r.join("outside/victim"), "x").unwrap();
        fs::write(r.join("2026/01/05/alpha/sub/f"), "x").unwrap();
        std::os::unix::fs::symlink(r.join("outside"), r.join("2026/01/05/alpha/link")).unwrap();
        remove_day(&r.join("2026/01/05")).unwrap();
        assert!(!r.join("2026/01").exists(), "the emptied month goes");
        assert!(
            r.join("2026/02/01/alpha").is_dir(),
            "the year still holds a day"
        );
        assert!(r.join("outside/victim").exists(), "links are not followed");
        remove_day(&r.join("2026/02/01")).unwrap();
        assert!(!r.join("2026").exists());
        assert!(r.is_dir());
    }

    #[test]
    fn a_stopped_removal_is_finished_by_the_next_purge() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("2026/01/.cback-purge-05/alpha")).unwrap();
        fs::create_dir_all(r.join("2026/01/06/alpha")).unwrap();
        fs::create_dir_all(r.join("2025/12/.cback-purge-31")).unwrap();
        let finished = finish_stopped(r);
        assert_eq!(finished.len(), 2);
        assert!(r.join("2026/01/06/alpha").is_dir());
        assert!(!r.join("2025").exists());
        assert!(!r.join("2026/01/.cback-purge-05").exists());
    }
}
