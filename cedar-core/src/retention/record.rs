//! `cback.stage.json`, the record stage keeps in each daily directory of each peer's outcome
//! that day, and `cback.keep`, the pin.
//!
//! The record is a JSON object `{"format": 1, "peers": {"NAME": "OUTCOME", …}}`, OUTCOME one
//! of `good`, `failed`, `skipped` (not ready and ignored under `ignore_failures`) and
//! `pending`. Stage writes it with every peer `pending` before it copies anything, and again
//! with the outcomes when it is done, each time atomically; a stage run that was stopped half
//! way therefore leaves its peers `pending`, which is not good. A day without a record (staged
//! before cback kept one, or by the original) counts as good, its peers being its
//! subdirectories. The name starts with `cback.`, so no extension takes it for a backup file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::CopyState;
use crate::atomic::{AtomicError, AtomicFile, Owner};

/// The record's file name in a daily directory.
pub const RECORD_FILE: &str = "cback.stage.json";
/// The pin: a day (or a bucket's day prefix) holding this name is kept forever.
pub const PIN_FILE: &str = "cback.keep";

/// The format written.
const FORMAT: u32 = 1;

/// One peer's outcome in a staged day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerOutcome {
    Good,
    Failed,
    Skipped,
    Pending,
}

impl PeerOutcome {
    /// What a day holds of a peer with this outcome.
    pub fn state(self) -> CopyState {
        match self {
            PeerOutcome::Good => CopyState::Good,
            PeerOutcome::Failed => CopyState::Failed,
            PeerOutcome::Skipped => CopyState::Skipped,
            PeerOutcome::Pending => CopyState::Incomplete,
        }
    }
}

/// Why the record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("stage record {}: cannot read it; check its permissions", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("stage record {}: not a record cback wrote; restore it, or remove it to count the day as good", path.display())]
    Malformed {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("stage record {}: cannot write it", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: AtomicError,
    },
}

/// Each peer's outcome in one day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StageRecord {
    pub format: u32,
    pub peers: BTreeMap<String, PeerOutcome>,
}

impl StageRecord {
    /// A record of `names`, every one with `outcome`.
    pub fn all<'a>(names: impl IntoIterator<Item = &'a str>, outcome: PeerOutcome) -> StageRecord {
        StageRecord {
            format: FORMAT,
            peers: names
                .into_iter()
                .map(|n| (n.to_string(), outcome))
                .collect(),
        }
    }

    /// Each peer and what the day holds of it.
    pub fn copies(&self) -> Vec<(String, CopyState)> {
        self.peers
            .iter()
            .map(|(name, outcome)| (name.clone(), outcome.state()))
            .collect()
    }

    /// Parses a record's text; `path` names it in the error.
    pub fn from_json(text: &[u8], path: &Path) -> Result<StageRecord, RecordError> {
        serde_json::from_slice(text).map_err(|source| RecordError::Malformed {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The record of the daily directory `day_dir`, `None` when it has none.
    pub fn read(day_dir: &Path) -> Result<Option<StageRecord>, RecordError> {
        let path = day_dir.join(RECORD_FILE);
        match std::fs::read(&path) {
            Ok(text) => StageRecord::from_json(&text, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(RecordError::Read { path, source }),
        }
    }

    /// Writes the record into `day_dir` atomically, owned by `owner` as root.
    pub fn write(&self, day_dir: &Path, owner: Option<Owner<'_>>) -> Result<(), RecordError> {
        let path = day_dir.join(RECORD_FILE);
        let fail = |source| RecordError::Write {
            path: path.clone(),
            source,
        };
        let file = AtomicFile::create(day_dir, RECORD_FILE).map_err(fail)?;
        let mut text = serde_json::to_vec_pretty(self).expect("a record serializes");
        text.push(b'\n');
        file.file().write_all(&text).map_err(|source| {
            fail(AtomicError::Write {
                path: file.temp_path().to_path_buf(),
                source,
            })
        })?;
        file.commit(owner).map_err(fail)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(StageRecord::read(dir.path()).unwrap(), None);
        let mut record = StageRecord::all(["beta", "alpha"], PeerOutcome::Pending);
        record.write(dir.path(), None).unwrap();
        assert_eq!(
            StageRecord::read(dir.path()).unwrap().unwrap().copies(),
            [
                ("alpha".to_string(), CopyState::Incomplete),
                ("beta".to_string(), CopyState::Incomplete)
            ]
        );
        record.peers.insert("alpha".into(), PeerOutcome::Good);
        record.peers.insert("beta".into(), PeerOutcome::Skipped);
        record.write(dir.path(), None).unwrap();
        let text = std::fs::read_to_string(dir.path().join(RECORD_FILE)).unwrap();
        assert!(text.contains("\"alpha\": \"good\""), "{text}");
        assert_eq!(StageRecord::read(dir.path()).unwrap().unwrap(), record);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [RECORD_FILE], "no temporary file left");
    }

    #[test]
    fn a_malformed_record_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RECORD_FILE), "{\"peers\": 3}").unwrap();
        let err = StageRecord::read(dir.path()).unwrap_err();
        assert!(err.to_string().contains(RECORD_FILE), "{err}");
        assert!(err.to_string().contains("remove it"), "{err}");
    }
}
