//! The entries directly in a directory, in listing order (the original uses `os.listdir`, which
//! does not sort), less the excluded ones: an exclusion `rel_path` names `ABS_PATH/REL_PATH`
//! exactly, and a pattern must match the whole path (see [`ExcludePattern`]).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::config::{ExcludePattern, PatternError};

/// What an entry is, soft links followed where it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory (not a soft link to one).
    Dir,
    /// A regular file (not a soft link to one).
    File,
    /// A soft link to a regular file.
    LinkToFile,
    /// A soft link to a directory.
    LinkToDir,
    /// A soft link that points nowhere, or to something else.
    OtherLink,
    /// A device, socket, FIFO, ...
    Other,
}

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `ABS_PATH/NAME`, as the original joins them.
    pub path: PathBuf,
    pub name: OsString,
    pub kind: Kind,
}

/// The exclusions of one `<repository_dir>` or `<dir>`.
#[derive(Debug, Clone, Default)]
pub struct Exclusions {
    paths: Vec<PathBuf>,
    patterns: Vec<ExcludePattern>,
}

impl Exclusions {
    /// The exclusions of the directory `abs_path`.
    pub fn new(
        abs_path: &str,
        rel_paths: &[String],
        patterns: &[String],
    ) -> Result<Exclusions, PatternError> {
        Ok(Exclusions {
            paths: rel_paths.iter().map(|rel| join(abs_path, rel)).collect(),
            patterns: patterns
                .iter()
                .map(|p| ExcludePattern::new(p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether `path` is left out.
    pub fn excludes(&self, path: &Path) -> bool {
        if self.paths.iter().any(|p| p == path) {
            return true;
        }
        let text = path.to_string_lossy();
        self.patterns.iter().any(|p| p.is_match(&text))
    }
}

/// `base/name` the way Python's `os.path.join` makes it (no second `/` after a trailing one).
pub fn join(base: &str, name: impl AsRef<std::ffi::OsStr>) -> PathBuf {
    let mut bytes = base.as_bytes().to_vec();
    if !bytes.ends_with(b"/") {
        bytes.push(b'/');
    }
    bytes.extend_from_slice(name.as_ref().as_bytes());
    PathBuf::from(std::ffi::OsStr::from_bytes(&bytes))
}

/// The entries of `abs_path` that `exclusions` keeps, in listing order.
pub fn list(abs_path: &str, exclusions: &Exclusions) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(abs_path)? {
        let entry = entry?;
        let name = entry.file_name();
        let path = join(abs_path, &name);
        if exclusions.excludes(&path) {
            tracing::debug!("Excluding [{}].", path.display());
            continue;
        }
        let kind = kind_of(&path);
        entries.push(Entry { path, name, kind });
    }
    Ok(entries)
}

fn kind_of(path: &Path) -> Kind {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Kind::Other;
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return match std::fs::metadata(path) {
            Ok(target) if target.is_file() => Kind::LinkToFile,
            Ok(target) if target.is_dir() => Kind::LinkToDir,
            _ => Kind::OtherLink,
        };
    }
    if kind.is_dir() {
        Kind::Dir
    } else if kind.is_file() {
        Kind::File
    } else {
        Kind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_exclusions() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_str().unwrap().to_string();
        for sub in ["repo", "skipped", "pattern-x"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("file"), "").unwrap();
        std::os::unix::fs::symlink("repo", dir.path().join("dirlink")).unwrap();
        std::os::unix::fs::symlink("file", dir.path().join("filelink")).unwrap();
        std::os::unix::fs::symlink("missing", dir.path().join("broken")).unwrap();
        let exclusions = Exclusions::new(
            &format!("{base}/"),
            &["skipped".to_string()],
            &[".*/pattern-.".to_string(), "repo".to_string()],
        )
        .unwrap();
        let mut found: Vec<(String, Kind)> = list(&format!("{base}/"), &exclusions)
            .unwrap()
            .into_iter()
            .map(|e| {
                assert_eq!(e.path, dir.path().join(&e.name));
                (e.name.to_string_lossy().into_owned(), e.kind)
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            found,
            vec![
                ("broken".to_string(), Kind::OtherLink),
                ("dirlink".to_string(), Kind::LinkToDir),
                ("file".to_string(), Kind::File),
                ("filelink".to_string(), Kind::LinkToFile),
                ("repo".to_string(), Kind::Dir),
            ]
        );
        assert!(Exclusions::new(&base, &[], &["(".to_string()]).is_err());
        assert_eq!(join("/a", "b"), Path::new("/a/b"));
        assert_eq!(join("/a/", "b"), Path::new("/a/b"));
    }
}
