//! Checks of a prefix against the objects a run stored there: a listing must hold exactly
//! their keys with their sizes ([`listing`]), and the SHA-256 checksum the server keeps for
//! each must be one of theirs ([`checksums`]).
//!
//! A server keeps, for a multipart object, the composite checksum `BASE64-N` (some servers
//! leave out the `-N`); after a server-side copy it may keep the whole object's SHA-256
//! instead. Each is accepted; anything else is not.
//!
//! A server that echoed an accepted checksum in its answer to the upload
//! ([`Sent::confirmed`]) checked the bytes against it and keeps it: such an object is not
//! asked about again with a HeadObject where it was uploaded. A server that echoes none gets
//! the HeadObject, as does every object after a server-side copy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::client::{Listed, S3};
use crate::error::AmazonS3Error;
use crate::hidden;
use crate::upload::Sent;

/// One object of the day's new copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its path below the day's directory, and below any prefix it is stored under.
    pub rel: String,
    /// The file it came from.
    pub path: PathBuf,
    pub bytes: u64,
    /// The checksum sent: `BASE64`, or `BASE64-N` for a multipart object.
    pub checksum: String,
    /// The whole object's SHA-256, `BASE64`.
    pub full: String,
    /// The part size of a multipart object.
    pub part_size: Option<u64>,
    /// The server's answer to the upload echoed an accepted checksum ([`Sent::confirmed`]).
    pub confirmed: bool,
}

impl Stored {
    pub fn new(rel: &str, path: PathBuf, sent: &Sent) -> Stored {
        Stored {
            rel: rel.to_string(),
            path,
            bytes: sent.bytes,
            checksum: sent.checksum.clone(),
            full: sent.full.clone(),
            part_size: sent.part_size,
            confirmed: sent.confirmed,
        }
    }

    /// Whether `stored`, the checksum a server keeps, is one this object may have.
    pub fn accepts(&self, stored: &str) -> bool {
        crate::upload::checksum_accepted(&self.checksum, &self.full, stored)
    }
}

/// `listed` (a listing of `base/`) holds exactly `base/REL` of every object, with its size
/// (and, when `base` is a day, maybe its upload marker).
pub fn listing(
    bucket: &str,
    base: &str,
    objects: &[Stored],
    listed: &[Listed],
) -> Result<(), AmazonS3Error> {
    let sizes: BTreeMap<&str, u64> = listed.iter().map(|l| (l.key.as_str(), l.size)).collect();
    for object in objects {
        let key = hidden::key(base, &object.rel);
        match sizes.get(key.as_str()) {
            None => {
                tracing::error!(
                    "File was apparently not uploaded: [{}]",
                    object.path.display()
                );
                return Err(AmazonS3Error::Missing {
                    path: object.path.clone(),
                    bucket: bucket.to_string(),
                    key,
                });
            }
            Some(&size) if size != object.bytes => {
                return Err(AmazonS3Error::SizeDiffers {
                    path: object.path.clone(),
                    bucket: bucket.to_string(),
                    key,
                    expected: object.bytes,
                    actual: size,
                })
            }
            Some(_) => {}
        }
    }
    let expected: BTreeSet<String> = objects.iter().map(|o| hidden::key(base, &o.rel)).collect();
    // The day's upload marker is no copy ([`crate::marker`]).
    if let Some(extra) = listed
        .iter()
        .find(|l| !expected.contains(&l.key) && !crate::marker::is_marker(base, &l.key))
    {
        return Err(AmazonS3Error::Leftover {
            bucket: bucket.to_string(),
            key: extra.key.clone(),
        });
    }
    Ok(())
}

/// How many objects' checksums [`checksums`] found kept by the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked {
    /// Known from the upload's answer, which echoed it.
    pub echoed: usize,
    /// Asked for with a HeadObject.
    pub asked: usize,
    /// Of those asked for, the ones the server keeps a checksum for.
    pub kept: usize,
}

impl Checked {
    /// The objects whose checksum the server keeps, as sent.
    pub fn matched(&self) -> usize {
        self.echoed + self.kept
    }
}

/// The checksum the server keeps for `base/REL` of every object is one of the object's.
/// With `trust_echo` (`base` is where the objects were uploaded), an object whose upload's
/// answer echoed its checksum is taken as checked; every other object is asked about with a
/// HeadObject. Says how many had one (a server may keep none).
pub fn checksums(
    s3: &S3,
    base: &str,
    objects: &[Stored],
    trust_echo: bool,
) -> Result<Checked, AmazonS3Error> {
    let mut checked = Checked::default();
    for object in objects {
        if trust_echo && object.confirmed {
            checked.echoed += 1;
            continue;
        }
        let key = hidden::key(base, &object.rel);
        checked.asked += 1;
        let stored = s3
            .stored_checksum(&key)
            .map_err(|source| AmazonS3Error::Request {
                source: Box::new(source),
            })?;
        match stored {
            Some(stored) if !object.accepts(&stored) => {
                return Err(AmazonS3Error::ChecksumDiffers {
                    path: object.path.clone(),
                    bucket: s3.bucket().to_string(),
                    key,
                    expected: object.checksum.clone(),
                    stored,
                })
            }
            Some(_) => checked.kept += 1,
            None => tracing::debug!(
                "s3://{}/{key}: the server keeps no SHA-256 checksum.",
                s3.bucket()
            ),
        }
    }
    Ok(checked)
}

/// `listed` (a listing of `base/`) holds exactly `base/REL` of every `(REL, size)` of
/// `expected`; otherwise says what differs.
pub fn same_objects(base: &str, expected: &[(String, u64)], listed: &[Listed]) -> Option<String> {
    let want: BTreeMap<&str, u64> = expected.iter().map(|(r, s)| (r.as_str(), *s)).collect();
    let mut have: BTreeMap<&str, u64> = BTreeMap::new();
    for l in listed {
        match hidden::rel(base, &l.key) {
            Some(rel) => {
                have.insert(rel, l.size);
            }
            None => return Some(format!("{} is not under {base}/", l.key)),
        }
    }
    for (rel, size) in &want {
        match have.get(rel) {
            None => return Some(format!("{base}/{rel} is missing")),
            Some(s) if s != size => return Some(format!("{base}/{rel} has {s} bytes, not {size}")),
            Some(_) => {}
        }
    }
    have.keys()
        .find(|rel| !want.contains_key(*rel))
        .map(|rel| format!("{base}/{rel} should not be there"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::listed;

    fn stored(rel: &str, bytes: u64) -> Stored {
        Stored {
            rel: rel.to_string(),
            path: PathBuf::from(format!("/day/{rel}")),
            bytes,
            checksum: "COMPOSITE-2".into(),
            full: "FULL".into(),
            part_size: Some(5 << 20),
            confirmed: false,
        }
    }

    #[test]
    fn a_checksum_is_the_one_sent_the_whole_objects_or_the_composite_without_count() {
        let s = stored("a", 1);
        assert!(s.accepts("COMPOSITE-2"));
        assert!(s.accepts("FULL"));
        assert!(s.accepts("COMPOSITE"));
        assert!(!s.accepts("OTHER"));
        assert!(!s.accepts("COMPOSITE-3"));
    }

    #[test]
    fn a_listing_must_hold_exactly_the_objects() {
        let objects = [stored("h/a", 3), stored("h/b", 0)];
        let good = [listed("d/h/a", 3), listed("d/h/b", 0)];
        assert!(listing("bkt", "d", &objects, &good).is_ok());
        let missing = [listed("d/h/a", 3)];
        let err = listing("bkt", "d", &objects, &missing).unwrap_err();
        assert!(err.to_string().contains("s3://bkt/d/h/b"), "{err}");
        let size = [listed("d/h/a", 4), listed("d/h/b", 0)];
        assert!(matches!(
            listing("bkt", "d", &objects, &size),
            Err(AmazonS3Error::SizeDiffers { actual: 4, .. })
        ));
        let extra = [listed("d/h/a", 3), listed("d/h/b", 0), listed("d/h/c", 1)];
        let err = listing("bkt", "d", &objects, &extra).unwrap_err();
        assert!(err.to_string().contains("s3://bkt/d/h/c"), "{err}");
    }

    #[test]
    fn same_objects_says_what_differs() {
        let expected = [("h/a".to_string(), 3), ("h/b".to_string(), 0)];
        assert_eq!(
            same_objects("p", &expected, &[listed("p/h/a", 3), listed("p/h/b", 0)]),
            None
        );
        assert_eq!(
            same_objects("p", &expected, &[listed("p/h/a", 3)]).unwrap(),
            "p/h/b is missing"
        );
        assert_eq!(
            same_objects("p", &expected, &[listed("p/h/a", 2), listed("p/h/b", 0)]).unwrap(),
            "p/h/a has 2 bytes, not 3"
        );
        assert_eq!(
            same_objects(
                "p",
                &expected,
                &[listed("p/h/a", 3), listed("p/h/b", 0), listed("p/x", 0)]
            )
            .unwrap(),
            "p/x should not be there"
        );
    }
}
