//! Purge by a retention policy over a remote place's days (the amazons3 bucket's day prefixes,
//! through [`cedar_core::RemotePlace`]): each `PREFIX/YYYY/MM/DD/` is one backup, its peers
//! the first components of its keys, pinned by an object `DAY/cback.keep`. Each peer's state
//! comes from the day's upload marker ([`cedar_core::UploadMarker`], [`uploaded_copies`]): a
//! day whose upload only started, or whose stage failed for a peer, is not good and takes no
//! rule's slot; a day without a marker (uploaded by the original, or by an older cback)
//! counts as good.

use cedar_core::{
    remote_places, select_retained, uploaded_copies, BackupDay, ConfigFile, DatedBackup,
    RemoteCopyError, RemotePlace, RetentionDecision, RetentionPolicy, PIN_FILE, RESERVED_PREFIX,
};

/// Every remote place the configuration sets up that has a policy. A place that cannot be set
/// up is logged and left alone (its own action reports why).
pub fn places_with_policy(config: &ConfigFile) -> Vec<(Box<dyn RemotePlace>, RetentionPolicy)> {
    remote_places(config)
        .into_iter()
        .filter_map(|built| match built {
            Ok(place) => place.policy().map(|policy| (place, policy)),
            Err((name, why)) => {
                tracing::warn!("Not purging the copies of {name}: {why}");
                None
            }
        })
        .collect()
}

/// The days of `place` as backups.
fn backups(place: &dyn RemotePlace) -> Result<Vec<DatedBackup>, RemoteCopyError> {
    let mut found = Vec::new();
    for day in place.days()? {
        let Some(date) = BackupDay::parse_rel(&day) else {
            continue;
        };
        let objects = place.objects(&day)?;
        let mut key_peers: Vec<String> = objects
            .iter()
            .map(|o| o.dir().split('/').next().unwrap_or_default().to_string())
            .filter(|peer| !peer.is_empty() && !peer.starts_with(RESERVED_PREFIX))
            .collect();
        key_peers.dedup();
        let marker = place.day_state(&day)?;
        found.push(DatedBackup {
            day: date,
            pinned: objects.iter().any(|o| o.relative == PIN_FILE),
            peers: uploaded_copies(marker.as_ref(), &key_peers),
        });
    }
    Ok(found)
}

/// Each day of `place` with its decision, newest first.
pub fn decide(
    place: &dyn RemotePlace,
    policy: &RetentionPolicy,
    today: BackupDay,
) -> Result<Vec<RetentionDecision>, RemoteCopyError> {
    Ok(select_retained(policy, &backups(place)?, today))
}

/// Removes the days of `place` its policy does not keep, oldest first, checking for
/// SIGINT/SIGTERM before each; returns the days kept and removed.
pub fn purge_place(
    place: &dyn RemotePlace,
    policy: &RetentionPolicy,
    today: BackupDay,
) -> Result<(usize, usize), super::error::PurgeError> {
    let failed = |source| super::error::PurgeError::Remote { source };
    let (mut kept, mut removed) = (0, 0);
    for decision in decide(place, policy, today)
        .map_err(failed)?
        .into_iter()
        .rev()
    {
        if decision.keep() {
            kept += 1;
            continue;
        }
        if cedar_core::interrupt_requested() {
            return Err(super::error::PurgeError::Interrupted);
        }
        let rel = decision.day.rel_path();
        let objects = place.remove_day(&rel).map_err(failed)?;
        tracing::debug!(
            "Purged day {rel} of {} ({objects} objects).",
            place.describe()
        );
        removed += 1;
    }
    Ok((kept, removed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::{
        PeerOutcome, RemoteKeys, RetentionPolicyValues, Sealing, StageRecord, StagedObject,
        UploadMarker,
    };

    /// A place of days, each with its peers' objects and its marker.
    #[derive(Debug)]
    struct Days(Vec<(&'static str, Vec<&'static str>, Option<UploadMarker>)>);

    impl RemotePlace for Days {
        fn describe(&self) -> String {
            "days".into()
        }
        fn kind(&self) -> &'static str {
            "test"
        }
        fn sealing(&self) -> Sealing {
            Sealing::None
        }
        fn days(&self) -> Result<Vec<String>, RemoteCopyError> {
            Ok(self.0.iter().map(|(d, _, _)| d.to_string()).collect())
        }
        fn objects(&self, day: &str) -> Result<Vec<StagedObject>, RemoteCopyError> {
            let (_, peers, _) = self.0.iter().find(|(d, _, _)| *d == day).unwrap();
            Ok(peers
                .iter()
                .map(|peer| StagedObject {
                    location: format!("{day}/{peer}/f"),
                    day: day.to_string(),
                    relative: format!("{peer}/f"),
                    size: 1,
                    modified: None,
                })
                .collect())
        }
        fn day_state(&self, day: &str) -> Result<Option<UploadMarker>, RemoteCopyError> {
            Ok(self.0.iter().find(|(d, _, _)| *d == day).unwrap().2.clone())
        }
        fn open(
            &self,
            _: &StagedObject,
            _: &RemoteKeys,
        ) -> Result<Box<dyn std::io::Read + Send>, RemoteCopyError> {
            unreachable!("purge reads no copy")
        }
    }

    #[test]
    fn a_started_or_partly_failed_day_takes_no_slot_and_an_unmarked_one_is_good() {
        let mut failed = StageRecord::all(["a", "b"], PeerOutcome::Good);
        failed.peers.insert("b".into(), PeerOutcome::Failed);
        let place = Days(vec![
            ("2026/01/01", vec!["a", "b"], None),
            ("2026/01/02", vec!["a", "b"], None),
            (
                "2026/01/03",
                vec!["a", "b"],
                Some(UploadMarker::complete(None)),
            ),
            (
                "2026/01/04",
                vec!["a", "b"],
                Some(UploadMarker::complete(Some(failed))),
            ),
            (
                "2026/01/05",
                vec!["a"],
                Some(UploadMarker::started(["a", "b"])),
            ),
            ("2026/01/06", vec![], Some(UploadMarker::started([]))),
        ]);
        let policy = RetentionPolicy::from_values(&RetentionPolicyValues {
            keep_daily: Some(2),
            keep_min: Some(0),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        let today = BackupDay::parse_rel("2026/01/06").unwrap();
        let lines: Vec<String> = decide(&place, &policy, today)
            .unwrap()
            .iter()
            .map(|d| d.line())
            .collect();
        assert_eq!(
            lines,
            [
                "2026-01-06 remove (not good)",
                "2026-01-05 remove (not good)",
                "2026-01-04 remove (not good)",
                "2026-01-03 keep daily",
                "2026-01-02 keep daily",
                "2026-01-01 remove",
            ]
        );
    }
}
