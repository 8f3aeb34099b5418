//! User and group names for member headers, looked up once per id.

use std::collections::HashMap;

use nix::unistd::{Gid, Group, Uid, User};

/// A cache of uid → user name and gid → group name. Unknown ids have empty names, as in
/// `tarfile`.
#[derive(Debug, Default)]
pub struct Owners {
    users: HashMap<u32, Vec<u8>>,
    groups: HashMap<u32, Vec<u8>>,
}

impl Owners {
    pub fn user(&mut self, uid: u32) -> &[u8] {
        self.users.entry(uid).or_insert_with(|| {
            User::from_uid(Uid::from_raw(uid))
                .ok()
                .flatten()
                .map(|u| u.name.into_bytes())
                .unwrap_or_default()
        })
    }

    pub fn group(&mut self, gid: u32) -> &[u8] {
        self.groups.entry(gid).or_insert_with(|| {
            Group::from_gid(Gid::from_raw(gid))
                .ok()
                .flatten()
                .map(|g| g.name.into_bytes())
                .unwrap_or_default()
        })
    }
}
