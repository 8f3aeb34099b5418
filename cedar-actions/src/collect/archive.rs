//! Writing one archive: under a temporary name in collect_dir, renamed when complete, then
//! handed to the backup user.

use std::fs::{File, Permissions};
use std::io::{self, BufWriter};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};
use tempfile::NamedTempFile;

use super::error::CollectError;
use super::walk::{Item, ItemKind};
use cedar_core::{
    apply_ownership, compress_worker_count, Appended, ArchiveMode, Codec, CompressFraming,
    CompressSettings, Compressor, InodeMap, ProgressBar, TarWriter,
};

const OUTPUT_BUFFER: usize = 1 << 20;

/// The archive file name of a normalized name: `usr-include.tar.gz`.
pub fn archive_file_name(normalized: &str, mode: ArchiveMode) -> String {
    let ext = match mode {
        ArchiveMode::Tar => "tar",
        ArchiveMode::Targz => "tar.gz",
        ArchiveMode::Tarbz2 => "tar.bz2",
    };
    format!("{normalized}.{ext}")
}

/// What collect's progress line counts: the files archived and their bytes (and, when the line
/// is drawn, the totals [`super::count`] gives it while the run goes on).
pub fn archived() -> cedar_core::ProgressMeasure {
    cedar_core::ProgressMeasure::items("collect", "files", "archived")
}

/// Where and how to write one archive.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveSpec<'a> {
    pub collect_dir: &'a Path,
    pub file_name: &'a str,
    pub mode: ArchiveMode,
    /// backup_user and backup_group, looked up before the run; set only when running as root.
    pub owner: Option<(Uid, Gid)>,
    /// Where temporary bookkeeping goes (the hard-link table of a tree with very many hard
    /// links): the working_dir.
    pub scratch_dir: &'a Path,
    /// Counts each file added and its bytes.
    pub progress: &'a ProgressBar,
}

/// What was written.
#[derive(Debug, Default)]
pub struct ArchiveOutcome {
    /// The final path, when anything was written.
    pub path: Option<PathBuf>,
    /// Members added (files and links).
    pub members: u64,
    /// Total size of the regular files added.
    pub bytes: u64,
    /// Paths that could not be read, by name.
    pub unreadable: Vec<PathBuf>,
}

/// The compressed (or plain) archive file.
type Sink = Compressor<BufWriter<File>>;

fn sink(file: File, mode: ArchiveMode) -> io::Result<Sink> {
    let out = BufWriter::with_capacity(OUTPUT_BUFFER, file);
    // Level 6, gzip's default; bzip2 at 9 (900k blocks) like the original.
    let codec = match mode {
        ArchiveMode::Tar => Codec::None,
        ArchiveMode::Targz => Codec::Gzip,
        ArchiveMode::Tarbz2 => Codec::Bzip2,
    };
    let mut settings = CompressSettings::new(codec);
    settings.threads = compress_worker_count();
    settings.framing = CompressFraming::Archive;
    Compressor::new(out, settings)
}

fn finish_sink(sink: Sink) -> io::Result<File> {
    let (out, _) = sink.finish()?;
    out.into_inner().map_err(|e| e.into_error())
}

/// The suffix of archives being written; such files are never complete archives.
pub const PARTIAL_SUFFIX: &str = ".cback-partial";

/// The mode an archive is created with, less the umask: never readable by others.
const ARCHIVE_MODE: u32 = 0o640;

/// Removes partial archives that a killed run left in `collect_dir` (a run holds the lock, so
/// no other run is writing them), so that stage never copies them.
pub fn remove_stale_partials(collect_dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(collect_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(PARTIAL_SUFFIX) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::warn!(
                    "Removed [{}], a partial archive left by an interrupted run.",
                    entry.path().display()
                ),
                Err(e) => tracing::warn!("Cannot remove [{}]: {e}", entry.path().display()),
            }
        }
    }
}

struct Open {
    temp: NamedTempFile,
    tar: TarWriter<Sink>,
}

fn open_temp(spec: &ArchiveSpec<'_>) -> Result<Open, CollectError> {
    let create = |source| CollectError::CreateArchive {
        dir: spec.collect_dir.to_path_buf(),
        source,
    };
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", spec.file_name))
        .suffix(PARTIAL_SUFFIX)
        // An archive holds what the files held (/etc/shadow, keys): readable by its owner and
        // the backup group only, less the umask (the original's 0666 less the umask made it
        // world-readable under the usual 022).
        .permissions(Permissions::from_mode(ARCHIVE_MODE))
        .tempfile_in(spec.collect_dir)
        .map_err(create)?;
    let file = temp.as_file().try_clone().map_err(create)?;
    let sink = sink(file, spec.mode).map_err(create)?;
    Ok(Open {
        temp,
        tar: TarWriter::with_inodes(sink, InodeMap::in_dir(spec.scratch_dir)),
    })
}

/// An archive written in full under its temporary name (`PARTIAL_SUFFIX`), not yet under its
/// final name. Dropped without [`Built::persist`], it is removed.
#[derive(Debug)]
pub struct Built {
    temp: NamedTempFile,
    final_path: PathBuf,
    collect_dir: PathBuf,
    owner: Option<(Uid, Gid)>,
}

impl Built {
    /// Gives the archive its final name (replacing an archive of an earlier run atomically),
    /// syncs collect_dir, and hands the archive to the backup user. Returns the final path.
    pub fn persist(self) -> Result<PathBuf, CollectError> {
        let Built {
            temp,
            final_path,
            collect_dir,
            owner,
        } = self;
        temp.persist(&final_path)
            .map_err(|e| CollectError::WriteArchive {
                path: final_path.clone(),
                source: e.error,
            })?;
        // The rename on disk before we go on.
        cedar_core::sync_dir(&collect_dir).map_err(|source| CollectError::SyncDir {
            dir: collect_dir.clone(),
            path: final_path.clone(),
            source,
        })?;
        if let Some((uid, gid)) = owner {
            apply_ownership(&final_path, uid, gid).map_err(|source| CollectError::Ownership {
                path: final_path.clone(),
                source,
            })?;
        }
        Ok(final_path)
    }
}

/// Writes `items` into the archive of `spec` under a temporary name, complete and on disk,
/// without giving it its final name. Nothing is created (`None`) when no item is added.
pub fn build_archive(
    spec: &ArchiveSpec<'_>,
    items: impl IntoIterator<Item = Item>,
) -> Result<(ArchiveOutcome, Option<Built>), CollectError> {
    let final_path = spec.collect_dir.join(spec.file_name);
    let write_error = |source| CollectError::WriteArchive {
        path: final_path.clone(),
        source,
    };
    let mut outcome = ArchiveOutcome::default();
    let mut open: Option<Open> = None;
    for item in items {
        if cedar_core::interrupt_requested() {
            return Err(CollectError::Interrupted);
        }
        if open.is_none() {
            open = Some(open_temp(spec)?);
        }
        let Some(current) = open.as_mut() else {
            continue;
        };
        let appended = match item.kind {
            ItemKind::File => current.tar.append_file(&item.path),
            ItemKind::Link => current.tar.append_link(&item.path),
        }
        .map_err(write_error)?;
        match appended {
            Appended::Added { bytes } => {
                outcome.members += 1;
                outcome.bytes += bytes;
                spec.progress.add_item(bytes);
            }
            Appended::Vanished => tracing::warn!(
                "[{}] vanished before it was read; skipped.",
                item.path.display()
            ),
            Appended::Skipped => tracing::warn!(
                "[{}] changed type while the backup ran; skipped.",
                item.path.display()
            ),
            Appended::Unreadable(err) => {
                tracing::warn!("Cannot read [{}]: {err}; skipped.", item.path.display());
                outcome.unreadable.push(item.path);
            }
        }
    }
    let Some(Open { temp, tar }) = open else {
        return Ok((outcome, None));
    };
    if outcome.members == 0 {
        return Ok((outcome, None));
    }
    let file = tar.finish().and_then(finish_sink).map_err(write_error)?;
    // On disk before it takes the final name.
    file.sync_all().map_err(write_error)?;
    drop(file);
    let built = Built {
        temp,
        final_path: final_path.clone(),
        collect_dir: spec.collect_dir.to_path_buf(),
        owner: spec.owner,
    };
    Ok((outcome, Some(built)))
}

/// Writes `items` into the archive of `spec`. Nothing is created when no item is added; the
/// final name appears only once the archive is complete.
pub fn write_archive(
    spec: &ArchiveSpec<'_>,
    items: impl IntoIterator<Item = Item>,
) -> Result<ArchiveOutcome, CollectError> {
    let (mut outcome, built) = build_archive(spec, items)?;
    if let Some(built) = built {
        outcome.path = Some(built.persist()?);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_mode() {
        assert_eq!(
            archive_file_name("usr-include", ArchiveMode::Targz),
            "usr-include.tar.gz"
        );
        assert_eq!(archive_file_name("a", ArchiveMode::Tar), "a.tar");
        assert_eq!(archive_file_name("a", ArchiveMode::Tarbz2), "a.tar.bz2");
    }

    #[test]
    fn nothing_selected_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let spec = ArchiveSpec {
            collect_dir: dir.path(),
            file_name: "x.tar",
            mode: ArchiveMode::Tar,
            owner: None,
            scratch_dir: dir.path(),
            progress: &ProgressBar::hidden(archived()),
        };
        let out = write_archive(&spec, Vec::new()).unwrap();
        assert!(out.path.is_none());
        let vanished = vec![Item {
            path: dir.path().join("gone"),
            kind: ItemKind::File,
        }];
        let out = write_archive(&spec, vanished).unwrap();
        assert!(out.path.is_none());
        assert_eq!(spec.progress.items(), 0, "nothing counted");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temp removed"
        );
    }
}
