//! Finding a program the harnesses need, and skipping (or failing) the tests without it.

use std::io::Write;
use std::path::PathBuf;

/// `name` in a directory of `PATH`, else the first of `extra` (full paths) that is a file.
pub(crate) fn find(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .chain(extra.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

/// The program `name` ([`find`]), or `None` after printing a skip line for `test`; a panic
/// when missing components fail the tests (`CEDAR_REQUIRE_POSTGRES=1`). `package` is the
/// Debian package that installs it.
pub(crate) fn find_or_skip(
    test: &str,
    name: &str,
    extra: &[&str],
    package: &str,
) -> Option<PathBuf> {
    match find(name, extra) {
        Some(path) => Some(path),
        None if crate::pg::required() => panic!(
            "CEDAR_REQUIRE_POSTGRES=1 but {name} is not installed (apt-get install {package})"
        ),
        None => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "SKIPPED: {test}: {name} is not installed; install {package}, or set \
                 CEDAR_REQUIRE_POSTGRES=1 to fail instead"
            );
            None
        }
    }
}
