//! Incremental state: the SHA-1 of every selected file, kept in `WORKING_DIR/NORMALIZED.sha`.
//!
//! The file is the original's format (a protocol 0 pickle of `{path: sha1-hex}`), so a site
//! can switch in either direction without a surprise full backup. We write it in path order,
//! as [`super::incremental`] produces it, without ever holding it in memory.
//!
//! A run only advances the state when it succeeds: each entry's new state is written beside
//! its digest file under a temporary name ([`Staging`]), and the collect action renames them
//! all into place ([`PendingDigest::commit`]) once every archive and the indicator are
//! written. A failed or interrupted run drops them, so its changes count as changes again next
//! time. Temporaries that a killed run left are removed at the start of the next
//! ([`remove_stale`]).

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};
use sha1::{Digest, Sha1};

use super::error::CollectError;
use cedar_core::PickleDictWriter;

/// The digest file of the entry whose normalized name is `normalized`.
pub fn digest_path(working_dir: &Path, normalized: &str) -> PathBuf {
    working_dir.join(format!("{normalized}.sha"))
}

/// The prefix of digest files being written; such files are never a complete state.
pub const TEMP_PREFIX: &str = ".cback-digest-";

/// A new state being written beside its digest file under a temporary name. Dropped without
/// [`Staging::finish`], the temporary file is removed.
pub struct Staging {
    path: PathBuf,
    temp: tempfile::NamedTempFile,
    /// Buffered by the writer itself.
    writer: PickleDictWriter<File>,
}

impl std::fmt::Debug for Staging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staging")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The error of a failed write of the new state of the digest file `path`.
fn write_error(path: &Path, source: io::Error) -> CollectError {
    CollectError::WriteDigest {
        path: path.to_path_buf(),
        source,
    }
}

impl Staging {
    /// Starts the new state of the digest file `path`.
    pub fn begin(path: &Path) -> Result<Staging, CollectError> {
        let fail = |source| write_error(path, source);
        let dir = path.parent().unwrap_or(Path::new("."));
        // The original's mode: 0666 less the umask.
        let temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(fail)?;
        let file = temp.as_file().try_clone().map_err(fail)?;
        let writer = PickleDictWriter::new(file).map_err(fail)?;
        Ok(Staging {
            path: path.to_path_buf(),
            temp,
            writer,
        })
    }

    /// Adds the digest of `file` (raw path bytes).
    pub fn push(&mut self, file: &[u8], digest: &[u8]) -> io::Result<()> {
        self.writer.push(file, digest)
    }

    /// Completes the file and puts it on disk, still under its temporary name, owned by
    /// `owner` (backup_user:backup_group, when running as root) as the original's is.
    pub fn finish(self, owner: Option<(Uid, Gid)>) -> Result<PendingDigest, CollectError> {
        let Staging { path, temp, writer } = self;
        let fail = |source| write_error(&path, source);
        let file = writer.finish().map_err(fail)?;
        file.sync_all().map_err(fail)?;
        // Only the name is kept until the run ends: an entry must not hold a file open (a
        // directory split into thousands of entries would exhaust the open-file limit).
        drop(file);
        if let Some((uid, gid)) = owner {
            cedar_core::apply_ownership(temp.path(), uid, gid).map_err(|source| {
                CollectError::Ownership {
                    path: path.clone(),
                    source,
                }
            })?;
        }
        Ok(PendingDigest {
            path,
            temp: temp.into_temp_path(),
        })
    }

    /// The error of a failed write of this state.
    pub fn error(&self, source: io::Error) -> CollectError {
        write_error(&self.path, source)
    }
}

/// A new state on disk beside its digest file under a temporary name, not yet in place; no
/// file is held open for it. Dropped without [`PendingDigest::commit`], the temporary file is
/// removed.
#[derive(Debug)]
pub struct PendingDigest {
    path: PathBuf,
    temp: tempfile::TempPath,
}

impl PendingDigest {
    /// The digest file this state replaces.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the new state is until it is committed (readable as a digest file).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Renames the new state into place (atomically replacing the old one). The caller syncs
    /// the directory once all are in place.
    pub fn commit(self) -> Result<(), CollectError> {
        let PendingDigest { path, temp, .. } = self;
        temp.persist(&path)
            .map_err(|e| CollectError::CommitDigest {
                path: path.clone(),
                source: e.error,
            })?;
        Ok(())
    }
}

/// Removes the temporary digest files that a killed run left in `working_dir` (a run holds the
/// lock, so no other run is writing them).
pub fn remove_stale(working_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(working_dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .as_bytes()
            .starts_with(TEMP_PREFIX.as_bytes())
        {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => tracing::warn!(
                "Removed [{}], a digest file left by an interrupted run.",
                entry.path().display()
            ),
            Err(e) => tracing::warn!("Cannot remove [{}]: {e}", entry.path().display()),
        }
    }
}

/// The hex SHA-1 of the file at `path`, and the bytes read.
pub fn hash_file(path: &Path, buf: &mut [u8]) -> io::Result<(Vec<u8>, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha1::new();
    let mut total = 0u64;
    loop {
        let n = match file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}

fn hex(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 15) as usize]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_of_known_content() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a");
        std::fs::write(&f, b"hello\n").unwrap();
        let (hex, n) = hash_file(&f, &mut [0u8; 3]).unwrap();
        assert_eq!(hex, b"f572d396fae9206628714fb2ce00f72e94f2258f");
        assert_eq!(n, 6);
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn stage(path: &Path, pairs: &[(&[u8], &[u8])]) -> PendingDigest {
        let mut staging = Staging::begin(path).unwrap();
        for (k, v) in pairs {
            staging.push(k, v).unwrap();
        }
        staging.finish(None).unwrap()
    }

    fn read(path: &Path) -> std::collections::HashMap<Vec<u8>, Vec<u8>> {
        cedar_core::read_pickle_dict(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn a_staged_state_is_in_place_only_once_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sha");
        stage(&path, &[(b"/a", b"00")]).commit().unwrap();
        let before = std::fs::read(&path).unwrap();
        let pending = stage(&path, &[(b"/a", b"11"), (b"/b\n", b"22")]);
        assert_eq!(std::fs::read(&path).unwrap(), before, "not in place yet");
        assert_eq!(read(pending.temp_path()).len(), 2);
        assert_eq!(
            read(pending.temp_path()).get(&b"/a"[..]),
            Some(&b"11".to_vec())
        );
        drop(pending);
        assert_eq!(
            names(dir.path()),
            ["x.sha"],
            "a dropped state leaves nothing"
        );
        stage(&path, &[(b"/a", b"11")]).commit().unwrap();
        assert_eq!(read(&path).get(&b"/a"[..]), Some(&b"11".to_vec()));
        assert_eq!(names(dir.path()), ["x.sha"]);
        // An abandoned staging leaves nothing either.
        let mut staging = Staging::begin(&path).unwrap();
        staging.push(b"/c", b"33").unwrap();
        drop(staging);
        assert_eq!(names(dir.path()), ["x.sha"]);
    }

    #[test]
    fn a_state_cannot_be_started_in_a_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = Staging::begin(&dir.path().join("gone/x.sha")).unwrap_err();
        assert!(matches!(err, CollectError::WriteDigest { .. }), "{err:?}");
    }

    #[test]
    fn stale_temporaries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".cback-digest-AbC123"), b"half").unwrap();
        std::fs::write(dir.path().join("keep.sha"), b"").unwrap();
        remove_stale(dir.path());
        assert_eq!(names(dir.path()), ["keep.sha"]);
    }
}
