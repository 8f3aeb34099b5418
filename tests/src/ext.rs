//! Shared support for the end-to-end tests of the mysql, sysinfo, subversion and mbox
//! extensions: a throwaway site (working_dir, collect_dir, configuration, log), the tools the
//! tests need (a missing one skips the test, or fails it with `CEDAR_REQUIRE_POSTGRES=1`), and
//! the original `cback3` for side-by-side runs (`CB3_BIN`, else `/tmp/cback-ci-cb3` or
//! `/tmp/cb3`).

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub use crate::pg::{backup_owner, running_as_root, xml_escape};
use crate::Binaries;

/// Whether a missing tool must fail the tests (CI sets this).
pub fn required() -> bool {
    crate::pg::required()
}

pub use crate::program::{find as find_program, find_or_skip as tool, skipped};

/// The original `cback3`, when installed.
pub fn original() -> Option<PathBuf> {
    std::env::var_os("CB3_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            ["/tmp/cback-ci-cb3/bin/cback3", "/tmp/cb3/bin/cback3"]
                .into_iter()
                .map(PathBuf::from),
        )
        .find(|p| p.is_file())
}

/// The original, or `None` after a skip message.
pub fn original_or_skip(test: &str) -> Option<PathBuf> {
    let found = original();
    if found.is_none() {
        skipped(
            test,
            "the original cback3 is not installed (set CB3_BIN, or install cedar-backup3 in \
             /tmp/cb3 or /tmp/cback-ci-cb3)",
        );
    }
    found
}

/// The Python of the original (beside its cback3), for writing its state files.
pub fn original_python(test: &str) -> Option<PathBuf> {
    let python = std::env::var_os("CB3_PYTHON")
        .map(PathBuf::from)
        .or_else(|| original().and_then(|b| b.parent().map(|d| d.join("python3"))))
        .filter(|p| p.is_file());
    if python.is_none() {
        skipped(
            test,
            "the original's python is not installed (set CB3_PYTHON or CB3_BIN)",
        );
    }
    python
}

/// An extension declared in `<extensions>`.
#[derive(Debug, Clone, Copy)]
pub struct Declared {
    pub name: &'static str,
    pub module: &'static str,
    pub index: u32,
}

impl Declared {
    pub const fn new(name: &'static str, module: &'static str, index: u32) -> Declared {
        Declared {
            name,
            module,
            index,
        }
    }
}

/// A throwaway site: `work/`, `collect/`, `bin/` in a temporary directory.
#[derive(Debug)]
pub struct ExtensionRunDir {
    pub dir: tempfile::TempDir,
    pub collect: PathBuf,
    pub work: PathBuf,
    /// The programs under test.
    pub binaries: Binaries,
}

impl ExtensionRunDir {
    pub fn new(binaries: Binaries) -> ExtensionRunDir {
        let dir = tempfile::Builder::new()
            .prefix("cback-ext-")
            .tempdir()
            .unwrap();
        // Readable by the backup user and the services the tests start.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["work", "collect", "bin"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        ExtensionRunDir {
            collect: dir.path().join("collect"),
            work: dir.path().join("work"),
            dir,
            binaries,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log(&self) -> PathBuf {
        self.path("cback.log")
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(self.log()).unwrap_or_default()
    }

    /// Fails unless the log holds `text`.
    pub fn assert_logged(&self, text: &str) {
        let log = self.log_text();
        assert!(log.contains(text), "{text:?} is not in the log:\n{log}");
    }

    /// Writes `cback.conf`: `declared` in `<extensions>`, the standard options (starting day
    /// `starting_day`, the backup owner of [`backup_owner`], `overrides` as command / path
    /// pairs), a collect section, and `sections` (already XML).
    pub fn config(
        &self,
        declared: &[Declared],
        starting_day: &str,
        overrides: &[(&str, &Path)],
        sections: &str,
    ) -> PathBuf {
        let (user, group) = backup_owner();
        let actions: String = declared
            .iter()
            .map(|d| {
                format!(
                    "\n    <action><name>{}</name><module>{}</module><function>executeAction</function><index>{}</index></action>",
                    d.name, d.module, d.index
                )
            })
            .collect();
        let overrides: String = overrides
            .iter()
            .map(|(command, path)| {
                format!(
                    "\n    <override><command>{command}</command><abs_path>{}</abs_path></override>",
                    xml_escape(&path.display().to_string())
                )
            })
            .collect();
        let text = format!(
            r#"<?xml version="1.0"?>
<cb_config>
  <reference><author>cback tests</author><description>extension test site</description></reference>
  <extensions>{actions}
  </extensions>
  <options>
    <starting_day>{starting_day}</starting_day>
    <working_dir>{work}</working_dir>
    <backup_user>{user}</backup_user>
    <backup_group>{group}</backup_group>
    <rcp_command>/usr/bin/scp -B</rcp_command>{overrides}
  </options>
  <collect>
    <collect_dir>{collect}</collect_dir>
    <collect_mode>daily</collect_mode>
    <archive_mode>tar</archive_mode>
    <ignore_file>.cbignore</ignore_file>
  </collect>
  {sections}
</cb_config>
"#,
            work = xml_escape(&self.work.display().to_string()),
            collect = xml_escape(&self.collect.display().to_string()),
        );
        let path = self.path("cback.conf");
        fs::write(&path, text).unwrap();
        path
    }

    /// `cback --config SITE/cback.conf --logfile SITE/cback.log ARGS`, with a time limit.
    pub fn cback(&self, args: &[&str]) -> assert_cmd::Command {
        self.command(self.binaries.cback_path(), &self.log(), args)
    }

    /// The same call of the original `cback3`, logging to `SITE/cback3.log`.
    pub fn original(&self, cb3: &Path, args: &[&str]) -> assert_cmd::Command {
        self.command(cb3, &self.path("cback3.log"), args)
    }

    pub fn original_log_text(&self) -> String {
        fs::read_to_string(self.path("cback3.log")).unwrap_or_default()
    }

    fn command(&self, program: &Path, log: &Path, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = Command::new(program);
        cmd.env_remove("CEDAR_LOG")
            .env("LANG", "C")
            .arg("--config")
            .arg(self.path("cback.conf"))
            .arg("--logfile")
            .arg(log)
            .args(args)
            .stdin(Stdio::null());
        let mut cmd = assert_cmd::Command::from_std(cmd);
        cmd.timeout(Duration::from_secs(300));
        cmd
    }

    /// The names in collect_dir, sorted.
    pub fn entries(&self) -> Vec<String> {
        names(&self.collect)
    }

    /// The names in working_dir, sorted.
    pub fn work_entries(&self) -> Vec<String> {
        names(&self.work)
    }

    /// Writes an executable script `bin/NAME` and returns its path.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.path("bin").join(name);
        crate::write_executable(&path, &format!("#!/bin/sh\n{body}\n"));
        path
    }
}

/// The names in `dir`, sorted (empty when it cannot be read).
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The decompressed content of `path` (by its `.gz` / `.bz2` suffix).
pub fn read_file(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let name = path.to_string_lossy();
    let mut out = Vec::new();
    if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .expect("valid gzip");
    } else if name.ends_with(".bz2") {
        bzip2::read::MultiBzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .expect("valid bzip2");
    } else {
        out = bytes;
    }
    out
}

/// The permission bits of `path`.
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).unwrap().mode() & 0o7777
}

/// The owner and group names of `path`.
pub fn owner_of(path: &Path) -> (String, String) {
    use nix::unistd::{Gid, Group, Uid, User};
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).unwrap();
    let user = User::from_uid(Uid::from_raw(meta.uid()))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default();
    let group = Group::from_gid(Gid::from_raw(meta.gid()))
        .ok()
        .flatten()
        .map(|g| g.name)
        .unwrap_or_default();
    (user, group)
}

/// The mode a finished file must have: 0640 when handed to the backup group (as root), else
/// 0600; never readable by others.
pub fn expected_mode() -> u32 {
    if running_as_root() {
        0o640
    } else {
        0o600
    }
}

/// The file suffix of a compress mode.
pub fn suffix(mode: &str) -> &'static str {
    match mode {
        "gzip" => ".gz",
        "bzip2" => ".bz2",
        _ => "",
    }
}
