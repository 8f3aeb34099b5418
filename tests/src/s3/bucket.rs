//! Bucket names of their own for the tests sharing one S3 server: each test stores into a
//! fresh bucket, so that tests running in parallel threads never see each other's objects.

use std::sync::atomic::{AtomicU64, Ordering};

/// How much of the test's name a bucket name keeps (S3 allows 63 characters in all).
const STEM: usize = 40;

/// A bucket name no other call in this process returns: the test's name (lowercase letters,
/// digits and hyphens, at most [`STEM`] of them) and a counter, e.g. `a-day-is-stored-7`.
pub fn unique_name(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let stem: String = test
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .take(STEM)
        .collect();
    let stem = stem.trim_matches('-');
    let stem = if stem.is_empty() { "test" } else { stem };
    format!("{stem}-{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What S3 requires of a bucket name (path-style, as the tests address it).
    fn valid(name: &str) -> bool {
        (3..=63).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric())
    }

    #[test]
    fn names_are_valid_and_never_repeat() {
        let tests = [
            "a_day_is_stored_with_its_keys_content_checksums_and_indicator",
            "a_day_is_stored_with_its_keys_content_checksums_and_indicator",
            "_Weird Name: with/slashes_",
            "",
            "x",
        ];
        let names: Vec<String> = tests.iter().map(|t| unique_name(t)).collect();
        for name in &names {
            assert!(valid(name), "{name}");
        }
        assert!(names[0].starts_with("a-day-is-stored-with-its-keys-content-ch-"));
        assert!(names[2].starts_with("weird-name--with-slashes-"));
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
    }
}
