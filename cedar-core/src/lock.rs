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

impl RunLock {
    /// Takes the lock in `working_dir`, refusing at once if another run holds it.
    pub fn acquire(working_dir: &Path) -> Result<RunLock, LockError> {
        let path = working_dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| LockError::Open {
                path: path.clone(),
                source,
            })?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((mut file, nix::Error::EWOULDBLOCK)) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Busy {
                    path,
                    holder: if holder.is_empty() {
                        "unknown".to_string()
                    } else {
                        holder.to_string()
                    },
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
