//! Test support for the end-to-end tests of `cback`: the path of the freshly built binary,
//! shared reference data, and the harnesses for real servers: [`pg`] (a throwaway PostgreSQL
//! cluster), [`sshd`] (a throwaway OpenSSH server on loopback), [`s3`] (moto, an S3 server on
//! loopback, and a fault-injecting proxy), [`s3fs`] (s3s-fs, an S3 server that checks every
//! body's checksum) and [`gpg`] (a throwaway GnuPG home with a key).

pub mod ext;
pub mod gpg;
pub mod mariadb;
pub mod optical;
pub mod pg;
pub mod s3;
pub mod s3fs;
pub mod sshd;
pub mod svn;

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::OnceLock;

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

/// The path of the `cback` binary, built once per test process with the same cargo and
/// profile that runs the tests.
pub fn cback_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = StdCommand::new(cargo)
            .args(["build", "--quiet", "-p", "cedar-cli", "--bin", "cback"])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build for the cback binary");
        assert!(status.success(), "cargo build -p cedar-cli failed");
        // This test executable lives in <target>/<profile>/deps/.
        let exe = std::env::current_exe().expect("current test executable");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executable in <target>/<profile>/deps");
        let bin = profile_dir.join("cback");
        assert!(bin.is_file(), "cback binary not found at {}", bin.display());
        bin
    })
}

/// An `assert_cmd` command for `cback`, with a clean locale.
pub fn cback() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(cback_path());
    cmd.env_remove("CEDAR_LOG").env("LANG", "C");
    cmd
}

/// The path of the `cback-amazons3-sync` binary, built once per test process.
pub fn sync_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = StdCommand::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "cedar-cli",
                "--bin",
                "cback-amazons3-sync",
            ])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build for the sync binary");
        assert!(
            status.success(),
            "cargo build of cback-amazons3-sync failed"
        );
        let bin = cback_path()
            .parent()
            .expect("the binaries' directory")
            .join("cback-amazons3-sync");
        assert!(bin.is_file(), "binary not found at {}", bin.display());
        bin
    })
}

/// An `assert_cmd` command for `cback-amazons3-sync`, with a clean locale.
pub fn sync() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(sync_path());
    cmd.env_remove("CEDAR_LOG").env("LANG", "C");
    cmd
}
