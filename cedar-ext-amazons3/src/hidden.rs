//! The hidden prefixes beside the day's prefix that a re-upload of a day uses, and their
//! names. For s3_bucket `BUCKET/PREFIX`, the day `YYYY/MM/DD` and a run id `RUN`:
//!
//! - `PREFIX/.cback-incoming/YYYY/MM/DD/RUN/REL`: the new copy, uploaded and checked there
//!   before the day's prefix is touched;
//! - `PREFIX/.cback-previous/YYYY/MM/DD/RUN/REL`: the previous copy of the day, set aside by
//!   server-side copies before the switch;
//! - `PREFIX/.cback-previous/YYYY/MM/DD/RUN.ready`: written once that aside copy is complete
//!   and checked. While it exists, the aside copy is the day's intact previous copy, and the
//!   next amazons3 run puts it back before anything else ([`crate::recover`]).
//!
//! The names start with `.cback-`, which restore skips, and they are not under the day's
//! prefix `PREFIX/YYYY/MM/DD/`, so a listing of the day never shows them.

use std::collections::BTreeMap;

use crate::client::Listed;
use crate::plan;

/// Where new copies wait until they are checked.
pub const INCOMING: &str = ".cback-incoming";
/// Where previous copies wait while a switch is under way.
pub const PREVIOUS: &str = ".cback-previous";
/// The end of the marker of a complete aside copy.
pub const READY: &str = ".ready";

/// `PREFIX/NAME` (`NAME` without a prefix): the root of one kind of hidden prefix.
pub fn root(prefix: &str, name: &str) -> String {
    plan::day_prefix(prefix, name)
}

/// A run's id, unique per host and ordered in time: seconds since the epoch and the process.
pub fn run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{secs:011}-{}", std::process::id())
}

/// The prefixes (without their trailing `/`) one run uses for one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Places {
    /// `PREFIX/YYYY/MM/DD`.
    pub day: String,
    /// `PREFIX/.cback-incoming/YYYY/MM/DD/RUN`.
    pub incoming: String,
    /// `PREFIX/.cback-previous/YYYY/MM/DD/RUN`.
    pub aside: String,
}

impl Places {
    pub fn new(prefix: &str, date: &str, run: &str) -> Places {
        Places {
            day: plan::day_prefix(prefix, date),
            incoming: format!("{}/{date}/{run}", root(prefix, INCOMING)),
            aside: format!("{}/{date}/{run}", root(prefix, PREVIOUS)),
        }
    }

    /// The marker of the complete aside copy.
    pub fn marker(&self) -> String {
        format!("{}{READY}", self.aside)
    }
}

/// `BASE/REL`.
pub fn key(base: &str, rel: &str) -> String {
    format!("{base}/{rel}")
}

/// `REL` of `BASE/REL`.
pub fn rel<'k>(base: &str, key: &'k str) -> Option<&'k str> {
    key.strip_prefix(base)?.strip_prefix('/')
}

/// An aside copy an earlier run left under `PREFIX/.cback-previous/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftAside {
    /// `YYYY/MM/DD`.
    pub date: String,
    /// `PREFIX/.cback-previous/YYYY/MM/DD/RUN`.
    pub aside: String,
    /// Whether its marker is there: the copy is complete and the day's switch unfinished.
    pub ready: bool,
    /// Its objects: `REL` and size.
    pub objects: Vec<(String, u64)>,
    /// Every key of it, the marker included, to remove it.
    pub keys: Vec<String>,
}

/// The aside copies in a listing of `previous_root/`, oldest run first. Keys that fit no
/// aside copy are returned as one without marker, so that they are removed.
pub fn left_asides(previous_root: &str, listed: &[Listed]) -> Vec<LeftAside> {
    let mut found: BTreeMap<(String, String), LeftAside> = BTreeMap::new();
    for object in listed {
        let Some(rest) = rel(previous_root, &object.key) else {
            continue;
        };
        let parts: Vec<&str> = rest.splitn(4, '/').collect();
        let (date, tail) = match parts.as_slice() {
            [y, m, d, tail] => (format!("{y}/{m}/{d}"), *tail),
            _ => (String::new(), rest),
        };
        let (run, item) = match tail.split_once('/') {
            Some((run, item)) => (run.to_string(), Some(item)),
            None => match tail.strip_suffix(READY) {
                Some(run) if !date.is_empty() => (run.to_string(), None),
                _ => (tail.to_string(), Some("")),
            },
        };
        let entry = found
            .entry((date.clone(), run.clone()))
            .or_insert_with(|| LeftAside {
                aside: if date.is_empty() {
                    format!("{previous_root}/{run}")
                } else {
                    format!("{previous_root}/{date}/{run}")
                },
                date: date.clone(),
                ready: false,
                objects: Vec::new(),
                keys: Vec::new(),
            });
        entry.keys.push(object.key.clone());
        match item {
            None => entry.ready = true,
            Some("") => {}
            Some(item) => entry.objects.push((item.to_string(), object.size)),
        }
    }
    let mut asides: Vec<LeftAside> = found.into_values().collect();
    // A stray key never makes a copy "ready": only date/RUN.ready does.
    for aside in &mut asides {
        if aside.date.is_empty() {
            aside.ready = false;
        }
    }
    asides.sort_by(|a, b| a.aside.rsplit('/').next().cmp(&b.aside.rsplit('/').next()));
    asides
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::listed;

    #[test]
    fn places_sit_beside_the_day_not_under_it() {
        let places = Places::new("staging", "2026/03/04", "01764651295-42");
        assert_eq!(places.day, "staging/2026/03/04");
        assert_eq!(
            places.incoming,
            "staging/.cback-incoming/2026/03/04/01764651295-42"
        );
        assert_eq!(
            places.aside,
            "staging/.cback-previous/2026/03/04/01764651295-42"
        );
        assert_eq!(
            places.marker(),
            "staging/.cback-previous/2026/03/04/01764651295-42.ready"
        );
        assert!(!places.incoming.starts_with(&format!("{}/", places.day)));
        let bare = Places::new("", "2026/03/04", "r");
        assert_eq!(bare.incoming, ".cback-incoming/2026/03/04/r");
        assert_eq!(rel("a/b", "a/b/c/d"), Some("c/d"));
        assert_eq!(rel("a/b", "a/bc/d"), None);
        assert_eq!(key("a/b", "c"), "a/b/c");
        assert!(run_id() <= run_id());
    }

    #[test]
    fn left_asides_are_told_apart_by_their_marker() {
        let root = "p/.cback-previous";
        let asides = left_asides(
            root,
            &[
                listed("p/.cback-previous/2026/03/04/002-1/h/a", 3),
                listed("p/.cback-previous/2026/03/04/002-1/h/sub/b", 0),
                listed("p/.cback-previous/2026/03/04/002-1.ready", 10),
                listed("p/.cback-previous/2026/03/03/001-9/h/a", 5),
                listed("p/.cback-previous/stray", 1),
            ],
        );
        assert_eq!(asides.len(), 3);
        let ready: Vec<&LeftAside> = asides.iter().filter(|a| a.ready).collect();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].date, "2026/03/04");
        assert_eq!(ready[0].aside, "p/.cback-previous/2026/03/04/002-1");
        assert_eq!(
            ready[0].objects,
            vec![("h/a".to_string(), 3), ("h/sub/b".to_string(), 0)]
        );
        assert_eq!(ready[0].keys.len(), 3);
        let partial = asides.iter().find(|a| a.date == "2026/03/03").unwrap();
        assert!(!partial.ready);
        assert_eq!(partial.objects, vec![("h/a".to_string(), 5)]);
        let stray = asides.iter().find(|a| a.date.is_empty()).unwrap();
        assert!(!stray.ready);
        assert_eq!(stray.keys, vec!["p/.cback-previous/stray".to_string()]);
    }
}
