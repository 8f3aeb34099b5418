//! Small file-system helpers shared by the actions.

use std::path::Path;

/// Flushes a directory's entries to disk, so that a rename into it survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Flushes everything written to the filesystem that holds `dir` to disk (`syncfs(2)`): one
/// call where syncing a directory of freshly copied files one by one would be thousands of
/// `fsync` calls, each waiting for the disk in turn. Afterwards every byte written there before
/// the call is durable, so the files can take their final names. A write-back error of the
/// filesystem since `dir` was opened is reported (Linux 5.8 and later).
pub fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let handle = std::fs::File::open(dir)?;
    nix::unistd::syncfs(handle.as_raw_fd()).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filesystem_is_synced_through_a_directory_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"data").unwrap();
        sync_filesystem(dir.path()).unwrap();
        let missing = dir.path().join("missing");
        assert_eq!(
            sync_filesystem(&missing).unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
    }
}
