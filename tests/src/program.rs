//! Finding a program the harnesses need, and skipping (or failing) the tests without it: the
//! one lookup and the one skip line of every harness.

use std::io::Write;
use std::path::PathBuf;

/// Where system programs live when `PATH` (a test's, cron's) leaves them out.
const SYSTEM_DIRS: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin"];

/// `name` in a directory of `PATH`, else in [`SYSTEM_DIRS`].
pub fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(SYSTEM_DIRS.map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Prints the skip line of `test`, past the test harness's capture, so a skip shows in every
/// run.
pub fn skipped(test: &str, why: &str) {
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {why}");
}

/// The program `name` ([`find`]), or `None` after printing a skip line for `test`; a panic
/// when missing components fail the tests (`CEDAR_REQUIRE_POSTGRES=1`). `package` is the
/// Debian package that installs it.
pub fn find_or_skip(test: &str, name: &str, package: &str) -> Option<PathBuf> {
    match find(name) {
        Some(path) => Some(path),
        None if crate::pg::required() => panic!(
            "CEDAR_REQUIRE_POSTGRES=1 but {name} is not installed (apt-get install {package})"
        ),
        None => {
            skipped(
                test,
                &format!(
                    "{name} is not installed; install {package}, or set \
                     CEDAR_REQUIRE_POSTGRES=1 to fail instead"
                ),
            );
            None
        }
    }
}
