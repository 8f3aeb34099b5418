//! Test support for the unit tests of every crate: what a directory holds.

use std::path::Path;

/// The names in `dir`, sorted; panics when `dir` cannot be read (a test's failure).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
