//! Incremental state: the SHA-1 of every selected file, kept in `WORKING_DIR/NORMALIZED.sha`.
//!
//! The file is the original's format (a protocol 0 pickle of `{path: sha1-hex}`), so a site
//! can switch in either direction without a surprise full backup.
//!
//! A run only advances the state when it succeeds: each entry's new state is written beside
//! its digest file under a temporary name ([`stage`]), and the collect action renames them all
//! into place ([`PendingDigest::commit`]) once every archive and the indicator are written. A
//! failed or interrupted run drops them, so its changes count as changes again next time.
//! Temporaries that a killed run left are removed at the start of the next ([`remove_stale`]).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sha1::{Digest, Sha1};

use super::error::CollectError;
use super::pickle;
use super::walk::{Item, ItemKind};

/// Stored digests: raw path bytes → lowercase hex SHA-1.
pub type DigestMap = HashMap<Vec<u8>, Vec<u8>>;

/// A file's hex digest and the bytes read, when it could be read.
pub type FileDigest = Option<(Vec<u8>, u64)>;

/// The digest file of the entry whose normalized name is `normalized`.
pub fn digest_path(working_dir: &Path, normalized: &str) -> PathBuf {
    working_dir.join(format!("{normalized}.sha"))
}

/// The prefix of digest files being written; such files are never a complete state.
pub const TEMP_PREFIX: &str = ".cback-digest-";

/// Reads a digest file; a missing file is an empty map. A file that cannot be read or decoded
/// is logged as an error and taken as empty, as the original does: every file of the entry then
/// counts as changed (a full backup of it), and the run goes on.
pub fn load(path: &Path) -> DigestMap {
    let loaded = match std::fs::read(path) {
        Ok(data) => pickle::read_dict(&data).map_err(|err| err.to_string()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            tracing::debug!("Digest [{}] does not exist yet.", path.display());
            return DigestMap::new();
        }
        Err(err) => Err(err.to_string()),
    };
    match loaded {
        Ok(map) => {
            tracing::debug!(
                "Loaded digest [{}] from disk: {} entries.",
                path.display(),
                map.len()
            );
            map
        }
        Err(cause) => {
            tracing::error!(
                "Failed loading digest [{}] from disk: {cause}; every file of this entry is \
                 taken as changed (the file is replaced when the run succeeds).",
                path.display()
            );
            DigestMap::new()
        }
    }
}

/// A new state written beside its digest file under a temporary name, not yet in place.
/// Dropped without [`PendingDigest::commit`], the temporary file is removed.
#[derive(Debug)]
pub struct PendingDigest {
    path: PathBuf,
    temp: tempfile::NamedTempFile,
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

impl PendingDigest {
    /// The digest file this state replaces.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The new state, as a map.
    pub fn to_map(&self) -> DigestMap {
        self.entries.iter().cloned().collect()
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

/// Writes `entries` (in the given order) beside `path` under a temporary name, on disk.
pub fn stage(path: &Path, entries: Vec<(Vec<u8>, Vec<u8>)>) -> Result<PendingDigest, CollectError> {
    let fail = |source: io::Error| CollectError::WriteDigest {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let data = pickle::write_dict(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(fail)?;
    temp.write_all(&data).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    Ok(PendingDigest {
        path: path.to_path_buf(),
        temp,
        entries,
    })
}

/// Replaces the digest file atomically with `entries` (in the given order).
pub fn save(path: &Path, entries: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), CollectError> {
    stage(path, entries)?.commit()
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

/// The digest of each file item (None for links and for files that could not be read), with
/// the file's size, computed on `threads` threads.
pub fn hash_items(items: &[Item], threads: usize) -> Vec<FileDigest> {
    let results: Vec<Mutex<FileDigest>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    if crate::interrupt::requested() {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { return };
                    if item.kind != ItemKind::File {
                        continue;
                    }
                    match hash_file(&item.path, &mut buf) {
                        Ok(found) => {
                            if let Ok(mut slot) = results[i].lock() {
                                *slot = Some(found);
                            }
                        }
                        Err(err) => tracing::debug!(
                            "Cannot compute the digest of [{}]: {err}.",
                            item.path.display()
                        ),
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap_or(None))
        .collect()
}

/// Which items go into an incremental archive: links always, files whose digest is new or
/// differs from `previous`, and files whose digest could not be computed (so that the archive
/// step reports them).
pub fn changed(items: &[Item], digests: &[FileDigest], previous: &DigestMap) -> Vec<bool> {
    items
        .iter()
        .zip(digests)
        .map(|(item, digest)| match (item.kind, digest) {
            (ItemKind::Link, _) => true,
            (ItemKind::File, None) => true,
            (ItemKind::File, Some((hex, _))) => {
                previous.get(item.path.as_os_str().as_bytes()) != Some(hex)
            }
        })
        .collect()
}

/// The new state: every file with a digest, in selection order.
pub fn new_state(items: &[Item], digests: &[FileDigest]) -> Vec<(Vec<u8>, Vec<u8>)> {
    items
        .iter()
        .zip(digests)
        .filter_map(|(item, digest)| {
            digest
                .as_ref()
                .map(|(hex, _)| (item.path.as_os_str().as_bytes().to_vec(), hex.clone()))
        })
        .collect()
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

    #[test]
    fn change_detection_and_state() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, b"hello\n").unwrap();
        std::fs::write(&b, b"other").unwrap();
        let items = vec![
            Item {
                path: a.clone(),
                kind: ItemKind::File,
            },
            Item {
                path: b.clone(),
                kind: ItemKind::File,
            },
            Item {
                path: dir.path().join("l"),
                kind: ItemKind::Link,
            },
        ];
        let digests = hash_items(&items, 2);
        let mut previous = DigestMap::new();
        previous.insert(
            a.as_os_str().as_bytes().to_vec(),
            b"f572d396fae9206628714fb2ce00f72e94f2258f".to_vec(),
        );
        assert_eq!(
            changed(&items, &digests, &previous),
            vec![false, true, true]
        );
        let state = new_state(&items, &digests);
        assert_eq!(state.len(), 2);
        let path = dir.path().join("x.sha");
        save(&path, state).unwrap();
        let back = load(&path);
        assert_eq!(back.len(), 2);
        assert!(load(&dir.path().join("missing.sha")).is_empty());
    }

    #[test]
    fn a_corrupt_digest_file_is_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sha");
        std::fs::write(&path, b"garbage\n").unwrap();
        assert!(load(&path).is_empty());
        // A directory in its place cannot be read either.
        let path = dir.path().join("d.sha");
        std::fs::create_dir(&path).unwrap();
        assert!(load(&path).is_empty());
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_staged_state_is_in_place_only_once_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sha");
        save(&path, vec![(b"/a".to_vec(), b"00".to_vec())]).unwrap();
        let before = std::fs::read(&path).unwrap();
        let pending = stage(&path, vec![(b"/a".to_vec(), b"11".to_vec())]).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), before, "not in place yet");
        assert_eq!(pending.to_map().get(&b"/a"[..]), Some(&b"11".to_vec()));
        drop(pending);
        assert_eq!(
            names(dir.path()),
            ["x.sha"],
            "a dropped state leaves nothing"
        );
        let pending = stage(&path, vec![(b"/a".to_vec(), b"11".to_vec())]).unwrap();
        pending.commit().unwrap();
        assert_eq!(load(&path).get(&b"/a"[..]), Some(&b"11".to_vec()));
        assert_eq!(names(dir.path()), ["x.sha"]);
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
