//! Test support for the end-to-end tests of `cback`: the programs under test ([`Binaries`]),
//! shared reference data, and the harnesses for real servers: [`pg`] (a throwaway PostgreSQL
//! cluster), [`sshd`] (a throwaway OpenSSH server on loopback), [`s3`] (moto, an S3 server on
//! loopback, and a fault-injecting proxy), [`s3fs`] (s3s-fs, an S3 server that checks every
//! body's checksum), [`gpg`] (a throwaway GnuPG home with a key) and [`smtp`] (a mail sink on
//! loopback); and [`terminal`], a command run on a pseudo-terminal.

mod binaries;
mod executable;
pub mod ext;
pub mod gpg;
pub mod mariadb;
pub mod optical;
pub mod peak_rss;
pub mod pg;
mod program;
mod reaper;
pub mod s3;
pub mod s3fs;
pub mod smtp;
pub mod sshd;
pub mod svn;
pub mod terminal;

use std::path::{Path, PathBuf};

pub use binaries::Binaries;
pub use executable::{copy_executable, write_executable};

/// The lines of `text` (a log) that contain `needle`.
pub fn lines_with(text: &str, needle: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.contains(needle))
        .map(str::to_string)
        .collect()
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate lives inside the workspace")
        .to_path_buf()
}

/// `../shared/cb3-data` beside the workspace, when present: the original's test documents,
/// which tests add to their own (the suite must pass without them).
pub fn cb3_data() -> Option<PathBuf> {
    let dir = workspace_root().join("../shared/cb3-data");
    dir.is_dir().then_some(dir)
}
