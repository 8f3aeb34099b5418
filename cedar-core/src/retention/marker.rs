//! The upload marker a remote place keeps in each day it holds (the amazons3 bucket's
//! `PREFIX/YYYY/MM/DD/.cback-upload.json`), so that its retention tells a complete upload from
//! one that failed or was cut short, as the staging directory's does from [`StageRecord`].
//!
//! The marker is a JSON object `{"format": 1, "state": "started"|"complete", "peers": {"NAME":
//! "OUTCOME", …}}`, OUTCOME as in the stage record. The upload writes it with `started` (its
//! peers `pending`) before any object of the day changes, and with `complete` and the day's
//! stage record outcomes once every object was sent and checked. What it says of each peer
//! ([`copies`]):
//!
//! - no marker (a day uploaded by the original, or before cback kept one): every peer good;
//! - `started`: every peer incomplete, so the day is not good and takes no rule's slot;
//! - `complete`: each peer's outcome from the record; a peer of the keys the record does not
//!   name is good (a day staged without a record).

use std::collections::BTreeMap;

use super::record::{PeerOutcome, StageRecord};
use super::CopyState;

/// The marker's name below the day; hidden from the copies (it starts with `.cback-`).
pub const MARKER_FILE: &str = ".cback-upload.json";

/// The format written.
const FORMAT: u32 = 1;

/// How far the upload of a day got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadState {
    /// Started, never completed: the day's objects may be partial.
    Started,
    /// Every object sent and checked.
    Complete,
}

/// The upload marker of one day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadMarker {
    pub format: u32,
    pub state: UploadState,
    #[serde(default)]
    pub peers: BTreeMap<String, PeerOutcome>,
}

/// Why a marker could not be read.
#[derive(Debug, thiserror::Error)]
#[error("upload marker {location}: not a marker cback wrote; remove it to count the day as good, or upload the day again")]
pub struct MarkerError {
    pub location: String,
    #[source]
    pub source: serde_json::Error,
}

impl UploadMarker {
    /// `started`, with `names` (the peers being uploaded) pending.
    pub fn started<'a>(names: impl IntoIterator<Item = &'a str>) -> UploadMarker {
        UploadMarker {
            format: FORMAT,
            state: UploadState::Started,
            peers: StageRecord::all(names, PeerOutcome::Pending).peers,
        }
    }

    /// `complete`, with the outcomes of the day's stage record (none without one).
    pub fn complete(record: Option<StageRecord>) -> UploadMarker {
        UploadMarker {
            format: FORMAT,
            state: UploadState::Complete,
            peers: record.map(|r| r.peers).unwrap_or_default(),
        }
    }

    /// The marker's text.
    pub fn to_json(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(self).expect("a marker serializes");
        text.push(b'\n');
        text
    }

    /// Parses a marker's text; `location` names it in the error.
    pub fn from_json(text: &[u8], location: &str) -> Result<UploadMarker, MarkerError> {
        serde_json::from_slice(text).map_err(|source| MarkerError {
            location: location.to_string(),
            source,
        })
    }
}

/// Each peer of a day and what the day holds of it: `key_peers` are the peers its objects
/// name, `marker` its marker (see the module documentation).
pub fn copies(marker: Option<&UploadMarker>, key_peers: &[String]) -> Vec<(String, CopyState)> {
    let mut peers: BTreeMap<String, CopyState> = key_peers
        .iter()
        .map(|p| (p.clone(), CopyState::Good))
        .collect();
    match marker {
        None => {}
        Some(m) if m.state == UploadState::Started => {
            for name in m.peers.keys().chain(key_peers) {
                peers.insert(name.clone(), CopyState::Incomplete);
            }
            // A day of no peer at all is still no good day: one unnamed incomplete copy.
            if peers.is_empty() {
                peers.insert(String::new(), CopyState::Incomplete);
            }
        }
        Some(m) => {
            for (name, outcome) in &m.peers {
                peers.insert(name.clone(), outcome.state());
            }
        }
    }
    peers.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good_of(marker: Option<&UploadMarker>, keys: &[&str]) -> Vec<(String, CopyState)> {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        copies(marker, &keys)
    }

    #[test]
    fn a_marker_round_trips_and_says_what_each_peer_is() {
        let started = UploadMarker::started(["beta", "alpha"]);
        let text = started.to_json();
        let shown = String::from_utf8(text.clone()).unwrap();
        assert!(shown.contains("\"state\": \"started\""), "{shown}");
        assert!(shown.contains("\"alpha\": \"pending\""), "{shown}");
        assert_eq!(UploadMarker::from_json(&text, "m").unwrap(), started);

        // No marker: every peer of the keys is good.
        assert_eq!(
            good_of(None, &["a", "b"]),
            [("a".into(), CopyState::Good), ("b".into(), CopyState::Good)]
        );
        // Started: every peer, of the marker or of the keys, incomplete; even with no key.
        assert_eq!(
            good_of(Some(&started), &["gamma"]),
            [
                ("alpha".into(), CopyState::Incomplete),
                ("beta".into(), CopyState::Incomplete),
                ("gamma".into(), CopyState::Incomplete)
            ]
        );
        assert_eq!(
            good_of(Some(&UploadMarker::started([])), &["a"]),
            [("a".into(), CopyState::Incomplete)]
        );
        assert_eq!(
            good_of(Some(&UploadMarker::started([])), &[]),
            [(String::new(), CopyState::Incomplete)]
        );
        // Complete: the record's outcomes; a peer it does not name is good.
        let mut record = StageRecord::all(["a", "b"], PeerOutcome::Good);
        record.peers.insert("b".into(), PeerOutcome::Failed);
        let complete = UploadMarker::complete(Some(record));
        let text = complete.to_json();
        assert!(String::from_utf8_lossy(&text).contains("\"b\": \"failed\""));
        let back = UploadMarker::from_json(&text, "m").unwrap();
        assert_eq!(
            good_of(Some(&back), &["a", "c"]),
            [
                ("a".into(), CopyState::Good),
                ("b".into(), CopyState::Failed),
                ("c".into(), CopyState::Good)
            ]
        );
        assert_eq!(
            good_of(Some(&UploadMarker::complete(None)), &["a"]),
            [("a".into(), CopyState::Good)]
        );
    }

    #[test]
    fn a_malformed_marker_is_an_error_naming_it() {
        let err =
            UploadMarker::from_json(b"{\"state\": \"half\"}", "s3://b/2026/01/01/m").unwrap_err();
        assert!(err.to_string().contains("s3://b/2026/01/01/m"), "{err}");
        assert!(err.to_string().contains("remove it"), "{err}");
    }
}
