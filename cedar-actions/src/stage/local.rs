//! Staging a local peer: every regular file directly in its collect_dir is copied into the
//! peer's staging directory through [`AtomicFile`], so a final name only ever holds a complete
//! copy. All copies are written, synced and closed (and checked against a staged manifest)
//! before the first one is renamed into place: a peer that fails stages nothing of this run,
//! and a collect directory of thousands of archives needs no open file per archive.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::error::PeerError;
use super::peer::Peer;
use super::verify::{check_manifests, manifest_kind};
use super::Staged;
use crate::collect::INDICATOR as COLLECT_INDICATOR;
use cedar_core::{
    interrupt_requested, AtomicFile, DigestWriter, Digested, FileMode, FileOwner, FinishedFile,
};

/// The copy buffer.
const BUF: usize = 1 << 20;

/// Why a local peer is not ready, if it is not: its collect_dir has no `cback.collect`.
pub fn not_ready(collect_dir: &Path) -> Option<String> {
    let indicator = collect_dir.join(COLLECT_INDICATOR);
    (!indicator.is_file()).then(|| {
        format!(
            "there is no {} (the peer's collect action has not finished there)",
            indicator.display()
        )
    })
}

/// The regular files directly in `dir`, sorted by name; anything else is an error.
fn regular_files(peer: &str, dir: &Path) -> Result<Vec<(String, PathBuf)>, PeerError> {
    let read_error = |path: &Path, source| PeerError::Read {
        peer: peer.to_string(),
        path: path.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| read_error(dir, e))? {
        let entry = entry.map_err(|e| read_error(dir, e))?;
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| read_error(&path, e))?;
        if !meta.file_type().is_file() {
            return Err(PeerError::NotRegular {
                peer: peer.to_string(),
                path,
            });
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        files.push((name, path));
    }
    files.sort();
    Ok(files)
}

/// A copy written, synced and closed under its temporary name, not yet in place.
struct Pending {
    name: String,
    file: FinishedFile,
    mode: u32,
    digest: Digested,
}

fn copy_one(peer: &str, name: &str, source: &Path, target: &Path) -> Result<Pending, PeerError> {
    let read_error = |e| PeerError::Read {
        peer: peer.to_string(),
        path: source.to_path_buf(),
        source: e,
    };
    let mut input = File::open(source).map_err(read_error)?;
    let mode = input.metadata().map_err(read_error)?.permissions().mode() & 0o777;
    let file = AtomicFile::create(target, name).map_err(|source| PeerError::Write {
        peer: peer.to_string(),
        name: name.to_string(),
        source,
    })?;
    let write_error = |e| PeerError::Write {
        peer: peer.to_string(),
        name: name.to_string(),
        source: cedar_core::AtomicError::Write {
            path: file.temp_path().to_path_buf(),
            source: e,
        },
    };
    let mut out = DigestWriter::new(file.file());
    let mut buf = vec![0u8; BUF];
    loop {
        if interrupt_requested() {
            return Err(PeerError::Interrupted);
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e)),
        };
        out.write_all(&buf[..n]).map_err(write_error)?;
    }
    let (_, digest) = out.finish();
    let file = file.finish().map_err(|source| PeerError::Write {
        peer: peer.to_string(),
        name: name.to_string(),
        source,
    })?;
    Ok(Pending {
        name: name.to_string(),
        file,
        mode,
        digest,
    })
}

/// Copies the peer's files into `target`; the files get `owner` (as root) and their source's
/// permission bits.
pub fn stage(
    peer: &Peer,
    target: &Path,
    owner: Option<FileOwner<'_>>,
    copied: &(dyn Fn(u64) + Sync),
) -> Result<Staged, PeerError> {
    let files = regular_files(&peer.name, &peer.collect_dir)?;
    // A copy a killed run left under a temporary name of one of these files.
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    cedar_core::remove_stale_temps(
        target,
        &|final_name| names.contains(&final_name),
        "a partial copy",
    );
    let mut pending = Vec::with_capacity(files.len());
    for (name, path) in &files {
        let copy = copy_one(&peer.name, name, path, target)?;
        copied(copy.digest.size);
        pending.push(copy);
    }
    let digests: HashMap<&str, &Digested> = pending
        .iter()
        .map(|p| (p.name.as_str(), &p.digest))
        .collect();
    let manifests: Vec<_> = pending
        .iter()
        .filter_map(|p| manifest_kind(&p.name).map(|kind| (kind, p.file.temp_path())))
        .collect();
    check_manifests(&peer.name, &manifests, &|name| {
        digests.get(name).map(|d| Ok((*d).clone()))
    })?;
    let mut staged = Staged::default();
    for copy in pending {
        if interrupt_requested() {
            return Err(PeerError::Interrupted);
        }
        let bytes = copy.digest.size;
        copy.file
            .commit_with(owner, FileMode::Exact(copy.mode))
            .map_err(|source| PeerError::Write {
                peer: peer.name.clone(),
                name: copy.name.clone(),
                source,
            })?;
        staged.files += 1;
        staged.bytes += bytes;
    }
    Ok(staged)
}

/// Writes the empty `cback.stage` into the peer's collect_dir (an existing one stays).
pub fn write_indicator(peer: &Peer) -> Result<(), PeerError> {
    let path = peer.collect_dir.join(super::INDICATOR);
    File::create(&path)
        .map(drop)
        .map_err(|source| PeerError::Indicator {
            peer: peer.name.clone(),
            source: Box::new(cedar_core::AtomicError::Write { path, source }),
        })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use cedar_core::{
        dir_names, DumpStatus, Manifest, ManifestEntry, ManifestKind, RegisteredManifest,
    };
    use std::os::unix::fs::MetadataExt;

    /// A dump manifest as an extension registers it (the postgresql extension's, here).
    static KIND: ManifestKind = ManifestKind {
        file: "postgresqldump.manifest",
        dump_prefix: "postgresqldump",
        action: "postgresql",
        describe: |database| format!("database [{database}]"),
    };

    cedar_core::inventory::submit! {
        RegisteredManifest(&KIND)
    }

    fn peer(dir: &Path) -> Peer {
        Peer {
            name: "p1".into(),
            collect_dir: dir.to_path_buf(),
            ignore_failures: None,
            remote: None,
        }
    }

    #[test]
    fn files_are_copied_with_their_modes_and_hidden_files_too() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        assert!(not_ready(src.path()).unwrap().contains("cback.collect"));
        std::fs::write(src.path().join("cback.collect"), "").unwrap();
        assert_eq!(not_ready(src.path()), None);
        std::fs::write(src.path().join("a b.tar"), "data").unwrap();
        std::fs::write(src.path().join(".hidden"), "h").unwrap();
        std::fs::set_permissions(
            src.path().join("a b.tar"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        std::fs::write(dst.path().join("old-only-here"), "stays").unwrap();
        let copied = std::sync::atomic::AtomicU64::new(0);
        let staged = stage(&peer(src.path()), dst.path(), None, &|n| {
            copied.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!((staged.files, staged.bytes), (3, 5));
        assert_eq!(copied.into_inner(), 5, "each file's bytes told as copied");
        assert_eq!(
            dir_names(dst.path()),
            [".hidden", "a b.tar", "cback.collect", "old-only-here"]
        );
        let meta = std::fs::metadata(dst.path().join("a b.tar")).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o640);
        assert_eq!(std::fs::read(dst.path().join("a b.tar")).unwrap(), b"data");
    }

    #[test]
    fn a_subdirectory_or_link_fails_the_peer_before_anything_is_staged() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("cback.collect"), "").unwrap();
        std::fs::write(src.path().join("a"), "a").unwrap();
        std::fs::create_dir(src.path().join("sub")).unwrap();
        let err = stage(&peer(src.path()), dst.path(), None, &|_| {}).unwrap_err();
        assert!(matches!(err, PeerError::NotRegular { .. }), "{err}");
        assert!(
            err.to_string().contains("sub is not a regular file"),
            "{err}"
        );
        assert!(dir_names(dst.path()).is_empty());
        std::fs::remove_dir(src.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", src.path().join("link")).unwrap();
        let err = stage(&peer(src.path()), dst.path(), None, &|_| {}).unwrap_err();
        assert!(
            err.to_string().contains("link is not a regular file"),
            "{err}"
        );
    }

    #[test]
    fn a_manifest_mismatch_stages_nothing_and_names_the_file() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("cback.collect"), "").unwrap();
        std::fs::write(src.path().join("postgresqldump-a.txt"), "good").unwrap();
        let good = cedar_core::hash_file(&src.path().join("postgresqldump-a.txt")).unwrap();
        let entry = ManifestEntry {
            name: "postgresqldump-a.txt".into(),
            database: "a".into(),
            status: DumpStatus::Ok,
            size: Some(good.size),
            sha256: Some(good.sha256),
            verified: true,
            pg_dump_version: None,
            server_version: None,
            start: "x".into(),
            end: "y".into(),
            error: None,
            replacing: Vec::new(),
            left_out: Vec::new(),
            warnings: Vec::new(),
        };
        KIND.write(src.path(), &Manifest::new(vec![entry]), None)
            .unwrap();
        stage(&peer(src.path()), dst.path(), None, &|_| {}).unwrap();
        std::fs::write(src.path().join("postgresqldump-a.txt"), "evil").unwrap();
        std::fs::write(dst.path().join("postgresqldump-a.txt"), "before").unwrap();
        let err = stage(&peer(src.path()), dst.path(), None, &|_| {}).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, PeerError::Manifest { .. }), "{text}");
        assert!(text.contains("- postgresqldump-a.txt: sha256 "), "{text}");
        // What was there stays, and no temporary file is left.
        assert_eq!(
            std::fs::read(dst.path().join("postgresqldump-a.txt")).unwrap(),
            b"before"
        );
        assert!(dir_names(dst.path()).iter().all(|n| !n.starts_with('.')));
    }

    #[test]
    fn stale_partial_copies_are_removed() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("cback.collect"), "").unwrap();
        std::fs::write(dst.path().join(".cback.collect.Ab12Z9.tmp"), "partial").unwrap();
        std::fs::write(dst.path().join(".other.Ab12Z9.tmp"), "not ours").unwrap();
        stage(&peer(src.path()), dst.path(), None, &|_| {}).unwrap();
        assert_eq!(
            dir_names(dst.path()),
            [".other.Ab12Z9.tmp", "cback.collect"]
        );
    }
}
