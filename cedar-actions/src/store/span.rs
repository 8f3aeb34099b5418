//! What cback-span needs besides its questions: the daily directories not yet on disc, their
//! files, and writing one disc of them.
//!
//! Each file is its own graft entry `REL_DIR/=FILE` (REL_DIR is the file's directory relative
//! to `<store><source_dir>`); every disc is a new disc without a label. With check_data, the
//! whole disc is compared with that disc's file list.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::check_data;
use super::error::StoreError;
use super::indicator::STORE_INDICATOR;
use super::iso::Entry;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::writer::{Writer, Written};

/// One file to span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanFile {
    /// The file's directory relative to the source directory, e.g. `2026/12/01/sub`.
    pub rel_dir: String,
    pub path: PathBuf,
    pub size: u64,
}

impl SpanFile {
    /// The file's path on the disc, with a leading `/`.
    pub fn disc_path(&self) -> String {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("/{}/{name}", self.rel_dir)
    }
}

/// What span found below the source directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Daily directories (`S/*/*/*`, not links) without `cback.store`, sorted.
    pub dirs: Vec<PathBuf>,
    /// Every regular file below them, sorted by path.
    pub files: Vec<SpanFile>,
    /// Symbolic links below them, which span does not write.
    pub links: Vec<PathBuf>,
}

impl Inventory {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

fn sorted_subdirs(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| StoreError::io("read the directory", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("read the directory", dir, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| StoreError::io("read the directory", dir, e))?;
        if kind.is_dir() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Indexes `source`: the unstored daily directories and their files.
pub fn inventory(source: &Path) -> Result<Inventory, StoreError> {
    let mut inv = Inventory::default();
    for year in sorted_subdirs(source)? {
        for month in sorted_subdirs(&year)? {
            for day in sorted_subdirs(&month)? {
                if !day.join(STORE_INDICATOR).exists() {
                    inv.dirs.push(day);
                }
            }
        }
    }
    for dir in &inv.dirs {
        let mut stack = vec![dir.clone()];
        while let Some(current) = stack.pop() {
            let read = |e| StoreError::io("read the directory", &current, e);
            let mut entries: Vec<_> = fs::read_dir(&current)
                .map_err(read)?
                .collect::<Result<_, _>>()
                .map_err(read)?;
            entries.sort_by_key(|e| e.file_name());
            for entry in entries.iter().rev() {
                let kind = entry.file_type().map_err(read)?;
                let path = entry.path();
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_symlink() {
                    inv.links.push(path);
                } else if kind.is_file() {
                    let size = entry.metadata().map_err(read)?.len();
                    let rel_dir = current
                        .strip_prefix(source)
                        .unwrap_or(&current)
                        .to_string_lossy()
                        .into_owned();
                    inv.files.push(SpanFile {
                        rel_dir,
                        path,
                        size,
                    });
                }
            }
        }
    }
    inv.files.sort_by(|a, b| a.path.cmp(&b.path));
    inv.links.sort();
    Ok(inv)
}

/// Writes `files` as a new disc without a label; with check_data, compares the whole disc
/// with them.
pub fn write_disc(
    writer: &Writer<'_>,
    tools: &Tools<'_>,
    settings: &StoreSettings,
    files: &[&SpanFile],
) -> Result<Written, StoreError> {
    let entries: Vec<Entry> = files
        .iter()
        .map(|f| Entry {
            graft: format!("{}/", f.rel_dir),
            path: f.path.clone(),
        })
        .collect();
    let written = writer.write(&entries, None, true, None)?;
    if settings.check_data {
        let expected: BTreeMap<String, PathBuf> = files
            .iter()
            .map(|f| (f.disc_path(), f.path.clone()))
            .collect();
        check_data::check_listing(tools, settings, &settings.source_dir, &expected)?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_skips_stored_days_and_lists_links() {
        let root = tempfile::tempdir().unwrap();
        let s = root.path();
        for (rel, stored) in [
            ("2026/11/30", true),
            ("2026/12/01", false),
            ("2026/12/02", false),
        ] {
            fs::create_dir_all(s.join(rel).join("sub")).unwrap();
            fs::write(s.join(rel).join("a"), "aaa").unwrap();
            fs::write(s.join(rel).join("sub/b"), "b").unwrap();
            if stored {
                fs::write(s.join(rel).join(STORE_INDICATOR), "").unwrap();
            }
        }
        std::os::unix::fs::symlink("a", s.join("2026/12/01/link")).unwrap();
        let inv = inventory(s).unwrap();
        assert_eq!(inv.dirs, [s.join("2026/12/01"), s.join("2026/12/02")]);
        let paths: Vec<String> = inv.files.iter().map(SpanFile::disc_path).collect();
        assert_eq!(
            paths,
            [
                "/2026/12/01/a",
                "/2026/12/01/sub/b",
                "/2026/12/02/a",
                "/2026/12/02/sub/b"
            ]
        );
        assert_eq!(inv.total_bytes(), 8);
        assert_eq!(inv.links, [s.join("2026/12/01/link")]);
    }
}
