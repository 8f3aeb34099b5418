//! The daily staging directory `STAGING_DIR/YYYY/MM/DD` and the peers' directories in it.

use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};

use super::error::StageError;
use cedar_core::{apply_ownership, Today};

/// `STAGING_DIR/YYYY/MM/DD` for `today`.
pub fn daily_path(staging_dir: &Path, today: &Today) -> PathBuf {
    today.dir_in(staging_dir)
}

fn chown(path: &Path, owner: Option<(Uid, Gid)>) -> Result<(), StageError> {
    match owner {
        Some((uid, gid)) => apply_ownership(path, uid, gid).map_err(StageError::Owner),
        None => Ok(()),
    }
}

/// Creates the daily directory (and staging_dir, as the original does, when missing), or
/// reuses it with a warning. When it is created, it and its two parents go to `owner` (as
/// root).
pub fn prepare(
    staging_dir: &Path,
    today: &Today,
    owner: Option<(Uid, Gid)>,
) -> Result<PathBuf, StageError> {
    let daily = daily_path(staging_dir, today);
    if daily.is_dir() {
        tracing::warn!("Staging directory [{}] already existed.", daily.display());
        return Ok(daily);
    }
    tracing::debug!("Creating staging directory [{}].", daily.display());
    std::fs::create_dir_all(&daily).map_err(|source| StageError::Daily {
        path: daily.clone(),
        source,
    })?;
    let month = daily.parent().unwrap_or(&daily);
    let year = month.parent().unwrap_or(month);
    for dir in [year, month, daily.as_path()] {
        chown(dir, owner)?;
    }
    Ok(daily)
}

/// Creates `DAILY/PEER` (owned by `owner` as root), or reuses it with a warning.
pub fn peer_dir(
    daily: &Path,
    name: &str,
    owner: Option<(Uid, Gid)>,
) -> Result<PathBuf, StageError> {
    let dir = daily.join(name);
    if dir.is_dir() {
        tracing::warn!(
            "Peer staging directory [{}] already existed.",
            dir.display()
        );
        return Ok(dir);
    }
    tracing::debug!("Creating peer staging directory [{}].", dir.display());
    std::fs::create_dir(&dir).map_err(|source| StageError::Daily {
        path: dir.clone(),
        source,
    })?;
    chown(&dir, owner)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daily_directory_is_created_then_reused() {
        let root = tempfile::tempdir().unwrap();
        let today = Today::parse("2026-03-07").unwrap();
        let daily = prepare(root.path(), &today, None).unwrap();
        assert_eq!(daily, root.path().join("2026/03/07"));
        assert!(daily.is_dir());
        std::fs::write(daily.join("keep"), "x").unwrap();
        assert_eq!(prepare(root.path(), &today, None).unwrap(), daily);
        assert!(daily.join("keep").exists());
        let peer = peer_dir(&daily, "host1", None).unwrap();
        assert!(peer.is_dir());
        assert_eq!(peer_dir(&daily, "host1", None).unwrap(), peer);
    }

    #[test]
    fn a_missing_staging_dir_is_created_and_an_impossible_one_named() {
        let root = tempfile::tempdir().unwrap();
        let today = Today::parse("2026-03-07").unwrap();
        let daily = prepare(&root.path().join("new/stage"), &today, None).unwrap();
        assert!(daily.is_dir());
        std::fs::write(root.path().join("file"), "x").unwrap();
        let err = prepare(&root.path().join("file/stage"), &today, None).unwrap_err();
        assert!(err.to_string().contains("file/stage/2026/03/07"), "{err}");
    }
}
