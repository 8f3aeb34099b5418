//! The `cback.store` indicator: an empty file in each daily directory written to disc, owned
//! by backup_user:backup_group when running as root, with the umask's mode.

use std::fs::OpenOptions;
use std::path::Path;

use cedar_core::change_owner;

use super::error::StoreError;
use super::settings::StoreSettings;

/// Written by stage into each daily directory.
pub const STAGE_INDICATOR: &str = "cback.stage";
/// Written by store, rebuild and span into each daily directory they wrote to disc.
pub const STORE_INDICATOR: &str = "cback.store";

/// Writes `cback.store` into every directory; an ownership failure is reported after all
/// of them are written.
pub fn write_store_indicators<'p>(
    settings: &StoreSettings,
    dirs: impl IntoIterator<Item = &'p Path>,
) -> Result<(), StoreError> {
    let mut failure = None;
    for dir in dirs {
        let path = dir.join(STORE_INDICATOR);
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| StoreError::io("write the indicator", &path, e))?;
        let owner = (
            settings.backup_user.as_deref(),
            settings.backup_group.as_deref(),
        );
        if let (Some(user), Some(group)) = owner {
            if let Err(e) = change_owner(&path, user, group) {
                tracing::error!("{e}");
                failure.get_or_insert(e);
            }
        }
        tracing::debug!("Wrote indicator [{}].", path.display());
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
