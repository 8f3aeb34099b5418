//! The places cback writes dumps to, each a [`Source`] that lists the copies it holds: the
//! collect directory, every day of the staging tree, and every remote place an extension
//! registers ([`cedar_core::RemotePlace`], e.g. the amazons3 bucket), each wrapped as a
//! [`RemoteSource`]. A new place is one more implementation of [`Source`] added in
//! [`sources`], or one more registered remote place. A copy in a day carries what the day says
//! of its peer ([`DayState`]), from the stage record purge reads ([`StageRecord::read`]) or
//! the place's upload marker ([`RemotePlace::day_state`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cedar_core::{
    remote_places, ConfigFile, RemoteKeys, RemotePlace, StageRecord, StagedObject, PIN_FILE,
};

use super::catalog::{newest_first, scan_dir, scan_remote, DumpCopy};
use super::day_state::DayState;

/// One place holding dump copies.
pub trait Source: std::fmt::Debug {
    /// How the place is named in listings and messages.
    fn describe(&self) -> String;
    /// The copies it holds now. A place that does not exist holds none; one that cannot be
    /// read is an error naming it. What could be read only in part (a day's stage record or
    /// upload marker) goes into `warnings`.
    fn copies(&self, warnings: &mut Vec<String>) -> Result<Vec<DumpCopy>, String>;
}

/// The collect directory, where the postgresql action writes.
#[derive(Debug)]
pub struct CollectDir(pub PathBuf);

impl Source for CollectDir {
    fn describe(&self) -> String {
        format!("collect_dir {}", self.0.display())
    }

    fn copies(&self, _warnings: &mut Vec<String>) -> Result<Vec<DumpCopy>, String> {
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

    fn copies(&self, warnings: &mut Vec<String>) -> Result<Vec<DumpCopy>, String> {
        let mut copies = Vec::new();
        if !self.0.is_dir() {
            return Ok(copies);
        }
        for year in subdirs(&self.0, 4)? {
            for month in subdirs(&year, 2)? {
                for day in subdirs(&month, 2)? {
                    let date = relative(&self.0, &day);
                    let pinned = day.join(PIN_FILE).exists();
                    // The record purge reads: a day it cannot read is of unknown state,
                    // its copies taken as good.
                    let record = StageRecord::read(&day)
                        .unwrap_or_else(|e| unknown_state(warnings, &e, &date));
                    for peer in subdirs_any(&day)? {
                        let state = DayState::of_record(record.as_ref(), &dir_name(&peer));
                        let of = DayOf {
                            date: &date,
                            pinned,
                            state,
                        };
                        walk(&peer, of, PEER_DEPTH, &mut copies)?;
                    }
                }
            }
        }
        Ok(copies)
    }
}

/// A day whose stage record or upload marker cannot be read (`error`): its state is unknown, so
/// its copies count as good, and `warnings` says so.
fn unknown_state<T>(
    warnings: &mut Vec<String>,
    error: &dyn std::fmt::Display,
    day: &str,
) -> Option<T> {
    warnings.push(format!(
        "{error}; until then the state of the day {day} is unknown and its copies count as good"
    ));
    None
}

/// The day a copy is in, for its source's label and its state.
#[derive(Debug, Clone, Copy)]
struct DayOf<'a> {
    /// `YYYY/MM/DD`.
    date: &'a str,
    /// Whether it holds `cback.keep`, which purge never removes.
    pinned: bool,
    /// What it says of the copy's peer.
    state: DayState,
}

impl DayOf<'_> {
    /// A copy's source: `KIND DAY/NAME`, then ` (pinned)` when the day is pinned, and the
    /// state of the peer's copy when it is not good (` (peer failed)`, …).
    fn label(&self, kind: &str, name: &str) -> String {
        let pin = if self.pinned { " (pinned)" } else { "" };
        format!("{kind} {}/{name}{pin}{}", self.date, self.state.mark())
    }

    /// `copies` found in this day.
    fn holding(&self, mut copies: Vec<DumpCopy>) -> Vec<DumpCopy> {
        for copy in &mut copies {
            copy.day_state = self.state;
        }
        copies
    }
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn walk(dir: &Path, day: DayOf<'_>, depth: usize, out: &mut Vec<DumpCopy>) -> Result<(), String> {
    let label = day.label("staging", &dir_name(dir));
    let found = scan_dir(dir, &label).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    out.extend(day.holding(found));
    if depth > 0 {
        for sub in subdirs_any(dir)? {
            walk(&sub, day, depth - 1, out)?;
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

    fn copies(&self, warnings: &mut Vec<String>) -> Result<Vec<DumpCopy>, String> {
        let mut copies = Vec::new();
        for day in self.place.days().map_err(|e| e.to_string())? {
            let objects = self.place.objects(&day).map_err(|e| e.to_string())?;
            let mut dirs: BTreeMap<&str, Vec<StagedObject>> = BTreeMap::new();
            for object in &objects {
                if object.dir().matches('/').count() <= PEER_DEPTH {
                    dirs.entry(object.dir()).or_default().push(object.clone());
                }
            }
            let pinned = objects.iter().any(|o| o.relative == PIN_FILE);
            // The marker purge reads: a day whose marker cannot be read is of unknown
            // state, its copies taken as good.
            let marker = self
                .place
                .day_state(&day)
                .unwrap_or_else(|e| unknown_state(warnings, &e, &day));
            for (dir, objects) in dirs {
                let name = dir.rsplit('/').next().unwrap_or(dir);
                let peer = dir.split('/').next().unwrap_or(dir);
                let of = DayOf {
                    date: &day,
                    pinned,
                    state: DayState::of_marker(marker.as_ref(), peer),
                };
                let label = of.label(self.place.kind(), name);
                copies.extend(of.holding(scan_remote(&self.place, &self.keys, &objects, &label)));
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

    fn copies(&self, _warnings: &mut Vec<String>) -> Result<Vec<DumpCopy>, String> {
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

/// Every copy of every source, newest first; the sources that could not be read, and the
/// days whose state could not be read, are returned as warnings.
pub fn all_copies(sources: &[Box<dyn Source>]) -> (Vec<DumpCopy>, Vec<String>) {
    let mut copies = Vec::new();
    let mut warnings = Vec::new();
    for source in sources {
        match source.copies(&mut warnings) {
            Ok(found) => copies.extend(found),
            Err(e) => warnings.push(format!("{}: {e}", source.describe())),
        }
    }
    newest_first(&mut copies);
    (copies, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::{PeerOutcome, STAGE_RECORD_FILE};

    #[test]
    fn staged_copies_carry_what_their_days_record_says() {
        let root = tempfile::tempdir().unwrap();
        let name = "postgresqldump-shop.txt";
        for day in ["2026/12/01", "2026/12/02", "2026/12/03"] {
            for peer in ["db1", "db2"] {
                let dir = root.path().join(day).join(peer);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join(name), b"x").unwrap();
            }
        }
        // The 1st: db1 failed, db2 good; the 2nd: no record; the 3rd: a record cback did
        // not write.
        let mut record = StageRecord::all(["db1", "db2"], PeerOutcome::Good);
        record.peers.insert("db1".into(), PeerOutcome::Failed);
        record.write(&root.path().join("2026/12/01"), None).unwrap();
        let broken = root.path().join("2026/12/03").join(STAGE_RECORD_FILE);
        std::fs::write(&broken, "{\"peers\": 3}").unwrap();

        let mut warnings = Vec::new();
        let copies = StagingTree(root.path().to_path_buf())
            .copies(&mut warnings)
            .unwrap();
        let sources: Vec<(&str, DayState)> = copies
            .iter()
            .map(|c| (c.source.as_str(), c.day_state))
            .collect();
        assert_eq!(
            sources,
            [
                ("staging 2026/12/01/db1 (peer failed)", DayState::PeerFailed),
                ("staging 2026/12/01/db2", DayState::Good),
                ("staging 2026/12/02/db1", DayState::Good),
                ("staging 2026/12/02/db2", DayState::Good),
                ("staging 2026/12/03/db1", DayState::Good),
                ("staging 2026/12/03/db2", DayState::Good),
            ]
        );
        // The unreadable record: one warning, naming it and what to do.
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains(&broken.display().to_string())
                && warnings[0].contains("remove it")
                && warnings[0].contains("count as good"),
            "{warnings:?}"
        );
    }
}
