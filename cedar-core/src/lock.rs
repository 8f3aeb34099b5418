//! The run lock: one cback run at a time per working directory.
//!
//! The lock is an exclusive `flock` on `WORKING_DIR/cback.lock`, held for the life of the run
//! and released by the kernel when the process ends, even on a crash. The file holds the PID of
//! the holder so that a refused run can name it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// The lock file's name inside working_dir.
pub const LOCK_FILE: &str = "cback.lock";

/// Errors from taking the lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open lock file {}: {source}; check that <options><working_dir> exists and is writable", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("another cback run (PID {holder}) holds the lock {}; wait for it to finish, nothing was changed", path.display())]
    Busy { path: PathBuf, holder: String },
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
}

/// A held run lock; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _lock: Flock<File>,
    path: PathBuf,
}

/// Opens (creating it when missing, never truncating) the file a lock is taken on.
pub fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

impl RunLock {
    /// Takes the lock in `working_dir`, refusing at once if another run holds it.
    pub fn acquire(working_dir: &Path) -> Result<RunLock, LockError> {
        let path = working_dir.join(LOCK_FILE);
        let file = open_lock_file(&path).map_err(|source| LockError::Open {
            path: path.clone(),
            source,
        })?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((mut file, nix::Error::EWOULDBLOCK)) => {
                return Err(LockError::Busy {
                    holder: read_holder(&mut file),
                    path,
                });
            }
            Err((_, source)) => return Err(LockError::Lock { path, source }),
        };
        // Only the holder writes its PID.
        let _ = lock.set_len(0);
        let _ = lock.seek(SeekFrom::Start(0));
        let _ = writeln!(lock, "{}", std::process::id());
        let _ = lock.flush();
        Ok(RunLock { _lock: lock, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The holder's PID from the lock file. The holder writes it just after locking, so an empty
/// file is read again for a moment before giving up.
fn read_holder(file: &mut File) -> String {
    for _ in 0..20 {
        let mut text = String::new();
        let _ = file.seek(SeekFrom::Start(0));
        let _ = file.read_to_string(&mut text);
        let text = text.trim();
        if !text.is_empty() {
            return text.to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    "unknown".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_with_holder_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path()).unwrap();
        let err = RunLock::acquire(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("PID {}", std::process::id())),
            "{text}"
        );
        drop(first);
        RunLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn missing_working_dir_is_reported() {
        let err = RunLock::acquire(Path::new("/nonexistent/cback-wd")).unwrap_err();
        assert!(matches!(err, LockError::Open { .. }));
        assert!(err.to_string().contains("/nonexistent/cback-wd/cback.lock"));
    }
}
