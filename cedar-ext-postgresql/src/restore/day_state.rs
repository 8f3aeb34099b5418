//! What the day a copy is in says of its peer's copy there, as retention reads it: the stage
//! record of a staged day ([`StageRecord`], `cback.stage.json`) or the upload marker of a
//! bucket's day ([`UploadMarker`], `.cback-upload.json`, through [`uploaded_copies`]). A day
//! without either counts as good, as retention counts it; a copy outside any day (the collect
//! directory) too.

use cedar_core::{uploaded_copies, CopyState, StageRecord, UploadMarker, UploadState};

/// The state of a copy's peer in its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DayState {
    /// Good, skipped, no record or marker, or a record or marker that could not be read
    /// (warned about by its source).
    #[default]
    Good,
    /// Its upload to the bucket started and never completed.
    UploadIncomplete,
    /// The stage of its peer that day failed.
    PeerFailed,
    /// The stage of its peer that day started and never recorded an outcome.
    PeerIncomplete,
}

impl DayState {
    /// What the stage record of a staged day (`None`: it has none) says of `peer`.
    pub fn of_record(record: Option<&StageRecord>, peer: &str) -> DayState {
        match record.and_then(|r| r.peers.get(peer)) {
            Some(outcome) => DayState::of_copy(outcome.state()),
            None => DayState::Good,
        }
    }

    /// What the upload marker of a bucket's day (`None`: it has none) says of `peer`.
    pub fn of_marker(marker: Option<&UploadMarker>, peer: &str) -> DayState {
        if marker.is_some_and(|m| m.state == UploadState::Started) {
            return DayState::UploadIncomplete;
        }
        uploaded_copies(marker, &[peer.to_string()])
            .into_iter()
            .find(|(name, _)| name == peer)
            .map_or(DayState::Good, |(_, state)| DayState::of_copy(state))
    }

    fn of_copy(state: CopyState) -> DayState {
        match state {
            CopyState::Good | CopyState::Skipped => DayState::Good,
            CopyState::Failed => DayState::PeerFailed,
            CopyState::Incomplete => DayState::PeerIncomplete,
        }
    }

    /// Whether the day holds a good copy of the peer.
    pub fn is_good(self) -> bool {
        self == DayState::Good
    }

    /// The state in words (`upload incomplete`, `peer failed`, `peer incomplete`), `None`
    /// when good.
    pub fn problem(self) -> Option<&'static str> {
        match self {
            DayState::Good => None,
            DayState::UploadIncomplete => Some("upload incomplete"),
            DayState::PeerFailed => Some("peer failed"),
            DayState::PeerIncomplete => Some("peer incomplete"),
        }
    }

    /// The mark `list` adds to the copy's source: ` (peer failed)`, or nothing when good.
    pub fn mark(self) -> String {
        self.problem()
            .map_or(String::new(), |word| format!(" ({word})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::PeerOutcome;

    #[test]
    fn records_and_markers_say_what_each_peer_is() {
        let mut record = StageRecord::all(["db1", "db2", "db3"], PeerOutcome::Good);
        record.peers.insert("db2".into(), PeerOutcome::Failed);
        record.peers.insert("db3".into(), PeerOutcome::Pending);
        record.peers.insert("db4".into(), PeerOutcome::Skipped);
        let of = |peer| DayState::of_record(Some(&record), peer);
        assert_eq!(of("db1"), DayState::Good);
        assert_eq!(of("db2").mark(), " (peer failed)");
        assert_eq!(of("db3").mark(), " (peer incomplete)");
        assert_eq!(of("db4"), DayState::Good);
        // A peer the record does not name, and a day without a record: good.
        assert_eq!(of("other"), DayState::Good);
        assert_eq!(DayState::of_record(None, "db2"), DayState::Good);
        assert_eq!(DayState::Good.mark(), "");

        let started = UploadMarker::started(["db1"]);
        assert_eq!(
            DayState::of_marker(Some(&started), "db1").mark(),
            " (upload incomplete)"
        );
        assert_eq!(
            DayState::of_marker(Some(&started), "other"),
            DayState::UploadIncomplete
        );
        let complete = UploadMarker::complete(Some(record.clone()));
        assert_eq!(
            DayState::of_marker(Some(&complete), "db2"),
            DayState::PeerFailed
        );
        assert_eq!(
            DayState::of_marker(Some(&complete), "db3"),
            DayState::PeerIncomplete
        );
        assert!(DayState::of_marker(Some(&complete), "db1").is_good());
        assert!(DayState::of_marker(Some(&complete), "other").is_good());
        assert!(DayState::of_marker(None, "db2").is_good());
    }
}
