//! Shared support of the stage and managed-peer end-to-end tests: a site with a master's
//! working and staging directories, peers' collect directories, configuration documents, and
//! a reader for the staged tree.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use cback_tests::sshd::{self, Sshd};
use nix::unistd::{Gid, Group, Uid, User};

/// The day the tests pin with `CEDAR_TODAY`: a Wednesday.
pub const TODAY: &str = "2026-03-04";
/// Its weekday, for `<starting_day>`.
pub const TODAY_WEEKDAY: &str = "wednesday";
/// Another weekday.
pub const OTHER_WEEKDAY: &str = "monday";

pub fn is_root() -> bool {
    Uid::effective().is_root()
}

/// Says that a test did not do its work, past the output capture of the test harness.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {why}");
}

/// backup_user and backup_group for the master: root's as root (so that `su root -c` runs the
/// ssh client with the test key), else the user running the tests and its group.
pub fn backup_owner() -> (String, String) {
    let user = User::from_uid(Uid::effective()).unwrap().unwrap();
    let group = Group::from_gid(Gid::effective()).unwrap().unwrap();
    (user.name, group.name)
}

/// One staged file: mode bits and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub mode: u32,
    pub content: Vec<u8>,
}

/// Every entry directly in `dir` by name: a file's mode and content, a directory as `None`.
pub fn entries(dir: &Path) -> BTreeMap<String, Option<FileState>> {
    let mut map = BTreeMap::new();
    let Ok(read) = fs::read_dir(dir) else {
        return map;
    };
    for entry in read {
        let entry = entry.unwrap();
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        let name = entry.file_name().into_string().unwrap();
        let state = meta.is_file().then(|| FileState {
            mode: meta.mode() & 0o7777,
            content: fs::read(entry.path()).unwrap(),
        });
        map.insert(name, state);
    }
    map
}

/// The names directly in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    entries(dir).into_keys().collect()
}

/// A master and its peers in one temporary directory: `ROOT/work` (working_dir),
/// `ROOT/stage` (staging_dir), `ROOT/peers/NAME` (collect directories), `ROOT/cback.log`.
#[derive(Debug)]
pub struct StageMaster {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Default for StageMaster {
    fn default() -> Self {
        StageMaster::new()
    }
}

impl StageMaster {
    pub fn new() -> StageMaster {
        let dir = tempfile::Builder::new()
            .prefix("cback-stage-")
            .tempdir()
            .unwrap();
        let root = dir.path().to_path_buf();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["work", "stage", "peers"] {
            fs::create_dir(root.join(sub)).unwrap();
        }
        StageMaster { _dir: dir, root }
    }

    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }

    pub fn staging(&self) -> PathBuf {
        self.root.join("stage")
    }

    /// `STAGING_DIR/2026/03/04`.
    pub fn daily(&self) -> PathBuf {
        self.staging().join("2026/03/04")
    }

    /// A peer's collect directory (created).
    pub fn collect_dir(&self, peer: &str) -> PathBuf {
        let dir = self.root.join("peers").join(peer);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes `files` (name, content, mode) into the peer's collect directory; with `ready`,
    /// also an empty `cback.collect`.
    pub fn fill(&self, peer: &str, files: &[(&str, &[u8], u32)], ready: bool) -> PathBuf {
        let dir = self.collect_dir(peer);
        for (name, content, mode) in files {
            let path = dir.join(name);
            fs::write(&path, content).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
        }
        if ready {
            fs::write(dir.join("cback.collect"), b"").unwrap();
        }
        dir
    }

    pub fn log_path(&self) -> PathBuf {
        self.root.join("cback.log")
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Writes `cback.conf`: the options (with `options_extra` inside), then `sections`.
    pub fn config(&self, starting_day: &str, options_extra: &str, sections: &str) -> PathBuf {
        let (user, group) = backup_owner();
        self.config_as(&user, &group, starting_day, options_extra, sections)
    }

    /// [`StageMaster::config`] with another backup user and group.
    pub fn config_as(
        &self,
        user: &str,
        group: &str,
        starting_day: &str,
        options_extra: &str,
        sections: &str,
    ) -> PathBuf {
        let text = format!(
            "<?xml version=\"1.0\"?>\n<cb_config>\n<options><starting_day>{starting_day}</starting_day>\
             <working_dir>{}</working_dir><backup_user>{user}</backup_user>\
             <backup_group>{group}</backup_group><rcp_command>/usr/bin/scp -B</rcp_command>\
             {options_extra}</options>\n{sections}\n</cb_config>\n",
            self.work().display()
        );
        let path = self.root.join("cback.conf");
        fs::write(&path, text).unwrap();
        path
    }

    /// `<stage>` with this site's staging_dir and `peers` inside.
    pub fn stage_section(&self, peers: &str) -> String {
        format!(
            "<stage><staging_dir>{}</staging_dir>{peers}</stage>",
            self.staging().display()
        )
    }

    /// A local `<peer>` for `name`'s collect directory (created), with extra elements.
    pub fn local_peer(&self, name: &str, extra: &str) -> String {
        format!(
            "<peer><name>{name}</name><type>local</type><collect_dir>{}</collect_dir>{extra}</peer>",
            self.collect_dir(name).display()
        )
    }

    /// `cback --config CONFIG --logfile LOG ARGS` with the day pinned to [`TODAY`].
    pub fn cback(&self, config: &Path, args: &[&str]) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.command(config, args))
    }

    /// `cback` as [`Self::cback`] runs it, as a standard command (to run on a terminal).
    pub fn command(&self, config: &Path, args: &[&str]) -> std::process::Command {
        let mut cmd = crate::BIN.cback_command();
        cmd.env("CEDAR_TODAY", TODAY)
            .arg("--config")
            .arg(config)
            .arg("--logfile")
            .arg(self.log_path())
            .args(args);
        cmd
    }

    /// The run's `cback-status.json`.
    pub fn status(&self) -> serde_json::Value {
        let text = fs::read_to_string(self.work().join("cback-status.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The run's metrics textfile.
    pub fn prom(&self) -> String {
        fs::read_to_string(self.work().join("cback.prom")).unwrap()
    }
}

/// The status entry of `peer`.
pub fn peer_status(status: &serde_json::Value, peer: &str) -> serde_json::Value {
    status["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["peer"] == peer)
        .unwrap_or_else(|| panic!("no status entry for {peer}: {status}"))
        .clone()
}

/// Hidden entries (temporary files or copy directories) anywhere under `dir`.
pub fn hidden_entries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(read) = fs::read_dir(dir) else {
        return found;
    };
    for entry in read.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            found.push(path.clone());
        }
        if entry.file_type().unwrap().is_dir() {
            found.extend(hidden_entries(&path));
        }
    }
    found
}

/// A managed remote `<peer>` of `<peers>` on `server`, running `cback` (its `<cback_command>`)
/// for the action collect.
pub fn managed_peer(host: &str, collect: &Path, server: &Sshd, cback: &str) -> String {
    format!(
        "<peer><name>{host}</name><type>remote</type><collect_dir>{}</collect_dir>\
         <backup_user>{}</backup_user><rcp_command>{}</rcp_command>\
         <rsh_command>{}</rsh_command><cback_command>{cback}</cback_command>\
         <managed>Y</managed><managed_actions>collect</managed_actions></peer>",
        collect.display(),
        sshd::login_user(),
        server.rcp_command(),
        server.rsh_command()
    )
}
