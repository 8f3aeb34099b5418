//! The switch of a day that S3 already holds to its new copy, once that copy is uploaded and
//! checked under the run's incoming prefix ([`crate::hidden`]). In this order:
//!
//! 1. **aside:** every object of the previous copy is copied inside the server to the aside
//!    prefix, the aside prefix is listed (every key, every size), and only then its `.ready`
//!    marker is written. A failure here leaves the day's prefix untouched.
//! 2. **switch:** the day's upload marker is written `started` ([`crate::marker`]; the
//!    previous one, if any, was set aside with the previous copy), every new object is copied inside the server from the incoming prefix onto
//!    its final key ([`crate::copy`]), the keys the new copy does not have are removed, and
//!    the day's prefix is checked: exactly the new keys, their sizes, their checksums.
//! 3. **done:** the marker is removed, then the aside and incoming copies.
//!
//! A failure (or an interrupt) in step 2 rolls back: the previous copy is copied back from
//! the aside prefix, the keys it did not have are removed, and the day is checked against it.
//! When even that fails (the server went away), the aside copy and its marker stay: the next
//! run puts the previous copy back before anything else ([`crate::recover`]).

use std::collections::BTreeSet;

use crate::client::{Listed, S3};
use crate::copy;
use crate::error::AmazonS3Error;
use crate::hidden::{self, Places};
use crate::marker;
use crate::verify::{self, Stored};

/// What a switch needs.
#[derive(Debug)]
pub struct Replace<'a> {
    pub s3: &'a S3,
    pub places: &'a Places,
    /// The day's objects before this run, as listed.
    pub previous: &'a [Listed],
    /// The new copy, stored and checked under `places.incoming`.
    pub objects: &'a [Stored],
    /// The part size for multipart copies of objects whose own is unknown.
    pub part_size: u64,
    /// Objects larger than this are copied in parts.
    pub single_copy_max: u64,
    /// The day's upload marker written before the switch (`started`), if any.
    pub started: Option<&'a cedar_core::UploadMarker>,
}

fn s3_error(source: crate::client::S3Error) -> AmazonS3Error {
    AmazonS3Error::Request {
        source: Box::new(source),
    }
}

fn interrupted() -> Result<(), AmazonS3Error> {
    if cedar_core::interrupt_requested() {
        Err(AmazonS3Error::Interrupted)
    } else {
        Ok(())
    }
}

impl Replace<'_> {
    fn bucket(&self) -> String {
        self.s3.bucket().to_string()
    }

    /// `(REL, size)` of every object of the previous copy.
    fn previous_objects(&self) -> Vec<(String, u64)> {
        self.previous
            .iter()
            .filter_map(|l| hidden::rel(&self.places.day, &l.key).map(|r| (r.to_string(), l.size)))
            .collect()
    }

    /// Steps 1 to 3 of the module documentation; returns how many keys were removed.
    pub fn run(&self) -> Result<u64, AmazonS3Error> {
        let bucket = self.bucket();
        if let Err(err) = self.set_aside() {
            self.discard();
            return Err(AmazonS3Error::NotSwitched {
                bucket,
                day_prefix: self.places.day.clone(),
                source: Box::new(err),
            });
        }
        let removed = match self.switch() {
            Ok(removed) => removed,
            Err(err) => {
                tracing::error!(
                    "Switching s3://{bucket}/{}/ failed: {err}; putting back the previous copy.",
                    self.places.day
                );
                return Err(match self.roll_back() {
                    Ok(()) => {
                        self.discard();
                        AmazonS3Error::RolledBack {
                            bucket,
                            day_prefix: self.places.day.clone(),
                            source: Box::new(err),
                        }
                    }
                    Err(rollback) => AmazonS3Error::RollbackFailed {
                        bucket,
                        day_prefix: self.places.day.clone(),
                        aside: self.places.aside.clone(),
                        source: Box::new(err),
                        rollback: Box::new(rollback),
                    },
                });
            }
        };
        self.s3
            .delete(&[self.places.marker()])
            .map_err(|source| AmazonS3Error::MarkerLeft {
                bucket: bucket.clone(),
                day_prefix: self.places.day.clone(),
                marker: self.places.marker(),
                source: Box::new(source),
            })?;
        self.remove_copies();
        Ok(removed)
    }

    /// Step 1: the previous copy set aside and marked complete.
    fn set_aside(&self) -> Result<(), AmazonS3Error> {
        let previous = self.previous_objects();
        for (rel, size) in &previous {
            interrupted()?;
            copy::copy(
                self.s3,
                &hidden::key(&self.places.day, rel),
                &hidden::key(&self.places.aside, rel),
                *size,
                self.part_size,
                self.single_copy_max,
            )
            .map_err(s3_error)?;
        }
        let listed = self
            .s3
            .list(&format!("{}/", self.places.aside))
            .map_err(s3_error)?;
        if let Some(detail) = verify::same_objects(&self.places.aside, &previous, &listed) {
            return Err(AmazonS3Error::CopyDiffers {
                bucket: self.bucket(),
                prefix: self.places.aside.clone(),
                detail,
            });
        }
        interrupted()?;
        let note = format!(
            "The previous copy of s3://{}/{}/ set aside by cback while it switches the day to a \
             new copy. While this marker exists, the next amazons3 run copies it back first.\n",
            self.bucket(),
            self.places.day
        );
        self.s3
            .put_small(&self.places.marker(), note.as_bytes())
            .map_err(s3_error)?;
        tracing::info!(
            "Set aside the previous copy of s3://{}/{}/ ({} object(s)) as s3://{}/{}/.",
            self.bucket(),
            self.places.day,
            previous.len(),
            self.bucket(),
            self.places.aside
        );
        Ok(())
    }

    /// Step 2: the new objects onto their final keys, the stale ones removed, the day checked.
    fn switch(&self) -> Result<u64, AmazonS3Error> {
        if let Some(started) = self.started {
            marker::write(self.s3, &self.places.day, started).map_err(s3_error)?;
        }
        for object in self.objects {
            interrupted()?;
            copy::copy(
                self.s3,
                &hidden::key(&self.places.incoming, &object.rel),
                &hidden::key(&self.places.day, &object.rel),
                object.bytes,
                object.part_size.unwrap_or(self.part_size),
                self.single_copy_max,
            )
            .map_err(s3_error)?;
        }
        interrupted()?;
        let new: BTreeSet<&str> = self.objects.iter().map(|o| o.rel.as_str()).collect();
        let stale: Vec<String> = self
            .previous_objects()
            .into_iter()
            .filter(|(rel, _)| !new.contains(rel.as_str()) && rel != cedar_core::UPLOAD_MARKER_FILE)
            .map(|(rel, _)| hidden::key(&self.places.day, &rel))
            .collect();
        self.s3.delete(&stale).map_err(s3_error)?;
        let listed = self
            .s3
            .list(&format!("{}/", self.places.day))
            .map_err(s3_error)?;
        verify::listing(&self.bucket(), &self.places.day, self.objects, &listed)?;
        let checked = verify::checksums(self.s3, &self.places.day, self.objects, false)?;
        tracing::info!(
            "Switched s3://{}/{}/ to the new copy: {} object(s) copied into place, {} removed, \
             SHA-256 checksums kept by the server match for {}.",
            self.bucket(),
            self.places.day,
            self.objects.len(),
            stale.len(),
            checked.matched()
        );
        Ok(stale.len() as u64)
    }

    /// The previous copy put back from the aside prefix.
    fn roll_back(&self) -> Result<(), AmazonS3Error> {
        put_back(
            self.s3,
            &self.places.day,
            &self.places.aside,
            &self.previous_objects(),
            self.part_size,
            self.single_copy_max,
        )?;
        tracing::warn!(
            "Put back the previous copy of s3://{}/{}/ from s3://{}/{}/.",
            self.bucket(),
            self.places.day,
            self.bucket(),
            self.places.aside
        );
        Ok(())
    }

    /// The marker, then the aside and incoming copies, removed after a failure; best effort
    /// (the next run removes what is left). The aside copy stays while its marker does.
    fn discard(&self) {
        match self.s3.delete(&[self.places.marker()]) {
            Ok(()) => self.remove_copies(),
            Err(e) => tracing::warn!(
                "{e}; the next amazons3 run puts back s3://{}/{}/ and removes it",
                self.bucket(),
                self.places.aside
            ),
        }
    }

    /// The aside and incoming copies removed (their marker is gone); best effort.
    fn remove_copies(&self) {
        for prefix in [&self.places.aside, &self.places.incoming] {
            if let Err(e) = remove_prefix(self.s3, prefix) {
                tracing::warn!("{e}; the next amazons3 run removes what is left of it");
            }
        }
    }
}

/// Every object under `prefix/` removed.
pub fn remove_prefix(s3: &S3, prefix: &str) -> Result<usize, crate::client::S3Error> {
    let keys: Vec<String> = s3
        .list(&format!("{prefix}/"))?
        .into_iter()
        .map(|l| l.key)
        .collect();
    s3.delete(&keys)?;
    Ok(keys.len())
}

/// Makes `day/` hold exactly the aside copy `aside/` (`objects`: its `(REL, size)`): every
/// object copied back, the keys it does not have removed, the day checked against it.
pub fn put_back(
    s3: &S3,
    day: &str,
    aside: &str,
    objects: &[(String, u64)],
    part_size: u64,
    single_copy_max: u64,
) -> Result<(), AmazonS3Error> {
    for (rel, size) in objects {
        copy::copy(
            s3,
            &hidden::key(aside, rel),
            &hidden::key(day, rel),
            *size,
            part_size,
            single_copy_max,
        )
        .map_err(s3_error)?;
    }
    let keep: BTreeSet<String> = objects.iter().map(|(r, _)| hidden::key(day, r)).collect();
    let extra: Vec<String> = s3
        .list(&format!("{day}/"))
        .map_err(s3_error)?
        .into_iter()
        .filter(|l| !keep.contains(&l.key))
        .map(|l| l.key)
        .collect();
    s3.delete(&extra).map_err(s3_error)?;
    let listed = s3.list(&format!("{day}/")).map_err(s3_error)?;
    match verify::same_objects(day, objects, &listed) {
        None => Ok(()),
        Some(detail) => Err(AmazonS3Error::CopyDiffers {
            bucket: s3.bucket().to_string(),
            prefix: day.to_string(),
            detail,
        }),
    }
}
