//! What the collect action will do: the configuration resolved into entries, and which of them
//! are collected today.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::error::CollectError;
use super::exclude::{absolute_rel_path, Excludes};
use super::walk::{split_subdirs, WalkSettings};
use cedar_core::{ArchiveMode, CollectDir, CollectFile, CollectMode, Config, Weekday};

/// A `<file>` entry with its effective modes.
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub path: PathBuf,
    pub collect_mode: CollectMode,
    pub archive_mode: ArchiveMode,
}

/// A `<dir>` entry with its effective settings.
#[derive(Debug, Clone)]
pub struct DirEntry {
    pub path: PathBuf,
    pub collect_mode: CollectMode,
    pub archive_mode: ArchiveMode,
    pub ignore_file: Option<OsString>,
    pub link_depth: i64,
    pub dereference: bool,
    pub recursion_level: i64,
    pub excludes: Excludes,
}

/// The collect section resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    pub collect_dir: PathBuf,
    pub working_dir: PathBuf,
    pub starting_day: Weekday,
    pub owner: Option<(String, String)>,
    pub files: Vec<FileEntry>,
    pub dirs: Vec<DirEntry>,
}

fn required<T: Clone>(value: &Option<T>, element: &'static str) -> Result<T, CollectError> {
    value.clone().ok_or(CollectError::MissingValue { element })
}

impl Plan {
    /// Resolves the `<options>` and `<collect>` sections. Entry values fall back to the
    /// section's; patterns are compiled here so that a bad one stops the run before anything
    /// is written.
    pub fn from_config(config: &Config) -> Result<Plan, CollectError> {
        let options = config
            .options
            .as_ref()
            .ok_or(CollectError::MissingOptions)?;
        let collect = config
            .collect
            .as_ref()
            .ok_or(CollectError::MissingSection)?;
        if collect.files.is_empty() && collect.dirs.is_empty() {
            return Err(CollectError::NoEntries);
        }
        let section_excludes = collect.exclude.clone().unwrap_or_default();
        // Fail early and by name on a bad section-level pattern.
        Excludes::new(Vec::new(), section_excludes.patterns.clone())?;
        let owner = match (&options.backup_user, &options.backup_group) {
            (Some(u), Some(g)) => Some((u.clone(), g.clone())),
            _ => None,
        };
        let files = collect
            .files
            .iter()
            .map(|f| file_entry(f, collect.collect_mode, collect.archive_mode))
            .collect::<Result<Vec<_>, _>>()?;
        let dirs = collect
            .dirs
            .iter()
            .map(|d| {
                dir_entry(
                    d,
                    collect.collect_mode,
                    collect.archive_mode,
                    collect.ignore_file.as_deref(),
                    &section_excludes.abs_paths,
                    &section_excludes.patterns,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Plan {
            collect_dir: PathBuf::from(required(&collect.collect_dir, "collect><collect_dir")?),
            working_dir: PathBuf::from(required(&options.working_dir, "options><working_dir")?),
            starting_day: required(&options.starting_day, "options><starting_day")?,
            owner,
            files,
            dirs,
        })
    }
}

fn file_entry(
    f: &CollectFile,
    mode: Option<CollectMode>,
    archive: Option<ArchiveMode>,
) -> Result<FileEntry, CollectError> {
    Ok(FileEntry {
        path: PathBuf::from(required(&f.abs_path, "collect><file><abs_path")?),
        collect_mode: f.collect_mode.or(mode).ok_or(CollectError::MissingValue {
            element: "collect><file><collect_mode",
        })?,
        archive_mode: f
            .archive_mode
            .or(archive)
            .ok_or(CollectError::MissingValue {
                element: "collect><file><archive_mode",
            })?,
    })
}

fn dir_entry(
    d: &CollectDir,
    mode: Option<CollectMode>,
    archive: Option<ArchiveMode>,
    ignore_file: Option<&str>,
    section_paths: &[String],
    section_patterns: &[String],
) -> Result<DirEntry, CollectError> {
    let path = PathBuf::from(required(&d.abs_path, "collect><dir><abs_path")?);
    let own = d.exclude.clone().unwrap_or_default();
    let mut paths: Vec<PathBuf> = section_paths.iter().map(PathBuf::from).collect();
    paths.extend(own.abs_paths.iter().map(PathBuf::from));
    paths.extend(
        own.rel_paths
            .iter()
            .map(|rel| absolute_rel_path(&path, rel)),
    );
    let patterns = section_patterns.iter().chain(own.patterns.iter()).cloned();
    Ok(DirEntry {
        collect_mode: d.collect_mode.or(mode).ok_or(CollectError::MissingValue {
            element: "collect><dir><collect_mode",
        })?,
        archive_mode: d
            .archive_mode
            .or(archive)
            .ok_or(CollectError::MissingValue {
                element: "collect><dir><archive_mode",
            })?,
        ignore_file: d.ignore_file.as_deref().or(ignore_file).map(OsString::from),
        link_depth: d.link_depth.unwrap_or(0),
        dereference: d.dereference.unwrap_or(false),
        recursion_level: d.recursion_level.unwrap_or(0),
        excludes: Excludes::new(paths, patterns)?,
        path,
    })
}

/// Whether incremental state is reset (everything counts as changed).
pub fn reset_digest(full: bool, starting_day: bool) -> bool {
    full || starting_day
}

/// One archive to write for a directory entry: its root and its exclusions.
#[derive(Debug, Clone)]
pub struct Target {
    pub path: PathBuf,
    pub excludes: Excludes,
}

impl DirEntry {
    /// How `target` (one of this entry's directories, see [`expand`]) is walked.
    pub fn walk_settings<'a>(&'a self, target: &'a Target) -> WalkSettings<'a> {
        WalkSettings {
            excludes: &target.excludes,
            ignore_file: self.ignore_file.as_deref(),
            link_depth: self.link_depth,
            dereference: self.dereference,
        }
    }
}

/// The archives of a directory entry with `level` levels of recursion: each subdirectory
/// `level` levels down as its own target (deepest first, in listing order), then each parent
/// with its split-off subdirectories excluded, the entry itself last.
pub fn expand(path: &Path, level: i64, excludes: &Excludes) -> Result<Vec<Target>, CollectError> {
    let mut out = Vec::new();
    expand_into(path, level, excludes, &mut out)?;
    Ok(out)
}

fn expand_into(
    path: &Path,
    level: i64,
    excludes: &Excludes,
    out: &mut Vec<Target>,
) -> Result<(), CollectError> {
    if level <= 0 {
        out.push(Target {
            path: path.to_path_buf(),
            excludes: excludes.clone(),
        });
        return Ok(());
    }
    let subdirs = split_subdirs(path, excludes).map_err(|source| CollectError::ReadDir {
        path: path.to_path_buf(),
        source,
    })?;
    for sub in &subdirs {
        expand_into(sub, level - 1, excludes, out)?;
    }
    out.push(Target {
        path: path.to_path_buf(),
        excludes: excludes.with_paths(subdirs),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::{CollectConfig, CollectExclude, OptionsConfig};

    #[test]
    fn weekly_only_on_the_starting_day_or_full() {
        assert!(CollectMode::Daily.backs_up_today(false, false));
        assert!(CollectMode::Incr.backs_up_today(false, false));
        assert!(!CollectMode::Weekly.backs_up_today(false, false));
        assert!(CollectMode::Weekly.backs_up_today(false, true));
        assert!(CollectMode::Weekly.backs_up_today(true, false));
        assert!(reset_digest(true, false));
        assert!(reset_digest(false, true));
        assert!(!reset_digest(false, false));
    }

    fn config(collect: CollectConfig) -> Config {
        Config {
            options: Some(OptionsConfig {
                starting_day: Some(Weekday::Monday),
                working_dir: Some("/w".into()),
                backup_user: Some("backup".into()),
                backup_group: Some("backup".into()),
                ..Default::default()
            }),
            collect: Some(collect),
            ..Default::default()
        }
    }

    #[test]
    fn entry_values_fall_back_to_the_section() {
        let c = config(CollectConfig {
            collect_dir: Some("/out".into()),
            collect_mode: Some(CollectMode::Daily),
            archive_mode: Some(ArchiveMode::Targz),
            ignore_file: Some(".ig".into()),
            exclude: Some(CollectExclude {
                abs_paths: vec!["/src/a".into()],
                rel_paths: vec![],
                patterns: vec![".*~".into()],
            }),
            files: vec![CollectFile {
                abs_path: Some("/etc/hosts".into()),
                collect_mode: Some(CollectMode::Weekly),
                archive_mode: None,
            }],
            dirs: vec![CollectDir {
                abs_path: Some("/src".into()),
                archive_mode: Some(ArchiveMode::Tar),
                exclude: Some(CollectExclude {
                    abs_paths: vec![],
                    rel_paths: vec!["b/c".into()],
                    patterns: vec![".*\\.o".into()],
                }),
                ..Default::default()
            }],
        });
        let plan = Plan::from_config(&c).unwrap();
        assert_eq!(plan.files[0].collect_mode, CollectMode::Weekly);
        assert_eq!(plan.files[0].archive_mode, ArchiveMode::Targz);
        let d = &plan.dirs[0];
        assert_eq!(d.collect_mode, CollectMode::Daily);
        assert_eq!(d.archive_mode, ArchiveMode::Tar);
        assert_eq!(d.ignore_file.as_deref(), Some(std::ffi::OsStr::new(".ig")));
        assert!(d.excludes.check(Path::new("/src/a")).is_some());
        assert!(d.excludes.check(Path::new("/src/b/c")).is_some());
        assert!(d.excludes.check(Path::new("/src/x.o")).is_some());
        assert!(d.excludes.check(Path::new("/src/x~")).is_some());
        assert!(d.excludes.check(Path::new("/src/x")).is_none());
    }

    #[test]
    fn missing_pieces_are_errors() {
        let mut c = config(CollectConfig {
            collect_dir: Some("/out".into()),
            ..Default::default()
        });
        assert!(matches!(
            Plan::from_config(&c),
            Err(CollectError::NoEntries)
        ));
        c.collect = None;
        assert!(matches!(
            Plan::from_config(&c),
            Err(CollectError::MissingSection)
        ));
        let c = config(CollectConfig {
            collect_dir: Some("/out".into()),
            collect_mode: Some(CollectMode::Daily),
            archive_mode: Some(ArchiveMode::Tar),
            exclude: Some(CollectExclude {
                patterns: vec!["[z-a]".into()],
                ..Default::default()
            }),
            files: vec![CollectFile {
                abs_path: Some("/etc/hosts".into()),
                ..Default::default()
            }],
            ..Default::default()
        });
        let err = Plan::from_config(&c).unwrap_err();
        assert!(err.to_string().contains("`[z-a]`"), "{err}");
    }

    #[test]
    fn recursion_splits_subdirectories_deepest_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["a/x", "a/y", "b", "skip/z"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let excludes = Excludes::new(vec![root.join("skip")], Vec::new()).unwrap();
        let level0 = expand(root, 0, &excludes).unwrap();
        assert_eq!(level0.len(), 1);
        let level2 = expand(root, 2, &excludes).unwrap();
        let mut names: Vec<_> = level2
            .iter()
            .map(|t| t.path.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        assert_eq!(names.pop().unwrap(), PathBuf::from(""));
        assert!(!names.iter().any(|n| n.starts_with("skip")));
        let pos = |n: &str| names.iter().position(|p| p == Path::new(n)).unwrap();
        assert!(pos("a/x") < pos("a") && pos("a/y") < pos("a"));
        assert!(names.contains(&PathBuf::from("b")));
        let parent = level2.last().unwrap();
        assert!(parent.excludes.check(&root.join("a")).is_some());
        assert!(parent.excludes.check(&root.join("b")).is_some());
        let a = &level2[pos("a")];
        assert!(a.excludes.check(&root.join("a/x")).is_some());
        assert!(expand(root, -1, &excludes).unwrap().len() == 1);
    }
}
