//! The programs under test: cedar-cli's binaries, whose paths cargo gives only to cedar-cli's
//! own test targets (`CARGO_BIN_EXE_<name>` at compile time), which pass them to this library.

use std::path::Path;

/// The paths of the cedar-cli programs the tests run; [`binaries!`](crate::binaries) makes
/// one in a test target of cedar-cli.
#[derive(Clone, Copy, Debug)]
pub struct Binaries {
    pub cback: &'static str,
    pub restore: &'static str,
    pub span: &'static str,
    pub sync: &'static str,
}

/// The [`Binaries`] of the test target that expands it, from cargo's `CARGO_BIN_EXE_*`
/// (cargo builds them before it builds the test).
#[macro_export]
macro_rules! binaries {
    () => {
        $crate::Binaries {
            cback: env!("CARGO_BIN_EXE_cback"),
            restore: env!("CARGO_BIN_EXE_cback-restore"),
            span: env!("CARGO_BIN_EXE_cback-span"),
            sync: env!("CARGO_BIN_EXE_cback-amazons3-sync"),
        }
    };
}

impl Binaries {
    pub fn cback_path(&self) -> &'static Path {
        Path::new(self.cback)
    }

    pub fn restore_path(&self) -> &'static Path {
        Path::new(self.restore)
    }

    pub fn span_path(&self) -> &'static Path {
        Path::new(self.span)
    }

    pub fn sync_path(&self) -> &'static Path {
        Path::new(self.sync)
    }

    /// A copy of `cback` at `dest`, mode 0755, for a test that runs it as another user (who
    /// may not reach the build directory); see [`crate::copy_executable`].
    pub fn cback_copy(&self, dest: &Path) {
        crate::copy_executable(self.cback_path(), dest);
    }

    /// An `assert_cmd` command for `cback`, with a clean locale.
    pub fn cback(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.cback_command())
    }

    /// A standard command for `cback`, with a clean locale: for what takes a
    /// `std::process::Command`, such as [`crate::terminal::on_a_terminal`].
    pub fn cback_command(&self) -> std::process::Command {
        clean(self.cback_path())
    }

    /// An `assert_cmd` command for `cback-amazons3-sync`, with a clean locale.
    pub fn sync(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.sync_command())
    }

    /// A standard command for `cback-amazons3-sync`, with a clean locale (for
    /// [`crate::terminal::on_a_terminal`]).
    pub fn sync_command(&self) -> std::process::Command {
        clean(self.sync_path())
    }
}

fn clean(program: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    cmd.env_remove("CEDAR_LOG").env("LANG", "C");
    cmd
}
