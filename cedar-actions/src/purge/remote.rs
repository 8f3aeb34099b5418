//! Purge by a retention policy over a remote place's days (the amazons3 bucket's day prefixes,
//! through [`cedar_core::RemotePlace`]): each `PREFIX/YYYY/MM/DD/` is one backup, its peers
//! the first components of its keys, pinned by an object `DAY/cback.keep`. The copies in a
//! place carry no stage record, so every day there counts as good.

use cedar_core::{
    remote_places, select_retained, BackupDay, ConfigFile, CopyState, DatedBackup, RemoteCopyError,
    RemotePlace, RetentionDecision, RetentionPolicy, PIN_FILE, RESERVED_PREFIX,
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
        let mut peers: Vec<(String, CopyState)> = objects
            .iter()
            .map(|o| o.dir().split('/').next().unwrap_or_default().to_string())
            .filter(|peer| !peer.is_empty() && !peer.starts_with(RESERVED_PREFIX))
            .map(|peer| (peer, CopyState::Good))
            .collect();
        peers.dedup();
        found.push(DatedBackup {
            day: date,
            pinned: objects.iter().any(|o| o.relative == PIN_FILE),
            peers,
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
