//! The staging tree as the extensions that run after stage see it (encrypt, split, amazons3):
//! daily directories, the backup files in them, indicators, and the journal of a directory
//! being rewritten.
//!
//! - A **daily directory** is any directory exactly three levels below staging_dir
//!   (`STAGING/*/*/*`), whatever its names; no level may be a symbolic link ([`daily_dirs`]).
//! - Its **backup files** are the regular files below it at any depth, except links, files
//!   whose name starts with `cback.` and everything inside a directory whose name starts with
//!   `cback.` ([`backup_files`]).
//! - An **indicator** is an empty file written into the directory when an action is done with
//!   it, owned by the backup user as root ([`write_indicator`]).
//! - A **journal** (`cback.NAME.journal`, [`Journal`]) lists the files an action is creating in
//!   a directory before it creates them, so that a run killed half way can tell its own
//!   outputs from staged files and finish the directory without processing them twice.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};

use crate::ext::section::SectionError;
use crate::ownership::{self, OwnershipError};

/// What an extension that runs after stage needs from the standard sections: the staging
/// directory, and the backup user and group that its files are handed to as root.
#[derive(Debug, Clone)]
pub struct AfterStage<'a> {
    pub staging_dir: &'a Path,
    /// backup_user:backup_group as written (empty when absent).
    pub user: &'a str,
    pub group: &'a str,
    /// Their ids, looked up when running as root (`None` otherwise: ownership is not changed).
    pub ids: Option<(Uid, Gid)>,
    /// The mode of a new file: 0666 less the umask, as the original's files get.
    pub mode: u32,
}

impl<'a> AfterStage<'a> {
    /// Reads the standard sections of `config` for `action`; as root, looks the backup owner
    /// up.
    pub fn load(
        action: &'static str,
        config: &'a crate::config::ConfigFile,
    ) -> Result<AfterStage<'a>, SectionError> {
        let incomplete = |missing| SectionError::Incomplete {
            action,
            missing,
            path: config.path.clone(),
        };
        let options = config
            .config
            .options
            .as_ref()
            .ok_or_else(|| incomplete("an <options> section"))?;
        let staging_dir = config
            .config
            .stage
            .as_ref()
            .ok_or_else(|| incomplete("a <stage> section"))?
            .staging_dir
            .as_deref()
            .ok_or_else(|| incomplete("<stage><staging_dir>"))?;
        let user = options.backup_user.as_deref().unwrap_or_default();
        let group = options.backup_group.as_deref().unwrap_or_default();
        let ids = if ownership::running_as_root() {
            Some(
                ownership::lookup(user, group)
                    .map_err(|source| SectionError::Owner { action, source })?,
            )
        } else {
            None
        };
        Ok(AfterStage {
            staging_dir: Path::new(staging_dir),
            user,
            group,
            ids,
            mode: new_file_mode(),
        })
    }

    /// The owner for [`crate::atomic`], when running as root.
    pub fn owner(&self) -> Option<crate::atomic::Owner<'_>> {
        self.ids.map(|_| crate::atomic::Owner {
            user: self.user,
            group: self.group,
        })
    }
}

/// The prefix of every indicator and of every file the backup tools keep for themselves.
pub const RESERVED_PREFIX: &str = "cback.";

/// Why the staging tree could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StagedError {
    #[error("Path is not a directory or does not exist on disk. ({}; check <stage><staging_dir>)", path.display())]
    NoStagingDir { path: PathBuf },
    #[error("cannot read directory {}; check its permissions", path.display())]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}; check the permissions and free space of its directory", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("Error changing ownership of [{}]; check <options><backup_user> and <backup_group>", path.display())]
    Owner {
        path: PathBuf,
        #[source]
        source: OwnershipError,
    },
    #[error("the journal {} is damaged (a line is not a file name); remove it and check the directory by hand", path.display())]
    Journal { path: PathBuf },
}

/// Whether a file or directory name is reserved for the backup tools (`cback.*`).
pub fn is_reserved(name: &std::ffi::OsStr) -> bool {
    name.as_bytes().starts_with(RESERVED_PREFIX.as_bytes())
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<fs::DirEntry>, StagedError> {
    let fail = |source| StagedError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = fs::read_dir(dir)
        .map_err(fail)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

/// The real (not linked) subdirectories directly in `dir`, sorted by name.
pub fn real_subdirs(dir: &Path) -> Result<Vec<PathBuf>, StagedError> {
    let mut dirs = Vec::new();
    for entry in read_dir_sorted(dir)? {
        let file_type = entry.file_type().map_err(|source| StagedError::ReadDir {
            path: entry.path(),
            source,
        })?;
        if file_type.is_dir() {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

/// Every daily directory of `staging_dir`, sorted. A missing staging_dir is an error with the
/// original's message.
pub fn daily_dirs(staging_dir: &Path) -> Result<Vec<PathBuf>, StagedError> {
    if !staging_dir.is_dir() {
        return Err(StagedError::NoStagingDir {
            path: staging_dir.to_path_buf(),
        });
    }
    let mut level = vec![staging_dir.to_path_buf()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for dir in &level {
            next.extend(real_subdirs(dir)?);
        }
        level = next;
    }
    Ok(level)
}

/// The backup files below `daily`, sorted by path (see the module documentation).
pub fn backup_files(daily: &Path) -> Result<Vec<PathBuf>, StagedError> {
    let mut files = Vec::new();
    collect_files(daily, &mut files)?;
    Ok(files)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), StagedError> {
    for entry in read_dir_sorted(dir)? {
        if is_reserved(&entry.file_name()) {
            continue;
        }
        let file_type = entry.file_type().map_err(|source| StagedError::ReadDir {
            path: entry.path(),
            source,
        })?;
        if file_type.is_dir() {
            collect_files(&entry.path(), files)?;
        } else if file_type.is_file() {
            files.push(entry.path());
        }
    }
    Ok(())
}

/// The total size of the regular files below `dir` (any name, links not counted).
pub fn total_size(dir: &Path) -> Result<u64, StagedError> {
    let mut total = 0;
    for entry in read_dir_sorted(dir)? {
        let meta = fs::symlink_metadata(entry.path()).map_err(|source| StagedError::ReadDir {
            path: entry.path(),
            source,
        })?;
        if meta.is_dir() {
            total += total_size(&entry.path())?;
        } else if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

/// Changes `path` to `owner` (looked up earlier, as root); nothing when `owner` is `None`.
pub fn chown(path: &Path, owner: Option<(Uid, Gid)>) -> Result<(), StagedError> {
    match owner {
        Some((uid, gid)) => ownership::apply(path, uid, gid).map_err(|source| StagedError::Owner {
            path: path.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}

/// Writes the empty indicator `name` into `dir` (an existing one is kept) and hands it to
/// `owner`.
pub fn write_indicator(
    dir: &Path,
    name: &str,
    owner: Option<(Uid, Gid)>,
) -> Result<PathBuf, StagedError> {
    let path = dir.join(name);
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|f| f.sync_all())
        .map_err(|source| StagedError::Write {
            path: path.clone(),
            source,
        })?;
    chown(&path, owner)?;
    Ok(path)
}

/// The process umask, read without changing it (from `/proc/self/status`; where that is not
/// available, by setting and restoring it).
pub fn umask() -> u32 {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        if let Some(value) = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        {
            return value;
        }
    }
    use nix::sys::stat::{umask, Mode};
    let old = umask(Mode::from_bits_truncate(0o077));
    umask(old);
    old.bits()
}

/// The mode a tool gives a new file: 0666 less the umask.
pub fn new_file_mode() -> u32 {
    0o666 & !umask()
}

/// The files an action is creating in a daily directory, written before the first of them
/// is created and removed after the directory is finished.
///
/// A run that finds a journal knows which of the directory's files are outputs of an earlier,
/// unfinished run: such a file is never taken as an input. Its input, when still present, is
/// processed again (rewriting the output); when its input is gone, the output is complete.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// Output paths relative to the daily directory.
    outputs: BTreeSet<PathBuf>,
}

impl Journal {
    /// `cback.NAME.journal` in `daily`, with the outputs an earlier run listed (none when the
    /// file does not exist).
    pub fn open(daily: &Path, name: &str) -> Result<Journal, StagedError> {
        let path = daily.join(format!("{RESERVED_PREFIX}{name}.journal"));
        let outputs = match fs::read(&path) {
            Ok(bytes) => parse_lines(&bytes).ok_or(StagedError::Journal { path: path.clone() })?,
            Err(err) if err.kind() == io::ErrorKind::NotFound => BTreeSet::new(),
            Err(source) => return Err(StagedError::ReadDir { path, source }),
        };
        Ok(Journal { path, outputs })
    }

    /// Whether an earlier run left this journal.
    pub fn is_pending(&self) -> bool {
        !self.outputs.is_empty()
    }

    /// Whether `relative` (a path below the daily directory) is an output an earlier run
    /// listed.
    pub fn lists(&self, relative: &Path) -> bool {
        self.outputs.contains(relative)
    }

    /// Adds `outputs` and writes the journal to disk (synced) before any of them is created.
    pub fn record(
        &mut self,
        outputs: impl IntoIterator<Item = PathBuf>,
    ) -> Result<(), StagedError> {
        self.outputs.extend(outputs);
        let mut text = Vec::new();
        for output in &self.outputs {
            text.extend_from_slice(output.as_os_str().as_bytes());
            text.push(b'\n');
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let fail = |source| StagedError::Write {
            path: self.path.clone(),
            source,
        };
        let file =
            crate::atomic::AtomicFile::create(dir, &name).map_err(|e| fail(io::Error::other(e)))?;
        use io::Write;
        file.file().write_all(&text).map_err(fail)?;
        file.commit_with(None, crate::atomic::Mode::Private)
            .map_err(|e| fail(io::Error::other(e)))?;
        Ok(())
    }

    /// Removes the journal: the directory is finished.
    pub fn finish(self) -> Result<(), StagedError> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StagedError::Write {
                path: self.path,
                source,
            }),
        }
    }
}

/// Journal lines: one relative path per line (names holding a line feed cannot be listed).
fn parse_lines(bytes: &[u8]) -> Option<BTreeSet<PathBuf>> {
    let mut set = BTreeSet::new();
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(line));
        if path.is_absolute() {
            return None;
        }
        set.insert(path);
    }
    Some(set)
}

/// Whether `name` can be listed in a journal (it holds no line feed).
pub fn journal_safe(relative: &Path) -> bool {
    !relative.as_os_str().as_bytes().contains(&b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn after_stage_names_the_missing_section_and_reads_the_rest() {
        let parse =
            |text: &str| crate::ConfigFile::parse(text, Path::new("/etc/cback3.conf")).unwrap();
        let missing = |text: &str| match AfterStage::load("split", &parse(text)) {
            Err(SectionError::Incomplete { missing, .. }) => missing,
            other => panic!("{other:?}"),
        };
        assert_eq!(missing("<cb_config/>"), "an <options> section");
        let options =
            "<options><backup_user>root</backup_user><backup_group>root</backup_group></options>";
        assert_eq!(
            missing(&format!("<cb_config>{options}</cb_config>")),
            "a <stage> section"
        );
        assert_eq!(
            missing(&format!("<cb_config>{options}<stage/></cb_config>")),
            "<stage><staging_dir>"
        );
        let config = parse(&format!(
            "<cb_config>{options}<stage><staging_dir>/srv/stage</staging_dir></stage></cb_config>"
        ));
        let site = AfterStage::load("split", &config).unwrap();
        assert_eq!(site.staging_dir, Path::new("/srv/stage"));
        assert_eq!(site.mode, new_file_mode());
        assert_eq!(site.ids.is_some(), ownership::running_as_root());
        assert_eq!(site.owner().is_some(), ownership::running_as_root());
    }

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"x").unwrap();
    }

    #[test]
    fn daily_directories_are_three_real_levels_down() {
        let root = tempfile::tempdir().unwrap();
        let s = &root.path().join("stage");
        fs::create_dir_all(s.join("2026/12/01")).unwrap();
        fs::create_dir_all(s.join("misc/notes/keep")).unwrap();
        fs::create_dir_all(s.join("2026/12/02/deeper")).unwrap();
        fs::create_dir_all(s.join("shallow/only")).unwrap();
        fs::create_dir_all(root.path().join("elsewhere/a/b")).unwrap();
        touch(&s.join("2026/12/file"));
        symlink(s.join("2026/12/01"), s.join("2026/12/03")).unwrap();
        symlink(root.path().join("elsewhere"), s.join("linked")).unwrap();
        let days = daily_dirs(s).unwrap();
        assert_eq!(
            days,
            vec![
                s.join("2026/12/01"),
                s.join("2026/12/02"),
                s.join("misc/notes/keep")
            ]
        );
        let err = daily_dirs(&s.join("missing")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("Path is not a directory or does not exist on disk."));
    }

    #[test]
    fn backup_files_skip_links_and_reserved_names() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path();
        touch(&d.join("host1/a.tar.gz"));
        touch(&d.join("host1/cback.collect"));
        touch(&d.join("host1/sub/b"));
        touch(&d.join("cback.stage"));
        touch(&d.join("cback.dir/inside"));
        touch(&d.join("mycback.txt"));
        symlink(d.join("host1/a.tar.gz"), d.join("link")).unwrap();
        let files = backup_files(d).unwrap();
        assert_eq!(
            files,
            vec![
                d.join("host1/a.tar.gz"),
                d.join("host1/sub/b"),
                d.join("mycback.txt")
            ]
        );
        // Every regular file counts in the total, links do not.
        assert_eq!(total_size(d).unwrap(), 6);
    }

    #[test]
    fn a_journal_lists_outputs_until_finished() {
        let root = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(root.path(), "encrypt").unwrap();
        assert!(!journal.is_pending());
        journal
            .record([PathBuf::from("h/a.gpg"), PathBuf::from("b c.gpg")])
            .unwrap();
        let again = Journal::open(root.path(), "encrypt").unwrap();
        assert!(again.is_pending());
        assert!(again.lists(Path::new("h/a.gpg")));
        assert!(again.lists(Path::new("b c.gpg")));
        assert!(!again.lists(Path::new("h/a")));
        again.finish().unwrap();
        assert!(!root.path().join("cback.encrypt.journal").exists());
        assert!(!Journal::open(root.path(), "encrypt").unwrap().is_pending());
    }

    #[test]
    fn indicators_are_empty_and_new_files_follow_the_umask() {
        let root = tempfile::tempdir().unwrap();
        let path = write_indicator(root.path(), "cback.encrypt", None).unwrap();
        assert_eq!(fs::read(path).unwrap(), b"");
        assert_eq!(new_file_mode() & 0o111, 0);
        assert_eq!(new_file_mode(), 0o666 & !umask());
    }
}
