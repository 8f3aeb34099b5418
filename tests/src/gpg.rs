//! A throwaway GnuPG home with a generated key pair, for the encrypt tests.
//!
//! [`Keyring::generate`] makes a private `GNUPGHOME` in a temporary directory and a key for
//! [`RECIPIENT`] without a passphrase (ultimately trusted, as its owner's key), so that
//! `gpg --batch -e -r` accepts it without asking. [`Keyring::decrypt`] reads a `.gpg` file back.
//! The agent that gpg starts for the home is stopped when the [`Keyring`] is dropped.
//!
//! Without gpg, [`available`] prints why the tests skip; with `CEDAR_REQUIRE_POSTGRES=1` it
//! panics instead.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The key's user id; `gpg -r` finds it by this address too.
pub const RECIPIENT: &str = "Cback Test <cback-test@example.invalid>";
/// The address of the key.
pub const ADDRESS: &str = "cback-test@example.invalid";

/// The gpg program, or `None` after printing a skip line (a panic when required).
pub fn available(test: &str) -> Option<PathBuf> {
    crate::program::find_or_skip(test, "gpg", "gnupg")
}

/// A GnuPG home holding one key pair.
#[derive(Debug)]
pub struct Keyring {
    pub gpg: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Keyring {
    /// A new home with a new key for [`RECIPIENT`].
    pub fn generate(gpg: &Path) -> Keyring {
        let dir = tempfile::Builder::new()
            .prefix("cback-gpg-")
            .tempdir()
            .expect("a GnuPG home");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let keyring = Keyring {
            gpg: gpg.to_path_buf(),
            dir,
        };
        let output = keyring
            .command()
            .args(["--batch", "--passphrase", "", "--quick-gen-key", RECIPIENT])
            .args(["default", "default", "never"])
            .output()
            .expect("run gpg --quick-gen-key");
        assert!(
            output.status.success(),
            "gpg --quick-gen-key failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        keyring
    }

    /// The home's path, for `GNUPGHOME`.
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// A gpg command for this home.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.gpg);
        cmd.env("GNUPGHOME", self.home()).stdin(Stdio::null());
        cmd
    }

    /// The plain text of the encrypted file `path`.
    pub fn decrypt(&self, path: &Path) -> Vec<u8> {
        let output = self
            .command()
            .args(["--batch", "--quiet", "-d"])
            .arg(path)
            .output()
            .expect("run gpg -d");
        assert!(
            output.status.success(),
            "gpg -d {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.home())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
