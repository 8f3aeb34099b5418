//! Changing ownership of written files to backup_user:backup_group, only when running as root.

use std::path::Path;

use crate::clip::clip;
use nix::unistd::{chown, Gid, Group, Uid, User};

/// Errors from looking up or applying an owner.
#[derive(Debug, thiserror::Error)]
pub enum OwnershipError {
    #[error(
        "backup user `{}` does not exist on this machine; create it or fix <options><backup_user>",
        clip(.0)
    )]
    UnknownUser(String),
    #[error("backup group `{}` does not exist on this machine; create it or fix <options><backup_group>", clip(.0))]
    UnknownGroup(String),
    #[error("cannot change the owner of {}: {source}", path.display())]
    Chown {
        path: std::path::PathBuf,
        #[source]
        source: nix::Error,
    },
}

/// Whether the process runs as root (the only case where ownership is changed).
pub fn running_as_root() -> bool {
    Uid::effective().is_root()
}

/// Looks up a user and group by name.
pub fn lookup(user: &str, group: &str) -> Result<(Uid, Gid), OwnershipError> {
    let uid = User::from_name(user)
        .ok()
        .flatten()
        .ok_or_else(|| OwnershipError::UnknownUser(user.to_string()))?
        .uid;
    let gid = Group::from_name(group)
        .ok()
        .flatten()
        .ok_or_else(|| OwnershipError::UnknownGroup(group.to_string()))?
        .gid;
    Ok((uid, gid))
}

/// Changes `path` to `user:group` when running as root; does nothing otherwise.
/// Returns whether ownership was applied.
pub fn change_owner(path: &Path, user: &str, group: &str) -> Result<bool, OwnershipError> {
    if !running_as_root() {
        return Ok(false);
    }
    let (uid, gid) = lookup(user, group)?;
    apply(path, uid, gid)?;
    Ok(true)
}

/// Changes `path` to the owner `uid:gid` looked up earlier (see [`lookup`]).
pub fn apply(path: &Path, uid: Uid, gid: Gid) -> Result<(), OwnershipError> {
    chown(path, Some(uid), Some(gid)).map_err(|source| OwnershipError::Chown {
        path: path.to_path_buf(),
        source,
    })
}
