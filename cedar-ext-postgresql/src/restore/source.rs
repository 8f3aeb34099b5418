//! The places cback writes dumps to, each a [`Source`] that lists the copies it holds: the
//! collect directory, every day of the staging tree, and every remote place an extension
//! registers ([`cedar_core::RemotePlace`], e.g. the amazons3 bucket), each wrapped as a
//! [`RemoteSource`]. A new place is one more implementation of [`Source`] added in
//! [`sources`], or one more registered remote place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cedar_core::{remote_places, ConfigFile, RemoteKeys, RemotePlace, StagedObject};

use super::catalog::{newest_first, scan_dir, scan_remote, DumpCopy};

/// One place holding dump copies.
pub trait Source: std::fmt::Debug {
    /// How the place is named in listings and messages.
    fn describe(&self) -> String;
    /// The copies it holds now. A place that does not exist holds none; one that cannot be
    /// read is an error naming it.
    fn copies(&self) -> Result<Vec<DumpCopy>, String>;
}

/// The collect directory, where the postgresql action writes.
#[derive(Debug)]
pub struct CollectDir(pub PathBuf);

impl Source for CollectDir {
    fn describe(&self) -> String {
        format!("collect_dir {}", self.0.display())
    }

    fn copies(&self) -> Result<Vec<DumpCopy>, String> {
        if !self.0.is_dir() {
            return Ok(Vec::new());
        }
        scan_dir(&self.0, "collect").map_err(|e| format!("cannot read {}: {e}", self.0.display()))
    }
}

/// The staging tree of the master: `staging_dir/YYYY/MM/DD/PEER[/…]`.
#[derive(Debug)]
pub struct StagingTree(pub PathBuf);

/// How deep below a peer's daily directory dumps are looked for (a peer's `<collect_dir>`
/// subdirectory, for instance).
const PEER_DEPTH: usize = 3;

impl Source for StagingTree {
    fn describe(&self) -> String {
        format!("staging_dir {}", self.0.display())
    }

    fn copies(&self) -> Result<Vec<DumpCopy>, String> {
        let mut copies = Vec::new();
        if !self.0.is_dir() {
            return Ok(copies);
        }
        for year in subdirs(&self.0, 4)? {
            for month in subdirs(&year, 2)? {
                for day in subdirs(&month, 2)? {
                    let date = relative(&self.0, &day);
                    for peer in subdirs_any(&day)? {
                        walk(&peer, &date, PEER_DEPTH, &mut copies)?;
                    }
                }
            }
        }
        Ok(copies)
    }
}

fn walk(dir: &Path, date: &str, depth: usize, out: &mut Vec<DumpCopy>) -> Result<(), String> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let label = format!("staging {date}/{name}");
    out.extend(scan_dir(dir, &label).map_err(|e| format!("cannot read {}: {e}", dir.display()))?);
    if depth > 0 {
        for sub in subdirs_any(dir)? {
            walk(&sub, date, depth - 1, out)?;
        }
    }
    Ok(())
}

fn relative(base: &Path, dir: &Path) -> String {
    dir.strip_prefix(base)
        .unwrap_or(dir)
        .to_string_lossy()
        .into_owned()
}

/// Subdirectories of `dir` whose names are `digits` decimal digits.
fn subdirs(dir: &Path, digits: usize) -> Result<Vec<PathBuf>, String> {
    Ok(subdirs_any(dir)?
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.len() == digits && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect())
}

fn subdirs_any(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// A remote place holding copies of the staged days: each day's objects, grouped by their
/// directory (a peer's, or one below it up to [`PEER_DEPTH`]), each group described with the
/// manifest object among it.
#[derive(Debug)]
pub struct RemoteSource {
    pub place: Arc<dyn RemotePlace>,
    pub keys: Arc<RemoteKeys>,
}

impl Source for RemoteSource {
    fn describe(&self) -> String {
        self.place.describe()
    }

    fn copies(&self) -> Result<Vec<DumpCopy>, String> {
        let mut copies = Vec::new();
        for day in self.place.days().map_err(|e| e.to_string())? {
            let objects = self.place.objects(&day).map_err(|e| e.to_string())?;
            let mut dirs: BTreeMap<&str, Vec<StagedObject>> = BTreeMap::new();
            for object in &objects {
                if object.dir().matches('/').count() <= PEER_DEPTH {
                    dirs.entry(object.dir()).or_default().push(object.clone());
                }
            }
            for (dir, objects) in dirs {
                let name = dir.rsplit('/').next().unwrap_or(dir);
                let label = format!("{} {day}/{name}", self.place.kind());
                copies.extend(scan_remote(&self.place, &self.keys, &objects, &label));
            }
        }
        Ok(copies)
    }
}

/// A source that could not be set up: listing it reports why.
#[derive(Debug)]
pub struct Unavailable {
    pub name: String,
    pub reason: String,
}

impl Source for Unavailable {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn copies(&self) -> Result<Vec<DumpCopy>, String> {
        Err(self.reason.clone())
    }
}

/// Every source the configuration names, in the order they are searched: the local ones,
/// then every remote place (read with `keys`).
pub fn sources(config: &ConfigFile, keys: &RemoteKeys) -> Vec<Box<dyn Source>> {
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    if let Some(dir) = config
        .config
        .collect
        .as_ref()
        .and_then(|c| c.collect_dir.as_deref())
    {
        sources.push(Box::new(CollectDir(PathBuf::from(dir))));
    }
    if let Some(dir) = config
        .config
        .stage
        .as_ref()
        .and_then(|s| s.staging_dir.as_deref())
    {
        sources.push(Box::new(StagingTree(PathBuf::from(dir))));
    }
    let keys = Arc::new(keys.clone());
    for place in remote_places(config) {
        match place {
            Ok(place) => sources.push(Box::new(RemoteSource {
                place: Arc::from(place),
                keys: keys.clone(),
            })),
            Err((name, reason)) => sources.push(Box::new(Unavailable {
                name: name.to_string(),
                reason,
            })),
        }
    }
    sources
}

/// Every copy of every source, newest first; the sources that could not be read are
/// returned as warnings.
pub fn all_copies(sources: &[Box<dyn Source>]) -> (Vec<DumpCopy>, Vec<String>) {
    let mut copies = Vec::new();
    let mut warnings = Vec::new();
    for source in sources {
        match source.copies() {
            Ok(found) => copies.extend(found),
            Err(e) => warnings.push(format!("{}: {e}", source.describe())),
        }
    }
    newest_first(&mut copies);
    (copies, warnings)
}
