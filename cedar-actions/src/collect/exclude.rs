//! Exclusions of a collect entry: exact paths and patterns, compared with each path as the
//! original compares them.
//!
//! - `<abs_path>` and `<rel_path>` exclusions are compared with the path *text*, as the
//!   original does: `/x/d1/`, `/x//d1` or a `<rel_path>` of `./d1` do not exclude `/x/d1`.
//!   Paths are built as the original builds them (Python's `os.path.join`): a child is its
//!   parent's text, a `/` unless the parent ends with one, and its name; a `<rel_path>` is
//!   joined to the entry's `<abs_path>` the same way (an absolute one stands alone).
//! - Patterns: see [`ExcludePattern`] (`^PATTERN$` matched as Python's `re.match` does).

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::error::CollectError;
use cedar_core::ExcludePattern;

/// Why a path is excluded, for the debug log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Excluded<'a> {
    Path,
    Pattern(&'a str),
}

/// The compiled exclusions of one entry: section-level ones plus the entry's own.
#[derive(Debug, Clone, Default)]
pub struct Excludes {
    /// Exact path texts.
    paths: HashSet<OsString>,
    patterns: Vec<ExcludePattern>,
}

impl Excludes {
    /// Compiles `patterns`. A pattern that cannot be used is an error naming it (the
    /// configuration check refuses such patterns already, so this is a safety net).
    pub fn new(
        paths: impl IntoIterator<Item = PathBuf>,
        patterns: impl IntoIterator<Item = String>,
    ) -> Result<Excludes, CollectError> {
        let mut compiled = Vec::new();
        for pattern in patterns {
            compiled.push(compile_pattern(&pattern)?);
        }
        Ok(Excludes {
            paths: paths.into_iter().map(PathBuf::into_os_string).collect(),
            patterns: compiled,
        })
    }

    /// Adds exact paths (used for the subdirectories split off by recursion_level).
    pub fn with_paths(&self, more: impl IntoIterator<Item = PathBuf>) -> Excludes {
        let mut next = self.clone();
        next.paths
            .extend(more.into_iter().map(PathBuf::into_os_string));
        next
    }

    /// Whether `path` is excluded, and why.
    pub fn check(&self, path: &Path) -> Option<Excluded<'_>> {
        if self.paths.contains(path.as_os_str()) {
            return Some(Excluded::Path);
        }
        if self.patterns.is_empty() {
            return None;
        }
        // Undecodable bytes become U+FFFD, one character each, as Python sees them.
        let text = path.to_string_lossy();
        self.patterns
            .iter()
            .find(|p| p.is_match(&text))
            .map(|p| Excluded::Pattern(p.as_str()))
    }
}

/// `pattern` as the original matches it against each path.
pub fn compile_pattern(pattern: &str) -> Result<ExcludePattern, CollectError> {
    ExcludePattern::new(pattern).map_err(|source| CollectError::BadPattern {
        pattern: pattern.to_string(),
        source,
    })
}

/// `rel` (an `<exclude><rel_path>`) joined to the entry's `base` as the original joins them:
/// the texts with one `/` between them, or `rel` alone when it is absolute.
pub fn absolute_rel_path(base: &Path, rel: &str) -> PathBuf {
    // `Path::join` appends the text as it is (no normalization), and an absolute `rel`
    // replaces `base`, like `os.path.join`.
    base.join(OsStr::new(rel))
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
    fn paths_are_compared_as_text() {
        let e = ex(&["/x/d1/", "/x//d2", "/x/./d3"], &[]);
        for path in ["/x/d1", "/x/d2", "/x/d3"] {
            assert_eq!(e.check(Path::new(path)), None, "{path}");
        }
        assert_eq!(e.check(Path::new("/x//d2")), Some(Excluded::Path));
        assert_eq!(e.check(Path::new("/x/d1/")), Some(Excluded::Path));
    }

    #[test]
    fn patterns_are_anchored_as_the_original_anchors_them() {
        let e = ex(&[], &[r".*\.tmp"]);
        assert!(e.check(Path::new("/a/x.tmp")).is_some());
        assert!(e.check(Path::new("/a/x.tmp/f")).is_none());
        let e = ex(&[], &["tmp"]);
        assert!(
            e.check(Path::new("/a/tmp")).is_none(),
            "anchored at the start"
        );
        // `^/a/b|/c$`: the first alternative only has to match a prefix.
        let e = ex(&[], &["/a/b|/c"]);
        assert!(e.check(Path::new("/a/b")).is_some());
        assert!(e.check(Path::new("/c")).is_some());
        assert!(e.check(Path::new("/a/bc")).is_some());
        assert!(e.check(Path::new("/cd")).is_none());
        let e = ex(&[], &[r".*/(?!keep)[^/]*\.tmp"]);
        assert!(e.check(Path::new("/a/x.tmp")).is_some());
        assert!(e.check(Path::new("/a/keep.tmp")).is_none());
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
    fn rel_paths_are_joined_as_the_original_joins_them() {
        let join = |base: &str, rel: &str| {
            absolute_rel_path(Path::new(base), rel)
                .into_os_string()
                .into_string()
                .unwrap()
        };
        assert_eq!(join("/src", "sub/excl2"), "/src/sub/excl2");
        assert_eq!(join("/src/", "d"), "/src/d");
        assert_eq!(join("/src", "./d"), "/src/./d");
        assert_eq!(join("/src", "d/"), "/src/d/");
        assert_eq!(join("/src", "/d"), "/d");
        assert_eq!(join("//src", "d"), "//src/d");
    }
}
