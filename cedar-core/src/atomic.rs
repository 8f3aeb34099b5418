//! Writing a file so that its final name only ever holds a complete file.
//!
//! The data goes to a hidden temporary file beside the final name, created with mode 0600
//! before any byte is written. [`AtomicFile::commit`] syncs it, sets its owner and mode, renames
//! it over the final name and syncs the directory. Dropping an [`AtomicFile`] without committing
//! removes the temporary file; the file already under the final name is never touched.
//!
//! [`AtomicFile::writer`] gives a [`Writeback`] handle that, for a large file, has a background
//! thread flush what was written so far while the writer goes on, so that the fsync of the
//! commit has little left to wait for.
//!
//! [`is_temp_of`] recognises the temporary names a killed run leaves behind, and
//! [`remove_stale_temps`] removes them. Used by the postgresql extension for its dumps and by
//! the stage action for files of local peers.

use std::fs::{File, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::ownership::OwnershipError;

/// Why a file could not be written under its final name.
#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    /// The hidden temporary file could not be created.
    #[error("cannot create a temporary file in {} (check that the directory exists and is writable)", dir.display())]
    CreateTemp {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing, flushing or syncing failed (a full disk, an I/O error).
    #[error("cannot write {} (check the free space and the health of its filesystem)", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The finished file could not get its permissions.
    #[error("cannot set the permissions of {}", path.display())]
    Permissions {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Changing the owner to backup_user:backup_group failed.
    #[error("cannot hand the file to the backup user and group")]
    Owner {
        #[source]
        source: OwnershipError,
    },
    /// Renaming the finished temporary file to its final name failed.
    #[error("cannot rename {} to {}", from.display(), to.display())]
    Rename {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The mode a committed file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 0640 when the owner was applied (running as root), otherwise 0600.
    GroupReadable,
    /// 0600 whatever the owner.
    Private,
    /// Exactly these permission bits.
    Exact(u32),
}

/// Mode of a finished file whose group was set to the backup group.
pub const MODE_WITH_GROUP: u32 = 0o640;
/// Mode of a finished file otherwise: the owner only.
pub const MODE_PRIVATE: u32 = 0o600;

/// Who should own the finished file (applied only when running as root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    pub user: &'a str,
    pub group: &'a str,
}

/// A file being written under a hidden temporary name.
#[derive(Debug)]
pub struct AtomicFile {
    temp: NamedTempFile,
    dir: PathBuf,
    final_path: PathBuf,
}

impl AtomicFile {
    /// Creates `.<final_name>.XXXXXX.tmp` in `dir`, mode 0600.
    pub fn create(dir: &Path, final_name: &str) -> Result<AtomicFile, AtomicError> {
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{final_name}."))
            .suffix(".tmp")
            .rand_bytes(6)
            .permissions(Permissions::from_mode(MODE_PRIVATE))
            .tempfile_in(dir)
            .map_err(|source| AtomicError::CreateTemp {
                dir: dir.to_path_buf(),
                source,
            })?;
        Ok(AtomicFile {
            temp,
            dir: dir.to_path_buf(),
            final_path: dir.join(final_name),
        })
    }

    /// A second handle of the temporary file, whose data is flushed to disk in the background
    /// as it grows; call [`Writeback::finish`] after the last write. The file is durable only
    /// after [`AtomicFile::commit`].
    pub fn writer(&self) -> std::io::Result<Writeback> {
        Ok(Writeback {
            file: self.temp.as_file().try_clone()?,
            written: 0,
            mark: 0,
            syncer: None,
        })
    }

    /// The open temporary file, to write into.
    pub fn file(&self) -> &File {
        self.temp.as_file()
    }

    /// Where the data is being written now.
    pub fn temp_path(&self) -> &Path {
        self.temp.path()
    }

    /// Where the data ends up.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Syncs the data, applies owner and mode, renames to the final name and syncs the
    /// directory. On error before the rename, the temporary file is removed.
    ///
    /// The file gets `owner` and mode 0640 when running as root, otherwise mode 0600
    /// ([`Mode::GroupReadable`]).
    pub fn commit(self, owner: Option<Owner<'_>>) -> Result<PathBuf, AtomicError> {
        self.commit_with(owner, Mode::GroupReadable)
    }

    /// [`AtomicFile::commit`] with the given [`Mode`]: [`Mode::Private`] for files the group
    /// must not read (such as role password hashes), [`Mode::Exact`] for a copy that keeps its
    /// source's mode.
    pub fn commit_with(self, owner: Option<Owner<'_>>, mode: Mode) -> Result<PathBuf, AtomicError> {
        self.finish()?.commit_with(owner, mode)
    }

    /// Syncs the data and closes the file, which stays under its temporary name until
    /// [`Finished::commit_with`] (and is removed if the [`Finished`] is dropped). For writing
    /// many files before the first is renamed, without holding one open file each.
    pub fn finish(self) -> Result<Finished, AtomicError> {
        let temp_path = self.temp.path().to_path_buf();
        self.temp
            .as_file()
            .sync_all()
            .map_err(|source| AtomicError::Write {
                path: temp_path,
                source,
            })?;
        Ok(Finished {
            temp: self.temp.into_temp_path(),
            dir: self.dir,
            final_path: self.final_path,
        })
    }

    /// Removes the temporary file, reporting a failure to do so.
    pub fn discard(self) -> std::io::Result<()> {
        self.temp.close()
    }
}

/// Replaces `path` with `contents` in one step: an [`AtomicFile`] beside it, committed with
/// `mode` and no owner. For small files written whole (the status files, the standby's pause
/// record).
pub fn replace_file(path: &Path, contents: &[u8], mode: Mode) -> Result<PathBuf, AtomicError> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| AtomicError::CreateTemp {
            dir: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"),
        })?;
    let file = AtomicFile::create(dir, &name)?;
    file.file()
        .write_all(contents)
        .map_err(|source| AtomicError::Write {
            path: file.temp_path().to_path_buf(),
            source,
        })?;
    file.commit_with(None, mode)
}

/// A complete, synced and closed file under its temporary name (see [`AtomicFile::finish`]).
#[derive(Debug)]
pub struct Finished {
    temp: tempfile::TempPath,
    dir: PathBuf,
    final_path: PathBuf,
}

impl Finished {
    /// Where the data is now.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Where the data ends up.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Applies owner and [`Mode`], renames to the final name and syncs the directory. On error
    /// before the rename, the temporary file is removed.
    pub fn commit_with(self, owner: Option<Owner<'_>>, mode: Mode) -> Result<PathBuf, AtomicError> {
        let temp_path = self.temp.to_path_buf();
        let grouped = match owner {
            Some(owner) => crate::ownership::change_owner(&temp_path, owner.user, owner.group)
                .map_err(|source| AtomicError::Owner { source })?,
            None => false,
        };
        let mode = match mode {
            Mode::GroupReadable if grouped => MODE_WITH_GROUP,
            Mode::GroupReadable | Mode::Private => MODE_PRIVATE,
            Mode::Exact(bits) => bits & 0o7777,
        };
        std::fs::set_permissions(&temp_path, Permissions::from_mode(mode)).map_err(|source| {
            AtomicError::Permissions {
                path: temp_path.clone(),
                source,
            }
        })?;
        self.temp
            .persist(&self.final_path)
            .map_err(|err| AtomicError::Rename {
                from: temp_path,
                to: self.final_path.clone(),
                source: err.error,
            })?;
        sync_dir_lenient(&self.dir)?;
        Ok(self.final_path)
    }
}

/// Syncs `dir` so that a rename into it is durable. Some filesystems cannot sync a directory at
/// all (EINVAL, ENOTSUP); a file renamed there is complete regardless, so that is only logged.
pub fn sync_dir_lenient(dir: &Path) -> Result<(), AtomicError> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(err)
            if matches!(
                nix::errno::Errno::from_raw(err.raw_os_error().unwrap_or(0)),
                nix::errno::Errno::EINVAL | nix::errno::Errno::ENOTSUP
            ) =>
        {
            tracing::debug!("cannot sync directory {}: {err}", dir.display());
            Ok(())
        }
        Err(source) => Err(AtomicError::Write {
            path: dir.to_path_buf(),
            source,
        }),
        Ok(()) => Ok(()),
    }
}

/// How much is written between two background flushes of a [`Writeback`].
pub const SYNC_EVERY: u64 = 64 << 20;

/// A file handle that, every [`SYNC_EVERY`] bytes, asks a background thread to flush the file
/// (`fdatasync`) while writing goes on. A small file never starts the thread.
///
/// The handle shares its open file with the [`AtomicFile`], and the kernel reports a failed
/// writeback to the first flush of an open file that asks; so an error of a background flush
/// is kept and returned by [`Writeback::finish`], not lost.
#[derive(Debug)]
pub struct Writeback {
    file: File,
    written: u64,
    mark: u64,
    syncer: Option<Syncer>,
}

#[derive(Debug)]
struct Syncer {
    wake: std::sync::mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<Option<std::io::Error>>,
}

impl Writeback {
    /// Waits for a background flush still running; returns its error, if one failed.
    pub fn finish(mut self) -> std::io::Result<()> {
        match self.stop() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    fn stop(&mut self) -> Option<std::io::Error> {
        let syncer = self.syncer.take()?;
        drop(syncer.wake);
        syncer
            .thread
            .join()
            .unwrap_or_else(|_| Some(std::io::Error::other("the background flush panicked")))
    }

    fn request_sync(&mut self) {
        if self.syncer.is_none() {
            let Ok(file) = self.file.try_clone() else {
                return;
            };
            let (wake, requests) = std::sync::mpsc::sync_channel::<()>(1);
            let thread = std::thread::spawn(move || {
                // The first failure is kept; the commit's fsync reports anything later.
                for () in requests {
                    if let Err(err) = file.sync_data() {
                        return Some(err);
                    }
                }
                None
            });
            self.syncer = Some(Syncer { wake, thread });
        }
        if let Some(syncer) = &self.syncer {
            // A flush still running or queued covers this request too.
            let _ = syncer.wake.try_send(());
        }
    }
}

impl std::io::Write for Writeback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.mark >= SYNC_EVERY {
            self.mark = self.written;
            self.request_sync();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        // Abandoned (a failed dump): the temporary file goes away; just wait for the thread.
        let _ = self.stop();
    }
}

/// The length of the random part of a temporary name (`rand_bytes` in [`AtomicFile::create`]).
const TEMP_RANDOM: usize = 6;

/// The final name a temporary file of [`AtomicFile::create`] was made for, when `name` is one
/// (`.<final>.XXXXXX.tmp`, X alphanumeric); `None` for any other name.
pub fn is_temp_of(name: &str) -> Option<&str> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (final_name, random) = inner.rsplit_once('.')?;
    (!final_name.is_empty()
        && random.len() == TEMP_RANDOM
        && random.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then_some(final_name)
}

/// The temporary files in `dir` (see [`is_temp_of`]) whose final name `wanted` accepts, sorted.
pub fn temps_in(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| is_temp_of(name).is_some_and(wanted))
        .collect();
    names.sort();
    Ok(names)
}

/// Removes the temporary files a killed run left in `dir` whose final name `wanted` accepts,
/// each logged at WARNING as `what` (e.g. "a partial dump"). Call it only while holding the run
/// lock (no other run writes there then).
pub fn remove_stale_temps(dir: &Path, wanted: &dyn Fn(&str) -> bool, what: &str) {
    let names = match temps_in(dir, wanted) {
        Ok(names) => names,
        Err(err) => {
            tracing::warn!(
                "Cannot look for temporary files left by an earlier run in {}: {err}",
                dir.display()
            );
            return;
        }
    };
    for name in names {
        let path = dir.join(&name);
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::warn!(
                "Removed {}, {what} left by an earlier run that was killed or crashed.",
                path.display()
            ),
            Err(err) => tracing::warn!(
                "Cannot remove {}, {what} left by an earlier run: {err}; remove it by hand.",
                path.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_file_puts_the_whole_contents_in_place_with_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        std::fs::write(&path, b"old").unwrap();
        replace_file(&path, b"new contents", Mode::Exact(0o644)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "a temporary file is left");
        let err = replace_file(&dir.path().join("no/such/dir/f"), b"x", Mode::Private);
        assert!(matches!(err, Err(AtomicError::CreateTemp { .. })));
    }
    use crate::dir_names;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn temp_is_hidden_private_and_becomes_final() {
        let dir = tempfile::tempdir().unwrap();
        let file = AtomicFile::create(dir.path(), "postgresqldump-a b.txt").unwrap();
        let temp = file.temp_path().to_path_buf();
        let name = temp.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".postgresqldump-a b.txt.") && name.ends_with(".tmp"),
            "{name}"
        );
        assert_eq!(std::fs::metadata(&temp).unwrap().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&temp).unwrap().len(), 0);
        file.file().write_all(b"hello").unwrap();
        let path = file.commit(None).unwrap();
        assert_eq!(path, dir.path().join("postgresqldump-a b.txt"));
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(dir_names(dir.path()), vec!["postgresqldump-a b.txt"]);
    }

    #[test]
    fn the_writeback_handle_writes_everything() {
        let dir = tempfile::tempdir().unwrap();
        let file = AtomicFile::create(dir.path(), "big").unwrap();
        let mut writer = file.writer().unwrap();
        let chunk: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
        let chunks = (SYNC_EVERY as usize >> 20) * 2 + 3;
        for _ in 0..chunks {
            writer.write_all(&chunk).unwrap();
        }
        assert!(
            writer.syncer.is_some(),
            "a large file is flushed as it grows"
        );
        writer.finish().unwrap();
        let path = file.commit(None).unwrap();
        let data = std::fs::read(path).unwrap();
        assert_eq!(data.len(), chunks << 20);
        assert!(data.chunks(1 << 20).all(|c| c == &chunk[..]));
    }

    #[test]
    fn a_small_file_starts_no_thread() {
        let dir = tempfile::tempdir().unwrap();
        let file = AtomicFile::create(dir.path(), "small").unwrap();
        let mut writer = file.writer().unwrap();
        writer.write_all(b"small").unwrap();
        assert!(writer.syncer.is_none());
        writer.finish().unwrap();
        file.commit(None).unwrap();
    }

    #[test]
    fn commit_replaces_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"yesterday").unwrap();
        let file = AtomicFile::create(dir.path(), "f").unwrap();
        file.file().write_all(b"today").unwrap();
        file.commit(None).unwrap();
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"today");
        assert_eq!(dir_names(dir.path()), vec!["f"]);
    }

    #[test]
    fn discard_and_drop_keep_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"yesterday").unwrap();
        let file = AtomicFile::create(dir.path(), "f").unwrap();
        file.file().write_all(b"partial").unwrap();
        file.discard().unwrap();
        let file = AtomicFile::create(dir.path(), "f").unwrap();
        file.file().write_all(b"partial").unwrap();
        drop(file);
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"yesterday");
        assert_eq!(dir_names(dir.path()), vec!["f"]);
    }

    #[test]
    fn owner_applies_as_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = AtomicFile::create(dir.path(), "f").unwrap();
        let path = file
            .commit(Some(Owner {
                user: "root",
                group: "root",
            }))
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        if crate::ownership::running_as_root() {
            assert_eq!(mode, 0o640);
        } else {
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_private_file_stays_0600_with_an_owner() {
        let dir = tempfile::tempdir().unwrap();
        let file = AtomicFile::create(dir.path(), "globals").unwrap();
        let path = file
            .commit_with(
                Some(Owner {
                    user: "root",
                    group: "root",
                }),
                Mode::Private,
            )
            .unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn unknown_owner_fails_and_leaves_nothing() {
        if !crate::ownership::running_as_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = AtomicFile::create(dir.path(), "f").unwrap();
        let err = file
            .commit(Some(Owner {
                user: "no-such-user-cback",
                group: "root",
            }))
            .unwrap_err();
        assert!(matches!(err, AtomicError::Owner { .. }), "{err}");
        assert!(dir_names(dir.path()).is_empty());
    }

    #[test]
    fn missing_dir_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = AtomicFile::create(&missing, "f").unwrap_err();
        assert!(
            err.to_string().contains(&*missing.to_string_lossy()),
            "{err}"
        );
    }

    #[test]
    fn finished_files_hold_no_descriptor_and_vanish_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        // The descriptors of this process that point into the test's directory: other tests
        // open files at the same time, so the check is by target, not by count.
        let open_in_dir = || {
            std::fs::read_dir("/proc/self/fd")
                .unwrap()
                .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|target| target.starts_with(dir.path()))
                .collect::<Vec<_>>()
        };
        let mut finished = Vec::new();
        for name in ["a", "b", "c"] {
            let file = AtomicFile::create(dir.path(), name).unwrap();
            file.file().write_all(name.as_bytes()).unwrap();
            finished.push(file.finish().unwrap());
        }
        let open = open_in_dir();
        assert!(
            open.is_empty(),
            "the finished files are still open: {open:?}"
        );
        let dropped = finished.pop().unwrap();
        let gone = dropped.temp_path().to_path_buf();
        drop(dropped);
        assert!(!gone.exists());
        for file in finished {
            file.commit_with(None, Mode::Exact(0o644)).unwrap();
        }
        assert_eq!(dir_names(dir.path()), vec!["a", "b"]);
        assert_eq!(std::fs::read(dir.path().join("b")).unwrap(), b"b");
    }

    #[test]
    fn an_exact_mode_is_applied() {
        let dir = tempfile::tempdir().unwrap();
        let file = AtomicFile::create(dir.path(), "f").unwrap();
        let path = file.commit_with(None, Mode::Exact(0o100755)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o755);
    }

    #[test]
    fn stale_temps_are_recognised_strictly_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        // A real temporary name, as a killed run leaves it.
        let file = AtomicFile::create(dir.path(), "dump-a b.txt.gz").unwrap();
        let temp = file
            .temp_path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        std::mem::forget(file);
        assert_eq!(is_temp_of(&temp), Some("dump-a b.txt.gz"), "{temp}");
        assert_eq!(
            is_temp_of(".dump.manifest.Ab12Z9.tmp"),
            Some("dump.manifest")
        );
        for other in [
            "dump-a.txt",
            ".dump-a.txt.tmp",
            "..Ab12Z9.tmp",
            ".dump-a.txt.abc.tmp",
            ".dump-a.txt.ab-12z.tmp",
            ".dump-a.txt.Ab12Z9.tmp.keep",
            "x.dump-a.txt.Ab12Z9.tmp",
        ] {
            assert_eq!(is_temp_of(other), None, "{other}");
        }
        std::fs::write(dir.path().join(".other.Ab12Z9.tmp"), "keep").unwrap();
        std::fs::write(dir.path().join("dump-a.txt"), "keep").unwrap();
        let wanted = |n: &str| n.starts_with("dump");
        assert_eq!(temps_in(dir.path(), &wanted).unwrap(), vec![temp.clone()]);
        remove_stale_temps(dir.path(), &wanted, "a partial dump");
        assert!(!dir.path().join(&temp).exists());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, vec![".other.Ab12Z9.tmp", "dump-a.txt"]);
    }
}
