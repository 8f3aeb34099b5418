//! Exclusions of a collect entry: exact absolute paths and whole-match regular expressions.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use regex::Regex;

use super::error::CollectError;

/// Why a path is excluded, for the debug log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Excluded<'a> {
    Path,
    Pattern(&'a str),
}

/// The compiled exclusions of one entry: section-level ones plus the entry's own.
#[derive(Debug, Clone, Default)]
pub struct Excludes {
    paths: HashSet<PathBuf>,
    patterns: Vec<(String, Regex)>,
}

impl Excludes {
    /// Compiles `patterns` anchored at both ends. A pattern that does not compile is an error
    /// naming it.
    pub fn new(
        paths: impl IntoIterator<Item = PathBuf>,
        patterns: impl IntoIterator<Item = String>,
    ) -> Result<Excludes, CollectError> {
        let mut compiled = Vec::new();
        for pattern in patterns {
            compiled.push((pattern.clone(), compile_pattern(&pattern)?));
        }
        Ok(Excludes {
            paths: paths.into_iter().collect(),
            patterns: compiled,
        })
    }

    /// Adds exact paths (used for the subdirectories split off by recursion_level).
    pub fn with_paths(&self, more: impl IntoIterator<Item = PathBuf>) -> Excludes {
        let mut next = self.clone();
        next.paths.extend(more);
        next
    }

    /// Whether `path` is excluded, and why.
    pub fn check(&self, path: &Path) -> Option<Excluded<'_>> {
        if self.paths.contains(path) {
            return Some(Excluded::Path);
        }
        if self.patterns.is_empty() {
            return None;
        }
        // Undecodable bytes become U+FFFD, one character each, as Python sees them.
        let text = path.to_string_lossy();
        self.patterns
            .iter()
            .find(|(_, re)| re.is_match(&text))
            .map(|(text, _)| Excluded::Pattern(text.as_str()))
    }

    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.paths.iter().map(PathBuf::as_path)
    }

    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|(p, _)| p.as_str())
    }
}

/// `pattern` as a regular expression that must match a whole path.
pub fn compile_pattern(pattern: &str) -> Result<Regex, CollectError> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|source| CollectError::BadPattern {
        pattern: pattern.to_string(),
        source,
    })
}

/// `rel` (an `<exclude><rel_path>`) made absolute under the entry's `base`.
pub fn absolute_rel_path(base: &Path, rel: &str) -> PathBuf {
    base.join(Path::new(OsStr::new(rel.trim_start_matches('/'))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn ex(paths: &[&str], patterns: &[&str]) -> Excludes {
        Excludes::new(
            paths.iter().map(PathBuf::from),
            patterns.iter().map(|s| s.to_string()),
        )
        .unwrap()
    }

    #[test]
    fn exact_paths_only() {
        let e = ex(&["/a/excl"], &[]);
        assert_eq!(e.check(Path::new("/a/excl")), Some(Excluded::Path));
        assert_eq!(e.check(Path::new("/a/excl/f")), None);
        assert_eq!(e.check(Path::new("/a/excl2")), None);
    }

    #[test]
    fn patterns_match_the_whole_path() {
        let e = ex(&[], &[r".*\.tmp"]);
        assert!(e.check(Path::new("/a/x.tmp")).is_some());
        assert!(e.check(Path::new("/a/x.tmp/f")).is_none());
        let e = ex(&[], &["tmp"]);
        assert!(
            e.check(Path::new("/a/tmp")).is_none(),
            "anchored at the start"
        );
        let e = ex(&[], &["/a/b|/c"]);
        assert!(e.check(Path::new("/a/b")).is_some());
        assert!(e.check(Path::new("/c")).is_some());
        assert!(
            e.check(Path::new("/a/bc")).is_none(),
            "alternation stays anchored"
        );
    }

    #[test]
    fn patterns_see_non_utf8_names() {
        let e = ex(&[], &[r"/d/.*"]);
        let name = OsStr::from_bytes(b"/d/\xff\xfe");
        assert!(e.check(Path::new(name)).is_some());
    }

    #[test]
    fn bad_pattern_names_it() {
        let err = compile_pattern("(unclosed").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`(unclosed`"), "{text}");
    }

    #[test]
    fn rel_paths_are_under_the_entry() {
        assert_eq!(
            absolute_rel_path(Path::new("/src"), "sub/excl2"),
            PathBuf::from("/src/sub/excl2")
        );
    }
}
